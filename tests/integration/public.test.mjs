// Public routes, routing errors, request ids and CORS.
import test from 'node:test';
import assert from 'node:assert/strict';
import { call, token, newUser, URL_BASE, API } from './lib.mjs';

const APP_ORIGIN = 'http://app.example.com';

function isError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get('content-type') || '', /^application\/json/);
  assert.equal(r.body?.error, code, r.text);
  assert.equal(typeof r.body.message, 'string');
  assert.ok(r.body.message.length > 0);
}

test('GET /health answers {"status":"ok"}', async () => {
  const r = await call('GET', '/health');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { status: 'ok' });
  assert.match(r.headers.get('content-type'), /^application\/json/);
});

test('GET /catalog lists currency, products with three prices, plans and packages', async () => {
  const r = await call('GET', '/catalog');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.body).sort(), ['currency', 'packages', 'plans', 'products']);
  assert.equal(r.body.currency, 'EUR');

  for (const p of r.body.products) {
    assert.deepEqual(Object.keys(p).sort(), ['billing', 'id', 'name', 'prices']);
    assert.ok(['credits', 'invoice'].includes(p.billing), p.billing);
    assert.deepEqual(Object.keys(p.prices).sort(), ['monthly', 'quarterly', 'yearly']);
  }
  const sync = r.body.products.find((p) => p.id === 'cloud_sync');
  assert.deepEqual(sync, { id: 'cloud_sync', name: 'Cloud Sync', billing: 'credits',
    prices: { monthly: 30, quarterly: 90, yearly: 360 } });
  const pro = r.body.products.find((p) => p.id === 'pro');
  assert.equal(pro.name, 'Pro');
  assert.equal(pro.billing, 'invoice');
  assert.equal(pro.prices.monthly, 2900);

  // config.sample's plan, and the one the harness adds for plan changes.
  assert.deepEqual(r.body.plans, [
    { id: 'relay_basic', name: 'Basic relay', monthly: 500 },
    { id: 'relay_pro', name: 'Pro relay', monthly: 1200 },
  ]);
  assert.deepEqual(r.body.packages, [
    { id: 'starter', name: '500 credits', credits: 500, price: 500 },
    { id: 'large', name: '2000 credits', credits: 2000, price: 1800 },
  ]);
});

test('GET /credits/packages gives every package with its currency', async () => {
  const r = await call('GET', '/credits/packages');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { packages: [
    { id: 'starter', name: '500 credits', credits: 500, price: 500, currency: 'EUR' },
    { id: 'large', name: '2000 credits', credits: 2000, price: 1800, currency: 'EUR' },
  ] });
});

test('an unknown route is 404 not_found in JSON', async () => {
  for (const path of [`${API}/nope`, `${API}/credits`, `${API}/credits/balance/extra`,
    `${URL_BASE}/api/v2/health`, `${API}/internal/credits/balance`]) {
    const r = await call('GET', path);
    isError(r, 404, 'not_found');
  }
  // Unknown routes need no credentials: nothing is revealed either way.
  const r = await call('POST', '/nope', { body: {} });
  isError(r, 404, 'not_found');
});

test('a known path with the wrong method is 405 with an Allow header', async () => {
  const cases = [
    ['DELETE', '/credits/balance', 'GET'],
    ['POST', '/health', 'GET'],
    ['GET', '/credits/use', 'POST'],
    ['PUT', '/credits/purchase', 'POST'],
    ['DELETE', '/credits/purchase/1', 'GET'],
    ['GET', '/admin/credits/adjust', 'POST'],
  ];
  for (const [method, path, allow] of cases) {
    const r = await call(method, path);
    isError(r, 405, 'method_not_allowed');
    assert.equal(r.headers.get('allow'), allow, `${method} ${path}`);
  }
});

