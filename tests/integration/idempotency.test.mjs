// Idempotency-Key on POSTs: replay, conflict, scope, races, errors.
import test from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { call, token, newUser, fund, dbBalance, ledgerCount, ledgerMatches, sql, sqlStr, statusCounts } from './lib.mjs';

const key = () => `key-${crypto.randomBytes(8).toString('hex')}`;

function use(user, body, k, extra = {}) {
  return call('POST', '/credits/use', { token: token({ sub: user }), body,
    headers: { 'Idempotency-Key': k, ...extra } });
}

test('same key and body: the stored response again, marked replayed, debited once', async () => {
  const user = newUser();
  await fund(user, 100);
  const k = key();
  const body = { amount: 10, operation: 'export', description: 'once' };
  const first = await use(user, body, k);
  assert.equal(first.status, 200, first.text);
  assert.equal(first.headers.get('idempotent-replayed'), null, 'the first answer is not a replay');
  assert.equal(first.body.balance, 90);

  const second = await use(user, body, k);
  assert.equal(second.status, 200, second.text);
  assert.equal(second.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(second.body, first.body);
  assert.ok(second.headers.get('x-request-id'));
  assert.notEqual(second.headers.get('x-request-id'), first.headers.get('x-request-id'));

  // Even after other spending, the replay is the original answer.
  const other = await call('POST', '/credits/use', { token: token({ sub: user }), body: { amount: 5, operation: 'other' } });
  assert.equal(other.status, 200);
  const third = await use(user, body, k);
  assert.deepEqual(third.body, first.body);
  assert.equal(third.headers.get('idempotent-replayed'), 'true');

  assert.equal(dbBalance(user), 85);
  assert.equal(ledgerCount(user, 'usage'), 2);
  assert.ok(ledgerMatches(user));
});

test('same key with another body is 409 conflict and changes nothing', async () => {
  const user = newUser();
  await fund(user, 100);
  const k = key();
  const first = await use(user, { amount: 10, operation: 'a' }, k);
  assert.equal(first.status, 200, first.text);
  for (const body of [{ amount: 11, operation: 'a' }, { amount: 10, operation: 'b' }, { amount: 10, operation: 'a', description: 'x' }]) {
    const r = await use(user, body, k);
    assert.equal(r.status, 409, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.body.error, 'conflict');
    assert.equal(r.headers.get('idempotent-replayed'), null);
  }
  assert.equal(dbBalance(user), 90);
  assert.equal(ledgerCount(user, 'usage'), 1);
});

test('keys are per caller: two users with the same key both get their own effect', async () => {
  const a = newUser('a');
  const b = newUser('b');
  await fund(a, 20);
  await fund(b, 20);
  const k = key();
  const body = { amount: 7, operation: 'shared-key' };
  const ra = await use(a, body, k);
  const rb = await use(b, body, k);
  assert.equal(ra.status, 200, ra.text);
  assert.equal(rb.status, 200, rb.text);
  assert.equal(rb.headers.get('idempotent-replayed'), null);
  assert.notEqual(ra.body.transaction.id, rb.body.transaction.id);
  assert.equal(dbBalance(a), 13);
  assert.equal(dbBalance(b), 13);
  // The service is a caller of its own too.
  const rs = await call('POST', '/internal/credits/use', { service: true, headers: { 'Idempotency-Key': k },
    body: { user_id: a, amount: 7, operation: 'shared-key' } });
  assert.equal(rs.status, 200, rs.text);
  assert.equal(rs.headers.get('idempotent-replayed'), null);
  assert.equal(dbBalance(a), 6);
});

test('20 concurrent requests with one key: one debit, everyone gets the same transaction', async () => {
  const user = newUser();
  await fund(user, 100);
  const k = key();
  const body = { amount: 3, operation: 'race' };
  const rs = await Promise.all(Array.from({ length: 20 }, () => use(user, body, k)));
  for (const r of rs) assert.equal(r.status, 200, r.text);
  const ids = new Set(rs.map((r) => r.body.transaction.id));
  assert.equal(ids.size, 1, `transaction ids: ${[...ids]}`);
  for (const r of rs) assert.equal(r.body.balance, 97);
  assert.equal(rs.filter((r) => r.headers.get('idempotent-replayed') === 'true').length, 19);
  assert.equal(dbBalance(user), 97);
  assert.equal(ledgerCount(user, 'usage'), 1);
  assert.ok(ledgerMatches(user));
});

test('10 concurrent requests with one key and different bodies: one effect, the rest 409', async () => {
  const user = newUser();
  await fund(user, 100);
  const k = key();
  const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => use(user, { amount: i + 1, operation: 'race-diff' }, k)));
  assert.deepEqual(statusCounts(rs), { 200: 1, 409: 9 }, rs.map((r) => r.text).join('\n'));
  const winner = rs.find((r) => r.status === 200);
  assert.equal(dbBalance(user), winner.body.balance);
  assert.equal(ledgerCount(user, 'usage'), 1);
  assert.ok(ledgerMatches(user));
});

