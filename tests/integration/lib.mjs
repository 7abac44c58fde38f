// Helpers for the integration tests: tokens, HTTP calls, SQL checks, the stack.
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';

export const URL_BASE = process.env.TALLY_URL;
export const API = `${URL_BASE}/api/v1`;
export const SERVICE_KEY = process.env.TALLY_SERVICE_KEY;
export const ADMIN_KEY = process.env.TALLY_ADMIN_KEY;
export const JWT_SECRET = process.env.TALLY_JWT_SECRET;
export const ROOT = process.env.TALLY_ROOT;

const b64u = (buf) => Buffer.from(buf).toString('base64url');

// An HS256 token; claims override the defaults (sub, exp in 1 h).
export function token(claims = {}, { secret = JWT_SECRET, header = { alg: 'HS256', typ: 'JWT' } } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { exp: now + 3600, iat: now, ...claims };
  const h = b64u(JSON.stringify(header));
  const p = b64u(JSON.stringify(payload));
  const sig = header.alg === 'none' ? '' : b64u(crypto.createHmac('sha256', secret).update(`${h}.${p}`).digest());
  return `${h}.${p}.${sig}`;
}

// A fresh user id, so tests never share state.
export function newUser(prefix = 'u') {
  return `${prefix}-${crypto.randomBytes(6).toString('hex')}`;
}

// call(method, path, {body, token, service, admin, headers, raw, contentType})
// -> {status, headers, body (parsed JSON or null), text}
export async function call(method, path, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.service) headers['X-Service-Key'] = opts.service === true ? SERVICE_KEY : opts.service;
  if (opts.admin) headers['X-Admin-Key'] = opts.admin === true ? ADMIN_KEY : opts.admin;
  let body;
  if (opts.raw !== undefined) {
    body = opts.raw;
    if (opts.contentType) headers['Content-Type'] = opts.contentType;
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] = opts.contentType || 'application/json';
  }
  const res = await fetch(path.startsWith('http') ? path : `${API}${path}`, { method, headers, body });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  return { status: res.status, headers: res.headers, body: json, text };
}

// The stack's database (tests/stack.sh): the private MariaDB's socket, or an
// external server's socket or host and port, and the database's name.
export const DB_NAME = process.env.TALLY_DB_NAME || 'tally';
// Set when the suite runs against a server it did not start (a Galera
// node, tests/galera/run.sh): tests that stop or restart it skip.
export const DB_EXTERNAL = process.env.TALLY_DB_EXTERNAL === '1'
  ? 'the database is an external server (TALLY_TEST_DB_*) that the tests must not stop or restart' : false;

// The mariadb client's options to reach that server.
export function dbArgs() {
  if (process.env.TALLY_DB_SOCKET) return ['-S', process.env.TALLY_DB_SOCKET];
  return ['-h', process.env.TALLY_DB_HOST, '-P', process.env.TALLY_DB_PORT, '--protocol=TCP'];
}

// Run SQL against the test database; returns rows as arrays of strings.
export function sql(query) {
  const out = execFileSync('mariadb', ['--no-defaults', ...dbArgs(), '-uroot',
    '-N', '-B', DB_NAME, '-e', query], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.length > 0).map((l) => l.split('\t'));
}

// Give a user credits through the admin API; returns the new balance.
export async function fund(user, amount) {
  const r = await call('POST', '/admin/credits/adjust', { admin: true,
    body: { user_id: user, amount, reason: 'test funding', actor: 'tests' } });
  if (r.status !== 200) throw new Error(`fund failed: ${r.status} ${r.text}`);
  return r.body.balance;
}

// The invariant: per account, the ledger sums to the balance.
export function ledgerMatches(user) {
  const rows = sql(`SELECT a.balance, COALESCE(SUM(l.amount),0) FROM accounts a LEFT JOIN ledger l ON l.account_id = a.id WHERE a.user_id = '${user.replace(/'/g, "''")}' GROUP BY a.id`);
  return rows.length === 1 && rows[0][0] === rows[0][1];
}

