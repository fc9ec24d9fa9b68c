#!/usr/bin/env python3
"""Test helper for cs-serve: a fake LL-HLS segmenter and blocking-request
probes (no media: parts are small files of known bytes).

  llhls.py write DIR N              write the state after N parts
  llhls.py run DIR [--from N] [--interval S] [--count K]
  llhls.py probe URL DIR N          request URL (blocking on part N),
                                    write part N after 1 s, print timings
  llhls.py many URL COUNT [--timeout S] [--next URL2]
                                    COUNT concurrent GETs, print a summary;
                                    with --next, each connection is kept
                                    and then asks for URL2 (both summed up)
  llhls.py relay SRC DST SECONDS    real media: turn ffmpeg's fMP4 HLS of
                                    0.2 s segments in SRC into LL-HLS in DST
                                    (each segment a part, five a segment)

The layout is cs-segment's: DIR/index.m3u8, DIR/init.mp4, DIR/<n>.m4s,
DIR/<n>.<p>.m4s. Five 0.2 s parts a segment (target duration 1 s;
$LLHLS_PPS changes the number of parts a segment; LLHLS_DATERANGES=1 adds
an EXT-X-DATERANGE "ad-<msn>" a segment)."""
import asyncio
import json
import math
import os
import sys
import threading
import time
import urllib.request

PPS = int(os.environ.get('LLHLS_PPS', '5'))
DATERANGES = os.environ.get('LLHLS_DATERANGES') == '1'
PART = 0.2
WINDOW = 12


def atomic(path, data):
    tmp = os.path.join(os.path.dirname(path), '.' + os.path.basename(path) + '.tmp')
    with open(tmp, 'wb') as f:
        f.write(data)
    os.rename(tmp, path)


def part_bytes(msn, p):
    return (b'part %d.%d\n' % (msn, p)) * 64


def part_window(lines):
    """LINES as playlist bytes, once checked: parts (EXT-X-PART) on 3
    segments at most, the open one (its parts and the preload hint)
    counted, as a strict reader (hls-parser) counts them."""
    parts, with_parts = False, 0
    for line in lines + ['#EXTINF:0,']:
        if line.startswith('#EXT-X-PART:') or \
                line.startswith('#EXT-X-PRELOAD-HINT:TYPE=PART'):
            parts = True
        elif line.startswith('#EXTINF:'):
            with_parts += parts
            parts = False
    assert with_parts <= 3, 'EXT-X-PART on %d segments' % with_parts
    return ('\n'.join(lines) + '\n').encode()


def playlist(n):
    """The playlist after N parts (N >= 1)."""
    whole = n // PPS
    tail = n % PPS
    first = max(0, whole - WINDOW)
    t0 = 1700000000.0 + first * PPS * PART
    pdt = time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t0)) + '.000Z'
    target = max(1, math.ceil(PPS * PART))
    out = ['#EXTM3U', '#EXT-X-VERSION:9', '#EXT-X-TARGETDURATION:%d' % target,
           '#EXT-X-MEDIA-SEQUENCE:%d' % first,
           '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.6,'
           'CAN-SKIP-UNTIL=%.1f' % (6.0 * target) +
           (',CAN-SKIP-DATERANGES=YES' if DATERANGES else ''),
           '#EXT-X-PART-INF:PART-TARGET=%.3f' % PART,
           '#EXT-X-MAP:URI="init.mp4"',
           '#EXT-X-PROGRAM-DATE-TIME:' + pdt]
    for msn in range(first, whole):
        if DATERANGES:
            t = t0 + (msn - first) * PPS * PART
            out.append('#EXT-X-DATERANGE:ID="ad-%d",START-DATE="%s.000Z",'
                       'DURATION=%.3f' % (msn, time.strftime(
                           '%Y-%m-%dT%H:%M:%S', time.gmtime(t)), PPS * PART))
        if msn >= whole - 2:
            for p in range(PPS):
                out.append('#EXT-X-PART:DURATION=%.3f,URI="%d.%d.m4s"%s' %
                           (PART, msn, p, ',INDEPENDENT=YES' if p == 0 else ''))
        out.append('#EXTINF:%.3f,' % (PPS * PART))
        out.append('%d.m4s' % msn)
    for p in range(tail):
        out.append('#EXT-X-PART:DURATION=%.3f,URI="%d.%d.m4s"%s' %
                   (PART, whole, p, ',INDEPENDENT=YES' if p == 0 else ''))
    out.append('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="%d.%d.m4s"' % (whole, tail))
    return part_window(out)


