#!/usr/bin/env node
// Every configuration key core/config.c parses is documented: in
// tally.conf(5) (an ".It Cm KEY" under the ".Ss [SECTION]" heading) and in
// config.sample (a "KEY =" line in its section); and config.sample names no
// key the parser does not know.  No dependencies: part of `make lint`.
// usage: tests/docs/config-keys.mjs [CONFIG_C] [MAN_PAGE] [CONFIG_SAMPLE]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const configC = process.argv[2] || path.join(root, 'core/config.c');
const manPage = process.argv[3] || path.join(root, 'man/tally.conf.5');
const sample = process.argv[4] || path.join(root, 'config.sample');
const rel = (f) => path.relative(root, f);
const problems = [];

// The parser: the typed key table S("http", "listen", ...), and the
// catalog sections' keys, compared by name in set_product/set_plan/
// set_package, plus the interval names (monthly, ...) of products.
const c = fs.readFileSync(configC, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
const keys = [];
for (const m of c.matchAll(/^\s*[SIB]\(\s*"([a-z_]+)",\s*"([a-z_]+)"/gm)) keys.push([m[1], m[2]]);
const fnBody = (name) => {
  const i = c.search(new RegExp(`^${name}\\(`, 'm'));
  if (i < 0) return '';
  const j = c.indexOf('\n}\n', i);
  return c.slice(i, j < 0 ? undefined : j);
};
const catalog = { product: 'set_product', plan: 'set_plan', package: 'set_package' };
for (const [sec, fn] of Object.entries(catalog)) {
  const body = fnBody(fn);
  if (!body) problems.push(`${rel(configC)}: no ${fn}(); has the parser changed?`);
  for (const m of body.matchAll(/strcmp\(key, "([a-z_]+)"\)/g)) keys.push([`${sec}.ID`, m[1]]);
  if (/core_interval_parse\(key\)/.test(body)) {
    const names = c.match(/interval_names\[[^\]]*\]\s*=\s*\{([^}]*)\}/);
    if (!names) problems.push(`${rel(configC)}: interval_names not found`);
    else for (const m of names[1].matchAll(/"([a-z_]+)"/g)) keys.push([`${sec}.ID`, m[1]]);
  }
}
if (keys.length < 20) problems.push(`${rel(configC)}: found only ${keys.length} keys; has the key table's shape changed?`);

// The manual: sections are ".Ss [name]", keys ".It Cm key".
const man = new Map();
let sec = null;
for (const line of fs.readFileSync(manPage, 'utf8').split('\n')) {
  let m;
  if ((m = line.match(/^\.S[sh]\s+"?\[([A-Za-z_.]+)\]"?\s*$/))) sec = m[1];
  else if (/^\.S[sh]\s/.test(line)) sec = null;
  else if (sec && (m = line.match(/^\.It\s+Cm\s+([a-z_]+)/))) {
    if (!man.has(sec)) man.set(sec, new Set());
    man.get(sec).add(m[1]);
  }
}

// config.sample: fixed sections only (the catalog there is an example).
const smp = new Map();
sec = null;
for (const raw of fs.readFileSync(sample, 'utf8').split('\n')) {
  const line = raw.trim();
  let m;
  if ((m = line.match(/^\[([a-z_.]+)\]$/))) sec = m[1].includes('.') ? null : m[1];
  else if (sec && (m = line.match(/^([a-z_]+)\s*=/))) {
    if (!smp.has(sec)) smp.set(sec, new Set());
    smp.get(sec).add(m[1]);
  }
}

const known = new Set(keys.map(([s, k]) => `${s}.${k}`));
for (const [s, k] of keys) {
  if (!man.get(s)?.has(k)) problems.push(`${s}.${k}: parsed by ${rel(configC)}, not documented in ${rel(manPage)} (an ".It Cm ${k}" under ".Ss [${s}]")`);
  if (!s.endsWith('.ID') && !smp.get(s)?.has(k)) problems.push(`${s}.${k}: parsed by ${rel(configC)}, missing from ${rel(sample)}`);
}
for (const [s, ks] of man) for (const k of ks) if (!known.has(`${s}.${k}`)) problems.push(`${s}.${k}: in ${rel(manPage)}, not a key ${rel(configC)} parses`);
for (const [s, ks] of smp) for (const k of ks) if (!known.has(`${s}.${k}`)) problems.push(`${s}.${k}: in ${rel(sample)}, not a key ${rel(configC)} parses`);

if (problems.length) {
  console.error('config keys:');
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log(`config keys: ${keys.length} keys, each in ${rel(manPage)} and (fixed sections) ${rel(sample)}`);
