// A credit subscription's activation in two database round trips
// (migration 0017): the same answers as before, exactly one charge under
// concurrency, Idempotency-Key, reactivation, a user with no account yet,
// and the round trips themselves, counted in MariaDB's general log.
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  call, token, newUser, fund, sql, sqlStr, dbBalance, ledgerCount, ledgerMatches, ISO_UTC,
  subRow, subCharges, parkSubs, DB_EXTERNAL,
} from './lib.mjs';

const PRODUCT = 'cloud_sync';
const INSUFFICIENT = 'not enough credits for the first interval; nothing was changed';

const as = (user, claims = {}) => token({ sub: user, ...claims });
const activate = (user, interval = 'monthly', opts = {}) =>
  call('POST', `/subscriptions/${PRODUCT}/activate`, { token: as(user, opts.claims), body: { interval }, headers: opts.headers });
const deactivate = (user) => call('POST', `/subscriptions/${PRODUCT}/deactivate`, { token: as(user) });
const subCount = (user) => Number(sql(`SELECT COUNT(*) FROM subscriptions s JOIN accounts a ON a.id = s.account_id
  WHERE a.user_id = ${sqlStr(user)}`)[0][0]);

test('insufficient credits: 402 with the message, no subscription row, balance and ledger unchanged', async () => {
  const user = newUser('trip');
  await fund(user, 29);
  const ledger = ledgerCount(user);
  const r = await activate(user);
  assert.equal(r.status, 402, r.text);
  assert.deepEqual(r.body, { error: 'insufficient_credits', message: INSUFFICIENT });
  assert.equal(subRow(user), null, 'no subscriptions row');
  assert.equal(dbBalance(user), 29);
  assert.equal(ledgerCount(user), ledger, 'no ledger row');
  assert.ok(ledgerMatches(user));
  // A refusal held no lock: the next activation, funded, goes through.
  await fund(user, 1);
  const ok = await activate(user);
  assert.equal(ok.status, 200, ok.text);
  assert.equal(dbBalance(user), 0);
  assert.equal(subCharges(user).length, 1);
  parkSubs(`a.user_id = ${sqlStr(user)}`);
});

test('8 concurrent activations of one user and product: one charge, one subscription, all 200 with the same period', async () => {
  for (let round = 0; round < 5; round++) {
    const user = newUser('trip8');
    await fund(user, 100);
    const rs = await Promise.all(Array.from({ length: 8 }, () => activate(user)));
    assert.deepEqual(rs.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.text}`), []);
    const periods = new Set(rs.map((r) => `${r.body.current_period_start} ${r.body.current_period_end}`));
    assert.equal(periods.size, 1, [...periods].join(', '));
    for (const r of rs) {
      assert.equal(r.body.status, 'active');
      assert.match(r.body.current_period_start, ISO_UTC);
      assert.equal(r.body.next_charge_at, r.body.current_period_end);
    }
    assert.equal(subCount(user), 1);
    assert.equal(subCharges(user).length, 1);
    assert.equal(dbBalance(user), 70);
    assert.ok(ledgerMatches(user));
    parkSubs(`a.user_id = ${sqlStr(user)}`);
  }
});

test('8 concurrent activations with one Idempotency-Key: one charge, replays return the stored response', async () => {
  const user = newUser('tripk');
  await fund(user, 100);
  const headers = { 'Idempotency-Key': `k-${user}` };
  const rs = await Promise.all(Array.from({ length: 8 }, () => activate(user, 'monthly', { headers })));
  // Concurrent first uses of a key: each is the stored answer, or an
  // activation that found the subscription active (the same SUB).
  assert.deepEqual(rs.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.text}`), []);
  assert.equal(new Set(rs.map((r) => r.text)).size, 1, 'one answer');
  const again = await activate(user, 'monthly', { headers });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.equal(again.text, rs[0].text, 'the stored response');
  assert.equal(subCount(user), 1);
  assert.equal(subCharges(user).length, 1);
  assert.equal(dbBalance(user), 70);
  assert.ok(ledgerMatches(user));
  parkSubs(`a.user_id = ${sqlStr(user)}`);

  // A refusal with a key: 402, nothing changed, as without one.
  const poor = newUser('tripk');
  await fund(poor, 10);
  const p = await activate(poor, 'monthly', { headers: { 'Idempotency-Key': `k-${poor}` } });
  assert.equal(p.status, 402, p.text);
  assert.deepEqual(p.body, { error: 'insufficient_credits', message: INSUFFICIENT });
  assert.equal(subRow(poor), null);
  assert.equal(dbBalance(poor), 10);
  assert.equal(ledgerCount(poor, 'subscription'), 0);
});

