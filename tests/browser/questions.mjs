// Questions: an Instructor sees the unanswered questions oldest first and accepts an answer to
// the question a student asked through the bot; the Rust side checks that the answerer's
// balance moved. Facts: LINK_INSTRUCTOR, QUESTION_TEXT (a part of the question's text),
// ANSWER_TEXT (a part of the answer to accept).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, signIn, open, finish, fact } from './lib/browser.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('the Instructor accepts an answer to an unanswered question', async () => {
  const s = await signIn(browser, fact('LINK_INSTRUCTOR'), '/dashboard');
  assert.equal(await open(s.page, '/dashboard/questions'), 200);
  const rows = s.page.locator('table.questions tbody tr');
  assert.ok((await rows.count()) > 1, 'several unanswered questions');
  // Oldest first: the "Asked" column (YYYY-MM-DD HH:MM UTC) never goes back.
  const asked = await rows.locator('td:first-child').allInnerTexts();
  const sorted = [...asked].sort();
  assert.deepEqual(asked, sorted, 'oldest first');
  assert.ok(!(await s.page.locator('main').innerText()).includes('(answered)'), 'only unanswered ones');

  const row = rows.filter({ hasText: fact('QUESTION_TEXT') });
  assert.equal(await row.count(), 1, 'the asked question is listed');
  const answer = row.locator('ul.answers li', { hasText: fact('ANSWER_TEXT') });
  assert.equal(await answer.count(), 1, 'with its answer');
  const form = answer.locator('form.accept-form');
  const [response] = await Promise.all([
    s.page.waitForNavigation(),
    form.locator('button[type=submit]').click(),
  ]);
  assert.equal(response.status(), 200);
  const main = await s.page.locator('main').innerText();
  assert.ok(!main.includes(fact('QUESTION_TEXT')), 'no longer unanswered');

  assert.equal(await open(s.page, '/dashboard/questions?show=answered'), 200);
  const done = s.page.locator('table.questions tbody tr', { hasText: fact('QUESTION_TEXT') });
  assert.equal(await done.count(), 1, 'listed as answered');
  assert.match(await done.innerText(), /Accepted/);
  await finish(s);
});
