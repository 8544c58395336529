// Helpers for the settings forms: find a field by its label, submit its form, and read the
// message the server put next to a field.

import assert from 'node:assert/strict';

/// The one text or number field labelled `label` in main (a checkbox whose label says the
/// same words, such as "The daily quota also limits Admins", is not it).
export async function field(page, label) {
  const control = page
    .locator('main')
    .getByLabel(label)
    .and(page.locator('input:not([type=checkbox]):not([type=radio]):not([type=hidden]), select, textarea'));
  assert.equal(await control.count(), 1, `one field labelled ${label} on ${page.url()}`);
  return control;
}

/// Submits the form holding `control` with its submit button, with the browser's own
/// validation turned off so that the server's validation is what is tested. Returns the
/// status of the page the submission ends on.
export async function submit(page, control) {
  const form = control.locator('xpath=ancestor::form[1]');
  assert.equal(await form.count(), 1, 'the field is in a form');
  await form.evaluate((f) => {
    f.noValidate = true;
  });
  const button = form.locator('button[type=submit], button:not([type]), input[type=submit]').last();
  const [response] = await Promise.all([page.waitForNavigation(), button.click()]);
  assert.ok(response, 'the form submission answered');
  return response.status();
}

/// The text that describes `control` (its aria-describedby targets) and whether it is marked
/// invalid.
export async function described(control) {
  return control.evaluate((el) => ({
    invalid: el.getAttribute('aria-invalid') === 'true',
    text: (el.getAttribute('aria-describedby') || '')
      .split(/\s+/)
      .filter(Boolean)
      .map((id) => document.getElementById(id))
      .filter((d) => d && d.getClientRects().length > 0)
      .map((d) => d.textContent.trim())
      .join(' '),
  }));
}
