// Dunning: a usage invoice whose automatic payment (the plan-billing
// cascade) failed is tried again 1, 3, 5 and 7 days later
// (billing.dunning_days), each retry once (also with two schedulers at
// once), each one payments row and, when it fails, one email with the
// reason and the link; a success at any step, or the invoice's expiry,
// ends it.  And billing.reactivate_on_topup: a paused credit subscription
// starts again, exactly once, when a top-up covers its price.
//
// Times: the dunning runs are in 2034, driven with the scheduler's --now;
// each test parks its accounts afterwards (no anchor, no retry left).
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  URL_BASE, call, token, newUser, fund, sql, sqlStr, dbBalance, ledgerMatches, ledgerCount,
  runScheduler, spawnScheduler, mailbox, subRow, setSubPeriod, parkSubs, startStack, isoTime, lastSegment, standin as standinAt
} from './lib.mjs';

const BASIC = 'relay_basic';
const STRIPE = process.env.STRIPE_STANDIN_URL;
const DAY = 86400000;

const emailOf = (user) => `${user}@example.com`;
const as = (user) => token({ sub: user, email: emailOf(user) });
const at = (iso, ms = 0) => isoTime(Date.parse(iso) + ms);
// An API time as the database (and sql()) writes it.
const dbTime = (iso) => iso.replace('T', ' ').replace('Z', '');

const standin = (method, path, body) => standinAt(STRIPE, method, path, body);

// A user with a visa card saved through Checkout in setup mode (claims:
// more of the token's, e.g. locale).
async function userWithCard(prefix, claims = {}) {
  const user = newUser(prefix);
  const r = await call('POST', '/billing/card-setup', { token: token({ sub: user, email: emailOf(user), ...claims }) });
  assert.equal(r.status, 200, r.text);
  const done = await standin('POST', `/_test/checkout/${lastSegment(r.body.checkout_url)}/complete`, { card: 'visa' });
  for (const d of done.deliveries) assert.equal(d.status, 200, `${d.type}: ${d.body}`);
  return { user, customer: done.session.customer };
}

// A user whose card the bank declines `times` times (every time when
// undefined), then accepts.
async function declinedUser(prefix, times, claims) {
  const u = await userWithCard(prefix, claims);
  await standin('POST', '/_test/outcome', {
    customer: u.customer, outcome: 'decline', decline_code: 'insufficient_funds',
    ...(times === undefined ? {} : { times }),
  });
  return u.user;
}

// A usage invoice of 500 for user: a relay created at `when`, billed by
// the plan-billing job a minute later (the cascade).  Returns its id.
async function usageInvoice(user, when) {
  const r = await call('POST', '/internal/activity', { service: true,
    body: { user_id: user, type: 'create', resource_id: 'relay', plan: BASIC, at: when } });
  assert.equal(r.status, 202, r.text);
  await runScheduler(at(when, 60000));
  const rows = invoices(user);
  assert.equal(rows.length, 1, JSON.stringify(rows));
  return rows[0].id;
}

function invoices(user) {
  return sql(`SELECT i.id, i.status, i.paid_via FROM invoices i JOIN accounts a ON a.id = i.account_id
    WHERE a.user_id = ${sqlStr(user)} ORDER BY i.id`).map(([id, status, via]) => ({ id, status, paid_via: via }));
}
function payments(user) {
  const cols = ['reference', 'method', 'status', 'amount', 'message'];
  return sql(`SELECT ${cols.map((c) => `p.${c}`).join(', ')} FROM payments p JOIN accounts a ON a.id = p.account_id
    WHERE a.user_id = ${sqlStr(user)} ORDER BY p.id`)
    .map((r) => Object.fromEntries(cols.map((c, i) => [c, r[i] === 'NULL' ? null : r[i]])));
}
function dunning(invoiceId) {
  const rows = sql(`SELECT attempt, planned, next_at, state, reason FROM dunning WHERE invoice_id = ${Number(invoiceId)}`);
  if (rows.length === 0) return null;
  const [attempt, planned, next, state, reason] = rows[0];
  return { attempt: Number(attempt), planned: Number(planned), next_at: next === 'NULL' ? null : next, state, reason };
}
function attempts(invoiceId) {
  return sql(`SELECT attempt, result, method FROM dunning_attempts WHERE invoice_id = ${Number(invoiceId)} ORDER BY attempt`)
    .map(([n, result, method]) => [Number(n), result, method]);
}
// Off-session charges tally asked the stand-in for, under one key.
async function intents(key) {
  return (await standin('GET', '/_test/requests?method=POST&path=/v1/payment_intents'))
    .filter((r) => r.idempotency_key === key);
}
// The user's email whose subject matches re (the sink's file names do not
// sort by time within a second).
function mailLike(user, re) {
  const all = mailbox(emailOf(user));
  const m = all.find((x) => re.test(x.subject));
  assert.ok(m, `no email like ${re} in ${JSON.stringify(all.map((x) => x.subject))}`);
  return m;
}

