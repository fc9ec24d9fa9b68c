#!/bin/bash
# The latency budget of the LL-HLS path, stage by stage, in one run:
#
#   cs-decode --realtime --stamp | cs-encode | cs-send  --SRT-->  cs-recv |
#   cs-ladder | cs-segment -> disk -> cs-serve -> hls.js in Chromium
#
# Every frame carries its capture time (cs-encode --capture-time, an SEI
# message: lib/media/captime.h), the wall clock at which it entered
# cs-encode. Each stage's latency is the wall clock at the hand-over minus
# that capture time:
#   after cs-encode    its output, teed into a probe that finds the SEI in
#                      the MPEG-TS bytes as they arrive (per PID, no demuxer
#                      and so no wait for the next packet)
#   after cs-recv      the same probe on cs-recv's output
#   after cs-ladder    the same probe on cs-ladder's output (every rung's
#                      frames; the first rung's counted)
#   part on disk       a watcher polling the first rung's folder every 5 ms:
#                      when a part file appears (written whole, renamed),
#                      minus the capture time of its first frame
#   cs-serve answer    a client making the blocking playlist request for the
#                      next part (_HLS_msn/_HLS_part, as hls.js does): when
#                      the answer arrives, minus its first frame's capture
#                      time (the part fetched right after)
#   player shows it    cs-serve's player page (hls.js, low latency) reading
#                      the --stamp drawn by cs-decode (just before cs-encode)
#                      from the shown frame: glass to glass (its first 10 s
#                      of playing, the join and catch-up, left out)
# Prints p50 and p95 per stage (samples of the first WARMUP s left out).
# Usage: bench/latency-budget.sh [SECONDS] [PART-TARGET] [SEGMENT]
set -eu
cd "$(dirname "$0")/.."
repo=$PWD
secs=${1:-30}
part=${2:-0.4}
segment=${3:-2}
warmup=8
. bench/run.bash

# probe.py: MPEG-TS on stdin, JSON lines {"t": now, "lat_ms": now - capture}
# for each capture time of the first PID that carries them.
cat > "$w/probe.py" <<'PY'
import json, sys, time
UUID = bytes.fromhex("216bbf12a72586fbab546acaf55038e3")
out = open(sys.argv[1], "w", buffering=1)
carry, pid0, rest = {}, None, b""
inp = sys.stdin.buffer
while True:
    b = inp.read1(65536)
    if not b:
        break
    now = time.time()
    b = rest + b
    n = len(b) // 188 * 188
    rest = b[n:]
    for o in range(0, n, 188):
        p = b[o:o + 188]
        if p[0] != 0x47:
            continue
        pid = (p[1] & 0x1f) << 8 | p[2]
        s = 4
        if p[3] & 0x20:
            s += 1 + p[4]
        if not p[3] & 0x10 or s >= 188:
            continue
        buf = carry.get(pid, b"") + p[s:]
        i = buf.find(UUID)
        while i >= 0 and i + 32 <= len(buf):
            if pid0 is None:
                pid0 = pid
            if pid == pid0:
                cap = int(buf[i + 16:i + 32]) / 1e6
                out.write(json.dumps({"t": now, "lat_ms": (now - cap) * 1e3}) + "\n")
            i = buf.find(UUID, i + 1)
        carry[pid] = buf[-31:]
PY

# parts.py DIR OUT: each new part file N.K.m4s in DIR: now - capture time
# of its first frame.
cat > "$w/parts.py" <<'PY'
import json, os, re, sys, time
UUID = bytes.fromhex("216bbf12a72586fbab546acaf55038e3")
d, out = sys.argv[1], open(sys.argv[2], "w", buffering=1)
seen = set()
while True:
    try:
        names = os.listdir(d)
    except FileNotFoundError:
        names = []
    now = time.time()
    for n in names:
        if n in seen or not re.fullmatch(r"\d+\.\d+\.m4s", n):
            continue
        seen.add(n)
        try:
            data = open(os.path.join(d, n), "rb").read()
        except OSError:
            continue
        i = data.find(UUID)
        if i >= 0:
            cap = int(data[i + 16:i + 32]) / 1e6
            out.write(json.dumps({"t": now, "lat_ms": (now - cap) * 1e3}) + "\n")
    time.sleep(0.005)
PY

