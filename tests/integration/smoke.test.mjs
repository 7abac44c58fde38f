import test from 'node:test';
import assert from 'node:assert/strict';
import { call } from './lib.mjs';

test('health answers ok through lighttpd', async () => {
  const r = await call('GET', '/health');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { status: 'ok' });
  assert.match(r.headers.get('x-request-id'), /^[0-9a-f]{16}$/);
});
