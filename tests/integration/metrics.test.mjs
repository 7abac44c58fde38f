// GET /api/v1/admin/metrics: the Prometheus text format, behind the admin
// key; request counts shared by every responder process (the API pool and
// the gate's pool count into one file), the latency histogram, database
// errors, the outbox backlog and the scheduler's record (the database
// going away: zz_metrics_db.test.mjs, run late as it stops MariaDB).
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  URL_BASE, ADMIN_KEY, SERVICE_KEY, call, token, newUser, fund, sql, sqlStr, runScheduler,
} from './lib.mjs';
import { value, scrape, checkHistograms, health } from './prom.mjs';

const balance = { method: 'GET', route: '/api/v1/credits/balance' };
const gate = { method: 'AUTHORIZER', route: '(gate)' };

test('metrics need the admin key', async () => {
  assert.equal((await call('GET', '/admin/metrics')).status, 401);
  assert.equal((await call('GET', '/admin/metrics', { admin: 'not-the-key-at-all' })).status, 401);
  assert.equal((await call('GET', '/admin/metrics', { service: SERVICE_KEY })).status, 401, 'the service key is not enough');
  const r = await call('GET', '/admin/metrics', { admin: ADMIN_KEY });
  assert.equal(r.status, 200);
});

test('requests counted by route and status class across the responder processes, with latency', async () => {
  const before = await scrape();
  const user = newUser('metrics');
  // Concurrent, so that both API processes of the pool serve some.
  const rs = await Promise.all([
    ...Array.from({ length: 24 }, () => call('GET', '/health')),
    ...Array.from({ length: 5 }, () => call('GET', '/credits/balance')),
    ...Array.from({ length: 3 }, () => call('GET', '/credits/balance', { token: token({ sub: user }) })),
    call('GET', '/no/such/route'),
  ]);
  assert.deepEqual(rs.map((r) => r.status).sort(), [...Array(24).fill(200), ...Array(3).fill(200), ...Array(5).fill(401), 404].sort());
  // The gate runs in lighttpd's other pool (its own processes).
  const g = await Promise.all(Array.from({ length: 4 }, () => fetch(`${URL_BASE}/sync/`)));
  assert.deepEqual(g.map((r) => r.status), [401, 401, 401, 401]);

  const after = await scrape();
  const d = (labels) => value(after, 'tally_http_requests_total', labels) - value(before, 'tally_http_requests_total', labels);
  assert.equal(d({ ...health, status: '2xx' }), 24);
  assert.equal(d({ ...balance, status: '2xx' }), 3);
  assert.equal(d({ ...balance, status: '4xx' }), 5);
  assert.equal(d({ method: '*', route: '(unmatched)', status: '4xx' }), 1);
  assert.equal(d({ ...gate, status: '4xx' }), 4, 'the gate pool counts into the same file');
  // The first scrape itself is counted (the one in progress is not yet).
  assert.equal(d({ method: 'GET', route: '/api/v1/admin/metrics', status: '2xx' }), 1);

  const dc = (labels) => value(after, 'tally_http_request_duration_seconds_count', labels)
    - value(before, 'tally_http_request_duration_seconds_count', labels);
  assert.equal(dc(health), 24);
  assert.equal(dc(gate), 4);
  assert.ok(value(after, 'tally_http_request_duration_seconds_sum', health) > value(before, 'tally_http_request_duration_seconds_sum', health));
  assert.ok(value(after, 'tally_http_request_duration_seconds_bucket', { ...health, le: '10' }) >= 24, 'all within 10 s');
  checkHistograms(after);

  assert.equal(value(after, 'tally_metrics_shared'), 1);
  assert.ok(value(after, 'tally_metrics_slots') >= 2, 'several threads count');
  assert.equal(after.families.tally_http_requests_total.type, 'counter');
  assert.equal(after.families.tally_http_request_duration_seconds.type, 'histogram');
  assert.equal(value(after, 'tally_database_up'), 1);
});

