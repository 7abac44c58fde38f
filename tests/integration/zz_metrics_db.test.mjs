// The metrics while the database is down: database errors counted, the
// responders' counters still served (tally_database_up 0), and all well
// again once it is back.  Named zz_ to run late: it stops MariaDB.
import test from 'node:test';
import assert from 'node:assert/strict';
import { call, dbStop, dbStart, dbPing, DB_EXTERNAL } from './lib.mjs';
import { parseProm, value, scrape, health } from './prom.mjs';

test('database errors are counted, and the counters still answer while the database is down', { skip: DB_EXTERNAL }, async () => {
  const before = await scrape();
  await dbStop();
  try {
    const h = await call('GET', '/health');
    assert.equal(h.status, 503);
    const down = await call('GET', '/admin/metrics', { admin: true });
    assert.equal(down.status, 200, down.text);
    const p = parseProm(down.text);
    assert.equal(value(p, 'tally_database_up'), 0);
    assert.ok(value(p, 'tally_db_errors_total', { kind: 'unavailable' }) > value(before, 'tally_db_errors_total', { kind: 'unavailable' }));
    assert.equal(value(p, 'tally_http_requests_total', { ...health, status: '5xx' })
      - value(before, 'tally_http_requests_total', { ...health, status: '5xx' }), 1);
    assert.ok(!('tally_outbox_pending' in p.families), 'no database figures without the database');
  } finally {
    if (!dbPing()) await dbStart();
  }
  // The responders reconnect by themselves.
  let ok = false;
  for (let i = 0; i < 50 && !ok; i++) {
    ok = (await call('GET', '/health')).status === 200;
    if (!ok) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(ok, 'healthy again');
  assert.equal(value(await scrape(), 'tally_database_up'), 1);
});
