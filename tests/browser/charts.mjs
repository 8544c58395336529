// The overview's charts and the recognition network render with the demo's data: SVG drawn on
// the server, each with a name, marks for the data and the numbers as a table. Facts:
// LINK_ADMIN, STUDENT_COUNT (students in the class), ISOLATED_NAMES (the students nobody
// recognised and who recognised nobody), PAIR_NAMES (two students who recognise only each other).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, signIn, open, finish, fact, namesOf } from './lib/browser.mjs';

let browser;
let s;
before(async () => {
  browser = await launch();
  s = await signIn(browser, fact('LINK_ADMIN'), '/dashboard');
});
after(async () => {
  if (s) await finish(s);
  await browser?.close();
});

/// Every SVG chart in main: its accessible name, size and count of data marks.
async function charts(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('main svg')].map((svg) => {
      const title = svg.querySelector(':scope > title')?.textContent?.trim() ?? '';
      const labelled = (svg.getAttribute('aria-labelledby') || '')
        .split(/\s+/)
        .map((id) => document.getElementById(id)?.textContent?.trim() ?? '')
        .join(' ')
        .trim();
      const name = svg.getAttribute('aria-label') || labelled || title;
      const box = svg.getBoundingClientRect();
      return {
        name,
        role: svg.getAttribute('role'),
        width: box.width,
        height: box.height,
        marks: svg.querySelectorAll('rect, path, circle, ellipse, line, polyline, polygon').length,
        circles: svg.querySelectorAll('circle, ellipse').length,
        lines: svg.querySelectorAll('line, path, polyline').length,
        text: svg.textContent,
      };
    }),
  );
}

/// Tables in main (shown or folded in a <details>) with their caption, body rows, and the
/// number of body rows holding a digit.
async function tables(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('main table')].map((t) => ({
      caption: t.caption?.textContent?.trim() ?? '',
      numericRows: [...t.querySelectorAll('tbody tr')].filter((r) => /\d/.test(r.textContent)).length,
      rows: [...t.querySelectorAll('tbody tr')].map((r) => r.textContent),
      text: t.textContent,
    })),
  );
}

test('the overview shows its charts with data, each with a name and a table of numbers', async () => {
  assert.equal(await open(s.page, '/dashboard'), 200);
  const found = await charts(s.page);
  assert.ok(found.length >= 2, `overview: at least two charts (fires per day, points), found ${found.length}`);
  for (const c of found) {
    assert.ok(c.name.length > 0, `every chart has a name (title or aria-label): ${JSON.stringify(c)}`);
    assert.ok(c.width > 100 && c.height > 50, `chart "${c.name}" is drawn (${c.width}x${c.height})`);
    assert.ok(c.marks >= 5, `chart "${c.name}" has marks for its data (${c.marks})`);
  }
  const t = await tables(s.page);
  const withNumbers = t.filter((x) => x.numericRows > 0);
  assert.ok(withNumbers.length >= found.length, `a table of numbers per chart: ${withNumbers.length} tables for ${found.length} charts`);
  const text = await s.page.locator('main').innerText();
  assert.match(text, /active/i, 'active students this week');
  assert.match(text, /nobody|not recognised|no recognition/i, 'students nobody recognised');
});

test('the network is drawn with every student, and its patterns are listed beside it', async () => {
  assert.equal(await open(s.page, '/dashboard/network'), 200);
  const [drawing] = (await charts(s.page)).sort((a, b) => b.circles - a.circles);
  assert.ok(drawing, 'the network page has an SVG drawing');
  assert.ok(drawing.name.length > 0, 'the drawing has a name');
  const students = Number(fact('STUDENT_COUNT'));
  assert.ok(drawing.circles >= students, `a node per student: ${drawing.circles} for ${students} students`);
  assert.ok(drawing.lines >= 10, `edges for who recognises whom: ${drawing.lines}`);
  const t = await tables(s.page);
  const text = await s.page.locator('main').innerText();
  assert.match(text, /isolated/i, 'isolated students are named');
  assert.match(text, /one-way/i, 'one-way recognition is named');
  assert.match(text, /pair|ring/i, 'closed pairs or rings are named');
  for (const name of namesOf('ISOLATED_NAMES')) {
    assert.ok(
      t.some((x) => x.rows.some((r) => r.includes(name) && /isolated/i.test(r))),
      `the isolated student ${name} has a row marked isolated in a table of the drawing`,
    );
    assert.ok(text.includes(name), `the isolated student ${name} is named on the page`);
  }
  const pairs = await s.page.evaluate(() =>
    [...document.querySelectorAll('main li, main tr, main p')]
      .map((el) => el.textContent)
      .filter((t) => /pair|ring|closed|only each other/i.test(t)),
  );
  const [a, b] = namesOf('PAIR_NAMES');
  assert.ok(
    pairs.some((p) => p.includes(a) && p.includes(b)) || text.includes(`${a} and ${b}`) || text.includes(`${b} and ${a}`),
    `the closed pair ${a} and ${b} is named together: ${JSON.stringify(pairs.slice(0, 5))}`,
  );
});
