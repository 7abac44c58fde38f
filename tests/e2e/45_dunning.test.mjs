// Dunning on the billing page: an invoice whose automatic payment failed
// shows why and when it is tried next (in the list and in the invoice),
// in English and German; a paused subscription says it reactivates on a
// top-up when the server has billing.reactivate_on_topup (a second stack
// with the setting, on the same database), and does so.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  launch, openPage, pageProblems, shot, audit, fund, newUser, token, call, runScheduler, waitText, text, isoTime,
} from './lib.mjs';
import { startStack } from '../integration/lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

const SERVICE_KEY = process.env.TALLY_SERVICE_KEY;
const MIN = 60 * 1000;
const DAY = 24 * 60 * MIN;
// A time as the page writes it, formatted by the browser's own Intl.
const fmtIn = (page, iso, locale) => page.evaluate(([i, l]) => new Intl.DateTimeFormat(l,
  { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }).format(new Date(i)), [iso, locale]);
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// A usage invoice (relay_basic, 5.00) that nothing could pay: no credits,
// no card.  Returns {user, invoice} as the API shows it.
async function failedInvoice(prefix, claims = {}) {
  const user = newUser(prefix);
  const tok = token(user, { email: `${user}@example.com`, ...claims });
  await call('GET', '/credits/balance', { token: tok });
  const when = isoTime(Date.now() - 2 * MIN);
  const res = await fetch(`${process.env.TALLY_URL}/api/v1/internal/activity`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Service-Key': SERVICE_KEY },
    body: JSON.stringify({ user_id: user, type: 'create', resource_id: 'relay-1', plan: 'relay_basic', at: when }),
  });
  assert.equal(res.status, 202, await res.text());
  await runScheduler(Date.now());
  const list = await call('GET', '/invoices', { token: tok });
  assert.equal(list.status, 200, list.text);
  assert.equal(list.body.invoices.length, 1);
  const invoice = list.body.invoices[0];
  assert.equal(invoice.status, 'pending');
  assert.ok(invoice.dunning && invoice.dunning.next_retry_at, JSON.stringify(invoice));
  return { user, tok, invoice };
}

test('an invoice whose automatic payment failed shows the reason and the next try', async () => {
  const { user, invoice } = await failedInvoice('dun');
  const next = invoice.dunning.next_retry_at;
  assert.ok(Math.abs(Date.parse(next) - (Date.now() + DAY)) < 10 * MIN, next);

  // The list: the next try under the status.
  const pg = await openPage(browser, { user, email: `${user}@example.com` });
  let { page } = pg;
  await page.waitForSelector('#invoices:not([hidden]) .retry-note');
  const when = await fmtIn(page, next, 'en-US');
  assert.equal(await text(page, '#invoices .retry-note'), `Next automatic try: ${when}`);

  // The invoice: why, when, which attempt.
  await page.click(`#invoices a[href="?invoice=${invoice.id}"]`);
  await page.waitForSelector('#invoice-dunning');
  assert.match(await text(page, '.doc-meta'), new RegExp(`Next automatic try${escape(when)}`));
  const box = await text(page, '#invoice-dunning');
  assert.match(box, /Automatic payment failed/);
  assert.match(box, /Why: Your credit balance \(0\) does not cover the invoice\./);
  assert.ok(box.includes(`We try again automatically on ${when} (attempt 1 of 4).`), box);
  const a = await audit(page);
  assert.deepEqual([a.unlabeled, a.lowContrast, a.skipped], [[], [], []]);
  await shot(page, '16-invoice-dunning');
  assert.deepEqual(await pageProblems(pg), []);
  await pg.context.close();

  // The first retry fails too: attempt 2 is announced, two days later.
  await runScheduler(Date.parse(next) + MIN);
  const r = await call('GET', `/invoices/${invoice.id}`, { token: token(user) });
  assert.equal(r.body.dunning.retries_made, 1);
  const next2 = r.body.dunning.next_retry_at;
  assert.equal(Date.parse(next2) - Date.parse(next), 2 * DAY);

  // In German.
  const de = await openPage(browser, { user, email: `${user}@example.com`, locale: 'de-DE', query: `?invoice=${invoice.id}` });
  page = de.page;
  await page.waitForSelector('#invoice-dunning');
  const boxDe = await text(page, '#invoice-dunning');
  assert.match(boxDe, /Automatische Zahlung fehlgeschlagen/);
  assert.match(boxDe, /Grund: Your credit balance/);
  const whenDe = await fmtIn(page, next2, 'de-DE');
  assert.ok(boxDe.includes(`Wir versuchen es am ${whenDe} automatisch noch einmal (Versuch 2 von 4).`), boxDe);
  assert.deepEqual(await pageProblems(de), []);
  await de.context.close();
});

test('a paused subscription says it reactivates on a top-up (when the server does), and does', async () => {
  const stack = await startStack({ name: 'e2e-topup', set: { 'billing.reactivate_on_topup': 'yes' } });
  try {
    const user = newUser('topup');
    await fund(user, 30);
    const act = await call('POST', `${stack.api}/subscriptions/cloud_sync/activate`, { token: token(user), body: { interval: 'monthly' } });
    assert.equal(act.status, 200, act.text);
    await runScheduler(Date.parse(act.body.next_charge_at) + MIN);
    const paused = await call('GET', `${stack.api}/subscriptions/cloud_sync`, { token: token(user) });
    assert.equal(paused.body.status, 'paused');
    assert.equal(paused.body.reactivates_on_topup, true);

    const pg = await openPage(browser, { user, base: stack.url });
    const { page } = pg;
    await page.waitForSelector('#pause-banner');
    assert.match(await text(page, '#pause-banner'), /Top up your credits: it reactivates by itself as soon as they cover its price\./);
    assert.match(await text(page, '#sub-cloud_sync-paused'),
      /It reactivates by itself as soon as a top-up covers 30 credits, and you pay for a new period from then\./);
    const a = await audit(page);
    assert.deepEqual([a.unlabeled, a.lowContrast, a.skipped], [[], [], []]);
    await shot(page, '17-paused-reactivates-on-topup');

    // A top-up (by an operator here): active again, the banner gone.
    const adj = await call('POST', `${stack.api}/admin/credits/adjust`, { admin: true,
      body: { user_id: user, amount: 30, reason: 'top-up', actor: 'e2e' } });
    assert.equal(adj.status, 200, adj.text);
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await waitText(page, '#sub-cloud_sync .badge', 'Active');
    assert.equal(await page.locator('#pause-banner').count(), 0);
    await waitText(page, '#balance-value', '0 credits');
    assert.deepEqual(await pageProblems(pg), []);
    await pg.context.close();

    // German.
    const other = newUser('topupde');
    await fund(other, 30);
    const a2 = await call('POST', `${stack.api}/subscriptions/cloud_sync/activate`, { token: token(other), body: { interval: 'monthly' } });
    await runScheduler(Date.parse(a2.body.next_charge_at) + MIN);
    const de = await openPage(browser, { user: other, base: stack.url, locale: 'de-DE' });
    await de.page.waitForSelector('#pause-banner');
    assert.match(await text(de.page, '#pause-banner'), /Das Abo wird von selbst wieder aktiviert, sobald es den Preis deckt\./);
    assert.match(await text(de.page, '#sub-cloud_sync-paused'), /Es wird von selbst wieder aktiviert, sobald eine Aufladung 30 Credits deckt/);
    assert.deepEqual(await pageProblems(de), []);
    await de.context.close();
  } finally {
    stack.stop();
  }
});
