// Invoice subscriptions (billing model 2, product `pro`: monthly 2900,
// renewal_lead_hours 72, invoice_ttl_hours 48): the first invoice on
// activation, paying it by credits (or 402, nothing changed), by card
// (Checkout at the Stripe stand-in, or the saved card), by Lightning (the
// BTCPay stand-in), reissue after expiry, admin mark-paid with its audit
// row, per-account gap-free numbering, the 72 h renewal flow with
// `--now`, expiry without payment, concurrent schedulers, and another
// user's invoice.
//
// Times: scheduler runs use `--now` in 2031 so that only what a test moved
// there is due; each test parks its subscriptions afterwards so that later
// runs leave them alone.  API calls run at the real time.
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  URL_BASE, call, token, newUser, fund, sql, sqlStr, dbBalance, ledgerCount, ledgerMatches, ISO_UTC,
  subRow, parkSubs, runScheduler, spawnScheduler, sqlTime, addMonthsIso, mailbox, statusCounts, lastSegment, standin
} from './lib.mjs';

const PRO = 'pro';
const PRICE = 2900;
const STRIPE = process.env.STRIPE_STANDIN_URL;
const BTCPAY = process.env.BTCPAY_STANDIN_URL;
const HOUR = 3600 * 1000;

const emailOf = (user) => `${user}@example.com`;
const as = (user) => token({ sub: user, email: emailOf(user) });
const year = () => new Date().getUTCFullYear();
const numberOf = (y, seq) => `TLY-${y}-${String(seq).padStart(6, '0')}`;
const park = (...users) => parkSubs(`a.user_id IN (${users.map(sqlStr).join(', ')})`);

// --- the stand-ins' control APIs

const stripe = (method, path, body) => standin(STRIPE, method, path, body);
const btcpay = (method, path, body) => standin(BTCPAY, method, path, body);

// A user with a visa card saved through Checkout in setup mode:
// { user, customer, pm }.
async function userWithCard(prefix) {
  const user = newUser(prefix);
  const r = await call('POST', '/billing/card-setup', { token: as(user) });
  assert.equal(r.status, 200, r.text);
  const done = await stripe('POST', `/_test/checkout/${lastSegment(r.body.checkout_url)}/complete`, { card: 'visa' });
  for (const d of done.deliveries) assert.equal(d.status, 200, `${d.type}: ${d.body}`);
  const pm = await call('GET', '/billing/payment-methods', { token: as(user) });
  assert.equal(pm.status, 200, pm.text);
  assert.equal(pm.body.card?.last4, '4242', 'the card is saved');
  return { user, customer: done.session.customer, pm: done.payment_method.id };
}

// --- tally

