// Buying credits: by Lightning through the BTCPay stand-in (QR code, copy,
// lightning: link, countdown, the webhook settling it while the page polls)
// and by card through the Stripe stand-in's checkout page and back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  URL_BASE, PHONE, BTCPAY, STRIPE, launch, openPage, pageProblems, shot, audit, fund, newUser, token, call,
  balanceOf, waitText, text,
} from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

// Whether this server takes a payment method; a reason to skip when not.
async function unavailable(method, standin) {
  const r = await call('POST', '/credits/purchase', { token: token(newUser('probe')), body: { package: 'starter', method } });
  if (r.status === 400 && /not (available|configured)/i.test((r.body && r.body.message) || '')) {
    return `${method} payments are not available on this server yet: "${r.body.message}"`;
  }
  if (r.status !== 201) return `POST /credits/purchase (${method}) answered ${r.status} ${r.text}`;
  if (!standin) return `no ${method === 'card' ? 'Stripe' : 'BTCPay'} stand-in in this tree (tests/standins/)`;
  return false;
}

const lightningSkip = await unavailable('lightning', BTCPAY);
const cardSkip = await unavailable('card', STRIPE);

test('buy credits with Lightning: QR code, copy, countdown, and the balance after the webhook', { skip: lightningSkip }, async () => {
  const user = newUser('ln');
  await fund(user, 100);
  const pg = await openPage(browser, { user });
  const { page, context } = pg;
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: URL_BASE });
  assert.equal(await text(page, '#balance-value'), '100 credits');
  await page.check('#pkg-starter');
  await page.click('#buy-lightning');
  await page.waitForSelector('#pay-dialog[open] svg.qr path');
  const dlg = '#pay-dialog';
  assert.match(await text(page, dlg), /500 credits for €5\.00/);
  const bolt11 = await page.inputValue('#ln-bolt11');
  assert.match(bolt11, /^ln(bc|tb|bcrt)[0-9a-z]+$/);
  assert.equal(await page.getAttribute(`${dlg} a[href^="lightning:"]`, 'href'), `lightning:${bolt11}`);
  assert.ok((await page.getAttribute(`${dlg} svg.qr path`, 'd')).length > 1000, 'a QR code is drawn');
  assert.equal(await page.getAttribute(`${dlg} svg.qr`, 'role'), 'img');
  assert.match(await text(page, `${dlg} .expiry`), /^Expires in 1?\d:\d\d$/);
  await page.click(`${dlg} .ln-text button`);
  await waitText(page, dlg, 'Copied.');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), bolt11);
  assert.match(await text(page, dlg), /Waiting for your payment/);
  const a = await audit(page);
  assert.deepEqual([a.unlabeled, a.lowContrast], [[], []]);
  await shot(page, '05-lightning-invoice', { fullPage: false });

  // The payer pays: the stand-in settles its invoice and sends the webhook.
  const checkout = await page.getAttribute(`${dlg} a[target="_blank"]`, 'href');
  const invoiceId = new URL(checkout).pathname.split('/').pop();
  const settle = await fetch(`${BTCPAY}/_test/invoices/${encodeURIComponent(invoiceId)}/settle`,
    { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  assert.equal(settle.status, 200, await settle.text());
  await waitText(page, dlg, 'Payment received: 500 credits were added to your balance.', 20000);
  await shot(page, '06-lightning-paid', { fullPage: false });
  await page.click(`${dlg} .dialog-actions button`);
  assert.equal(await page.isVisible(dlg), false);
  await waitText(page, '#balance-value', '600 credits');
  await waitText(page, '#history tbody tr:first-child', 'Credits bought');
  assert.equal(await text(page, '#history tbody tr:first-child td.num.plus'), '+500');
  assert.equal(await balanceOf(user), 600);
  assert.deepEqual(await pageProblems(pg), []);
  await context.close();
});

test('the Lightning dialog on a phone', { skip: lightningSkip }, async () => {
  const user = newUser('lnp');
  const pg = await openPage(browser, { user, viewport: PHONE });
  await pg.page.click('#buy-lightning');
  await pg.page.waitForSelector('#pay-dialog[open] svg.qr path');
  const fits = await pg.page.evaluate(() => {
    const r = document.getElementById('pay-dialog').getBoundingClientRect();
    const q = document.querySelector('#pay-dialog svg.qr').getBoundingClientRect();
    return r.left >= 0 && r.right <= window.innerWidth && q.width >= 200;
  });
  assert.ok(fits, 'the dialog fits the screen and the QR code is big enough to scan');
  await shot(pg.page, '05-lightning-invoice-phone', { fullPage: false });
  // Escape closes it; polling stops; the page is as before.
  await pg.page.keyboard.press('Escape');
  assert.equal(await pg.page.isVisible('#pay-dialog'), false);
  assert.equal(await pg.page.isEnabled('#buy-lightning'), true);
  assert.deepEqual(await pageProblems(pg), []);
  await pg.context.close();
});

test('a Lightning invoice that expires unpaid says nothing was charged', { skip: lightningSkip }, async () => {
  const user = newUser('lnx');
  const pg = await openPage(browser, { user });
  const { page } = pg;
  await page.click('#buy-lightning');
  await page.waitForSelector('#pay-dialog[open] svg.qr path');
  const checkout = await page.getAttribute('#pay-dialog a[target="_blank"]', 'href');
  const id = new URL(checkout).pathname.split('/').pop();
  const r = await fetch(`${BTCPAY}/_test/invoices/${encodeURIComponent(id)}/expire`,
    { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  assert.equal(r.status, 200);
  await waitText(page, '#pay-dialog', 'This Lightning invoice expired before it was paid. Nothing was charged', 20000);
  assert.equal(await page.isHidden('#pay-dialog svg.qr'), true);
  await page.click('#pay-dialog .dialog-actions button');
  assert.equal(await text(page, '#balance-value'), '0 credits');
  assert.deepEqual(await pageProblems(pg), []);
  await pg.context.close();
});

test('buy credits by card: to the checkout page and back, balance credited by the webhook', { skip: cardSkip }, async () => {
  const user = newUser('card');
  const pg = await openPage(browser, { user });
  const { page } = pg;
  // The stand-in's own page is not ours: its missing favicon is no error of the billing page.
  pg.allow(404, new RegExp(`^${STRIPE}/`));
  await page.check('#pkg-large');
  await page.click('#buy-card');
  await page.waitForURL(`${STRIPE}/checkout/**`);
  await page.click('button[type="submit"]');
  await page.waitForURL(`${URL_BASE}/**`);
  await page.waitForSelector('body[data-ready="true"]');
  await waitText(page, '#topup', 'Payment received: 2,000 credits were added to your balance.', 20000);
  await waitText(page, '#balance-value', '2,000 credits');
  assert.equal(page.url(), `${URL_BASE}/`, 'the return parameters are cleaned from the address');
  assert.equal(await balanceOf(user), 2000);
  await shot(page, '07-card-returned', { fullPage: false });
  assert.deepEqual(await pageProblems(pg), []);
  await pg.context.close();
});

test('a canceled card checkout says that nothing was charged', { skip: cardSkip }, async () => {
  const user = newUser('cardx');
  const pg = await openPage(browser, { user, query: '?purchase=1&checkout=cancel' });
  await waitText(pg.page, '#topup .info', 'The card payment was canceled. Nothing was charged.');
  assert.equal(pg.page.url(), `${URL_BASE}/`);
  assert.deepEqual(await pageProblems(pg), []);
  await pg.context.close();
});
