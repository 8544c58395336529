// Both CSV exports, downloaded by clicking their links on the Exports page: the points per
// student and the Canvas gradebook. Facts: LINK_INSTRUCTOR, STUDENT_NAME, STUDENT_POINTS
// (earned, as the dashboard prints points), STUDENT_COUNT.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { launch, signIn, open, finish, fact, namesOf } from './lib/browser.mjs';

let browser;
let s;
before(async () => {
  browser = await launch();
  s = await signIn(browser, fact('LINK_INSTRUCTOR'), '/dashboard');
});
after(async () => {
  if (s) await finish(s);
  await browser?.close();
});

/// RFC 4180 CSV: quoted fields may hold commas, quotes ("") and line breaks.
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/// Clicks the link whose href ends with `file` and returns the downloaded text and file name.
async function download(page, file) {
  const link = page.locator(`main a[href$="${file}"]`);
  assert.equal(await link.count(), 1, `one link to ${file} on the Exports page`);
  const [dl] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert.equal(await dl.failure(), null, `${file} downloaded`);
  return { name: dl.suggestedFilename(), text: await readFile(await dl.path(), 'utf8') };
}

const studentRow = (rows, column) => {
  // The full name, or "Last, First" as gradebooks sort them.
  const [full] = namesOf('STUDENT_NAME');
  const parts = full.split(' ');
  const names = [full, `${parts.slice(1).join(' ')}, ${parts[0]}`];
  const found = rows.filter((r) => names.includes(r[column]));
  assert.equal(found.length, 1, `one row for ${names.join(' or ')} in ${JSON.stringify(rows.slice(0, 3))}…`);
  return found[0];
};

test('points per student CSV: header, one row per student, the known student’s points', async () => {
  assert.equal(await open(s.page, '/dashboard/exports'), 200);
  const { name, text } = await download(s.page, 'points.csv');
  assert.match(name, /\.csv$/);
  const rows = parseCsv(text.replace(/^\uFEFF/, '')).filter((r) => r.some((f) => f !== ''));
  const header = rows[0].map((h) => h.toLowerCase());
  const nameCol = header.findIndex((h) => /name|student/.test(h));
  const pointsCol = header.findIndex((h) => /points|earned/.test(h));
  assert.ok(nameCol >= 0 && pointsCol >= 0, `header names the student and the points: ${rows[0]}`);
  // Staff may be listed too when a column says who is a student.
  const roleCol = header.findIndex((h) => /role/.test(h));
  const students = rows.slice(1).filter((r) => roleCol < 0 || /student/i.test(r[roleCol]));
  assert.equal(students.length, Number(fact('STUDENT_COUNT')), 'one row per student');
  const row = studentRow(rows, nameCol);
  assert.equal(Number(row[pointsCol]), Number(fact('STUDENT_POINTS')), `points of ${fact('STUDENT_NAME')}`);
});

test('Canvas gradebook CSV: Canvas’s header, then the participation column, the known student', async () => {
  assert.equal(await open(s.page, '/dashboard/exports'), 200);
  const { name, text } = await download(s.page, 'canvas.csv');
  assert.match(name, /\.csv$/);
  const rows = parseCsv(text.replace(/^\uFEFF/, '')).filter((r) => r.some((f) => f !== ''));
  assert.deepEqual(rows[0].slice(0, 5), ['Student', 'ID', 'SIS User ID', 'SIS Login ID', 'Section']);
  assert.match(rows[0][5] ?? '', /^ClassCred participation/);
  const students = rows.slice(1).filter((r) => !/points possible/i.test(r[0]));
  assert.equal(students.length, Number(fact('STUDENT_COUNT')), 'one row per student');
  const row = studentRow(rows, 0);
  assert.ok(row[5] !== '' && Number.isFinite(Number(row[5])), `a participation score for ${fact('STUDENT_NAME')}: ${row}`);
  assert.ok(Number(row[5]) > 0, `${fact('STUDENT_NAME')} earned ${fact('STUDENT_POINTS')} points: more than 0 participation`);
});
