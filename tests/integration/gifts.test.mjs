// Gift codes: create, look up, redeem exactly once, cancel, lists, the
// signup hook, the brute-force guard and the email to the target.
import test from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { call, token, newUser, fund, sql, sqlStr, dbBalance, ledgerCount, ledgerMatches, ISO_UTC,
  statusCounts, runScheduler, mailbox } from './lib.mjs';

const ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
const SYM = `[${ALPHABET}]`;
const CODE_RE = new RegExp(`^TLY-${SYM}{4}-${SYM}{4}-${SYM}{4}-${SYM}{4}-${SYM}{2}$`);
const GIFT_KEYS = ['code', 'created_at', 'credits', 'id', 'message', 'redeemed_at', 'status', 'target_email', 'type'];
const PUBLIC_KEYS = ['code', 'credits', 'message', 'status', 'type'];

function as(user, claims = {}) {
  return token({ sub: user, ...claims });
}

const bare = (code) => code.replace(/[-\s]/g, '').toUpperCase().replace(/^TLY/, '');
const enc = encodeURIComponent;

// A well-formed code that (almost surely) names no gift.
function randomCode() {
  let s = '';
  for (const b of crypto.randomBytes(18)) s += ALPHABET[b % ALPHABET.length];
  return `TLY-${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16)}`;
}

async function create(user, body, claims = {}) {
  return call('POST', '/gifts', { token: as(user, claims), body });
}

// A gift made by `user` (funded by the caller); asserts the 201.
async function gift(user, body, claims = {}) {
  const r = await create(user, body, claims);
  assert.equal(r.status, 201, `create ${JSON.stringify(body)}: ${r.text}`);
  return r.body;
}

function redeem(tok, code, opts = {}) {
  return call('POST', `/gifts/${enc(code)}/redeem`, { token: tok, ...opts });
}

function cancel(tok, id) {
  return call('DELETE', `/gifts/${enc(id)}`, { token: tok });
}

function lookup(code) {
  return call('GET', `/gifts/${enc(code)}`);
}

