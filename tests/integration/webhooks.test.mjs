// Signed outbound events (README "Events"): written with the change they
// report, delivered by the scheduler's deliver-events job to a small
// receiver started here, in order per endpoint, exactly once, retried with
// backoff (driven with --now) and then failed; the documented verifier
// (deploy/examples/verify_webhook.mjs, the README's example) rejects forged
// and replayed signatures; admin list and resend.
import test from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import {
  call, token, newUser, sql, sqlStr, freePort, startStack, runScheduler, spawnScheduler, isoTime, setSubPeriod, parkSubs, ROOT,
  standin,
} from './lib.mjs';
import { verifyTallyEvent, TOLERANCE } from '../../deploy/examples/verify_webhook.mjs';

const SECRET_APP = crypto.randomBytes(24).toString('hex');
const SECRET_LEDGER = crypto.randomBytes(24).toString('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// The Stripe stand-in's control API.
const ctl = (method, path, body) => standin(process.env.STRIPE_STANDIN_URL, method, path, body);

// The receiver: every request is recorded; `mode` decides the answer
// ('ok' 200, 'fail' 500); stop()/start() make it refuse connections.
const rx = {
  mode: 'ok', delayMs: 0, requests: [], accepted: { app: [], ledger: [] }, seen: { app: new Set(), ledger: new Set() },
  server: null, port: 0,
};
function handler(req, res) {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d) => { body += d; });
  req.on('end', async () => {
    const ep = req.url === '/ledger' ? 'ledger' : 'app';
    rx.requests.push({ ep, body, sig: req.headers['tally-signature'], eventId: req.headers['tally-event-id'], mode: rx.mode });
    if (rx.delayMs) await sleep(rx.delayMs);
    if (rx.mode !== 'ok') { res.writeHead(500); res.end('down for maintenance'); return; }
    try {
      const ev = verifyTallyEvent(body, req.headers['tally-signature'], ep === 'ledger' ? SECRET_LEDGER : SECRET_APP, rx.seen[ep]);
      if (ev !== null) rx.accepted[ep].push(ev);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"received":true}');
    } catch (e) {
      res.writeHead(400);
      res.end(String(e.message));
    }
  });
}
function rxStart() {
  return new Promise((resolve) => {
    rx.server = http.createServer(handler);
    rx.server.listen(rx.port, '127.0.0.1', resolve);
  });
}
function rxStop() {
  return new Promise((resolve) => { rx.server.closeAllConnections(); rx.server.close(() => resolve()); });
}

let stack;
const env = () => ({ TALLY_CONFIG: stack.config });
const tick = (now, opts = {}) => runScheduler(now, { env: env(), ...opts });
const as = (user) => token({ sub: user, email: `${user}@example.com` });
const mine = (ep, user) => rx.accepted[ep].filter((e) => e.data.user_id === user);
const deliveries = (user, ep = 'app') => sql(`SELECT d.id, d.type, d.status, d.attempts, d.last_status FROM webhook_deliveries d
  JOIN accounts a ON a.id = d.account_id WHERE a.user_id = ${sqlStr(user)} AND d.endpoint = ${sqlStr(ep)} ORDER BY d.id`)
  .map(([id, type, status, attempts, last]) => ({ id, type, status, attempts: Number(attempts), last }));

async function adjust(user, amount) {
  const r = await call('POST', `${stack.api}/admin/credits/adjust`, { admin: true,
    body: { user_id: user, amount, reason: 'test', actor: 'tests' } });
  assert.equal(r.status, 200, r.text);
}
function debit(user, amount, operation = 'export') {
  return call('POST', `${stack.api}/internal/credits/use`, { service: true, body: { user_id: user, amount, operation } });
}
// Take every pending delivery out of the way (other tests' leftovers).
async function drain() {
  rx.mode = 'ok';
  await tick(new Date(Date.now() + 7 * 86400000));
}

test.before(async () => {
  rx.port = await freePort();
  await rxStart();
  stack = await startStack({ name: 'hooks', set: {
    'webhook.app.url': `http://127.0.0.1:${rx.port}/app`,
    'webhook.app.secret': SECRET_APP,
    'webhook.app.events': '*',
    'webhook.ledger.url': `http://127.0.0.1:${rx.port}/ledger`,
    'webhook.ledger.secret': SECRET_LEDGER,
    'webhook.ledger.events': 'credits.debited, credits.added',
  } });
});
test.after(async () => {
  stack?.stop();
  await rxStop().catch(() => {});
});

