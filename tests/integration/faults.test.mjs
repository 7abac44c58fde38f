// Faults that operators rely on tally surviving: the scheduler killed
// (kill -9) again and again in the middle of 10,000 renewals, three
// schedulers at once over one due set, a responder killed while requests
// are in flight, and a storm of 1,000 shuffled, duplicated, out-of-order
// Stripe and BTCPay webhook deliveries.  (The database restarted under
// load is in zz_database.test.mjs, which owns stopping MariaDB.)
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import {
  call, token, newUser, fund, sql, sqlStr, dbBalance, ledgerMatches, parkSubs, runScheduler,
  spawnScheduler, sqlTime, addMonthsIso, prefixWhere, bulkSubs, assertEachChargedOnce, committedCharges, mailbox,
  standin,
} from './lib.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const as = (user, claims = {}) => token({ sub: user, ...claims });
const JOB_LOCK = 'tally.job.charge-recurring';

// Wait until no scheduler holds the renewal job's lock (a killed one's
// connection is gone).
async function lockFree(timeoutMs = 20000) {
  const end = Date.now() + timeoutMs;
  while (sql(`SELECT IS_FREE_LOCK('${JOB_LOCK}')`)[0][0] !== '1') {
    if (Date.now() > end) throw new Error('the job lock of a killed scheduler was never released');
    await sleep(20);
  }
}

function shuffle(a) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

// Run fns (functions returning promises) with at most n in flight.
async function pool(fns, n) {
  const out = new Array(fns.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < fns.length) {
      const i = next++;
      out[i] = await fns[i]();
    }
  }));
  return out;
}

// ------------------------------------------------------------ the scheduler

test('10,000 due renewals, the scheduler killed (kill -9) at 20 random moments and restarted: each charged exactly once', async (t) => {
  const N = 10000;
  const prefix = newUser('storm');
  t.after(() => parkSubs(prefixWhere(prefix)));
  const start = '2023-01-10T08:00:00Z';
  const next = addMonthsIso(start, 1);
  const now = '2023-02-10T08:00:01Z';
  bulkSubs(prefix, N, { start });

  const kills = [];
  for (let attempt = 0; kills.length < 20 && attempt < 120; attempt++) {
    await lockFree();
    const before = committedCharges(prefix);
    const sched = spawnScheduler({ now });
    // A random moment: during start-up, inside a batch, between batches.
    // Once all is charged a run is short: aim early then, or it ends
    // before the kill.
    await sleep(Math.floor(Math.random() * (before < N ? 250 : 40)));
    if (sched.child.exitCode === null && sched.child.signalCode === null) {
      sched.child.kill('SIGKILL');
      const r = await sched.done;
      if (r.signal === 'SIGKILL') kills.push({ before, after: committedCharges(prefix) });
    } else {
      const r = await sched.done;
      assert.equal(r.code, 0, r.stderr);
    }
    // Whatever a kill cut off was rolled back whole: batches of 1000.
    assert.equal(committedCharges(prefix) % 1000, 0, `committed ${committedCharges(prefix)}`);
  }
  assert.ok(kills.length >= 20, `only ${kills.length} kills landed`);
  const midWork = kills.filter((k) => k.before < N).length;
  assert.ok(midWork >= 3, `kills while renewals were left: ${midWork} (${JSON.stringify(kills)})`);

  await lockFree();
  await runScheduler(now);
  assertEachChargedOnce(prefix, N, next);
  // Nothing more on another run.
  const again = await runScheduler(now);
  assert.equal(again.jobs['charge-recurring'].charged, 0);
  assertEachChargedOnce(prefix, N, next);
});

