// Lightning purchases through BTCPay Server (the stand-in in tests/standins/btcpay.mjs):
// purchase -> BOLT11, webhook -> credits once, signatures, lost webhooks
// (GET refresh, reconcile-lightning), expiry, invalid invoices, provider
// failures, another user's purchase, concurrency.
import test from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { call, token, newUser, sql, sqlStr, dbBalance, ledgerCount, ledgerMatches, ISO_UTC, API,
  runScheduler, isoTime, statusCounts } from './lib.mjs';

const BTCPAY = process.env.BTCPAY_STANDIN_URL;
const SECRET = process.env.BTCPAY_WEBHOOK_SECRET;
const WEBHOOK = `${API}/webhooks/lightning`;

const as = (user) => token({ sub: user });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- the stand-in's control API

async function bp(method, path, body) {
  const res = await fetch(`${BTCPAY}${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  assert.ok(res.status < 300, `stand-in ${method} ${path}: ${res.status} ${text}`);
  return json;
}

// BTCPay-Sig for raw bytes.
function sig(raw, secret = SECRET) {
  return `sha256=${crypto.createHmac('sha256', secret).update(raw).digest('hex')}`;
}

// Greenfield requests tally made (optionally only those about one BTCPay
// invoice, or the create requests naming one purchase).
async function apiRequests() {
  return bp('GET', '/_test/requests');
}
function createsFor(reqs, purchaseId) {
  return reqs.filter((r) => r.method === 'POST' && /\/invoices$/.test(r.path) &&
    r.body && r.body.metadata && r.body.metadata.tallyId === String(purchaseId));
}
function getsOf(reqs, invoiceId) {
  return reqs.filter((r) => r.method === 'GET' && r.path.endsWith(`/invoices/${invoiceId}`));
}

const settle = (inv, body = {}) => bp('POST', `/_test/invoices/${inv}/settle`, body);
const expire = (inv, body = {}) => bp('POST', `/_test/invoices/${inv}/expire`, body);
const invalidate = (inv, body = {}) => bp('POST', `/_test/invoices/${inv}/invalid`, body);
const standinInvoice = (inv) => bp('GET', `/_test/invoices/${inv}`);

// A delivery's answer from tally, as the stand-in recorded it.
function answer(delivery) {
  assert.equal(delivery.error, null, `delivery ${delivery.deliveryId} failed: ${delivery.error}`);
  let body = null;
  try { body = JSON.parse(delivery.response.body); } catch { body = null; }
  return { status: delivery.response.status, body, text: delivery.response.body };
}

// --- tally

// POST /credits/purchase {package, method: lightning} -> {r, id, invoice}.
async function buy(user, pkg = 'starter', headers = {}) {
  const r = await call('POST', '/credits/purchase', { token: as(user), body: { package: pkg, method: 'lightning' }, headers });
  assert.equal(r.status, 201, r.text);
  const invoice = new URL(r.body.lightning.checkout_url).pathname.split('/').pop();
  return { r, id: r.body.id, invoice };
}

function purchaseRow(id) {
  const rows = sql(`SELECT status, completed_at, provider_ref, method, amount, credits FROM purchases WHERE id = ${Number(id)}`);
  if (rows.length === 0) return null;
  const [status, completed, ref, method, amount, credits] = rows[0];
  return { status, completed_at: completed === 'NULL' ? null : completed, provider_ref: ref, method,
    amount: Number(amount), credits: Number(credits) };
}

function lnStatus(invoice) {
  const rows = sql(`SELECT status FROM lightning_payments WHERE btcpay_invoice = ${sqlStr(invoice)}`);
  return rows.length ? rows[0][0] : null;
}

function webhookSeen(deliveryId) {
  return Number(sql(`SELECT COUNT(*) FROM webhook_events WHERE provider = 'btcpay' AND event_id = ${sqlStr(deliveryId)}`)[0][0]);
}

async function getPurchase(user, id) {
  const r = await call('GET', `/credits/purchase/${id}`, { token: as(user) });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

// The end state of one credited purchase of 500 credits (package starter).
function assertCreditedOnce(user, id, what = '') {
  assert.equal(dbBalance(user), 500, `${what}: balance`);
  assert.equal(ledgerCount(user), 1, `${what}: ledger rows`);
  assert.equal(ledgerCount(user, 'purchase'), 1, `${what}: purchase ledger rows`);
  assert.ok(ledgerMatches(user), `${what}: ledger sum != balance`);
  const p = purchaseRow(id);
  assert.equal(p.status, 'succeeded', `${what}: purchase status`);
  assert.notEqual(p.completed_at, null, `${what}: completed_at`);
}

function assertNotCredited(user, id, status = 'pending', what = '') {
  assert.equal(dbBalance(user), 0, `${what}: balance`);
  assert.equal(ledgerCount(user), 0, `${what}: ledger rows`);
  assert.equal(purchaseRow(id).status, status, `${what}: purchase status`);
}

// POST a webhook straight to tally (bypassing the stand-in's serial queue).
function postHook(raw, signature = sig(raw)) {
  const headers = signature === null ? {} : { 'BTCPay-Sig': signature };
  return call('POST', WEBHOOK, { raw, contentType: 'application/json', headers });
}

// An InvoiceSettled event as BTCPay sends it, for a given invoice.
function settledEvent(invoice, purchaseId, extra = {}) {
  const deliveryId = crypto.randomBytes(16).toString('hex');
  return {
    manuallyMarked: false,
    overPaid: false,
    deliveryId,
    webhookId: 'hand-made',
    originalDeliveryId: deliveryId,
    isRedelivery: false,
    type: 'InvoiceSettled',
    timestamp: Math.floor(Date.now() / 1000),
    storeId: process.env.BTCPAY_STORE_ID,
    invoiceId: invoice,
    metadata: { orderId: `tally-purchase-${purchaseId}`, tallySubject: 'purchase', tallyId: String(purchaseId) },
    ...extra,
  };
}

test.before(async () => {
  await bp('DELETE', '/_test/fail-next');
  await bp('DELETE', '/_test/requests');
});

test.afterEach(async () => {
  await bp('DELETE', '/_test/fail-next');
});

// ---------------------------------------------------------------- purchase

test('purchase: 201 with a BOLT11, the BTCPay invoice asked for 5.00 EUR naming the purchase', async () => {
  const user = newUser('ln');
  const before = Date.now();
  const { r, id, invoice } = await buy(user);
  const b = r.body;
  assert.match(b.id, /^[1-9][0-9]*$/);
  assert.equal(b.package, 'starter');
  assert.equal(b.credits, 500);
  assert.equal(b.amount, 500);
  assert.equal(b.currency, 'EUR');
  assert.equal(b.method, 'lightning');
  assert.equal(b.status, 'pending');
  assert.match(b.created_at, ISO_UTC);
  assert.equal(b.completed_at, undefined);
  assert.equal(b.checkout_url, undefined, 'the card checkout_url is not shown for Lightning');

  const ln = b.lightning;
  assert.deepEqual(Object.keys(ln).sort(), ['bolt11', 'checkout_url', 'expires_at']);
  assert.match(ln.bolt11, /^lnbc/);
  assert.match(ln.checkout_url, /^https?:\/\//);
  assert.match(ln.expires_at, ISO_UTC);
  const exp = Date.parse(ln.expires_at);
  assert.ok(exp > Date.now(), `expires_at ${ln.expires_at} is not in the future`);
  assert.ok(exp <= before + 15 * 60_000 + 2000, `expires_at ${ln.expires_at} is more than invoice_minutes = 15 ahead`);

  // The stand-in's invoice is the one shown.
  const s = await standinInvoice(invoice);
  assert.equal(s.bolt11, ln.bolt11);
  assert.equal(s.invoice.checkoutLink, ln.checkout_url);
  assert.equal(s.invoice.status, 'New');
  assert.equal(s.invoice.amount, '5.00');
  assert.equal(s.invoice.currency, 'EUR');

  // The create request, as BTCPay got it.
  const reqs = await apiRequests();
  const creates = createsFor(reqs, id);
  assert.equal(creates.length, 1, JSON.stringify(creates));
  const c = creates[0];
  assert.equal(c.path, `/api/v1/stores/${process.env.BTCPAY_STORE_ID}/invoices`);
  assert.equal(c.status, 200);
  assert.equal(c.authorization, 'present');
  assert.equal(c.authScheme, 'token');
  assert.equal(c.authValid, true, 'Authorization: token <api key>');
  assert.match(String(c.headers['content-type']), /^application\/json/);
  assert.equal(c.body.amount, '5.00', 'a decimal string from minor units');
  assert.equal(c.body.currency, 'EUR');
  assert.equal(c.body.metadata.orderId, `tally-purchase-${id}`);
  assert.equal(c.body.metadata.tallySubject, 'purchase');
  assert.equal(c.body.metadata.tallyId, String(id));
  assert.equal(c.body.checkout?.expirationMinutes, 15);
  // ... and its payment methods were read for the BOLT11, with the same key.
  const pm = reqs.filter((q) => q.path.endsWith(`/invoices/${invoice}/payment-methods`));
  assert.equal(pm.length, 1);
  assert.equal(pm[0].authValid, true);

  // What tally stored.
  const p = purchaseRow(id);
  assert.deepEqual({ ...p, completed_at: undefined }, { status: 'pending', completed_at: undefined, provider_ref: invoice,
    method: 'lightning', amount: 500, credits: 500 });
  assert.deepEqual(sql(`SELECT subject_type, subject_id, amount, currency, status, bolt11 FROM lightning_payments WHERE btcpay_invoice = ${sqlStr(invoice)}`),
    [['purchase', String(id), '500', 'EUR', 'new', ln.bolt11]]);
  assert.equal(dbBalance(user), 0);
  assert.equal(ledgerCount(user), 0);

  // The purchase list shows it too.
  const list = await call('GET', '/credits/purchases', { token: as(user) });
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.body.purchases.map((x) => [x.id, x.method, x.status]), [[id, 'lightning', 'pending']]);
});

test('package large: amount "18.00" at BTCPay, 2000 credits once settled', async () => {
  const user = newUser('ln');
  const { r, id, invoice } = await buy(user, 'large');
  assert.equal(r.body.amount, 1800);
  assert.equal(r.body.credits, 2000);
  const c = createsFor(await apiRequests(), id);
  assert.equal(c.length, 1);
  assert.equal(c[0].body.amount, '18.00');
  const s = await settle(invoice);
  assert.equal(answer(s.delivery).status, 200);
  assert.equal(dbBalance(user), 2000);
  assert.equal(ledgerCount(user, 'purchase'), 1);
  assert.ok(ledgerMatches(user));
});

test('a retry with the same Idempotency-Key returns the same purchase and BOLT11, no second BTCPay invoice', async () => {
  const user = newUser('ln');
  const key = `idem-${crypto.randomBytes(8).toString('hex')}`;
  const a = await buy(user, 'starter', { 'Idempotency-Key': key });
  const b = await buy(user, 'starter', { 'Idempotency-Key': key });
  assert.equal(b.id, a.id);
  assert.equal(b.r.body.lightning.bolt11, a.r.body.lightning.bolt11);
  assert.equal(createsFor(await apiRequests(), a.id).length, 1);
  assert.equal(Number(sql(`SELECT COUNT(*) FROM purchases p JOIN accounts a ON a.id = p.account_id WHERE a.user_id = ${sqlStr(user)}`)[0][0]), 1);
});

// ---------------------------------------------------------------- settle

test('settle -> webhook 200 -> +500 credits, purchase succeeded, one purchase ledger row', async () => {
  const user = newUser('ln');
  const { id, invoice } = await buy(user);
  await bp('DELETE', '/_test/requests');
  const t0 = Date.now();
  const s = await settle(invoice);
  const a = answer(s.delivery);
  assert.equal(s.delivery.type, 'InvoiceSettled');
  assert.equal(a.status, 200, a.text);
  assert.deepEqual(a.body, { received: true });

  // Never the webhook's word alone: tally read the invoice from BTCPay.
  const gets = getsOf(await apiRequests(), invoice);
  assert.ok(gets.length >= 1, 'tally did not read the invoice from BTCPay before crediting');
  assert.equal(gets[0].authValid, true);

  assertCreditedOnce(user, id, 'after settle');
  assert.equal(lnStatus(invoice), 'settled');
  assert.equal(webhookSeen(s.delivery.deliveryId), 1);

  const bal = await call('GET', '/credits/balance', { token: as(user) });
  assert.deepEqual(bal.body, { balance: 500, currency: 'EUR' });

  const p = await getPurchase(user, id);
  assert.equal(p.status, 'succeeded');
  assert.match(p.completed_at, ISO_UTC);
  assert.ok(Math.abs(Date.parse(p.completed_at) - t0) < 60_000, `completed_at ${p.completed_at}`);
  assert.equal(p.lightning, undefined, 'nothing to pay any more');
  assert.equal(p.checkout_url, undefined);

  const txs = await call('GET', '/credits/transactions', { token: as(user) });
  assert.equal(txs.status, 200, txs.text);
  assert.equal(txs.body.transactions.length, 1);
  assert.equal(txs.body.transactions[0].kind, 'purchase');
  assert.equal(txs.body.transactions[0].amount, 500);
  assert.equal(txs.body.transactions[0].balance_after, 500);
});

test('duplicate delivery (the same bytes and signature again) -> 200, no second credit', async () => {
  const user = newUser('ln');
  const { id, invoice } = await buy(user);
  const s = await settle(invoice);
  assert.equal(answer(s.delivery).status, 200);
  assertCreditedOnce(user, id, 'first delivery');
  await bp('DELETE', '/_test/requests');
  for (let i = 0; i < 2; i++) {
    const again = await bp('POST', `/_test/deliveries/${s.delivery.deliveryId}/resend-same`);
    const a = answer(again.delivery);
    assert.equal(a.status, 200, a.text);
    assert.deepEqual(a.body, { received: true });
  }
  assertCreditedOnce(user, id, 'after duplicates');
  assert.equal(webhookSeen(s.delivery.deliveryId), 1);
  // Deduplicated by deliveryId: acknowledged without doing anything again
  // (not even asking BTCPay).
  assert.equal(getsOf(await apiRequests(), invoice).length, 0, 'a duplicate delivery was processed again');
});

test('redelivery of the same invoice with a new deliveryId -> 200, no second credit', async () => {
  const user = newUser('ln');
  const { id, invoice } = await buy(user);
  const s = await settle(invoice);
  assert.equal(answer(s.delivery).status, 200);
  assertCreditedOnce(user, id, 'first delivery');
  const re = await bp('POST', `/_test/deliveries/${s.delivery.deliveryId}/redeliver`);
  assert.notEqual(re.delivery.deliveryId, s.delivery.deliveryId);
  assert.equal(re.delivery.isRedelivery, true);
  assert.equal(re.delivery.originalDeliveryId, s.delivery.deliveryId);
  const a = answer(re.delivery);
  assert.equal(a.status, 200, a.text);
  assertCreditedOnce(user, id, 'after the redelivery');
  assert.equal(webhookSeen(re.delivery.deliveryId), 1, 'the new delivery id is recorded');
  // A redelivery of the redelivery, and a hand-made one with yet another id.
  const re2 = await bp('POST', `/_test/deliveries/${re.delivery.deliveryId}/redeliver`);
  assert.equal(answer(re2.delivery).status, 200);
  const raw = JSON.stringify(settledEvent(invoice, id));
  const direct = await postHook(raw);
  assert.equal(direct.status, 200, direct.text);
  assertCreditedOnce(user, id, 'after more redeliveries');
});

// ---------------------------------------------------------------- signatures

test('forged, missing, wrong-secret or other-body signatures -> 400 invalid_signature, nothing changes', async () => {
  const user = newUser('ln');
  const { id, invoice } = await buy(user);
  // Settled at BTCPay, webhook not delivered: a delivery that got through
  // would credit, so each refusal below means something.
  const s = await settle(invoice, { deliver: false });
  const full = await bp('GET', `/_test/deliveries/${s.delivery.deliveryId}`);
  const raw = full.raw;
  const other = JSON.stringify(settledEvent(invoice, id));
  const cases = [
    ['forged (random hex)', { signature: `sha256=${crypto.randomBytes(32).toString('hex')}` }],
    ['missing header', { omitSignature: true }],
    ['empty header', { signature: '' }],
    ['signed with another secret', { secret: `not-${SECRET}` }],
    ['signature of another body', { signature: sig(other) }],
    ['no sha256= prefix', { signature: sig(raw).slice(7) }],
    ['truncated', { signature: sig(raw).slice(0, -2) }],
    ['sha1= instead of sha256=', { signature: `sha1=${crypto.createHmac('sha1', SECRET).update(raw).digest('hex')}` }],
  ];
  for (const [what, opts] of cases) {
    const d = await bp('POST', '/_test/send', { body: raw, ...opts });
    const a = answer(d.delivery);
    assert.equal(a.status, 400, `${what}: ${a.status} ${a.text}`);
    assert.equal(a.body?.error, 'invalid_signature', `${what}: ${a.text}`);
    assert.equal(typeof a.body.message, 'string');
    assertNotCredited(user, id, 'pending', what);
    assert.equal(lnStatus(invoice), 'new', what);
  }
  assert.equal(webhookSeen(s.delivery.deliveryId), 0, 'a refused delivery must not be recorded as seen');

  // The body is checked byte for byte: the same JSON re-serialized (another
  // whitespace) under the original signature is refused.
  const compact = JSON.stringify(JSON.parse(raw));
  assert.notEqual(compact, raw);
  const r = await postHook(compact, sig(raw));
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body?.error, 'invalid_signature');
  // Signature checked before parsing: junk with a bad signature is a signature error.
  const junk = await postHook('{not json', 'sha256=00');
  assert.equal(junk.status, 400, junk.text);
  assert.equal(junk.body?.error, 'invalid_signature', junk.text);
  assertNotCredited(user, id, 'pending', 'after all refusals');

  // Control: the very same bytes, correctly signed, credit (so the refusals
  // above were about the signature only).
  const ok = await bp('POST', `/_test/deliveries/${s.delivery.deliveryId}/resend-same`);
  assert.equal(answer(ok.delivery).status, 200);
  assertCreditedOnce(user, id, 'after the genuine delivery');
});

test('signed but not a BTCPay event: junk -> 400 invalid_json; unknown invoice or ignored type -> 200, nothing changes', async () => {
  const junk = '{"this is": not json';
  const r1 = await postHook(junk);
  assert.equal(r1.status, 400, r1.text);
  assert.equal(r1.body?.error, 'invalid_json', r1.text);
  const r2 = await postHook(JSON.stringify({ type: 'InvoiceSettled', invoiceId: 'x' })); // no deliveryId
  assert.equal(r2.status, 400, r2.text);

  const user = newUser('ln');
  const { id, invoice } = await buy(user);
  const unknown = await postHook(JSON.stringify(settledEvent('NoSuchInvoice123', 0)));
  assert.equal(unknown.status, 200, unknown.text);
  // InvoiceCreated / InvoiceReceivedPayment / InvoiceProcessing are not
  // acted upon (the invoice is still New at BTCPay anyway).
  for (const type of ['InvoiceCreated', 'InvoiceReceivedPayment', 'InvoiceProcessing']) {
    const ev = await bp('POST', `/_test/invoices/${invoice}/event`, { type });
    assert.equal(answer(ev.delivery).status, 200, type);
  }
  assertNotCredited(user, id, 'pending', 'after ignored events');
  assert.equal(lnStatus(invoice), 'new');
});

test('a webhook claiming InvoiceSettled for an invoice BTCPay still shows as New is not credited', async () => {
  const user = newUser('ln');
  const { id, invoice } = await buy(user);
  await bp('DELETE', '/_test/requests');
  const raw = JSON.stringify(settledEvent(invoice, id), null, 2);
  const d = await bp('POST', '/_test/send', { body: raw, signature: sig(raw) });
  const a = answer(d.delivery);
  assert.equal(a.status, 200, `a genuine (signed) event is acknowledged: ${a.text}`);
  assert.ok(getsOf(await apiRequests(), invoice).length >= 1, 'tally did not ask BTCPay');
  assertNotCredited(user, id, 'pending', 'lying webhook');
  assert.equal(lnStatus(invoice), 'new');
  assert.equal((await standinInvoice(invoice)).invoice.status, 'New');
  const p = await getPurchase(user, id);
  assert.equal(p.status, 'pending');
  assert.ok(p.lightning, 'still payable');

  // Its deliveryId does not block the real settlement later.
  const s = await settle(invoice);
  assert.equal(answer(s.delivery).status, 200);
  assertCreditedOnce(user, id, 'real settlement');
});

test('the webhook when BTCPay cannot be read -> 5xx (retry later), nothing credited; the retry credits once', async () => {
  const user = newUser('ln');
  const { id, invoice } = await buy(user);
  // The next Greenfield request (tally reading the invoice) fails.
  await bp('POST', '/_test/fail-next', { status: 500 });
  const s = await settle(invoice);
  const a = answer(s.delivery);
  assert.ok(a.status >= 500 && a.status < 600, `want a 5xx so that BTCPay retries, got ${a.status} ${a.text}`);
  assertNotCredited(user, id, 'pending', 'BTCPay unreadable');
  assert.equal(webhookSeen(s.delivery.deliveryId), 0, 'the failed delivery must not count as seen');
  // BTCPay retries the same delivery.
  const again = await bp('POST', `/_test/deliveries/${s.delivery.deliveryId}/resend-same`);
  assert.equal(answer(again.delivery).status, 200);
  assertCreditedOnce(user, id, 'after the retry');
});

// ---------------------------------------------------------------- lost webhooks

test('lost webhook: pending in the DB until GET /credits/purchase/{id} asks BTCPay -> succeeded', async () => {
  const user = newUser('ln');
  const { id, invoice } = await buy(user);
  const s = await settle(invoice, { deliver: false });
  assert.equal(s.delivery.sent, false);
  assert.equal(s.invoice.status, 'Settled');
  await sleep(200);
  assertNotCredited(user, id, 'pending', 'webhook lost');
  assert.equal(lnStatus(invoice), 'new');

  const p = await getPurchase(user, id);
  assert.equal(p.status, 'succeeded');
  assert.match(p.completed_at, ISO_UTC);
  assert.equal(p.lightning, undefined);
  assertCreditedOnce(user, id, 'after GET');
  assert.equal(lnStatus(invoice), 'settled');

  // GET again, then the late webhook: still once.
  await getPurchase(user, id);
  const late = await bp('POST', `/_test/deliveries/${s.delivery.deliveryId}/resend-same`);
  assert.equal(answer(late.delivery).status, 200);
  assertCreditedOnce(user, id, 'after the late webhook');
});

test('GET /credits/purchase/{id} with BTCPay down shows the pending purchase (best effort), then settles later', async () => {
  const user = newUser('ln');
  const { id, invoice, r } = await buy(user);
  await settle(invoice, { deliver: false });
  await bp('POST', '/_test/fail-next', { status: 0 });
  const g = await call('GET', `/credits/purchase/${id}`, { token: as(user) });
  assert.equal(g.status, 200, g.text);
  assert.equal(g.body.status, 'pending');
  assert.equal(g.body.lightning?.bolt11, r.body.lightning.bolt11);
  assertNotCredited(user, id, 'pending', 'BTCPay down');
  const p = await getPurchase(user, id);
  assert.equal(p.status, 'succeeded');
  assertCreditedOnce(user, id, 'BTCPay back');
});

test('lost webhook: the reconcile-lightning job settles it (once), a second run changes nothing', async () => {
  const user = newUser('ln');
  const { id, invoice } = await buy(user);
  // Another pending one that is not paid: the job must leave it alone.
  const idle = newUser('ln');
  const other = await buy(idle);
  await settle(invoice, { deliver: false });
  assertNotCredited(user, id, 'pending', 'webhook lost');

  // Younger than 60 s at "now": left to its webhook.
  const r0 = await runScheduler(new Date());
  assert.equal(r0.jobs['reconcile-lightning']?.error, undefined);
  assertNotCredited(user, id, 'pending', 'job at now (payment too young)');

  const r1 = await runScheduler(isoTime(Date.now() + 120_000));
  const j = r1.jobs['reconcile-lightning'];
  assert.ok(j, `no reconcile-lightning in ${JSON.stringify(r1.jobs)}`);
  assert.ok(j.checked >= 2, JSON.stringify(j));
  assert.ok(j.settled >= 1, JSON.stringify(j));
  assert.equal(j.errors, 0, JSON.stringify(j));
  assertCreditedOnce(user, id, 'after reconcile');
  assert.equal(lnStatus(invoice), 'settled');
  assertNotCredited(idle, other.id, 'pending', 'the unpaid one');
  assert.equal(lnStatus(other.invoice), 'new');

  await runScheduler(isoTime(Date.now() + 180_000));
  assertCreditedOnce(user, id, 'after a second run');
  const p = await getPurchase(user, id);
  assert.equal(p.status, 'succeeded');
  assert.match(p.completed_at, ISO_UTC);
});

test('reconcile-lightning with BTCPay down: counted as an error, nothing changes, the next run settles', async () => {
  const user = newUser('ln');
  const { id, invoice } = await buy(user);
  await settle(invoice, { deliver: false });
  // Enough failures for every open payment this run looks at.
  const open = Number(sql(`SELECT COUNT(*) FROM lightning_payments WHERE status = 'new'`)[0][0]);
  await bp('POST', '/_test/fail-next', { status: 503, count: open + 5 });
  const r1 = await runScheduler(isoTime(Date.now() + 120_000));
  assert.ok(r1.jobs['reconcile-lightning'].errors >= 1, JSON.stringify(r1.jobs['reconcile-lightning']));
  assertNotCredited(user, id, 'pending', 'BTCPay down');
  assert.equal(lnStatus(invoice), 'new');
  await bp('DELETE', '/_test/fail-next');
  await runScheduler(isoTime(Date.now() + 120_000));
  assertCreditedOnce(user, id, 'BTCPay back');
});

test('reconcile-lightning also ends payments whose InvoiceExpired / InvoiceInvalid webhook was lost', async () => {
  const u1 = newUser('ln');
  const u2 = newUser('ln');
  const a = await buy(u1);
  const b = await buy(u2);
  await expire(a.invoice, { deliver: false });
  await invalidate(b.invoice, { deliver: false });
  assert.equal(purchaseRow(a.id).status, 'pending');
  assert.equal(purchaseRow(b.id).status, 'pending');
  const r = await runScheduler(isoTime(Date.now() + 120_000));
  const j = r.jobs['reconcile-lightning'];
  assert.ok(j.expired >= 2, JSON.stringify(j));
  assertNotCredited(u1, a.id, 'expired', 'reconciled expiry');
  assertNotCredited(u2, b.id, 'failed', 'reconciled invalid');
  assert.equal(lnStatus(a.invoice), 'expired');
  assert.equal(lnStatus(b.invoice), 'invalid');
});

test('expire-purchases leaves Lightning purchases to reconcile-lightning: a last-moment payment is credited, not expired', async () => {
  const user = newUser('ln');
  const { id, invoice } = await buy(user);
  // Past its expiry in tally's rows, still New at BTCPay.
  sql(`UPDATE purchases SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 HOUR WHERE id = ${Number(id)}`);
  sql(`UPDATE lightning_payments SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 HOUR WHERE btcpay_invoice = ${sqlStr(invoice)}`);
  await runScheduler(isoTime(Date.now() + 120_000));
  assertNotCredited(user, id, 'pending', 'New at BTCPay');
  // Paid at the last moment, webhook lost.
  await settle(invoice, { deliver: false });
  await runScheduler(isoTime(Date.now() + 180_000));
  assertCreditedOnce(user, id, 'paid at the last moment');
});

test('BTCPay\'s invoice decides the amount: a settled invoice for another amount or currency than tally asked is not credited', async () => {
  // tally's rows are changed to expect 5.01 EUR (purchase and payment
  // alike) resp. 5.00 USD, while BTCPay's invoice is for 5.00 EUR: only a
  // comparison with the invoice read from BTCPay can notice.
  for (const [what, set] of [['amount', 'amount = 501'], ['currency', "currency = 'USD'"]]) {
    const user = newUser('ln');
    const { id, invoice } = await buy(user);
    sql(`UPDATE purchases SET ${set} WHERE id = ${Number(id)}`);
    sql(`UPDATE lightning_payments SET ${set} WHERE btcpay_invoice = ${sqlStr(invoice)}`);
    const s = await settle(invoice);
    assert.equal(answer(s.delivery).status, 200, what);
    assert.equal((await getPurchase(user, id)).status, 'pending', what);
    assertNotCredited(user, id, 'pending', `${what} mismatch`);
    // Out of the way of later scheduler runs.
    sql(`UPDATE lightning_payments SET status = 'invalid' WHERE btcpay_invoice = ${sqlStr(invoice)}`);
    sql(`UPDATE purchases SET status = 'failed' WHERE id = ${Number(id)}`);
  }
});

// ---------------------------------------------------------------- expired / invalid

test('InvoiceExpired -> purchase expired, no credits; GET shows expired without a BOLT11', async () => {
  const user = newUser('ln');
  const { id, invoice } = await buy(user);
  const s = await expire(invoice);
  assert.equal(s.delivery.type, 'InvoiceExpired');
  const a = answer(s.delivery);
  assert.equal(a.status, 200, a.text);
  assertNotCredited(user, id, 'expired', 'expired');
  assert.equal(purchaseRow(id).completed_at, null);
  assert.equal(lnStatus(invoice), 'expired');
  const p = await getPurchase(user, id);
  assert.equal(p.status, 'expired');
  assert.equal(p.lightning, undefined);
  assert.equal(p.completed_at, undefined);
  // Duplicate and redelivery: no change.
  assert.equal(answer((await bp('POST', `/_test/deliveries/${s.delivery.deliveryId}/resend-same`)).delivery).status, 200);
  assert.equal(answer((await bp('POST', `/_test/deliveries/${s.delivery.deliveryId}/redeliver`)).delivery).status, 200);
  assertNotCredited(user, id, 'expired', 'expired, redelivered');
});

test('expired after a partial payment -> expired, not credited', async () => {
  const user = newUser('ln');
  const { id, invoice } = await buy(user);
  const s = await expire(invoice, { partiallyPaid: true });
  assert.equal(answer(s.delivery).status, 200);
  assertNotCredited(user, id, 'expired', 'partially paid');
});

test('lost InvoiceExpired webhook: GET asks BTCPay -> expired', async () => {
  const user = newUser('ln');
  const { id, invoice } = await buy(user);
  await expire(invoice, { deliver: false });
  assert.equal(purchaseRow(id).status, 'pending');
  const p = await getPurchase(user, id);
  assert.equal(p.status, 'expired');
  assertNotCredited(user, id, 'expired', 'expired by GET');
});

test('InvoiceInvalid -> purchase failed, no credits', async () => {
  const user = newUser('ln');
  const { id, invoice } = await buy(user);
  const s = await invalidate(invoice);
  assert.equal(s.delivery.type, 'InvoiceInvalid');
  const a = answer(s.delivery);
  assert.equal(a.status, 200, a.text);
  assertNotCredited(user, id, 'failed', 'invalid');
  assert.equal(lnStatus(invoice), 'invalid');
  const p = await getPurchase(user, id);
  assert.equal(p.status, 'failed');
  assert.equal(p.lightning, undefined);
  assert.equal(answer((await bp('POST', `/_test/deliveries/${s.delivery.deliveryId}/redeliver`)).delivery).status, 200);
  assertNotCredited(user, id, 'failed', 'invalid, redelivered');
});

test('an InvoiceExpired event for an invoice BTCPay shows as New changes nothing', async () => {
  const user = newUser('ln');
  const { id, invoice } = await buy(user);
  for (const type of ['InvoiceExpired', 'InvoiceInvalid']) {
    const raw = JSON.stringify({ ...settledEvent(invoice, id), type, manuallyMarked: undefined, overPaid: undefined });
    const r = await postHook(raw);
    assert.equal(r.status, 200, r.text);
    assert.equal(purchaseRow(id).status, 'pending', type);
    assert.equal(lnStatus(invoice), 'new', type);
  }
});

// ---------------------------------------------------------------- reuse / expiry

test('GET of a pending purchase shows the same BOLT11 again (reused, no second BTCPay invoice)', async () => {
  const user = newUser('ln');
  const { r, id } = await buy(user);
  for (let i = 0; i < 3; i++) {
    const p = await getPurchase(user, id);
    assert.equal(p.status, 'pending');
    assert.deepEqual(p.lightning, r.body.lightning, `GET #${i + 1}`);
    assert.equal(p.checkout_url, undefined);
  }
  assert.equal(createsFor(await apiRequests(), id).length, 1, 'a second invoice was created at BTCPay');
  assert.equal(Number(sql(`SELECT COUNT(*) FROM lightning_payments WHERE subject_type = 'purchase' AND subject_id = ${Number(id)}`)[0][0]), 1);
});

