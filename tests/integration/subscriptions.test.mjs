// Credit subscriptions through the API: show, activate, deactivate,
// reactivate, change interval, entitlements, the internal status route,
// Idempotency-Key, and calendar-month periods anchored at a month end.
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  call, token, newUser, fund, sql, sqlStr, dbBalance, ledgerCount, ledgerMatches, ISO_UTC,
  subRow, subCharges, parkSubs, runScheduler, addMonthsIso,
} from './lib.mjs';

const PRODUCT = 'cloud_sync';
const PRICES = { monthly: 30, quarterly: 90, yearly: 360 };

const as = (user, claims = {}) => token({ sub: user, ...claims });

function activate(user, interval = 'monthly', opts = {}) {
  return call('POST', `/subscriptions/${PRODUCT}/activate`, { token: as(user), body: { interval }, ...opts });
}
function deactivate(user) {
  return call('POST', `/subscriptions/${PRODUCT}/deactivate`, { token: as(user) });
}
function changeInterval(user, interval) {
  return call('POST', `/subscriptions/${PRODUCT}/change-interval`, { token: as(user), body: { interval } });
}
async function getSub(user, product = PRODUCT) {
  const r = await call('GET', `/subscriptions/${product}`, { token: as(user) });
  assert.equal(r.status, 200, r.text);
  return r.body;
}
async function entitlement(user, product = PRODUCT) {
  const r = await call('GET', '/entitlements', { token: as(user) });
  assert.equal(r.status, 200, r.text);
  return r.body.entitlements.find((e) => e.product === product);
}
async function internalStatus(user, product = PRODUCT) {
  const r = await call('GET', `/internal/subscriptions/${product}/status/${encodeURIComponent(user)}`, { service: true });
  assert.equal(r.status, 200, r.text);
  return r.body;
}
async function balanceOf(user) {
  const r = await call('GET', '/credits/balance', { token: as(user) });
  assert.equal(r.status, 200, r.text);
  return r.body.balance;
}
function badField(r, field, what = '') {
  assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
  assert.equal(r.body?.error, 'invalid_request', `${what}: ${r.text}`);
  assert.equal(r.body.field, field, `${what}: ${r.text}`);
  assert.equal(typeof r.body.message, 'string');
}

// A SUB as the contract describes it; returns it for further checks.
function assertSub(sub, { status = 'active', interval = 'monthly', cancel = false } = {}) {
  assert.equal(sub.product, PRODUCT);
  assert.equal(sub.status, status);
  assert.equal(sub.interval, interval);
  assert.equal(sub.price, PRICES[interval]);
  assert.match(sub.current_period_start, ISO_UTC);
  assert.match(sub.current_period_end, ISO_UTC);
  assert.equal(sub.cancel_at_period_end, cancel);
  if (status === 'active' && !cancel) assert.equal(sub.next_charge_at, sub.current_period_end, 'next_charge_at is the period end');
  else assert.ok(sub.next_charge_at === undefined || sub.next_charge_at === null, `no next_charge_at: ${JSON.stringify(sub)}`);
  return sub;
}

// A user with `credits` and an active monthly subscription (credits - 30 left).
async function subscribed(credits = 100, interval = 'monthly', prefix = 'sub') {
  const user = newUser(prefix);
  await fund(user, credits);
  const r = await activate(user, interval);
  assert.equal(r.status, 200, r.text);
  return { user, sub: r.body };
}

test('a new user: GET /subscriptions/cloud_sync is inactive, the list is empty, nothing is entitled', async () => {
  const user = newUser('sub');
  assert.deepEqual(await getSub(user), { product: PRODUCT, status: 'inactive' });
  assert.deepEqual(await getSub(user, 'pro'), { product: 'pro', status: 'inactive' });
  const list = await call('GET', '/subscriptions', { token: as(user) });
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.body, { subscriptions: [] });
  const ent = await call('GET', '/entitlements', { token: as(user) });
  assert.equal(ent.status, 200, ent.text);
  // Every catalog product is listed, none active.
  const products = ent.body.entitlements.map((e) => e.product).sort();
  assert.deepEqual(products, ['cloud_sync', 'pro']);
  for (const e of ent.body.entitlements) assert.deepEqual(e, { product: e.product, active: false, until: null });
  assert.equal(subRow(user), null);
});

