#!/usr/bin/env python3
"""instr.py TALLY_FCGI HELLO: instructions per request, counted by callgrind.

bench/instr.sh runs this against its private stack (TALLY_CONFIG, a funded
user with an active Cloud Sync subscription).  Each responder runs under
valgrind --tool=callgrind as a web server spawns it: a listening Unix socket
on fd 0.  This script plays the web server: it sends the same FastCGI
records lighttpd sends (its parameters, an authorizer's empty stdin), one
connection per request, checks that each answer is a 200, and reads the
count of the requests alone (callgrind_control zeroes the counters after a
warm-up and dumps them after the last request).  Unlike requests per
second, the count is the same whatever else the machine is doing: it shows
what the responder's own code costs, though not the system calls or the
database, which callgrind does not see.

Environment: BENCH_INSTR_REQUESTS (300), TALLY_SERVICE_KEY, BENCH_TOKEN
(a token of BENCH_USER), BENCH_USER, BENCH_DEBIT_USER (a funded user).
Prints one line:
  instr: status N | gate N | debit N | hello N (instructions per request, ...)
"""
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

N = int(os.environ.get('BENCH_INSTR_REQUESTS', '300'))
WARMUP = 20


def record(kind, content):
    return struct.pack('>BBHHBx', 1, kind, 1, len(content), 0) + content


def length(b):
    return bytes([len(b)]) if len(b) < 128 else struct.pack('>I', len(b) | 0x80000000)


def message(role, uri, method, headers, body=b''):
    """The records of one request, with lighttpd's parameters."""
    script = uri.split('?')[0]
    params = [
        ('CONTENT_LENGTH', str(len(body))), ('QUERY_STRING', ''),
        ('REQUEST_URI', uri), ('REDIRECT_STATUS', '200'),
        ('SCRIPT_NAME', script), ('SCRIPT_FILENAME', '/srv/www' + script),
        ('DOCUMENT_ROOT', '/srv/www'), ('REQUEST_METHOD', method),
        ('SERVER_PROTOCOL', 'HTTP/1.1'), ('SERVER_SOFTWARE', 'lighttpd'),
        ('GATEWAY_INTERFACE', 'CGI/1.1'), ('REQUEST_SCHEME', 'http'),
        ('SERVER_PORT', '8080'), ('SERVER_ADDR', '127.0.0.1'),
        ('SERVER_NAME', '127.0.0.1'), ('REMOTE_ADDR', '127.0.0.1'),
        ('REMOTE_PORT', '40000'), ('HTTP_HOST', '127.0.0.1:8080'),
        ('HTTP_USER_AGENT', 'wrk'), ('HTTP_ACCEPT', '*/*'),
    ] + headers
    if body:
        params.append(('CONTENT_TYPE', 'application/json'))
    data = b''.join(length(k.encode()) + length(v.encode()) + k.encode() + v.encode()
                    for k, v in params)
    msg = record(1, struct.pack('>HB5x', role, 0)) + record(4, data) + record(4, b'')
    if body:
        msg += record(5, body)
    return msg + record(5, b'')


def ask(path, msg):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(msg)
    data = b''
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    # The first stdout record's text starts with the Status header.
    head = data[8:8 + struct.unpack('>H', data[4:6])[0]]
    if not head.startswith(b'Status: 200'):
        sys.exit('instr: the answer was not a 200: %r' % head[:120])


def count(binary, msg, tmp, name):
    """Instructions per request of binary answering msg N times."""
    path = os.path.join(tmp, name + '.sock')
    out = os.path.join(tmp, name + '.callgrind')
    lsock = socket.socket(socket.AF_UNIX)
    lsock.bind(path)
    lsock.listen(16)
    proc = subprocess.Popen(
        ['valgrind', '--tool=callgrind', '--callgrind-out-file=' + out + '.%p',
         binary], stdin=lsock.fileno(), stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(tmp, name + '.log'), 'w'))
    lsock.close()
    try:
        for _ in range(WARMUP):
            ask(path, msg)
        ctl = ['callgrind_control']
        subprocess.run(ctl + ['-z', str(proc.pid)], check=True, capture_output=True)
        for _ in range(N):
            ask(path, msg)
        subprocess.run(ctl + ['-d', str(proc.pid)], check=True, capture_output=True)
        dump = '%s.%d.1' % (out, proc.pid)
        for _ in range(100):
            if os.path.exists(dump):
                break
            time.sleep(0.1)
        time.sleep(0.3)
        totals = [line for line in open(dump) if line.startswith('totals:')]
        return int(totals[0].split()[1]) // N
    finally:
        proc.terminate()
        proc.wait()


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: instr.py TALLY_FCGI HELLO')
    tally, hello = sys.argv[1:]
    key = os.environ['TALLY_SERVICE_KEY']
    user = os.environ['BENCH_USER']
    debit = ('{"user_id":"%s","amount":1,"operation":"bench"}'
             % os.environ['BENCH_DEBIT_USER']).encode()
    reqs = [
        ('status', tally, message(1, '/api/v1/internal/subscriptions/cloud_sync/status/'
                                  + user, 'GET', [('HTTP_X_SERVICE_KEY', key)])),
        ('gate', tally, message(2, '/sync/index.html', 'GET', [
            ('HTTP_AUTHORIZATION', 'Bearer ' + os.environ['BENCH_TOKEN'])])),
        ('debit', tally, message(1, '/api/v1/internal/credits/use', 'POST',
                                 [('HTTP_X_SERVICE_KEY', key)], debit)),
        ('hello', hello, message(1, '/hello/', 'GET', [])),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        got = [(name, count(binary, msg, tmp, name)) for name, binary, msg in reqs]
    print('instr: ' + ' | '.join('%s %d' % g for g in got) +
          ' (instructions per request in the responder, callgrind, %d requests each)' % N)


if __name__ == '__main__':
    main()
