#!/bin/bash
# What shorter LL-HLS parts cost the origin. For each part target: ffmpeg's
# test pattern in real time (640x360, 25 fps, a keyframe a second, AAC)
# -> cs-segment --segment 2 --part P -> cs-serve, and CLIENTS light LL-HLS
# clients (tests/tools/llhls-clients.mjs: blocking playlist reloads, then
# every part, as a low-latency player follows one rendition) for SECONDS.
# Prints, per part target: requests a second per viewer, cs-serve's CPU
# (% of one core) per 100 viewers, its peak memory, and the part delivery
# delay behind the playlist clock (p50/p95). A player also follows the
# audio rendition: about twice these requests.
#
#   bench/origin-cost.sh [SECONDS] [CLIENTS] [PART...]   (30 100 0.2 0.33 0.4)
set -eu
cd "$(dirname "$0")/.."
repo=$PWD
secs=${1:-30}
clients=${2:-100}
shift $(($# < 2 ? $# : 2))
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(0.2 0.33 0.4)
. bench/run.bash
tck=$(getconf CLK_TCK)

# user + system CPU ticks of PID
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

printf '%-6s %14s %18s %10s %14s %7s\n' part "req/s/viewer" "CPU %/100 viewers" \
    "peak MiB" "delay p50/p95" errors
for part in "${parts[@]}"; do
    root=$w/www-$part h=$(port tcp)
    mkdir -p "$root/live"
    bg "ffmpeg -nostdin -loglevel error -re -f lavfi -i testsrc2=size=640x360:rate=25 \
        -f lavfi -i sine -c:v libx264 -preset veryfast -tune zerolatency -g 25 \
        -b:v 1000k -c:a aac -f mpegts - |
        cs-segment -q --segment 2 --part $part -o '$root/live'"
    # (all the clients come from one address: the per-address cap lifted)
    bg "exec cs-serve -q --root '$root' --listen 127.0.0.1:$h --max-per-address 1000"
    for _ in $(seq 300); do [ -s "$root/live/master.m3u8" ] && break; sleep 0.1; done
    sleep 3
    pid=$(pgrep -f "cs-serve -q --root $root " | head -1)
    t0=$(ticks "$pid")
    node tests/tools/llhls-clients.mjs --url "http://127.0.0.1:$h/live/master.m3u8" \
        --clients "$clients" --seconds "$secs" > "$w/clients-$part.json"
    t1=$(ticks "$pid")
    peak=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
    jq -r --arg part "$part" --argjson secs "$secs" --argjson cpu "$(( t1 - t0 ))" \
        --argjson tck "$tck" --argjson peak "$peak" '
        [$part,
         (.requests / $secs / .clients * 100 | round / 100),
         ($cpu / $tck / $secs * 100 * 100 / .clients * 10 | round / 10),
         ($peak / 1024 | round),
         "\(.delay_vs_pdt_p50_ms)/\(.delay_vs_pdt_p95_ms) ms",
         .errors] | @tsv' "$w/clients-$part.json" |
        awk -F'\t' '{ printf "%-6s %14s %18s %10s %14s %7s\n", $1, $2, $3, $4, $5, $6 }'
    jq -r '.error_list[]' "$w/clients-$part.json" | sed 's/^/    /'
    for g in "${groups[@]}"; do kill -TERM -- "-$g" 2>/dev/null || true; done
    sleep 1
    groups=()
done
echo "load: $(uptime | sed 's/.*load average: //')"
