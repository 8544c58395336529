// Bad input on the Rewards settings form: the server answers with a message next to the
// field, and saves nothing (the Rust side compares the stored settings, inbox and audit before
// and after). Facts: LINK_ADMIN, QUOTA (the daily quota now).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, signIn, open, finish, fact } from './lib/browser.mjs';
import { field, submit, described } from './lib/forms.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('a negative daily quota is refused with a message at the field; nothing changes', async () => {
  const s = await signIn(browser, fact('LINK_ADMIN'), '/dashboard');
  assert.equal(await open(s.page, '/dashboard/settings/rewards'), 200);
  const quota = await field(s.page, /daily quota/i);
  assert.equal(await quota.inputValue(), fact('QUOTA'), 'the form shows the stored quota');
  const before = await described(quota);
  assert.equal(before.invalid, false);

  // Another change in the same form rides along: it must not be saved either.
  const checkbox = quota.locator('xpath=ancestor::form[1]').locator('input[type=checkbox]').first();
  if ((await checkbox.count()) === 1) await checkbox.setChecked(!(await checkbox.isChecked()));
  await quota.fill('-3');
  const status = await submit(s.page, quota);
  assert.ok(status === 400 || status === 422 || status === 200, `the form is shown again (status ${status})`);

  const again = await field(s.page, /daily quota/i);
  const after = await described(again);
  assert.equal(after.invalid, true, 'the field is marked aria-invalid');
  assert.ok(after.text.length > before.text.length && after.text !== before.text,
    `a message is tied to the field (aria-describedby): "${after.text}"`);
  const box = await again.boundingBox();
  const message = await again.evaluate((el) => {
    const ids = (el.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
    const shown = ids.map((id) => document.getElementById(id)).filter((d) => d && d.getClientRects().length);
    const r = shown[shown.length - 1].getBoundingClientRect();
    return { top: r.top + scrollY, bottom: r.bottom + scrollY };
  });
  const distance = Math.min(Math.abs(message.top - (box.y + box.height)), Math.abs(box.y - message.bottom));
  assert.ok(distance < 80, `the message is next to the field (${Math.round(distance)} px away)`);

  // Reloading shows the stored value: unchanged.
  assert.equal(await open(s.page, '/dashboard/settings/rewards'), 200);
  assert.equal(await (await field(s.page, /daily quota/i)).inputValue(), fact('QUOTA'));
  await finish(s);
});
