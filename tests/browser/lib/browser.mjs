// Launching Debian's Chromium through playwright-core, and signed-in browser sessions.
//
// The Rust side (crates/classcred/tests/cli/browser.rs) starts the server and passes everything
// in environment variables: CLASSCRED_BROWSER_BASE_URL, one fresh login link per person
// (CLASSCRED_BROWSER_LINK_ADMIN, _INSTRUCTOR, _STUDENT, _STUDENT2) and the facts a scenario
// checks against (see `fact`). Every page a session opens is watched for Content-Security-Policy
// violations and script errors; `finish` fails the test when there were any.

import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';

/// Debian's package; never a browser that playwright downloads.
export const CHROMIUM = process.env.CLASSCRED_BROWSER_CHROMIUM || '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/// A value the Rust side must have set.
export function fact(name) {
  const value = process.env[`CLASSCRED_BROWSER_${name}`];
  assert.ok(value, `CLASSCRED_BROWSER_${name} is not set: run this through the Rust test`);
  return value;
}

export const baseUrl = () => fact('BASE_URL').replace(/\/$/, '');

/// An absolute URL on the server under test.
export const url = (path) => `${baseUrl()}${path}`;

/// Chromium, headless. playwright gives every launch a fresh temporary --user-data-dir and
/// removes it at close.
export async function launch() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 60_000 });
}

/// A new browser context (its own cookies) whose pages are watched for CSP violations and
/// uncaught script errors.
export async function session(browser, options = {}) {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
    ...options,
  });
  context.setDefaultTimeout(15_000);
  const problems = [];
  context.on('page', (page) => watch(page, problems));
  const page = await context.newPage();
  return { context, page, problems };
}

function watch(page, problems) {
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) {
      problems.push(`${page.url()}: ${msg.text()}`);
    }
  });
  page.on('pageerror', (err) => problems.push(`${page.url()}: script error: ${err.message}`));
}

/// Follows a login link in `page` the way a person does: opens it and, when the server first
/// shows a confirmation page (so that link previewers, which only GET, cannot use the link up),
/// presses its Continue button. Returns the final response and whether a confirmation page
/// was shown.
export async function followLink(page, link) {
  const opened = await page.goto(link);
  assert.ok(opened, 'no response for the login link');
  const onLoginPage = new URL(page.url()).pathname === '/dashboard/login';
  const proceed = page.locator('main form').getByRole('button', { name: /continue/i });
  if (!(onLoginPage && opened.status() === 200 && (await proceed.count()) > 0)) {
    return { response: opened, confirmed: false };
  }
  assert.equal(await proceed.count(), 1, 'one Continue button on the sign-in confirmation page');
  const method = await proceed.evaluate((b) => (b.form ? b.form.method : ''));
  assert.equal(method, 'post', 'Continue submits a POST form, so only a person uses the link');
  const [response] = await Promise.all([page.waitForNavigation(), proceed.click()]);
  assert.ok(response, 'no response after pressing Continue');
  return { response, confirmed: true };
}

/// Opens a login link in a new session and checks that it signs in: the link (after its
/// Continue button, when it has one) ends on a signed-in page, not an error.
export async function signIn(browser, link, expectedPath) {
  const s = await session(browser);
  const { response, confirmed } = await followLink(s.page, link);
  const said = async () => (await s.page.locator('main').innerText().catch(() => '')).replace(/\s+/g, ' ').slice(0, 200);
  assert.equal(
    response.status(),
    200,
    `login link ended at ${s.page.url()} with ${response.status()} ${confirmed ? 'after' : 'before'} Continue: "${await said()}"`,
  );
  const landed = new URL(s.page.url());
  assert.notEqual(landed.pathname, '/dashboard/login', 'the login link did not sign in');
  assert.match(landed.pathname, /^\/(dashboard|me)(\/|$)/, `the login link ended at ${landed.pathname}, not signed in`);
  if (expectedPath) assert.equal(landed.pathname, expectedPath, 'where a sign-in lands');
  assert.ok(!landed.search.includes('token='), 'the token does not stay in the address bar');
  return s;
}

/// Opens `path` and returns the HTTP status (following redirects). An error status with an
/// empty body (no page for the browser to show) fails with the status in the message.
export async function open(page, path) {
  let response;
  try {
    response = await page.goto(url(path));
  } catch (e) {
    if (!/ERR_HTTP_RESPONSE_CODE_FAILURE/.test(e.message)) throw e;
    // Let the browser's own error page settle, so the next navigation is not interrupted.
    await page.waitForLoadState().catch(() => {});
    await page.goto('about:blank').catch(() => {});
    const bare = await page.context().request.get(url(path));
    assert.fail(`GET ${path} answered ${bare.status()} with an empty body: no page to show`);
  }
  assert.ok(response, `no response for ${path}`);
  return response.status();
}

/// Closes a session; fails when its pages broke their CSP or threw.
export async function finish(s) {
  await s.context.close();
  assert.deepEqual(s.problems, [], 'pages broke their Content-Security-Policy or threw');
}

/// The names in a fact (several names are separated by `|`, as in ISOLATED_NAMES).
export const namesOf = (factName) => fact(factName).split('|').filter(Boolean);

/// A pattern matching any of the names in a fact.
export function nameRe(factName) {
  const escaped = namesOf(factName).map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`(${escaped.join('|')})`);
}