function pending(body, opts = { service: true }) {
  return call('POST', '/internal/gifts/redeem-pending', { ...opts, body });
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

function isError(r, status, code, what = '') {
  assert.equal(r.status, status, `${what}: ${r.status} ${r.text}`);
  assert.equal(r.body?.error, code, `${what}: ${r.text}`);
  assert.equal(typeof r.body.message, 'string', what);
  assert.ok(r.body.message.length > 0, what);
}

function accountId(user) {
  const rows = sql(`SELECT id FROM accounts WHERE user_id = ${sqlStr(user)}`);
  assert.equal(rows.length, 1, `account of ${user}`);
  return rows[0][0];
}

// The gifts row as an object of strings (null for SQL NULL).
function giftRow(id) {
  const cols = ['id', 'code', 'creator_account_id', 'credits', 'type', 'target_email', 'message', 'status',
    'redeemed_by', 'redeemed_at', 'canceled_at'];
  const rows = sql(`SELECT ${cols.join(', ')} FROM gifts WHERE id = ${Number(id)}`);
  assert.equal(rows.length, 1, `gift ${id}`);
  return Object.fromEntries(cols.map((c, i) => [c, rows[0][i] === 'NULL' ? null : rows[0][i]]));
}

// Ledger rows of a user: [{kind, amount, balance_after, effect_key}], oldest first.
function ledger(user) {
  return sql(`SELECT l.kind, l.amount, l.balance_after, COALESCE(l.effect_key, '') FROM ledger l JOIN accounts a ON a.id = l.account_id WHERE a.user_id = ${sqlStr(user)} ORDER BY l.id`)
    .map(([kind, amount, after, key]) => ({ kind, amount: Number(amount), balance_after: Number(after), effect_key: key }));
}

const count = (table, where = '1') => Number(sql(`SELECT COUNT(*) FROM ${table} WHERE ${where}`)[0][0]);

function checkGift(g, what = '') {
  for (const k of Object.keys(g)) assert.ok(GIFT_KEYS.includes(k), `${what}: unexpected key ${k} in ${JSON.stringify(g)}`);
  assert.match(g.id, /^[1-9][0-9]*$/, what);
  assert.match(g.code, CODE_RE, what);
  assert.equal(typeof g.credits, 'number', what);
  assert.ok(['simple', 'personalized'].includes(g.type), what);
  assert.ok(['active', 'redeemed', 'canceled'].includes(g.status), what);
  assert.match(g.created_at, ISO_UTC, what);
  if (g.redeemed_at !== undefined) assert.match(g.redeemed_at, ISO_UTC, what);
}

// ---------------------------------------------------------------------------
// Create

test('create a simple gift: 201 GIFT; the credits leave the wallet as gift_sent', async () => {
  const user = newUser('giver');
  await fund(user, 100);
  const before = count('gifts');
  const r = await create(user, { credits: 30, type: 'simple', message: 'Happy birthday!' });
  assert.equal(r.status, 201, r.text);
  const g = r.body;
  checkGift(g, 'created');
  assert.equal(g.credits, 30);
  assert.equal(g.type, 'simple');
  assert.equal(g.status, 'active');
  assert.equal(g.message, 'Happy birthday!');
  assert.equal(g.target_email, undefined, 'a simple gift has no target');
  assert.equal(g.redeemed_at, undefined);
  assert.ok(Math.abs(Date.parse(g.created_at) - Date.now()) < 120000, g.created_at);

  assert.equal(await balanceOf(user), 70);
  assert.equal(count('gifts'), before + 1);
  const row = giftRow(g.id);
  assert.equal(row.code, bare(g.code), 'stored bare');
  assert.equal(row.creator_account_id, accountId(user));
  assert.equal(row.credits, '30');
  assert.equal(row.status, 'active');
  assert.equal(row.target_email, null);
  assert.equal(row.redeemed_by, null);

  const l = ledger(user);
  assert.equal(l.length, 2);
  assert.deepEqual(l[1], { kind: 'gift_sent', amount: -30, balance_after: 70, effect_key: `gift:${g.id}:sent` });
  assert.ok(ledgerMatches(user));
  const txs = await call('GET', '/credits/transactions', { token: as(user) });
  assert.equal(txs.status, 200, txs.text);
  assert.equal(txs.body.transactions[0].kind, 'gift_sent');
  assert.equal(txs.body.transactions[0].amount, -30);
  assert.equal(txs.body.transactions[0].balance_after, 70);
});

test('create a personalized gift: the target is trimmed and lower-cased, only the creator sees it', async () => {
  const user = newUser('giver');
  await fund(user, 50);
  const g = await gift(user, { credits: 50, type: 'personalized', target_email: '  Bob.Smith+Gift@Example.COM \t' });
  checkGift(g);
  assert.equal(g.type, 'personalized');
  assert.equal(g.message, undefined);
  if (g.target_email !== undefined) assert.equal(g.target_email, 'bob.smith+gift@example.com');
  assert.equal(giftRow(g.id).target_email, 'bob.smith+gift@example.com');
  assert.equal(await balanceOf(user), 0, 'the whole balance may be given away');
  assert.ok(ledgerMatches(user));
  // The creator's list shows it.
  const list = await call('GET', '/gifts/me/created', { token: as(user) });
  assert.equal(list.status, 200, list.text);
  assert.equal(list.body.gifts.length, 1);
  assert.equal(list.body.gifts[0].id, g.id);
  // A simple gift ignores a target_email.
  await fund(user, 5);
  const s = await gift(user, { credits: 5, type: 'simple', target_email: 'someone@example.com' });
  assert.equal(s.target_email, undefined);
  assert.equal(giftRow(s.id).target_email, null);
  assert.equal(count('outbox', `dedupe_key = ${sqlStr(`gift:${s.id}:notify`)}`), 0, 'no mail for a simple gift');
});

test('create: bad input is 400 naming the field, and changes nothing', async () => {
  const user = newUser('giver');
  await fund(user, 100);
  const gifts = count('gifts');
  const cases = [
    [{ credits: 0, type: 'simple' }, 'credits', 'credits 0'],
    [{ credits: -5, type: 'simple' }, 'credits', 'credits -5'],
    [{ credits: 1.5, type: 'simple' }, 'credits', 'credits 1.5'],
    [{ credits: '5', type: 'simple' }, 'credits', 'credits "5"'],
    [{ credits: null, type: 'simple' }, 'credits', 'credits null'],
    [{ credits: true, type: 'simple' }, 'credits', 'credits true'],
    [{ credits: [5], type: 'simple' }, 'credits', 'credits [5]'],
    [{ type: 'simple' }, 'credits', 'credits missing'],
    [{ credits: 5, type: 'other' }, 'type', 'type other'],
    [{ credits: 5, type: 'Simple' }, 'type', 'type Simple'],
    [{ credits: 5, type: '' }, 'type', 'type empty'],
    [{ credits: 5, type: 1 }, 'type', 'type 1'],
    [{ credits: 5 }, 'type', 'type missing'],
    [{ credits: 5, type: 'personalized' }, 'target_email', 'personalized without target_email'],
    [{ credits: 5, type: 'personalized', target_email: null }, 'target_email', 'target_email null'],
    [{ credits: 5, type: 'personalized', target_email: '' }, 'target_email', 'target_email empty'],
    [{ credits: 5, type: 'personalized', target_email: '   ' }, 'target_email', 'target_email blank'],
    [{ credits: 5, type: 'personalized', target_email: 'nobody' }, 'target_email', 'target_email without @'],
    [{ credits: 5, type: 'personalized', target_email: '@example.com' }, 'target_email', 'target_email leading @'],
    [{ credits: 5, type: 'personalized', target_email: 'bob@' }, 'target_email', 'target_email trailing @'],
    [{ credits: 5, type: 'personalized', target_email: 'bob smith@example.com' }, 'target_email', 'target_email inner space'],
    [{ credits: 5, type: 'personalized', target_email: `${'a'.repeat(309)}@example.com` }, 'target_email', 'target_email of 321'],
    [{ credits: 5, type: 'personalized', target_email: 42 }, 'target_email', 'target_email 42'],
    [{ credits: 5, type: 'simple', message: 'x'.repeat(501) }, 'message', 'message of 501'],
    [{ credits: 5, type: 'simple', message: '€'.repeat(501) }, 'message', 'message of 501 €'],
    [{ credits: 5, type: 'simple', message: 7 }, 'message', 'message 7'],
    [{ credits: 5, type: 'simple', message: { a: 1 } }, 'message', 'message object'],
  ];
  for (const [body, field, what] of cases) badField(await create(user, body), field, what);
  // 1e3 is a JSON real, not an integer.
  badField(await call('POST', '/gifts', { token: as(user), raw: '{"credits":1e3,"type":"simple"}', contentType: 'application/json' }), 'credits', 'credits 1e3');
  isError(await call('POST', '/gifts', { token: as(user), raw: '{"credits":5,', contentType: 'application/json' }), 400, 'invalid_json', 'broken JSON');
  isError(await call('POST', '/gifts', { token: as(user), raw: '{"credits":5,"type":"simple"}', contentType: 'text/plain' }), 415, 'unsupported_media_type', 'text/plain');
  isError(await call('POST', '/gifts', { body: { credits: 5, type: 'simple' } }), 401, 'unauthorized', 'no token');
  assert.equal(await balanceOf(user), 100);
  assert.equal(count('gifts'), gifts);
  assert.equal(ledgerCount(user), 1);
});

test('create: a message of 500 characters (also multi-byte) comes back exactly', async () => {
  const user = newUser('giver');
  await fund(user, 10);
  for (const message of ['m'.repeat(500), '€'.repeat(500), '😀'.repeat(500), 'Zeile 1\nZeile 2 – „Grüße“ 🎁', '']) {
    const g = await gift(user, { credits: 1, type: 'simple', message });
    assert.equal(g.message, message);
    const pub = await lookup(g.code);
    assert.equal(pub.status, 200, pub.text);
    assert.equal(pub.body.message, message);
  }
  assert.equal(await balanceOf(user), 5);
});

test('create: 402 insufficient_credits leaves the balance, the ledger, gifts and outbox unchanged', async () => {
  const user = newUser('poor');
  await fund(user, 10);
  const gifts = count('gifts');
  const outbox = count('outbox');
  isError(await create(user, { credits: 11, type: 'simple' }), 402, 'insufficient_credits', 'simple');
  isError(await create(user, { credits: 11, type: 'personalized', target_email: 'x@example.com', message: 'hi' }), 402,
    'insufficient_credits', 'personalized');
  isError(await call('POST', '/gifts', { token: as(user), raw: '{"credits":9223372036854775807,"type":"simple"}',
    contentType: 'application/json' }), 402, 'insufficient_credits', 'INT64_MAX');
  const fresh = newUser('nobody');
  isError(await create(fresh, { credits: 1, type: 'simple' }), 402, 'insufficient_credits', 'a new account');
  assert.equal(await balanceOf(user), 10);
  assert.equal(await balanceOf(fresh), 0);
  assert.equal(ledgerCount(user), 1);
  assert.equal(count('gifts'), gifts);
  assert.equal(count('outbox'), outbox);
  assert.equal(count('gifts', `creator_account_id = ${accountId(user)}`), 0);
  const list = await call('GET', '/gifts/me/created', { token: as(user) });
  assert.deepEqual(list.body, { gifts: [] });
  assert.ok(ledgerMatches(user));
});

test('create: concurrent gifts never overdraw the wallet', async () => {
  const user = newUser('giver');
  await fund(user, 50);
  const rs = await Promise.all(Array.from({ length: 12 }, () => create(user, { credits: 10, type: 'simple' })));
  assert.deepEqual(statusCounts(rs), { 201: 5, 402: 7 });
  assert.equal(await balanceOf(user), 0);
  assert.equal(count('gifts', `creator_account_id = ${accountId(user)}`), 5);
  assert.equal(ledgerCount(user, 'gift_sent'), 5);
  assert.ok(ledgerMatches(user));
});

test('create: an Idempotency-Key makes a retry return the same gift without a second debit', async () => {
  const user = newUser('giver');
  await fund(user, 20);
  const key = `gift-${crypto.randomUUID()}`;
  const body = { credits: 7, type: 'simple', message: 'once' };
  const a = await call('POST', '/gifts', { token: as(user), body, headers: { 'Idempotency-Key': key } });
  const b = await call('POST', '/gifts', { token: as(user), body, headers: { 'Idempotency-Key': key } });
  assert.equal(a.status, 201, a.text);
  assert.equal(b.status, 201, b.text);
  assert.deepEqual(b.body, a.body);
  assert.equal(await balanceOf(user), 13);
  assert.equal(count('gifts', `creator_account_id = ${accountId(user)}`), 1);
});

// ---------------------------------------------------------------------------
// Codes and the public look-up

test('codes: TLY-XXXX-XXXX-XXXX-XXXX-XX from the unambiguous alphabet, distinct, unique in the database', async () => {
  const user = newUser('giver');
  await fund(user, 40);
  const rs = await Promise.all(Array.from({ length: 40 }, () => create(user, { credits: 1, type: 'simple' })));
  const codes = rs.map((r) => { assert.equal(r.status, 201, r.text); return r.body.code; });
  for (const c of codes) {
    assert.match(c, CODE_RE);
    assert.doesNotMatch(bare(c), /[01OIL]/);
  }
  assert.equal(new Set(codes).size, codes.length);
  // The database enforces uniqueness, not luck.
  const uniq = sql("SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'gifts' AND column_name = 'code' AND non_unique = 0");
  assert.ok(Number(uniq[0][0]) >= 1, 'a unique index on gifts.code');
  const acct = accountId(user);
  assert.throws(() => sql(`INSERT INTO gifts (code, creator_account_id, credits, type, status, created_at) VALUES (${sqlStr(bare(codes[0]))}, ${acct}, 1, 'simple', 'active', UTC_TIMESTAMP())`),
    /Duplicate|1062/);
});

test('public look-up: any case, with or without dashes, spaces or the prefix', async () => {
  const user = newUser('giver');
  await fund(user, 10);
  const g = await gift(user, { credits: 10, type: 'simple', message: 'for you' });
  const b = bare(g.code);
  const forms = [g.code, g.code.toLowerCase(), b, b.toLowerCase(), `TLY${b}`, `tly${b.toLowerCase()}`,
    g.code.slice(4), g.code.replace(/-/g, ' '), `${b.slice(0, 9)}-${b.slice(9).toLowerCase()}`];
  for (const f of forms) {
    const r = await lookup(f);
    assert.equal(r.status, 200, `${f}: ${r.text}`);
    assert.deepEqual(r.body, { code: g.code, credits: 10, type: 'simple', status: 'active', message: 'for you' }, f);
  }
  // Unknown and malformed codes are 404, never 400 or 500.
  for (const f of [randomCode(), 'abc', `${g.code}2`, g.code.slice(0, -1), g.code.replace(/.$/, '0'),
    g.code.replace(/.$/, 'O'), g.code.replace(/.$/, 'I'), g.code.replace(/.$/, 'L'), g.code.replace(/.$/, '1'),
    'TLY-', 'A'.repeat(2000), `${g.code}ü`]) {
    const r = await lookup(f);
    isError(r, 404, 'not_found', f.slice(0, 40));
  }
});

test('public look-up: credits, type, status, message; never the target email, the creator or ids', async () => {
  const creator = newUser('secret-creator');
  const target = `hidden.${crypto.randomBytes(4).toString('hex')}@example.com`;
  await fund(creator, 30);
  const g = await gift(creator, { credits: 30, type: 'personalized', target_email: target.toUpperCase(), message: 'psst' },
    { email: 'creator-mail@example.com' });
  const acct = accountId(creator);
  const leaks = (r, what) => {
    assert.equal(r.status, 200, `${what}: ${r.text}`);
    for (const k of Object.keys(r.body)) assert.ok(PUBLIC_KEYS.includes(k), `${what}: key ${k} in ${r.text}`);
    assert.ok(!r.text.toLowerCase().includes(target), `${what}: target email in ${r.text}`);
    assert.ok(!r.text.includes(creator), `${what}: creator in ${r.text}`);
    assert.ok(!r.text.includes('creator-mail'), `${what}: creator email in ${r.text}`);
    assert.ok(!/"(id|creator\w*|target\w*|redeemed_by|account\w*)"/.test(r.text), `${what}: ${r.text}`);
    assert.ok(!r.text.includes(`"${g.id}"`) && !r.text.includes(`"${acct}"`), `${what}: ids in ${r.text}`);
  };
  const r = await lookup(g.code);
  leaks(r, 'anonymous');
  assert.deepEqual(r.body, { code: g.code, credits: 30, type: 'personalized', status: 'active', message: 'psst' });
  // Not even for the creator, on the public route.
  leaks(await call('GET', `/gifts/${enc(g.code)}`, { token: as(creator) }), 'creator token');
  // Nor once redeemed (nor the redeemer).
  const who = newUser('recipient');
  const rd = await redeem(as(who, { email: target }), g.code);
  assert.equal(rd.status, 200, rd.text);
  assert.equal(rd.body.gift.target_email, undefined, 'the redeem answer shows no target');
  const after = await lookup(g.code.toLowerCase());
  leaks(after, 'redeemed');
  assert.ok(!after.text.includes(who));
  assert.equal(after.body.status, 'redeemed');
});

// ---------------------------------------------------------------------------
// Redeem

test('redeem a simple gift: 200 {gift, balance}, ledger gift_received, only once', async () => {
  const creator = newUser('giver');
  const taker = newUser('taker');
  await fund(creator, 100);
  await fund(taker, 5);
  const g = await gift(creator, { credits: 40, type: 'simple', message: 'enjoy' });
  const r = await redeem(as(taker), bare(g.code).toLowerCase());
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.body).sort(), ['balance', 'gift']);
  assert.equal(r.body.balance, 45);
  checkGift(r.body.gift, 'redeemed');
  assert.equal(r.body.gift.id, g.id);
  assert.equal(r.body.gift.code, g.code);
  assert.equal(r.body.gift.status, 'redeemed');
  assert.equal(r.body.gift.credits, 40);
  assert.equal(r.body.gift.message, 'enjoy');
  assert.match(r.body.gift.redeemed_at, ISO_UTC);
  assert.equal(await balanceOf(taker), 45);
  assert.equal(await balanceOf(creator), 60);
  const l = ledger(taker);
  assert.deepEqual(l[l.length - 1], { kind: 'gift_received', amount: 40, balance_after: 45, effect_key: `gift:${g.id}:received` });
  assert.ok(ledgerMatches(taker));
  assert.ok(ledgerMatches(creator));
  const row = giftRow(g.id);
  assert.equal(row.status, 'redeemed');
  assert.equal(row.redeemed_by, accountId(taker));
  assert.notEqual(row.redeemed_at, null);

  // Again, by the same or another user: 409, nothing moves.
  const again = await redeem(as(taker), g.code);
  isError(again, 409, 'conflict', 'again');
  const other = newUser('late');
  isError(await redeem(as(other), g.code), 409, 'conflict', 'another user');
  assert.equal(await balanceOf(taker), 45);
  assert.equal(await balanceOf(other), 0);
  assert.equal(count('ledger', `effect_key = ${sqlStr(`gift:${g.id}:received`)}`), 1);
  assert.equal((await lookup(g.code)).body.status, 'redeemed');
  // The transactions list names the kind.
  const txs = await call('GET', '/credits/transactions', { token: as(taker) });
  assert.equal(txs.body.transactions[0].kind, 'gift_received');
  assert.equal(txs.body.transactions[0].amount, 40);
});

