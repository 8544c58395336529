// Custom reward rules: the Instructor writes a rule on the Rules page ("posts a message in
// the lab channel: 1.5 points, at most 2 per week"), previews it (the table shows the student
// with the points the seeded history gives: 3 posts this week, capped at 2, so 3 points), saves
// it and enables it. The Rust side then posts as the student and checks the balance.
// Facts: LINK_INSTRUCTOR, STUDENT_NAME, CHANNEL, EXPECT_POINTS.

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

async function click(page, button) {
  const [response] = await Promise.all([page.waitForNavigation(), button.click()]);
  return response.status();
}

test('the Instructor writes, previews and enables a rule', async () => {
  const s = await signIn(browser, fact('LINK_INSTRUCTOR'), '/dashboard');
  assert.equal(await open(s.page, '/dashboard/rules'), 200);
  const form = s.page.locator('#rule-form');
  await form.getByLabel('When', { exact: true }).selectOption('posted');
  await form.getByLabel('Channel (posts only)', { exact: true }).fill(fact('CHANNEL'));
  await form.getByLabel('Award', { exact: true }).selectOption('points');
  await form.getByLabel('Points', { exact: true }).fill('1.5');
  await form.getByLabel('Times', { exact: true }).fill('2');
  await form.getByLabel('Per', { exact: true }).selectOption('week');

  // Preview: the sentence and the student's line; nothing saved yet.
  assert.equal(await click(s.page, form.getByRole('button', { name: 'Preview' })), 200);
  const sentence = await s.page.locator('#rule-sentence').innerText();
  assert.match(sentence, /posts a message in channel .*they earn 1\.5 points, at most 2 times per week/);
  const row = s.page.locator('#preview tbody tr', { hasText: fact('STUDENT_NAME') });
  assert.equal(await row.count(), 1, 'the student is in the preview');
  const cells = await row.locator('td').allInnerTexts();
  assert.equal(cells[1], fact('EXPECT_POINTS'), 'the points the rule would have awarded');
  assert.equal(cells[4], '1', 'the cap stopped one award');
  const before = await s.page.locator('#rules tbody tr').count();

  // The form keeps its values: save it (disabled), then enable it from the list.
  const saved = s.page.locator('#rule-form');
  assert.equal(await saved.getByLabel('Channel (posts only)', { exact: true }).inputValue(), fact('CHANNEL'));
  assert.equal(await click(s.page, saved.getByRole('button', { name: 'Save rule' })), 200);
  assert.match(await s.page.locator('main').innerText(), /Rule saved/);
  const rows = s.page.locator('#rules tbody tr', { hasText: fact('CHANNEL') });
  assert.equal(await rows.count(), 1);
  assert.equal(await s.page.locator('#rules tbody tr').count(), before + 1);
  assert.match(await rows.innerText(), /Disabled/);
  assert.equal(await click(s.page, rows.getByRole('button', { name: 'Enable' })), 200);
  assert.match(await s.page.locator('main').innerText(), /Rule enabled/);
  assert.match(await s.page.locator('#rules tbody tr', { hasText: fact('CHANNEL') }).innerText(), /Enabled/);
  await finish(s);
});
