#!/usr/bin/env node
// A local stand-in for a Nostr relay and the NWC wallets behind it
// (NIP-01 relay, NIP-47 wallet service), for the integration tests.
// Uses `ws` for the WebSocket server and `nostr-tools` for the wallet's
// side, so a request is checked as a real wallet would: its signature
// (verifyEvent), its author (the connection's client key), and its
// content decrypted (NIP-04, or NIP-44 v2 when the request says so).
//
//   node tests/standins/nwc.mjs --port PORT --btcpay-url URL
//
// Prints "nwc stand-in listening on PORT" when ready.  The relay is
// ws://127.0.0.1:PORT/ ; ws://127.0.0.1:PORT/garbage is a "relay" that
// answers every message with bytes that are not Nostr.
//
// A wallet pays a pay_invoice request by finding the BTCPay stand-in's
// invoice whose BOLT11 it got and telling it to settle (its control API),
// then answers with a preimage; a BOLT11 it paid before is answered with
// the same preimage and not paid again (as Lightning would).
//
// Control API (HTTP, JSON, no auth):
//   POST /_test/wallets   {encryption: "nip44"|"nip04", mode?, webhook?}
//        (webhook false: BTCPay settles without telling tally, as when
//        its webhook is lost)
//        -> {pubkey, client_pubkey, url}      (url: the connection string)
//   POST /_test/wallets/:pubkey/mode  {mode, code?, message?, webhook?}
//        mode: "pay" (default) | "error" (answer code/message) |
//              "silent" (never answer) | "pay_silent" (pay, never answer)
//   GET  /_test/requests  every request a wallet got:
//        {id, wallet, client, encryption, method, invoice, verified, answer}
//   GET  /_test/payments  {bolt11, btcpay_invoice, preimage}
//   POST /_test/reset
import http from 'node:http';
import crypto from 'node:crypto';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from 'nostr-tools/pure';
import * as nip04 from 'nostr-tools/nip04';
import { v2 as nip44 } from 'nostr-tools/nip44';

const { values: opt } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'btcpay-url': { type: 'string', default: process.env.BTCPAY_STANDIN_URL || '' },
  },
});

const hex = (b) => Buffer.from(b).toString('hex');
const now = () => Math.floor(Date.now() / 1000);

const state = {
  wallets: new Map(),	// wallet pubkey -> wallet
  stored: [],		// replaceable events kept (wallet info)
  requests: [],
  payments: new Map(),	// bolt11 -> {btcpay_invoice, preimage}
  subs: new Set(),	// {ws, id, filters}
};

function matches(f, ev) {
  if (f.ids && !f.ids.includes(ev.id)) return false;
  if (f.kinds && !f.kinds.includes(ev.kind)) return false;
  if (f.authors && !f.authors.includes(ev.pubkey)) return false;
  for (const [k, vals] of Object.entries(f)) {
    if (!k.startsWith('#')) continue;
    const name = k.slice(1);
    if (!ev.tags.some((t) => t[0] === name && vals.includes(t[1]))) return false;
  }
  return true;
}

function broadcast(ev) {
  for (const s of state.subs) {
    if (s.ws.readyState === 1 && s.filters.some((f) => matches(f, ev))) s.ws.send(JSON.stringify(['EVENT', s.id, ev]));
  }
}

// A wallet service: its own key, one authorised client key.
function makeWallet({ encryption = 'nip44', mode = 'pay', webhook = true } = {}) {
  const sec = generateSecretKey();
  const clientSec = generateSecretKey();
  const w = {
    sec, pubkey: getPublicKey(sec), clientSec, client: getPublicKey(clientSec),
    encryption, mode, webhook, code: 'INSUFFICIENT_BALANCE', message: 'not enough sats in the wallet',
  };
  const tags = encryption === 'nip44' ? [['encryption', 'nip44_v2 nip04']] : [];
  const info = finalizeEvent({ kind: 13194, created_at: now(), tags, content: 'pay_invoice get_info' }, sec);
  state.stored.push(info);
  state.wallets.set(w.pubkey, w);
  return w;
}