test('unknown products are 404 on every subscription route', async () => {
  const user = newUser('sub');
  await fund(user, 100);
  const t = as(user);
  const rs = [
    await call('GET', '/subscriptions/no_such_product', { token: t }),
    await call('POST', '/subscriptions/no_such_product/activate', { token: t, body: { interval: 'monthly' } }),
    await call('POST', '/subscriptions/no_such_product/deactivate', { token: t }),
    await call('POST', '/subscriptions/no_such_product/change-interval', { token: t, body: { interval: 'monthly' } }),
    await call('GET', `/internal/subscriptions/no_such_product/status/${user}`, { service: true }),
  ];
  for (const r of rs) {
    assert.equal(r.status, 404, r.text);
    assert.equal(r.body.error, 'not_found', r.text);
  }
  assert.equal(dbBalance(user), 100);
  assert.equal(Number(sql(`SELECT COUNT(*) FROM subscriptions s JOIN accounts a ON a.id = s.account_id WHERE a.user_id = ${sqlStr(user)}`)[0][0]), 0);
});

test('subscription routes need a user token', async () => {
  for (const [method, path, body] of [['GET', '/subscriptions'], ['GET', `/subscriptions/${PRODUCT}`],
    ['POST', `/subscriptions/${PRODUCT}/activate`, { interval: 'monthly' }], ['POST', `/subscriptions/${PRODUCT}/deactivate`],
    ['POST', `/subscriptions/${PRODUCT}/change-interval`, { interval: 'yearly' }], ['GET', '/entitlements']]) {
    const r = await call(method, path, { body });
    assert.equal(r.status, 401, `${method} ${path}: ${r.text}`);
    assert.equal(r.body.error, 'unauthorized');
  }
  const r = await call('GET', `/internal/subscriptions/${PRODUCT}/status/someone`, { token: as(newUser()) });
  assert.equal(r.status, 401, r.text);
  const r2 = await call('GET', `/internal/subscriptions/${PRODUCT}/status/someone`, { service: 'wrong-service-key-0123456789' });
  assert.equal(r2.status, 401, r2.text);
});

test('activate monthly with 40 credits: 200 SUB, the first month charged now, balance 10', async () => {
  const user = newUser('sub');
  await fund(user, 40);
  const before = Math.floor(Date.now() / 1000) * 1000;
  const r = await activate(user, 'monthly');
  const after = Date.now();
  assert.equal(r.status, 200, r.text);
  const sub = assertSub(r.body);
  const start = Date.parse(sub.current_period_start);
  assert.ok(start >= before - 2000 && start <= after + 2000, `the period starts now: ${sub.current_period_start}`);
  assert.equal(sub.current_period_end, addMonthsIso(sub.current_period_start, 1), 'one calendar month');
  assert.equal(sub.next_charge_at, sub.current_period_end);
  assert.ok(sub.paused_at === undefined || sub.paused_at === null);

  assert.equal(await balanceOf(user), 10);
  assert.equal(dbBalance(user), 10);
  assert.ok(ledgerMatches(user));
  const charges = subCharges(user);
  assert.equal(charges.length, 1);
  assert.equal(charges[0].amount, -30);
  assert.equal(charges[0].balance_after, 10);

  // The wallet's history shows the charge as a "subscription" transaction.
  const txs = await call('GET', '/credits/transactions', { token: as(user) });
  assert.equal(txs.status, 200, txs.text);
  const tx = txs.body.transactions[0];
  assert.equal(tx.kind, 'subscription');
  assert.equal(tx.amount, -30);
  assert.equal(tx.balance_after, 10);

  // GET shows the same object; the row agrees.
  assert.deepEqual(await getSub(user), sub);
  const row = subRow(user);
  assert.equal(row.status, 'active');
  assert.equal(row.billing_interval, 'monthly');
  assert.equal(row.cancel_at_period_end, '0');
});

