// Subscriptions: activate (the interval's price shown first), change the
// interval, cancel (access until the period end) and resume; a pause by the
// scheduler shows the banner with the top-up, and reactivating clears it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  PHONE, launch, openPage, pageProblems, shot, audit, fund, newUser, token, call, balanceOf, runScheduler,
  waitText, text,
} from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

const card = '#sub-cloud_sync';
const sub = async (user) => (await call('GET', '/subscriptions/cloud_sync', { token: token(user) })).body;

test('activate a subscription and see it', async () => {
  const user = newUser('sub');
  await fund(user, 100);
  const pg = await openPage(browser, { user });
  const { page } = pg;
  assert.equal(await text(page, `${card} .badge`), 'Not subscribed');
  await page.selectOption('#activate-cloud_sync-interval', 'quarterly');
  assert.equal(await text(page, `${card} .price-line`), 'You pay 90 credits now, then every three months until you cancel.');
  await page.selectOption('#activate-cloud_sync-interval', 'monthly');
  assert.equal(await text(page, `${card} .price-line`), 'You pay 30 credits now, then every month until you cancel.');
  await page.click('#activate-cloud_sync');
  await waitText(page, `${card} .badge`, 'Active');
  await waitText(page, `${card} .status`, 'Cloud Sync is active.');
  const facts = await text(page, `${card} .facts`);
  assert.match(facts, /IntervalMonthly/);
  assert.match(facts, /Price30 credits every month/);
  const s = await sub(user);
  assert.equal(s.status, 'active');
  const end = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeZone: 'UTC' }).format(new Date(s.current_period_end));
  assert.match(facts, new RegExp(`Next charge${end}`));
  assert.match(facts, new RegExp(`Current period ends${end}`));
  await waitText(page, '#balance-value', '70 credits');
  await waitText(page, '#history tbody tr:first-child', 'Subscription');
  assert.equal(await text(page, '#history tbody tr:first-child td.num'), '\u221230');
  assert.equal(await balanceOf(user), 70);
  const a = await audit(page);
  assert.deepEqual([a.unlabeled, a.lowContrast, a.skipped], [[], [], []]);
  await shot(page, '08-subscription-active');

  // Change the interval: the new price from the next charge, nothing now.
  await page.selectOption('#change-cloud_sync-interval', 'yearly');
  assert.match(await text(page, '#change-cloud_sync-hint'), new RegExp(`From the next charge on ${end} you pay 360 credits\\. Nothing is charged now\\.`));
  await page.click('#change-cloud_sync');
  await waitText(page, `${card} .status`, 'From the next charge you pay 360 credits every year.');
  assert.match(await text(page, `${card} .facts`), /IntervalYearly/);
  assert.equal((await sub(user)).interval, 'yearly');
  assert.equal(await balanceOf(user), 70);

  // Cancel: the confirmation says until when access lasts.
  await page.click('#cancel-cloud_sync');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'cancel-cloud_sync-yes');
  assert.equal(await text(page, `${card} .confirm p`), `Cancel? You keep access until ${end} and are not charged again.`);
  await shot(page, '09-subscription-cancel-confirm', { fullPage: false });
  await page.click('#cancel-cloud_sync-yes');
  await waitText(page, `${card} .badge`, 'Ending');
  await waitText(page, card, `Canceled: you keep access until ${end}, and you will not be charged again.`);
  assert.match(await text(page, `${card} .facts`), new RegExp(`Access until${end}`));
  assert.equal((await sub(user)).cancel_at_period_end, true);

  // Changed one's mind.
  await page.click('#resume-cloud_sync');
  await waitText(page, `${card} .badge`, 'Active');
  assert.equal((await sub(user)).cancel_at_period_end, false);
  assert.equal(await balanceOf(user), 70);
  assert.deepEqual(await pageProblems(pg), []);
  await pg.context.close();
});

test('a subscription paused by the scheduler shows the banner, and reactivating clears it', async () => {
  const user = newUser('pause');
  await fund(user, 30);
  const pg = await openPage(browser, { user });
  let { page } = pg;
  await page.click('#activate-cloud_sync');
  await waitText(page, `${card} .badge`, 'Active');
  await waitText(page, '#balance-value', '0 credits');
  assert.equal(await page.locator('#pause-banner').count(), 0);

  // The renewal is due; 0 credits cannot pay it: the scheduler pauses it.
  const s = await sub(user);
  const due = new Date(Date.parse(s.next_charge_at) + 60 * 1000);
  await runScheduler(due);
  const after = await sub(user);
  assert.equal(after.status, 'paused');

  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForSelector('#pause-banner');
  const pausedOn = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeZone: 'UTC' }).format(new Date(after.paused_at));
  assert.equal(await text(page, '#pause-banner h2'), 'A subscription needs your attention');
  assert.equal(await text(page, '#pause-banner li'), `Cloud Sync is paused since ${pausedOn}: your credits did not cover its renewal.`);
  assert.match(await text(page, '#pause-banner'), /Top up your credits, then reactivate it below\./);
  // The banner comes first in the page, before the sections.
  const first = await page.evaluate(() => document.querySelector('#dashboard h1').nextElementSibling.firstElementChild.id);
  assert.equal(first, 'pause-banner');
  assert.equal(await text(page, `${card} .badge`), 'Paused');
  assert.match(await text(page, card), /Paused: the renewal of 30 credits could not be paid from your credits/);
  const a = await audit(page);
  assert.deepEqual([a.unlabeled, a.lowContrast, a.skipped], [[], [], []]);
  await shot(page, '10-paused-banner');

  // The banner's button leads to the top-up.
  await page.click('#banner-topup');
  assert.equal(await page.evaluate(() => document.activeElement.name), 'package');

  // Topped up (by an operator here), reactivated: the banner goes.
  await fund(user, 30);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await page.click('#activate-cloud_sync');
  await waitText(page, `${card} .badge`, 'Active');
  assert.equal(await page.locator('#pause-banner').count(), 0);
  assert.equal((await sub(user)).status, 'active');
  assert.deepEqual(await pageProblems(pg), []);
  await pg.context.close();

  // And on a phone, for the record: a second paused account.
  const other = newUser('pausep');
  await fund(other, 30);
  await call('POST', '/subscriptions/cloud_sync/activate', { token: token(other), body: { interval: 'monthly' } });
  const o = await sub(other);
  await runScheduler(new Date(Date.parse(o.next_charge_at) + 60 * 1000));
  const phone = await openPage(browser, { user: other, viewport: PHONE });
  page = phone.page;
  await page.waitForSelector('#pause-banner');
  await shot(page, '10-paused-banner-phone', { fullPage: false });
  assert.deepEqual(await pageProblems(phone), []);
  await phone.context.close();
});
