// Quotas per subscription period (a product's quota.METRIC): the gate
// counts one "requests" unit per request it lets through and answers 429
// quota_exceeded once the period's units are spent; a renewal starts the
// count again; apps record their own units.  Second stacks on the suite's
// database carry the quotas (the suite's own config has none).
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  call, token, newUser, fund, statusCounts, setSubPeriod, isoTime, startStack, SERVICE_KEY,
} from './lib.mjs';

const DAY = 86400000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let exact;   // quota.requests = 20, one responder process per pool
let batched; // quota.requests = 1000, two processes per pool

before(async () => {
  const quotas = (n) => [['product.cloud_sync', 'quota.requests', String(n)], ['product.cloud_sync', 'quota.exports', '5']];
  exact = await startStack({ name: 'quota20', procs: 1, ini: quotas(20), set: { 'gate.quota_flush_ms': '100' } });
  batched = await startStack({ name: 'quota1000', procs: 2, ini: quotas(1000), set: { 'gate.quota_flush_ms': '100' } });
});
after(() => { exact?.stop(); batched?.stop(); });

async function subscriber(prefix = 'quota') {
  const user = newUser(prefix);
  await fund(user, 100);
  const r = await call('POST', '/subscriptions/cloud_sync/activate', { token: token({ sub: user }), body: { interval: 'monthly' } });
  assert.equal(r.status, 200, r.text);
  return { user, sub: r.body };
}
async function gate(stack, user) {
  const res = await fetch(`${stack.url}/sync/index.html`, { headers: { Authorization: `Bearer ${token({ sub: user })}` } });
  const text = await res.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* the page */ }
  return { status: res.status, body, text, type: res.headers.get('content-type') };
}
async function usageOf(stack, user, { internal = false } = {}) {
  const res = internal
    ? await fetch(`${stack.api}/internal/usage/${encodeURIComponent(user)}`, { headers: { 'X-Service-Key': SERVICE_KEY } })
    : await fetch(`${stack.api}/usage`, { headers: { Authorization: `Bearer ${token({ sub: user })}` } });
  assert.equal(res.status, 200);
  return (await res.json()).usage;
}
function record(stack, body, key) {
  const headers = { 'X-Service-Key': SERVICE_KEY, 'Content-Type': 'application/json' };
  if (key) headers['Idempotency-Key'] = key;
  return fetch(`${stack.api}/internal/usage/record`, { method: 'POST', headers, body: JSON.stringify(body) })
    .then(async (r) => ({ status: r.status, body: await r.json() }));
}

test('the gate lets 20 of 50 concurrent requests through, then 429 quota_exceeded with limit, used and resets_at', async () => {
  const { user, sub } = await subscriber();
  const rs = await Promise.all(Array.from({ length: 50 }, () => gate(exact, user)));
  assert.deepEqual(statusCounts(rs), { 200: 20, 429: 30 });
  const refused = rs.find((r) => r.status === 429);
  assert.match(refused.type, /^application\/json/);
  assert.deepEqual(refused.body, {
    error: 'quota_exceeded', message: refused.body.message, metric: 'requests', limit: 20, used: 20,
    resets_at: sub.current_period_end,
  });
  // Still refused; the main stack (no quota) lets the user through.
  assert.equal((await gate(exact, user)).status, 429);
  assert.equal((await call('GET', '/internal/subscriptions/cloud_sync/status/' + user, { service: true })).body.active, true);

  await sleep(300);
  const [u] = await usageOf(exact, user);
  assert.equal(u.product, 'cloud_sync');
  assert.equal(u.resets_at, sub.current_period_end);
  assert.deepEqual(u.quotas, [
    { metric: 'requests', limit: 20, used: 20, remaining: 0 },
    { metric: 'exports', limit: 5, used: 0, remaining: 5 },
  ]);
  assert.deepEqual(await usageOf(exact, user, { internal: true }), [u]);
});

test('far from the limit, counts are batched and none is lost or counted twice (two processes)', async () => {
  const { user } = await subscriber('quota-b');
  let n = 0;
  const worker = async () => {
    while (n < 300) {
      n++;
      const r = await gate(batched, user);
      assert.equal(r.status, 200, r.text);
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
  await sleep(400);
  const [u] = await usageOf(batched, user);
  assert.equal(u.quotas[0].used, 300);
  assert.equal(u.quotas[0].remaining, 700);
});

test('a renewal starts the count again', async (t) => {
  const { user } = await subscriber('quota-r');
  for (let i = 0; i < 20; i++) assert.equal((await gate(exact, user)).status, 200);
  assert.equal((await gate(exact, user)).status, 429);
  // The period ends; the scheduler's renewal charges the next one.
  setSubPeriod(user, isoTime(Date.now() - 31 * DAY));
  const r = await call('POST', '/internal/subscriptions/charge-recurring', { service: true });
  assert.equal(r.status, 200, r.text);
  const g = await gate(exact, user);
  assert.equal(g.status, 200, g.text);
  await sleep(300);
  const [u] = await usageOf(exact, user);
  assert.equal(u.quotas[0].used, 1);
  assert.ok(Date.parse(u.resets_at) > Date.now(), u.resets_at);
});

test('POST /internal/usage/record adds an app\'s units once per Idempotency-Key; bad input changes nothing', async () => {
  const { user } = await subscriber('quota-rec');
  const body = { user_id: user, product: 'cloud_sync', metric: 'exports', amount: 3 };
  const a = await record(exact, body, `rec-${user}`);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.deepEqual(a.body.quotas, [{ metric: 'exports', limit: 5, used: 3, remaining: 2 }]);
  const again = await record(exact, body, `rec-${user}`);
  assert.deepEqual(again, a, 'the same key: the stored answer');
  const over = await record(exact, body, `rec2-${user}`);
  assert.deepEqual(over.body.quotas, [{ metric: 'exports', limit: 5, used: 6, remaining: 0 }], 'recorded past the limit');

  const bad = async (b, status, field) => {
    const r = await record(exact, b);
    assert.equal(r.status, status, JSON.stringify([b, r.body]));
    if (field) assert.equal(r.body.field, field);
  };
  await bad({ ...body, product: 'nope' }, 400, 'product');
  await bad({ ...body, metric: 'requests_daily' }, 400, 'metric');
  await bad({ ...body, amount: 0 }, 400, 'amount');
  await bad({ ...body, amount: 1000000001 }, 400, 'amount');
  await bad({ ...body, amount: 2.5 }, 400, 'amount');
  await bad({ ...body, user_id: '' }, 400, 'user_id');
  await bad({ ...body, user_id: newUser('quota-none') }, 404);
  const [u] = await usageOf(exact, user);
  assert.equal(u.quotas.find((q) => q.metric === 'exports').used, 6);
});
