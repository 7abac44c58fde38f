// Self-test of the BTCPay Greenfield stand-in (btcpay.mjs).
// Run: node --test tests/standins/btcpay.selftest.mjs
import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bech32Verify } from './btcpay.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const STANDIN = path.join(HERE, 'btcpay.mjs');
const API_KEY = 'gf-' + crypto.randomBytes(12).toString('hex');
const STORE = 'StandInStore' + crypto.randomBytes(4).toString('hex');
const SECRET = 'whsec-' + crypto.randomBytes(8).toString('hex');

// ---- helpers

function hmac(secret, raw) {
	return 'sha256=' + crypto.createHmac('sha256', secret).update(raw).digest('hex');
}

function startReceiver() {
	const r = { hits: [], respond: { status: 200, body: 'ok' } };
	r.server = http.createServer((req, res) => {
		const chunks = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => {
			const raw = Buffer.concat(chunks).toString('utf8');
			r.hits.push({ method: req.method, url: req.url, headers: req.headers, raw });
			res.writeHead(r.respond.status, { 'Content-Type': 'text/plain' });
			res.end(r.respond.body);
		});
	});
	return new Promise((resolve) => {
		r.server.listen(0, '127.0.0.1', () => {
			r.url = `http://127.0.0.1:${r.server.address().port}/webhooks/btcpay`;
			r.close = () => new Promise((ok) => {
				r.server.close(() => ok());
				r.server.closeAllConnections();
			});
			resolve(r);
		});
	});
}

function startStandin(args, env = {}) {
	return new Promise((resolve, reject) => {
		const proc = spawn(process.execPath, [STANDIN, ...args], {
			stdio: ['ignore', 'pipe', 'pipe'],
			env: { ...process.env, ...env },
		});
		let out = '';
		let err = '';
		const timer = setTimeout(() => {
			proc.kill('SIGKILL');
			reject(new Error(`stand-in did not start: ${out} ${err}`));
		}, 10000);
		proc.stderr.on('data', (c) => {
			err += c;
		});
		proc.stdout.on('data', (c) => {
			out += c;
			const m = /btcpay stand-in listening on (\d+)\n/.exec(out);
			if (m) {
				clearTimeout(timer);
				const port = Number(m[1]);
				const exited = new Promise((ok) => proc.once('exit', (code, signal) => ok({ code, signal })));
				resolve({
					proc,
					port,
					base: `http://127.0.0.1:${port}`,
					exited,
					stop: async () => {
						if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
						return exited;
					},
				});
			}
		});
		proc.once('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`stand-in exited with ${code}: ${out} ${err}`));
		});
	});
}

async function call(base, method, p, { body, key = API_KEY, scheme = 'token', headers = {}, raw } = {}) {
	const h = { ...headers };
	if (key !== null) h.Authorization = `${scheme} ${key}`;
	let payload;
	if (raw !== undefined) payload = raw;
	else if (body !== undefined) {
		payload = JSON.stringify(body);
		h['Content-Type'] ??= 'application/json';
	}
	const res = await fetch(base + p, { method, headers: h, body: payload });
	const text = await res.text();
	let json = null;
	try {
		json = text ? JSON.parse(text) : null;
	} catch { /* not JSON */ }
	return { status: res.status, headers: res.headers, text, json };
}

async function waitFor(fn, ms = 3000) {
	const end = Date.now() + ms;
	for (;;) {
		const v = fn();
		if (v) return v;
		if (Date.now() > end) throw new Error('timed out waiting');
		await new Promise((r) => setTimeout(r, 20));
	}
}

const ISSUER_ID_RE = /^[1-9A-HJ-NP-Za-km-z]{16,30}$/;

// ---- the main instance

