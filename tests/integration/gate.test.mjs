// The gate: lighttpd asks tally (FastCGI AUTHORIZER) before serving /sync/.
// 401 without a valid token, 402 without an active subscription, 200 and
// the page with one; a pause or a reactivation counts from the very next
// request.
import test from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  URL_BASE, call, token, newUser, fund, sql, sqlStr, subRow, setSubPeriod, parkSubs, runScheduler, isoTime,
} from './lib.mjs';

const PRODUCT = 'cloud_sync';
const PAGE = '/sync/index.html';
const PAGE_TEXT = 'Cloud Sync is active';
const DAY = 86400000;
const as = (user, claims = {}) => token({ sub: user, ...claims });

// A request through lighttpd to a gated path.
function gate(tok, path = PAGE, headers = {}) {
  return call('GET', `${URL_BASE}${path}`, { token: tok, headers });
}
function assert401(r, what) {
  assert.equal(r.status, 401, `${what}: ${r.status} ${r.text}`);
  assert.equal(r.body?.error, 'unauthorized', `${what}: ${r.text}`);
  assert.ok(!r.text.includes(PAGE_TEXT), what);
}
function assert402(r, what = '') {
  assert.equal(r.status, 402, `${what}: ${r.status} ${r.text}`);
  assert.match(r.headers.get('content-type') || '', /^application\/json/);
  assert.equal(r.body?.error, 'subscription_inactive', `${what}: ${r.text}`);
  assert.equal(typeof r.body.message, 'string');
  assert.ok(!r.text.includes(PAGE_TEXT), what);
}
function assert200(r, what = '') {
  assert.equal(r.status, 200, `${what}: ${r.status} ${r.text}`);
  assert.match(r.headers.get('content-type') || '', /^text\/html/);
  assert.ok(r.text.includes(PAGE_TEXT), `${what}: the page itself`);
}
async function activate(user, interval = 'monthly') {
  const r = await call('POST', `/subscriptions/${PRODUCT}/activate`, { token: as(user), body: { interval } });
  return r;
}
async function subscriber(credits = 100, prefix = 'gate') {
  const user = newUser(prefix);
  await fund(user, credits);
  const r = await activate(user);
  assert.equal(r.status, 200, r.text);
  return user;
}
async function internalActive(user) {
  const r = await call('GET', `/internal/subscriptions/${PRODUCT}/status/${encodeURIComponent(user)}`, { service: true });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

test('no token, another scheme or a bad token: 401 unauthorized, never the page', async () => {
  const user = await subscriber(); // the claims would be good; the tokens are not
  const now = Math.floor(Date.now() / 1000);
  const b64u = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const unsigned = `${b64u({ alg: 'none', typ: 'JWT' })}.${b64u({ sub: user, exp: now + 3600 })}.`;
  const cases = [
    ['no Authorization', undefined, {}],
    ['Basic', undefined, { Authorization: `Basic ${Buffer.from(`${user}:x`).toString('base64')}` }],
    ['empty bearer', undefined, { Authorization: 'Bearer ' }],
    ['garbage', 'not.a.token', {}],
    ['wrong secret', token({ sub: user }, { secret: crypto.randomBytes(32).toString('hex') }), {}],
    ['expired', as(user, { exp: now - 120, iat: now - 7200 }), {}],
    ['not yet valid', as(user, { nbf: now + 3600 }), {}],
    ['alg none', unsigned, {}],
    ['tampered', `${as(user).slice(0, -3)}abc`, {}],
  ];
  for (const [what, tok, headers] of cases) assert401(await gate(tok, PAGE, headers), what);
  // Without a token every method is refused (the gate runs before the file).
  for (const method of ['HEAD', 'POST']) {
    const r = await fetch(`${URL_BASE}${PAGE}`, { method });
    assert.equal(r.status, 401, method);
  }
  // The same user with a good token passes.
  assert200(await gate(as(user)), 'good token');
});

test('a user without a subscription: 402 with {"error":"subscription_inactive",...}', async () => {
  // Never seen before.
  assert402(await gate(as(newUser('gate'))), 'unknown user');
  // An account with credits but no subscription.
  const funded = newUser('gate');
  await fund(funded, 500);
  assert402(await gate(as(funded)), 'funded, not subscribed');
  assert402(await gate(as(funded), '/sync/'), '/sync/');
  assert402(await gate(as(funded), '/sync/index.html?x=1'), 'query string');
  // A subscription of one user opens nothing for another.
  await subscriber();
  assert402(await gate(as(funded)), 'another user subscribed');
});

test('an active subscription: 200 and the page, at every spelling of the path', async () => {
  const user = await subscriber();
  assert200(await gate(as(user)), PAGE);
  assert200(await gate(as(user), '/sync/'), '/sync/ (index)');
  assert200(await gate(as(user), '/sync/index.html?utm=x'), 'query string');
  assert200(await gate(as(user), '/sync/./index.html'), 'dot segment');
  // The token may carry other claims (email, locale).
  assert200(await gate(as(user, { email: `${user}@example.com`, locale: 'de' })), 'more claims');
  // Only what exists is served: the gate says yes, the server says 404.
  assert.equal((await gate(as(user), '/sync/no-such-file.html')).status, 404);
});

test('other spellings of the gated path never get through without a subscription', async () => {
  const funded = newUser('gate');
  await fund(funded, 100);
  const spellings = ['/sync/index.html', '//sync/index.html', '/./sync/index.html', '/x/../sync/index.html',
    '/%73ync/index.html', '/sync%2Findex.html', '/sync/%2e/index.html', '/sync/index.html/', '/sync/index.html%00',
    '/sync/index.html#frag', '/sync/index.html;x', '/%2Fsync/index.html'];
  for (const path of spellings) {
    for (const [who, tok] of [['no token', undefined], ['not subscribed', as(funded)]]) {
      const r = await gate(tok, path);
      assert.ok(r.status !== 200 && !r.text.includes(PAGE_TEXT), `${who} ${path}: ${r.status} ${r.text.slice(0, 100)}`);
    }
  }
});

test('a pause flips the very next request to 402; top up + reactivate flips it back to 200', async (t) => {
  const user = await subscriber(30); // 0 credits left
  t.after(() => parkSubs(`a.user_id = ${sqlStr(user)}`));
  assert200(await gate(as(user)), 'active');
  assert.equal((await internalActive(user)).active, true);

  // The period ended ten days ago; the wallet is empty: the scheduler
  // (running now) pauses it.
  setSubPeriod(user, isoTime(Date.now() - 40 * DAY));
  await runScheduler();
  assert.equal(subRow(user).status, 'paused');
  assert402(await gate(as(user)), 'the request right after the pause');
  // Every responder thread agrees (no stale answer anywhere).
  const burst = await Promise.all(Array.from({ length: 16 }, () => gate(as(user))));
  for (const r of burst) assert402(r, 'burst after the pause');
  const st = await internalActive(user);
  assert.equal(st.active, false);
  assert.equal(st.status, 'paused');
  assert.equal(st.until, null);

  // Reactivating without credits: still 402.
  assert.equal((await activate(user)).status, 402);
  assert402(await gate(as(user)), 'after a refused reactivation');

  await fund(user, 30);
  const a = await activate(user);
  assert.equal(a.status, 200, a.text);
  assert200(await gate(as(user)), 'the request right after the reactivation');
  const burst2 = await Promise.all(Array.from({ length: 16 }, () => gate(as(user))));
  for (const r of burst2) assert200(r, 'burst after the reactivation');
  const st2 = await internalActive(user);
  assert.equal(st2.active, true);
  assert.equal(st2.status, 'active');
  assert.equal(st2.until, a.body.current_period_end);
});

test('deactivated: 200 until the period end, 402 after it (before and after the scheduler ends it)', async (t) => {
  const user = await subscriber(100);
  t.after(() => parkSubs(`a.user_id = ${sqlStr(user)}`));
  const d = await call('POST', `/subscriptions/${PRODUCT}/deactivate`, { token: as(user) });
  assert.equal(d.status, 200, d.text);
  assert200(await gate(as(user)), 'paid period still running');

  // The period is over; the scheduler has not run yet: no longer entitled.
  setSubPeriod(user, '2025-01-10T00:00:00Z');
  assert402(await gate(as(user)), 'after the end, before the scheduler');
  assert.equal((await internalActive(user)).active, false);

  await runScheduler('2025-02-10T00:00:01Z');
  assert.equal(subRow(user).status, 'canceled');
  assert402(await gate(as(user)), 'canceled');

  // Activating again: charged now, the next request passes.
  const a = await activate(user);
  assert.equal(a.status, 200, a.text);
  assert200(await gate(as(user)), 'reactivated');
});

test('the gate and the internal status agree through a whole life cycle', async (t) => {
  const user = newUser('gate');
  t.after(() => parkSubs(`a.user_id = ${sqlStr(user)}`));
  const check = async (want, what) => {
    const g = await gate(as(user));
    const s = await internalActive(user);
    if (want) assert200(g, what);
    else assert402(g, what);
    assert.equal(s.active, want, `${what}: ${JSON.stringify(s)}`);
  };
  await check(false, 'never subscribed');
  await fund(user, 40);
  assert.equal((await activate(user)).status, 200);
  await check(true, 'activated');
  const c = await call('POST', `/subscriptions/${PRODUCT}/change-interval`, { token: as(user), body: { interval: 'yearly' } });
  assert.equal(c.status, 200, c.text);
  await check(true, 'interval changed');
  // Due now with 10 credits, the yearly price is 360: paused.
  setSubPeriod(user, isoTime(Date.now() - 40 * DAY));
  const r = await call('POST', '/internal/subscriptions/charge-recurring', { service: true });
  assert.equal(r.status, 200, r.text);
  assert.equal(subRow(user).status, 'paused');
  await check(false, 'paused');
  const d = await call('POST', `/subscriptions/${PRODUCT}/deactivate`, { token: as(user) });
  assert.equal(d.status, 200, d.text);
  await check(false, 'canceled');
  await fund(user, 20);
  assert.equal((await activate(user, 'monthly')).status, 200);
  await check(true, 'activated again');
});

// deploy/mariadb.cnf turns MariaDB's query cache on for the entitlement
// read (SQL_CACHE, DEMAND): repeated gate and status requests are answered
// from it, and any change to the subscription (through tally, or written
// by hand in SQL) shows on the very next request, never a stale answer.
test('repeated entitlement reads come from the query cache, and a change shows at once', async () => {
  const hits = () => Number(sql("SHOW GLOBAL STATUS LIKE 'Qcache_hits'")[0][1]);
  const user = await subscriber();
  assert200(await gate(as(user)), 'first read');
  const before = hits();
  for (let i = 0; i < 5; i++) assert200(await gate(as(user)), `read ${i}`);
  assert.ok(hits() - before >= 5, `query cache hits ${hits() - before}`);
  // Changed behind tally's back: the cached read must go with it.
  sql(`UPDATE subscriptions SET status = 'paused', paused_at = NOW() WHERE user_id = ${sqlStr(user)}`);
  assert402(await gate(as(user)), 'paused in SQL');
  assert.equal((await internalActive(user)).active, false);
  sql(`UPDATE subscriptions SET status = 'active', paused_at = NULL WHERE user_id = ${sqlStr(user)}`);
  assert200(await gate(as(user)), 'active again in SQL');
  // Through tally: the period is due, the scheduler's renewal charges it
  // and moves the period on; the status read (cached twice) follows.
  setSubPeriod(user, isoTime(Date.now() - 40 * DAY));
  const due = (await internalActive(user)).until;
  assert.equal((await internalActive(user)).until, due);
  const r = await call('POST', '/internal/subscriptions/charge-recurring', { service: true });
  assert.equal(r.status, 200, r.text);
  const st = await internalActive(user);
  assert.equal(st.active, true);
  assert.ok(Date.parse(st.until) > Date.parse(due), `renewed: ${due} -> ${st.until}`);
  assert200(await gate(as(user)), 'renewed');
});
