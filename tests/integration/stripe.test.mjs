// Card payments with Stripe, end to end against the Stripe stand-in
// (tests/standins/stripe.mjs, started by run.sh): Checkout purchases and
// their webhooks, duplicate/replayed/forged events, refunds, card setup,
// saved-card charges through `tally-admin charge-card`, NWC storage, and
// Stripe being down or slow.
//
// The stand-in is shared by the whole run: tests never reset it, they look
// only at the requests recorded after a mark (GET /_test/requests, seq).
import test from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  call, token, newUser, sql, sqlStr, dbBalance, ledgerCount, ledgerMatches, runScheduler, isoTime,
  ISO_UTC, URL_BASE, ROOT, startStack,
} from './lib.mjs';

// The official stripe package, from the stand-ins' node_modules.
const requireStandins = createRequire(new URL('../standins/package.json', import.meta.url));
const Stripe = requireStandins('stripe');

const SI = process.env.STRIPE_STANDIN_URL;
const WHSEC = process.env.STRIPE_WEBHOOK_SECRET;
const MIN = 60 * 1000;
// http.public_url of the stack (success/cancel URLs must be on it).
const PUBLIC_URL = (readFileSync(process.env.TALLY_CONFIG, 'utf8').match(/^\s*public_url\s*=\s*(\S+)/m) || [])[1] || URL_BASE;

const as = (user, claims = {}) => token({ sub: user, ...claims });
const rand = (n = 8) => crypto.randomBytes(n).toString('hex');
const nowSec = () => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------- stand-in

