// Lightning auto-pay over Nostr Wallet Connect in the payment cascade of
// usage invoices: credits -> NWC -> saved card -> email.  The wallet is
// tests/standins/nwc.mjs (a relay plus NIP-47 wallets that check the
// request's signature and decrypt it with nostr-tools, and pay by settling
// the BTCPay stand-in's invoice whose BOLT11 they got).  The payment counts
// only once BTCPay settles; a wallet error or silence moves on to the card;
// a re-run after a crash asks the wallet the very same thing again.
//
// Times: 2034; every test parks its accounts afterwards.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
  URL_BASE, call, token, newUser, sql, sqlStr, runScheduler, spawnScheduler, mailbox, lastSegment, standin
} from './lib.mjs';

const BASIC = 'relay_basic';
const STRIPE = process.env.STRIPE_STANDIN_URL;
const BTCPAY = process.env.BTCPAY_STANDIN_URL;
const NWC = process.env.NWC_STANDIN_URL;
const TIMEOUT = 3;	// [nwc] timeout_seconds in tests/stack.sh

const emailOf = (user) => `${user}@example.com`;
const as = (user) => token({ sub: user, email: emailOf(user) });


async function withEmail(user) {
  const r = await call('GET', '/credits/balance', { token: as(user) });
  assert.equal(r.status, 200, r.text);
  return user;
}

async function saveCard(user) {
  const r = await call('POST', '/billing/card-setup', { token: as(user) });
  assert.equal(r.status, 200, r.text);
  const done = await standin(STRIPE, 'POST', `/_test/checkout/${lastSegment(r.body.checkout_url)}/complete`, { card: 'visa' });
  for (const d of done.deliveries) assert.equal(d.status, 200, `${d.type}: ${d.body}`);
}

// A wallet at the stand-in, connected to user's account.
async function connectWallet(user, opts = {}) {
  const w = await standin(NWC, 'POST', '/_test/wallets', opts);
  const r = await call('PUT', '/billing/nwc', { token: as(user), body: { url: w.url } });
  assert.equal(r.status, 200, r.text);
  w.secret = new URL(w.url.replace('nostr+walletconnect:', 'http:')).searchParams.get('secret');
  return w;
}

async function record(user, resource, at) {
  const r = await call('POST', '/internal/activity', { service: true,
    body: { user_id: user, type: 'create', resource_id: resource, at, plan: BASIC } });
  assert.equal(r.status, 202, r.text);
}

function invoices(user) {
  const cols = ['id', 'status', 'total', 'paid_via', 'cascade_done'];
  return sql(`SELECT ${cols.map((c) => `i.${c}`).join(', ')} FROM invoices i JOIN accounts a ON a.id = i.account_id
    WHERE a.user_id = ${sqlStr(user)} ORDER BY i.seq`)
    .map((r) => Object.fromEntries(cols.map((c, i) => [c, r[i] === 'NULL' ? null : r[i]])));
}
function payments(user) {
  const cols = ['reference', 'method', 'amount', 'status', 'provider_ref', 'message'];
  return sql(`SELECT ${cols.map((c) => `p.${c}`).join(', ')} FROM payments p JOIN accounts a ON a.id = p.account_id
    WHERE a.user_id = ${sqlStr(user)} ORDER BY p.id`)
    .map((r) => Object.fromEntries(cols.map((c, i) => [c, r[i] === 'NULL' ? null : r[i]])));
}
function attempt(invoiceId) {
  const rows = sql(`SELECT status, request_id, btcpay_invoice, COALESCE(message, '') FROM nwc_attempts WHERE invoice_id = ${Number(invoiceId)}`);
  return rows.length ? { status: rows[0][0], request_id: rows[0][1], btcpay_invoice: rows[0][2], message: rows[0][3] } : null;
}
function lightningRows(invoiceId) {
  return sql(`SELECT btcpay_invoice, bolt11, status FROM lightning_payments WHERE subject_type = 'invoice' AND subject_id = ${Number(invoiceId)}`)
    .map(([btcpay, bolt11, status]) => ({ btcpay, bolt11, status }));
}
function park(...users) {
  const list = users.map(sqlStr).join(', ');
  sql(`DELETE it FROM invoice_items it JOIN accounts a ON a.id = it.account_id
    WHERE a.user_id IN (${list}) AND it.invoice_id IS NULL`);
  sql(`UPDATE invoices i JOIN accounts a ON a.id = i.account_id SET i.cascade_done = 1 WHERE a.user_id IN (${list})`);
  sql(`UPDATE accounts SET billing_anchor = NULL WHERE user_id IN (${list})`);
}
async function walletRequests(wallet) {
  return (await standin(NWC, 'GET', '/_test/requests')).filter((r) => r.wallet === wallet.pubkey);
}
async function cardIntents(key) {
  return (await standin(STRIPE, 'GET', '/_test/requests?method=POST&path=/v1/payment_intents'))
    .filter((r) => r.idempotency_key === key);
}
function reasonOf(mail) {
  const m = mail.body.match(/could not:\n\n {2}(.*)\n\nPlease/);
  assert.ok(m, `the reason in:\n${mail.body}`);
  return m[1];
}
// The secret never reaches a log line of the responders.
function assertNotLogged(secret) {
  const log = fs.readFileSync(`${process.env.TALLY_VAR}/fcgi.log`, 'utf8');
  assert.ok(!log.includes(secret), 'the NWC secret is in the responder log');
}

