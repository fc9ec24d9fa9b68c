#!/bin/bash
# SRT through real loss, the long version of tests/srt-loss.bats: SECONDS
# of TS at 2 Mb/s, latency 120 ms, across nftables random drop (both ways)
# in a network namespace of its own, RUNS times at each loss rate, with
# cs-send -> cs-recv and with srt-live-transmit -> srt-live-transmit (fed
# by cs-send over UDP inside the namespace, so that both carry the same
# bytes at the same pace). Prints, per rate and pair, the runs that arrived
# byte for byte and the 1316-byte messages missing over all runs. Needs
# root, ip(8) and nft(8).
# Usage: bench/srt-loss.sh [SECONDS] [RUNS] [RATES]
set -eu
cd "$(dirname "$0")/.."
secs=${1:-20} runs=${2:-4} rates=${3:-2 5 10}
bin=${CS_BIN:-$PWD/bin}
w=$(mktemp -d)
ns=cs-srtloss-bench-$$
trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$w"' EXIT

ffmpeg -nostdin -loglevel error -f lavfi -i "testsrc2=size=640x360:rate=25:duration=$secs" \
    -f lavfi -i "sine=frequency=440:sample_rate=44100:duration=$secs" \
    -c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 25 -b:v 1800k \
    -maxrate 1800k -bufsize 900k -c:a aac -b:a 64k -muxrate 2000k \
    -f mpegts "$w/in.ts"
size=$(stat -c %s "$w/in.ts")

in_ns() { ip netns exec "$ns" "$@"; }

# netns PCT: a fresh namespace dropping PCT% of SRT's packets (port 9000).
netns() {
    ip netns del "$ns" 2>/dev/null || true
    ip netns add "$ns"
    in_ns ip link set lo up
    in_ns nft add table inet loss
    in_ns nft add chain inet loss out '{ type filter hook output priority 0; }'
    in_ns nft add rule inet loss out udp sport 9000 numgen random mod 100 '<' "$1" drop
    in_ns nft add rule inet loss out udp dport 9000 numgen random mod 100 '<' "$1" drop
}

# one PAIR: one transfer, its output in $w/out.ts.
one() {
    local r
    if [ "$1" = cs ]; then
        in_ns "$bin/cs-recv" --once "srt://127.0.0.1:9000?mode=listener&latency=120" \
            >"$w/out.ts" 2>/dev/null &
        r=$!
        sleep 0.3
        in_ns "$bin/cs-send" "srt://127.0.0.1:9000?latency=120" <"$w/in.ts" 2>/dev/null
    else
        in_ns srt-live-transmit -q -a:no "srt://:9000?mode=listener&latency=120" \
            file://con >"$w/out.ts" 2>/dev/null &
        r=$!
        in_ns srt-live-transmit -q -a:no udp://127.0.0.1:7000 \
            "srt://127.0.0.1:9000?latency=120" 2>/dev/null &
        sleep 0.3
        in_ns "$bin/cs-send" udp://127.0.0.1:7000 <"$w/in.ts" 2>/dev/null
        sleep 1
        kill $! 2>/dev/null || true
        sleep 1         # the listener stays for the next caller: stop it
        kill "$r" 2>/dev/null || true
    fi
    wait "$r" || true
}

echo "# $secs s at 2 Mb/s, latency 120 ms, $runs runs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for pct in $rates; do
    for pair in cs srt-live-transmit; do
        exact=0 missing=0
        for _ in $(seq "$runs"); do
            netns "$pct"
            one "$pair"
            if cmp -s "$w/in.ts" "$w/out.ts"; then
                exact=$((exact + 1))
            fi
            missing=$((missing + (size - $(stat -c %s "$w/out.ts")) / 1316))
        done
        printf '%3s%% %-18s byte-exact %d/%d, messages missing %d\n' \
            "$pct" "$pair" "$exact" "$runs" "$missing"
    done
done
