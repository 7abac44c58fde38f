// Self-test of the Stripe stand-in: node --test tests/standins/stripe.selftest.mjs
// Starts stripe.mjs as a child process on a free port, with a small local
// webhook receiver that checks every signature with the stripe package.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Stripe from 'stripe';
import { parseForm } from './stripe.mjs';

const KEY = 'sk_test_selftest_0123456789';
const SECRET = 'whsec_selftest_abcdef';
const SCRIPT = fileURLToPath(new URL('./stripe.mjs', import.meta.url));

let child;
let base;
let hook; // the webhook receiver
const received = []; // {headers, raw, event | null, verifyError}
let hookReply = { status: 200, body: '{"received":true}' };

function startHook() {
  return new Promise((resolve) => {
    hook = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const entry = { headers: req.headers, raw, event: null, verifyError: null };
        try {
          entry.event = Stripe.webhooks.constructEvent(raw, req.headers['stripe-signature'], SECRET);
        } catch (e) {
          entry.verifyError = e.message;
        }
        received.push(entry);
        res.writeHead(hookReply.status, { 'Content-Type': 'application/json' });
        res.end(hookReply.body);
      });
    });
    hook.listen(0, '127.0.0.1', () => resolve(hook.address().port));
  });
}

before(async () => {
  const hookPort = await startHook();
  child = spawn(process.execPath, [SCRIPT, '--port', '0', '--api-key', KEY,
    '--webhook-url', `http://127.0.0.1:${hookPort}/stripe/webhook`], {
    env: { ...process.env, STRIPE_STANDIN_WEBHOOK_SECRET: SECRET }, // env form of an option
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const m = /stripe stand-in listening on (\d+)\n/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`stand-in exited with ${code}: ${out}`)));
  });
  base = `http://127.0.0.1:${port}`;
});

after(async () => {
  if (child && child.exitCode === null) child.kill('SIGTERM');
  await new Promise((r) => hook.close(r));
});