// Auto-pay by a wallet of the given encryption: settled once, by BTCPay.
async function autoPays(t, encryption, at) {
  const user = await withEmail(newUser(`nwc-${encryption}`));
  t.after(() => park(user));
  await saveCard(user);
  const w = await connectWallet(user, { encryption });
  await record(user, 'n1', at);
  const run = await runScheduler(at.replace('00:00:00', '00:01:00'));
  assert.ok(!run.stderr.includes(w.secret), 'the secret is not logged');

  const [inv] = invoices(user);
  assert.equal(inv.status, 'paid', JSON.stringify(run.jobs['plan-billing']));
  assert.equal(inv.paid_via, 'lightning');
  assert.equal(inv.cascade_done, '1');
  // The wallet got one request: signed by the connection's key, encrypted
  // as its info event asked, for the BOLT11 of BTCPay's invoice.
  const reqs = await walletRequests(w);
  assert.equal(reqs.length, 1);
  assert.equal(reqs[0].verified, true);
  assert.equal(reqs[0].client, w.client_pubkey);
  assert.equal(reqs[0].encryption, encryption);
  assert.equal(reqs[0].method, 'pay_invoice');
  const ln = lightningRows(inv.id);
  assert.equal(ln.length, 1, 'one BTCPay invoice');
  assert.equal(reqs[0].invoice, ln[0].bolt11);
  assert.equal(ln[0].status, 'settled');
  const a = attempt(inv.id);
  assert.equal(a.status, 'settled');
  assert.equal(a.request_id, reqs[0].id);
  const btc = await standin(BTCPAY, 'GET', `/_test/invoices/${encodeURIComponent(ln[0].btcpay)}`);
  assert.equal(btc.invoice.status, 'Settled');
  assert.deepEqual(payments(user).map((p) => [p.method, p.status]), [['credits', 'declined'], ['nwc', 'succeeded']]);
  assert.equal(payments(user)[1].reference, `tally-invoice-${inv.id}-nwc`);
  assert.equal(payments(user)[1].provider_ref, ln[0].btcpay);
  assert.equal((await cardIntents(`tally-invoice-${inv.id}-card`)).length, 0, 'the card is left alone');
  assert.equal(mailbox(emailOf(user)).length, 0, 'no email for a paid invoice');

  // Later runs do nothing more.
  await runScheduler(at.replace('00:00:00', '02:00:00'));
  assert.equal((await walletRequests(w)).length, 1);
  assert.equal(payments(user).length, 2);
  assertNotLogged(w.secret);
}

test('NWC (NIP-44 wallet): auto-pay settles the invoice once, through BTCPay; the card is not charged', async (t) => {
  await autoPays(t, 'nip44', '2034-01-05T00:00:00Z');
});

test('NWC (NIP-04 wallet): a wallet without nip44_v2 in its info event gets NIP-04, and pays', async (t) => {
  await autoPays(t, 'nip04', '2034-01-06T00:00:00Z');
});

