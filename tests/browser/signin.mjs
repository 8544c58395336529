// Sign-in with a login link, and what stays refused: a reused or altered link, pages after
// sign-out, pages for someone who never signed in. A link previewer (a chat app unfurling the
// link: a plain GET, no button pressed) does not use the link up. Facts: LINK_ADMIN,
// LINK_ADMIN_SPARE.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, session, signIn, followLink, open, finish, fact, url } from './lib/browser.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/// The status of the first response of a navigation (before redirects were followed).
function firstStatus(response) {
  let request = response.request();
  while (request.redirectedFrom()) request = request.redirectedFrom();
  return request.response();
}

test('someone not signed in is sent to the start page, which says how to sign in', async () => {
  const s = await session(browser);
  const response = await s.page.goto(url('/dashboard'));
  assert.equal((await firstStatus(response)).status(), 303);
  assert.equal(new URL(s.page.url()).pathname, '/');
  assert.equal(response.status(), 200);
  await assert.doesNotReject(s.page.getByRole('heading', { level: 1 }).waitFor());
  assert.match(await s.page.locator('main').innerText(), /sign-in link|login-link/i);
  await finish(s);
});

test('a login link signs in once; the same link is refused afterwards; sign-out ends the session', async () => {
  const link = fact('LINK_ADMIN');
  const s = await signIn(browser, link, '/dashboard');
  const cookies = await s.context.cookies();
  assert.equal(cookies.length, 1, `one session cookie, got ${cookies.map((c) => c.name)}`);
  assert.equal(cookies[0].httpOnly, true, 'the session cookie is HttpOnly');
  assert.equal(cookies[0].sameSite, 'Lax', 'the session cookie is SameSite=Lax');
  assert.match(await s.page.locator('h1').first().innerText(), /overview/i);

  // The link again, in another browser session: refused, and not signed in.
  const again = await session(browser);
  const { response: refused } = await followLink(again.page, link);
  assert.equal(refused.status(), 403, 'a used link is refused');
  assert.match(await again.page.locator('main').innerText(), /already|used|once/i);
  assert.deepEqual(await again.context.cookies(), [], 'no session for a reused link');
  const after = await again.page.goto(url('/dashboard'));
  assert.equal(new URL(again.page.url()).pathname, '/', 'still signed out');
  assert.equal(after.status(), 200);
  await finish(again);

  // The first session still works; signing out ends it.
  assert.equal(await open(s.page, '/dashboard/members'), 200);
  await s.page.getByRole('button', { name: /sign out/i }).click();
  await s.page.waitForURL(url('/'));
  await s.page.goto(url('/dashboard'));
  assert.equal(new URL(s.page.url()).pathname, '/', 'signed out: pages send back to the start');
  await finish(s);
});

test('an altered link is refused', async () => {
  const link = new URL(fact('LINK_ADMIN'));
  const token = link.searchParams.get('token');
  const flipped = token.slice(0, -1) + (token.endsWith('0') ? '1' : '0');
  link.searchParams.set('token', flipped);
  const s = await session(browser);
  const { response } = await followLink(s.page, link.toString());
  assert.equal(response.status(), 400, 'an altered link is refused');
  assert.deepEqual(await s.context.cookies(), [], 'no session for an altered link');
  await finish(s);
});

test('a link previewer opening the link does not use it up: the link asks before signing in', async () => {
  const link = fact('LINK_ADMIN_SPARE');
  // What a chat app does to unfurl a link: a plain GET, following redirects, no button pressed.
  const s = await session(browser);
  const preview = await s.context.request.get(link);
  assert.equal(preview.status(), 200, 'the link answers a previewer with a page');
  assert.equal(new URL(preview.url()).pathname, '/dashboard/login', 'the previewer stays on the sign-in page');
  assert.match(await preview.text(), /continue/i, 'the page asks to continue');
  assert.deepEqual(await s.context.cookies(), [], 'opening the link signs nobody in');
  await s.context.close();
  // The person then opens the link and presses Continue: signed in.
  const person = await signIn(browser, link, '/dashboard');
  await finish(person);
});