def write(d, n, first=None):
    """Write parts FIRST..N-1 (default: the last one) and the segments they
    complete, then the playlist after N parts."""
    os.makedirs(d, exist_ok=True)
    if not os.path.exists(os.path.join(d, 'init.mp4')):
        atomic(os.path.join(d, 'init.mp4'), b'init\n' * 100)
    for k in range(n - 1 if first is None else first, n):
        msn, p = divmod(k, PPS)
        atomic(os.path.join(d, '%d.%d.m4s' % (msn, p)), part_bytes(msn, p))
        if p == PPS - 1:
            atomic(os.path.join(d, '%d.m4s' % msn),
                   b''.join(part_bytes(msn, q) for q in range(PPS)))
    atomic(os.path.join(d, 'index.m3u8'), playlist(n))


def fill(d, n):
    write(d, n, first=0)


def run(d, start, interval, count):
    n = start
    if n > 0:
        fill(d, n)
    while count is None or n < start + count:
        time.sleep(interval)
        n += 1
        write(d, n)


def probe(url, d, n):
    """The request for part N must not return before the part is written,
    and must return soon after."""
    res = {}

    def get():
        t = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=20) as r:
                res['status'] = r.status
                res['body'] = r.read().decode()
        except urllib.error.HTTPError as e:
            res['status'] = e.code
        res['done'] = time.monotonic()
        res['start'] = t

    th = threading.Thread(target=get)
    th.start()
    time.sleep(1.0)
    early = 'done' in res
    written = time.monotonic()
    write(d, n + 1)
    th.join(25)
    msn, p = divmod(n, PPS)
    print(json.dumps({
        'status': res.get('status'), 'early': early,
        'after_write_ms': round((res['done'] - written) * 1000, 1)
        if 'done' in res else None,
        'has_part': ('URI="%d.%d.m4s"' % (msn, p)) in res.get('body', ''),
    }))


async def read_answer(r):
    """One HTTP/1.1 answer with a Content-Length, the connection kept."""
    head = await r.readuntil(b'\r\n\r\n')
    n = 0
    for line in head.split(b'\r\n')[1:]:
        k, _, v = line.partition(b':')
        if k.strip().lower() == b'content-length':
            n = int(v)
    return head + await r.readexactly(n)


async def one(host, port, path, timeout, nxt=None):
    """PATH on a connection of its own, closed after the answer; with NXT,
    PATH on a kept-alive connection, then NXT on the same one (a player
    following a live playlist): the answers and when each came."""
    r, w = await asyncio.open_connection(host, port)
    paths = [path, nxt] if nxt else [path]
    out = []
    for p in paths:
        last = p is paths[-1]
        w.write(('GET %s HTTP/1.1\r\nHost: %s:%d\r\n%s\r\n'
                 % (p, host, port, 'Connection: close\r\n' if last else '')
                 ).encode())
        await w.drain()
        data = await asyncio.wait_for(r.read() if last else read_answer(r),
                                      timeout)
        out.append((data, time.time()))
        if not data:
            break
    w.close()
    return out


def summary(res, i):
    """Status codes and when the 200s came (seconds since the epoch:
    first, quantiles, last) of answer I of each connection."""
    codes, done = {}, []
    for x in res:
        if isinstance(x, Exception):
            k = 'error'
        elif len(x) <= i or not x[i][0]:
            k = 'closed'    # the server hung up without an answer
        else:
            k = x[i][0].split(b' ', 2)[1].decode()
        codes[k] = codes.get(k, 0) + 1
        if k == '200':
            done.append(x[i][1])
    done.sort()
    at = {q: done[min(len(done) - 1, int(len(done) * q / 100))]
          for q in (50, 90, 99)} if done else {}
    if done:
        at.update({0: done[0], 100: done[-1]})
    return codes, {'p%d' % q: t for q, t in sorted(at.items())}


def target(u):
    """The request target of split URL U: its path and query."""
    return u.path + ('?' + u.query if u.query else '')


async def many_main(url, count, timeout, nxt=None):
    u = urllib.parse.urlsplit(url)
    path = target(u)
    if nxt:
        nxt = target(urllib.parse.urlsplit(nxt))
    tasks = []
    for _ in range(count):
        tasks.append(asyncio.ensure_future(
            one(u.hostname, u.port, path, timeout, nxt)))
        await asyncio.sleep(0)
    res = await asyncio.gather(*tasks, return_exceptions=True)
    codes, at = summary(res, 0)
    out = {'count': count, 'codes': codes, 'done_at': at}
    if nxt:
        codes, at = summary(res, 1)
        out['next'] = {'codes': codes, 'done_at': at}
    print(json.dumps(out))


