// Invoices: the list (status, total) and one invoice as a document that
// prints as the customer's invoice, with paying it by credits, card or
// Lightning.  /?invoice=ID opens one directly.  Hidden while the server
// has no /invoices routes.
import { get, post, seg } from '../api.js';
import { h, fill, append, run, errorSlot, statusSlot, messageOf } from '../dom.js';
import { t, onLangChange, getLang } from '../i18n.js';
import { money, date, dateTime, credits } from '../format.js';
import { state, emit, on } from '../state.js';
import { claims, token } from '../auth.js';
import { openLightning } from '../lightning.js';

let section;
let view;
let nav; // { toInvoice(id), toDashboard() } from app.js
let invoices = [];
let list;
let available = false;
let shown = null; // the invoice in the view, or {missing: id}
const payNote = { status: '', info: '' };
let opening = Promise.resolve();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function mount(sectionEl, viewEl, navigation) {
  section = sectionEl;
  view = viewEl;
  nav = navigation;
  list = h('div', { class: 'table-wrap' });
  section.append(list);
  onLangChange(() => { renderList(); renderView(); });
  on('invoices', () => reload().catch(() => {}));
  on('balance', () => renderView());
  on('wallet', () => renderView());
  on('methods', () => renderView());
  await reload();
}

async function reload() {
  try {
    const r = await get('/invoices');
    invoices = r.invoices || [];
    available = true;
  } catch (err) {
    if (!err.missingRoute) throw err;
    available = false; // not on this server yet: stay hidden
  }
  section.hidden = !available;
  renderList();
}

function badge(status) {
  return h('span', { class: `badge badge-inv-${status}`, text: t(`invoice.${status}`) });
}

function period(inv) {
  if (!inv.period_start) return '';
  return t('invoices.period', { from: date(inv.period_start), to: date(inv.period_end) });
}

// A pending invoice whose automatic payment failed: when it is tried next
// (or that it is not), under its status.
function retryNote(inv) {
  const d = inv.status === 'pending' && inv.dunning;
  if (!d) return null;
  return h('span', {
    class: 'tx-detail retry-note',
    text: d.next_retry_at ? t('invoices.retryOn', { date: dateTime(d.next_retry_at) }) : t('invoices.retryNone'),
  });
}

// The invoice's dunning: why the automatic payment failed and what
// happens next.
function dunningPanel(inv) {
  const d = inv.dunning;
  return h('div', { class: 'notice dunning', id: 'invoice-dunning', role: 'note' },
    h('p', { class: 'dunning-title', text: t('invoice.dunningTitle') }),
    d.reason ? h('p', { text: t('invoice.dunningReason', { reason: d.reason }) }) : null,
    h('p', {
      text: d.next_retry_at
        ? t('invoice.dunningNext', { date: dateTime(d.next_retry_at), n: d.retries_made + 1, total: Math.max(d.retries_planned, d.retries_made + 1) })
        : t('invoice.dunningNone'),
    }));
}

function renderList() {
  if (!available) return;
  if (invoices.length === 0) {
    fill(list, h('p', { class: 'muted', i18n: 'invoices.none' }));
    return;
  }
  fill(list, h('table', { class: 'table inv-table' },
    h('caption', { class: 'visually-hidden', i18n: 'invoices.title' }),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col', i18n: 'invoices.number' }),
      h('th', { scope: 'col', i18n: 'invoices.periodCol' }),
      h('th', { scope: 'col', i18n: 'invoices.status' }),
      h('th', { scope: 'col', class: 'num', i18n: 'invoices.total' }))),
    h('tbody', {}, invoices.map((inv) => h('tr', {},
      h('td', { 'data-label': t('invoices.number') },
        h('a', {
          href: `?invoice=${encodeURIComponent(inv.id)}`, text: inv.number || inv.id,
          'aria-label': t('invoices.open', { number: inv.number || inv.id }),
          onclick: (e) => { e.preventDefault(); nav.toInvoice(inv.id); },
        })),
      h('td', { 'data-label': t('invoices.periodCol'), text: period(inv) }),
      h('td', { 'data-label': t('invoices.status') }, badge(inv.status), retryNote(inv)),
      h('td', { 'data-label': t('invoices.total'), class: 'num', text: money(inv.total, inv.currency) }))))));
}

// Show invoice `id` in the view (app.js has hidden the dashboard).
export function openInvoice(id) {
  opening = load(id);
  return opening;
}

let loads = 0;

async function load(id) {
  const mine = ++loads;
  shown = null;
  payNote.status = '';
  payNote.info = '';
  fill(view, h('p', { class: 'loading', role: 'status', i18n: 'app.loading' }));
  let got;
  try {
    got = await get(`/invoices/${seg(id)}`);
  } catch (err) {
    if (mine !== loads) return;
    if (err.status !== 404) {
      fill(view, viewBar(null), h('p', { class: 'error', role: 'alert', text: messageOf(err) }));
      return;
    }
    got = { missing: id };
  }
  if (mine !== loads) return; // another invoice was opened meanwhile
  shown = got;
  renderView();
  const heading = document.getElementById('invoice-h');
  if (heading) heading.focus();
}

