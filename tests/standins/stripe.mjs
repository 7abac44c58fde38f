#!/usr/bin/env node
// A local stand-in for the Stripe API, for tally's integration tests.
//
//   node tests/standins/stripe.mjs --port PORT --api-key sk_test_X \
//        --webhook-url URL --webhook-secret whsec_Y
//
// (or STRIPE_STANDIN_PORT, STRIPE_STANDIN_API_KEY, STRIPE_STANDIN_WEBHOOK_URL,
// STRIPE_STANDIN_WEBHOOK_SECRET; also --host, --api-version, --public-url, --log.)
// Prints "stripe stand-in listening on PORT" when ready (PORT 0 picks a free
// one and prints it); exits on SIGTERM/SIGINT.
//
// It answers the part of the Stripe API that tally's client uses, shaped like
// Stripe's objects and errors: /v1/customers, /v1/checkout/sessions,
// /v1/payment_intents, /v1/setup_intents, /v1/payment_methods, /v1/refunds,
// /v1/events.
// Requests are form-encoded with Stripe's bracket notation, authenticated with
// the secret key, and honour Idempotency-Key.  Webhook events are signed with
// the official stripe package (Stripe-Signature: t=...,v1=...).
//
// Test control API, under /_test/ (no auth; JSON bodies; JSON answers):
//   POST /_test/checkout/:id/complete  {events?, amount_total?, currency?, payment_status?,
//        card?: "visa"|"mastercard"|"amex"|{brand,last4,exp_month,exp_year}, email?, name?,
//        timestamp?, secret?, signature?}
//        payment mode: paid, a succeeded PaymentIntent and Charge; sends
//        checkout.session.completed + payment_intent.succeeded.  setup mode: a
//        succeeded SetupIntent and a new card PaymentMethod (attached to the
//        session's customer); sends checkout.session.completed + setup_intent.succeeded.
//        "events" picks which (and in what order); the answer has the webhook's
//        status and body for each in "deliveries".
//   POST /_test/checkout/:id/fail      {decline_code?, code?, message?, events?}
//        -> payment_intent.payment_failed (setup mode: setup_intent.setup_failed)
//   POST /_test/checkout/:id/expire    -> checkout.session.expired
//   POST /_test/refund                 {payment_intent | charge, amount?, events?} -> charge.refunded
//   POST /_test/events/:evt/resend     {timestamp?, secret?, signature?, webhook_url?}
//   POST /_test/send                   {type, object, previous_attributes?, id?, timestamp?, secret?}
//   GET|DELETE /_test/events           events sent, each with its deliveries (?type=)
//   POST /_test/outcome                {customer | payment_method, outcome: succeed|decline|
//        authentication_required, decline_code?, code?, message?, pi_status?, times?}
//   POST /_test/fail-next              {status?: 500, count?: 1, type?, code?, message?}
//   POST /_test/hang-next              {count?: 1, ms?: 25000, process?: false}
//   GET|DELETE /_test/requests         the API requests recorded (?method=, ?path=)
//   GET /_test/objects/:id             any stored object as it is now
//   GET|POST /_test/config             {webhook_url?, webhook_secret?, api_version?, auto_events?}
//   POST /_test/reset                  forget all objects, requests, events, outcomes, faults
// The hosted page GET /checkout/:id has a Pay button (POST /checkout/:id/pay),
// which completes the session like /_test/.../complete and redirects to success_url.
import http from 'node:http';
import https from 'node:https';
import crypto from 'node:crypto';
import { pathToFileURL } from 'node:url';

let Stripe;
try {
  ({ default: Stripe } = await import('stripe'));
} catch (e) {
  process.stderr.write('stripe stand-in: the "stripe" npm package is missing; ' +
    'run: npm ci --prefix tests/standins\n');
  process.exit(2);
}

export const DEFAULT_API_VERSION = '2024-06-20';
const DEFAULT_HANG_MS = 25000;
const WEBHOOK_TIMEOUT_MS = 10000;
const MAX_BODY = 1024 * 1024;

// ---------------------------------------------------------------- errors

class StripeError extends Error {
  // status: HTTP status; fields: the members of Stripe's error object
  constructor(status, fields) {
    super(fields.message);
    this.status = status;
    this.fields = fields;
  }
}

const DOCS = 'https://stripe.com/docs/error-codes/';

function invalid(message, param, code, status = 400) {
  const f = { message, type: 'invalid_request_error' };
  if (code) { f.code = code; f.doc_url = DOCS + code.replace(/_/g, '-'); }
  if (param) f.param = param;
  return new StripeError(status, f);
}
const missing = (param) => invalid(`Missing required param: ${param}.`, param, 'parameter_missing');
const unknownParam = (param) => invalid(`Received unknown parameter: ${param}`, param, 'parameter_unknown');
function noSuch(kind, id, param, status = 404) {
  return invalid(`No such ${kind}: '${id}'`, param, 'resource_missing', status);
}

function errorBody(fields) {
  // Stripe leaves out the members that do not apply, rather than send nulls
  const e = {};
  for (const k of ['charge', 'code', 'decline_code', 'doc_url', 'message', 'param',
    'payment_intent', 'payment_method', 'request_log_url', 'setup_intent', 'type']) {
    if (fields[k] !== undefined && fields[k] !== null) e[k] = fields[k];
  }
  return { error: e };
}

// ---------------------------------------------------------------- ids, time

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function rand(n) {
  const b = crypto.randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += ALNUM[b[i] % ALNUM.length];
  return s;
}
const LENGTHS = { cs_test_: 58, cus_: 14, pi_: 24, seti_: 24, pm_: 24, ch_: 24, evt_: 24, req_: 14,
  re_: 24, txn_: 24, li_: 24, price_: 24, prod_: 14, seatt_: 24 };
const newId = (prefix) => prefix + rand(LENGTHS[prefix] || 24);
const now = () => Math.floor(Date.now() / 1000);
const clone = (o) => (o === undefined ? undefined : JSON.parse(JSON.stringify(o)));

// ---------------------------------------------------------------- form bodies

// Parse an application/x-www-form-urlencoded body in Stripe's bracket
// notation (a[b][c]=1, a[]=x, a[0][b]=y) into nested objects and arrays.
export function parseForm(raw) {
  const root = Object.create(null);
  for (const [key, value] of new URLSearchParams(raw)) {
    const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
    if (!m) throw invalid(`Invalid parameter name: ${key}`, key);
    const path = [m[1]];
    for (const s of m[2].matchAll(/\[([^[\]]*)\]/g)) path.push(s[1]);
    assign(root, path, value, key);
  }
  return finalizeForm(root);
}

function isHash(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function assign(root, path, value, key) {
  let node = root;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    const nextSeg = last ? null : path[i + 1];
    if (Array.isArray(node)) {
      // node came from "[]": each "[]" adds an element, except that
      // a[][x]=1&a[][y]=2 fills one hash until a key repeats (Rack's rule)
      if (seg !== '') throw invalid(`Invalid array: ${key}`, key);
      if (last) { node.push(value); return; }
      let tail = node[node.length - 1];
      if (nextSeg === '') throw invalid(`Invalid array: ${key}`, key);
      if (!isHash(tail) || (path.length === i + 2 && Object.hasOwn(tail, nextSeg))) {
        tail = Object.create(null);
        node.push(tail);
      }
      node = tail;
      continue;
    }
    if (seg === '') throw invalid(`Invalid parameter name: ${key}`, key);
    if (last) {
      if (Object.hasOwn(node, seg) && typeof node[seg] !== 'string') {
        throw invalid(`Invalid parameter: ${key} is given both as a value and as a hash or array`, key);
      }
      node[seg] = value; // a repeated scalar: the last one wins
      return;
    }
    const want = nextSeg === '' ? 'array' : 'hash';
    if (!Object.hasOwn(node, seg)) {
      node[seg] = want === 'array' ? [] : Object.create(null);
    } else if (typeof node[seg] === 'string' ||
        (want === 'array') !== Array.isArray(node[seg])) {
      throw invalid(`Invalid parameter: ${key} is given both as a value and as a hash or array`, key);
    }
    node = node[seg];
  }
}

// hashes whose keys are exactly 0..n-1 become arrays (line_items[0][...])
function finalizeForm(v) {
  if (Array.isArray(v)) return v.map(finalizeForm);
  if (!isHash(v)) return v;
  const keys = Object.keys(v);
  const out = Object.create(null);
  for (const k of keys) out[k] = finalizeForm(v[k]);
  if (keys.length > 0 && keys.every((k) => /^(0|[1-9]\d*)$/.test(k))) {
    const idx = keys.map(Number).sort((a, b) => a - b);
    if (idx.every((n, i) => n === i)) return idx.map((n) => out[String(n)]);
  }
  return out;
}

// ---------------------------------------------------------------- validation

// Small schemas for the parameters of the endpoints, so that the stand-in
// answers a wrong or missing parameter the way Stripe does.
const T = {
  str: (max) => ({ t: 'string', max }),
  int: (min) => ({ t: 'integer', min }),
  bool: { t: 'boolean' },
  any: { t: 'any' },
  meta: { t: 'metadata' },
  enum: (...values) => ({ t: 'enum', values }),
  arr: (items) => ({ t: 'array', items }),
  hash: (props, required = []) => ({ t: 'hash', props, required }),
};

function anyProps(names) {
  const o = {};
  for (const n of names.split(/\s+/).filter(Boolean)) o[n] = T.any;
  return o;
}

function oxford(values) {
  if (values.length < 2) return values.join('');
  return values.slice(0, -1).join(', ') + ', or ' + values[values.length - 1];
}

