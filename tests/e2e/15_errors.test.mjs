// API errors in the page's language: the page translates them by their
// stable error code (www/js/locales/*.js, api.*), and shows the server's
// own message only for a code it does not know.  The first test needs no
// browser: every error code the server defines (fcgi/http_error.c) has an
// English and a German text, so a new code cannot be forgotten.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  ROOT, launch, openPage, pageProblems, fund, newUser, waitText, text,
} from './lib.mjs';

// The API error codes of the one table that maps result codes to them.
function serverCodes() {
  const src = fs.readFileSync(path.join(ROOT, 'fcgi/http_error.c'), 'utf8');
  const codes = new Set();
  for (const m of src.matchAll(/\[TALLY_\w+\]\s*=\s*\{\s*\d+\s*,\s*"([a-z_]+)"/g)) codes.add(m[1]);
  codes.delete('ok');
  return [...codes].sort();
}

// A locale file as the page loads it (an ES module with a default export).
async function dict(lang) {
  const src = fs.readFileSync(path.join(ROOT, `www/js/locales/${lang}.js`), 'utf8');
  return (await import(`data:text/javascript;base64,${Buffer.from(src).toString('base64')}`)).default;
}

test('every API error code the server defines has an English and a German text', async () => {
  const codes = serverCodes();
  // The table was read (a parse that finds nothing would pass vacuously).
  for (const c of ['invalid_request', 'insufficient_credits', 'not_found', 'conflict', 'rate_limited', 'payment_failed']) {
    assert.ok(codes.includes(c), `${c} found in fcgi/http_error.c`);
  }
  const en = await dict('en');
  const de = await dict('de');
  for (const [lang, d] of [['en', en], ['de', de]]) {
    const missing = codes.filter((c) => typeof d[`api.${c}`] !== 'string' || d[`api.${c}`].trim() === '');
    assert.deepEqual(missing, [], `${lang}.js lacks api.CODE for these server error codes`);
  }
  // The refined texts (per field, per action) exist in both languages and
  // name a code the server has (a typo would never be used).
  const apiKeys = (d) => Object.keys(d).filter((k) => k.startsWith('api.')).sort();
  assert.deepEqual(apiKeys(de), apiKeys(en), 'the same api.* keys in en.js and de.js');
  const unknown = apiKeys(en).filter((k) => !k.split('.').slice(1).some((part) => codes.includes(part)));
  assert.deepEqual(unknown, [], 'api.* keys naming no server error code');
  // German texts are not the English ones copied over.
  const same = apiKeys(en).filter((k) => en[k] === de[k]);
  assert.deepEqual(same, [], 'untranslated api.* keys');
});

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

test('German page: API errors are shown in German, by error code', async () => {
  const user = newUser('de-err');
  await fund(user, 10);
  const pg = await openPage(browser, {
    user,
    locale: 'de-DE',
    allow: [[402, /\/subscriptions\/cloud_sync\/activate$/], [402, /\/api\/v1\/gifts$/],
      [404, /\/gifts\/[^/]+\/redeem$/], [429, /\/gifts\/[^/]+\/redeem$/]],
  });
  const { page } = pg;
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'de');

  // 402 insufficient_credits, as the activation's own text.
  await page.click('#activate-cloud_sync');
  await waitText(page, '#sub-cloud_sync .error', 'Nicht genug Credits für das erste Intervall; es wurde nichts geändert.');

  // 402 insufficient_credits again, as the gift's.
  await page.fill('#gift-credits', '50');
  await page.click('#gift-create');
  await waitText(page, '#gift-form .error', 'Ihr Guthaben reicht für dieses Geschenk nicht aus; es wurde nichts geändert.');

  // 404 not_found: an unknown gift code.
  await page.fill('#redeem-code', 'TLY-2222-2222-2222-2222-22');
  const first = page.waitForResponse((r) => /\/redeem$/.test(r.url()));
  await page.click('#redeem');
  const r404 = await first;
  assert.equal(r404.status(), 404);
  assert.equal((await r404.json()).error, 'not_found');
  await waitText(page, '#redeem-form .error', 'Diesen Geschenkcode gibt es nicht. Prüfen Sie ihn und versuchen Sie es erneut.');
  assert.doesNotMatch(await text(page, '#redeem-form .error'), /no such gift code/i, 'not the server\'s English');

  // 429 rate_limited after too many guesses: the code's general text.
  let status = 404;
  for (let i = 0; i < 15 && status === 404; i += 1) {
    const answer = page.waitForResponse((r) => /\/redeem$/.test(r.url()));
    await page.click('#redeem');
    status = (await answer).status();
    await page.waitForSelector('#redeem:not([aria-busy])');
  }
  assert.equal(status, 429, 'guessing is limited');
  await waitText(page, '#redeem-form .error', 'Zu viele Fehlversuche. Warten Sie einige Minuten und versuchen Sie es dann erneut.');

  // The same error in English after switching the language.
  await page.selectOption('#lang', 'en');
  await page.click('#redeem');
  await waitText(page, '#redeem-form .error', 'Too many failed attempts. Wait a few minutes, then try again.');
  assert.deepEqual(await pageProblems(pg), []);
  await pg.context.close();
});

test('an error code the page does not know shows the server\'s message, in either language', async () => {
  for (const locale of ['de-DE', 'en-US']) {
    const user = newUser('new-err');
    const setup = async (context) => {
      await context.route('**/api/v1/gifts/*/redeem', (route) => route.fulfill({
        status: 422, contentType: 'application/json',
        body: '{"error":"brand_new_code","message":"a reason only the server knows"}',
      }));
    };
    const pg = await openPage(browser, { user, locale, setup, allow: [[422, /\/gifts\/[^/]+\/redeem$/]] });
    const { page } = pg;
    await page.fill('#redeem-code', 'TLY-2222-2222-2222-2222-22');
    await page.click('#redeem');
    await waitText(page, '#redeem-form .error', 'A reason only the server knows');
    assert.deepEqual(await pageProblems(pg), []);
    await pg.context.close();
  }
});