test('events arrive signed, in order, once per endpoint that wants them; a refused change has none', async () => {
  const user = newUser('hook');
  await adjust(user, 100);
  assert.equal((await debit(user, 30)).status, 200);
  // Refused: nothing changed, so no event.
  assert.equal((await debit(user, 1000)).status, 402);
  // An activation that cannot be paid is rolled back with its events.
  const poor = newUser('hookpoor');
  await adjust(poor, 5);
  const refused = await call('POST', `${stack.api}/subscriptions/cloud_sync/activate`, { token: as(poor), body: { interval: 'monthly' } });
  assert.equal(refused.status, 402, refused.text);
  const r = await call('POST', `${stack.api}/subscriptions/cloud_sync/activate`, { token: as(user), body: { interval: 'monthly' } });
  assert.equal(r.status, 200, r.text);
  await tick(new Date());

  const got = mine('app', user);
  assert.deepEqual(got.map((e) => e.type), ['credits.added', 'credits.debited', 'credits.debited', 'subscription.activated']);
  for (const e of got) {
    assert.match(e.id, /^evt_[0-9a-f]{24}$/);
    assert.ok(Number.isInteger(e.created) && Math.abs(e.created - Date.now() / 1000) < 120, `created ${e.created}`);
  }
  assert.equal(got[1].data.transaction.amount, -30);
  assert.equal(got[1].data.transaction.kind, 'usage');
  assert.equal(got[1].data.balance, 70);
  assert.equal(got[2].data.transaction.kind, 'subscription');
  assert.equal(got[3].data.subscription.product, 'cloud_sync');
  assert.equal(got[3].data.subscription.status, 'active');
  // The ledger endpoint wants credits.* only, and gets the same event ids.
  const led = mine('ledger', user);
  assert.deepEqual(led.map((e) => e.type), ['credits.added', 'credits.debited', 'credits.debited']);
  assert.deepEqual(led.map((e) => e.id), got.slice(0, 3).map((e) => e.id));
  // Nothing for the refused debit or the refused activation.
  assert.equal(mine('app', poor).filter((e) => e.type !== 'credits.added').length, 0);
  assert.equal(deliveries(poor).length, 1);
  assert.ok(deliveries(user).every((d) => d.status === 'delivered' && d.attempts === 1));
  // The activation's event is written by its routine (migration 0017),
  // the end's by db/db_event.c: the same shape, the same subscription.
  const c = await call('POST', `${stack.api}/subscriptions/cloud_sync/deactivate`, { token: as(user) });
  assert.equal(c.status, 200, c.text);
  setSubPeriod(user, '2024-01-10T00:00:00Z');
  await tick('2024-02-10T00:00:01Z');
  parkSubs(`a.user_id = ${sqlStr(user)}`);
  await tick(new Date());
  const activated = mine('app', user)[3];
  const ended = mine('app', user).at(-1);
  assert.equal(ended.type, 'subscription.canceled');
  assert.deepEqual(Object.keys(activated.data).sort(), Object.keys(ended.data).sort());
  assert.deepEqual(Object.keys(activated.data.subscription).sort(), Object.keys(ended.data.subscription).sort());
  assert.equal(activated.data.user_id, user);
  for (const k of ['id', 'product', 'interval']) {
    assert.equal(activated.data.subscription[k], ended.data.subscription[k], k);
  }
  assert.equal(activated.data.subscription.cancel_at_period_end, false);
  assert.equal(activated.data.subscription.next_charge_at, activated.data.subscription.current_period_end);
  assert.equal(activated.data.subscription.ended_at, null);
  assert.equal(ended.data.subscription.ended_at, '2024-02-10T00:00:01Z');
  parkSubs(`a.user_id = ${sqlStr(user)}`);
});