test('once BTCPay\'s clock passes the expiry: the old purchase shows expired, a new purchase gets a new invoice', async () => {
  const user = newUser('ln');
  const a = await buy(user);
  const advance = 16 * 60;
  await bp('POST', '/_test/clock', { advanceSeconds: advance });
  try {
    assert.equal((await standinInvoice(a.invoice)).invoice.status, 'Expired');
    const old = await getPurchase(user, a.id);
    assert.equal(old.status, 'expired');
    assert.equal(old.lightning, undefined);
    assert.equal(lnStatus(a.invoice), 'expired');

    const b = await buy(user);
    assert.notEqual(b.id, a.id);
    assert.notEqual(b.invoice, a.invoice, 'a new BTCPay invoice');
    assert.notEqual(b.r.body.lightning.bolt11, a.r.body.lightning.bolt11);
    assert.ok(Date.parse(b.r.body.lightning.expires_at) > Date.now() + advance * 1000,
      `the new invoice's expiry ${b.r.body.lightning.expires_at} follows BTCPay's clock`);
    assert.equal(createsFor(await apiRequests(), b.id).length, 1);
    assert.equal((await standinInvoice(b.invoice)).invoice.status, 'New');
    const s = await settle(b.invoice);
    assert.equal(answer(s.delivery).status, 200);
    assertCreditedOnce(user, b.id, 'the new purchase');
    assert.equal(purchaseRow(a.id).status, 'expired');
  } finally {
    await bp('POST', '/_test/clock', { advanceSeconds: -advance });
  }
});

