// Every page, one test each: it answers, axe-core finds no serious or critical violation (at
// 1280 and 320 px), nothing scrolls sideways at 320 px, the keyboard reaches everything from a
// skip link, and screenshots are saved. A page that does not exist fails its test. Facts:
// LINK_ADMIN, LINK_ADMIN_SPARE (opened, not used: the sign-in confirmation page), LINK_STUDENT,
// STUDENT_ID.

import { test, before, after } from 'node:test';
import { launch, session, signIn, open, finish, fact } from './lib/browser.mjs';
import { assertGoodPage } from './lib/checks.mjs';
import assert from 'node:assert/strict';

let browser;
let anonymous;
let admin;
let student;
before(async () => {
  browser = await launch();
  anonymous = await session(browser);
  admin = await signIn(browser, fact('LINK_ADMIN'), '/dashboard');
  student = await signIn(browser, fact('LINK_STUDENT'), '/me');
});
after(async () => {
  for (const s of [anonymous, admin, student]) if (s) await finish(s);
  await browser?.close();
});

const PAGES = [
  ['landing', () => anonymous, '/', 200],
  ['sign-in', () => anonymous, () => { const l = new URL(fact('LINK_ADMIN_SPARE')); return l.pathname + l.search; }, 200],
  ['overview', () => admin, '/dashboard', 200],
  ['members', () => admin, '/dashboard/members', 200],
  ['leaderboard', () => admin, '/dashboard/leaderboard?period=course', 200],
  ['profile', () => admin, () => `/dashboard/students/${fact('STUDENT_ID')}`, 200],
  ['network', () => admin, '/dashboard/network', 200],
  ['rewards', () => admin, '/dashboard/settings/rewards', 200],
  ['course', () => admin, '/dashboard/settings/course', 200],
  ['exports', () => admin, '/dashboard/exports', 200],
  ['my-data', () => student, '/me', 200],
  ['error-forbidden', () => student, '/dashboard/members', 403],
  ['error-not-found', () => admin, '/dashboard/students/no-such-member', 404],
  ['error-unknown-url', () => admin, '/no-such-page', 404],
  ['privacy', () => anonymous, '/privacy', 200],
];

for (const [name, who, path, status] of PAGES) {
  test(`page ${name}`, async () => {
    const { page } = who();
    const target = typeof path === 'function' ? path() : path;
    assert.equal(await open(page, target), status, `${target} answers ${status}`);
    if (name === 'sign-in') {
      assert.equal(new URL(page.url()).pathname, '/dashboard/login', 'opening a link asks before signing in');
      assert.deepEqual(await anonymous.context.cookies(), [], 'opening a link signs nobody in');
    }
    await assertGoodPage(page, name);
    // Chat text reads as the chat showed it: names for mentions, 🔥 for the :fire: shortcode.
    const lines = (await page.locator('main').innerText()).split('\n');
    const raw = lines.filter((l) => /<@[UW][A-Z0-9]+>|:fire:/.test(l)).slice(0, 3);
    assert.deepEqual(raw, [], `${name}: raw chat markup (mentions or :fire:) shown`);
    if (who() !== anonymous) {
      // Error pages too keep the navigation and the way out for someone signed in.
      await assert.doesNotReject(
        page.getByRole('button', { name: /sign out/i }).waitFor({ timeout: 2_000 }),
        `${name}: a signed-in page has the Sign out button`,
      );
    }
  });
}
