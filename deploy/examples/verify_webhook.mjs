// Verify a tally event (README "Events"): the Tally-Signature header is
// "t=UNIX,v1=HEX", HEX = HMAC-SHA256(secret, t + "." + raw body).
import crypto from 'node:crypto';

export const TOLERANCE = 300; // seconds between t and our clock

// Returns the event, or null for one seen before (answer 2xx, do nothing);
// throws for a bad or stale signature (answer 400).  `seen`: the event
// ids already handled (a Set here; a table with a unique key in real use).
export function verifyTallyEvent(rawBody, header, secret, seen, now = Date.now() / 1000) {
  const parts = String(header || '').split(',').map((p) => p.trim().split('='));
  const t = Number((parts.find(([k]) => k === 't') || [])[1]);
  if (!Number.isInteger(t) || Math.abs(now - t) > TOLERANCE) throw new Error('stale or missing timestamp');
  const want = crypto.createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  const ok = parts.filter(([k]) => k === 'v1').some(([, v]) => {
    const got = Buffer.from(v || '', 'hex');
    return got.length === want.length && crypto.timingSafeEqual(got, want);
  });
  if (!ok) throw new Error('bad signature');
  const event = JSON.parse(rawBody);
  if (seen.has(event.id)) return null;
  seen.add(event.id);
  return event;
}