describe('btcpay stand-in', () => {
	let rx;
	let si;
	const api = (method, p, opts) => call(si.base, method, p, opts);
	const ctl = (method, p, body) => call(si.base, method, p, { body, key: null });
	const invoicesPath = `/api/v1/stores/${STORE}/invoices`;
	const create = async (body) => {
		const r = await api('POST', invoicesPath, { body });
		assert.equal(r.status, 200, r.text);
		return r.json;
	};
	const verify = (hit) => assert.equal(hit.headers['btcpay-sig'], hmac(SECRET, hit.raw), 'BTCPay-Sig must be the HMAC of the raw body');

	before(async () => {
		rx = await startReceiver();
		si = await startStandin(['--port', '0', '--api-key', API_KEY, '--store-id', STORE,
			'--webhook-url', rx.url, '--webhook-secret', SECRET]);
	});
	after(async () => {
		const r = await si.stop();
		assert.equal(r.code, 0, `stand-in exit ${JSON.stringify(r)}`);
		await rx.close();
	});
	beforeEach(async () => {
		assert.equal((await ctl('POST', '/_test/reset')).status, 200);
		rx.hits.length = 0;
		rx.respond = { status: 200, body: 'ok' };
	});

	test('health needs no key', async () => {
		const r = await api('GET', '/api/v1/health', { key: null });
		assert.equal(r.status, 200);
		assert.deepEqual(r.json, { synchronized: true });
	});

	test('authentication: 401 without a valid "token" key, 403 for another store', async () => {
		for (const opts of [{ key: null }, { key: 'wrong' }, { scheme: 'Bearer' }, { scheme: 'Basic' }]) {
			const r = await api('GET', invoicesPath + '/whatever', opts);
			assert.equal(r.status, 401, JSON.stringify(opts));
			assert.deepEqual(r.json, { code: 'unauthenticated', message: 'Authentication is required for accessing this endpoint' });
		}
		const r1 = await api('POST', '/api/v1/stores/SomeOtherStore/invoices', { body: { amount: '1.00', currency: 'USD' } });
		assert.equal(r1.status, 403);
		assert.equal(r1.json.code, 'missing-permission');
		assert.equal(r1.json.missingPermission, 'btcpay.store.cancreateinvoice');
		assert.equal(typeof r1.json.message, 'string');
		const r2 = await api('GET', '/api/v1/stores/SomeOtherStore/invoices/x');
		assert.equal(r2.status, 403);
		assert.equal(r2.json.missingPermission, 'btcpay.store.canviewinvoices');
		const r3 = await api('GET', invoicesPath, { scheme: 'TOKEN' });
		assert.equal(r3.status, 200, 'the scheme is case-insensitive');
		assert.deepEqual(r3.json, []);
		assert.equal((await ctl('GET', '/_test/invoices')).json.length, 0, 'nothing was created');
	});

	test('create, get and payment methods have the Greenfield shapes', async () => {
		const t0 = Math.floor(Date.now() / 1000);
		const metadata = { orderId: 'tally-purchase-7', purchaseId: '7', userId: 'alice', package: { credits: 500 } };
		const inv = await create({ amount: '10.00', currency: 'usd', metadata, checkout: { expirationMinutes: 30 } });
		assert.match(inv.id, ISSUER_ID_RE);
		assert.equal(inv.storeId, STORE);
		assert.equal(inv.amount, '10.00');
		assert.equal(inv.currency, 'USD');
		assert.equal(inv.type, 'Standard');
		assert.equal(inv.status, 'New');
		assert.equal(inv.additionalStatus, 'None');
		assert.equal(inv.checkoutLink, `http://127.0.0.1:${si.port}/i/${inv.id}`);
		assert.ok(Number.isInteger(inv.createdTime) && Math.abs(inv.createdTime - t0) <= 2);
		assert.equal(inv.expirationTime - inv.createdTime, 30 * 60);
		assert.equal(inv.monitoringExpiration - inv.expirationTime, 1440 * 60);
		assert.deepEqual(inv.metadata, metadata);
		assert.deepEqual(inv.checkout.paymentMethods, ['BTC-LN']);
		assert.equal(inv.checkout.expirationMinutes, 30);
		assert.deepEqual(inv.availableStatusesForManualMarking, ['Settled', 'Invalid']);
		assert.equal(inv.archived, false);

		const got = await api('GET', `${invoicesPath}/${inv.id}`);
		assert.equal(got.status, 200);
		assert.deepEqual(got.json, inv);

		const page = await fetch(inv.checkoutLink);
		assert.equal(page.status, 200);
		assert.match(await page.text(), new RegExp(inv.id));

		const pm = await api('GET', `${invoicesPath}/${inv.id}/payment-methods`);
		assert.equal(pm.status, 200);
		assert.equal(pm.json.length, 1);
		const ln = pm.json[0];
		assert.equal(ln.paymentMethodId, 'BTC-LN');
		assert.equal(ln.currency, 'BTC');
		assert.equal(ln.activated, true);
		// 10.00 USD at 50000 USD/BTC = 0.0002 BTC = 20000 sat = 200 uBTC
		assert.equal(ln.rate, '50000');
		assert.equal(ln.amount, '0.00020000');
		assert.equal(ln.due, '0.00020000');
		assert.equal(ln.totalPaid, '0');
		assert.equal(ln.paymentMethodPaid, '0');
		assert.deepEqual(ln.payments, []);
		assert.ok(ln.destination.startsWith('lnbcrt200u1'), ln.destination);
		assert.ok(bech32Verify(ln.destination), 'BOLT11 has a valid bech32 checksum');
		assert.equal(ln.paymentLink, 'lightning:' + ln.destination);
		assert.match(ln.additionalData.paymentHash, /^[0-9a-f]{64}$/);

		const listed = await api('GET', `${invoicesPath}?orderId=tally-purchase-7`);
		assert.equal(listed.status, 200);
		assert.deepEqual(listed.json.map((i) => i.id), [inv.id]);

		const missing = await api('GET', `${invoicesPath}/NoSuchInvoice123`);
		assert.equal(missing.status, 404);
		assert.deepEqual(missing.json, { code: 'invoice-not-found', message: 'The invoice was not found' });
		const missingPm = await api('GET', `${invoicesPath}/NoSuchInvoice123/payment-methods`);
		assert.equal(missingPm.status, 404);

		const dflt = await create({ amount: '1', currency: 'EUR' });
		assert.equal(dflt.expirationTime - dflt.createdTime, 15 * 60, 'default expiration is 15 minutes');
		assert.deepEqual(dflt.metadata, {});
	});

	test('validation errors are 422 arrays of {path, message}', async () => {
		const cases = [
			[{ amount: 10, currency: 'USD' }, 'amount'],
			[{ amount: 'abc', currency: 'USD' }, 'amount'],
			[{ amount: '1,50', currency: 'USD' }, 'amount'],
			[{ amount: '0', currency: 'USD' }, 'amount'],
			[{ amount: '-1.00', currency: 'USD' }, 'amount'],
			[{ amount: '1.234', currency: 'USD' }, 'amount'],
			[{ amount: '1.5', currency: 'JPY' }, 'amount'],
			[{ currency: 'USD' }, 'amount'],
			[{ amount: '1.00', currency: 'XYZ' }, 'currency'],
			[{ amount: '1.00', currency: 'USD', checkout: { expirationMinutes: '15' } }, 'checkout.expirationMinutes'],
			[{ amount: '1.00', currency: 'USD', checkout: { expirationMinutes: 0.1 } }, 'checkout.expirationMinutes'],
			[{ amount: '1.00', currency: 'USD', metadata: ['x'] }, 'metadata'],
			[{ amount: '1.00', currency: 'USD', checkout: { paymentMethods: ['DOGE-LN'] } }, 'checkout.paymentMethods[0]'],
		];
		for (const [body, p] of cases) {
			const r = await api('POST', invoicesPath, { body });
			assert.equal(r.status, 422, JSON.stringify(body));
			assert.ok(Array.isArray(r.json) && r.json.length >= 1, r.text);
			for (const e of r.json) {
				assert.deepEqual(Object.keys(e).sort(), ['message', 'path']);
				assert.equal(typeof e.message, 'string');
			}
			assert.ok(r.json.some((e) => e.path === p), `${JSON.stringify(body)} -> ${r.text}`);
		}
		const badJson = await api('POST', invoicesPath, { raw: '{"amount":', headers: { 'Content-Type': 'application/json' } });
		assert.equal(badJson.status, 422);
		assert.equal(badJson.json[0].path, '');
		const noType = await api('POST', invoicesPath, { raw: '{"amount":"1.00"}' });
		assert.equal(noType.status, 415, 'no Content-Type: application/json');
		assert.equal((await ctl('GET', '/_test/invoices')).json.length, 0, 'nothing was created');

		for (const [amount, currency, want] of [['1.50', 'USD', '1.50'], ['1.230', 'USD', '1.230'], ['0.00000001', 'BTC', '0.00000001'],
			['1500', 'JPY', '1500'], ['007.5', 'EUR', '7.5'], ['2100', 'SATS', '2100']]) {
			const inv = await create({ amount, currency });
			assert.equal(inv.amount, want);
		}
		const sats = await create({ amount: '2100', currency: 'SATS' });
		const pm = (await api('GET', `${invoicesPath}/${sats.id}/payment-methods`)).json[0];
		assert.equal(pm.amount, '0.00002100');
		assert.ok(pm.destination.startsWith('lnbcrt21u1'), pm.destination);
	});

	test('status becomes Expired once expirationTime has passed (on read), no webhook by default', async () => {
		const inv = await create({ amount: '5.00', currency: 'USD', checkout: { expirationMinutes: 1 } });
		assert.equal((await api('GET', `${invoicesPath}/${inv.id}`)).json.status, 'New');
		const clock = await ctl('POST', '/_test/clock', { advanceSeconds: 61 });
		assert.equal(clock.status, 200);
		assert.ok(clock.json.now >= inv.expirationTime);
		const got = (await api('GET', `${invoicesPath}/${inv.id}`)).json;
		assert.equal(got.status, 'Expired');
		assert.equal(got.additionalStatus, 'None');
		await new Promise((r) => setTimeout(r, 100));
		assert.equal(rx.hits.length, 0);
	});

	test('settle sends a signed InvoiceSettled and returns the webhook reply', async () => {
		const metadata = { orderId: 'p-1', purchaseId: '1' };
		const inv = await create({ amount: '12.34', currency: 'EUR', metadata });
		rx.respond = { status: 200, body: '{"received":true}' };
		const r = await ctl('POST', `/_test/invoices/${inv.id}/settle`, { deliver: true });
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.previousStatus, 'New');
		assert.equal(r.json.invoice.status, 'Settled');
		assert.equal(r.json.delivery.sent, true);
		assert.deepEqual(r.json.delivery.response, { status: 200, body: '{"received":true}' });
		assert.equal(rx.hits.length, 1);
		const hit = rx.hits[0];
		assert.equal(hit.method, 'POST');
		assert.equal(hit.url, '/webhooks/btcpay');
		assert.match(hit.headers['content-type'], /^application\/json/);
		verify(hit);
		assert.ok(hit.raw.includes('\n  "deliveryId": '), 'BTCPay sends indented JSON');
		const ev = JSON.parse(hit.raw);
		assert.equal(ev.type, 'InvoiceSettled');
		assert.match(ev.deliveryId, ISSUER_ID_RE);
		assert.match(ev.webhookId, ISSUER_ID_RE);
		assert.equal(ev.originalDeliveryId, ev.deliveryId);
		assert.equal(ev.isRedelivery, false);
		assert.equal(ev.storeId, STORE);
		assert.equal(ev.invoiceId, inv.id);
		assert.deepEqual(ev.metadata, metadata);
		assert.equal(ev.manuallyMarked, false);
		assert.equal(ev.overPaid, false);
		assert.ok(Number.isInteger(ev.timestamp));
		assert.equal(r.json.delivery.deliveryId, ev.deliveryId);

		const got = (await api('GET', `${invoicesPath}/${inv.id}`)).json;
		assert.equal(got.status, 'Settled');
		assert.equal(got.additionalStatus, 'None');
		const ln = (await api('GET', `${invoicesPath}/${inv.id}/payment-methods`)).json[0];
		assert.equal(ln.due, '0');
		assert.equal(ln.totalPaid, ln.amount);
		assert.equal(ln.payments.length, 1);
		assert.equal(ln.payments[0].status, 'Settled');
		assert.equal(ln.payments[0].value, ln.amount);
	});

	test('a failing webhook endpoint is reported back', async () => {
		const inv = await create({ amount: '1.00', currency: 'USD' });
		rx.respond = { status: 500, body: 'boom' };
		const r = await ctl('POST', `/_test/invoices/${inv.id}/settle`);
		assert.deepEqual(r.json.delivery.response, { status: 500, body: 'boom' });
		assert.equal(r.json.invoice.status, 'Settled');
	});

	test('expire and invalid send InvoiceExpired and InvoiceInvalid', async () => {
		const a = await create({ amount: '3.00', currency: 'USD', metadata: { orderId: 'a' } });
		const ra = await ctl('POST', `/_test/invoices/${a.id}/expire`, {});
		assert.equal(ra.json.invoice.status, 'Expired');
		const b = await create({ amount: '4.00', currency: 'USD', metadata: { orderId: 'b' } });
		const rb = await ctl('POST', `/_test/invoices/${b.id}/invalid`, {});
		assert.equal(rb.json.invoice.status, 'Invalid');
		assert.equal(rb.json.invoice.additionalStatus, 'Marked');
		assert.equal(rx.hits.length, 2);
		rx.hits.forEach(verify);
		const [ea, eb] = rx.hits.map((h) => JSON.parse(h.raw));
		assert.equal(ea.type, 'InvoiceExpired');
		assert.equal(ea.invoiceId, a.id);
		assert.equal(ea.partiallyPaid, false);
		assert.deepEqual(ea.metadata, { orderId: 'a' });
		assert.equal(eb.type, 'InvoiceInvalid');
		assert.equal(eb.invoiceId, b.id);
		assert.equal(eb.manuallyMarked, true);
		assert.equal((await api('GET', `${invoicesPath}/${a.id}`)).json.status, 'Expired');
		assert.equal((await api('GET', `${invoicesPath}/${b.id}`)).json.status, 'Invalid');
	});

	test('a lost webhook (deliver:false) can be redelivered the BTCPay way', async () => {
		const inv = await create({ amount: '2.00', currency: 'USD', metadata: { orderId: 'lost' } });
		const r = await ctl('POST', `/_test/invoices/${inv.id}/settle`, { deliver: false });
		assert.equal(r.json.delivery.sent, false);
		assert.equal(r.json.delivery.response, null);
		assert.equal(rx.hits.length, 0);
		assert.equal((await api('GET', `${invoicesPath}/${inv.id}`)).json.status, 'Settled', 'the API shows the truth');
		const first = r.json.delivery.deliveryId;
		const list = (await ctl('GET', '/_test/deliveries')).json;
		assert.deepEqual(list.map((d) => [d.deliveryId, d.sent]), [[first, false]]);

		const re = await ctl('POST', `/_test/deliveries/${first}/redeliver`);
		assert.equal(re.status, 200);
		assert.equal(re.json.delivery.response.status, 200);
		assert.equal(rx.hits.length, 1);
		verify(rx.hits[0]);
		const ev = JSON.parse(rx.hits[0].raw);
		assert.notEqual(ev.deliveryId, first);
		assert.equal(ev.originalDeliveryId, first);
		assert.equal(ev.isRedelivery, true);
		assert.equal(ev.type, 'InvoiceSettled');
		assert.equal(ev.invoiceId, inv.id);
		assert.equal(ev.timestamp, r.json.delivery.payload.timestamp, 'the event keeps its timestamp');

		const again = await ctl('POST', `/_test/deliveries/${ev.deliveryId}/redeliver`);
		const ev2 = JSON.parse(rx.hits[1].raw);
		assert.equal(again.json.delivery.deliveryId, ev2.deliveryId);
		assert.notEqual(ev2.deliveryId, ev.deliveryId);
		assert.equal(ev2.originalDeliveryId, first, 'a redelivery of a redelivery still points at the first');
		assert.equal((await ctl('POST', '/_test/deliveries/nope/redeliver')).status, 404);
	});

	test('resend-same sends byte-identical duplicates', async () => {
		const inv = await create({ amount: '2.00', currency: 'USD' });
		const r = await ctl('POST', `/_test/invoices/${inv.id}/settle`);
		const id = r.json.delivery.deliveryId;
		const d = await ctl('POST', `/_test/deliveries/${id}/resend-same`);
		assert.equal(d.status, 200);
		assert.equal(rx.hits.length, 2);
		assert.equal(rx.hits[1].raw, rx.hits[0].raw);
		assert.equal(rx.hits[1].headers['btcpay-sig'], rx.hits[0].headers['btcpay-sig']);
		assert.equal(JSON.parse(rx.hits[1].raw).deliveryId, id);
		verify(rx.hits[1]);
		const full = (await ctl('GET', `/_test/deliveries/${id}`)).json;
		assert.equal(full.attempts.length, 2);
		assert.equal(full.raw, rx.hits[0].raw);
	});

	test('/_test/send delivers arbitrary bodies, signed, forged or unsigned', async () => {
		const body = { deliveryId: 'forged1', type: 'InvoiceSettled', invoiceId: 'nope', storeId: STORE };
		const forged = 'sha256=' + '00'.repeat(32);
		await ctl('POST', '/_test/send', { body, signature: forged });
		assert.equal(rx.hits[0].headers['btcpay-sig'], forged);
		assert.notEqual(hmac(SECRET, rx.hits[0].raw), forged);
		assert.deepEqual(JSON.parse(rx.hits[0].raw), body);

		await ctl('POST', '/_test/send', { body });
		verify(rx.hits[1]);
		await ctl('POST', '/_test/send', { body, secret: 'not-the-secret' });
		assert.equal(rx.hits[2].headers['btcpay-sig'], hmac('not-the-secret', rx.hits[2].raw));
		await ctl('POST', '/_test/send', { body: 'not json at all', omitSignature: true });
		assert.equal(rx.hits[3].raw, 'not json at all');
		assert.equal(rx.hits[3].headers['btcpay-sig'], undefined);
		assert.equal((await ctl('POST', '/_test/send', {})).status, 400);
	});

	test('/_test/invoices/:id/event sends other event types', async () => {
		const inv = await create({ amount: '2.00', currency: 'USD' });
		const r = await ctl('POST', `/_test/invoices/${inv.id}/event`, { type: 'InvoiceReceivedPayment' });
		assert.equal(r.status, 200);
		const ev = JSON.parse(rx.hits[0].raw);
		assert.equal(ev.type, 'InvoiceReceivedPayment');
		assert.equal(ev.paymentMethodId, 'BTC-LN');
		assert.equal(ev.afterExpiration, false);
		assert.equal(typeof ev.payment.value, 'string');
		assert.equal((await ctl('POST', `/_test/invoices/${inv.id}/event`, { type: 'Nope' })).status, 400);
		assert.equal((await ctl('POST', '/_test/invoices/unknown/settle')).status, 404);
	});

	test('fail-next makes the next N API calls fail, then recovers', async () => {
		assert.equal((await ctl('POST', '/_test/fail-next', { status: 503, count: 2 })).status, 200);
		const a = await api('POST', invoicesPath, { body: { amount: '1.00', currency: 'USD' } });
		assert.equal(a.status, 503);
		assert.equal(typeof a.json.code, 'string');
		assert.equal(typeof a.json.message, 'string');
		assert.equal((await ctl('GET', '/_test/invoices')).status, 200, 'control routes are not affected');
		const b = await api('GET', invoicesPath + '/x');
		assert.equal(b.status, 503);
		const c = await api('POST', invoicesPath, { body: { amount: '1.00', currency: 'USD' } });
		assert.equal(c.status, 200);
		assert.equal((await ctl('GET', '/_test/invoices')).json.length, 1, 'failed calls created nothing');

		await ctl('POST', '/_test/fail-next', { status: 422 });
		const v = await api('GET', invoicesPath);
		assert.equal(v.status, 422);
		assert.ok(Array.isArray(v.json));
		await ctl('POST', '/_test/fail-next', { status: 429, body: { code: 'rate-limited', message: 'slow down' }, headers: { 'Retry-After': '1' } });
		const w = await api('GET', invoicesPath);
		assert.equal(w.status, 429);
		assert.equal(w.headers.get('retry-after'), '1');
		assert.deepEqual(w.json, { code: 'rate-limited', message: 'slow down' });
		await ctl('POST', '/_test/fail-next', { status: 0 });
		await assert.rejects(api('GET', invoicesPath), 'status 0 drops the connection');
		assert.equal((await api('GET', invoicesPath)).status, 200);

		assert.equal((await ctl('POST', '/_test/fail-next', { status: 42 })).status, 400);
		assert.equal((await ctl('POST', '/_test/fail-next', { status: 500, count: 0 })).status, 400);
		await ctl('POST', '/_test/fail-next', { status: 500, count: 5 });
		assert.equal((await ctl('GET', '/_test/fail-next')).json.length, 1);
		await ctl('DELETE', '/_test/fail-next');
		assert.equal((await api('GET', invoicesPath)).status, 200);
	});

	test('requests are recorded with the key masked', async () => {
		await ctl('DELETE', '/_test/requests');
		const body = { amount: '9.99', currency: 'USD', metadata: { orderId: 'rec' }, orderId: 'misplaced' };
		await api('POST', invoicesPath, { body });
		await api('GET', invoicesPath + '/x', { key: null });
		const log = (await ctl('GET', '/_test/requests')).json;
		assert.equal(log.length, 2);
		assert.equal(log[0].method, 'POST');
		assert.equal(log[0].path, invoicesPath);
		assert.deepEqual(log[0].body, body);
		assert.equal(log[0].headers.authorization, 'present');
		assert.equal(log[0].authorization, 'present');
		assert.equal(log[0].authScheme, 'token');
		assert.equal(log[0].authValid, true);
		assert.equal(log[0].status, 200);
		assert.ok(log[0].warnings.some((w) => w.includes('orderId')), 'a top-level orderId is flagged');
		assert.equal(log[1].headers.authorization, 'absent');
		assert.equal(log[1].status, 401);
		assert.ok(!JSON.stringify(log).includes(API_KEY), 'the API key never appears');
		await ctl('DELETE', '/_test/requests');
		assert.deepEqual((await ctl('GET', '/_test/requests')).json, []);
	});

	test('webhook settings can change at run time', async () => {
		const w = await ctl('POST', '/_test/webhook', { secret: 'rotated' });
		assert.equal(w.json.secretSet, true);
		const inv = await create({ amount: '1.00', currency: 'USD' });
		await ctl('POST', `/_test/invoices/${inv.id}/settle`);
		assert.equal(rx.hits[0].headers['btcpay-sig'], hmac('rotated', rx.hits[0].raw));
		await ctl('POST', '/_test/webhook', { secret: SECRET });
	});
});