test('an endpoint that fails then refuses connections, then recovers, gets every event once and in order', async () => {
  await drain();
  const user = newUser('hookdown');
  await adjust(user, 100);
  for (const n of [1, 2, 3, 4]) assert.equal((await debit(user, n, `op${n}`)).status, 200);
  const t0 = Date.now();
  rx.mode = 'fail';
  await tick(new Date(t0));
  let d = deliveries(user);
  assert.equal(d.length, 5);
  // The oldest was tried and failed; the later ones wait behind it.
  assert.deepEqual(d.map((x) => [x.status, x.attempts]), [['pending', 1], ['pending', 0], ['pending', 0], ['pending', 0], ['pending', 0]]);
  assert.equal(d[0].last, '500');
  await rxStop();
  // Not due yet (30 s after the first failure): nothing is tried.
  await tick(new Date(t0 + 20000));
  assert.equal(deliveries(user)[0].attempts, 1);
  await tick(new Date(t0 + 31000));
  d = deliveries(user);
  assert.equal(d[0].attempts, 2);
  assert.equal(d[0].last, 'NULL'); // no answer: connection refused
  assert.ok(d.slice(1).every((x) => x.attempts === 0));
  rx.mode = 'ok';
  await rxStart();
  await tick(new Date(t0 + 31000 + 61000));
  d = deliveries(user);
  assert.ok(d.every((x) => x.status === 'delivered'), JSON.stringify(d));
  const got = mine('app', user);
  assert.deepEqual(got.map((e) => e.type), ['credits.added', 'credits.debited', 'credits.debited', 'credits.debited', 'credits.debited']);
  assert.deepEqual(got.slice(1).map((e) => e.data.transaction.operation), ['op1', 'op2', 'op3', 'op4']);
  assert.equal(new Set(got.map((e) => e.id)).size, got.length);
  // Each event was accepted once, though the first was sent three times.
  const sent = rx.requests.filter((q) => q.ep === 'app' && q.eventId === got[0].id);
  assert.equal(sent.length, 2); // once answered 500, once 200 (the refused one never arrived)
});

test('retries stop after three days: failed; the next event goes on; admin list and resend', async () => {
  await drain();
  const user = newUser('hookfail');
  await adjust(user, 50);
  assert.equal((await debit(user, 5)).status, 200);
  const t0 = Date.now();
  rx.mode = 'fail';
  await tick(new Date(t0));
  // The schedule: 30 s, 1, 2, 4 ... minutes, at most 6 h apart, for 3 days.
  await tick(new Date(t0 + 2 * 86400000));
  let d = deliveries(user);
  assert.deepEqual(d.map((x) => [x.status, x.attempts]), [['pending', 2], ['pending', 0]]);
  // Within the window's last 30 s: the next retry would fall after it, so
  // the oldest fails for good, and the one behind it (tried at once) too.
  await tick(new Date(t0 + 3 * 86400000 - 10000));
  d = deliveries(user);
  assert.deepEqual(d.map((x) => x.status), ['failed', 'failed']);
  assert.equal(mine('app', user).length, 0);

  // Admin: filter, paginate.
  const ak = { admin: true };
  let r = await call('GET', `${stack.api}/admin/webhooks/deliveries?endpoint=app&status=failed&limit=1`, ak);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.deliveries.length, 1);
  assert.equal(r.body.deliveries[0].id, d[1].id);
  assert.equal(r.body.deliveries[0].status, 'failed');
  assert.equal(r.body.deliveries[0].last_status, 500);
  assert.equal(r.body.deliveries[0].type, 'credits.debited');
  assert.ok(r.body.next);
  r = await call('GET', `${stack.api}/admin/webhooks/deliveries?endpoint=app&status=failed&limit=1&before=${r.body.next}`, ak);
  assert.equal(r.body.deliveries[0].id, d[0].id);
  assert.equal((await call('GET', `${stack.api}/admin/webhooks/deliveries?status=lost`, ak)).status, 400);
  assert.equal((await call('GET', `${stack.api}/admin/webhooks/deliveries`, {})).status, 401);

  // Resend both, newest first: they join the queue in that order.
  rx.mode = 'ok';
  const re1 = await call('POST', `${stack.api}/admin/webhooks/deliveries/${d[1].id}/resend`, { admin: true, headers: { 'X-Actor': 'ops' } });
  assert.equal(re1.status, 201, re1.text);
  assert.equal(re1.body.status, 'pending');
  assert.equal(re1.body.resend_of, d[1].id);
  const re0 = await call('POST', `${stack.api}/admin/webhooks/deliveries/${d[0].id}/resend`, { admin: true });
  assert.equal(re0.status, 201, re0.text);
  // A pending one is not resent; an unknown one is 404.
  assert.equal((await call('POST', `${stack.api}/admin/webhooks/deliveries/${re0.body.id}/resend`, ak)).status, 409);
  assert.equal((await call('POST', `${stack.api}/admin/webhooks/deliveries/999999999/resend`, ak)).status, 404);
  await tick(new Date(t0 + 3 * 86400000));
  const got = mine('app', user);
  assert.deepEqual(got.map((e) => e.id), [re1.body.event_id, re0.body.event_id]);
  assert.deepEqual(got.map((e) => e.type), ['credits.debited', 'credits.added']);
  const audit = sql(`SELECT actor FROM audit_log WHERE action = 'webhook.resend' AND target = 'webhook_delivery:${d[1].id}'`);
  assert.deepEqual(audit, [['ops']]);
});