async function ctl(method, path, body) {
  const res = await fetch(`${SI}${path}`, {
    method,
    headers: body !== undefined ? { 'Content-Type': 'application/json' } : {},
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body: json, text };
}

async function ctlOk(method, path, body) {
  const r = await ctl(method, path, body);
  assert.equal(r.status, 200, `stand-in ${method} ${path}: ${r.text}`);
  return r.body;
}

// The API requests the stand-in recorded (optionally after seq `after`).
async function requests({ method, path, after = 0 } = {}) {
  const q = new URLSearchParams();
  if (method) q.set('method', method);
  if (path) q.set('path', path);
  const all = await ctlOk('GET', `/_test/requests?${q}`);
  return all.filter((r) => r.seq > after);
}

// The seq of the last recorded request: a mark to look after.
async function mark() {
  const all = await ctlOk('GET', '/_test/requests');
  return all.length ? all[all.length - 1].seq : 0;
}

const sessionOf = (checkoutUrl) => new URL(checkoutUrl).pathname.split('/').pop();

// Complete a Checkout Session at the stand-in; every webhook it sent must
// have been answered 200 {received:true} unless `expect` says otherwise.
async function complete(sid, body = {}, { expect = 200 } = {}) {
  const out = await ctlOk('POST', `/_test/checkout/${sid}/complete`, body);
  assert.ok(out.deliveries.length > 0, JSON.stringify(out.deliveries));
  if (expect !== null) {
    for (const d of out.deliveries) {
      assert.equal(d.status, expect, `${d.type}: ${d.status} ${d.body} ${d.error}`);
      if (expect === 200) assert.deepEqual(JSON.parse(d.body), { received: true });
    }
  }
  return out;
}

// ---------------------------------------------------------------- webhooks

// Stripe-Signature made by Stripe's own library.
function npmSign(payload, { secret = WHSEC, timestamp = nowSec() } = {}) {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
}

const hmacHex = (secret, text) => crypto.createHmac('sha256', secret).update(text).digest('hex');

function postHook(payload, signature) {
  const headers = {};
  if (signature !== undefined) headers['Stripe-Signature'] = signature;
  return call('POST', '/webhooks/stripe', { raw: payload, contentType: 'application/json; charset=utf-8', headers });
}

function eventPayload(type, object, id = `evt_it${rand(10)}`) {
  const event = {
    id, object: 'event', api_version: '2024-06-20', created: nowSec(), data: { object },
    livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, type,
  };
  return { id, payload: JSON.stringify(event, null, 2) };
}

function assertBadSignature(r, what) {
  assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
  assert.equal(r.body?.error, 'invalid_signature', `${what}: ${r.text}`);
  assert.equal(typeof r.body.message, 'string', what);
}

// ---------------------------------------------------------------- tally

async function buy(user, pkg = 'starter', { headers, claims } = {}) {
  const r = await call('POST', '/credits/purchase', { token: as(user, claims), body: { package: pkg, method: 'card' }, headers });
  assert.equal(r.status, 201, r.text);
  return { purchase: r.body, sid: sessionOf(r.body.checkout_url) };
}

async function getPurchase(user, id) {
  const r = await call('GET', `/credits/purchase/${id}`, { token: as(user) });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

async function balanceOf(user) {
  const r = await call('GET', '/credits/balance', { token: as(user) });
  assert.equal(r.status, 200, r.text);
  return r.body.balance;
}

async function paymentMethods(user) {
  const r = await call('GET', '/billing/payment-methods', { token: as(user) });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

function purchaseRow(id) {
  const cols = ['status', 'provider_ref', 'payment_ref', 'refunded_amount', 'credits_reversed', 'credits_unrecovered'];
  const rows = sql(`SELECT ${cols.join(', ')} FROM purchases WHERE id = ${Number(id)}`);
  assert.equal(rows.length, 1, `purchase ${id}`);
  return Object.fromEntries(cols.map((c, i) => [c, rows[0][i] === 'NULL' ? null : rows[0][i]]));
}

function accountId(user) {
  return sql(`SELECT id FROM accounts WHERE user_id = ${sqlStr(user)}`)[0][0];
}

function purchaseCount(user) {
  return Number(sql(`SELECT COUNT(*) FROM purchases p JOIN accounts a ON a.id = p.account_id WHERE a.user_id = ${sqlStr(user)}`)[0][0]);
}

function profileRow(user) {
  const rows = sql(`SELECT b.stripe_customer, b.card_pm, b.card_brand, b.card_last4, b.nwc_sealed FROM billing_profiles b JOIN accounts a ON a.id = b.account_id WHERE a.user_id = ${sqlStr(user)}`);
  if (rows.length === 0) return null;
  const [stripe_customer, card_pm, card_brand, card_last4, nwc_sealed] = rows[0].map((v) => (v === 'NULL' ? null : v));
  return { stripe_customer, card_pm, card_brand, card_last4, nwc_sealed };
}

function paymentRows(reference) {
  return sql(`SELECT status, amount, currency, method, provider_ref, message FROM payments WHERE reference = ${sqlStr(reference)}`)
    .map(([status, amount, currency, method, provider_ref, message]) => ({
      status, amount: Number(amount), currency, method, provider_ref: provider_ref === 'NULL' ? null : provider_ref,
      message: message === 'NULL' ? null : message,
    }));
}

// `tally-admin charge-card` with the stack's environment.
function chargeCard(user, amount, reference) {
  const r = spawnSync(`${ROOT}/bin/tally-admin`, ['charge-card', '--user', user, '--amount', String(amount), '--reference', reference],
    { cwd: ROOT, env: process.env, encoding: 'utf8', timeout: 30000 });
  let out = null;
  try { out = JSON.parse(r.stdout); } catch { /* not JSON */ }
  return { code: r.status, out, stdout: r.stdout, stderr: r.stderr };
}

// A user with a card saved through Checkout in setup mode.
async function userWithCard(card = 'visa', prefix = 'card') {
  const user = newUser(prefix);
  const r = await call('POST', '/billing/card-setup', { token: as(user, { email: `${user}@example.com` }) });
  assert.equal(r.status, 200, r.text);
  const done = await complete(sessionOf(r.body.checkout_url), { card });
  return { user, customer: done.session.customer, pm: done.payment_method.id, done };
}

let fileMark = 0;

test('setup: the stand-in and the stack are reachable', async () => {
  assert.ok(SI && WHSEC, 'STRIPE_STANDIN_URL and STRIPE_WEBHOOK_SECRET are exported by run.sh');
  const cfg = await ctlOk('GET', '/_test/config');
  assert.equal(cfg.webhook_secret, WHSEC);
  assert.equal(cfg.webhook_url, `${URL_BASE}/api/v1/webhooks/stripe`);
  fileMark = await mark();
});

// ================================================================ purchases

test('POST /credits/purchase (card) creates a Checkout Session as Stripe documents it', async () => {
  const user = newUser('buy');
  const m = await mark();
  const r = await call('POST', '/credits/purchase', { token: as(user), body: { package: 'starter', method: 'card' } });
  assert.equal(r.status, 201, r.text);
  const p = r.body;
  assert.equal(typeof p.id, 'string');
  assert.match(p.id, /^\d+$/);
  assert.equal(p.package, 'starter');
  assert.equal(p.credits, 500);
  assert.equal(p.amount, 500);
  assert.equal(p.currency, 'EUR');
  assert.equal(p.method, 'card');
  assert.equal(p.status, 'pending');
  assert.match(p.created_at, ISO_UTC);
  assert.equal(p.completed_at, undefined);
  assert.ok(p.checkout_url.startsWith(`${SI}/checkout/cs_test_`), p.checkout_url);
  assert.ok(r.headers.get('x-request-id'));

  const reqs = await requests({ method: 'POST', path: '/v1/checkout/sessions', after: m });
  assert.equal(reqs.length, 1, JSON.stringify(reqs));
  const q = reqs[0];
  assert.equal(q.status, 200, JSON.stringify(q.response));
  assert.equal(q.authorization.valid, true);
  assert.equal(q.authorization.scheme, 'bearer');
  assert.match(q.content_type, /^application\/x-www-form-urlencoded/);
  assert.ok(q.stripe_version, 'Stripe-Version header');
  const f = q.form;
  assert.equal(f.mode, 'payment');
  assert.equal(f.line_items.length, 1, JSON.stringify(f.line_items));
  assert.equal(f.line_items[0].quantity, '1');
  assert.equal(f.line_items[0].price_data.currency, 'eur', 'currency from billing.currency, lower case');
  assert.equal(f.line_items[0].price_data.unit_amount, '500');
  assert.ok(f.line_items[0].price_data.product_data.name);
  assert.equal(f.client_reference_id, p.id);
  assert.equal(f.metadata.purchase_id, p.id);
  assert.ok(f.success_url.startsWith(`${PUBLIC_URL}/`), `success_url on http.public_url: ${f.success_url}`);
  assert.ok(f.cancel_url.startsWith(`${PUBLIC_URL}/`), `cancel_url on http.public_url: ${f.cancel_url}`);
  assert.ok(q.idempotency_key, 'Idempotency-Key sent');
  assert.ok(q.idempotency_key.includes(p.id), `Idempotency-Key derived from the purchase id: ${q.idempotency_key}`);

  // the session as Stripe holds it
  const s = await ctlOk('GET', `/_test/objects/${sessionOf(p.checkout_url)}`);
  assert.equal(s.mode, 'payment');
  assert.equal(s.amount_total, 500);
  assert.equal(s.currency, 'eur');
  assert.equal(s.status, 'open');
  assert.equal(s.client_reference_id, p.id);
  assert.deepEqual(s.metadata, { purchase_id: p.id });
  assert.equal(s.url, p.checkout_url);
  assert.deepEqual(purchaseRow(p.id), { status: 'pending', provider_ref: s.id, payment_ref: null,
    refunded_amount: '0', credits_reversed: '0', credits_unrecovered: '0' });
});

test('the same Idempotency-Key twice: one purchase, one Checkout Session at Stripe', async () => {
  const user = newUser('idem');
  const key = `buy-${rand()}`;
  const m = await mark();
  const a = await call('POST', '/credits/purchase', { token: as(user), body: { package: 'large', method: 'card' }, headers: { 'Idempotency-Key': key } });
  const b = await call('POST', '/credits/purchase', { token: as(user), body: { package: 'large', method: 'card' }, headers: { 'Idempotency-Key': key } });
  assert.equal(a.status, 201, a.text);
  assert.equal(b.status, 201, b.text);
  assert.deepEqual(b.body, a.body);
  assert.equal(purchaseCount(user), 1);
  const reqs = await requests({ method: 'POST', path: '/v1/checkout/sessions', after: m });
  assert.equal(reqs.length, 1, `one session created: ${reqs.map((x) => x.idempotency_key)}`);
  // the same key with another body is a conflict, and creates nothing
  const c = await call('POST', '/credits/purchase', { token: as(user), body: { package: 'starter', method: 'card' }, headers: { 'Idempotency-Key': key } });
  assert.equal(c.status, 409, c.text);
  assert.equal(purchaseCount(user), 1);
  assert.equal((await requests({ method: 'POST', path: '/v1/checkout/sessions', after: m })).length, 1);
});

test('GET /credits/purchase/{id} and /credits/purchases; another user\'s purchase is 404', async () => {
  const user = newUser('list');
  const { purchase: p1 } = await buy(user, 'starter');
  const { purchase: p2 } = await buy(user, 'large');
  const g = await getPurchase(user, p1.id);
  assert.deepEqual(g, p1);
  const l = await call('GET', '/credits/purchases', { token: as(user) });
  assert.equal(l.status, 200, l.text);
  assert.deepEqual(l.body.purchases.map((x) => x.id), [p2.id, p1.id], 'newest first');
  assert.deepEqual(l.body.purchases[0], p2);
  assert.equal(l.body.purchases[0].credits, 2000);
  assert.equal(l.body.purchases[0].amount, 1800);

  const other = newUser('other');
  const o = await call('GET', `/credits/purchase/${p1.id}`, { token: as(other) });
  assert.equal(o.status, 404, o.text);
  assert.equal(o.body.error, 'not_found');
  const ol = await call('GET', '/credits/purchases', { token: as(other) });
  assert.deepEqual(ol.body, { purchases: [] });
  for (const id of ['999999999999', 'abc', '0']) {
    const r = await call('GET', `/credits/purchase/${id}`, { token: as(user) });
    assert.equal(r.status, 404, `${id}: ${r.text}`);
  }
});

test('purchase → checkout.session.completed + payment_intent.succeeded → credited once', async () => {
  const user = newUser('paid');
  const { purchase, sid } = await buy(user, 'starter');
  assert.equal(await balanceOf(user), 0);
  const done = await complete(sid);
  assert.deepEqual(done.deliveries.map((d) => d.type), ['checkout.session.completed', 'payment_intent.succeeded']);
  assert.equal(await balanceOf(user), 500);
  assert.equal(ledgerCount(user, 'purchase'), 1, 'the same payment in two events is credited once');
  assert.ok(ledgerMatches(user));
  const g = await getPurchase(user, purchase.id);
  assert.equal(g.status, 'succeeded');
  assert.match(g.completed_at, ISO_UTC);
  assert.equal(g.checkout_url, undefined, 'no checkout_url once paid');
  assert.equal(purchaseRow(purchase.id).payment_ref, done.payment_intent.id);
  const tx = await call('GET', '/credits/transactions', { token: as(user) });
  assert.equal(tx.body.transactions[0].kind, 'purchase');
  assert.equal(tx.body.transactions[0].amount, 500);
  assert.equal(tx.body.transactions[0].balance_after, 500);
});

test('the events in the other order (payment_intent.succeeded first) also credit once', async () => {
  const user = newUser('order');
  const { purchase, sid } = await buy(user, 'large');
  await complete(sid, { events: ['payment_intent.succeeded', 'charge.succeeded', 'checkout.session.completed'] });
  assert.equal(await balanceOf(user), 2000);
  assert.equal(ledgerCount(user, 'purchase'), 1);
  assert.equal((await getPurchase(user, purchase.id)).status, 'succeeded');
});

test('both events delivered at the same time, and one event delivered five times at once: credited once', async () => {
  const user = newUser('race');
  const { purchase, sid } = await buy(user, 'starter');
  const done = await ctlOk('POST', `/_test/checkout/${sid}/complete`, { events: [] });
  assert.deepEqual(done.deliveries, []);
  const sends = await Promise.all([
    ctlOk('POST', '/_test/send', { type: 'checkout.session.completed', object: done.session }),
    ctlOk('POST', '/_test/send', { type: 'payment_intent.succeeded', object: done.payment_intent }),
  ]);
  for (const x of sends) assert.equal(x.status, 200, x.body);
  const again = await Promise.all(Array.from({ length: 5 }, () => ctlOk('POST', `/_test/events/${sends[0].event_id}/resend`, {})));
  for (const x of again) assert.equal(x.status, 200, x.body);
  assert.equal(await balanceOf(user), 500);
  assert.equal(ledgerCount(user, 'purchase'), 1);
  assert.ok(ledgerMatches(user));
  assert.equal((await getPurchase(user, purchase.id)).status, 'succeeded');
});

test('a delayed payment (session completed unpaid) is credited only when the money arrives', async () => {
  const user = newUser('delayed');
  const { purchase, sid } = await buy(user, 'starter');
  const done = await complete(sid, { payment_status: 'unpaid', events: ['checkout.session.completed'] });
  assert.equal(await balanceOf(user), 0);
  assert.equal((await getPurchase(user, purchase.id)).status, 'pending');
  const s = await ctlOk('POST', '/_test/send', { type: 'payment_intent.succeeded', object: done.payment_intent });
  assert.equal(s.status, 200, s.body);
  assert.equal(await balanceOf(user), 500);
  assert.equal((await getPurchase(user, purchase.id)).status, 'succeeded');
});

test('duplicate and replayed events: the same event again is 200 and changes nothing', async () => {
  const user = newUser('dup');
  const { purchase, sid } = await buy(user, 'starter');
  const done = await complete(sid);
  assert.equal(await balanceOf(user), 500);
  for (const d of done.deliveries) {
    const again = await ctlOk('POST', `/_test/events/${d.event_id}/resend`, {});
    assert.equal(again.status, 200, again.body);
    assert.deepEqual(JSON.parse(again.body), { received: true });
  }
  // the same payment in a new event (another id) credits nothing either
  const fresh = await ctlOk('POST', '/_test/send', { type: 'checkout.session.completed', object: done.session });
  assert.equal(fresh.status, 200, fresh.body);
  assert.equal(await balanceOf(user), 500);
  assert.equal(ledgerCount(user, 'purchase'), 1);
  // a replay of a captured delivery after the tolerance is refused
  const stale = await ctlOk('POST', `/_test/events/${done.deliveries[0].event_id}/resend`, { timestamp: nowSec() - 301 });
  assert.equal(stale.status, 400, stale.body);
  assert.equal(JSON.parse(stale.body).error, 'invalid_signature');
  assert.equal(sql(`SELECT COUNT(*) FROM webhook_events WHERE provider = 'stripe' AND event_id = ${sqlStr(done.deliveries[0].event_id)}`)[0][0], '1');
  assert.equal((await getPurchase(user, purchase.id)).status, 'succeeded');
  assert.ok(ledgerMatches(user));
});

test('forged signatures are refused (400 invalid_signature); Stripe\'s own signature is accepted', async () => {
  const user = newUser('forge');
  const { purchase, sid } = await buy(user, 'starter');
  const session = await ctlOk('GET', `/_test/objects/${sid}`);
  const paid = { ...session, status: 'complete', payment_status: 'paid', url: null, payment_intent: `pi_it${rand(8)}` };
  const { id: evtId, payload } = eventPayload('checkout.session.completed', paid);
  const t = nowSec();
  const good = hmacHex(WHSEC, `${t}.${payload}`);
  const oneByte = payload.replace('"amount_total": 500', '"amount_total": 600');
  assert.notEqual(oneByte, payload);
  assert.equal(oneByte.length, payload.length);

  const forged = [
    ['no Stripe-Signature header', payload, undefined],
    ['an empty header', payload, ''],
    ['signed with another secret', payload, npmSign(payload, { secret: `whsec_${rand(16)}` })],
    ['timestamp 301 s old', payload, npmSign(payload, { timestamp: t - 301 })],
    ['timestamp an hour old', payload, npmSign(payload, { timestamp: t - 3600 })],
    ['body changed by one byte', oneByte, npmSign(payload)],
    ['one byte appended', `${payload} `, npmSign(payload)],
    ['v0 only', payload, `t=${t},v0=${good}`],
    ['no timestamp', payload, `v1=${good}`],
    ['signature of the body without the timestamp', payload, `t=${t},v1=${hmacHex(WHSEC, payload)}`],
    ['timestamp not the signed one', payload, `t=${t - 1},v1=${good}`],
    ['truncated signature', payload, `t=${t},v1=${good.slice(0, 63)}`],
    ['garbage', payload, 'nonsense'],
  ];
  for (const [what, body, sig] of forged) assertBadSignature(await postHook(body, sig), what);
  assert.equal(await balanceOf(user), 0);
  assert.equal((await getPurchase(user, purchase.id)).status, 'pending');
  assert.equal(sql(`SELECT COUNT(*) FROM webhook_events WHERE event_id = ${sqlStr(evtId)}`)[0][0], '0',
    'a refused event does not use up its id');

  // every v1 is a candidate (secret rotation): a wrong one first, then the
  // right one, on an event type that is acknowledged and ignored
  for (const order of ['wrong-first', 'right-first']) {
    const ev = eventPayload('customer.updated', { id: `cus_it${rand(6)}`, object: 'customer' });
    const ts = nowSec();
    const right = hmacHex(WHSEC, `${ts}.${ev.payload}`);
    const wrong = hmacHex(`whsec_${rand(16)}`, `${ts}.${ev.payload}`);
    const sig = order === 'wrong-first' ? `t=${ts},v1=${wrong},v1=${right}` : `t=${ts},v1=${right},v1=${wrong},v0=${wrong}`;
    const r = await postHook(ev.payload, sig);
    assert.equal(r.status, 200, `${order}: ${r.text}`);
  }
  // a signature 4 minutes old is inside the tolerance
  const ev4 = eventPayload('customer.updated', { id: `cus_it${rand(6)}`, object: 'customer' });
  assert.equal((await postHook(ev4.payload, npmSign(ev4.payload, { timestamp: nowSec() - 240 }))).status, 200);

  // the official stripe npm package signs; tally accepts and applies it
  const ok = await postHook(payload, npmSign(payload));
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.body, { received: true });
  assert.equal(await balanceOf(user), 500);
  assert.equal((await getPurchase(user, purchase.id)).status, 'succeeded');
  // the very same delivery replayed within the tolerance: deduplicated
  const replay = await postHook(payload, npmSign(payload));
  assert.equal(replay.status, 200, replay.text);
  assert.equal(await balanceOf(user), 500);
  assert.equal(ledgerCount(user, 'purchase'), 1);
});

test('a signed body that is not a Stripe event is 400, never applied', async () => {
  for (const body of ['not json', '{}', '[]', '{"type":"checkout.session.completed"}']) {
    const r = await postHook(body, npmSign(body));
    assert.equal(r.status, 400, `${body}: ${r.text}`);
    assert.notEqual(r.body?.error, 'invalid_signature', body);
  }
});

test('unknown and unhandled event types are acknowledged (200) and ignored', async () => {
  const user = newUser('unknown');
  const { purchase, sid } = await buy(user, 'starter');
  for (const type of ['customer.created', 'invoice.paid', 'charge.succeeded', 'payment_intent.created',
    'checkout.session.expired', 'something.new_in_2030']) {
    const r = await ctlOk('POST', '/_test/send', { type, object: { id: `obj_${rand(6)}`, object: 'thing', metadata: { purchase_id: purchase.id } } });
    assert.equal(r.status, 200, `${type}: ${r.body}`);
    assert.deepEqual(JSON.parse(r.body), { received: true });
  }
  const ex = await ctlOk('POST', `/_test/checkout/${sid}/expire`, {});
  assert.equal(ex.deliveries[0].status, 200);
  assert.equal(await balanceOf(user), 0);
});

test('payment_intent.payment_failed → purchase failed, nothing credited', async () => {
  const user = newUser('failed');
  const { purchase, sid } = await buy(user, 'starter');
  const f = await ctlOk('POST', `/_test/checkout/${sid}/fail`, { decline_code: 'insufficient_funds' });
  assert.equal(f.deliveries.length, 1);
  assert.equal(f.deliveries[0].type, 'payment_intent.payment_failed');
  assert.equal(f.deliveries[0].status, 200, f.deliveries[0].body);
  const g = await getPurchase(user, purchase.id);
  assert.equal(g.status, 'failed');
  assert.equal(g.checkout_url, undefined);
  assert.equal(await balanceOf(user), 0);
  assert.equal(ledgerCount(user), 0);
});

test('a declined attempt, then a successful one in the same Checkout: succeeded, credited once', async () => {
  const user = newUser('retry');
  const { purchase, sid } = await buy(user, 'starter');
  await ctlOk('POST', `/_test/checkout/${sid}/fail`, {});
  assert.equal((await getPurchase(user, purchase.id)).status, 'failed');
  await complete(sid);
  assert.equal((await getPurchase(user, purchase.id)).status, 'succeeded');
  assert.equal(await balanceOf(user), 500);
  // a late failure event for a paid purchase changes nothing
  const pi = purchaseRow(purchase.id).payment_ref;
  const piObj = await ctlOk('GET', `/_test/objects/${pi}`);
  const late = await ctlOk('POST', '/_test/send', { type: 'payment_intent.payment_failed', object: { ...piObj, status: 'requires_payment_method' } });
  assert.equal(late.status, 200, late.body);
  assert.equal((await getPurchase(user, purchase.id)).status, 'succeeded');
  assert.equal(await balanceOf(user), 500);
  assert.equal(ledgerCount(user, 'purchase'), 1);
});

test('amount or currency in the event not what the purchase costs: 200 to Stripe, not credited, still pending', async () => {
  for (const [what, override] of [['amount', { amount_total: 1 }], ['more than the price', { amount_total: 50000 }], ['currency', { currency: 'usd' }]]) {
    const user = newUser('mismatch');
    const { purchase, sid } = await buy(user, 'starter');
    const done = await complete(sid, override);
    assert.equal(done.deliveries.length, 2, what);
    assert.equal(await balanceOf(user), 0, what);
    assert.equal(ledgerCount(user), 0, what);
    assert.equal((await getPurchase(user, purchase.id)).status, 'pending', what);
  }
});

// ================================================================ refunds

test('charge.refunded, partial: the refunded share of the credits is taken back; cumulative amounts add only what is new', async () => {
  const user = newUser('refund');
  const { purchase, sid } = await buy(user, 'large'); // 2000 credits for 1800
  const done = await complete(sid);
  assert.equal(await balanceOf(user), 2000);
  const pi = done.payment_intent.id;

  const r1 = await ctlOk('POST', '/_test/refund', { payment_intent: pi, amount: 900 });
  assert.equal(r1.deliveries[0].status, 200, r1.deliveries[0].body);
  assert.equal(await balanceOf(user), 1000, 'half the money back: half the credits back');
  let row = purchaseRow(purchase.id);
  assert.equal(row.refunded_amount, '900');
  assert.equal(row.credits_reversed, '1000');
  assert.equal(row.credits_unrecovered, '0');
  const g = await getPurchase(user, purchase.id);
  assert.equal(g.refunded_amount, 900);
  const tx = await call('GET', '/credits/transactions', { token: as(user) });
  assert.equal(tx.body.transactions[0].kind, 'refund');
  assert.equal(tx.body.transactions[0].amount, -1000);
  assert.equal(tx.body.transactions[0].balance_after, 1000);

  // the same event again, and a stale event with the old cumulative amount
  const again = await ctlOk('POST', `/_test/events/${r1.deliveries[0].event_id}/resend`, {});
  assert.equal(again.status, 200, again.body);
  const stale = await ctlOk('POST', '/_test/send', { type: 'charge.refunded', object: r1.charge });
  assert.equal(stale.status, 200, stale.body);
  assert.equal(await balanceOf(user), 1000);

  // 300 more (cumulative 1200 of 1800): 2000 * 1200 / 1800 = 1333 in all
  const r2 = await ctlOk('POST', '/_test/refund', { payment_intent: pi, amount: 300 });
  assert.equal(r2.deliveries[0].status, 200);
  assert.equal(await balanceOf(user), 2000 - 1333);
  row = purchaseRow(purchase.id);
  assert.equal(row.refunded_amount, '1200');
  assert.equal(row.credits_reversed, '1333');
  // the rest: everything is back
  const r3 = await ctlOk('POST', '/_test/refund', { payment_intent: pi });
  assert.equal(r3.deliveries[0].status, 200);
  assert.equal(await balanceOf(user), 0);
  row = purchaseRow(purchase.id);
  assert.equal(row.refunded_amount, '1800');
  assert.equal(row.credits_reversed, '2000');
  assert.equal(row.credits_unrecovered, '0');
  assert.equal(ledgerCount(user, 'refund'), 3);
  assert.ok(ledgerMatches(user));
});

test('charge.refunded, full, after the user spent credits: balance 0 (never below), the rest recorded unrecovered and audited', async () => {
  const user = newUser('spent');
  const { purchase, sid } = await buy(user, 'starter'); // 500 credits
  const done = await complete(sid);
  const use = await call('POST', '/credits/use', { token: as(user), body: { amount: 300, operation: 'test' } });
  assert.equal(use.status, 200, use.text);
  assert.equal(await balanceOf(user), 200);

  const r = await ctlOk('POST', '/_test/refund', { payment_intent: done.payment_intent.id });
  assert.equal(r.deliveries[0].status, 200, r.deliveries[0].body);
  assert.equal(await balanceOf(user), 0);
  assert.equal(dbBalance(user), 0);
  const row = purchaseRow(purchase.id);
  assert.equal(row.refunded_amount, '500');
  assert.equal(row.credits_reversed, '200');
  assert.equal(row.credits_unrecovered, '300');
  assert.ok(ledgerMatches(user));

  const audit = await call('GET', '/admin/audit?limit=100', { admin: true });
  assert.equal(audit.status, 200, audit.text);
  const entry = audit.body.entries.find((e) => e.action === 'purchase.refund' && e.target === sid);
  assert.ok(entry, `an audit entry for the refund: ${JSON.stringify(audit.body.entries.slice(0, 5))}`);
  assert.equal(entry.actor, 'stripe');
  assert.match(JSON.stringify(entry.details), /credits_not_recovered\\?"?:\s*300/);

  // credits arriving later are not taken: the refund is settled
  const again = await ctlOk('POST', '/_test/send', { type: 'charge.refunded', object: r.charge });
  assert.equal(again.status, 200);
  assert.equal(await balanceOf(user), 0);
  assert.equal(ledgerCount(user, 'refund'), 1);
});

// ================================================================ card setup, NWC

test('card setup: Checkout in setup mode, one Stripe customer per account, the saved card shown as {brand,last4}', async () => {
  const user = newUser('setup');
  const tok = as(user, { email: `${user}@example.com` });
  assert.deepEqual(await paymentMethods(user), { card: null, nwc: false });
  const m = await mark();
  const s1 = await call('POST', '/billing/card-setup', { token: tok });
  assert.equal(s1.status, 200, s1.text);
  assert.ok(s1.body.checkout_url.startsWith(`${SI}/checkout/cs_test_`), s1.text);
  await new Promise((res) => setTimeout(res, 1100)); // another second: another setup session
  const s2 = await call('POST', '/billing/card-setup', { token: tok });
  assert.equal(s2.status, 200, s2.text);

  const custs = await requests({ method: 'POST', path: '/v1/customers', after: m });
  assert.equal(custs.length, 1, 'two setups, one customer');
  assert.equal(custs[0].status, 200);
  assert.equal(custs[0].form.metadata.user_id, user);
  assert.equal(custs[0].form.email, `${user}@example.com`);
  assert.ok(custs[0].idempotency_key?.includes(accountId(user)), `Idempotency-Key derived from the account id: ${custs[0].idempotency_key}`);
  const cus = custs[0].response.id;
  assert.equal(profileRow(user).stripe_customer, cus);

  const sess = await requests({ method: 'POST', path: '/v1/checkout/sessions', after: m });
  assert.equal(sess.length, 2);
  for (const q of sess) {
    assert.equal(q.form.mode, 'setup');
    assert.equal(q.form.customer, cus);
    assert.equal(q.form.currency, 'eur');
    assert.equal(q.form.line_items, undefined);
    assert.ok(q.form.success_url.startsWith(`${PUBLIC_URL}/`), q.form.success_url);
    assert.ok(q.form.cancel_url.startsWith(`${PUBLIC_URL}/`), q.form.cancel_url);
    assert.ok(q.idempotency_key?.includes(accountId(user)), `Idempotency-Key derived from the account id: ${q.idempotency_key}`);
  }
  assert.equal(await (await paymentMethods(user)).card, null, 'nothing saved before Checkout completes');

  const done = await complete(sessionOf(s2.body.checkout_url), { card: 'mastercard' });
  assert.deepEqual(done.deliveries.map((d) => d.type), ['checkout.session.completed', 'setup_intent.succeeded']);
  assert.deepEqual(await paymentMethods(user), { card: { brand: 'mastercard', last4: '4444' }, nwc: false });
  const prof = profileRow(user);
  assert.equal(prof.card_pm, done.payment_method.id);
  assert.equal(prof.stripe_customer, cus);

  // a purchase of a user with a customer pays as that customer
  const m2 = await mark();
  await buy(user, 'starter', { claims: { email: `${user}@example.com` } });
  const [q] = await requests({ method: 'POST', path: '/v1/checkout/sessions', after: m2 });
  assert.equal(q.form.customer, cus);
  assert.equal(q.form.customer_email, undefined);
});

test('DELETE /billing/card → card null; the Stripe customer is kept; charging it is no_card', async () => {
  const { user, customer, pm } = await userWithCard('amex', 'del');
  assert.deepEqual(await paymentMethods(user), { card: { brand: 'amex', last4: '0005' }, nwc: false });
  const m = await mark();
  const d = await call('DELETE', '/billing/card', { token: as(user) });
  assert.equal(d.status, 200, d.text);
  assert.deepEqual(await paymentMethods(user), { card: null, nwc: false });
  const prof = profileRow(user);
  assert.equal(prof.card_pm, null);
  assert.equal(prof.stripe_customer, customer);
  // tally asks Stripe to detach it (with an Idempotency-Key)
  const det = await requests({ method: 'POST', path: `/v1/payment_methods/${pm}/detach`, after: m });
  assert.equal(det.length, 1);
  assert.ok(det[0].idempotency_key?.includes(pm), det[0].idempotency_key);
  const again = await call('DELETE', '/billing/card', { token: as(user) });
  assert.equal(again.status, 200, again.text);
  const ref = `it-charge-${rand()}`;
  const c = chargeCard(user, 500, ref);
  assert.equal(c.out?.result, 'no_card', c.stdout + c.stderr);
  assert.notEqual(c.code, 0);
});

// A wallet key that is a point of the curve (a random 32 bytes is one only
// half the time, and PUT /billing/nwc checks it).
const WALLET_PUB = '17162c921dc4d2518f9a101db33695df1afb56ab82f5ff3e5da6eec3ca5cd917';

test('PUT /billing/nwc stores the connection encrypted, never shows it back; bad URLs are 400', async () => {
  const user = newUser('nwc');
  const secret = rand(32);
  const url = `nostr+walletconnect://${WALLET_PUB}?relay=wss%3A%2F%2Frelay.example.com&secret=${secret}`;
  const r = await call('PUT', '/billing/nwc', { token: as(user), body: { url } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.nwc, true);
  assert.ok(!r.text.includes(secret));
  const pm = await call('GET', '/billing/payment-methods', { token: as(user) });
  assert.deepEqual(pm.body, { card: null, nwc: true });
  assert.ok(!pm.text.includes(secret) && !pm.text.includes('walletconnect'));
  const sealed = profileRow(user).nwc_sealed;
  assert.ok(sealed.startsWith('v1:'), sealed.slice(0, 10));
  assert.ok(!sealed.includes(url) && !sealed.includes(secret) && !sealed.includes('walletconnect'));
  assert.ok(!sealed.includes(Buffer.from(secret).toString('hex')), 'not merely hex-encoded');
  // the same URL again seals differently (random nonce)
  await call('PUT', '/billing/nwc', { token: as(user), body: { url } });
  assert.notEqual(profileRow(user).nwc_sealed, sealed);

  for (const bad of ['https://wallet.example.com/?secret=abc', 'nostr+walletconnect://abc?relay=wss://r.example.com',
    '', 'nostr+walletconnect://', 42, null, `nostr+walletconnect://x?secret=${'a'.repeat(3000)}`]) {
    const b = await call('PUT', '/billing/nwc', { token: as(user), body: { url: bad } });
    assert.equal(b.status, 400, `${JSON.stringify(bad).slice(0, 60)}: ${b.text}`);
    assert.equal(b.body.error, 'invalid_request');
    assert.equal(b.body.field, 'url');
  }
  const missing = await call('PUT', '/billing/nwc', { token: as(user), body: {} });
  assert.equal(missing.status, 400);
  assert.equal((await paymentMethods(user)).nwc, true, 'a refused URL keeps the stored one');

  const del = await call('DELETE', '/billing/nwc', { token: as(user) });
  assert.equal(del.status, 200, del.text);
  assert.deepEqual(await paymentMethods(user), { card: null, nwc: false });
  assert.equal(profileRow(user).nwc_sealed, null);
});

// ================================================================ saved card charges

test('charge-card: success — an off-session PaymentIntent keyed by the reference; the same reference charges once', async () => {
  const { user, customer, pm } = await userWithCard('visa', 'charge');
  const ref = `it-charge-${rand()}`;
  const m = await mark();
  const c1 = chargeCard(user, 700, ref);
  assert.equal(c1.code, 0, c1.stdout + c1.stderr);
  assert.equal(c1.out.result, 'charged');
  assert.match(c1.out.payment_intent, /^pi_/);
  assert.equal(typeof c1.out.message, 'string');

  let reqs = await requests({ method: 'POST', path: '/v1/payment_intents', after: m });
  assert.equal(reqs.length, 1);
  const f = reqs[0].form;
  assert.equal(reqs[0].idempotency_key, ref, 'Idempotency-Key = the reference');
  assert.equal(f.amount, '700');
  assert.equal(f.currency, 'eur');
  assert.equal(f.customer, customer);
  assert.equal(f.payment_method, pm);
  assert.equal(f.off_session, 'true');
  assert.equal(f.confirm, 'true');
  const piObj = await ctlOk('GET', `/_test/objects/${c1.out.payment_intent}`);
  assert.equal(piObj.status, 'succeeded');
  assert.equal(piObj.amount, 700);

  const c2 = chargeCard(user, 700, ref);
  assert.equal(c2.code, 0, c2.stdout + c2.stderr);
  assert.equal(c2.out.result, 'charged');
  assert.equal(c2.out.payment_intent, c1.out.payment_intent);
  reqs = await requests({ method: 'POST', path: '/v1/payment_intents', after: m });
  assert.equal(reqs.length, 2);
  assert.equal(reqs[1].idempotency_key, ref);
  assert.equal(reqs[1].replayed, true, 'the second is answered with Idempotent-Replayed');
  assert.equal(reqs.filter((q) => !q.replayed).length, 1, 'charged once at Stripe');
  const charges = (await ctlOk('GET', '/_test/requests')).filter((q) => q.path === '/v1/payment_intents' && q.status === 200 && !q.replayed
    && q.response?.metadata?.reference === ref);
  assert.equal(charges.length, 1);

  const rows = paymentRows(ref);
  assert.equal(rows.length, 1, 'one attempt, one row');
  assert.equal(rows[0].status, 'succeeded');
  assert.equal(rows[0].amount, 700);
  assert.equal(rows[0].currency, 'EUR');
  assert.equal(rows[0].method, 'card');
  assert.equal(rows[0].provider_ref, c1.out.payment_intent);
  assert.equal(Number(sql(`SELECT account_id FROM payments WHERE reference = ${sqlStr(ref)}`)[0][0]), Number(accountId(user)));

});

test('charge-card: a reference reused with another amount charges nothing and is not reported as a card decline', async () => {
  const { user } = await userWithCard('visa', 'reuse');
  const ref = `it-charge-${rand()}`;
  const c1 = chargeCard(user, 700, ref);
  assert.equal(c1.out?.result, 'charged', c1.stdout + c1.stderr);
  const m = await mark();
  const c2 = chargeCard(user, 900, ref);
  assert.notEqual(c2.code, 0, c2.stdout);
  assert.notEqual(c2.out?.result, 'charged', c2.stdout);
  const reqs = await requests({ method: 'POST', path: '/v1/payment_intents', after: m });
  assert.equal(reqs.filter((q) => q.status === 200 || q.status === 402).length, 0, 'no second charge at Stripe');
  assert.deepEqual(paymentRows(ref).map((r) => [r.status, r.amount]), [['succeeded', 700]]);
  // Stripe answered 400 idempotency_error (an invalid request, not a card
  // error): the card was not declined by anyone
  assert.equal(c2.out?.result, 'error', `result for Stripe's ${reqs[0]?.response?.error?.type}: ${c2.stdout}`);
});

test('charge-card: decline → declined with Stripe\'s message, recorded', async () => {
  const { user, customer } = await userWithCard('visa', 'decline');
  await ctlOk('POST', '/_test/outcome', { customer, outcome: 'decline', decline_code: 'insufficient_funds' });
  const ref = `it-charge-${rand()}`;
  const c = chargeCard(user, 900, ref);
  assert.notEqual(c.code, 0, 'exits 0 only when charged');
  assert.equal(c.out?.result, 'declined', c.stdout + c.stderr);
  assert.ok(c.out.message.includes('Your card has insufficient funds.'), c.out.message);
  assert.match(c.out.payment_intent, /^pi_/);
  const rows = paymentRows(ref);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].status, 'declined');
  assert.equal(rows[0].amount, 900);
  assert.equal(rows[0].provider_ref, c.out.payment_intent);
  assert.ok(rows[0].message.includes('insufficient funds'), rows[0].message);
  // another decline reason
  await ctlOk('POST', '/_test/outcome', { customer, outcome: 'decline', decline_code: 'expired_card' });
  const ref2 = `it-charge-${rand()}`;
  const c2 = chargeCard(user, 900, ref2);
  assert.equal(c2.out?.result, 'declined', c2.stdout + c2.stderr);
  assert.ok(c2.out.message.includes('Your card has expired.'), c2.out.message);
  assert.equal(paymentRows(ref2)[0].status, 'declined');
  await ctlOk('POST', '/_test/outcome', { customer, outcome: 'succeed' });
});

test('charge-card: authentication required → needs_authentication, recorded', async () => {
  const { user, customer } = await userWithCard('visa', 'sca');
  for (const pi_status of ['requires_action', undefined]) {
    await ctlOk('POST', '/_test/outcome', { customer, outcome: 'authentication_required', ...(pi_status ? { pi_status } : {}) });
    const ref = `it-charge-${rand()}`;
    const c = chargeCard(user, 1200, ref);
    assert.notEqual(c.code, 0);
    assert.equal(c.out?.result, 'needs_authentication', `${pi_status}: ${c.stdout}${c.stderr}`);
    assert.ok(c.out.message.length > 0);
    assert.match(c.out.payment_intent, /^pi_/);
    const rows = paymentRows(ref);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].status, 'requires_action');
    assert.equal(rows[0].provider_ref, c.out.payment_intent);
  }
  await ctlOk('POST', '/_test/outcome', { customer, outcome: 'succeed' });
});