// Activate pro: 201 pending_activation with the invoice to pay.
async function activate(user) {
  const r = await call('POST', `/subscriptions/${PRO}/activate`, { token: as(user), body: { interval: 'monthly' } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.status, 'pending_activation');
  assert.ok(r.body.invoice, 'the first invoice comes with the subscription');
  return { sub: r.body, inv: r.body.invoice };
}
async function getInvoice(user, id) {
  const r = await call('GET', `/invoices/${id}`, { token: as(user) });
  assert.equal(r.status, 200, r.text);
  return r.body;
}
const pay = (user, id, body) => call('POST', `/invoices/${id}/pay`, { token: as(user), body });
const reissue = (user, id) => call('POST', `/invoices/${id}/reissue`, { token: as(user) });
const markPaid = (id, body, headers = {}) => call('POST', `/admin/invoices/${id}/mark-paid`, { admin: true, body, headers });

async function entitlement(user) {
  const r = await call('GET', '/entitlements', { token: as(user) });
  assert.equal(r.status, 200, r.text);
  return r.body.entitlements.find((e) => e.product === PRO);
}
async function internalStatus(user) {
  const r = await call('GET', `/internal/subscriptions/${PRO}/status/${encodeURIComponent(user)}`, { service: true });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

// The account's invoices as stored, oldest first.
function invoiceRows(user) {
  const cols = ['id', 'seq', 'number', 'status', 'kind', 'total', 'paid_via', 'cycle_key', 'period_start', 'period_end',
    'expires_at', 'subscription_id'];
  return sql(`SELECT ${cols.map((c) => `i.${c}`).join(', ')} FROM invoices i JOIN accounts a ON a.id = i.account_id
    WHERE a.user_id = ${sqlStr(user)} ORDER BY i.seq`)
    .map((r) => Object.fromEntries(cols.map((c, i) => [c, r[i] === 'NULL' ? null : r[i]])));
}
function invoiceSeq(user) {
  return Number(sql(`SELECT invoice_seq FROM accounts WHERE user_id = ${sqlStr(user)}`)[0][0]);
}
// Per account: seq 1..n without gaps, invoice_seq = n, every number made
// of its seq, and every total the sum of its items.
function assertNumbering(user, years) {
  const rows = invoiceRows(user);
  assert.deepEqual(rows.map((r) => Number(r.seq)), rows.map((_, i) => i + 1), 'seq 1..n, no gap');
  assert.equal(invoiceSeq(user), rows.length, 'accounts.invoice_seq is the last number taken');
  rows.forEach((r, i) => assert.equal(r.number, numberOf(years[i], i + 1)));
  for (const r of rows) assert.equal(itemsSum(r.id), Number(r.total), `invoice ${r.number}: total = sum of items`);
  return rows;
}
function itemsSum(invoiceId) {
  return Number(sql(`SELECT COALESCE(SUM(amount), 0) FROM invoice_items WHERE invoice_id = ${Number(invoiceId)}`)[0][0]);
}
function payments(user) {
  const cols = ['reference', 'method', 'amount', 'currency', 'status', 'provider_ref', 'message'];
  return sql(`SELECT ${cols.map((c) => `p.${c}`).join(', ')} FROM payments p JOIN accounts a ON a.id = p.account_id
    WHERE a.user_id = ${sqlStr(user)} ORDER BY p.id`)
    .map((r) => Object.fromEntries(cols.map((c, i) => [c, r[i] === 'NULL' ? null : r[i]])));
}
function outbox(user, template) {
  return sql(`SELECT o.dedupe_key, o.status FROM outbox o WHERE o.recipient = ${sqlStr(emailOf(user))}
    AND o.template = ${sqlStr(template)} ORDER BY o.id`).map(([key, status]) => ({ key, status }));
}
// Move an active pro subscription to a run anchored at `start`, its
// current period [start, start + 1 month); never charged from credits.
function moveProPeriod(user, start) {
  sql(`UPDATE subscriptions s JOIN accounts a ON a.id = s.account_id SET s.anchor_at = ${sqlTime(start)},
    s.end_months = 1, s.current_period_start = ${sqlTime(start)},
    s.current_period_end = ${sqlTime(addMonthsIso(start, 1))}, s.next_charge_at = NULL
    WHERE a.user_id = ${sqlStr(user)} AND s.product = ${sqlStr(PRO)}`);
  return subRow(user, PRO);
}
const near = (iso, ms, slack = 120000) => Math.abs(Date.parse(iso) - ms) <= slack;

// An active pro subscriber (first invoice paid with credits): { user, inv }.
async function subscriber(prefix) {
  const user = newUser(prefix);
  const { inv } = await activate(user);
  await fund(user, PRICE);
  const r = await pay(user, inv.id, { method: 'credits' });
  assert.equal(r.status, 200, r.text);
  assert.equal(subRow(user, PRO).status, 'active');
  return { user, inv: r.body };
}

// ------------------------------------------------------------ activation

test('activating pro answers 201 pending_activation with its first invoice; again: the same invoice', async (t) => {
  const user = newUser('inv-act');
  t.after(() => park(user));
  const before = Date.now();
  const { sub, inv } = await activate(user);

  assert.equal(sub.product, PRO);
  assert.equal(sub.interval, 'monthly');
  assert.equal(sub.price, PRICE);
  assert.match(inv.id, /^\d+$/, 'ids are decimal strings');
  assert.equal(inv.number, numberOf(year(), 1), 'the account\'s first number');
  assert.equal(inv.status, 'pending');
  assert.equal(inv.currency, 'EUR');
  assert.equal(inv.total, PRICE);
  for (const k of ['period_start', 'period_end', 'expires_at']) assert.match(inv[k], ISO_UTC, k);
  assert.equal(inv.period_end, addMonthsIso(inv.period_start, 1), 'one calendar month');
  assert.ok(near(inv.expires_at, before + 48 * HOUR), `expires 48 h from now: ${inv.expires_at}`);
  assert.equal(inv.paid_at, undefined);
  assert.equal(inv.items.length, 1);
  assert.equal(inv.items[0].amount, PRICE);
  assert.match(inv.items[0].description, /Pro/);
  assert.match(inv.items[0].description, /monthly/);

  // The list (newest first) and the invoice with its items.
  const list = await call('GET', '/invoices', { token: as(user) });
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.body.invoices.map((i) => i.id), [inv.id]);
  const one = await getInvoice(user, inv.id);
  assert.deepEqual(one.items, inv.items);
  assert.equal(one.total, one.items.reduce((s, i) => s + i.amount, 0));

  // Not entitled until it is paid.
  assert.deepEqual(await entitlement(user), { product: PRO, active: false, until: null });
  const st = await internalStatus(user);
  assert.equal(st.active, false);
  assert.equal(st.status, 'pending_activation');

  // Activating again while the invoice can be paid: that invoice again.
  const again = await activate(user);
  assert.equal(again.inv.id, inv.id);
  assert.equal(again.inv.number, inv.number);
  assert.equal(invoiceRows(user).length, 1, 'no second invoice');
  assert.equal(invoiceSeq(user), 1, 'no number taken');
  assert.equal(invoiceRows(user)[0].kind, 'subscription');
});

// ------------------------------------------------------------ credits

test('pay with credits: 402 without enough changes nothing; then one debit and paid in one go; again 409', async (t) => {
  const user = newUser('inv-cred');
  t.after(() => park(user));
  const { inv } = await activate(user);
  await fund(user, PRICE - 1);

  const short = await pay(user, inv.id, { method: 'credits' });
  assert.equal(short.status, 402, short.text);
  assert.equal(short.body.error, 'insufficient_credits');
  assert.equal(dbBalance(user), PRICE - 1, 'nothing debited');
  assert.equal(ledgerCount(user, 'invoice_payment'), 0);
  assert.equal((await getInvoice(user, inv.id)).status, 'pending');
  assert.equal(subRow(user, PRO).status, 'pending_activation');

  await fund(user, 1);
  const before = Date.now();
  const r = await pay(user, inv.id, { method: 'credits' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.id, inv.id);
  assert.equal(r.body.status, 'paid');
  assert.equal(r.body.paid_via, 'credits');
  assert.match(r.body.paid_at, ISO_UTC);
  assert.ok(near(r.body.paid_at, before, 60000));
  assert.equal(r.body.items.length, 1);
  assert.equal(dbBalance(user), 0);
  const rows = sql(`SELECT l.amount, l.kind FROM ledger l JOIN accounts a ON a.id = l.account_id
    WHERE a.user_id = ${sqlStr(user)} AND l.kind = 'invoice_payment'`);
  assert.deepEqual(rows, [[String(-PRICE), 'invoice_payment']], 'one ledger row for the payment');
  assert.ok(ledgerMatches(user));

  // Paying starts the period, from the payment.
  const sub = await call('GET', `/subscriptions/${PRO}`, { token: as(user) });
  assert.equal(sub.body.status, 'active');
  assert.equal(sub.body.current_period_start, r.body.paid_at);
  assert.equal(sub.body.current_period_end, addMonthsIso(r.body.paid_at, 1));
  assert.equal(sub.body.next_charge_at, undefined, 'never charged from credits by itself');
  assert.deepEqual(await entitlement(user), { product: PRO, active: true, until: sub.body.current_period_end });
  const st = await internalStatus(user);
  assert.equal(st.active, true);
  assert.equal(st.until, sub.body.current_period_end);

  // Paid is paid: every method answers 409 and nothing moves.
  await fund(user, PRICE);
  for (const method of ['credits', 'card', 'lightning']) {
    const again = await pay(user, inv.id, { method });
    assert.equal(again.status, 409, `${method}: ${again.text}`);
    assert.equal(again.body.error, 'conflict');
  }
  assert.equal(dbBalance(user), PRICE);
  assert.equal(ledgerCount(user, 'invoice_payment'), 1);
});

test('concurrent credit payments of one invoice: one 200, the rest 409, debited once', async (t) => {
  const user = newUser('inv-race');
  t.after(() => park(user));
  const { inv } = await activate(user);
  await fund(user, PRICE * 3);
  const rs = await Promise.all(Array.from({ length: 6 }, () => pay(user, inv.id, { method: 'credits' })));
  assert.deepEqual(statusCounts(rs), { 200: 1, 409: 5 }, rs.map((r) => `${r.status} ${r.text}`).join('\n'));
  assert.equal(dbBalance(user), PRICE * 2);
  assert.equal(ledgerCount(user, 'invoice_payment'), 1);
  assert.ok(ledgerMatches(user));
});

// ------------------------------------------------------------ card

test('card: checkout_url; completing the session at the Stripe stand-in pays the invoice', async (t) => {
  const user = newUser('inv-card');
  t.after(() => park(user));
  const { inv } = await activate(user);

  const bad = await pay(user, inv.id, { method: 'card', use_saved_card: 'yes' });
  assert.equal(bad.status, 400, bad.text);
  assert.equal(bad.body.field, 'use_saved_card');
  const none = await pay(user, inv.id, { method: 'card', use_saved_card: true });
  assert.equal(none.status, 400, `no card saved: ${none.text}`);
  assert.equal(none.body.field, 'use_saved_card');

  const r = await pay(user, inv.id, { method: 'card' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.body), ['checkout_url']);
  const sid = lastSegment(r.body.checkout_url);
  const session = await stripe('GET', `/_test/objects/${sid}`);
  assert.equal(session.mode, 'payment');
  assert.equal(session.amount_total, PRICE);
  assert.equal(session.currency, 'eur');
  assert.equal(session.metadata.invoice_id, inv.id);
  assert.equal((await getInvoice(user, inv.id)).status, 'pending', 'nothing paid before the money arrives');

  const done = await stripe('POST', `/_test/checkout/${sid}/complete`, {});
  for (const d of done.deliveries) assert.equal(d.status, 200, `${d.type}: ${d.body}`);
  const paid = await getInvoice(user, inv.id);
  assert.equal(paid.status, 'paid');
  assert.equal(paid.paid_via, 'card');
  assert.match(paid.paid_at, ISO_UTC);
  assert.equal(subRow(user, PRO).status, 'active');
  assert.equal((await entitlement(user)).active, true);
  assert.equal(ledgerCount(user, 'invoice_payment'), 0, 'a card payment does not touch the wallet');

  // The events again (a redelivery) change nothing.
  assert.ok(done.deliveries.length >= 1);
  for (const d of done.deliveries) {
    const x = await stripe('POST', `/_test/events/${d.event_id}/resend`, {});
    assert.equal(x.status, 200, `${x.type}: ${x.body}`);
  }
  assert.equal((await getInvoice(user, inv.id)).paid_at, paid.paid_at);
  const again = await pay(user, inv.id, { method: 'card' });
  assert.equal(again.status, 409, again.text);
});

test('saved card: a decline answers 402 and leaves the invoice pending; a good card pays at once', async (t) => {
  const declined = await userWithCard('inv-decl');
  const good = await userWithCard('inv-good');
  t.after(() => park(declined.user, good.user));

  const a = await activate(declined.user);
  await stripe('POST', '/_test/outcome', { customer: declined.customer, outcome: 'decline',
    decline_code: 'insufficient_funds', times: 1 });
  const r = await pay(declined.user, a.inv.id, { method: 'card', use_saved_card: true });
  assert.equal(r.status, 402, r.text);
  assert.equal((await getInvoice(declined.user, a.inv.id)).status, 'pending');
  assert.equal(subRow(declined.user, PRO).status, 'pending_activation');
  const p = payments(declined.user);
  assert.equal(p.length, 1, 'the attempt is recorded');
  assert.equal(p[0].method, 'card');
  assert.equal(p[0].status, 'declined');
  assert.equal(Number(p[0].amount), PRICE);
  assert.match(p[0].reference, new RegExp(`^tally-invoice-${a.inv.id}-card`));
  assert.match(p[0].message, /insufficient funds/);

  const b = await activate(good.user);
  const ok = await pay(good.user, b.inv.id, { method: 'card', use_saved_card: true });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.status, 'paid');
  assert.equal(ok.body.paid_via, 'card');
  assert.equal(subRow(good.user, PRO).status, 'active');
  const q = payments(good.user);
  assert.equal(q.length, 1);
  assert.equal(q[0].status, 'succeeded');
  assert.match(q[0].provider_ref, /^pi_/);
  // Stripe was asked once, off-session, for the invoice's total.
  const reqs = (await stripe('GET', '/_test/requests?method=POST&path=/v1/payment_intents'))
    .filter((x) => x.idempotency_key === q[0].reference);
  assert.equal(reqs.length, 1);
  const form = new URLSearchParams(reqs[0].raw);
  assert.equal(form.get('amount'), String(PRICE));
  assert.equal(form.get('customer'), good.customer);
  assert.equal(form.get('off_session'), 'true');
});

test('saved card: a long non-ASCII decline message is still a 402, recorded as declined (never a 500)', async (t) => {
  const c = await userWithCard('inv-utf8');
  t.after(() => park(c.user));
  const { inv } = await activate(c.user);
  // "card_declined: " + "x" + 300 "é": cut at 511 bytes inside an "é".
  await stripe('POST', '/_test/outcome', { customer: c.customer, outcome: 'decline', message: `x${'é'.repeat(300)}`,
    times: 1 });
  const r = await pay(c.user, inv.id, { method: 'card', use_saved_card: true });
  assert.equal(r.status, 402, r.text);
  assert.equal(r.body.error, 'payment_failed');
  const p = payments(c.user);
  assert.deepEqual(p.map((x) => [x.method, x.status]), [['card', 'declined']]);
  assert.equal((await getInvoice(c.user, inv.id)).status, 'pending');
});

// ------------------------------------------------------------ Lightning

test('lightning: bolt11 + checkout_url; settling the BTCPay invoice pays the invoice', async (t) => {
  const user = newUser('inv-ln');
  t.after(() => park(user));
  const { inv } = await activate(user);
  const r = await pay(user, inv.id, { method: 'lightning' });
  assert.equal(r.status, 200, r.text);
  assert.match(r.body.bolt11, /^ln/i);
  assert.match(r.body.checkout_url, /^https?:\/\//);
  assert.match(r.body.expires_at, ISO_UTC);
  const bt = lastSegment(r.body.checkout_url);
  const at = await btcpay('GET', `/_test/invoices/${bt}`);
  assert.equal(Number(at.invoice.amount), PRICE / 100, 'BTCPay is asked for 29.00');
  assert.equal(at.invoice.currency, 'EUR');

  // Asking again while it is payable: the same BOLT11.
  const again = await pay(user, inv.id, { method: 'lightning' });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.body.bolt11, r.body.bolt11);

  await btcpay('POST', `/_test/invoices/${bt}/settle`, {});
  const paid = await getInvoice(user, inv.id);
  assert.equal(paid.status, 'paid');
  assert.equal(paid.paid_via, 'lightning');
  assert.equal(subRow(user, PRO).status, 'active');
  assert.equal((await entitlement(user)).active, true);
  const after = await pay(user, inv.id, { method: 'lightning' });
  assert.equal(after.status, 409, after.text);
});

test('lightning: an expired BTCPay invoice is replaced by a new one on the next pay call', async (t) => {
  const user = newUser('inv-lnx');
  t.after(() => park(user));
  const { inv } = await activate(user);
  const first = await pay(user, inv.id, { method: 'lightning' });
  assert.equal(first.status, 200, first.text);
  const bt1 = lastSegment(first.body.checkout_url);
  // BTCPay lets it expire (and says so): the tally invoice stays payable.
  await btcpay('POST', `/_test/invoices/${bt1}/expire`, {});
  assert.equal((await getInvoice(user, inv.id)).status, 'pending');
  const second = await pay(user, inv.id, { method: 'lightning' });
  assert.equal(second.status, 200, second.text);
  const bt2 = lastSegment(second.body.checkout_url);
  assert.notEqual(bt2, bt1, 'a new BTCPay invoice');
  assert.notEqual(second.body.bolt11, first.body.bolt11);
  // The same happens when the webhook was lost: tally asks BTCPay first.
  await btcpay('POST', `/_test/invoices/${bt2}/expire`, { deliver: false });
  const third = await pay(user, inv.id, { method: 'lightning' });
  assert.equal(third.status, 200, third.text);
  assert.notEqual(lastSegment(third.body.checkout_url), bt2);
  // Paying the newest one pays the invoice.
  await btcpay('POST', `/_test/invoices/${lastSegment(third.body.checkout_url)}/settle`, {});
  assert.equal((await getInvoice(user, inv.id)).status, 'paid');
});

// ------------------------------------------------------------ reissue

test('reissue: only an expired invoice; the expired one answers 409 and points to reissue; 201 once', async (t) => {
  const user = newUser('inv-reissue');
  t.after(() => park(user));
  const { inv } = await activate(user);

  const early = await reissue(user, inv.id);
  assert.equal(early.status, 409, `a pending invoice is not reissued: ${early.text}`);

  // The scheduler expires it (48 h after it was issued).
  await runScheduler('2031-01-05T00:00:00Z');
  const old = await getInvoice(user, inv.id);
  assert.equal(old.status, 'expired');
  assert.equal(subRow(user, PRO).status, 'pending_activation', 'still waiting for its first payment');
  await fund(user, PRICE);
  for (const method of ['credits', 'card', 'lightning']) {
    const r = await pay(user, inv.id, { method });
    assert.equal(r.status, 409, `${method}: ${r.text}`);
    assert.equal(r.body.error, 'conflict');
    assert.match(r.body.message, /expired/);
    assert.match(r.body.message, /reissue/, 'tells them to request a new one');
  }
  assert.equal(dbBalance(user), PRICE, 'nothing debited');

  const before = Date.now();
  const r = await reissue(user, inv.id);
  assert.equal(r.status, 201, r.text);
  const fresh = r.body;
  assert.notEqual(fresh.id, inv.id);
  assert.equal(fresh.number, numberOf(year(), 2));
  assert.equal(fresh.status, 'pending');
  assert.equal(fresh.total, inv.total);
  assert.deepEqual(fresh.items, old.items, 'the same items');
  assert.equal(fresh.period_start, old.period_start);
  assert.equal(fresh.period_end, old.period_end);
  assert.ok(near(fresh.expires_at, before + 48 * HOUR), fresh.expires_at);

  // Again, and several at once: that same invoice, no number taken.
  const more = await Promise.all(Array.from({ length: 4 }, () => reissue(user, inv.id)));
  for (const m of more) {
    assert.equal(m.status, 201, m.text);
    assert.equal(m.body.id, fresh.id);
  }
  assert.equal(invoiceRows(user).length, 2);
  assert.equal((await getInvoice(user, inv.id)).status, 'expired', 'the old one stays expired');

  const p = await pay(user, fresh.id, { method: 'credits' });
  assert.equal(p.status, 200, p.text);
  assert.equal(subRow(user, PRO).status, 'active');
  const paidAgain = await reissue(user, fresh.id);
  assert.equal(paidAgain.status, 409, `a paid invoice is not reissued: ${paidAgain.text}`);
  assertNumbering(user, [year(), year()]);
});

// ------------------------------------------------------------ invoice_id

test('a pending_activation subscription names the invoice that activates it (reissued: the new one); active: none', async (t) => {
  const user = newUser('inv-subid');
  t.after(() => park(user));
  const mine = async () => {
    const one = await call('GET', `/subscriptions/${PRO}`, { token: as(user) });
    assert.equal(one.status, 200, one.text);
    const all = await call('GET', '/subscriptions', { token: as(user) });
    assert.equal(all.status, 200, all.text);
    assert.deepEqual(all.body.subscriptions.find((s) => s.product === PRO), one.body, 'the list says the same');
    return one.body;
  };
  const { sub, inv } = await activate(user);
  assert.equal(sub.invoice_id, inv.id, 'the activation answer names its invoice');
  assert.equal((await mine()).invoice_id, inv.id);
  assert.equal((await internalStatus(user)).invoice_id, undefined, 'the status route is left as it was');

  // The first invoice expires and is reissued: the new one activates it.
  await runScheduler('2031-01-05T00:00:00Z');
  assert.equal((await getInvoice(user, inv.id)).status, 'expired');
  assert.equal((await mine()).invoice_id, inv.id, 'the expired one, which offers the reissue');
  const re = await reissue(user, inv.id);
  assert.equal(re.status, 201, re.text);
  assert.equal((await mine()).invoice_id, re.body.id);

  // Given up and started again: a new run, a new first invoice.
  const d = await call('POST', `/subscriptions/${PRO}/deactivate`, { token: as(user) });
  assert.equal(d.status, 200, d.text);
  assert.equal(d.body.status, 'canceled');
  assert.equal(d.body.invoice_id, undefined);
  assert.equal((await mine()).invoice_id, undefined, 'not pending: no invoice_id');
  const again = await activate(user);
  assert.notEqual(again.inv.id, re.body.id);
  assert.equal(again.sub.invoice_id, again.inv.id);
  assert.equal((await mine()).invoice_id, again.inv.id);

  // Paid: active, and no invoice_id any more.
  await fund(user, PRICE);
  const p = await pay(user, again.inv.id, { method: 'credits' });
  assert.equal(p.status, 200, p.text);
  const active = await mine();
  assert.equal(active.status, 'active');
  assert.equal('invoice_id' in active, false, 'absent once active');
});

// ------------------------------------------------------------ mark-paid

test('admin mark-paid: admin key and actor required, 200 paid + one audit row, then 409', async (t) => {
  const user = newUser('inv-mark');
  t.after(() => park(user));
  const { inv } = await activate(user);
  const body = { actor: 'alice@ops', reference: `wire-${user}`, note: 'paid by bank transfer' };

  assert.equal((await call('POST', `/admin/invoices/${inv.id}/mark-paid`, { body })).status, 401);
  assert.equal((await call('POST', `/admin/invoices/${inv.id}/mark-paid`, { admin: 'x'.repeat(48), body })).status, 401);
  assert.equal((await call('POST', `/admin/invoices/${inv.id}/mark-paid`, { token: as(user), body })).status, 401);
  const noActor = await markPaid(inv.id, { reference: 'r' });
  assert.equal(noActor.status, 400, noActor.text);
  assert.equal(noActor.body.field, 'actor');
  for (const id of ['999999999999', 'abc', '0']) {
    const r = await markPaid(id, body);
    assert.equal(r.status, 404, `${id}: ${r.text}`);
    assert.equal(r.body.error, 'not_found');
  }
  assert.equal((await getInvoice(user, inv.id)).status, 'pending', 'nothing changed so far');

  const r = await markPaid(inv.id, body);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.id, inv.id);
  assert.equal(r.body.status, 'paid');
  assert.equal(r.body.paid_via, 'manual');
  assert.match(r.body.paid_at, ISO_UTC);
  assert.equal(r.body.items.length, 1);
  assert.equal(subRow(user, PRO).status, 'active', 'paying starts the period');
  assert.equal((await entitlement(user)).active, true);
  assert.equal(dbBalance(user), 0, 'the wallet is not touched');
  assert.equal(ledgerCount(user), 0);

  const audit = await call('GET', '/admin/audit?limit=100', { admin: true });
  assert.equal(audit.status, 200, audit.text);
  const rows = audit.body.entries.filter((e) => e.action === 'invoice.mark_paid' && e.details?.reference === body.reference);
  assert.equal(rows.length, 1, JSON.stringify(audit.body.entries.slice(0, 5)));
  assert.equal(rows[0].actor, 'alice@ops');
  assert.equal(rows[0].target, `invoice:${inv.id}`);
  assert.equal(rows[0].details.number, inv.number);
  assert.equal(rows[0].details.total, PRICE);
  assert.equal(rows[0].details.note, body.note);
  assert.match(rows[0].created_at, ISO_UTC);

  const again = await markPaid(inv.id, body);
  assert.equal(again.status, 409, again.text);
  assert.equal(again.body.error, 'conflict');
  const audit2 = await call('GET', '/admin/audit?limit=100', { admin: true });
  assert.equal(audit2.body.entries.filter((e) => e.action === 'invoice.mark_paid' &&
    e.details?.reference === body.reference).length, 1, 'no audit row for the 409');
});