test('an error is not stored: 402, then after funding the same key and body succeeds', async () => {
  const user = newUser();
  await fund(user, 5);
  const k = key();
  const body = { amount: 10, operation: 'too-big' };
  const r1 = await use(user, body, k);
  assert.equal(r1.status, 402, r1.text);
  const r2 = await use(user, body, k);
  assert.equal(r2.status, 402, r2.text);
  assert.equal(r2.headers.get('idempotent-replayed'), null);
  await fund(user, 10);
  const r3 = await use(user, body, k);
  assert.equal(r3.status, 200, r3.text);
  assert.equal(r3.body.balance, 5);
  const r4 = await use(user, body, k);
  assert.equal(r4.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(r4.body, r3.body);
  assert.equal(dbBalance(user), 5);
  // A validation error is not stored either: the key stays usable.
  const k2 = key();
  const bad = await use(user, { amount: 0, operation: 'x' }, k2);
  assert.equal(bad.status, 400);
  const good = await use(user, { amount: 1, operation: 'x' }, k2);
  assert.equal(good.status, 200, good.text);
  assert.equal(dbBalance(user), 4);
});

test('Idempotency-Key: 255 characters are fine, 256 are 400', async () => {
  const user = newUser();
  await fund(user, 10);
  const ok = await use(user, { amount: 1, operation: 'x' }, 'k'.repeat(255));
  assert.equal(ok.status, 200, ok.text);
  const again = await use(user, { amount: 1, operation: 'x' }, 'k'.repeat(255));
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  const r = await use(user, { amount: 1, operation: 'x' }, 'k'.repeat(256));
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.error, 'invalid_request');
  const r2 = await use(user, { amount: 1, operation: 'x' }, 'k'.repeat(1000));
  assert.equal(r2.status, 400, r2.text);
  assert.equal(dbBalance(user), 9);
});

test('admin adjust with a key: one adjustment and one audit row on retry', async () => {
  const user = newUser();
  const k = key();
  const body = { user_id: user, amount: 40, reason: 'retry-safe', actor: 'alice' };
  const rs = [];
  for (let i = 0; i < 3; i++)
    rs.push(await call('POST', '/admin/credits/adjust', { admin: true, body, headers: { 'Idempotency-Key': k } }));
  for (const r of rs) assert.equal(r.status, 200, r.text);
  assert.deepEqual(rs[2].body, rs[0].body);
  assert.equal(rs[2].headers.get('idempotent-replayed'), 'true');
  assert.equal(dbBalance(user), 40);
  assert.equal(sql(`SELECT COUNT(*) FROM audit_log WHERE target = ${sqlStr(user)}`)[0][0], '1');
});

test('internal refund with a key: a retry replays the refund instead of a 409', async () => {
  const user = newUser();
  await fund(user, 10);
  const u = await call('POST', '/internal/credits/use', { service: true, body: { user_id: user, amount: 4, operation: 'x' } });
  const k = key();
  const body = { user_id: user, transaction_id: u.body.transaction.id };
  const r1 = await call('POST', '/internal/credits/refund', { service: true, body, headers: { 'Idempotency-Key': k } });
  const r2 = await call('POST', '/internal/credits/refund', { service: true, body, headers: { 'Idempotency-Key': k } });
  assert.equal(r1.status, 200, r1.text);
  assert.equal(r2.status, 200, r2.text);
  assert.equal(r2.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(r2.body, r1.body);
  assert.equal(dbBalance(user), 10);
});
