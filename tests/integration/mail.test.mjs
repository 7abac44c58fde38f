// The email outbox: a pause queues one notice in the same transaction,
// the scheduler delivers it over SMTP to the sink (aiosmtpd writing a
// Maildir), once, in the account's language, with retries when the SMTP
// server is down.
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  URL_BASE, call, token, newUser, fund, sql, sqlStr, subRow, setSubPeriod, parkSubs, runScheduler,
  mailbox, smtpStop, smtpStart, smtpUp,
} from './lib.mjs';

const PRODUCT = 'cloud_sync';
const BILLING_URL = `${URL_BASE}/`;
const as = (user, claims = {}) => token({ sub: user, ...claims });

// A subscriber with `left` credits after the first month, whose token
// carries `claims` (email, locale); the subscription is moved so that its
// period runs from `start` for a month.
async function subscriber(claims, { left = 10, start, prefix = 'mail' } = {}) {
  const user = newUser(prefix);
  const c = typeof claims === 'function' ? claims(user) : claims;
  await fund(user, 30 + left);
  const r = await call('POST', `/subscriptions/${PRODUCT}/activate`, { token: as(user, c), body: { interval: 'monthly' } });
  assert.equal(r.status, 200, r.text);
  if (start) setSubPeriod(user, start);
  return { user, email: c.email, id: subRow(user).id };
}
function outboxRows(subId) {
  const cols = ['status', 'attempts', 'recipient', 'locale', 'template', 'last_error', 'next_attempt_at', 'sent_at', 'params'];
  return sql(`SELECT ${cols.join(', ')} FROM outbox WHERE dedupe_key LIKE ${sqlStr(`paused:sub:${subId}:%`)} ORDER BY id`)
    .map((r) => Object.fromEntries(cols.map((c, i) => [c, r[i] === 'NULL' ? null : r[i]])));
}
const withEmail = (extra = {}) => (user) => ({ email: `${user}@example.com`, ...extra });
const dbTime = (iso) => iso.replace('T', ' ').replace('Z', '');

test('a pause sends exactly one email, to the account address, however often the scheduler runs', async (t) => {
  const s = await subscriber(withEmail(), { start: '2025-06-01T09:00:00Z' });
  t.after(() => parkSubs(`a.user_id = ${sqlStr(s.user)}`));
  assert.equal(mailbox(s.email).length, 0);

  const r = await runScheduler('2025-07-01T09:00:05Z');
  assert.equal(subRow(s.user).status, 'paused');
  assert.ok(r.jobs['deliver-mail']?.sent >= 1, JSON.stringify(r.jobs['deliver-mail']));
  let msgs = mailbox(s.email);
  assert.equal(msgs.length, 1, 'one message at the SMTP server');
  const m = msgs[0];
  assert.equal(m.to, s.email);
  assert.equal(m.headers['x-rcptto'], s.email, 'the envelope recipient');
  assert.equal(m.headers.from, 'billing@example.com');
  assert.ok(m.headers.date && m.headers['message-id'], 'Date and Message-ID');
  assert.match(m.headers['content-type'], /^text\/plain; charset=utf-8$/i);
  assert.equal(m.headers['content-transfer-encoding'].toLowerCase(), 'base64');
  assert.match(m.subject, /Cloud Sync/);
  assert.match(m.subject, /paused/i);
  assert.ok(m.body.includes(BILLING_URL), `the billing page link ${BILLING_URL} in:\n${m.body}`);
  assert.match(m.body, /\b30 credits\b/, 'the price');
  assert.match(m.body, /\bholds 10\b/, 'the balance');
  assert.match(m.body, /monthly/);
  assert.match(m.body, /2025-07-01/, 'the end of the last period');
  assert.ok(!m.body.includes('{{'), 'every placeholder filled');

  const rows = outboxRows(s.id);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].status, 'sent');
  assert.equal(rows[0].attempts, '1');
  assert.equal(rows[0].recipient, s.email);
  assert.equal(rows[0].locale, 'en');
  assert.equal(rows[0].sent_at, '2025-07-01 09:00:05');

  // Three more runs: at the same time, later, and now.
  await runScheduler('2025-07-01T09:00:05Z');
  await runScheduler('2025-07-02T00:00:00Z');
  await runScheduler();
  assert.equal(mailbox(s.email).length, 1, 'still one message');
  assert.equal(outboxRows(s.id).length, 1);

  // Topped up, reactivated, paused again in a later period: a new notice.
  await fund(s.user, 30);
  const a = await call('POST', `/subscriptions/${PRODUCT}/activate`, { token: as(s.user), body: { interval: 'monthly' } });
  assert.equal(a.status, 200, a.text);
  setSubPeriod(s.user, '2025-08-01T09:00:00Z');
  await runScheduler('2025-09-01T09:00:05Z');
  assert.equal(subRow(s.user).status, 'paused');
  msgs = mailbox(s.email);
  assert.equal(msgs.length, 2, 'one notice per pause');
  assert.ok(msgs.some((x) => /2025-09-01/.test(x.body)));
});

