#!/usr/bin/env bats
# The live cat channel end to end, on loopback: examples/emitter.sh
# (cs-fetch play | cs-decode --realtime --stamp | cs-encode | cs-send SRT)
# into examples/ingest-server.sh (cs-recv | cs-ladder | cs-segment; cs-serve),
# watched by hls.js and dash.js in headless Chromium.

load helper

setup_file() {
    export W=$BATS_FILE_TMPDIR
    SRT_PORT=$(free_port udp) HTTP_PORT=$(free_port)
    export SRT_PORT HTTP_PORT
    export CS_STORE=$W/assets CS_CACHE=$W/cache CS_ROOT=$W/www
    export CS_RECV_URL="srt://:$SRT_PORT?mode=listener"
    export CS_SEND_URL="srt://127.0.0.1:$SRT_PORT"
    export CS_HTTP=127.0.0.1:$HTTP_PORT
    export CS_SIZE=320x180 CS_FPS=25 CS_BITRATE=600k
    export CS_RUNGS=180p:300k,144p:150k
    cd "$W" || return
    "$REPO/examples/ingest-server.sh" > "$W/ingest.log" 2>&1 3>&- &
    echo $! > "$W/ingest.pid"
    "$REPO/examples/emitter.sh" > "$W/emitter.log" 2>&1 3>&- &
    echo $! > "$W/emitter.pid"
    for i in $(seq 600); do
        [ -s "$CS_ROOT/live/master.m3u8" ] && break
        sleep 0.1
    done
    # a few segments in every rendition before any player starts
    sleep 6
}

teardown_file() {
    local p
    for p in emitter ingest; do
        [ -f "$W/$p.pid" ] && kill -TERM "$(cat "$W/$p.pid")" 2>/dev/null || true
    done
    sleep 2
    pkill -f "$W" 2>/dev/null || true
}

# The pipeline's own words, shown when a test fails (bats prints a test's
# output only then): what CI leaves to read.
logs() {
    tail -n 15 "$W/ingest.log" "$W/emitter.log"
    ls -l "$CS_ROOT/live"/*/index.m3u8
}

@test "the pipeline publishes a multivariant LL-HLS stream with every rendition" {
    run cat "$CS_ROOT/live/master.m3u8"
    [ "$status" -eq 0 ]
    [ "$(grep -c '^#EXT-X-STREAM-INF' <<<"$output")" -eq 2 ]
    curl -fsS "http://$CS_HTTP/live/master.m3u8" | grep -q EXT-X-STREAM-INF
    media=$(ls "$CS_ROOT/live"/*/index.m3u8 | head -1)
    grep -q '^#EXT-X-PART:' "$media"
    grep -q '^#EXT-X-PRELOAD-HINT' "$media"
}

@test "hls.js plays the LL-HLS stream, time advances, and a forced rendition switch plays on" {
    run timeout 60 node "$REPO/tests/browser/play.mjs" --kind hls --lowlatency \
        --switch --seconds 12 --url "http://$CS_HTTP/live/master.m3u8"
    echo "$output"
    logs
    [ "$status" -eq 0 ]
    jq -e '.ok and .advanced > 5 and .levels == 2 and .switchedAt >= 0
           and .playedAfterSwitch > 2 and .levelAfterSwitch == .switchTarget' <<<"$output"
}

@test "the player page shows a glass-to-glass latency read from the stamp" {
    run timeout 90 node "$REPO/tests/browser/play.mjs" --kind page --seconds 12 \
        --start-wait 20 \
        --url "http://$CS_HTTP/live/"
    echo "$output"
    logs
    [ "$status" -eq 0 ]
    jq -e '.ok and .advanced > 4 and .latency.samples > 3
           and .latency.medianMs > 0 and .latency.medianMs < 15000' <<<"$output"
}

@test "dash.js plays the DASH manifest of the same run" {
    # The emitter's publisher drops out now and then (a discontinuity, a
    # new Period): the MPD's timeline must stay on the wall clock across
    # it, or dash.js waits at a live edge that does not exist (issue 18).
    # a busy machine may start the player late: 12 s sampled from its
    # first frame, in which it must play 4 s
    run timeout 90 node "$REPO/tests/browser/play.mjs" --kind dash --seconds 12 \
        --start-wait 20 \
        --url "http://$CS_HTTP/live/manifest.mpd"
    echo "$output"
    logs
    [ "$status" -eq 0 ]
    jq -e '.ok and .advanced > 4' <<<"$output"
}

@test "an emitter that dies and comes back: a discontinuity, not a reset, and the player plays on" {
    media=$(ls "$CS_ROOT/live"/*/index.m3u8 | head -1)
    msn_before=$(sed -n 's/^#EXT-X-MEDIA-SEQUENCE://p' "$media")
    node "$REPO/tests/browser/play.mjs" --kind hls --lowlatency --seconds 30 \
        --url "http://$CS_HTTP/live/master.m3u8" > "$W/gap.json" 3>&- &
    player=$!
    sleep 6
    kill -TERM "$(cat "$W/emitter.pid")"
    sleep 4
    "$REPO/examples/emitter.sh" > "$W/emitter2.log" 2>&1 3>&- &
    echo $! > "$W/emitter.pid"
    wait "$player"
    cat "$W/gap.json"
    logs
    for i in $(seq 100); do
        grep -q '^#EXT-X-DISCONTINUITY' "$media" && break
        sleep 0.2
    done
    grep -q '^#EXT-X-DISCONTINUITY' "$media"
    msn_after=$(sed -n 's/^#EXT-X-MEDIA-SEQUENCE://p' "$media")
    [ "$msn_after" -ge "$msn_before" ]
    # played on past the gap: 30 s of watching, at most ~10 s of it stalled
    jq -e '.ok and .advanced > 15' "$W/gap.json"
}
