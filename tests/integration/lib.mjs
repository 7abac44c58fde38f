// Helpers for the integration tests: tokens, HTTP calls, SQL checks, the stack.
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';

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

// Run SQL against the test database; returns rows as arrays of strings.
export function sql(query) {
  const out = execFileSync('mariadb', ['--no-defaults', '-S', process.env.TALLY_DB_SOCKET, '-uroot',
    '-N', '-B', 'tally', '-e', query], { encoding: 'utf8' });
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