test('the account language picks the template: de (and de-AT) in German, others in English', async (t) => {
  const start = '2025-05-03T07:00:00Z';
  const de = await subscriber(withEmail({ locale: 'de' }), { start });
  const deAT = await subscriber(withEmail({ locale: 'de-AT' }), { start });
  const fr = await subscriber(withEmail({ locale: 'fr' }), { start });
  t.after(() => parkSubs(`a.user_id IN (${[de, deAT, fr].map((x) => sqlStr(x.user)).join(', ')})`));
  await runScheduler('2025-06-03T07:00:05Z');

  for (const s of [de, deAT]) {
    const msgs = mailbox(s.email);
    assert.equal(msgs.length, 1, s.email);
    const m = msgs[0];
    assert.equal(m.subject, 'Cloud Sync pausiert: nicht genug Credits');
    assert.ok(m.body.includes('konnte nicht verlängert werden'), `German, UTF-8 intact:\n${m.body}`);
    assert.match(m.body, /kostet 30 Credits/);
    assert.match(m.body, /Guthaben beträgt\s+10 Credits/);
    assert.ok(m.body.includes(BILLING_URL));
    assert.match(m.body, /2025-06-03/);
    assert.equal(outboxRows(s.id)[0].locale, 'de');
  }
  const m = mailbox(fr.email);
  assert.equal(m.length, 1);
  assert.match(m[0].subject, /^Cloud Sync is paused/);
  assert.equal(outboxRows(fr.id)[0].locale, 'en');
});

test('a user without an email address gets no message, and the pause still happens', async (t) => {
  const s = await subscriber({}, { start: '2025-04-07T00:00:00Z' });
  t.after(() => parkSubs(`a.user_id = ${sqlStr(s.user)}`));
  assert.equal(sql(`SELECT email FROM accounts WHERE user_id = ${sqlStr(s.user)}`)[0][0], 'NULL');
  const before = mailbox().length;
  await runScheduler('2025-05-07T00:00:01Z');
  const row = subRow(s.user);
  assert.equal(row.status, 'paused');
  assert.equal(row.paused_at, '2025-05-07 00:00:01');
  assert.equal(outboxRows(s.id).length, 0, 'nothing queued');
  assert.equal(mailbox().length, before, 'nothing sent');
});

test('SMTP down: the notice stays pending with the error and a later retry time, then goes out once the server is back', async (t) => {
  t.after(async () => { if (!(await smtpUp())) await smtpStart(); });
  const s = await subscriber(withEmail(), { start: '2025-07-01T10:00:00Z' });
  t.after(() => parkSubs(`a.user_id = ${sqlStr(s.user)}`));
  const now = '2025-08-01T10:00:00Z';

  await smtpStop();
  assert.equal(await smtpUp(), false);
  await runScheduler(now);
  assert.equal(subRow(s.user).status, 'paused', 'the pause does not depend on the mail');
  let rows = outboxRows(s.id);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].status, 'pending');
  assert.equal(rows[0].attempts, '1');
  assert.ok(rows[0].last_error && rows[0].last_error.length > 0, 'last_error says why');
  assert.ok(rows[0].next_attempt_at > dbTime(now), `next attempt ${rows[0].next_attempt_at} is after ${now}`);
  assert.equal(rows[0].sent_at, null);
  const retryAt = `${rows[0].next_attempt_at.replace(' ', 'T')}Z`;

  // Before the retry time nothing is tried again.
  await runScheduler(now);
  assert.equal(outboxRows(s.id)[0].attempts, '1');

  await smtpStart();
  assert.equal(await smtpUp(), true);
  await runScheduler(new Date(Date.parse(retryAt) - 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  rows = outboxRows(s.id);
  assert.equal(rows[0].status, 'pending', 'still waiting for its retry time');
  assert.equal(mailbox(s.email).length, 0);

  await runScheduler(new Date(Date.parse(retryAt) + 60000).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  rows = outboxRows(s.id);
  assert.equal(rows[0].status, 'sent', JSON.stringify(rows[0]));
  assert.equal(rows[0].attempts, '2');
  assert.equal(rows[0].last_error, null);
  const msgs = mailbox(s.email);
  assert.equal(msgs.length, 1, 'delivered once');
  assert.match(msgs[0].subject, /Cloud Sync/);
  assert.ok(msgs[0].body.includes(BILLING_URL));

  // The sink stays up for whoever runs next.
  assert.equal(await smtpUp(), true);
});

test('an address that cannot be mailed is marked failed at once, injects nothing, and does not hold up other notices', async (t) => {
  const start = '2025-03-11T00:00:00Z';
  const bad = [
    await subscriber({ email: 'no-at-sign' }, { start }),
    await subscriber((u) => ({ email: `${u}@example.com\r\nBcc: victim-${u}@example.com` }), { start }),
  ];
  const good = await subscriber(withEmail(), { start });
  const all = [...bad, good];
  t.after(() => parkSubs(`a.user_id IN (${all.map((x) => sqlStr(x.user)).join(', ')})`));
  await runScheduler('2025-04-11T00:00:01Z');
  for (const s of all) assert.equal(subRow(s.user).status, 'paused', s.user);

  assert.equal(mailbox(good.email).length, 1, 'the good notice went out');
  for (const s of bad) {
    const rows = outboxRows(s.id);
    // The account may have refused to store the address (no row), or the
    // row failed for good on its first attempt; never a message.
    if (rows.length === 0) continue;
    assert.equal(rows[0].status, 'failed', JSON.stringify(rows[0]));
    assert.equal(rows[0].attempts, '1');
    assert.ok(rows[0].last_error);
  }
  const injected = mailbox().filter((m) => /victim-/.test(m.headers['x-rcptto'] || '') || /victim-/.test(m.headers.bcc || ''));
  assert.deepEqual(injected.map((m) => m.file), [], 'no header injection');
  // A later run does not try them again.
  await runScheduler('2025-04-12T00:00:00Z');
  for (const s of bad) for (const r of outboxRows(s.id)) assert.equal(r.attempts, '1');
});