def relay_playlist(parts, first_msn, pdt):
    """LL-HLS from PARTS, a list of (msn, p, duration, independent, t)."""
    segs = {}
    for msn, p, dur, ind, _ in parts:
        segs.setdefault(msn, []).append((p, dur, ind))
    whole = [m for m in sorted(segs) if len(segs[m]) == PPS]
    tail = [m for m in sorted(segs) if len(segs[m]) < PPS]
    ptarget = max(x[2] for x in parts)
    target = max(1, math.ceil(max([sum(d for _, d, _ in segs[m])
                                   for m in whole] or [1]) - 1e-3))
    out = ['#EXTM3U', '#EXT-X-VERSION:9',
           '#EXT-X-TARGETDURATION:%d' % target,
           '#EXT-X-MEDIA-SEQUENCE:%d' % first_msn,
           '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=%.3f,'
           'CAN-SKIP-UNTIL=%.1f' % (3.01 * ptarget, 6.0 * target),
           '#EXT-X-PART-INF:PART-TARGET=%.3f' % ptarget,
           '#EXT-X-MAP:URI="init.mp4"',
           '#EXT-X-PROGRAM-DATE-TIME:' + pdt]
    for m in whole + tail:
        if m not in whole or m >= whole[-1] - 1:
            for p, dur, ind in segs[m]:
                out.append('#EXT-X-PART:DURATION=%.3f,URI="%d.%d.m4s"%s' %
                           (dur, m, p, ',INDEPENDENT=YES' if ind else ''))
        if m in whole:
            out.append('#EXTINF:%.3f,' % sum(d for _, d, _ in segs[m]))
            out.append('%d.m4s' % m)
    last = parts[-1]
    nxt = (last[0], last[1] + 1) if last[1] + 1 < PPS else (last[0] + 1, 0)
    out.append('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="%d.%d.m4s"' % nxt)
    return part_window(out)


def relay(src, dst, seconds):
    """Follow ffmpeg's playlist in SRC; every new segment is a part."""
    os.makedirs(dst, exist_ok=True)
    seen, parts, n = set(), [], 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.02)
        try:
            lines = open(os.path.join(src, 'index.m3u8')).read().split('\n')
        except OSError:
            continue
        dur = None
        for line in lines:
            if line.startswith('#EXTINF:'):
                dur = float(line[8:].split(',')[0])
            elif line and not line.startswith('#') and line not in seen:
                seen.add(line)
                try:
                    data = open(os.path.join(src, line), 'rb').read()
                    if n == 0:
                        atomic(os.path.join(dst, 'init.mp4'), open(
                            os.path.join(src, 'init.mp4'), 'rb').read())
                except OSError:
                    continue    # already deleted: we started late
                msn, p = divmod(n, PPS)
                atomic(os.path.join(dst, '%d.%d.m4s' % (msn, p)), data)
                parts.append((msn, p, dur, True, time.time() - dur))
                if p == PPS - 1:
                    atomic(os.path.join(dst, '%d.m4s' % msn), b''.join(
                        open(os.path.join(dst, '%d.%d.m4s' % (msn, q)),
                             'rb').read() for q in range(PPS)))
                n += 1
                keep = [x for x in parts if x[0] >= msn - WINDOW]
                t = keep[0][4]
                pdt = time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t)) + \
                    '.%03dZ' % int((t % 1) * 1000)
                atomic(os.path.join(dst, 'index.m3u8'),
                       relay_playlist(keep, keep[0][0], pdt))


def main(a):
    if a[0] == 'write':
        fill(a[1], int(a[2]))
    elif a[0] == 'run':
        opts = {'--from': '0', '--interval': str(PART), '--count': None}
        for i in range(2, len(a), 2):
            opts[a[i]] = a[i + 1]
        run(a[1], int(opts['--from']), float(opts['--interval']),
            int(opts['--count']) if opts['--count'] else None)
    elif a[0] == 'probe':
        probe(a[1], a[2], int(a[3]))
    elif a[0] == 'relay':
        relay(a[1], a[2], float(a[3]))
    elif a[0] == 'many':
        opts = {'--timeout': '30', '--next': None}
        for i in range(3, len(a), 2):
            opts[a[i]] = a[i + 1]
        asyncio.run(many_main(a[1], int(a[2]), float(opts['--timeout']),
                              opts['--next']))
    else:
        sys.exit('unknown command ' + a[0])


if __name__ == '__main__':
    import urllib.parse
    main(sys.argv[1:])
