// The FastCGI connection itself, spoken to byte by byte: tally-fcgi accepts
// connections itself and closes them without libfcgi's lingering close when
// nothing is left unread (fcgi/main.c).  Web servers differ in what they
// send: lighttpd ends an authorizer's request with an empty stdin record,
// Apache's mod_authnz_fcgi sends none; requests may arrive in pieces, and a
// web server may connect and hang up without a word.  Each case must be
// answered in full and end with a clean end of stream, never a reset.
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn, execFileSync } from 'node:child_process';
import { ROOT } from './lib.mjs';

const BEGIN = 1, END = 3, PARAMS = 4, STDIN = 5, STDOUT = 6;
const RESPONDER = 1, AUTHORIZER = 2;

function record(type, content = Buffer.alloc(0), id = 1) {
  const h = Buffer.alloc(8);
  h.writeUInt8(1, 0);
  h.writeUInt8(type, 1);
  h.writeUInt16BE(id, 2);
  h.writeUInt16BE(content.length, 4);
  return Buffer.concat([h, content]);
}

function nvLength(n) {
  if (n < 128) return Buffer.from([n]);
  const b = Buffer.alloc(4);
  b.writeUInt32BE((n | 0x80000000) >>> 0);
  return b;
}

// PARAMS records (at most 65535 bytes each) and the empty one that ends them.
function params(env) {
  const body = Buffer.concat(Object.entries(env).map(([k, v]) => {
    const kb = Buffer.from(k), vb = Buffer.from(v);
    return Buffer.concat([nvLength(kb.length), nvLength(vb.length), kb, vb]);
  }));
  const out = [];
  for (let i = 0; i < body.length; i += 65535) out.push(record(PARAMS, body.subarray(i, i + 65535)));
  out.push(record(PARAMS));
  return Buffer.concat(out);
}

function begin(role) {
  const b = Buffer.alloc(8);
  b.writeUInt16BE(role, 0);
  return record(BEGIN, b);
}

// Send the chunks (with pauses between them) on one connection; resolve with
// the stdout text, the END_REQUEST seen, and any socket error.  (Node reads a
// reset as a plain end: fcgi_peer.py below tells them apart.)
function exchange(address, chunks, pauseMs = 0) {
  return new Promise((resolve) => {
    const c = net.createConnection(address);
    let buf = Buffer.alloc(0), error = null;
    c.on('data', (d) => { buf = Buffer.concat([buf, d]); });
    c.on('error', (e) => { error = e.code || String(e); });
    c.on('close', () => {
      let stdout = '', ended = false;
      for (let off = 0; off + 8 <= buf.length;) {
        const type = buf[off + 1], len = buf.readUInt16BE(off + 4), pad = buf[off + 6];
        if (type === STDOUT) stdout += buf.subarray(off + 8, off + 8 + len).toString();
        if (type === END) ended = true;
        off += 8 + len + pad;
      }
      resolve({ stdout, ended, error });
    });
    c.on('connect', async () => {
      for (let i = 0; i < chunks.length; i++) {
        if (i > 0 && pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
        c.write(chunks[i]);
      }
    });
  });
}

const GET = { REQUEST_METHOD: 'GET', SERVER_PROTOCOL: 'HTTP/1.1', SERVER_SOFTWARE: 'test' };

// Two responders of one thread each (every case runs on the thread the one
// before used): on a Unix socket like lighttpd's, and on TCP like Apache's.
const servers = [];
test.before(async () => {
  // A port nothing listens on: the kernel's pick, released for the responder.
  const port = await new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const p = probe.address().port;
      probe.close(() => resolve(p));
    });
  });
  for (const listen of [`${process.env.TALLY_VAR}/fcgiconn-${process.pid}.sock`, `127.0.0.1:${port}`]) {
    const child = spawn(`${ROOT}/bin/tally-fcgi`, ['--listen', listen, '--threads', '1'],
      { env: { ...process.env }, stdio: ['ignore', 'ignore', 'inherit'] });
    const exited = new Promise((r) => child.on('exit', (code) => r(code)));
    servers.push({ listen, child, exited,
      address: listen.startsWith('/') ? { path: listen } : { host: '127.0.0.1', port } });
  }
  for (const s of servers) {
    for (let i = 0; i < 100; i++) {
      const up = await new Promise((resolve) => {
        const c = net.createConnection(s.address, () => { c.destroy(); resolve(true); });
        c.on('error', () => resolve(false));
      });
      if (up) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
});
test.after(async () => {
  for (const s of servers) {
    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0);
  }
});