test('invalid, then marked settled by the merchant at BTCPay -> credited once, purchase succeeded', async () => {
  const user = newUser('ln');
  const { id, invoice } = await buy(user);
  assert.equal(answer((await invalidate(invoice)).delivery).status, 200);
  assert.equal(purchaseRow(id).status, 'failed');
  const s = await settle(invoice, { manuallyMarked: true });
  assert.equal(s.invoice.additionalStatus, 'Marked');
  assert.equal(answer(s.delivery).status, 200);
  assertCreditedOnce(user, id, 'marked settled');
  assert.equal(answer((await bp('POST', `/_test/deliveries/${s.delivery.deliveryId}/redeliver`)).delivery).status, 200);
  assertCreditedOnce(user, id, 'marked settled, redelivered');
});

test('paid late (settled after it expired) -> credited once', async () => {
  const user = newUser('ln');
  const { id, invoice } = await buy(user);
  assert.equal(answer((await expire(invoice)).delivery).status, 200);
  assert.equal(purchaseRow(id).status, 'expired');
  const s = await settle(invoice);
  assert.equal(s.invoice.additionalStatus, 'PaidLate');
  assert.equal(answer(s.delivery).status, 200);
  assertCreditedOnce(user, id, 'paid late');
});

// ---------------------------------------------------------------- provider failures