test('three schedulers at once over one due set: no double charge, no double email, no double invoice', async (t) => {
  // Credit subscriptions: two of three can pay, the third is short and
  // pauses (an email each); invoice-billed Pro subscriptions whose period
  // ends within the 72 h lead (a renewal invoice and its email each).
  const N = 1500;
  const prefix = newUser('tri');
  t.after(() => parkSubs(prefixWhere(prefix)));
  const start = '2025-05-05T05:05:05Z';
  const next = addMonthsIso(start, 1);
  const now = '2025-06-05T05:05:06Z';
  bulkSubs(prefix, N, { start, balanceSql: 'IF(seq % 3 = 0, 10, 100)' });
  sql(`UPDATE accounts a SET a.email = CONCAT(a.user_id, '@example.com') WHERE ${prefixWhere(prefix)}`);

  const pros = [];
  for (let i = 0; i < 8; i++) {
    const user = newUser('tripro');
    const a = await call('POST', '/subscriptions/pro/activate',
      { token: as(user, { email: `${user}@example.com` }), body: { interval: 'monthly' } });
    assert.equal(a.status, 201, a.text);
    await fund(user, Number(a.body.invoice.total));
    const p = await call('POST', `/invoices/${a.body.invoice.id}/pay`, { token: as(user), body: { method: 'credits' } });
    assert.equal(p.status, 200, p.text);
    // The period ends a day after `now`: inside the renewal lead.
    const ps = addMonthsIso('2025-06-06T05:05:06Z', -1);
    sql(`UPDATE subscriptions s SET s.anchor_at = ${sqlTime(ps)}, s.end_months = 1,
      s.current_period_start = ${sqlTime(ps)}, s.current_period_end = ${sqlTime('2025-06-06T05:05:06Z')},
      s.next_charge_at = NULL WHERE s.user_id = ${sqlStr(user)} AND s.product = 'pro'`);
    pros.push(user);
  }
  t.after(() => parkSubs(`a.user_id IN (${pros.map(sqlStr).join(', ')})`));
  const invoicesOf = (user) => Number(sql(`SELECT COUNT(*) FROM invoices i JOIN accounts a ON a.id = i.account_id
    WHERE a.user_id = ${sqlStr(user)}`)[0][0]);
  const outboxOf = (to) => sql(`SELECT o.template, o.status FROM outbox o WHERE o.recipient = ${sqlStr(to)}`);
  const queuedBefore = {};
  for (const u of pros) {
    assert.equal(invoicesOf(u), 1);
    queuedBefore[u] = outboxOf(`${u}@example.com`).length;
  }

  const runs = await Promise.all([0, 1, 2].map(() => spawnScheduler({ now }).done));
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  // The mail still pending (a scheduler that found the outbox claimed by
  // another may have left some): deliver it.
  await runScheduler(now);

  // Credits: each payer charged once, each short one paused, uncharged.
  const rows = sql(`SELECT a.user_id, a.balance, s.status,
      (SELECT COUNT(*) FROM ledger l WHERE l.account_id = a.id AND l.kind = 'subscription'),
      (SELECT COALESCE(SUM(l.amount), 0) FROM ledger l WHERE l.account_id = a.id),
      s.current_period_start
    FROM accounts a JOIN subscriptions s ON s.account_id = a.id WHERE ${prefixWhere(prefix)} ORDER BY a.id`);
  assert.equal(rows.length, N);
  const nextSql = next.replace('T', ' ').replace('Z', '');
  const wrong = rows.filter(([, bal, status, charges, sum, ps], i) => {
    const short = (i + 1) % 3 === 0;
    if (Number(bal) !== Number(sum)) return true;
    return short ? (status !== 'paused' || charges !== '0' || bal !== '10')
      : (status !== 'active' || charges !== '1' || bal !== '70' || ps !== nextSql);
  });
  assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${N} accounts are wrong`);

  // One email per paused account, queued once and sent once.
  const paused = Number(sql(`SELECT COUNT(*) FROM outbox o WHERE o.template = 'paused'
    AND o.recipient LIKE ${sqlStr(`${prefix}-%@example.com`)}`)[0][0]);
  assert.equal(paused, N / 3);
  const sent = sql(`SELECT o.recipient, o.status FROM outbox o WHERE o.recipient LIKE ${sqlStr(`${prefix}-%@example.com`)}`);
  assert.deepEqual(sent.filter(([, s]) => s !== 'sent').slice(0, 3), []);
  const box = mailbox();
  const delivered = (to) => box.filter((m) => m.to === to || m.headers['x-rcptto'] === to).length;
  const twice = sent.filter(([to]) => delivered(to) !== 1);
  assert.deepEqual(twice.slice(0, 3), [], `${twice.length} paused accounts did not get exactly one email`);

  // One renewal invoice per Pro subscription, and one email about it.
  for (const u of pros) {
    assert.equal(invoicesOf(u), 2, `${u}: the first invoice and one renewal`);
    const mails = outboxOf(`${u}@example.com`);
    assert.equal(mails.length, queuedBefore[u] + 1, `${u}: one email about the renewal ${JSON.stringify(mails)}`);
    assert.ok(mails.every(([, st]) => st === 'sent'), JSON.stringify(mails));
    assert.equal(delivered(`${u}@example.com`), mails.length, `${u}: each queued email delivered once`);
  }
});

// ------------------------------------------------------------ a responder

// The API responders lighttpd spawned: children of lighttpd listening on
// tally.sock-N (the gate's pool listens on tally-authz.sock-N).
function apiResponders() {
  const lighttpd = readFileSync(`${process.env.TALLY_VAR}/lighttpd.started`, 'utf8').trim();
  const kids = execFileSync('pgrep', ['-P', lighttpd], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const unix = readFileSync('/proc/net/unix', 'utf8').split('\n');
  return kids.filter((pid) => {
    let ino;
    try { ino = readlinkSync(`/proc/${pid}/fd/0`).match(/socket:\[(\d+)\]/)?.[1]; } catch { return false; }
    const line = unix.find((l) => l.split(/\s+/)[6] === ino);
    return line && /\/tally\.sock-\d+$/.test(line.trim());
  }).map(Number);
}

test('a responder killed (kill -9) while debits are in flight: lighttpd respawns it, no partial write', async (t) => {
  if ((process.env.TALLY_WEB || 'lighttpd') !== 'lighttpd') {
    t.skip('Apache does not respawn responders; systemd does (deploy/tally-fcgi.service)');
    return;
  }
  const user = newUser('kill');
  await fund(user, 100000);
  const before = apiResponders();
  assert.equal(before.length, 2, `API responders: ${before}`);

  const results = [];
  const burst = pool(Array.from({ length: 600 }, (_, i) => async () => {
    try {
      const r = await call('POST', '/internal/credits/use', { service: true, body: { user_id: user, amount: 3, operation: `k${i}` } });
      results.push(r);
    } catch (e) {
      results.push({ status: 'reset', text: String(e.cause?.code || e.message) });
    }
  }), 24);
  await sleep(150);
  process.kill(before[0], 'SIGKILL');
  await burst;

  const ok = results.filter((r) => r.status === 200);
  const other = results.filter((r) => r.status !== 200);
  // Only the requests the dead process held can fail, and as a server
  // error, never as a wrong answer.
  assert.ok(other.every((r) => r.status === 'reset' || r.status >= 500), JSON.stringify(other.slice(0, 3).map((r) => [r.status, r.text])));
  assert.ok(ok.length >= 600 - 40, `${ok.length} of 600 answered 200`);
  // Every debit answered 200 is in the ledger, each once; whatever else
  // is there is whole (ledger = balance).
  const ids = new Set(sql(`SELECT l.id FROM ledger l JOIN accounts a ON a.id = l.account_id
    WHERE a.user_id = ${sqlStr(user)} AND l.kind = 'usage'`).map(([id]) => id));
  for (const r of ok) assert.ok(ids.has(String(r.body.transaction.id)), `debit ${r.body.transaction.id} answered 200 is missing`);
  assert.ok(ids.size >= ok.length && ids.size <= 600);
  assert.ok(ledgerMatches(user));
  assert.equal(dbBalance(user), 100000 - 3 * ids.size);

  // lighttpd started a new one in its place, and it serves.
  const end = Date.now() + 10000;
  let now = apiResponders();
  while ((now.length < 2 || now.includes(before[0])) && Date.now() < end) {
    await call('GET', '/health');
    await sleep(100);
    now = apiResponders();
  }
  assert.equal(now.length, 2, `API responders after the kill: ${now}`);
  assert.ok(!now.includes(before[0]));
  const after = await Promise.all(Array.from({ length: 20 }, (_, i) =>
    call('POST', '/internal/credits/use', { service: true, body: { user_id: user, amount: 1, operation: `after${i}` } })));
  assert.deepEqual([...new Set(after.map((r) => r.status))], [200]);
  assert.ok(ledgerMatches(user));
});

// ------------------------------------------------------------ webhooks

test('a storm of 1,000 Stripe and BTCPay deliveries, shuffled, duplicated and out of order: each payment credited once', async () => {
  const STRIPE = process.env.STRIPE_STANDIN_URL;
  const BTCPAY = process.env.BTCPAY_STANDIN_URL;
  const stripe = (m, p, b) => standin(STRIPE, m, p, b);
  const btcpay = (m, p, b) => standin(BTCPAY, m, p, b);
  const NS = 150; // card purchases: 2 events each, each delivered twice
  const NL = 100; // Lightning purchases: 4 deliveries each
  const buy = async (method) => {
    const user = newUser(`storm-${method}`);
    let r;
    try {
      r = await call('POST', '/credits/purchase', { token: as(user), body: { package: 'starter', method } });
    } catch (e) {
      throw new Error(`purchase by ${method}: ${e.message}: ${e.cause?.code} ${e.cause?.message}`);
    }
    assert.equal(r.status, 201, r.text);
    return { user, id: r.body.id, r: r.body };
  };

  // Card: complete every Checkout Session while the stand-in's webhooks go
  // nowhere, so that the events exist and nothing has reached tally yet.
  const cfg = await stripe('GET', '/_test/config');
  const card = await pool(Array.from({ length: NS }, () => () => buy('card')), 8);
  const events = [];
  await stripe('POST', '/_test/config', { webhook_url: 'http://127.0.0.1:9/' });
  try {
    for (const c of card) {
      const sid = new URL(c.r.checkout_url).pathname.split('/').pop();
      const out = await stripe('POST', `/_test/checkout/${sid}/complete`, {});
      for (const d of out.deliveries) events.push(d.event_id);
    }
  } finally {
    await stripe('POST', '/_test/config', { webhook_url: cfg.webhook_url });
  }
  assert.equal(events.length, 2 * NS);
  // (One query: a node blocked in many synchronous ones lets lighttpd
  // close its idle keep-alive connections under the HTTP client.)
  const credited = sql(`SELECT COUNT(*) FROM ledger l JOIN accounts a ON a.id = l.account_id
    WHERE a.user_id IN (${card.map((c) => sqlStr(c.user)).join(', ')})`)[0][0];
  assert.equal(credited, '0', 'nothing credited before the storm');

  // Lightning: processing, then settled, neither delivered yet.
  const ln = await pool(Array.from({ length: NL }, () => () => buy('lightning')), 8);
  const lnDeliveries = [];
  for (const l of ln) {
    const inv = new URL(l.r.lightning.checkout_url).pathname.split('/').pop();
    const p = await btcpay('POST', `/_test/invoices/${inv}/processing`, { deliver: false });
    const s = await btcpay('POST', `/_test/invoices/${inv}/settle`, { deliver: false });
    // Settled twice as it was, once redelivered (a new delivery id),
    // processing last: out of order.
    lnDeliveries.push(['resend-same', s.delivery.deliveryId], ['resend-same', s.delivery.deliveryId],
      ['redeliver', s.delivery.deliveryId], ['resend-same', p.delivery.deliveryId]);
  }

  const sends = [
    ...events.flatMap((id) => [id, id]).map((id) => () => stripe('POST', `/_test/events/${id}/resend`, {})),
    ...lnDeliveries.map(([how, id]) => () => btcpay('POST', `/_test/deliveries/${id}/${how}`, {})),
  ];
  assert.equal(sends.length, 1000);
  const answers = await pool(shuffle(sends), 16);
  // Every delivery was acknowledged (a duplicate too): nothing for the
  // provider to retry.
  const statuses = answers.map((a) => a.status ?? a.delivery?.response?.status ?? a.delivery?.status);
  const notOk = statuses.filter((s) => s !== 200);
  assert.deepEqual(notOk.slice(0, 5), [], `${notOk.length} deliveries not answered 200`);

  const all = [...card, ...ln];
  const rows = sql(`SELECT a.user_id, a.balance,
      (SELECT COUNT(*) FROM ledger l WHERE l.account_id = a.id AND l.kind = 'purchase'),
      (SELECT COALESCE(SUM(l.amount), 0) FROM ledger l WHERE l.account_id = a.id),
      (SELECT GROUP_CONCAT(p.status) FROM purchases p WHERE p.account_id = a.id)
    FROM accounts a WHERE a.user_id IN (${all.map((p) => sqlStr(p.user)).join(', ')})`);
  assert.equal(rows.length, NS + NL);
  const wrong = rows.filter(([, bal, n, sum, st]) => bal !== '500' || n !== '1' || sum !== '500' || st !== 'succeeded');
  assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} purchases not credited exactly once`);
});
