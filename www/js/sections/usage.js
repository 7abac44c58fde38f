// Usage of the last 30 days: one bar a day (inline SVG, drawn from
// GET /credits/usage) and the operations that took the most credits.
import { get } from '../api.js';
import { h, fill } from '../dom.js';
import { t, onLangChange } from '../i18n.js';
import { number } from '../format.js';
import { on } from '../state.js';

const DAYS = 30;
const TOP = 5;
let box;
let days = [];
let ops = [];
let range = null;

export async function mount(el) {
  box = h('div', { class: 'usage' });
  el.append(box);
  onLangChange(render);
  on('wallet', () => reload().catch(() => {}));
  await reload();
}

async function reload() {
  const [d, o] = await Promise.all([get('/credits/usage?group=day'), get('/credits/usage?group=operation')]);
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

function render() {
  if (!range) return;
  if (days.length === 0) {
    fill(box, h('p', { class: 'muted empty', i18n: 'usage.empty' }));
    return;
  }
  fill(box,
    chart(series()),
    h('p', { class: 'muted usage-range', text: `${range.from} – ${range.to}` }),
    h('h3', { i18n: 'usage.top' }),
    h('ol', { class: 'usage-ops' }, ops.map((o) => h('li', {},
      h('span', { class: 'usage-op', text: o.operation || t('usage.unnamed') }),
      h('span', { class: 'num', text: t('usage.opLine', { count: o.count, n: number(o.count), credits: number(o.credits) }) })))));
}