// form: [[key, value], ...] or a string; returns {status, headers, body}
async function api(method, path, { form, key = KEY, auth = 'bearer', headers = {}, raw, signal } = {}) {
  const h = { ...headers };
  if (key !== null) {
    h.Authorization = auth === 'basic' ? `Basic ${Buffer.from(`${key}:`).toString('base64')}` : `Bearer ${key}`;
  }
  let body;
  if (raw !== undefined) {
    body = raw;
  } else if (form !== undefined) {
    body = typeof form === 'string' ? form : new URLSearchParams(form).toString();
    h['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  const res = await fetch(base + path, { method, headers: h, body, signal });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

async function ctl(method, path, body) {
  const res = await fetch(base + path, { method, body: body === undefined ? undefined : JSON.stringify(body),
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const paymentForm = (extra = []) => [
  ['mode', 'payment'],
  ['line_items[0][price_data][currency]', 'eur'],
  ['line_items[0][price_data][unit_amount]', '500'],
  ['line_items[0][price_data][product_data][name]', '500 credits'],
  ['line_items[0][quantity]', '2'],
  ['client_reference_id', 'purchase-7'],
  ['metadata[purchase_id]', '7'],
  ['payment_intent_data[metadata][purchase_id]', '7'],
  ['success_url', 'http://app.example.com/ok?session={CHECKOUT_SESSION_ID}'],
  ['cancel_url', 'http://app.example.com/cancel'],
  ...extra,
];

function assertStripeError(r, status, type, extra = {}) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.ok(r.body && r.body.error, 'has an error object');
  assert.equal(r.body.error.type, type);
  assert.equal(typeof r.body.error.message, 'string');
  for (const [k, v] of Object.entries(extra)) assert.equal(r.body.error[k], v, k);
}

test('parseForm: bracket notation into nested objects and arrays', () => {
  const f = parseForm('metadata[purchase_id]=7&line_items[0][price_data][unit_amount]=500' +
    '&line_items[0][quantity]=1&line_items[1][quantity]=3&expand[]=payment_method&expand[]=customer' +
    '&name=A+B%20C&empty=&a[b][c]=d');
  assert.deepEqual(JSON.parse(JSON.stringify(f)), {
    metadata: { purchase_id: '7' },
    line_items: [{ price_data: { unit_amount: '500' }, quantity: '1' }, { quantity: '3' }],
    expand: ['payment_method', 'customer'],
    name: 'A B C', empty: '', a: { b: { c: 'd' } },
  });
  // indexes that do not run 0..n-1 stay a hash
  assert.deepEqual(JSON.parse(JSON.stringify(parseForm('x[1]=a&x[2]=b'))), { x: { 1: 'a', 2: 'b' } });
  assert.throws(() => parseForm('a=1&a[b]=2'), /both as a value/);
  assert.throws(() => parseForm('a[b=1'), /Invalid parameter name/);
});

test('auth: Bearer or Basic with the key; else 401 like Stripe', async () => {
  const ok1 = await api('POST', '/v1/customers', { form: [['email', 'a@example.com']] });
  assert.equal(ok1.status, 200);
  assert.match(ok1.body.id, /^cus_/);
  assert.match(ok1.headers.get('request-id'), /^req_/);
  const ok2 = await api('POST', '/v1/customers', { form: [['email', 'b@example.com']], auth: 'basic' });
  assert.equal(ok2.status, 200);
  const none = await api('POST', '/v1/customers', { form: [['email', 'c@example.com']], key: null });
  assertStripeError(none, 401, 'invalid_request_error');
  assert.match(none.body.error.message, /You did not provide an API key/);
  const wrong = await api('GET', `/v1/customers/${ok1.body.id}`, { key: 'sk_test_wrongwrongwrong1234' });
  assertStripeError(wrong, 401, 'invalid_request_error');
  assert.match(wrong.body.error.message, /^Invalid API Key provided: sk_test_\*+1234$/);
  assert.ok(!wrong.body.error.message.includes('wrongwrong'), 'the key is masked');
});

test('customers: create with metadata, retrieve, 404 shape', async () => {
  const c = await api('POST', '/v1/customers', { form: [['email', 'u1@example.com'], ['metadata[user_id]', 'u-1']] });
  assert.equal(c.status, 200);
  assert.equal(c.body.object, 'customer');
  assert.equal(c.body.email, 'u1@example.com');
  assert.deepEqual(c.body.metadata, { user_id: 'u-1' });
  assert.equal(c.body.livemode, false);
  const g = await api('GET', `/v1/customers/${c.body.id}`);
  assert.deepEqual(g.body, c.body);
  const nf = await api('GET', '/v1/customers/cus_nope');
  assertStripeError(nf, 404, 'invalid_request_error', { code: 'resource_missing',
    message: "No such customer: 'cus_nope'" });
});

test('POST bodies must be form-encoded; parameters are checked like Stripe', async () => {
  const json = await api('POST', '/v1/customers', { raw: '{"email":"x@example.com"}',
    headers: { 'Content-Type': 'application/json' } });
  assertStripeError(json, 400, 'invalid_request_error');
  assert.match(json.body.error.message, /application\/x-www-form-urlencoded/);

  const noMode = await api('POST', '/v1/checkout/sessions', { form: paymentForm().filter(([k]) => k !== 'mode') });
  assertStripeError(noMode, 400, 'invalid_request_error', { code: 'parameter_missing', param: 'mode' });
  const noQty = await api('POST', '/v1/checkout/sessions',
    { form: paymentForm().filter(([k]) => k !== 'line_items[0][quantity]') });
  assertStripeError(noQty, 400, 'invalid_request_error',
    { code: 'parameter_missing', param: 'line_items[0][quantity]' });
  const noName = await api('POST', '/v1/checkout/sessions',
    { form: [...paymentForm().filter(([k]) => !k.endsWith('[product_data][name]')),
      ['line_items[0][price_data][product_data][description]', 'no name']] });
  assertStripeError(noName, 400, 'invalid_request_error',
    { code: 'parameter_missing', param: 'line_items[0][price_data][product_data][name]' });
  const typo = await api('POST', '/v1/checkout/sessions',
    { form: paymentForm([['line_items[0][price_data][unit_ammount]', '5']]) });
  assertStripeError(typo, 400, 'invalid_request_error',
    { code: 'parameter_unknown', param: 'line_items[0][price_data][unit_ammount]' });
  const notInt = await api('POST', '/v1/payment_intents', { form: [['amount', '5.00'], ['currency', 'eur']] });
  assertStripeError(notInt, 400, 'invalid_request_error', { code: 'parameter_invalid_integer', param: 'amount' });
  const both = await api('POST', '/v1/checkout/sessions',
    { form: paymentForm([['customer_email', 'a@example.com'], ['customer', 'cus_x']]) });
  assertStripeError(both, 400, 'invalid_request_error', { param: 'customer_email' });
  const small = await api('POST', '/v1/payment_intents', { form: [['amount', '10'], ['currency', 'eur']] });
  assertStripeError(small, 400, 'invalid_request_error', { code: 'amount_too_small', param: 'amount' });
  const exp = await api('POST', '/v1/checkout/sessions',
    { form: paymentForm([['expires_at', String(Math.floor(Date.now() / 1000) + 60)]]) });
  assertStripeError(exp, 400, 'invalid_request_error', { param: 'expires_at' });
  const route = await api('GET', '/v1/nothing_here');
  assertStripeError(route, 404, 'invalid_request_error');
  assert.match(route.body.error.message, /^Unrecognized request URL \(GET: \/v1\/nothing_here\)/);
});

test('checkout session (payment): created open/unpaid with a local url; page and retrieve', async () => {
  const expiresAt = Math.floor(Date.now() / 1000) + 3600;
  const r = await api('POST', '/v1/checkout/sessions', { form: paymentForm([['customer_email', 'p@example.com'],
    ['expires_at', String(expiresAt)]]) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const s = r.body;
  assert.match(s.id, /^cs_test_/);
  assert.equal(s.object, 'checkout.session');
  assert.equal(s.url, `${base}/checkout/${s.id}`);
  assert.equal(s.status, 'open');
  assert.equal(s.payment_status, 'unpaid');
  assert.equal(s.mode, 'payment');
  assert.equal(s.amount_total, 1000);
  assert.equal(s.currency, 'eur');
  assert.equal(s.client_reference_id, 'purchase-7');
  assert.equal(s.customer_email, 'p@example.com');
  assert.equal(s.expires_at, expiresAt);
  assert.equal(s.payment_intent, null);
  assert.deepEqual(s.metadata, { purchase_id: '7' });
  const page = await fetch(s.url);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /text\/html/);
  assert.match(await page.text(), /500 credits/);
  const g = await api('GET', `/v1/checkout/sessions/${s.id}?expand[]=line_items`);
  assert.equal(g.body.id, s.id);
  assert.equal(g.body.line_items.data[0].quantity, 2);
  assert.equal(g.body.line_items.data[0].price.unit_amount, 500);
  const nf = await api('GET', '/v1/checkout/sessions/cs_test_nope');
  assertStripeError(nf, 404, 'invalid_request_error', { code: 'resource_missing', param: 'session' });
});

test('idempotency: same key and body replays; a different body is an idempotency_error', async () => {
  const key = `idem-${Date.now()}`;
  const form = [['email', 'idem@example.com'], ['metadata[a]', '1'], ['metadata[b]', '2']];
  const a = await api('POST', '/v1/customers', { form, headers: { 'Idempotency-Key': key } });
  const b = await api('POST', '/v1/customers', { form, headers: { 'Idempotency-Key': key } });
  assert.equal(a.status, 200);
  assert.equal(a.headers.get('idempotent-replayed'), null);
  assert.equal(b.status, 200);
  assert.equal(b.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(b.body, a.body);
  // the same parameters in another order are the same request
  const c = await api('POST', '/v1/customers', { form: [...form].reverse(), headers: { 'Idempotency-Key': key } });
  assert.equal(c.body.id, a.body.id);
  const d = await api('POST', '/v1/customers', { form: [['email', 'other@example.com']],
    headers: { 'Idempotency-Key': key } });
  assertStripeError(d, 400, 'idempotency_error');
  assert.match(d.body.error.message, /Keys for idempotent requests can only be used with the same parameters/);
  const e = await api('POST', '/v1/payment_intents', { form: [['amount', '500'], ['currency', 'eur']],
    headers: { 'Idempotency-Key': key } });
  assertStripeError(e, 400, 'idempotency_error');
  assert.match(e.body.error.message, /same endpoint/);
  // a request that failed validation is not saved: the key stays usable
  const key2 = `idem2-${Date.now()}`;
  const bad = await api('POST', '/v1/payment_intents', { form: [['currency', 'eur']], headers: { 'Idempotency-Key': key2 } });
  assert.equal(bad.status, 400);
  const good = await api('POST', '/v1/payment_intents', { form: [['amount', '500'], ['currency', 'eur']],
    headers: { 'Idempotency-Key': key2 } });
  assert.equal(good.status, 200);
});

test('complete (payment): signed events that verify with the stripe package', async () => {
  const s = (await api('POST', '/v1/checkout/sessions', { form: paymentForm() })).body;
  received.length = 0;
  const r = await ctl('POST', `/_test/checkout/${s.id}/complete`, {});
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.deliveries.map((d) => [d.type, d.status, d.body]), [
    ['checkout.session.completed', 200, '{"received":true}'],
    ['payment_intent.succeeded', 200, '{"received":true}'],
  ]);
  assert.equal(received.length, 2);
  for (const e of received) {
    assert.equal(e.verifyError, null);
    assert.match(e.headers['stripe-signature'], /^t=\d+,v1=[0-9a-f]{64}$/);
    assert.match(e.headers['content-type'], /^application\/json/);
    assert.match(e.headers['user-agent'], /^Stripe\/1\.0/);
  }
  const ev = received[0].event;
  assert.match(ev.id, /^evt_/);
  assert.equal(ev.object, 'event');
  assert.equal(ev.type, 'checkout.session.completed');
  assert.equal(ev.livemode, false);
  assert.equal(typeof ev.api_version, 'string');
  assert.equal(typeof ev.created, 'number');
  const cs = ev.data.object;
  assert.equal(cs.id, s.id);
  assert.equal(cs.status, 'complete');
  assert.equal(cs.payment_status, 'paid');
  assert.equal(cs.amount_total, 1000);
  assert.match(cs.payment_intent, /^pi_/);
  assert.deepEqual(cs.metadata, { purchase_id: '7' });
  const pi = received[1].event.data.object;
  assert.equal(pi.id, cs.payment_intent);
  assert.equal(pi.status, 'succeeded');
  assert.equal(pi.amount, 1000);
  assert.match(pi.latest_charge, /^ch_/);
  assert.deepEqual(pi.metadata, { purchase_id: '7' });
  // the API shows the same state
  const g = await api('GET', `/v1/checkout/sessions/${s.id}?expand[]=payment_intent`);
  assert.equal(g.body.payment_status, 'paid');
  assert.equal(g.body.payment_intent.status, 'succeeded');
  // a session completes once
  assert.equal((await ctl('POST', `/_test/checkout/${s.id}/complete`, {})).status, 409);
});

test('complete with overrides: only the chosen events, a mismatching amount', async () => {
  const s = (await api('POST', '/v1/checkout/sessions', { form: paymentForm() })).body;
  const wrong = await ctl('POST', `/_test/checkout/${s.id}/complete`, { events: ['setup_intent.succeeded'] });
  assert.equal(wrong.status, 400);
  assert.equal((await api('GET', `/v1/checkout/sessions/${s.id}`)).body.status, 'open', 'nothing changed');
  received.length = 0;
  const r = await ctl('POST', `/_test/checkout/${s.id}/complete`,
    { events: ['checkout.session.completed'], amount_total: 1 });
  assert.equal(r.body.deliveries.length, 1);
  assert.equal(received.length, 1);
  assert.equal(received[0].event.data.object.amount_total, 1);
  assert.equal((await api('GET', `/v1/checkout/sessions/${s.id}`)).body.amount_total, 1);
});

test('setup mode: complete makes a SetupIntent and a card; expand[]=payment_method', async () => {
  const cus = (await api('POST', '/v1/customers', { form: [['email', 'setup@example.com']] })).body;
  const noCur = await api('POST', '/v1/checkout/sessions', { form: [['mode', 'setup'], ['customer', cus.id],
    ['success_url', 'http://app.example.com/ok']] });
  assertStripeError(noCur, 400, 'invalid_request_error', { code: 'parameter_missing', param: 'currency' });
  const r = await api('POST', '/v1/checkout/sessions', { form: [['mode', 'setup'], ['customer', cus.id],
    ['currency', 'eur'], ['success_url', 'http://app.example.com/ok'], ['cancel_url', 'http://app.example.com/no'],
    ['metadata[kind]', 'autopay'], ['setup_intent_data[metadata][user_id]', 'u-9']] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.mode, 'setup');
  assert.equal(r.body.amount_total, null);
  assert.equal(r.body.payment_status, 'no_payment_required');
  received.length = 0;
  const c = await ctl('POST', `/_test/checkout/${r.body.id}/complete`, {});
  assert.deepEqual(c.body.deliveries.map((d) => d.type), ['checkout.session.completed', 'setup_intent.succeeded']);
  assert.ok(received.every((e) => e.verifyError === null));
  const cs = received[0].event.data.object;
  assert.match(cs.setup_intent, /^seti_/);
  const si = await api('GET', `/v1/setup_intents/${cs.setup_intent}?expand[]=payment_method`);
  assert.equal(si.status, 200);
  assert.equal(si.body.status, 'succeeded');
  assert.equal(si.body.customer, cus.id);
  assert.deepEqual(si.body.metadata, { user_id: 'u-9' });
  const pm = si.body.payment_method;
  assert.match(pm.id, /^pm_/);
  assert.equal(pm.customer, cus.id);
  assert.equal(pm.card.brand, 'visa');
  assert.equal(pm.card.last4, '4242');
  assert.equal(typeof pm.card.exp_month, 'number');
  assert.equal(typeof pm.card.exp_year, 'number');
  const pm2 = await api('GET', `/v1/payment_methods/${pm.id}`);
  assert.deepEqual(pm2.body, pm);
  const bad = await api('GET', `/v1/setup_intents/${cs.setup_intent}?expand[]=nonsense`);
  assertStripeError(bad, 400, 'invalid_request_error');
  const si2 = await api('GET', `/v1/setup_intents/${cs.setup_intent}`);
  assert.equal(si2.body.payment_method, pm.id);
});

test('off-session PaymentIntents: succeed by default, then the configured outcomes', async () => {
  const cus = (await api('POST', '/v1/customers', { form: [['email', 'off@example.com']] })).body;
  const s = (await api('POST', '/v1/checkout/sessions', { form: [['mode', 'setup'], ['customer', cus.id],
    ['currency', 'eur'], ['success_url', 'http://app.example.com/ok']] })).body;
  const pmId = (await ctl('POST', `/_test/checkout/${s.id}/complete`, { events: [] })).body.payment_method.id;
  const form = [['amount', '1500'], ['currency', 'eur'], ['customer', cus.id], ['payment_method', pmId],
    ['off_session', 'true'], ['confirm', 'true'], ['metadata[charge_id]', '12']];

  const ok = await api('POST', '/v1/payment_intents', { form });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.match(ok.body.id, /^pi_/);
  assert.equal(ok.body.status, 'succeeded');
  assert.equal(ok.body.amount_received, 1500);
  assert.match(ok.body.latest_charge, /^ch_/);
  assert.deepEqual(ok.body.metadata, { charge_id: '12' });
  const pi = await api('GET', `/v1/payment_intents/${ok.body.id}?expand[]=latest_charge`);
  assert.equal(pi.body.latest_charge.status, 'succeeded');

  assert.equal((await ctl('POST', '/_test/outcome', { customer: cus.id, outcome: 'decline' })).status, 200);
  const dec = await api('POST', '/v1/payment_intents', { form });
  assertStripeError(dec, 402, 'card_error', { code: 'card_declined', decline_code: 'insufficient_funds' });
  assert.equal(dec.body.error.payment_intent.status, 'requires_payment_method');
  assert.equal(dec.body.error.payment_intent.last_payment_error.decline_code, 'insufficient_funds');
  assert.match(dec.body.error.charge, /^ch_/);
  const declined = await api('GET', `/v1/payment_intents/${dec.body.error.payment_intent.id}`);
  assert.equal(declined.body.status, 'requires_payment_method');

  await ctl('POST', '/_test/outcome', { payment_method: pmId, outcome: 'decline', decline_code: 'generic_decline' });
  const gen = await api('POST', '/v1/payment_intents', { form });
  assertStripeError(gen, 402, 'card_error', { code: 'card_declined', decline_code: 'generic_decline',
    message: 'Your card was declined.' });

  await ctl('POST', '/_test/outcome', { payment_method: pmId, outcome: 'authentication_required',
    pi_status: 'requires_action', times: 1 });
  const auth = await api('POST', '/v1/payment_intents', { form });
  assertStripeError(auth, 402, 'card_error', { code: 'authentication_required' });
  assert.equal(auth.body.error.payment_intent.status, 'requires_action');
  // "times: 1" used up: the customer's decline applies again
  const again = await api('POST', '/v1/payment_intents', { form });
  assert.equal(again.body.error.decline_code, 'insufficient_funds');

  await ctl('POST', '/_test/outcome', { customer: cus.id, outcome: 'succeed' });
  const magic = await api('POST', '/v1/payment_intents', { form: [['amount', '700'], ['currency', 'usd'],
    ['payment_method', 'pm_card_chargeDeclinedInsufficientFunds'], ['confirm', 'true'], ['off_session', 'true']] });
  assertStripeError(magic, 402, 'card_error', { decline_code: 'insufficient_funds' });
  const nopm = await api('POST', '/v1/payment_intents', { form: [['amount', '700'], ['currency', 'eur'],
    ['payment_method', 'pm_nope'], ['customer', cus.id], ['confirm', 'true'], ['off_session', 'true']] });
  assertStripeError(nopm, 400, 'invalid_request_error', { code: 'resource_missing', param: 'payment_method' });
});

test('a card error is replayed under its Idempotency-Key', async () => {
  const cus = (await api('POST', '/v1/customers', { form: [['email', 'replay@example.com']] })).body;
  await ctl('POST', '/_test/outcome', { customer: cus.id, outcome: 'decline' });
  const form = [['amount', '900'], ['currency', 'eur'], ['customer', cus.id], ['payment_method', 'pm_card_visa'],
    ['confirm', 'true'], ['off_session', 'true']];
  const headers = { 'Idempotency-Key': `card-${Date.now()}` };
  const a = await api('POST', '/v1/payment_intents', { form, headers });
  await ctl('POST', '/_test/outcome', { customer: cus.id, outcome: 'succeed' });
  const b = await api('POST', '/v1/payment_intents', { form, headers });
  assert.equal(a.status, 402);
  assert.equal(b.status, 402);
  assert.equal(b.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(b.body, a.body);
});

test('fail: payment_intent.payment_failed; refund: charge.refunded', async () => {
  const s = (await api('POST', '/v1/checkout/sessions', { form: paymentForm() })).body;
  received.length = 0;
  const f = await ctl('POST', `/_test/checkout/${s.id}/fail`, {});
  assert.equal(f.status, 200);
  assert.equal(received[0].event.type, 'payment_intent.payment_failed');
  assert.equal(received[0].event.data.object.last_payment_error.code, 'card_declined');
  assert.equal((await api('GET', `/v1/checkout/sessions/${s.id}`)).body.status, 'open');

  await ctl('POST', `/_test/checkout/${s.id}/complete`, { events: [] });
  const piId = (await api('GET', `/v1/checkout/sessions/${s.id}`)).body.payment_intent;
  received.length = 0;
  const r1 = await ctl('POST', '/_test/refund', { payment_intent: piId, amount: 400 });
  assert.equal(r1.status, 200, JSON.stringify(r1.body));
  const ch = received[0].event.data.object;
  assert.equal(received[0].event.type, 'charge.refunded');
  assert.equal(ch.object, 'charge');
  assert.equal(ch.amount, 1000);
  assert.equal(ch.amount_refunded, 400);
  assert.equal(ch.refunded, false);
  assert.equal(ch.currency, 'eur');
  assert.equal(ch.payment_intent, piId);
  assert.deepEqual(received[0].event.data.previous_attributes, { amount_refunded: 0, refunded: false });
  await ctl('POST', '/_test/refund', { payment_intent: piId });
  assert.equal(received[1].event.data.object.refunded, true);
  assert.equal(received[1].event.data.object.amount_refunded, 1000);
  assert.equal((await ctl('POST', '/_test/refund', { payment_intent: piId, amount: 1 })).status, 400);
});

test('POST /v1/refunds: the official client refunds a PaymentIntent; Idempotency-Key replays; rules and errors', async () => {
  const s = (await api('POST', '/v1/checkout/sessions', { form: paymentForm() })).body;
  await ctl('POST', `/_test/checkout/${s.id}/complete`, { events: [] });
  const piId = (await api('GET', `/v1/checkout/sessions/${s.id}`)).body.payment_intent;
  const chId = (await api('GET', `/v1/payment_intents/${piId}`)).body.latest_charge;

  // The stripe package, pointed at the stand-in, speaks the real wire format.
  const sdk = new Stripe(KEY, { host: '127.0.0.1', port: Number(new URL(base).port), protocol: 'http',
    maxNetworkRetries: 0 });
  const key = `refund-${Date.now()}`;
  const re = await sdk.refunds.create({ payment_intent: piId, reason: 'duplicate', metadata: { ref: 'x' } },
    { idempotencyKey: key });
  assert.equal(re.object, 'refund');
  assert.match(re.id, /^re_/);
  assert.equal(re.amount, 1000, 'no amount: the whole charge');
  assert.equal(re.currency, 'eur');
  assert.equal(re.status, 'succeeded');
  assert.equal(re.reason, 'duplicate');
  assert.equal(re.payment_intent, piId);
  assert.equal(re.charge, chId);
  assert.deepEqual(re.metadata, { ref: 'x' });
  const [rec] = (await ctl('GET', '/_test/requests?method=POST&path=/v1/refunds')).body.slice(-1);
  assert.equal(rec.idempotency_key, key);
  assert.equal(rec.authorization.scheme, 'bearer');
  assert.match(rec.content_type, /^application\/x-www-form-urlencoded/);
  assert.equal(new URLSearchParams(rec.raw).get('payment_intent'), piId);

  // The same key and body again: the same refund, replayed, nothing new.
  const form = [['payment_intent', piId], ['reason', 'duplicate'], ['metadata[ref]', 'x']];
  const again = await api('POST', '/v1/refunds', { form, headers: { 'Idempotency-Key': key } });
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.equal(again.body.id, re.id);
  const ch = (await api('GET', `/v1/charges/${chId}`)).body;
  assert.equal(ch.amount_refunded, 1000);
  assert.equal(ch.refunded, true);
  assert.equal((await api('GET', `/v1/refunds/${re.id}?expand[]=charge`)).body.charge.id, chId);

  // Without the key, a refunded charge is refused as Stripe does.
  const twice = await api('POST', '/v1/refunds', { form: [['payment_intent', piId]] });
  assertStripeError(twice, 400, 'invalid_request_error', { code: 'charge_already_refunded' });
  assert.match(twice.body.error.message, /has already been refunded/);

  // Partial refunds up to what is left; the rest is amount_too_large.
  const s2 = (await api('POST', '/v1/checkout/sessions', { form: paymentForm() })).body;
  await ctl('POST', `/_test/checkout/${s2.id}/complete`, { events: [] });
  const pi2 = (await api('GET', `/v1/checkout/sessions/${s2.id}`)).body.payment_intent;
  const ch2 = (await api('GET', `/v1/payment_intents/${pi2}`)).body.latest_charge;
  const part = await api('POST', '/v1/refunds', { form: [['charge', ch2], ['amount', '300']] });
  assert.equal(part.status, 200, JSON.stringify(part.body));
  assert.equal(part.body.amount, 300);
  const big = await api('POST', '/v1/refunds', { form: [['charge', ch2], ['amount', '701']] });
  assertStripeError(big, 400, 'invalid_request_error', { code: 'amount_too_large', param: 'amount' });
  assertStripeError(await api('POST', '/v1/refunds', { form: [['amount', '1']] }), 400, 'invalid_request_error',
    { code: 'parameter_missing' });
  assertStripeError(await api('POST', '/v1/refunds', { form: [['payment_intent', 'pi_nope']] }), 400,
    'invalid_request_error', { code: 'resource_missing', param: 'payment_intent' });
  assertStripeError(await api('POST', '/v1/refunds', { form: [['charge', ch2], ['reason', 'because']] }), 400,
    'invalid_request_error', { param: 'reason' });
  const unpaid = (await api('POST', '/v1/payment_intents', { form: [['amount', '500'], ['currency', 'eur']] })).body;
  assertStripeError(await api('POST', '/v1/refunds', { form: [['payment_intent', unpaid.id]] }), 400,
    'invalid_request_error', { code: 'charge_not_refundable' });
  assertStripeError(await api('POST', '/v1/refunds', { form: [['payment_intent', piId]], key: 'sk_test_wrong' }),
    401, 'invalid_request_error');
  assertStripeError(await api('GET', '/v1/refunds/re_nope'), 404, 'invalid_request_error',
    { code: 'resource_missing' });
});

test('resend, send, the webhook answer, and signatures that must not verify', async () => {
  received.length = 0;
  const sent = await ctl('POST', '/_test/send', { type: 'customer.updated', object: { id: 'cus_x', object: 'customer' } });
  assert.equal(sent.status, 200);
  assert.equal(sent.body.status, 200);
  assert.equal(received[0].event.type, 'customer.updated');
  hookReply = { status: 500, body: 'boom' };
  const re = await ctl('POST', `/_test/events/${sent.body.event_id}/resend`, {});
  hookReply = { status: 200, body: '{"received":true}' };
  assert.equal(re.body.status, 500);
  assert.equal(re.body.body, 'boom');
  assert.equal(received[1].event.id, sent.body.event_id);
  assert.equal(received[1].raw, received[0].raw, 'the same event, byte for byte');
  // an old timestamp and a wrong secret: the receiver must refuse both
  await ctl('POST', `/_test/events/${sent.body.event_id}/resend`, { timestamp: Math.floor(Date.now() / 1000) - 3600 });
  assert.match(received[2].verifyError, /tolerance/i);
  await ctl('POST', `/_test/events/${sent.body.event_id}/resend`, { secret: 'whsec_wrong' });
  assert.match(received[3].verifyError, /signature/i);
  const log = (await ctl('GET', '/_test/events')).body;
  const mine = log.find((e) => e.id === sent.body.event_id);
  assert.deepEqual(mine.deliveries.map((d) => d.status), [200, 500, 200, 200]);
  assert.equal((await ctl('POST', '/_test/events/evt_nope/resend', {})).status, 404);
  const viaApi = await api('GET', `/v1/events/${sent.body.event_id}`);
  assert.equal(viaApi.body.type, 'customer.updated');
});

test('fail-next and hang-next', async () => {
  await ctl('POST', '/_test/fail-next', { status: 500, count: 2 });
  const a = await api('POST', '/v1/customers', { form: [['email', 'f@example.com']] });
  const b = await api('GET', '/v1/customers/cus_whatever');
  assertStripeError(a, 500, 'api_error');
  assertStripeError(b, 500, 'api_error');
  const c = await api('POST', '/v1/customers', { form: [['email', 'f@example.com']] });
  assert.equal(c.status, 200);

  await ctl('POST', '/_test/hang-next', { count: 1, ms: 2000 });
  await assert.rejects(api('POST', '/v1/customers', { form: [['email', 'h@example.com']],
    signal: AbortSignal.timeout(150) }), /abort|timeout/i);
  assert.equal((await api('POST', '/v1/customers', { form: [['email', 'h@example.com']] })).status, 200);

  // the work done but the answer lost: a retry with the same key gets the saved result
  await ctl('POST', '/_test/hang-next', { ms: 2000, process: true });
  const headers = { 'Idempotency-Key': `hang-${Date.now()}` };
  const form = [['amount', '2500'], ['currency', 'eur'], ['payment_method', 'pm_card_visa'], ['confirm', 'true']];
  await assert.rejects(api('POST', '/v1/payment_intents', { form, headers, signal: AbortSignal.timeout(150) }));
  const retry = await api('POST', '/v1/payment_intents', { form, headers });
  assert.equal(retry.status, 200);
  assert.equal(retry.headers.get('idempotent-replayed'), 'true');
  assert.equal(retry.body.status, 'succeeded');
});

test('requests are recorded with headers, auth, form and raw body; DELETE clears', async () => {
  assert.equal((await ctl('DELETE', '/_test/requests')).status, 200);
  await api('POST', '/v1/checkout/sessions', { form: paymentForm([['expand[]', 'customer']]),
    headers: { 'Idempotency-Key': 'rec-1', 'Stripe-Version': '2024-06-20' } });
  await api('GET', '/v1/customers/cus_nope', { key: null });
  const reqs = (await ctl('GET', '/_test/requests')).body;
  assert.equal(reqs.length, 2);
  const [p, g] = reqs;
  assert.equal(p.method, 'POST');
  assert.equal(p.path, '/v1/checkout/sessions');
  assert.equal(p.idempotency_key, 'rec-1');
  assert.equal(p.headers['idempotency-key'], 'rec-1');
  assert.equal(p.stripe_version, '2024-06-20');
  assert.deepEqual(p.authorization, { present: true, scheme: 'bearer', valid: true });
  assert.equal(p.headers.authorization, undefined, 'the key itself is not kept');
  assert.equal(p.form.line_items[0].price_data.product_data.name, '500 credits');
  assert.deepEqual(p.form.expand, ['customer']);
  assert.match(p.raw, /line_items%5B0%5D%5Bquantity%5D=2/);
  assert.equal(p.status, 200);
  assert.equal(g.authorization.present, false);
  assert.equal(g.status, 401);
  const filtered = (await ctl('GET', '/_test/requests?method=GET')).body;
  assert.equal(filtered.length, 1);
});

test('the stand-in exits on SIGTERM', async () => {
  const code = await new Promise((resolve) => {
    child.once('exit', (c, sig) => resolve(c ?? sig));
    child.kill('SIGTERM');
  });
  assert.equal(code, 0);
});
