// Per-resource plans (billing model 3, plan relay_basic: monthly 500):
// activities (idempotent by resource, type and time), prorated items to the
// cent, plan switches billed alike whether update, create or activate
// carries them, netting (a net credit stays outstanding and reduces the
// next invoice), renewal items at each period boundary exactly once (also with
// concurrent schedulers), and the payment cascade: credits, then the saved
// card at the Stripe stand-in, else an email with the reason (<= 240
// characters) and a link; every attempt is a payments row.
//
// Times: activities and scheduler runs are in 2032-2033; every test parks
// its accounts afterwards (no billing anchor, no outstanding item) so that
// later runs leave them alone.
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  URL_BASE, call, token, newUser, fund, sql, sqlStr, dbBalance, ledgerCount, ledgerMatches,
  runScheduler, spawnScheduler, mailbox, statusCounts, lastSegment, standin as standinAt
} from './lib.mjs';

const BASIC = 'relay_basic';
const STRIPE = process.env.STRIPE_STANDIN_URL;

const emailOf = (user) => `${user}@example.com`;
const as = (user) => token({ sub: user, email: emailOf(user) });

const standin = (method, path, body) => standinAt(STRIPE, method, path, body);

// The user exists with an email (the account takes it from the token).
async function withEmail(user) {
  const r = await call('GET', '/credits/balance', { token: as(user) });
  assert.equal(r.status, 200, r.text);
  return user;
}

// A user with a visa card saved through Checkout in setup mode.
async function userWithCard(prefix) {
  const user = newUser(prefix);
  const r = await call('POST', '/billing/card-setup', { token: as(user) });
  assert.equal(r.status, 200, r.text);
  const done = await standin('POST', `/_test/checkout/${lastSegment(r.body.checkout_url)}/complete`, { card: 'visa' });
  for (const d of done.deliveries) assert.equal(d.status, 200, `${d.type}: ${d.body}`);
  return { user, customer: done.session.customer, pm: done.payment_method.id };
}

// POST /internal/activity.
function activity(user, type, resource, at, plan, extra = {}) {
  const body = { user_id: user, type, resource_id: resource, ...extra };
  if (at !== undefined) body.at = at;
  if (plan !== undefined) body.plan = plan;
  return call('POST', '/internal/activity', { service: true, body });
}
async function record(user, type, resource, at, plan) {
  const r = await activity(user, type, resource, at, plan);
  assert.equal(r.status, 202, `${type} ${resource} ${at}: ${r.text}`);
  assert.deepEqual(r.body, { recorded: true });
}

function accountId(user) {
  const rows = sql(`SELECT id FROM accounts WHERE user_id = ${sqlStr(user)}`);
  return rows.length ? Number(rows[0][0]) : null;
}
function anchor(user) {
  const v = sql(`SELECT billing_anchor FROM accounts WHERE user_id = ${sqlStr(user)}`)[0][0];
  return v === 'NULL' ? null : v;
}
// The account's items, oldest first.
function items(user, where = '1') {
  const cols = ['id', 'invoice_id', 'amount', 'resource_id', 'plan', 'source_key', 'description'];
  return sql(`SELECT ${cols.map((c) => `it.${c}`).join(', ')} FROM invoice_items it JOIN accounts a ON a.id = it.account_id
    WHERE a.user_id = ${sqlStr(user)} AND ${where} ORDER BY it.id`)
    .map((r) => Object.fromEntries(cols.map((c, i) => [c, r[i] === 'NULL' ? null : r[i]])))
    .map((x) => ({ ...x, amount: Number(x.amount) }));
}
const open = (user) => items(user, 'it.invoice_id IS NULL');
const amounts = (xs) => xs.map((x) => x.amount);
function invoices(user) {
  const cols = ['id', 'seq', 'number', 'status', 'kind', 'total', 'paid_via', 'cascade_done'];
  return sql(`SELECT ${cols.map((c) => `i.${c}`).join(', ')} FROM invoices i JOIN accounts a ON a.id = i.account_id
    WHERE a.user_id = ${sqlStr(user)} ORDER BY i.seq`)
    .map((r) => Object.fromEntries(cols.map((c, i) => [c, r[i] === 'NULL' ? null : r[i]])))
    .map((x) => ({ ...x, total: Number(x.total) }));
}
function invoiceItems(invoiceId) {
  return sql(`SELECT amount, resource_id, description FROM invoice_items WHERE invoice_id = ${Number(invoiceId)} ORDER BY id`)
    .map(([amount, resource, description]) => ({ amount: Number(amount), resource, description }));
}
function renewals(user) {
  return sql(`SELECT r.period_start FROM plan_renewals r JOIN accounts a ON a.id = r.account_id
    WHERE a.user_id = ${sqlStr(user)} ORDER BY r.period_start`).map((r) => r[0]);
}
function activities(user) {
  return sql(`SELECT x.resource_id, x.type, x.plan, x.at FROM activities x JOIN accounts a ON a.id = x.account_id
    WHERE a.user_id = ${sqlStr(user)} ORDER BY x.id`);
}
function payments(user) {
  const cols = ['reference', 'method', 'amount', 'currency', 'status', 'provider_ref', 'message'];
  return sql(`SELECT ${cols.map((c) => `p.${c}`).join(', ')} FROM payments p JOIN accounts a ON a.id = p.account_id
    WHERE a.user_id = ${sqlStr(user)} ORDER BY p.id`)
    .map((r) => Object.fromEntries(cols.map((c, i) => [c, r[i] === 'NULL' ? null : r[i]])));
}
// Take the accounts out of later runs' way: no anchor, nothing outstanding,
// no retry scheduled.
function park(...users) {
  const list = users.map(sqlStr).join(', ');
  sql(`DELETE it FROM invoice_items it JOIN accounts a ON a.id = it.account_id
    WHERE a.user_id IN (${list}) AND it.invoice_id IS NULL`);
  sql(`UPDATE invoices i JOIN accounts a ON a.id = i.account_id SET i.cascade_done = 1 WHERE a.user_id IN (${list})`);
  // No retries of their failed payments in later runs either (dunning).
  sql(`UPDATE dunning d JOIN invoices i ON i.id = d.invoice_id JOIN accounts a ON a.id = i.account_id
    SET d.next_at = NULL WHERE a.user_id IN (${list})`);
  sql(`UPDATE accounts SET billing_anchor = NULL WHERE user_id IN (${list})`);
}
// The total of every invoice is the sum of its items.
function assertTotals(user) {
  for (const inv of invoices(user)) {
    assert.equal(invoiceItems(inv.id).reduce((s, x) => s + x.amount, 0), inv.total, `invoice ${inv.number}`);
  }
}
// PaymentIntents tally asked the stand-in for, under one idempotency key.
async function intents(key) {
  return (await standin('GET', '/_test/requests?method=POST&path=/v1/payment_intents'))
    .filter((r) => r.idempotency_key === key);
}
// The reason line of an invoice_due email.
function reasonOf(mail) {
  const m = mail.body.match(/could not:\n\n {2}(.*)\n\nPlease/);
  assert.ok(m, `the reason in:\n${mail.body}`);
  return m[1];
}

