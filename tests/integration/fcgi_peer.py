#!/usr/bin/env python3
"""fcgi_peer.py ADDRESS: play a web server on one FastCGI connection.

Sends the bytes read from standard input to ADDRESS (a Unix socket path or
HOST:PORT), waits until the responder is done with the connection, then reads
its answer to the end and prints one JSON line: the number of bytes read and
how the stream ended ("eof", or "reset" when the responder closed with data
of ours unread).  Node cannot tell the two apart on a Unix socket (libuv reads
a reset pipe as end of file); Python's recv(2) can.
"""
import json
import socket
import sys
import time

addr = sys.argv[1]
if addr.startswith('/'):
    s = socket.socket(socket.AF_UNIX)
    s.connect(addr)
else:
    host, port = addr.rsplit(':', 1)
    s = socket.create_connection((host, int(port)))
s.sendall(sys.stdin.buffer.read())
time.sleep(0.3)
data, end = b'', 'eof'
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
except ConnectionResetError:
    end = 'reset'
print(json.dumps({'bytes': len(data), 'end': end, 'head': data[8:40].decode('latin-1')}))