test('reactivation: after cancel-at-period-end it uncancels without a charge; after it ended or paused, a new run is charged once', async () => {
  const user = newUser('tripre');
  await fund(user, 200);
  const first = await activate(user);
  assert.equal(first.status, 200, first.text);

  // Set to end, then asked for again before the end: the paid period is kept.
  assert.equal((await deactivate(user)).status, 200);
  const un = await activate(user);
  assert.equal(un.status, 200, un.text);
  assert.equal(un.body.cancel_at_period_end, false);
  assert.equal(un.body.current_period_start, first.body.current_period_start);
  assert.equal(un.body.current_period_end, first.body.current_period_end);
  assert.equal(un.body.next_charge_at, first.body.current_period_end);
  assert.equal(subRow(user).cancel_at_period_end, '0');
  assert.equal(subCharges(user).length, 1, 'no charge');
  assert.equal(dbBalance(user), 170);

  // Ended (the period over, canceled at its end): a new run, charged once.
  sql(`UPDATE subscriptions s JOIN accounts a ON a.id = s.account_id SET s.status = 'canceled', s.next_charge_at = NULL,
    s.ended_at = UTC_TIMESTAMP(), s.current_period_end = UTC_TIMESTAMP() - INTERVAL 1 DAY
    WHERE a.user_id = ${sqlStr(user)}`);
  const runBefore = Number(sql(`SELECT s.run_no FROM subscriptions s JOIN accounts a ON a.id = s.account_id
    WHERE a.user_id = ${sqlStr(user)}`)[0][0]);
  const rs = await Promise.all(Array.from({ length: 4 }, () => activate(user)));
  assert.deepEqual(rs.map((r) => r.status), [200, 200, 200, 200], rs.map((r) => r.text).join('\n'));
  assert.equal(new Set(rs.map((r) => r.body.current_period_start)).size, 1);
  assert.equal(rs[0].body.status, 'active');
  assert.equal(subRow(user).ended_at, null, 'ended_at cleared');
  let charges = subCharges(user);
  assert.equal(charges.length, 2, 'the new run charged once');
  const row = subRow(user);
  assert.equal(charges[1].effect_key,
    `sub:${row.id}:${runBefore + 1}:${Date.parse(rs[0].body.current_period_start) / 1000}`, 'the effect key format');
  assert.equal(dbBalance(user), 140);

  // Paused (as the scheduler pauses one whose renewal the credits did not
  // cover), the wallet spent down: refused; topped up: charged now, a new
  // period from now, once.
  sql(`UPDATE subscriptions s JOIN accounts a ON a.id = s.account_id SET s.status = 'paused', s.paused_at = UTC_TIMESTAMP(),
    s.next_charge_at = NULL, s.current_period_end = UTC_TIMESTAMP() - INTERVAL 1 HOUR WHERE a.user_id = ${sqlStr(user)}`);
  const spend = await call('POST', '/credits/use', { token: as(user), body: { amount: 130, operation: 'test' } });
  assert.equal(spend.status, 200, spend.text);
  const poor = await activate(user);
  assert.equal(poor.status, 402, poor.text);
  assert.equal(subRow(user).status, 'paused', 'a refused reactivation changes nothing');
  await fund(user, 50);
  const back = await Promise.all(Array.from({ length: 4 }, () => activate(user)));
  assert.deepEqual(back.map((r) => r.status), [200, 200, 200, 200], back.map((r) => r.text).join('\n'));
  assert.equal(back[0].body.status, 'active');
  assert.ok(back[0].body.paused_at === undefined || back[0].body.paused_at === null, back[0].text);
  charges = subCharges(user);
  assert.equal(charges.length, 3, 'the reactivation charged once');
  assert.equal(dbBalance(user), 30);
  assert.ok(ledgerMatches(user));
  parkSubs(`a.user_id = ${sqlStr(user)}`);
});

