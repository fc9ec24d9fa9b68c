#!/usr/bin/env python3
"""A hostile RTMP client for cs-recv's listener tests.

usage: rtmpclient.py PORT WHAT [SECONDS]

WHAT is what it does after the handshake:
  idle           nothing, for SECONDS (default 60)
  media-first    connect, then an H.264 keyframe without publishing
  fcpublish      connect, FCPublish and createStream, then media
  streams        connect on 12 chunk streams, then media
  many-streams   commands on 70 chunk streams (the limit is 64)
  huge           a message header announcing 2^24-1 bytes, then its bytes
  wrong-key      connect and publish with a wrong key, then media

It prints "closed" when the server ends the connection (within SECONDS),
"open" when it did not, and exits 0 either way.
"""
import socket
import struct
import sys
import time


def amf_str(s):
    b = s.encode()
    return b"\x02" + struct.pack(">H", len(b)) + b


def amf_num(v):
    return b"\x00" + struct.pack(">d", v)


def amf_obj(props):
    out = b"\x03"
    for k, v in props.items():
        out += struct.pack(">H", len(k)) + k.encode() + amf_str(v)
    return out + b"\x00\x00\x09"


def basic(fmt, csid):
    if csid < 64:
        return bytes([fmt << 6 | csid])
    return bytes([fmt << 6, csid - 64])


def chunks(csid, mtype, stream, payload, size=128):
    head = basic(0, csid) + (0).to_bytes(3, "big") + \
        len(payload).to_bytes(3, "big") + bytes([mtype]) + \
        struct.pack("<I", stream)
    out = head + payload[:size]
    for i in range(size, len(payload), size):
        out += basic(3, csid) + payload[i:i + size]
    return out


def command(csid, name, txn, *args, stream=0):
    body = amf_str(name) + amf_num(txn) + b"\x05"
    for a in args:
        body += amf_str(a) if isinstance(a, str) else amf_num(a)
    return chunks(csid, 20, stream, body)


CONNECT = chunks(3, 20, 0, amf_str("connect") + amf_num(1) +
                 amf_obj({"app": "live", "type": "nonprivate"}))
# an AVC sequence header and a keyframe, as FLV video tag bodies
AVC_CONFIG = bytes([0x17, 0, 0, 0, 0, 1, 0x42, 0xC0, 0x1E, 0xFF, 0xE1, 0, 4,
                    0x67, 0x42, 0xC0, 0x1E, 1, 0, 2, 0x68, 0xCE])
KEYFRAME = bytes([0x17, 1, 0, 0, 0, 0, 0, 0, 5, 0x65, 0x88, 0x84, 0x21,
                  0xA0]) + b"INTRUDER" * 64


def media(csid=6):
    return chunks(csid, 9, 1, AVC_CONFIG) + chunks(csid, 9, 1, KEYFRAME)


def handshake(s):
    s.sendall(b"\x03" + bytes(1536))
    got = b""
    while len(got) < 3073:
        b = s.recv(4096)
        if not b:
            raise ConnectionError("closed in the handshake")
        got += b
    s.sendall(got[1:1537])


def script(what):
    if what == "media-first":
        return CONNECT + media()
    if what == "fcpublish":
        return CONNECT + command(3, "FCPublish", 2, "anything") + \
            command(3, "createStream", 3) + media()
    if what == "streams":
        out = b""
        for csid in range(3, 15):
            out += chunks(csid, 20, 0, amf_str("_checkbw") + amf_num(0) +
                          b"\x05")
        return CONNECT + out + media(15)
    if what == "many-streams":
        out = b""
        for csid in range(3, 73):
            out += chunks(csid, 20, 0, amf_str("_checkbw") + amf_num(0) +
                          b"\x05")
        return CONNECT + out
    if what == "huge":
        head = bytes([3]) + (0).to_bytes(3, "big") + \
            (2**24 - 1).to_bytes(3, "big") + bytes([9]) + struct.pack("<I", 1)
        return CONNECT + head + b"\x17\x01" + bytes(126)
    if what == "wrong-key":
        return CONNECT + command(3, "createStream", 2) + \
            command(8, "publish", 3, "not-the-key", "live", stream=1) + \
            media()
    return b""


def main():
    port, what = int(sys.argv[1]), sys.argv[2]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 60
    s = socket.create_connection(("127.0.0.1", port))
    until = time.monotonic() + seconds
    try:
        handshake(s)
        s.sendall(script(what))
        s.settimeout(0.2)
        while time.monotonic() < until:
            try:
                if not s.recv(65536):
                    print("closed")
                    return
            except socket.timeout:
                if what not in ("idle", "huge", "many-streams"):
                    s.sendall(media())   # keep pushing media
    except (ConnectionError, BrokenPipeError):
        print("closed")
        return
    print("open")


if __name__ == "__main__":
    main()