test('charge-card: no saved card → no_card, Stripe not asked, nothing recorded', async () => {
  const user = newUser('nocard');
  assert.equal(await balanceOf(user), 0); // the account exists
  const ref = `it-charge-${rand()}`;
  const m = await mark();
  const c = chargeCard(user, 500, ref);
  assert.notEqual(c.code, 0);
  assert.equal(c.out?.result, 'no_card', c.stdout + c.stderr);
  assert.equal((await requests({ after: m })).length, 0);
  assert.equal(paymentRows(ref).length, 0);
});

test('charge-card: Stripe failing → error, recorded; the same reference retried later charges and the record says so', async () => {
  const { user } = await userWithCard('visa', 'chgerr');
  const ref = `it-charge-${rand()}`;
  await ctlOk('POST', '/_test/fail-next', { status: 500 });
  const c1 = chargeCard(user, 800, ref);
  assert.notEqual(c1.code, 0);
  assert.equal(c1.out?.result, 'error', c1.stdout + c1.stderr);
  assert.deepEqual(paymentRows(ref).map((r) => r.status), ['error']);
  // the retry goes through (Stripe kept nothing for the failed request)
  const c2 = chargeCard(user, 800, ref);
  assert.equal(c2.code, 0, c2.stdout + c2.stderr);
  assert.equal(c2.out.result, 'charged');
  const rows = paymentRows(ref);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].status, 'succeeded', 'the card was charged under this reference; the payments row still says "error"');
  assert.equal(rows[0].provider_ref, c2.out.payment_intent);
});