// Take the accounts out of later runs' way.
function park(...users) {
  const list = users.map(sqlStr).join(', ');
  sql(`DELETE it FROM invoice_items it JOIN accounts a ON a.id = it.account_id
    WHERE a.user_id IN (${list}) AND it.invoice_id IS NULL`);
  sql(`UPDATE invoices i JOIN accounts a ON a.id = i.account_id SET i.cascade_done = 1 WHERE a.user_id IN (${list})`);
  sql(`UPDATE dunning d JOIN invoices i ON i.id = d.invoice_id JOIN accounts a ON a.id = i.account_id
    SET d.next_at = NULL WHERE a.user_id IN (${list})`);
  sql(`UPDATE accounts SET billing_anchor = NULL WHERE user_id IN (${list})`);
}

// ------------------------------------------------------------ retries

test('dunning: a declined card is retried on day 1, 3, 5 and 7, one payments row and one email per attempt, then never again', async (t) => {
  const user = await declinedUser('dun-decl');
  t.after(() => park(user));
  const T = '2034-03-01T00:00:00Z';
  const C = at(T, 60000); // the cascade: day 0
  const id = await usageInvoice(user, T);

  // The cascade failed: its two rows, one email naming the first retry.
  assert.deepEqual(payments(user).map((p) => [p.method, p.status]), [['credits', 'declined'], ['card', 'declined']]);
  assert.deepEqual(dunning(id), { attempt: 0, planned: 4, next_at: '2034-03-02 00:01:00', state: 'retrying',
    reason: dunning(id).reason });
  assert.match(dunning(id).reason, /^The card payment failed: .*insufficient funds/);
  let mails = mailbox(emailOf(user));
  assert.equal(mails.length, 1);
  assert.equal(mails[0].subject, 'Invoice TLY-2034-000001 could not be paid automatically');
  assert.match(mails[0].body, /Otherwise we try again automatically on 2034-03-02 00:01 UTC\./);
  assert.ok(mails[0].body.includes(`${URL_BASE}/?invoice=${id}`));

  // The invoice says so: why, and when the next try is.
  let r = await call('GET', `/invoices/${id}`, { token: as(user) });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.dunning, { reason: dunning(id).reason, failed_at: C, retries_made: 0, retries_planned: 4,
    next_retry_at: '2034-03-02T00:01:00Z' });
  r = await call('GET', '/invoices', { token: as(user) });
  assert.equal(r.body.invoices[0].dunning.next_retry_at, '2034-03-02T00:01:00Z');

  // A second before day 1: nothing.
  await runScheduler(at(C, DAY - 1000));
  assert.equal(payments(user).length, 2);

  const days = [1, 3, 5, 7];
  for (let k = 1; k <= 4; k += 1) {
    const when = at(C, days[k - 1] * DAY);
    const run = await runScheduler(when);
    assert.equal(run.jobs.dunning.retried, 1, JSON.stringify(run.jobs.dunning));
    // Again at the same time, and an hour later: the attempt is not made twice.
    await runScheduler(when);
    await runScheduler(at(when, 3600000));
    const p = payments(user);
    assert.equal(p.length, 2 + k, `after retry ${k}: ${JSON.stringify(p)}`);
    assert.deepEqual([p.at(-1).reference, p.at(-1).method, p.at(-1).status, p.at(-1).amount],
      [`tally-invoice-${id}-retry-${k}-card`, 'card', 'declined', '500']);
    assert.equal((await intents(`tally-invoice-${id}-retry-${k}-card`)).length, 1, 'one charge per attempt at Stripe');
    assert.deepEqual(attempts(id).at(-1), [k, 'failed', 'card']);
    mails = mailbox(emailOf(user));
    assert.equal(mails.length, 1 + k, `emails after retry ${k}`);
    // (The sink's file names do not sort by time within a second.)
    const m = mails.find((x) => (k < 4 ? x.subject.includes(`attempt ${k} of 4`) : /last automatic/.test(x.subject)));
    assert.ok(m, `the email of retry ${k} in ${JSON.stringify(mails.map((x) => x.subject))}`);
    assert.ok(m.body.includes(`${URL_BASE}/?invoice=${id}`), m.body);
    assert.match(m.body, /insufficient funds/);
    assert.ok(!m.body.includes('{{'));
    const d = dunning(id);
    assert.equal(d.attempt, k);
    if (k < 4) {
      assert.equal(m.subject, `Invoice TLY-2034-000001: automatic payment attempt ${k} of 4 failed`);
      const next = at(C, days[k] * DAY);
      assert.match(m.body, new RegExp(`try again automatically on ${next.slice(0, 10)} ${next.slice(11, 16)} UTC`));
      assert.equal(d.state, 'retrying');
      r = await call('GET', `/invoices/${id}`, { token: as(user) });
      assert.equal(r.body.dunning.next_retry_at, next);
      assert.equal(r.body.dunning.retries_made, k);
    } else {
      assert.equal(m.subject, 'Invoice TLY-2034-000001: the last automatic payment attempt failed');
      assert.match(m.body, /We will not try again automatically/);
      assert.equal(d.state, 'exhausted');
      assert.equal(d.next_at, null);
      r = await call('GET', `/invoices/${id}`, { token: as(user) });
      assert.equal(r.body.status, 'pending');
      assert.equal(r.body.dunning.retries_made, 4);
      assert.equal(r.body.dunning.next_retry_at, undefined, 'no retry left');
      assert.match(r.body.dunning.reason, /insufficient funds/);
    }
  }
  // After the schedule: nothing more, ever.
  await runScheduler(at(C, 9 * DAY));
  await runScheduler(at(C, 29 * DAY));
  assert.equal(payments(user).length, 6);
  assert.equal(mailbox(emailOf(user)).length, 5);
  assert.equal(invoices(user)[0].status, 'pending', 'still payable by hand');
});

