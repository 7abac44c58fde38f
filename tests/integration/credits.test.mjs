// The user's credit wallet: balance, usage, input validation, history, purchases.
import test from 'node:test';
import crypto from 'node:crypto';
import assert from 'node:assert/strict';
import { call, token, newUser, fund, sql, sqlStr, dbBalance, ledgerCount, ledgerMatches, ISO_UTC, API } from './lib.mjs';

function as(user, claims = {}) {
  return token({ sub: user, ...claims });
}

async function balanceOf(user) {
  const r = await call('GET', '/credits/balance', { token: as(user) });
  assert.equal(r.status, 200, r.text);
  return r.body.balance;
}

function badField(r, field, what = '') {
  assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
  assert.equal(r.body?.error, 'invalid_request', `${what}: ${r.text}`);
  assert.equal(r.body.field, field, `${what}: ${r.text}`);
  assert.equal(typeof r.body.message, 'string');
}

test('a new user has balance 0 in EUR', async () => {
  const r = await call('GET', '/credits/balance', { token: as(newUser()) });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { balance: 0, currency: 'EUR' });
});

test('the account is created on first use, once', async () => {
  const user = newUser();
  assert.equal(dbBalance(user), null);
  const rs = await Promise.all(Array.from({ length: 8 }, () => call('GET', '/credits/balance', { token: as(user) })));
  for (const r of rs) assert.equal(r.status, 200, r.text);
  assert.deepEqual(sql(`SELECT COUNT(*), MIN(balance) FROM accounts WHERE user_id = ${sqlStr(user)}`), [['1', '0']]);
});

test('user ids are exact: "X" and "X " are different wallets', async () => {
  const user = newUser();
  await fund(user, 50);
  const r = await call('GET', '/credits/balance', { token: as(`${user} `) });
  // Either a separate, empty wallet or a refusal; never the other user's credits.
  if (r.status === 200) assert.equal(r.body.balance, 0, `"${user} " sees the wallet of "${user}"`);
  else assert.equal(r.status, 401, r.text);
  const use = await call('POST', '/credits/use', { token: as(`${user} `), body: { amount: 50, operation: 'steal' } });
  assert.notEqual(use.status, 200, `"${user} " spent the credits of "${user}"`);
  assert.equal(dbBalance(user), 50);
});

test('POST /credits/use debits and returns the transaction', async () => {
  const user = newUser();
  await fund(user, 100);
  const before = Date.now();
  const r = await call('POST', '/credits/use', { token: as(user),
    body: { amount: 30, operation: 'pdf.export', description: 'Exported report.pdf' } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.body).sort(), ['balance', 'transaction']);
  assert.equal(r.body.balance, 70);
  const tx = r.body.transaction;
  assert.equal(typeof tx.id, 'string');
  assert.match(tx.id, /^[1-9][0-9]*$/);
  assert.equal(tx.kind, 'usage');
  assert.equal(tx.amount, -30);
  assert.equal(tx.balance_after, 70);
  assert.equal(tx.operation, 'pdf.export');
  assert.equal(tx.description, 'Exported report.pdf');
  assert.match(tx.created_at, ISO_UTC);
  const t = Date.parse(tx.created_at);
  assert.ok(t >= before - 2000 && t <= Date.now() + 2000, `created_at ${tx.created_at} is now`);

  assert.equal(await balanceOf(user), 70);
  assert.ok(ledgerMatches(user));
  // Without a description, the field is absent (or null), never made up.
  const r2 = await call('POST', '/credits/use', { token: as(user), body: { amount: 1, operation: 'ping' } });
  assert.equal(r2.status, 200, r2.text);
  assert.ok(r2.body.transaction.description === undefined || r2.body.transaction.description === null);
  assert.equal(r2.body.balance, 69);
});

test('spending the whole balance is allowed; one more credit is 402 and changes nothing', async () => {
  const user = newUser();
  await fund(user, 10);
  const count = ledgerCount(user);
  const r = await call('POST', '/credits/use', { token: as(user), body: { amount: 11, operation: 'big' } });
  assert.equal(r.status, 402, r.text);
  assert.equal(r.body.error, 'insufficient_credits');
  assert.equal(typeof r.body.message, 'string');
  assert.equal(await balanceOf(user), 10);
  assert.equal(ledgerCount(user), count);

  const ok = await call('POST', '/credits/use', { token: as(user), body: { amount: 10, operation: 'all' } });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.balance, 0);
  const again = await call('POST', '/credits/use', { token: as(user), body: { amount: 1, operation: 'more' } });
  assert.equal(again.status, 402, again.text);
  assert.equal(await balanceOf(user), 0);
  assert.ok(ledgerMatches(user));
});

