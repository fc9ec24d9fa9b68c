#!/bin/bash
# cs-send -> cs-recv over SRT on loopback against srt-live-transmit ->
# srt-live-transmit carrying the same constant-rate MPEG-TS at the same
# pace (srt-live-transmit does not pace a file, so ffmpeg -re feeds it; its
# CPU is not counted). Prints throughput (bytes delivered / wall time) and
# CPU (user + system of sender and receiver) as ratios cs / srt-live-transmit
# (throughput: 1 is parity; CPU: below 1 is better for cs). The two run
# in turn ROUNDS times and each side's least CPU counts: on this VM the
# system time of one transfer swings up to 3x from run to run.
# Usage: bench/transport.sh [SECONDS] [RATE] [ROUNDS]
set -eu
cd "$(dirname "$0")/.."
secs=${1:-10} rate=${2:-8M} rounds=${3:-3}
bin=${CS_BIN:-$PWD/bin}
w=$(mktemp -d)
trap 'rm -rf "$w"; kill $(jobs -p) 2>/dev/null || true' EXIT

# Constant-rate TS: x264 at the rate, padded by the muxer to a fixed muxrate.
ffmpeg -nostdin -loglevel error -f lavfi -i "testsrc2=size=1280x720:rate=25:duration=$secs" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=$secs" \
    -c:v libx264 -preset ultrafast -b:v "$rate" -maxrate "$rate" -bufsize "$rate" \
    -g 50 -c:a aac -b:a 128k -muxrate "$(( $(numfmt --from=si "$rate") + 400000 ))" \
    -f mpegts "$w/in.ts"
size=$(stat -c %s "$w/in.ts")

port() {
    python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
timed() { # OUT CMD...: run CMD under time(1), figures to OUT
    local out=$1
    shift
    /usr/bin/time -f "%e %U %S" -o "$out" "$@"
}
cpu() { tail -n 1 "$1" | awk '{ print $2 + $3 }'; }

run_cs() {
    local p
    p=$(port)
    timed "$w/cs-recv.t" "$bin/cs-recv" -q --once \
        "srt://127.0.0.1:$p?mode=listener&latency=120" >"$w/cs.ts" &
    local r=$!
    sleep 0.5
    timed "$w/cs-send.t" "$bin/cs-send" -q "srt://127.0.0.1:$p?latency=120" \
        <"$w/in.ts"
    wait "$r"
}

run_slt() {
    local p
    p=$(port)
    timed "$w/slt-recv.t" srt-live-transmit -q -a:no \
        "srt://:$p?mode=listener&latency=120" file://con >"$w/slt.ts" &
    local r=$!
    sleep 0.5
    ffmpeg -nostdin -loglevel error -re -i "$w/in.ts" -c copy -f mpegts - |
        timed "$w/slt-send.t" timeout -s INT "$((secs + 3))" \
        srt-live-transmit -q file://con "srt://127.0.0.1:$p?latency=120&linger=2" ||
        true
    sleep 1
    kill -INT "$r" 2>/dev/null || true
    wait "$r" || true
}

least() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b < a ? b : a) }'; }
cs_cpu="" slt_cpu="" cs_each="" slt_each=""
for _ in $(seq "$rounds"); do
    run_cs
    run_slt
    c=$(echo "$(cpu "$w/cs-send.t") + $(cpu "$w/cs-recv.t")" | bc -l)
    l=$(echo "$(cpu "$w/slt-send.t") + $(cpu "$w/slt-recv.t")" | bc -l)
    cs_each="$cs_each $(cpu "$w/cs-send.t")+$(cpu "$w/cs-recv.t")"
    slt_each="$slt_each $(cpu "$w/slt-send.t")+$(cpu "$w/slt-recv.t")"
    cs_cpu=$(least "$cs_cpu" "$c")
    slt_cpu=$(least "$slt_cpu" "$l")
done
cs_tp=$(echo "$(stat -c %s "$w/cs.ts") / $secs" | bc -l)
slt_tp=$(echo "$(stat -c %s "$w/slt.ts") / $secs" | bc -l)

printf 'input: %d s of MPEG-TS at %s (%d bytes)\n' "$secs" "$rate" "$size"
printf '%-26s %12s %8s   %s\n' "" "delivered B" "Mbit/s" \
    "cpu s snd+rcv, each round"
printf '%-26s %12d %8.2f  %s\n' "cs-send | cs-recv" \
    "$(stat -c %s "$w/cs.ts")" "$(echo "$cs_tp * 8 / 1000000" | bc -l)" \
    "$cs_each"
printf '%-26s %12d %8.2f  %s\n' "srt-live-transmit (both)" \
    "$(stat -c %s "$w/slt.ts")" "$(echo "$slt_tp * 8 / 1000000" | bc -l)" \
    "$slt_each"
printf 'least CPU of %d rounds: cs %.2f s, srt-live-transmit %.2f s\n' \
    "$rounds" "$cs_cpu" "$slt_cpu"
printf 'ratios cs/srt-live-transmit: throughput %.2f  cpu %.2f\n' \
    "$(echo "$cs_tp / $slt_tp" | bc -l)" "$(echo "$cs_cpu / $slt_cpu" | bc -l)"
