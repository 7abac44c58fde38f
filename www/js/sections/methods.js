// Payment methods: the saved card (add through the provider's setup page,
// remove) and the Lightning auto-pay connection (an NWC string, stored by
// the server and never shown back).  Hidden when the server has no
// /billing routes yet.
import { get, post, put, del } from '../api.js';
import { h, fill, run, errorSlot, statusSlot } from '../dom.js';
import { t, onLangChange } from '../i18n.js';
import { state, emit } from '../state.js';

let root;
let methods = null;
let cardBox;
let nwcBox;
const notes = { card: '', nwc: '' };

export async function mount(el) {
  root = el;
  cardBox = h('div', { class: 'method', id: 'method-card' });
  nwcBox = h('div', { class: 'method', id: 'method-nwc' });
  try {
    methods = await get('/billing/payment-methods');
    state.methods = methods;
    emit('methods');
  } catch (err) {
    if (err.missingRoute) return; // not on this server: stay hidden
    throw err;
  }
  root.append(h('div', { class: 'split' }, cardBox, nwcBox));
  root.hidden = false;
  onLangChange(render);
  render();
}

async function reload() {
  methods = await get('/billing/payment-methods');
  state.methods = methods;
  emit('methods');
  render();
}

function render() {
  renderCard();
  renderNwc();
}

function renderCard() {
  const error = errorSlot();
  const done = statusSlot();
  done.textContent = notes.card;
  const card = methods && methods.card;
  const group = h('div', { class: 'actions' });
  if (card) {
    const remove = h('button', {
      type: 'button', class: 'btn btn-quiet', id: 'card-remove', i18n: 'methods.cardRemove',
      onclick: () => run({ button: remove, error, status: done }, async () => {
        notes.card = '';
        await del('/billing/card');
        notes.card = t('methods.cardRemoved');
        await reload();
        document.getElementById('card-add').focus();
      }),
    });
    group.append(remove);
  } else {
    const add = h('button', {
      type: 'button', class: 'btn btn-secondary', id: 'card-add', i18n: 'methods.cardAdd',
      onclick: () => run({ button: add, error, status: done, context: 'cardSetup' }, async () => {
        notes.card = '';
        const r = await post('/billing/card-setup');
        done.textContent = t('topup.redirect');
        window.location.assign(r.checkout_url);
      }),
    });
    group.append(add);
  }
  fill(cardBox,
    h('h3', { i18n: 'methods.card' }),
    h('p', { class: 'method-state', text: card
      ? t('methods.cardSaved', { brand: cardBrand(card.brand), last4: card.last4 })
      : t('methods.cardNone') }),
    h('p', { class: 'hint', i18n: 'methods.cardHint' }),
    group, error, done);
}

function cardBrand(brand) {
  const b = String(brand || '');
  return b ? b.charAt(0).toUpperCase() + b.slice(1) : t('methods.cardGeneric');
}

function renderNwc() {
  const error = errorSlot();
  const done = statusSlot();
  done.textContent = notes.nwc;
  const connected = Boolean(methods && methods.nwc);
  const input = h('input', {
    id: 'nwc-url', type: 'password', autocomplete: 'off', spellcheck: 'false', placeholder: 'nostr+walletconnect://…',
    'aria-describedby': 'nwc-hint',
  });
  const save = h('button', { type: 'submit', class: 'btn', id: 'nwc-save', text: t(connected ? 'methods.nwcReplace' : 'methods.nwcSave') });
  const group = h('div', { class: 'actions' }, save);
  if (connected) {
    const remove = h('button', {
      type: 'button', class: 'btn btn-quiet', id: 'nwc-remove', i18n: 'methods.nwcRemove',
      onclick: () => run({ button: remove, group, error, status: done }, async () => {
        notes.nwc = '';
        await del('/billing/nwc');
        notes.nwc = t('methods.nwcRemoved');
        await reload();
        document.getElementById('nwc-url').focus();
      }),
    });
    group.append(remove);
  }
  const form = h('form', { id: 'nwc-form', novalidate: true },
    h('div', { class: 'field' },
      h('label', { for: 'nwc-url', i18n: 'methods.nwcLabel' }), input,
      h('p', { class: 'hint', id: 'nwc-hint', i18n: 'methods.nwcHint' })),
    group);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const url = input.value.trim();
    if (!/^nostr\+walletconnect:\/\/\S+$/i.test(url)) {
      error.textContent = t('methods.nwcBad');
      input.focus();
      return;
    }
    run({ button: save, group, error, status: done, context: 'nwc' }, async () => {
      notes.nwc = '';
      await put('/billing/nwc', { url });
      input.value = '';
      notes.nwc = t('methods.nwcSaved');
      await reload();
      document.getElementById('nwc-save').focus();
    });
  });
  fill(nwcBox,
    h('h3', { i18n: 'methods.nwc' }),
    h('p', { class: 'method-state', text: t(connected ? 'methods.nwcOn' : 'methods.nwcOff') }),
    form, error, done);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Back from the card setup page (/?card=saved|canceled).  The card shows up
// once the provider's webhook has arrived: wait for it a little.
export async function returnFromSetup(outcome) {
  if (!methods) return; // the section is not on this server
  if (outcome !== 'saved') {
    notes.card = t('methods.cardSetupCanceled');
    render();
    return;
  }
  for (let i = 0; i < 20 && !(methods && methods.card); i += 1) {
    await sleep(1500);
    try { await reload(); } catch { break; }
  }
  notes.card = methods && methods.card ? t('methods.cardSavedOk') : t('methods.cardSlow');
  render();
}