test('dunning: success on the 2nd retry ends it (card), and a top-up before a retry pays it from credits', async (t) => {
  // The card: declined by the cascade and the first retry, then accepted.
  const card = await declinedUser('dun-ok', 2);
  // The wallet: no card; the user tops up after the first retry.
  const wallet = newUser('dun-wal');
  await call('GET', '/credits/balance', { token: as(wallet) });
  t.after(() => park(card, wallet));
  const T = '2034-05-03T00:00:00Z';
  const C = at(T, 60000);
  const r1 = await call('POST', '/internal/activity', { service: true,
    body: { user_id: wallet, type: 'create', resource_id: 'w', plan: BASIC, at: T } });
  assert.equal(r1.status, 202, r1.text);
  const id = await usageInvoice(card, T);
  const wid = invoices(wallet)[0].id;
  assert.deepEqual(payments(wallet).map((p) => [p.method, p.status]), [['credits', 'declined']]);

  await runScheduler(at(C, DAY));
  assert.deepEqual(payments(card).slice(2).map((p) => [p.method, p.status]), [['card', 'declined']]);
  assert.deepEqual(payments(wallet).map((p) => [p.reference, p.method, p.status]), [
    [`invoice:${wid}:credits`, 'credits', 'declined'],
    [`invoice:${wid}:retry:1:credits`, 'credits', 'declined']]);
  assert.equal(mailbox(emailOf(wallet)).length, 2);
  await fund(wallet, 500);

  await runScheduler(at(C, 3 * DAY));
  let inv = invoices(card)[0];
  assert.equal(inv.status, 'paid');
  assert.equal(inv.paid_via, 'card');
  assert.deepEqual(payments(card).slice(2).map((p) => [p.reference, p.status]), [
    [`tally-invoice-${id}-retry-1-card`, 'declined'], [`tally-invoice-${id}-retry-2-card`, 'succeeded']]);
  assert.deepEqual(attempts(id), [[1, 'failed', 'card'], [2, 'paid', 'card']]);
  assert.equal(dunning(id).state, 'paid');
  assert.equal(dunning(id).next_at, null);
  assert.equal(mailbox(emailOf(card)).length, 2, 'no email for the success');
  inv = invoices(wallet)[0];
  assert.equal(inv.status, 'paid');
  assert.equal(inv.paid_via, 'credits');
  assert.equal(dbBalance(wallet), 0);
  assert.ok(ledgerMatches(wallet));
  assert.deepEqual(payments(wallet).at(-1), { reference: `invoice:${wid}:retry:2:credits`, method: 'credits',
    status: 'succeeded', amount: '500', message: null });
  const r = await call('GET', `/invoices/${id}`, { token: as(card) });
  assert.equal(r.body.dunning, undefined, 'a paid invoice shows no dunning');

  // Days 5 and 7: nothing more for either.
  await runScheduler(at(C, 5 * DAY));
  await runScheduler(at(C, 7 * DAY));
  assert.equal(payments(card).length, 4);
  assert.equal(payments(wallet).length, 3);
  assert.equal(mailbox(emailOf(card)).length, 2);
  assert.equal(mailbox(emailOf(wallet)).length, 2);
  assert.equal((await intents(`tally-invoice-${id}-retry-3-card`)).length, 0);
});