function validate(schema, value, name) {
  switch (schema.t) {
    case 'any':
      return value;
    case 'string':
      if (typeof value !== 'string') throw invalid(`Invalid string: ${name}`, name);
      if (schema.max && value.length > schema.max) {
        throw invalid(`Invalid string: ${value.slice(0, 20)}...; must be at most ${schema.max} characters`, name);
      }
      return value;
    case 'integer': {
      if (typeof value !== 'string' || !/^-?\d+$/.test(value)) {
        throw invalid(`Invalid integer: ${typeof value === 'string' ? value : '(a hash or array)'}`,
          name, 'parameter_invalid_integer');
      }
      const n = Number(value);
      if (!Number.isSafeInteger(n)) {
        throw invalid(`Invalid integer: ${value}`, name, 'parameter_invalid_integer');
      }
      if (schema.min !== undefined && n < schema.min) {
        throw invalid(`This value must be greater than or equal to ${schema.min}.`, name,
          'parameter_invalid_integer');
      }
      return n;
    }
    case 'off_session': // a boolean, or one_off / recurring
      if (value === 'one_off' || value === 'recurring') return value;
      // falls through
    case 'boolean':
      if (value === 'true') return true;
      if (value === 'false') return false;
      throw invalid(`Invalid boolean: ${typeof value === 'string' ? value : '(a hash or array)'}`, name);
    case 'enum':
      if (typeof value !== 'string' || !schema.values.includes(value)) {
        throw invalid(`Invalid ${name}: must be one of ${oxford(schema.values)}`, name);
      }
      return value;
    case 'array': {
      if (value === '') return [];
      if (!Array.isArray(value)) throw invalid('Invalid array', name);
      return value.map((v, i) => validate(schema.items, v, `${name}[${i}]`));
    }
    case 'metadata': {
      if (value === '') return {};
      let h = value;
      if (Array.isArray(h)) h = Object.fromEntries(h.map((v, i) => [String(i), v]));
      if (!isHash(h)) throw invalid('Invalid object', name);
      const out = {};
      for (const [k, v] of Object.entries(h)) {
        if (typeof v !== 'string') throw invalid('Invalid string', `${name}[${k}]`);
        if (k.length > 40) {
          throw invalid(`Metadata keys can have up to 40 characters; \`${k}\` has ${k.length}.`, `${name}[${k}]`);
        }
        if (v.length > 500) {
          throw invalid(`Metadata values can have up to 500 characters, but you passed in a value that is ${v.length} characters.`,
            `${name}[${k}]`);
        }
        if (v !== '') out[k] = v; // an empty value unsets the key
      }
      if (Object.keys(out).length > 50) {
        throw invalid('You can specify up to 50 keys in metadata.', name);
      }
      return out;
    }
    case 'hash': {
      if (value === '') value = Object.create(null);
      if (!isHash(value)) throw invalid('Invalid object', name);
      const out = {};
      for (const k of Object.keys(value)) {
        const sub = name ? `${name}[${k}]` : k;
        if (!Object.hasOwn(schema.props, k)) throw unknownParam(sub);
        out[k] = validate(schema.props[k], value[k], sub);
      }
      for (const r of schema.required) {
        if (out[r] === undefined) throw missing(name ? `${name}[${r}]` : r);
      }
      return out;
    }
    default:
      throw new Error(`bad schema ${schema.t}`);
  }
}

const EXPAND = { expand: T.arr(T.str(5000)) };

const SCHEMAS = {
  customerCreate: T.hash({
    ...anyProps(`address balance business_name cash_balance individual_name invoice_prefix
      invoice_settings next_invoice_sequence payment_method preferred_locales shipping source tax
      tax_exempt tax_id_data test_clock validate coupon promotion_code`),
    ...EXPAND,
    description: T.str(350), email: T.str(512), metadata: T.meta, name: T.str(256), phone: T.str(20),
  }),
  sessionCreate: T.hash({
    ...anyProps(`adaptive_pricing after_expiration allow_promotion_codes allowed_payment_method_types
      automatic_tax billing_address_collection branding_settings consent_collection custom_fields
      custom_text customer_account customer_creation customer_update discounts
      excluded_payment_method_types integration_identifier invoice_creation locale managed_payments
      name_collection optional_items origin_context payment_method_collection
      payment_method_configuration payment_method_data payment_method_options permissions
      phone_number_collection redirect_on_completion return_url saved_payment_method_options
      shipping_address_collection shipping_options submit_type subscription_data tax_id_collection
      wallet_options`),
    ...EXPAND,
    mode: T.enum('payment', 'setup', 'subscription'),
    ui_mode: T.str(40),
    success_url: T.str(5000), cancel_url: T.str(5000),
    client_reference_id: T.str(200),
    currency: T.str(3 + 20),
    customer: T.str(5000), customer_email: T.str(800),
    expires_at: T.int(),
    metadata: T.meta,
    payment_method_types: T.arr(T.str(100)),
    line_items: T.arr(T.hash({
      ...anyProps('adjustable_quantity dynamic_tax_rates tax_rates'),
      metadata: T.meta,
      price: T.str(5000),
      price_data: T.hash({
        ...anyProps('recurring tax_behavior'),
        currency: T.str(23),
        product: T.str(5000),
        product_data: T.hash({
          ...anyProps('images tax_code tax_details unit_label'),
          name: T.str(5000), description: T.str(40000), metadata: T.meta,
        }, ['name']),
        unit_amount: T.int(0),
        unit_amount_decimal: T.str(40),
      }, ['currency']),
      quantity: T.int(),
    })),
    payment_intent_data: T.hash({
      ...anyProps(`application_fee_amount capture_method on_behalf_of receipt_email shipping
        statement_descriptor statement_descriptor_suffix transfer_data transfer_group`),
      description: T.str(1000), metadata: T.meta,
      setup_future_usage: T.enum('off_session', 'on_session'),
    }),
    setup_intent_data: T.hash({ description: T.str(1000), metadata: T.meta, on_behalf_of: T.any }),
  }),
  paymentIntentCreate: T.hash({
    ...anyProps(`allowed_payment_method_types amount_details application_fee_amount
      automatic_payment_methods confirmation_method confirmation_token customer_account
      excluded_payment_method_types hooks mandate mandate_data on_behalf_of payment_details
      payment_method_configuration payment_method_data payment_method_options radar_options
      return_url shipping statement_descriptor statement_descriptor_suffix transfer_data
      transfer_group use_stripe_sdk`),
    ...EXPAND,
    amount: T.int(), currency: T.str(23),
    capture_method: T.enum('automatic', 'automatic_async', 'manual'),
    confirm: T.bool,
    customer: T.str(5000), description: T.str(1000),
    error_on_requires_action: T.bool,
    metadata: T.meta,
    off_session: { t: 'off_session' },
    payment_method: T.str(5000),
    payment_method_types: T.arr(T.str(100)),
    receipt_email: T.str(800),
    setup_future_usage: T.enum('off_session', 'on_session'),
  }, ['amount', 'currency']),
  refundCreate: T.hash({
    ...anyProps('currency customer instructions_email origin refund_application_fee reverse_transfer'),
    ...EXPAND,
    amount: T.int(), charge: T.str(5000), metadata: T.meta, payment_intent: T.str(5000),
    reason: T.enum('duplicate', 'fraudulent', 'requested_by_customer'),
  }),
  retrieve: T.hash({ ...EXPAND }),
  setupIntentRetrieve: T.hash({ ...EXPAND, client_secret: T.str(5000) }),
};

// ---------------------------------------------------------------- money

const ZERO_DECIMAL = new Set(['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf',
  'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf']);
// Stripe's minimum charge amounts for the currencies a test is likely to use
const MINIMUM = { usd: 50, eur: 50, gbp: 30, chf: 50, cad: 50, aud: 50, nzd: 50, jpy: 50,
  sek: 300, nok: 300, dkk: 250, pln: 200 };
const SYMBOL = { usd: '$', eur: '€', gbp: '£', jpy: '¥', chf: 'CHF ', cad: '$', aud: '$', nzd: '$' };
const MAX_AMOUNT = 99999999;

function fmtAmount(amount, currency) {
  const sym = SYMBOL[currency] ?? '';
  const v = ZERO_DECIMAL.has(currency) ? String(amount) : (amount / 100).toFixed(2);
  return `${sym}${v} ${currency}`;
}

function checkCurrency(value, param) {
  const c = String(value).toLowerCase();
  if (!/^[a-z]{3}$/.test(c)) {
    throw invalid(`Invalid currency: ${String(value).toLowerCase()}. Stripe currently supports these currencies: ` +
      'usd, eur, gbp, chf, ... (see https://stripe.com/docs/currencies)', param);
  }
  return c;
}

// ---------------------------------------------------------------- the stand-in

const CARDS = {
  visa: { brand: 'visa', last4: '4242' },
  mastercard: { brand: 'mastercard', last4: '4444' },
  amex: { brand: 'amex', last4: '0005' },
};

// test-mode PaymentMethod ids that Stripe accepts without creating them first
const MAGIC_PMS = {
  pm_card_visa: { card: 'visa' },
  pm_card_mastercard: { card: 'mastercard' },
  pm_card_amex: { card: 'amex' },
  pm_card_chargeDeclined: { card: 'visa', outcome: { outcome: 'decline', decline_code: 'generic_decline' } },
  pm_card_visa_chargeDeclined: { card: 'visa', outcome: { outcome: 'decline', decline_code: 'generic_decline' } },
  pm_card_chargeDeclinedInsufficientFunds: { card: 'visa', outcome: { outcome: 'decline', decline_code: 'insufficient_funds' } },
  pm_card_visa_chargeDeclinedInsufficientFunds: { card: 'visa', outcome: { outcome: 'decline', decline_code: 'insufficient_funds' } },
  pm_card_chargeDeclinedExpiredCard: { card: 'visa', outcome: { outcome: 'decline', decline_code: 'expired_card' } },
  pm_card_authenticationRequired: { card: 'visa', outcome: { outcome: 'authentication_required' } },
  pm_card_authenticationRequiredOnSetup: { card: 'visa', outcome: { outcome: 'authentication_required' } },
};

const DECLINE_MESSAGES = {
  insufficient_funds: 'Your card has insufficient funds.',
  expired_card: 'Your card has expired.',
  incorrect_cvc: "Your card's security code is incorrect.",
  processing_error: 'An error occurred while processing your card. Try again in a little bit.',
};
// decline codes that Stripe reports with their own error code
const DECLINE_CODE_IS_CODE = new Set(['expired_card', 'incorrect_cvc', 'processing_error', 'incorrect_number']);

const NOT_FOUND_NAMES = {
  customer: ['customer', 'id'],
  'checkout.session': ['checkout.session', 'session'],
  payment_intent: ['payment_intent', 'intent'],
  setup_intent: ['setupintent', 'intent'],
  payment_method: ['PaymentMethod', 'payment_method'],
  charge: ['charge', 'charge'],
  refund: ['refund', 'id'],
  event: ['event', 'id'],
};