# block.py URL OUT: blocking reloads for the hinted part, as hls.js makes
# them; when the answer comes, minus the part's first capture time.
cat > "$w/block.py" <<'PY'
import json, re, sys, time, urllib.request
UUID = bytes.fromhex("216bbf12a72586fbab546acaf55038e3")
url, out = sys.argv[1], open(sys.argv[2], "w", buffering=1)
base = url.rsplit("/", 1)[0]
want = None
while True:
    q = url + ("?_HLS_msn=%d&_HLS_part=%d" % want if want else "")
    try:
        text = urllib.request.urlopen(q, timeout=10).read().decode()
    except Exception:
        time.sleep(0.2)
        continue
    now = time.time()
    hint = re.search(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(\d+)\.(\d+)\.m4s"', text)
    if want:
        name = "%d.%d.m4s" % want
        if name in text:
            data = urllib.request.urlopen(base + "/" + name, timeout=10).read()
            i = data.find(UUID)
            if i >= 0:
                cap = int(data[i + 16:i + 32]) / 1e6
                out.write(json.dumps({"t": now, "lat_ms": (now - cap) * 1e3}) + "\n")
    if hint:
        want = (int(hint.group(1)), int(hint.group(2)))
PY

ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=640x360:rate=25:duration=20 \
    -f lavfi -i sine=duration=20 -c:v libx264 -preset veryfast -c:a aac "$w/clip.mp4"

p=$(port udp) h=$(port tcp)
root=$w/www
mkdir -p "$root/live"
bg "cs-serve -q --root '$root' --listen 127.0.0.1:$h"
bg "cs-recv -q 'srt://:$p?mode=listener' |
    tee >(python3 '$w/probe.py' '$w/recv.jsonl') |
    cs-ladder -q --rungs 360p:800k,180p:250k --tune zerolatency --gop 1 |
    tee >(python3 '$w/probe.py' '$w/ladder.jsonl') |
    cs-segment -q --segment $segment --part $part -o '$root/live'"
bg "python3 '$w/parts.py' '$root/live/360p' '$w/parts.jsonl'"
sleep 1
bg "cs-decode -q --loop inf --realtime --stamp '$w/clip.mp4' |
    cs-encode -q --tune zerolatency --bitrate 1500k --gop 1 |
    tee >(python3 '$w/probe.py' '$w/encode.jsonl') |
    cs-send -q --retry forever 'srt://127.0.0.1:$p'"
for _ in $(seq 300); do [ -s "$root/live/master.m3u8" ] && break; sleep 0.1; done
bg "python3 '$w/block.py' 'http://127.0.0.1:$h/live/360p/index.m3u8' '$w/serve.jsonl'"
sleep 4
node tests/browser/play.mjs --kind page --seconds "$secs" --interval 250 --warmup 10 \
    --url "http://127.0.0.1:$h/live/" > "$w/player.json" || true

python3 - "$w" "$warmup" "$part" "$segment" <<'PY'
import json, os, sys
w, warm = sys.argv[1], float(sys.argv[2])
def pct(v, q):
    return v[min(len(v) - 1, int(len(v) * q))]
rows = []
t0 = None
for name, label in [("encode", "after cs-encode"), ("recv", "after cs-recv (SRT)"),
                    ("ladder", "after cs-ladder"), ("parts", "part complete on disk"),
                    ("serve", "cs-serve answers the blocking reload")]:
    f = os.path.join(w, name + ".jsonl")
    s = [json.loads(l) for l in open(f)] if os.path.exists(f) else []
    if s and t0 is None:
        t0 = s[0]["t"]
    v = sorted(x["lat_ms"] for x in s if t0 and x["t"] > t0 + warm)
    rows.append((label, pct(v, 0.5) if v else None, pct(v, 0.95) if v else None, len(v)))
try:
    l = json.load(open(os.path.join(w, "player.json"))).get("latency") or {}
except (OSError, ValueError):
    l = {}
rows.append(("player shows it (hls.js)", l.get("medianMs"), l.get("p95Ms"), l.get("samples", 0)))
print("LL-HLS latency budget: --segment %s --part %s, 640x360 25 fps, loopback"
      % (sys.argv[4], sys.argv[3]))
print("%-38s %9s %9s %8s" % ("stage (capture -> hand-over)", "p50 ms", "p95 ms", "samples"))
for r in rows:
    f = lambda x: "-" if x is None else "%.0f" % x
    print("%-38s %9s %9s %8s" % (r[0], f(r[1]), f(r[2]), r[3]))
PY
echo "load: $(uptime | sed 's/.*load average: //')"