// exchange() on each responder, in turn.
async function both(chunks, pauseMs, check) {
  for (const s of servers) {
    const r = await exchange(s.address, chunks, pauseMs);
    try {
      check(r);
    } catch (e) {
      e.message = `on ${s.listen}: ${e.message}`;
      throw e;
    }
  }
}

const ok = (re) => (r) => {
  assert.equal(r.error, null, 'a clean end of stream');
  assert.ok(r.ended, 'END_REQUEST');
  assert.match(r.stdout, re);
};
const health = /^Status: 200 OK\r\n[^]*\{"status":"ok"\}$/;

test('a responder request in one write is answered in full and ends cleanly', async () => {
  await both([Buffer.concat([begin(RESPONDER),
    params({ ...GET, REQUEST_URI: '/api/v1/health', FCGI_ROLE: 'RESPONDER' }), record(STDIN)])], 0, ok(health));
});

test('a request that arrives in pieces (a record split across writes) is read to its end', async () => {
  const whole = Buffer.concat([begin(RESPONDER),
    params({ ...GET, REQUEST_URI: '/api/v1/health', HTTP_X_PAD: 'p'.repeat(3000) }), record(STDIN)]);
  await both([whole.subarray(0, 5), whole.subarray(5, 1500), whole.subarray(1500)], 60, ok(health));
});

test('a request larger than libfcgi\'s 8 KiB read (20 KiB of headers) is answered and ends cleanly', async () => {
  await both([Buffer.concat([begin(RESPONDER),
    params({ ...GET, REQUEST_URI: '/api/v1/health', HTTP_COOKIE: 'c=' + 'x'.repeat(20000) }),
    record(STDIN)])], 0, ok(health));
});

test('a responder sent a body it does not route reads it to the end and ends cleanly', async () => {
  await both([Buffer.concat([begin(RESPONDER),
    params({ ...GET, REQUEST_URI: '/api/v1/health', CONTENT_LENGTH: '60000' }),
    record(STDIN, Buffer.alloc(60000, 0x62)), record(STDIN)])], 0, ok(health));
});

test('an authorizer request without a stdin record (Apache) is answered at once', async () => {
  const t0 = Date.now();
  await both([Buffer.concat([begin(AUTHORIZER),
    params({ ...GET, REQUEST_URI: '/sync/x', FCGI_ROLE: 'AUTHORIZER' })])], 0, ok(/^Status: 401 /));
  assert.ok(Date.now() - t0 < 2000, 'not waiting for a stdin that never comes');
});

test('an authorizer request with its empty stdin record (lighttpd) ends cleanly', async () => {
  await both([Buffer.concat([begin(AUTHORIZER),
    params({ ...GET, REQUEST_URI: '/sync/x', FCGI_ROLE: 'AUTHORIZER' }), record(STDIN)])], 0,
  ok(/^Status: 401 /));
});

// The same request through fcgi_peer.py, which tells a reset from an end.
function peer(listen, bytes) {
  return JSON.parse(execFileSync('python3', [`${ROOT}/tests/integration/fcgi_peer.py`, listen],
    { input: bytes, encoding: 'utf8' }));
}

test('a request with data left unread at the end is closed without a reset (drained first)', async () => {
  // An authorizer does not read its stdin: 60 kB of it stay in the socket.
  const unread = Buffer.concat([begin(AUTHORIZER),
    params({ ...GET, REQUEST_URI: '/sync/x', FCGI_ROLE: 'AUTHORIZER' }),
    record(STDIN, Buffer.alloc(60000, 0x61)), record(STDIN)]);
  // A responder reads its stdin to the end: nothing stays.
  const read = Buffer.concat([begin(RESPONDER),
    params({ ...GET, REQUEST_URI: '/api/v1/health', CONTENT_LENGTH: '60000' }),
    record(STDIN, Buffer.alloc(60000, 0x62)), record(STDIN)]);
  for (const s of servers) {
    const a = peer(s.listen, unread);
    assert.equal(a.end, 'eof', `${s.listen}: the authorizer's answer ends cleanly`);
    assert.match(a.head, /^Status: 401 /);
    const b = peer(s.listen, read);
    assert.equal(b.end, 'eof', `${s.listen}: the responder's answer ends cleanly`);
    assert.match(b.head, /^Status: 200 /);
  }
});

test('a web server that connects and hangs up without a word does not stop the next request', async () => {
  for (const s of servers) {
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => {
        const c = net.createConnection(s.address, () => c.end());
        c.on('close', resolve);
        c.on('error', resolve);
      });
    }
  }
  await both([Buffer.concat([begin(RESPONDER),
    params({ ...GET, REQUEST_URI: '/api/v1/health' }), record(STDIN)])], 0, ok(health));
});
