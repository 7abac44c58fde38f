#!/usr/bin/env node
// A local stand-in for BTCPay Server's Greenfield API (the parts tally uses),
// for the integration tests.  Node built-ins only.
//
//   node tests/standins/btcpay.mjs --port PORT --api-key KEY --store-id STORE \
//        [--webhook-url URL] [--webhook-secret SECRET] [options]
//
// Every option can also come from the environment as BTCPAY_STANDIN_<NAME>
// (e.g. BTCPAY_STANDIN_API_KEY); the command line wins.  --port 0 picks a free
// port.  Prints "btcpay stand-in listening on PORT" on stdout when ready and
// exits on SIGTERM/SIGINT.
//
// Greenfield routes (Authorization: token KEY):
//   GET  /api/v1/health                                          (no auth)
//   POST /api/v1/stores/{storeId}/invoices
//   GET  /api/v1/stores/{storeId}/invoices[?orderId=..&status=..]
//   GET  /api/v1/stores/{storeId}/invoices/{invoiceId}
//   GET  /api/v1/stores/{storeId}/invoices/{invoiceId}/payment-methods
// Checkout page: GET /i/{invoiceId}.  Test control API: /_test/... (no auth);
// see usage() below or the report in the selftest.

import http from 'node:http';
import https from 'node:https';
import crypto from 'node:crypto';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

// ---------------------------------------------------------------- options

const OPTION_SPEC = {
	port: { type: 'string', default: '0' },
	host: { type: 'string', default: '127.0.0.1' },
	'api-key': { type: 'string' },
	'store-id': { type: 'string' },
	'webhook-url': { type: 'string' },
	'webhook-secret': { type: 'string' },
	'webhook-id': { type: 'string' },
	// regtest -> lnbcrt..., mainnet -> lnbc..., testnet -> lntb..., signet -> lntbs...
	network: { type: 'string', default: 'regtest' },
	// 2 (BTCPay 2.x, current reference): paymentMethodId "BTC-LN";
	// 1 (BTCPay 1.x): paymentMethod "BTC-LightningNetwork", cryptoCode, networkFee
	'greenfield-version': { type: 'string', default: '2' },
	'default-currency': { type: 'string', default: 'USD' },
	// CUR=PRICE_OF_ONE_BTC, repeatable (e.g. --rate EUR=46000)
	rate: { type: 'string', multiple: true },
	// also send InvoiceCreated when an invoice is created (BTCPay does, if subscribed)
	'created-webhooks': { type: 'boolean', default: false },
	// send InvoiceExpired when an invoice expires by itself (timer/read)
	'expire-webhooks': { type: 'boolean', default: false },
	'webhook-timeout-ms': { type: 'string', default: '10000' },
	verbose: { type: 'boolean', default: false },
	help: { type: 'boolean', default: false },
};

function usage() {
	return `usage: node btcpay.mjs --port PORT --api-key KEY --store-id STORE
       [--webhook-url URL] [--webhook-secret SECRET] [--webhook-id ID]
       [--host 127.0.0.1] [--network regtest|mainnet|testnet|signet]
       [--greenfield-version 2|1] [--default-currency USD] [--rate CUR=PRICE]...
       [--created-webhooks] [--expire-webhooks] [--webhook-timeout-ms 10000] [--verbose]
Every option may come from the environment as BTCPAY_STANDIN_<NAME> (e.g. BTCPAY_STANDIN_API_KEY).

Test control API (no auth, JSON bodies, all optional unless said):
  GET    /_test/invoices                     all invoices (InvoiceData)
  GET    /_test/invoices/:id                 {invoice, paymentMethods, deliveries}
  POST   /_test/invoices/:id/settle          {deliver=true, manuallyMarked=false, overPaid=false}
  POST   /_test/invoices/:id/processing      {deliver=true}
  POST   /_test/invoices/:id/expire          {deliver=true, partiallyPaid=false}
  POST   /_test/invoices/:id/invalid         {deliver=true, manuallyMarked=true}
  POST   /_test/invoices/:id/event           {type (required), deliver=true, ...extra fields}
  GET    /_test/deliveries[/:deliveryId]     webhook deliveries (payload, raw, signature, result)
  POST   /_test/deliveries/:id/redeliver     same event, new deliveryId, isRedelivery, originalDeliveryId
  POST   /_test/deliveries/:id/resend-same   the very same bytes and signature again
  POST   /_test/send                         {body (object|string, required), signature?, secret?, omitSignature?, url?}
  POST   /_test/fail-next                    {status (required; 0 = drop connection), count=1, body?, headers?, delayMs?}
  GET    /_test/fail-next, DELETE /_test/fail-next
  POST   /_test/slow-next                    {delayMs (required), count=1}
  GET    /_test/requests, DELETE /_test/requests
  GET    /_test/webhook, POST /_test/webhook {url?, secret?, webhookId?}
  GET    /_test/clock, POST /_test/clock     {advanceSeconds} or {now: unixSeconds}
  POST   /_test/reset                        forget invoices, deliveries, requests, failures, clock
`;
}

function envName(opt) {
	return 'BTCPAY_STANDIN_' + opt.toUpperCase().replace(/-/g, '_');
}

export function parseOptions(argv = process.argv.slice(2), env = process.env) {
	const { values } = parseArgs({ args: argv, options: OPTION_SPEC, strict: true, allowPositionals: false });
	const seen = new Set();
	for (let i = 0; i < argv.length; i++) {
		const m = /^--([^=]+)/.exec(argv[i]);
		if (m) seen.add(m[1]);
	}
	const o = {};
	for (const [name, spec] of Object.entries(OPTION_SPEC)) {
		let v = values[name];
		const e = env[envName(name)];
		if (!seen.has(name) && e !== undefined && e !== '') {
			if (spec.type === 'boolean') v = /^(1|true|yes|on)$/i.test(e);
			else if (spec.multiple) v = e.split(/[,\s]+/).filter(Boolean);
			else v = e;
		}
		o[name] = v;
	}
	return o;
}

// ---------------------------------------------------------------- helpers

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

function base58(buf) {
	let n = BigInt('0x' + (buf.toString('hex') || '0'));
	let s = '';
	while (n > 0n) {
		s = B58[Number(n % 58n)] + s;
		n /= 58n;
	}
	for (const b of buf) {
		if (b !== 0) break;
		s = '1' + s;
	}
	return s;
}

