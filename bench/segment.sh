#!/bin/bash
# cs-segment against ffmpeg's hls muxer on the same 3-rendition MPEG-TS
# input (what cs-ladder writes), both writing HLS with MPEG-TS segments
# (the one format both can do): CPU seconds per minute of input and the
# ratio ffmpeg / cs-segment (above 1: cs-segment uses less). Also shown:
# cs-segment's full fMP4 output (CMAF + LL-HLS parts + DASH) for scale.
# Each is run REPS times (default 3); the fastest run counts.
#
# Usage: bench/segment.sh [SECONDS] [REPS]
set -eu
cd "$(dirname "$0")/.."
dur=${1:-60}
reps=${2:-3}
bin=${CS_BIN:-$PWD/bin}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "# making a ${dur} s input: 1280x720, 854x480, 640x360 at 30 fps + AAC"
ffmpeg -nostdin -loglevel error -y \
    -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=$dur" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=$dur" \
    -filter_complex "[0:v]split=3[a][b][c];[b]scale=854:480[vb];[c]scale=640:360[vc]" \
    -map "[a]" -map "[vb]" -map "[vc]" -map 1:a \
    -c:v libx264 -preset ultrafast -g 60 -keyint_min 60 -sc_threshold 0 \
    -b:v:0 3M -b:v:1 1500k -b:v:2 800k -c:a aac -b:a 128k -f mpegts "$work/in.ts"

cpu() { # CMD...: the best user+system CPU seconds of $reps runs
    local best="" t i
    for i in $(seq "$reps"); do
        rm -rf "$work/out"
        mkdir -p "$work/out"
        /usr/bin/time -f '%U %S' -o "$work/time" "$@" >/dev/null 2>"$work/err" ||
            { cat "$work/err" >&2; exit 1; }
        t=$(awk '{printf "%.3f", $1 + $2}' "$work/time")
        if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a < b)}'; then
            best=$t
        fi
    done
    echo "$best"
}

seg=$(cpu "$bin/cs-segment" --container ts --vod "$work/in.ts" -o "$work/out")
ff=$(cpu ffmpeg -nostdin -loglevel error -i "$work/in.ts" \
    -map 0:v:0 -map 0:a -map 0:v:1 -map 0:a -map 0:v:2 -map 0:a -c copy \
    -f hls -hls_time 2 -hls_playlist_type vod -hls_segment_type mpegts \
    -var_stream_map "v:0,a:0 v:1,a:1 v:2,a:2" -master_pl_name master.m3u8 \
    -hls_segment_filename "$work/out/v%v/%d.ts" "$work/out/v%v/index.m3u8")
fmp4=$(cpu "$bin/cs-segment" "$work/in.ts" -o "$work/out")

per_min() { awk -v t="$1" -v d="$dur" 'BEGIN{printf "%.3f", t * 60 / d}'; }
echo "input: ${dur} s, $(du -k "$work/in.ts" | cut -f1) KiB, best of $reps"
printf '%-44s %8s CPU s/min\n' "cs-segment --container ts" "$(per_min "$seg")"
printf '%-44s %8s CPU s/min\n' "ffmpeg -f hls (mpegts segments)" "$(per_min "$ff")"
printf '%-44s %8s CPU s/min\n' "cs-segment fMP4 + LL-HLS parts + DASH" "$(per_min "$fmp4")"
awk -v a="$ff" -v b="$seg" 'BEGIN{printf "ratio ffmpeg / cs-segment (TS): %.2f\n", a / b}'

# LL-HLS: latency and request load of hls.js (low-latency mode, headless
# Chromium) against a live cs-segment at several part targets, served by a
# plain HTTP server (no blocking reloads: an upper bound on requests).
# Latency is wall clock minus the playing frame's PROGRAM-DATE-TIME.
[ "${LL:-1}" = 1 ] || exit 0
command -v node >/dev/null && [ -x "${CHROMIUM:-/usr/bin/chromium}" ] || exit 0
cat >"$work/ll.mjs" <<JS
import { chromium } from '$PWD/node_modules/playwright-core/index.mjs';
const [url, secs] = [process.argv[2], Number(process.argv[3])];
const b = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'] });
const p = await b.newPage();
const u = new URL(url);
await p.route(u.origin + '/p.html', (r) => r.fulfill({ contentType: 'text/html',
  body: '<video id=v muted autoplay></video>' }));
await p.goto(u.origin + '/p.html');
await p.addScriptTag({ path: '$PWD/node_modules/hls.js/dist/hls.min.js' });
await p.evaluate((url) => { const h = new Hls({ lowLatencyMode: true });
  window.h = h; h.loadSource(url); h.attachMedia(document.getElementById('v')); }, url);
await p.waitForTimeout(6000);
const lat = [];
for (let i = 0; i < secs * 2; i++) {
  await p.waitForTimeout(500);
  lat.push(await p.evaluate(() => h.playingDate ? (Date.now() - h.playingDate.getTime()) / 1000 : NaN));
}
const ok = lat.filter((x) => !isNaN(x));
console.log((ok.reduce((a, x) => a + x, 0) / ok.length).toFixed(2));
await b.close();
JS
ffmpeg -nostdin -loglevel error -y -i "$work/in.ts" -t 40 -map 0 -c copy "$work/live.ts"
printf '%-12s %12s %14s\n' "part target" "latency s" "requests/s"
for part in 0.2 0.333 0.4 0.5; do
    rm -rf "$work/ll"
    mkdir -p "$work/ll"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    python3 -m http.server --bind 127.0.0.1 "$port" --directory "$work/ll" \
        >"$work/http.log" 2>&1 &
    srv=$!
    ffmpeg -nostdin -loglevel error -re -i "$work/live.ts" -map 0 -c copy -f mpegts - |
        "$bin/cs-segment" --part "$part" -o "$work/ll" &
    seg=$!
    while [ ! -s "$work/ll/master.m3u8" ]; do sleep 0.2; done
    n0=$(wc -l <"$work/http.log")
    lat=$(node "$work/ll.mjs" "http://127.0.0.1:$port/master.m3u8" 12)
    n1=$(wc -l <"$work/http.log")
    printf '%-12s %12s %14s\n' "$part" "$lat" \
        "$(awk -v n=$((n1 - n0)) 'BEGIN{printf "%.1f", n / 18}')"
    kill "$srv" 2>/dev/null
    wait "$seg" 2>/dev/null || true
    wait "$srv" 2>/dev/null || true
done