// ================================================================ Stripe down

test('Stripe failing (500, 503, 429) → POST /credits/purchase is 502 provider_error and leaves no purchase behind', async () => {
  const user = newUser('down');
  assert.equal(await balanceOf(user), 0);
  const key = `down-${rand()}`;
  for (const status of [500, 503, 429]) {
    const before = Number(sql('SELECT COUNT(*) FROM purchases')[0][0]);
    await ctlOk('POST', '/_test/fail-next', { status });
    const r = await call('POST', '/credits/purchase', { token: as(user), body: { package: 'starter', method: 'card' }, headers: { 'Idempotency-Key': key } });
    assert.equal(r.status, 502, `${status}: ${r.text}`);
    assert.equal(r.body.error, 'provider_error');
    assert.equal(typeof r.body.message, 'string');
    assert.ok(r.body.message.length > 0);
    assert.match(r.headers.get('content-type') || '', /application\/json/);
    assert.equal(purchaseCount(user), 0, `${status}: no purchase row left`);
    assert.equal(Number(sql('SELECT COUNT(*) FROM purchases')[0][0]), before);
  }
  // the failure was not stored under the Idempotency-Key: the retry works
  const ok = await call('POST', '/credits/purchase', { token: as(user), body: { package: 'starter', method: 'card' }, headers: { 'Idempotency-Key': key } });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(purchaseCount(user), 1);
  assert.equal(await balanceOf(user), 0);
});