// Back from the card checkout page (/?invoice=ID&checkout=success|cancel):
// say so, and on success wait (a minute at most) for the webhook to mark
// the invoice paid.
export async function returnFromCheckout(outcome) {
  await opening;
  if (!shown || shown.missing) return;
  if (outcome !== 'success') {
    payNote.info = t('topup.cardCanceled');
    renderView();
    return;
  }
  const id = shown.id;
  payNote.info = t('topup.cardConfirming');
  renderView();
  for (let i = 0; i < 40 && shown && shown.id === id && shown.status === 'pending'; i += 1) {
    await sleep(1500);
    let now;
    try { now = await get(`/invoices/${seg(id)}`); } catch { break; }
    if (!shown || shown.id !== id) return;
    if (now.status !== 'pending') {
      shown = now;
      emit('wallet');
      emit('invoices');
      emit('subscriptions');
    }
  }
  if (!shown || shown.id !== id) return;
  payNote.info = shown.status === 'pending' ? t('topup.cardSlow') : '';
  payNote.status = shown.status === 'paid' ? t('invoice.paidOk') : '';
  renderView();
}

export function closeInvoice() {
  loads += 1;
  shown = null;
  view.replaceChildren();
}

// The invoice's printable document (an A4 page to print or save as PDF),
// in a new tab.  A link cannot send the Authorization header, so the token
// goes as ?access_token= (accepted on this route only); no Referer leaves.
function documentLink(inv) {
  const q = new URLSearchParams({ lang: getLang(), access_token: token() || '' });
  return h('a', {
    class: 'btn btn-secondary', id: 'invoice-document', i18n: 'invoice.document', target: '_blank',
    rel: 'noopener noreferrer', referrerpolicy: 'no-referrer',
    href: `/api/v1/invoices/${seg(inv.id)}/document?${q}`,
  });
}

function viewBar(inv) {
  return h('div', { class: 'view-bar' },
    h('a', {
      href: './', class: 'back', i18n: 'invoice.back',
      onclick: (e) => { e.preventDefault(); nav.toDashboard(); },
    }),
    inv ? h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn btn-secondary', id: 'invoice-print', i18n: 'invoice.print', onclick: () => window.print() }),
      documentLink(inv)) : null);
}

function renderView() {
  if (!shown || view.hidden) return;
  if (shown.missing) {
    fill(view, viewBar(null),
      h('div', { class: 'card' },
        h('h1', { id: 'invoice-h', tabindex: '-1', i18n: 'invoice.missingTitle' }),
        h('p', { i18n: 'invoice.missing' })));
    document.title = t('app.doctitle');
    return;
  }
  const inv = shown;
  const who = claims() || {};
  const items = inv.items || [];
  const number = inv.number || inv.id;
  document.title = t('invoice.doctitle', { number });
  const paidLine = inv.status === 'paid'
    ? [inv.paid_at ? dateTime(inv.paid_at) : '', inv.paid_via ? t(`via.${inv.paid_via}`) : ''].filter(Boolean).join(' · ') : '';
  fill(view,
    viewBar(inv),
    h('div', { class: 'invoice-doc card' },
      h('header', { class: 'doc-head' },
        h('div', {},
          h('p', { class: 'doc-kind', i18n: 'invoice.kind' }),
          h('h1', { id: 'invoice-h', tabindex: '-1', text: t('invoice.title', { number }) })),
        badge(inv.status)),
      h('dl', { class: 'doc-meta' },
        meta(t('invoice.billedTo'), who.email || who.sub || ''),
        meta(t('invoice.number'), number),
        meta(t('invoice.period'), period(inv)),
        inv.status === 'pending' && inv.expires_at ? meta(t('invoice.due'), dateTime(inv.expires_at)) : null,
        inv.status === 'pending' && inv.dunning && inv.dunning.next_retry_at
          ? meta(t('invoice.nextRetry'), dateTime(inv.dunning.next_retry_at)) : null,
        paidLine ? meta(t('invoice.paidOn'), paidLine) : null),
      h('table', { class: 'table inv-items' },
        h('caption', { class: 'visually-hidden', i18n: 'invoice.items' }),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col', i18n: 'invoice.description' }),
          h('th', { scope: 'col', class: 'num', i18n: 'invoice.amount' }))),
        h('tbody', {}, items.length ? items.map((it) => h('tr', {},
          h('td', {},
            h('span', { text: it.description || '' }),
            it.resource_id ? h('span', { class: 'tx-detail', text: it.plan ? `${it.resource_id} · ${it.plan}` : it.resource_id }) : null),
          h('td', { class: 'num', text: money(it.amount, inv.currency) })))
          : h('tr', {}, h('td', { colspan: '2', class: 'muted', i18n: 'invoice.noItems' }))),
        h('tfoot', {}, h('tr', {},
          h('th', { scope: 'row', i18n: 'invoice.total' }),
          h('td', { class: 'num total', text: money(inv.total, inv.currency) }))))),
    inv.status === 'pending' ? payPanel(inv)
      : inv.status === 'expired' || inv.status === 'void' ? reissuePanel(inv)
        : payNote.status ? h('p', { class: 'status done-note', role: 'status', text: payNote.status }) : null);
}