test('the largest int64 amount is a clean 402, not an overflow', async () => {
  const user = newUser();
  await fund(user, 5);
  const r = await call('POST', '/credits/use', { token: as(user),
    raw: '{"amount":9223372036854775807,"operation":"max"}', contentType: 'application/json' });
  assert.equal(r.status, 402, r.text);
  assert.equal(await balanceOf(user), 5);
});

test('bad amount: 400 with field "amount", nothing changed', async () => {
  const user = newUser();
  await fund(user, 5000);
  const count = ledgerCount(user);
  const raws = {
    zero: '{"amount":0,"operation":"x"}',
    negative: '{"amount":-1,"operation":"x"}',
    fraction: '{"amount":1.5,"operation":"x"}',
    'integral float': '{"amount":5.0,"operation":"x"}',
    exponent: '{"amount":1e3,"operation":"x"}',
    string: '{"amount":"5","operation":"x"}',
    missing: '{"operation":"x"}',
    null: '{"amount":null,"operation":"x"}',
    boolean: '{"amount":true,"operation":"x"}',
    array: '{"amount":[5],"operation":"x"}',
    'int64 min': '{"amount":-9223372036854775808,"operation":"x"}',
  };
  for (const [what, raw] of Object.entries(raws)) {
    const r = await call('POST', '/credits/use', { token: as(user), raw, contentType: 'application/json' });
    badField(r, 'amount', what);
  }
  // Beyond int64: valid JSON, so a bad field, not a bad body.
  for (const big of ['9223372036854775808', '18446744073709551616', '-9223372036854775809']) {
    const r = await call('POST', '/credits/use', { token: as(user),
      raw: `{"amount":${big},"operation":"x"}`, contentType: 'application/json' });
    badField(r, 'amount', big);
    assert.equal(r.body.message, 'amount: out of range');
  }
  assert.equal(await balanceOf(user), 5000);
  assert.equal(ledgerCount(user), count);
});

test('an integer beyond 64 bits is 400 invalid_request naming its field on every route, nothing changed', async () => {
  const user = newUser();
  await fund(user, 500);
  const count = ledgerCount(user);
  const gifts = () => Number(sql(`SELECT COUNT(*) FROM gifts g JOIN accounts a ON a.id = g.creator_account_id WHERE a.user_id = ${sqlStr(user)}`)[0][0]);
  const audits = () => Number(sql(`SELECT COUNT(*) FROM audit_log WHERE target LIKE ${sqlStr(`%${user}%`)}`)[0][0]);
  const giftsBefore = gifts();
  const auditsBefore = audits();
  const cases = [
    ['/credits/use', { token: as(user) }, 'amount', '{"amount": 9223372036854775808, "operation": "x"}'],
    ['/credits/use', { token: as(user) }, 'amount', '{"operation": "x", "amount": -9223372036854775809}'],
    ['/internal/credits/use', { service: true }, 'amount', `{"user_id": "${user}", "amount": 18446744073709551616, "operation": "x"}`],
    ['/admin/credits/adjust', { admin: true }, 'amount', `{"user_id": "${user}", "amount": -99999999999999999999, "reason": "r", "actor": "ops"}`],
    ['/gifts', { token: as(user) }, 'credits', '{"type": "simple", "credits": 9223372036854775808}'],
    ['/gifts', { token: as(user) }, 'credits', '{"type": "simple", "credits": 1e400}'],
    // Where the field sits deeper, the path names it.
    ['/credits/use', { token: as(user) }, 'meta.n[1]', '{"amount": 1, "operation": "x", "meta": {"n": [1, 9223372036854775808]}}'],
  ];
  for (const [path, auth, field, raw] of cases) {
    for (const key of [undefined, `big-${crypto.randomUUID()}`]) {
      const headers = key ? { 'Idempotency-Key': key } : {};
      const r = await call('POST', path, { ...auth, headers, raw, contentType: 'application/json' });
      badField(r, field, `${path} ${raw}`);
      assert.equal(r.body.message, `${field}: out of range`);
    }
  }
  assert.equal(await balanceOf(user), 500);
  assert.equal(ledgerCount(user), count);
  assert.equal(gifts(), giftsBefore);
  assert.equal(audits(), auditsBefore);
  assert.ok(ledgerMatches(user));
});