// ------------------------------------------------------------ activities

test('activities: 202 {recorded:true}, the same one again {recorded:false}; concurrent duplicates make one item', async (t) => {
  const user = newUser('plan-idem');
  t.after(() => park(user));
  const at = '2033-03-03T10:00:00Z';

  await record(user, 'create', 'relay-1', at, BASIC);
  assert.equal(anchor(user), '2033-03-03 10:00:00', 'the first billable activity sets the anchor');
  let its = items(user);
  assert.equal(its.length, 1);
  assert.equal(its[0].amount, 500, 'created at the anchor: the whole first month');
  assert.equal(its[0].resource_id, 'relay-1');
  assert.equal(its[0].plan, BASIC);
  assert.equal(its[0].invoice_id, null, 'outstanding until the scheduler claims it');

  for (let i = 0; i < 2; i++) {
    const again = await activity(user, 'create', 'relay-1', at, BASIC);
    assert.equal(again.status, 202, again.text);
    assert.deepEqual(again.body, { recorded: false });
  }
  // The same resource and type at another time is another activity (it
  // charges nothing: the relay runs already).
  await record(user, 'create', 'relay-1', '2033-03-04T10:00:00Z', BASIC);
  assert.equal(activities(user).length, 2);
  assert.equal(items(user).length, 1);

  // Five at once for a new resource: one recorded, one item.
  const at2 = '2033-03-18T10:00:00Z';
  const rs = await Promise.all(Array.from({ length: 5 }, () => activity(user, 'create', 'relay-2', at2, BASIC)));
  assert.deepEqual(statusCounts(rs), { 202: 5 }, rs.map((r) => r.text).join('\n'));
  assert.equal(rs.filter((r) => r.body.recorded === true).length, 1);
  its = items(user);
  assert.equal(its.length, 2);
  // 2033-03-18T10:00 to 2033-04-03T10:00: 16 of 31 days = 258.06
  assert.equal(its[1].amount, 258);
  assert.equal(activities(user).length, 3);

  // An Idempotency-Key replays the stored answer.
  const key = { 'Idempotency-Key': `act-${user}` };
  const body = { user_id: user, type: 'deactivate', resource_id: 'relay-2', at: '2033-03-20T10:00:00Z' };
  const k1 = await call('POST', '/internal/activity', { service: true, body, headers: key });
  const k2 = await call('POST', '/internal/activity', { service: true, body, headers: key });
  assert.equal(k1.status, 202, k1.text);
  assert.equal(k2.status, 202, k2.text);
  assert.deepEqual(k2.body, k1.body);
  assert.equal(items(user).length, 3);
  // 14 of 31 days: 225.81
  assert.equal(items(user)[2].amount, -226);
});