test('Stripe failing during card setup → 502, no customer half-stored; the retry creates exactly one', async () => {
  const user = newUser('setupdown');
  const tok = as(user);
  const m = await mark();
  await ctlOk('POST', '/_test/fail-next', { status: 500 });
  const r = await call('POST', '/billing/card-setup', { token: tok });
  assert.equal(r.status, 502, r.text);
  assert.equal(r.body.error, 'provider_error');
  assert.equal(profileRow(user)?.stripe_customer ?? null, null);
  // customer made, then the session call fails
  const ok = await call('POST', '/billing/card-setup', { token: tok });
  assert.equal(ok.status, 200, ok.text);
  await new Promise((res) => setTimeout(res, 1100));
  await ctlOk('POST', '/_test/fail-next', { status: 500 });
  const r2 = await call('POST', '/billing/card-setup', { token: tok });
  assert.equal(r2.status, 502, r2.text);
  const ok2 = await call('POST', '/billing/card-setup', { token: tok });
  assert.equal(ok2.status, 200, ok2.text);
  const custs = (await requests({ method: 'POST', path: '/v1/customers', after: m })).filter((q) => q.status === 200 && !q.replayed);
  assert.equal(custs.length, 1);
  assert.equal(profileRow(user).stripe_customer, custs[0].response.id);
});