test('admin mark-paid: the actor may come from X-Actor; an expired invoice is 409 and not audited', async (t) => {
  const user = newUser('inv-mark2');
  t.after(() => park(user));
  const { inv } = await activate(user);
  sql(`UPDATE invoices SET status = 'expired' WHERE id = ${Number(inv.id)}`);
  const ref = `late-${user}`;
  const r = await markPaid(inv.id, { reference: ref }, { 'X-Actor': 'bob@ops' });
  assert.equal(r.status, 409, r.text);
  const audit = await call('GET', '/admin/audit?limit=100', { admin: true });
  assert.equal(audit.body.entries.filter((e) => e.details?.reference === ref).length, 0);

  const { inv: inv2 } = await (async () => {
    const u2 = newUser('inv-mark3');
    t.after(() => park(u2));
    return activate(u2);
  })();
  const ok = await markPaid(inv2.id, { reference: `${ref}-2` }, { 'X-Actor': 'bob@ops' });
  assert.equal(ok.status, 200, ok.text);
  const audit2 = await call('GET', '/admin/audit?limit=100', { admin: true });
  const rows = audit2.body.entries.filter((e) => e.details?.reference === `${ref}-2`);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].actor, 'bob@ops');
});

// Numbers are per account (TLY-YYYY-000001 exists once per account), so
// an audit row must say which account's invoice it was.
test('admin mark-paid: the audit row identifies the invoice, not only its per-account number', async (t) => {
  const a = newUser('inv-auda');
  const b = newUser('inv-audb');
  t.after(() => park(a, b));
  const ia = (await activate(a)).inv;
  const ib = (await activate(b)).inv;
  assert.equal(ia.number, ib.number, 'two accounts, the same number');
  const ref = `audit-${Math.random().toString(36).slice(2)}`;
  assert.equal((await markPaid(ia.id, { actor: 'carol@ops', reference: ref })).status, 200);
  const audit = await call('GET', '/admin/audit?limit=100', { admin: true });
  const row = audit.body.entries.find((e) => e.details?.reference === ref);
  assert.ok(row);
  const text = JSON.stringify([row.target, row.details]);
  assert.ok(text.includes(a) || row.details.invoice_id === ia.id || row.target === ia.id ||
    row.details.user_id === a || row.details.account_id !== undefined,
  `the audit row names the invoice id or the account, not only "${ia.number}": ${JSON.stringify(row)}`);
});