// which fields of which objects may be expanded, and into what
const EXPANDABLE = {
  'checkout.session': ['customer', 'payment_intent', 'setup_intent', 'line_items', 'invoice',
    'subscription', 'payment_link'],
  payment_intent: ['customer', 'payment_method', 'latest_charge', 'application', 'on_behalf_of',
    'review', 'source'],
  setup_intent: ['customer', 'payment_method', 'latest_attempt', 'mandate', 'single_use_mandate',
    'application', 'on_behalf_of'],
  payment_method: ['customer'],
  charge: ['customer', 'payment_intent', 'balance_transaction', 'application', 'application_fee',
    'failure_balance_transaction', 'on_behalf_of', 'review', 'source_transfer', 'transfer'],
  customer: ['default_source', 'invoice_settings.default_payment_method', 'test_clock'],
  refund: ['charge', 'payment_intent', 'balance_transaction', 'failure_balance_transaction',
    'source_transfer_reversal', 'transfer_reversal'],
};

export function createStandin(options = {}) {
  const cfg = {
    apiKey: options.apiKey,
    webhookUrl: options.webhookUrl || null,
    webhookSecret: options.webhookSecret || 'whsec_' + crypto.randomBytes(24).toString('hex'),
    apiVersion: options.apiVersion || DEFAULT_API_VERSION,
    publicUrl: options.publicUrl || null,
    autoEvents: !!options.autoEvents,
    log: !!options.log,
    webhookTimeoutMs: options.webhookTimeoutMs || WEBHOOK_TIMEOUT_MS,
  };
  if (!cfg.apiKey) throw new Error('an API key is required');

  let st; // all mutable state, reset by /_test/reset
  function resetState() {
    st = {
      objects: new Map(), // id -> Stripe object
      lineItems: new Map(), // session id -> [line item]
      idem: new Map(), // Idempotency-Key -> saved result
      requests: [],
      events: [], // {event, deliveries}
      outcomes: new Map(), // cus_/pm_ id -> outcome
      failNext: [], // [{status, type, code, message}]
      hangNext: [], // [{ms, process}]
      seq: 0,
    };
  }
  resetState();
  const hung = new Set(); // timers of hung requests, cleared on close
  const sockets = new Set();

  const log = (...a) => { if (cfg.log) process.stdout.write(`[stripe] ${a.join(' ')}\n`); };
  const put = (o) => { st.objects.set(o.id, o); return o; };
  const get = (id, object) => {
    const o = typeof id === 'string' ? st.objects.get(id) : undefined;
    return o && (!object || o.object === object) ? o : undefined;
  };
  function mustGet(id, object, status = 404, paramOverride) {
    const o = get(id, object);
    if (!o) {
      const [kind, param] = NOT_FOUND_NAMES[object];
      throw noSuch(kind, id, paramOverride || param, status);
    }
    return o;
  }

  const baseUrl = () => cfg.publicUrl || `http://127.0.0.1:${server.address()?.port}`;

  // ------------------------------------------------------------ objects

  function makeCustomer(p) {
    return put({
      id: newId('cus_'), object: 'customer', address: null, balance: 0, created: now(),
      currency: null, default_source: null, delinquent: false, description: p.description ?? null,
      discount: null, email: p.email ?? null,
      invoice_prefix: crypto.randomBytes(4).toString('hex').toUpperCase(),
      invoice_settings: { custom_fields: null, default_payment_method: null, footer: null,
        rendering_options: null },
      livemode: false, metadata: p.metadata ?? {}, name: p.name ?? null, next_invoice_sequence: 1,
      phone: p.phone ?? null, preferred_locales: [], shipping: null, tax_exempt: 'none',
      test_clock: null,
    });
  }

  function makePaymentMethod({ card = 'visa', customer = null, email = null, name = null } = {}) {
    const c = typeof card === 'string' ? CARDS[card] || CARDS.visa : { ...CARDS.visa, ...card };
    const year = new Date().getUTCFullYear();
    return put({
      id: newId('pm_'), object: 'payment_method', allow_redisplay: 'unspecified',
      billing_details: { address: { city: null, country: null, line1: null, line2: null,
        postal_code: null, state: null }, email, name, phone: null },
      card: {
        brand: c.brand, checks: { address_line1_check: null, address_postal_code_check: null,
          cvc_check: 'pass' },
        country: 'US', display_brand: c.brand, exp_month: c.exp_month ?? 12,
        exp_year: c.exp_year ?? year + 5, fingerprint: rand(16), funding: 'credit',
        generated_from: null, last4: c.last4,
        networks: { available: [c.brand], preferred: null },
        three_d_secure_usage: { supported: true }, wallet: null,
      },
      created: now(), customer, livemode: false, metadata: {}, type: 'card',
    });
  }

  function makeCharge(pi, pm, { failed = null } = {}) {
    const ok = !failed;
    return put({
      id: newId('ch_'), object: 'charge', amount: pi.amount, amount_captured: ok ? pi.amount : 0,
      amount_refunded: 0, application: null, application_fee: null, application_fee_amount: null,
      balance_transaction: ok ? newId('txn_') : null,
      billing_details: clone(pm.billing_details),
      calculated_statement_descriptor: 'TALLY', captured: ok, created: now(),
      currency: pi.currency, customer: pi.customer, description: pi.description, disputed: false,
      failure_balance_transaction: null,
      failure_code: failed ? failed.code : null, failure_message: failed ? failed.message : null,
      fraud_details: {}, livemode: false, metadata: clone(pi.metadata), on_behalf_of: null,
      outcome: ok
        ? { network_status: 'approved_by_network', reason: null, risk_level: 'normal',
          risk_score: 20, seller_message: 'Payment complete.', type: 'authorized' }
        : { network_status: 'declined_by_network', reason: failed.decline_code, risk_level: 'normal',
          risk_score: 20, seller_message: 'The bank did not return any further details with this decline.',
          type: 'issuer_declined' },
      paid: ok, payment_intent: pi.id, payment_method: pm.id,
      payment_method_details: { card: { amount_authorized: ok ? pi.amount : null,
        brand: pm.card.brand, checks: clone(pm.card.checks), country: pm.card.country,
        exp_month: pm.card.exp_month, exp_year: pm.card.exp_year, fingerprint: pm.card.fingerprint,
        funding: pm.card.funding, last4: pm.card.last4, network: pm.card.brand,
        three_d_secure: null, wallet: null }, type: 'card' },
      receipt_email: pi.receipt_email ?? null, receipt_number: null,
      receipt_url: `${baseUrl()}/receipts/${rand(20)}`,
      refunded: false, review: null, shipping: null, source: null, source_transfer: null,
      statement_descriptor: null, statement_descriptor_suffix: null,
      status: ok ? 'succeeded' : 'failed', transfer_data: null, transfer_group: null,
    });
  }

  function makePaymentIntent(p) {
    const id = newId('pi_');
    return put({
      id, object: 'payment_intent', amount: p.amount, amount_capturable: 0,
      amount_details: { tip: {} }, amount_received: 0, application: null,
      application_fee_amount: null, automatic_payment_methods: null, canceled_at: null,
      cancellation_reason: null, capture_method: p.capture_method || 'automatic_async',
      client_secret: `${id}_secret_${rand(25)}`, confirmation_method: 'automatic',
      created: now(), currency: p.currency, customer: p.customer ?? null,
      description: p.description ?? null, invoice: null, last_payment_error: null,
      latest_charge: null, livemode: false, metadata: p.metadata ?? {}, next_action: null,
      on_behalf_of: null, payment_method: p.payment_method ?? null,
      payment_method_configuration_details: null,
      payment_method_options: { card: { installments: null, mandate_options: null, network: null,
        request_three_d_secure: 'automatic' } },
      payment_method_types: p.payment_method_types || ['card'], processing: null,
      receipt_email: p.receipt_email ?? null, review: null,
      setup_future_usage: p.setup_future_usage ?? null, shipping: null, source: null,
      statement_descriptor: null, statement_descriptor_suffix: null,
      status: p.payment_method ? 'requires_confirmation' : 'requires_payment_method',
      transfer_data: null, transfer_group: null,
    });
  }

  function makeSetupIntent(p) {
    const id = newId('seti_');
    return put({
      id, object: 'setup_intent', application: null, automatic_payment_methods: null,
      cancellation_reason: null, client_secret: `${id}_secret_${rand(32)}`, created: now(),
      customer: p.customer ?? null, description: p.description ?? null, flow_directions: null,
      last_setup_error: null, latest_attempt: null, livemode: false, mandate: null,
      metadata: p.metadata ?? {}, next_action: null, on_behalf_of: null,
      payment_method: p.payment_method ?? null, payment_method_configuration_details: null,
      payment_method_options: { card: { mandate_options: null, network: null,
        request_three_d_secure: 'automatic' } },
      payment_method_types: p.payment_method_types || ['card'], single_use_mandate: null,
      status: p.status || 'requires_payment_method', usage: 'off_session',
    });
  }

  // apply a successful payment to a PaymentIntent with a PaymentMethod
  function succeedPayment(pi, pm) {
    const ch = makeCharge(pi, pm);
    Object.assign(pi, { status: 'succeeded', amount_received: pi.amount, latest_charge: ch.id,
      payment_method: pm.id, last_payment_error: null, next_action: null });
    return ch;
  }

  // apply a failed payment; returns {charge, error fields}
  function failPayment(pi, pm, outcome) {
    const auth = outcome.outcome === 'authentication_required';
    const declineCode = auth ? 'authentication_required' : outcome.decline_code || 'insufficient_funds';
    const code = outcome.code || (auth ? 'authentication_required'
      : DECLINE_CODE_IS_CODE.has(declineCode) ? declineCode : 'card_declined');
    const message = outcome.message || (auth
      ? 'Your card was declined. This transaction requires authentication.'
      : DECLINE_MESSAGES[declineCode] || 'Your card was declined.');
    const ch = makeCharge(pi, pm, { failed: { code, decline_code: declineCode, message } });
    const fields = {
      charge: ch.id, code, decline_code: declineCode, doc_url: DOCS + code.replace(/_/g, '-'),
      message, payment_method: clone(pm), type: 'card_error',
    };
    const piStatus = outcome.pi_status || 'requires_payment_method';
    Object.assign(pi, {
      status: piStatus, latest_charge: ch.id, payment_method: piStatus === 'requires_action' ? pm.id : null,
      last_payment_error: { ...fields, payment_method: clone(pm) },
      next_action: piStatus === 'requires_action'
        ? { type: 'use_stripe_sdk', use_stripe_sdk: { type: 'three_d_secure_redirect',
          stripe_js: `${baseUrl()}/3ds/${pi.id}`, source: `src_${rand(24)}` } }
        : null,
    });
    return { charge: ch, fields };
  }

  // refund amount of charge ch (checked by the caller): a succeeded Refund,
  // the charge's amount_refunded and refunded updated; returns [refund,
  // the charge's previous attributes]
  function refundCharge(ch, amount, { reason = null, metadata = {} } = {}) {
    const prev = { amount_refunded: ch.amount_refunded, refunded: ch.refunded };
    ch.amount_refunded += amount;
    ch.refunded = ch.amount_refunded === ch.amount;
    const refund = put({ id: newId('re_'), object: 'refund', amount, balance_transaction: newId('txn_'),
      charge: ch.id, created: now(), currency: ch.currency, destination_details: { card: {
        reference_status: 'pending', reference_type: 'acquirer_reference_number', type: 'refund' },
      type: 'card' }, metadata, payment_intent: ch.payment_intent, reason, receipt_number: null,
      source_transfer_reversal: null, status: 'succeeded', transfer_reversal: null });
    return [refund, prev];
  }

  // ------------------------------------------------------------ expand

  function expandObject(obj, paths) {
    const out = clone(obj);
    for (const path of paths) expandPath(out, path.split('.'), path);
    return out;
  }

  function expandPath(obj, parts, full) {
    if (!isHash(obj)) return;
    const allowed = EXPANDABLE[obj.object] || [];
    // a dotted field name such as invoice_settings.default_payment_method
    let field = parts[0];
    let rest = parts.slice(1);
    if (!allowed.includes(field) && parts.length > 1 && allowed.includes(`${parts[0]}.${parts[1]}`)) {
      field = `${parts[0]}.${parts[1]}`;
      rest = parts.slice(2);
    }
    if (!allowed.includes(field)) {
      throw invalid(`This property cannot be expanded (${full}).`, 'expand');
    }
    const [holder, key] = field.includes('.') ? [obj[field.split('.')[0]], field.split('.')[1]] : [obj, field];
    if (!holder) return;
    if (obj.object === 'checkout.session' && field === 'line_items') {
      const items = st.lineItems.get(obj.id) || [];
      holder.line_items = { object: 'list', data: clone(items), has_more: false,
        url: `/v1/checkout/sessions/${obj.id}/line_items` };
      return;
    }
    const v = holder[key];
    if (typeof v === 'string' && st.objects.has(v)) holder[key] = clone(st.objects.get(v));
    if (rest.length && isHash(holder[key])) expandPath(holder[key], rest, full);
  }

  function respondObject(obj, params) {
    return { status: 200, body: params.expand?.length ? expandObject(obj, params.expand) : clone(obj) };
  }

  // ------------------------------------------------------------ outcomes

  function takeOutcome(pmId, customerId, magic) {
    for (const key of [pmId, customerId]) {
      const o = key && st.outcomes.get(key);
      if (!o) continue;
      if (o.times !== undefined) {
        o.times -= 1;
        if (o.times <= 0) st.outcomes.delete(key);
      }
      return o;
    }
    return magic?.outcome || { outcome: 'succeed' };
  }

  // ------------------------------------------------------------ API handlers

  function apiCustomerCreate(params) {
    return { status: 200, body: clone(makeCustomer(params)), created: true };
  }

  function apiSessionCreate(params) {
    if (!params.mode) throw missing('mode');
    const mode = params.mode;
    if (mode === 'subscription') {
      throw invalid('The Stripe stand-in does not support subscription mode.', 'mode');
    }
    const uiMode = params.ui_mode || 'hosted';
    if ((uiMode === 'hosted' || uiMode === 'hosted_page') && params.success_url === undefined) {
      throw missing('success_url');
    }
    for (const u of ['success_url', 'cancel_url']) {
      if (params[u] === undefined) continue;
      let ok = false;
      try { ok = /^https?:$/.test(new URL(params[u]).protocol); } catch { ok = false; }
      if (!ok) throw invalid('Not a valid URL', u, 'url_invalid');
    }
    if (params.customer !== undefined && params.customer_email !== undefined) {
      throw invalid('You may only specify one of these parameters: customer, customer_email.', 'customer_email');
    }
    let customer = null;
    if (params.customer !== undefined) customer = mustGet(params.customer, 'customer', 400, 'customer');
    const created = now();
    let expiresAt = created + 24 * 3600;
    if (params.expires_at !== undefined) {
      const d = params.expires_at - created;
      if (d < 30 * 60 - 5) {
        throw invalid('The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.',
          'expires_at');
      }
      if (d > 24 * 3600 + 5) {
        throw invalid('The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.',
          'expires_at');
      }
      expiresAt = params.expires_at;
    }
    let currency = params.currency !== undefined ? checkCurrency(params.currency, 'currency') : null;
    const items = [];
    let subtotal = null;
    if (mode === 'payment') {
      if (params.setup_intent_data !== undefined) {
        throw invalid('You can not pass `setup_intent_data` in `payment` mode.', 'setup_intent_data');
      }
      if (!params.line_items || params.line_items.length === 0) throw missing('line_items');
      subtotal = 0;
      params.line_items.forEach((li, i) => {
        const at = `line_items[${i}]`;
        if (li.price !== undefined && li.price_data !== undefined) {
          throw invalid(`You may only specify one of these parameters: price, price_data.`, `${at}[price_data]`);
        }
        if (li.price !== undefined) throw noSuch('price', li.price, `${at}[price]`, 400);
        if (li.price_data === undefined) {
          throw invalid(`You must specify either \`price\` or \`price_data\` in \`${at}\`.`, at, 'parameter_missing');
        }
        if (li.quantity === undefined) {
          throw invalid(`Quantity is required. Add \`quantity\` to \`${at}\``, `${at}[quantity]`, 'parameter_missing');
        }
        if (li.quantity < 1) {
          throw invalid('This value must be greater than or equal to 1.', `${at}[quantity]`);
        }
        const pd = li.price_data;
        if (pd.product === undefined && pd.product_data === undefined) {
          throw missing(`${at}[price_data][product_data]`);
        }
        if (pd.product !== undefined) throw noSuch('product', pd.product, `${at}[price_data][product]`, 400);
        if (pd.unit_amount === undefined && pd.unit_amount_decimal === undefined) {
          throw missing(`${at}[price_data][unit_amount]`);
        }
        const unit = pd.unit_amount ?? Math.round(Number(pd.unit_amount_decimal));
        const cur = checkCurrency(pd.currency, `${at}[price_data][currency]`);
        if (currency && currency !== cur) {
          throw invalid('All line items must use the same currency.', `${at}[price_data][currency]`);
        }
        currency = cur;
        const amount = unit * li.quantity;
        subtotal += amount;
        const priceId = newId('price_');
        items.push({
          id: newId('li_'), object: 'item', amount_discount: 0, amount_subtotal: amount,
          amount_tax: 0, amount_total: amount, currency: cur,
          description: pd.product_data.name,
          price: { id: priceId, object: 'price', active: false, billing_scheme: 'per_unit',
            created, currency: cur, custom_unit_amount: null, livemode: false, lookup_key: null,
            metadata: {}, nickname: null, product: newId('prod_'), recurring: null,
            tax_behavior: pd.tax_behavior || 'unspecified', tiers_mode: null,
            transform_quantity: null, type: 'one_time', unit_amount: unit,
            unit_amount_decimal: String(unit) },
          quantity: li.quantity,
        });
      });
      const min = MINIMUM[currency];
      if (min !== undefined && subtotal < min) {
        throw invalid(`The Checkout Session's total amount due must add up to at least ${fmtAmount(min, currency)}`,
          undefined);
      }
      if (subtotal > MAX_AMOUNT) {
        throw invalid(`The Checkout Session's total amount due must be no more than ${fmtAmount(MAX_AMOUNT, currency)}`,
          undefined, 'amount_too_large');
      }
    } else {
      if (params.line_items !== undefined) {
        throw invalid('You can not pass `line_items` in `setup` mode.', 'line_items');
      }
      if (params.payment_intent_data !== undefined) {
        throw invalid('You can not pass `payment_intent_data` in `setup` mode.', 'payment_intent_data');
      }
      if (!currency && !params.payment_method_types?.length && !params.allowed_payment_method_types?.length) {
        throw missing('currency');
      }
    }
    const id = newId('cs_test_');
    const email = params.customer_email ?? null;
    const session = put({
      id, object: 'checkout.session', adaptive_pricing: null, after_expiration: null,
      allow_promotion_codes: null,
      amount_subtotal: mode === 'payment' ? subtotal : null,
      amount_total: mode === 'payment' ? subtotal : null,
      automatic_tax: { enabled: false, liability: null, status: null },
      billing_address_collection: null, cancel_url: params.cancel_url ?? null,
      client_reference_id: params.client_reference_id ?? null, client_secret: null,
      consent: null, consent_collection: null, created, currency,
      currency_conversion: null, custom_fields: [],
      custom_text: { after_submit: null, shipping_address: null, submit: null,
        terms_of_service_acceptance: null },
      customer: customer ? customer.id : null,
      customer_creation: customer ? null : 'if_required',
      customer_details: email ? { address: null, email, name: null, phone: null,
        tax_exempt: 'none', tax_ids: null } : null,
      customer_email: email, expires_at: expiresAt, invoice: null,
      invoice_creation: mode === 'payment' ? { enabled: false, invoice_data: { account_tax_ids: null,
        custom_fields: null, description: null, footer: null, issuer: null, metadata: {},
        rendering_options: null } } : null,
      livemode: false, locale: null, metadata: params.metadata ?? {}, mode,
      payment_intent: null, payment_link: null, payment_method_collection: 'if_required',
      payment_method_configuration_details: null, payment_method_options: {},
      payment_method_types: params.payment_method_types || ['card'],
      payment_status: mode === 'payment' ? 'unpaid' : 'no_payment_required',
      phone_number_collection: { enabled: false }, recovered_from: null,
      saved_payment_method_options: null, setup_intent: null, shipping_address_collection: null,
      shipping_cost: null, shipping_details: null, shipping_options: [], status: 'open',
      submit_type: null, subscription: null, success_url: params.success_url ?? null,
      total_details: mode === 'payment' ? { amount_discount: 0, amount_shipping: 0, amount_tax: 0 } : null,
      ui_mode: uiMode, url: uiMode === 'hosted' || uiMode === 'hosted_page' ? `${baseUrl()}/checkout/${id}` : null,
    });
    // kept aside for completion; not part of the Session object
    session._pi_data = params.payment_intent_data || {};
    session._si_data = params.setup_intent_data || {};
    Object.defineProperty(session, '_pi_data', { enumerable: false });
    Object.defineProperty(session, '_si_data', { enumerable: false });
    st.lineItems.set(id, items);
    return respondObject(session, params);
  }

  function apiPaymentIntentCreate(params, req) {
    if (params.amount < 1) {
      throw invalid('This value must be greater than or equal to 1.', 'amount', 'parameter_invalid_integer');
    }
    const currency = checkCurrency(params.currency, 'currency');
    const min = MINIMUM[currency];
    if (min !== undefined && params.amount < min) {
      throw invalid(`Amount must be at least ${fmtAmount(min, currency)}`, 'amount', 'amount_too_small');
    }
    if (params.amount > MAX_AMOUNT) {
      throw invalid(`Amount must be no more than ${fmtAmount(MAX_AMOUNT, currency)}`, 'amount', 'amount_too_large');
    }
    if (params.off_session !== undefined && params.off_session !== false && params.confirm !== true) {
      throw invalid('You may only specify `off_session` when `confirm` is true.', 'off_session');
    }
    let customer = null;
    if (params.customer !== undefined) customer = mustGet(params.customer, 'customer', 400, 'customer');
    let pm = null;
    let magic = null;
    if (params.payment_method !== undefined) {
      magic = MAGIC_PMS[params.payment_method];
      if (magic) {
        pm = makePaymentMethod({ card: magic.card });
      } else {
        pm = get(params.payment_method, 'payment_method');
        if (!pm) throw noSuch('PaymentMethod', params.payment_method, 'payment_method', 400);
        if (pm.customer && customer && pm.customer !== customer.id) {
          throw invalid(`The provided PaymentMethod ${pm.id} belongs to a different Customer than ${customer.id}.`,
            'payment_method');
        }
        if (pm.customer && !customer) {
          throw invalid(`The PaymentMethod provided (${pm.id}) belongs to a Customer. Include the Customer ` +
            'in the `customer` parameter on the PaymentIntent.', 'customer');
        }
      }
    }
    if (params.confirm === true && !pm) {
      throw invalid('You cannot confirm this PaymentIntent because it\'s missing a payment method. ' +
        (customer ? `To confirm the PaymentIntent with ${customer.id}, specify a payment method attached to ` +
          'this customer along with the customer ID.' : 'Pass `payment_method`.'), 'payment_method',
        'payment_intent_unexpected_state');
    }
    const pi = makePaymentIntent({ ...params, currency, customer: customer?.id,
      payment_method: pm?.id });
    if (params.confirm !== true) return respondObject(pi, params);

    const outcome = takeOutcome(params.payment_method, customer?.id, magic);
    if (outcome.outcome === 'succeed') {
      const ch = succeedPayment(pi, pm);
      if (params.setup_future_usage === 'off_session' && customer && !pm.customer) pm.customer = customer.id;
      if (cfg.autoEvents) {
        req.after.push(() => emit('payment_intent.succeeded', pi, {}, req));
        req.after.push(() => emit('charge.succeeded', ch, {}, req));
      }
      return respondObject(pi, params);
    }
    const { fields } = failPayment(pi, pm, outcome);
    if (cfg.autoEvents) req.after.push(() => emit('payment_intent.payment_failed', pi, {}, req));
    return { status: 402, body: errorBody({ ...fields, payment_intent: clone(pi) }) };
  }

  // POST /v1/refunds: a charge, or a PaymentIntent's latest charge, refunded
  // in full or by amount, at most what is left of it (Stripe's rules and
  // error codes: charge_already_refunded, amount_too_large).
  function apiRefundCreate(params, req) {
    if (params.charge === undefined && params.payment_intent === undefined) {
      throw invalid('One of `charge` or `payment_intent` is required.', undefined, 'parameter_missing');
    }
    if (params.charge !== undefined && params.payment_intent !== undefined) {
      throw invalid('You cannot specify both `charge` and `payment_intent`.', 'payment_intent');
    }
    let ch;
    if (params.charge !== undefined) {
      ch = mustGet(params.charge, 'charge', 400, 'charge');
    } else {
      const pi = mustGet(params.payment_intent, 'payment_intent', 400, 'payment_intent');
      ch = pi.status === 'succeeded' ? get(pi.latest_charge, 'charge') : undefined;
      if (!ch) {
        throw invalid(`This PaymentIntent (${pi.id}) does not have a successful charge to refund.`,
          'payment_intent', 'charge_not_refundable');
      }
    }
    if (ch.status !== 'succeeded') {
      throw invalid(`Charge ${ch.id} has not succeeded and cannot be refunded.`, undefined, 'charge_not_refundable');
    }
    const left = ch.amount - ch.amount_refunded;
    if (left <= 0) {
      throw invalid(`Charge ${ch.id} has already been refunded.`, undefined, 'charge_already_refunded');
    }
    const amount = params.amount ?? left;
    if (amount < 1) {
      throw invalid('This value must be greater than or equal to 1.', 'amount', 'parameter_invalid_integer');
    }
    if (amount > left) {
      throw invalid(`Refund amount (${fmtAmount(amount, ch.currency)}) is greater than unrefunded amount on ` +
        `charge (${fmtAmount(left, ch.currency)})`, 'amount', 'amount_too_large');
    }
    const [refund, prev] = refundCharge(ch, amount, { reason: params.reason ?? null,
      metadata: params.metadata ?? {} });
    if (cfg.autoEvents) {
      req.after.push(() => emit('charge.refunded', ch, { previous_attributes: prev }, req));
      req.after.push(() => emit('refund.created', refund, {}, req));
    }
    return respondObject(refund, params);
  }

  // ------------------------------------------------------------ API routing

  const API_ROUTES = [
    ['POST', /^\/v1\/customers$/, SCHEMAS.customerCreate, (p) => apiCustomerCreate(p)],
    ['GET', /^\/v1\/customers\/([^/]+)$/, SCHEMAS.retrieve,
      (p, m) => respondObject(mustGet(m[1], 'customer'), p)],
    ['POST', /^\/v1\/checkout\/sessions$/, SCHEMAS.sessionCreate, (p) => apiSessionCreate(p)],
    ['GET', /^\/v1\/checkout\/sessions\/([^/]+)$/, SCHEMAS.retrieve,
      (p, m) => respondObject(mustGet(m[1], 'checkout.session'), p)],
    ['GET', /^\/v1\/checkout\/sessions\/([^/]+)\/line_items$/, T.hash({ ...EXPAND, ...anyProps('limit starting_after ending_before') }),
      (p, m) => {
        mustGet(m[1], 'checkout.session');
        return { status: 200, body: { object: 'list', data: clone(st.lineItems.get(m[1]) || []),
          has_more: false, url: `/v1/checkout/sessions/${m[1]}/line_items` } };
      }],
    ['POST', /^\/v1\/payment_intents$/, SCHEMAS.paymentIntentCreate,
      (p, m, req) => apiPaymentIntentCreate(p, req)],
    ['GET', /^\/v1\/payment_intents\/([^/]+)$/, T.hash({ ...EXPAND, client_secret: T.str(5000) }),
      (p, m) => respondObject(mustGet(m[1], 'payment_intent'), p)],
    ['GET', /^\/v1\/setup_intents\/([^/]+)$/, SCHEMAS.setupIntentRetrieve,
      (p, m) => respondObject(mustGet(m[1], 'setup_intent'), p)],
    ['GET', /^\/v1\/payment_methods\/([^/]+)$/, SCHEMAS.retrieve,
      (p, m) => respondObject(mustGet(m[1], 'payment_method'), p)],
    // Detach: the payment method stays but no longer belongs to a customer.
    ['POST', /^\/v1\/payment_methods\/([^/]+)\/detach$/, SCHEMAS.retrieve,
      (p, m) => {
        const pm = mustGet(m[1], 'payment_method');
        pm.customer = null;
        return respondObject(pm, p);
      }],
    ['GET', /^\/v1\/charges\/([^/]+)$/, SCHEMAS.retrieve,
      (p, m) => respondObject(mustGet(m[1], 'charge'), p)],
    ['POST', /^\/v1\/refunds$/, SCHEMAS.refundCreate, (p, m, req) => apiRefundCreate(p, req)],
    ['GET', /^\/v1\/refunds\/([^/]+)$/, SCHEMAS.retrieve,
      (p, m) => respondObject(mustGet(m[1], 'refund'), p)],
    ['GET', /^\/v1\/events\/([^/]+)$/, SCHEMAS.retrieve,
      (p, m) => respondObject(mustGet(m[1], 'event'), p)],
  ];

  function checkAuth(req) {
    const h = req.headers.authorization;
    const info = { present: !!h, scheme: null, valid: false };
    let key = null;
    if (h) {
      const m = /^(\w+)\s+(.*)$/.exec(h.trim());
      if (m && m[1].toLowerCase() === 'bearer') {
        info.scheme = 'bearer';
        key = m[2].trim();
      } else if (m && m[1].toLowerCase() === 'basic') {
        info.scheme = 'basic';
        const dec = Buffer.from(m[2].trim(), 'base64').toString('utf8');
        key = dec.includes(':') ? dec.slice(0, dec.indexOf(':')) : dec;
      } else {
        info.scheme = 'other';
      }
    }
    info.valid = key === cfg.apiKey;
    return { info, key };
  }

  function authError(key, present) {
    if (!present || !key) {
      return invalid('You did not provide an API key. You need to provide your API key in the ' +
        "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). " +
        'See https://stripe.com/docs/api#authentication for details, or we can help at ' +
        'https://support.stripe.com/.', undefined, undefined, 401);
    }
    const masked = key.length > 12 ? `${key.slice(0, 8)}${'*'.repeat(Math.max(4, key.length - 12))}${key.slice(-4)}` : '****';
    return invalid(`Invalid API Key provided: ${masked}`, undefined, undefined, 401);
  }

  function sortedJson(v) {
    if (Array.isArray(v)) return `[${v.map(sortedJson).join(',')}]`;
    if (isHash(v)) {
      return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${sortedJson(v[k])}`).join(',')}}`;
    }
    return JSON.stringify(v);
  }

  // returns {status, body, headers?, saved?}
  function handleApi(req, rec) {
    const { info, key } = checkAuth(req);
    rec.authorization = info;
    if (!info.valid) throw authError(key, info.present);

    let params = Object.create(null);
    if (req.query) params = parseForm(req.query);
    if (req.method === 'POST' && req.raw.length > 0) {
      const ct = (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
      if (ct !== 'application/x-www-form-urlencoded') {
        throw invalid('Invalid request (check that your POST content type is ' +
          'application/x-www-form-urlencoded). If you have any questions, we can help at ' +
          'https://support.stripe.com/.');
      }
      const body = parseForm(req.raw);
      for (const k of Object.keys(body)) params[k] = body[k];
    }
    rec.form = params;

    const pathOnly = req.path;
    const candidates = API_ROUTES.filter((r) => r[1].test(pathOnly));
    const route = candidates.find((r) => r[0] === req.method);
    if (!route) {
      throw invalid(`Unrecognized request URL (${req.method}: ${pathOnly}). Please see ` +
        'https://stripe.com/docs or we can help at https://support.stripe.com/.', undefined, undefined, 404);
    }

    const idemKey = req.method === 'POST' ? req.headers['idempotency-key'] : undefined;
    const canon = sortedJson(params);
    if (idemKey !== undefined) {
      if (idemKey.length > 255) {
        throw invalid('Idempotency keys can be no longer than 255 characters.', undefined);
      }
      const saved = st.idem.get(idemKey);
      if (saved) {
        if (saved.path !== pathOnly) {
          throw new StripeError(400, { type: 'idempotency_error', message:
            `Keys for idempotent requests can only be used for the same endpoint they were first used for ` +
            `('${pathOnly}' vs '${saved.path}'). Try using a key other than '${idemKey}' if you meant to ` +
            'execute a different request.' });
        }
        if (saved.params !== canon) {
          throw new StripeError(400, { type: 'idempotency_error', message:
            'Keys for idempotent requests can only be used with the same parameters they were first used ' +
            `with. Try using a key other than '${idemKey}' if you meant to execute a different request.` });
        }
        rec.replayed = true;
        return { status: saved.status, body: saved.body, headers: { 'Idempotent-Replayed': 'true',
          'Original-Request': saved.requestId } };
      }
    }
    const valid = validate(route[2], params, '');
    const result = route[3](valid, route[1].exec(pathOnly), req);
    // Stripe saves the result of a request that began to execute (not of one
    // that failed validation): here, a 2xx or a card error
    if (idemKey !== undefined && (result.status < 300 || result.status === 402)) {
      st.idem.set(idemKey, { path: pathOnly, params: canon, status: result.status,
        body: result.body, requestId: req.requestId });
    }
    return result;
  }

  // ------------------------------------------------------------ webhooks

  function makeEvent(type, object, { previous_attributes, req, id } = {}) {
    const data = { object: clone(object) };
    if (previous_attributes) data.previous_attributes = previous_attributes;
    return put({
      id: id || newId('evt_'), object: 'event', api_version: cfg.apiVersion, created: now(), data,
      livemode: false, pending_webhooks: cfg.webhookUrl ? 1 : 0,
      request: { id: req?.requestId ?? null, idempotency_key: req?.headers?.['idempotency-key'] ?? null },
      type,
    });
  }

  function deliver(event, opts = {}) {
    const url = opts.webhook_url || cfg.webhookUrl;
    const payload = JSON.stringify(event, null, 2);
    const timestamp = opts.timestamp ?? now();
    const secret = opts.secret || cfg.webhookSecret;
    const signature = opts.signature ?? Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
    const entry = st.events.find((e) => e.event.id === event.id);
    const delivery = { at: new Date().toISOString(), url, timestamp, signature, status: null, body: null,
      error: null, duration_ms: null };
    if (entry) entry.deliveries.push(delivery);
    if (!url) {
      delivery.error = 'no webhook URL is configured';
      return Promise.resolve(delivery);
    }
    const started = Date.now();
    return new Promise((resolve) => {
      let target;
      try { target = new URL(url); } catch {
        delivery.error = `bad webhook URL: ${url}`;
        resolve(delivery);
        return;
      }
      const lib = target.protocol === 'https:' ? https : http;
      const r = lib.request(target, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json; charset=utf-8',
          'Content-Length': Buffer.byteLength(payload),
          'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
          Accept: '*/*; q=0.5, application/xml',
          'Cache-Control': 'no-cache',
          'Stripe-Signature': signature,
        },
        timeout: cfg.webhookTimeoutMs,
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          delivery.status = res.statusCode;
          delivery.body = Buffer.concat(chunks).toString('utf8');
          delivery.duration_ms = Date.now() - started;
          log('webhook', event.type, event.id, '->', res.statusCode);
          resolve(delivery);
        });
        res.on('error', (e) => { delivery.error = e.message; resolve(delivery); });
      });
      r.on('timeout', () => r.destroy(new Error(`timed out after ${cfg.webhookTimeoutMs} ms`)));
      r.on('error', (e) => {
        delivery.error = e.message;
        delivery.duration_ms = Date.now() - started;
        log('webhook', event.type, event.id, 'failed:', e.message);
        resolve(delivery);
      });
      r.end(payload);
    });
  }

  async function emit(type, object, opts = {}, req) {
    const event = makeEvent(type, object, { previous_attributes: opts.previous_attributes, req,
      id: opts.id });
    st.events.push({ event, deliveries: [] });
    const d = await deliver(event, opts);
    return { event_id: event.id, type, status: d.status, body: d.body, error: d.error };
  }

  // ------------------------------------------------------------ control API

  class ControlError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }
  const bad = (m) => new ControlError(400, m);

  function sessionFor(id, { open = true } = {}) {
    const s = get(id, 'checkout.session');
    if (!s) throw new ControlError(404, `no Checkout Session ${id}`);
    if (open && s.status !== 'open') throw new ControlError(409, `Checkout Session ${id} is ${s.status}`);
    return s;
  }

  // the event types a control call is to send: b.events if given, checked
  // against what the call can send before it changes anything
  function eventTypes(b, possible, defaults) {
    if (b.events === undefined) return defaults;
    if (!Array.isArray(b.events) || b.events.some((t) => !possible.includes(t))) {
      throw bad(`events must be a list of: ${possible.join(', ')}`);
    }
    return b.events;
  }

  async function sendEvents(types, available, b) {
    const out = [];
    for (const t of types) {
      if (!available[t]) {
        throw bad(`cannot send ${t} here; one of: ${Object.keys(available).join(', ')}`);
      }
    }
    for (const t of types) {
      const [obj, prev] = available[t]();
      out.push(await emit(t, obj, { previous_attributes: prev, timestamp: b.timestamp, secret: b.secret,
        signature: b.signature }));
    }
    return out;
  }

  function completeSession(s, b) {
    const customer = s.customer ? get(s.customer, 'customer') : null;
    const email = b.email || s.customer_email || customer?.email || 'customer@example.com';
    const pm = makePaymentMethod({ card: b.card || 'visa', email, name: b.name ?? null });
    s.customer_details = { address: { city: null, country: 'US', line1: null, line2: null,
      postal_code: '42424', state: null }, email, name: b.name ?? null, phone: null,
    tax_exempt: 'none', tax_ids: [] };
    s.status = 'complete';
    s.url = null;
    const made = { payment_method: pm };
    if (s.mode === 'payment') {
      if (b.amount_total !== undefined) {
        if (!Number.isSafeInteger(b.amount_total)) throw bad('amount_total must be an integer');
        s.amount_total = b.amount_total;
        s.amount_subtotal = b.amount_total;
      }
      if (b.currency !== undefined) s.currency = String(b.currency).toLowerCase();
      const pd = s._pi_data || {};
      const pi = makePaymentIntent({ amount: s.amount_total, currency: s.currency, customer: s.customer,
        description: pd.description, metadata: clone(pd.metadata) || {},
        setup_future_usage: pd.setup_future_usage, payment_method: pm.id });
      const ch = succeedPayment(pi, pm);
      if (pd.setup_future_usage && s.customer) pm.customer = s.customer;
      s.payment_intent = pi.id;
      s.payment_status = b.payment_status || 'paid';
      made.payment_intent = pi;
      made.charge = ch;
    } else {
      if (s.customer) pm.customer = s.customer;
      const si = makeSetupIntent({ customer: s.customer, payment_method: pm.id, status: 'succeeded',
        metadata: clone(s._si_data?.metadata) || {}, description: s._si_data?.description });
      s.setup_intent = si.id;
      made.setup_intent = si;
    }
    return made;
  }

  const CONTROL = [
    // POST /_test/checkout/:id/complete {events?, amount_total?, currency?, payment_status?,
    //   card?, email?, name?, timestamp?, secret?, signature?}
    ['POST', /^\/_test\/checkout\/([^/]+)\/complete$/, async (m, b) => {
      const s = sessionFor(m[1]);
      const types = s.mode === 'payment'
        ? eventTypes(b, ['checkout.session.completed', 'payment_intent.created', 'payment_intent.succeeded',
          'charge.succeeded'], ['checkout.session.completed', 'payment_intent.succeeded'])
        : eventTypes(b, ['checkout.session.completed', 'setup_intent.created', 'setup_intent.succeeded'],
          ['checkout.session.completed', 'setup_intent.succeeded']);
      if (b.amount_total !== undefined && !Number.isSafeInteger(b.amount_total)) {
        throw bad('amount_total must be an integer');
      }
      const made = completeSession(s, b);
      const available = { 'checkout.session.completed': () => [s] };
      if (made.payment_intent) {
        Object.assign(available, {
          'payment_intent.created': () => [made.payment_intent],
          'payment_intent.succeeded': () => [made.payment_intent],
          'charge.succeeded': () => [made.charge],
        });
      } else {
        Object.assign(available, {
          'setup_intent.created': () => [made.setup_intent],
          'setup_intent.succeeded': () => [made.setup_intent],
        });
      }
      const deliveries = await sendEvents(types, available, b);
      return { session: clone(s), payment_intent: clone(made.payment_intent) ?? null,
        setup_intent: clone(made.setup_intent) ?? null, payment_method: clone(made.payment_method),
        charge: clone(made.charge) ?? null, deliveries };
    }],
    // POST /_test/checkout/:id/fail {decline_code?, message?, events?, card?}
    ['POST', /^\/_test\/checkout\/([^/]+)\/fail$/, async (m, b) => {
      const s = sessionFor(m[1]);
      const types = s.mode === 'payment'
        ? eventTypes(b, ['payment_intent.payment_failed', 'charge.failed'], ['payment_intent.payment_failed'])
        : eventTypes(b, ['setup_intent.setup_failed'], ['setup_intent.setup_failed']);
      const pm = makePaymentMethod({ card: b.card || 'visa', email: s.customer_email });
      if (s.mode === 'payment') {
        const pd = s._pi_data || {};
        let pi = s.payment_intent ? get(s.payment_intent) : null;
        if (!pi) {
          pi = makePaymentIntent({ amount: s.amount_total, currency: s.currency, customer: s.customer,
            description: pd.description, metadata: clone(pd.metadata) || {} });
          s.payment_intent = pi.id;
        }
        const { charge } = failPayment(pi, pm, { outcome: 'decline', decline_code: b.decline_code,
          message: b.message, code: b.code });
        const deliveries = await sendEvents(types, {
          'payment_intent.payment_failed': () => [pi], 'charge.failed': () => [charge],
        }, b);
        return { session: clone(s), payment_intent: clone(pi), charge: clone(charge), deliveries };
      }
      const si = makeSetupIntent({ customer: s.customer, metadata: clone(s._si_data?.metadata) || {} });
      const code = b.code || 'card_declined';
      si.last_setup_error = { code, decline_code: b.decline_code || 'generic_decline',
        doc_url: DOCS + code.replace(/_/g, '-'),
        message: b.message || DECLINE_MESSAGES[b.decline_code] || 'Your card was declined.',
        payment_method: clone(pm), type: 'card_error' };
      s.setup_intent = si.id;
      const deliveries = await sendEvents(types,
        { 'setup_intent.setup_failed': () => [si] }, b);
      return { session: clone(s), setup_intent: clone(si), deliveries };
    }],
    // POST /_test/checkout/:id/expire {events?}
    ['POST', /^\/_test\/checkout\/([^/]+)\/expire$/, async (m, b) => {
      const s = sessionFor(m[1]);
      const types = eventTypes(b, ['checkout.session.expired'], ['checkout.session.expired']);
      s.status = 'expired';
      s.url = null;
      const deliveries = await sendEvents(types,
        { 'checkout.session.expired': () => [s] }, b);
      return { session: clone(s), deliveries };
    }],
    // POST /_test/refund {payment_intent | charge, amount?}
    ['POST', /^\/_test\/refund$/, async (m, b) => {
      const types = eventTypes(b, ['charge.refunded', 'refund.created'], ['charge.refunded']);
      let ch;
      if (b.charge) ch = get(b.charge, 'charge');
      else if (b.payment_intent) ch = get(get(b.payment_intent, 'payment_intent')?.latest_charge, 'charge');
      else throw bad('give payment_intent or charge');
      if (!ch || ch.status !== 'succeeded') throw new ControlError(404, 'no succeeded charge for that');
      const left = ch.amount - ch.amount_refunded;
      const amount = b.amount ?? left;
      if (!Number.isSafeInteger(amount) || amount < 1 || amount > left) {
        throw bad(`amount must be an integer from 1 to ${left}`);
      }
      const [refund, prev] = refundCharge(ch, amount, { reason: b.reason ?? null });
      const deliveries = await sendEvents(types, {
        'charge.refunded': () => [ch, prev],
        'refund.created': () => [refund],
      }, b);
      return { charge: clone(ch), refund: clone(refund), deliveries };
    }],
    // POST /_test/events/:id/resend {timestamp?, secret?, signature?, webhook_url?}
    ['POST', /^\/_test\/events\/([^/]+)\/resend$/, async (m, b) => {
      const e = get(m[1], 'event');
      if (!e) throw new ControlError(404, `no event ${m[1]}`);
      const d = await deliver(e, b);
      return { event_id: e.id, type: e.type, status: d.status, body: d.body, error: d.error };
    }],
    // POST /_test/send {type, object, previous_attributes?, id?, timestamp?, secret?, signature?}
    ['POST', /^\/_test\/send$/, async (m, b) => {
      if (typeof b.type !== 'string' || !isHash(b.object)) throw bad('give type (string) and object');
      const r = await emit(b.type, b.object, b);
      return { ...r, event: clone(get(r.event_id)) };
    }],
    ['GET', /^\/_test\/events$/, (m, b, q) => st.events
      .filter((e) => !q.get('type') || e.event.type === q.get('type'))
      .map((e) => ({ id: e.event.id, type: e.event.type, event: e.event, deliveries: e.deliveries }))],
    ['DELETE', /^\/_test\/events$/, () => { st.events = []; return { cleared: true }; }],
    // POST /_test/outcome {customer | payment_method, outcome, decline_code?, message?, code?,
    //   pi_status?, times?}
    ['POST', /^\/_test\/outcome$/, (m, b) => {
      const key = b.payment_method || b.customer;
      if (!key) throw bad('give customer or payment_method');
      if (!['succeed', 'decline', 'authentication_required'].includes(b.outcome)) {
        throw bad('outcome must be succeed, decline or authentication_required');
      }
      if (b.pi_status && !['requires_payment_method', 'requires_action'].includes(b.pi_status)) {
        throw bad('pi_status must be requires_payment_method or requires_action');
      }
      const o = { outcome: b.outcome };
      for (const k of ['decline_code', 'message', 'code', 'pi_status']) if (b[k]) o[k] = b[k];
      if (b.times !== undefined) o.times = b.times;
      st.outcomes.set(key, o);
      return { [b.payment_method ? 'payment_method' : 'customer']: key, ...o };
    }],
    // POST /_test/fail-next {status?: 500, count?: 1, type?, code?, message?}
    ['POST', /^\/_test\/fail-next$/, (m, b) => {
      const status = b.status ?? 500;
      const count = b.count ?? 1;
      for (let i = 0; i < count; i++) {
        st.failNext.push({ status, type: b.type, code: b.code, message: b.message });
      }
      return { queued: st.failNext.length };
    }],
    // POST /_test/hang-next {count?: 1, ms?: 25000, process?: false}
    ['POST', /^\/_test\/hang-next$/, (m, b) => {
      const count = b.count ?? 1;
      for (let i = 0; i < count; i++) st.hangNext.push({ ms: b.ms ?? DEFAULT_HANG_MS, process: !!b.process });
      return { queued: st.hangNext.length };
    }],
    ['GET', /^\/_test\/requests$/, (m, b, q) => st.requests.filter((r) =>
      (!q.get('method') || r.method === q.get('method').toUpperCase()) &&
      (!q.get('path') || r.path === q.get('path') || (q.get('path').endsWith('*') &&
        r.path.startsWith(q.get('path').slice(0, -1)))))],
    ['DELETE', /^\/_test\/requests$/, () => { st.requests = []; return { cleared: true }; }],
    ['GET', /^\/_test\/objects\/([^/]+)$/, (m) => {
      const o = st.objects.get(m[1]);
      if (!o) throw new ControlError(404, `no object ${m[1]}`);
      return o;
    }],
    // POST /_test/config {webhook_url?, webhook_secret?, api_version?, auto_events?}
    ['POST', /^\/_test\/config$/, (m, b) => {
      if (b.webhook_url !== undefined) cfg.webhookUrl = b.webhook_url || null;
      if (b.webhook_secret !== undefined) cfg.webhookSecret = b.webhook_secret;
      if (b.api_version !== undefined) cfg.apiVersion = b.api_version;
      if (b.auto_events !== undefined) cfg.autoEvents = !!b.auto_events;
      return publicConfig();
    }],
    ['GET', /^\/_test\/config$/, () => publicConfig()],
    // POST /_test/reset: forget every object, request, event, outcome and fault
    ['POST', /^\/_test\/reset$/, () => { resetState(); return { reset: true }; }],
  ];

  function publicConfig() {
    return { webhook_url: cfg.webhookUrl, webhook_secret: cfg.webhookSecret, api_version: cfg.apiVersion,
      auto_events: cfg.autoEvents, base_url: baseUrl() };
  }

  // ------------------------------------------------------------ checkout page

  const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;',
    '"': '&quot;', "'": '&#39;' }[c]));

  function checkoutPage(s) {
    const items = st.lineItems.get(s.id) || [];
    const rows = items.map((li) => `<tr><td>${esc(li.description)}</td><td>${li.quantity}</td>` +
      `<td>${esc(fmtAmount(li.amount_total, li.currency))}</td></tr>`).join('');
    const body = s.status !== 'open'
      ? `<p>This Checkout Session is ${esc(s.status)}.</p>`
      : `${s.mode === 'payment'
        ? `<table><tr><th>Item</th><th>Qty</th><th>Amount</th></tr>${rows}</table>
<p>Total: <b>${esc(fmtAmount(s.amount_total, s.currency))}</b></p>`
        : '<p>Save a card for later payments.</p>'}
<form method="post" action="/checkout/${esc(s.id)}/pay"><button type="submit">${s.mode === 'payment'
  ? 'Pay' : 'Save card'} (test card 4242)</button></form>
${s.cancel_url ? `<p><a href="/checkout/${esc(s.id)}/cancel">Cancel</a></p>` : ''}`;
    return `<!doctype html>
<html><head><meta charset="utf-8"><title>Stripe stand-in checkout</title></head>
<body><h1>Stripe stand-in checkout</h1><p>Session <code>${esc(s.id)}</code> (${esc(s.mode)})</p>
${body}</body></html>
`;
  }

  // ------------------------------------------------------------ HTTP

  function send(res, status, body, headers = {}) {
    if (res.headersSent || res.destroyed) return;
    const text = typeof body === 'string' ? body : JSON.stringify(body, null, 2);
    res.writeHead(status, {
      'Content-Type': typeof body === 'string' ? 'text/html; charset=utf-8' : 'application/json',
      'Content-Length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  async function onRequest(req, res) {
    const url = new URL(req.url, 'http://localhost');
    req.path = url.pathname;
    req.query = url.search.length > 1 ? url.search.slice(1) : '';
    req.after = [];
    const chunks = [];
    let size = 0;
    try {
      for await (const c of req) {
        size += c.length;
        if (size > MAX_BODY) {
          send(res, 413, errorBody({ type: 'invalid_request_error', message: 'Request too large.' }));
          req.destroy();
          return;
        }
        chunks.push(c);
      }
    } catch {
      return;
    }
    req.raw = Buffer.concat(chunks).toString('utf8');

    if (req.path.startsWith('/v1/')) return onApi(req, res);
    if (req.path.startsWith('/_test/')) return onControl(req, res, url);
    const m = /^\/checkout\/([^/]+)(\/pay|\/cancel)?$/.exec(req.path);
    if (m) {
      const s = get(m[1], 'checkout.session');
      if (!s) return send(res, 404, '<!doctype html><p>No such Checkout Session.</p>\n');
      if (!m[2] && req.method === 'GET') return send(res, 200, checkoutPage(s));
      if (m[2] === '/pay' && req.method === 'POST' && s.status === 'open') {
        const made = completeSession(s, {});
        const types = ['checkout.session.completed', made.payment_intent ? 'payment_intent.succeeded'
          : 'setup_intent.succeeded'];
        for (const t of types) {
          await emit(t, t.startsWith('checkout') ? s : made.payment_intent || made.setup_intent);
        }
        const to = (s.success_url || '').replace('{CHECKOUT_SESSION_ID}', s.id);
        if (!to) return send(res, 200, '<!doctype html><p>Paid.</p>\n');
        res.writeHead(303, { Location: to });
        return res.end();
      }
      if (m[2] === '/cancel' && req.method === 'GET' && s.cancel_url) {
        res.writeHead(303, { Location: s.cancel_url });
        return res.end();
      }
      return send(res, 409, '<!doctype html><p>This Checkout Session is not open.</p>\n');
    }
    send(res, 404, errorBody({ type: 'invalid_request_error', message:
      `Unrecognized request URL (${req.method}: ${req.path}). Please see https://stripe.com/docs or we can ` +
      'help at https://support.stripe.com/.' }));
  }

  function recordOf(req) {
    const headers = { ...req.headers };
    delete headers.authorization;
    return {
      seq: ++st.seq, at: new Date().toISOString(), request_id: req.requestId,
      method: req.method, path: req.path, query: req.query, headers,
      idempotency_key: req.headers['idempotency-key'] ?? null,
      stripe_version: req.headers['stripe-version'] ?? null,
      content_type: req.headers['content-type'] ?? null,
      authorization: { present: !!req.headers.authorization, scheme: null, valid: false },
      form: null, raw: req.raw, status: null, replayed: false, injected: null,
    };
  }

  async function onApi(req, res) {
    req.requestId = newId('req_');
    const rec = recordOf(req);
    st.requests.push(rec);
    const headers = { 'Request-Id': req.requestId,
      'Stripe-Version': req.headers['stripe-version'] || cfg.apiVersion,
      'Access-Control-Allow-Origin': '*' };
    if (req.headers['idempotency-key'] !== undefined && req.method === 'POST') {
      headers['Idempotency-Key'] = req.headers['idempotency-key'];
    }
    const finish = (status, body, extra = {}) => {
      rec.status = status;
      rec.response = body;
      log(req.method, req.path, status);
      send(res, status, body, { ...headers, ...extra });
      for (const f of req.after) setImmediate(f);
    };

    const fail = st.failNext.shift();
    if (fail) {
      rec.injected = 'fail';
      const is429 = fail.status === 429;
      const f = { type: fail.type || (is429 ? 'invalid_request_error' : 'api_error'),
        code: fail.code || (is429 ? 'rate_limit' : undefined),
        message: fail.message || (is429
          ? 'Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.'
          : 'An unknown error occurred while processing your request. Please try again.') };
      return finish(fail.status, errorBody(f), is429 ? {} : { 'Stripe-Should-Retry': 'true' });
    }
    const hang = st.hangNext.shift();
    if (hang) {
      rec.injected = hang.process ? 'hang-after-processing' : 'hang';
      if (hang.process) {
        // do the work (and save it under the Idempotency-Key), then lose the answer
        try { const r = handleApi(req, rec); rec.status = r.status; rec.response = r.body; } catch (e) {
          if (!(e instanceof StripeError)) throw e;
          rec.status = e.status;
        }
        for (const f of req.after) setImmediate(f);
      }
      const t = setTimeout(() => { hung.delete(t); res.destroy(); }, hang.ms);
      hung.add(t);
      return undefined;
    }

    try {
      const r = handleApi(req, rec);
      return finish(r.status, r.body, r.headers || {});
    } catch (e) {
      if (e instanceof StripeError) {
        const extra = e.status === 401 ? { 'WWW-Authenticate': 'Basic realm="Stripe"' } : {};
        return finish(e.status, errorBody(e.fields), extra);
      }
      process.stderr.write(`stripe stand-in: ${e.stack}\n`);
      return finish(500, errorBody({ type: 'api_error', message: `stand-in bug: ${e.message}` }));
    }
  }

  async function onControl(req, res, url) {
    const route = CONTROL.find((r) => r[0] === req.method && r[1].test(req.path));
    if (!route) return send(res, 404, { error: `no control route ${req.method} ${req.path}` });
    let b = {};
    if (req.raw.trim()) {
      try { b = JSON.parse(req.raw); } catch { return send(res, 400, { error: 'the body must be JSON' }); }
      if (!isHash(b)) return send(res, 400, { error: 'the body must be a JSON object' });
    }
    try {
      const out = await route[2](route[1].exec(req.path), b, url.searchParams);
      return send(res, 200, out);
    } catch (e) {
      if (e instanceof ControlError) return send(res, e.status, { error: e.message });
      if (e instanceof StripeError) return send(res, e.status, errorBody(e.fields));
      process.stderr.write(`stripe stand-in: ${e.stack}\n`);
      return send(res, 500, { error: e.message });
    }
  }

  const server = http.createServer((req, res) => {
    onRequest(req, res).catch((e) => {
      process.stderr.write(`stripe stand-in: ${e.stack}\n`);
      send(res, 500, { error: e.message });
    });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });

  return {
    server,
    config: cfg,
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => { server.off('error', reject); resolve(server.address().port); });
      });
    },
    close() {
      for (const t of hung) clearTimeout(t);
      hung.clear();
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

// ---------------------------------------------------------------- command line

const USAGE = `usage: node tests/standins/stripe.mjs --port PORT --api-key sk_test_X
         [--webhook-url URL] [--webhook-secret whsec_Y] [--host 127.0.0.1]
         [--api-version ${DEFAULT_API_VERSION}] [--public-url URL] [--auto-events] [--log]
Each option may also be given as an environment variable: STRIPE_STANDIN_PORT,
STRIPE_STANDIN_API_KEY, STRIPE_STANDIN_WEBHOOK_URL, STRIPE_STANDIN_WEBHOOK_SECRET,
STRIPE_STANDIN_HOST, STRIPE_STANDIN_API_VERSION, STRIPE_STANDIN_PUBLIC_URL,
STRIPE_STANDIN_AUTO_EVENTS=1, STRIPE_STANDIN_LOG=1.  Options win over the environment.
`;

export function parseArgs(argv, env) {
  const opts = {
    port: env.STRIPE_STANDIN_PORT, apiKey: env.STRIPE_STANDIN_API_KEY,
    webhookUrl: env.STRIPE_STANDIN_WEBHOOK_URL, webhookSecret: env.STRIPE_STANDIN_WEBHOOK_SECRET,
    host: env.STRIPE_STANDIN_HOST, apiVersion: env.STRIPE_STANDIN_API_VERSION,
    publicUrl: env.STRIPE_STANDIN_PUBLIC_URL,
    autoEvents: /^(1|true|yes)$/i.test(env.STRIPE_STANDIN_AUTO_EVENTS || ''),
    log: /^(1|true|yes)$/i.test(env.STRIPE_STANDIN_LOG || ''),
  };
  const names = { '--port': 'port', '--api-key': 'apiKey', '--webhook-url': 'webhookUrl',
    '--webhook-secret': 'webhookSecret', '--host': 'host', '--api-version': 'apiVersion',
    '--public-url': 'publicUrl' };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let v;
    if (a.includes('=')) [a, v] = [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)];
    if (a === '--help' || a === '-h') return { help: true };
    if (a === '--auto-events') { opts.autoEvents = true; continue; }
    if (a === '--log') { opts.log = true; continue; }
    if (!names[a]) throw new Error(`unknown option ${a}`);
    if (v === undefined) {
      v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
    }
    opts[names[a]] = v;
  }
  if (opts.port === undefined || opts.port === '') throw new Error('--port is required');
  if (!/^\d+$/.test(String(opts.port)) || Number(opts.port) > 65535) throw new Error(`bad port ${opts.port}`);
  opts.port = Number(opts.port);
  if (!opts.apiKey) throw new Error('--api-key is required');
  return opts;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2), process.env);
  } catch (e) {
    process.stderr.write(`stripe stand-in: ${e.message}\n${USAGE}`);
    process.exit(2);
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (!opts.webhookSecret) {
    opts.webhookSecret = 'whsec_' + crypto.randomBytes(24).toString('hex');
    process.stderr.write(`stripe stand-in: no --webhook-secret given; signing with ${opts.webhookSecret}\n`);
  }
  const standin = createStandin(opts);
  let port;
  try {
    port = await standin.listen(opts.port, opts.host || '127.0.0.1');
  } catch (e) {
    process.stderr.write(`stripe stand-in: cannot listen on ${opts.port}: ${e.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`stripe stand-in listening on ${port}\n`);
  const stop = () => { standin.close().then(() => process.exit(0)); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main();
}