test('a webhook that needs Stripe while it is down is 503 (Stripe retries) and applies on redelivery', async () => {
  const user = newUser('hookdown');
  const s = await call('POST', '/billing/card-setup', { token: as(user) });
  assert.equal(s.status, 200, s.text);
  await ctlOk('POST', '/_test/fail-next', { status: 500 });
  const done = await complete(sessionOf(s.body.checkout_url), { card: 'visa', events: ['checkout.session.completed'] }, { expect: null });
  assert.equal(done.deliveries[0].status, 503, done.deliveries[0].body);
  assert.equal((await paymentMethods(user)).card, null);
  const again = await ctlOk('POST', `/_test/events/${done.deliveries[0].event_id}/resend`, {});
  assert.equal(again.status, 200, again.body);
  assert.deepEqual((await paymentMethods(user)).card, { brand: 'visa', last4: '4242' });
});

test('Stripe hanging beyond tally\'s 15 s timeout → 502 provider_error, no purchase left', { timeout: 45000 }, async () => {
  const user = newUser('hang');
  assert.equal(await balanceOf(user), 0);
  const before = Number(sql('SELECT COUNT(*) FROM purchases')[0][0]);
  await ctlOk('POST', '/_test/hang-next', { ms: 20000 });
  const t0 = Date.now();
  const r = await call('POST', '/credits/purchase', { token: as(user), body: { package: 'starter', method: 'card' } });
  const took = Date.now() - t0;
  assert.equal(r.status, 502, r.text);
  assert.equal(r.body.error, 'provider_error');
  assert.equal(typeof r.body.message, 'string');
  assert.ok(took >= 14000 && took < 19500, `answered after ${took} ms`);
  assert.equal(purchaseCount(user), 0);
  assert.equal(Number(sql('SELECT COUNT(*) FROM purchases')[0][0]), before);
});

