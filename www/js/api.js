// The tally REST API (/api/v1): one fetch wrapper, errors as ApiError.
import { token } from './auth.js';

const BASE = '/api/v1';

export class ApiError extends Error {
  // status 0: the request never got an answer (network, server down).
  constructor(status, code, message, field) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
    this.field = field || null;
  }

  // A route this server does not have (yet): the section hides itself.
  get missingRoute() {
    return this.status === 404;
  }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

// Idempotency keys of POSTs that did not get an answer: a retry of the same
// request (same method, path and body) reuses its key, so that a purchase or
// a payment whose answer was lost in the network is never made twice.
const pendingKeys = new Map();

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// api('GET', '/credits/balance') -> parsed JSON; throws ApiError.
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const tok = token();
  if (tok) headers.Authorization = `Bearer ${tok}`;
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let slot;
  if (method === 'POST') {
    slot = `${path}\n${payload || ''}`;
    if (!pendingKeys.has(slot)) pendingKeys.set(slot, newKey());
    headers['Idempotency-Key'] = pendingKeys.get(slot);
  }
  let res;
  try {
    res = await fetch(BASE + path, {
      method, headers, body: payload, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer',
    });
  } catch {
    throw new ApiError(0, 'network', '');
  }
  // An answer, good or bad: the next attempt is a new request.
  if (slot) pendingKeys.delete(slot);
  let data = null;
  const text = await res.text();
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const err = new ApiError(res.status, data && data.error, data && data.message, data && data.field);
    if (res.status === 401 && tok) onUnauthorized(err);
    throw err;
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body);
export const put = (path, body) => api('PUT', path, body);
export const del = (path) => api('DELETE', path);

// Path segments are ids and codes from the API or the user: always encoded.
export const seg = (s) => encodeURIComponent(String(s));
