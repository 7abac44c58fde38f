// Usage statistics: per user, UTC day and operation, the debits and the
// credits they took, kept in the debit's own transaction
// (GET /credits/usage, GET /admin/usage).
import test from 'node:test';
import assert from 'node:assert/strict';
import { call, token, newUser, fund, sql, sqlStr, statusCounts } from './lib.mjs';

const as = (user) => token({ sub: user });
const today = () => new Date().toISOString().slice(0, 10);
const dayOffset = (n) => new Date(Date.now() + n * 86400000).toISOString().slice(0, 10);

const use = (user, amount, operation) =>
  call('POST', '/credits/use', { token: as(user), body: { amount, operation } });
async function usage(user, query = '') {
  const r = await call('GET', `/credits/usage${query}`, { token: as(user) });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

test('debits are counted per operation and per day, refunds taken back, refusals not counted', async () => {
  const user = newUser('usage');
  await fund(user, 20);
  for (const [amount, op] of [[2, 'export'], [2, 'export'], [2, 'export'], [5, 'render']]) {
    const r = await use(user, amount, op);
    assert.equal(r.status, 200, r.text);
  }
  // Refused for want of credits: no use.
  assert.equal((await use(user, 100, 'render')).status, 402);

  const ops = await usage(user, '?group=operation');
  assert.equal(ops.group, 'operation');
  assert.equal(ops.to, today());
  assert.equal(ops.from, dayOffset(-29), 'the last 30 days by default');
  assert.deepEqual(ops.rows, [
    { operation: 'export', count: 3, credits: 6 },
    { operation: 'render', count: 1, credits: 5 },
  ]);
  assert.deepEqual(ops.total, { count: 4, credits: 11 });
  const days = await usage(user);
  assert.equal(days.group, 'day');
  assert.deepEqual(days.rows, [{ day: today(), count: 4, credits: 11 }]);

  // A refund of one export takes it back from that day and operation.
  const [[txid]] = sql(`SELECT l.id FROM ledger l JOIN accounts a ON a.id = l.account_id
    WHERE a.user_id = ${sqlStr(user)} AND l.operation = 'export' ORDER BY l.id LIMIT 1`);
  const rf = await call('POST', '/internal/credits/refund', { service: true, body: { user_id: user, transaction_id: txid } });
  assert.equal(rf.status, 200, rf.text);
  const again = await call('POST', '/internal/credits/refund', { service: true, body: { user_id: user, transaction_id: txid } });
  assert.notEqual(again.status, 200, 'refunded once');
  assert.deepEqual((await usage(user, '?group=operation')).rows, [
    { operation: 'render', count: 1, credits: 5 },
    { operation: 'export', count: 2, credits: 4 },
  ]);
  assert.deepEqual((await usage(user)).total, { count: 3, credits: 9 });

  // The statistics agree with the ledger.
  const [[n, spent]] = sql(`SELECT COUNT(*), -SUM(l.amount) FROM ledger l JOIN accounts a ON a.id = l.account_id
    WHERE a.user_id = ${sqlStr(user)} AND l.kind = 'usage'
      AND NOT EXISTS (SELECT 1 FROM ledger r WHERE r.effect_key = CONCAT('refund:', l.id))`);
  assert.deepEqual([Number(n), Number(spent)], [3, 9]);

  // A range: days outside it have nothing; one day is a range.
  assert.deepEqual((await usage(user, `?from=${dayOffset(1)}&to=${dayOffset(2)}`)).rows, []);
  assert.deepEqual((await usage(user, `?from=${today()}&to=${today()}`)).total, { count: 3, credits: 9 });
  // Another user sees only their own.
  assert.deepEqual((await usage(newUser('usage'))).rows, []);
});

test('concurrent debits of one operation: every one counted, none lost', async () => {
  const user = newUser('usage-conc');
  await fund(user, 40);
  const rs = await Promise.all(Array.from({ length: 50 }, () => use(user, 1, 'burst')));
  assert.deepEqual(statusCounts(rs), { 200: 40, 402: 10 });
  assert.deepEqual((await usage(user, '?group=operation')).rows, [{ operation: 'burst', count: 40, credits: 40 }]);
});

test('usage: a reversed range, a range over a year, bad dates or group are 400 naming the field', async () => {
  const user = newUser('usage-bad');
  const bad = async (query, field) => {
    const r = await call('GET', `/credits/usage${query}`, { token: as(user) });
    assert.equal(r.status, 400, `${query}: ${r.status} ${r.text}`);
    assert.equal(r.body.error, 'invalid_request', query);
    assert.equal(r.body.field, field, `${query}: ${r.text}`);
  };
  await bad('?from=2026-02-02&to=2026-02-01', 'from');
  await bad('?from=2024-01-01&to=2025-01-02', 'from');
  await bad('?from=2026-02-30', 'from');
  await bad('?to=yesterday', 'to');
  await bad('?from=2026-1-1', 'from');
  await bad('?group=week', 'group');
  // A leap year is one year.
  const r = await call('GET', '/credits/usage?from=2024-01-01&to=2024-12-31', { token: as(user) });
  assert.equal(r.status, 200, r.text);
  assert.equal((await call('GET', '/credits/usage')).status, 401);
});

test('admin usage: every user\'s operations, behind the admin key', async () => {
  const a = newUser('usage-adm');
  const b = newUser('usage-adm');
  const op = `adm-${a.slice(-8)}`;
  await fund(a, 10);
  await fund(b, 10);
  assert.equal((await use(a, 3, op)).status, 200);
  assert.equal((await use(b, 4, op)).status, 200);
  const r = await call('GET', '/admin/usage?group=operation', { admin: true });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.rows.find((x) => x.operation === op), { operation: op, count: 2, credits: 7 });
  const d = await call('GET', '/admin/usage', { admin: true });
  assert.equal(d.status, 200, d.text);
  assert.ok(d.body.rows.find((x) => x.day === today()).count >= 2);
  assert.equal((await call('GET', '/admin/usage', { service: true })).status, 401);
  // One user's, by user_id; a user without an account has nothing.
  const one = await call('GET', `/admin/usage?group=operation&user_id=${encodeURIComponent(a)}`, { admin: true });
  assert.equal(one.status, 200, one.text);
  assert.deepEqual(one.body.rows, [{ operation: op, count: 1, credits: 3 }]);
  const none = await call('GET', `/admin/usage?user_id=${encodeURIComponent(newUser('usage-nobody'))}`, { admin: true });
  assert.deepEqual(none.body.rows, []);
  assert.equal(sql(`SELECT COUNT(*) FROM accounts WHERE user_id LIKE 'usage-nobody%'`)[0][0], '0', 'no account made');
});
