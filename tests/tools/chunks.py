#!/usr/bin/env python3
"""GET URL and say when each piece of the body arrived, as one JSON object:

  chunks.py URL OUT [--timeout S] [--playlist FILE]

With --playlist, "{next}" in URL becomes the number of the segment after
the one FILE's EXT-X-PRELOAD-HINT names (read when the request is made:
the segment that will be written next).

{"status": 200, "chunked": true, "started": T0, "events": [[T, BYTES], ...],
 "complete": true, "total": N}: T are wall-clock seconds (time.time(), to
compare with file modification times), BYTES what arrived at T; the body is
written to OUT. "complete" is false when the connection broke before the
body's end (a chunked body without its last chunk)."""
import http.client
import json
import re
import sys
import time
import urllib.parse


def next_segment(playlist):
    with open(playlist) as f:
        m = re.search(r'^#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(\d+)\.',
                      f.read(), re.M)
    return int(m.group(1)) + 1


def main(url, out, timeout, playlist):
    if playlist:
        url = url.replace('{next}', str(next_segment(playlist)))
    u = urllib.parse.urlsplit(url)
    t0 = time.time()
    c = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    c.request('GET', u.path + ('?' + u.query if u.query else ''))
    r = c.getresponse()
    res = {'url': url, 'status': r.status, 'started': t0,
           'chunked': (r.getheader('Transfer-Encoding') or '') == 'chunked',
           'events': [], 'complete': True}
    body = bytearray()
    try:
        while True:
            piece = r.read1(1 << 16)
            if not piece:
                break
            body += piece
            res['events'].append([time.time(), len(piece)])
    except (http.client.IncompleteRead, OSError):
        res['complete'] = False
    with open(out, 'wb') as f:
        f.write(body)
    res['total'] = len(body)
    print(json.dumps(res))


if __name__ == '__main__':
    a = sys.argv[1:]
    opts = {'--timeout': '20', '--playlist': None}
    for k in list(opts):
        if k in a:
            i = a.index(k)
            opts[k] = a[i + 1]
            del a[i:i + 2]
    if len(a) != 2:
        sys.exit(__doc__)
    main(a[0], a[1], float(opts['--timeout']), opts['--playlist'])
