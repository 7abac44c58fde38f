// Internal (service-key) wallet routes: balance, use, refund, init.
import test from 'node:test';
import assert from 'node:assert/strict';
import { call, token, newUser, fund, sql, sqlStr, dbBalance, ledgerCount, ledgerMatches, ISO_UTC } from './lib.mjs';

const svc = (method, path, body) => call(method, path, { service: true, body });

async function userBalance(user) {
  const r = await call('GET', '/credits/balance', { token: token({ sub: user }) });
  assert.equal(r.status, 200, r.text);
  return r.body.balance;
}

async function internalBalance(user) {
  const r = await svc('GET', `/internal/credits/balance/${encodeURIComponent(user)}`);
  assert.equal(r.status, 200, r.text);
  return r.body.balance;
}

function badField(r, field, what = '') {
  assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
  assert.equal(r.body?.error, 'invalid_request', what);
  assert.equal(r.body.field, field, `${what}: ${r.text}`);
}

test('internal balance of an unknown user is 0', async () => {
  const r = await svc('GET', `/internal/credits/balance/${newUser('nobody')}`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { balance: 0 });
});

test('internal balance follows the wallet, also for ids that need URL encoding', async () => {
  for (const user of [newUser(), `auth0|${newUser()}`, `${newUser()}@example.com`, `ünï ${newUser()}`]) {
    await fund(user, 17);
    assert.equal(await internalBalance(user), 17, user);
    assert.equal(await userBalance(user), 17, user);
  }
});

test('internal use debits the named user and no one else', async () => {
  const a = newUser('a');
  const b = newUser('b');
  await fund(a, 50);
  await fund(b, 50);
  const r = await svc('POST', '/internal/credits/use', { user_id: a, amount: 7, operation: 'api.call', description: 'GET /thing' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.balance, 43);
  const tx = r.body.transaction;
  assert.match(tx.id, /^[1-9][0-9]*$/);
  assert.equal(tx.kind, 'usage');
  assert.equal(tx.amount, -7);
  assert.equal(tx.balance_after, 43);
  assert.equal(tx.operation, 'api.call');
  assert.equal(tx.description, 'GET /thing');
  assert.match(tx.created_at, ISO_UTC);
  assert.equal(await userBalance(a), 43);
  assert.equal(await userBalance(b), 50);
  assert.equal(await internalBalance(a), 43);
  assert.ok(ledgerMatches(a));
  assert.ok(ledgerMatches(b));
});

test('internal use: 402 when the wallet cannot cover it (also for a user with no account)', async () => {
  const a = newUser();
  await fund(a, 5);
  const r = await svc('POST', '/internal/credits/use', { user_id: a, amount: 6, operation: 'x' });
  assert.equal(r.status, 402, r.text);
  assert.equal(r.body.error, 'insufficient_credits');
  assert.equal(await internalBalance(a), 5);
  const fresh = newUser();
  const r2 = await svc('POST', '/internal/credits/use', { user_id: fresh, amount: 1, operation: 'x' });
  assert.equal(r2.status, 402, r2.text);
  assert.equal(await internalBalance(fresh), 0);
});

test('internal use: bad input is 400 naming the field', async () => {
  const a = newUser();
  await fund(a, 5);
  badField(await svc('POST', '/internal/credits/use', { amount: 1, operation: 'x' }), 'user_id', 'missing user_id');
  badField(await svc('POST', '/internal/credits/use', { user_id: '', amount: 1, operation: 'x' }), 'user_id', 'empty user_id');
  badField(await svc('POST', '/internal/credits/use', { user_id: 5, amount: 1, operation: 'x' }), 'user_id', 'number user_id');
  badField(await svc('POST', '/internal/credits/use', { user_id: 'u'.repeat(256), amount: 1, operation: 'x' }), 'user_id', 'long user_id');
  badField(await svc('POST', '/internal/credits/use', { user_id: a, amount: 0, operation: 'x' }), 'amount', 'zero');
  badField(await svc('POST', '/internal/credits/use', { user_id: a, amount: 1 }), 'operation', 'no operation');
  assert.equal(await internalBalance(a), 5);
});

test('refund of a usage: 200, kind refund, positive amount, balance restored; a second refund is 409', async () => {
  const user = newUser();
  await fund(user, 40);
  const use = await svc('POST', '/internal/credits/use', { user_id: user, amount: 15, operation: 'render', description: 'job 7' });
  assert.equal(use.status, 200, use.text);
  assert.equal(use.body.balance, 25);
  const txid = use.body.transaction.id;

  const r = await svc('POST', '/internal/credits/refund', { user_id: user, transaction_id: txid });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.balance, 40);
  const tx = r.body.transaction;
  assert.equal(tx.kind, 'refund');
  assert.equal(tx.amount, 15);
  assert.equal(tx.balance_after, 40);
  assert.notEqual(tx.id, txid);
  assert.match(tx.created_at, ISO_UTC);
  assert.equal(await userBalance(user), 40);

  const again = await svc('POST', '/internal/credits/refund', { user_id: user, transaction_id: txid });
  assert.equal(again.status, 409, again.text);
  assert.equal(again.body.error, 'conflict');
  assert.equal(await userBalance(user), 40);
  assert.equal(ledgerCount(user, 'refund'), 1);
  assert.ok(ledgerMatches(user));

  // The history shows the usage and its refund.
  const list = await call('GET', '/credits/transactions', { token: token({ sub: user }) });
  assert.deepEqual(list.body.transactions.map((t) => [t.kind, t.amount]), [['refund', 15], ['usage', -15], ['adjustment', 40]]);
});

