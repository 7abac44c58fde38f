// Coupons: the admin catalog (create, list, show, deactivate), codes
// applied to an invoice subscription (at activation or later) and to the
// per-resource plans, the discount as its own negative line on each
// invoice it covers (once / N periods / forever), a 100 % coupon paying
// the invoice at once, bonus credits on a credit purchase (one ledger row
// of kind bonus, with the purchase credit, exactly once), every bad code
// answered with its documented error and nothing changed, and
// max_redemptions holding under 50 concurrent applies.
//
// Times: scheduler runs are in 2036 (renewals) and 2037 (plans); every
// test parks its accounts afterwards.
import test from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  call, token, newUser, fund, sql, sqlStr, ledgerMatches, parkSubs, runScheduler, sqlTime,
  addMonthsIso, subRow, lastSegment, standin as standinAt
} from './lib.mjs';

const PRO = 'pro';
const PRICE = 2900;
const STRIPE = process.env.STRIPE_STANDIN_URL;

const as = (user) => token({ sub: user, email: `${user}@example.com` });
const code = (prefix = 'T') => `${prefix}-${crypto.randomBytes(4).toString('hex')}`.toUpperCase();

function park(...users) {
  const list = users.map(sqlStr).join(', ');
  parkSubs(`a.user_id IN (${list})`);
  sql(`DELETE it FROM invoice_items it JOIN accounts a ON a.id = it.account_id
    WHERE a.user_id IN (${list}) AND it.invoice_id IS NULL`);
  sql(`UPDATE invoices i JOIN accounts a ON a.id = i.account_id SET i.cascade_done = 1 WHERE a.user_id IN (${list})`);
  sql(`UPDATE accounts SET billing_anchor = NULL WHERE user_id IN (${list})`);
}

async function createCoupon(body, { status = 201, headers } = {}) {
  const r = await call('POST', '/admin/coupons', { admin: true, body: { actor: 'tests', ...body }, headers });
  assert.equal(r.status, status, r.text);
  return r.body;
}

const apply = (user, body) => call('POST', '/coupons/apply', { token: as(user), body });
const activate = (user, body = {}) => call('POST', `/subscriptions/${PRO}/activate`,
  { token: as(user), body: { interval: 'monthly', ...body } });

// The account's invoices with their items, oldest first.
function invoices(user) {
  const rows = sql(`SELECT i.id, i.number, i.status, i.total, i.paid_via FROM invoices i JOIN accounts a
    ON a.id = i.account_id WHERE a.user_id = ${sqlStr(user)} ORDER BY i.seq`);
  return rows.map(([id, number, status, total, via]) => ({
    id, number, status, total: Number(total), paid_via: via === 'NULL' ? null : via,
    items: sql(`SELECT amount, redemption_id IS NOT NULL, description FROM invoice_items WHERE invoice_id = ${id}
      ORDER BY id`).map(([amount, discount, description]) => ({ amount: Number(amount), discount: discount === '1', description })),
  }));
}
function assertTotals(user) {
  for (const inv of invoices(user)) {
    assert.equal(inv.items.reduce((s, it) => s + it.amount, 0), inv.total, `${inv.number}: lines sum to the total`);
    assert.ok(inv.total >= 0, `${inv.number}: total ${inv.total}`);
  }
}
function couponRow(id) {
  const [r] = sql(`SELECT times_redeemed, active FROM coupons WHERE id = ${Number(id)}`);
  return { times_redeemed: Number(r[0]), active: r[1] === '1' };
}
function redemptions(couponId) {
  return Number(sql(`SELECT COUNT(*) FROM coupon_redemptions WHERE coupon_id = ${Number(couponId)}`)[0][0]);
}
function moveProPeriod(user, start) {
  sql(`UPDATE subscriptions s JOIN accounts a ON a.id = s.account_id SET s.anchor_at = ${sqlTime(start)},
    s.end_months = 1, s.current_period_start = ${sqlTime(start)},
    s.current_period_end = ${sqlTime(addMonthsIso(start, 1))}, s.next_charge_at = NULL
    WHERE a.user_id = ${sqlStr(user)} AND s.product = ${sqlStr(PRO)}`);
}