for (const [what, rule] of [
  ['HTTP 500', { status: 500 }],
  ['dropped connection', { status: 0 }],
  ['HTTP 401 (bad API key)', { status: 401 }],
  ['HTTP 422', { status: 422 }],
  ['HTTP 502 with an HTML body', { status: 502, body: '<html>Bad gateway</html>' }],
]) {
  test(`BTCPay ${what} on purchase -> 502 provider_error, no purchase row left`, async () => {
    const user = newUser('ln');
    await call('GET', '/credits/balance', { token: as(user) });
    await bp('POST', '/_test/fail-next', rule);
    const r = await call('POST', '/credits/purchase', { token: as(user), body: { package: 'starter', method: 'lightning' } });
    assert.equal(r.status, 502, r.text);
    assert.match(String(r.headers.get('content-type')), /application\/json/);
    assert.equal(r.body?.error, 'provider_error', r.text);
    assert.equal(typeof r.body.message, 'string');
    const acct = `(SELECT id FROM accounts WHERE user_id = ${sqlStr(user)})`;
    assert.equal(Number(sql(`SELECT COUNT(*) FROM purchases WHERE account_id = ${acct}`)[0][0]), 0, 'half-done purchase row');
    assert.equal(Number(sql(`SELECT COUNT(*) FROM lightning_payments WHERE account_id = ${acct}`)[0][0]), 0);
    const list = await call('GET', '/credits/purchases', { token: as(user) });
    assert.deepEqual(list.body.purchases, []);
    assert.equal(dbBalance(user), 0);
    // BTCPay back: the next call works.
    const ok = await buy(user);
    assert.equal(ok.r.body.status, 'pending');
  });
}

