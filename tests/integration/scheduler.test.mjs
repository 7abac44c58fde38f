// The scheduler's charge-recurring job: renewals at the period end, exactly
// once under re-runs, concurrent schedulers, the internal route, a crash
// (kill -9) in the middle of a batch; pauses and cancellations.
//
// Times: runs use `--now` in the past (2024/2025) so that only the
// subscriptions a test moved there are due; each test parks its rows
// afterwards so later runs leave them alone.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import {
  call, token, newUser, fund, sql, sqlStr, dbBalance, ledgerMatches, ISO_UTC,
  subRow, subCharges, setSubPeriod, parkSubs, runScheduler, spawnScheduler, isoTime, sqlTime, addMonthsIso,
  prefixWhere, bulkSubs, bulkState, dirtyCharges, committedCharges, assertEachChargedOnce, waitConnectionGone,
  dbArgs, DB_NAME,
} from './lib.mjs';

const PRODUCT = 'cloud_sync';
const as = (user, claims = {}) => token({ sub: user, ...claims });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const unix = (iso) => Date.parse(iso) / 1000;
const DAY = 86400000;
// Subscriptions claimed per transaction (CHARGE_BATCH in
// core/ops/subscription.c): a batch commits whole or not at all.
const BATCH = 1000;

function activate(user, interval = 'monthly') {
  return call('POST', `/subscriptions/${PRODUCT}/activate`, { token: as(user), body: { interval } });
}
async function getSub(user) {
  const r = await call('GET', `/subscriptions/${PRODUCT}`, { token: as(user) });
  assert.equal(r.status, 200, r.text);
  return r.body;
}
async function entitled(user) {
  const r = await call('GET', '/entitlements', { token: as(user) });
  assert.equal(r.status, 200, r.text);
  return r.body.entitlements.find((e) => e.product === PRODUCT);
}
async function internalStatus(user) {
  const r = await call('GET', `/internal/subscriptions/${PRODUCT}/status/${encodeURIComponent(user)}`, { service: true });
  assert.equal(r.status, 200, r.text);
  return r.body;
}
async function subscribed(credits, prefix = 'sched') {
  const user = newUser(prefix);
  await fund(user, credits);
  const r = await activate(user);
  assert.equal(r.status, 200, r.text);
  return user;
}
// A charge's effect key names the subscription and the period start (and
// may name the run in between): "sub:ID:...:START".
function assertChargeKey(key, subId, periodStartIso) {
  assert.ok(key.startsWith(`sub:${subId}:`) && key.endsWith(`:${unix(periodStartIso)}`), `effect key ${key}`);
}
const userWhere = (users) => `a.user_id IN (${users.map(sqlStr).join(', ')})`;
// Active credit subscriptions due now (real time) that are not ours: they
// show up in the route's counts too.
function othersDueNow(where) {
  return Number(sql(`SELECT COUNT(*) FROM subscriptions s JOIN accounts a ON a.id = s.account_id
    WHERE s.status = 'active' AND s.next_charge_at <= UTC_TIMESTAMP() AND NOT (${where})`)[0][0]);
}