test('NWC: a wallet error moves on to the card; the payments row keeps the wallet\'s message', async (t) => {
  const user = await withEmail(newUser('nwc-err'));
  t.after(() => park(user));
  await saveCard(user);
  const w = await connectWallet(user, { encryption: 'nip44', mode: 'error' });
  await record(user, 'e1', '2034-02-05T00:00:00Z');
  await runScheduler('2034-02-05T00:01:00Z');
  const [inv] = invoices(user);
  assert.equal(inv.status, 'paid');
  assert.equal(inv.paid_via, 'card');
  const p = payments(user);
  assert.deepEqual(p.map((x) => [x.method, x.status]), [['credits', 'declined'], ['nwc', 'declined'], ['card', 'succeeded']]);
  assert.equal(p[1].message, 'INSUFFICIENT_BALANCE: not enough sats in the wallet');
  assert.equal(attempt(inv.id).status, 'failed');
  const [ln] = lightningRows(inv.id);
  assert.equal(ln.status, 'new', 'BTCPay\'s invoice was not paid');
  assert.equal((await walletRequests(w)).length, 1);
  assert.equal(mailbox(emailOf(user)).length, 0);
});

test('NWC: a wallet that does not answer times out (nwc.timeout_seconds) and the card pays', async (t) => {
  const user = await withEmail(newUser('nwc-quiet'));
  t.after(() => park(user));
  await saveCard(user);
  const w = await connectWallet(user, { encryption: 'nip04', mode: 'silent' });
  await record(user, 's1', '2034-03-05T00:00:00Z');
  const t0 = Date.now();
  await runScheduler('2034-03-05T00:01:00Z');
  assert.ok(Date.now() - t0 >= TIMEOUT * 1000 - 200, 'it waited for the wallet');
  const [inv] = invoices(user);
  assert.equal(inv.status, 'paid');
  assert.equal(inv.paid_via, 'card');
  const p = payments(user);
  assert.deepEqual(p.map((x) => [x.method, x.status]), [['credits', 'declined'], ['nwc', 'error'], ['card', 'succeeded']]);
  assert.equal(p[1].message, `the wallet did not answer within ${TIMEOUT} seconds`);
  assert.equal((await walletRequests(w)).length, 1);
});

