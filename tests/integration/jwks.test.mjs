// auth.jwks_url: the RS256/ES256 keys fetched over HTTPS from a JWKS
// endpoint, kept for the response's Cache-Control max-age (bounded),
// fetched again once for an unknown kid (rate limited), and kept when the
// endpoint is down.  A second stack (startStack) is pointed at a small
// HTTPS stand-in below, with a self-signed certificate as auth.jwks_ca and
// short bounds so that the timing shows in seconds:
//   jwks_cache_min_seconds 2, jwks_cache_max_seconds 5, jwks_refetch_seconds 2.
// The responders take `now` in whole seconds, so every wait below has a
// second of margin; the stand-in records when each fetch arrived.
import test from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import https from 'node:https';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { call, newUser, token, startStack, freePort, ROOT } from './lib.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const until = (t) => sleep(Math.max(0, t - Date.now()));
const b64u = (b) => Buffer.from(b).toString('base64url');

// ------------------------------------------------------------ keys, tokens

function rsaKey(kid) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, alg: 'RS256', privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } };
}

function ecKey(kid) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, alg: 'ES256', privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' } };
}

// A token signed with key k; header.kid is k.kid unless kid says otherwise.
function signed(k, sub, { kid = k.kid } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64u(JSON.stringify({ alg: k.alg, typ: 'JWT', kid }))}.${b64u(JSON.stringify({ sub, exp: now + 3600 }))}`;
  const sig = k.alg === 'RS256'
    ? crypto.sign('sha256', Buffer.from(input), k.privateKey)
    : crypto.sign('sha256', Buffer.from(input), { key: k.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64u(sig)}`;
}

// ------------------------------------------------- the HTTPS JWKS stand-in

