// Gifts between two users: create one with a message (markup in it stays
// text), redeem it as someone else, see both lists; a personalized gift;
// cancel one; the buttons are busy while their request runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  launch, openPage, pageProblems, shot, audit, fund, newUser, balanceOf, waitText, text,
} from './lib.mjs';

const XSS = '<img src=x onerror=alert(1)> Happy birthday! <b>bold</b> & "quotes"';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

// No element from the message ever made it into the page (an alert()
// would be caught as a problem by openPage's dialog listener).
async function noInjectedMarkup(page) {
  const found = await page.evaluate(() => ({
    imgs: [...document.querySelectorAll('img')].filter((i) => !i.getAttribute('src').startsWith('img/')).length,
    bolds: document.querySelectorAll('#gifts b').length,
  }));
  assert.deepEqual(found, { imgs: 0, bolds: 0 });
}

test('create a gift with a message, redeem it as another user; the message stays text', async () => {
  const giver = newUser('giver');
  const taker = newUser('taker');
  await fund(giver, 500);
  const a = await openPage(browser, { user: giver, email: `${giver}@example.com` });
  let page = a.page;
  await page.fill('#gift-credits', '120');
  await page.check('#gift-type-simple');
  await page.fill('#gift-message', XSS);
  // While the request runs, its button is disabled and busy.
  let release;
  const held = new Promise((r) => { release = r; });
  await page.route('**/api/v1/gifts', async (route) => { await held; await route.continue(); });
  await page.click('#gift-create');
  await page.waitForSelector('#gift-create[aria-busy="true"]:disabled');
  release();
  await page.waitForSelector('#gift-code-new');
  await page.unroute('**/api/v1/gifts');
  // The button stays busy until the lists are reloaded, then is released.
  await page.waitForSelector('#gift-create:not([aria-busy])');
  assert.equal(await page.getAttribute('#gift-create', 'aria-busy'), null);
  assert.equal(await page.isEnabled('#gift-create'), true);
  const code = await page.inputValue('#gift-code-new');
  assert.match(code, /^TLY(-[0-9A-Z]{4}){4}-[0-9A-Z]{2}$/);
  assert.match(await text(page, '#gift-form .status'), /Gift code created for 120 credits\./);
  assert.equal(await page.inputValue('#gift-message'), '', 'the form is reset');
  assert.equal(await page.isChecked('#gift-type-simple'), true, 'to its defaults');
  await waitText(page, '#balance-value', '380 credits');
  await waitText(page, '#gifts-created', code);
  const item = `#gifts-created li[data-code="${code}"]`;
  assert.equal(await text(page, `${item} .gift-message`), XSS, 'the message is shown as typed');
  assert.equal(await text(page, `${item} .badge`), 'Not redeemed');
  await noInjectedMarkup(page);
  const au = await audit(page);
  assert.deepEqual([au.unlabeled, au.lowContrast, au.skipped], [[], [], []]);
  await shot(page, '13-gift-created');

  // The other user redeems it (lower case and without dashes works too).
  const b = await openPage(browser, { user: taker, email: `${taker}@example.com` });
  const pb = b.page;
  await pb.fill('#redeem-code', code.toLowerCase());
  await pb.click('#redeem');
  await waitText(pb, '#redeem-form .status', 'Redeemed: 120 credits were added to your balance.');
  assert.equal(await text(pb, '#redeem-result .gift-message'), XSS);
  await waitText(pb, '#balance-value', '120 credits');
  await waitText(pb, '#gifts-received', code);
  assert.equal(await text(pb, `#gifts-received li[data-code="${code}"] .gift-message`), XSS);
  await waitText(pb, '#history tbody tr:first-child', 'Gift received');
  await noInjectedMarkup(pb);
  await shot(pb, '14-gift-redeemed');
  assert.equal(await balanceOf(taker), 120);

  // A second try is refused, next to the button.
  b.allow(409, /\/gifts\/[^/]+\/redeem$/);
  await pb.fill('#redeem-code', code);
  await pb.click('#redeem');
  await waitText(pb, '#redeem-form .error', 'This gift cannot be redeemed: it was redeemed or canceled already');
  assert.equal(await balanceOf(taker), 120);
  assert.deepEqual(await pageProblems(b), []);
  await b.context.close();

  // The giver sees it redeemed.
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await waitText(page, `${item} .badge`, 'Redeemed');
  assert.equal(await page.locator(`${item} button`).count(), 0, 'a redeemed gift cannot be canceled');
  await noInjectedMarkup(page);
  assert.deepEqual(await pageProblems(a), []);
  await a.context.close();
});

test('a personalized gift names its email; canceling gives the credits back', async () => {
  const giver = newUser('pgiver');
  await fund(giver, 300);
  const pg = await openPage(browser, { user: giver });
  const { page } = pg;
  assert.equal(await page.isHidden('#gift-email'), true);
  await page.check('#gift-type-personal');
  assert.equal(await page.isVisible('#gift-email'), true);
  await page.fill('#gift-credits', '50');
  // Checked before sending: an email is needed.
  await page.click('#gift-create');
  await waitText(page, '#gift-form .error', 'Enter the email address of the person the gift is for.');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'gift-email');
  await page.fill('#gift-email', 'friend@example.com');
  await page.fill('#gift-message', 'Für dich ✨');
  await page.click('#gift-create');
  await page.waitForSelector('#gift-code-new');
  const code = await page.inputValue('#gift-code-new');
  const item = `#gifts-created li[data-code="${code}"]`;
  await waitText(page, item, 'For friend@example.com');
  await waitText(page, '#balance-value', '250 credits');
  await page.click(`${item} button`);
  await waitText(page, `${item} .badge`, 'Canceled');
  await waitText(page, '#balance-value', '300 credits');
  assert.equal(await balanceOf(giver), 300);
  assert.equal(await page.locator(`${item} button`).count(), 0);
  assert.deepEqual(await pageProblems(pg), []);
  await pg.context.close();
});
