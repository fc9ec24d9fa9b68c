#!/usr/bin/env python3
"""Hostile load on cs-serve from one address (127.0.0.1), for the fault
test: HELD blocking requests on URL, IDLE connections that never send a
byte, SLOW slowloris connections (a header byte a second, never ending),
one 100 KB header and one 1 MB request line. Then it waits for a line on
stdin (the test measures meanwhile), reads what became of each group, and
prints one JSON object:

  serve-hostile.py PORT URL HELD IDLE SLOW

{"held": {"200": n, ...}, "idle_closed": n, "slow_closed": n,
 "big_header": "HTTP/1.1 431 ...", "big_line": "HTTP/1.1 4xx ..."}
A group's connections that the server refused at connect time are
counted as "refused" in it."""
import json
import resource
import select
import socket
import sys
import time

port, url = int(sys.argv[1]), sys.argv[2]
held_n, idle_n, slow_n = (int(x) for x in sys.argv[3:6])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def connect():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    try:
        s.connect(('127.0.0.1', port))
    except OSError:
        s.close()
        return None
    return s


def status_line(s, timeout):
    s.settimeout(timeout)
    got = b''
    try:
        while b'\r\n' not in got:
            b = s.recv(4096)
            if not b:
                break
            got += b
    except OSError:
        pass
    return got.split(b'\r\n', 1)[0].decode('latin-1')


def closed(s):
    """True when the server has closed S (EOF or reset, nothing else)."""
    p = select.poll()
    p.register(s, select.POLLIN)
    if not p.poll(0):
        return False
    try:
        return s.recv(4096) == b''
    except OSError:
        return True


req = ('GET %s HTTP/1.1\r\nHost: x\r\n\r\n' % url).encode()
held, idle, slow, refused = [], [], [], {'held': 0, 'idle': 0, 'slow': 0}
for _ in range(held_n):
    s = connect()
    if s is None:
        refused['held'] += 1
        continue
    s.sendall(req)
    held.append(s)
for group, n, name in ((idle, idle_n, 'idle'), (slow, slow_n, 'slow')):
    for _ in range(n):
        s = connect()
        if s is None:
            refused[name] += 1
        else:
            group.append(s)
            if name == 'slow':
                s.sendall(b'GET / HTTP/1.1\r\n')
out = {'refused': refused}
big = connect()
big.sendall(b'GET /x HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'a' * 100000 + b'\r\n\r\n')
out['big_header'] = status_line(big, 10)
line = connect()
try:
    line.sendall(b'GET /' + b'a' * (1 << 20) + b' HTTP/1.1\r\nHost: x\r\n\r\n')
except OSError:
    pass
out['big_line'] = status_line(line, 10)
print('ready', flush=True)
# slowloris: a header byte a second until the test says go on
deadline = time.time() + 60
while time.time() < deadline:
    r, _, _ = select.select([sys.stdin], [], [], 1)
    if r:
        sys.stdin.readline()
        break
    for s in slow:
        try:
            s.send(b'X')
        except OSError:
            pass
out['idle_closed'] = sum(closed(s) for s in idle)
out['slow_closed'] = sum(closed(s) for s in slow)
print('released', flush=True)
sys.stdin.readline()      # the test lands the part
codes = {}
for s in held:
    c = status_line(s, 20).split(' ')[1:2]
    codes[c[0] if c else 'none'] = codes.get(c[0] if c else 'none', 0) + 1
out['held'] = codes
print(json.dumps(out), flush=True)
