// Helpers for the billing page's end-to-end tests: tokens, API calls, the
// scheduler, and Chromium (through playwright-core) with checks for console
// errors, CSP violations, labels, contrast and heading order.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { chromium } from 'playwright-core';

export const URL_BASE = process.env.TALLY_URL;
export const API = `${URL_BASE}/api/v1`;
export const ADMIN_KEY = process.env.TALLY_ADMIN_KEY;
export const JWT_SECRET = process.env.TALLY_JWT_SECRET;
export const ROOT = process.env.TALLY_ROOT;
export const OUT = process.env.TALLY_E2E_OUTPUT || path.join(ROOT || '.', 'tests/e2e/output');
export const BTCPAY = process.env.BTCPAY_STANDIN_URL || '';
export const STRIPE = process.env.STRIPE_STANDIN_URL || '';
export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

const b64u = (buf) => Buffer.from(buf).toString('base64url');

// An HS256 token for user `sub`; claims override (exp in 1 h by default).
export function token(sub, claims = {}) {
  const now = Math.floor(Date.now() / 1000);
  const h = b64u(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const p = b64u(JSON.stringify({ sub, iat: now, exp: now + 3600, ...claims }));
  const sig = b64u(crypto.createHmac('sha256', JWT_SECRET).update(`${h}.${p}`).digest());
  return `${h}.${p}.${sig}`;
}

export function newUser(prefix = 'e2e') {
  return `${prefix}-${crypto.randomBytes(5).toString('hex')}`;
}

// call(method, path, {body, token, admin}) -> {status, body}
export async function call(method, p, opts = {}) {
  const headers = {};
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.admin) headers['X-Admin-Key'] = ADMIN_KEY;
  let body;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(p.startsWith('http') ? p : `${API}${p}`, { method, headers, body });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  return { status: res.status, headers: res.headers, body: json, text };
}

// Give a user credits (the admin API); returns the new balance.
export async function fund(user, amount) {
  const r = await call('POST', '/admin/credits/adjust', { admin: true,
    body: { user_id: user, amount, reason: 'e2e funding', actor: 'e2e' } });
  if (r.status !== 200) throw new Error(`fund failed: ${r.status} ${r.text}`);
  return r.body.balance;
}

export async function balanceOf(user) {
  const r = await call('GET', '/credits/balance', { token: token(user) });
  return r.body.balance;
}

// One scheduler tick as of `now` (bin/tally-scheduler --once --now).
export function runScheduler(now) {
  const iso = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return new Promise((resolve, reject) => {
    const child = spawn(`${ROOT}/bin/tally-scheduler`, ['--once', '--now', iso],
      { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    child.stdout.resume();
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(err) : reject(new Error(`tally-scheduler exited ${code}: ${err}`))));
  });
}