test('the documented verifier rejects a forged or replayed signature; the README shows that file', async () => {
  await drain();
  const user = newUser('hooksig');
  await adjust(user, 10);
  await tick(new Date());
  const req = rx.requests.filter((q) => q.ep === 'app' && q.mode === 'ok').find((q) => JSON.parse(q.body).data.user_id === user);
  assert.ok(req, 'a delivery');
  assert.match(req.sig, /^t=\d+,v1=[0-9a-f]{64}$/);
  const fresh = () => new Set();
  assert.equal(verifyTallyEvent(req.body, req.sig, SECRET_APP, fresh()).data.user_id, user);
  // Forged: another body, another secret, a made-up signature, none.
  assert.throws(() => verifyTallyEvent(req.body.replace('"amount":10', '"amount":1000'), req.sig, SECRET_APP, fresh()), /bad signature/);
  assert.throws(() => verifyTallyEvent(req.body, req.sig, SECRET_LEDGER, fresh()), /bad signature/);
  const t = req.sig.match(/t=(\d+)/)[1];
  assert.throws(() => verifyTallyEvent(req.body, `t=${t},v1=${'0'.repeat(64)}`, SECRET_APP, fresh()), /bad signature/);
  assert.throws(() => verifyTallyEvent(req.body, '', SECRET_APP, fresh()), /timestamp/);
  // Replayed later: the timestamp is outside the tolerance.
  assert.throws(() => verifyTallyEvent(req.body, req.sig, SECRET_APP, fresh(), Number(t) + TOLERANCE + 1), /timestamp/);
  // A re-signed copy (new t) of an event seen before is a duplicate.
  const t2 = Math.floor(Date.now() / 1000);
  const v1 = crypto.createHmac('sha256', SECRET_APP).update(`${t2}.${req.body}`).digest('hex');
  const seen = fresh();
  assert.ok(verifyTallyEvent(req.body, `t=${t2},v1=${v1}`, SECRET_APP, seen));
  assert.equal(verifyTallyEvent(req.body, `t=${t2},v1=${v1}`, SECRET_APP, seen), null);
  // The README's example is this file.
  const readme = readFileSync(`${ROOT}/README.md`, 'utf8');
  const file = readFileSync(`${ROOT}/deploy/examples/verify_webhook.mjs`, 'utf8');
  const m = readme.match(/<!-- verify_webhook\.mjs -->\n```js\n([\s\S]*?)```/);
  assert.ok(m, 'the README shows deploy/examples/verify_webhook.mjs');
  assert.equal(m[1], file);
});

test('two schedulers delivering at once never deliver an event twice, nor out of order', async () => {
  await drain();
  const user = newUser('hookpar');
  await adjust(user, 100);
  for (let i = 1; i <= 12; i++) assert.equal((await debit(user, 1, `p${i}`)).status, 200);
  rx.delayMs = 30;
  try {
    const now = new Date();
    const a = spawnScheduler({ now, env: env() });
    const b = spawnScheduler({ now, env: env() });
    const [ra, rb] = await Promise.all([a.done, b.done]);
    assert.equal(ra.code, 0, ra.stderr);
    assert.equal(rb.code, 0, rb.stderr);
    // Both ran the job (it takes no job lock); the endpoint locks split the work.
    assert.ok(ra.jobs['deliver-events'] && rb.jobs['deliver-events']);
    const total = (k) => (ra.jobs['deliver-events'][k] || 0) + (rb.jobs['deliver-events'][k] || 0);
    assert.ok(total('delivered') >= 13 * 2, JSON.stringify([ra.jobs['deliver-events'], rb.jobs['deliver-events']]));
  } finally {
    rx.delayMs = 0;
  }
  await tick(new Date());
  const got = mine('app', user);
  assert.equal(got.length, 13);
  assert.deepEqual(got.slice(1).map((e) => e.data.transaction.operation), Array.from({ length: 12 }, (_, i) => `p${i + 1}`));
  const sent = rx.requests.filter((q) => q.mode === 'ok' && got.some((e) => e.id === q.eventId));
  assert.equal(sent.length, 13 * 2); // once to app, once to ledger
  assert.ok(deliveries(user).every((x) => x.status === 'delivered' && x.attempts === 1));
});

