#!/usr/bin/env python3
"""A loopback HTTP proxy that misbehaves on purpose, for the S3 tests.

faultproxy.py PORT UPSTREAM_PORT [--503 N] [--slowdown N] [--drop N]
                                 [--block TEXT] [--die-on TEXT] [--log FILE]

The first N requests are answered 503 (with Retry-After: 0), the next N
with a 503 SlowDown body, the next N have their connection dropped without
an answer; after that requests go to 127.0.0.1:UPSTREAM_PORT unchanged.
A request whose target contains TEXT (--block) is always dropped; one
containing the --die-on TEXT makes the proxy exit at once (the server
"stopped" midway). Each request is logged as "ACTION METHOD TARGET".
"""
import argparse
import http.client
import os
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("upstream", type=int)
ap.add_argument("--503", dest="e503", type=int, default=0)
ap.add_argument("--slowdown", type=int, default=0)
ap.add_argument("--drop", type=int, default=0)
ap.add_argument("--block", default=None)
ap.add_argument("--die-on", default=None)
ap.add_argument("--log", default=None)
args = ap.parse_args()

lock = threading.Lock()
count = [0]
logf = open(args.log, "a", buffering=1) if args.log else sys.stderr

SLOWDOWN = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown'
            b'</Code><Message>Please reduce your request rate.</Message>'
            b'</Error>')


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def answer(self, code, body=b"", extra=()):
        self.send_response(code)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        data = self.body()
        with lock:
            count[0] += 1
            n = count[0]
        first = args.e503
        second = first + args.slowdown
        third = second + args.drop
        if args.die_on and args.die_on in self.path:
            logf.write("die %s %s\n" % (self.command, self.path))
            os._exit(0)
        if n <= first:
            action = "503"
            self.answer(503, b"", [("Retry-After", "0")])
        elif n <= second:
            action = "slowdown"
            self.answer(503, SLOWDOWN, [("Content-Type", "application/xml")])
        elif n <= third or (args.block and args.block in self.path):
            action = "drop"
            self.close_connection = True
            self.connection.shutdown(2)
        else:
            action = "pass"
            self.forward(data)
        logf.write("%s %s %s\n" % (action, self.command, self.path))

    def forward(self, data):
        c = http.client.HTTPConnection("127.0.0.1", args.upstream, timeout=30)
        headers = {k: v for k, v in self.headers.items()}
        c.request(self.command, self.path, body=data, headers=headers)
        r = c.getresponse()
        payload = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() in ("transfer-encoding", "connection"):
                continue
            if k.lower() == "content-length" and self.command != "HEAD":
                continue
            self.send_header(k, v)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        c.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


Server(("127.0.0.1", args.port), Handler).serve_forever()