test('redeem: the creator cannot redeem their own simple gift (409 with a reason)', async () => {
  const creator = newUser('giver');
  await fund(creator, 20);
  const g = await gift(creator, { credits: 20, type: 'simple' });
  const r = await redeem(as(creator), g.code);
  isError(r, 409, 'conflict', 'own gift');
  assert.match(r.body.message, /own/i, 'the reason says why');
  assert.equal(await balanceOf(creator), 0);
  assert.equal(giftRow(g.id).status, 'active');
  assert.equal(ledgerCount(creator, 'gift_received'), 0);
  // Someone else still can.
  const taker = newUser('taker');
  assert.equal((await redeem(as(taker), g.code)).status, 200);
});

test('redeem: unknown or malformed codes are 404; no token is 401', async () => {
  const user = newUser('guesser');
  isError(await redeem(as(user), randomCode()), 404, 'not_found', 'unknown');
  isError(await redeem(as(user), 'not-a-code'), 404, 'not_found', 'malformed');
  const creator = newUser('giver');
  await fund(creator, 3);
  const g = await gift(creator, { credits: 3, type: 'simple' });
  isError(await redeem(null, g.code), 401, 'unauthorized', 'no token');
  isError(await call('POST', `/gifts/${enc(g.code)}/redeem`, { token: token({ sub: user }, { secret: 'wrong' }) }), 401, 'unauthorized', 'bad token');
  assert.equal(giftRow(g.id).status, 'active');
});