test('renewals in the recurring batch write their events set-based; pauses too', async () => {
  await drain();
  const rich = newUser('hookren');
  const poor = newUser('hookren');
  for (const u of [rich, poor]) {
    await adjust(u, u === rich ? 100 : 30);
    const r = await call('POST', `${stack.api}/subscriptions/cloud_sync/activate`, { token: as(u), body: { interval: 'monthly' } });
    assert.equal(r.status, 200, r.text);
    setSubPeriod(u, '2024-01-10T00:00:00Z');
  }
  await tick('2024-02-10T00:00:01Z');
  // Out of the charge job's way before the events (queued behind the
  // activations' of today) are delivered at today's time.
  parkSubs(`a.user_id IN (${sqlStr(rich)}, ${sqlStr(poor)})`);
  await tick(new Date());
  const types = (u) => mine('app', u).map((e) => e.type);
  assert.deepEqual(types(rich), ['credits.added', 'credits.debited', 'subscription.activated', 'credits.debited', 'subscription.renewed']);
  assert.deepEqual(types(poor), ['credits.added', 'credits.debited', 'subscription.activated', 'subscription.paused']);
  const renewed = mine('app', rich).at(-1).data.subscription;
  assert.equal(renewed.current_period_start, '2024-02-10T00:00:00Z');
  assert.equal(renewed.current_period_end, '2024-03-10T00:00:00Z');
  assert.equal(mine('app', rich).at(-2).data.transaction.kind, 'subscription');
  assert.equal(mine('app', rich).at(-2).data.balance, 40);
});

test('invoices, invoice subscriptions and gifts: created, paid, activated, expired, redeemed', async () => {
  await drain();
  const payer = newUser('hookinv');
  const late = newUser('hookinv');
  const giver = newUser('hookgift');
  const taker = newUser('hookgift');
  const act = (u) => call('POST', `${stack.api}/subscriptions/pro/activate`, { token: as(u), body: { interval: 'monthly' } });
  let r = await act(payer);
  assert.equal(r.status, 201, r.text);
  const inv = r.body.invoice;
  r = await call('POST', `${stack.api}/admin/invoices/${inv.id}/mark-paid`, { admin: true, body: { actor: 'tests' } });
  assert.equal(r.status, 200, r.text);
  r = await act(late);
  assert.equal(r.status, 201, r.text);
  const lateInv = r.body.invoice;
  await adjust(giver, 50);
  r = await call('POST', `${stack.api}/gifts`, { token: as(giver), body: { credits: 20, type: 'simple', message: 'hi' } });
  assert.equal(r.status, 201, r.text);
  const gift = r.body;
  r = await call('POST', `${stack.api}/gifts/${gift.code}/redeem`, { token: as(taker) });
  assert.equal(r.status, 200, r.text);
  // The paid period and the unpaid invoice end in 2024: the scheduler ends them then.
  setSubPeriod(payer, '2024-01-10T00:00:00Z', { product: 'pro' });
  // Invoice-billed: no charge date (setSubPeriod is made for credit ones).
  sql(`UPDATE subscriptions SET next_charge_at = NULL WHERE user_id = ${sqlStr(payer)} AND product = 'pro'`);
  sql(`UPDATE invoices SET expires_at = '2024-01-11 00:00:00' WHERE id = ${Number(lateInv.id)}`);
  await tick('2024-02-10T00:00:01Z');
  parkSubs(`a.user_id IN (${sqlStr(payer)}, ${sqlStr(late)})`);
  await tick(new Date());

  const types = (u) => mine('app', u).map((e) => e.type);
  assert.deepEqual(types(payer), ['invoice.created', 'invoice.paid', 'subscription.activated', 'subscription.expired']);
  const [created, paid, activated, expired] = mine('app', payer);
  assert.equal(created.data.invoice.id, inv.id);
  assert.equal(created.data.invoice.status, 'pending');
  assert.equal(paid.data.invoice.status, 'paid');
  assert.equal(paid.data.invoice.paid_via, 'manual');
  assert.equal(activated.data.subscription.product, 'pro');
  assert.equal(expired.data.subscription.status, 'expired');
  assert.deepEqual(types(late), ['invoice.created', 'invoice.expired']);
  assert.equal(mine('app', late)[1].data.invoice.status, 'expired');
  assert.deepEqual(types(giver), ['credits.added', 'credits.debited']);
  assert.deepEqual(types(taker), ['credits.added', 'gift.redeemed']);
  const redeemed = mine('app', taker)[1].data.gift;
  assert.equal(redeemed.credits, 20);
  assert.equal(redeemed.creator_user_id, giver);
  assert.ok(!JSON.stringify(mine('app', taker)[1]).includes(gift.code.replace(/-/g, '').slice(3, 10)), 'the code is not sent');
});

