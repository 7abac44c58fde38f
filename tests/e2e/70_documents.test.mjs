// Coupons and invoice documents on the billing page: a coupon code given
// when activating an invoice-billed product puts its discount line on the
// first invoice; the invoice view's "Print / PDF" link opens the invoice
// document in a new tab, which runs under its own CSP without a violation
// and prints (Chromium's page.pdf, as "Save as PDF" does) to one A4 page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  URL_BASE, OUT, launch, openPage, pageProblems, newUser, call, waitText, token,
} from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

// The pages of a PDF and the size of the first (in points): enough of the
// format to check a document Chromium wrote (uncompressed page objects).
function pdfPages(buf) {
  const s = buf.toString('latin1');
  const pages = (s.match(/\/Type\s*\/Page(?![s\w])/g) || []).length;
  const box = /\/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]/.exec(s);
  return { pages, width: box && Number(box[3]) - Number(box[1]), height: box && Number(box[4]) - Number(box[2]) };
}

test('a coupon at activation, then "Print / PDF": the document opens and prints to one A4 page', async () => {
  const code = `E2E-${crypto.randomBytes(3).toString('hex').toUpperCase()}`;
  const c = await call('POST', '/admin/coupons', { admin: true,
    body: { code, percent_off: 10, duration: 'once', applies_to: { products: ['pro'] }, actor: 'e2e' } });
  assert.equal(c.status, 201, c.text);

  const user = newUser('doc');
  const pg = await openPage(browser, { user, email: `${user}@example.com` });
  const { page, context } = pg;
  await page.fill('#activate-pro-coupon', code.toLowerCase());
  await page.click('#activate-pro');
  await page.waitForSelector('.invoice-doc');
  const rows = await page.locator('.inv-items tbody tr').allTextContents();
  assert.equal(rows.length, 2, rows.join(' | '));
  assert.match(rows[1], new RegExp(`Coupon ${code}: 10% off`));
  assert.match(await page.locator('.inv-items tfoot').textContent(), /26[.,]10/);

  const link = page.locator('#invoice-document');
  assert.equal(await link.textContent(), 'Print / PDF');
  assert.equal(await link.getAttribute('target'), '_blank');
  assert.match(await link.getAttribute('rel'), /noopener/);
  const [doc] = await Promise.all([context.waitForEvent('page'), link.click()]);
  const violations = [];
  doc.on('console', (m) => { if (m.type() === 'error') violations.push(m.text()); });
  await doc.waitForLoadState('load');
  assert.match(doc.url(), /\/api\/v1\/invoices\/\d+\/document\?/);
  assert.match(await doc.title(), /^Invoice TLY-\d{4}-000001$/);
  const body = await doc.locator('body').textContent();
  assert.match(body, /Example Billing Ltd/);
  assert.ok(body.includes(`${user}@example.com`));
  assert.match(body, new RegExp(`Coupon ${code}: 10% off`));
  assert.match(body, /Pending/);
  // The inline style applied (allowed by its hash): the table spans the page.
  assert.equal(await doc.locator('table').evaluate((t) => getComputedStyle(t).borderCollapse), 'collapse');
  assert.deepEqual(violations, [], 'no CSP violation or error in the document');

  fs.mkdirSync(OUT, { recursive: true });
  const pdf = await doc.pdf({ preferCSSPageSize: true, printBackground: true });
  fs.writeFileSync(path.join(OUT, 'invoice-document.pdf'), pdf);
  const info = pdfPages(pdf);
  assert.equal(info.pages, 1, 'a short invoice is one page');
  // A4 is 595.28 x 841.89 points.
  assert.ok(Math.abs(info.width - 595.3) < 2 && Math.abs(info.height - 841.9) < 2, `A4, not ${info.width} x ${info.height}`);
  assert.deepEqual(await pageProblems(pg), []);
  await context.close();
});

test('the German page opens the German document', async () => {
  const user = newUser('doc-de');
  const r = await call('POST', '/subscriptions/pro/activate', { token: token(user, { email: `${user}@example.com` }),
    body: { interval: 'monthly' } });
  assert.equal(r.status, 201, r.text);
  const pg = await openPage(browser, { user, email: `${user}@example.com`, locale: 'de-DE', query: `?invoice=${r.body.invoice.id}` });
  const { page, context } = pg;
  await page.waitForSelector('.invoice-doc');
  await waitText(page, '#invoice-document', 'Drucken / PDF');
  const [doc] = await Promise.all([context.waitForEvent('page'), page.click('#invoice-document')]);
  await doc.waitForLoadState('load');
  assert.match(await doc.title(), /^Rechnung TLY-/);
  assert.match(await doc.locator('body').textContent(), /Offen/);
  assert.equal(doc.url().startsWith(`${URL_BASE}/api/v1/invoices/`), true);
  await context.close();
});
