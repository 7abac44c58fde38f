// Gift codes: create one (for anyone with the code, or for one email
// address, with a message), list those created and received, cancel one,
// redeem a code.  Messages are the users' own text: always text nodes.
import { get, post, del, seg } from '../api.js';
import { h, fill, run, errorSlot, statusSlot, copyText } from '../dom.js';
import { t, onLangChange } from '../i18n.js';
import { credits, date } from '../format.js';
import { emit, on } from '../state.js';

let created = [];
let received = [];
let createdList;
let receivedList;
let result;
let typeEmail;

export async function mount(el) {
  createdList = h('div', { class: 'gift-list', id: 'gifts-created' });
  receivedList = h('div', { class: 'gift-list', id: 'gifts-received' });
  el.append(
    h('div', { class: 'split' }, createForm(), redeemForm()),
    h('div', { class: 'split' },
      h('div', {}, h('h3', { i18n: 'gifts.created' }), createdList),
      h('div', {}, h('h3', { i18n: 'gifts.received' }), receivedList)));
  onLangChange(render);
  on('gifts', () => reload().catch(() => {}));
  await reload();
}

async function reload() {
  const [c, r] = await Promise.all([get('/gifts/me/created'), get('/gifts/me/received')]);
  created = c.gifts || [];
  received = r.gifts || [];
  render();
}

function createForm() {
  const error = errorSlot();
  const done = statusSlot();
  result = h('div', { class: 'gift-result', id: 'gift-result' });
  const amount = h('input', {
    id: 'gift-credits', type: 'number', inputmode: 'numeric', min: '1', step: '1', required: true, autocomplete: 'off',
  });
  const simple = h('input', { type: 'radio', name: 'gift-type', id: 'gift-type-simple', value: 'simple', checked: true });
  const personal = h('input', { type: 'radio', name: 'gift-type', id: 'gift-type-personal', value: 'personalized' });
  const email = h('input', { id: 'gift-email', type: 'email', autocomplete: 'off', maxlength: '320' });
  typeEmail = h('div', { class: 'field', hidden: true }, h('label', { for: 'gift-email', i18n: 'gifts.email' }), email,
    h('p', { class: 'hint', id: 'gift-email-hint', i18n: 'gifts.emailHint' }));
  email.setAttribute('aria-describedby', 'gift-email-hint');
  const message = h('textarea', { id: 'gift-message', rows: 3, maxlength: '500' });
  const sync = () => { typeEmail.hidden = !personal.checked; email.required = personal.checked; };
  simple.addEventListener('change', sync);
  personal.addEventListener('change', sync);
  const button = h('button', { type: 'submit', class: 'btn', id: 'gift-create', i18n: 'gifts.create' });
  const form = h('form', { class: 'gift-form', id: 'gift-form', novalidate: true },
    h('h3', { i18n: 'gifts.give' }),
    h('div', { class: 'field' }, h('label', { for: 'gift-credits', i18n: 'gifts.credits' }), amount),
    h('fieldset', { class: 'radios' },
      h('legend', { i18n: 'gifts.who' }),
      h('div', { class: 'radio' }, simple, h('label', { for: 'gift-type-simple', i18n: 'gifts.simple' })),
      h('div', { class: 'radio' }, personal, h('label', { for: 'gift-type-personal', i18n: 'gifts.personal' }))),
    typeEmail,
    h('div', { class: 'field' }, h('label', { for: 'gift-message', i18n: 'gifts.message' }), message),
    h('p', { class: 'hint', i18n: 'gifts.note' }),
    h('div', { class: 'actions' }, button),
    error, done, result);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const n = Number(amount.value);
    if (!Number.isSafeInteger(n) || n < 1) {
      error.textContent = t('gifts.badCredits');
      amount.focus();
      return;
    }
    if (personal.checked && !/^[^@\s]+@[^@\s]+$/.test(email.value.trim())) {
      error.textContent = t('gifts.badEmail');
      email.focus();
      return;
    }
    const body = { credits: n, type: personal.checked ? 'personalized' : 'simple' };
    if (personal.checked) body.target_email = email.value.trim();
    if (message.value !== '') body.message = message.value;
    result.replaceChildren();
    run({ button, error, status: done, context: 'giftCreate' }, async () => {
      const g = await post('/gifts', body);
      form.reset();
      sync();
      done.textContent = t('gifts.createdOk', { credits: credits(g.credits) });
      showCode(g);
      emit('wallet');
      await reload();
    });
  });
  return form;
}