test('activate quarterly and yearly: price and period length follow the interval', async () => {
  for (const [interval, months] of [['quarterly', 3], ['yearly', 12]]) {
    const user = newUser('sub');
    await fund(user, 400);
    const r = await activate(user, interval);
    assert.equal(r.status, 200, r.text);
    const sub = assertSub(r.body, { interval });
    assert.equal(sub.current_period_end, addMonthsIso(sub.current_period_start, months), interval);
    assert.equal(dbBalance(user), 400 - PRICES[interval]);
    assert.deepEqual(subCharges(user).map((c) => c.amount), [-PRICES[interval]]);
    assert.ok(ledgerMatches(user));
  }
});

test('activate with too few credits: 402 insufficient_credits and nothing changed', async () => {
  for (const credits of [0, 29]) {
    const user = newUser('sub');
    if (credits > 0) await fund(user, credits);
    const r = await activate(user, 'monthly');
    assert.equal(r.status, 402, r.text);
    assert.equal(r.body.error, 'insufficient_credits');
    assert.equal(typeof r.body.message, 'string');
    assert.equal(subRow(user), null, 'no subscriptions row');
    assert.equal(dbBalance(user), credits);
    assert.equal(ledgerCount(user, 'subscription'), 0);
    assert.ok(ledgerMatches(user));
    assert.deepEqual(await getSub(user), { product: PRODUCT, status: 'inactive' });
    assert.equal((await entitlement(user)).active, false);
  }
  // 90 credits cover a month but not a year.
  const user = newUser('sub');
  await fund(user, 90);
  const r = await activate(user, 'yearly');
  assert.equal(r.status, 402, r.text);
  assert.equal(subRow(user), null);
  assert.equal(dbBalance(user), 90);
});

test('activate: a bad interval is 400 with field "interval", and changes nothing', async () => {
  const user = newUser('sub');
  await fund(user, 100);
  for (const interval of ['weekly', 'Monthly', '', 1, null, true, ['monthly'], { m: 1 }])
    badField(await activate(user, interval), 'interval', JSON.stringify(interval));
  badField(await call('POST', `/subscriptions/${PRODUCT}/activate`, { token: as(user), body: {} }), 'interval', 'missing');
  const nojson = await call('POST', `/subscriptions/${PRODUCT}/activate`, { token: as(user), raw: '{"interval":', contentType: 'application/json' });
  assert.equal(nojson.status, 400, nojson.text);
  assert.equal(nojson.body.error, 'invalid_json');
  const wrongType = await call('POST', `/subscriptions/${PRODUCT}/activate`, { token: as(user), raw: 'interval=monthly', contentType: 'application/x-www-form-urlencoded' });
  assert.equal(wrongType.status, 415, wrongType.text);
  assert.equal(subRow(user), null);
  assert.equal(dbBalance(user), 100);
});

