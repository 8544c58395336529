// Announcements: an Instructor schedules one, edits it, and cancels it; the list shows each
// state. Facts: LINK_INSTRUCTOR, POST_AT (a local date-time tomorrow, YYYY-MM-DDTHH:MM).

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

async function submit(page, form) {
  await form.evaluate((f) => {
    f.noValidate = true;
  });
  const [response] = await Promise.all([
    page.waitForNavigation(),
    form.locator('button[type=submit]').first().click(),
  ]);
  return response.status();
}

const rowOf = (page, text) => page.locator('main table tbody tr', { hasText: text });

test('the Instructor schedules, edits and cancels an announcement', async () => {
  const s = await signIn(browser, fact('LINK_INSTRUCTOR'), '/dashboard');
  assert.equal(await open(s.page, '/dashboard/announcements'), 200);
  const first = 'Browser test: lab moved to room 12';
  const form = s.page.locator('main form.settings');
  await form.getByLabel('Channel').fill('C-demo-general');
  await form.getByLabel('Text').fill(first);
  await form.getByLabel('Post at').fill(fact('POST_AT'));
  assert.equal(await submit(s.page, form), 200);
  assert.match(await s.page.locator('main').innerText(), /Announcement scheduled\./);
  assert.match(await rowOf(s.page, first).innerText(), /Scheduled/);

  // Edit: the form comes back filled; the list shows the new text.
  const edited = 'Browser test: lab moved to room 14';
  const [response] = await Promise.all([
    s.page.waitForNavigation(),
    rowOf(s.page, first).getByRole('link', { name: /Edit/ }).click(),
  ]);
  assert.equal(response.status(), 200);
  const editForm = s.page.locator('main form.settings');
  assert.equal(await editForm.getByLabel('Text').inputValue(), first);
  await editForm.getByLabel('Text').fill(edited);
  assert.equal(await submit(s.page, editForm), 200);
  assert.match(await s.page.locator('main').innerText(), /Announcement changed\./);
  assert.equal(await rowOf(s.page, first).count(), 0, 'the old text is gone');
  assert.match(await rowOf(s.page, edited).innerText(), /Scheduled/);

  // Cancel: the row stays, as cancelled, without edit or cancel.
  assert.equal(await submit(s.page, rowOf(s.page, edited).locator('form')), 200);
  assert.match(await s.page.locator('main').innerText(), /Announcement cancelled/);
  const row = rowOf(s.page, edited);
  assert.match(await row.innerText(), /Cancelled/);
  assert.equal(await row.locator('form').count(), 0, 'no longer cancellable');
  // The demo's posted announcement shows as posted.
  assert.match(await s.page.locator('main table').innerText(), /Posted/, 'a posted one is listed');
  await finish(s);
});