test('dunning: paid by hand or expired meanwhile, no retry is made; missed retries are not made in a burst', async (t) => {
  const byHand = await declinedUser('dun-hand', undefined, { locale: 'de-DE' });
  const expiring = await declinedUser('dun-exp');
  const late = await declinedUser('dun-late');
  t.after(() => park(byHand, expiring, late));
  const T = '2034-07-05T00:00:00Z';
  const C = at(T, 60000);
  for (const u of [byHand, expiring, late]) {
    const r = await call('POST', '/internal/activity', { service: true,
      body: { user_id: u, type: 'create', resource_id: 'r', plan: BASIC, at: T } });
    assert.equal(r.status, 202, r.text);
  }
  await runScheduler(C);
  const [hid, eid, lid] = [byHand, expiring, late].map((u) => invoices(u)[0].id);
  for (const id of [hid, eid, lid]) assert.equal(dunning(id).state, 'retrying');

  // Day 1: each retried once.  Then byHand pays by hand, and expiring's
  // invoice gets an expiry on day 4: between its retries of day 3 and 5.
  await runScheduler(at(C, DAY));
  const paid = await call('POST', `/admin/invoices/${hid}/mark-paid`, { admin: true, body: { actor: 'tests', reference: 'bank' } });
  assert.equal(paid.status, 200, paid.text);
  sql(`UPDATE invoices SET expires_at = ${sqlStr(dbTime(at(C, 4 * DAY)))} WHERE id = ${Number(eid)}`);

  // late's scheduler is away from day 1 to day 6: on day 6 only the
  // latest due retry (3, of day 5) is made, not 2 and 3 at once.
  sql(`UPDATE dunning SET next_at = NULL WHERE invoice_id = ${Number(lid)}`);
  await runScheduler(at(C, 3 * DAY));
  assert.equal(payments(byHand).length, 3, 'paid by hand: no retry on day 3');
  assert.equal(dunning(hid).state, 'paid');
  assert.equal(mailbox(emailOf(byHand)).length, 2);
  // In German for a German user.
  assert.match(mailLike(byHand, /konnte nicht automatisch bezahlt werden$/).body,
    /Andernfalls versuchen wir es am \d{4}-\d\d-\d\d \d\d:\d\d UTC automatisch noch einmal\./);
  assert.match(mailLike(byHand, /^Rechnung TLY-2034-000001: automatischer Zahlungsversuch 1 von 4 fehlgeschlagen$/).body,
    /Versuch 1 von 4/);
  // expiring: retry 2 on day 3 is before the expiry; the one on day 5
  // would not be, so it was the last, and says so.
  assert.equal(payments(expiring).length, 4);
  assert.equal(dunning(eid).state, 'exhausted');
  assert.match(mailLike(expiring, /the last automatic payment attempt failed/).body, /\(attempt 2 of 2\)/);
  const r = await call('GET', `/invoices/${eid}`, { token: as(expiring) });
  assert.equal(r.body.dunning.retries_planned, 2);
  assert.equal(r.body.dunning.retries_made, 2);
  assert.equal(r.body.dunning.next_retry_at, undefined);

  // An expiry that comes after a retry was scheduled ends it too: a
  // retry due on day 5 and the expiry moved to day 4.5 (the day-5 run
  // expires the invoice first, then finds it expired).
  sql(`UPDATE dunning SET next_at = ${sqlStr(dbTime(at(C, 5 * DAY)))}, state = 'retrying' WHERE invoice_id = ${Number(eid)}`);
  sql(`UPDATE invoices SET expires_at = ${sqlStr(dbTime(at(C, 4.5 * DAY)))} WHERE id = ${Number(eid)}`);
  const mailsBefore = mailbox(emailOf(expiring)).length;
  await runScheduler(at(C, 5 * DAY));
  assert.equal(invoices(expiring)[0].status, 'expired');
  assert.equal(payments(expiring).length, 4, 'no retry after the expiry');
  assert.equal(mailbox(emailOf(expiring)).length, mailsBefore, 'no email after the expiry');
  assert.equal(dunning(eid).state, 'expired');
  assert.equal(dunning(eid).next_at, null);

  // late: back on day 6.
  sql(`UPDATE dunning SET next_at = ${sqlStr(dbTime(at(C, 3 * DAY)))} WHERE invoice_id = ${Number(lid)}`);
  const before = payments(late).length;
  await runScheduler(at(C, 6 * DAY));
  assert.equal(payments(late).length, before + 1, 'one retry, not two');
  assert.equal(payments(late).at(-1).reference, `tally-invoice-${lid}-retry-3-card`);
  assert.deepEqual(attempts(lid).map((a) => a[0]), [1, 3]);
  mailLike(late, /^Invoice TLY-2034-000001: automatic payment attempt 3 of 4 failed$/);
  assert.equal(mailbox(emailOf(late)).length, 3);
  assert.equal(dunning(lid).next_at, dbTime(at(C, 7 * DAY)));
});