function showCode(g) {
  const field = h('input', { id: 'gift-code-new', class: 'mono code', readonly: true, value: g.code });
  const copied = h('span', { class: 'hint', role: 'status' });
  fill(result,
    h('label', { for: 'gift-code-new', i18n: 'gifts.code' }),
    h('div', { class: 'inline-control' }, field,
      h('button', {
        type: 'button', class: 'btn btn-secondary', i18n: 'gifts.copy',
        onclick: async () => { copied.textContent = (await copyText(g.code, field)) ? t('gifts.copied') : t('ln.copyManual'); },
      })),
    copied);
}

function redeemForm() {
  const error = errorSlot();
  const done = statusSlot();
  const code = h('input', {
    id: 'redeem-code', class: 'mono', type: 'text', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'characters', maxlength: '64',
  });
  const button = h('button', { type: 'submit', class: 'btn', id: 'redeem', i18n: 'gifts.redeem' });
  const said = h('div', { class: 'redeemed', id: 'redeem-result' });
  const form = h('form', { class: 'gift-form', id: 'redeem-form', novalidate: true },
    h('h3', { i18n: 'gifts.redeemTitle' }),
    h('div', { class: 'field' }, h('label', { for: 'redeem-code', i18n: 'gifts.codeLabel' }), code,
      h('p', { class: 'hint', id: 'redeem-hint', i18n: 'gifts.codeHint' })),
    h('div', { class: 'actions' }, button),
    error, done, said);
  code.setAttribute('aria-describedby', 'redeem-hint');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = code.value.trim();
    if (!value) { error.textContent = t('gifts.noCode'); code.focus(); return; }
    said.replaceChildren();
    run({ button, error, status: done, context: 'redeem' }, async () => {
      const r = await post(`/gifts/${seg(value)}/redeem`);
      code.value = '';
      done.textContent = t('gifts.redeemedOk', { credits: credits(r.gift.credits) });
      if (r.gift.message) said.append(quote(r.gift.message));
      emit('balance', r.balance);
      emit('wallet');
      await reload();
    });
  });
  return form;
}

// A gift message, as text.
function quote(message) {
  return h('blockquote', { class: 'gift-message' }, h('p', { text: message }));
}

function statusBadge(g) {
  return h('span', { class: `badge badge-gift-${g.status}`, text: t(`gift.${g.status}`) });
}

function render() {
  renderCreated();
  renderReceived();
}

function renderCreated() {
  if (created.length === 0) {
    fill(createdList, h('p', { class: 'muted', i18n: 'gifts.noneCreated' }));
    return;
  }
  fill(createdList, h('ul', { class: 'items' }, created.map((g) => {
    const error = errorSlot();
    const cancel = g.status === 'active' ? h('button', {
      type: 'button', class: 'btn btn-quiet btn-small', id: `gift-cancel-${g.id}`,
      'aria-label': t('gifts.cancelLabel', { code: g.code }), text: t('gifts.cancel'),
      onclick: () => run({ button: cancel, error, context: 'giftCancel' }, async () => {
        await del(`/gifts/${seg(g.id)}`);
        emit('wallet');
        await reload();
        const heading = createdList.closest('.split').querySelector('h3');
        if (heading) { heading.setAttribute('tabindex', '-1'); heading.focus(); }
      }),
    }) : null;
    return h('li', { class: 'gift', dataset: { code: g.code } },
      h('div', { class: 'gift-top' },
        h('span', { class: 'mono code', text: g.code }),
        h('span', { class: 'gift-credits', text: credits(g.credits) }),
        statusBadge(g)),
      h('p', { class: 'hint', text: g.target_email ? t('gifts.forEmail', { email: g.target_email, date: date(g.created_at) })
        : t('gifts.forAnyone', { date: date(g.created_at) }) }),
      g.message ? quote(g.message) : null,
      cancel ? h('div', { class: 'actions' }, cancel) : null,
      error);
  })));
}

function renderReceived() {
  if (received.length === 0) {
    fill(receivedList, h('p', { class: 'muted', i18n: 'gifts.noneReceived' }));
    return;
  }
  fill(receivedList, h('ul', { class: 'items' }, received.map((g) => h('li', { class: 'gift', dataset: { code: g.code } },
    h('div', { class: 'gift-top' },
      h('span', { class: 'mono code', text: g.code }),
      h('span', { class: 'gift-credits', text: credits(g.credits) })),
    h('p', { class: 'hint', text: t('gifts.redeemedOn', { date: date(g.redeemed_at || g.created_at) }) }),
    g.message ? quote(g.message) : null))));
}
