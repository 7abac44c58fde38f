// A routine that answers its row and then fails in its closing status,
// the transaction rolled back under it.  On Galera this is a local
// transaction aborted by a replicated write set (brute-force abort) while
// CALL tally_ledger_apply ends: the answer row has gone out, error 1213
// comes after it.  tally must run the whole transaction again, not go on
// in the rolled-back one: there, each further statement (the stored
// Idempotency-Key response) commits on its own, and a 200 would name a
// ledger row that does not exist.  Reproduced on one server by a wrapper
// around the routine that, once per marked description, rolls back and
// signals 1213 after the real routine answered; in a database of its own
// with a second stack on it, so the suite's routines are never touched.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { call, newUser, sql, sqlStr, dbArgs, DB_NAME, ROOT, startStack, SERVICE_KEY, token } from './lib.mjs';

const DB = `${DB_NAME}_cs${crypto.randomBytes(3).toString('hex')}`;
const q = (text) => sql(`USE ${DB}; ${text}`);
// A script with DELIMITER lines, raw output.
const script = (text, raw = false) => execFileSync('mariadb',
  ['--no-defaults', ...dbArgs(), '-uroot', '-N', '-B', ...(raw ? ['-r'] : []), DB], { input: text, encoding: 'utf8' });

let stack;
after(async () => {
  if (stack) stack.stop();
  sql(`DROP DATABASE IF EXISTS ${DB}`);
});

async function setup() {
  if (stack) return stack;
  execFileSync(`${ROOT}/bin/tally-admin`, ['migrate'], { cwd: ROOT, env: { ...process.env, TALLY_DATABASE_NAME: DB }, stdio: 'ignore' });
  const where = `db = '${DB}' AND name = 'tally_ledger_apply' AND type = 'PROCEDURE'`;
  const params = script(`SELECT param_list FROM mysql.proc WHERE ${where}`, true).replace(/\n$/, '');
  const body = script(`SELECT body FROM mysql.proc WHERE ${where}`, true).replace(/\n$/, '');
  const names = [...params.matchAll(/\b(?:IN|OUT|INOUT)\s+(\w+)/gi)].map((m) => m[1]);
  assert.ok(names.includes('p_description') && body.length > 100, 'the routine and its parameters were read');
  script(`DELIMITER //
CREATE PROCEDURE tally_ledger_apply_real(${params}) ${body}//
DROP PROCEDURE tally_ledger_apply//
CREATE TABLE call_fault (k VARCHAR(255) NOT NULL PRIMARY KEY) ENGINE=InnoDB//
CREATE PROCEDURE tally_ledger_apply(${params})
BEGIN
  CALL tally_ledger_apply_real(${names.join(', ')});
  IF EXISTS (SELECT 1 FROM call_fault WHERE k = p_description) THEN
    ROLLBACK;
    DELETE FROM call_fault WHERE k = p_description;
    SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 1213,
      MESSAGE_TEXT = 'Deadlock found when trying to get lock; try restarting transaction (test)';
  END IF;
END//
`);
  stack = await startStack({ name: 'callstatus', set: { 'database.name': DB }, procs: 1 });
  return stack;
}

async function debit(s, user, description, key) {
  return call('POST', `${s.api}/internal/credits/use`, { service: SERVICE_KEY,
    headers: key ? { 'Idempotency-Key': key } : {},
    body: { user_id: user, amount: 7, operation: 'callfault', description } });
}

function state(user) {
  const [[balance, sum, rows]] = q(`SELECT a.balance, COALESCE(SUM(l.amount), 0),
      SUM(l.kind = 'usage') FROM accounts a LEFT JOIN ledger l ON l.account_id = a.id
    WHERE a.user_id = ${sqlStr(user)} GROUP BY a.id`);
  return { balance: Number(balance), sum: Number(sum), usage: Number(rows) };
}

// A new user of stack s with 100 credits.
async function fundedUser(s, prefix) {
  const user = newUser(prefix);
  const f = await call('POST', `${s.api}/admin/credits/adjust`, { admin: true,
    body: { user_id: user, amount: 100, reason: 'test funding', actor: 'tests' } });
  assert.equal(f.status, 200, f.text);
  return user;
}

// A user with 100 credits, and a description whose debit the wrapper fails
// after the routine answered (once: the fault row is used up).
async function faultyDebitor(s) {
  const user = await fundedUser(s, 'cs');
  const desc = `fault-${crypto.randomBytes(4).toString('hex')}`;
  q(`INSERT INTO call_fault (k) VALUES (${sqlStr(desc)})`);
  return { user, desc };
}