test('dunning: two schedulers at once never make an attempt twice or send an email twice', async (t) => {
  const users = [];
  for (let i = 0; i < 4; i += 1) users.push(await declinedUser(`dun-par${i}`));
  t.after(() => park(...users));
  const T = '2034-09-07T00:00:00Z';
  const C = at(T, 60000);
  for (const u of users) {
    const r = await call('POST', '/internal/activity', { service: true,
      body: { user_id: u, type: 'create', resource_id: 'p', plan: BASIC, at: T } });
    assert.equal(r.status, 202, r.text);
  }
  // The cascade, then each retry, with two schedulers side by side.
  const both = async (now) => {
    const rs = await Promise.all([spawnScheduler({ now }).done, spawnScheduler({ now }).done]);
    for (const r of rs) assert.equal(r.code, 0, r.stderr);
    return rs;
  };
  await both(C);
  const ids = users.map((u) => invoices(u)[0].id);
  for (const [k, d] of [[1, 1], [2, 3], [3, 5], [4, 7]]) {
    const rs = await both(at(C, d * DAY));
    const made = rs.map((r) => (r.jobs.dunning && r.jobs.dunning.retried) || 0);
    assert.equal(made[0] + made[1], users.length, `retry ${k}: ${JSON.stringify(rs.map((r) => r.jobs.dunning))}`);
    for (let i = 0; i < users.length; i += 1) {
      assert.equal(payments(users[i]).length, 2 + k, `${users[i]} after retry ${k}`);
      assert.deepEqual(attempts(ids[i]).map((a) => a[0]), Array.from({ length: k }, (_, j) => j + 1));
      assert.equal((await intents(`tally-invoice-${ids[i]}-retry-${k}-card`)).length, 1);
      assert.equal(mailbox(emailOf(users[i])).length, 1 + k, `${users[i]}: one email per attempt`);
    }
  }
  const dup = sql(`SELECT dedupe_key, COUNT(*) FROM outbox WHERE dedupe_key LIKE 'invoice:%:dunning:%' GROUP BY dedupe_key HAVING COUNT(*) > 1`);
  assert.deepEqual(dup, []);
});