test('redeem: 50 concurrent attempts by 50 users, exactly one wins', async () => {
  const creator = newUser('giver');
  await fund(creator, 77);
  const g = await gift(creator, { credits: 77, type: 'simple' });
  const users = Array.from({ length: 50 }, (_, i) => newUser(`racer${i}`));
  const rs = await Promise.all(users.map((u) => redeem(as(u), g.code)));
  assert.deepEqual(statusCounts(rs), { 200: 1, 409: 49 }, rs.filter((r) => r.status !== 409).map((r) => r.text).join('\n'));
  for (const r of rs) if (r.status === 409) assert.equal(r.body.error, 'conflict');
  const i = rs.findIndex((r) => r.status === 200);
  const winner = users[i];
  assert.equal(rs[i].body.balance, 77);
  // One query, not a hundred: node blocked in synchronous ones for
  // seconds lets lighttpd close its idle keep-alive connections under the
  // next test's requests.
  const rows = sql(`SELECT a.user_id, a.balance, (SELECT COALESCE(SUM(l.amount), 0) FROM ledger l WHERE l.account_id = a.id)
    FROM accounts a WHERE a.user_id IN (${users.map(sqlStr).join(', ')})`);
  assert.equal(rows.length, 50);
  for (const [u, balance, sum] of rows) {
    assert.equal(Number(balance), u === winner ? 77 : 0, u);
    assert.equal(balance, sum, `${u}: the ledger sums to the balance`);
  }
  assert.ok(ledgerMatches(creator));
  assert.equal(dbBalance(creator), 0);
  assert.equal(count('ledger', `kind = 'gift_received' AND effect_key = ${sqlStr(`gift:${g.id}:received`)}`), 1);
  const ids = users.map((u) => sqlStr(u)).join(', ');
  assert.equal(count('ledger l JOIN accounts a ON a.id = l.account_id', `a.user_id IN (${ids}) AND l.kind = 'gift_received'`), 1);
  const row = giftRow(g.id);
  assert.equal(row.status, 'redeemed');
  assert.equal(row.redeemed_by, accountId(winner));
});