test('a keyed debit whose transaction is rolled back after the routine answered is run again: its 200 is in the ledger once', async () => {
  const s = await setup();
  const { user, desc } = await faultyDebitor(s);
  const r = await debit(s, user, desc, `k-${desc}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(q(`SELECT COUNT(*) FROM call_fault`)[0][0], '0', 'the fault was met');
  const rows = q(`SELECT id, amount FROM ledger WHERE description = ${sqlStr(desc)}`);
  assert.deepEqual(rows, [[String(r.body.transaction.id), '-7']], 'the answered transaction is the one in the ledger');
  assert.deepEqual(state(user), { balance: 93, sum: 93, usage: 1 });
  // The stored response is that of the committed run.
  const again = await debit(s, user, desc, `k-${desc}`);
  assert.equal(again.status, 200);
  assert.equal(again.body.transaction.id, r.body.transaction.id);
  assert.deepEqual(state(user), { balance: 93, sum: 93, usage: 1 });
});

test('a one-call debit (no key) whose routine committed before its closing error is answered once', async () => {
  const s = await setup();
  const { user, desc } = await faultyDebitor(s);
  const r = await debit(s, user, desc, null);
  // The routine commits before it answers (own transaction), so the
  // row is in: one debit, not a second one by a retry.
  assert.equal(r.status, 200, r.text);
  assert.equal(q(`SELECT COUNT(*) FROM call_fault`)[0][0], '0', 'the fault was met');
  assert.deepEqual(q(`SELECT id FROM ledger WHERE description = ${sqlStr(desc)}`), [[String(r.body.transaction.id)]]);
  assert.deepEqual(state(user), { balance: 93, sum: 93, usage: 1 });
});

// A credit activation is two calls in one transaction (migration 0017).
// A deadlock in the second (here: at the charge's ledger row, once per
// marked account, from a table that a rollback does not undo) rolls the
// transaction back; tally must run both calls again, and the answer,
// the subscription and the charge must be those of the run that
// committed, once.
test('an activation whose second call meets a deadlock is run again from its first call: one subscription, one charge', async () => {
  const s = await setup();
  script(`DELIMITER //
CREATE TABLE IF NOT EXISTS act_fault (account_id BIGINT NOT NULL PRIMARY KEY) ENGINE=MyISAM//
DROP TRIGGER IF EXISTS act_fault_charge//
CREATE TRIGGER act_fault_charge BEFORE INSERT ON ledger FOR EACH ROW
BEGIN
  IF NEW.kind = 'subscription' AND EXISTS (SELECT 1 FROM act_fault WHERE account_id = NEW.account_id) THEN
    DELETE FROM act_fault WHERE account_id = NEW.account_id;
    SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 1213,
      MESSAGE_TEXT = 'Deadlock found when trying to get lock; try restarting transaction (test)';
  END IF;
END//
`);
  for (const keyed of [false, true]) {
    const user = await fundedUser(s, 'csact');
    q(`INSERT INTO act_fault (account_id) SELECT id FROM accounts WHERE user_id = ${sqlStr(user)}`);
    const headers = keyed ? { 'Idempotency-Key': `act-${user}` } : {};
    const activate = () => call('POST', `${s.api}/subscriptions/cloud_sync/activate`,
      { token: token({ sub: user }), body: { interval: 'monthly' }, headers });
    const r = await activate();
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.status, 'active');
    assert.equal(q(`SELECT COUNT(*) FROM act_fault`)[0][0], '0', 'the fault was met');
    const subs = q(`SELECT s.status, s.run_no, UNIX_TIMESTAMP(s.current_period_start) FROM subscriptions s
      JOIN accounts a ON a.id = s.account_id WHERE a.user_id = ${sqlStr(user)}`);
    assert.equal(subs.length, 1);
    assert.equal(subs[0][0], 'active');
    assert.equal(subs[0][1], '1', 'one run: the rolled-back one left nothing');
    const charges = q(`SELECT l.amount, l.effect_key FROM ledger l JOIN accounts a ON a.id = l.account_id
      WHERE a.user_id = ${sqlStr(user)} AND l.kind = 'subscription'`);
    assert.equal(charges.length, 1);
    assert.equal(charges[0][0], '-30');
    assert.match(charges[0][1], new RegExp(`^sub:\\d+:1:${subs[0][2]}$`));
    const [[balance, sum]] = q(`SELECT a.balance, SUM(l.amount) FROM accounts a JOIN ledger l ON l.account_id = a.id
      WHERE a.user_id = ${sqlStr(user)} GROUP BY a.id`);
    assert.deepEqual([balance, sum], ['70', '70']);
    if (keyed) {
      const again = await activate();
      assert.equal(again.status, 200);
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      assert.equal(again.text, r.text);
    }
  }
});