// ------------------------------------------------------------ top-up reactivation

const PRODUCT = 'cloud_sync';

// A cloud_sync subscription (30 credits a month) paused by the scheduler
// for short credits, activated through `api`.
async function pausedUser(prefix, api, start) {
  const user = newUser(prefix);
  await fund(user, 30);
  const r = await call('POST', `${api}/subscriptions/${PRODUCT}/activate`, { token: as(user), body: { interval: 'monthly' } });
  assert.equal(r.status, 200, r.text);
  setSubPeriod(user, start);
  await runScheduler(at(start, 31 * DAY));
  assert.equal(subRow(user).status, 'paused');
  assert.equal(dbBalance(user), 0);
  return user;
}

async function adjust(api, user, amount) {
  const r = await call('POST', `${api}/admin/credits/adjust`, { admin: true,
    body: { user_id: user, amount, reason: 'top-up', actor: 'tests' } });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

const subCharges = (user) => ledgerCount(user, 'subscription');

test('reactivate on top-up: off (the default) leaves a paused subscription paused', async (t) => {
  const user = await pausedUser('topoff', '', '2034-01-01T00:00:00Z');
  t.after(() => parkSubs(`a.user_id = ${sqlStr(user)}`));
  let r = await call('GET', `/subscriptions/${PRODUCT}`, { token: as(user) });
  assert.equal(r.body.status, 'paused');
  assert.equal(r.body.reactivates_on_topup, undefined);
  await adjust('', user, 100);
  assert.equal(subRow(user).status, 'paused');
  assert.equal(dbBalance(user), 100);
  assert.equal(subCharges(user), 1);
  r = await call('GET', `/subscriptions/${PRODUCT}`, { token: as(user) });
  assert.equal(r.body.status, 'paused');
  assert.match(mailLike(user, /^Cloud Sync is paused: not enough credits$/).body, /reactivate it on your billing page/);
});

test('reactivate on top-up: on, a top-up that covers the price reactivates it once; still short, it stays paused', async (t) => {
  const stack = await startStack({ name: 'topup', set: { 'billing.reactivate_on_topup': 'yes' } });
  const api = stack.api;
  const users = [];
  t.after(() => { stack.stop(); if (users.length) parkSubs(`a.user_id IN (${users.map(sqlStr).join(', ')})`); });

  // Admin adjustments: 20 is short of 30 (paused); 10 more is enough.
  const user = await pausedUser('topon', api, '2034-02-01T00:00:00Z');
  users.push(user);
  let r = await call('GET', `${api}/subscriptions/${PRODUCT}`, { token: as(user) });
  assert.equal(r.body.status, 'paused');
  assert.equal(r.body.reactivates_on_topup, true);
  const before = subRow(user);
  let b = await adjust(api, user, 20);
  assert.equal(b.balance, 20);
  assert.equal(subRow(user).status, 'paused', 'still short');
  assert.equal(subCharges(user), 1);
  const t0 = Date.now();
  b = await adjust(api, user, 10);
  assert.equal(b.balance, 30, 'the adjustment answers its own balance');
  const after = subRow(user);
  assert.equal(after.status, 'active');
  assert.equal(after.paused_at, null);
  assert.equal(Number(after.end_months), 1);
  const start = Date.parse(`${after.current_period_start.replace(' ', 'T')}Z`);
  assert.ok(Math.abs(start - t0) < 10000, `a new period from now: ${after.current_period_start}`);
  assert.equal(after.anchor_at, after.current_period_start);
  assert.notEqual(after.anchor_at, before.anchor_at);
  assert.equal(dbBalance(user), 0, 'the price charged from the new balance');
  assert.equal(subCharges(user), 2);
  assert.ok(ledgerMatches(user));
  r = await call('GET', `${api}/subscriptions/${PRODUCT}`, { token: as(user) });
  assert.equal(r.body.status, 'active');
  assert.equal(r.body.reactivates_on_topup, undefined);
  r = await call('GET', `/internal/subscriptions/${PRODUCT}/status/${user}`, { service: true });
  assert.equal(r.body.active, true);
  // More top-ups charge nothing more.
  await adjust(api, user, 50);
  assert.equal(dbBalance(user), 50);
  assert.equal(subCharges(user), 2);

  // Five top-ups at once, each enough alone: reactivated exactly once.
  const many = await pausedUser('topmany', api, '2034-02-01T00:00:00Z');
  users.push(many);
  const rs = await Promise.all(Array.from({ length: 5 }, () => call('POST', `${api}/admin/credits/adjust`, { admin: true,
    body: { user_id: many, amount: 30, reason: 'top-up', actor: 'tests' } })));
  assert.deepEqual(rs.map((x) => x.status), [200, 200, 200, 200, 200]);
  assert.equal(subRow(many).status, 'active');
  assert.equal(subCharges(many), 2);
  assert.equal(dbBalance(many), 120);
  assert.ok(ledgerMatches(many));

  // A gift redeemed is a top-up.
  const gifted = await pausedUser('topgift', api, '2034-02-01T00:00:00Z');
  users.push(gifted);
  const giver = newUser('topgiver');
  await fund(giver, 40);
  const g = await call('POST', `${api}/gifts`, { token: as(giver), body: { credits: 40, type: 'simple' } });
  assert.equal(g.status, 201, g.text);
  r = await call('POST', `${api}/gifts/${g.body.code}/redeem`, { token: as(gifted) });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.balance, 40);
  assert.equal(subRow(gifted).status, 'active');
  assert.equal(dbBalance(gifted), 10);

  // A card purchase that completes is a top-up (its webhook reaches the
  // stack with the setting).
  const bought = await pausedUser('topbuy', api, '2034-02-01T00:00:00Z');
  users.push(bought);
  const conf = await standin('GET', '/_test/config');
  await standin('POST', '/_test/config', { webhook_url: `${api}/webhooks/stripe` });
  try {
    const p = await call('POST', `${api}/credits/purchase`, { token: as(bought), body: { package: 'starter', method: 'card' } });
    assert.equal(p.status, 201, p.text);
    const done = await standin('POST', `/_test/checkout/${lastSegment(p.body.checkout_url)}/complete`, {});
    for (const d of done.deliveries) assert.equal(d.status, 200, `${d.type}: ${d.body}`);
  } finally {
    await standin('POST', '/_test/config', { webhook_url: conf.webhook_url });
  }
  assert.equal(subRow(bought).status, 'active');
  assert.equal(dbBalance(bought), 470);
  assert.equal(subCharges(bought), 2);

  // The paused notice, under this setting, says a top-up is all it takes.
  const noticed = newUser('topmail');
  users.push(noticed);
  await fund(noticed, 30);
  r = await call('POST', `${api}/subscriptions/${PRODUCT}/activate`, { token: as(noticed), body: { interval: 'monthly' } });
  assert.equal(r.status, 200, r.text);
  setSubPeriod(noticed, '2034-02-01T00:00:00Z');
  await runScheduler(at('2034-02-01T00:00:00Z', 31 * DAY), { env: { TALLY_BILLING_REACTIVATE_ON_TOPUP: 'yes' } });
  assert.equal(subRow(noticed).status, 'paused');
  assert.match(mailLike(noticed, /^Cloud Sync is paused: not enough credits$/).body, /it is reactivated automatically/);
});