// A self-signed certificate for 127.0.0.1 (it is its own CA: auth.jwks_ca).
function makeCert(dir) {
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`, '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { key: readFileSync(`${dir}/key.pem`), cert: readFileSync(`${dir}/cert.pem`), ca: `${dir}/cert.pem` };
}

// The stand-in: serves state.keys at /jwks.json with state.cacheControl;
// hits records when each fetch arrived.  up()/down() start and stop it on
// the same port.
function jwksServer(tls, port) {
  const state = { keys: [], cacheControl: null, hits: [] };
  let server = null;
  const handler = (req, res) => {
    state.hits.push({ t: Date.now(), path: req.url, headers: req.headers });
    if (req.url !== '/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    const h = { 'Content-Type': 'application/json' };
    if (state.cacheControl !== null) h['Cache-Control'] = state.cacheControl;
    res.writeHead(200, h).end(JSON.stringify({ keys: state.keys.map((k) => k.jwk) }));
  };
  return {
    state,
    url: `https://127.0.0.1:${port}/jwks.json`,
    up: () => new Promise((resolve, reject) => {
      server = https.createServer({ key: tls.key, cert: tls.cert }, handler);
      server.on('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    }),
    down: () => new Promise((resolve) => {
      if (server === null) { resolve(); return; }
      server.close(() => resolve());
      server.closeAllConnections();
      server = null;
    }),
    // Fetches after the time mark (ms), and the last one's arrival.
    since: (mark) => state.hits.filter((h) => h.t > mark),
    last: () => state.hits[state.hits.length - 1].t,
  };
}

// The responders' log lines of event ev (one JSON object per line).
function events(stack, ev) {
  return stack.log().split('\n').filter((l) => l.startsWith('{')).map((l) => {
    try { return JSON.parse(l); } catch { return {}; }
  }).filter((l) => l.ev === ev);
}

const BOUNDS = { 'auth.jwks_cache_min_seconds': '2', 'auth.jwks_cache_max_seconds': '5', 'auth.jwks_refetch_seconds': '2' };

// `tally-admin check-config` with env, without blocking node (the stand-in
// lives in this process): {status, stdout, stderr}.
function checkConfig(env) {
  return new Promise((resolve, reject) => {
    const c = spawn(`${ROOT}/bin/tally-admin`, ['check-config'], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => { stdout += d; });
    c.stderr.on('data', (d) => { stderr += d; });
    c.on('error', reject);
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function balance(stack, tok) {
  return call('GET', `${stack.api}/credits/balance`, { token: tok });
}

async function fixture(t) {
  const dir = mkdtempSync(`${process.env.TALLY_VAR}/jwks-`);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tls = makeCert(dir);
  const srv = jwksServer(tls, await freePort());
  t.after(srv.down);
  return { dir, tls, srv };
}

// ------------------------------------------------------------------ tests

test('jwks_url: rotation by unknown kid, rate-limited refetch, max-age within bounds, last good set while down', { timeout: 90000 }, async (t) => {
  const { tls, srv } = await fixture(t);
  const A = rsaKey(`A-${crypto.randomBytes(3).toString('hex')}`);
  const B = ecKey(`B-${crypto.randomBytes(3).toString('hex')}`);
  const stranger = ecKey('stranger');
  srv.state.keys = [A];
  srv.state.cacheControl = 'public, max-age=3600';	// clamped to 5
  await srv.up();

  const stack = await startStack({
    name: 'jwks', procs: 1,
    set: { 'auth.jwks_url': srv.url, 'auth.jwks_ca': tls.ca, ...BOUNDS },
  });
  t.after(stack.stop);
  assert.ok(events(stack, 'jwks.fetched').some((e) => e.why === 'start'), stack.log());
  const user = newUser('jwks');

  // 1. A token signed by A passes; HS256 (auth.jwt_secret) still does.
  // tokA is sent once per thread or more, so that the threads keep it
  // (core/ops/jwks.c); step 2 sends the same bytes again.
  const tokA = signed(A, user);
  let r;
  for (let i = 0; i < 8; i++) {
    r = await balance(stack, tokA);
    assert.equal(r.status, 200, r.text);
  }
  r = await balance(stack, token({ sub: user }));
  assert.equal(r.status, 200, r.text);
  // B is not known yet (and a fetch so soon after the last is not made).
  r = await balance(stack, signed(B, user));
  assert.equal(r.status, 401, r.text);

  // 2. The endpoint rotates to B only.  Once jwks_refetch_seconds have
  // passed since the last fetch, B's unknown kid makes one fetch and
  // passes; A is gone with the old set.
  srv.state.keys = [B];
  await until(srv.last() + 3100);
  let mark = Date.now();
  r = await balance(stack, signed(B, user));
  assert.equal(r.status, 200, r.text);
  assert.equal(srv.since(mark).length, 1, 'one fetch for the unknown kid');
  assert.equal(events(stack, 'jwks.fetched').at(-1).why, 'unknown_kid');
  for (let i = 0; i < 8; i++) {
    r = await balance(stack, tokA);
    assert.equal(r.status, 401, 'A left with the old set, and the tokens it let in with it');
  }

  // 3. Unknown kids in a burst: no fetch within jwks_refetch_seconds of
  // the last one ...
  const spam = () => Promise.all(Array.from({ length: 12 }, (_, i) =>
    balance(stack, signed(stranger, user, { kid: `spam-${i}-${crypto.randomBytes(4).toString('hex')}` }))));
  mark = Date.now();
  for (const x of await spam()) assert.equal(x.status, 401, x.text);
  assert.equal(srv.since(mark).length, 0, 'rate limited');
  // ... and exactly one in the next burst once the window has passed
  // (the endpoint now asks for max-age=3, used in step 4).
  srv.state.cacheControl = 'max-age=3';
  await until(srv.last() + 3100);
  mark = Date.now();
  for (const x of await spam()) assert.equal(x.status, 401, x.text);
  for (const x of await spam()) assert.equal(x.status, 401, x.text);
  assert.equal(srv.since(mark).length, 1, 'one fetch per window, however many unknown kids');
  const w3 = srv.last();

  // 4. max-age=3 is honoured: no fetch before it runs out, one after.
  srv.state.cacheControl = 'max-age=0';	// for the next fetch: bounded to 2
  await until(w3 + 500);
  mark = Date.now();
  r = await balance(stack, signed(B, user));
  assert.equal(r.status, 200, r.text);
  assert.equal(srv.since(mark).length, 0, 'fresh within max-age');
  await until(w3 + 4500);
  mark = Date.now();
  r = await balance(stack, signed(B, user));
  assert.equal(r.status, 200, r.text);
  assert.equal(srv.since(mark).length, 1, 'stale after max-age');
  assert.equal(events(stack, 'jwks.fetched').at(-1).why, 'expired');
  const w4 = srv.last();

  // 5. max-age=0 is bounded below (jwks_cache_min_seconds): requests
  // right after the fetch do not fetch again.
  for (let i = 0; i < 5; i++) {
    r = await balance(stack, signed(B, user));
    assert.equal(r.status, 200, r.text);
  }
  assert.ok(Date.now() < w4 + 900, 'the requests were quick enough to mean something');
  assert.equal(srv.since(w4).length, 0, 'max-age=0 kept for the minimum');

  // 6. The endpoint goes down: the stale set is tried once, fails, and the
  // last good set (B) goes on serving; the failure is retried after
  // jwks_refetch_seconds, not on every request.
  await srv.down();
  await until(w4 + 3100);
  const failedBefore = events(stack, 'jwks.fetch_failed').length;
  for (let i = 0; i < 5; i++) {
    r = await balance(stack, signed(B, user));
    assert.equal(r.status, 200, `last good set while down: ${r.text}`);
  }
  r = await balance(stack, signed(stranger, user, { kid: 'while-down' }));
  assert.equal(r.status, 401, r.text);
  const failed = events(stack, 'jwks.fetch_failed').slice(failedBefore);
  assert.equal(failed.length, 1, JSON.stringify(failed));
  assert.equal(failed[0].lvl, 'warn');
  const tFail = Date.now();

  // 7. Back up with max-age=100000, which is bounded above
  // (jwks_cache_max_seconds = 5): the set is fetched again after 5 s.
  srv.state.cacheControl = 'max-age=100000';
  await srv.up();
  await until(tFail + 3100);
  mark = Date.now();
  r = await balance(stack, signed(B, user));
  assert.equal(r.status, 200, r.text);
  assert.equal(srv.since(mark).length, 1, 'the failed fetch retried');
  const w7 = srv.last();
  await until(w7 + 3000);
  mark = Date.now();
  r = await balance(stack, signed(B, user));
  assert.equal(r.status, 200, r.text);
  assert.equal(srv.since(mark).length, 0, 'kept until the bound');
  await until(w7 + 6200);
  mark = Date.now();
  r = await balance(stack, signed(B, user));
  assert.equal(r.status, 200, r.text);
  assert.equal(srv.since(mark).length, 1, 'max-age=100000 bounded to jwks_cache_max_seconds');

  // The gate verifies with the same fetched keys (its own process): B is
  // known there too; no subscription, so 402 rather than 401.
  const g = await call('GET', `${stack.url}/sync/index.html`, { headers: { Authorization: `Bearer ${signed(B, user)}` } });
  assert.equal(g.status, 402, g.text);

  // The fetches are plain GETs, and no token or key reached the log.
  for (const h of srv.state.hits) assert.equal(h.path, '/jwks.json');
  assert.ok(!/eyJ[A-Za-z0-9_-]{8,}/.test(stack.log()), 'no token in the log');
  assert.ok(!stack.log().includes(process.env.TALLY_JWT_SECRET), 'no secret in the log');
});

test('jwks_url unreachable at start: the responders start, HS256 works, RS256 passes once the URL answers; check-config fails', { timeout: 60000 }, async (t) => {
  const { tls, srv } = await fixture(t);
  const A = rsaKey('late-A');
  srv.state.keys = [A];
  srv.state.cacheControl = 'max-age=600';
  // Nothing listens on the port yet.
  const stack = await startStack({
    name: 'jwksdown', procs: 1,
    set: { 'auth.jwks_url': srv.url, 'auth.jwks_ca': tls.ca, ...BOUNDS },
  });
  t.after(stack.stop);
  const started = Date.now();
  const user = newUser('jwksdown');
  assert.ok(events(stack, 'jwks.fetch_failed').some((e) => e.why === 'start' && e.lvl === 'warn'), stack.log());

  const cc = await checkConfig({ TALLY_CONFIG: stack.config });
  assert.equal(cc.status, 1);
  assert.match(cc.stderr, /^tally-admin: auth\.jwks_url: /);
  assert.ok(!cc.stderr.includes(process.env.TALLY_JWT_SECRET));

  let r = await balance(stack, token({ sub: user }));
  assert.equal(r.status, 200, r.text);
  r = await balance(stack, signed(A, user));
  assert.equal(r.status, 401, r.text);

  await srv.up();
  await until(started + 2600);
  r = await balance(stack, signed(A, user));
  assert.equal(r.status, 200, r.text);

  // A certificate the CA file does not vouch for is a failed fetch.
  const other = mkdtempSync(`${process.env.TALLY_VAR}/jwks-other-`);
  t.after(() => rmSync(other, { recursive: true, force: true }));
  const wrongCa = makeCert(other).ca;
  const bad = await checkConfig({ TALLY_CONFIG: stack.config, TALLY_AUTH_JWKS_CA: wrongCa });
  assert.equal(bad.status, 1, bad.stdout);
  assert.match(bad.stderr, /auth\.jwks_url: .*(certificate|SSL)/i);
  const good = await checkConfig({ TALLY_CONFIG: stack.config });
  assert.equal(good.status, 0, good.stderr);
  assert.match(good.stdout, /configuration ok/);
});