test('NWC: a crash after the request was sent, then a re-run: the same request again, paid once', async (t) => {
  const user = await withEmail(newUser('nwc-crash'));
  t.after(() => park(user));
  await saveCard(user);
  // The wallet pays but its answer is never read (the scheduler dies),
  // and BTCPay's webhook is lost too: nothing tells tally.
  const w = await connectWallet(user, { encryption: 'nip44', mode: 'pay_silent', webhook: false });
  await record(user, 'c1', '2034-04-05T00:00:00Z');
  const { child, done } = spawnScheduler({ now: '2034-04-05T00:01:00Z' });
  const end = Date.now() + 20000;
  while ((await walletRequests(w)).every((r) => r.answer !== 'paid, silent')) {
    assert.ok(Date.now() < end, 'the wallet got the request');
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  await done;

  let [inv] = invoices(user);
  assert.equal(inv.status, 'pending', 'nothing told tally yet');
  assert.equal(inv.cascade_done, '0', 'the cascade is to be resumed');
  assert.equal(attempt(inv.id).status, 'sent');
  const first = await walletRequests(w);
  assert.equal(first.length, 1);

  // The re-run resumes: the very same event (id, BOLT11) goes to the
  // wallet, which answers as for a paid invoice; BTCPay says settled.
  // (Run within the minute: later, reconcile-lightning would find BTCPay's
  // invoice settled first, which is as good but asks no wallet.)
  await standin(NWC, 'POST', `/_test/wallets/${w.pubkey}/mode`, { mode: 'pay' });
  await runScheduler('2034-04-05T00:01:30Z');
  [inv] = invoices(user);
  assert.equal(inv.status, 'paid');
  assert.equal(inv.paid_via, 'lightning');
  const reqs = await walletRequests(w);
  assert.equal(reqs.length, 2);
  assert.equal(reqs[1].id, reqs[0].id, 'the same request event');
  assert.equal(reqs[1].invoice, reqs[0].invoice, 'the same BOLT11');
  const paid = (await standin(NWC, 'GET', '/_test/payments')).filter((p) => p.bolt11 === reqs[0].invoice);
  assert.equal(paid.length, 1, 'paid once');
  assert.equal(lightningRows(inv.id).length, 1, 'one BTCPay invoice');
  assert.deepEqual(payments(user).map((x) => [x.method, x.status]), [['credits', 'declined'], ['nwc', 'succeeded']]);
  assert.equal((await cardIntents(`tally-invoice-${inv.id}-card`)).length, 0, 'the card is not charged on top');
  await runScheduler('2034-04-06T00:00:00Z');
  assert.equal((await walletRequests(w)).length, 2);
});

test('NWC: a relay that speaks garbage is a failed attempt with its reason; nothing is paid; the email never shows the secret', async (t) => {
  const user = await withEmail(newUser('nwc-garbage'));
  t.after(() => park(user));
  const w = await standin(NWC, 'POST', '/_test/wallets', { encryption: 'nip44' });
  const garbage = w.url.replace(/relay=[^&]*/, `relay=${encodeURIComponent(`${NWC.replace('http:', 'ws:')}/garbage`)}`);
  const secret = new URL(garbage.replace('nostr+walletconnect:', 'http:')).searchParams.get('secret');
  const r = await call('PUT', '/billing/nwc', { token: as(user), body: { url: garbage } });
  assert.equal(r.status, 200, r.text);
  await record(user, 'g1', '2034-05-05T00:00:00Z');
  const run = await runScheduler('2034-05-05T00:01:00Z');
  const [inv] = invoices(user);
  assert.equal(inv.status, 'pending');
  assert.equal(inv.cascade_done, '1');
  const p = payments(user);
  assert.deepEqual(p.map((x) => [x.method, x.status]), [['credits', 'declined'], ['nwc', 'error']]);
  assert.match(p[1].message, /not a Nostr message/);
  assert.equal(lightningRows(inv.id)[0].status, 'new');
  const mails = mailbox(emailOf(user));
  assert.equal(mails.length, 1);
  const reason = reasonOf(mails[0]);
  assert.match(reason, /Lightning auto-pay failed/);
  assert.ok(Buffer.byteLength(reason) <= 240);
  assert.ok(!mails[0].body.includes(secret) && !mails[0].body.includes('walletconnect'));
  assert.ok(!run.stderr.includes(secret));
  assert.ok(mails[0].body.includes(`${URL_BASE}/?invoice=${inv.id}`));
});

test('PUT /billing/nwc: a malformed connection string is 400 naming url, quotes no secret, and keeps the stored one', async () => {
  const user = await withEmail(newUser('nwc-bad'));
  const w = await connectWallet(user, { encryption: 'nip44' });
  const sealed = () => sql(`SELECT p.nwc_sealed FROM billing_profiles p JOIN accounts a ON a.id = p.account_id WHERE a.user_id = ${sqlStr(user)}`)[0][0];
  const before = sealed();
  const sec = 'b'.repeat(64);
  const bad = [
    `nostr+walletconnect://${w.pubkey}?relay=wss%3A%2F%2Fr.example.com`,				// no secret
    `nostr+walletconnect://${w.pubkey}?secret=${sec}`,						// no relay
    `nostr+walletconnect://${'0'.repeat(64)}?relay=wss://r.example.com&secret=${sec}`,		// not a point
    `nostr+walletconnect://${w.pubkey}?relay=https://r.example.com&secret=${sec}`,		// not a WebSocket
    `nostr+walletconnect://${w.pubkey}?relay=wss://r.example.com&secret=${'f'.repeat(64)}`,	// not a key
    `nostr+walletconnect://${w.pubkey}?relay=wss://r.example.com&secret=${sec.slice(2)}`,	// short
  ];
  for (const url of bad) {
    const r = await call('PUT', '/billing/nwc', { token: as(user), body: { url } });
    assert.equal(r.status, 400, `${url}: ${r.text}`);
    assert.equal(r.body.error, 'invalid_request');
    assert.equal(r.body.field, 'url');
    assert.ok(!r.text.includes(sec.slice(2)) && !r.text.includes('f'.repeat(64)), r.text);
  }
  assert.equal(sealed(), before, 'the stored connection is unchanged');
  assertNotLogged(w.secret);
});