test('the invoice-billed product "pro": 201 pending_activation with a first invoice, nothing charged', async () => {
  const user = newUser('sub');
  await fund(user, 5000);
  // pro is offered monthly only: another interval is a bad interval.
  badField(await call('POST', '/subscriptions/pro/activate', { token: as(user), body: { interval: 'yearly' } }), 'interval');
  assert.equal(subRow(user, 'pro'), null);
  const r = await call('POST', '/subscriptions/pro/activate', { token: as(user), body: { interval: 'monthly' } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.status, 'pending_activation');
  assert.equal(r.body.invoice.status, 'pending');
  assert.equal(r.body.invoice.total, 2900);
  assert.match(r.body.invoice.number, /^TLY-\d{4}-\d{6}$/);
  // Nothing is taken from the wallet until the invoice is paid, and the
  // product gives no access while it waits.
  assert.equal(dbBalance(user), 5000);
  assert.equal((await getSub(user, 'pro')).status, 'pending_activation');
  // Asking again shows the same first invoice, not a second one.
  const again = await call('POST', '/subscriptions/pro/activate', { token: as(user), body: { interval: 'monthly' } });
  assert.equal(again.status, 201, again.text);
  assert.equal(again.body.invoice.id, r.body.invoice.id);
});

test('activate again while active: 200, same period, no second charge', async () => {
  const { user, sub } = await subscribed(100);
  const r = await activate(user, 'monthly');
  assert.equal(r.status, 200, r.text);
  assertSub(r.body);
  assert.equal(r.body.current_period_start, sub.current_period_start);
  assert.equal(r.body.current_period_end, sub.current_period_end);
  assert.equal(dbBalance(user), 70);
  assert.equal(subCharges(user).length, 1);
  assert.ok(ledgerMatches(user));
});

test('deactivate: cancel_at_period_end, no next charge, entitled until the period end', async () => {
  const { user, sub } = await subscribed(100);
  const r = await deactivate(user);
  assert.equal(r.status, 200, r.text);
  assertSub(r.body, { cancel: true });
  assert.equal(r.body.current_period_end, sub.current_period_end);
  assert.ok(!('next_charge_at' in r.body) || r.body.next_charge_at === null, r.text);
  assert.deepEqual(await getSub(user), r.body);

  assert.deepEqual(await entitlement(user), { product: PRODUCT, active: true, until: sub.current_period_end });
  assert.deepEqual(await internalStatus(user), { active: true, status: 'active', interval: 'monthly', paused_at: null, until: sub.current_period_end });
  assert.equal(subRow(user).cancel_at_period_end, '1');
  assert.equal(dbBalance(user), 70, 'no refund, no charge');

  // Deactivating twice is harmless.
  const again = await deactivate(user);
  assert.equal(again.status, 200, again.text);
  assert.equal(again.body.cancel_at_period_end, true);
  assert.equal(dbBalance(user), 70);
  assert.ok(ledgerMatches(user));
});

test('reactivate before the period end: the flag is cleared, no charge, the period is kept', async () => {
  const { user, sub } = await subscribed(100);
  assert.equal((await deactivate(user)).status, 200);
  const r = await activate(user, 'monthly');
  assert.equal(r.status, 200, r.text);
  assertSub(r.body);
  assert.equal(r.body.current_period_start, sub.current_period_start);
  assert.equal(r.body.current_period_end, sub.current_period_end);
  assert.equal(r.body.next_charge_at, sub.current_period_end);
  assert.equal(subRow(user).cancel_at_period_end, '0');
  assert.equal(dbBalance(user), 70);
  assert.equal(subCharges(user).length, 1);
});

test('change-interval to yearly: 200, price 360, the period end unchanged, nothing charged now', async () => {
  const { user, sub } = await subscribed(100);
  const r = await changeInterval(user, 'yearly');
  assert.equal(r.status, 200, r.text);
  assertSub(r.body, { interval: 'yearly' });
  assert.equal(r.body.price, 360);
  assert.equal(r.body.current_period_start, sub.current_period_start);
  assert.equal(r.body.current_period_end, sub.current_period_end);
  assert.equal(r.body.next_charge_at, sub.current_period_end);
  assert.deepEqual(await getSub(user), r.body);
  assert.equal(dbBalance(user), 70);
  assert.equal(subCharges(user).length, 1);
  assert.equal((await internalStatus(user)).interval, 'yearly');

  // Back to monthly; a bad interval is 400 and changes nothing.
  badField(await changeInterval(user, 'daily'), 'interval');
  badField(await call('POST', `/subscriptions/${PRODUCT}/change-interval`, { token: as(user), body: {} }), 'interval');
  assert.equal(subRow(user).billing_interval, 'yearly');
  const back = await changeInterval(user, 'monthly');
  assert.equal(back.status, 200, back.text);
  assertSub(back.body, { interval: 'monthly' });
  assert.equal(dbBalance(user), 70);
  assert.ok(ledgerMatches(user));
});

test('change-interval and deactivate without a subscription: 404', async () => {
  // An account with credits but no subscription, and a user never seen.
  const known = newUser('sub');
  await fund(known, 100);
  for (const user of [known, newUser('sub')]) {
    const c = await changeInterval(user, 'yearly');
    assert.equal(c.status, 404, c.text);
    assert.equal(c.body.error, 'not_found');
    const d = await deactivate(user);
    assert.equal(d.status, 404, d.text);
    assert.equal(d.body.error, 'not_found');
    assert.equal(subRow(user), null, 'nothing was created');
  }
  assert.equal(dbBalance(known), 100);
});

test('GET /subscriptions lists the subscriptions as SUB objects', async () => {
  const { user, sub } = await subscribed(100, 'quarterly');
  const r = await call('GET', '/subscriptions', { token: as(user) });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { subscriptions: [sub] });
  // Another user's subscription is not listed.
  const other = await call('GET', '/subscriptions', { token: as(newUser('sub')) });
  assert.deepEqual(other.body, { subscriptions: [] });
});

