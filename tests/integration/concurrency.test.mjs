// Concurrent debits never lose an update and never overdraw.
import test from 'node:test';
import assert from 'node:assert/strict';
import { call, token, newUser, fund, dbBalance, ledgerCount, ledgerMatches, statusCounts } from './lib.mjs';

test('200 concurrent debits of 1 on a wallet of 50: exactly 50 succeed', async () => {
  const user = newUser();
  await fund(user, 50);
  const t = token({ sub: user });
  const rs = await Promise.all(Array.from({ length: 200 }, (_, i) =>
    call('POST', '/credits/use', { token: t, body: { amount: 1, operation: 'burst', description: `#${i}` } })));
  assert.deepEqual(statusCounts(rs), { 200: 50, 402: 150 });
  for (const r of rs.filter((x) => x.status === 402)) assert.equal(r.body.error, 'insufficient_credits');

  // Every success saw a distinct balance from 49 down to 0.
  const after = rs.filter((r) => r.status === 200).map((r) => r.body.balance).sort((a, b) => a - b);
  assert.deepEqual(after, Array.from({ length: 50 }, (_, i) => i));
  const ids = new Set(rs.filter((r) => r.status === 200).map((r) => r.body.transaction.id));
  assert.equal(ids.size, 50);

  const b = await call('GET', '/credits/balance', { token: t });
  assert.equal(b.body.balance, 0);
  assert.equal(dbBalance(user), 0);
  assert.ok(ledgerMatches(user), 'the ledger sums to the balance');
  assert.equal(ledgerCount(user, 'usage'), 50);
});

test('5 users debited concurrently through /internal/credits/use: each ends at exactly 0', async () => {
  const users = Array.from({ length: 5 }, () => newUser('conc'));
  for (const u of users) await fund(u, 20);
  const reqs = [];
  for (let i = 0; i < 60; i++)
    for (const u of users)
      reqs.push(call('POST', '/internal/credits/use', { service: true, body: { user_id: u, amount: 1, operation: 'svc-burst' } }));
  const rs = await Promise.all(reqs);
  assert.deepEqual(statusCounts(rs), { 200: 100, 402: 200 });
  for (const u of users) {
    const r = await call('GET', `/internal/credits/balance/${u}`, { service: true });
    assert.equal(r.body.balance, 0, u);
    assert.equal(dbBalance(u), 0);
    assert.ok(ledgerMatches(u), u);
    assert.equal(ledgerCount(u, 'usage'), 20);
  }
});

test('concurrent debits of different sizes: no overdraft, balance matches the ledger', async () => {
  const user = newUser();
  await fund(user, 100);
  const t = token({ sub: user });
  const amounts = Array.from({ length: 60 }, (_, i) => (i % 7) + 1);
  const rs = await Promise.all(amounts.map((amount) =>
    call('POST', '/credits/use', { token: t, body: { amount, operation: 'mixed' } })));
  for (const r of rs) assert.ok([200, 402].includes(r.status), r.text);
  const spent = amounts.filter((_, i) => rs[i].status === 200).reduce((s, a) => s + a, 0);
  assert.ok(spent <= 100);
  assert.equal(dbBalance(user), 100 - spent);
  assert.ok(ledgerMatches(user));
  // The balance only goes down here, and a debit of 1 is refused only on an
  // empty wallet: if one was refused, the wallet ends empty.
  if (rs.some((r, i) => r.status === 402 && amounts[i] === 1)) assert.equal(dbBalance(user), 0);
});
