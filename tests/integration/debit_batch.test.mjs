// Debits made at the same moment share one round trip and one transaction
// ([database] batch_debits, db/db_combine.c): each keeps its own answer,
// nothing is applied twice, a server error in a shared packet rolls it back
// and its debits then run one by one, and text reaches the ledger exactly.
import test from 'node:test';
import assert from 'node:assert/strict';
import { call, token, newUser, fund, sql, sqlStr, dbBalance, ledgerCount, ledgerMatches, statusCounts } from './lib.mjs';
import { parseProm } from './prom.mjs';

// The responders' debit packet counters (shared by every API responder).
async function batchCounts() {
  const r = await call('GET', '/admin/metrics', { admin: true });
  assert.equal(r.status, 200);
  const out = { batches: 0, batched: 0, alone: 0 };
  for (const s of parseProm(r.text).samples)
    if (s.name === 'tally_db_debit_batches_total') out[s.labels.kind] = s.value;
  return out;
}

test('concurrent debits of 8 wallets share packets and stay exact', async () => {
  const users = Array.from({ length: 8 }, () => newUser('batch'));
  for (const u of users) await fund(u, 40);
  const before = await batchCounts();
  const reqs = [];
  for (let i = 0; i < 60; i++)
    for (const [k, u] of users.entries())
      reqs.push(k % 2 === 0
        ? call('POST', '/internal/credits/use', { service: true, body: { user_id: u, amount: 1, operation: 'batched', description: `#${i}` } })
        : call('POST', '/credits/use', { token: token({ sub: u }), body: { amount: 1, operation: 'batched', description: `#${i}` } }));
  const rs = await Promise.all(reqs);
  assert.deepEqual(statusCounts(rs), { 200: 320, 402: 160 });
  const after = await batchCounts();
  assert.ok(after.batches > before.batches, `no debit shared a packet: ${JSON.stringify(after)}`);
  assert.ok(after.batched - before.batched >= 2 * (after.batches - before.batches));

  for (const [k, u] of users.entries()) {
    const mine = rs.filter((_, i) => i % 8 === k);
    // Every success saw its own balance, from 39 down to 0, and its own row.
    const seen = mine.filter((r) => r.status === 200).map((r) => r.body.balance).sort((a, b) => a - b);
    assert.deepEqual(seen, Array.from({ length: 40 }, (_, i) => i), u);
    const ids = new Set(mine.filter((r) => r.status === 200).map((r) => r.body.transaction.id));
    assert.equal(ids.size, 40);
    for (const r of mine.filter((x) => x.status === 402)) assert.equal(r.body.error, 'insufficient_credits');
    assert.equal(dbBalance(u), 0, u);
    assert.ok(ledgerMatches(u), u);
    assert.equal(ledgerCount(u, 'usage'), 40);
    // The answer is the row: each 200's transaction is in the ledger as sent.
    const rows = sql(`SELECT l.id, l.balance_after, l.description FROM ledger l JOIN accounts a ON a.id = l.account_id WHERE a.user_id = ${sqlStr(u)} AND l.kind = 'usage'`);
    const byId = new Map(rows.map(([id, bal, desc]) => [id, [Number(bal), desc]]));
    for (const r of mine.filter((x) => x.status === 200)) {
      assert.deepEqual(byId.get(r.body.transaction.id), [r.body.balance, r.body.transaction.description]);
    }
  }
});

