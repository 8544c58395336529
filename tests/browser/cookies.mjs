// The cookie choice with optional usage statistics on (the server runs with
// `usage_statistics = true`): no optional cookie before a choice; Reject → none; Accept → the
// optional cookie; changing to Reject from the footer deletes it. Accept and Reject are one
// click each, plain forms (JavaScript off), the same size and style; the banner and the footer
// pass axe-core. Facts: LINK_STUDENT.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, session, signIn, finish, url, fact } from './lib/browser.mjs';
import { assertAccessible } from './lib/checks.mjs';

const OPTIONAL = 'classcred_usage';
const CHOICE = 'classcred_consent';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const names = async (context) => (await context.cookies()).map((c) => c.name).sort();

async function banner(page) {
  const region = page.getByRole('region', { name: /usage statistics/i });
  await region.waitFor();
  return {
    region,
    accept: region.getByRole('button', { name: /^accept$/i }),
    reject: region.getByRole('button', { name: /^reject$/i }),
  };
}

/// Accept and Reject weigh the same: same size, colours, font.
async function assertEqualWeight(a, b) {
  const look = (el) =>
    el.evaluate((e) => {
      const s = getComputedStyle(e);
      const r = e.getBoundingClientRect();
      return {
        width: Math.round(r.width),
        height: Math.round(r.height),
        background: s.backgroundColor,
        color: s.color,
        fontSize: s.fontSize,
        fontWeight: s.fontWeight,
        border: s.border,
      };
    });
  assert.deepEqual(await look(a), await look(b), 'Accept and Reject look the same');
}

test('anonymous visitor: nothing optional before a choice, Reject keeps it so, without JavaScript', async () => {
  const s = await session(browser, { javaScriptEnabled: false });
  await s.page.goto(url('/'));
  const b = await banner(s.page);
  assert.deepEqual(await names(s.context), [], 'no cookie at all before a choice');
  await assertEqualWeight(b.accept, b.reject);
  await Promise.all([s.page.waitForNavigation(), b.reject.click()]);
  assert.equal(new URL(s.page.url()).pathname, '/', 'back on the page');
  assert.deepEqual(await names(s.context), [CHOICE], 'only the (strictly necessary) choice');
  assert.equal(await s.page.getByRole('region', { name: /usage statistics/i }).count(), 0, 'banner gone');
  assert.match(await s.page.locator('footer').innerText(), /you rejected/i);
  // More pages: still nothing optional.
  await s.page.goto(url('/'));
  assert.deepEqual(await names(s.context), [CHOICE]);
  await finish(s);
});

test('signed-in member: banner on the dashboard pages, Accept sets the optional cookie, the footer changes it back and deletes it', async () => {
  const s = await signIn(browser, fact('LINK_STUDENT'), '/me');
  const before = await names(s.context);
  assert.ok(!before.includes(OPTIONAL), `no optional cookie before a choice: ${before}`);
  const b = await banner(s.page);
  await assertAccessible(s.page, 'me-with-cookie-banner');
  await assertEqualWeight(b.accept, b.reject);
  await Promise.all([s.page.waitForNavigation(), b.accept.click()]);
  assert.equal(new URL(s.page.url()).pathname, '/me', 'back where the choice was made');
  let now = await names(s.context);
  assert.ok(now.includes(OPTIONAL), `accepted: the optional cookie is there: ${now}`);
  assert.ok(now.includes(CHOICE));
  const footer = s.page.locator('footer');
  assert.match(await footer.innerText(), /you accepted/i);
  await assertAccessible(s.page, 'me-after-accept');
  // Change from the footer, in one click.
  const change = footer.getByRole('button', { name: /reject statistics/i });
  await Promise.all([s.page.waitForNavigation(), change.click()]);
  now = await names(s.context);
  assert.ok(!now.includes(OPTIONAL), `changed to reject: the optional cookie is deleted: ${now}`);
  assert.match(await s.page.locator('footer').innerText(), /you rejected/i);
  await finish(s);
});