// ---- other instances

describe('stand-in configuration', () => {
	test('environment variables, mainnet BOLT11 and the Greenfield 1.x names', async () => {
		const rx = await startReceiver();
		const si = await startStandin(['--greenfield-version', '1', '--network', 'mainnet', '--rate', 'EUR=40000'], {
			BTCPAY_STANDIN_PORT: '0',
			BTCPAY_STANDIN_API_KEY: API_KEY,
			BTCPAY_STANDIN_STORE_ID: STORE,
			BTCPAY_STANDIN_WEBHOOK_URL: rx.url,
			BTCPAY_STANDIN_WEBHOOK_SECRET: SECRET,
		});
		try {
			const inv = await call(si.base, 'POST', `/api/v1/stores/${STORE}/invoices`, { body: { amount: '4.00', currency: 'EUR' } });
			assert.equal(inv.status, 200, inv.text);
			assert.deepEqual(inv.json.checkout.paymentMethods, ['BTC-LightningNetwork']);
			const pm = (await call(si.base, 'GET', `/api/v1/stores/${STORE}/invoices/${inv.json.id}/payment-methods`)).json[0];
			assert.equal(pm.paymentMethod, 'BTC-LightningNetwork');
			assert.equal(pm.cryptoCode, 'BTC');
			assert.equal(pm.paymentMethodId, undefined);
			assert.equal(pm.amount, '0.00010000');
			assert.ok(pm.destination.startsWith('lnbc100u1'), pm.destination);
			assert.ok(bech32Verify(pm.destination));
			await call(si.base, 'POST', `/_test/invoices/${inv.json.id}/settle`, { body: {}, key: null });
			assert.equal(rx.hits[0].headers['btcpay-sig'], hmac(SECRET, rx.hits[0].raw));
		} finally {
			const r = await si.stop();
			assert.equal(r.code, 0);
			await rx.close();
		}
	});

	test('--created-webhooks and --expire-webhooks send events by themselves', async () => {
		const rx = await startReceiver();
		const si = await startStandin(['--port', '0', '--api-key', API_KEY, '--store-id', STORE, '--webhook-url', rx.url,
			'--webhook-secret', SECRET, '--created-webhooks', '--expire-webhooks']);
		try {
			const inv = await call(si.base, 'POST', `/api/v1/stores/${STORE}/invoices`,
				{ body: { amount: '1.00', currency: 'USD', checkout: { expirationMinutes: 1 } } });
			await waitFor(() => rx.hits.length === 1);
			assert.equal(JSON.parse(rx.hits[0].raw).type, 'InvoiceCreated');
			await call(si.base, 'POST', '/_test/clock', { body: { advanceSeconds: 120 }, key: null });
			await waitFor(() => rx.hits.length === 2);
			const ev = JSON.parse(rx.hits[1].raw);
			assert.equal(ev.type, 'InvoiceExpired');
			assert.equal(ev.invoiceId, inv.json.id);
			assert.equal(rx.hits[1].headers['btcpay-sig'], hmac(SECRET, rx.hits[1].raw));
			await new Promise((r) => setTimeout(r, 400));
			assert.equal(rx.hits.length, 2, 'expiry is announced once');
		} finally {
			await si.stop();
			await rx.close();
		}
	});

	test('exits 0 on SIGTERM; refuses to start without a key', async () => {
		const si = await startStandin(['--port', '0', '--api-key', 'k', '--store-id', 's']);
		si.proc.kill('SIGTERM');
		const r = await si.exited;
		assert.deepEqual(r, { code: 0, signal: null });
		await assert.rejects(startStandin(['--port', '0', '--store-id', 's'], { BTCPAY_STANDIN_API_KEY: '' }), /exited with 2/);
	});
});
