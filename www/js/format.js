// Numbers, money, credits and dates in the page's language.  Money amounts
// are integers in minor units; they are shown as exact decimals (the
// integer is split into a decimal string, never divided as a float).
import { t, locale } from './i18n.js';

let defaultCurrency = 'EUR';
export function setCurrency(c) {
  if (c) defaultCurrency = c;
}
export const currency = () => defaultCurrency;

export function number(n) {
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 0 }).format(n);
}

// The number of minor-unit digits of a currency (EUR 2, JPY 0, BHD 3).
export function currencyDigits(cur = defaultCurrency) {
  return new Intl.NumberFormat('en', { style: 'currency', currency: cur }).resolvedOptions().maximumFractionDigits;
}

// money(1234, 'EUR') -> "€12.34" / "12,34 €"
export function money(minor, cur = defaultCurrency) {
  const nf = new Intl.NumberFormat(locale(), { style: 'currency', currency: cur });
  const digits = nf.resolvedOptions().maximumFractionDigits;
  const n = Math.trunc(Number(minor));
  if (!Number.isSafeInteger(n)) return nf.format(0).replace(/[\d.,\s]+/, '?');
  const sign = n < 0 ? '-' : '';
  const abs = String(Math.abs(n)).padStart(digits + 1, '0');
  const dec = digits === 0 ? abs : `${abs.slice(0, -digits)}.${abs.slice(-digits)}`;
  // Intl formats a decimal string exactly (no float rounding on the way).
  return nf.format(`${sign}${dec}`);
}

// credits(1000) -> "1,000 credits"
export function credits(n) {
  return t('credits', { count: n, n: number(n) });
}

// A signed ledger amount: "+500" or "−30" (a real minus sign).
export function signed(n) {
  const s = number(Math.abs(n));
  return n > 0 ? `+${s}` : n < 0 ? `\u2212${s}` : s;
}

function toDate(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function date(iso) {
  const d = toDate(iso);
  return d ? new Intl.DateTimeFormat(locale(), { dateStyle: 'medium' }).format(d) : '';
}

export function dateTime(iso) {
  const d = toDate(iso);
  return d ? new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(d) : '';
}

// 754000 -> "12:34"; an hour or more: "1:02:34".
export function countdown(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}
