// tally-admin's commands for an operator at 3 a.m., run as the operator
// would (`bin/tally-admin --config $TALLY_CONFIG ...`) against the stack's
// database: check-ledger, show-user, outbox --stuck.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  ROOT, call, token, newUser, fund, sql, sqlStr, parkSubs,
} from './lib.mjs';

function admin(...args) {
  const r = spawnSync(`${ROOT}/bin/tally-admin`, ['--config', process.env.TALLY_CONFIG, ...args],
    { cwd: ROOT, env: process.env, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const as = (user, claims = {}) => token({ sub: user, ...claims });

test('check-ledger: exit 0 and a one-line summary while every balance equals its ledger', () => {
  const r = admin('check-ledger');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, r.stdout);
  const [accounts, rows] = sql('SELECT (SELECT COUNT(*) FROM accounts), (SELECT COUNT(*) FROM ledger)')[0];
  assert.match(lines[0], new RegExp(`^ledger ok: ${accounts} accounts, ${rows} ledger rows, balances total \\d+;`));
});

test('check-ledger: a balance changed by hand in SQL is named, exit 1; repaired, exit 0 again', async (t) => {
  const a = newUser('ledger-a');
  const b = newUser('ledger-b');
  await fund(a, 100);
  await fund(b, 50);
  const repair = () => {
    sql(`UPDATE accounts SET balance = 100 WHERE user_id = ${sqlStr(a)}`);
    sql(`UPDATE accounts SET balance = 50 WHERE user_id = ${sqlStr(b)}`);
  };
  t.after(repair);
  // Nothing else in the suite may break the invariant: the tally before.
  assert.equal(admin('check-ledger').code, 0);

  sql(`UPDATE accounts SET balance = balance + 7 WHERE user_id = ${sqlStr(a)}`);
  sql(`UPDATE accounts SET balance = balance - 20 WHERE user_id = ${sqlStr(b)}`);
  const r = admin('check-ledger');
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 3, r.stdout);
  const la = lines.find((l) => l.includes(JSON.stringify(a)));
  const lb = lines.find((l) => l.includes(JSON.stringify(b)));
  assert.match(la, /balance 107, ledger sum 100 \(balance - ledger = 7\)/);
  assert.match(lb, /balance 30, ledger sum 50 \(balance - ledger = -20\)/);
  assert.match(lines[2], /^ledger NOT ok: 2 of \d+ accounts differ/);

  const j = admin('check-ledger', '--json');
  assert.equal(j.code, 1);
  const o = JSON.parse(j.stdout);
  assert.equal(o.ok, false);
  assert.deepEqual(o.differ.map((d) => [d.user_id, d.balance, d.ledger_sum, d.difference]).sort(),
    [[a, 107, 100, 7], [b, 30, 50, -20]].sort());

  repair();
  const after = admin('check-ledger');
  assert.equal(after.code, 0, after.stdout);
  assert.match(after.stdout, /^ledger ok: /);
});

test('show-user: account, balance, subscriptions, last ledger rows and pending invoices', async (t) => {
  const user = newUser('show');
  const email = `${user}@example.com`;
  t.after(() => parkSubs(`a.user_id = ${sqlStr(user)}`));
  await fund(user, 100);
  let r = await call('POST', '/subscriptions/cloud_sync/activate', { token: as(user, { email }), body: { interval: 'monthly' } });
  assert.equal(r.status, 200, r.text);
  r = await call('POST', '/credits/use', { token: as(user), body: { amount: 5, operation: 'export', description: 'PDF "A"' } });
  assert.equal(r.status, 200, r.text);
  r = await call('POST', '/subscriptions/pro/activate', { token: as(user), body: { interval: 'monthly' } });
  assert.equal(r.status, 201, r.text);
  const invoiceId = r.body.invoice.id;

  const j = admin('show-user', user, '--json');
  assert.equal(j.code, 0, j.stderr);
  const o = JSON.parse(j.stdout);
  assert.equal(o.user_id, user);
  assert.equal(o.email, email);
  assert.equal(o.balance, 65);
  assert.equal(o.ledger_sum, 65);
  assert.equal(o.ledger_ok, true);
  const subs = Object.fromEntries(o.subscriptions.map((s) => [s.product, s.status]));
  assert.deepEqual(subs, { cloud_sync: 'active', pro: 'pending_activation' });
  assert.deepEqual(o.ledger.map((x) => [x.kind, x.amount, x.balance_after]),
    [['usage', -5, 65], ['subscription', -30, 70], ['adjustment', 100, 100]], 'newest first');
  assert.equal(o.ledger[0].description, 'PDF "A"');
  assert.equal(o.pending_invoices.length, 1);
  assert.equal(String(o.pending_invoices[0].id), invoiceId);
  assert.equal(o.pending_invoices[0].total, 2900);

  // --ledger limits the rows; the text form says the same things.
  assert.equal(JSON.parse(admin('show-user', user, '--json', '--ledger', '1').stdout).ledger.length, 1);
  const txt = admin('show-user', user);
  assert.equal(txt.code, 0);
  assert.match(txt.stdout, new RegExp(`^user +${JSON.stringify(user)}$`, 'm'));
  assert.match(txt.stdout, /^balance +65 credits/m);
  assert.match(txt.stdout, /^ledger +sums to the balance$/m);
  assert.match(txt.stdout, /^ +cloud_sync +active +monthly /m);
  assert.match(txt.stdout, /^pending invoices \(1\)$/m);
  assert.match(txt.stdout, /"PDF \\"A\\""/, 'strings quoted, quotes escaped');

  // A broken balance shows here too.
  sql(`UPDATE accounts SET balance = balance + 1 WHERE user_id = ${sqlStr(user)}`);
  try {
    assert.match(admin('show-user', user).stdout, /^ledger +DIFFERS: sums to 65 \(balance - ledger = 1\)$/m);
  } finally {
    sql(`UPDATE accounts SET balance = balance - 1 WHERE user_id = ${sqlStr(user)}`);
  }
});

test('show-user: an unknown user is exit 1 and creates nothing', () => {
  const user = newUser('nobody');
  const r = admin('show-user', user);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no account for user/);
  assert.equal(sql(`SELECT COUNT(*) FROM accounts WHERE user_id = ${sqlStr(user)}`)[0][0], '0');
  assert.equal(admin('show-user').code, 2, 'USER is required');
});