// BTCPay ids (invoices, webhooks, deliveries) are base58 of 16 random bytes.
function newId() {
	return base58(crypto.randomBytes(16));
}

// --- bech32 (BOLT11 strings carry a valid checksum and payment hash)

const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

function polymod(values) {
	const G = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
	let chk = 1;
	for (const v of values) {
		const top = chk >>> 25;
		chk = ((chk & 0x1ffffff) << 5) ^ v;
		for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= G[i];
	}
	return chk >>> 0;
}

function hrpExpand(hrp) {
	const out = [];
	for (const c of hrp) out.push(c.charCodeAt(0) >> 5);
	out.push(0);
	for (const c of hrp) out.push(c.charCodeAt(0) & 31);
	return out;
}

export function bech32Checksum(hrp, data) {
	const mod = polymod([...hrpExpand(hrp), ...data, 0, 0, 0, 0, 0, 0]) ^ 1;
	const out = [];
	for (let i = 0; i < 6; i++) out.push((mod >>> (5 * (5 - i))) & 31);
	return out;
}

export function bech32Verify(str) {
	const s = str.toLowerCase();
	const pos = s.lastIndexOf('1');
	if (pos < 1) return false;
	const hrp = s.slice(0, pos);
	const data = [];
	for (const c of s.slice(pos + 1)) {
		const v = BECH32.indexOf(c);
		if (v < 0) return false;
		data.push(v);
	}
	return polymod([...hrpExpand(hrp), ...data]) === 1;
}

function toWords(bytes) {
	const out = [];
	let acc = 0;
	let bits = 0;
	for (const b of bytes) {
		acc = (acc << 8) | b;
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out.push((acc >>> bits) & 31);
		}
		acc &= (1 << bits) - 1;
	}
	if (bits > 0) out.push((acc << (5 - bits)) & 31);
	return out;
}

function intWords(n, count) {
	const out = [];
	let v = BigInt(n);
	for (let i = 0; i < count; i++) {
		out.unshift(Number(v & 31n));
		v >>= 5n;
	}
	return out;
}

function tagged(tag, words) {
	return [BECH32.indexOf(tag), ...intWords(words.length, 2), ...words];
}

const HRP_PREFIX = { mainnet: 'bc', regtest: 'bcrt', testnet: 'tb', signet: 'tbs' };

// A BOLT11-shaped string: real hrp/amount/timestamp/tags and bech32
// checksum; the signature is random, so it is not payable.
export function makeBolt11({ network, sats, paymentHash, description, expirySeconds, timestamp }) {
	const pico = BigInt(sats) * 10000n;
	let amount;
	if (pico % 1000000000n === 0n) amount = `${pico / 1000000000n}m`;
	else if (pico % 1000000n === 0n) amount = `${pico / 1000000n}u`;
	else if (pico % 1000n === 0n) amount = `${pico / 1000n}n`;
	else amount = `${pico}p`;
	const hrp = `ln${HRP_PREFIX[network] || 'bcrt'}${amount}`;
	const data = [
		...intWords(timestamp, 7),
		...tagged('p', toWords(Buffer.from(paymentHash, 'hex'))),
		...tagged('s', toWords(crypto.randomBytes(32))),
		...tagged('d', toWords(Buffer.from(description, 'utf8'))),
		...tagged('x', trimWords(intWords(expirySeconds, 7))),
		...tagged('c', trimWords(intWords(144, 7))),
		...toWords(crypto.randomBytes(65)).slice(0, 104),
	];
	return hrp + '1' + [...data, ...bech32Checksum(hrp, data)].map((w) => BECH32[w]).join('');
}

function trimWords(words) {
	let i = 0;
	while (i < words.length - 1 && words[i] === 0) i++;
	return words.slice(i);
}

// --- decimals, without floating point

const DEC_RE = /^(\d+)(?:\.(\d+))?$/;

function parseDec(str) {
	const m = DEC_RE.exec(str);
	if (!m) return null;
	const frac = m[2] || '';
	return { units: BigInt(m[1] + frac), scale: frac.length, int: m[1], frac };
}

function canonicalAmount(str) {
	const d = parseDec(str);
	const int = d.int.replace(/^0+(?=\d)/, '');
	return d.frac ? `${int}.${d.frac}` : int;
}

function btcString(sats) {
	const s = BigInt(sats);
	if (s === 0n) return '0';
	const neg = s < 0n;
	const a = neg ? -s : s;
	return `${neg ? '-' : ''}${a / 100000000n}.${(a % 100000000n).toString().padStart(8, '0')}`;
}

// sats = ceil(amount / rate * 1e8)
function satsFor(amount, rate) {
	const a = parseDec(amount);
	const r = parseDec(rate);
	const num = a.units * 10n ** BigInt(r.scale) * 100000000n;
	const den = r.units * 10n ** BigInt(a.scale);
	return (num + den - 1n) / den;
}

const DIVISIBILITY = { USD: 2, EUR: 2, GBP: 2, CHF: 2, CAD: 2, AUD: 2, JPY: 0, BTC: 8, SATS: 0 };
const DEFAULT_RATES = {
	USD: '50000', EUR: '46000', GBP: '40000', CHF: '44000', CAD: '68000', AUD: '76000',
	JPY: '7500000', BTC: '1', SATS: '100000000',
};

const EVENT_TYPES = [
	'InvoiceCreated', 'InvoiceReceivedPayment', 'InvoicePaymentSettled', 'InvoiceProcessing',
	'InvoiceExpired', 'InvoiceSettled', 'InvoiceInvalid',
];
const KNOWN_PAYMENT_METHODS = new Set([
	'BTC', 'BTC-CHAIN', 'BTC-ONCHAIN', 'BTC-LN', 'BTC-LIGHTNINGNETWORK', 'BTC-LIGHTNINGLIKE',
	'BTC-LNURL', 'BTC-LNURLPAY', 'BTC_ONCHAIN', 'BTC_LIGHTNINGNETWORK', 'BTC_LIGHTNINGLIKE', 'BTC_LNURLPAY',
]);

const CREATE_KEYS = new Set(['amount', 'currency', 'metadata', 'checkout', 'receipt', 'additionalSearchTerms', 'type']);
const CHECKOUT_KEYS = new Set([
	'speedPolicy', 'paymentMethods', 'defaultPaymentMethod', 'lazyPaymentMethods', 'expirationMinutes',
	'monitoringMinutes', 'paymentTolerance', 'redirectURL', 'redirectAutomatically', 'requiresRefundEmail',
	'defaultLanguage', 'checkoutType',
]);

