// Invoice documents: GET /invoices/{id}/document is the user's own invoice
// as a printable HTML page (seller from [seller], buyer, number, dates,
// lines, discounts, total, status and payment method), in the account's
// language, every value escaped, under a CSP that lets nothing run; and
// invoice numbers stay gap-free and sequential per account when many
// invoices of one account are created at once.
import test from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  call, token, newUser, fund, sql, sqlStr, parkSubs, runScheduler, startStack,
} from './lib.mjs';

const PRO = 'pro';
const emailOf = (user) => `${user}@example.com`;
const as = (user, claims = {}) => token({ sub: user, email: emailOf(user), ...claims });
const year = () => new Date().getUTCFullYear();

function park(...users) {
  const list = users.map(sqlStr).join(', ');
  parkSubs(`a.user_id IN (${list})`);
  sql(`DELETE it FROM invoice_items it JOIN accounts a ON a.id = it.account_id
    WHERE a.user_id IN (${list}) AND it.invoice_id IS NULL`);
  sql(`UPDATE invoices i JOIN accounts a ON a.id = i.account_id SET i.cascade_done = 1 WHERE a.user_id IN (${list})`);
  sql(`UPDATE accounts SET billing_anchor = NULL WHERE user_id IN (${list})`);
}

async function activate(user, claims) {
  const r = await call('POST', `/subscriptions/${PRO}/activate`, { token: as(user, claims), body: { interval: 'monthly' } });
  assert.equal(r.status, 201, r.text);
  return r.body.invoice;
}

const doc = (user, id, { claims, query = '' } = {}) => call('GET', `/invoices/${id}/document${query}`,
  { token: user ? as(user, claims) : undefined });

function assertPage(r) {
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /^text\/html; charset=utf-8$/);
  const csp = r.headers.get('content-security-policy');
  assert.ok(csp, 'a Content-Security-Policy');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /style-src 'sha256-[A-Za-z0-9+/=]+'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|script-src/);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(r.headers.get('cache-control'), 'no-store');
  // The style the page carries is the one the policy allows.
  const style = r.text.match(/<style>([^<]*)<\/style>/)[1];
  const hash = crypto.createHash('sha256').update(style).digest('base64');
  assert.ok(csp.includes(`'sha256-${hash}'`), 'the CSP hash matches the inline style');
  assert.match(style, /@page\{size:A4;margin:/);
  assert.doesNotMatch(r.text, /<script/i);
  return r.text;
}

test('the document of a pending invoice: seller, buyer, number, dates, lines, total, status', async (t) => {
  const user = newUser('doc-pend');
  t.after(() => park(user));
  const inv = await activate(user);
  const html = assertPage(await doc(user, inv.id));
  assert.match(html, /<html lang="en">/);
  assert.match(html, /<title>Invoice TLY-\d{4}-000001<\/title>/);
  assert.ok(html.includes('Example Billing Ltd'), 'seller name from [seller]');
  assert.ok(html.includes('<p>1 Example Street</p><p>12345 Example City</p><p>Germany</p>'), 'address lines');
  assert.ok(html.includes('billing@example.com'));
  assert.ok(html.includes(emailOf(user)), 'buyer email');
  assert.ok(html.includes(`Customer ID: ${user}`), 'buyer id');
  assert.ok(html.includes(inv.number));
  assert.match(html, /<dt>Issued<\/dt><dd>\d{1,2} [A-Z][a-z]+ \d{4}<\/dd>/);
  assert.match(html, /<dt>Due<\/dt><dd>/);
  assert.match(html, /<dt>Period<\/dt><dd>[^<]+ to [^<]+<\/dd>/);
  assert.match(html, /<dt>Status<\/dt><dd>Pending<\/dd>/);
  assert.doesNotMatch(html, /Paid on|Payment method/);
  assert.ok(html.includes(inv.items[0].description));
  assert.ok(html.includes('29.00\u00a0EUR'), 'line and total');
});

test('paid: status, date and method; German by the account locale or ?lang', async (t) => {
  const user = newUser('doc-paid');
  t.after(() => park(user));
  const inv = await activate(user, { locale: 'de' });
  await fund(user, 2900);
  const p = await call('POST', `/invoices/${inv.id}/pay`, { token: as(user, { locale: 'de' }), body: { method: 'credits' } });
  assert.equal(p.status, 200, p.text);
  const de = assertPage(await doc(user, inv.id, { claims: { locale: 'de' } }));
  assert.match(de, /<html lang="de">/);
  assert.match(de, /<h1>Rechnung<\/h1>/);
  assert.match(de, /<dt>Status<\/dt><dd>Bezahlt<\/dd>/);
  assert.match(de, /<dt>Bezahlt am<\/dt><dd>\d{1,2}\. [A-ZÄÖÜa-zäöü]+ \d{4}<\/dd>/);
  assert.match(de, /<dt>Zahlungsart<\/dt><dd>Guthaben<\/dd>/);
  assert.ok(de.includes('29,00\u00a0EUR'));
  const en = assertPage(await doc(user, inv.id, { claims: { locale: 'de' }, query: '?lang=en' }));
  assert.match(en, /<dt>Status<\/dt><dd>Paid<\/dd>/);
  assert.match(en, /<dt>Payment method<\/dt><dd>Credits<\/dd>/);
  assert.match(en, /Thank you\. This invoice is paid\./);

  // Marked paid by an operator: the method says so.
  const other = newUser('doc-manual');
  t.after(() => park(other));
  const inv2 = await activate(other);
  const m = await call('POST', `/admin/invoices/${inv2.id}/mark-paid`, { admin: true, body: { actor: 'ops', reference: 'wire 7' } });
  assert.equal(m.status, 200, m.text);
  assert.match(assertPage(await doc(other, inv2.id)), /<dt>Payment method<\/dt><dd>Recorded by hand<\/dd>/);
});

