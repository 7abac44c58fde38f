// English and German.  The language comes from the browser's preferences
// unless the user picked one (remembered in localStorage); switching
// re-labels the static page (data-i18n) and tells the sections to re-render.
import en from './locales/en.js';
import de from './locales/de.js';

const DICTS = { en, de };
const KEY = 'tally.lang';
const listeners = [];
let lang = detect();

function saved() {
  try { return window.localStorage.getItem(KEY); } catch { return null; }
}

export function detect() {
  const s = saved();
  if (s && DICTS[s]) return s;
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const base = String(l).slice(0, 2).toLowerCase();
    if (DICTS[base]) return base;
  }
  return 'en';
}

export const languages = Object.keys(DICTS);
export const getLang = () => lang;

// The locale for numbers and dates: the browser's own variant of the chosen
// language when it has one (en-GB, de-AT), else a default.
export function locale() {
  const own = (navigator.languages || []).find((l) => String(l).toLowerCase().startsWith(lang));
  return own || (lang === 'de' ? 'de-DE' : 'en-US');
}

// Whether key has a text (in this language or in English).
export function has(key) {
  return DICTS[lang][key] !== undefined || DICTS.en[key] !== undefined;
}

// t('key', {count, name}): {name} slots filled in; a value that is an
// object is chosen by plural category of params.count.
export function t(key, params = {}) {
  let v = DICTS[lang][key] ?? DICTS.en[key];
  if (v === undefined) return key;
  if (typeof v === 'object') {
    const cat = new Intl.PluralRules(locale()).select(Number(params.count ?? 0));
    v = v[cat] ?? v.other;
  }
  return v.replace(/\{(\w+)\}/g, (m, k) => (params[k] !== undefined ? String(params[k]) : m));
}

// Translate the static text under root: data-i18n (text), data-i18n-label
// (aria-label), data-i18n-title (the document title).
export function apply(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
}

export function setLang(l, remember = true) {
  if (!DICTS[l]) return;
  lang = l;
  if (remember) {
    try { window.localStorage.setItem(KEY, l); } catch { /* private mode: this page only */ }
  }
  document.documentElement.lang = l;
  document.title = t('app.doctitle');
  apply(document);
  for (const fn of listeners) fn(l);
}

export function onLangChange(fn) {
  listeners.push(fn);
}
