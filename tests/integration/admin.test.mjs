// Admin routes: credit adjustments and the audit log.
import test from 'node:test';
import assert from 'node:assert/strict';
import { call, token, newUser, sql, sqlStr, dbBalance, ledgerCount, ledgerMatches, ISO_UTC } from './lib.mjs';

const adjust = (body, headers = {}) => call('POST', '/admin/credits/adjust', { admin: true, body, headers });

function auditRows(user) {
  return Number(sql(`SELECT COUNT(*) FROM audit_log WHERE target = ${sqlStr(user)}`)[0][0]);
}

async function audit(limit) {
  const r = await call('GET', `/admin/audit${limit === undefined ? '' : `?limit=${limit}`}`, { admin: true });
  assert.equal(r.status, 200, r.text);
  return r.body.entries;
}

function badField(r, field, what = '') {
  assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
  assert.equal(r.body?.error, 'invalid_request', what);
  assert.equal(r.body.field, field, `${what}: ${r.text}`);
}

test('adjust adds and removes credits, with an adjustment transaction', async () => {
  const user = newUser();
  const r = await adjust({ user_id: user, amount: 100, reason: 'goodwill', actor: 'alice' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.balance, 100);
  assert.equal(r.body.transaction.kind, 'adjustment');
  assert.equal(r.body.transaction.amount, 100);
  assert.equal(r.body.transaction.balance_after, 100);
  assert.match(r.body.transaction.id, /^[1-9][0-9]*$/);
  assert.match(r.body.transaction.created_at, ISO_UTC);

  const r2 = await adjust({ user_id: user, amount: -30, reason: 'correction', actor: 'alice' });
  assert.equal(r2.status, 200, r2.text);
  assert.equal(r2.body.balance, 70);
  assert.equal(r2.body.transaction.amount, -30);
  assert.equal(r2.body.transaction.kind, 'adjustment');

  const b = await call('GET', '/credits/balance', { token: token({ sub: user }) });
  assert.equal(b.body.balance, 70);
  // The user sees the reason in the history.
  const list = await call('GET', '/credits/transactions', { token: token({ sub: user }) });
  assert.deepEqual(list.body.transactions.map((t) => [t.kind, t.amount, t.description]),
    [['adjustment', -30, 'correction'], ['adjustment', 100, 'goodwill']]);
  assert.ok(ledgerMatches(user));
});

test('adjust below zero is 402 and changes nothing (no ledger row, no audit row)', async () => {
  const user = newUser();
  await adjust({ user_id: user, amount: 70, reason: 'r', actor: 'alice' });
  const ledger = ledgerCount(user);
  const rows = auditRows(user);
  const r = await adjust({ user_id: user, amount: -71, reason: 'too much', actor: 'alice' });
  assert.equal(r.status, 402, r.text);
  assert.equal(r.body.error, 'insufficient_credits');
  assert.equal(dbBalance(user), 70);
  assert.equal(ledgerCount(user), ledger);
  assert.equal(auditRows(user), rows);
  // Down to exactly zero is fine.
  const r2 = await adjust({ user_id: user, amount: -70, reason: 'close', actor: 'alice' });
  assert.equal(r2.status, 200, r2.text);
  assert.equal(r2.body.balance, 0);
});

test('adjust: bad amount, user or reason is 400 and changes nothing', async () => {
  const user = newUser();
  await adjust({ user_id: user, amount: 5, reason: 'r', actor: 'alice' });
  const rows = auditRows(user);
  for (const amount of [0, 1.5, '10', null, undefined, true])
    badField(await adjust({ user_id: user, amount, reason: 'r', actor: 'alice' }), 'amount', JSON.stringify(amount));
  badField(await adjust({ amount: 5, reason: 'r', actor: 'alice' }), 'user_id', 'no user');
  badField(await adjust({ user_id: user, amount: 5, actor: 'alice' }), 'reason', 'no reason');
  badField(await adjust({ user_id: user, amount: 5, reason: 'r'.repeat(501), actor: 'alice' }), 'reason', 'long reason');
  badField(await adjust({ user_id: user, amount: 5, reason: 'r', actor: 'a'.repeat(101) }), 'actor', 'long actor');
  badField(await adjust({ user_id: user, amount: 5, reason: 'r', actor: 7 }), 'actor', 'number actor');
  assert.equal(dbBalance(user), 5);
  assert.equal(auditRows(user), rows);
});

test('adjust: overflowing the balance is a 400, not a wrap or a 500', async () => {
  const user = newUser();
  const max = '9223372036854775807';
  const r = await call('POST', '/admin/credits/adjust', { admin: true, contentType: 'application/json',
    raw: `{"user_id":"${user}","amount":${max},"reason":"huge","actor":"alice"}` });
  assert.equal(r.status, 200, r.text);
  const r2 = await adjust({ user_id: user, amount: 1, reason: 'one more', actor: 'alice' });
  assert.equal(r2.status, 400, r2.text);
  assert.equal(sql(`SELECT balance FROM accounts WHERE user_id = ${sqlStr(user)}`)[0][0], max);
  assert.ok(ledgerMatches(user));
});

test('adjust without an actor (body or X-Actor) is 400 naming actor', async () => {
  const user = newUser();
  const r = await adjust({ user_id: user, amount: 10, reason: 'no actor' });
  badField(r, 'actor', 'no actor');
  const r2 = await adjust({ user_id: user, amount: 10, reason: 'empty actor', actor: '' });
  badField(r2, 'actor', 'empty actor');
  assert.equal(dbBalance(user) ?? 0, 0);
  assert.equal(auditRows(user), 0);
});

test('the X-Actor header names the person when the body does not', async () => {
  const user = newUser();
  const r = await adjust({ user_id: user, amount: 12, reason: 'via header' }, { 'X-Actor': 'bob@example.com' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.balance, 12);
  const entry = (await audit(100)).find((e) => e.target === user);
  assert.equal(entry.actor, 'bob@example.com');
  // The body wins over the header when both are given.
  const r2 = await adjust({ user_id: user, amount: 1, reason: 'both', actor: 'carol' }, { 'X-Actor': 'bob@example.com' });
  assert.equal(r2.status, 200, r2.text);
  assert.equal((await audit(100)).find((e) => e.target === user).actor, 'carol');
});

test('an X-Actor longer than the audit column is a 400, not a 500', async () => {
  const user = newUser();
  const r = await adjust({ user_id: user, amount: 12, reason: 'long header actor' }, { 'X-Actor': 'x'.repeat(150) });
  assert.ok(r.status === 400 || (r.status === 200 && (await audit(100)).find((e) => e.target === user)?.actor === 'x'.repeat(150)),
    `X-Actor of 150 chars: ${r.status} ${r.text}`);
  if (r.status === 400) assert.equal(dbBalance(user) ?? 0, 0);
});

test('audit entries: newest first, with actor, action, target, details and created_at', async () => {
  const user = newUser();
  const before = Date.now();
  const r1 = await adjust({ user_id: user, amount: 50, reason: 'first', actor: 'alice' });
  const r2 = await adjust({ user_id: user, amount: -20, reason: 'second', actor: 'dave' });
  assert.equal(r1.status, 200);
  assert.equal(r2.status, 200);
  const entries = (await audit()).filter((e) => e.target === user);
  assert.equal(entries.length, 2);
  const [newest, older] = entries;
  assert.deepEqual(Object.keys(newest).sort(), ['action', 'actor', 'created_at', 'details', 'target']);
  assert.equal(newest.actor, 'dave');
  assert.equal(newest.action, 'credits.adjust');
  assert.equal(newest.target, user);
  assert.equal(typeof newest.details, 'object');
  assert.ok(newest.details !== null && !Array.isArray(newest.details));
  assert.equal(newest.details.amount, -20);
  assert.equal(newest.details.reason, 'second');
  assert.equal(String(newest.details.transaction_id), r2.body.transaction.id);
  assert.equal(newest.details.balance_after, 30);
  assert.match(newest.created_at, ISO_UTC);
  assert.ok(Date.parse(newest.created_at) >= before - 2000 && Date.parse(newest.created_at) <= Date.now() + 2000);
  assert.equal(older.actor, 'alice');
  assert.equal(older.details.amount, 50);
  assert.equal(older.details.reason, 'first');

  // The whole list is newest first: the very first entry is the last adjustment.
  const all = await audit();
  assert.equal(all[0].target, user);
  assert.equal(all[0].actor, 'dave');
  for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].created_at >= all[i].created_at, 'newest first');
});

