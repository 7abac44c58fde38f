// Debit load for tests/galera/run.sh: workers POST
// /api/v1/internal/credits/use (amount 1; every other one with a fresh
// Idempotency-Key, the description is that key either way) to the pools
// in turn; a keyed debit's 503 or a dropped connection is retried on the
// next pool with the same key, so a debit the dead node committed is
// answered from the replicated idempotency record, not taken twice.
//
// usage: node load.mjs SECONDS WORKERS USERS PREFIX URL[,URL...] > out.json
// Prints {ok:[[key,user,txid]...], failed:[[key,user,lastStatus]...],
// statuses:{...}, retries, seconds}.  X-Service-Key from TALLY_SERVICE_KEY;
// the debits' operation from GALERA_OP (default galera).
import { randomBytes } from 'node:crypto';

const [secs, workers, users, prefix, urlList] = process.argv.slice(2);
const urls = urlList.split(',');
const key = process.env.TALLY_SERVICE_KEY;
const end = Date.now() + Number(secs) * 1000;
const OP = process.env.GALERA_OP || 'galera';
const out = { ok: [], failed: [], statuses: {}, retries: 0, seconds: 0 };
const run = randomBytes(4).toString('hex');
let n = 0;

async function once(url, body, idem) {
  try {
    const r = await fetch(`${url}/api/v1/internal/credits/use`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-service-key': key,
        ...(idem ? { 'idempotency-key': idem } : {}) },
      body, signal: AbortSignal.timeout(15000),
    });
    const text = await r.text();
    return { status: r.status, json: r.status < 300 ? JSON.parse(text) : null };
  } catch {
    return { status: 'neterr' };
  }
}

async function worker(w) {
  let turn = w;
  while (Date.now() < end) {
    const i = n++;
    const user = `${prefix}-${String(1 + (i % Number(users))).padStart(5, '0')}`;
    const idem = `g-${run}-${i}`;
    const body = JSON.stringify({ user_id: user, amount: 1, operation: OP, description: idem });
    let r;
    for (let a = 0; a < 4; a++) {
      // Odd debits go without a key (the one-CALL path, db_call): their
      // outcome after a lost connection is unknown, so they are not sent
      // again.
      r = await once(urls[turn++ % urls.length], body, i % 2 ? null : idem);
      out.statuses[r.status] = (out.statuses[r.status] || 0) + 1;
      if (i % 2 || (r.status !== 503 && r.status !== 'neterr' && r.status !== 502)) break;
      out.retries++;
      await new Promise((res) => setTimeout(res, 50 * (a + 1)));
    }
    if (r.status === 200) out.ok.push([idem, user, r.json.transaction.id]);
    else out.failed.push([idem, user, r.status]);
  }
}

const t0 = Date.now();
await Promise.all(Array.from({ length: Number(workers) }, (_, w) => worker(w)));
out.seconds = (Date.now() - t0) / 1000;
process.stdout.write(JSON.stringify(out));
