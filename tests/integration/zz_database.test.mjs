// The database going away and coming back.  Runs last (zz_): it stops and
// restarts the suite's MariaDB.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  call, token, newUser, fund, sql, sqlStr, dbBalance, ledgerMatches, dbPing, dbStart, dbStop, statusCounts, API, URL_BASE,
  startStack, DB_EXTERNAL,
} from './lib.mjs';

// A call that must answer within 10 s; returns the response and the time taken.
async function quick(method, path, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.service) headers['X-Service-Key'] = process.env.TALLY_SERVICE_KEY;
  if (opts.admin) headers['X-Admin-Key'] = process.env.TALLY_ADMIN_KEY;
  let body;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] = 'application/json';
  }
  const t0 = Date.now();
  const res = await fetch(`${API}${path}`, { method, headers, body, signal: AbortSignal.timeout(10000) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, body: json, text, ms: Date.now() - t0 };
}

async function until(what, fn, ms = 5000) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last.ok) return last;
    if (Date.now() > end) assert.fail(`${what} within ${ms} ms; last: ${last.why}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Whatever happens, leave a running database for run.sh's cleanup.
after(async () => {
  if (!DB_EXTERNAL && !dbPing()) await dbStart();
});

const user = newUser('db');

// Give every responder thread a connection, then have the server drop them
// all, as wait_timeout does to idle connections overnight.
async function dropConnections() {
  await Promise.all(Array.from({ length: 40 }, () => call('GET', '/health')));
  const conns = sql("SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()");
  assert.ok(conns.length > 0, 'the responders hold connections');
  for (const [id] of conns) {
    try { sql(`KILL CONNECTION ${Number(id)}`); } catch { /* gone already */ }
  }
}

test('a connection dropped by the server is replaced without failing requests', async () => {
  await fund(user, 100);
  const t = token({ sub: user });
  await dropConnections();
  const rs = [];
  for (let wave = 0; wave < 4; wave++)
    rs.push(...await Promise.all(Array.from({ length: 8 }, () => call('GET', '/credits/balance', { token: t }))));
  assert.deepEqual(statusCounts(rs), { 200: rs.length },
    'the database is up: stale connections must be reopened, not turned into 503s');
});

test('a dropped connection is replaced before a one-call debit is sent: no 503, each debit once', async () => {
  const spender = newUser('stale');
  await fund(spender, 100);
  const t = token({ sub: spender });
  await dropConnections();
  // A debit is one self-committing CALL: a stale connection must be found
  // before it is sent (never resent after, as it may have committed).
  const rs = [];
  for (let wave = 0; wave < 4; wave++)
    rs.push(...await Promise.all(Array.from({ length: 8 }, () =>
      call('POST', '/credits/use', { token: t, body: { amount: 1, operation: 'stale' } }))));
  assert.deepEqual(statusCounts(rs), { 200: rs.length });
  assert.equal(dbBalance(spender), 100 - rs.length);
  assert.ok(ledgerMatches(spender));
});

test('database down: /health is 503 unavailable, API routes 503, quickly', { skip: DB_EXTERNAL }, async () => {
  // Make sure the user exists with known credits before the database goes.
  assert.ok(dbBalance(user) !== null);
  await dbStop();
  assert.equal(dbPing(), false);

  const health = await Promise.all(Array.from({ length: 10 }, () => quick('GET', '/health')));
  for (const r of health) {
    assert.equal(r.status, 503, r.text);
    assert.deepEqual(r.body, { status: 'unavailable' });
    assert.ok(r.ms < 10000, `answered in ${r.ms} ms`);
    assert.ok(r.headers.get('x-request-id'));
  }
  const t = token({ sub: user });
  const routes = [
    ['GET', '/credits/balance', { token: t }],
    ['POST', '/credits/use', { token: t, body: { amount: 1, operation: 'db-down' } }],
    ['GET', '/credits/transactions', { token: t }],
    ['GET', `/internal/credits/balance/${user}`, { service: true }],
    ['POST', '/internal/credits/use', { service: true, body: { user_id: user, amount: 1, operation: 'db-down' } }],
    ['POST', '/admin/credits/adjust', { admin: true, body: { user_id: user, amount: 1, reason: 'x', actor: 'tests' } }],
    ['GET', '/admin/audit', { admin: true }],
  ];
  for (const [method, path, opts] of routes) {
    const rs = await Promise.all(Array.from({ length: 4 }, () => quick(method, path, opts)));
    for (const r of rs) {
      assert.equal(r.status, 503, `${method} ${path}: ${r.status} ${r.text}`);
      assert.equal(r.body?.error, 'unavailable', `${method} ${path}`);
      assert.equal(typeof r.body.message, 'string');
      assert.ok(r.ms < 10000, `${method} ${path} answered in ${r.ms} ms`);
    }
  }
  // Routes that need no database still answer.
  const catalog = await quick('GET', '/catalog');
  assert.equal(catalog.status, 200);
  // Authentication is still checked first: a bad token is 401, not 503.
  const bad = await quick('GET', '/credits/balance', { token: `${t}x` });
  assert.equal(bad.status, 401, bad.text);
});

test('database back: the responders reconnect by themselves and debits work', { skip: DB_EXTERNAL }, async () => {
  assert.equal(dbPing(), false, 'still down from the previous test');
  await dbStart();
  assert.ok(dbPing());
  // run.sh's cleanup (deploy/tally-dev stop) finds the new server by this file.
  const started = readFileSync(`${process.env.TALLY_VAR}/mariadb.started`, 'utf8').trim();
  assert.equal(started, readFileSync(`${process.env.TALLY_VAR}/mariadb.pid`, 'utf8').trim());

  await until('/health is 200', async () => {
    const r = await quick('GET', '/health');
    return { ok: r.status === 200 && r.body?.status === 'ok', why: `${r.status} ${r.text}` };
  });

  // Nothing happened to the wallet while the database was down.
  assert.equal(dbBalance(user), 100);
  const t = token({ sub: user });
  let done = 0;
  const debit = await until('a debit succeeds', async () => {
    const r = await quick('POST', '/credits/use', { token: t, body: { amount: 10, operation: 'after-restart' } });
    if (r.status === 200) done++;
    return { ok: r.status === 200, why: `${r.status} ${r.text}`, r };
  });
  assert.equal(done, 1);
  assert.equal(debit.r.body.balance, 90);

  // A brand-new account works too (created, funded, spent).
  const fresh = newUser('db');
  await until('a new account can be funded', async () => {
    const r = await quick('POST', '/admin/credits/adjust', { admin: true, body: { user_id: fresh, amount: 5, reason: 'x', actor: 'tests' } });
    return { ok: r.status === 200, why: `${r.status} ${r.text}` };
  });
  const spent = await until('the new account can spend', async () => {
    const r = await quick('POST', '/credits/use', { token: token({ sub: fresh }), body: { amount: 5, operation: 'x' } });
    return { ok: r.status === 200, why: `${r.status} ${r.text}`, r };
  });
  assert.equal(spent.r.body.balance, 0);
  assert.equal(dbBalance(fresh), 0);
  assert.equal(dbBalance(user), 90);
  assert.ok(ledgerMatches(user));
  assert.ok(ledgerMatches(fresh));
});

// MariaDB stopped and started while clients debit and the gate is asked,
// on the suite's stack (gate.fail_open = yes, the default) and on a second
// one with fail_open = no.
test('MariaDB restarted under load: 503 while it is down, the gate obeys fail_open, no 2xx debit is lost', { skip: DB_EXTERNAL }, async (t) => {
  const closed = await startStack({ name: 'failclosed', set: { 'gate.fail_open': 'no' }, procs: 1 });
  t.after(() => closed.stop());
  const payer = newUser('load');
  await fund(payer, 1000000);
  const member = newUser('loadgate');
  await fund(member, 100);
  const act = await call('POST', '/subscriptions/cloud_sync/activate', { token: token({ sub: member }), body: { interval: 'monthly' } });
  assert.equal(act.status, 200, act.text);
  const memberToken = token({ sub: member });

  let stop = false;
  const debits = [];
  const gates = { open: [], closed: [] };
  const debitLoop = async (w) => {
    for (let i = 0; !stop; i++) {
      const op = `load-${w}-${i}`;
      try {
        const r = await quick('POST', '/internal/credits/use', { service: true, body: { user_id: payer, amount: 1, operation: op } });
        debits.push({ op, status: r.status, body: r.body });
      } catch (e) {
        debits.push({ op, status: `error ${e.cause?.code || e.message}` });
      }
    }
  };
  const gateLoop = async (base, into) => {
    while (!stop) {
      try {
        const res = await fetch(`${base}/sync/index.html`, { headers: { Authorization: `Bearer ${memberToken}` },
          signal: AbortSignal.timeout(10000) });
        await res.text();
        into.push(res.status);
      } catch (e) {
        into.push(`error ${e.cause?.code || e.message}`);
      }
    }
  };
  const loops = [
    ...Array.from({ length: 8 }, (_, w) => debitLoop(w)),
    gateLoop(URL_BASE, gates.open), gateLoop(closed.url, gates.closed),
  ];
  await new Promise((r) => setTimeout(r, 800));
  await dbStop();
  await new Promise((r) => setTimeout(r, 1500));
  await dbStart();
  await until('/health is 200 again', async () => {
    const r = await quick('GET', '/health');
    return { ok: r.status === 200, why: `${r.status} ${r.text}` };
  }, 15000);
  await new Promise((r) => setTimeout(r, 800));
  stop = true;
  await Promise.all(loops);

  const counts = statusCounts(debits);
  // Only 200 and 503: no reset connection, no other server error.
  assert.deepEqual(Object.keys(counts).sort(), ['200', '503'], JSON.stringify(counts));
  assert.ok(debits.filter((d) => d.status === 503).every((d) => d.body?.error === 'unavailable'));
  // Served before and after the outage.
  const firstDown = debits.findIndex((d) => d.status === 503);
  assert.ok(debits.slice(0, firstDown).some((d) => d.status === 200), 'debits before the outage');
  assert.ok(debits.slice(debits.findLastIndex((d) => d.status === 503)).some((d) => d.status === 200), 'debits after it');
  // Every debit answered 200 is in the ledger, once; nothing is there
  // that was not asked for; the ledger sums to the balance.
  const rows = sql(`SELECT l.id, l.operation FROM ledger l JOIN accounts a ON a.id = l.account_id
    WHERE a.user_id = ${sqlStr(payer)} AND l.kind = 'usage'`);
  const byOp = new Map();
  for (const [id, op] of rows) byOp.set(op, (byOp.get(op) || []).concat(id));
  for (const d of debits.filter((x) => x.status === 200)) {
    assert.deepEqual(byOp.get(d.op), [String(d.body.transaction.id)], `debit ${d.op} answered 200`);
  }
  const asked = new Set(debits.map((d) => d.op));
  assert.ok([...byOp.entries()].every(([op, ids]) => asked.has(op) && ids.length === 1), 'each debit at most once');
  assert.ok(ledgerMatches(payer));
  assert.equal(dbBalance(payer), 1000000 - rows.length);

  // The gate: fail_open = yes lets the member through all along; no
  // serves 503 while the database is away, never the page to nobody.
  assert.deepEqual([...new Set(gates.open)], [200], JSON.stringify(statusCounts(gates.open.map((s) => ({ status: s })))));
  assert.deepEqual([...new Set(gates.closed)].sort(), [200, 503], JSON.stringify(gates.closed.slice(0, 5)));
});
