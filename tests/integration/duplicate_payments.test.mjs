// A second payment of an invoice that is paid already (issue 16): a late
// Checkout after paying with credits is refunded at Stripe, a Lightning
// payment settled after the card paid is credited to the wallet; each
// with a payments row, an audit row and one email, exactly once however
// often (and however concurrently) the provider reports it, and a refund
// whose answer was lost is completed by the scheduler under the same
// Idempotency-Key.
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  call, token, newUser, fund, sql, sqlStr, dbBalance, ledgerMatches, parkSubs, runScheduler, isoTime, mailbox,
  statusCounts, lastSegment, standin
} from './lib.mjs';

const PRO = 'pro';
const PRICE = 2900;
const STRIPE = process.env.STRIPE_STANDIN_URL;
const BTCPAY = process.env.BTCPAY_STANDIN_URL;

const emailOf = (user) => `${user}@example.com`;
const as = (user, claims = {}) => token({ sub: user, email: emailOf(user), ...claims });
const park = (...users) => parkSubs(`a.user_id IN (${users.map(sqlStr).join(', ')})`);

const stripe = (method, path, body) => standin(STRIPE, method, path, body);
const btcpay = (method, path, body) => standin(BTCPAY, method, path, body);

// The refund requests the Stripe stand-in recorded for one PaymentIntent.
async function refundRequests(pi) {
  const all = await stripe('GET', '/_test/requests?method=POST&path=/v1/refunds');
  return all.filter((r) => new URLSearchParams(r.raw).get('payment_intent') === pi);
}