const UNAUTHENTICATED = { code: 'unauthenticated', message: 'Authentication is required for accessing this endpoint' };

function permissionError(perm) {
	return {
		code: 'missing-permission',
		missingPermission: perm,
		message: `Insufficient API Permissions. Please use an API key with permission "${perm}". You can create an API key in your account's settings / Api Keys.`,
	};
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- the stand-in

export function createStandin(opts) {
	const o = { ...opts };
	const log = o.verbose ? (...a) => console.error('[btcpay]', ...a) : () => {};
	const v1 = String(o['greenfield-version']) === '1';
	const lnMethodId = v1 ? 'BTC-LightningNetwork' : 'BTC-LN';
	const network = HRP_PREFIX[o.network] ? o.network : 'regtest';
	const rates = { ...DEFAULT_RATES };
	for (const r of o.rate || []) {
		const m = /^([A-Za-z]{3,5})=(\d+(?:\.\d+)?)$/.exec(r);
		if (!m) throw new Error(`bad --rate ${r} (want CUR=PRICE)`);
		rates[m[1].toUpperCase()] = m[2];
	}
	const webhookTimeout = Number(o['webhook-timeout-ms']) || 10000;

	const state = {
		invoices: new Map(),
		deliveries: new Map(),
		deliveryOrder: [],
		requests: [],
		seq: 0,
		failRules: [],
		slowRules: [],
		clockOffsetMs: 0,
		webhook: { url: o['webhook-url'] || null, secret: o['webhook-secret'] || '', id: o['webhook-id'] || newId() },
	};
	let port = null;
	let queue = Promise.resolve();
	let sweeper = null;

	const nowMs = () => Date.now() + state.clockOffsetMs;
	const sec = (ms) => Math.floor(ms / 1000);

	// ---- invoices

	function refresh(inv) {
		if (inv.status === 'New' && nowMs() >= inv.expirationMs) {
			inv.status = 'Expired';
			inv.additionalStatus = 'None';
			log('invoice', inv.id, 'expired by itself');
			if (o['expire-webhooks'])
				enqueueDelivery('InvoiceExpired', inv, { partiallyPaid: false }).catch(() => {});
		}
		return inv;
	}

	function manualMarking(inv) {
		switch (inv.status) {
		case 'New': case 'Processing': case 'Expired': return ['Settled', 'Invalid'];
		case 'Invalid': return ['Settled'];
		case 'Settled': return inv.additionalStatus === 'Marked' ? ['Invalid'] : [];
		default: return [];
		}
	}

	function checkoutLink(inv) {
		return `http://${o.host}:${port}/i/${inv.id}`;
	}

	function invoiceData(inv) {
		refresh(inv);
		return {
			id: inv.id,
			storeId: inv.storeId,
			amount: inv.amount,
			paidAmount: inv.paidSats > 0n || inv.additionalStatus === 'Marked' ? inv.amount : '0',
			checkoutLink: checkoutLink(inv),
			status: inv.status,
			additionalStatus: inv.additionalStatus,
			monitoringExpiration: sec(inv.monitoringMs),
			expirationTime: sec(inv.expirationMs),
			createdTime: sec(inv.createdMs),
			availableStatusesForManualMarking: manualMarking(inv),
			archived: false,
			type: 'Standard',
			currency: inv.currency,
			metadata: structuredClone(inv.metadata),
			checkout: {
				speedPolicy: inv.checkout.speedPolicy ?? 'MediumSpeed',
				paymentMethods: [lnMethodId],
				defaultPaymentMethod: inv.checkout.defaultPaymentMethod ?? null,
				expirationMinutes: inv.expirationMinutes,
				monitoringMinutes: inv.monitoringMinutes,
				paymentTolerance: inv.checkout.paymentTolerance ?? 0,
				redirectURL: inv.checkout.redirectURL ?? null,
				redirectAutomatically: inv.checkout.redirectAutomatically ?? false,
				requiresRefundEmail: null,
				defaultLanguage: inv.checkout.defaultLanguage ?? null,
				checkoutType: null,
			},
			receipt: { enabled: true, showQR: true, showPayments: true, ...(inv.receipt || {}) },
		};
	}

	function paymentModel(inv, p) {
		return {
			id: p.id,
			receivedDate: sec(p.receivedMs),
			value: btcString(p.sats),
			fee: '0',
			status: p.status,
			destination: inv.bolt11,
		};
	}

	function paymentMethods(inv) {
		refresh(inv);
		const paid = inv.payments.reduce((s, p) => s + p.sats, 0n);
		const common = {
			destination: inv.bolt11,
			paymentLink: `lightning:${inv.bolt11.toLowerCase()}`,
			rate: inv.rate,
			paymentMethodPaid: btcString(paid),
			totalPaid: btcString(paid),
			due: btcString(inv.sats - paid),
			amount: btcString(inv.sats),
		};
		const additionalData = { paymentHash: inv.paymentHash, preimage: null, invoiceId: inv.lnInvoiceId };
		if (v1) {
			return [{
				activated: true, ...common, networkFee: '0',
				payments: inv.payments.map((p) => paymentModel(inv, p)),
				paymentMethod: lnMethodId, cryptoCode: 'BTC', additionalData,
			}];
		}
		return [{
			paymentMethodId: lnMethodId, currency: 'BTC', ...common, paymentMethodFee: '0',
			payments: inv.payments.map((p) => paymentModel(inv, p)),
			activated: true, additionalData,
		}];
	}

	// Returns [errors, warnings, invoiceFields].
	function validateCreate(body) {
		const errors = [];
		const warnings = [];
		const err = (path, message) => errors.push({ path, message });
		for (const k of Object.keys(body))
			if (!CREATE_KEYS.has(k)) warnings.push(`unknown property "${k}" ignored (BTCPay ignores it too)`);

		let currency = body.currency;
		if (currency === undefined || currency === null || currency === '') currency = o['default-currency'];
		if (typeof currency !== 'string' || !/^[A-Za-z]{3,5}$/.test(currency)) {
			err('currency', 'currency must be a currency code such as "USD"');
			currency = null;
		} else {
			currency = currency.toUpperCase();
			if (!rates[currency]) {
				err('currency', `Unsupported currency ${currency} (the stand-in has no rate for it; add --rate ${currency}=PRICE)`);
				currency = null;
			}
		}

		const amount = body.amount;
		let amountStr = null;
		if (amount === undefined || amount === null) {
			err('amount', 'amount is required (the stand-in does not make top-up invoices)');
		} else if (typeof amount !== 'string') {
			err('amount', 'amount must be a decimal string such as "5.00" (the stand-in rejects JSON numbers)');
		} else if (/^-\d/.test(amount)) {
			err('amount', 'The amount should be 0 or more.');
		} else if (!DEC_RE.test(amount)) {
			err('amount', `amount "${amount}" is not a decimal number such as "5.00"`);
		} else if (parseDec(amount).units === 0n) {
			err('amount', 'The amount should be more than 0.');
		} else if (currency) {
			const div = DIVISIBILITY[currency] ?? 2;
			const d = parseDec(amount);
			if (d.frac.replace(/0+$/, '').length > div)
				err('amount', `amount "${amount}" has more than ${div} decimal${div === 1 ? '' : 's'}, the precision of ${currency}`);
			else if (d.int.replace(/^0+/, '').length > 15)
				err('amount', 'The amount should less than 1000000000000000.');
			else
				amountStr = canonicalAmount(amount);
		}

		let metadata = {};
		if (body.metadata !== undefined && body.metadata !== null) {
			if (typeof body.metadata !== 'object' || Array.isArray(body.metadata)) err('metadata', 'metadata must be a JSON object');
			else metadata = body.metadata;
		}

		let checkout = {};
		let expirationMinutes = 15;
		let monitoringMinutes = 1440;
		if (body.checkout !== undefined && body.checkout !== null) {
			if (typeof body.checkout !== 'object' || Array.isArray(body.checkout)) {
				err('checkout', 'checkout must be a JSON object');
			} else {
				checkout = body.checkout;
				for (const k of Object.keys(checkout))
					if (!CHECKOUT_KEYS.has(k)) warnings.push(`unknown property "checkout.${k}" ignored`);
				const exp = checkout.expirationMinutes;
				if (exp !== undefined && exp !== null) {
					if (typeof exp !== 'number' || !Number.isFinite(exp))
						err('checkout.expirationMinutes', 'expirationMinutes must be a number of minutes');
					else if (exp * 60 < 30)
						err('checkout.expirationMinutes', 'Expiration time must be at least 30 seconds');
					else expirationMinutes = exp;
				}
				const mon = checkout.monitoringMinutes;
				if (mon !== undefined && mon !== null) {
					if (typeof mon !== 'number' || !Number.isFinite(mon) || mon < 0)
						err('checkout.monitoringMinutes', 'monitoringMinutes must be a non-negative number of minutes');
					else monitoringMinutes = mon;
				}
				const tol = checkout.paymentTolerance;
				if (tol !== undefined && tol !== null && (typeof tol !== 'number' || tol < 0 || tol > 100))
					err('checkout.paymentTolerance', 'PaymentTolerance can only be between 0 and 100 percent');
				if (checkout.paymentMethods !== undefined && checkout.paymentMethods !== null) {
					if (!Array.isArray(checkout.paymentMethods)) {
						err('checkout.paymentMethods', 'paymentMethods must be an array of payment method ids');
					} else {
						checkout.paymentMethods.forEach((pm, i) => {
							if (typeof pm !== 'string' || !KNOWN_PAYMENT_METHODS.has(pm.toUpperCase()))
								err(`checkout.paymentMethods[${i}]`, 'Invalid PaymentMethodId');
						});
					}
				}
			}
		}
		return [errors, warnings, { amount: amountStr, currency, metadata, checkout, expirationMinutes, monitoringMinutes }];
	}

	function createInvoice(f, receipt) {
		const created = nowMs();
		const id = newId();
		const expirationMs = created + Math.round(f.expirationMinutes * 60000);
		const rate = rates[f.currency];
		const sats = satsFor(f.amount, rate);
		const paymentHash = crypto.randomBytes(32).toString('hex');
		const orderId = f.metadata && f.metadata.orderId != null ? String(f.metadata.orderId) : null;
		const inv = {
			id,
			storeId: o['store-id'],
			amount: f.amount,
			currency: f.currency,
			metadata: structuredClone(f.metadata),
			checkout: structuredClone(f.checkout),
			receipt: receipt && typeof receipt === 'object' && !Array.isArray(receipt) ? receipt : null,
			expirationMinutes: f.expirationMinutes,
			monitoringMinutes: f.monitoringMinutes,
			createdMs: created,
			expirationMs,
			monitoringMs: expirationMs + Math.round(f.monitoringMinutes * 60000),
			status: 'New',
			additionalStatus: 'None',
			rate,
			sats,
			paidSats: 0n,
			payments: [],
			paymentHash,
			lnInvoiceId: paymentHash,
			bolt11: makeBolt11({
				network,
				sats,
				paymentHash,
				description: orderId ? `Paid to stand-in store (Order ID: ${orderId})` : 'Paid to stand-in store',
				expirySeconds: Math.max(1, Math.round((expirationMs - created) / 1000)),
				timestamp: sec(created),
			}),
		};
		state.invoices.set(id, inv);
		log('created invoice', id, inv.amount, inv.currency);
		if (o['created-webhooks']) enqueueDelivery('InvoiceCreated', inv, {}).catch(() => {});
		return inv;
	}

	function addPayment(inv, status) {
		const due = inv.sats - inv.payments.reduce((s, p) => s + p.sats, 0n);
		if (due > 0n) inv.payments.push({ id: inv.paymentHash, receivedMs: nowMs(), sats: due, status });
		for (const p of inv.payments) p.status = status;
		inv.paidSats = inv.payments.reduce((s, p) => s + p.sats, 0n);
	}

	// ---- webhooks

	function sign(raw, secret) {
		return 'sha256=' + crypto.createHmac('sha256', Buffer.from(secret ?? '', 'utf8')).update(raw).digest('hex');
	}

	function buildEvent(type, inv, extra) {
		const deliveryId = newId();
		const specific = {};
		switch (type) {
		case 'InvoiceSettled':
			specific.manuallyMarked = !!extra.manuallyMarked;
			specific.overPaid = !!extra.overPaid;
			break;
		case 'InvoiceInvalid':
			specific.manuallyMarked = extra.manuallyMarked === undefined ? true : !!extra.manuallyMarked;
			break;
		case 'InvoiceExpired':
			specific.partiallyPaid = !!extra.partiallyPaid;
			break;
		case 'InvoiceProcessing':
			specific.overPaid = !!extra.overPaid;
			break;
		case 'InvoiceReceivedPayment':
		case 'InvoicePaymentSettled': {
			specific.afterExpiration = inv.status === 'Expired' || inv.status === 'Invalid';
			specific[v1 ? 'paymentMethod' : 'paymentMethodId'] = lnMethodId;
			const p = inv.payments[inv.payments.length - 1] ||
				{ id: inv.paymentHash, receivedMs: nowMs(), sats: inv.sats, status: 'Processing' };
			specific.payment = paymentModel(inv, p);
			break;
		}
		default:
			break;
		}
		for (const [k, v] of Object.entries(extra))
			if (!['deliver', 'type'].includes(k) && !(k in specific)) specific[k] = v;
		return {
			...specific,
			deliveryId,
			webhookId: state.webhook.id,
			originalDeliveryId: deliveryId,
			isRedelivery: false,
			type,
			timestamp: sec(nowMs()),
			storeId: inv.storeId,
			invoiceId: inv.id,
			metadata: structuredClone(inv.metadata),
		};
	}

	function postRaw(urlStr, raw, headers) {
		return new Promise((resolve, reject) => {
			let u;
			try {
				u = new URL(urlStr);
			} catch (e) {
				reject(new Error(`bad webhook URL ${urlStr}`));
				return;
			}
			const mod = u.protocol === 'https:' ? https : http;
			const req = mod.request(u, {
				method: 'POST',
				headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(raw), ...headers },
				timeout: webhookTimeout,
				rejectUnauthorized: false,
			}, (res) => {
				const chunks = [];
				let size = 0;
				res.on('data', (c) => {
					size += c.length;
					if (size <= 65536) chunks.push(c);
				});
				res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
				res.on('error', reject);
			});
			req.on('timeout', () => req.destroy(new Error(`webhook timed out after ${webhookTimeout} ms`)));
			req.on('error', reject);
			req.end(raw);
		});
	}

	// Send (or, with send=false, only record) a delivery.  Serialized, like
	// BTCPay's per-webhook queue, so deliveries arrive in order.
	function dispatch(d, send) {
		const run = async () => {
			if (!send) return d;
			const url = d.url || state.webhook.url;
			const attempt = { at: sec(nowMs()), url, response: null, error: null };
			d.attempts.push(attempt);
			if (!url) {
				attempt.error = 'no webhook URL configured (--webhook-url or POST /_test/webhook)';
			} else {
				d.sent = true;
				const headers = {};
				if (d.signature !== null) headers['BTCPay-Sig'] = d.signature;
				try {
					attempt.response = await postRaw(url, d.raw, headers);
				} catch (e) {
					attempt.error = e.message;
				}
			}
			log('delivery', d.deliveryId, d.type, attempt.response ? attempt.response.status : attempt.error);
			return d;
		};
		const p = queue.then(run, run);
		queue = p.catch(() => {});
		return p;
	}

	function recordDelivery(event, raw, signature, extra = {}) {
		const d = {
			deliveryId: event && event.deliveryId ? event.deliveryId : newId(),
			originalDeliveryId: event ? event.originalDeliveryId ?? null : null,
			isRedelivery: event ? !!event.isRedelivery : false,
			type: event ? event.type ?? null : null,
			invoiceId: event ? event.invoiceId ?? null : null,
			createdAt: sec(nowMs()),
			event,
			raw,
			signature,
			sent: false,
			attempts: [],
			...extra,
		};
		if (state.deliveries.has(d.deliveryId)) {
			// a custom /_test/send body reusing a deliveryId: keep both
			d.deliveryId = `${d.deliveryId}#${state.deliveryOrder.length}`;
		}
		state.deliveries.set(d.deliveryId, d);
		state.deliveryOrder.push(d.deliveryId);
		return d;
	}

	async function enqueueDelivery(type, inv, extra, send = true) {
		const event = buildEvent(type, inv, extra);
		const raw = JSON.stringify(event, null, 2);
		const d = recordDelivery(event, raw, sign(raw, state.webhook.secret));
		return dispatch(d, send);
	}

	function deliveryView(d, full = false) {
		const last = d.attempts[d.attempts.length - 1] || null;
		const v = {
			deliveryId: d.deliveryId,
			originalDeliveryId: d.originalDeliveryId,
			isRedelivery: d.isRedelivery,
			type: d.type,
			invoiceId: d.invoiceId,
			createdAt: d.createdAt,
			sent: d.sent,
			response: last ? last.response : null,
			error: last ? last.error : null,
			signature: d.signature,
			payload: d.event,
		};
		if (full) {
			v.raw = d.raw;
			v.attempts = d.attempts;
		}
		return v;
	}

	// ---- HTTP plumbing

	function send(res, status, body, headers = {}) {
		if (res.headersSent || res.destroyed) return;
		const text = body === undefined ? '' : JSON.stringify(body);
		res.writeHead(status, {
			...(body === undefined ? {} : { 'Content-Type': 'application/json; charset=utf-8' }),
			'Content-Length': Buffer.byteLength(text),
			...headers,
		});
		res.end(text);
	}

	function readBody(req) {
		return new Promise((resolve, reject) => {
			const chunks = [];
			let size = 0;
			req.on('data', (c) => {
				size += c.length;
				if (size > 4 * 1024 * 1024) {
					reject(new Error('body too large'));
					req.destroy();
					return;
				}
				chunks.push(c);
			});
			req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
			req.on('error', reject);
		});
	}

	function maskedHeaders(req) {
		const h = {};
		for (const [k, v] of Object.entries(req.headers)) h[k] = v;
		h.authorization = req.headers.authorization ? 'present' : 'absent';
		return h;
	}

	function authScheme(req) {
		const a = req.headers.authorization;
		if (!a) return null;
		const m = /^(\S+)/.exec(a);
		return m ? m[1] : null;
	}

	function authOk(req) {
		const a = req.headers.authorization || '';
		const m = /^token\s+(\S+)\s*$/i.exec(a);
		if (!m || !o['api-key']) return false;
		const got = Buffer.from(m[1]);
		const want = Buffer.from(o['api-key']);
		return got.length === want.length && crypto.timingSafeEqual(got, want);
	}

	const API_ROUTES = [
		{ re: /^\/api\/v1\/health$/, methods: { GET: 'health' }, auth: false },
		{ re: /^\/api\/v1\/stores\/([^/]+)\/invoices$/, methods: { GET: 'list', POST: 'create' }, auth: true },
		{ re: /^\/api\/v1\/stores\/([^/]+)\/invoices\/([^/]+)$/, methods: { GET: 'get' }, auth: true },
		{ re: /^\/api\/v1\/stores\/([^/]+)\/invoices\/([^/]+)\/payment-methods$/, methods: { GET: 'paymentMethods' }, auth: true },
	];
	const PERMS = {
		list: 'btcpay.store.canviewinvoices',
		get: 'btcpay.store.canviewinvoices',
		paymentMethods: 'btcpay.store.canviewinvoices',
		create: 'btcpay.store.cancreateinvoice',
	};

	async function handleApi(req, res, url, raw) {
		const entry = {
			seq: ++state.seq,
			time: nowMs(),
			method: req.method,
			path: url.pathname,
			query: Object.fromEntries(url.searchParams),
			url: req.url,
			headers: maskedHeaders(req),
			authorization: req.headers.authorization ? 'present' : 'absent',
			authScheme: authScheme(req),
			authValid: authOk(req),
			body: null,
			rawBody: raw,
			status: null,
			injected: false,
			warnings: [],
		};
		if (raw.length) {
			try {
				entry.body = JSON.parse(raw);
			} catch {
				entry.body = raw;
			}
		}
		state.requests.push(entry);
		const reply = (status, body, headers) => {
			entry.status = status;
			send(res, status, body, headers);
		};

		const slow = state.slowRules.find((r) => r.remaining > 0);
		if (slow) {
			slow.remaining--;
			await sleep(slow.delayMs);
		}
		const fail = state.failRules.find((r) => r.remaining > 0);
		if (fail) {
			fail.remaining--;
			state.failRules = state.failRules.filter((r) => r.remaining > 0);
			entry.injected = true;
			if (fail.delayMs) await sleep(fail.delayMs);
			if (fail.status === 0) {
				entry.status = 0;
				req.socket.destroy();
				return;
			}
			let body = fail.body;
			if (body === undefined) {
				if (fail.status === 401) body = UNAUTHENTICATED;
				else if (fail.status === 403) body = permissionError('btcpay.store.canviewinvoices');
				else if (fail.status === 422) body = [{ path: '', message: 'Injected validation failure (stand-in fail-next)' }];
				else body = { code: 'injected-failure', message: `Injected HTTP ${fail.status} (stand-in fail-next)` };
			}
			if (typeof body === 'string') {
				entry.status = fail.status;
				res.writeHead(fail.status, { 'Content-Type': 'text/plain; charset=utf-8', ...(fail.headers || {}) });
				res.end(body);
				return;
			}
			reply(fail.status, body, fail.headers || {});
			return;
		}

		let route = null;
		let m = null;
		for (const r of API_ROUTES) {
			m = r.re.exec(url.pathname);
			if (m) {
				route = r;
				break;
			}
		}
		if (!route) return reply(404, { code: 'not-found', message: `No Greenfield route ${url.pathname} in the stand-in` });
		const action = route.methods[req.method];
		if (!action) return reply(405, undefined, { Allow: Object.keys(route.methods).join(', ') });
		if (action === 'health') return reply(200, { synchronized: true });

		if (!entry.authValid) return reply(401, UNAUTHENTICATED);
		const storeId = decodeURIComponent(m[1]);
		if (storeId !== o['store-id']) return reply(403, permissionError(PERMS[action]));

		if (action === 'create') {
			const ct = String(req.headers['content-type'] || '');
			if (!/^application\/(?:[\w.+-]*\+)?json\b/i.test(ct)) {
				return reply(415, {
					type: 'https://tools.ietf.org/html/rfc7231#section-6.5.13',
					title: 'Unsupported Media Type',
					status: 415,
				});
			}
			if (!raw.trim()) return reply(422, [{ path: '', message: 'A non-empty request body is required.' }]);
			let body;
			try {
				body = JSON.parse(raw);
			} catch (e) {
				return reply(422, [{ path: '', message: `Invalid JSON: ${e.message}` }]);
			}
			if (!body || typeof body !== 'object' || Array.isArray(body))
				return reply(422, [{ path: '', message: 'The request body must be a JSON object' }]);
			const [errors, warnings, fields] = validateCreate(body);
			entry.warnings = warnings;
			if (errors.length) return reply(422, errors);
			const inv = createInvoice(fields, body.receipt);
			return reply(200, invoiceData(inv));
		}
		if (action === 'list') {
			const orderIds = url.searchParams.getAll('orderId');
			const statuses = url.searchParams.getAll('status');
			let list = [...state.invoices.values()].map(refresh);
			if (orderIds.length) list = list.filter((i) => orderIds.includes(String(i.metadata?.orderId ?? '')));
			if (statuses.length) list = list.filter((i) => statuses.some((s) => s.toLowerCase() === i.status.toLowerCase()));
			list.sort((a, b) => b.createdMs - a.createdMs);
			const skip = Number(url.searchParams.get('skip')) || 0;
			const take = url.searchParams.has('take') ? Number(url.searchParams.get('take')) : undefined;
			list = list.slice(skip, take === undefined ? undefined : skip + take);
			return reply(200, list.map(invoiceData));
		}
		const inv = state.invoices.get(decodeURIComponent(m[2]));
		if (!inv || inv.storeId !== storeId) return reply(404, { code: 'invoice-not-found', message: 'The invoice was not found' });
		if (action === 'get') return reply(200, invoiceData(inv));
		return reply(200, paymentMethods(inv));
	}

	// ---- control API

	function parseControlBody(raw) {
		if (!raw.trim()) return {};
		const b = JSON.parse(raw);
		if (!b || typeof b !== 'object' || Array.isArray(b)) throw new Error('the body must be a JSON object');
		return b;
	}

	async function transition(inv, body, target) {
		const deliver = body.deliver === undefined ? true : !!body.deliver;
		refresh(inv);
		const before = inv.status;
		let type;
		const extra = {};
		if (target === 'Settled') {
			const manuallyMarked = !!body.manuallyMarked;
			if (manuallyMarked) {
				inv.additionalStatus = 'Marked';
			} else {
				addPayment(inv, 'Settled');
				inv.additionalStatus = body.overPaid ? 'PaidOver' : before === 'Expired' ? 'PaidLate' : 'None';
			}
			inv.status = 'Settled';
			type = 'InvoiceSettled';
			extra.manuallyMarked = manuallyMarked;
			extra.overPaid = !!body.overPaid;
		} else if (target === 'Processing') {
			addPayment(inv, 'Processing');
			inv.status = 'Processing';
			inv.additionalStatus = body.overPaid ? 'PaidOver' : 'None';
			type = 'InvoiceProcessing';
			extra.overPaid = !!body.overPaid;
		} else if (target === 'Expired') {
			inv.status = 'Expired';
			inv.additionalStatus = body.partiallyPaid ? 'PaidPartial' : 'None';
			if (inv.expirationMs > nowMs()) inv.expirationMs = nowMs();
			type = 'InvoiceExpired';
			extra.partiallyPaid = !!body.partiallyPaid;
		} else {
			const manuallyMarked = body.manuallyMarked === undefined ? true : !!body.manuallyMarked;
			inv.status = 'Invalid';
			inv.additionalStatus = manuallyMarked ? 'Marked' : 'Invalid';
			type = 'InvoiceInvalid';
			extra.manuallyMarked = manuallyMarked;
		}
		log('invoice', inv.id, before, '->', inv.status);
		const d = await enqueueDelivery(type, inv, extra, deliver);
		return { previousStatus: before, invoice: invoiceData(inv), delivery: deliveryView(d) };
	}

	async function handleControl(req, res, url, raw) {
		const p = url.pathname;
		let body;
		try {
			body = req.method === 'POST' ? parseControlBody(raw) : {};
		} catch (e) {
			return send(res, 400, { code: 'bad-request', message: `bad JSON body: ${e.message}` });
		}
		const bad = (message) => send(res, 400, { code: 'bad-request', message });
		const notFound = (what) => send(res, 404, { code: 'not-found', message: `${what} not found` });
		let m;

		if (p === '/_test/invoices' && req.method === 'GET')
			return send(res, 200, [...state.invoices.values()].map(invoiceData));
		if ((m = /^\/_test\/invoices\/([^/]+)$/.exec(p)) && req.method === 'GET') {
			const inv = state.invoices.get(decodeURIComponent(m[1]));
			if (!inv) return notFound('invoice');
			return send(res, 200, {
				invoice: invoiceData(inv),
				paymentMethods: paymentMethods(inv),
				bolt11: inv.bolt11,
				deliveries: state.deliveryOrder.map((id) => state.deliveries.get(id))
					.filter((d) => d.invoiceId === inv.id).map((d) => deliveryView(d)),
			});
		}
		if ((m = /^\/_test\/invoices\/([^/]+)\/(settle|processing|expire|invalid|event)$/.exec(p)) && req.method === 'POST') {
			const inv = state.invoices.get(decodeURIComponent(m[1]));
			if (!inv) return notFound('invoice');
			if (m[2] === 'event') {
				if (!EVENT_TYPES.includes(body.type)) return bad(`type must be one of ${EVENT_TYPES.join(', ')}`);
				const deliver = body.deliver === undefined ? true : !!body.deliver;
				const extra = { ...body };
				delete extra.type;
				delete extra.deliver;
				const d = await enqueueDelivery(body.type, refresh(inv), extra, deliver);
				return send(res, 200, { invoice: invoiceData(inv), delivery: deliveryView(d) });
			}
			const target = { settle: 'Settled', processing: 'Processing', expire: 'Expired', invalid: 'Invalid' }[m[2]];
			return send(res, 200, await transition(inv, body, target));
		}

		if (p === '/_test/deliveries' && req.method === 'GET')
			return send(res, 200, state.deliveryOrder.map((id) => deliveryView(state.deliveries.get(id))));
		if ((m = /^\/_test\/deliveries\/([^/]+)$/.exec(p)) && req.method === 'GET') {
			const d = state.deliveries.get(decodeURIComponent(m[1]));
			return d ? send(res, 200, deliveryView(d, true)) : notFound('delivery');
		}
		if ((m = /^\/_test\/deliveries\/([^/]+)\/(redeliver|resend-same)$/.exec(p)) && req.method === 'POST') {
			const d = state.deliveries.get(decodeURIComponent(m[1]));
			if (!d) return notFound('delivery');
			if (m[2] === 'resend-same') {
				await dispatch(d, true);
				return send(res, 200, { delivery: deliveryView(d) });
			}
			if (!d.event || typeof d.event !== 'object')
				return bad('this delivery has no JSON event to redeliver; use resend-same');
			// BTCPay: new delivery id, same event, isRedelivery, originalDeliveryId
			// kept from the first delivery (set to the redelivered id if missing).
			const ev = structuredClone(d.event);
			const newDeliveryId = newId();
			ev.deliveryId = newDeliveryId;
			ev.webhookId = state.webhook.id;
			ev.originalDeliveryId = ev.originalDeliveryId ?? d.deliveryId;
			ev.isRedelivery = true;
			const raw2 = JSON.stringify(ev, null, 2);
			const nd = recordDelivery(ev, raw2, sign(raw2, state.webhook.secret));
			await dispatch(nd, true);
			return send(res, 200, { delivery: deliveryView(nd) });
		}

		if (p === '/_test/send' && req.method === 'POST') {
			if (body.body === undefined) return bad('body is required (an object or a string)');
			const rawOut = typeof body.body === 'string' ? body.body : JSON.stringify(body.body, null, 2);
			let signature;
			if (body.omitSignature) signature = null;
			else if (typeof body.signature === 'string') signature = body.signature;
			else signature = sign(rawOut, typeof body.secret === 'string' ? body.secret : state.webhook.secret);
			let ev = null;
			try {
				const parsed = JSON.parse(rawOut);
				if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) ev = parsed;
			} catch { /* not JSON: sent as is */ }
			const d = recordDelivery(ev, rawOut, signature, typeof body.url === 'string' ? { url: body.url } : {});
			await dispatch(d, true);
			return send(res, 200, { delivery: deliveryView(d, true) });
		}

		if (p === '/_test/fail-next') {
			if (req.method === 'GET') return send(res, 200, state.failRules);
			if (req.method === 'DELETE') {
				state.failRules = [];
				return send(res, 200, { ok: true });
			}
			if (req.method === 'POST') {
				const status = body.status;
				const count = body.count === undefined ? 1 : body.count;
				if (!Number.isInteger(status) || (status !== 0 && (status < 100 || status > 599)))
					return bad('status must be an HTTP status (100-599), or 0 to drop the connection');
				if (!Number.isInteger(count) || count < 1) return bad('count must be a positive integer');
				if (body.delayMs !== undefined && !(Number.isInteger(body.delayMs) && body.delayMs >= 0))
					return bad('delayMs must be a non-negative integer');
				const rule = { status, count, remaining: count, body: body.body, headers: body.headers, delayMs: body.delayMs || 0 };
				state.failRules.push(rule);
				return send(res, 200, { ok: true, pending: state.failRules });
			}
		}
		if (p === '/_test/slow-next' && req.method === 'POST') {
			const count = body.count === undefined ? 1 : body.count;
			if (!Number.isInteger(body.delayMs) || body.delayMs < 0) return bad('delayMs must be a non-negative integer');
			if (!Number.isInteger(count) || count < 1) return bad('count must be a positive integer');
			state.slowRules = state.slowRules.filter((r) => r.remaining > 0);
			state.slowRules.push({ delayMs: body.delayMs, count, remaining: count });
			return send(res, 200, { ok: true, pending: state.slowRules });
		}

		if (p === '/_test/requests') {
			if (req.method === 'GET') return send(res, 200, state.requests);
			if (req.method === 'DELETE') {
				state.requests = [];
				return send(res, 200, { ok: true });
			}
		}

		if (p === '/_test/webhook') {
			if (req.method === 'GET')
				return send(res, 200, { url: state.webhook.url, webhookId: state.webhook.id, secretSet: !!state.webhook.secret });
			if (req.method === 'POST') {
				if (body.url !== undefined) state.webhook.url = body.url || null;
				if (body.secret !== undefined) state.webhook.secret = String(body.secret ?? '');
				if (body.webhookId !== undefined) state.webhook.id = String(body.webhookId);
				return send(res, 200, { url: state.webhook.url, webhookId: state.webhook.id, secretSet: !!state.webhook.secret });
			}
		}

		if (p === '/_test/clock') {
			if (req.method === 'POST') {
				if (typeof body.advanceSeconds === 'number' && Number.isFinite(body.advanceSeconds))
					state.clockOffsetMs += Math.round(body.advanceSeconds * 1000);
				else if (typeof body.now === 'number' && Number.isFinite(body.now))
					state.clockOffsetMs = Math.round(body.now * 1000) - Date.now();
				else return bad('give advanceSeconds or now (unix seconds)');
			} else if (req.method !== 'GET') {
				return send(res, 405, undefined, { Allow: 'GET, POST' });
			}
			for (const inv of state.invoices.values()) refresh(inv);
			return send(res, 200, { now: sec(nowMs()), offsetSeconds: state.clockOffsetMs / 1000 });
		}

		if (p === '/_test/reset' && req.method === 'POST') {
			state.invoices.clear();
			state.deliveries.clear();
			state.deliveryOrder = [];
			state.requests = [];
			state.failRules = [];
			state.slowRules = [];
			state.clockOffsetMs = 0;
			return send(res, 200, { ok: true });
		}

		return send(res, 404, { code: 'not-found', message: `no control route ${req.method} ${p}` });
	}

	function checkoutPage(res, id) {
		const inv = state.invoices.get(id);
		if (!inv) {
			res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
			res.end('Invoice not found\n');
			return;
		}
		refresh(inv);
		const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
		const html = `<!doctype html><meta charset="utf-8"><title>Invoice ${esc(inv.id)}</title>
<h1>BTCPay stand-in checkout</h1>
<p>Invoice <code id="invoice-id">${esc(inv.id)}</code>: <span id="amount">${esc(inv.amount)} ${esc(inv.currency)}</span>,
status <span id="status">${esc(inv.status)}</span></p>
<p><a id="pay" href="lightning:${esc(inv.bolt11)}"><code>${esc(inv.bolt11)}</code></a></p>
`;
		res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
		res.end(html);
	}

	const server = http.createServer(async (req, res) => {
		let url;
		try {
			url = new URL(req.url, 'http://stand-in');
		} catch {
			return send(res, 400, { code: 'bad-request', message: 'bad URL' });
		}
		try {
			const raw = await readBody(req);
			if (url.pathname.startsWith('/_test/')) return await handleControl(req, res, url, raw);
			if (url.pathname.startsWith('/api/')) return await handleApi(req, res, url, raw);
			const m = /^\/i\/([^/]+)$/.exec(url.pathname);
			if (m && req.method === 'GET') return checkoutPage(res, decodeURIComponent(m[1]));
			return send(res, 404, { code: 'not-found', message: `nothing at ${url.pathname}` });
		} catch (e) {
			console.error('[btcpay] internal error:', e);
			return send(res, 500, { code: 'stand-in-error', message: String(e && e.message || e) });
		}
	});

	return {
		state,
		get port() {
			return port;
		},
		listen() {
			return new Promise((resolve, reject) => {
				server.once('error', reject);
				server.listen(Number(o.port) || 0, o.host, () => {
					port = server.address().port;
					if (o['expire-webhooks']) {
						sweeper = setInterval(() => {
							for (const inv of state.invoices.values()) refresh(inv);
						}, 250);
						sweeper.unref();
					}
					resolve(port);
				});
			});
		},
		close() {
			if (sweeper) clearInterval(sweeper);
			return new Promise((resolve) => {
				server.close(() => resolve());
				server.closeAllConnections?.();
			});
		},
	};
}

// ---------------------------------------------------------------- main

async function main() {
	let o;
	try {
		o = parseOptions();
	} catch (e) {
		process.stderr.write(`btcpay stand-in: ${e.message}\n${usage()}`);
		process.exit(2);
	}
	if (o.help) {
		process.stdout.write(usage());
		return;
	}
	const missing = ['api-key', 'store-id'].filter((k) => !o[k]);
	if (missing.length) {
		process.stderr.write(`btcpay stand-in: missing ${missing.map((k) => '--' + k).join(', ')}\n${usage()}`);
		process.exit(2);
	}
	if (!/^\d+$/.test(String(o.port))) {
		process.stderr.write(`btcpay stand-in: bad --port ${o.port}\n`);
		process.exit(2);
	}
	let standin = null;
	const stop = () => {
		if (!standin) process.exit(0);
		standin.close().then(() => process.exit(0), () => process.exit(0));
		setTimeout(() => process.exit(0), 1000).unref();
	};
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
	try {
		standin = createStandin(o);
		await standin.listen();
	} catch (e) {
		process.stderr.write(`btcpay stand-in: ${e.message}\n`);
		process.exit(1);
	}
	process.stdout.write(`btcpay stand-in listening on ${standin.port}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