// An expired (or voided) invoice whose period is still due can be issued
// again, to be paid.
function reissuePanel(inv) {
  const error = errorSlot();
  const button = h('button', {
    type: 'button', class: 'btn btn-secondary', id: 'invoice-reissue', i18n: 'invoice.reissue',
    onclick: () => run({ button, error, context: 'reissue' }, async () => {
      const fresh = await post(`/invoices/${seg(inv.id)}/reissue`);
      emit('invoices');
      nav.toInvoice(fresh.id);
    }),
  });
  return h('section', { class: 'card pay-panel', 'aria-labelledby': 'reissue-h' },
    h('h2', { id: 'reissue-h', i18n: 'invoice.reissueTitle' }),
    h('p', { class: 'hint', i18n: 'invoice.reissueText' }),
    h('div', { class: 'actions' }, button), error);
}

function meta(label, value) {
  if (!value) return null;
  return h('div', {}, h('dt', { text: label }), h('dd', { text: value }));
}

function payPanel(inv) {
  const error = errorSlot();
  const done = statusSlot();
  done.textContent = payNote.status;
  const info = h('p', { class: 'info', role: 'status', text: payNote.info });
  const group = h('div', { class: 'actions' });
  const settled = (paid) => {
    emit('wallet');
    emit('invoices');
    emit('subscriptions');
    if (paid) shown = paid;
    renderView();
  };
  const pay = (method, button, extra = {}) => run({ button, group, error, status: done, context: 'pay' }, async () => {
    payNote.status = '';
    payNote.info = '';
    info.textContent = '';
    const r = await post(`/invoices/${seg(inv.id)}/pay`, { method, ...extra });
    if (method === 'credits' || extra.use_saved_card) {
      payNote.status = t('invoice.paidOk');
      settled(r && r.status ? r : await get(`/invoices/${seg(inv.id)}`));
      const heading = document.getElementById('invoice-h');
      if (heading) heading.focus();
    } else if (method === 'card') {
      done.textContent = t('topup.redirect');
      window.location.assign(r.checkout_url);
    } else {
      const expires = Date.parse(r.expires_at);
      openLightning({
        what: t('invoice.what', { number: inv.number || inv.id, money: money(inv.total, inv.currency) }),
        bolt11: r.bolt11,
        checkoutUrl: r.checkout_url,
        expiresAt: r.expires_at,
        check: async () => {
          const now = await get(`/invoices/${seg(inv.id)}`);
          if (now.status === 'paid') { shown = now; return 'paid'; }
          if (now.status !== 'pending') return 'expired';
          // The Lightning invoice (not ours) ran out a while ago.
          return !Number.isNaN(expires) && Date.now() > expires + 60000 ? 'expired' : 'pending';
        },
        paidText: t('invoice.paidOk'),
        onSettled: (outcome) => {
          if (outcome === 'paid') { payNote.status = t('invoice.paidOk'); settled(shown); }
        },
      });
    }
  });
  const enough = state.balance !== null && state.balance >= inv.total;
  const viaCredits = h('button', {
    type: 'button', class: 'btn', id: 'pay-credits', text: t('invoice.payCredits', { credits: credits(inv.total) }),
    onclick: (e) => pay('credits', e.currentTarget),
  });
  const saved = state.methods && state.methods.card;
  append(group, [viaCredits,
    saved ? h('button', {
      type: 'button', class: 'btn btn-secondary', id: 'pay-saved-card',
      text: t('invoice.paySavedCard', { last4: saved.last4 }),
      onclick: (e) => pay('card', e.currentTarget, { use_saved_card: true }),
    }) : null,
    h('button', { type: 'button', class: 'btn btn-secondary', id: 'pay-card', i18n: saved ? 'invoice.payOtherCard' : 'invoice.payCard', onclick: (e) => pay('card', e.currentTarget) }),
    h('button', { type: 'button', class: 'btn btn-secondary', id: 'pay-lightning', i18n: 'invoice.payLightning', onclick: (e) => pay('lightning', e.currentTarget) })]);
  return h('section', { class: 'card pay-panel', 'aria-labelledby': 'pay-invoice-h' },
    h('h2', { id: 'pay-invoice-h', i18n: 'invoice.payTitle' }),
    inv.dunning ? dunningPanel(inv) : null,
    state.balance !== null ? h('p', {
      class: enough ? 'hint' : 'notice',
      text: t(enough ? 'invoice.balanceOk' : 'invoice.balanceShort', { balance: credits(state.balance) }),
    }) : null,
    group, error, done, info);
}