test('with no stripe.secret_key, card purchase and card setup are 400 naming the method, and nothing is written', async (t) => {
  // A second stack on the same database whose config has no Stripe key.
  const nostripe = await startStack({ name: 'nostripe', set: { 'stripe.secret_key': '' }, procs: 1 });
  t.after(nostripe.stop);
  const user = newUser('nostripe');
  const m = await mark();
  const before = Number(sql('SELECT COUNT(*) FROM purchases')[0][0]);

  const p = await call('POST', `${nostripe.api}/credits/purchase`, { token: as(user), body: { package: 'starter', method: 'card' } });
  assert.equal(p.status, 400, p.text);
  assert.equal(p.body.error, 'invalid_request');
  assert.equal(p.body.field, 'method');
  assert.match(p.body.message, /not configured/);

  const s = await call('POST', `${nostripe.api}/billing/card-setup`, { token: as(user) });
  assert.equal(s.status, 400, s.text);
  assert.equal(s.body.error, 'invalid_request');
  assert.match(s.body.message, /not configured/);

  // Nothing written, nothing asked of Stripe.
  assert.equal(purchaseCount(user), 0);
  assert.equal(Number(sql('SELECT COUNT(*) FROM purchases')[0][0]), before);
  assert.equal(profileRow(user)?.stripe_customer ?? null, null);
  assert.deepEqual(await requests({ after: m }), []);
  assert.equal(await balanceOf(user), 0);

  // The same requests on the main stack (with the key) do reach Stripe:
  // the second stack's answer comes from its config, not from the route.
  const ok = await call('POST', '/billing/card-setup', { token: as(user) });
  assert.equal(ok.status, 200, ok.text);
});