test('a purchase that got 502 can be retried with the same Idempotency-Key (the 502 is not replayed)', async () => {
  const user = newUser('ln');
  const key = `idem-${crypto.randomBytes(8).toString('hex')}`;
  await bp('POST', '/_test/fail-next', { status: 500 });
  const body = { package: 'starter', method: 'lightning' };
  const r1 = await call('POST', '/credits/purchase', { token: as(user), body, headers: { 'Idempotency-Key': key } });
  assert.equal(r1.status, 502, r1.text);
  const r2 = await call('POST', '/credits/purchase', { token: as(user), body, headers: { 'Idempotency-Key': key } });
  assert.equal(r2.status, 201, `"nothing was charged, try again" with the same key: ${r2.status} ${r2.text}`);
  assert.match(r2.body.lightning.bolt11, /^lnbc/);
});

// ---------------------------------------------------------------- other users

test('a Lightning purchase of another user -> 404, and BTCPay is not asked about it', async () => {
  const owner = newUser('ln');
  const intruder = newUser('ln');
  const { id, invoice } = await buy(owner);
  await settle(invoice, { deliver: false });
  await bp('DELETE', '/_test/requests');
  const r = await call('GET', `/credits/purchase/${id}`, { token: as(intruder) });
  assert.equal(r.status, 404, r.text);
  assert.equal(r.body?.error, 'not_found');
  assert.ok(!r.text.includes(invoice), 'the answer leaks the BTCPay invoice');
  assert.equal(getsOf(await apiRequests(), invoice).length, 0);
  assertNotCredited(owner, id, 'pending', 'intruder GET');
  assert.equal(dbBalance(intruder), 0);
  const list = await call('GET', '/credits/purchases', { token: as(intruder) });
  assert.deepEqual(list.body.purchases, []);
  // Unauthenticated: 401.
  const anon = await call('GET', `/credits/purchase/${id}`);
  assert.equal(anon.status, 401, anon.text);
  // The owner still gets it (and the refresh settles it).
  assert.equal((await getPurchase(owner, id)).status, 'succeeded');
  assertCreditedOnce(owner, id, 'owner');
});

