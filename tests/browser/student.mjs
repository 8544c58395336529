// A student signs in with their own link: they see "my data" and their own profile, not
// another student's profile (403) nor a staff page (403). Facts: LINK_STUDENT, STUDENT_ID,
// STUDENT_NAME, STUDENT2_ID.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, signIn, open, finish, fact, nameRe } from './lib/browser.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('a student sees their own data and profile, not another student’s nor staff pages', async () => {
  const s = await signIn(browser, fact('LINK_STUDENT'), '/me');
  const me = await s.page.locator('main').innerText();
  assert.match(me, nameRe('STUDENT_NAME'), 'my data names me');
  assert.match(me, /stored|store|privacy|what we keep/i, 'my data says what the system stores');

  assert.equal(await open(s.page, `/dashboard/students/${fact('STUDENT_ID')}`), 200, 'own profile');
  assert.match(await s.page.locator('main').innerText(), nameRe('STUDENT_NAME'));

  assert.equal(await open(s.page, `/dashboard/students/${fact('STUDENT2_ID')}`), 403, 'another student');
  assert.match(await s.page.locator('main').innerText(), /not allowed|permission|forbidden|staff|not for your role|instructors/i);
  assert.doesNotMatch(await s.page.locator('main').innerText(), nameRe('STUDENT2_NAME'));

  for (const path of ['/dashboard', '/dashboard/members', '/dashboard/network', '/dashboard/exports']) {
    assert.equal(await open(s.page, path), 403, `${path} is for staff`);
  }
  await finish(s);
});
