// The page checks themselves: each one passes a good page and fails a page with exactly the
// fault it looks for, so a green run of the dashboard specs means something. Needs no ClassCred
// server (the sign-in checks start a tiny one of their own on a loopback port).

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { launch, session, finish, followLink } from './lib/browser.mjs';
import { assertAccessible, assertFitsNarrow, assertGoodPage, assertKeyboard, NARROW } from './lib/checks.mjs';

delete process.env.CLASSCRED_BROWSER_SCREENSHOTS;

const GOOD = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Good page</title>
<style>.skip{position:absolute;left:-10000px}.skip:focus{left:0}</style></head><body>
<a class="skip" href="#main">Skip to main content</a>
<header><nav aria-label="Main"><a href="/a">Overview</a> <a href="/b">Members</a></nav></header>
<main id="main"><h1>Good page</h1><p>Text.</p><form><label for="q">Quota</label>
<input id="q" name="q" value="5"><button type="submit">Save</button></form></main></body></html>`;

const withBody = (extraHead, body) => GOOD.replace('</head>', `${extraHead}</head>`).replace('<p>Text.</p>', body);

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function withPage(html, fn) {
  const s = await session(browser);
  await s.page.setContent(html);
  try {
    await fn(s.page);
  } finally {
    await s.context.close();
  }
}

test('a good page passes every check', async () => {
  await withPage(GOOD, (page) => assertGoodPage(page, 'good'));
});

test('axe: a page without lang and with an unlabelled input fails', async () => {
  const bad = GOOD.replace('<html lang="en">', '<html>').replace('<label for="q">Quota</label>', '');
  await withPage(bad, (page) => assert.rejects(assertAccessible(page, 'bad'), (e) => {
    assert.match(e.message, /2 serious\/critical violation/);
    assert.match(e.message, /\[serious\] html-has-lang/);
    assert.match(e.message, /\[critical\] label: .*\n\s+- #q:/);
    return true;
  }));
});

test('narrow: a 600 px wide table fails at 320 px and names itself', async () => {
  const bad = withBody('', '<table id="wide" style="width:600px"><tr><td>x</td></tr></table>');
  await withPage(bad, async (page) => {
    await page.setViewportSize({ width: NARROW, height: 800 });
    await assert.rejects(assertFitsNarrow(page, 'bad'), /table#wide/);
  });
});

test('keyboard: no skip link fails', async () => {
  const bad = GOOD.replace('<a class="skip" href="#main">Skip to main content</a>', '');
  await withPage(bad, (page) => assert.rejects(assertKeyboard(page, 'bad'), /skip link/));
});

test('keyboard: a link taken out of the tab order fails', async () => {
  const bad = GOOD.replace('<a href="/b">', '<a href="/b" tabindex="-1">');
  await withPage(bad, (page) => assert.rejects(assertKeyboard(page, 'bad'), /not reachable by Tab/));
});

test('keyboard: links folded in a closed <details> are not asked for until it is opened', async () => {
  const folded = withBody('', '<details><summary>More</summary><a href="/c">Hidden until opened</a></details>');
  await withPage(folded, (page) => assertKeyboard(page, 'folded'));
});

test('keyboard: a focus style without outline fails', async () => {
  const bad = withBody('<style>a:focus{outline:none}</style>', '');
  await withPage(bad, (page) => assert.rejects(assertKeyboard(page, 'bad'), /without a visible outline/));
});

test('an inline script refused by the CSP fails the session', async () => {
  const s = await session(browser);
  await s.page.route('http://127.0.0.1:9/', (route) =>
    route.fulfill({
      status: 200,
      contentType: 'text/html',
      headers: { 'Content-Security-Policy': "script-src 'self'" },
      body: withBody('', '<script>document.title = "ran"</script>'),
    }),
  );
  await s.page.goto('http://127.0.0.1:9/');
  await assert.rejects(finish(s), /Content-Security-Policy/);
});

/// A fake sign-in server on a loopback port: GET of the link answers with `onGet` (status,
/// headers, body); POST of the Continue form signs in (303 to /dashboard).
async function fakeSignIn(onGet) {
  const posted = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/dashboard/login' && req.method === 'GET') {
      res.writeHead(onGet.status, { 'content-type': 'text/html', ...(onGet.headers ?? {}) });
      return res.end(onGet.body ?? '');
    }
    if (path === '/dashboard/login' && req.method === 'POST') {
      let body = '';
      req.on('data', (c) => { body += c; });
      return req.on('end', () => {
        posted.push(body);
        res.writeHead(303, { location: '/dashboard' });
        res.end();
      });
    }
    res.writeHead(200, { 'content-type': 'text/html' });
    return res.end(withBody('', '<p>Overview</p>'));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const link = `http://127.0.0.1:${server.address().port}/dashboard/login?token=t0k`;
  const s = await session(browser);
  const close = async () => {
    await s.context.close();
    await new Promise((resolve) => server.close(resolve));
  };
  return { s, posted, link, close };
}

const CONFIRM = withBody('', `<form method="post" action="/dashboard/login">
<input type="hidden" name="token" value="t0k"><button type="submit">Continue</button></form>`);

test('sign-in: a confirmation page is passed by pressing Continue (a POST with the token)', async () => {
  const { s, posted, link, close } = await fakeSignIn({ status: 200, body: CONFIRM });
  const { response, confirmed } = await followLink(s.page, link);
  assert.equal(confirmed, true);
  assert.equal(response.status(), 200);
  assert.equal(new URL(s.page.url()).pathname, '/dashboard');
  assert.deepEqual(posted, ['token=t0k']);
  await close();
});

test('sign-in: a link that signs in on GET needs no Continue', async () => {
  const { s, posted, link, close } = await fakeSignIn({ status: 303, headers: { location: '/dashboard' } });
  const { response, confirmed } = await followLink(s.page, link);
  assert.equal(confirmed, false);
  assert.equal(response.status(), 200);
  assert.equal(new URL(s.page.url()).pathname, '/dashboard');
  assert.deepEqual(posted, []);
  await close();
});

test('sign-in: a Continue button that GETs is refused', async () => {
  const { s, link, close } = await fakeSignIn({ status: 200, body: CONFIRM.replace('method="post"', 'method="get"') });
  await assert.rejects(followLink(s.page, link), /POST form/);
  await close();
});