// A second client that runs `statement` (which takes row locks) in an open
// transaction and keeps the locks until released.
async function holdLocks(statement) {
  const child = spawn('mariadb', ['--no-defaults', ...dbArgs(), '-uroot', '-N', '-B', '-n', DB_NAME],
    { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((r) => child.on('close', r));
  child.stdin.write(`SELECT CONNECTION_ID();\nBEGIN;\n${statement};\nSELECT 'held';\n`);
  const end = Date.now() + 10000;
  while (out.split('\n').filter(Boolean).length < 2) {
    if (Date.now() > end || err) throw new Error(`lock holder: ${err || 'no answer'}`);
    await sleep(10);
  }
  const connId = Number(out.split('\n')[0]);
  return {
    connId,
    async release() {
      if (child.exitCode === null) {
        child.stdin.write('ROLLBACK;\n');
        child.stdin.end();
      }
      await exited;
    },
  };
}

test('at the period end the scheduler (--once --now) charges once; the same run again charges nothing', async (t) => {
  const user = await subscribed(100);
  t.after(() => parkSubs(userWhere([user])));
  const start = '2025-05-15T12:00:00Z';
  const end = '2025-06-15T12:00:00Z';
  setSubPeriod(user, start);
  const id = subRow(user).id;

  // A second before the end: not due.
  await runScheduler('2025-06-15T11:59:59Z');
  assert.equal(subCharges(user).length, 1);
  assert.equal(subRow(user).current_period_end, '2025-06-15 12:00:00');

  // At the end: one charge, keyed by the new period's start, and the
  // period advanced by one calendar month.
  const r = await runScheduler(end);
  assert.ok(r.jobs['charge-recurring'].charged >= 1, JSON.stringify(r.jobs));
  let charges = subCharges(user);
  assert.equal(charges.length, 2);
  assert.equal(charges[1].amount, -30);
  assert.equal(charges[1].balance_after, 40);
  assertChargeKey(charges[1].effect_key, id, end);
  const sub = await getSub(user);
  assert.equal(sub.status, 'active');
  assert.equal(sub.current_period_start, end);
  assert.equal(sub.current_period_end, '2025-07-15T12:00:00Z');
  assert.equal(sub.next_charge_at, '2025-07-15T12:00:00Z');
  assert.equal(dbBalance(user), 40);

  // Twice more, at the same time and a little later in the period.
  await runScheduler(end);
  await runScheduler('2025-06-20T00:00:00Z');
  charges = subCharges(user);
  assert.equal(charges.length, 2);
  assert.equal(dbBalance(user), 40);
  assert.equal((await getSub(user)).current_period_end, '2025-07-15T12:00:00Z');
  assert.ok(ledgerMatches(user));
});

test('a changed interval applies from the next charge: yearly price, twelve months from the period end', async (t) => {
  const user = await subscribed(500);
  t.after(() => parkSubs(userWhere([user])));
  setSubPeriod(user, '2025-09-10T00:00:00Z');
  const c = await call('POST', `/subscriptions/${PRODUCT}/change-interval`, { token: as(user), body: { interval: 'yearly' } });
  assert.equal(c.status, 200, c.text);
  assert.equal(dbBalance(user), 470, 'nothing charged by the change');
  await runScheduler('2025-10-10T00:00:01Z');
  const sub = await getSub(user);
  assert.equal(sub.interval, 'yearly');
  assert.equal(sub.price, 360);
  assert.equal(sub.current_period_start, '2025-10-10T00:00:00Z');
  assert.equal(sub.current_period_end, '2026-10-10T00:00:00Z');
  assert.deepEqual(subCharges(user).map((x) => x.amount), [-30, -360]);
  assert.equal(dbBalance(user), 110);
  assert.ok(ledgerMatches(user));
});

test('two scheduler processes at once (--once --now) on 50 due subscriptions: each charged exactly once', async (t) => {
  const prefix = newUser('conc');
  t.after(() => parkSubs(prefixWhere(prefix)));
  const start = '2025-02-03T04:05:06Z';
  const next = addMonthsIso(start, 1);
  bulkSubs(prefix, 50, { start, balanceSql: '100' });
  const runs = await Promise.all([spawnScheduler({ now: '2025-03-03T04:05:07Z' }).done, spawnScheduler({ now: '2025-03-03T04:05:07Z' }).done]);
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  // Whichever did the work (the other skips the job or finds nothing due).
  const charged = runs.reduce((n, r) => n + (r.jobs['charge-recurring']?.charged || 0), 0);
  assert.equal(charged, 50, runs.map((r) => JSON.stringify(r.jobs['charge-recurring'])).join(' '));
  assertEachChargedOnce(prefix, 50, next);
  assert.equal(Number(sql(`SELECT COUNT(*) FROM ledger l JOIN accounts a ON a.id = l.account_id WHERE ${prefixWhere(prefix)} AND l.effect_key LIKE 'sub:%'`)[0][0]), 50);

  // And a third run later in that period: nothing more.
  await runScheduler('2025-03-20T00:00:00Z');
  assertEachChargedOnce(prefix, 50, next);
});

test('the scheduler and POST /internal/subscriptions/charge-recurring at the same time: 2.5 batches due, each charged once', async (t) => {
  // More than two batches, so that the three runners claim batches side
  // by side (SKIP LOCKED) and write them with the set-based statements.
  const N = 2 * BATCH + BATCH / 2;
  const prefix = newUser('race');
  t.after(() => parkSubs(prefixWhere(prefix)));
  // Due now (real time): the period ended about ten days ago.
  const start = isoTime(Date.now() - 40 * DAY);
  bulkSubs(prefix, N, { start, balanceSql: '100' });
  const others = othersDueNow(prefixWhere(prefix));
  const sched = spawnScheduler();
  const routes = await Promise.all([
    call('POST', '/internal/subscriptions/charge-recurring', { service: true }),
    call('POST', '/internal/subscriptions/charge-recurring', { service: true }),
  ]);
  const s = await sched.done;
  assert.equal(s.code, 0, s.stderr);
  for (const r of routes) assert.equal(r.status, 200, r.text);
  const done = (c) => (c ? (c.charged || 0) + (c.paused || 0) + (c.ended || 0) : 0);
  const total = done(s.jobs['charge-recurring']) + routes.reduce((n, r) => n + done(r.body), 0);
  assert.equal(total, N + others, `scheduler ${JSON.stringify(s.jobs['charge-recurring'])} routes ${routes.map((r) => r.text).join(' ')}`);
  assertEachChargedOnce(prefix, N, addMonthsIso(start, 1));
});

test('POST /internal/subscriptions/charge-recurring runs the job now and answers the counts', async (t) => {
  const renew = await subscribed(100);
  const poor = await subscribed(40);
  const leaving = await subscribed(100);
  t.after(() => parkSubs(userWhere([renew, poor, leaving])));
  assert.equal((await call('POST', `/subscriptions/${PRODUCT}/deactivate`, { token: as(leaving) })).status, 200);
  const start = isoTime(Date.now() - 40 * DAY);
  for (const u of [renew, poor, leaving]) setSubPeriod(u, start);
  const newStart = addMonthsIso(start, 1);

  for (const opts of [{}, { service: 'not-the-service-key-at-all' }, { token: as(renew) }]) {
    const r = await call('POST', '/internal/subscriptions/charge-recurring', opts);
    assert.equal(r.status, 401, r.text);
  }
  assert.equal(subCharges(renew).length, 1, 'a refused call does nothing');

  const others = othersDueNow(userWhere([renew, poor, leaving]));
  const r = await call('POST', '/internal/subscriptions/charge-recurring', { service: true });
  assert.equal(r.status, 200, r.text);
  for (const k of ['charged', 'paused']) assert.ok(Number.isInteger(r.body[k]), r.text);
  if (others === 0) {
    assert.equal(r.body.charged, 1, r.text);
    assert.equal(r.body.paused, 1, r.text);
    if ('ended' in r.body) assert.equal(r.body.ended, 1, r.text);
  } else {
    assert.ok(r.body.charged >= 1 && r.body.paused >= 1, r.text);
  }

  let sub = await getSub(renew);
  assert.equal(sub.status, 'active');
  assert.equal(sub.current_period_start, newStart);
  assert.equal(dbBalance(renew), 40);
  sub = await getSub(poor);
  assert.equal(sub.status, 'paused');
  assert.match(sub.paused_at, ISO_UTC);
  assert.equal(dbBalance(poor), 10);
  sub = await getSub(leaving);
  assert.equal(sub.status, 'canceled');
  assert.equal(dbBalance(leaving), 70);
  for (const u of [renew, poor, leaving]) assert.ok(ledgerMatches(u), u);

  // Run again: nothing of ours is due any more.
  const again = await call('POST', '/internal/subscriptions/charge-recurring', { service: true });
  assert.equal(again.status, 200, again.text);
  if (othersDueNow(userWhere([renew, poor, leaving])) === 0 && others === 0) {
    assert.equal(again.body.charged, 0, again.text);
    assert.equal(again.body.paused, 0, again.text);
  }
  assert.equal(subCharges(renew).length, 2);
  assert.equal(subCharges(poor).length, 1);
  assert.equal(subCharges(leaving).length, 1);
});

test('a subscription set to cancel at the period end ends (canceled) instead of renewing, uncharged', async (t) => {
  const user = await subscribed(100);
  t.after(() => parkSubs(userWhere([user])));
  assert.equal((await call('POST', `/subscriptions/${PRODUCT}/deactivate`, { token: as(user) })).status, 200);
  setSubPeriod(user, '2025-04-02T08:00:00Z');

  // Until the end it stays active (and entitled, see subscriptions tests).
  await runScheduler('2025-05-02T07:59:59Z');
  assert.equal(subRow(user).status, 'active');

  await runScheduler('2025-05-02T08:00:05Z');
  const row = subRow(user);
  assert.equal(row.status, 'canceled');
  assert.equal(row.next_charge_at, null);
  assert.equal(row.ended_at, '2025-05-02 08:00:05');
  const sub = await getSub(user);
  assert.equal(sub.status, 'canceled');
  assert.ok(sub.next_charge_at === undefined || sub.next_charge_at === null, JSON.stringify(sub));
  assert.equal(sub.current_period_end, '2025-05-02T08:00:00Z');
  assert.equal(subCharges(user).length, 1, 'not charged for another period');
  assert.equal(dbBalance(user), 70);
  assert.deepEqual(await entitled(user), { product: PRODUCT, active: false, until: null });
  const st = await internalStatus(user);
  assert.equal(st.active, false);
  assert.equal(st.status, 'canceled');
  assert.equal(st.until, null);

  // Later runs leave it alone; change-interval on an ended one is refused.
  await runScheduler('2025-07-01T00:00:00Z');
  assert.equal(subCharges(user).length, 1);
  const ci = await call('POST', `/subscriptions/${PRODUCT}/change-interval`, { token: as(user), body: { interval: 'yearly' } });
  assert.equal(ci.status, 409, ci.text);

  // Activating it again starts a new run now, charged now.
  const before = Date.now();
  const a = await activate(user);
  assert.equal(a.status, 200, a.text);
  assert.equal(a.body.status, 'active');
  assert.equal(a.body.cancel_at_period_end, false);
  assert.ok(Math.abs(Date.parse(a.body.current_period_start) - before) < 5000, a.text);
  assert.equal(a.body.current_period_end, addMonthsIso(a.body.current_period_start, 1));
  assert.equal(subCharges(user).length, 2);
  assert.equal(dbBalance(user), 40);
  assert.ok(ledgerMatches(user));
});

test('too few credits at the period end: paused (paused_at, not entitled); top up + activate charges now, new period from now', async (t) => {
  const user = await subscribed(40); // 10 left
  t.after(() => parkSubs(userWhere([user])));
  setSubPeriod(user, '2025-07-01T00:00:00Z');
  const now = '2025-08-01T00:00:30Z';
  const r = await runScheduler(now);
  assert.ok(r.jobs['charge-recurring'].paused >= 1, JSON.stringify(r.jobs));

  let sub = await getSub(user);
  assert.equal(sub.status, 'paused');
  assert.equal(sub.paused_at, now);
  assert.ok(sub.next_charge_at === undefined || sub.next_charge_at === null, JSON.stringify(sub));
  assert.equal(sub.current_period_end, '2025-08-01T00:00:00Z', 'the unpaid period never started');
  assert.equal(dbBalance(user), 10, 'nothing charged');
  assert.equal(subCharges(user).length, 1);
  assert.deepEqual(await entitled(user), { product: PRODUCT, active: false, until: null });
  assert.deepEqual(await internalStatus(user), { active: false, status: 'paused', interval: 'monthly', paused_at: now, until: null });

  // Runs later do nothing more to it.
  await runScheduler(now);
  await runScheduler('2025-09-15T00:00:00Z');
  assert.equal(subRow(user).paused_at, '2025-08-01 00:00:30');
  assert.equal(subCharges(user).length, 1);

  // Reactivating without the credits: 402, still paused, nothing changed.
  const poor = await activate(user);
  assert.equal(poor.status, 402, poor.text);
  assert.equal(poor.body.error, 'insufficient_credits');
  assert.equal(subRow(user).status, 'paused');
  assert.equal(subRow(user).paused_at, '2025-08-01 00:00:30');
  assert.equal(dbBalance(user), 10);

  // Top up and reactivate: charged now, a new period starting now.
  await fund(user, 50);
  const before = Math.floor(Date.now() / 1000) * 1000;
  const a = await activate(user);
  assert.equal(a.status, 200, a.text);
  sub = a.body;
  assert.equal(sub.status, 'active');
  const start = Date.parse(sub.current_period_start);
  assert.ok(start >= before - 2000 && start <= Date.now() + 2000, `starts now: ${sub.current_period_start}`);
  assert.equal(sub.current_period_end, addMonthsIso(sub.current_period_start, 1));
  assert.equal(sub.next_charge_at, sub.current_period_end);
  assert.ok(sub.paused_at === undefined || sub.paused_at === null, JSON.stringify(sub));
  assert.equal(dbBalance(user), 30);
  assert.equal(subCharges(user).length, 2);
  assert.equal((await entitled(user)).active, true);
  assert.deepEqual(await internalStatus(user), { active: true, status: 'active', interval: 'monthly', paused_at: null, until: sub.current_period_end });
  assert.ok(ledgerMatches(user));
});

test('deactivating a paused subscription ends it now', async (t) => {
  const user = await subscribed(30); // 0 left
  t.after(() => parkSubs(userWhere([user])));
  setSubPeriod(user, '2025-03-01T00:00:00Z');
  await runScheduler('2025-04-01T00:00:01Z');
  assert.equal(subRow(user).status, 'paused');
  const d = await call('POST', `/subscriptions/${PRODUCT}/deactivate`, { token: as(user) });
  assert.equal(d.status, 200, d.text);
  assert.equal(d.body.status, 'canceled');
  assert.equal(subRow(user).status, 'canceled');
  assert.equal((await entitled(user)).active, false);
  assert.equal(dbBalance(user), 0);
});

test('a period whose charge is already in the ledger is not charged again, and the wallet is untouched', async (t) => {
  // The effect key (subscription, period start) is what keeps a re-run
  // after a crash from charging twice (DESIGN: a duplicate key means
  // "already done").  Simulate the state where the charge committed but
  // the subscription row still shows the old period (e.g. restored from a
  // backup): the run must find the charge done and change no balance.
  const user = await subscribed(100);
  t.after(() => parkSubs(userWhere([user])));
  setSubPeriod(user, '2025-11-05T00:00:00Z');
  await runScheduler('2025-12-05T00:00:01Z');
  assert.equal(subCharges(user).length, 2);
  assert.equal(dbBalance(user), 40);

  setSubPeriod(user, '2025-11-05T00:00:00Z');
  await runScheduler('2025-12-05T00:00:01Z');
  assert.equal(subCharges(user).length, 2, 'one ledger row per period');
  assert.equal((await getSub(user)).current_period_start, '2025-12-05T00:00:00Z');
  assert.equal(dbBalance(user), 40, 'the period was paid already: no second debit of the balance');
  assert.ok(ledgerMatches(user), 'the ledger sums to the balance');
});

test('kill -9 of the scheduler in the middle of a batch, then a re-run: every subscription charged exactly once', async (t) => {
  const prefix = newUser('k9');
  t.after(() => parkSubs(prefixWhere(prefix)));
  const N = 3 * BATCH;
  const start = '2024-03-01T06:00:00Z';
  const next = '2024-04-01T06:00:00Z';
  const now = '2024-04-01T06:00:01Z';
  const subs = bulkSubs(prefix, N, { start });
  assert.equal(subs.length, N);

  // Batches are claimed in id order.  Another client holds, uncommitted,
  // a ledger row with the effect key that the renewal of the middle
  // subscription of the second batch will write (on an account of the
  // third batch, which the scheduler does not reach).  The first batch
  // commits; the second writes its ledger rows in one statement, which
  // stops at that key, waiting, inside its transaction.
  const mid = BATCH + BATCH / 2;
  const key = `sub:${subs[mid].id}:1:${unix(next)}`;
  const holder = await holdLocks(`INSERT INTO ledger (account_id, kind, amount, balance_after, effect_key, created_at)
    VALUES (${subs[N - 1].account}, 'adjustment', 0, 0, ${sqlStr(key)}, UTC_TIMESTAMP())`);
  let sched;
  try {
    sched = spawnScheduler({ now });
    // Blocked: its connection waits on the key, with the ledger rows of
    // the second batch before it written but not committed (a dirty read
    // sees them, a normal read does not; InnoDB has put the waiting row
    // in the table already, so it may count too).
    let waiting = null;
    const end = Date.now() + 15000;
    while (!waiting) {
      if (sched.child.exitCode !== null || sched.child.signalCode !== null) {
        const d = await sched.done;
        throw new Error(`the scheduler ended before the kill: ${d.code} ${d.signal} ${d.stderr}`);
      }
      const rows = sql(`SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> ${holder.connId}
        AND INFO LIKE 'INSERT INTO ledger %JSON_TABLE%'`);
      if (rows.length === 1 && dirtyCharges(prefix) >= mid) waiting = rows[0][0];
      else if (Date.now() > end) throw new Error(`the scheduler never reached the held key; committed ${committedCharges(prefix)}, written ${dirtyCharges(prefix)}`);
      else await sleep(20);
    }
    assert.equal(committedCharges(prefix), BATCH, 'one batch committed');
    assert.ok(sched.child.kill('SIGKILL'));
    const killed = await sched.done;
    assert.equal(killed.signal, 'SIGKILL');
    await holder.release();
    await waitConnectionGone(waiting);
    assert.equal(dirtyCharges(prefix), BATCH, 'the half-done batch was rolled back');
  } finally {
    if (sched && sched.child.exitCode === null && sched.child.signalCode === null) sched.child.kill('SIGKILL');
    await holder.release();
  }
  // The half-done batch was rolled back, nothing of it stayed.
  assert.equal(committedCharges(prefix), BATCH);

  const r = await runScheduler(now);
  assert.equal(r.jobs['charge-recurring'].charged, N - BATCH, JSON.stringify(r.jobs['charge-recurring']));
  assertEachChargedOnce(prefix, N, next);
  // A third run has nothing to do.
  const r3 = await runScheduler(now);
  assert.equal(r3.jobs['charge-recurring'].charged, 0);
  assertEachChargedOnce(prefix, N, next);
});

test('kill -9 of a free-running scheduler at a random point, then a re-run: every subscription charged exactly once', async (t) => {
  const start = '2024-05-01T06:00:00Z';
  const next = '2024-06-01T06:00:00Z';
  const now = '2024-06-01T06:00:01Z';
  const N = 5 * BATCH;
  let prefix;
  let killedAt = -1;
  // The run takes a fraction of a second; should one finish before the
  // kill, try again with fresh subscriptions.
  for (let attempt = 0; attempt < 4 && killedAt < 0; attempt++) {
    const p = newUser('k9free');
    t.after(() => parkSubs(prefixWhere(p)));
    bulkSubs(p, N, { start });
    const sched = spawnScheduler({ now });
    let conn = null;
    const until = Date.now() + 15000;
    for (;;) {
      if (Date.now() > until) throw new Error('no charges committed within 15 s');
      const [[holderConn, n]] = sql(`SELECT COALESCE(IS_USED_LOCK('tally.job.charge-recurring'), 0),
        (SELECT COUNT(*) FROM ledger l JOIN accounts a ON a.id = l.account_id WHERE ${prefixWhere(p)} AND l.kind = 'subscription')`);
      if (holderConn !== '0') conn = holderConn;
      if (Number(n) >= BATCH || sched.child.exitCode !== null) {
        if (Number(n) < N && sched.child.exitCode === null) {
          sched.child.kill('SIGKILL');
          killedAt = Number(n);
        }
        break;
      }
    }
    const res = await sched.done;
    if (killedAt < 0) {
      assert.equal(res.code, 0, res.stderr);
      assertEachChargedOnce(p, N, next);
      continue;
    }
    prefix = p;
    assert.equal(res.signal, 'SIGKILL');
    if (conn) await waitConnectionGone(conn);
  }
  assert.ok(killedAt >= 0, 'could not kill the scheduler mid-run');
  const committed = committedCharges(prefix);
  assert.equal(committed % BATCH, 0, `a batch commits whole or not at all (${committed} committed)`);
  assert.ok(committed < N);

  const r = await runScheduler(now);
  assert.equal(r.jobs['charge-recurring'].charged, N - committed, JSON.stringify(r.jobs['charge-recurring']));
  assertEachChargedOnce(prefix, N, next);
});

// A scheduler whose catalog has a second credits product, Cloud Backup
// (50 a month), so that one account can have two credit subscriptions;
// the responders never see it, the rows are written here.
function backupConfig() {
  const path = `${process.env.TALLY_VAR}/tally-backup.conf`;
  writeFileSync(path, `${readFileSync(process.env.TALLY_CONFIG, 'utf8')}
[product.cloud_backup]
name = Cloud Backup
billing = credits
monthly = 50
quarterly = 150
yearly = 600
`, { mode: 0o600 });
  return { TALLY_CONFIG: path };
}

// user's cloud_sync subscription (activated) plus a cloud_backup one, both
// due at the end of the month from start; the backup one has the higher id,
// so it is decided second within the batch.
async function twoSubs(credits, start) {
  const user = newUser('two');
  await fund(user, credits);
  const r = await call('POST', `/subscriptions/${PRODUCT}/activate`,
    { token: as(user, { email: `${user}@example.com` }), body: { interval: 'monthly' } });
  assert.equal(r.status, 200, r.text);
  const sync = setSubPeriod(user, start);
  const s = sqlTime(start);
  sql(`INSERT INTO subscriptions (account_id, user_id, product, status, billing_interval, anchor_at, end_months,
      current_period_start, current_period_end, next_charge_at, created_at, updated_at)
    VALUES (${sync.account_id}, ${sqlStr(user)}, 'cloud_backup', 'active', 'monthly', ${s}, 1, ${s}, ${s} + INTERVAL 1 MONTH,
      ${s} + INTERVAL 1 MONTH, UTC_TIMESTAMP(), UTC_TIMESTAMP())`);
  return { user, sync: sync.id, backup: subRow(user, 'cloud_backup').id };
}

const chargeRows = (user) => sql(`SELECT l.amount, l.balance_after, l.operation, l.effect_key FROM ledger l
    JOIN accounts a ON a.id = l.account_id WHERE a.user_id = ${sqlStr(user)} AND l.kind = 'subscription' ORDER BY l.id`)
  .map(([amount, after, op, key]) => ({ amount: Number(amount), after: Number(after), op, key }));

test('one account, two subscriptions due in one batch: charged in turn from one balance; the one it cannot cover pauses', async (t) => {
  const start = '2025-01-31T10:00:00Z';
  const next = '2025-02-28T10:00:00Z';
  const now = '2025-02-28T10:00:01Z';
  const env = backupConfig();
  const poor = await twoSubs(100, start); // 70 after activation: 30 fits, then 50 does not
  const rich = await twoSubs(200, start); // 170: both fit, 140 then 90
  t.after(() => parkSubs(userWhere([poor.user, rich.user])));

  const r = await runScheduler(now, { env });
  const counts = r.jobs['charge-recurring'];
  assert.ok(counts.charged >= 3 && counts.paused >= 1 && counts.errors === 0, JSON.stringify(counts));

  // Poor: cloud_sync renewed (70 -> 40); cloud_backup would need 50 of
  // the 40 left after it: paused, its email queued once, nothing charged.
  assert.deepEqual(chargeRows(poor.user).slice(1).map((x) => [x.amount, x.after, x.op]), [[-30, 40, 'cloud_sync']]);
  assertChargeKey(chargeRows(poor.user)[1].key, poor.sync, next);
  assert.equal(dbBalance(poor.user), 40);
  let sync = subRow(poor.user);
  assert.equal(sync.status, 'active');
  assert.equal(sync.current_period_start, '2025-02-28 10:00:00');
  assert.equal(sync.current_period_end, '2025-03-31 10:00:00', 'a month from the anchor (Jan 31), not from Feb 28');
  let backup = subRow(poor.user, 'cloud_backup');
  assert.equal(backup.status, 'paused');
  assert.equal(backup.paused_at, '2025-02-28 10:00:01');
  assert.equal(backup.next_charge_at, null);
  assert.equal(backup.current_period_end, '2025-02-28 10:00:00', 'the unpaid period never started');
  const mails = sql(`SELECT template, recipient, params FROM outbox WHERE dedupe_key LIKE ${sqlStr(`paused:sub:${poor.backup}:%`)}`);
  assert.equal(mails.length, 1);
  assert.equal(mails[0][0], 'paused');
  assert.equal(mails[0][1], `${poor.user}@example.com`);
  const params = JSON.parse(mails[0][2]);
  assert.equal(params.product, 'Cloud Backup');
  assert.equal(params.amount, 50);
  assert.equal(params.balance, 40, 'the balance left after the other renewal');
  assert.equal(sql(`SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE ${sqlStr(`paused:sub:${poor.sync}:%`)}`)[0][0], '0');
  assert.ok(ledgerMatches(poor.user));

  // Rich: both renewed, in claim order, each row's balance_after the
  // running balance.
  assert.deepEqual(chargeRows(rich.user).slice(1).map((x) => [x.amount, x.after, x.op]),
    [[-30, 140, 'cloud_sync'], [-50, 90, 'cloud_backup']]);
  assertChargeKey(chargeRows(rich.user)[2].key, rich.backup, next);
  assert.equal(dbBalance(rich.user), 90);
  assert.equal(subRow(rich.user, 'cloud_backup').current_period_end, '2025-03-31 10:00:00');
  assert.ok(ledgerMatches(rich.user));

  // The same run again, and once more later in the period: nothing more.
  for (const when of [now, '2025-03-15T00:00:00Z']) await runScheduler(when, { env });
  assert.equal(chargeRows(poor.user).length, 2);
  assert.equal(chargeRows(rich.user).length, 3);
  assert.equal(dbBalance(poor.user), 40);
  assert.equal(dbBalance(rich.user), 90);
  sync = subRow(poor.user);
  backup = subRow(poor.user, 'cloud_backup');
  assert.equal(sync.current_period_end, '2025-03-31 10:00:00');
  assert.equal(backup.status, 'paused');
  assert.equal(backup.paused_at, '2025-02-28 10:00:01');
  assert.equal(sql(`SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE ${sqlStr(`paused:sub:${poor.backup}:%`)}`)[0][0], '1');
  assert.ok(ledgerMatches(poor.user) && ledgerMatches(rich.user));
});

test('--now must be an ISO time: a bad value stops the scheduler before it does anything', async () => {
  const r = await spawnScheduler({ now: 'yesterday' }).done;
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--now/);
  assert.equal(Object.keys(r.jobs).length, 0);
});
