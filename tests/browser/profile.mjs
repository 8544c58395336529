// An Instructor opens one student's profile once (the Rust side then finds exactly one new
// audit entry). Facts: LINK_INSTRUCTOR, STUDENT_ID, STUDENT_NAME.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, signIn, finish, fact, url, nameRe } from './lib/browser.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('an Instructor opens a student profile from the Members page', async () => {
  const s = await signIn(browser, fact('LINK_INSTRUCTOR'), '/dashboard');
  await s.page.goto(url('/dashboard/members'));
  const link = s.page.locator(`main a[href="/dashboard/students/${fact('STUDENT_ID')}"]`);
  assert.equal(await link.count(), 1, 'the Members page links to the student once');
  assert.match(await link.innerText(), nameRe('STUDENT_NAME'), 'the link shows the student’s full name, not a handle');
  await link.click();
  await s.page.waitForURL(url(`/dashboard/students/${fact('STUDENT_ID')}`));
  const text = await s.page.locator('main').innerText();
  assert.match(text, nameRe('STUDENT_NAME'));
  assert.match(text, /received/i, 'fires received');
  assert.match(text, /given/i, 'fires given');
  assert.match(text, /level/i);
  assert.match(text, /badge/i);
  assert.match(text, /quota|left to give|today/i, 'quota use');
  await finish(s);
});