// ================================================================ expiry

test('pending card purchases expire after stripe.checkout_ttl_minutes (60) via the scheduler; a late payment is still credited', async () => {
  const user = newUser('expire');
  const { purchase, sid } = await buy(user, 'starter');
  const created = Date.parse(purchase.created_at);
  await runScheduler(isoTime(created + 59 * MIN));
  assert.equal((await getPurchase(user, purchase.id)).status, 'pending');
  const r = await runScheduler(isoTime(created + 61 * MIN));
  assert.ok(r.jobs['expire-purchases'] && !r.jobs['expire-purchases'].skipped, JSON.stringify(r.jobs));
  assert.ok(r.jobs['expire-purchases'].expired >= 1, JSON.stringify(r.jobs['expire-purchases']));
  const g = await getPurchase(user, purchase.id);
  assert.equal(g.status, 'expired');
  assert.equal(g.checkout_url, undefined);
  assert.equal(await balanceOf(user), 0);
  // Checkout stays open a minute longer than the purchase: paid is paid
  await complete(sid);
  assert.equal((await getPurchase(user, purchase.id)).status, 'succeeded');
  assert.equal(await balanceOf(user), 500);
});

// ================================================================ every POST

test('every POST tally sent to Stripe in this file carried an Idempotency-Key', async () => {
  const posts = await requests({ method: 'POST', after: fileMark });
  assert.ok(posts.length > 10, `${posts.length} POSTs`);
  const without = posts.filter((q) => !q.idempotency_key);
  assert.deepEqual(without.map((q) => q.path), []);
  for (const q of posts) assert.ok(q.idempotency_key.length <= 255);
});