test('the outbox backlog is read from the database at scrape time', async (t) => {
  const tag = newUser('backlog');
  t.after(() => sql(`DELETE FROM outbox WHERE dedupe_key LIKE ${sqlStr(`${tag}:%`)}`));
  const before = await scrape();
  const ins = (key, status, attempts, createdMin) => sql(`INSERT INTO outbox (dedupe_key, template, locale, recipient, params,
    status, attempts, next_attempt_at, created_at) VALUES (${sqlStr(`${tag}:${key}`)}, 'invoice', 'en', 'x@example.com', '{}',
    ${sqlStr(status)}, ${attempts}, UTC_TIMESTAMP() + INTERVAL 12 HOUR, UTC_TIMESTAMP() - INTERVAL ${createdMin} MINUTE)`);
  ins('a', 'pending', 0, 5);
  ins('b', 'pending', 3, 50000);
  ins('c', 'failed', 10, 60);
  const after = await scrape();
  const d = (name) => value(after, name) - value(before, name);
  assert.equal(d('tally_outbox_pending'), 2);
  assert.equal(d('tally_outbox_retrying'), 1);
  assert.equal(d('tally_outbox_failed'), 1);
  assert.equal(d('tally_outbox_due'), 0, 'not due for 12 hours');
  assert.ok(value(after, 'tally_outbox_oldest_pending_age_seconds') >= 50000 * 60 - 5);
  assert.equal(after.families.tally_outbox_pending.type, 'gauge');
});

test('scheduler jobs: runs, durations and their counts, recorded by the scheduler process', async (t) => {
  const before = await scrape();
  const user = newUser('metrics-sched');
  t.after(() => sql(`UPDATE subscriptions s JOIN accounts a ON a.id = s.account_id SET s.status = 'canceled', s.next_charge_at = NULL WHERE a.user_id = ${sqlStr(user)}`));
  await fund(user, 60);
  const r = await call('POST', '/subscriptions/cloud_sync/activate', { token: token({ sub: user }), body: { interval: 'monthly' } });
  assert.equal(r.status, 200, r.text);
  // Its renewal due a minute ago: the tick charges it.
  sql(`UPDATE subscriptions s JOIN accounts a ON a.id = s.account_id SET s.next_charge_at = UTC_TIMESTAMP() - INTERVAL 1 MINUTE,
    s.current_period_end = UTC_TIMESTAMP() - INTERVAL 1 MINUTE, s.current_period_start = UTC_TIMESTAMP() - INTERVAL 1 MONTH - INTERVAL 1 MINUTE,
    s.anchor_at = UTC_TIMESTAMP() - INTERVAL 1 MONTH - INTERVAL 1 MINUTE WHERE a.user_id = ${sqlStr(user)}`);
  const t0 = Math.floor(Date.now() / 1000);
  const run = await runScheduler();
  const after = await scrape();
  const job = (name) => ({ job: name });
  const d = (name, labels) => value(after, name, labels) - value(before, name, labels);
  const ran = Object.keys(run.jobs).filter((n) => !run.jobs[n].skipped);
  assert.ok(ran.length >= 8, JSON.stringify(run.jobs));
  for (const name of ran) {
    assert.equal(d('tally_scheduler_job_runs_total', job(name)), 1, name);
    assert.equal(d('tally_scheduler_job_duration_seconds_count', job(name)), 1, name);
    assert.ok(value(after, 'tally_scheduler_job_last_run_timestamp_seconds', job(name)) >= t0 - 1, name);
    assert.ok(value(after, 'tally_scheduler_job_last_success_timestamp_seconds', job(name)) >= t0 - 1, name);
    assert.equal(d('tally_scheduler_job_failures_total', job(name)), 0, name);
  }
  assert.ok(Object.keys(run.jobs).includes('charge-recurring'));
  const charged = run.jobs['charge-recurring'].charged;
  assert.ok(charged >= 1, JSON.stringify(run.jobs['charge-recurring']));
  assert.equal(d('tally_scheduler_job_items_total', { job: 'charge-recurring', count: 'charged' }), charged);
  assert.equal(after.families.tally_scheduler_job_duration_seconds.type, 'summary');
  assert.equal(after.families.tally_scheduler_job_runs_total.type, 'counter');
});
