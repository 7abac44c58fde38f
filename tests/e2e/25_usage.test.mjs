// The usage card: the last 30 days as bars (inline SVG) and the top
// operations, in the page's language; empty for a user who used nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, pageProblems, shot, fund, newUser, call, token, waitText } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

test('usage: today\'s bar and the top operations, in English and German', async () => {
  const user = newUser('usage');
  await fund(user, 100);
  for (const [amount, operation] of [[7, 'export'], [7, 'export'], [3, 'render']]) {
    const r = await call('POST', '/credits/use', { token: token(user), body: { amount, operation } });
    assert.equal(r.status, 200, r.text);
  }
  const pg = await openPage(browser, { user });
  const { page, context } = pg;
  await page.waitForSelector('#usage svg.usage-chart');
  const bars = await page.$$eval('#usage rect.usage-bar', (rs) => rs.map((r) => ({
    day: r.dataset.day, credits: Number(r.dataset.credits), h: Number(r.getAttribute('height')),
  })));
  assert.equal(bars.length, 30, 'one bar a day');
  const today = new Date().toISOString().slice(0, 10);
  assert.equal(bars[29].day, today, 'today last');
  assert.equal(bars[29].credits, 17);
  assert.ok(bars.slice(0, 29).every((b) => b.credits === 0 && b.h <= 1), 'nothing on the other days');
  assert.match(await page.getAttribute('#usage svg', 'aria-label'), /17/);
  const ops = await page.$$eval('#usage .usage-ops li', (ls) => ls.map((l) => l.textContent));
  assert.deepEqual(ops, ['export2 uses, 14 credits', 'render1 use, 3 credits']);
  await shot(page, 'usage-en');

  await page.selectOption('#lang', 'de');
  await waitText(page, '#usage-h', 'Verbrauch der letzten 30 Tage');
  const de = await page.$$eval('#usage .usage-ops li', (ls) => ls.map((l) => l.textContent));
  assert.deepEqual(de, ['export2 Nutzungen, 14 Credits', 'render1 Nutzung, 3 Credits']);
  assert.deepEqual(await pageProblems(pg), []);
  await context.close();
});

test('usage: a user who used nothing sees that, not an empty chart', async () => {
  const user = newUser('usage-none');
  await fund(user, 10);
  const { page, context, problems } = await openPage(browser, { user });
  await waitText(page, '#usage .empty', 'No credits used in the last 30 days.');
  assert.equal(await page.$('#usage svg'), null);
  assert.deepEqual(problems, []);
  await context.close();
});
