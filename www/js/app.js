// The billing page: takes the token from the URL, picks the language,
// mounts the sections, and switches between the overview and an invoice
// (/?invoice=ID).
import { takeTokenFromUrl, token, msLeft, claims, forget } from './auth.js';
import { get, setUnauthorizedHandler } from './api.js';
import { h, messageOf } from './dom.js';
import { t, getLang, setLang, onLangChange } from './i18n.js';
import { setCurrency, money } from './format.js';
import { state } from './state.js';
import { closePayDialog } from './lightning.js';
import * as balance from './sections/balance.js';
import * as txHistory from './sections/history.js';
import * as usage from './sections/usage.js';
import * as subscriptions from './sections/subscriptions.js';
import * as banner from './sections/banner.js';
import * as invoices from './sections/invoices.js';
import * as gifts from './sections/gifts.js';
import * as methods from './sections/methods.js';

// First of all: the token leaves the address bar (and this history entry).
takeTokenFromUrl();

const $ = (id) => document.getElementById(id);
let signedOutWhy = null;

function signedOut(why) {
  signedOutWhy = why;
  forget();
  closePayDialog();
  for (const id of ['dashboard', 'invoice-view', 'loading', 'who', 'footnote']) $(id).hidden = true;
  $('signin').hidden = false;
  renderSignin();
  $('signin-h').setAttribute('tabindex', '-1');
  $('signin-h').focus();
}

function renderSignin() {
  if (!signedOutWhy) return;
  $('signin-text').textContent = t(signedOutWhy === 'expired' ? 'signin.expired' : 'signin.none');
  const meta = document.querySelector('meta[name="tally-signin-url"]');
  const url = meta && meta.content.trim();
  const link = $('signin-link');
  // Only an address of this site or an https one: never javascript: and the like.
  if (url && (/^https:\/\//i.test(url) || /^\/(?!\/)/.test(url))) {
    link.href = url;
    link.hidden = false;
  }
}

function renderChrome() {
  const c = claims() || {};
  const who = $('who');
  if (c.email || c.sub) {
    who.textContent = t('app.signedInAs', { who: c.email || c.sub });
    who.hidden = signedOutWhy !== null;
  }
  if (state.catalog && !signedOutWhy) {
    $('footnote').textContent = t('app.footer', { unit: money(1) });
    $('footnote').hidden = false;
  }
}

// Overview or one invoice, from the URL.
function route() {
  const id = new URLSearchParams(location.search).get('invoice');
  if (signedOutWhy) return;
  if (id) {
    $('dashboard').hidden = true;
    $('invoice-view').hidden = false;
    invoices.openInvoice(id);
  } else {
    $('invoice-view').hidden = true;
    invoices.closeInvoice();
    $('dashboard').hidden = false;
    document.title = t('app.doctitle');
  }
}

const nav = {
  toInvoice(id) {
    pushUrl(`?invoice=${encodeURIComponent(id)}`);
    route();
  },
  toDashboard() {
    pushUrl(location.pathname);
    route();
    const heading = $('invoices').hidden ? $('main') : $('invoices-h');
    heading.setAttribute('tabindex', '-1');
    heading.focus();
  },
};

function pushUrl(url) {
  window.history.pushState(null, '', url);
}

// A section that could not load says so, in place, with a way to retry.
function sectionFailed(el, err) {
  if (signedOutWhy) return;
  el.append(h('div', { class: 'load-failed' },
    h('p', { class: 'error', role: 'alert', text: messageOf(err) }),
    h('button', { type: 'button', class: 'btn btn-secondary', i18n: 'app.retry', onclick: () => window.location.reload() })));
}

// Back from a provider's page: /?purchase=ID&checkout=success|cancel after a
// card purchase, /?invoice=ID&checkout=... after paying an invoice by card,
// /?card=saved|canceled after saving a card.  Handled once; the address
// keeps only ?invoice=.
function returns() {
  const q = new URLSearchParams(location.search);
  const purchase = q.get('purchase');
  const checkout = q.get('checkout');
  const card = q.get('card');
  if (!checkout && !card) return;
  const invoice = q.get('invoice');
  window.history.replaceState(window.history.state, '', invoice ? `?invoice=${encodeURIComponent(invoice)}` : location.pathname);
  if (purchase && checkout) balance.returnFromCheckout(purchase, checkout);
  if (invoice && checkout) invoices.returnFromCheckout(checkout);
  if (card) methods.returnFromSetup(card);
}

async function start() {
  setLang(getLang(), false);
  const lang = $('lang');
  lang.value = getLang();
  lang.addEventListener('change', () => setLang(lang.value));
  onLangChange(() => { renderChrome(); renderSignin(); });

  if (!token()) { signedOut('none'); return; }
  const left = msLeft();
  if (left !== null && left <= 0) { signedOut('expired'); return; }
  // setTimeout holds at most 2^31-1 ms (~24.8 days).
  if (left !== null && left < 2147483647) setTimeout(() => signedOut('expired'), left);
  setUnauthorizedHandler(() => signedOut('expired'));

  try {
    state.catalog = await get('/catalog');
    setCurrency(state.catalog.currency);
  } catch (err) {
    $('loading').hidden = true;
    const box = $('dashboard');
    box.hidden = false;
    box.querySelector('.grid').hidden = true;
    sectionFailed(box, err);
    return;
  }
  renderChrome();
  banner.mount($('banner'), { focusTopUp: balance.focusTopUp });
  const mounts = [
    [$('balance'), balance.mount($('balance'))],
    [$('subscriptions'), subscriptions.mount($('subscriptions'), { openInvoice: nav.toInvoice })],
    [$('usage'), usage.mount($('usage'))],
    [$('history'), txHistory.mount($('history'))],
    [$('gifts'), gifts.mount($('gifts'))],
    [$('methods'), methods.mount($('methods'))],
    [$('invoices'), invoices.mount($('invoices'), $('invoice-view'), nav)],
  ];
  window.addEventListener('popstate', route);
  route();
  const results = await Promise.allSettled(mounts.map(([, p]) => p));
  results.forEach((r, i) => {
    if (r.status === 'rejected') {
      mounts[i][0].hidden = false;
      sectionFailed(mounts[i][0], r.reason);
    }
  });
  $('loading').hidden = true;
  document.body.dataset.ready = 'true';
  returns();
}

start();
