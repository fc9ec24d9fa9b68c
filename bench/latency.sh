#!/bin/bash
# Glass-to-glass latency with the --stamp pattern: from a frame leaving
# cs-decode on the emitter to the frame being shown (or decoded):
#   1. over SRT:   ... | cs-send  ->  cs-recv | cs-decode --latency
#      and over WHIP: cs-send whip:// -> cs-recv whip:// | cs-decode --latency
#   2. over LL-HLS in headless Chromium with hls.js (cs-serve's player page
#      decodes the stamp from the video), at 0.2 s parts and at the default
#      part target (0.4 s); and at 0.2 s parts through an nginx edge
#      (examples/nginx/edge.conf) in front of cs-serve
#   3. over plain HLS with 2 s segments (no parts), same page
#   4. LL-DASH: dash.js in low-latency mode aiming at 1.2 s, segments
#      streamed as they are written; its own latency from the MPD's clock
#      (not the stamp)
#   5. over WebRTC: SRT into cs-recv, cs-send's WHEP endpoint, the same page
#      in its WebRTC mode (?whep=)
# Prints median and p95 for each, and the samples where the picture stood
# still; the first 10 s of playing (the join and the catch-up after it) are
# left out of every row but LL-DASH's (dash.js's own warm-up of 10 s).
# Usage: bench/latency.sh [SECONDS]
set -eu
cd "$(dirname "$0")/.."
repo=$PWD
secs=${1:-30}
. bench/run.bash

ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=640x360:rate=25:duration=20 \
    -f lavfi -i sine=duration=20 -c:v libx264 -preset veryfast -c:a aac "$w/clip.mp4"
emitter() { # URL
    echo "cs-decode -q --loop inf --realtime --stamp '$w/clip.mp4' |
          cs-encode -q --tune zerolatency --bitrate 1500k --gop 1 |
          cs-send -q --retry forever '$1'"
}

# Stop the pipelines started so far, and forget them.
stop_groups() {
    for g in "${groups[@]}"; do kill -TERM -- "-$g" 2>/dev/null || true; done
    sleep 2
    groups=()
}
# The emitter with Opus audio, which WebRTC carries (sed on emitter's text).
opus='s/--gop 1/--gop 1 --audio opus/'

# 1. SRT, and WHIP: the emitter (Opus audio for WebRTC) straight into
# cs-recv, decoded by cs-decode --latency.
decoded_run() { # NAME RECV-URL SEND-URL [EMITTER-SED]
    bg "cs-recv -q '$2' | cs-decode --latency - > '$w/$1.json'"
    sleep 1
    bg "$(emitter "$3" | sed "${4:-}")"
    sleep "$secs"
    stop_groups
}
decoded() { # NAME: median and p95 of the frames after the first 10 s
    jq -s '[.[] | select(.latency_ms)] | .[250:] | [.[].latency_ms] | sort |
        {median: .[length / 2 | floor], p95: .[length * 0.95 | floor], n: length}' "$w/$1.json"
}
p=$(port udp)
decoded_run srt "srt://:$p?mode=listener" "srt://127.0.0.1:$p"
srt=$(decoded srt)
p=$(port tcp)
decoded_run whip "whip://127.0.0.1:$p/live" "whip://127.0.0.1:$p/live" "$opus"
whip=$(decoded whip)

# nginx with examples/nginx/edge.conf in front of the origin on port
# ORIGIN, its paths under DIR; its port in $edge_port. (Not in $(...): a
# subshell has no job control to stop its group.)
nginx_edge() { # ORIGIN DIR
    local e
    e=$(port tcp)
    mkdir -p "$2/cache"
    sed -e "s|/var/cache/nginx/cs-edge|$2/cache|" \
        -e "s|server 127.0.0.1:8080;|server 127.0.0.1:$1;|" \
        -e "s|listen 127.0.0.1:8081;|listen 127.0.0.1:$e;|" \
        examples/nginx/edge.conf > "$2/edge.conf"
    cat > "$2/nginx.conf" <<EOC
daemon off;
master_process off;
pid $2/nginx.pid;
error_log $2/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $2/body;
    proxy_temp_path $2/proxy;
    fastcgi_temp_path $2/fastcgi;
    uwsgi_temp_path $2/uwsgi;
    scgi_temp_path $2/scgi;
    include $2/edge.conf;
}
EOC
    bg "nginx -p '$2' -c '$2/nginx.conf'"
    for _ in $(seq 50); do
        (: > "/dev/tcp/127.0.0.1/$e") 2>/dev/null && break
        sleep 0.1
    done
    edge_port=$e
}

