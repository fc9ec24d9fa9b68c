# Shared by the cs-segment bats files: a 3-rendition input as cs-ladder
# makes it (one source, three sizes, identical fixed GOPs, one audio).

# ladder_input OUT SECONDS [FORMAT] [OFFSET] [SIZE0]
ladder_input() {
    local out=$1 dur=$2 fmt=${3:-mpegts} off=${4:-0} s0=${5:-320x240}
    ffmpeg -nostdin -loglevel error -y \
        -f lavfi -i "testsrc2=size=320x240:rate=25:duration=$dur" \
        -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=$dur" \
        -filter_complex "[0:v]split=3[a][b][c];[a]scale=${s0/x/:}[va];[b]scale=240:180[vb];[c]scale=160:120[vc]" \
        -map "[va]" -map "[vb]" -map "[vc]" -map 1:a \
        -c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 25 -keyint_min 25 \
        -sc_threshold 0 -b:v:0 400k -b:v:1 250k -b:v:2 120k \
        -c:a aac -b:a 64k -metadata:s:a:0 language=eng \
        -metadata:s:v:0 variant_name=hi -metadata:s:v:1 variant_name=mid \
        -metadata:s:v:2 variant_name=lo \
        -program st=0:st=3 -program st=1:st=3 -program st=2:st=3 \
        -metadata:p:0 service_name=hi -metadata:p:1 service_name=mid \
        -metadata:p:2 service_name=lo \
        -metadata:p:0 service_provider="cs-ladder variant_name=hi" \
        -metadata:p:1 service_provider="cs-ladder variant_name=mid" \
        -metadata:p:2 service_provider="cs-ladder variant_name=lo" \
        -output_ts_offset "$off" -f "$fmt" "$out"
}

# The EXTINF durations of a media playlist, one a line.
extinfs() {
    grep '^#EXTINF' "$1" | cut -d: -f2
}

# Serve DIR over HTTP on 127.0.0.1:PORT in the background; sets SERVER_PID.
serve_dir() {
    python3 -m http.server --bind 127.0.0.1 "$2" --directory "$1" \
        >"$T/http.log" 2>&1 &
    SERVER_PID=$!
    wait_port "$2"
}

# Feed FILE in real time to cs-segment ARGS... in the background; sets
# SEG_PID (cs-segment's pid) and FEED_PID.
live_segment() {
    local file=$1
    shift
    mkfifo "$T/feed"
    ffmpeg -nostdin -loglevel error -re -i "$file" -map 0 -c copy \
        -f mpegts -y "$T/feed" &
    FEED_PID=$!
    cs-segment "$@" "$T/feed" 2>>"$T/seg.err" &
    SEG_PID=$!
}

# A crash: cs-segment killed with SIGKILL, its feeder stopped, both
# forgotten, the FIFO removed (live_segment makes a new one).
kill_live() {
    local st=0
    if ! kill -9 "$SEG_PID" 2>/dev/null; then
        wait "$SEG_PID" || st=$?
        echo "cs-segment had already ended (status $st) before its kill; its stderr:"
        tail -5 "$T/seg.err"
        return 1
    fi
    # SIGKILL: a feeder still opening the FIFO (its reader killed first)
    # sits in open(2) and never acts on a SIGTERM
    kill -9 "$FEED_PID" 2>/dev/null || true
    wait "$SEG_PID" "$FEED_PID" 2>/dev/null || true
    SEG_PID='' FEED_PID=''
    rm -f "$T/feed"
}