test('redeem a personalized gift: only the target email, compared case-insensitively after trimming', async () => {
  const creator = newUser('giver');
  await fund(creator, 60);
  const g = await gift(creator, { credits: 60, type: 'personalized', target_email: ' Carol.Target@Example.com ' });

  // Another email: 403, nothing moves.
  const mallory = newUser('mallory');
  const r1 = await redeem(as(mallory, { email: 'mallory@example.com' }), g.code);
  isError(r1, 403, 'forbidden', 'wrong email');
  const r1b = await redeem(as(mallory, { email: 'carol.target@example.com.evil.org' }), g.code);
  isError(r1b, 403, 'forbidden', 'suffix');
  // No email on the account at all: 403.
  const anon = newUser('noemail');
  isError(await redeem(as(anon), g.code), 403, 'forbidden', 'no email');
  assert.deepEqual(sql(`SELECT email IS NULL OR email = '' FROM accounts WHERE user_id = ${sqlStr(anon)}`), [['1']]);
  // The creator (other email) cannot take it back by redeeming it.
  isError(await redeem(as(creator, { email: 'giver@example.com' }), g.code), 403, 'forbidden', 'creator');
  assert.equal(giftRow(g.id).status, 'active');
  assert.equal(await balanceOf(mallory), 0);
  assert.equal(await balanceOf(anon), 0);

  // The target, with another case and whitespace in the token's claim.
  const carol = newUser('carol');
  const r2 = await redeem(as(carol, { email: '  CAROL.target@EXAMPLE.COM\t' }), g.code.toLowerCase());
  assert.equal(r2.status, 200, r2.text);
  assert.equal(r2.body.balance, 60);
  assert.equal(r2.body.gift.type, 'personalized');
  assert.equal(r2.body.gift.target_email, undefined);
  assert.equal(await balanceOf(carol), 60);
  assert.equal(ledgerCount(carol, 'gift_received'), 1);
  assert.ok(ledgerMatches(carol));
  isError(await redeem(as(newUser('carol2'), { email: 'carol.target@example.com' }), g.code), 409, 'conflict', 'second target account');
});

// ---------------------------------------------------------------------------
// Cancel

test('cancel: creator only (others get 404), credits back as gift_refund, then 409', async () => {
  const creator = newUser('giver');
  const other = newUser('other');
  await fund(creator, 100);
  await fund(other, 100);
  const g = await gift(creator, { credits: 25, type: 'simple', message: 'maybe' });
  assert.equal(await balanceOf(creator), 75);

  const foreign = await cancel(as(other), g.id);
  isError(foreign, 404, 'not_found', 'another user');
  // Indistinguishable from a gift that does not exist.
  const missing = await cancel(as(other), String(Number(g.id) + 1000000));
  assert.deepEqual(foreign.body, missing.body);
  assert.equal(giftRow(g.id).status, 'active');
  assert.equal(await balanceOf(creator), 75);
  assert.equal(await balanceOf(other), 100);
  isError(await cancel(null, g.id), 401, 'unauthorized', 'no token');

  const r = await cancel(as(creator), g.id);
  assert.equal(r.status, 200, r.text);
  checkGift(r.body, 'canceled');
  assert.equal(r.body.id, g.id);
  assert.equal(r.body.code, g.code);
  assert.equal(r.body.status, 'canceled');
  assert.equal(r.body.credits, 25);
  assert.equal(await balanceOf(creator), 100);
  const l = ledger(creator);
  assert.deepEqual(l[l.length - 1], { kind: 'gift_refund', amount: 25, balance_after: 100, effect_key: `gift:${g.id}:refund` });
  assert.ok(ledgerMatches(creator));
  const row = giftRow(g.id);
  assert.equal(row.status, 'canceled');
  assert.notEqual(row.canceled_at, null);

  // Cancel again: 409, no second refund; redeem after cancel: 409.
  isError(await cancel(as(creator), g.id), 409, 'conflict', 'cancel again');
  isError(await cancel(as(other), g.id), 404, 'not_found', 'another user, canceled gift');
  isError(await redeem(as(other), g.code), 409, 'conflict', 'redeem after cancel');
  assert.equal(await balanceOf(creator), 100);
  assert.equal(await balanceOf(other), 100);
  assert.equal(ledgerCount(creator, 'gift_refund'), 1);
  assert.equal((await lookup(g.code)).body.status, 'canceled');
  const list = await call('GET', '/gifts/me/created', { token: as(creator) });
  assert.equal(list.body.gifts[0].status, 'canceled');
});

test('cancel: a redeemed gift is 409 and refunds nothing; unknown ids are 404', async () => {
  const creator = newUser('giver');
  await fund(creator, 10);
  const g = await gift(creator, { credits: 10, type: 'simple' });
  const taker = newUser('taker');
  assert.equal((await redeem(as(taker), g.code)).status, 200);
  isError(await cancel(as(creator), g.id), 409, 'conflict', 'redeemed');
  assert.equal(await balanceOf(creator), 0);
  assert.equal(await balanceOf(taker), 10);
  assert.equal(ledgerCount(creator, 'gift_refund'), 0);
  for (const id of ['999999999999', '0', '-1', 'abc', g.code, '1.5', `${g.id}x`])
    isError(await cancel(as(creator), id), 404, 'not_found', `id ${id}`);
});

test('cancel: concurrent cancels and redeems settle the gift exactly once', async () => {
  const creator = newUser('giver');
  await fund(creator, 30);
  const g = await gift(creator, { credits: 30, type: 'simple' });
  const takers = Array.from({ length: 10 }, () => newUser('taker'));
  const rs = await Promise.all([
    ...Array.from({ length: 5 }, () => cancel(as(creator), g.id)),
    ...takers.map((u) => redeem(as(u), g.code)),
  ]);
  const ok = rs.filter((r) => r.status === 200);
  assert.equal(ok.length, 1, rs.map((r) => r.status).join(' '));
  for (const r of rs) if (r.status !== 200) assert.equal(r.status, 409, r.text);
  const row = giftRow(g.id);
  const total = dbBalance(creator) + takers.reduce((s, u) => s + (dbBalance(u) ?? 0), 0);
  assert.equal(total, 30, 'the credits exist exactly once');
  if (row.status === 'canceled') assert.equal(dbBalance(creator), 30);
  else assert.equal(row.status, 'redeemed');
  assert.ok(ledgerMatches(creator));
  for (const u of takers) assert.ok(ledgerMatches(u));
});

// ---------------------------------------------------------------------------
// Lists