// ---------------------------------------------------------------- admin

test('admin: create, list, show, deactivate; codes compared without case and dashes; audited', async () => {
  const c = code('ADM').toLowerCase();
  assert.equal((await call('POST', '/admin/coupons', { body: { code: c, percent_off: 10, duration: 'once', actor: 'x' } })).status, 401);
  const made = await createCoupon({
    code: c, name: 'Launch', percent_off: 15, duration: 'repeating', duration_periods: 3, max_redemptions: 5,
    expires_at: '2037-12-31T00:00:00Z', applies_to: { products: [PRO], plans: ['relay_basic'], packages: ['starter'] },
  });
  assert.equal(made.code, c.toUpperCase());
  assert.equal(made.name, 'Launch');
  assert.equal(made.percent_off, 15);
  assert.equal(made.amount_off, undefined);
  assert.equal(made.currency, 'EUR');
  assert.equal(made.duration, 'repeating');
  assert.equal(made.duration_periods, 3);
  assert.equal(made.max_redemptions, 5);
  assert.equal(made.times_redeemed, 0);
  assert.equal(made.expires_at, '2037-12-31T00:00:00Z');
  assert.equal(made.active, true);
  assert.deepEqual(made.applies_to, { products: [PRO], plans: ['relay_basic'], packages: ['starter'] });

  // The same code in another spelling is the same code.
  const dup = await call('POST', '/admin/coupons', { admin: true,
    body: { code: ` ${c.replace('-', '').toUpperCase()} `, amount_off: 100, duration: 'forever', actor: 'tests' } });
  assert.equal(dup.status, 409, dup.text);
  assert.equal(dup.body.field, 'code');

  const shown = await call('GET', `/admin/coupons/${made.id}`, { admin: true });
  assert.equal(shown.status, 200);
  assert.deepEqual(shown.body, made);
  const list = await call('GET', '/admin/coupons?limit=100', { admin: true });
  assert.ok(list.body.coupons.some((x) => x.id === made.id));
  assert.equal((await call('GET', '/admin/coupons/999999999', { admin: true })).status, 404);

  // Deactivate needs a person (X-Actor: the POST has no body).
  assert.equal((await call('POST', `/admin/coupons/${made.id}/deactivate`, { admin: true })).status, 400);
  const off = await call('POST', `/admin/coupons/${made.id}/deactivate`, { admin: true, headers: { 'X-Actor': 'carol' } });
  assert.equal(off.status, 200, off.text);
  assert.equal(off.body.active, false);
  assert.ok(off.body.deactivated_at);
  const again = await call('POST', `/admin/coupons/${made.id}/deactivate`, { admin: true, headers: { 'X-Actor': 'carol' } });
  assert.equal(again.status, 200, 'deactivating twice is fine');

  const audit = await call('GET', '/admin/audit?limit=100', { admin: true });
  const mine = audit.body.entries.filter((e) => e.target === `coupon:${made.id}`);
  assert.deepEqual(mine.map((e) => e.action).sort(), ['coupon.create', 'coupon.deactivate']);
  assert.ok(mine.some((e) => e.actor === 'carol'));
});

