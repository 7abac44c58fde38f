// Transaction history, newest first, a page at a time ("Show older").
import { get } from '../api.js';
import { h, fill, run, errorSlot } from '../dom.js';
import { t, onLangChange } from '../i18n.js';
import { dateTime, signed, number } from '../format.js';
import { on } from '../state.js';

const PAGE = 10;
let list;
let rows = [];
let next = null;
let more;
let error;

export async function mount(el) {
  list = h('div', { class: 'table-wrap' });
  error = errorSlot();
  more = h('button', { type: 'button', class: 'btn btn-secondary', id: 'history-more', i18n: 'history.more', onclick: (e) => loadMore(e.currentTarget) });
  el.append(list, h('div', { class: 'actions' }, more), error);
  onLangChange(render);
  on('wallet', () => reload().catch(() => {}));
  await reload();
}

async function reload() {
  const r = await get(`/credits/transactions?limit=${PAGE}`);
  rows = r.transactions || [];
  next = r.next;
  render();
}

async function loadMore(button) {
  await run({ button, error }, async () => {
    const r = await get(`/credits/transactions?limit=${PAGE}&before=${encodeURIComponent(next)}`);
    const first = rows.length;
    rows = rows.concat(r.transactions || []);
    next = r.next;
    render();
    // Keyboard users land on the first new row, not back at the top.
    const row = list.querySelectorAll('tbody tr')[first];
    if (row) row.focus();
  });
}

function kindLabel(kind) {
  const key = `tx.${kind}`;
  const s = t(key);
  return s === key ? kind : s;
}

function render() {
  more.hidden = !next;
  if (rows.length === 0) {
    fill(list, h('p', { class: 'muted empty', i18n: 'history.empty' }));
    return;
  }
  fill(list, h('table', { class: 'table tx-table' },
    h('caption', { class: 'visually-hidden', i18n: 'history.caption' }),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col', i18n: 'history.date' }),
      h('th', { scope: 'col', i18n: 'history.what' }),
      h('th', { scope: 'col', class: 'num', i18n: 'history.amount' }),
      h('th', { scope: 'col', class: 'num', i18n: 'history.after' }))),
    h('tbody', {}, rows.map((tx) => {
      const detail = tx.description || (tx.operation && tx.operation !== tx.kind ? tx.operation : '');
      return h('tr', { tabindex: '-1' },
        h('td', { 'data-label': t('history.date'), text: dateTime(tx.created_at) }),
        h('td', { 'data-label': t('history.what') }, h('div', {},
          h('span', { class: 'tx-kind', text: kindLabel(tx.kind) }),
          detail ? h('span', { class: 'tx-detail', text: detail }) : null)),
        h('td', { 'data-label': t('history.amount'), class: `num ${tx.amount > 0 ? 'plus' : 'minus'}`, text: signed(tx.amount) }),
        h('td', { 'data-label': t('history.after'), class: 'num', text: number(tx.balance_after) }));
    }))));
}