stop_live() {
    [ -n "${SEG_PID:-}" ] && kill "$SEG_PID" 2>/dev/null
    [ -n "${FEED_PID:-}" ] && kill -9 "$FEED_PID" 2>/dev/null
    [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null
    # never a bare wait: it would wait for bats' timeout watchdog too
    if [ -n "${SEG_PID:-}${FEED_PID:-}${SERVER_PID:-}" ]; then
        wait ${SEG_PID:+"$SEG_PID"} ${FEED_PID:+"$FEED_PID"} \
            ${SERVER_PID:+"$SERVER_PID"} 2>/dev/null
    fi
    return 0
}

# Wait until FILE contains TEXT (max $3 seconds, default 20).
wait_grep() {
    local i
    for i in $(seq $(( ${3:-20} * 10 ))); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# Check the LL-HLS rules of draft-pantos-hls-rfc8216bis on every media
# playlist under DIR (copied first, so one consistent moment is checked).
check_ll() {
    python3 - "$1" <<'PY'
import os, re, sys
from datetime import datetime
root = sys.argv[1]
names = sorted(d for d in os.listdir(root)
               if os.path.exists(os.path.join(root, d, 'index.m3u8')))
assert len(names) >= 2, names
text = {n: open(os.path.join(root, n, 'index.m3u8')).read() for n in names}
def attrs(line):
    return dict(re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', line.split(':', 1)[1]))
controls = set()
for n, t in text.items():
    lines = t.splitlines()
    tag = lambda p: [l for l in lines if l.startswith(p)]
    td = int(tag('#EXT-X-TARGETDURATION:')[0].split(':')[1])
    sc = tag('#EXT-X-SERVER-CONTROL:')
    assert len(sc) == 1, n
    controls.add(sc[0])
    sc = attrs(sc[0])
    pt = float(attrs(tag('#EXT-X-PART-INF:')[0])['PART-TARGET'])
    assert 0.2 <= pt <= 0.5, pt
    assert sc['CAN-BLOCK-RELOAD'] == 'YES'
    # the draft's MUST: at least twice the part target (three: its SHOULD)
    assert float(sc['PART-HOLD-BACK']) >= 2 * pt - 1e-9, sc
    assert float(sc['CAN-SKIP-UNTIL']) >= 6 * td, sc
    pdts = [datetime.fromisoformat(l.split(':', 1)[1].replace('Z', '+00:00'))
            for l in tag('#EXT-X-PROGRAM-DATE-TIME:')]
    assert pdts and pdts == sorted(pdts), (n, pdts)
    msn = int(tag('#EXT-X-MEDIA-SEQUENCE:')[0].split(':')[1])
    # Walk segments and parts.
    seg, parts, segs, open_parts, gap, gaps = msn, [], [], [], False, set()
    for l in lines:
        if l == '#EXT-X-GAP':
            gap = True
        elif l.startswith('#EXT-X-PART:'):
            a = attrs(l)
            parts.append((float(a['DURATION']), a['URI'].strip('"'),
                          a.get('INDEPENDENT') == 'YES'))
        elif l.startswith('#EXTINF:'):
            dur = float(l[8:].split(',')[0])
            segs.append((seg, dur, parts))
            if gap:
                gaps.add(seg)
            seg, parts, gap = seg + 1, [], False
    open_parts = parts
    assert segs, n
    listed = [p for s in segs for p in s[2]] + open_parts
    assert listed, n + ': no parts'
    for s, dur, ps in segs + [(seg, None, open_parts)]:
        for i, (d, uri, ind) in enumerate(ps):
            assert uri == '%d.%d.m4s' % (s, i), (n, uri, s, i)
            assert d <= pt + 1e-3, (n, uri, d)
            last = dur is not None and i == len(ps) - 1
            assert d >= 0.85 * pt - 1e-3 or ind or last, (n, uri, d)
            assert os.path.getsize(os.path.join(root, n, uri)) > 0
        if dur is not None and s not in gaps:
            assert os.path.getsize(os.path.join(root, n, '%d.m4s' % s)) > 0
            if ps and ps[0][1].endswith('.0.m4s'):
                assert abs(sum(p[0] for p in ps) - dur) < 0.01, (n, s)
        if ps and ps[0][1].endswith('.0.m4s') and n != 'audio':
            assert ps[0][2], (n, s, 'first part not INDEPENDENT')
    # Parts only within the last 3 target durations.
    first = next(i for i, s in enumerate(segs) if s[2]) if any(s[2] for s in segs) else len(segs)
    after = sum(s[1] for s in segs[first + 1:]) + sum(p[0] for p in open_parts)
    assert after < 3 * td + 1e-6, (n, after)
    # ... and on 3 segments at most, the open one (parts, preload hint)
    # counted: a strict reader counts segments, not seconds.
    assert len(segs) - first + 1 <= 3, (n, 'parts on', len(segs) - first + 1, 'segments')
    # The preload hint names the next part.
    hint = attrs(tag('#EXT-X-PRELOAD-HINT:')[0])
    assert hint['TYPE'] == 'PART'
    want = '%d.%d.m4s' % (seg, len(open_parts))
    assert hint['URI'].strip('"') == want, (n, hint, want)
    reps = [attrs(l) for l in tag('#EXT-X-RENDITION-REPORT:')]
    got = sorted(r['URI'].strip('"') for r in reps)
    assert got == sorted('../%s/index.m3u8' % o for o in names if o != n), (n, got, names)
    for r in reps:
        assert abs(int(r['LAST-MSN']) - seg) <= 1, (n, r, seg)
        assert int(r['LAST-PART']) >= 0
assert len(controls) == 1, controls
print('ok', len(names), 'playlists')
PY
}

# Snapshot a live output folder: playlists first, then what they list.
snapshot() {
    rm -rf "$2"
    mkdir -p "$2"
    (cd "$1" || exit
    for f in master.m3u8 manifest.mpd; do
        [ ! -e "$f" ] || cp "$f" "$2/"
    done
    for d in */; do
        mkdir -p "$2/$d"
        # (tried again: say so if a playlist could not be copied at all)
        cp "$d/index.m3u8" "$2/$d/" 2>/dev/null ||
            cp "$d/index.m3u8" "$2/$d/" ||
            echo "snapshot: no copy of $d/index.m3u8" >&2
    done
    # (a file may go between the listing and the copy: the live output
    # deletes what left the window 6 target durations ago. One cp per
    # folder: a cp per file took seconds on a loaded machine, long enough
    # for a listed file's grace to run out mid-copy.)
    local d f files
    for d in */; do
        files=()
        for f in "$d"*; do
            [ "${f##*/}" = index.m3u8 ] || files+=("$f")
        done
        [ "${#files[@]}" -eq 0 ] || cp -- "${files[@]}" "$2/$d/" 2>/dev/null || true
    done) || true
    return 0
}

# The playlists and the MPD under DIR through parsers nobody here wrote:
# hls-parser (strict) and mpd-parser, whose segments must all be files.
parse_check() {
    node "$REPO/tests/tools/parse-check.mjs" "$1"
}

# An HTTP origin on 127.0.0.1:PORT storing PUTs under DIR, answering GET
# and DELETE, requiring "Authorization: Bearer TOKEN"; one line per request
# in $T/put.log: METHOD PATH CONTENT-TYPE CACHE-CONTROL. Sets SERVER_PID.
put_server() {
    python3 - "$1" "$2" "$3" "$T/put.log" <<'PY' &
import os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port, root, token, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a):
        pass
    def note(self):
        with open(log, 'a') as f:
            f.write('%s %s %s %s %d\n' % (self.command, self.path,
                    self.headers.get('Content-Type', '-'),
                    (self.headers.get('Cache-Control') or '-').replace(' ', ''),
                    self.client_address[1]))
    def reply(self, code, body=b''):
        self.send_response(code)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def check(self):
        self.note()
        if self.headers.get('Authorization') != 'Bearer ' + token:
            self.reply(401)
            return None
        p = os.path.normpath(os.path.join(root, self.path.lstrip('/')))
        return p if p.startswith(root) else None
    def do_PUT(self):
        p = self.check()
        if not p:
            return
        n = int(self.headers['Content-Length'])
        body = self.rfile.read(n)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, 'wb') as f:
            f.write(body)
        self.reply(201)
    def do_GET(self):
        p = self.check()
        if not p:
            return
        if not os.path.isfile(p):
            return self.reply(404)
        self.reply(200, open(p, 'rb').read())
    def do_DELETE(self):
        p = self.check()
        if not p:
            return
        if os.path.isfile(p):
            os.unlink(p)
        self.reply(204)
ThreadingHTTPServer(('127.0.0.1', port), H).serve_forever()
PY
    SERVER_PID=$!
    wait_port "$1"
}

# play_check KIND URL SECONDS COND [play.mjs options]: play URL in headless
# Chromium (tests/browser/play.mjs) and check its report r against the
# Python expression COND.
play_check() {
    local kind=$1 url=$2 secs=$3 cond=$4 out
    shift 4
    out=$(timeout 90 node "$REPO/tests/browser/play.mjs" --kind "$kind" \
        --url "$url" --seconds "$secs" "$@") || { echo "$out"; return 1; }
    echo "$out"
    echo "$out" | python3 -c "import json, sys
r = json.loads(sys.stdin.read().strip().splitlines()[-1])
assert $cond, r"
}
