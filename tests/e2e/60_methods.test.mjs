// Payment methods: the Lightning auto-pay connection (set, never shown back,
// removed) and a saved card added through the Stripe stand-in's setup page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  URL_BASE, STRIPE, launch, openPage, pageProblems, shotOf, audit, newUser, token, call, waitText, text,
} from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

const probe = await call('GET', '/billing/payment-methods', { token: token(newUser('probe')) });
const skip = probe.status === 404 ? 'GET /api/v1/billing/payment-methods is not on this server yet (404)' : false;
const setup = skip ? null : await call('POST', '/billing/card-setup', { token: token(newUser('probe')) });
const cardSkip = skip || (setup.status !== 200 ? `POST /billing/card-setup answered ${setup.status}: ${setup.text}`
  : !STRIPE ? 'no Stripe stand-in in this tree' : false);

const NWC = 'nostr+walletconnect://b889ff5b1513b641e2a139f661a661364979c5beee91842f8f0ef42ab558e9d4'
  + '?relay=wss%3A%2F%2Frelay.example.com&secret=71a8c14c1407c113601079c4302dab36460f0ccd0ad506f1f2dc73b5100e4f3c';

test('connect and disconnect Lightning auto-pay; the string is never shown back', { skip }, async () => {
  const user = newUser('nwc');
  const pg = await openPage(browser, { user, allow: [[400, /\/api\/v1\/billing\/nwc$/]] });
  const { page } = pg;
  assert.equal(await text(page, '#method-nwc .method-state'), 'Not connected.');
  assert.equal(await page.getAttribute('#nwc-url', 'type'), 'password');
  // Checked in the page first, then by the API.
  await page.fill('#nwc-url', 'https://example.com');
  await page.click('#nwc-save');
  await waitText(page, '#method-nwc .error', 'starts with nostr+walletconnect://');
  await page.fill('#nwc-url', 'nostr+walletconnect://abc?relay=wss://r.example.com');
  await page.click('#nwc-save');
  await waitText(page, '#method-nwc .error', 'This is not a complete Nostr Wallet Connect string');
  await page.fill('#nwc-url', NWC);
  await page.click('#nwc-save');
  await waitText(page, '#method-nwc .method-state', 'Connected to your wallet.');
  await waitText(page, '#method-nwc .status', 'Your wallet is connected.');
  assert.equal(await page.inputValue('#nwc-url'), '');
  assert.equal((await page.content()).includes('71a8c14c1407c113'), false, 'the secret is nowhere in the page');
  const r = await call('GET', '/billing/payment-methods', { token: token(user) });
  assert.equal(r.body.nwc, true);
  assert.equal(r.text.includes('walletconnect'), false);
  const au = await audit(page);
  assert.deepEqual([au.unlabeled, au.lowContrast], [[], []]);
  await shotOf(page.locator('#methods'), '15-payment-methods');
  await page.click('#nwc-remove');
  await waitText(page, '#method-nwc .method-state', 'Not connected.');
  assert.equal((await call('GET', '/billing/payment-methods', { token: token(user) })).body.nwc, false);
  assert.deepEqual(await pageProblems(pg), []);
  await pg.context.close();
});

test('save a card through the setup page, then remove it', { skip: cardSkip }, async () => {
  const user = newUser('cardsave');
  const pg = await openPage(browser, { user, allow: [[404, new RegExp(`^${STRIPE}/`)]] });
  const { page } = pg;
  assert.equal(await text(page, '#method-card .method-state'), 'No card saved.');
  await page.click('#card-add');
  await page.waitForURL(`${STRIPE}/checkout/**`);
  await page.click('button[type="submit"]');
  await page.waitForURL(`${URL_BASE}/**`);
  await page.waitForSelector('body[data-ready="true"]');
  await waitText(page, '#method-card .status', 'Your card was saved.', 40000);
  assert.match(await text(page, '#method-card .method-state'), /ending in \d{4}$/);
  assert.equal(page.url(), `${URL_BASE}/`);
  await shotOf(page.locator('#methods'), '15-card-saved');

  // An invoice can now be paid with the saved card, in one click.
  const act = await call('POST', '/subscriptions/pro/activate', { token: token(user), body: { interval: 'monthly' } });
  if (act.status === 201 && act.body.invoice) {
    await page.goto(`${URL_BASE}/?invoice=${act.body.invoice.id}`);
    await page.waitForSelector('#pay-saved-card');
    assert.match(await text(page, '#pay-saved-card'), /^Pay with saved card \(•••• \d{4}\)$/);
    assert.equal(await text(page, '#pay-card'), 'Pay with another card');
    await page.click('#pay-saved-card');
    await waitText(page, '.doc-head .badge', 'Paid', 20000);
    assert.match(await text(page, '.doc-meta'), /by card/);
    await page.click('.view-bar .back');
    await page.waitForSelector('#dashboard:not([hidden])');
  }

  await page.click('#card-remove');
  await waitText(page, '#method-card .method-state', 'No card saved.');
  assert.equal((await call('GET', '/billing/payment-methods', { token: token(user) })).body.card, null);
  assert.deepEqual(await pageProblems(pg), []);
  await pg.context.close();
});