export function launch() {
  return chromium.launch({
    executablePath: process.env.TALLY_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

// Playwright gives every launch() a fresh temporary profile (its own
// --user-data-dir, removed on close), and every context is incognito-like.

// Open the page for `user` (a token in the fragment, as the host app does;
// base: another stack's URL).
// Returns {page, context, problems}: problems collects console errors,
// page errors, alert()s and CSP violations; allow(status, re) accepts the
// browser's own "Failed to load resource" line for an expected API answer.
export async function openPage(browser, {
  user, email, locale = 'en-US', viewport = DESKTOP, query = '', tok, wait = true, allow: expected = [], setup,
  base = URL_BASE,
} = {}) {
  const context = await browser.newContext({ locale, viewport, deviceScaleFactor: 1, timezoneId: 'UTC' });
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  if (setup) await setup(context);
  const page = await context.newPage();
  const problems = [];
  const allowed = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const where = m.location() && m.location().url;
    const st = /status of (\d{3})/.exec(m.text());
    if (st && where && allowed.some(([s, re]) => Number(st[1]) === s && re.test(where))) return;
    problems.push(`console: ${m.text()} (${where || '?'})`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => { problems.push(`dialog: ${d.type()} ${d.message()}`); d.dismiss().catch(() => {}); });
  const allow = (status, re) => allowed.push([status, re]);
  // Routes other engineers are still building answer 404 today.
  allow(404, /\/api\/v1\/invoices(\?|$)/);
  allow(404, /\/api\/v1\/billing\/payment-methods$/);
  for (const [status, re] of expected) allow(status, re);
  const t = tok || token(user, email ? { email } : {});
  await page.goto(`${base}/${query}#token=${t}`);
  if (wait) await page.waitForSelector('body[data-ready="true"], #signin:not([hidden])');
  return { page, context, problems, allow };
}

// Problems of the page, CSP violations included; [] when clean.
export async function pageProblems(pg) {
  const csp = await pg.page.evaluate(() => window.__csp || []);
  return [...pg.problems, ...csp.map((v) => `csp: ${v}`)];
}

export async function shot(page, name, opts = {}) {
  fs.mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true, ...opts });
}

// Accessibility checks a script can make: every control labelled, text
// contrast (WCAG AA: 4.5:1, 3:1 for large text), headings without skipped
// levels.  Returns lists of offenders (empty when all is well).
export function audit(page) {
  return page.evaluate(() => {
    const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
    const unlabeled = [...document.querySelectorAll('input, select, textarea, button, a[href]')]
      .filter((el) => visible(el) || (el.type === 'radio' && el.parentElement && visible(el.parentElement)))
      .filter((el) => {
        if (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')) return false;
        if (el.labels && el.labels.length > 0) return false;
        if ((el.tagName === 'BUTTON' || el.tagName === 'A') && el.textContent.trim()) return false;
        return true;
      })
      .map((el) => el.outerHTML.slice(0, 120));

    const parse = (s) => {
      const m = /rgba?\(([^)]+)\)/.exec(s);
      if (!m) return null;
      const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
      return { rgb: p.slice(0, 3), a: p.length > 3 ? p[3] : 1 };
    };
    const blend = (top, a, under) => top.map((c, i) => c * a + under[i] * (1 - a));
    const background = (el) => {
      const layers = [];
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
      }
      let rgb = [255, 255, 255];
      for (const l of layers.reverse()) rgb = blend(l.rgb, l.a, rgb);
      return rgb;
    };
    const lum = (rgb) => {
      const f = (c) => { const x = c / 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(rgb[0]) + 0.7152 * f(rgb[1]) + 0.0722 * f(rgb[2]);
    };
    const lowContrast = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const seen = new Set();
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || seen.has(el) || !n.textContent.trim() || !visible(el)) continue;
      seen.add(el);
      if (el.closest(':disabled, [aria-disabled="true"], .visually-hidden, option, script, style')) continue;
      const st = getComputedStyle(el);
      if (Number(st.opacity) === 0) continue;
      const fg = parse(st.color);
      if (!fg) continue;
      const bg = background(el);
      const color = blend(fg.rgb, fg.a, bg);
      const [hi, lo] = [lum(color), lum(bg)].sort((a, b) => b - a);
      const ratio = (hi + 0.05) / (lo + 0.05);
      const size = parseFloat(st.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(st.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) lowContrast.push(`${ratio.toFixed(2)} "${n.textContent.trim().slice(0, 40)}" ${st.color} on rgb(${bg.map(Math.round)})`);
    }

    const headings = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].filter(visible);
    const skipped = [];
    let last = 0;
    for (const hd of headings) {
      const level = Number(hd.tagName[1]);
      if (level > last + 1) skipped.push(`${hd.tagName} "${hd.textContent.trim()}" after h${last}`);
      last = level;
    }
    const landmarks = ['header', 'main', 'footer'].filter((s) => !document.querySelector(s));
    return { unlabeled, lowContrast, skipped, missingLandmarks: landmarks };
  });
}

// Wait until the element's text contains `text`.
export async function waitText(page, selector, text, timeout = 10000) {
  try {
    await page.waitForFunction(([s, x]) => {
      const el = document.querySelector(s);
      return el !== null && el.textContent.includes(x);
    }, [selector, text], { timeout });
  } catch (err) {
    const now = await page.evaluate((s) => { const el = document.querySelector(s); return el ? el.textContent : '(no such element)'; }, selector);
    throw new Error(`${selector} never contained "${text}"; it reads: ${now.slice(0, 300)}`);
  }
}

export const text = (page, selector) => page.locator(selector).first().textContent();

// The time `ms` from now as the API writes it.
export function isoTime(t) {
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// A screenshot of one element.
export async function shotOf(locator, name) {
  fs.mkdirSync(OUT, { recursive: true });
  await locator.screenshot({ path: path.join(OUT, `${name}.png`) });
}
