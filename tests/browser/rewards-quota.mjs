// An Admin lowers the daily quota on the Rewards settings form (the Rust side then gives more
// fires than the new quota and checks that only the new quota counts). Facts: LINK_ADMIN,
// NEW_QUOTA.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, signIn, open, finish, fact } from './lib/browser.mjs';
import { field, submit } from './lib/forms.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('an Admin changes the daily quota and the form confirms it', async () => {
  const s = await signIn(browser, fact('LINK_ADMIN'), '/dashboard');
  assert.equal(await open(s.page, '/dashboard/settings/rewards'), 200);
  const quota = await field(s.page, /daily quota/i);
  await quota.fill(fact('NEW_QUOTA'));
  assert.equal(await submit(s.page, quota), 200);
  assert.match(await s.page.locator('main').innerText(), /saved|changed|updated/i, 'the page confirms the change');
  const after = await field(s.page, /daily quota/i);
  assert.equal(await after.getAttribute('aria-invalid'), null, 'no error on the field');
  await finish(s);
});