// ---------------------------------------------------------------- concurrency

test('two redeliveries of the same invoice at the same time -> exactly one credit', async () => {
  const user = newUser('ln');
  const { id, invoice } = await buy(user);
  const s = await settle(invoice, { deliver: false });
  const rs = await Promise.all([
    bp('POST', `/_test/deliveries/${s.delivery.deliveryId}/redeliver`),
    bp('POST', `/_test/deliveries/${s.delivery.deliveryId}/redeliver`),
  ]);
  for (const x of rs) assert.equal(answer(x.delivery).status, 200, answer(x.delivery).text);
  assertCreditedOnce(user, id, 'parallel redeliveries');
});

test('many webhooks (new and repeated deliveryIds) and GETs at once, straight to tally -> exactly one credit', async () => {
  // The stand-in sends its deliveries one by one; these go in parallel.
  const user = newUser('ln');
  const { id, invoice } = await buy(user);
  await settle(invoice, { deliver: false });
  const bodies = Array.from({ length: 4 }, () => JSON.stringify(settledEvent(invoice, id, { isRedelivery: true })));
  const jobs = [];
  for (const raw of bodies) jobs.push(postHook(raw), postHook(raw));
  for (let i = 0; i < 3; i++) jobs.push(call('GET', `/credits/purchase/${id}`, { token: as(user) }));
  const rs = await Promise.all(jobs);
  assert.deepEqual(statusCounts(rs), { 200: rs.length }, rs.filter((r) => r.status !== 200).map((r) => r.text).join('\n'));
  assertCreditedOnce(user, id, 'parallel');
  for (const raw of bodies) assert.equal(webhookSeen(JSON.parse(raw).deliveryId), 1);
});