test('lists: /gifts/me/created and /gifts/me/received, newest first, each user their own', async () => {
  const creator = newUser('giver');
  const taker = newUser('taker');
  await fund(creator, 60);
  const g1 = await gift(creator, { credits: 10, type: 'simple', message: 'one' });
  const g2 = await gift(creator, { credits: 20, type: 'personalized', target_email: 'Taker@Example.com', message: 'two' });
  const g3 = await gift(creator, { credits: 30, type: 'simple', message: 'three' });
  const created = await call('GET', '/gifts/me/created', { token: as(creator) });
  assert.equal(created.status, 200, created.text);
  assert.deepEqual(created.body.gifts.map((x) => x.id), [g3.id, g2.id, g1.id]);
  for (const x of created.body.gifts) checkGift(x, 'created list');
  assert.deepEqual(created.body.gifts.map((x) => x.credits), [30, 20, 10]);

  // Received in the order g1, g3, g2, a second apart.
  const tok = as(taker, { email: 'taker@example.com' });
  assert.equal((await redeem(tok, g1.code)).status, 200);
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal((await redeem(tok, g3.code)).status, 200);
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal((await redeem(tok, g2.code)).status, 200);
  const received = await call('GET', '/gifts/me/received', { token: as(taker) });
  assert.equal(received.status, 200, received.text);
  assert.deepEqual(received.body.gifts.map((x) => x.id), [g2.id, g3.id, g1.id]);
  for (const x of received.body.gifts) {
    checkGift(x, 'received list');
    assert.equal(x.status, 'redeemed');
    assert.match(x.redeemed_at, ISO_UTC);
    assert.equal(x.target_email, undefined);
  }
  // Each user sees only their own.
  assert.deepEqual((await call('GET', '/gifts/me/received', { token: as(creator) })).body, { gifts: [] });
  assert.deepEqual((await call('GET', '/gifts/me/created', { token: as(taker) })).body, { gifts: [] });
  const stranger = newUser('stranger');
  assert.deepEqual((await call('GET', '/gifts/me/created', { token: as(stranger) })).body, { gifts: [] });
  isError(await call('GET', '/gifts/me/created'), 401, 'unauthorized', 'created without token');
  isError(await call('GET', '/gifts/me/received'), 401, 'unauthorized', 'received without token');
  const after = await call('GET', '/gifts/me/created', { token: as(creator) });
  assert.deepEqual(after.body.gifts.map((x) => x.status), ['redeemed', 'redeemed', 'redeemed']);
});

test('lists: /gifts/me/received puts the last redeemed first, also within one second', async () => {
  const creator = newUser('giver');
  const taker = newUser('taker');
  await fund(creator, 100);
  // Redeem the newer gift, then the older one, at once; retry in the rare
  // case the two fell into different seconds.
  let older;
  let newer;
  for (let attempt = 0; attempt < 5; attempt++) {
    older = await gift(creator, { credits: 1, type: 'simple' });
    newer = await gift(creator, { credits: 1, type: 'simple' });
    assert.equal((await redeem(as(taker), newer.code)).status, 200);
    assert.equal((await redeem(as(taker), older.code)).status, 200);
    if (giftRow(older.id).redeemed_at === giftRow(newer.id).redeemed_at) break;
  }
  const received = await call('GET', '/gifts/me/received', { token: as(taker) });
  assert.equal(received.status, 200, received.text);
  assert.deepEqual(received.body.gifts.slice(0, 2).map((x) => x.id), [older.id, newer.id],
    'the gift redeemed last comes first');
});

test('routes: a wrong method is 405 with Allow', async () => {
  const user = newUser('giver');
  await fund(user, 1);
  const g = await gift(user, { credits: 1, type: 'simple' });
  for (const [method, path, allow] of [['PUT', `/gifts/${enc(g.code)}`, 'GET'], ['PATCH', `/gifts/${g.id}`, 'DELETE'],
    ['GET', `/gifts/${enc(g.code)}/redeem`, 'POST'], ['DELETE', '/gifts/me/created', 'GET'],
    ['GET', '/internal/gifts/redeem-pending', 'POST']]) {
    const r = await call(method, path, { token: as(user), service: true });
    isError(r, 405, 'method_not_allowed', `${method} ${path}`);
    assert.match(r.headers.get('allow') ?? '', new RegExp(`\\b${allow}\\b`), `${method} ${path}: Allow`);
  }
  assert.equal(giftRow(g.id).status, 'active');
});

// ---------------------------------------------------------------------------
// The signup hook

test('redeem-pending at signup: creates the account, credits every active personalized gift, once', async () => {
  const tag = crypto.randomBytes(4).toString('hex');
  const email = `dana.${tag}@example.com`;
  const a = newUser('giver-a');
  const b = newUser('giver-b');
  await fund(a, 100);
  await fund(b, 100);
  const g1 = await gift(a, { credits: 30, type: 'personalized', target_email: `  Dana.${tag}@Example.COM `, message: 'from a' });
  const g2 = await gift(b, { credits: 20, type: 'personalized', target_email: email });
  const canceled = await gift(a, { credits: 9, type: 'personalized', target_email: email });
  assert.equal((await cancel(as(a), canceled.id)).status, 200);
  const elsewhere = await gift(a, { credits: 5, type: 'personalized', target_email: `other.${tag}@example.com` });
  const simple = await gift(b, { credits: 7, type: 'simple' });

  const dana = newUser('dana');
  assert.equal(dbBalance(dana), null, 'no account yet');
  const r = await pending({ user_id: dana, email: `DANA.${tag}@example.com` });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.body).sort(), ['balance', 'redeemed']);
  assert.equal(r.body.balance, 50);
  assert.deepEqual(r.body.redeemed.map((x) => x.id).sort(), [g1.id, g2.id].sort());
  for (const x of r.body.redeemed) {
    checkGift(x, 'redeemed at signup');
    assert.equal(x.status, 'redeemed');
    assert.equal(x.type, 'personalized');
    assert.equal(x.target_email, undefined);
    assert.match(x.redeemed_at, ISO_UTC);
  }
  assert.equal(dbBalance(dana), 50, 'the account exists and holds the gifts');
  assert.equal(ledgerCount(dana, 'gift_received'), 2);
  assert.ok(ledgerMatches(dana));
  assert.equal(giftRow(g1.id).redeemed_by, accountId(dana));
  assert.equal(giftRow(g2.id).redeemed_by, accountId(dana));
  assert.equal(giftRow(canceled.id).status, 'canceled');
  assert.equal(giftRow(elsewhere.id).status, 'active');
  assert.equal(giftRow(simple.id).status, 'active');

  // A second call redeems nothing more.
  const again = await pending({ user_id: dana, email });
  assert.equal(again.status, 200, again.text);
  assert.deepEqual(again.body, { redeemed: [], balance: 50 });
  // Nor does another account with the same email.
  const twin = newUser('dana-twin');
  const t = await pending({ user_id: twin, email });
  assert.equal(t.status, 200, t.text);
  assert.deepEqual(t.body, { redeemed: [], balance: 0 });
  assert.equal(dbBalance(dana), 50);
  assert.equal(ledgerCount(dana, 'gift_received'), 2);
  // The user sees them as received.
  const received = await call('GET', '/gifts/me/received', { token: as(dana) });
  assert.deepEqual(received.body.gifts.map((x) => x.id).sort(), [g1.id, g2.id].sort());
  assert.equal(await balanceOf(a), 100 - 30 - 5);
  assert.equal(await balanceOf(b), 100 - 20 - 7);
});