async function activate(user, claims) {
  const r = await call('POST', `/subscriptions/${PRO}/activate`, { token: as(user, claims), body: { interval: 'monthly' } });
  assert.equal(r.status, 201, r.text);
  return r.body.invoice;
}
const pay = (user, id, body, claims) => call('POST', `/invoices/${id}/pay`, { token: as(user, claims), body });
async function getInvoice(user, id) {
  const r = await call('GET', `/invoices/${id}`, { token: as(user) });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

function payments(user) {
  const cols = ['reference', 'method', 'amount', 'currency', 'status', 'provider_ref', 'message', 'attempts'];
  return sql(`SELECT ${cols.map((c) => `p.${c}`).join(', ')} FROM payments p JOIN accounts a ON a.id = p.account_id
    WHERE a.user_id = ${sqlStr(user)} ORDER BY p.id`)
    .map((r) => Object.fromEntries(cols.map((c, i) => [c, r[i] === 'NULL' ? null : r[i]])));
}
function outbox(user, template) {
  return sql(`SELECT dedupe_key, status FROM outbox WHERE recipient = ${sqlStr(emailOf(user))}
    AND template = ${sqlStr(template)} ORDER BY id`);
}
async function secondPaymentAudits(invoiceId) {
  const r = await call('GET', '/admin/audit?limit=100', { admin: true });
  assert.equal(r.status, 200, r.text);
  return r.body.entries.filter((e) => e.action === 'invoice.second_payment' && e.target === `invoice:${invoiceId}`);
}
function ledger(user, kind) {
  return sql(`SELECT l.amount, l.operation, l.description, l.effect_key FROM ledger l JOIN accounts a ON a.id = l.account_id
    WHERE a.user_id = ${sqlStr(user)} AND l.kind = ${sqlStr(kind)} ORDER BY l.id`)
    .map(([amount, operation, description, key]) => ({ amount: Number(amount), operation, description, key }));
}
const mailsAbout = (user, re) => mailbox(emailOf(user)).filter((m) => re.test(m.subject));

// An invoice of a new pro subscriber with an open Checkout Session for it,
// then paid with credits: { user, inv, sid }.
async function paidByCreditsWithOpenCheckout(prefix) {
  const user = newUser(prefix);
  const inv = await activate(user);
  const card = await pay(user, inv.id, { method: 'card' });
  assert.equal(card.status, 200, card.text);
  await fund(user, PRICE);
  const paid = await pay(user, inv.id, { method: 'credits' });
  assert.equal(paid.status, 200, paid.text);
  assert.equal(paid.body.paid_via, 'credits');
  return { user, inv, sid: lastSegment(card.body.checkout_url) };
}

function assertRefundedOnce(user, inv, pi, what) {
  const p = payments(user).filter((x) => x.status !== 'succeeded');
  assert.equal(p.length, 1, `${what}: one payments row for the second payment: ${JSON.stringify(p)}`);
  assert.equal(p[0].reference, `tally-invoice-${inv.id}-refund-${pi}`);
  assert.equal(p[0].method, 'card');
  assert.equal(Number(p[0].amount), PRICE);
  assert.equal(p[0].currency, 'EUR');
  assert.equal(p[0].provider_ref, pi);
  return p[0];
}

test('a late Checkout after paying with credits: refunded once at Stripe, recorded, audited, one email; however often and concurrently the events come', async (t) => {
  const { user, inv, sid } = await paidByCreditsWithOpenCheckout('dup-card');
  t.after(() => park(user));

  // The customer pays the old Checkout page anyway; its two events arrive
  // later, each three times at once (the same event ids).
  const done = await stripe('POST', `/_test/checkout/${sid}/complete`, { events: [] });
  const pi = done.payment_intent.id;
  const ids = { session: `evt_dupS${Date.now()}`, intent: `evt_dupI${Date.now()}` };
  const sends = [];
  for (let i = 0; i < 3; i++) {
    sends.push(stripe('POST', '/_test/send', { type: 'checkout.session.completed', object: done.session, id: ids.session }));
    sends.push(stripe('POST', '/_test/send', { type: 'payment_intent.succeeded', object: done.payment_intent, id: ids.intent }));
  }
  const answers = await Promise.all(sends);
  assert.deepEqual(statusCounts(answers), { 200: 6 }, JSON.stringify(answers.map((a) => [a.status, a.body])));

  // The invoice stays paid by credits; the card payment goes back.
  const after = await getInvoice(user, inv.id);
  assert.equal(after.status, 'paid');
  assert.equal(after.paid_via, 'credits');
  const reqs = await refundRequests(pi);
  assert.equal(reqs.length, 1, 'one refund request');
  const form = new URLSearchParams(reqs[0].raw);
  assert.equal(reqs[0].idempotency_key, `tally-invoice-${inv.id}-refund-${pi}`, 'an Idempotency-Key derived from the payment');
  assert.equal(reqs[0].authorization.scheme, 'bearer');
  assert.match(reqs[0].content_type, /^application\/x-www-form-urlencoded/);
  assert.equal(form.get('reason'), 'duplicate');
  assert.equal(form.get('amount'), null, 'the whole payment');
  assert.equal(reqs[0].status, 200);
  const charge = await stripe('GET', `/_test/objects/${done.charge.id}`);
  assert.equal(charge.amount_refunded, PRICE);
  assert.equal(charge.refunded, true);

  const row = assertRefundedOnce(user, inv, pi, 'after the first events');
  assert.equal(row.status, 'refunded');
  assert.match(row.message, /^refunded: re_/);
  const audits = await secondPaymentAudits(inv.id);
  assert.equal(audits.length, 1, 'one audit row');
  assert.equal(audits[0].actor, 'tally');
  assert.deepEqual({ ...audits[0].details, number: undefined, user_id: undefined }, {
    invoice_id: Number(inv.id), number: undefined, user_id: undefined, paid_via: 'credits', paid_ref: null,
    method: 'card', payment_ref: pi, amount: PRICE, currency: 'EUR', resolution: 'refund',
  });
  assert.equal(audits[0].details.user_id, user);
  assert.equal(outbox(user, 'payment_refunded').length, 1, 'one email queued');
  assert.equal(dbBalance(user), 0, 'the wallet paid the invoice and gets nothing: the card is refunded');
  assert.ok(ledgerMatches(user));

  // Stripe delivers the same events again, three times at once, and new
  // events about the same payment: nothing more happens.
  const more = [];
  for (let i = 0; i < 3; i++) {
    more.push(stripe('POST', '/_test/events/' + ids.session + '/resend', {}));
    more.push(stripe('POST', '/_test/events/' + ids.intent + '/resend', {}));
    more.push(stripe('POST', '/_test/send', { type: 'payment_intent.succeeded', object: done.payment_intent }));
  }
  assert.deepEqual(statusCounts(await Promise.all(more)), { 200: 9 });
  assert.equal((await refundRequests(pi)).length, 1, 'still one refund request');
  assertRefundedOnce(user, inv, pi, 'after redeliveries');
  assert.equal((await secondPaymentAudits(inv.id)).length, 1);
  assert.equal(outbox(user, 'payment_refunded').length, 1);

  // One email reaches the mailbox, in English, naming the invoice and the amount.
  await runScheduler();
  await runScheduler();
  const mails = mailsAbout(user, /paid twice/);
  assert.equal(mails.length, 1, 'one email');
  assert.match(mails[0].subject, new RegExp(`Invoice ${after.number} was paid twice: 29\\.00 EUR refunded`));
  assert.match(mails[0].body, /refunding this card payment in full/);
  assert.equal((await refundRequests(pi)).length, 1, 'the scheduler has nothing left to refund');
});

test('one Checkout payment reported by both its events is not a second payment', async (t) => {
  const user = newUser('dup-one');
  t.after(() => park(user));
  const inv = await activate(user);
  const card = await pay(user, inv.id, { method: 'card' });
  assert.equal(card.status, 200, card.text);
  const done = await stripe('POST', `/_test/checkout/${lastSegment(card.body.checkout_url)}/complete`, {});
  for (const d of done.deliveries) assert.equal(d.status, 200, `${d.type}: ${d.body}`);
  await stripe('POST', '/_test/send', { type: 'payment_intent.succeeded', object: done.payment_intent });
  assert.equal((await getInvoice(user, inv.id)).paid_via, 'card');
  assert.equal(sql(`SELECT paid_ref FROM invoices WHERE id = ${Number(inv.id)}`)[0][0], done.payment_intent.id);
  assert.equal((await refundRequests(done.payment_intent.id)).length, 0);
  assert.deepEqual(payments(user), []);
  assert.equal((await secondPaymentAudits(inv.id)).length, 0);
});

test('a refund whose answer was lost stays pending and is completed by the scheduler under the same Idempotency-Key, once', async (t) => {
  const { user, inv, sid } = await paidByCreditsWithOpenCheckout('dup-lost');
  t.after(() => park(user));

  // Stripe makes the refund but the answer never arrives (as if tally
  // stopped between the call and recording it).
  const before = await stripe('GET', '/_test/requests');
  const mark = before.length ? before[before.length - 1].seq : 0;
  await stripe('POST', '/_test/hang-next', { count: 1, ms: 1500, process: true });
  t.after(async () => {
    // Should no refund have been asked, the hang must not catch the next
    // test's request: spend it on a harmless read.
    const reqs = await stripe('GET', '/_test/requests');
    if (!reqs.some((r) => r.seq > mark && r.injected)) {
      await fetch(`${STRIPE}/v1/events/evt_none`, { headers: { Authorization: `Bearer ${process.env.STRIPE_SECRET_KEY}` },
        signal: AbortSignal.timeout(5000) }).catch(() => {});
    }
  });
  const done = await stripe('POST', `/_test/checkout/${sid}/complete`, {});
  for (const d of done.deliveries) assert.equal(d.status, 200, `the event is received all the same: ${d.body}`);
  const pi = done.payment_intent.id;
  let row = assertRefundedOnce(user, inv, pi, 'answer lost');
  assert.equal(row.status, 'refund_pending');
  assert.equal(Number(row.attempts), 1);
  assert.match(row.message, /refund attempt 1 failed/);
  assert.equal(outbox(user, 'payment_refunded').length, 1, 'the email is committed with the detection');

  // Not due yet: a tick now leaves it alone.
  await runScheduler();
  assert.equal((await refundRequests(pi)).length, 1);
  // Due after the backoff: the same key again, and Stripe replays the refund it made.
  await runScheduler(isoTime(Date.now() + 5 * 60 * 1000));
  const reqs = await refundRequests(pi);
  assert.equal(reqs.length, 2);
  assert.equal(reqs[1].idempotency_key, reqs[0].idempotency_key);
  assert.equal(reqs[1].replayed, true, 'Stripe answered from its idempotency store');
  row = assertRefundedOnce(user, inv, pi, 'after the retry');
  assert.equal(row.status, 'refunded');
  assert.equal(Number(row.attempts), 2);
  const charge = await stripe('GET', `/_test/objects/${done.charge.id}`);
  assert.equal(charge.amount_refunded, PRICE, 'refunded once');
  await runScheduler(isoTime(Date.now() + 60 * 60 * 1000));
  assert.equal((await refundRequests(pi)).length, 2, 'nothing left to do');
  assert.equal(mailsAbout(user, /paid twice/).length, 1);
});

test('Lightning settled after the card paid: credited to the wallet once, with a ledger row and an email (German) that says so', async (t) => {
  const user = newUser('dup-ln');
  const de = { locale: 'de-DE' };
  t.after(() => park(user));
  const inv = await activate(user, de);
  const ln = await pay(user, inv.id, { method: 'lightning' }, de);
  assert.equal(ln.status, 200, ln.text);
  const bt = lastSegment(ln.body.checkout_url);
  const card = await pay(user, inv.id, { method: 'card' }, de);
  assert.equal(card.status, 200, card.text);
  const done = await stripe('POST', `/_test/checkout/${lastSegment(card.body.checkout_url)}/complete`, {});
  for (const d of done.deliveries) assert.equal(d.status, 200, `${d.type}: ${d.body}`);
  assert.equal((await getInvoice(user, inv.id)).paid_via, 'card');
  const before = dbBalance(user);

  // The BOLT11 shown earlier is paid after all.
  const s = await btcpay('POST', `/_test/invoices/${bt}/settle`, {});
  assert.equal(s.delivery.response.status, 200, s.delivery.response.body);
  assert.equal(dbBalance(user), before + PRICE, 'the Lightning payment is credited: 1 credit per cent');
  let credits = ledger(user, 'refund');
  assert.equal(credits.length, 1);
  assert.equal(credits[0].amount, PRICE);
  assert.equal(credits[0].operation, 'second_payment');
  assert.equal(credits[0].key, `tally-invoice-${inv.id}-credit-${bt}`);
  assert.ok(ledgerMatches(user));
  const p = payments(user);
  assert.equal(p.length, 1);
  assert.deepEqual([p[0].method, p[0].status, Number(p[0].amount), p[0].currency, p[0].provider_ref],
    ['lightning', 'credited', PRICE, 'EUR', bt]);
  const audits = await secondPaymentAudits(inv.id);
  assert.equal(audits.length, 1);
  assert.equal(audits[0].details.resolution, 'credit');
  assert.equal(audits[0].details.paid_via, 'card');
  assert.equal(audits[0].details.paid_ref, done.payment_intent.id);
  assert.equal((await refundRequests(done.payment_intent.id)).length, 0, 'the card payment that paid is kept');
  const txs = await call('GET', '/credits/transactions?limit=5', { token: as(user) });
  assert.equal(txs.body.transactions[0].kind, 'refund');
  assert.equal(txs.body.transactions[0].amount, PRICE);

  // Redeliveries (new delivery ids, three at once), the same bytes again,
  // and the reconcile job: still one credit.
  const again = await Promise.all([0, 1, 2].map(() => btcpay('POST', `/_test/deliveries/${s.delivery.deliveryId}/redeliver`)));
  for (const a of again) assert.equal(a.delivery.response.status, 200, a.delivery.response.body);
  await btcpay('POST', `/_test/deliveries/${s.delivery.deliveryId}/resend-same`);
  await runScheduler();
  await runScheduler();
  assert.equal(dbBalance(user), before + PRICE);
  credits = ledger(user, 'refund');
  assert.equal(credits.length, 1);
  assert.equal(payments(user).length, 1);
  assert.equal((await secondPaymentAudits(inv.id)).length, 1);
  assert.equal(outbox(user, 'payment_credited').length, 1);
  const mails = mailsAbout(user, /doppelt bezahlt/);
  assert.equal(mails.length, 1, 'one email');
  assert.match(mails[0].subject, /2900 Credits gutgeschrieben/);
  assert.match(mails[0].body, /Guthaben gutgeschrieben: 2900 Credits \(1 Credit =\s+0\.01 EUR\)/);
  assert.match(mails[0].body, new RegExp(`Ihr Guthaben beträgt jetzt ${before + PRICE} Credits`));
});