// ------------------------------------------------------------ numbering

test('numbers: per account, sequential and gap-free, a 402 takes none; another account starts at 1', async (t) => {
  const user = newUser('inv-num');
  const other = newUser('inv-num2');
  t.after(() => park(user, other));
  const { inv } = await activate(user);
  assert.equal((await pay(user, inv.id, { method: 'credits' })).status, 402);
  assert.equal(invoiceSeq(user), 1, 'the 402 rolled back: no number taken');

  // Expire it, reissue (2), pay; then a renewal by the scheduler (3).
  await runScheduler('2031-02-01T00:00:00Z');
  const re = await reissue(user, inv.id);
  assert.equal(re.status, 201, re.text);
  assert.equal(re.body.number, numberOf(year(), 2));
  assert.equal((await pay(user, re.body.id, { method: 'credits' })).status, 402, 'a second 402');
  await fund(user, PRICE);
  assert.equal((await pay(user, re.body.id, { method: 'credits' })).status, 200);
  moveProPeriod(user, '2031-02-20T00:00:00Z');
  await runScheduler('2031-03-17T00:00:00Z');
  const rows = assertNumbering(user, [year(), year(), 2031]);
  assert.equal(rows[2].number, 'TLY-2031-000003');
  assert.equal(rows[2].status, 'pending');

  // The list is newest first.
  const list = await call('GET', '/invoices', { token: as(user) });
  assert.deepEqual(list.body.invoices.map((i) => i.number), rows.map((r) => r.number).reverse());

  const o = await activate(other);
  assert.equal(o.inv.number, numberOf(year(), 1), 'numbers are per account');
});