test('redeem-pending: an existing account keeps its balance; nothing pending gives an empty list', async () => {
  const tag = crypto.randomBytes(4).toString('hex');
  const user = newUser('existing');
  await fund(user, 12);
  const r0 = await pending({ user_id: user, email: `nobody.${tag}@example.com` });
  assert.equal(r0.status, 200, r0.text);
  assert.deepEqual(r0.body, { redeemed: [], balance: 12 });
  const giver = newUser('giver');
  await fund(giver, 8);
  const g = await gift(giver, { credits: 8, type: 'personalized', target_email: `late.${tag}@example.com` });
  const r = await pending({ user_id: user, email: ` late.${tag}@EXAMPLE.com ` });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.balance, 20);
  assert.deepEqual(r.body.redeemed.map((x) => x.id), [g.id]);
  assert.ok(ledgerMatches(user));
});

test('redeem-pending: concurrent calls for one email credit each gift exactly once', async () => {
  const tag = crypto.randomBytes(4).toString('hex');
  const email = `race.${tag}@example.com`;
  const giver = newUser('giver');
  await fund(giver, 60);
  const gs = [];
  for (const credits of [10, 20, 30]) gs.push(await gift(giver, { credits, type: 'personalized', target_email: email }));
  const users = Array.from({ length: 10 }, () => newUser('race'));
  const rs = await Promise.all([...users, ...users].map((u) => pending({ user_id: u, email })));
  for (const r of rs) assert.equal(r.status, 200, r.text);
  const ids = rs.flatMap((r) => r.body.redeemed.map((x) => x.id)).sort();
  assert.deepEqual(ids, gs.map((g) => g.id).sort(), 'every gift redeemed once');
  assert.equal(users.reduce((s, u) => s + dbBalance(u), 0), 60);
  for (const u of users) assert.ok(ledgerMatches(u));
  for (const g of gs) assert.equal(count('ledger', `effect_key = ${sqlStr(`gift:${g.id}:received`)}`), 1);
});

test('redeem-pending: X-Service-Key required; user_id and email validated', async () => {
  const user = newUser('signup');
  isError(await pending({ user_id: user, email: 'a@example.com' }, {}), 401, 'unauthorized', 'no key');
  isError(await pending({ user_id: user, email: 'a@example.com' }, { service: 'wrong' }), 401, 'unauthorized', 'wrong key');
  isError(await pending({ user_id: user, email: 'a@example.com' }, { token: as(user) }), 401, 'unauthorized', 'user token');
  isError(await pending({ user_id: user, email: 'a@example.com' }, { admin: true }), 401, 'unauthorized', 'admin key');
  badField(await pending({ email: 'a@example.com' }), 'user_id', 'missing user_id');
  badField(await pending({ user_id: '', email: 'a@example.com' }), 'user_id', 'empty user_id');
  badField(await pending({ user_id: 5, email: 'a@example.com' }), 'user_id', 'numeric user_id');
  badField(await pending({ user_id: user }), 'email', 'missing email');
  for (const email of ['', 'nobody', '@example.com', 'a@', 'a b@example.com', `${'a'.repeat(309)}@example.com`, 7])
    badField(await pending({ user_id: user, email }), 'email', `email ${email}`);
  assert.equal(dbBalance(user), null, 'refused calls create no account');
});

// ---------------------------------------------------------------------------
// The brute-force guard

// Failed attempts recorded for user.
const failures = (user) => count('gift_redeem_failures', `account_id = ${accountId(user)}`);

test('rate limit: the 11th failed redemption in 10 minutes is 429 with Retry-After; other users are not limited', async () => {
  const guesser = newUser('guesser');
  const creator = newUser('giver');
  await fund(creator, 21);
  const valid = await gift(creator, { credits: 20, type: 'simple' });
  const forOther = await gift(creator, { credits: 1, type: 'personalized', target_email: 'someone.else@example.com' });

  // Ten failures: unknown codes, malformed codes and someone else's gift.
  const attempts = [randomCode(), randomCode(), 'nonsense', randomCode().toLowerCase(), forOther.code, randomCode(),
    'TLY-0000-0000-0000-0000-00', randomCode(), randomCode(), randomCode()];
  for (const [i, code] of attempts.entries()) {
    const r = await redeem(as(guesser, { email: 'guesser@example.com' }), code);
    assert.ok(r.status === 404 || r.status === 403, `attempt ${i + 1}: ${r.status} ${r.text}`);
    assert.equal(r.headers.get('retry-after'), null, `attempt ${i + 1}`);
  }
  assert.equal(failures(guesser), 10, 'the failures are counted in the database');

  const r11 = await redeem(as(guesser), randomCode());
  isError(r11, 429, 'rate_limited', '11th attempt');
  const ra = r11.headers.get('retry-after');
  assert.match(ra ?? '', /^[0-9]+$/, `Retry-After ${ra}`);
  assert.ok(Number(ra) >= 1 && Number(ra) <= 600, `Retry-After ${ra}`);

  // A valid code is refused too, and stays active.
  const rv = await redeem(as(guesser), valid.code);
  isError(rv, 429, 'rate_limited', 'valid code while limited');
  assert.match(rv.headers.get('retry-after') ?? '', /^[0-9]+$/);
  assert.equal(giftRow(valid.id).status, 'active');
  assert.equal(await balanceOf(guesser), 0);

  // Another user is not limited and takes it.
  const honest = newUser('honest');
  const rh = await redeem(as(honest), valid.code);
  assert.equal(rh.status, 200, rh.text);
  assert.equal(rh.body.balance, 20);
  assert.equal(giftRow(forOther.id).status, 'active');
});

