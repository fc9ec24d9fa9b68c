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

--verify SECRET checks every request's AWS SigV4 signature (header or
presigned query) and payload hash as S3 does, answering 403
SignatureDoesNotMatch otherwise (s3rver itself does not check V4
signatures). --retry-after S sends "Retry-After: S" with the 503s.
--error-200-on TEXT answers the first matching request 200 with an
InternalError body; --corrupt-on TEXT flips a byte of the first matching
reply's body; --cut-on TEXT sends half of the first matching reply's body
and closes the connection. Requests with a Range header are logged with
"range=VALUE" at the end. --list-extra KEY adds an object named KEY to
every bucket listing (a key S3 can hold but s3rver cannot store);
--list-loop makes every listing say it is truncated, with the same
continuation token each time (a listing that would never end).

--stall-on TEXT sends half of a matching GET reply's body, then nothing
for --stall S seconds (default 60) before it closes. --bad-etag-on TEXT
answers a matching request with a wrong ETag header (the body unchanged).
--damage-upload-on TEXT flips the first byte of a matching upload's body
and drops its Content-MD5 before passing it on: the store keeps damaged
bytes and answers their ETag. --reset-upload-on TEXT reads half of a
matching upload's body and resets the connection. These, and --cut-on,
--corrupt-on and --error-200-on, strike the first --times N matching
requests (default 1; 0: every one). --reset ends a cut or a drop with a
TCP reset (RST) instead of a FIN.
"""
import argparse
import hashlib
import hmac
import urllib.parse
import http.client
import os
import socket
import socketserver
import struct
import sys
import threading
import time
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
ap.add_argument("--verify", metavar="SECRET", default=None)
ap.add_argument("--retry-after", type=int, default=0)
ap.add_argument("--error-200-on", default=None)
ap.add_argument("--corrupt-on", default=None)
ap.add_argument("--cut-on", default=None)
ap.add_argument("--list-extra", metavar="KEY", default=None)
ap.add_argument("--list-loop", action="store_true")
ap.add_argument("--stall-on", default=None)
ap.add_argument("--stall", type=float, default=60)
ap.add_argument("--bad-etag-on", default=None)
ap.add_argument("--damage-upload-on", default=None)
ap.add_argument("--reset-upload-on", default=None)
ap.add_argument("--times", type=int, default=1)
ap.add_argument("--reset", action="store_true")
args = ap.parse_args()

lock = threading.Lock()
count = [0]
once = {}


def first_time(tag):
    """True for the first --times requests a fault of kind TAG strikes."""
    with lock:
        n = once.get(tag, 0)
        if args.times and n >= args.times:
            return False
        once[tag] = n + 1
        return True


def hit(opt, path):
    return opt is not None and opt in path


def enc(v):
    return urllib.parse.quote(v, safe="-_.~")


def canonical_query(query, drop=None):
    pairs = []
    for part in query.split("&") if query else []:
        k, _, v = part.partition("=")
        k, v = urllib.parse.unquote(k), urllib.parse.unquote(v)
        if k != drop:
            pairs.append((enc(k), enc(v)))
    return "&".join("%s=%s" % kv for kv in sorted(pairs))


def hm(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def check_sigv4(method, target, headers, body, secret):
    """None when the request is signed right, else why not."""
    path, _, query = target.partition("?")
    q = urllib.parse.parse_qs(query)
    if "X-Amz-Signature" in q:
        cred = q["X-Amz-Credential"][0]
        signed = q["X-Amz-SignedHeaders"][0]
        given = q["X-Amz-Signature"][0]
        date = q["X-Amz-Date"][0]
        payload = "UNSIGNED-PAYLOAD"
        cq = canonical_query(query, drop="X-Amz-Signature")
    else:
        auth = headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return "no SigV4 authorization"
        f = dict(x.strip().split("=", 1) for x in auth[17:].split(","))
        cred, signed, given = f["Credential"], f["SignedHeaders"], f["Signature"]
        date = headers.get("x-amz-date", "")
        payload = headers.get("x-amz-content-sha256")
        if payload is None:
            return "no x-amz-content-sha256"
        if payload != "UNSIGNED-PAYLOAD" and \
                payload != hashlib.sha256(body).hexdigest():
            return "x-amz-content-sha256 does not match the body"
        cq = canonical_query(query)
    names = signed.split(";")
    if "host" not in names:
        return "host is not signed"
    for h in headers.keys():
        if h.lower().startswith("x-amz-") and h.lower() not in names:
            return "%s is not signed" % h.lower()
    ch = "".join("%s:%s\n" % (n, " ".join((headers.get(n) or "").split()))
                 for n in names)
    creq = "\n".join([method, path, cq, ch, signed, payload])
    scope = cred.split("/", 1)[1]
    sts = "\n".join(["AWS4-HMAC-SHA256", date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    day, region, service, _ = scope.split("/")
    k = hm(("AWS4" + secret).encode(), day)
    for part in (region, service, "aws4_request"):
        k = hm(k, part)
    if hmac.new(k, sts.encode(), hashlib.sha256).hexdigest() != given:
        return "signature mismatch"
    return None


def listed(key):
    """One <Contents> entry of a ListBucketResult for KEY."""
    k = key.replace("&", "&amp;").replace("<", "&lt;").encode()
    return (b"<Contents><Key>" + k + b"</Key><LastModified>"
            b"2024-01-01T00:00:00.000Z</LastModified><ETag>&quot;"
            b"00000000000000000000000000000000&quot;</ETag><Size>1000"
            b"</Size><StorageClass>STANDARD</StorageClass></Contents>")


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

    def hang_up(self, rst=False):
        """Close now: a FIN, or with --reset (or RST) a TCP reset."""
        self.close_connection = True
        if args.reset or rst:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
        else:
            self.connection.shutdown(2)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 1 and hit(args.reset_upload_on, self.path) and \
                first_time("resetup"):
            self.rfile.read(n // 2)
            logf.write("resetup %s %s\n" % (self.command, self.path))
            self.hang_up(rst=True)
            return
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
        why = None
        if args.verify:
            why = check_sigv4(self.command, self.path, self.headers, data,
                              args.verify)
        if why:
            action = "badsig(%s)" % why
            self.answer(403, b'<?xml version="1.0" encoding="UTF-8"?>\n'
                        b"<Error><Code>SignatureDoesNotMatch</Code><Message>"
                        b"The request signature we calculated does not match"
                        b"</Message></Error>")
        elif n <= first:
            action = "503"
            self.answer(503, b"", [("Retry-After", str(args.retry_after))])
        elif args.error_200_on and args.error_200_on in self.path and \
                first_time("e200"):
            action = "error200"
            self.answer(200, b'<?xml version="1.0" encoding="UTF-8"?>\n'
                        b"<Error><Code>InternalError</Code><Message>We "
                        b"encountered an internal error.</Message></Error>")
        elif n <= second:
            action = "slowdown"
            self.answer(503, SLOWDOWN, [("Content-Type", "application/xml")])
        elif n <= third or (args.block and args.block in self.path):
            action = "drop"
            self.hang_up()
        else:
            action = "pass"
            if data and hit(args.damage_upload_on, self.path) and \
                    first_time("damage"):
                action = "damaged"
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            self.forward(data, action == "damaged")
        rng = self.headers.get("Range")
        logf.write("%s %s %s%s\n" % (action, self.command, self.path,
                                      " range=" + rng if rng else ""))

    def forward(self, data, damaged=False):
        c = http.client.HTTPConnection("127.0.0.1", args.upstream, timeout=30)
        headers = {k: v for k, v in self.headers.items()
                   if not (damaged and k.lower() == "content-md5")}
        path = self.path
        if args.list_loop:      # s3rver knows nothing of our token
            path = path.replace("continuation-token=again&", "")
        c.request(self.command, path, body=data, headers=headers)
        r = c.getresponse()
        payload = r.read()
        if args.list_extra and r.status == 200 and \
                b"</ListBucketResult>" in payload:
            payload = payload.replace(b"</ListBucketResult>", listed(
                args.list_extra) + b"</ListBucketResult>")
        if args.list_loop and r.status == 200 and \
                b"</ListBucketResult>" in payload:
            payload = payload.replace(
                b"<IsTruncated>false</IsTruncated>",
                b"<IsTruncated>true</IsTruncated><NextContinuationToken>"
                b"again</NextContinuationToken>")
        self.send_response(r.status)
        bad_etag = hit(args.bad_etag_on, self.path) and r.status < 300 and \
            first_time("etag")
        for k, v in r.getheaders():
            if k.lower() in ("transfer-encoding", "connection"):
                continue
            if bad_etag and k.lower() == "etag":
                v = '"0123456789abcdef0123456789abcdef"'
                logf.write("badetag %s %s\n" % (self.command, self.path))
            if k.lower() == "content-length" and self.command != "HEAD":
                continue
            self.send_header(k, v)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if args.corrupt_on and args.corrupt_on in self.path and payload \
                and r.status == 200 and first_time("corrupt"):
            payload = bytes([payload[0] ^ 0xFF]) + payload[1:]
        if self.command == "GET" and hit(args.stall_on, self.path) and \
                len(payload) > 1 and r.status < 300 and first_time("stall"):
            logf.write("stall %s %s\n" % (self.command, self.path))
            self.wfile.write(payload[:len(payload) // 2])
            self.wfile.flush()
            time.sleep(args.stall)
            self.hang_up()
        elif self.command != "HEAD" and args.cut_on and \
                args.cut_on in self.path and len(payload) > 1 and \
                first_time("cut"):
            logf.write("cut %s %s\n" % (self.command, self.path))
            self.wfile.write(payload[:len(payload) // 2])
            self.wfile.flush()
            self.hang_up()
        elif self.command != "HEAD":
            self.wfile.write(payload)
        c.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


Server(("127.0.0.1", args.port), Handler).serve_forever()