// ------------------------------------------------------------ renewals

test('renewal 72 h before the end: one invoice, one email; re-runs add nothing; paying extends from the old end', async (t) => {
  const { user } = await subscriber('inv-renew');
  t.after(() => park(user));
  const email = emailOf(user);
  const sub = moveProPeriod(user, '2031-03-10T12:00:00Z');
  assert.equal(sub.current_period_end, '2031-04-10 12:00:00');

  // One second before the lead: nothing.
  await runScheduler('2031-04-07T11:59:59Z');
  assert.equal(invoiceRows(user).length, 1);
  assert.equal(mailbox(email).length, 0);

  // Exactly 72 h before the end: one renewal invoice, emailed.
  await runScheduler('2031-04-07T12:00:00Z');
  let rows = invoiceRows(user);
  assert.equal(rows.length, 2);
  const ren = rows[1];
  assert.equal(ren.number, 'TLY-2031-000002');
  assert.equal(ren.status, 'pending');
  assert.equal(ren.kind, 'subscription');
  assert.equal(Number(ren.total), PRICE);
  assert.equal(ren.period_start, '2031-04-10 12:00:00', 'the next period starts at the old end');
  assert.equal(ren.period_end, '2031-05-10 12:00:00');
  assert.equal(ren.expires_at, '2031-04-09 12:00:00', 'invoice_ttl_hours 48');
  assert.equal(ren.subscription_id, sub.id);
  const api = await getInvoice(user, ren.id);
  assert.equal(api.period_start, '2031-04-10T12:00:00Z');
  assert.equal(api.expires_at, '2031-04-09T12:00:00Z');
  assert.equal(api.items.length, 1);
  assert.equal(api.items[0].amount, PRICE);
  assert.match(api.items[0].description, /2031-04-10 to 2031-05-10/);

  let mails = mailbox(email);
  assert.equal(mails.length, 1, 'one email');
  const m = mails[0];
  assert.equal(m.to, email);
  assert.equal(m.subject, 'Invoice TLY-2031-000002: 29.00 EUR due');
  assert.match(m.body, /29\.00 EUR/);
  assert.match(m.body, /2031-04-09 12:00 UTC/, 'pay by');
  assert.ok(m.body.includes(`${URL_BASE}/?invoice=${ren.id}`), `the billing page link in:\n${m.body}`);
  assert.ok(!m.body.includes('{{'), 'every placeholder filled');
  assert.deepEqual(outbox(user, 'invoice'), [{ key: `invoice:${ren.id}:invoice`, status: 'sent' }]);

  // Again at the same time and later within the lead: nothing new.
  await runScheduler('2031-04-07T12:00:00Z');
  await runScheduler('2031-04-08T18:00:00Z');
  assert.equal(invoiceRows(user).length, 2);
  assert.equal(mailbox(email).length, 1);

  // Paid: the period runs on from the old end, not from today.
  await fund(user, PRICE);
  const p = await pay(user, ren.id, { method: 'credits' });
  assert.equal(p.status, 200, p.text);
  let s = subRow(user, PRO);
  assert.equal(s.status, 'active');
  assert.equal(s.current_period_start, '2031-04-10 12:00:00');
  assert.equal(s.current_period_end, '2031-05-10 12:00:00');
  assert.equal(s.anchor_at, '2031-03-10 12:00:00', 'the anchor stays');

  // The old end passes: still active.
  await runScheduler('2031-04-10T12:00:00Z');
  assert.equal(subRow(user, PRO).status, 'active');
  assert.equal(invoiceRows(user).length, 2);

  // The next cycle: a renewal, then its expiry, then the end.
  await runScheduler('2031-05-07T12:00:00Z');
  rows = invoiceRows(user);
  assert.equal(rows.length, 3);
  assert.equal(rows[2].period_start, '2031-05-10 12:00:00');
  assert.equal(rows[2].period_end, '2031-06-10 12:00:00');
  assert.equal(mailbox(email).length, 2, 'one email per cycle');
  await runScheduler('2031-05-09T12:00:00Z');
  assert.equal(invoiceRows(user)[2].status, 'expired');
  s = subRow(user, PRO);
  assert.equal(s.status, 'active', 'entitled until the period ends');
  const late = await pay(user, rows[2].id, { method: 'credits' });
  assert.equal(late.status, 409, late.text);
  assert.match(late.body.message, /reissue/);

  await runScheduler('2031-05-10T12:00:00Z');
  s = subRow(user, PRO);
  assert.equal(s.status, 'expired', 'unpaid at the period end: expired');
  assert.equal(s.ended_at, '2031-05-10 12:00:00');
  assert.deepEqual(await entitlement(user), { product: PRO, active: false, until: null });
  const st = await internalStatus(user);
  assert.equal(st.active, false);
  assert.equal(st.status, 'expired');
  assert.equal(st.until, null);

  // Nothing more is issued for an expired subscription, and its last
  // invoice can no longer be reissued.
  await runScheduler('2031-06-07T12:00:00Z');
  assert.equal(invoiceRows(user).length, 3);
  assert.equal(mailbox(email).length, 2);
  const re = await reissue(user, rows[2].id);
  assert.equal(re.status, 409, `the cycle is over: ${re.text}`);
  assert.equal(dbBalance(user), 0, 'debited only by the two pay calls');
  assert.equal(ledgerCount(user, 'invoice_payment'), 2);
  assertNumbering(user, [year(), 2031, 2031]);
});

