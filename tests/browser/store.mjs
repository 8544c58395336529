// The class store: an Instructor adds an item on the Store page (STEP=create), and later
// approves the student's purchase of it from the approval queue (STEP=approve). The Rust side
// buys it for the student in between and checks the balances. Facts: LINK_INSTRUCTOR,
// STEP, ITEM_NAME.

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

async function submitIn(page, form) {
  await form.evaluate((f) => {
    f.noValidate = true;
  });
  const [response] = await Promise.all([
    page.waitForNavigation(),
    form.locator('button[type=submit]').last().click(),
  ]);
  return response.status();
}

test('the Instructor runs the store from the dashboard', async () => {
  const s = await signIn(browser, fact('LINK_INSTRUCTOR'), '/dashboard');
  assert.equal(await open(s.page, '/dashboard/store'), 200);
  const name = fact('ITEM_NAME');
  if (fact('STEP') === 'create') {
    const add = s.page.locator('section[aria-labelledby=h-new] form');
    await add.getByLabel('Name', { exact: true }).fill(name);
    await add.getByLabel('Price in points').fill('1');
    await add.getByLabel("Needs an instructor's approval").check();
    assert.equal(await submitIn(s.page, add), 200);
    const main = await s.page.locator('main').innerText();
    assert.match(main, /Item added to the store/);
    assert.ok(main.includes(name), 'the item is listed');
  } else {
    const item = s.page.locator('#queue li', { hasText: name });
    assert.equal(await item.count(), 1, 'the purchase waits in the queue');
    const approve = item.locator('form[action$="/approve"]');
    assert.equal(await submitIn(s.page, approve), 200);
    assert.match(await s.page.locator('main').innerText(), /Purchase approved/);
    assert.equal(await s.page.locator('#queue li', { hasText: name }).count(), 0, 'no longer waiting');
  }
  await finish(s);
});
