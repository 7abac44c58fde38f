// Building DOM without HTML strings: every text goes in as a text node, so
// user-provided strings (gift messages, descriptions) can never become markup.
import { t, has } from './i18n.js';
import { ApiError } from './api.js';

const PROPS = new Set(['value', 'disabled', 'hidden', 'open']);

// h('button', {class: 'btn', type: 'button', onclick: fn}, 'text', child...)
// `text` sets textContent; `i18n` sets data-i18n (the text is then
// translated by i18n.apply, now and on every language change).
export function h(tag, props, ...children) {
  const el = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k === 'text') el.textContent = v;
    else if (k === 'i18n') { el.dataset.i18n = v; el.textContent = t(v); }
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'checked') { el.checked = v; el.defaultChecked = v; } // form.reset() keeps it
    else if (k === 'selected') { el.selected = v; el.defaultSelected = v; }
    else if (PROPS.has(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Replace the children of el.
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

let seq = 0;
// A document-unique id for label/control and aria-describedby pairs.
export function uid(prefix = 'id') {
  seq += 1;
  return `${prefix}-${seq}`;
}

// The text of an API error in the page's language, found by its stable
// error code, the most specific first: what it means for the field it
// names (api.CODE.FIELD), for this action (api.CONTEXT.CODE), for the code
// (api.CODE).  Null for a code this page does not know.  Every code the
// server defines (fcgi/http_error.c) has api.CODE in both languages;
// tests/e2e/15_errors.test.mjs checks it.
function apiText(err, context) {
  const code = err.code;
  if (!code || !/^[a-z_]+$/.test(code)) return null;
  const keys = [
    err.field ? `api.${code}.${err.field}` : null,
    context ? `api.${context}.${code}` : null,
    `api.${code}`];
  const key = keys.find((k) => k && has(k));
  if (!key) return null;
  // A declined payment: the bank's own reason (the server passes it on
  // as the message, in the bank's words) is worth showing.
  if (code === 'payment_failed' && err.message && has(`${key}.detail`)) {
    return t(`${key}.detail`, { detail: err.message });
  }
  return t(key);
}

// The human message of an error: ours for the API's error code (see
// apiText; context names the action, e.g. 'redeem'), else the API's own
// message (English), else a general one.
export function messageOf(err, context) {
  if (err instanceof ApiError) {
    if (err.status === 0) return t('error.network');
    const ours = apiText(err, context);
    if (ours) return ours;
    // The API's messages are sentences without the capital.
    const m = err.message || t('error.http', { status: err.status });
    return m.charAt(0).toUpperCase() + m.slice(1);
  }
  return t('error.unexpected');
}

// A place for the error of one action, next to its button.  Live, so that a
// screen reader hears it; empty (and hidden by CSS) until there is one.
export function errorSlot() {
  return h('p', { class: 'error', role: 'alert' });
}

// A polite live region for "done" messages.
export function statusSlot() {
  return h('p', { class: 'status', role: 'status' });
}

// Run one user action: its button (and every button in `group`) disabled
// and marked aria-busy while the request runs, its error shown in `error`
// (cleared first; `context` names the action for messageOf).  Returns fn's
// result, or undefined after an error.
export async function run({ button, group, error, status, context }, fn) {
  if (error) error.textContent = '';
  if (status) status.textContent = '';
  const buttons = group ? [...group.querySelectorAll('button')] : [];
  if (button && !buttons.includes(button)) buttons.push(button);
  const was = buttons.map((b) => b.disabled);
  buttons.forEach((b) => { b.disabled = true; });
  if (button) button.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } catch (err) {
    if (error) error.textContent = messageOf(err, context);
    else console.warn(err); // eslint-disable-line no-console
    return undefined;
  } finally {
    buttons.forEach((b, i) => { b.disabled = was[i]; });
    if (button) button.removeAttribute('aria-busy');
  }
}

// Copy text to the clipboard; the readonly field it is shown in is the
// fallback (selected, so that Ctrl+C works).
export async function copyText(text, field) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (field) { field.focus(); field.select(); }
    return false;
  }
}