test('an expired renewal invoice can be reissued while its cycle is still due, and paying it extends', async (t) => {
  const { user } = await subscriber('inv-renew2');
  t.after(() => park(user));
  moveProPeriod(user, '2031-07-01T00:00:00Z');
  await runScheduler('2031-07-29T00:00:00Z');
  await runScheduler('2031-07-31T00:00:00Z');
  const rows = invoiceRows(user);
  assert.equal(rows.length, 2);
  assert.equal(rows[1].status, 'expired');
  assert.equal(subRow(user, PRO).status, 'active');

  const re = await reissue(user, rows[1].id);
  assert.equal(re.status, 201, re.text);
  assert.equal(re.body.period_start, '2031-08-01T00:00:00Z');
  assert.equal(re.body.period_end, '2031-09-01T00:00:00Z');
  await fund(user, PRICE);
  const p = await pay(user, re.body.id, { method: 'credits' });
  assert.equal(p.status, 200, p.text);
  const s = subRow(user, PRO);
  assert.equal(s.current_period_start, '2031-08-01 00:00:00');
  assert.equal(s.current_period_end, '2031-09-01 00:00:00');
  await runScheduler('2031-08-01T00:00:00Z');
  assert.equal(subRow(user, PRO).status, 'active', 'paid: not expired at the old end');
  assertNumbering(user, [year(), 2031, year()]);
});

