// The page itself: headers, opening with a token, the balance, the
// languages, the signed-out states, keyboard use, phone layout, paging,
// and errors shown next to their action.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  URL_BASE, DESKTOP, PHONE, launch, openPage, pageProblems, shot, audit, fund, newUser, token, waitText, text,
} from './lib.mjs';

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
  + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

async function clean(pg) {
  assert.deepEqual(await pageProblems(pg), [], 'no console errors, page errors, alerts or CSP violations');
}

async function audited(page) {
  const a = await audit(page);
  assert.deepEqual(a.unlabeled, [], 'every control has a label');
  assert.deepEqual(a.lowContrast, [], 'text contrast passes WCAG AA');
  assert.deepEqual(a.skipped, [], 'headings do not skip levels');
  assert.deepEqual(a.missingLandmarks, [], 'header, main and footer landmarks');
}

test('the page and its files are served with the CSP and the other headers', async () => {
  for (const p of ['/', '/js/app.js', '/css/app.css', '/vendor/qrcode.js']) {
    const r = await fetch(`${URL_BASE}${p}`);
    assert.equal(r.status, 200, p);
    assert.equal(r.headers.get('content-security-policy'), CSP, p);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', p);
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer', p);
  }
  const js = await fetch(`${URL_BASE}/js/app.js`);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  const html = await (await fetch(`${URL_BASE}/`)).text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline script');
  assert.doesNotMatch(html, /\sstyle=|<style/i, 'no inline style');
  assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handlers');
  // The API keeps its own headers.
  const api = await fetch(`${URL_BASE}/api/v1/health`);
  assert.equal(api.headers.get('content-security-policy'), null);
});

test('opens with a token: the balance is shown and the token leaves the address bar and history', async () => {
  const user = newUser('page');
  await fund(user, 1000);
  const tok = token(user, { email: `${user}@example.com` });
  const pg = await openPage(browser, { user, tok });
  const { page } = pg;
  assert.equal(await text(page, '#balance-value'), '1,000 credits');
  assert.match(await text(page, '#balance'), /Worth €10\.00/);
  assert.equal(page.url(), `${URL_BASE}/`, 'the fragment with the token is gone');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('tally.token')), tok);
  const cdp = await pg.context.newCDPSession(page);
  const { entries } = await cdp.send('Page.getNavigationHistory');
  assert.ok(entries.every((e) => !e.url.includes('token=')), `history: ${entries.map((e) => e.url).join(', ')}`);
  assert.match(await text(page, '#who'), new RegExp(`Signed in as ${user}@example.com`));
  const pkgs = await page.locator('.package label').allTextContents();
  assert.deepEqual(pkgs, ['500 credits€5.00', '2,000 credits€18.00']);
  assert.match(await text(page, '#subscriptions'), /Cloud Sync/);
  await audited(page);
  await shot(page, '01-overview');
  await clean(pg);
  await pg.context.close();
});

test('on a 390 px phone: one column, no sideways scrolling, still accessible', async () => {
  const user = newUser('phone');
  await fund(user, 250);
  const pg = await openPage(browser, { user, email: `${user}@example.com`, viewport: PHONE });
  const { page } = pg;
  const layout = await page.evaluate(() => {
    const box = (id) => document.getElementById(id).getBoundingClientRect();
    return {
      sameColumn: ['balance', 'subscriptions', 'history', 'gifts'].map((id) => Math.round(box(id).left)),
      widths: ['balance', 'subscriptions'].map((id) => Math.round(box(id).width)),
      overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    };
  });
  assert.equal(new Set(layout.sameColumn).size, 1, `one column: ${layout.sameColumn}`);
  assert.ok(layout.widths.every((w) => w > 330), `full width cards: ${layout.widths}`);
  assert.equal(layout.overflow, 0, 'no horizontal scrolling');
  await audited(page);
  await shot(page, '01-overview-phone');
  await clean(pg);
  await pg.context.close();
});

test('keyboard: a skip link first, then every control with a visible focus', async () => {
  const user = newUser('keys');
  const pg = await openPage(browser, { user });
  const { page } = pg;
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.className), 'skip-link');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
  const seen = [];
  for (let i = 0; i < 12; i += 1) {
    await page.keyboard.press('Tab');
    seen.push(await page.evaluate(() => {
      const el = document.activeElement;
      const st = getComputedStyle(el);
      const target = el.type === 'radio' && el.closest('.package') ? getComputedStyle(el.nextElementSibling) : st;
      return { tag: el.tagName, id: el.id, outline: target.outlineStyle !== 'none' && parseFloat(target.outlineWidth) >= 2 };
    }));
  }
  assert.ok(seen.every((s) => s.outline), `focus is visible: ${JSON.stringify(seen.filter((s) => !s.outline))}`);
  assert.ok(seen.some((s) => s.id === 'buy-card'), 'the top-up buttons are reachable');
  await clean(pg);
  await pg.context.close();
});

test('German from the browser language, and switchable', async () => {
  const user = newUser('de');
  await fund(user, 1000);
  const pg = await openPage(browser, { user, locale: 'de-DE' });
  const { page } = pg;
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'de');
  assert.equal(await text(page, 'h1.page-title'), 'Abrechnung und Guthaben');
  assert.equal(await text(page, '#balance-value'), '1.000 Credits');
  assert.match(await text(page, '#balance'), /Im Wert von 10,00\s€/);
  assert.match(await text(page, '#sub-cloud_sync'), /Monatlich – 30 Credits/);
  await audited(page);
  await shot(page, '02-german');
  await page.selectOption('#lang', 'en');
  await waitText(page, 'h1.page-title', 'Billing and credits');
  assert.equal(await text(page, '#balance-value'), '1,000 credits');
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  // The choice is remembered.
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  assert.equal(await text(page, 'h1.page-title'), 'Billing and credits');
  await clean(pg);
  await pg.context.close();
});

