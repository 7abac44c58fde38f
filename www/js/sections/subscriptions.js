// Subscriptions: every catalog product with its state, and activate (with
// the interval and its price), change interval, deactivate, resume.
import { get, post, seg } from '../api.js';
import { h, fill, run, errorSlot, statusSlot } from '../dom.js';
import { t, onLangChange } from '../i18n.js';
import { credits, money, date } from '../format.js';
import { state, emit, on } from '../state.js';

const INTERVALS = ['monthly', 'quarterly', 'yearly'];
let list;
let openInvoice = () => {};
// Messages that outlive a re-render: product id -> {status, error}.
const notes = new Map();
// Products whose "cancel?" confirmation is open.
const confirming = new Set();

export async function mount(el, ctx) {
  openInvoice = ctx.openInvoice;
  list = h('div', { class: 'subs' });
  el.append(list);
  onLangChange(render);
  on('subscriptions', () => reload().catch(() => {}));
  // A top-up may have reactivated a paused one (billing.reactivate_on_topup).
  on('wallet', () => {
    if (state.subscriptions.some((s) => s.status === 'paused' && s.reactivates_on_topup)) reload().catch(() => {});
  });
  await reload();
}

async function reload() {
  const r = await get('/subscriptions');
  state.subscriptions = r.subscriptions || [];
  emit('subscriptions-loaded', state.subscriptions);
  render();
}

// A price of product p for an interval, as text.
export function priceText(p, interval) {
  const v = p.prices && p.prices[interval];
  if (v === null || v === undefined) return '';
  return p.billing === 'credits' ? credits(v) : money(v, state.catalog.currency);
}

// Run an action of product p (a new action clears p's last message).
function act(p, opts, fn) {
  notes.delete(p.id);
  return run(opts, fn);
}

function offered(p) {
  return INTERVALS.filter((iv) => p.prices && p.prices[iv] !== null && p.prices[iv] !== undefined);
}

function intervalSelect(p, id, selected) {
  return h('select', { id },
    offered(p).map((iv) => h('option', { value: iv, selected: iv === selected },
      t('subs.option', { interval: t(`interval.${iv}`), price: priceText(p, iv) }))));
}

function badge(status, sub) {
  const key = sub && sub.status === 'active' && sub.cancel_at_period_end ? 'ending' : status;
  return h('span', { class: `badge badge-${key}`, text: t(`status.${key}`) });
}

function fact(label, value) {
  if (!value) return null;
  return h('div', { class: 'fact' }, h('dt', { text: label }), h('dd', { text: value }));
}

function render() {
  const products = (state.catalog && state.catalog.products) || [];
  // Keep focus on the control it was on (by id) across the re-render, or
  // on its product's heading when that control is gone (activated, say).
  const active = document.activeElement;
  const inside = active && list.contains(active);
  const focused = inside ? active.id : null;
  const card = inside && active.closest('article') ? active.closest('article').id : null;
  fill(list, products.map((p) => productCard(p, state.subscriptions.find((s) => s.product === p.id))));
  if (products.length === 0) list.append(h('p', { class: 'muted', i18n: 'subs.none' }));
  if (inside) {
    const el = (focused && document.getElementById(focused)) || (card && document.getElementById(card) && document.getElementById(card).querySelector('h3'));
    if (el) el.focus();
  }
}

function productCard(p, sub) {
  const status = sub ? sub.status : 'inactive';
  const note = notes.get(p.id) || {};
  const error = errorSlot();
  const done = statusSlot();
  error.textContent = note.error || '';
  done.textContent = note.status || '';
  const ctx = { p, sub, error, done };
  const headId = `sub-${p.id}-h`;
  return h('article', { class: 'sub', id: `sub-${p.id}`, 'aria-labelledby': headId },
    h('div', { class: 'sub-head' },
      h('h3', { id: headId, tabindex: '-1', text: p.name }),
      badge(status, sub)),
    facts(p, sub),
    actions(ctx),
    error, done);
}

function facts(p, sub) {
  if (!sub || !['active', 'paused', 'pending_activation'].includes(sub.status)) {
    return h('p', { class: 'muted', text: t(p.billing === 'credits' ? 'subs.pitchCredits' : 'subs.pitchInvoice') });
  }
  const every = t(`every.${sub.interval}`);
  return h('dl', { class: 'facts' },
    fact(t('subs.interval'), t(`interval.${sub.interval}`)),
    fact(t('subs.price'), sub.price !== null && sub.price !== undefined
      ? `${p.billing === 'credits' ? credits(sub.price) : money(sub.price, state.catalog.currency)} ${every}` : ''),
    sub.status === 'active' && !sub.cancel_at_period_end ? fact(t('subs.next'), date(sub.next_charge_at || sub.current_period_end)) : null,
    sub.status === 'paused' ? fact(t('subs.pausedAt'), date(sub.paused_at)) : null,
    sub.status !== 'paused' ? fact(sub.cancel_at_period_end ? t('subs.endsOn') : t('subs.periodEnd'), date(sub.current_period_end)) : null);
}