test('text in a shared packet reaches the ledger exactly (quotes, backslashes, unicode)', async () => {
  const user = newUser('batchtxt');
  await fund(user, 1000);
  const t = token({ sub: user, email: "o'brien\\x@example.com" });
  const before = await batchCounts();
  const texts = [
    "it's", 'back\\slash', 'quote " and \\\' mixed', "x'); DELETE FROM ledger; --", 'ünïcødé € 😀', '%_*?', 'tab\tnew\nline',
  ];
  const rs = await Promise.all(Array.from({ length: 140 }, (_, i) => {
    const s = texts[i % texts.length];
    return i % 2 === 0
      ? call('POST', '/credits/use', { token: t, body: { amount: 1, operation: `op ${s}`, description: `${s} #${i}` } })
      : call('POST', '/internal/credits/use', { service: true, body: { user_id: user, amount: 1, operation: `op ${s}`, description: `${s} #${i}` } });
  }));
  assert.deepEqual(statusCounts(rs), { 200: 140 });
  // They went in packets, and no packet failed (a packet with a badly
  // quoted string would fail on the server and its debits go alone).
  const after = await batchCounts();
  assert.ok(after.batches > before.batches, `no debit shared a packet: ${JSON.stringify(after)}`);
  assert.equal(after.alone, before.alone, 'no packet was rolled back');
  for (const [i, r] of rs.entries()) {
    const s = texts[i % texts.length];
    assert.equal(r.body.transaction.operation, `op ${s}`);
    assert.equal(r.body.transaction.description, `${s} #${i}`);
  }
  const rows = sql(`SELECT HEX(l.operation), HEX(l.description) FROM ledger l JOIN accounts a ON a.id = l.account_id WHERE a.user_id = ${sqlStr(user)} AND l.kind = 'usage'`);
  const hex = (s) => Buffer.from(s, 'utf8').toString('hex').toUpperCase();
  const want = rs.map((_, i) => `${hex(`op ${texts[i % texts.length]}`)} ${hex(`${texts[i % texts.length]} #${i}`)}`).sort();
  assert.deepEqual(rows.map(([o, d]) => `${o} ${d}`).sort(), want);
  assert.equal(dbBalance(user), 860);
  assert.ok(ledgerMatches(user));
  assert.deepEqual(sql(`SELECT email FROM accounts WHERE user_id = ${sqlStr(user)}`), [["o'brien\\\\x@example.com"]]);
});

test('a server error in a shared packet rolls it back; its other debits then go alone, once each', async () => {
  const users = Array.from({ length: 6 }, () => newUser('batchboom'));
  for (const u of users) await fund(u, 1000);
  // A ledger row with operation "boom" fails on the server (its kind then
  // breaks the table's CHECK), inside the packet: the whole packet must
  // roll back and the rest run one by one.
  sql(`CREATE TRIGGER tally_test_boom BEFORE INSERT ON ledger FOR EACH ROW
       SET NEW.kind = IF(NEW.operation = 'boom', 'boom', NEW.kind)`);
  try {
    const before = await batchCounts();
    const reqs = [];
    for (let i = 0; i < 50; i++)
      for (const u of users)
        reqs.push(call('POST', '/internal/credits/use', { service: true,
          body: { user_id: u, amount: 1, operation: i % 10 === 3 ? 'boom' : 'fine', description: `#${i}` } }));
    const rs = await Promise.all(reqs);
    const boom = rs.filter((_, i) => Math.floor(i / 6) % 10 === 3);
    const fine = rs.filter((_, i) => Math.floor(i / 6) % 10 !== 3);
    assert.deepEqual(statusCounts(boom), { 500: 30 });
    assert.deepEqual(statusCounts(fine), { 200: 270 });
    const after = await batchCounts();
    assert.ok(after.alone > before.alone, `no packet was rolled back: ${JSON.stringify(after)}`);
    for (const u of users) {
      assert.equal(dbBalance(u), 1000 - 45, u);
      assert.ok(ledgerMatches(u), u);
      assert.equal(ledgerCount(u, 'usage'), 45);
      assert.deepEqual(sql(`SELECT COUNT(*) FROM ledger l JOIN accounts a ON a.id = l.account_id WHERE a.user_id = ${sqlStr(u)} AND l.operation = 'boom'`), [['0']]);
    }
  } finally {
    sql('DROP TRIGGER IF EXISTS tally_test_boom');
  }
});