test('admin: bad input is 400 naming the field, nothing stored', async () => {
  const before = Number(sql('SELECT COUNT(*) FROM coupons')[0][0]);
  const good = { code: code('BAD'), percent_off: 10, duration: 'once' };
  const cases = [
    [{ ...good, code: undefined }, 'code'],
    [{ ...good, code: 'has space' }, 'code'],
    [{ ...good, code: '<script>' }, 'code'],
    [{ ...good, code: 'X'.repeat(33) }, 'code'],
    [{ ...good, percent_off: 0 }, 'percent_off'],
    [{ ...good, percent_off: 101 }, 'percent_off'],
    [{ ...good, percent_off: 12.5 }, 'percent_off'],
    [{ ...good, percent_off: '10' }, 'percent_off'],
    [{ ...good, amount_off: 100 }, 'amount_off'],
    [{ ...good, percent_off: undefined }, 'percent_off'],
    [{ ...good, percent_off: undefined, amount_off: -5 }, 'amount_off'],
    [{ ...good, duration: 'weekly' }, 'duration'],
    [{ ...good, duration: 'repeating' }, 'duration_periods'],
    [{ ...good, duration_periods: 2 }, 'duration_periods'],
    [{ ...good, max_redemptions: 0 }, 'max_redemptions'],
    [{ ...good, expires_at: '2001-01-01T00:00:00Z' }, 'expires_at'],
    [{ ...good, expires_at: 'tomorrow' }, 'expires_at'],
    [{ ...good, expires_at: '2099-01-01T00:00:00Z' }, 'expires_at'],
    [{ ...good, applies_to: ['pro'] }, 'applies_to'],
    [{ ...good, applies_to: {} }, 'applies_to'],
    [{ ...good, applies_to: { products: ['nope'] } }, 'applies_to.products'],
    [{ ...good, applies_to: { products: ['cloud_sync'] } }, 'applies_to.products'],
    [{ ...good, applies_to: { plans: 'relay_basic' } }, 'applies_to.plans'],
    [{ ...good, applies_to: { packages: ['nope'] } }, 'applies_to.packages'],
    [{ ...good, name: '' }, 'name'],
  ];
  for (const [body, field] of cases) {
    const r = await call('POST', '/admin/coupons', { admin: true, body: { actor: 'tests', ...body } });
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.body.error, 'invalid_request');
    assert.equal(r.body.field, field, JSON.stringify(body));
  }
  const noActor = await call('POST', '/admin/coupons', { admin: true, body: good });
  assert.equal(noActor.status, 400);
  assert.equal(noActor.body.field, 'actor');
  assert.equal(Number(sql('SELECT COUNT(*) FROM coupons')[0][0]), before);
});

// ---------------------------------------------------------------- invoice subscriptions

test('activation with a coupon: the first invoice carries a negative line; once means the next renewal is full price', async (t) => {
  const user = newUser('cp-once');
  t.after(() => park(user));
  const c = await createCoupon({ code: code('TEN'), percent_off: 10, duration: 'once', applies_to: { products: [PRO] } });
  const r = await activate(user, { coupon: c.code.toLowerCase() });
  assert.equal(r.status, 201, r.text);
  const inv = r.body.invoice;
  assert.equal(inv.total, PRICE - 290);
  assert.equal(inv.items.length, 2);
  assert.equal(inv.items[0].amount, PRICE);
  assert.equal(inv.items[1].amount, -290);
  assert.equal(inv.items[1].discount, true);
  assert.match(inv.items[1].description, new RegExp(`Coupon ${c.code}: 10% off`));
  assert.equal(couponRow(c.id).times_redeemed, 1);

  const mine = await call('GET', '/coupons', { token: as(user) });
  assert.equal(mine.status, 200);
  assert.equal(mine.body.discounts.length, 1);
  assert.equal(mine.body.discounts[0].code, c.code);
  assert.equal(mine.body.discounts[0].target, 'subscription');
  assert.equal(mine.body.discounts[0].product, PRO);
  assert.equal(mine.body.discounts[0].periods_used, 1);

  await fund(user, PRICE);
  const paid = await call('POST', `/invoices/${inv.id}/pay`, { token: as(user), body: { method: 'credits' } });
  assert.equal(paid.status, 200, paid.text);
  assert.equal(paid.body.total, PRICE - 290);

  // The renewal of the next cycle: no discount any more (once).
  moveProPeriod(user, '2036-01-10T12:00:00Z');
  await runScheduler('2036-02-07T12:00:00Z');
  const all = invoices(user);
  assert.equal(all.length, 2);
  assert.equal(all[1].total, PRICE);
  assert.equal(all[1].items.length, 1);
  assertTotals(user);
  const after = await call('GET', '/coupons', { token: as(user) });
  assert.equal(after.body.discounts[0].status, 'ended');
});