test('internal status route: {active,status,interval,paused_at,until}', async () => {
  const none = await internalStatus(newUser('nobody'));
  assert.deepEqual(none, { active: false, status: 'inactive', interval: null, paused_at: null, until: null });

  const { user, sub } = await subscribed(100, 'monthly');
  const s = await internalStatus(user);
  assert.deepEqual(Object.keys(s).sort(), ['active', 'interval', 'paused_at', 'status', 'until']);
  assert.deepEqual(s, { active: true, status: 'active', interval: 'monthly', paused_at: null, until: sub.current_period_end });
  // The user id in the path is exact: a prefix is another (unknown) user.
  assert.equal((await internalStatus(user.slice(0, -1))).active, false);
  // Another product of the same user.
  assert.deepEqual(await internalStatus(user, 'pro'), { active: false, status: 'inactive', interval: null, paused_at: null, until: null });
});

test('Idempotency-Key on activate: a retry replays the stored answer without acting again', async () => {
  const user = newUser('sub');
  await fund(user, 100);
  const key = `act-${user}`;
  const first = await activate(user, 'monthly', { headers: { 'Idempotency-Key': key } });
  assert.equal(first.status, 200, first.text);
  assert.equal(dbBalance(user), 70);
  // Change the state in between: a replay must not undo it.
  assert.equal((await deactivate(user)).status, 200);
  const again = await activate(user, 'monthly', { headers: { 'Idempotency-Key': key } });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.text, first.text, 'the stored response');
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.equal(subRow(user).cancel_at_period_end, '1', 'the replay did not run activate again');
  assert.equal(dbBalance(user), 70);
  assert.equal(subCharges(user).length, 1);
  // The same key with another body: 409.
  const other = await activate(user, 'yearly', { headers: { 'Idempotency-Key': key } });
  assert.equal(other.status, 409, other.text);
  assert.equal(other.body.error, 'conflict');
  assert.equal(subRow(user).billing_interval, 'monthly');

  // A 402 with a key, then a retry after topping up: the 402 was not kept
  // as the answer for good, or it is replayed unchanged; never a charge
  // without a subscription.
  const poor = newUser('sub');
  await fund(poor, 10);
  const k2 = `act-${poor}`;
  const p1 = await activate(poor, 'monthly', { headers: { 'Idempotency-Key': k2 } });
  assert.equal(p1.status, 402, p1.text);
  await fund(poor, 50);
  const p2 = await activate(poor, 'monthly', { headers: { 'Idempotency-Key': k2 } });
  assert.ok([200, 402].includes(p2.status), p2.text);
  if (p2.status === 200) {
    assert.equal(dbBalance(poor), 30);
    assert.equal(subRow(poor).status, 'active');
  } else {
    assert.equal(dbBalance(poor), 60);
    assert.equal(subRow(poor), null);
  }
  assert.ok(ledgerMatches(poor));
});

