// Balance and top-up: the balance, the credit packages, and buying one by
// card (a redirect to the checkout page) or Lightning (the payment dialog,
// polling the purchase until it settles).
import { get, post, seg } from '../api.js';
import { h, fill, run, errorSlot, statusSlot, messageOf } from '../dom.js';
import { t, onLangChange } from '../i18n.js';
import { credits, money } from '../format.js';
import { state, emit, on } from '../state.js';
import { openLightning } from '../lightning.js';

let root;
let packages = [];
let figure;
let worth;
let choices;
let error;
let status;
let buttons;
let info;
let coupon;

export async function mount(el) {
  root = el;
  figure = h('p', { class: 'figure', id: 'balance-value' });
  worth = h('p', { class: 'muted' });
  choices = h('div', { class: 'packages' });
  error = errorSlot();
  status = statusSlot();
  info = h('p', { class: 'info', role: 'status' });
  coupon = h('input', { type: 'text', id: 'topup-coupon', name: 'coupon', maxlength: '64', autocomplete: 'off', spellcheck: 'false' });
  buttons = h('div', { class: 'actions' },
    h('button', { type: 'button', class: 'btn', id: 'buy-card', i18n: 'topup.card', onclick: (e) => buy('card', e.currentTarget) }),
    h('button', { type: 'button', class: 'btn btn-secondary', id: 'buy-lightning', i18n: 'topup.lightning', onclick: (e) => buy('lightning', e.currentTarget) }));
  const form = h('form', { class: 'topup', id: 'topup', onsubmit: (e) => e.preventDefault() },
    h('fieldset', {},
      h('legend', { i18n: 'topup.legend' }),
      choices),
    h('div', { class: 'field' }, h('label', { for: 'topup-coupon', i18n: 'coupon.label' }), coupon),
    buttons, error, status, info);
  root.append(
    h('div', { class: 'balance' },
      h('p', { class: 'label', i18n: 'balance.label' }),
      figure, worth),
    form);
  onLangChange(render);
  on('wallet', () => loadBalance().catch(() => {}));
  on('balance', (b) => { state.balance = b; render(); });
  await Promise.all([loadBalance(), loadPackages()]);
}

async function loadBalance() {
  const r = await get('/credits/balance');
  state.balance = r.balance;
  render();
}

async function loadPackages() {
  const r = await get('/credits/packages');
  packages = r.packages || [];
  renderPackages();
}

function render() {
  if (state.balance === null) return;
  figure.textContent = credits(state.balance);
  worth.textContent = t('balance.worth', { money: money(state.balance) });
  renderPackages();
}

function renderPackages() {
  const checked = choices.querySelector('input:checked');
  const keep = checked ? checked.value : packages[0] && packages[0].id;
  fill(choices, packages.map((p) => {
    const id = `pkg-${p.id}`;
    const named = p.name && p.name.trim().toLowerCase() !== `${p.credits} credits`;
    return h('div', { class: 'package' },
      h('input', { type: 'radio', name: 'package', id, value: p.id, checked: p.id === keep }),
      h('label', { for: id },
        h('span', { class: 'pkg-credits', text: credits(p.credits) }),
        named ? h('span', { class: 'pkg-name', text: p.name }) : null,
        h('span', { class: 'pkg-price', text: money(p.price, p.currency) })));
  }));
  if (packages.length === 0) choices.append(h('p', { class: 'muted', i18n: 'topup.none' }));
  buttons.hidden = packages.length === 0;
}

// Focus the top-up (from the pause banner).
export function focusTopUp() {
  const first = choices.querySelector('input:checked') || choices.querySelector('input');
  root.scrollIntoView({ block: 'start' });
  if (first) first.focus();
}

async function buy(method, button) {
  const picked = choices.querySelector('input:checked');
  if (!picked) { error.textContent = t('topup.pick'); return; }
  const pkg = packages.find((p) => p.id === picked.value);
  await run({ button, group: buttons, error, status, context: 'purchase' }, async () => {
    const body = { package: pkg.id, method };
    const code = coupon.value.trim();
    if (code) body.coupon = code;
    const purchase = await post('/credits/purchase', body);
    if (purchase.coupon) {
      info.textContent = t('coupon.bonus', { code: purchase.coupon, credits: credits(purchase.bonus_credits || 0) });
    }
    if (method === 'card') {
      if (!purchase.checkout_url) throw new Error('no checkout_url');
      status.textContent = t('topup.redirect');
      window.location.assign(purchase.checkout_url);
      return;
    }
    const ln = purchase.lightning || {};
    openLightning({
      what: t('topup.what', { credits: credits(pkg.credits), money: money(pkg.price, pkg.currency) }),
      bolt11: ln.bolt11,
      checkoutUrl: ln.checkout_url,
      expiresAt: ln.expires_at,
      check: async () => {
        const p = await get(`/credits/purchase/${seg(purchase.id)}`);
        return p.status === 'succeeded' ? 'paid' : p.status === 'pending' ? 'pending' : p.status;
      },
      paidText: t('topup.paid', { credits: credits(pkg.credits) }),
      onSettled: (outcome) => {
        if (outcome === 'paid') {
          status.textContent = t('topup.paid', { credits: credits(pkg.credits) });
          emit('wallet');
        }
      },
      onClose: () => emit('wallet'),
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Back from the card checkout page (/?purchase=ID&checkout=success|cancel):
// say what happened; on success wait for the payment's webhook to credit
// the purchase (a minute at most, then say it is still being confirmed).
export async function returnFromCheckout(id, outcome) {
  if (outcome !== 'success') {
    info.textContent = t('topup.cardCanceled');
    return;
  }
  info.textContent = t('topup.cardConfirming');
  for (let i = 0; i < 40; i += 1) {
    let p;
    try {
      p = await get(`/credits/purchase/${seg(id)}`);
    } catch (err) {
      info.textContent = '';
      error.textContent = messageOf(err);
      return;
    }
    if (p.status === 'succeeded') {
      info.textContent = '';
      status.textContent = t('topup.paid', { credits: credits(p.credits) });
      emit('wallet');
      return;
    }
    if (p.status === 'failed' || p.status === 'expired') {
      info.textContent = '';
      error.textContent = t('topup.cardFailed');
      return;
    }
    await sleep(1500);
  }
  info.textContent = t('topup.cardSlow');
}