test('rate limit: the window is 10 minutes, Retry-After counts from the oldest failure', async () => {
  const guesser = newUser('guesser');
  const creator = newUser('giver');
  await fund(creator, 5);
  const valid = await gift(creator, { credits: 5, type: 'simple' });
  for (let i = 0; i < 10; i++) assert.equal((await redeem(as(guesser), randomCode())).status, 404);
  isError(await redeem(as(guesser), valid.code), 429, 'rate_limited', 'limited');
  // Age the failures: the oldest 9 minutes ago, so about a minute to wait.
  const acct = accountId(guesser);
  sql(`UPDATE gift_redeem_failures SET failed_at = UTC_TIMESTAMP() - INTERVAL 9 MINUTE WHERE account_id = ${acct}`);
  const r = await redeem(as(guesser), valid.code);
  isError(r, 429, 'rate_limited', 'still limited');
  const ra = Number(r.headers.get('retry-after'));
  assert.ok(ra >= 1 && ra <= 65, `Retry-After ${ra}, want about 60`);
  // Past the window they no longer count.
  sql(`UPDATE gift_redeem_failures SET failed_at = UTC_TIMESTAMP() - INTERVAL 11 MINUTE WHERE account_id = ${acct}`);
  const ok = await redeem(as(guesser), valid.code);
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.balance, 5);
});

test('rate limit: successes and 409 answers do not count as failures', async () => {
  const user = newUser('busy');
  const creator = newUser('giver');
  await fund(creator, 100);
  const used = await gift(creator, { credits: 1, type: 'simple' });
  assert.equal((await redeem(as(newUser('first')), used.code)).status, 200);
  for (let i = 0; i < 9; i++) assert.equal((await redeem(as(user), randomCode())).status, 404);
  for (let i = 0; i < 5; i++) assert.equal((await redeem(as(user), used.code)).status, 409);
  const fresh = await gift(creator, { credits: 3, type: 'simple' });
  const r = await redeem(as(user), fresh.code);
  assert.equal(r.status, 200, r.text);
  assert.equal(failures(user), 9);
});

test('rate limit: parallel guesses cannot get past 10 failures', async () => {
  // Bursts of 100 guesses, each by a fresh account: each may see at most
  // 10 answers other than 429.  (The check and the count must not race.)
  const seen = [];
  for (let round = 0; round < 8; round++) {
    const guesser = newUser('burst');
    const tok = as(guesser);
    assert.equal((await call('GET', '/credits/balance', { token: tok })).status, 200);
    const rs = await Promise.all(Array.from({ length: 100 }, () => redeem(tok, randomCode())));
    for (const r of rs) assert.ok(r.status === 404 || r.status === 429, `${r.status} ${r.text}`);
    seen.push({ answered: statusCounts(rs)[404] ?? 0, recorded: failures(guesser) });
  }
  for (const s of seen)
    assert.ok(s.answered <= 10, `a burst of 100 guesses got ${s.answered} answers (404) past the limit of 10: ${JSON.stringify(seen)}`);
});

// ---------------------------------------------------------------------------
// The email to the target

async function mailFor(to, code) {
  // The outbox is delivered by the scheduler (TALLY_NO_SCHEDULER=1 here).
  await runScheduler();
  const msgs = mailbox().filter((m) => m.headers['x-rcptto'] === to || m.to === to);
  return msgs.filter((m) => m.body.includes(code));
}

test('a personalized gift emails the target the code and the message (en)', async () => {
  const tag = crypto.randomBytes(4).toString('hex');
  const to = `erin.${tag}@example.com`;
  const creator = newUser('giver');
  await fund(creator, 42);
  const message = 'Happy birthday, Erin! 🎂\nSee you soon.';
  const g = await gift(creator, { credits: 42, type: 'personalized', target_email: `  Erin.${tag}@EXAMPLE.com`, message });
  const ob = sql(`SELECT template, locale, recipient, status FROM outbox WHERE dedupe_key = ${sqlStr(`gift:${g.id}:notify`)}`);
  assert.deepEqual(ob, [['gift', 'en', to, 'pending']]);
  const msgs = await mailFor(to, g.code);
  assert.equal(msgs.length, 1, `one mail to ${to} with ${g.code}`);
  const m = msgs[0];
  assert.equal(m.to, to);
  assert.match(m.headers['content-transfer-encoding'] ?? '', /base64/i);
  assert.ok(m.body.includes(g.code), 'the formatted code');
  assert.ok(m.body.includes(message), 'the message');
  assert.ok(m.body.includes('42'), 'the credits');
  assert.match(m.subject, /42/);
  assert.match(m.subject, /gift/i);
  assert.ok(!m.body.includes(creator), 'the creator is not named');
  assert.equal(sql(`SELECT status FROM outbox WHERE dedupe_key = ${sqlStr(`gift:${g.id}:notify`)}`)[0][0], 'sent');
  // Delivered once: another tick sends nothing more.
  assert.equal((await mailFor(to, g.code)).length, 1);
});

test('a personalized gift from a German-speaking creator emails the German template', async () => {
  const tag = crypto.randomBytes(4).toString('hex');
  const to = `jorg.${tag}@example.de`;
  const creator = newUser('schenker');
  await fund(creator, 15);
  const message = 'Alles Gute zum Geburtstag, Jörg! – Grüße aus Köln';
  const g = await gift(creator, { credits: 15, type: 'personalized', target_email: `JORG.${tag}@Example.DE`, message },
    { locale: 'de-DE' });
  const msgs = await mailFor(to, g.code);
  assert.equal(msgs.length, 1, `one mail to ${to}`);
  const m = msgs[0];
  assert.match(m.subject, /Sie haben 15 Credits geschenkt bekommen/);
  assert.ok(m.body.includes(`Ihr Geschenkcode: ${g.code}`), m.body);
  assert.ok(m.body.includes(message), 'the message, UTF-8 intact');
  // Without a message the mail still goes out.
  await fund(creator, 1);
  const g2 = await gift(creator, { credits: 1, type: 'personalized', target_email: to }, { locale: 'de' });
  const m2 = await mailFor(to, g2.code);
  assert.equal(m2.length, 1);
  assert.ok(!m2[0].body.includes('{{'), 'no unfilled slots');
});