test('audit limit: 1..100, default up to 100, outside is 400', async () => {
  const users = [newUser(), newUser(), newUser()];
  for (const [i, u] of users.entries()) await adjust({ user_id: u, amount: i + 1, reason: 'limit test', actor: 'erin' });
  const one = await audit(1);
  assert.equal(one.length, 1);
  assert.equal(one[0].target, users[2]);
  const three = await audit(3);
  assert.deepEqual(three.map((e) => e.target), [...users].reverse());
  const dflt = await audit();
  assert.ok(dflt.length >= 3 && dflt.length <= 100);
  for (const limit of ['0', '101', 'abc', '-1']) {
    const r = await call('GET', `/admin/audit?limit=${limit}`, { admin: true });
    badField(r, 'limit', `limit=${limit}`);
  }
});

test('adjust for a user without an account creates it', async () => {
  const user = newUser();
  assert.equal(dbBalance(user), null);
  const r = await adjust({ user_id: user, amount: 3, reason: 'welcome', actor: 'alice' });
  assert.equal(r.status, 200, r.text);
  assert.equal(dbBalance(user), 3);
  const b = await call('GET', '/credits/balance', { token: token({ sub: user }) });
  assert.deepEqual(b.body, { balance: 3, currency: 'EUR' });
});

test('the audit target is the exact user id, also a long multibyte one', async () => {
  const user = `${'ü'.repeat(150)}${newUser()}`;
  const r = await adjust({ user_id: user, amount: 9, reason: 'unicode user', actor: 'alice' });
  assert.equal(r.status, 200, r.text);
  assert.equal(dbBalance(user), 9);
  const entry = (await audit(1))[0];
  assert.equal(entry.details.reason, 'unicode user');
  assert.equal(entry.target, user, 'audit target came back changed');
  assert.equal(auditRows(user), 1);
});
