// A tiny parser of the Prometheus text format and helpers for the metrics
// tests (metrics.test.mjs, zz_metrics_db.test.mjs).
import assert from 'node:assert/strict';
import { call } from './lib.mjs';

// A tiny parser of the text exposition format (version 0.0.4): checks
// every line and returns { families: {name: {type, help}}, samples:
// [{name, labels, value}] }; throws on anything malformed.
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
export function parseProm(text) {
  assert.ok(text.endsWith('\n'), 'the last line ends with a newline');
  const families = {};
  const samples = [];
  const seen = new Set();
  let current = null;
  const familyOf = (name) => {
    for (const suffix of ['_bucket', '_sum', '_count', '']) {
      if (suffix && !name.endsWith(suffix)) continue;
      const base = suffix ? name.slice(0, -suffix.length) : name;
      const f = families[base];
      if (f && (suffix === '' || (suffix === '_bucket' ? f.type === 'histogram' : ['histogram', 'summary'].includes(f.type))))
        return base;
    }
    return null;
  };
  for (const [i, line] of text.slice(0, -1).split('\n').entries()) {
    const where = `line ${i + 1}: ${line}`;
    if (line.startsWith('#')) {
      const m = line.match(/^# (HELP|TYPE) (\S+) (.*)$/);
      if (!m) { assert.match(line, /^#/, where); continue; }
      assert.match(m[2], NAME, where);
      families[m[2]] ??= {};
      if (m[1] === 'TYPE') {
        assert.ok(TYPES.has(m[3]), where);
        assert.ok(!families[m[2]].type, `TYPE given twice: ${where}`);
        assert.ok(!samples.some((s) => familyOf(s.name) === m[2]), `TYPE after samples: ${where}`);
        families[m[2]].type = m[3];
        current = m[2];
      } else families[m[2]].help = m[3];
      continue;
    }
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/);
    assert.ok(m, `a sample: ${where}`);
    const labels = {};
    if (m[3] !== undefined && m[3] !== '') {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/gy;
      let lm;
      let end = 0;
      while ((lm = re.exec(m[3])) !== null) {
        assert.ok(!(lm[1] in labels), `label twice: ${where}`);
        labels[lm[1]] = lm[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
        end = re.lastIndex;
        if (lm[3] === '') break;
      }
      assert.equal(end, m[3].length, `labels: ${where}`);
    }
    assert.match(m[4], /^([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]?Inf|NaN)$/, `value: ${where}`);
    const fam = familyOf(m[1]);
    assert.ok(fam, `a sample of no declared family: ${where}`);
    assert.equal(fam, current, `samples of a family are together: ${where}`);
    const key = `${m[1]}${JSON.stringify(Object.entries(labels).sort())}`;
    assert.ok(!seen.has(key), `a series twice: ${where}`);
    seen.add(key);
    samples.push({ name: m[1], labels, value: Number(m[4].replace(/^\+?Inf$/, 'Infinity')) });
  }
  return { families, samples };
}

// The value of one series (0 when absent: counters start at nothing).
export function value(p, name, labels = {}) {
  const s = p.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)
    && Object.keys(x.labels).length === Object.keys(labels).length);
  return s ? s.value : 0;
}

export async function scrape() {
  const r = await call('GET', '/admin/metrics', { admin: true });
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  return parseProm(r.text);
}

// Histograms are whole: cumulative buckets, +Inf equal to _count.
export function checkHistograms(p) {
  for (const [name, f] of Object.entries(p.families)) {
    if (f.type !== 'histogram') continue;
    const series = {};
    for (const s of p.samples.filter((x) => x.name === `${name}_bucket`)) {
      const { le, ...rest } = s.labels;
      (series[JSON.stringify(rest)] ??= []).push([le === '+Inf' ? Infinity : Number(le), s.value]);
    }
    for (const [k, buckets] of Object.entries(series)) {
      const labels = JSON.parse(k);
      for (let i = 1; i < buckets.length; i++) {
        assert.ok(buckets[i][0] > buckets[i - 1][0], `le ascending ${k}`);
        assert.ok(buckets[i][1] >= buckets[i - 1][1], `cumulative ${k}`);
      }
      assert.equal(buckets.at(-1)[0], Infinity, `+Inf bucket ${k}`);
      assert.equal(buckets.at(-1)[1], value(p, `${name}_count`, labels), `+Inf = _count ${k}`);
    }
  }
}

export const health = { method: 'GET', route: '/api/v1/health' };