test('set to end: no renewal invoice, canceled at the end; activating again starts with a new invoice', async (t) => {
  const { user } = await subscriber('inv-cancel');
  t.after(() => park(user));
  const d = await call('POST', `/subscriptions/${PRO}/deactivate`, { token: as(user) });
  assert.equal(d.status, 200, d.text);
  assert.equal(d.body.cancel_at_period_end, true);
  moveProPeriod(user, '2031-10-05T06:00:00Z');
  await runScheduler('2031-11-02T06:00:00Z');
  await runScheduler('2031-11-04T06:00:00Z');
  assert.equal(invoiceRows(user).length, 1, 'no renewal for a subscription set to end');
  assert.equal(mailbox(emailOf(user)).length, 0);
  await runScheduler('2031-11-05T06:00:00Z');
  const s = subRow(user, PRO);
  assert.equal(s.status, 'canceled');
  assert.equal(s.ended_at, '2031-11-05 06:00:00');
  assert.equal((await entitlement(user)).active, false);

  const again = await activate(user);
  assert.equal(again.inv.number, numberOf(year(), 2));
  assert.equal(again.inv.total, PRICE);
  assert.notEqual(again.inv.id, invoiceRows(user)[0].id);
  assertNumbering(user, [year(), year()]);
});

test('two schedulers at once issue one renewal invoice and one email per cycle', async (t) => {
  const { user } = await subscriber('inv-twice');
  t.after(() => park(user));
  moveProPeriod(user, '2031-08-20T08:00:00Z');
  const now = '2031-09-17T08:00:00Z';
  const runs = await Promise.all([spawnScheduler({ now }).done, spawnScheduler({ now }).done,
    spawnScheduler({ now }).done]);
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  const rows = invoiceRows(user);
  assert.equal(rows.length, 2, JSON.stringify(rows));
  assert.equal(rows[1].period_start, '2031-09-20 08:00:00');
  assert.equal(outbox(user, 'invoice').length, 1);
  await runScheduler(now);
  assert.equal(mailbox(emailOf(user)).length, 1);
  assertNumbering(user, [year(), 2031]);
});

