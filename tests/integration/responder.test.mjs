// tally-fcgi on its own (--listen), spoken to with libfcgi's cgi-fcgi, and
// the scheduler's signal handling: both stop cleanly on SIGTERM.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ROOT } from './lib.mjs';

const env = { ...process.env };

function waitFor(cond, ms = 5000) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      if (cond()) return resolve();
      if (Date.now() - t0 > ms) return reject(new Error('timed out'));
      setTimeout(tick, 50);
    };
    tick();
  });
}

function exited(child) {
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
}

// One FastCGI request through cgi-fcgi: the raw CGI response.
function fcgi(sock, uri, extra = {}) {
  return execFileSync('cgi-fcgi', ['-bind', '-connect', sock], {
    env: { ...env, REQUEST_METHOD: 'GET', REQUEST_URI: uri, SERVER_PROTOCOL: 'HTTP/1.1', ...extra },
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  });
}

test('tally-fcgi --listen PATH serves FastCGI and stops on SIGTERM within seconds', async () => {
  const sock = `${process.env.TALLY_VAR}/standalone-${process.pid}.sock`;
  const child = spawn(`${ROOT}/bin/tally-fcgi`, ['--listen', sock, '--threads', '3'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const done = exited(child);
  await waitFor(() => existsSync(sock));
  const health = fcgi(sock, '/api/v1/health');
  assert.match(health, /^Status: 200 OK\r\n/);
  assert.match(health, /\r\nX-Request-Id: [0-9a-f]{16}\r\n/);
  assert.match(health, /\{"status":"ok"\}$/);
  const missing = fcgi(sock, '/api/v1/nope');
  assert.match(missing, /^Status: 404 /);
  assert.match(missing, /"error":"not_found"/);
  // The threads sit in accept(2): SIGTERM must still end the process.
  const t0 = Date.now();
  child.kill('SIGTERM');
  const { code } = await done;
  assert.equal(code, 0);
  assert.ok(Date.now() - t0 < 3000, 'stopped promptly');
});

// Start a standalone responder with extra environment; collect its stderr.
async function standalone(name, extraEnv) {
  const sock = `${process.env.TALLY_VAR}/${name}-${process.pid}.sock`;
  const child = spawn(`${ROOT}/bin/tally-fcgi`, ['--listen', sock, '--threads', '2'],
    { env: { ...env, ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] });
  const log = { text: '' };
  child.stderr.on('data', (d) => { log.text += d.toString(); });
  const done = exited(child);
  await waitFor(() => existsSync(sock));
  return { sock, log, stop: async () => { child.kill('SIGTERM'); await done; } };
}

const requestLines = (text) => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))
  .filter((o) => o.ev === 'http.request' || o.ev === 'http.slow');

test('request log: off by default (the web server logs access), on with http.access_log, failures always', async () => {
  const quiet = await standalone('quiet', {});
  for (let i = 0; i < 5; i++) assert.match(fcgi(quiet.sock, '/api/v1/catalog'), /^Status: 200 /);
  await quiet.stop();
  assert.deepEqual(requestLines(quiet.log.text), [], 'no line for fast successful requests');

  const full = await standalone('full', { TALLY_HTTP_ACCESS_LOG: 'yes' });
  const r = fcgi(full.sock, '/api/v1/catalog?token=secret');
  const id = r.match(/\r\nX-Request-Id: ([0-9a-f]{16})\r\n/)[1];
  await full.stop();
  const lines = requestLines(full.log.text);
  assert.equal(lines.length, 1);
  assert.equal(lines[0].ev, 'http.request');
  assert.equal(lines[0].req, id, 'the line names the X-Request-Id the client saw');
  assert.equal(lines[0].path, '/api/v1/catalog', 'the path only, never the query');
  assert.equal(lines[0].status, 200);

  // With the access log off, a failure (here: no database) is logged.
  const down = await standalone('down', { TALLY_DATABASE_SOCKET: '/nonexistent.sock' });
  assert.match(fcgi(down.sock, '/api/v1/health'), /^Status: 503 /);
  await down.stop();
  const dl = requestLines(down.log.text);
  assert.equal(dl.length, 1, 'a failed request is always logged');
  assert.equal(dl[0].status, 503);
  assert.equal(dl[0].lvl, 'error');
});

test('tally-fcgi refuses to start without a socket, and names a bad config key', () => {
  assert.throws(() => execFileSync(`${ROOT}/bin/tally-fcgi`, [], { env, stdio: ['pipe', 'pipe', 'pipe'] }),
    (e) => e.status === 1 && /not a FastCGI socket/.test(e.stderr.toString()));
  const r = (() => {
    try {
      execFileSync(`${ROOT}/bin/tally-fcgi`, ['--listen', '/tmp/never.sock'],
        { env: { ...env, TALLY_AUTH_SERVICE_KEY: '' }, stdio: ['pipe', 'pipe', 'pipe'] });
      return null;
    } catch (e) { return e; }
  })();
  assert.ok(r, 'it must not start');
  assert.equal(r.status, 1);
  assert.match(r.stderr.toString(), /^tally-fcgi: auth\.service_key: required\n$/);
});

test('tally-scheduler: one JSON log line per job, and SIGTERM ends the loop', async () => {
  const once = execFileSync(`${ROOT}/bin/tally-scheduler`, ['--once', '--now', '2035-01-01T00:00:00Z'],
    { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  // --once writes its log on stderr; execFileSync returns stdout.
  assert.equal(once, '');
  const child = spawn(`${ROOT}/bin/tally-scheduler`, [], { env: { ...env, TALLY_SCHEDULER_TICK_SECONDS: '3600' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  const done = exited(child);
  await waitFor(() => /"job":"purge"/.test(log));
  const jobs = log.split('\n').filter((l) => l.includes('"ev":"sched.job"')).map((l) => JSON.parse(l).job);
  assert.deepEqual(jobs, ['reconcile-lightning', 'expire-purchases', 'charge-recurring', 'invoice-expiry',
    'invoice-renewals', 'plan-billing', 'dunning', 'refund-duplicates', 'deliver-mail', 'deliver-events', 'purge']);
  const t0 = Date.now();
  child.kill('SIGTERM');
  const { code } = await done;
  assert.equal(code, 0);
  assert.ok(Date.now() - t0 < 3000, 'the hour-long sleep is interrupted');
  assert.match(log, /"ev":"sched.stop"/);
});