test('activities: bad input is 400 naming the field, no key is 401, and nothing is recorded', async (t) => {
  const user = newUser('plan-bad');
  t.after(() => park(user));
  const at = '2033-05-01T00:00:00Z';
  const cases = [
    [{ type: 'create', resource_id: 'r', plan: BASIC, at }, 'user_id'],
    [{ user_id: '', type: 'create', resource_id: 'r', plan: BASIC, at }, 'user_id'],
    [{ user_id: user, type: 'delete', resource_id: 'r', plan: BASIC, at }, 'type'],
    [{ user_id: user, type: 'Create', resource_id: 'r', plan: BASIC, at }, 'type'],
    [{ user_id: user, resource_id: 'r', plan: BASIC, at }, 'type'],
    [{ user_id: user, type: 'create', plan: BASIC, at }, 'resource_id'],
    [{ user_id: user, type: 'create', resource_id: 'r'.repeat(256), plan: BASIC, at }, 'resource_id'],
    [{ user_id: user, type: 'create', resource_id: 'r', at }, 'plan'],
    [{ user_id: user, type: 'update', resource_id: 'r', at }, 'plan'],
    [{ user_id: user, type: 'create', resource_id: 'r', plan: 'relay_nope', at }, 'plan'],
    [{ user_id: user, type: 'create', resource_id: 'r', plan: 5, at }, 'plan'],
    [{ user_id: user, type: 'create', resource_id: 'r', plan: BASIC, at: 'yesterday' }, 'at'],
    [{ user_id: user, type: 'create', resource_id: 'r', plan: BASIC, at: 1700000000 }, 'at'],
  ];
  for (const [body, field] of cases) {
    const r = await call('POST', '/internal/activity', { service: true, body });
    assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 120)}: ${r.text}`);
    assert.equal(r.body.field, field, r.text);
  }
  const ok = { user_id: user, type: 'create', resource_id: 'r', plan: BASIC, at };
  assert.equal((await call('POST', '/internal/activity', { body: ok })).status, 401);
  assert.equal((await call('POST', '/internal/activity', { service: 'wrong-key-0123456789', body: ok })).status, 401);
  assert.equal((await call('POST', '/internal/activity', { token: as(user), body: ok })).status, 401);
  if (accountId(user) !== null) {
    assert.equal(activities(user).length, 0);
    assert.equal(items(user).length, 0);
  }
  // Deactivate and activate need no plan.
  await record(user, 'create', 'r', at, BASIC);
  await record(user, 'deactivate', 'r', '2033-05-02T00:00:00Z');
  await record(user, 'activate', 'r', '2033-05-03T00:00:00Z');
});

// ------------------------------------------------------------ proration

test('a month of activities: prorated items and invoice totals to the cent; renewal at the boundary once', async (t) => {
  const user = await withEmail(newUser('plan-month'));
  t.after(() => park(user));
  await fund(user, 100000);

  // January 10 2032 to February 10: 31 days.
  await record(user, 'create', 'r1', '2032-01-10T00:00:00Z', BASIC);	// 500
  await record(user, 'create', 'r2', '2032-01-20T00:00:00Z', BASIC);	// 21/31: 338.71
  assert.equal(anchor(user), '2032-01-10 00:00:00');
  assert.deepEqual(amounts(open(user)), [500, 339]);
  const first = open(user);
  assert.equal(first[0].description, 'Charge for r1: Basic relay, 2032-01-10 to 2032-02-10 (prorated)');
  assert.equal(first[1].description, 'Charge for r2: Basic relay, 2032-01-20 to 2032-02-10 (prorated)');

  await runScheduler('2032-01-20T00:05:00Z');
  let inv = invoices(user);
  assert.equal(inv.length, 1);
  assert.equal(inv[0].number, 'TLY-2032-000001');
  assert.equal(inv[0].kind, 'usage');
  assert.equal(inv[0].total, 839);
  assert.equal(inv[0].status, 'paid', 'the wallet covers it');
  assert.equal(inv[0].paid_via, 'credits');
  assert.deepEqual(open(user), []);
  const api = await call('GET', `/invoices/${inv[0].id}`, { token: as(user) });
  assert.equal(api.status, 200, api.text);
  assert.equal(api.body.total, 839);
  assert.deepEqual(api.body.items.map((x) => [x.amount, x.resource_id, x.plan]), [[500, 'r1', BASIC], [339, 'r2', BASIC]]);
  assert.equal(dbBalance(user), 100000 - 839);
  assert.deepEqual(payments(user).map((p) => [p.reference, p.method, Number(p.amount), p.status]),
    [[`invoice:${inv[0].id}:credits`, 'credits', 839, 'succeeded']]);

  // 15.5 of 31 days back: a credit, which stays outstanding.
  await record(user, 'deactivate', 'r1', '2032-01-25T12:00:00Z');
  assert.deepEqual(amounts(open(user)), [-250]);
  assert.equal(open(user)[0].description, 'Credit for r1: Basic relay, 2032-01-25 to 2032-02-10 (prorated)');
  await runScheduler('2032-01-26T00:00:00Z');
  await runScheduler('2032-02-09T23:59:59Z');
  assert.equal(invoices(user).length, 1, 'a net credit makes no invoice');
  assert.deepEqual(amounts(open(user)), [-250]);
  assert.deepEqual(renewals(user), [], 'the boundary is not reached yet');

  // The boundary: r2 renews (500), r1 is off; the credit nets against it.
  await runScheduler('2032-02-10T00:00:00Z');
  assert.deepEqual(renewals(user), ['2032-02-10 00:00:00']);
  inv = invoices(user);
  assert.equal(inv.length, 2);
  assert.equal(inv[1].number, 'TLY-2032-000002');
  assert.equal(inv[1].total, 250);
  assert.deepEqual(invoiceItems(inv[1].id).map((x) => [x.amount, x.resource]), [[-250, 'r1'], [500, 'r2']]);
  assert.equal(invoiceItems(inv[1].id)[1].description, 'Basic relay for r2, 2032-02-10 to 2032-03-10');
  await runScheduler('2032-02-10T00:00:00Z');
  await runScheduler('2032-02-11T00:00:00Z');
  assert.equal(invoices(user).length, 2, 're-runs add nothing');
  assert.equal(items(user).length, 4);

  // February 10 to March 10 2032: 29 days (a leap year).
  await record(user, 'activate', 'r1', '2032-02-20T00:00:00Z');	// 19/29: 327.59
  await record(user, 'create', 'r3', '2032-02-24T12:00:00Z', BASIC);	// 14.5/29
  await record(user, 'deactivate', 'r2', '2032-03-09T23:59:59Z');	// 1 s: nothing
  assert.deepEqual(amounts(open(user)), [328, 250]);
  await runScheduler('2032-02-25T00:00:00Z');
  inv = invoices(user);
  assert.equal(inv.length, 3);
  assert.equal(inv[2].total, 578);

  // Created exactly at the next boundary: charged once, by its activity.
  await record(user, 'create', 'r4', '2032-03-10T00:00:00Z', BASIC);
  assert.deepEqual(amounts(open(user)), [500]);

  // Two schedulers at the boundary: one renewal of r1 and r3 (r2 was
  // deactivated in the last second), one invoice.
  const now = '2032-03-10T00:00:00Z';
  const runs = await Promise.all([spawnScheduler({ now }).done, spawnScheduler({ now }).done]);
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  await runScheduler(now);
  assert.deepEqual(renewals(user), ['2032-02-10 00:00:00', '2032-03-10 00:00:00']);
  inv = invoices(user);
  assert.equal(inv.length, 4, JSON.stringify(inv));
  assert.equal(inv[3].total, 1500);
  assert.deepEqual(invoiceItems(inv[3].id).map((x) => [x.amount, x.resource]).sort(),
    [[500, 'r1'], [500, 'r3'], [500, 'r4']]);
  const ren = items(user, `it.source_key LIKE 'renewal:%'`);
  assert.equal(ren.length, 3, 'r2 in February; r1 and r3 in March');

  assert.deepEqual(inv.map((x) => x.number), ['TLY-2032-000001', 'TLY-2032-000002', 'TLY-2032-000003',
    'TLY-2032-000004']);
  assert.ok(inv.every((x) => x.status === 'paid' && x.paid_via === 'credits'));
  assert.equal(dbBalance(user), 100000 - (839 + 250 + 578 + 1500));
  assert.equal(ledgerCount(user, 'invoice_payment'), 4);
  assert.ok(ledgerMatches(user));
  assertTotals(user);
  assert.equal(mailbox(emailOf(user)).length, 0, 'paid invoices send no "could not pay" email');
});

test('periods step in calendar months from a January 31 anchor: Feb 29, Mar 31, Apr 30', async (t) => {
  const user = await withEmail(newUser('plan-cal'));
  t.after(() => park(user));
  await fund(user, 100000);
  await record(user, 'create', 'a1', '2032-01-31T00:00:00Z', BASIC);
  assert.equal(open(user)[0].description, 'Charge for a1: Basic relay, 2032-01-31 to 2032-02-29 (prorated)');
  await runScheduler('2032-01-31T00:01:00Z');
  await runScheduler('2032-02-28T23:59:59Z');
  assert.deepEqual(renewals(user), [], 'not on February 28');
  await runScheduler('2032-02-29T00:00:00Z');
  assert.deepEqual(renewals(user), ['2032-02-29 00:00:00']);
  // February 29 to March 31: 31 days; 16 left on March 15 (258.06).
  await record(user, 'create', 'a2', '2032-03-15T00:00:00Z', BASIC);
  assert.equal(open(user)[0].description, 'Charge for a2: Basic relay, 2032-03-15 to 2032-03-31 (prorated)');
  await runScheduler('2032-03-30T23:59:59Z');
  await runScheduler('2032-03-31T00:00:00Z');
  await runScheduler('2032-04-29T23:59:59Z');
  assert.equal(renewals(user).length, 2, 'not on April 29');
  await runScheduler('2032-04-30T00:00:00Z');
  assert.deepEqual(renewals(user), ['2032-02-29 00:00:00', '2032-03-31 00:00:00', '2032-04-30 00:00:00']);
  const inv = invoices(user);
  assert.deepEqual(inv.map((x) => x.total), [500, 500, 258, 1000, 1000]);
  assert.deepEqual(invoiceItems(inv[3].id).map((x) => x.description), [
    'Basic relay for a1, 2032-03-31 to 2032-04-30', 'Basic relay for a2, 2032-03-31 to 2032-04-30']);
  assertTotals(user);
});

test('a net credit is carried over two runs and reduces the next invoice', async (t) => {
  const user = await withEmail(newUser('plan-net'));
  t.after(() => park(user));
  await fund(user, 10000);
  // September 2032: 30 days.
  await record(user, 'create', 'n1', '2032-09-01T00:00:00Z', BASIC);
  await runScheduler('2032-09-01T00:01:00Z');
  assert.deepEqual(invoices(user).map((x) => x.total), [500]);

  await record(user, 'deactivate', 'n1', '2032-09-16T00:00:00Z');	// 15/30: -250
  await runScheduler('2032-09-17T00:00:00Z');
  await record(user, 'activate', 'n1', '2032-09-21T00:00:00Z');	// 10/30: 166.67
  await runScheduler('2032-09-22T00:00:00Z');
  assert.equal(invoices(user).length, 1, '-250 + 167 is still a credit');
  assert.deepEqual(amounts(open(user)), [-250, 167]);

  await runScheduler('2032-10-01T00:00:00Z');
  const inv = invoices(user);
  assert.equal(inv.length, 2);
  assert.equal(inv[1].total, 417, '500 - 250 + 167');
  assert.deepEqual(invoiceItems(inv[1].id).map((x) => x.amount), [-250, 167, 500]);
  assert.deepEqual(open(user), []);
  assert.equal(dbBalance(user), 10000 - 917);
  assertTotals(user);
});

test('a credit larger than the next renewal stays outstanding for the one after', async (t) => {
  const user = await withEmail(newUser('plan-big'));
  t.after(() => park(user));
  await fund(user, 10000);
  // November 2032 from the 1st: 30 days.
  await record(user, 'create', 'b1', '2032-11-01T00:00:00Z', BASIC);
  await record(user, 'create', 'b2', '2032-11-01T00:00:00Z', BASIC);
  await runScheduler('2032-11-01T00:01:00Z');
  assert.deepEqual(invoices(user).map((x) => x.total), [1000]);
  // Both off at the start of the period's second day: 29/30 back each.
  await record(user, 'deactivate', 'b1', '2032-11-02T00:00:00Z');
  await record(user, 'deactivate', 'b2', '2032-11-02T00:00:00Z');
  assert.deepEqual(amounts(open(user)), [-483, -483]);
  // One back on the last day of November: 1/30 = 16.67.
  await record(user, 'activate', 'b1', '2032-11-30T00:00:00Z');
  await runScheduler('2032-12-01T00:00:00Z');
  // Renewal of b1 500: -966 + 17 + 500 = -449: still a credit.
  assert.equal(invoices(user).length, 1);
  assert.equal(open(user).reduce((s, x) => s + x.amount, 0), -449);
  await runScheduler('2033-01-01T00:00:00Z');
  const inv = invoices(user);
  assert.equal(inv.length, 2);
  assert.equal(inv[1].total, 51, '-449 + 500');
  assertTotals(user);
});

// A second paid plan is needed for plan changes; the shared test config
// (tests/integration/run.sh from config.sample) has only relay_basic.
// With "[plan.relay_pro] monthly = 1200" the hand values are in comments.
test('plan changes mid-period: prorated differences, deactivate, renewal on the plan at the boundary', async (t) => {
  const cat = await call('GET', '/catalog');
  const pro = cat.body.plans.find((x) => x.id !== BASIC && x.monthly > 500);
  if (!pro) {
    t.skip('no second paid plan in the test config: tests/integration/run.sh needs a section like ' +
      '"[plan.relay_pro] name = Pro relay, monthly = 1200"');
    return;
  }
  const user = await withEmail(newUser('plan-chg'));
  t.after(() => park(user));
  await fund(user, 100000);
  const P = pro.monthly;
  // round_half_up(price * days / 30): April 2032 has 30 days.
  const share = (price, days) => Math.floor((2 * price * days + 30) / 60);

  await record(user, 'create', 'c1', '2032-04-01T00:00:00Z', BASIC);	// 500
  await record(user, 'create', 'c2', '2032-04-11T00:00:00Z', BASIC);	// 20/30: 333
  await record(user, 'update', 'c1', '2032-04-16T00:00:00Z', pro.id);	// 600 - 250 = 350
  const dup = await activity(user, 'update', 'c1', '2032-04-16T00:00:00Z', pro.id);
  assert.deepEqual(dup.body, { recorded: false });
  await record(user, 'update', 'c1', '2032-04-21T00:00:00Z', pro.id);	// same plan: nothing
  await record(user, 'update', 'c2', '2032-04-21T00:00:00Z', pro.id);	// 400 - 167 = 233
  await record(user, 'update', 'c1', '2032-04-26T00:00:00Z', BASIC);	// 83 - 200 = -117
  await record(user, 'deactivate', 'c2', '2032-04-28T00:00:00Z');	// -120
  const want = [500, share(500, 20), share(P, 15) - 250, share(P, 10) - share(500, 10),
    share(500, 5) - share(P, 5), -share(P, 3)];
  assert.deepEqual(amounts(open(user)), want);
  if (P === 1200) assert.deepEqual(want, [500, 333, 350, 233, -117, -120]);
  const up = open(user)[2];
  assert.equal(up.plan, pro.id);
  assert.equal(up.description, 'Charge for c1: plan change, 2032-04-16 to 2032-05-01 (prorated)');

  // The boundary: c1 renews on relay_basic, c2 is off.
  await runScheduler('2032-05-01T00:00:00Z');
  const inv = invoices(user);
  assert.equal(inv.length, 1);
  const total = want.reduce((a, b) => a + b, 0) + 500;
  assert.equal(inv[0].total, total);
  if (P === 1200) assert.equal(inv[0].total, 1679);
  const its = invoiceItems(inv[0].id);
  assert.deepEqual(its.at(-1), { amount: 500, resource: 'c1', description: 'Basic relay for c1, 2032-05-01 to 2032-06-01' });
  assert.equal(inv[0].status, 'paid');
  assertTotals(user);

  // On the new plan at a boundary, the renewal is the new price.
  await record(user, 'activate', 'c2', '2032-05-01T00:00:00Z');	// a whole month on the plan it had
  await runScheduler('2032-05-01T00:05:00Z');
  await runScheduler('2032-06-01T00:00:00Z');
  const inv2 = invoices(user);
  assert.equal(inv2.length, 3);
  assert.equal(inv2[1].total, P, 'c2 back on for May, on its last plan');
  assert.deepEqual(invoiceItems(inv2[2].id).map((x) => [x.amount, x.resource]).sort(), [[500, 'c1'], [P, 'c2']].sort());
});

// The documented rule, computed here on its own: round_half_up(price *
// remaining / period), in seconds; a switch is new share - old share.
const DAY = 86400;
const shareOf = (price, remaining, len) => Math.floor((2 * price * remaining + len) / (2 * len));
const secs = (a, b) => (Date.parse(b) - Date.parse(a)) / 1000;

// The Pro plan the test config adds (tests/integration/run.sh).
async function proPlan() {
  const cat = await call('GET', '/catalog');
  const pro = cat.body.plans.find((x) => x.id === 'relay_pro');
  assert.ok(pro, 'tests/integration/run.sh adds [plan.relay_pro]');
  return pro;
}

// One user per activity type carrying the same history; their invoices
// after the boundary, as [amount, resource, description] and through the
// API as [amount, resource_id, plan].
async function sameHistory(prefix, kinds, steps, boundary) {
  const out = {};
  for (const kind of kinds) {
    const user = await withEmail(newUser(`${prefix}-${kind}`));
    await fund(user, 100000);
    for (const step of steps(kind)) {
      const [type, at, plan] = step;
      await record(user, type, 'r', at, plan);
    }
    await runScheduler(boundary);
    const inv = invoices(user);
    assert.equal(inv.length, 1, `${kind}: one invoice`);
    assert.equal(inv[0].status, 'paid', `${kind}: paid from the wallet`);
    const api = await call('GET', `/invoices/${inv[0].id}`, { token: as(user) });
    assert.equal(api.status, 200, api.text);
    out[kind] = {
      user,
      total: inv[0].total,
      lines: invoiceItems(inv[0].id).map((x) => [x.amount, x.resource, x.description]),
      api: api.body.items.map((x) => [x.amount, x.resource_id, x.plan]),
    };
    assertTotals(user);
  }
  return out;
}

test('a plan switch carried by create or activate is prorated exactly as the same switch by update', async (t) => {
  const pro = await proPlan();
  const P = pro.monthly;
  const users = [];
  t.after(() => park(...users));
  // July 2033 from the 1st: 31 days.  Up to Pro with 20.75 days left,
  // Pro again (no change), back to Basic with 12 days left.
  const start = '2033-07-01T00:00:00Z';
  const end = '2033-08-01T00:00:00Z';
  const up = '2033-07-11T06:00:00Z';
  const again = '2033-07-15T00:00:00Z';
  const down = '2033-07-20T00:00:00Z';
  const len = secs(start, end);
  assert.equal(len, 31 * DAY);
  const kinds = ['update', 'create', 'activate'];
  const got = await sameHistory('plan-sw', kinds, (kind) => [
    ['create', start, BASIC],
    [kind, up, pro.id],
    [kind, again, pro.id],
    [kind, down, BASIC],
  ], end);
  for (const k of kinds) users.push(got[k].user);

  const upAmount = shareOf(P, secs(up, end), len) - shareOf(500, secs(up, end), len);
  const downAmount = shareOf(500, secs(down, end), len) - shareOf(P, secs(down, end), len);
  if (P === 1200) {
    // 803.23 - 334.68 and 193.55 - 464.52, each side rounded on its own.
    assert.equal(upAmount, 803 - 335);
    assert.equal(downAmount, 194 - 465);
  }
  const want = [
    [500, 'r', 'Charge for r: Basic relay, 2033-07-01 to 2033-08-01 (prorated)'],
    [upAmount, 'r', 'Charge for r: plan change, 2033-07-11 to 2033-08-01 (prorated)'],
    [downAmount, 'r', 'Charge for r: plan change, 2033-07-20 to 2033-08-01 (prorated)'],
    [500, 'r', 'Basic relay for r, 2033-08-01 to 2033-09-01'],
  ];
  for (const k of kinds) {
    assert.deepEqual(got[k].lines, want, `${k}: the invoice lines`);
    assert.equal(got[k].total, 500 + upAmount + downAmount + 500, `${k}: the total`);
    assert.deepEqual(got[k].api, [[500, 'r', BASIC], [upAmount, 'r', pro.id], [downAmount, 'r', BASIC],
      [500, 'r', BASIC]], `${k}: the API items`);
    assert.equal(dbBalance(got[k].user), 100000 - got[k].total);
    assert.ok(ledgerMatches(got[k].user));
  }
  const bill = (x) => [x.lines, x.api, x.total];
  assert.deepEqual(bill(got.create), bill(got.update), 'create bills the switch as update does');
  assert.deepEqual(bill(got.activate), bill(got.update), 'activate bills the switch as update does');
});

test('activate (or create) of a deactivated resource with another plan charges the new plan for the rest, as update then activate does', async (t) => {
  const pro = await proPlan();
  const P = pro.monthly;
  const users = [];
  t.after(() => park(...users));
  // September 2033: 30 days.  Off on the 6th (the Basic rest back), on
  // again on Pro on the 16th (Pro's rest), renewed on Pro.
  const start = '2033-09-01T00:00:00Z';
  const end = '2033-10-01T00:00:00Z';
  const off = '2033-09-06T00:00:00Z';
  const on = '2033-09-16T00:00:00Z';
  const len = secs(start, end);
  const kinds = ['activate', 'create', 'update-then-activate'];
  const got = await sameHistory('plan-back', kinds, (kind) => [
    ['create', start, BASIC],
    ['deactivate', off],
    ...(kind === 'update-then-activate'
      ? [['update', '2033-09-10T00:00:00Z', pro.id], ['activate', on]]
      : [[kind, on, pro.id]]),
  ], end);
  for (const k of kinds) users.push(got[k].user);

  const credit = -shareOf(500, secs(off, end), len);
  const charge = shareOf(P, secs(on, end), len);
  if (P === 1200) assert.deepEqual([credit, charge], [-417, 600]);
  const want = [
    [500, 'r', 'Charge for r: Basic relay, 2033-09-01 to 2033-10-01 (prorated)'],
    [credit, 'r', 'Credit for r: Basic relay, 2033-09-06 to 2033-10-01 (prorated)'],
    [charge, 'r', 'Charge for r: Pro relay, 2033-09-16 to 2033-10-01 (prorated)'],
    [P, 'r', 'Pro relay for r, 2033-10-01 to 2033-11-01'],
  ];
  for (const k of kinds) {
    assert.deepEqual(got[k].lines, want, `${k}: the invoice lines`);
    assert.deepEqual(got[k].api.map((x) => x[2]), [BASIC, BASIC, pro.id, pro.id], `${k}: the item plans`);
    assert.equal(got[k].total, 500 + credit + charge + P);
  }
});

// ------------------------------------------------------------ the cascade

test('cascade: credits short, card declined -> one email with the reason and link; paid by hand; next month by card', async (t) => {
  const { user, customer } = await userWithCard('plan-casc');
  t.after(() => park(user));
  await standin('POST', '/_test/outcome', { customer, outcome: 'decline', decline_code: 'insufficient_funds', times: 1 });

  await record(user, 'create', 'k1', '2032-06-05T00:00:00Z', BASIC);
  await runScheduler('2032-06-05T00:01:00Z');
  let inv = invoices(user);
  assert.equal(inv.length, 1);
  const id = inv[0].id;
  assert.equal(inv[0].total, 500);
  assert.equal(inv[0].status, 'pending', 'nothing could pay it');
  assert.equal(inv[0].cascade_done, '1');
  assert.equal(dbBalance(user), 0);

  // Each attempt recorded.
  const p = payments(user);
  assert.deepEqual(p.map((x) => [x.method, x.status, Number(x.amount), x.currency]),
    [['credits', 'declined', 500, 'EUR'], ['card', 'declined', 500, 'EUR']]);
  assert.equal(p[0].reference, `invoice:${id}:credits`);
  assert.equal(p[1].reference, `tally-invoice-${id}-card`);
  assert.match(p[1].provider_ref, /^pi_/);
  const sent = await intents(`tally-invoice-${id}-card`);
  assert.equal(sent.length, 1, 'one off-session charge, keyed by our attempt');
  const form = new URLSearchParams(sent[0].raw);
  assert.equal(form.get('amount'), '500');
  assert.equal(form.get('currency'), 'eur');
  assert.equal(form.get('customer'), customer);
  assert.equal(form.get('off_session'), 'true');
  assert.equal(form.get('confirm'), 'true');

  // One email: the reason (the last error, summarised) and the link.
  const mails = mailbox(emailOf(user));
  assert.equal(mails.length, 1);
  const m = mails[0];
  assert.equal(m.subject, 'Invoice TLY-2032-000001 could not be paid automatically');
  assert.match(m.body, /\(5\.00 EUR\)/);
  assert.ok(m.body.includes(`${URL_BASE}/?invoice=${id}`), m.body);
  const reason = reasonOf(m);
  assert.match(reason, /card/i);
  assert.match(reason, /insufficient funds/);
  assert.ok(Buffer.byteLength(reason) <= 240);
  assert.ok(!m.body.includes('{{'));

  // Later runs do not try again or send again.
  await runScheduler('2032-06-05T02:00:00Z');
  await runScheduler('2032-06-06T00:00:00Z');
  assert.equal(payments(user).length, 2);
  assert.equal((await intents(`tally-invoice-${id}-card`)).length, 1);
  assert.equal(mailbox(emailOf(user)).length, 1);

  // The customer pays it by hand with the saved card (the decline was
  // one-off): paid.
  const r = await call('POST', `/invoices/${id}/pay`, { token: as(user), body: { method: 'card', use_saved_card: true } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'paid');
  assert.equal(r.body.paid_via, 'card');
  assert.equal(payments(user).at(-1).status, 'succeeded');

  // The next month: credits short again, the card succeeds; no email.
  await runScheduler('2032-07-05T00:00:00Z');
  inv = invoices(user);
  assert.equal(inv.length, 2);
  assert.equal(inv[1].total, 500);
  assert.equal(inv[1].status, 'paid');
  assert.equal(inv[1].paid_via, 'card');
  const q = payments(user).slice(-2);
  assert.deepEqual(q.map((x) => [x.reference, x.method, x.status]), [
    [`invoice:${inv[1].id}:credits`, 'credits', 'declined'],
    [`tally-invoice-${inv[1].id}-card`, 'card', 'succeeded']]);
  assert.equal(mailbox(emailOf(user)).length, 1, 'no email for a paid invoice');
  assert.equal(dbBalance(user), 0);
  assert.ok(ledgerMatches(user));
  assertTotals(user);
});

test('cascade: enough credits pay first, without asking Stripe; short credits are never partly taken', async (t) => {
  const rich = await userWithCard('plan-rich');
  const poor = await userWithCard('plan-poor');
  t.after(() => park(rich.user, poor.user));
  await fund(rich.user, 500);
  await fund(poor.user, 300);
  await record(rich.user, 'create', 'x', '2032-08-03T00:00:00Z', BASIC);
  await record(poor.user, 'create', 'x', '2032-08-03T00:00:00Z', BASIC);
  await runScheduler('2032-08-03T00:01:00Z');

  const [ri] = invoices(rich.user);
  assert.equal(ri.status, 'paid');
  assert.equal(ri.paid_via, 'credits');
  assert.equal(dbBalance(rich.user), 0);
  assert.equal((await intents(`tally-invoice-${ri.id}-card`)).length, 0, 'no card charge');
  assert.deepEqual(payments(rich.user).map((x) => [x.method, x.status]), [['credits', 'succeeded']]);

  const [pi] = invoices(poor.user);
  assert.equal(pi.status, 'paid');
  assert.equal(pi.paid_via, 'card');
  assert.equal(dbBalance(poor.user), 300, 'the wallet is left alone');
  assert.deepEqual(payments(poor.user).map((x) => [x.method, x.status]), [['credits', 'declined'], ['card', 'succeeded']]);
  assert.ok(ledgerMatches(rich.user) && ledgerMatches(poor.user));
});

test('cascade: no card and no credits -> email "could not be paid" naming the last reason', async (t) => {
  const user = await withEmail(newUser('plan-none'));
  t.after(() => park(user));
  await record(user, 'create', 'z', '2032-12-07T00:00:00Z', BASIC);
  await runScheduler('2032-12-07T00:01:00Z');
  const [inv] = invoices(user);
  assert.equal(inv.status, 'pending');
  assert.deepEqual(payments(user).map((x) => [x.method, x.status]), [['credits', 'declined']]);
  const mails = mailbox(emailOf(user));
  assert.equal(mails.length, 1);
  const reason = reasonOf(mails[0]);
  assert.match(reason, /credit balance/i);
  assert.ok(mails[0].body.includes(`${URL_BASE}/?invoice=${inv.id}`));
});

test('cascade: a long provider message becomes a reason of at most 240 characters, whitespace collapsed', async (t) => {
  const { user, customer } = await userWithCard('plan-long');
  t.after(() => park(user));
  const message = `Do not honor.   \n\t ${'Détails : la banque a refusé — réessayez plus tard.   \n'.repeat(14)}`;
  assert.ok(message.length > 600);
  await standin('POST', '/_test/outcome', { customer, outcome: 'decline', decline_code: 'do_not_honor', message, times: 1 });
  await record(user, 'create', 'l1', '2032-10-12T00:00:00Z', BASIC);
  const run = await runScheduler('2032-10-12T00:01:00Z');
  const [inv] = invoices(user);
  assert.ok(inv, 'an invoice');
  assert.equal(inv.cascade_done, '1', `the cascade finished: ${JSON.stringify(run.jobs['plan-billing'])}`);
  const p = payments(user);
  assert.deepEqual(p.map((x) => [x.method, x.status]), [['credits', 'declined'], ['card', 'declined']]);
  assert.ok(p[1].message.length <= 500);

  const mails = mailbox(emailOf(user));
  assert.equal(mails.length, 1, 'one email');
  const reason = reasonOf(mails[0]);
  assert.ok(Buffer.byteLength(reason) <= 240, `${Buffer.byteLength(reason)} bytes: ${reason}`);
  assert.ok(Buffer.byteLength(reason) >= 230, 'cut near the limit, not far before it');
  assert.ok(reason.endsWith('...'), reason);
  assert.ok(!/\s{2}|\n|\t/.test(reason), 'whitespace collapsed');
  assert.ok(!reason.includes('\uFFFD'), 'no broken UTF-8');
  assert.match(reason, /Do not honor\. Détails : la banque a refusé/);
});

// Stripe's error text reaches tally as "code: message" in a 512-byte
// buffer; "x" + 300 "é" puts the cut inside an "é".
const SPLIT_MESSAGE = `x${'é'.repeat(300)}`;

test('cascade: a decline message cut inside a UTF-8 character still records the attempt and emails once', async (t) => {
  const { user, customer } = await userWithCard('plan-utf8');
  t.after(() => park(user));
  await standin('POST', '/_test/outcome', { customer, outcome: 'decline', message: SPLIT_MESSAGE, times: 1 });
  await record(user, 'create', 'u1', '2033-02-03T00:00:00Z', BASIC);
  const run = await runScheduler('2033-02-03T00:01:00Z');
  const [inv] = invoices(user);
  assert.ok(inv);
  assert.equal(run.jobs['plan-billing'].errors, 0, JSON.stringify(run.jobs['plan-billing']));
  assert.equal(inv.cascade_done, '1', 'the cascade finished for this invoice');
  assert.deepEqual(payments(user).map((x) => [x.method, x.status]), [['credits', 'declined'], ['card', 'declined']]);
  const mails = mailbox(emailOf(user));
  assert.equal(mails.length, 1, 'the customer is told');
  const reason = reasonOf(mails[0]);
  assert.ok(Buffer.byteLength(reason) <= 240);
  assert.ok(!reason.includes('\uFFFD'));
});

test('cascade: an invoice whose cascade fails does not hold up other accounts\' invoices', async (t) => {
  const stuck = await userWithCard('plan-stuck');
  const next = await withEmail(newUser('plan-next'));
  t.after(() => park(stuck.user, next));
  await standin('POST', '/_test/outcome', { customer: stuck.customer, outcome: 'decline', message: SPLIT_MESSAGE });
  await fund(next, 500);
  await record(stuck.user, 'create', 's1', '2033-04-05T00:00:00Z', BASIC);
  await record(next, 'create', 'n1', '2033-04-05T00:00:00Z', BASIC);
  await runScheduler('2033-04-05T00:01:00Z');
  await runScheduler('2033-04-05T00:02:00Z');
  const [a] = invoices(stuck.user);
  const [b] = invoices(next);
  assert.ok(a && b, 'both invoiced');
  assert.ok(Number(a.id) < Number(b.id), 'the stuck one comes first');
  assert.equal(b.status, 'paid', `the next account's invoice is still paid from its credits (${JSON.stringify(b)})`);
  assert.equal(b.paid_via, 'credits');
  assert.equal(dbBalance(next), 0);
});

test('every invoice in the database: total = sum of its items; no item claimed twice', () => {
  const bad = sql(`SELECT i.id, i.total, COALESCE(SUM(it.amount), 0) s FROM invoices i
    LEFT JOIN invoice_items it ON it.invoice_id = i.id GROUP BY i.id, i.total HAVING i.total <> s`);
  assert.deepEqual(bad, []);
  const dup = sql(`SELECT source_key, COUNT(*) FROM invoice_items WHERE source_key IS NOT NULL
    GROUP BY source_key HAVING COUNT(*) > 1`);
  assert.deepEqual(dup, []);
  const cross = sql(`SELECT it.id FROM invoice_items it JOIN invoices i ON i.id = it.invoice_id
    WHERE i.account_id <> it.account_id`);
  assert.deepEqual(cross, []);
});
