#!/bin/bash
# CPU and memory of cs-send's WHEP endpoint per viewer: a live 640x360
# H.264 + Opus stream at 1.5 Mb/s into cs-send whep://, then 1, 10 and 50
# viewers (tests/tools/whep-view, webrtcbin, in a process of their own).
# For each count, cs-send's CPU (% of one core, from /proc over the
# window) and resident memory, less the figures with no viewer, divided by
# the viewers. The first viewer a process serves costs more, once: the
# libraries of ICE, DTLS and SRTP mapped in, their state made. So the
# figures with no viewer are taken twice, before any viewer and after one
# came and went: the difference is that one-time cost, and each count is
# measured against the second. Usage: bench/webrtc.sh [SECONDS-PER-STEP]
# [COUNTS...]
set -eu
cd "$(dirname "$0")/.."
repo=$PWD
secs=${1:-15}
shift || true
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1 10 50)
export PATH=${CS_BIN:-$repo/bin}:${CS_TOOLS:-$repo/build/tools}:$PATH
w=$(mktemp -d)
set -m
pipe=
cleanup() {
    [ -z "$pipe" ] || kill -TERM -- "-$pipe" 2>/dev/null || true
    sleep 1
    rm -rf "$w"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port/live

ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=640x360:rate=25:duration=20 \
    -f lavfi -i sine=duration=20 -c:v libx264 -preset veryfast -c:a aac "$w/clip.mp4"
bash -c "cs-decode -q --loop inf --realtime '$w/clip.mp4' |
    cs-encode -q --tune zerolatency --audio opus --bitrate 1500k --gop 1 |
    cs-send -q --max-viewers 200 'whep://127.0.0.1:$port/live?mode=listener'" &
pipe=$!
for _ in $(seq 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -I "$url")" = 200 ] && break
    sleep 0.2
done
sender=$(pgrep -f "cs-send -q --max-viewers 200 whep://127.0.0.1:$port/live")

# CPU seconds (user + system) and resident KiB of the sender.
cpu() { awk '{ print ($14 + $15) / '"$(getconf CLK_TCK)"' }' "/proc/$sender/stat"; }
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$sender/status"; }
# measure SECONDS: "cpu_percent rss_kib" over the window
measure() {
    local c0 c1
    c0=$(cpu)
    sleep "$1"
    c1=$(cpu)
    echo "$(echo "($c1 - $c0) * 100 / $1" | bc -l) $(rss)"
}

mib() { echo "$1 / 1024" | bc -l; }
read -r cold_cpu cold_rss < <(measure "$secs")
printf '%-8s %12s %12s %14s %14s\n' viewers cpu_% rss_MiB cpu_%/viewer MiB/viewer
printf '%-8s %12.1f %12.1f   (before any viewer)\n' 0 "$cold_cpu" "$(mib "$cold_rss")"
whep-view "$url" --count 1 --seconds 8 >"$w/view-first.json" || true
sleep 3
read -r base_cpu base_rss < <(measure "$secs")
printf '%-8s %12.1f %12.1f   (after one viewer: %.1f MiB once)\n' 0 "$base_cpu" \
    "$(mib "$base_rss")" "$(mib "$((base_rss - cold_rss))")"
for n in "${counts[@]}"; do
    whep-view "$url" --count "$n" --seconds $((secs + 10)) >"$w/view-$n.json" &
    viewers=$!
    sleep 8
    read -r c r < <(measure "$secs")
    wait "$viewers" || true
    ok=$(jq '[.viewers[] | select(.frames > 0)] | length' "$w/view-$n.json")
    printf '%-8s %12.1f %12.1f %14.2f %14.2f   (%s playing)\n' "$n" "$c" \
        "$(echo "$r / 1024" | bc -l)" \
        "$(echo "($c - $base_cpu) / $n" | bc -l)" \
        "$(echo "($r - $base_rss) / 1024 / $n" | bc -l)" "$ok"
    sleep 3
done
