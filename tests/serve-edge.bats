#!/usr/bin/env bats
# cs-serve with browsers and an nginx edge: hls.js in headless Chromium
# plays through examples/nginx/edge.conf; concurrent players cost the
# origin one request per part; the player page reads the latency from the
# --stamp pattern.

load helper
load serve-helper

setup() {
    serve_setup
    PIDS=()
}

teardown() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
}

# shellcheck disable=SC2120 # options for cs-serve, when a test needs some
serve() {
    timeout 170 cs-serve --root "$ROOT" --listen 127.0.0.1:$PORT \
        --assets "$REPO/node_modules/hls.js/dist" "$@" 2>"$T/serve.err" &
    PIDS+=($!)
    wait_port "$PORT"
}

# nginx with examples/nginx/edge.conf, its ports and paths made local.
edge() {
    EPORT=$(free_port)
    E=http://127.0.0.1:$EPORT
    mkdir -p "$T/nginx/cache"
    sed -e "s|/var/cache/nginx/cs-edge|$T/nginx/cache|" \
        -e "s|server 127.0.0.1:8080;|server 127.0.0.1:$PORT;|" \
        -e "s|listen 127.0.0.1:8081;|listen 127.0.0.1:$EPORT;|" \
        "$REPO/examples/nginx/edge.conf" >"$T/nginx/edge.conf"
    cat >"$T/nginx/nginx.conf" <<EOC
daemon off;
master_process off;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 2048; }
http {
    access_log $T/nginx/access.log;
    client_body_temp_path $T/nginx/body;
    proxy_temp_path $T/nginx/proxy;
    fastcgi_temp_path $T/nginx/fastcgi;
    uwsgi_temp_path $T/nginx/uwsgi;
    scgi_temp_path $T/nginx/scgi;
    include $T/nginx/edge.conf;
}
EOC
    timeout 170 nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" &
    PIDS+=($!)
    wait_port "$EPORT"
}

# Live fMP4 HLS from ffmpeg into $ROOT/$1 for $2 seconds; with "stamp",
# the picture carries the wall clock (the --stamp pattern) and there are
# two renditions under a master playlist.
live_hls() {
    local dir=$ROOT/$1 secs=$2 src out
    mkdir -p "$dir"
    if [ "${3:-}" = stamp ]; then
        src=(-f rawvideo -pix_fmt yuv420p -s 320x240 -r 25 -i -
             -filter_complex '[0:v]split=2[a][b]' -map '[a]' -map '[b]'
             -b:v:0 600k -b:v:1 200k)
        out=(-master_pl_name master.m3u8 -var_stream_map 'v:0 v:1'
             -hls_segment_filename "$dir/%v/seg%d.m4s" "$dir/%v/index.m3u8")
    else
        src=(-re -f lavfi -i "testsrc2=size=320x240:rate=25:duration=$secs")
        out=("$dir/index.m3u8")
    fi
    (
        if [ "${3:-}" = stamp ]; then stamp-src 320x240 25 "$secs"; fi |
        timeout $((secs + 10)) ffmpeg -nostdin -loglevel error "${src[@]}" \
            -c:v libx264 -preset ultrafast -tune zerolatency -g 25 \
            -pix_fmt yuv420p -f hls -hls_time 1 -hls_list_size 6 \
            -hls_segment_type fmp4 \
            -hls_flags delete_segments+program_date_time+independent_segments \
            "${out[@]}"
    ) &
    PIDS+=($!)
    for _ in $(seq 100); do
        [ -s "$dir/index.m3u8" ] || [ -s "$dir/1/index.m3u8" ] && break
        sleep 0.2
    done
    sleep 2
}

# Real LL-HLS into $ROOT/$1: ffmpeg makes 0.2 s fMP4 segments, llhls.py
# relays each as a part (five a segment) with blocking-reload controls.
# shellcheck disable=SC2128,SC2178 # this src is not serve_ffmpeg's array
live_llhls() {
    local src=$T/ff-$1 secs=$2
    mkdir -p "$src"
    timeout $((secs + 10)) ffmpeg -nostdin -loglevel error -re -f lavfi \
        -i "testsrc2=size=320x240:rate=25:duration=$secs" \
        -c:v libx264 -preset ultrafast -tune zerolatency -g 5 -keyint_min 5 \
        -sc_threshold 0 -pix_fmt yuv420p -f hls -hls_time 0.2 \
        -hls_list_size 20 -hls_segment_type fmp4 \
        -hls_flags delete_segments+independent_segments "$src/index.m3u8" &
    PIDS+=($!)
    timeout $((secs + 10)) python3 "$LLHLS" relay "$src" "$ROOT/$1" "$secs" &
    PIDS+=($!)
    for _ in $(seq 100); do
        [ "$(grep -c '^#EXTINF' "$ROOT/$1/index.m3u8" 2>/dev/null)" -ge 3 ] &&
            break
        sleep 0.2
    done
}

metric() {
    curl -s $U/metrics | awk -v k="$1" '$1 == k { print $2 }'
}

origin_count() {
    curl -s $U/metrics | awk -v k="$1" \
        '$1 == "cs_serve_requests_total{kind=\"" k "\"}" { print $2 }'
}