test('only the owner: another user\'s invoice and unknown ids are 404; no token is 401; the token may be a query parameter', async (t) => {
  const user = newUser('doc-own');
  const other = newUser('doc-other');
  t.after(() => park(user, other));
  const inv = await activate(user);
  const r = await doc(other, inv.id);
  assert.equal(r.status, 404);
  assert.equal(r.body.error, 'not_found');
  assert.equal((await doc(user, 999999999)).status, 404);
  assert.equal((await doc(user, 'abc')).status, 404);
  assert.equal((await doc(null, inv.id)).status, 401);
  // ?access_token= (RFC 6750): what a link from the billing page carries.
  const q = await call('GET', `/invoices/${inv.id}/document?access_token=${encodeURIComponent(as(user))}`);
  assertPage(q);
  const bad = await call('GET', `/invoices/${inv.id}/document?access_token=${encodeURIComponent(as(user).slice(0, -3))}xyz`);
  assert.equal(bad.status, 401);
  const otherQ = await call('GET', `/invoices/${inv.id}/document?access_token=${encodeURIComponent(as(other))}`);
  assert.equal(otherQ.status, 404);
  // Other routes take no token from the query.
  const json = await call('GET', `/invoices/${inv.id}?access_token=${encodeURIComponent(as(user))}`);
  assert.equal(json.status, 401);
});

test('HTML injection: a line with <script> renders as text; a discount shows as its own line', async (t) => {
  const user = newUser('doc-xss');
  t.after(() => park(user));
  assert.equal((await call('GET', '/credits/balance', { token: as(user) })).status, 200);
  const c = await call('POST', '/admin/coupons', { admin: true,
    body: { code: `DOC-${crypto.randomBytes(3).toString('hex')}`, percent_off: 10, duration: 'forever', actor: 'tests' } });
  assert.equal(c.status, 201, c.text);
  assert.equal((await call('POST', '/coupons/apply', { token: as(user), body: { code: c.body.code, plans: true } })).status, 201);
  const evil = '<script>alert(1)</script><img src=x onerror=alert(2)>"\'&';
  const a = await call('POST', '/internal/activity', { service: true,
    body: { user_id: user, type: 'create', resource_id: evil, plan: 'relay_basic', at: '2037-06-01T00:00:00Z' } });
  assert.equal(a.status, 202, a.text);
  await runScheduler('2037-06-01T00:05:00Z');
  const [[id]] = sql(`SELECT i.id FROM invoices i JOIN accounts a ON a.id = i.account_id WHERE a.user_id = ${sqlStr(user)}`);
  const html = assertPage(await doc(user, id));
  assert.doesNotMatch(html, /<script|<img/i);
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&quot;&#39;&amp;'), 'escaped, shown as text');
  assert.match(html, /<tr class="discount"><td>Coupon DOC-[0-9A-F]+: 10% off/);
  assert.ok(html.includes('-0.50\u00a0EUR'), 'the discount line');
  assert.ok(html.includes('4.50\u00a0EUR'), 'the total after it');
});

test('invoice numbers: 12 invoices of one account created at once are numbered 1..12, no gap, no repeat', async () => {
  const N = 12;
  const set = {};
  for (let i = 1; i <= N; i++) {
    set[`product.p${i}.name`] = `Product ${i}`;
    set[`product.p${i}.billing`] = 'invoice';
    set[`product.p${i}.monthly`] = String(100 + i);
  }
  const stack = await startStack({ name: 'numbers', set });
  try {
    const user = newUser('doc-num');
    const tok = as(user);
    assert.equal((await call('GET', `${stack.api}/credits/balance`, { token: tok })).status, 200);
    const res = await Promise.all(Array.from({ length: N }, (_, i) => call('POST',
      `${stack.api}/subscriptions/p${i + 1}/activate`, { token: tok, body: { interval: 'monthly' } })));
    for (const r of res) assert.equal(r.status, 201, r.text);
    const numbers = res.map((r) => r.body.invoice.number).sort();
    assert.deepEqual(numbers, Array.from({ length: N }, (_, i) => `TLY-${year()}-${String(i + 1).padStart(6, '0')}`));
    const rows = sql(`SELECT i.seq FROM invoices i JOIN accounts a ON a.id = i.account_id WHERE a.user_id = ${sqlStr(user)} ORDER BY i.seq`);
    assert.deepEqual(rows.map((r) => Number(r[0])), Array.from({ length: N }, (_, i) => i + 1));
    assert.equal(Number(sql(`SELECT invoice_seq FROM accounts WHERE user_id = ${sqlStr(user)}`)[0][0]), N);
    parkSubs(`a.user_id = ${sqlStr(user)}`);
  } finally {
    stack.stop();
  }
});