test('a user with no account yet: the account is made (balance 0, as the auth layer made it) and the activation is refused with 402', async () => {
  const user = newUser('tripnew');
  const r = await activate(user, 'monthly', { claims: { email: `${user}@example.com`, locale: 'de' } });
  assert.equal(r.status, 402, r.text);
  assert.deepEqual(r.body, { error: 'insufficient_credits', message: INSUFFICIENT });
  assert.equal(dbBalance(user), 0, 'the account exists, empty');
  assert.deepEqual(sql(`SELECT email, locale FROM accounts WHERE user_id = ${sqlStr(user)}`), [[`${user}@example.com`, 'de']]);
  assert.equal(subRow(user), null);
  assert.equal(ledgerCount(user), 0);
  // Then funded, it activates; a changed email in the token is stored.
  await fund(user, 30);
  const ok = await activate(user, 'monthly', { claims: { email: `new-${user}@example.com` } });
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(sql(`SELECT email, locale FROM accounts WHERE user_id = ${sqlStr(user)}`), [[`new-${user}@example.com`, 'de']]);
  assert.equal(dbBalance(user), 0);
  parkSubs(`a.user_id = ${sqlStr(user)}`);
});

test('a state that does not allow activation: 409, and the transaction the first call opened is rolled back at once', async () => {
  const user = newUser('tripc');
  await fund(user, 100);
  assert.equal((await activate(user)).status, 200);
  // A credit subscription in a state only invoice billing uses.
  sql(`UPDATE subscriptions s JOIN accounts a ON a.id = s.account_id SET s.status = 'pending_activation'
    WHERE a.user_id = ${sqlStr(user)}`);
  const r = await activate(user);
  assert.equal(r.status, 409, r.text);
  assert.equal(r.body.error, 'conflict');
  // No lock is left behind: a debit of the same account goes through now.
  const t0 = Date.now();
  const use = await call('POST', '/credits/use', { token: as(user), body: { amount: 1, operation: 'test' } });
  assert.equal(use.status, 200, use.text);
  assert.ok(Date.now() - t0 < 2000, `the debit waited ${Date.now() - t0} ms`);
  assert.equal(subRow(user).status, 'pending_activation');
  assert.equal(subCharges(user).length, 1);
  assert.equal(dbBalance(user), 69);
  parkSubs(`a.user_id = ${sqlStr(user)}`);
});

// The statements the responder sent for the one activation made while the
// general log was on (mysql.general_log), in order: its connection is the
// one that sent the activation's first CALL (the log shows a CALL's
// parameters as ?, so the user cannot name it).  Prepares and statement
// closes are the statement cache's, not round trips of the request; a
// connection opened for it would add its connect and session settings,
// left out too.
function requestStatements() {
  const rows = sql(`SELECT thread_id, command_type, REPLACE(REPLACE(CONVERT(argument USING utf8mb4), '\\n', ' '), '\\t', ' ')
    FROM mysql.general_log`);
  const firsts = rows.filter(([, type, arg]) => type === 'Execute' && /^CALL tally_sub_activate_lock\(/.test(arg));
  assert.equal(firsts.length, 1, `one activation in the general log: ${JSON.stringify(rows)}`);
  return rows.filter(([thread, type, arg]) => thread === firsts[0][0] && !['Prepare', 'Close stmt', 'Connect', 'Quit'].includes(type)
    && !/^SET (time_zone|SESSION TRANSACTION)/.test(arg)).map(([, type, arg]) => `${type}: ${arg}`);
}

test('round trips: one activation of a funded existing user is 2 statements (CALL lock, CALL write)', { skip: DB_EXTERNAL }, async (t) => {
  const user = newUser('trips');
  await fund(user, 100);
  // Warm the responders' connections and statement caches.
  await Promise.all(Array.from({ length: 16 }, () => call('GET', '/credits/balance', { token: as(user) })));
  const [[output, general]] = sql('SELECT @@global.log_output, @@global.general_log');
  let statements;
  try {
    sql("TRUNCATE TABLE mysql.general_log; SET GLOBAL log_output = 'TABLE'; SET GLOBAL general_log = 1");
    const r = await activate(user);
    assert.equal(r.status, 200, r.text);
    sql('SET GLOBAL general_log = 0');
    statements = requestStatements();
  } finally {
    sql(`SET GLOBAL general_log = 0; SET GLOBAL log_output = ${sqlStr(output)}; SET GLOBAL general_log = ${Number(general)}`);
  }
  t.diagnostic(`the activation's statements: ${statements.join(' | ')}`);
  assert.equal(statements.length, 2, statements.join('\n'));
  assert.match(statements[0], /^Execute: CALL tally_sub_activate_lock\(/);
  assert.match(statements[1], /^Execute: CALL tally_sub_activate_write\(/);
  assert.equal(subCharges(user).length, 1);
  assert.equal(dbBalance(user), 70);
  parkSubs(`a.user_id = ${sqlStr(user)}`);
});