test('parallel purchases of one user each get their own BTCPay invoice', async () => {
  const user = newUser('ln');
  const rs = await Promise.all(Array.from({ length: 4 }, () =>
    call('POST', '/credits/purchase', { token: as(user), body: { package: 'starter', method: 'lightning' } })));
  for (const r of rs) assert.equal(r.status, 201, r.text);
  const invoices = new Set(rs.map((r) => r.body.lightning.checkout_url));
  assert.equal(invoices.size, 4);
  const ids = new Set(rs.map((r) => r.body.id));
  assert.equal(ids.size, 4);
  // Settle two of them: 1000 credits.
  for (const r of rs.slice(0, 2)) {
    const inv = new URL(r.body.lightning.checkout_url).pathname.split('/').pop();
    assert.equal(answer((await settle(inv)).delivery).status, 200);
  }
  assert.equal(dbBalance(user), 1000);
  assert.equal(ledgerCount(user, 'purchase'), 2);
  assert.ok(ledgerMatches(user));
});

// ---------------------------------------------------------------- reconcile volume (last: parks its rows)

test('reconcile-lightning looks at up to 500 open payments per tick, not only the oldest 100', async () => {
  // job_reconcile_lightning asks op_ln_reconcile for RECONCILE_PER_TICK =
  // 500 ("at most max"); a lost webhook behind 100 older open payments must
  // still be found in one tick.
  const crowd = newUser('ln-crowd');
  const crowdAcct = `(SELECT id FROM accounts WHERE user_id = ${sqlStr(crowd)})`;
  try {
    for (let i = 0; i < 10; i++)
      await Promise.all(Array.from({ length: 10 }, () => buy(crowd)));
    await sleep(1100); // created_at has whole seconds: the next one is strictly newer
    const user = newUser('ln');
    const { id, invoice } = await buy(user);
    await settle(invoice, { deliver: false });
    const open = Number(sql(`SELECT COUNT(*) FROM lightning_payments WHERE status = 'new'`)[0][0]);
    assert.ok(open > 100 && open <= 500, `open payments: ${open}`);
    const r = await runScheduler(isoTime(Date.now() + 120_000));
    const j = r.jobs['reconcile-lightning'];
    assert.equal(j.errors, 0, JSON.stringify(j));
    assert.equal(j.checked, open, `all ${open} open payments are checked in one tick: ${JSON.stringify(j)}`);
    assertCreditedOnce(user, id, 'a lost webhook behind 100 older open payments');
  } finally {
    sql(`UPDATE lightning_payments SET status = 'expired' WHERE account_id = ${crowdAcct}`);
    sql(`UPDATE purchases SET status = 'expired' WHERE account_id = ${crowdAcct}`);
  }
});