test('outbox --stuck: given up, retried and long-pending messages, each with why; exit 1', (t) => {
  const tag = newUser('stuck');
  const ins = (key, status, attempts, created, next, err) => {
    sql(`INSERT INTO outbox (dedupe_key, template, locale, recipient, params, status, attempts, next_attempt_at, last_error, created_at)
      VALUES (${sqlStr(`${tag}:${key}`)}, 'invoice', 'en', ${sqlStr(`${tag}-${key}@example.com`)}, '{}', ${sqlStr(status)}, ${attempts},
      UTC_TIMESTAMP() + INTERVAL ${next} MINUTE, ${err === null ? 'NULL' : sqlStr(err)}, UTC_TIMESTAMP() - INTERVAL ${created} MINUTE)`);
    return sql(`SELECT id FROM outbox WHERE dedupe_key = ${sqlStr(`${tag}:${key}`)}`)[0][0];
  };
  t.after(() => sql(`DELETE FROM outbox WHERE dedupe_key LIKE ${sqlStr(`${tag}:%`)}`));
  const failed = ins('failed', 'failed', 10, 600, -60, '550 mailbox unavailable');
  const retrying = ins('retry', 'pending', 2, 30, 240, 'connect: Connection refused');
  const old = ins('old', 'pending', 0, 60, 720, null);   // not due for 12 h: no scheduler sends it
  const fresh = ins('fresh', 'pending', 0, 1, 720, null);
  // A message already sent is never stuck.
  const sent = ins('sent', 'sent', 1, 600, -600, null);

  const r = admin('outbox', '--stuck', '--json');
  assert.equal(r.code, 1, r.stderr);
  const o = JSON.parse(r.stdout);
  assert.equal(o.minutes, 15);
  const byId = Object.fromEntries(o.stuck.map((m) => [String(m.id), m]));
  assert.ok(byId[failed] && byId[retrying] && byId[old], JSON.stringify(o.stuck));
  assert.ok(!byId[fresh], 'pending for a minute is not stuck');
  assert.ok(!byId[sent], 'a sent message is not stuck');
  assert.match(byId[failed].why, /^given up after 10 attempts; last error: 550 mailbox unavailable$/);
  assert.match(byId[retrying].why, /^2 attempts failed, next at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; last error: connect: Connection refused$/);
  assert.match(byId[old].why, /^not tried yet, due at /);
  assert.equal(byId[failed].recipient, `${tag}-failed@example.com`);

  // --minutes: the message pending for an hour is not stuck at 120 minutes.
  const r2 = JSON.parse(admin('outbox', '--stuck', '--minutes', '120', '--json').stdout);
  const ids2 = r2.stuck.map((m) => String(m.id));
  assert.ok(ids2.includes(failed) && ids2.includes(retrying) && !ids2.includes(old), ids2.join());

  // The text form: one entry per message and a summary line.
  const txt = admin('outbox', '--stuck');
  assert.equal(txt.code, 1);
  assert.match(txt.stdout, new RegExp(`^${failed} +failed +invoice +created .* to "${tag}-failed@example.com"`, 'm'));
  assert.match(txt.stdout, /^outbox: \d+ messages stuck/m);
  assert.equal(admin('outbox').code, 2, '--stuck is required');
});

test('outbox --stuck: exit 0 exactly when nothing qualifies', () => {
  const n = Number(sql(`SELECT COUNT(*) FROM outbox WHERE status = 'failed' OR (status = 'pending' AND
    (created_at <= UTC_TIMESTAMP() - INTERVAL 15 MINUTE OR attempts > 0))`)[0][0]);
  const r = admin('outbox', '--stuck');
  assert.equal(r.code, n === 0 ? 0 : 1, r.stdout);
  if (n === 0) assert.match(r.stdout, /^outbox ok: /);
});