test('applied later, repeating 2: the next two renewals are discounted, the third is not; amount off is capped', async (t) => {
  const user = newUser('cp-rep');
  t.after(() => park(user));
  const first = await activate(user);
  assert.equal(first.status, 201);
  // A coupon cannot change the amount of an invoice issued already.
  const c = await createCoupon({ code: code('REP'), amount_off: 1000, duration: 'repeating', duration_periods: 2 });
  const late = await activate(user, { coupon: c.code });
  assert.equal(late.status, 409, late.text);
  assert.equal(couponRow(c.id).times_redeemed, 0, 'the 409 changed nothing');
  await fund(user, PRICE);
  assert.equal((await call('POST', `/invoices/${first.body.invoice.id}/pay`, { token: as(user), body: { method: 'credits' } })).status, 200);

  const ap = await apply(user, { code: c.code, product: PRO });
  assert.equal(ap.status, 201, ap.text);
  assert.equal(ap.body.amount_off, 1000);
  assert.equal(ap.body.duration_periods, 2);
  assert.equal(ap.body.periods_used, 0);
  // One coupon at a time on a subscription.
  const c2 = await createCoupon({ code: code('TWO'), percent_off: 5, duration: 'forever' });
  const second = await apply(user, { code: c2.code, product: PRO });
  assert.equal(second.status, 409);
  assert.equal(second.body.error, 'coupon_already_applied');
  assert.equal(couponRow(c2.id).times_redeemed, 0);

  let start = '2036-03-10T12:00:00Z';
  moveProPeriod(user, start);
  const totals = [];
  for (let i = 0; i < 3; i++) {
    const end = addMonthsIso(start, 1);
    await runScheduler(new Date(Date.parse(end) - 72 * 3600 * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'));
    const last = invoices(user).at(-1);
    totals.push(last.total);
    await fund(user, last.total);
    assert.equal((await call('POST', `/invoices/${last.id}/pay`, { token: as(user), body: { method: 'credits' } })).status, 200);
    assert.equal(subRow(user, PRO).current_period_start, end.replace('T', ' ').replace('Z', ''));
    start = end;
  }
  assert.deepEqual(totals, [PRICE - 1000, PRICE - 1000, PRICE]);
  assertTotals(user);
  assert.ok(ledgerMatches(user));
});

test('a 100 % coupon: the first invoice is 0, paid at once by the coupon, and the subscription is active', async (t) => {
  const user = newUser('cp-free');
  t.after(() => park(user));
  const c = await createCoupon({ code: code('FREE'), percent_off: 100, duration: 'once' });
  const r = await activate(user, { coupon: c.code });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.status, 'active');
  assert.equal(r.body.invoice.total, 0);
  assert.equal(r.body.invoice.status, 'paid');
  assert.equal(r.body.invoice.paid_via, 'coupon');
  const ent = await call('GET', '/entitlements', { token: as(user) });
  assert.equal(ent.body.entitlements.find((e) => e.product === PRO).active, true);
  assertTotals(user);
});

// ---------------------------------------------------------------- per-resource plans

test('plans: the coupon discounts the plan lines of each usage invoice it covers', async (t) => {
  const user = newUser('cp-plan');
  t.after(() => park(user));
  const rec = (type, res, at, plan) => call('POST', '/internal/activity', { service: true,
    body: { user_id: user, type, resource_id: res, at, plan } });
  assert.equal((await call('GET', '/credits/balance', { token: as(user) })).status, 200);
  const c = await createCoupon({ code: code('PLAN'), percent_off: 50, duration: 'repeating', duration_periods: 2,
    applies_to: { plans: ['relay_basic'] } });
  // Not for a product it does not name.
  const wrong = await createCoupon({ code: code('PRO'), percent_off: 50, duration: 'once', applies_to: { products: [PRO] } });
  const na = await apply(user, { code: wrong.code, plans: true });
  assert.equal(na.status, 409);
  assert.equal(na.body.error, 'coupon_not_applicable');
  assert.equal((await apply(user, { code: c.code, plans: true })).status, 201);

  assert.equal((await rec('create', 'r1', '2037-01-01T00:00:00Z', 'relay_basic')).status, 202);
  assert.equal((await rec('create', 'r2', '2037-01-01T00:00:00Z', 'relay_pro')).status, 202);
  await runScheduler('2037-01-01T00:10:00Z');
  // 500 (basic) + 1200 (pro), half of the basic line off.
  let all = invoices(user);
  assert.equal(all.length, 1);
  assert.deepEqual(all[0].items.map((i) => i.amount), [500, 1200, -250]);
  assert.equal(all[0].total, 1450);
  for (const m of ['2037-02-01T00:10:00Z', '2037-03-01T00:10:00Z']) await runScheduler(m);
  all = invoices(user);
  assert.deepEqual(all.map((i) => i.total), [1450, 1450, 1700], 'two periods discounted, then full price');
  assertTotals(user);
});

// ---------------------------------------------------------------- bad codes

test('unknown, expired, exhausted, deactivated, inapplicable, redeemed codes: documented errors, nothing changes', async (t) => {
  const user = newUser('cp-bad');
  const other = newUser('cp-bad2');
  t.after(() => park(user, other));
  assert.equal((await activate(user)).status, 201);
  assert.equal((await activate(other)).status, 201);
  const expect = async (who, body, status, error) => {
    const before = sql('SELECT COUNT(*), COALESCE(SUM(times_redeemed), 0) FROM coupons')[0].join();
    const r = await apply(who, body);
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.body.error, error);
    assert.equal(typeof r.body.message, 'string');
    assert.equal(sql('SELECT COUNT(*), COALESCE(SUM(times_redeemed), 0) FROM coupons')[0].join(), before);
  };
  await expect(user, { code: 'NO-SUCH-CODE', product: PRO }, 404, 'coupon_not_found');
  await expect(user, { code: 'not a code!', product: PRO }, 404, 'coupon_not_found');

  const exp = await createCoupon({ code: code('EXP'), percent_off: 10, duration: 'once' });
  sql(`UPDATE coupons SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND WHERE id = ${exp.id}`);
  await expect(user, { code: exp.code, product: PRO }, 409, 'coupon_expired');

  const one = await createCoupon({ code: code('ONE'), percent_off: 10, duration: 'once', max_redemptions: 1 });
  assert.equal((await apply(other, { code: one.code, product: PRO })).status, 201);
  await expect(user, { code: one.code, product: PRO }, 409, 'coupon_exhausted');

  const off = await createCoupon({ code: code('OFF'), percent_off: 10, duration: 'once' });
  await call('POST', `/admin/coupons/${off.id}/deactivate`, { admin: true, headers: { 'X-Actor': 'tests' } });
  await expect(user, { code: off.code, product: PRO }, 409, 'coupon_inactive');

  const pkg = await createCoupon({ code: code('PKG'), percent_off: 10, duration: 'once', applies_to: { packages: ['starter'] } });
  await expect(user, { code: pkg.code, product: PRO }, 409, 'coupon_not_applicable');

  const twice = await createCoupon({ code: code('TWICE'), percent_off: 10, duration: 'forever' });
  assert.equal((await apply(user, { code: twice.code, product: PRO })).status, 201);
  await expect(user, { code: twice.code, plans: true }, 409, 'coupon_already_redeemed');

  // Request shape errors are 400 naming the field.
  for (const [body, field] of [[{ product: PRO }, 'code'], [{ code: 5, product: PRO }, 'code'],
    [{ code: 'X' }, 'product'], [{ code: 'X', product: PRO, plans: true }, 'product'],
    [{ code: 'X', product: 'cloud_sync' }, 'product'], [{ code: 'X', plans: 'yes' }, 'plans']]) {
    const r = await apply(user, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.field, field, JSON.stringify(body));
  }
  // No subscription to apply it to.
  const lone = newUser('cp-lone');
  const ok = await createCoupon({ code: code('OK'), percent_off: 10, duration: 'once' });
  const none = await apply(lone, { code: ok.code, product: PRO });
  assert.equal(none.status, 404);
  assert.equal(couponRow(ok.id).times_redeemed, 0);
});

