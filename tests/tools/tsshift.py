#!/usr/bin/env python3
"""tsshift.py TICKS < in.ts > out.ts: move every PCR, PTS and DTS of an
MPEG-TS by TICKS (90 kHz, may be negative), modulo 2^33 as the format's
clock is, packets left in their order.

The tests use it to make what no encoder of ours writes: a stream whose
clock turns over (26.5 hours) a few seconds in, or whose first packets
sit just below zero after a picture at zero (an encoder that writes its
audio priming before zero, as cs-encode did up to 2026-12-02)."""
import sys

MASK = (1 << 33) - 1


def get_ts(b, i):
    return (((b[i] >> 1) & 7) << 30 | b[i + 1] << 22 | (b[i + 2] >> 1) << 15
            | b[i + 3] << 7 | b[i + 4] >> 1)


def put_ts(b, i, t):
    b[i] = (b[i] & 0xF1) | ((t >> 29) & 0x0E)
    b[i + 1] = (t >> 22) & 0xFF
    b[i + 2] = ((t >> 14) & 0xFE) | 1
    b[i + 3] = (t >> 7) & 0xFF
    b[i + 4] = ((t << 1) & 0xFE) | 1


def shift(p, d):
    at = 4
    if p[3] & 0x20:                     # adaptation field
        n = p[4]
        if n >= 7 and p[5] & 0x10:      # PCR base: 33 bits from byte 6
            base = (p[6] << 25 | p[7] << 17 | p[8] << 9 | p[9] << 1
                    | p[10] >> 7)
            base = (base + d) & MASK
            p[6], p[7], p[8], p[9] = (base >> 25, (base >> 17) & 0xFF,
                                      (base >> 9) & 0xFF, (base >> 1) & 0xFF)
            p[10] = (p[10] & 0x7F) | (base & 1) << 7
        at = 5 + n
    if not p[1] & 0x40 or not p[3] & 0x10 or at + 19 > 188:
        return
    if p[at:at + 3] != b'\x00\x00\x01' or p[at + 3] in (0xBC, 0xBE, 0xBF):
        return
    flags = p[at + 7] >> 6
    if flags & 2:
        put_ts(p, at + 9, (get_ts(p, at + 9) + d) & MASK)
    if flags == 3:
        put_ts(p, at + 14, (get_ts(p, at + 14) + d) & MASK)


def main():
    d = int(sys.argv[1])
    data = bytearray(sys.stdin.buffer.read())
    if len(data) % 188 or any(data[i] != 0x47 for i in range(0, len(data), 188)):
        sys.exit("tsshift.py: stdin: not MPEG-TS in 188-byte packets")
    for i in range(0, len(data), 188):
        p = data[i:i + 188]
        shift(p, d)
        data[i:i + 188] = p
    sys.stdout.buffer.write(data)


main()