test('a card purchase completed by Stripe\'s webhook: purchase.completed and credits.added, once', async () => {
  await drain();
  const user = newUser('hookbuy');
  const r = await call('POST', `${stack.api}/credits/purchase`, { token: as(user), body: { package: 'starter', method: 'card' } });
  assert.equal(r.status, 201, r.text);
  const sid = new URL(r.body.checkout_url).pathname.split('/').pop();
  // Completed while the stand-in's webhooks go nowhere, then its events
  // sent to this stack (twice: a provider retries), whose config has the
  // endpoints.
  const cfg = await ctl('GET', '/_test/config');
  let out;
  await ctl('POST', '/_test/config', { webhook_url: 'http://127.0.0.1:9/' });
  try {
    out = await ctl('POST', `/_test/checkout/${sid}/complete`, {});
  } finally {
    await ctl('POST', '/_test/config', { webhook_url: cfg.webhook_url });
  }
  for (let k = 0; k < 2; k++) {
    for (const d of out.deliveries) {
      const sent = await ctl('POST', `/_test/events/${d.event_id}/resend`, { webhook_url: `${stack.api}/webhooks/stripe` });
      assert.equal(sent.status, 200, JSON.stringify(sent));
    }
  }
  await tick(new Date());
  const types = mine('app', user).map((e) => e.type);
  assert.deepEqual(types.filter((x) => x === 'purchase.completed'), ['purchase.completed'], types.join());
  assert.deepEqual(types.filter((x) => x === 'credits.added'), ['credits.added'], types.join());
  const done = mine('app', user).find((e) => e.type === 'purchase.completed');
  assert.equal(done.data.purchase.id, r.body.id);
  assert.equal(done.data.purchase.status, 'succeeded');
  assert.equal(done.data.purchase.credits, 500);
  assert.deepEqual(mine('ledger', user).map((e) => e.type), ['credits.added']);
});

test('a saved card declined when paying an invoice: one payment.failed with the reason', async () => {
  await drain();
  const user = newUser('hookdecl');
  // A saved card (its setup completes through the suite's own stack).
  const setup = await call('POST', '/billing/card-setup', { token: as(user) });
  assert.equal(setup.status, 200, setup.text);
  const done = await ctl('POST', `/_test/checkout/${new URL(setup.body.checkout_url).pathname.split('/').pop()}/complete`,
    { card: 'visa' });
  const act = await call('POST', `${stack.api}/subscriptions/pro/activate`, { token: as(user), body: { interval: 'monthly' } });
  assert.equal(act.status, 201, act.text);
  await ctl('POST', '/_test/outcome', { customer: done.session.customer, outcome: 'decline',
    decline_code: 'insufficient_funds', times: 1 });
  const r = await call('POST', `${stack.api}/invoices/${act.body.invoice.id}/pay`,
    { token: as(user), body: { method: 'card', use_saved_card: true } });
  assert.equal(r.status, 402, r.text);
  await tick(new Date());
  parkSubs(`a.user_id = ${sqlStr(user)}`);
  const failed = mine('app', user).filter((e) => e.type === 'payment.failed');
  assert.equal(failed.length, 1, mine('app', user).map((e) => e.type).join());
  assert.equal(failed[0].data.payment.status, 'declined');
  assert.equal(failed[0].data.payment.method, 'card');
  assert.match(failed[0].data.payment.reason, /insufficient funds/);
});

test('without a [webhook] that wants it, a change writes no event row', async () => {
  // The main stack has no [webhook.*] sections.
  const user = newUser('nohook');
  const r = await call('POST', '/admin/credits/adjust', { admin: true, body: { user_id: user, amount: 20, reason: 'x', actor: 'tests' } });
  assert.equal(r.status, 200);
  assert.equal((await call('POST', '/internal/credits/use', { service: true, body: { user_id: user, amount: 5, operation: 'x' } })).status, 200);
  assert.equal(Number(sql(`SELECT COUNT(*) FROM webhook_deliveries d JOIN accounts a ON a.id = d.account_id WHERE a.user_id = ${sqlStr(user)}`)[0][0]), 0);
});