// ------------------------------------------------------------ access

test('another user\'s invoice is 404 everywhere; unknown ids are 404; no token is 401', async (t) => {
  const owner = newUser('inv-own');
  const other = newUser('inv-oth');
  t.after(() => park(owner, other));
  const { inv } = await activate(owner);
  await fund(other, PRICE);

  const checks = [
    ['GET', `/invoices/${inv.id}`, undefined],
    ['POST', `/invoices/${inv.id}/pay`, { method: 'credits' }],
    ['POST', `/invoices/${inv.id}/pay`, { method: 'card' }],
    ['POST', `/invoices/${inv.id}/pay`, { method: 'lightning' }],
    ['POST', `/invoices/${inv.id}/reissue`, undefined],
  ];
  for (const [method, path, body] of checks) {
    const r = await call(method, path, { token: as(other), body });
    assert.equal(r.status, 404, `${method} ${path}: ${r.text}`);
    assert.equal(r.body.error, 'not_found');
    assert.ok(!r.text.includes(inv.number), 'never reveals it');
  }
  const list = await call('GET', '/invoices', { token: as(other) });
  assert.deepEqual(list.body.invoices, []);
  assert.equal(dbBalance(other), PRICE, 'nothing debited');
  assert.equal((await getInvoice(owner, inv.id)).status, 'pending');

  for (const id of ['999999999999', 'abc', '0', '-1', '1.5']) {
    const r = await call('GET', `/invoices/${id}`, { token: as(owner) });
    assert.equal(r.status, 404, `${id}: ${r.text}`);
  }
  assert.equal((await call('GET', '/invoices')).status, 401);
  assert.equal((await call('GET', `/invoices/${inv.id}`)).status, 401);
  assert.equal((await call('POST', `/invoices/${inv.id}/pay`, { body: { method: 'credits' } })).status, 401);
});

test('pay: a bad method or body is 400/415 and changes nothing', async (t) => {
  const user = newUser('inv-bad');
  t.after(() => park(user));
  const { inv } = await activate(user);
  await fund(user, PRICE);
  for (const body of [{}, { method: 'bitcoin' }, { method: 'CREDITS' }, { method: 7 }, { method: null }]) {
    const r = await pay(user, inv.id, body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.body.field, 'method');
  }
  const notJson = await call('POST', `/invoices/${inv.id}/pay`, { token: as(user), raw: '{"method":', contentType: 'application/json' });
  assert.equal(notJson.status, 400, notJson.text);
  const text = await call('POST', `/invoices/${inv.id}/pay`, { token: as(user), raw: 'method=credits', contentType: 'text/plain' });
  assert.equal(text.status, 415, text.text);
  assert.equal(dbBalance(user), PRICE);
  assert.equal((await getInvoice(user, inv.id)).status, 'pending');
});

test('every invoice in the database: total = sum of its items, seq gap-free per account', () => {
  const bad = sql(`SELECT i.id, i.total, COALESCE(SUM(it.amount), 0) s FROM invoices i
    LEFT JOIN invoice_items it ON it.invoice_id = i.id GROUP BY i.id, i.total HAVING i.total <> s`);
  assert.deepEqual(bad, []);
  const gaps = sql(`SELECT a.id, a.invoice_seq, COUNT(i.id), COALESCE(MAX(i.seq), 0) FROM accounts a
    LEFT JOIN invoices i ON i.account_id = a.id GROUP BY a.id, a.invoice_seq
    HAVING a.invoice_seq <> COUNT(i.id) OR COALESCE(MAX(i.seq), 0) <> COUNT(i.id)`);
  assert.deepEqual(gaps, []);
});