function connectionString(w, relay) {
  return `nostr+walletconnect://${w.pubkey}?relay=${encodeURIComponent(relay)}&secret=${hex(w.clientSec)}&lud16=wallet%40example.com`;
}

async function btcpay(method, path, body) {
  const res = await fetch(`${opt['btcpay-url']}${path}`, {
    method, headers: body ? { 'Content-Type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`btcpay stand-in ${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// Pay bolt11 the Lightning way: settle the BTCPay invoice it belongs to.
async function pay(w, bolt11) {
  const seen = state.payments.get(bolt11);
  if (seen) return seen;
  const list = await btcpay('GET', '/_test/invoices');
  for (const inv of list) {
    const one = await btcpay('GET', `/_test/invoices/${encodeURIComponent(inv.id)}`);
    if (one.bolt11 !== bolt11) continue;
    await btcpay('POST', `/_test/invoices/${encodeURIComponent(inv.id)}/settle`, { deliver: w.webhook !== false });
    const p = { btcpay_invoice: inv.id, preimage: hex(crypto.randomBytes(32)) };
    state.payments.set(bolt11, p);
    return p;
  }
  return null;
}

function respond(w, req, body, nip44used) {
  const plain = JSON.stringify(body);
  const content = nip44used
    ? nip44.encrypt(plain, nip44.utils.getConversationKey(w.sec, req.pubkey))
    : nip04.encrypt(w.sec, req.pubkey, plain);
  const ev = finalizeEvent({ kind: 23195, created_at: now(), tags: [['p', req.pubkey], ['e', req.id]], content }, w.sec);
  broadcast(ev);
}

async function onRequest(w, ev) {
  const rec = { id: ev.id, wallet: w.pubkey, client: ev.pubkey, encryption: null, method: null, invoice: null,
    verified: verifyEvent(ev), answer: null, at: Date.now() };
  state.requests.push(rec);
  if (!rec.verified || ev.pubkey !== w.client) {
    rec.answer = 'ignored: not signed by the connection\'s client key';
    return;
  }
  const enc = ev.tags.find((t) => t[0] === 'encryption');
  const useNip44 = !!enc && enc[1].split(' ').includes('nip44_v2');
  rec.encryption = useNip44 ? 'nip44' : 'nip04';
  let body;
  try {
    const plain = useNip44
      ? nip44.decrypt(ev.content, nip44.utils.getConversationKey(w.sec, ev.pubkey))
      : nip04.decrypt(w.sec, ev.pubkey, ev.content);
    body = JSON.parse(plain);
  } catch (e) {
    rec.answer = `ignored: cannot decrypt (${e.message})`;
    return;
  }
  rec.method = body.method;
  rec.invoice = body.params?.invoice ?? null;
  if (body.method !== 'pay_invoice') {
    respond(w, ev, { result_type: body.method, error: { code: 'NOT_IMPLEMENTED', message: 'only pay_invoice' } }, useNip44);
    rec.answer = 'NOT_IMPLEMENTED';
    return;
  }
  if (w.mode === 'silent') {
    rec.answer = 'silent';
    return;
  }
  if (w.mode === 'error') {
    respond(w, ev, { result_type: 'pay_invoice', error: { code: w.code, message: w.message } }, useNip44);
    rec.answer = `error ${w.code}`;
    return;
  }
  let p;
  try {
    p = await pay(w, rec.invoice);
  } catch (e) {
    rec.answer = `error INTERNAL ${e.message}`;
    respond(w, ev, { result_type: 'pay_invoice', error: { code: 'INTERNAL', message: e.message } }, useNip44);
    return;
  }
  if (!p) {
    rec.answer = 'error PAYMENT_FAILED';
    respond(w, ev, { result_type: 'pay_invoice', error: { code: 'PAYMENT_FAILED', message: 'no route to that invoice' } }, useNip44);
    return;
  }
  if (w.mode === 'pay_silent') {
    rec.answer = 'paid, silent';
    return;
  }
  rec.answer = 'paid';
  respond(w, ev, { result_type: 'pay_invoice', result: { preimage: p.preimage } }, useNip44);
}

function onMessage(ws, data) {
  let msg;
  try {
    msg = JSON.parse(data.toString());
  } catch {
    ws.send(JSON.stringify(['NOTICE', 'invalid: not JSON']));
    return;
  }
  if (!Array.isArray(msg)) return;
  if (msg[0] === 'EVENT') {
    const ev = msg[1];
    if (!ev || !verifyEvent(ev)) {
      ws.send(JSON.stringify(['OK', ev?.id ?? '', false, 'invalid: bad signature']));
      return;
    }
    ws.send(JSON.stringify(['OK', ev.id, true, '']));
    broadcast(ev);
    if (ev.kind === 23194) {
      const to = ev.tags.find((t) => t[0] === 'p')?.[1];
      const w = state.wallets.get(to);
      if (w) onRequest(w, ev).catch((e) => console.error('wallet:', e));
    }
  } else if (msg[0] === 'REQ') {
    const [, id, ...filters] = msg;
    for (const s of state.subs) if (s.ws === ws && s.id === id) state.subs.delete(s);
    state.subs.add({ ws, id, filters });
    for (const ev of state.stored) {
      if (filters.some((f) => matches(f, ev))) ws.send(JSON.stringify(['EVENT', id, ev]));
    }
    ws.send(JSON.stringify(['EOSE', id]));
  } else if (msg[0] === 'CLOSE') {
    for (const s of state.subs) if (s.ws === ws && s.id === msg[1]) state.subs.delete(s);
  }
}

function send(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function control(req, res) {
  const url = new URL(req.url, 'http://x');
  let raw = '';
  for await (const c of req) raw += c;
  const body = raw ? JSON.parse(raw) : {};
  const relay = `ws://${req.headers.host}/`;
  let m;
  if (url.pathname === '/_test/wallets' && req.method === 'POST') {
    const w = makeWallet(body);
    return send(res, 200, { pubkey: w.pubkey, client_pubkey: w.client, url: connectionString(w, relay) });
  }
  if ((m = /^\/_test\/wallets\/([0-9a-f]{64})\/mode$/.exec(url.pathname)) && req.method === 'POST') {
    const w = state.wallets.get(m[1]);
    if (!w) return send(res, 404, { error: 'no such wallet' });
    Object.assign(w, { mode: body.mode ?? w.mode, webhook: body.webhook ?? w.webhook, code: body.code ?? w.code, message: body.message ?? w.message });
    return send(res, 200, { mode: w.mode });
  }
  if (url.pathname === '/_test/requests' && req.method === 'GET') return send(res, 200, state.requests);
  if (url.pathname === '/_test/payments' && req.method === 'GET') {
    return send(res, 200, [...state.payments].map(([bolt11, p]) => ({ bolt11, ...p })));
  }
  if (url.pathname === '/_test/reset' && req.method === 'POST') {
    state.requests = [];
    return send(res, 200, {});
  }
  return send(res, 404, { error: `no control route ${req.method} ${url.pathname}` });
}

const server = http.createServer((req, res) => {
  control(req, res).catch((e) => send(res, 500, { error: e.message }));
});
const wss = new WebSocketServer({ server });
wss.on('connection', (ws, req) => {
  if (req.url.startsWith('/garbage')) {
    // Speaks WebSocket, but not Nostr.
    ws.on('message', () => ws.send('HTTP/1.1 200 OK <html>this is not a relay</html>'));
    return;
  }
  ws.on('message', (data) => onMessage(ws, data));
  ws.on('close', () => {
    for (const s of state.subs) if (s.ws === ws) state.subs.delete(s);
  });
});
server.listen(Number(opt.port), opt.host, () => {
  console.log(`nwc stand-in listening on ${server.address().port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
