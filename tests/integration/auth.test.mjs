// Authentication: user tokens, the service key, the admin key.
import test from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { call, token, newUser, fund, sql, sqlStr, dbBalance, startStack, SERVICE_KEY, ADMIN_KEY } from './lib.mjs';

const now = () => Math.floor(Date.now() / 1000);
const b64u = (s) => Buffer.from(s).toString('base64url');

function unauthorized(r, what) {
  assert.equal(r.status, 401, `${what}: ${r.status} ${r.text}`);
  assert.equal(r.body?.error, 'unauthorized', what);
  assert.equal(typeof r.body.message, 'string');
}

// GET balance and POST use with the given Authorization header value.
async function bothWith(authorization) {
  const headers = authorization === undefined ? {} : { Authorization: authorization };
  return [
    await call('GET', '/credits/balance', { headers }),
    await call('POST', '/credits/use', { headers, body: { amount: 1, operation: 'auth-test' } }),
  ];
}

test('a valid token is accepted', async () => {
  const r = await call('GET', '/credits/balance', { token: token({ sub: newUser() }) });
  assert.equal(r.status, 200, r.text);
});

test('no token: 401 unauthorized', async () => {
  for (const r of await bothWith(undefined)) unauthorized(r, 'missing');
});

test('malformed tokens and headers: 401 unauthorized', async () => {
  const good = token({ sub: newUser() });
  const cases = {
    'empty bearer': 'Bearer ',
    garbage: 'Bearer not-a-token',
    'two parts': `Bearer ${good.split('.').slice(0, 2).join('.')}`,
    'four parts': `Bearer ${good}.x`,
    'three dots only': 'Bearer ..',
    'bad base64 signature': `Bearer ${good.slice(0, good.lastIndexOf('.') + 1)}!!!`,
    'truncated signature': `Bearer ${good.slice(0, -2)}`,
    'payload not JSON': `Bearer ${b64u('{"alg":"HS256","typ":"JWT"}')}.${b64u('not json')}.${good.split('.')[2]}`,
    'Basic scheme': `Basic ${Buffer.from('user:pass').toString('base64')}`,
    'token without scheme': good,
  };
  for (const [what, header] of Object.entries(cases))
    for (const r of await bothWith(header)) unauthorized(r, what);
});

test('an expired token: 401', async () => {
  const t = token({ sub: newUser(), exp: now() - 3600, iat: now() - 7200 });
  for (const r of await bothWith(`Bearer ${t}`)) unauthorized(r, 'expired');
});

test('a token without exp: 401', async () => {
  const t = token({ sub: newUser(), exp: undefined });
  assert.ok(!JSON.parse(Buffer.from(t.split('.')[1], 'base64url')).exp);
  for (const r of await bothWith(`Bearer ${t}`)) unauthorized(r, 'no exp');
});

test('a token with nbf in the future: 401', async () => {
  const t = token({ sub: newUser(), nbf: now() + 3600 });
  for (const r of await bothWith(`Bearer ${t}`)) unauthorized(r, 'nbf');
  // nbf in the past is fine.
  const ok = await call('GET', '/credits/balance', { token: token({ sub: newUser(), nbf: now() - 60 }) });
  assert.equal(ok.status, 200, ok.text);
});

test('a token signed with another secret: 401', async () => {
  const t = token({ sub: newUser() }, { secret: crypto.randomBytes(32).toString('hex') });
  for (const r of await bothWith(`Bearer ${t}`)) unauthorized(r, 'wrong secret');
});

test('alg none is rejected: 401', async () => {
  const user = newUser();
  await fund(user, 10);
  for (const alg of ['none', 'None', 'NONE']) {
    const t = token({ sub: user }, { header: { alg, typ: 'JWT' } });
    for (const r of await bothWith(`Bearer ${t}`)) unauthorized(r, `alg ${alg}`);
  }
  // alg none with a (valid HS256) signature attached is no better.
  const good = token({ sub: user });
  const [, p, s] = good.split('.');
  for (const r of await bothWith(`Bearer ${b64u('{"alg":"none","typ":"JWT"}')}.${p}.${s}`)) unauthorized(r, 'none+sig');
  assert.equal(dbBalance(user), 10, 'nothing was spent');
});

test('a tampered payload (other sub, same signature): 401 and the victim keeps the credits', async () => {
  const attacker = newUser('attacker');
  const victim = newUser('victim');
  await fund(victim, 20);
  const t = token({ sub: attacker });
  const [h, p, s] = t.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  claims.sub = victim;
  const forged = `${h}.${b64u(JSON.stringify(claims))}.${s}`;
  for (const r of await bothWith(`Bearer ${forged}`)) unauthorized(r, 'tampered');
  // Extending exp is tampering too.
  claims.sub = attacker;
  claims.exp += 86400;
  for (const r of await bothWith(`Bearer ${h}.${b64u(JSON.stringify(claims))}.${s}`)) unauthorized(r, 'exp extended');
  assert.equal(dbBalance(victim), 20);
});

test('a token without sub (or an empty sub): 401', async () => {
  for (const claims of [{}, { sub: '' }, { sub: 42 }]) {
    const r = await call('GET', '/credits/balance', { token: token(claims) });
    unauthorized(r, JSON.stringify(claims));
  }
});

