#!/bin/bash
# bench/soak.sh: the whole channel for a long time, with the publisher
# killed and restarted every few minutes, and the memory (RSS) and open
# file descriptors of every long-lived process sampled each minute. At
# the end, per process: the first and last sample after warm-up, the
# spread (max - min) / min, and "flat" when it is within 10 %.
#
#   bench/soak.sh [MINUTES] [RESTART_MINUTES]     (defaults: 180 and 3)
#
# The emitter is unpaced by default (cs-fetch play --ahead 0, cs-decode
# without --realtime, cs-send --no-pace, so media goes through as fast as
# the ingest side takes it); PACE=1 paces it as a live source. SAMPLE_S
# (default 60) sets the sampling period, WARMUP (default 3) the samples
# left out at the start.
# SIZE (default 640x360) is the emitter's picture and RUNGS (default
# 360p:800k,180p:250k) the ladder's: a smaller picture puts more hours of
# media through the same code in the same time.
# A player polls the newest part all along; its failures are counted.
# Not a test: it prints figures. Needs a build, ffmpeg and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-180}
restart=${2:-3}
sample=${SAMPLE_S:-60}
warmup=${WARMUP:-3}
export PATH=$PWD/bin:$PATH
. examples/lib.sh
work=$(mktemp -d /tmp/cs-soak.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
http=127.0.0.1:$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
emitter=''
cleanup() {
    [ -n "$emitter" ] && kill -TERM -- "-$emitter" 2>/dev/null
    stop_all
    sleep 1
    rm -rf "$work" 2>/dev/null || { sleep 2; rm -rf "$work"; }
}
trap cleanup EXIT
trap 'exit 130' INT TERM

make_clips "$work/store" >/dev/null
mkdir -p "$work/www/live"
# Unpaced, cs-fetch play prints its list as fast as it is read (--ahead 0:
# paced by the clips' durations by default, which held the soak to 1x).
if [ "${PACE:-0}" = 1 ]; then ahead='' realtime=--realtime nopace=''; else ahead='--ahead 0' realtime='' nopace=--no-pace; fi

start_bg origin "cs-serve --root '$work/www' --listen '$http' 2>'$work/serve.err'"
start_bg ingest "cs-recv --linger 30 'srt://127.0.0.1:$port?mode=listener&latency=500' 2>'$work/recv.err' |
    cs-ladder --rungs '${RUNGS:-360p:800k,180p:250k}' --tune zerolatency --gop 1 --preset veryfast 2>'$work/ladder.err' |
    cs-segment --segment 2 --part 0.4 --window 10 -o '$work/www/live' 2>'$work/segment.err'"

# The publisher: one run of the emitter pipeline, in a process group.
publish() {
    bash -c "cs-fetch play $ahead --loop '$work/store' |
        cs-decode --playlist - --size ${SIZE:-640x360} --fps 25 $realtime |
        cs-encode --tune zerolatency --bitrate 1500k --gop 1 |
        cs-send $nopace --retry forever 'srt://127.0.0.1:$port?latency=500'" \
        2>>"$work/emitter.err" &
    emitter=$!
}

# The long-lived programs (the ingest side and the origin): NAME PID, one
# a line, from the process groups start_bg made.
programs() {
    local g pid name
    for g in "${CS_GROUPS[@]}"; do
        for pid in "$g" $(pgrep -P "$g"); do
            name=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
            [[ $name == cs-* ]] && echo "$name $pid"
        done
    done
}

poll_player() {
    local ok=0 bad=0
    while sleep 1; do
        if curl -sf -o /dev/null --max-time 5 "http://$http/live/master.m3u8"; then
            ok=$((ok + 1))
        else
            bad=$((bad + 1))
        fi
        echo "$ok $bad" >"$work/player"
    done
}

publish
wait_for "$work/www/live/master.m3u8" 60 || { echo "soak: no playlist after 60 s" >&2; cat "$work"/*.err >&2; exit 1; }
poll_player &
player=$!
echo "soak: ${minutes} min of ${SIZE:-640x360} into rungs ${RUNGS:-360p:800k,180p:250k}, publisher restarted every ${restart} min, a sample every ${sample} s ($(uptime | sed 's/.*load/load/'))"
printf '%6s %-10s %8s %6s\n' minute program rss_kib fds
start=$(date +%s)
next_restart=$((start + restart * 60))
restarts=0
: >"$work/samples"
while [ $(( $(date +%s) - start )) -lt $((minutes * 60)) ]; do
    sleep "$sample"
    now=$(date +%s)
    if [ "$now" -ge "$next_restart" ]; then
        kill -KILL -- "-$emitter" 2>/dev/null || true
        wait "$emitter" 2>/dev/null || true
        publish
        restarts=$((restarts + 1))
        next_restart=$((now + restart * 60))
    fi
    programs | while read -r name pid; do
        rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
        fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
        printf '%6d %-10s %8d %6d\n' $(( (now - start) / 60 )) "$name" "$rss" "$fds" |
            tee -a "$work/samples"
    done
done
kill "$player" 2>/dev/null || true
echo
echo "after $minutes min, $restarts publisher restarts; player polls ok/failed: $(cat "$work/player" 2>/dev/null)"
# How much media went through: the segments the packager has made (its
# media sequence plus the window), times their durations.
media=$(ls "$work/www/live"/*/index.m3u8 | head -1)
awk -F'[:,]' '/^#EXT-X-MEDIA-SEQUENCE:/ { seq = $2 }
    /^#EXTINF:/ { n++; sum += $2 }
    END { if (n) printf "media through the channel: %.2f h (%d segments of %.2f s on average) in %s\n",
        (seq + n) * sum / n / 3600, seq + n, sum / n, FILENAME }' "$media"
for f in recv ladder segment serve; do
    echo "cs-$f: $(grep -c . "$work/$f.err" || true) stderr lines; the last:"
    tail -n 2 "$work/$f.err" | sed 's/^/    /'
done
printf '%-10s %10s %10s %8s %6s %6s %s\n' program rss_first rss_last rss_spread fds_min fds_max verdict
awk -v w="$warmup" '
    { n[$2]++; if (n[$2] <= w) next
      if (!($2 in f)) { f[$2] = $3; lo[$2] = $3; hi[$2] = $3; flo[$2] = $4; fhi[$2] = $4 }
      l[$2] = $3
      if ($3 < lo[$2]) lo[$2] = $3; if ($3 > hi[$2]) hi[$2] = $3
      if ($4 < flo[$2]) flo[$2] = $4; if ($4 > fhi[$2]) fhi[$2] = $4 }
    END { for (p in f) {
        s = (hi[p] - lo[p]) / lo[p]
        v = (s <= 0.10 && (fhi[p] - flo[p]) <= 0.1 * flo[p] + 2) ? "flat" : "GROWS"
        printf "%-10s %10d %10d %7.1f%% %6d %6d %s\n", p, f[p], l[p], 100 * s, flo[p], fhi[p], v } }
' "$work/samples"