test('refund: the transaction id may be a JSON integer too', async () => {
  const user = newUser();
  await fund(user, 10);
  const use = await svc('POST', '/internal/credits/use', { user_id: user, amount: 4, operation: 'x' });
  const r = await svc('POST', '/internal/credits/refund', { user_id: user, transaction_id: Number(use.body.transaction.id) });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.balance, 10);
});

test('10 concurrent refunds of one usage: exactly one succeeds', async () => {
  const user = newUser();
  await fund(user, 30);
  const use = await svc('POST', '/internal/credits/use', { user_id: user, amount: 9, operation: 'x' });
  const rs = await Promise.all(Array.from({ length: 10 }, () =>
    svc('POST', '/internal/credits/refund', { user_id: user, transaction_id: use.body.transaction.id })));
  const statuses = rs.map((r) => r.status).sort();
  assert.deepEqual(statuses, [200, ...Array(9).fill(409)], rs.map((r) => r.text).join('\n'));
  assert.equal(await userBalance(user), 30);
  assert.equal(ledgerCount(user, 'refund'), 1);
  assert.ok(ledgerMatches(user));
});

test('refund of something that is not a usage (an adjustment, a refund) is 400', async () => {
  const user = newUser();
  const adj = await call('POST', '/admin/credits/adjust', { admin: true, body: { user_id: user, amount: 20, reason: 'r', actor: 'tests' } });
  assert.equal(adj.status, 200, adj.text);
  const r = await svc('POST', '/internal/credits/refund', { user_id: user, transaction_id: adj.body.transaction.id });
  badField(r, 'transaction_id', 'adjustment');

  const use = await svc('POST', '/internal/credits/use', { user_id: user, amount: 5, operation: 'x' });
  const ref = await svc('POST', '/internal/credits/refund', { user_id: user, transaction_id: use.body.transaction.id });
  assert.equal(ref.status, 200, ref.text);
  const r2 = await svc('POST', '/internal/credits/refund', { user_id: user, transaction_id: ref.body.transaction.id });
  badField(r2, 'transaction_id', 'refund of a refund');
  assert.equal(await userBalance(user), 20);
  assert.ok(ledgerMatches(user));
});

test("refund of another user's transaction is 404 and changes nothing", async () => {
  const owner = newUser('owner');
  const other = newUser('other');
  await fund(owner, 10);
  await fund(other, 10);
  const use = await svc('POST', '/internal/credits/use', { user_id: owner, amount: 6, operation: 'x' });
  const r = await svc('POST', '/internal/credits/refund', { user_id: other, transaction_id: use.body.transaction.id });
  assert.equal(r.status, 404, r.text);
  assert.equal(r.body.error, 'not_found');
  assert.equal(await userBalance(other), 10);
  assert.equal(await userBalance(owner), 4);
  // The owner can still get it refunded.
  const ok = await svc('POST', '/internal/credits/refund', { user_id: owner, transaction_id: use.body.transaction.id });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(await userBalance(owner), 10);
});

test('refund: unknown transaction or user is 404; a malformed id is 400', async () => {
  const user = newUser();
  await fund(user, 10);
  const r = await svc('POST', '/internal/credits/refund', { user_id: user, transaction_id: '999999999999' });
  assert.equal(r.status, 404, r.text);
  const r2 = await svc('POST', '/internal/credits/refund', { user_id: newUser('ghost'), transaction_id: '1' });
  assert.equal(r2.status, 404, r2.text);
  for (const id of ['abc', '-1', '0', 1.5, null, undefined, {}])
    badField(await svc('POST', '/internal/credits/refund', { user_id: user, transaction_id: id }), 'transaction_id', JSON.stringify(id));
  assert.equal(await userBalance(user), 10);
});

test('init grants the signup credits (25) once', async () => {
  const user = newUser();
  const r = await svc('POST', '/internal/credits/init', { user_id: user });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.user_id, user);
  assert.equal(r.body.balance, 25);
  assert.equal(r.body.currency, 'EUR');
  assert.equal(r.body.signup_credits_granted, true);
  assert.match(r.body.created_at, ISO_UTC);

  const r2 = await svc('POST', '/internal/credits/init', { user_id: user });
  assert.equal(r2.status, 200, r2.text);
  assert.equal(r2.body.balance, 25);
  assert.equal(r2.body.signup_credits_granted, false);
  assert.equal(await userBalance(user), 25);
  assert.equal(ledgerCount(user, 'grant'), 1);
  assert.ok(ledgerMatches(user));
});

