// Polls: an Instructor creates a poll on the Polls page, a student votes through a signed
// Slack block_actions request (the vote button of the posted poll, as Slack sends a click),
// and the Instructor sees the vote, closes the poll and sees the final results. Facts:
// LINK_INSTRUCTOR, POLL_QUESTION, SLACK_SECRET, SLACK_TEAM, STUDENT_UID.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { launch, signIn, open, finish, fact, url } from './lib/browser.mjs';

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

/// A click on a poll's vote button, signed with the app's signing secret (Slack's v0 scheme).
async function slackVote(pollId, option) {
  const payload = {
    type: 'block_actions',
    user: { id: fact('STUDENT_UID'), username: 'student', team_id: fact('SLACK_TEAM') },
    team: { id: fact('SLACK_TEAM'), domain: 'class' },
    channel: { id: 'C0POLLS01', name: 'general' },
    response_url: url('/nowhere'),
    actions: [{
      type: 'button',
      action_id: `poll:vote:${pollId}:${option}`,
      block_id: 'poll_vote',
      value: String(option),
      text: { type: 'plain_text', text: 'Option', emoji: true },
      action_ts: `${Math.floor(Date.now() / 1000)}.000100`,
    }],
  };
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const ts = Math.floor(Date.now() / 1000).toString();
  const sig = 'v0=' + createHmac('sha256', fact('SLACK_SECRET')).update(`v0:${ts}:${body}`).digest('hex');
  const r = await fetch(url('/slack/interactivity'), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': ts,
      'x-slack-signature': sig,
    },
    body,
  });
  return r.status;
}

test('an Instructor runs a poll, a student votes from Slack', async () => {
  const s = await signIn(browser, fact('LINK_INSTRUCTOR'), '/dashboard');
  assert.equal(await open(s.page, '/dashboard/polls'), 200);
  const question = fact('POLL_QUESTION');
  const form = s.page.locator('form[action="/dashboard/polls"]');
  // A refused form first: one option only.
  await form.getByLabel('Question (or motion)').fill(question);
  await form.getByLabel('Options (debate: sides)').fill('Only one');
  assert.equal(await submitIn(s.page, form), 422);
  assert.match(await s.page.locator('main').innerText(), /give 2 to 10 options/);
  const again = s.page.locator('form[action="/dashboard/polls"]');
  await again.getByLabel('Options (debate: sides)').fill('Graphs\nTrees');
  assert.equal(await submitIn(s.page, again), 200);
  assert.match(await s.page.locator('main').innerText(), /Created/);

  const poll = s.page.locator('section', { hasText: question });
  assert.equal(await poll.count(), 1, 'the poll is listed');
  const action = await poll.locator('form[action$="/close"]').getAttribute('action');
  const pollId = action.split('/')[3];

  assert.equal(await slackVote(pollId, 1), 200, 'the signed click is accepted');
  assert.equal(await open(s.page, '/dashboard/polls'), 200);
  const listed = s.page.locator('section', { hasText: question });
  assert.match(await listed.innerText(), /Results: 1 vote\b/);
  assert.match(await listed.locator('tr', { hasText: '2. Trees' }).innerText(), /\b1\b.*100%/s);

  assert.equal(await submitIn(s.page, listed.locator('form[action$="/close"]')), 200);
  const main = await s.page.locator('main').innerText();
  assert.match(main, /Closed: the results are final/);
  const closed = s.page.locator('section', { hasText: question });
  assert.equal(await closed.locator('form[action$="/close"]').count(), 0, 'no Close once closed');
  assert.match(await closed.innerText(), /Results: 1 vote\b/);
  await finish(s);
});
