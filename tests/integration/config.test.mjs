// The configuration as a new user meets it: a file without [http] listen
// gets the documented default, and a missing or bad required key is named
// in one line by tally-admin, by deploy/tally-dev before it starts
// anything, and by the responder at start.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './lib.mjs';

const base = fs.readFileSync(process.env.TALLY_CONFIG, 'utf8');

// The environment of a new user: no TALLY_* overrides but the paths.
function cleanEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('TALLY_')) env[k] = v;
  return { ...env, ...extra };
}

// A config file from the stack's, with lines edited; returns its folder.
function variant(edit) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-cfg-'));
  fs.writeFileSync(path.join(dir, 'tally.conf'), edit(base), { mode: 0o600 });
  return dir;
}

function run(cmd, args, dir, extra = {}) {
  return spawnSync(cmd, args, {
    env: cleanEnv({ TALLY_CONFIG: path.join(dir, 'tally.conf'), TALLY_VAR: path.join(dir, 'var'),
      TALLY_NO_SCHEDULER: '1', ...extra }),
    encoding: 'utf8', timeout: 60000,
  });
}

const withoutListen = (t) => t.replace(/^listen *=.*\n/m, '');

function portFree(port) {
  const r = spawnSync('bash', ['-c', `(exec 3<>/dev/tcp/127.0.0.1/${port}) 2>/dev/null`]);
  return r.status !== 0;
}

test('without [http] listen, tally and deploy/tally-dev use 127.0.0.1:8080', () => {
  const dir = variant(withoutListen);
  try {
    assert.doesNotMatch(fs.readFileSync(path.join(dir, 'tally.conf'), 'utf8'), /^listen/m);
    const get = run(`${ROOT}/bin/tally-admin`, ['get', 'http.listen'], dir);
    assert.equal(get.status, 0, get.stderr);
    assert.equal(get.stdout, '127.0.0.1:8080\n');
    const check = run(`${ROOT}/deploy/tally-dev`, ['check'], dir);
    assert.equal(check.status, 0, check.stderr);
    const conf = fs.readFileSync(path.join(dir, 'var', 'lighttpd.conf'), 'utf8');
    assert.match(conf, /^server\.bind = "127\.0\.0\.1"$/m);
    assert.match(conf, /^server\.port = 8080$/m);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('make run\'s stack comes up on the default address when listen is missing', async (t) => {
  if (!portFree(8080)) {
    t.skip('something listens on 127.0.0.1:8080 on this machine');
    return;
  }
  // The test stack's MariaDB and SMTP sink are reused (tally-dev finds
  // them running); only lighttpd and its responders start, on 8080.
  // (An external database's address is in the stack's config already.)
  const dir = variant((s) => (process.env.TALLY_DB_EXTERNAL === '1' ? withoutListen(s) : withoutListen(s)
    .replace(/^socket *=.*$/m, `socket = ${process.env.TALLY_DB_SOCKET}`)));
  try {
    const start = run(`${ROOT}/deploy/tally-dev`, ['start'], dir);
    assert.equal(start.status, 0, start.stderr);
    assert.match(start.stderr, /lighttpd on http:\/\/127\.0\.0\.1:8080/);
    const r = await fetch('http://127.0.0.1:8080/api/v1/health');
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { status: 'ok' });
  } finally {
    run(`${ROOT}/deploy/tally-dev`, ['stop'], dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const bad = [
  ['an empty service key', (s) => s.replace(/^service_key *=.*$/m, 'service_key ='), 'auth.service_key: required'],
  ['no service key line', (s) => s.replace(/^service_key *=.*\n/m, ''), 'auth.service_key: required'],
  ['an empty listen', (s) => s.replace(/^listen *=.*$/m, 'listen ='), 'http.listen: required'],
  ['a listen without a port', (s) => s.replace(/^listen *=.*$/m, 'listen = 8080'),
    'http.listen: expected HOST:PORT, e.g. 127.0.0.1:8080'],
];

for (const [what, edit, line] of bad) {
  test(`${what} is named in one line, and nothing starts`, () => {
    const dir = variant(edit);
    try {
      const check = run(`${ROOT}/bin/tally-admin`, ['check-config'], dir);
      assert.equal(check.status, 1);
      assert.equal(check.stderr, `tally-admin: ${line}\n`);

      const dev = run(`${ROOT}/deploy/tally-dev`, ['start'], dir);
      assert.equal(dev.status, 1);
      assert.equal(dev.stderr, `tally-admin: ${line}\n`);
      // Nothing was started or written under TALLY_VAR.
      const left = fs.existsSync(path.join(dir, 'var')) ? fs.readdirSync(path.join(dir, 'var')) : [];
      assert.deepEqual(left, []);

      const fcgi = run(`${ROOT}/bin/tally-fcgi`, ['--listen', path.join(dir, 'x.sock')], dir);
      assert.notEqual(fcgi.status, 0);
      assert.equal(fcgi.stderr, `tally-fcgi: ${line}\n`);
      assert.equal(fs.existsSync(path.join(dir, 'x.sock')), false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