test('every response carries its own X-Request-Id, errors included', async () => {
  const u = newUser();
  const responses = [
    await call('GET', '/health'),
    await call('GET', '/catalog'),
    await call('GET', '/nope'),
    await call('DELETE', '/credits/balance'),
    await call('GET', '/credits/balance'),
    await call('GET', '/credits/balance', { token: token({ sub: u }) }),
    await call('POST', '/credits/use', { token: token({ sub: u }), body: { amount: 1, operation: 'x' } }),
    await call('POST', '/credits/use', { token: token({ sub: u }), raw: 'nope', contentType: 'application/json' }),
    await call('POST', '/credits/use', { token: token({ sub: u }), raw: 'nope', contentType: 'text/plain' }),
    await call('GET', '/admin/audit', { admin: 'wrong-key-wrong-key' }),
    await call('OPTIONS', '/credits/use', { headers: { Origin: APP_ORIGIN } }),
  ];
  const ids = responses.map((r) => r.headers.get('x-request-id'));
  for (const [i, id] of ids.entries())
    assert.match(id || '', /^[0-9a-f]{16}$/, `response ${i} (${responses[i].status})`);
  assert.equal(new Set(ids).size, ids.length, 'request ids are unique');
  assert.deepEqual(responses.map((r) => r.status), [200, 200, 404, 405, 401, 200, 402, 400, 415, 401, 204]);
});

test('CORS preflight from an allowed origin: 204 with the allowed methods and headers', async () => {
  const r = await call('OPTIONS', '/credits/use', { headers: {
    Origin: APP_ORIGIN,
    'Access-Control-Request-Method': 'POST',
    'Access-Control-Request-Headers': 'authorization, content-type, idempotency-key',
  } });
  assert.equal(r.status, 204);
  assert.equal(r.text, '');
  assert.equal(r.headers.get('access-control-allow-origin'), APP_ORIGIN);
  const methods = (r.headers.get('access-control-allow-methods') || '').split(/\s*,\s*/);
  for (const m of ['GET', 'POST', 'OPTIONS']) assert.ok(methods.includes(m), `allows ${m}: ${methods}`);
  const headers = (r.headers.get('access-control-allow-headers') || '').toLowerCase().split(/\s*,\s*/);
  for (const h of ['authorization', 'content-type', 'idempotency-key'])
    assert.ok(headers.includes(h), `allows header ${h}: ${headers}`);
  const vary = (r.headers.get('vary') || '').toLowerCase().split(/\s*,\s*/);
  assert.ok(vary.includes('origin'), `Vary: ${vary}`);
  assert.ok(r.headers.get('x-request-id'));
});

test('CORS: other origins get no CORS headers (exact match only)', async () => {
  const others = ['http://evil.example.com', 'https://app.example.com', 'http://app.example.com.evil.com',
    'http://app.example', 'http://app.example.com:8080', 'null'];
  for (const origin of others) {
    for (const r of [
      await call('OPTIONS', '/credits/use', { headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' } }),
      await call('GET', '/health', { headers: { Origin: origin } }),
    ]) {
      const cors = [...r.headers.keys()].filter((k) => k.startsWith('access-control-'));
      assert.deepEqual(cors, [], `origin ${origin}: ${cors}`);
    }
  }
});

test('CORS: normal responses to an allowed origin carry Access-Control-Allow-Origin, errors too', async () => {
  const u = newUser();
  for (const r of [
    await call('GET', '/health', { headers: { Origin: APP_ORIGIN } }),
    await call('GET', '/credits/balance', { token: token({ sub: u }), headers: { Origin: APP_ORIGIN } }),
    // The app must be able to read the error to show it to the user.
    await call('GET', '/credits/balance', { headers: { Origin: APP_ORIGIN } }),
    await call('POST', '/credits/use', { token: token({ sub: u }), body: { amount: 5, operation: 'x' },
      headers: { Origin: APP_ORIGIN } }),
  ]) {
    assert.equal(r.headers.get('access-control-allow-origin'), APP_ORIGIN, `status ${r.status}`);
    assert.ok((r.headers.get('vary') || '').toLowerCase().includes('origin'));
  }
});