test('bad operation or description: 400 naming the field, nothing changed', async () => {
  const user = newUser();
  await fund(user, 100);
  const count = ledgerCount(user);
  const cases = [
    ['operation', { amount: 1 }, 'missing'],
    ['operation', { amount: 1, operation: '' }, 'empty'],
    ['operation', { amount: 1, operation: 'o'.repeat(101) }, '101 chars'],
    ['operation', { amount: 1, operation: '€'.repeat(101) }, '101 multibyte chars'],
    ['operation', { amount: 1, operation: 5 }, 'number'],
    ['operation', { amount: 1, operation: ['x'] }, 'array'],
    ['operation', { amount: 1, operation: { a: 1 } }, 'object'],
    ['description', { amount: 1, operation: 'x', description: 'd'.repeat(501) }, '501 chars'],
    ['description', { amount: 1, operation: 'x', description: '😀'.repeat(501) }, '501 emoji'],
    ['description', { amount: 1, operation: 'x', description: 42 }, 'number'],
    ['description', { amount: 1, operation: 'x', description: false }, 'boolean'],
  ];
  for (const [field, body, what] of cases) {
    const r = await call('POST', '/credits/use', { token: as(user), body });
    badField(r, field, `${field} ${what}`);
  }
  assert.equal(await balanceOf(user), 100);
  assert.equal(ledgerCount(user), count);
});

test('limits are in characters: 100-char operation and 500-char description are accepted, multibyte too', async () => {
  const user = newUser();
  await fund(user, 10);
  for (const [operation, description] of [['o'.repeat(100), 'd'.repeat(500)], ['€'.repeat(100), '😀'.repeat(500)]]) {
    const r = await call('POST', '/credits/use', { token: as(user), body: { amount: 1, operation, description } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.transaction.operation, operation);
    assert.equal(r.body.transaction.description, description);
  }
  assert.equal(await balanceOf(user), 8);
});

test('a body that is not a JSON object: 400 invalid_json, nothing changed', async () => {
  const user = newUser();
  await fund(user, 10);
  const raws = { garbage: 'amount=1&operation=x', truncated: '{"amount":1,"operation":"x"', empty: '',
    array: '[{"amount":1,"operation":"x"}]', number: '5', string: '"x"', null: 'null',
    'trailing garbage': '{"amount":1,"operation":"x"} x', 'invalid UTF-8': Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]),
    'duplicate keys': '{"amount":1,"amount":2,"operation":"x"}' };
  for (const [what, raw] of Object.entries(raws)) {
    const r = await call('POST', '/credits/use', { token: as(user), raw, contentType: 'application/json' });
    assert.equal(r.status, 400, `${what}: ${r.text}`);
    assert.equal(r.body?.error, 'invalid_json', `${what}: ${r.text}`);
  }
  assert.equal(await balanceOf(user), 10);
});