test('month-end anchor: Jan 31 → Feb 28 → Mar 31 → Apr 30, never by adding days', async (t) => {
  const { user } = await subscribed(200, 'monthly', 'anchor');
  t.after(() => parkSubs(`a.user_id = ${sqlStr(user)}`));
  sql(`UPDATE subscriptions s JOIN accounts a ON a.id = s.account_id SET s.anchor_at = '2026-01-31 10:00:00', s.end_months = 1,
    s.current_period_start = '2026-01-31 10:00:00', s.current_period_end = '2026-02-28 10:00:00',
    s.next_charge_at = '2026-02-28 10:00:00' WHERE a.user_id = ${sqlStr(user)}`);

  await runScheduler('2026-03-01T00:00:00Z');
  let sub = await getSub(user);
  assert.equal(sub.status, 'active', JSON.stringify(sub));
  assert.equal(sub.current_period_start, '2026-02-28T10:00:00Z');
  assert.equal(sub.current_period_end, '2026-03-31T10:00:00Z', 'Mar 31 (from the anchor), not Mar 28');
  assert.equal(sub.next_charge_at, '2026-03-31T10:00:00Z');
  assert.equal(dbBalance(user), 140);

  await runScheduler('2026-04-01T00:00:00Z');
  sub = await getSub(user);
  assert.equal(sub.current_period_start, '2026-03-31T10:00:00Z');
  assert.equal(sub.current_period_end, '2026-04-30T10:00:00Z');
  assert.equal(sub.next_charge_at, '2026-04-30T10:00:00Z');
  assert.equal(dbBalance(user), 110);

  // One charge per period, keyed by the period start.
  const charges = subCharges(user);
  assert.deepEqual(charges.map((c) => c.amount), [-30, -30, -30]);
  const id = subRow(user).id;
  for (const [c, start] of [[charges[1], '2026-02-28T10:00:00Z'], [charges[2], '2026-03-31T10:00:00Z']])
    assert.ok(c.effect_key.startsWith(`sub:${id}:`) && c.effect_key.endsWith(`:${Date.parse(start) / 1000}`), c.effect_key);
  assert.ok(ledgerMatches(user));
});

test('a yearly run anchored on Feb 29 renews on Feb 28, then on Feb 29 again in a leap year', async (t) => {
  const { user } = await subscribed(1500, 'yearly', 'anchor');
  t.after(() => parkSubs(`a.user_id = ${sqlStr(user)}`));
  sql(`UPDATE subscriptions s JOIN accounts a ON a.id = s.account_id SET s.anchor_at = '2020-02-29 12:00:00', s.end_months = 12,
    s.current_period_start = '2020-02-29 12:00:00', s.current_period_end = '2021-02-28 12:00:00',
    s.next_charge_at = '2021-02-28 12:00:00' WHERE a.user_id = ${sqlStr(user)}`);
  for (const [now, start, end] of [
    ['2021-03-01T00:00:00Z', '2021-02-28T12:00:00Z', '2022-02-28T12:00:00Z'],
    ['2022-03-01T00:00:00Z', '2022-02-28T12:00:00Z', '2023-02-28T12:00:00Z'],
    ['2023-03-01T00:00:00Z', '2023-02-28T12:00:00Z', '2024-02-29T12:00:00Z'],
  ]) {
    await runScheduler(now);
    const sub = await getSub(user);
    assert.equal(sub.current_period_start, start, now);
    assert.equal(sub.current_period_end, end, now);
  }
  assert.equal(dbBalance(user), 1500 - 4 * 360);
  assert.ok(ledgerMatches(user));
});

test('concurrent activations of one new subscription (a double click): one charge, each answered like a repeat', async () => {
  // Twenty users, each activating eight times at once.
  const answers = [];
  for (let round = 0; round < 20; round++) {
    const user = newUser('dclick');
    await fund(user, 100);
    const rs = await Promise.all(Array.from({ length: 8 }, () => activate(user, 'monthly')));
    answers.push(...rs);
    // Exactly one subscription and one charge, whatever the answers.
    assert.equal(Number(sql(`SELECT COUNT(*) FROM subscriptions s JOIN accounts a ON a.id = s.account_id WHERE a.user_id = ${sqlStr(user)}`)[0][0]), 1);
    assert.equal(subCharges(user).length, 1, user);
    assert.equal(dbBalance(user), 70, user);
    assert.ok(ledgerMatches(user), user);
  }
  // One after the other, a repeat is 200 with the active SUB (see above);
  // at once it must be the same, not the database's duplicate key (409).
  const other = answers.filter((r) => r.status !== 200);
  assert.deepEqual(other.map((r) => `${r.status} ${r.text}`), [], `${other.length} of ${answers.length} concurrent activations were not 200`);
  for (const r of answers) assertSub(r.body);
});
