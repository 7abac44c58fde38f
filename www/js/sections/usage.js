// Usage: each quota of the user's subscriptions as used/limit with a bar
// (GET /usage), then the last 30 days of credits, one bar a day (inline
// SVG, from GET /credits/usage), and the operations that took the most.
import { get } from '../api.js';
import { h, fill } from '../dom.js';
import { t, onLangChange } from '../i18n.js';
import { number } from '../format.js';
import { on, state } from '../state.js';

const DAYS = 30;
const TOP = 5;
let box;
let days = [];
let ops = [];
let range = null;
let quotas = [];

export async function mount(el) {
  box = h('div', { class: 'usage' });
  el.append(box);
  onLangChange(render);
  on('wallet', () => reload().catch(() => {}));
  await reload();
}

async function reload() {
  const [d, o, q] = await Promise.all([get('/credits/usage?group=day'), get('/credits/usage?group=operation'),
    get('/usage')]);
  quotas = q.usage || [];
  range = { from: d.from, to: d.to };
  days = d.rows || [];
  ops = (o.rows || []).slice(0, TOP);
  render();
}

// Every day of the range, oldest first, with its credits (0 when unused).
function series() {
  const by = new Map(days.map((r) => [r.day, r.credits]));
  const out = [];
  const start = Date.parse(`${range.from}T00:00:00Z`);
  for (let i = 0; i < DAYS; i++) {
    const day = new Date(start + i * 86400000).toISOString().slice(0, 10);
    out.push({ day, credits: Math.max(0, by.get(day) || 0) });
  }
  return out;
}

function chart(points) {
  const W = 300;
  const H = 80;
  const gap = 2;
  const bw = (W - gap * (points.length - 1)) / points.length;
  const max = Math.max(1, ...points.map((p) => p.credits));
  const total = points.reduce((n, p) => n + p.credits, 0);
  return h('svg:svg', {
    class: 'usage-chart', viewBox: `0 0 ${W} ${H}`, role: 'img', preserveAspectRatio: 'none',
    'aria-label': t('usage.chartLabel', { days: DAYS, credits: number(total) }),
  }, points.map((p, i) => {
    const bh = p.credits === 0 ? 1 : Math.max(2, (p.credits / max) * (H - 2));
    return h('svg:rect', {
      x: (i * (bw + gap)).toFixed(2), y: (H - bh).toFixed(2), width: bw.toFixed(2), height: bh.toFixed(2),
      class: p.credits === 0 ? 'usage-bar empty' : 'usage-bar', 'data-day': p.day, 'data-credits': p.credits,
    }, h('svg:title', { text: `${p.day}: ${number(p.credits)}` }));
  }));
}

function productName(id) {
  const p = (state.catalog?.products || []).find((x) => x.id === id);
  return p ? p.name : id;
}

// One line per quota: "Cloud Sync requests  120 / 10,000", a bar, when it
// starts again.
function quotaList() {
  if (quotas.length === 0) return null;
  return h('ul', { class: 'quota-list' }, quotas.flatMap((u) => u.quotas.map((x) => h('li', {
    class: x.used >= x.limit ? 'quota spent' : 'quota', dataset: { product: u.product, metric: x.metric },
  },
  h('div', { class: 'quota-head' },
    h('span', { class: 'quota-name', text: `${productName(u.product)} · ${t(`usage.metric.${x.metric}`) === `usage.metric.${x.metric}` ? x.metric : t(`usage.metric.${x.metric}`)}` }),
    h('span', { class: 'num quota-used', text: `${number(x.used)} / ${number(x.limit)}` })),
  h('progress', { max: x.limit, value: Math.min(x.used, x.limit), 'aria-label': t('usage.quotaLabel', { metric: x.metric }) }),
  h('p', { class: 'muted quota-reset', text: t('usage.resets', { date: u.resets_at ? u.resets_at.slice(0, 10) : '' }) })))));
}

function render() {
  if (!range) return;
  if (days.length === 0) {
    fill(box, quotaList(), h('p', { class: 'muted empty', i18n: 'usage.empty' }));
    return;
  }
  fill(box,
    quotaList(),
    h('h3', { i18n: 'usage.last30' }),
    chart(series()),
    h('p', { class: 'muted usage-range', text: `${range.from} – ${range.to}` }),
    h('h3', { i18n: 'usage.top' }),
    h('ol', { class: 'usage-ops' }, ops.map((o) => h('li', {},
      h('span', { class: 'usage-op', text: o.operation || t('usage.unnamed') }),
      h('span', { class: 'num', text: t('usage.opLine', { count: o.count, n: number(o.count), credits: number(o.credits) }) })))));
}