# 2 and 3: through the ladder, the packager and the origin, into Chromium.
# With KIND dash: dash.js in low-latency mode on the MPD of the same run;
# it reports its own latency (from the MPD's clock, which is the packager's
# arrival time, so without the emitter-to-packager part), not the stamp's.
browser_run() { # NAME SEGMENT-OPTIONS [KIND]
    local p h root=$w/www-$1
    p=$(port udp) h=$(port tcp)
    mkdir -p "$root/live"
    bg "cs-serve -q --root '$root' --listen 127.0.0.1:$h"
    bg "cs-recv -q 'srt://:$p?mode=listener' |
        cs-ladder -q --rungs 360p:800k,180p:250k --tune zerolatency --gop 1 |
        cs-segment -q $2 -o '$root/live'"
    sleep 1
    bg "$(emitter "srt://127.0.0.1:$p")"
    for i in $(seq 300); do [ -s "$root/live/master.m3u8" ] && break; sleep 0.1; done
    sleep 4
    if [ "${3:-page}" = edge ]; then      # the page through examples/nginx
        nginx_edge "$h" "$w/nginx-$1"
        h=$edge_port
    fi
    if [ "${3:-page}" = dash ]; then
        node tests/browser/play.mjs --kind dash --lowlatency --seconds "$secs" \
            --target 1.2 --warmup 10 --interval 250 \
            --url "http://127.0.0.1:$h/live/manifest.mpd" > "$w/$1.json" || true
    else
        node tests/browser/play.mjs --kind page --seconds "$secs" --interval 250 \
            --warmup 10 --url "http://127.0.0.1:$h/live/" > "$w/$1.json" || true
    fi
    stop_groups
}
# 4. WebRTC: the emitter's stream (Opus audio) straight to the WHEP endpoint.
whep_run() {
    local p h wp root=$w/www-whep
    p=$(port udp) h=$(port tcp) wp=$(port tcp)
    mkdir -p "$root/live"
    bg "cs-serve -q --root '$root' --listen 127.0.0.1:$h"
    bg "cs-recv -q 'srt://:$p?mode=listener' |
        cs-send -q --no-pace 'whep://127.0.0.1:$wp/live?mode=listener'"
    sleep 1
    bg "$(emitter "srt://127.0.0.1:$p" | sed "$opus")"
    sleep 4
    node tests/browser/play.mjs --kind page --seconds "$secs" --interval 250 \
        --warmup 10 --url "http://127.0.0.1:$h/live/?whep=http://127.0.0.1:$wp/live" \
        > "$w/whep.json" || true
    stop_groups
}
# (not in $(...): a subshell has no job control to stop its groups)
whep_run
browser_run llhls2 "--segment 2 --part 0.2"
browser_run llhls "--segment 2"
browser_run edge "--segment 2 --part 0.2" edge
browser_run hls "--segment 2 --no-ll"
browser_run dash "--segment 2" dash
summary() {
    jq '(.latency // {} | {median: .medianMs, p95: .p95Ms, n: .samples}) +
        {stalled: .stalledSamples}' "$w/$1.json"
}
llhls2=$(summary llhls2)
llhls=$(summary llhls)
edge=$(summary edge)
hls=$(summary hls)
dash=$(jq '.liveLatency // {} | {median: .medianMs, p95: .p95Ms, n: .samples}' "$w/dash.json")
whep=$(summary whep)

printf '%-34s %10s %10s %8s %8s\n' path "median ms" "p95 ms" samples stalled
for row in "SRT (cs-recv, cs-decode);$srt" \
           "WHIP (cs-recv, cs-decode);$whip" \
           "LL-HLS 0.2 s parts (hls.js);$llhls2" \
           "LL-HLS 0.4 s parts (hls.js);$llhls" \
           "LL-HLS 0.2 s, nginx edge (hls.js);$edge" \
           "HLS 2 s segments (hls.js);$hls" \
           "LL-DASH (dash.js, own);$dash" "WebRTC (WHEP, Chromium);$whep"; do
    name=${row%%;*} j=${row#*;}
    printf '%-34s %10s %10s %8s %8s\n' "$name" "$(jq -r .median <<<"$j")" \
        "$(jq -r .p95 <<<"$j")" "$(jq -r .n <<<"$j")" "$(jq -r '.stalled // "-"' <<<"$j")"
done