export function devStack(cmd, env = {}) {
  return execFileSync(`${ROOT}/deploy/tally-dev`, [cmd], { env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// --- added for the credit-wallet suites -----------------------------------

// A SQL string literal for s (for sql() in tests only).
export function sqlStr(s) {
  return `'${String(s).replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

// The stored balance of a user's account, or null when there is no account.
export function dbBalance(user) {
  const rows = sql(`SELECT balance FROM accounts WHERE user_id = ${sqlStr(user)}`);
  return rows.length === 0 ? null : Number(rows[0][0]);
}

// Ledger rows of a user's account (optionally of one kind).
export function ledgerCount(user, kind) {
  const rows = sql(`SELECT COUNT(*) FROM ledger l JOIN accounts a ON a.id = l.account_id WHERE a.user_id = ${sqlStr(user)}${kind ? ` AND l.kind = ${sqlStr(kind)}` : ''}`);
  return Number(rows[0][0]);
}

// Matches the API's time format: ISO 8601 UTC with a Z, whole seconds.
export const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

// Tally the statuses of a list of responses: { 200: n, 402: m, ... }.
export function statusCounts(responses) {
  const out = {};
  for (const r of responses) out[r.status] = (out[r.status] || 0) + 1;
  return out;
}

// --- the private MariaDB, stopped and started like deploy/tally-dev does ---

import { spawn } from 'node:child_process';
import fs from 'node:fs';

const SBIN_PATH = `${process.env.PATH || ''}:/usr/local/sbin:/usr/sbin:/sbin`;

// Whether the test database answers a ping.
export function dbPing() {
  try {
    execFileSync('mariadb-admin', ['--no-defaults', ...dbArgs(), '-uroot', 'ping'],
      { stdio: 'ignore', env: { ...process.env, PATH: SBIN_PATH } });
    return true;
  } catch {
    return false;
  }
}

// Shut the test database down and wait until its socket is gone.
export async function dbStop({ timeoutMs = 30000 } = {}) {
  if (DB_EXTERNAL) throw new Error(DB_EXTERNAL);
  execFileSync('mariadb-admin', ['--no-defaults', '-S', process.env.TALLY_DB_SOCKET, '-uroot', 'shutdown'],
    { stdio: 'ignore', env: { ...process.env, PATH: SBIN_PATH } });
  const end = Date.now() + timeoutMs;
  while (fs.existsSync(process.env.TALLY_DB_SOCKET)) {
    if (Date.now() > end) throw new Error('mariadbd did not remove its socket');
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Start the test database as deploy/tally-dev start_mariadb does (detached,
// own session, stdio to /dev/null), record its pid in $TALLY_VAR/mariadb.started
// so that `deploy/tally-dev stop` shuts it down, and wait for a ping.
export async function dbStart({ timeoutMs = 30000 } = {}) {
  if (DB_EXTERNAL) throw new Error(DB_EXTERNAL);
  const v = process.env.TALLY_VAR;
  const sock = process.env.TALLY_DB_SOCKET;
  fs.rmSync(sock, { force: true });
  const args = ['mariadbd', `--defaults-file=${process.env.TALLY_ROOT}/deploy/mariadb.cnf`, `--datadir=${v}/mariadb`,
    `--socket=${sock}`, '--skip-networking',
    `--pid-file=${v}/mariadb.pid`, ...(process.getuid() === 0 ? ['--user=root'] : []), `--log-error=${v}/mariadb.err`,
    '--innodb-buffer-pool-size=128M', '--max-connections=500'];
  // Not detached by node: setsid(1) then makes the new session and execs
  // mariadbd in place, so the child's pid is the server's.
  const child = spawn('setsid', args, { stdio: 'ignore', env: { ...process.env, PATH: SBIN_PATH } });
  child.unref();
  let pid = child.pid;
  fs.writeFileSync(`${v}/mariadb.started`, `${pid}\n`);
  const end = Date.now() + timeoutMs;
  while (!dbPing()) {
    if (Date.now() > end) throw new Error(`mariadbd did not start; see ${v}/mariadb.err`);
    await new Promise((r) => setTimeout(r, 200));
  }
  // The server's own pid file is the truth (should setsid have forked).
  try {
    const own = fs.readFileSync(`${v}/mariadb.pid`, 'utf8').trim();
    if (/^\d+$/.test(own) && Number(own) !== pid) {
      pid = Number(own);
      fs.writeFileSync(`${v}/mariadb.started`, `${pid}\n`);
    }
  } catch { /* keep the spawned pid */ }
  return pid;
}

// --- added for the subscription, gate, scheduler and mail suites ----------

import { spawn as spawnChild } from 'node:child_process';
import { existsSync as fsExists, readdirSync as fsReaddir, readFileSync as fsRead, writeFileSync as fsWrite,
  mkdirSync as fsMkdir, openSync as fsOpen, closeSync as fsClose } from 'node:fs';
import { connect as netConnect } from 'node:net';

// A time as the API and `--now` write it (whole seconds, Z), and as a UTC
// DATETIME literal for sql().
export function isoTime(t) {
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
export function sqlTime(t) {
  return `'${new Date(t).toISOString().slice(0, 19).replace('T', ' ')}'`;
}

// The subscription row of user's product as an object of strings (or null).
export function subRow(user, product = 'cloud_sync') {
  const cols = ['id', 'account_id', 'status', 'billing_interval', 'anchor_at', 'end_months',
    'current_period_start', 'current_period_end', 'next_charge_at', 'cancel_at_period_end', 'paused_at', 'ended_at'];
  const rows = sql(`SELECT ${cols.map((c) => `s.${c}`).join(', ')} FROM subscriptions s JOIN accounts a ON a.id = s.account_id WHERE a.user_id = ${sqlStr(user)} AND s.product = ${sqlStr(product)}`);
  if (rows.length === 0) return null;
  return Object.fromEntries(cols.map((c, i) => [c, rows[0][i] === 'NULL' ? null : rows[0][i]]));
}

// Move user's subscription to a run that started at `start` (a Date or
// ISO string) and whose current period is `months` calendar months from it:
// the period ends (and the next charge is due) at start + months.
export function setSubPeriod(user, start, { months = 1, product = 'cloud_sync' } = {}) {
  const s = sqlTime(start);
  sql(`UPDATE subscriptions s JOIN accounts a ON a.id = s.account_id SET s.anchor_at = ${s}, s.end_months = ${months},
    s.current_period_start = ${s}, s.current_period_end = ${s} + INTERVAL ${months} MONTH,
    s.next_charge_at = ${s} + INTERVAL ${months} MONTH
    WHERE a.user_id = ${sqlStr(user)} AND s.product = ${sqlStr(product)}`);
  return subRow(user, product);
}

// Take subscriptions out of the scheduler's way once a test is done with
// them (so that later runs with other --now values do not touch them).
// `where` is a condition on accounts a.
export function parkSubs(where) {
  sql(`UPDATE subscriptions s JOIN accounts a ON a.id = s.account_id SET s.status = 'canceled',
    s.next_charge_at = NULL, s.ended_at = COALESCE(s.ended_at, UTC_TIMESTAMP()) WHERE ${where}`);
}

// Ledger rows of user's subscription charges: [{amount, effect_key, balance_after}].
export function subCharges(user) {
  return sql(`SELECT l.amount, l.effect_key, l.balance_after FROM ledger l JOIN accounts a ON a.id = l.account_id WHERE a.user_id = ${sqlStr(user)} AND l.kind = 'subscription' ORDER BY l.id`)
    .map(([amount, key, after]) => ({ amount: Number(amount), effect_key: key, balance_after: Number(after) }));
}

function parseLogLines(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try { out.push(JSON.parse(line)); } catch { out.push({ raw: line }); }
  }
  return out;
}

// Start `bin/tally-scheduler --once [--now NOW]` with the stack's env and
// the repository as working folder (for www/mail).  Returns { child, done }:
// done resolves to { code, signal, log (parsed JSON lines), jobs: {name:
// counts or {skipped}} } when the process ends.
export function spawnScheduler({ now, once = true, env = {} } = {}) {
  const args = [];
  if (once) args.push('--once');
  if (now) args.push('--now', typeof now === 'string' ? now : isoTime(now));
  const child = spawnChild(`${ROOT}/bin/tally-scheduler`, args,
    { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const done = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const log = parseLogLines(stderr);
      const jobs = {};
      for (const l of log) {
        if (l.ev === 'sched.job') jobs[l.job] = l;
        else if (l.ev === 'sched.job.skipped') jobs[l.job] = { skipped: true, why: l.why };
      }
      resolve({ code, signal, log, jobs, stdout, stderr });
    });
  });
  return { child, done };
}

// Run one scheduler tick to the end; throws when it fails or a job errs.
export async function runScheduler(now, opts = {}) {
  const r = await spawnScheduler({ now, ...opts }).done;
  if (r.code !== 0) throw new Error(`tally-scheduler exited ${r.code} ${r.signal}: ${r.stderr}`);
  for (const [name, j] of Object.entries(r.jobs))
    if (j.error) throw new Error(`scheduler job ${name} failed: ${JSON.stringify(j)}`);
  return r;
}

// --- the SMTP sink (aiosmtpd writing a Maildir), as deploy/tally-dev runs it ---

export const MAILDIR = process.env.TALLY_MAILDIR;

// RFC 2047 encoded words (B and Q) in a header value, decoded.
export function decodeHeader(v) {
  return v.replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=(\s+(?==\?))?/g, (_, cs, enc, text) => {
    const buf = enc.toUpperCase() === 'B' ? Buffer.from(text, 'base64')
      : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (m, h) => String.fromCharCode(parseInt(h, 16))), 'latin1');
    return buf.toString(/^utf-?8$/i.test(cs) ? 'utf8' : 'latin1');
  });
}

// An RFC 5322 message: { headers: {lower-case name: value}, subject, to, body }
// with the subject and the body (base64 or 7bit) decoded.
export function parseMail(raw) {
  const text = raw.replace(/\r\n/g, '\n');
  const cut = text.indexOf('\n\n');
  const head = cut < 0 ? text : text.slice(0, cut);
  const rawBody = cut < 0 ? '' : text.slice(cut + 2);
  const headers = {};
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const cte = (headers['content-transfer-encoding'] || '').toLowerCase();
  const body = cte === 'base64' ? Buffer.from(rawBody.replace(/\s+/g, ''), 'base64').toString('utf8') : rawBody;
  return { headers, subject: decodeHeader(headers.subject || ''), to: headers.to || '', body, raw };
}

// Messages delivered to the sink (Maildir new/ and cur/), optionally only
// those whose To or envelope recipient is `to`.
export function mailbox(to) {
  const out = [];
  for (const sub of ['new', 'cur']) {
    const dir = `${MAILDIR}/${sub}`;
    if (!fsExists(dir)) continue;
    for (const f of fsReaddir(dir).sort()) {
      const m = parseMail(fsRead(`${dir}/${f}`, 'utf8'));
      m.file = `${dir}/${f}`;
      if (to === undefined || m.to === to || m.headers['x-rcptto'] === to) out.push(m);
    }
  }
  return out;
}

// The sink's port, from smtp.url in $TALLY_CONFIG.
export function smtpPort() {
  const conf = fsRead(process.env.TALLY_CONFIG, 'utf8');
  const m = conf.match(/^\s*url\s*=\s*smtps?:\/\/[^:/\s]+:(\d+)/m);
  return m ? Number(m[1]) : 25;
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

// Whether the sink answers on its port.
export function smtpUp() {
  return portOpen(smtpPort());
}

const sleepMs = (ms) => new Promise((r) => setTimeout(r, ms));

// Stop the sink: the pid in $TALLY_VAR/smtp.started, SIGTERM, wait until
// the port is closed.
export async function smtpStop({ timeoutMs = 10000 } = {}) {
  const f = `${process.env.TALLY_VAR}/smtp.started`;
  const pid = fsExists(f) ? Number(fsRead(f, 'utf8').trim()) : 0;
  if (pid > 0) {
    try { process.kill(pid, 'SIGTERM'); } catch { /* gone already */ }
  }
  const end = Date.now() + timeoutMs;
  while (await smtpUp()) {
    if (Date.now() > end) throw new Error(`the SMTP sink (pid ${pid}) did not stop`);
    await sleepMs(50);
  }
}

// Start the sink as deploy/tally-dev does (setsid, own session, Maildir in
// $TALLY_VAR/mail), record its pid in $TALLY_VAR/smtp.started so that
// `deploy/tally-dev stop` ends it, and wait until it listens.
export async function smtpStart({ timeoutMs = 15000 } = {}) {
  if (await smtpUp()) return 0;
  const v = process.env.TALLY_VAR;
  const port = smtpPort();
  for (const d of ['tmp', 'new', 'cur']) fsMkdir(`${v}/mail/${d}`, { recursive: true });
  const log = fsOpen(`${v}/smtp.log`, 'a');
  // Not detached by node: setsid(1) makes the session and execs aiosmtpd
  // in place, so the child's pid is the sink's.
  const child = spawnChild('setsid', ['/usr/bin/aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c',
    'aiosmtpd.handlers.Mailbox', `${v}/mail`], { stdio: ['ignore', log, log] });
  child.unref();
  fsClose(log);
  fsWrite(`${v}/smtp.started`, `${child.pid}\n`);
  const end = Date.now() + timeoutMs;
  while (!(await smtpUp())) {
    if (Date.now() > end) throw new Error(`the SMTP sink did not start; see ${v}/smtp.log`);
    await sleepMs(50);
  }
  return child.pid;
}

// iso plus n calendar months, clamped to the month's last day (Jan 31 + 1
// = Feb 28/29), time of day kept; the API's ISO format.
export function addMonthsIso(iso, n) {
  const d = new Date(iso);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + n;
  const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return isoTime(Date.UTC(y, m, Math.min(d.getUTCDate(), last), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()));
}

// --- a second, independent stack with another config ----------------------
//
// startStack({name, set, procs}) brings up another lighttpd + tally-fcgi
// pool on a free loopback port, with a copy of the stack's config changed
// by `set` ({'stripe.secret_key': '', 'auth.jwks_url': URL, ...}; a key
// that is not in the file is added to its section).  It shares the stack's
// MariaDB (same database, so sql() sees its rows), SMTP sink and stand-ins.
// `procs` sets the responder processes per pool (lighttpd's max-procs;
// deploy/lighttpd.conf has 2).  Its files live in $TALLY_VAR/stacks/NAME.*,
// so that the harness's exit trap (tests/stack.sh) stops it even when node
// dies; call stop() (idempotent) in a finally or after() hook, and node's
// exit stops any left running.  Resolves to {url, api, config, dir, log(),
// stop()} once GET /api/v1/health answers 200.

import { mkdtempSync, rmSync as fsRm } from 'node:fs';
import { createServer as netServer } from 'node:net';

// A TCP port nothing listens on now (the kernel's pick).
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = netServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// The INI text with [section] key set to value (replaced, or added at the
// end of the section, or in a new section at the end).
export function iniSet(text, section, key, value) {
  const lines = text.split('\n');
  let insec = false;
  let last = -1;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (/^\s*\[/.test(l)) {
      insec = l.trim() === `[${section}]`;
      if (insec) last = i;
      continue;
    }
    if (!insec || /^\s*[;#]/.test(l)) continue;
    const eq = l.indexOf('=');
    if (eq > 0 && l.slice(0, eq).trim() === key) {
      lines[i] = `${key} = ${value}`;
      return lines.join('\n');
    }
    if (l.trim() !== '') last = i;
  }
  if (last < 0) return `${text.replace(/\n*$/, '\n')}\n[${section}]\n${key} = ${value}\n`;
  lines.splice(last + 1, 0, `${key} = ${value}`);
  return lines.join('\n');
}

const runningStacks = new Set();

function stopStackDir(dir) {
  try {
    execFileSync(`${ROOT}/deploy/tally-dev`, ['stop'], {
      env: { ...process.env, TALLY_VAR: dir, TALLY_CONFIG: `${dir}/tally.conf` },
      stdio: 'ignore',
    });
  } catch { /* stopped already, or never started */ }
  fsRm(dir, { recursive: true, force: true });
}

process.on('exit', () => {
  for (const dir of runningStacks) stopStackDir(dir);
});

export async function startStack({ name = 'second', set = {}, ini = [], procs, timeoutMs = 20000 } = {}) {
  const parent = `${process.env.TALLY_VAR}/stacks`;
  fsMkdir(parent, { recursive: true });
  const dir = mkdtempSync(`${parent}/${name}.`);
  runningStacks.add(dir);
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    runningStacks.delete(dir);
    stopStackDir(dir);
  };
  const logFile = `${dir}/fcgi.log`;
  const log = () => (fsExists(logFile) ? fsRead(logFile, 'utf8') : '');
  try {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let conf = fsRead(process.env.TALLY_CONFIG, 'utf8');
    conf = iniSet(conf, 'http', 'listen', `127.0.0.1:${port}`);
    conf = iniSet(conf, 'http', 'public_url', url);
    // The stack's MariaDB, not one under this stack's folder.
    // (An external server's address and database are in the copy already.)
    if (process.env.TALLY_DB_EXTERNAL !== '1') conf = iniSet(conf, 'database', 'socket', process.env.TALLY_DB_SOCKET);
    for (const [k, v] of Object.entries(set)) {
      const dot = k.lastIndexOf('.');
      conf = iniSet(conf, k.slice(0, dot), k.slice(dot + 1), v);
    }
    // [section, key, value] for keys with a dot (quota.requests).
    for (const [section, key, value] of ini) conf = iniSet(conf, section, key, value);
    const config = `${dir}/tally.conf`;
    fsWrite(config, conf);
    let lt = fsRead(`${ROOT}/deploy/lighttpd.conf`, 'utf8')
      .replaceAll('@ROOT@', ROOT).replaceAll('@VAR@', dir).replaceAll('@CONFIG@', config)
      .replaceAll('@HOST@', '127.0.0.1').replaceAll('@PORT@', String(port));
    if (procs !== undefined) lt = lt.replace(/"max-procs" => \d+/g, `"max-procs" => ${Number(procs)}`);
    fsWrite(`${dir}/lighttpd.conf`, lt);
    // The environment must not override what the copy says.
    const env = Object.fromEntries(Object.entries(process.env)
      .filter(([k]) => !/^TALLY_[A-Z]+_[A-Z_]+$/.test(k) || k === 'TALLY_NO_SCHEDULER'));
    Object.assign(env, { TALLY_VAR: dir, TALLY_CONFIG: config, PATH: SBIN_PATH });
    const out = fsOpen(logFile, 'a');
    // setsid: lighttpd signals its process group when it stops; the pid
    // file is where `deploy/tally-dev stop` looks.
    const child = spawnChild('setsid', ['lighttpd', '-D', '-f', `${dir}/lighttpd.conf`],
      { env, stdio: ['ignore', out, out] });
    child.unref();
    fsClose(out);
    fsWrite(`${dir}/lighttpd.started`, `${child.pid}\n`);
    const end = Date.now() + timeoutMs;
    for (;;) {
      try {
        const r = await fetch(`${url}/api/v1/health`);
        if (r.status === 200) break;
      } catch { /* not yet */ }
      if (Date.now() > end) throw new Error(`the second stack ${name} did not come up:\n${log().slice(-3000)}`);
      await sleepMs(100);
    }
    return { url, api: `${url}/api/v1`, config, dir, log, stop };
  } catch (e) {
    stop();
    throw e;
  }
}

// --- bulk subscriptions, for the scheduler and fault tests ---

const unixOf = (iso) => Date.parse(iso) / 1000;

export const prefixWhere = (prefix) => `a.user_id LIKE ${sqlStr(`${prefix}-%`)}`;

// n accounts "PREFIX-00001".. with a monthly cloud_sync subscription whose
// current period runs from `start` for one month, written in bulk.  Each
// balance (the SQL expression of seq) has a matching adjustment row, so
// the ledger sums to the balance.
export function bulkSubs(prefix, n, { start, balanceSql = '30 + seq % 7' }) {
  const s = sqlTime(start);
  sql(`INSERT INTO accounts (user_id, balance, created_at, updated_at)
    SELECT CONCAT(${sqlStr(`${prefix}-`)}, LPAD(seq, 5, '0')), ${balanceSql}, UTC_TIMESTAMP(), UTC_TIMESTAMP() FROM seq_1_to_${n}`);
  sql(`INSERT INTO ledger (account_id, kind, amount, balance_after, description, created_at)
    SELECT a.id, 'adjustment', a.balance, a.balance, 'test funding (bulk)', UTC_TIMESTAMP() FROM accounts a WHERE ${prefixWhere(prefix)} ORDER BY a.id`);
  sql(`INSERT INTO subscriptions (account_id, user_id, product, status, billing_interval, anchor_at, end_months,
      current_period_start, current_period_end, next_charge_at, cancel_at_period_end, created_at, updated_at)
    SELECT a.id, a.user_id, 'cloud_sync', 'active', 'monthly', ${s}, 1, ${s}, ${s} + INTERVAL 1 MONTH, ${s} + INTERVAL 1 MONTH, 0,
      UTC_TIMESTAMP(), UTC_TIMESTAMP() FROM accounts a WHERE ${prefixWhere(prefix)} ORDER BY a.id`);
  return sql(`SELECT s.id, s.account_id FROM subscriptions s JOIN accounts a ON a.id = s.account_id WHERE ${prefixWhere(prefix)} ORDER BY s.id`)
    .map(([id, acct]) => ({ id: Number(id), account: Number(acct) }));
}

// Per account of the prefix: [balance, ledger sum, subscription charges,
// charges keyed for period start P, initial funding].
export function bulkState(prefix, periodStartIso) {

  return sql(`SELECT a.id, a.balance,
      (SELECT COALESCE(SUM(l.amount), 0) FROM ledger l WHERE l.account_id = a.id),
      (SELECT COUNT(*) FROM ledger l WHERE l.account_id = a.id AND l.kind = 'subscription'),
      (SELECT COUNT(*) FROM ledger l WHERE l.account_id = a.id AND l.kind = 'subscription' AND l.effect_key LIKE CONCAT('sub:', s.id, ':%')
        AND l.effect_key LIKE ${sqlStr(`%:${unixOf(periodStartIso)}`)} AND l.amount = -30),
      (SELECT l.amount FROM ledger l WHERE l.account_id = a.id AND l.kind = 'adjustment'),
      s.current_period_start, s.current_period_end, s.next_charge_at, s.status
    FROM accounts a JOIN subscriptions s ON s.account_id = a.id WHERE ${prefixWhere(prefix)} ORDER BY a.id`)
    .map((r) => ({ account: r[0], balance: Number(r[1]), sum: Number(r[2]), charges: Number(r[3]), keyed: Number(r[4]),
      funded: Number(r[5]), start: r[6], end: r[7], next: r[8], status: r[9] }));
}

// The same, counting uncommitted rows too (a dirty read).
export function dirtyCharges(prefix) {
  return Number(sql(`SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED;
    SELECT COUNT(*) FROM ledger l JOIN accounts a ON a.id = l.account_id WHERE ${prefixWhere(prefix)} AND l.kind = 'subscription'`)[0][0]);
}

export function committedCharges(prefix) {
  return Number(sql(`SELECT COUNT(*) FROM ledger l JOIN accounts a ON a.id = l.account_id WHERE ${prefixWhere(prefix)} AND l.kind = 'subscription'`)[0][0]);
}

// Every account of the prefix charged exactly once, for the period that
// starts at periodStart, with the ledger equal to the balance.
export function assertEachChargedOnce(prefix, n, periodStart) {
  const rows = bulkState(prefix, periodStart);
  assert.equal(rows.length, n);
  const dbl = (s) => s.replace('T', ' ').replace('Z', '');
  const bad = rows.filter((r) => r.charges !== 1 || r.keyed !== 1 || r.balance !== r.sum || r.balance !== r.funded - 30 ||
    r.status !== 'active' || r.start !== dbl(periodStart) || r.end !== dbl(addMonthsIso(periodStart, 1)) || r.next !== r.end);
  assert.deepEqual(bad.slice(0, 5), [], `${bad.length} of ${n} accounts are wrong`);
}

// Wait until the server has dropped connection `id` (a killed client) and
// the job lock is free again.
export async function waitConnectionGone(id, timeoutMs = 20000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const [[alive, free]] = sql(`SELECT (SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ${Number(id)}),
      IS_FREE_LOCK('tally.job.charge-recurring')`);
    if (alive === '0' && free === '1') return;
    if (Date.now() > end) throw new Error(`connection ${id} of the killed scheduler is still there`);
    await sleepMs(50);
  }
}


// The last path segment of a URL (a Checkout session id in checkout_url).
export const lastSegment = (url) => new URL(url).pathname.split('/').pop();

// A stand-in's control API (/_test/...): JSON in and out; a status of 300
// or more fails the test.
export async function standin(base, method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.status < 300, `stand-in ${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