test('internal routes: missing or wrong X-Service-Key is 401', async () => {
  const user = newUser();
  await fund(user, 10);
  const keys = { missing: undefined, wrong: 'x'.repeat(48), 'prefix of the key': SERVICE_KEY.slice(0, -1),
    'the key plus a byte': `${SERVICE_KEY}0`, 'the admin key': ADMIN_KEY };
  for (const [what, key] of Object.entries(keys)) {
    const opts = key === undefined ? {} : { service: key };
    unauthorized(await call('GET', `/internal/credits/balance/${user}`, opts), `balance, ${what}`);
    unauthorized(await call('POST', '/internal/credits/use', { ...opts,
      body: { user_id: user, amount: 1, operation: 'x' } }), `use, ${what}`);
    unauthorized(await call('POST', '/internal/credits/init', { ...opts, body: { user_id: newUser() } }), `init, ${what}`);
    unauthorized(await call('POST', '/internal/credits/refund', { ...opts,
      body: { user_id: user, transaction_id: '1' } }), `refund, ${what}`);
  }
  // A user token does not open internal routes either.
  unauthorized(await call('GET', `/internal/credits/balance/${user}`, { token: token({ sub: user }) }), 'user token');
  assert.equal(dbBalance(user), 10);
  const ok = await call('GET', `/internal/credits/balance/${user}`, { service: true });
  assert.equal(ok.status, 200);
});

test('admin routes: missing or wrong X-Admin-Key is 401; the service key is not an admin key', async () => {
  const user = newUser();
  const body = { user_id: user, amount: 100, reason: 'auth test', actor: 'mallory' };
  const keys = { missing: undefined, wrong: 'y'.repeat(48), 'the service key': SERVICE_KEY,
    'prefix of the key': ADMIN_KEY.slice(0, 16) };
  for (const [what, key] of Object.entries(keys)) {
    const opts = key === undefined ? {} : { admin: key };
    unauthorized(await call('POST', '/admin/credits/adjust', { ...opts, body }), `adjust, ${what}`);
    unauthorized(await call('GET', '/admin/audit', opts), `audit, ${what}`);
  }
  // The service key sent as X-Service-Key does not open admin routes.
  unauthorized(await call('POST', '/admin/credits/adjust', { service: true, body }), 'service header');
  unauthorized(await call('POST', '/admin/credits/adjust', { token: token({ sub: user }), body }), 'user token');
  assert.equal(dbBalance(user), null, 'no account was created or credited');
  assert.equal(sql(`SELECT COUNT(*) FROM audit_log WHERE target = ${sqlStr(user)}`)[0][0], '0');
});

test("a token's email claim is stored on the account, and follows changes", async () => {
  const user = newUser();
  const r1 = await call('GET', '/credits/balance', { token: token({ sub: user, email: 'first@example.com' }) });
  assert.equal(r1.status, 200, r1.text);
  assert.deepEqual(sql(`SELECT email FROM accounts WHERE user_id = ${sqlStr(user)}`), [['first@example.com']]);

  const r2 = await call('GET', '/credits/balance', { token: token({ sub: user, email: 'Second.Ünïcode@example.com' }) });
  assert.equal(r2.status, 200, r2.text);
  assert.deepEqual(sql(`SELECT email FROM accounts WHERE user_id = ${sqlStr(user)}`), [['Second.Ünïcode@example.com']]);

  // A token without the claim leaves the stored email alone.
  const r3 = await call('GET', '/credits/balance', { token: token({ sub: user }) });
  assert.equal(r3.status, 200, r3.text);
  assert.deepEqual(sql(`SELECT email FROM accounts WHERE user_id = ${sqlStr(user)}`), [['Second.Ünïcode@example.com']]);
});

// Each responder thread keeps the tokens it let in last (core/ops/jwks.c),
// and answers the same bytes again from their exp and nbf alone.  On a pool
// of one process of one thread every request below meets that memo: a
// token that passed must not let in a token of the same length that
// differs in one byte (the slot is chosen by the signature's last bytes,
// so these land on its slot), and must stop passing at its exp.
test('a token that passed lets in only itself, and only until its exp', { timeout: 30000 }, async (t) => {
  const stack = await startStack({ name: 'memo', procs: 1, set: { 'http.threads': '1' } });
  t.after(stack.stop);
  const user = newUser();
  const victim = newUser();
  assert.equal(user.length, victim.length);
  await fund(user, 10);
  await fund(victim, 10);
  const exp = now() + 4;
  const good = token({ sub: user, exp });
  const use = (tok) => call('POST', `${stack.api}/credits/use`, { token: tok, body: { amount: 1, operation: 'memo-test' } });
  for (let i = 0; i < 3; i++) {
    const r = await call('GET', `${stack.api}/credits/balance`, { token: good });
    assert.equal(r.status, 200, r.text);
  }
  // The same signature over another user's claims, same length.
  const [h, p, s] = good.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  const other = `${h}.${b64u(JSON.stringify({ ...claims, sub: victim }))}.${s}`;
  assert.equal(other.length, good.length);
  unauthorized(await use(other), 'another sub under the memo');
  // One byte of the signature changed, away from its last eight.
  const i = good.length - 12;
  const flipped = good.slice(0, i) + (good[i] === 'A' ? 'B' : 'A') + good.slice(i + 1);
  unauthorized(await use(flipped), 'one byte changed under the memo');
  // The header's bytes changed (same length): no longer HS256 as signed.
  const hdr = `${b64u('{"alg":"HS256","typ":"JWS"}')}.${p}.${s}`;
  assert.equal(hdr.length, good.length);
  unauthorized(await use(hdr), 'another header under the memo');
  // The token itself still passes, then not once its exp has come.
  let r = await use(good);
  assert.equal(r.status, 200, r.text);
  await new Promise((res) => setTimeout(res, Math.max(0, exp * 1000 - Date.now()) + 1100));
  for (let k = 0; k < 3; k++) unauthorized(await use(good), 'expired under the memo');
  assert.equal(dbBalance(user), 9, 'one debit went through');
  assert.equal(dbBalance(victim), 10, 'the victim was not charged');
});