test('init after spending does not grant again; init of a funded account adds 25 once', async () => {
  const user = newUser();
  await fund(user, 10);
  const r = await svc('POST', '/internal/credits/init', { user_id: user });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.balance, 35);
  const use = await svc('POST', '/internal/credits/use', { user_id: user, amount: 35, operation: 'all' });
  assert.equal(use.status, 200, use.text);
  const r2 = await svc('POST', '/internal/credits/init', { user_id: user });
  assert.equal(r2.status, 200, r2.text);
  assert.equal(r2.body.balance, 0);
  assert.equal(await userBalance(user), 0);
  assert.equal(ledgerCount(user, 'grant'), 1);
});

test('10 concurrent inits of a new user: exactly 25 credits and one grant row', async () => {
  const user = newUser();
  const rs = await Promise.all(Array.from({ length: 10 }, () => svc('POST', '/internal/credits/init', { user_id: user })));
  for (const r of rs) assert.equal(r.status, 200, r.text);
  assert.equal(await userBalance(user), 25);
  assert.equal(ledgerCount(user, 'grant'), 1);
  assert.equal(ledgerCount(user), 1);
  assert.deepEqual(sql(`SELECT COUNT(*) FROM accounts WHERE user_id = ${sqlStr(user)}`), [['1']]);
  assert.ok(ledgerMatches(user));
  assert.equal(rs.filter((r) => r.body.signup_credits_granted === true).length, 1);
});

test('concurrent inits all answer the real balance (25), not a stale 0', async () => {
  // Five new users, ten concurrent inits each: the race is hit reliably.
  const stale = [];
  for (let i = 0; i < 5; i++) {
    const user = newUser();
    const rs = await Promise.all(Array.from({ length: 10 }, () => svc('POST', '/internal/credits/init', { user_id: user })));
    for (const r of rs) {
      assert.equal(r.status, 200, r.text);
      if (r.body.balance !== 25) stale.push(r.text);
    }
    assert.equal(dbBalance(user), 25);
  }
  assert.deepEqual(stale, [], `${stale.length} of 50 init answers showed a balance other than 25`);
});

test('init stores the email; a bad email is 400', async () => {
  const user = newUser();
  const r = await svc('POST', '/internal/credits/init', { user_id: user, email: 'new.user@example.com' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.email, 'new.user@example.com');
  assert.deepEqual(sql(`SELECT email FROM accounts WHERE user_id = ${sqlStr(user)}`), [['new.user@example.com']]);

  // A later init with another email updates it; no second grant.
  const r2 = await svc('POST', '/internal/credits/init', { user_id: user, email: 'changed@example.com' });
  assert.equal(r2.status, 200, r2.text);
  assert.equal(r2.body.email, 'changed@example.com');
  assert.deepEqual(sql(`SELECT email FROM accounts WHERE user_id = ${sqlStr(user)}`), [['changed@example.com']]);
  assert.equal(dbBalance(user), 25);

  const bad = newUser();
  for (const email of ['not-an-email', 42, '', `${'a'.repeat(320)}@example.com`])
    badField(await svc('POST', '/internal/credits/init', { user_id: bad, email }), 'email', JSON.stringify(email).slice(0, 40));
  assert.equal(dbBalance(bad), null, 'a rejected init creates nothing');
});

test('init with a long internationalised email: rejected, or stored and the account keeps working', async () => {
  // 212 characters (under the 320 allowed), 412 bytes of UTF-8.
  const user = newUser();
  const email = `${'é'.repeat(200)}@example.com`;
  const r = await svc('POST', '/internal/credits/init', { user_id: user, email });
  if (r.status === 400) {
    assert.equal(r.body.field, 'email', r.text);
  } else {
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.email, email);
  }
  // Whatever init said, the user can still use the wallet.
  const b = await call('GET', '/credits/balance', { token: token({ sub: user }) });
  assert.equal(b.status, 200, `balance after init with a long email: ${b.status} ${b.text}`);
  const ib = await svc('GET', `/internal/credits/balance/${user}`);
  assert.equal(ib.status, 200, ib.text);
  await fund(user, 5);
  const use = await svc('POST', '/internal/credits/use', { user_id: user, amount: 1, operation: 'x' });
  assert.equal(use.status, 200, use.text);
});

test('init echoes a long multibyte user_id exactly', async () => {
  // 255 characters is the documented maximum: here 100 three-byte ones plus ASCII.
  const user = `${'€'.repeat(100)}${newUser()}`;
  assert.ok([...user].length <= 255);
  const r = await svc('POST', '/internal/credits/init', { user_id: user });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.user_id, user, 'user_id came back changed');
  assert.equal(r.body.balance, 25);
  assert.equal(dbBalance(user), 25);
});
