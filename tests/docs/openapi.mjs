#!/usr/bin/env node
// docs/openapi.json against the router (fcgi/router.c): every route of the
// router is documented with the same method, path (parameters may be named
// differently), authentication and body kind, and nothing else is; plus
// the document's own consistency ($refs resolve, path parameters declared,
// operationIds unique).  No dependencies, no stack: part of `make lint`.
// usage: tests/docs/openapi.mjs [ROUTER_C] [OPENAPI_JSON]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const routerFile = process.argv[2] || path.join(root, 'fcgi/router.c');
const docFile = process.argv[3] || path.join(root, 'docs/openapi.json');
const problems = [];
const fail = (msg) => problems.push(msg);

// { "GET", "/credits/purchase/{id}", AUTH_USER, BODY_NONE, h_... } entries,
// possibly wrapped over lines.
const src = fs.readFileSync(routerFile, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
const table = src.slice(src.indexOf('routes[] = {'));
const routes = [];
for (const m of table.matchAll(/\{\s*"([A-Z]+)",\s*"([^"]+)",\s*(AUTH_[A-Z_]+),\s*(BODY_[A-Z]+),/g))
  routes.push({ method: m[1].toLowerCase(), path: m[2], auth: m[3], body: m[4] });
if (routes.length < 10) fail(`${routerFile}: found only ${routes.length} routes; has the table's shape changed?`);

let doc;
try {
  doc = JSON.parse(fs.readFileSync(docFile, 'utf8'));
} catch (e) {
  console.error(`${docFile}: ${e.message}`);
  process.exit(1);
}
if (!/^3\.1\.\d+$/.test(doc.openapi || '')) fail(`openapi is "${doc.openapi}", not 3.1.x`);
if (!doc.info?.title || !doc.info?.version) fail('info.title and info.version are required');
if (doc.servers?.[0]?.url !== '/api/v1') fail('servers[0].url must be /api/v1 (paths are below it, as in the router)');

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const norm = (p) => p.replace(/\{[^}/]+\}/g, '{}');
const key = (method, p) => `${method.toUpperCase()} ${norm(p)}`;
const documented = new Map();
const opIds = new Set();
for (const [p, item] of Object.entries(doc.paths || {})) {
  if (!p.startsWith('/')) fail(`path ${p} does not start with /`);
  const names = [...p.matchAll(/\{([^}/]+)\}/g)].map((m) => m[1]);
  for (const [method, operation] of Object.entries(item)) {
    if (!METHODS.includes(method)) continue;
    const where = `${method.toUpperCase()} ${p}`;
    documented.set(key(method, p), { path: p, method, operation });
    if (!operation.operationId) fail(`${where}: no operationId`);
    else if (opIds.has(operation.operationId)) fail(`${where}: operationId ${operation.operationId} used twice`);
    else opIds.add(operation.operationId);
    if (!operation.responses || Object.keys(operation.responses).length === 0) fail(`${where}: no responses`);
    const params = [...(item.parameters || []), ...(operation.parameters || [])];
    const declared = params.filter((x) => x.in === 'path').map((x) => x.name);
    for (const n of names)
      if (!params.some((x) => x.in === 'path' && x.name === n && x.required === true))
        fail(`${where}: path parameter {${n}} not declared (in: path, required: true)`);
    for (const n of declared) if (!names.includes(n)) fail(`${where}: declares path parameter ${n} the path lacks`);
  }
}

// The schemes a route accepts, each an alternative (one requirement each).
const SECURITY = {
  AUTH_NONE: null, AUTH_USER: ['bearer'], AUTH_TOKEN: ['bearer'], AUTH_USER_QUERY: ['bearer', 'accessToken'],
  AUTH_SERVICE: ['serviceKey'], AUTH_ADMIN: ['adminKey'],
};
const seen = new Set();
for (const r of routes) {
  const k = key(r.method, r.path);
  if (seen.has(k)) fail(`router: ${k} twice`);
  seen.add(k);
  const d = documented.get(k);
  if (!d) {
    fail(`${k}: in the router, not in ${path.relative(root, docFile)}`);
    continue;
  }
  const where = `${r.method.toUpperCase()} ${d.path}`;
  const sec = d.operation.security ?? doc.security ?? [];
  const schemes = sec.flatMap((s) => Object.keys(s));
  const want = SECURITY[r.auth];
  if (want === undefined) fail(`${where}: the router's ${r.auth} is not known to this check`);
  else if (want === null ? schemes.length !== 0
    : sec.some((s) => Object.keys(s).length !== 1) || JSON.stringify([...schemes].sort()) !== JSON.stringify([...want].sort()))
    fail(`${where}: security ${JSON.stringify(schemes)}, the router says ${r.auth}`);
  const rb = d.operation.requestBody;
  if (r.body === 'BODY_NONE' && rb) fail(`${where}: documents a request body the router ignores (BODY_NONE)`);
  if (r.body !== 'BODY_NONE' && !rb?.content?.['application/json']) fail(`${where}: the router reads a JSON body (${r.body}); document it`);
}
for (const [k] of documented) if (!seen.has(k)) fail(`${k}: documented, not in the router`);

// Every $ref points at something in this document.
const walk = (v, at) => {
  if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}/${i}`));
  else if (v && typeof v === 'object') {
    if (typeof v.$ref === 'string') {
      const target = v.$ref.startsWith('#/') ? v.$ref.slice(2).split('/').reduce((o, s) => o?.[s.replace(/~1/g, '/').replace(/~0/g, '~')], doc) : undefined;
      if (target === undefined) fail(`${at}: $ref ${v.$ref} does not resolve`);
    }
    for (const [k, x] of Object.entries(v)) walk(x, `${at}/${k}`);
  }
};
walk(doc, '#');
for (const s of Object.values(doc.paths || {}).flatMap((i) => Object.values(i)).flatMap((o) => o.security || []))
  for (const n of Object.keys(s)) if (!doc.components?.securitySchemes?.[n]) fail(`security scheme ${n} is not defined`);

if (problems.length) {
  console.error(`openapi: ${path.relative(root, docFile)} does not match ${path.relative(root, routerFile)}:`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log(`openapi: ${routes.length} routes, all documented, nothing else`);