// ---------------------------------------------------------------- concurrency

test('max_redemptions under 50 concurrent applies: used exactly max times', async () => {
  const MAX = 7;
  const c = await createCoupon({ code: code('RACE'), percent_off: 20, duration: 'forever', max_redemptions: MAX });
  const users = Array.from({ length: 50 }, () => newUser('cp-race'));
  // Accounts first, so that the race is about the coupon only.
  await Promise.all(users.map((u) => call('GET', '/credits/balance', { token: as(u) })));
  const res = await Promise.all(users.map((u) => apply(u, { code: c.code, plans: true })));
  const counts = {};
  for (const r of res) counts[`${r.status} ${r.body?.error || ''}`.trim()] = (counts[`${r.status} ${r.body?.error || ''}`.trim()] || 0) + 1;
  assert.deepEqual(counts, { 201: MAX, '409 coupon_exhausted': 50 - MAX }, JSON.stringify(counts));
  assert.equal(couponRow(c.id).times_redeemed, MAX);
  assert.equal(redemptions(c.id), MAX);
});

// ---------------------------------------------------------------- credit purchases

const standin = (method, path, body) => standinAt(STRIPE, method, path, body);

test('a credit purchase with a coupon: bonus credits as their own ledger row with the purchase credit, exactly once', async () => {
  const user = newUser('cp-buy');
  const c = await createCoupon({ code: code('BONUS'), percent_off: 20, duration: 'once', applies_to: { packages: ['starter'] } });
  const notHere = await call('POST', '/credits/purchase', { token: as(user), body: { package: 'large', method: 'card', coupon: c.code } });
  assert.equal(notHere.status, 409);
  assert.equal(notHere.body.error, 'coupon_not_applicable');
  assert.equal(Number(sql(`SELECT COUNT(*) FROM purchases p JOIN accounts a ON a.id = p.account_id WHERE a.user_id = ${sqlStr(user)}`)[0][0]), 0,
    'no purchase row and no checkout for a bad code');

  // An abandoned checkout does not burn the user's redemption.
  const first = await call('POST', '/credits/purchase', { token: as(user), body: { package: 'starter', method: 'card', coupon: c.code } });
  assert.equal(first.status, 201, first.text);
  assert.equal(first.body.bonus_credits, 100);
  const r = await call('POST', '/credits/purchase', { token: as(user), body: { package: 'starter', method: 'card', coupon: c.code } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.coupon, c.code);
  assert.equal(r.body.bonus_credits, 100);
  assert.equal(couponRow(c.id).times_redeemed, 1, 'one redemption, moved to the new purchase');

  const sid = lastSegment(r.body.checkout_url);
  const done = await standin('POST', `/_test/checkout/${sid}/complete`, {});
  for (const d of done.deliveries) assert.equal(d.status, 200, `${d.type}: ${d.body}`);
  // The same event again changes nothing.
  await standin('POST', '/_test/send', { type: 'checkout.session.completed', object: done.session });
  const rows = sql(`SELECT l.kind, l.amount, l.effect_key FROM ledger l JOIN accounts a ON a.id = l.account_id
    WHERE a.user_id = ${sqlStr(user)} AND l.kind IN ('purchase', 'bonus') ORDER BY l.id`);
  assert.deepEqual(rows, [['purchase', '500', `purchase:${r.body.id}`], ['bonus', '100', `purchase:${r.body.id}:bonus`]]);
  const bal = await call('GET', '/credits/balance', { token: as(user) });
  assert.equal(bal.body.balance, 600);
  assert.ok(ledgerMatches(user));
  const tx = await call('GET', '/credits/transactions', { token: as(user) });
  assert.equal(tx.body.transactions[0].kind, 'bonus');

  // The abandoned first purchase, paid after all, gets no bonus; and the
  // redemption, used now, cannot move again.
  const again = await call('POST', '/credits/purchase', { token: as(user), body: { package: 'starter', method: 'card', coupon: c.code } });
  assert.equal(again.status, 409);
  assert.equal(again.body.error, 'coupon_already_redeemed');
  const old = await standin('POST', `/_test/checkout/${lastSegment(first.body.checkout_url)}/complete`, {});
  for (const d of old.deliveries) assert.equal(d.status, 200);
  assert.equal(Number(sql(`SELECT COUNT(*) FROM ledger l JOIN accounts a ON a.id = l.account_id WHERE a.user_id = ${sqlStr(user)}
    AND l.kind = 'bonus'`)[0][0]), 1);
  assert.equal((await call('GET', '/credits/balance', { token: as(user) })).body.balance, 1100);
});
