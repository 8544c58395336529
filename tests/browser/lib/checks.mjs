// What every page must satisfy: axe-core finds no serious or critical violation, nothing
// scrolls sideways at 320 px, the first Tab lands on a skip link, every link and button is
// reached by Tab and shows a focus outline. Screenshots at 1280 and 320 px go to
// CLASSCRED_BROWSER_SCREENSHOTS/<name>-<width>.png.

import assert from 'node:assert/strict';
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const WIDE = 1280;
export const NARROW = 320;

/// Runs axe-core in the page and fails on any violation of impact serious or critical, listing
/// each with its selectors. The script is evaluated through the DevTools protocol, which the
/// page's CSP does not govern, so the pages keep their real CSP while being checked.
export async function assertAccessible(page, name) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.evaluate(AXE_SOURCE);
  }
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
    }));
  });
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const report = serious
    .map((v) => `  [${v.impact}] ${v.id}: ${v.help}\n${v.nodes.map((n) => `    - ${n}`).join('\n')}`)
    .join('\n');
  assert.equal(serious.length, 0, `axe-core on ${name}: ${serious.length} serious/critical violation(s)\n${report}`);
  return violations;
}

/// At 320 px wide the page does not scroll sideways; when it does, the widest elements are named.
export async function assertFitsNarrow(page, name) {
  const { scrollWidth, culprits } = await page.evaluate((limit) => {
    const describe = (el) =>
      el.tagName.toLowerCase() + (el.id ? `#${el.id}` : '') +
      (el.classList.length ? `.${[...el.classList].join('.')}` : '');
    const culprits = [...document.body.querySelectorAll('*')]
      .filter((el) => el.getBoundingClientRect().right > limit + 0.5)
      .slice(0, 8)
      .map((el) => `${describe(el)} (right edge ${Math.round(el.getBoundingClientRect().right)} px)`);
    return { scrollWidth: document.documentElement.scrollWidth, culprits };
  }, NARROW);
  assert.ok(
    scrollWidth <= NARROW,
    `${name} scrolls sideways at ${NARROW} px (scrollWidth ${scrollWidth}); too wide: ${culprits.join(', ')}`,
  );
}

/// Keyboard only: the first Tab focuses a skip link to the main content, and Tab alone reaches
/// every visible link and button, each showing a focus outline (or ring) while focused.
export async function assertKeyboard(page, name) {
  const counts = await page.evaluate(() => {
    // Shown to the person: laid out, not hidden, and not inside a closed <details> (whose
    // content keeps its boxes in Chromium but is skipped by Tab until opened).
    const visible = (el) => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && el.checkVisibility({ visibilityProperty: true });
    };
    const all = [...document.querySelectorAll(
      'a[href], button:not([disabled]), input[type=submit]:not([disabled]), input[type=button]:not([disabled])',
    )].filter(visible);
    all.forEach((el, i) => el.setAttribute('data-cc-tab', String(i)));
    window.__ccFocus = [];
    document.addEventListener('focusin', (e) => {
      const el = e.target;
      const style = getComputedStyle(el);
      const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
      const ring = style.boxShadow && style.boxShadow !== 'none';
      window.__ccFocus.push({
        index: el.getAttribute('data-cc-tab'),
        tag: el.tagName.toLowerCase(),
        text: (el.textContent || el.getAttribute('aria-label') || el.value || '').trim().slice(0, 40),
        href: el.getAttribute('href'),
        shown: Boolean(outline || ring),
      });
    });
    if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
    // Tab also stops at fields, summaries and the like: press enough times to pass them all.
    const stops = [...document.querySelectorAll(
      'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex="-1"])',
    )].filter(visible).length;
    return { targets: all.length, stops };
  });
  assert.ok(counts.targets > 0, `${name}: no link or button to reach by keyboard`);
  // Start from the top of the document, as a person arriving on the page does.
  await page.evaluate(() => window.scrollTo(0, 0));
  const presses = counts.stops + 10;
  for (let i = 0; i < presses; i += 1) await page.keyboard.press('Tab');
  const focus = await page.evaluate(() => window.__ccFocus);
  assert.ok(focus.length > 0, `${name}: Tab focuses nothing`);
  const first = focus[0];
  const skip = await page.evaluate((href) => {
    if (!href || !href.startsWith('#') || href.length < 2) return null;
    return document.getElementById(href.slice(1)) ? href : null;
  }, first.href);
  assert.ok(
    first.tag === 'a' && skip && /skip/i.test(first.text),
    `${name}: the first Tab must focus a skip link to the main content, got <${first.tag}> "${first.text}" (${first.href})`,
  );
  const reached = new Set(focus.map((f) => f.index).filter((i) => i !== null));
  const missed = await page.evaluate((seen) => {
    const set = new Set(seen);
    return [...document.querySelectorAll('[data-cc-tab]')]
      .filter((el) => !set.has(el.getAttribute('data-cc-tab')))
      .map((el) => `<${el.tagName.toLowerCase()}> "${(el.textContent || el.value || '').trim().slice(0, 40)}"`);
  }, [...reached]);
  assert.deepEqual(
    missed,
    [],
    `${name}: links/buttons not reachable by Tab (${reached.size} of ${counts.targets} reached in ${presses} presses; ` +
      `the last focused: ${focus.slice(-3).map((f) => `<${f.tag}> "${f.text}"`).join(', ')})`,
  );
  const unmarked = focus.filter((f) => !f.shown).map((f) => `<${f.tag}> "${f.text}"`);
  assert.deepEqual(unmarked, [], `${name}: focused without a visible outline`);
}

/// Saves a full-page screenshot as <dir>/<name>-<width>.png (when a directory is given).
export async function screenshot(page, name) {
  const dir = process.env.CLASSCRED_BROWSER_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const width = page.viewportSize().width;
  await page.screenshot({ path: join(dir, `${name}-${width}.png`), fullPage: true });
}

/// Every check on the page now open in `page`: axe, keyboard and a screenshot at 1280 px, then
/// no sideways scroll and a screenshot at 320 px. Leaves the viewport at 1280 px.
export async function assertGoodPage(page, name) {
  await page.setViewportSize({ width: WIDE, height: 900 });
  await assertAccessible(page, name);
  await screenshot(page, name);
  await page.setViewportSize({ width: NARROW, height: 800 });
  await assertFitsNarrow(page, name);
  await assertAccessible(page, `${name} at ${NARROW} px`);
  await screenshot(page, name);
  await page.setViewportSize({ width: WIDE, height: 900 });
  await assertKeyboard(page, name);
}