function actions(ctx) {
  const { p, sub } = ctx;
  const s = sub ? sub.status : 'inactive';
  if (s === 'active' && sub.cancel_at_period_end) return resumeForm(ctx);
  if (s === 'active') return manageForm(ctx);
  if (s === 'pending_activation') {
    // Straight to the invoice that starts it; the list when the server
    // does not say which one.
    const id = sub.invoice_id;
    const link = id
      ? h('a', {
        class: 'btn btn-secondary', id: `sub-${p.id}-invoice`, href: `?invoice=${encodeURIComponent(id)}`, i18n: 'subs.toInvoice',
        onclick: (e) => {
          if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return; // a new tab: the link itself
          e.preventDefault();
          openInvoice(id);
        },
      })
      : h('a', { class: 'btn btn-secondary', href: '#invoices', i18n: 'subs.toInvoices' });
    return h('div', { class: 'sub-actions' }, h('p', { text: t('subs.pendingText') }), link);
  }
  return activateForm(ctx, s === 'paused');
}

// Not subscribed (or paused, or ended): choose an interval, see the price.
function activateForm({ p, sub, error, done }, paused) {
  const id = `activate-${p.id}-interval`;
  const pick = intervalSelect(p, id, (sub && sub.interval) || offered(p)[0]);
  const price = h('p', { class: 'price-line', 'aria-live': 'polite' });
  const showPrice = () => {
    const what = priceText(p, pick.value);
    price.textContent = p.billing === 'credits'
      ? t('subs.chargeNow', { price: what, every: t(`every.${pick.value}`) })
      : t('subs.invoiceNow', { price: what, every: t(`every.${pick.value}`) });
  };
  pick.addEventListener('change', showPrice);
  showPrice();
  const group = h('div', { class: 'actions' });
  // Invoice-billed products take a coupon on their first invoice.
  const couponId = `activate-${p.id}-coupon`;
  const coupon = p.billing === 'invoice'
    ? h('input', { type: 'text', id: couponId, maxlength: '64', autocomplete: 'off', spellcheck: 'false' }) : null;
  const button = h('button', {
    type: 'button', class: 'btn', id: `activate-${p.id}`, text: t(paused ? 'subs.reactivate' : 'subs.activate'),
    onclick: () => act(p, { button, group, error, status: done, context: 'activate' }, async () => {
      const body = { interval: pick.value };
      if (coupon && coupon.value.trim()) body.coupon = coupon.value.trim();
      const r = await post(`/subscriptions/${seg(p.id)}/activate`, body);
      notes.set(p.id, { status: r.invoice ? t('subs.invoiceCreated') : t('subs.activated', { name: p.name }) });
      emit('subscriptions');
      emit('wallet');
      if (r.invoice) { emit('invoices'); openInvoice(r.invoice.id); }
    }),
  });
  group.append(button);
  const parts = [
    paused ? h('p', {
      class: 'notice', id: `sub-${p.id}-paused`,
      text: t(sub.reactivates_on_topup ? 'subs.pausedAuto' : 'subs.pausedText', { price: priceText(p, sub.interval) }),
    }) : null,
    h('div', { class: 'field' }, h('label', { for: id, i18n: 'subs.chooseInterval' }), pick),
    coupon ? h('div', { class: 'field' }, h('label', { for: couponId, i18n: 'coupon.label' }), coupon) : null,
    price, group];
  if (paused) parts.push(endNow({ p, error, done }));
  return h('div', { class: 'sub-actions' }, parts);
}

// A paused subscription can also be ended at once.
function endNow({ p, error, done }) {
  const button = h('button', {
    type: 'button', class: 'btn btn-quiet', id: `end-${p.id}`, i18n: 'subs.endNow',
    onclick: () => act(p, { button, error, status: done, context: 'deactivate' }, async () => {
      await post(`/subscriptions/${seg(p.id)}/deactivate`);
      notes.set(p.id, { status: t('subs.ended') });
      emit('subscriptions');
    }),
  });
  return h('div', { class: 'actions' }, button);
}