test('an expired token shows a clear "sign in again" state', async () => {
  const user = newUser('exp');
  const past = Math.floor(Date.now() / 1000) - 60;
  const pg = await openPage(browser, { user, tok: token(user, { exp: past }) });
  const { page } = pg;
  await page.waitForSelector('#signin:not([hidden])');
  assert.equal(await text(page, '#signin h1'), 'Sign in again');
  assert.match(await text(page, '#signin-text'), /session has expired/);
  assert.equal(await page.isHidden('#dashboard'), true);
  assert.equal(page.url(), `${URL_BASE}/`);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('tally.token')), null, 'the dead token is dropped');
  await audited(page);
  await shot(page, '03-signed-out-expired');
  await clean(pg);
  await pg.context.close();
});

test('a token the API refuses ends in the same "sign in again" state', async () => {
  const user = newUser('bad');
  const good = token(user);
  const forged = `${good.slice(0, good.lastIndexOf('.'))}.AAAA`;
  const pg = await openPage(browser, { user, tok: forged, wait: false, allow: [[401, /\/api\/v1\//]] });
  await pg.page.waitForSelector('#signin:not([hidden])');
  assert.match(await text(pg.page, '#signin-text'), /session has expired/);
  await clean(pg);
  await pg.context.close();
});

test('without a token the page says how to sign in', async () => {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  await page.goto(`${URL_BASE}/`);
  await page.waitForSelector('#signin:not([hidden])');
  assert.match(await text(page, '#signin-text'), /not signed in/);
  await context.close();
});

test('transaction history pages with "Show older"', async () => {
  const user = newUser('pages');
  for (let i = 1; i <= 12; i += 1) await fund(user, i);
  const pg = await openPage(browser, { user });
  const { page } = pg;
  assert.equal(await page.locator('#history tbody tr').count(), 10);
  assert.deepEqual(await page.locator('#history tbody tr td.num.plus').allTextContents().then((a) => a.slice(0, 2)), ['+12', '+11']);
  await page.click('#history-more');
  await page.waitForFunction(() => document.querySelectorAll('#history tbody tr').length === 12);
  assert.equal(await page.isHidden('#history-more'), true, 'no more pages');
  assert.equal(await page.evaluate(() => document.activeElement.tagName), 'TR', 'focus moves to the first new row');
  await clean(pg);
  await pg.context.close();
});

test('an API error appears next to its button, and nothing is left half done', async () => {
  const user = newUser('err');
  const pg = await openPage(browser, { user });
  const { page } = pg;
  pg.allow(402, /\/subscriptions\/cloud_sync\/activate$/);
  pg.allow(404, /\/gifts\/[^/]+\/redeem$/);
  await page.click('#activate-cloud_sync');
  await waitText(page, '#sub-cloud_sync .error', 'Not enough credits for the first interval; nothing was changed');
  assert.equal(await page.isEnabled('#activate-cloud_sync'), true);
  assert.equal(await page.getAttribute('#activate-cloud_sync', 'aria-busy'), null);
  assert.equal(await text(page, '#sub-cloud_sync .badge'), 'Not subscribed');
  await page.fill('#redeem-code', 'TLY-2222-2222-2222-2222-22');
  await page.click('#redeem');
  await waitText(page, '#redeem-form .error', 'No such gift code');
  assert.equal(await page.inputValue('#redeem-code'), 'TLY-2222-2222-2222-2222-22', 'the input is kept for a retry');
  await shot(page, '04-error-next-to-action', { fullPage: false });
  await clean(pg);
  await pg.context.close();
});

test('sections whose API routes are missing hide themselves quietly; an unavailable payment method says so', async () => {
  // A server without the invoice engine, payment methods, or card and
  // Lightning payments (as this one was before they landed).
  const user = newUser('old');
  const notFound = { status: 404, contentType: 'application/json', body: '{"error":"not_found","message":"no such route"}' };
  const setup = async (context) => {
    await context.route('**/api/v1/invoices', (route) => route.fulfill(notFound));
    await context.route('**/api/v1/billing/payment-methods', (route) => route.fulfill(notFound));
    await context.route('**/api/v1/credits/purchase', (route) => route.fulfill({
      status: 400, contentType: 'application/json',
      body: '{"error":"invalid_request","message":"card payments are not available on this server","field":"method"}',
    }));
  };
  const pg = await openPage(browser, { user, setup, allow: [[400, /\/api\/v1\/credits\/purchase$/]] });
  const { page } = pg;
  assert.equal(await page.isHidden('#invoices'), true);
  assert.equal(await page.isHidden('#methods'), true);
  assert.equal(await page.isVisible('#gifts'), true);
  await page.click('#buy-card');
  await waitText(page, '#topup .error', 'This payment method is not available on this server.');
  assert.equal(await page.isEnabled('#buy-card'), true);
  assert.equal(await page.isEnabled('#buy-lightning'), true);
  assert.deepEqual(await pageProblems(pg), []);
  await pg.context.close();
});