@test "hls.js in headless Chromium plays through the nginx edge" {
    serve
    edge
    live_hls tv 40
    run curl -s -D - -o /dev/null $E/tv/index.m3u8
    [[ "$output" == *"200 OK"* ]]
    run timeout 90 node "$REPO/tests/browser/play.mjs" --kind hls \
        --lowlatency --url $E/tv/index.m3u8 --seconds 8
    echo "$output"
    jq -e '.ok and .advanced > 3 and (.errors | length) == 0' <<<"$output"
    # the edge served from its cache at least part of the time
    grep -q . "$T/nginx/access.log"
    [ -n "$(ls -A "$T/nginx/cache")" ]
}

@test "hls.js in low-latency mode plays LL-HLS parts through the edge with blocking reloads" {
    serve
    edge
    live_llhls ll/v0 40
    run timeout 90 node "$REPO/tests/browser/play.mjs" --kind hls \
        --lowlatency --url $E/ll/v0/index.m3u8 --seconds 8
    echo "$output"
    jq -e '.ok and .advanced > 3 and (.errors | length) == 0' <<<"$output"
    curl -s $U/metrics | grep -v '^#'
    # it loaded parts, not whole segments, and waited for them at the origin
    [ "$(origin_count part)" -gt 10 ]
    [ "$(origin_count segment)" -eq 0 ]
    [ "$(metric cs_serve_blocked_requests_total)" -gt 10 ]
    [ "$(metric cs_serve_blocked_timeouts_total)" -eq 0 ]
}

@test "N concurrent players through the edge cost one origin request per part" {
    # 15 parts a segment: a target duration of 3 s, so the origin holds a
    # blocked request 9 s before its 503, not 3 (a slow CI machine, busy
    # starting 50 curls, answered 2 of 50 with 503 once)
    export LLHLS_PPS=15
    python3 "$LLHLS" write "$ROOT/s/v0" 22
    serve
    edge
    local n=25 step
    for step in 22 23 24; do
        msn=$((step / LLHLS_PPS)) part=$((step % LLHLS_PPS))
        p0=$(origin_count playlist)
        q0=$(origin_count part)
        for i in $(seq $n); do
            curl -s -o "$T/pl.$i" -w '%{http_code}\n' \
                "$E/s/v0/index.m3u8?_HLS_msn=$msn&_HLS_part=$part" >>"$T/codes.$step" &
            curl -s -o "$T/part.$i" -w '%{http_code}\n' \
                "$E/s/v0/$msn.$part.m4s" >>"$T/codes.$step" &
        done
        sleep 1
        python3 "$LLHLS" write "$ROOT/s/v0" $((step + 1))
        for i in $(seq 100); do
            [ "$(grep -c . "$T/codes.$step")" -eq $((2 * n)) ] && break
            sleep 0.1
        done
        sort "$T/codes.$step" | uniq -c
        # (what the origin and the edge said, if not)
        [ "$(grep -c '^200$' "$T/codes.$step")" -eq $((2 * n)) ] || {
            grep -h ' 50[0-9] ' "$T/nginx/access.log"
            grep -L '^#EXTM3U' "$T"/pl.* | xargs -r head -c 200
            curl -s "$U/metrics" | grep -v '^#'
            cat "$T/serve.err" "$T/nginx/error.log"
            false
        }
        for i in $(seq $n); do
            grep -q "URI=\"$msn.$part.m4s\"" "$T/pl.$i"
            cmp "$T/part.$i" "$ROOT/s/v0/$msn.$part.m4s"
        done
        echo "origin: playlists $(( $(origin_count playlist) - p0 )), parts $(( $(origin_count part) - q0 ))"
        [ $(( $(origin_count playlist) - p0 )) -eq 1 ]
        [ $(( $(origin_count part) - q0 )) -eq 1 ]
    done
}

@test "the player page shows the latency read from the stamp in the picture" {
    serve
    live_hls cam 40 stamp
    run curl -s $U/
    [[ "$output" == *'href="/cam/"'* ]]
    [[ "$(curl -s $U/cam/)" == *'data-src="/cam/master.m3u8"'* ]]
    run timeout 90 node "$REPO/tests/browser/play.mjs" --kind page \
        --url $U/cam/ --seconds 8
    echo "$output"
    jq -e '.ok and .player.latencySource == "stamp"' <<<"$output"
    # both renditions are offered by the picker
    jq -e '.player.levels == 2' <<<"$output"
    # a real glass-to-glass figure: positive, and a few segments at most
    jq -e '.player.latencyMs > 0 and .player.latencyMs < 15000' <<<"$output"
    jq -e '.player.bitrate > 0 and .player.buffer >= 0' <<<"$output"
}

@test "without a stamp the page falls back to EXT-X-PROGRAM-DATE-TIME" {
    serve
    live_hls plain 40
    run timeout 90 node "$REPO/tests/browser/play.mjs" --kind page \
        --url $U/plain/ --seconds 6
    echo "$output"
    jq -e '.ok and .player.latencySource == "program-date-time"' <<<"$output"
    jq -e '.player.latencyMs > 0 and .player.latencyMs < 15000' <<<"$output"
}