// Active: change interval; cancel (with a confirmation that says until when
// access lasts).
function manageForm({ p, sub, error, done }) {
  const id = `change-${p.id}-interval`;
  const pick = intervalSelect(p, id, sub.interval);
  const change = h('button', { type: 'button', class: 'btn btn-secondary', id: `change-${p.id}`, i18n: 'subs.change' });
  const hint = h('p', { class: 'hint', id: `change-${p.id}-hint` });
  const sync = () => {
    change.disabled = pick.value === sub.interval;
    hint.textContent = pick.value === sub.interval ? ''
      : t('subs.changeHint', { price: priceText(p, pick.value), date: date(sub.current_period_end) });
  };
  pick.addEventListener('change', sync);
  pick.setAttribute('aria-describedby', hint.id);
  const group = h('div', { class: 'sub-actions' });
  change.addEventListener('click', () => act(p, { button: change, group, error, status: done, context: 'changeInterval' }, async () => {
    await post(`/subscriptions/${seg(p.id)}/change-interval`, { interval: pick.value });
    notes.set(p.id, { status: t('subs.changed', { price: priceText(p, pick.value), every: t(`every.${pick.value}`) }) });
    emit('subscriptions');
  }));
  sync();

  const until = date(sub.current_period_end);
  const cancelArea = h('div', { class: 'cancel-area' });
  const showConfirm = (yes) => {
    if (yes) confirming.add(p.id); else confirming.delete(p.id);
    if (!yes) {
      const ask = h('button', {
        type: 'button', class: 'btn btn-quiet', id: `cancel-${p.id}`, i18n: 'subs.cancel',
        onclick: () => { showConfirm(true); document.getElementById(`cancel-${p.id}-yes`).focus(); },
      });
      fill(cancelArea, h('div', { class: 'actions' }, ask));
      return;
    }
    const yesBtn = h('button', {
      type: 'button', class: 'btn btn-danger', id: `cancel-${p.id}-yes`, i18n: 'subs.cancelYes',
      onclick: () => act(p, { button: yesBtn, group, error, status: done, context: 'deactivate' }, async () => {
        await post(`/subscriptions/${seg(p.id)}/deactivate`);
        confirming.delete(p.id);
        notes.set(p.id, { status: t('subs.canceled', { date: until }) });
        emit('subscriptions');
      }),
    });
    const noBtn = h('button', {
      type: 'button', class: 'btn btn-secondary', id: `cancel-${p.id}-no`, i18n: 'subs.cancelNo',
      onclick: () => { showConfirm(false); document.getElementById(`cancel-${p.id}`).focus(); },
    });
    fill(cancelArea, h('div', { class: 'confirm', role: 'group', 'aria-labelledby': `cancel-${p.id}-q` },
      h('p', { id: `cancel-${p.id}-q`, text: t('subs.cancelQ', { date: until }) }),
      h('div', { class: 'actions' }, yesBtn, noBtn)));
  };
  showConfirm(confirming.has(p.id));
  group.append(
    h('div', { class: 'field inline' },
      h('label', { for: id, i18n: 'subs.changeLabel' }),
      h('div', { class: 'inline-control' }, pick, change)),
    hint, p.billing === 'invoice' ? couponForm({ p, group, error, done }) : null, cancelArea);
  return group;
}

// A running invoice subscription: a coupon for the invoices after now.
function couponForm({ p, group, error, done }) {
  const id = `coupon-${p.id}`;
  const input = h('input', { type: 'text', id, maxlength: '64', autocomplete: 'off', spellcheck: 'false' });
  const apply = h('button', { type: 'button', class: 'btn btn-secondary', id: `coupon-${p.id}-apply`, i18n: 'coupon.apply' });
  apply.addEventListener('click', () => {
    const code = input.value.trim();
    if (!code) { error.textContent = t('coupon.enter'); input.focus(); return; }
    act(p, { button: apply, group, error, status: done, context: 'coupon' }, async () => {
      const d = await post('/coupons/apply', { code, product: p.id });
      const what = d.percent_off ? `${d.percent_off} %` : money(d.amount_off, d.currency);
      notes.set(p.id, { status: t('coupon.applied', { code: d.code, what }) });
      emit('subscriptions');
      emit('invoices');
    });
  });
  return h('div', { class: 'field inline' },
    h('label', { for: id, i18n: 'coupon.applyLabel' }),
    h('div', { class: 'inline-control' }, input, apply));
}

// Set to end at the period end: keep it after all.
function resumeForm({ p, sub, error, done }) {
  const button = h('button', {
    type: 'button', class: 'btn btn-secondary', id: `resume-${p.id}`, i18n: 'subs.resume',
    onclick: () => act(p, { button, error, status: done, context: 'activate' }, async () => {
      await post(`/subscriptions/${seg(p.id)}/activate`, { interval: sub.interval });
      notes.set(p.id, { status: t('subs.resumed') });
      emit('subscriptions');
    }),
  });
  return h('div', { class: 'sub-actions' },
    h('p', { text: t('subs.endingText', { date: date(sub.current_period_end) }) }),
    h('div', { class: 'actions' }, button));
}