test('unknown fields are ignored', async () => {
  const user = newUser();
  await fund(user, 10);
  const r = await call('POST', '/credits/use', { token: as(user), body: { amount: 2, operation: 'x', colour: 'blue', user_id: 'someone-else' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.balance, 8);
});

test('Content-Type: wrong or missing is 415; application/json with charset is fine', async () => {
  const user = newUser();
  await fund(user, 10);
  const json = JSON.stringify({ amount: 1, operation: 'x' });
  for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', 'multipart/form-data; boundary=x']) {
    const r = await call('POST', '/credits/use', { token: as(user), raw: json, contentType: ct });
    assert.equal(r.status, 415, `${ct}: ${r.text}`);
    assert.equal(r.body?.error, 'unsupported_media_type');
  }
  // A Buffer body makes fetch send no Content-Type at all.
  const none = await fetch(`${API}/credits/use`, { method: 'POST', body: Buffer.from(json),
    headers: { Authorization: `Bearer ${as(user)}` } });
  assert.equal(none.status, 415);
  assert.equal((await none.json()).error, 'unsupported_media_type');
  assert.equal(await balanceOf(user), 10);

  const ok = await call('POST', '/credits/use', { token: as(user), raw: json, contentType: 'application/json; charset=utf-8' });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(await balanceOf(user), 9);
});

test('a body over http.max_body is 413 payload_too_large, nothing changed', async () => {
  const user = newUser();
  await fund(user, 10);
  const raw = JSON.stringify({ amount: 1, operation: 'x', description: 'd'.repeat(200 * 1024) });
  const r = await call('POST', '/credits/use', { token: as(user), raw, contentType: 'application/json' });
  assert.equal(r.status, 413, r.text.slice(0, 200));
  assert.equal(r.body?.error, 'payload_too_large');
  assert.ok(r.headers.get('x-request-id'));
  assert.equal(await balanceOf(user), 10);
  // Just over the limit too (65536 bytes allowed).
  const over = `{"amount":1,"operation":"x","pad":"${'p'.repeat(65536)}"}`;
  const r2 = await call('POST', '/credits/use', { token: as(user), raw: over, contentType: 'application/json' });
  assert.equal(r2.status, 413, r2.text.slice(0, 200));
  // And a body of exactly 65536 bytes is accepted.
  const head = '{"amount":1,"operation":"x","pad":"';
  const exact = `${head}${'p'.repeat(65536 - head.length - 2)}"}`;
  assert.equal(Buffer.byteLength(exact), 65536);
  const r3 = await call('POST', '/credits/use', { token: as(user), raw: exact, contentType: 'application/json' });
  assert.equal(r3.status, 200, r3.text.slice(0, 200));
  assert.equal(await balanceOf(user), 9);
});

test('unicode in operation and description round-trips byte-exact', async () => {
  const user = newUser();
  await fund(user, 100);
  const operation = 'résumé.🚀.日本語';
  const description = 'Zoë\'s "quoted" \\ back\\slash — 👩‍👩‍👧‍👦 family, ﷺ, עברית, e\u0301 (combining), \u00a0nbsp, 𝄞';
  const r = await call('POST', '/credits/use', { token: as(user), body: { amount: 3, operation, description } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.transaction.operation, operation);
  assert.equal(r.body.transaction.description, description);

  const list = await call('GET', '/credits/transactions', { token: as(user) });
  assert.equal(list.status, 200, list.text);
  const tx = list.body.transactions.find((t) => t.id === r.body.transaction.id);
  assert.equal(tx.operation, operation);
  assert.equal(tx.description, description);
  // Stored as the same bytes (no normalisation, no replacement characters).
  assert.deepEqual(sql(`SELECT HEX(operation), HEX(description) FROM ledger WHERE id = ${Number(tx.id)}`),
    [[Buffer.from(operation).toString('hex').toUpperCase(), Buffer.from(description).toString('hex').toUpperCase()]]);
});

test('odd strings either round-trip exactly or get a 400, never a 500', async () => {
  const user = newUser();
  await fund(user, 100);
  const raws = {
    'NUL escape': '"a\\u0000b"',
    'lone surrogate': '"\\ud800"',
    'escaped pair': '"\\ud83d\\ude80"',
    'control chars': '"line1\\nline2\\ttab\\u0001"',
    'trailing spaces': '"spaces   "',
    'leading spaces': '"   spaces"',
    'U+FFFF': '"\\uffff"',
    'BOM': '"\\ufeffbom"',
  };
  for (const [what, str] of Object.entries(raws)) {
    for (const field of ['operation', 'description']) {
      const body = field === 'operation' ? `{"amount":1,"operation":${str}}` : `{"amount":1,"operation":"x","description":${str}}`;
      const before = dbBalance(user);
      const r = await call('POST', '/credits/use', { token: as(user), raw: body, contentType: 'application/json' });
      assert.ok([200, 400].includes(r.status), `${what} in ${field}: ${r.status} ${r.text}`);
      if (r.status === 400) {
        assert.equal(dbBalance(user), before, `${what}: a 400 changed nothing`);
        continue;
      }
      const sent = JSON.parse(str);
      assert.equal(r.body.transaction[field], sent, `${what} in ${field} came back changed`);
      const hex = sql(`SELECT HEX(${field}) FROM ledger WHERE id = ${Number(r.body.transaction.id)}`)[0][0];
      assert.equal(hex, Buffer.from(sent).toString('hex').toUpperCase(), `${what} stored changed`);
    }
  }
  assert.ok(ledgerMatches(user));
});

test('transactions: newest first, paged with limit, before and next', async () => {
  const user = newUser();
  await fund(user, 100); // 1 adjustment
  const ids = [];
  for (let i = 1; i <= 4; i++) {
    const r = await call('POST', '/credits/use', { token: as(user), body: { amount: i, operation: `op${i}` } });
    assert.equal(r.status, 200, r.text);
    ids.push(r.body.transaction.id);
  }
  // 5 transactions in all.
  const all = await call('GET', '/credits/transactions', { token: as(user) });
  assert.equal(all.status, 200, all.text);
  assert.deepEqual(Object.keys(all.body).sort(), ['next', 'transactions']);
  assert.equal(all.body.transactions.length, 5);
  assert.equal(all.body.next, null);
  const got = all.body.transactions;
  assert.deepEqual(got.slice(0, 4).map((t) => t.id), [...ids].reverse());
  assert.deepEqual(got.map((t) => t.kind), ['usage', 'usage', 'usage', 'usage', 'adjustment']);
  assert.deepEqual(got.map((t) => t.amount), [-4, -3, -2, -1, 100]);
  assert.deepEqual(got.map((t) => t.balance_after), [90, 94, 97, 99, 100]);
  for (let i = 1; i < got.length; i++) assert.ok(BigInt(got[i - 1].id) > BigInt(got[i].id), 'ids descend');
  for (const t of got) {
    assert.equal(typeof t.id, 'string');
    assert.match(t.created_at, ISO_UTC);
  }

  // Page by 2: 2 + 2 + 1, next null at the end.
  const pages = [];
  let before = null;
  for (;;) {
    const q = before ? `?limit=2&before=${encodeURIComponent(before)}` : '?limit=2';
    const r = await call('GET', `/credits/transactions${q}`, { token: as(user) });
    assert.equal(r.status, 200, r.text);
    pages.push(r.body.transactions.map((t) => t.id));
    if (r.body.next === null) break;
    assert.equal(typeof r.body.next, 'string');
    assert.equal(r.body.next, r.body.transactions.at(-1).id);
    before = r.body.next;
    assert.ok(pages.length < 10, 'pagination ends');
  }
  assert.deepEqual(pages.map((p) => p.length), [2, 2, 1]);
  assert.deepEqual(pages.flat(), got.map((t) => t.id));

  // A page that ends exactly at the last transaction has no next.
  const exact = await call('GET', '/credits/transactions?limit=5', { token: as(user) });
  assert.equal(exact.body.transactions.length, 5);
  assert.equal(exact.body.next, null);
  const one = await call('GET', '/credits/transactions?limit=1', { token: as(user) });
  assert.deepEqual(one.body.transactions.map((t) => t.id), [got[0].id]);
  assert.equal(one.body.next, got[0].id);
  const max = await call('GET', '/credits/transactions?limit=100', { token: as(user) });
  assert.equal(max.status, 200);
  assert.equal(max.body.transactions.length, 5);
});

test("transactions never show another user's rows, even with their ids in before", async () => {
  const a = newUser();
  const b = newUser();
  await fund(a, 10);
  await fund(b, 10);
  const rb = await call('POST', '/credits/use', { token: as(b), body: { amount: 1, operation: 'b-only' } });
  const r = await call('GET', `/credits/transactions?before=${Number(rb.body.transaction.id) + 1}`, { token: as(a) });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.transactions.length, 1);
  assert.equal(r.body.transactions[0].amount, 10);
  assert.ok(!r.body.transactions.some((t) => t.operation === 'b-only'));
});

test('transactions: bad limit or before is 400', async () => {
  const user = newUser();
  for (const limit of ['0', '101', 'abc', '-1', '1.5', '', '1e1', '99999999999999999999']) {
    const r = await call('GET', `/credits/transactions?limit=${limit}`, { token: as(user) });
    badField(r, 'limit', `limit=${limit}`);
  }
  for (const before of ['abc', '-5', '0', '1.5']) {
    const r = await call('GET', `/credits/transactions?before=${before}`, { token: as(user) });
    badField(r, 'before', `before=${before}`);
  }
});

test('purchases: empty for a new user; unknown purchase is 404', async () => {
  const user = newUser();
  const r = await call('GET', '/credits/purchases', { token: as(user) });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { purchases: [] });
  for (const id of ['999999', 'abc', '0', '-1']) {
    const g = await call('GET', `/credits/purchase/${id}`, { token: as(user) });
    assert.equal(g.status, 404, `${id}: ${g.text}`);
    assert.equal(g.body?.error, 'not_found');
  }
});

test('POST /credits/purchase: unknown package or bad method is 400 naming the field', async () => {
  const user = newUser();
  for (const body of [{ package: 'nope', method: 'card' }, { method: 'card' }, { package: 5, method: 'card' },
    { package: 'STARTER', method: 'card' }]) {
    badField(await call('POST', '/credits/purchase', { token: as(user), body }), 'package', JSON.stringify(body));
  }
  for (const body of [{ package: 'starter', method: 'paypal' }, { package: 'starter' },
    { package: 'starter', method: 'Card' }, { package: 'large', method: 1 }]) {
    badField(await call('POST', '/credits/purchase', { token: as(user), body }), 'method', JSON.stringify(body));
  }
  const list = await call('GET', '/credits/purchases', { token: as(user) });
  assert.deepEqual(list.body, { purchases: [] });
});
