#!/usr/bin/env bats
# cs-segment live: LL-HLS playlist rules, hls.js and dash.js in headless
# Chromium, discontinuities, kill -9 and restart.

load helper
load segment

setup_file() {
    export LIVE=$BATS_FILE_TMPDIR/live.ts
    ladder_input "$LIVE" 40
}

teardown() {
    stop_live
}

@test "LL-HLS playlists carry every tag with values that satisfy the draft" {
    # 0.3 s is 7.5 frames at 25 fps: parts of 7 frames and a short last one.
    live_segment "$LIVE" -o "$T/o" --window 4 --part 0.3
    wait_grep "$T/o/audio/index.m3u8" PRELOAD-HINT 30
    sleep 4
    snapshot "$T/o" "$T/s1"
    run check_ll "$T/s1"
    echo "$output"
    [ "$status" -eq 0 ]
    run parse_check "$T/s1"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(grep -c '^ok ' <<<"$output")" -eq 6 ]
    grep -q '#EXT-X-PART-INF:PART-TARGET=0.30000' "$T/s1/v1/index.m3u8"
    grep -q 'PART-HOLD-BACK=0.600' "$T/s1/v1/index.m3u8"
    grep -q '#EXT-X-PART:DURATION=0.28000,URI="[0-9]*.1.m4s"' "$T/s1/v1/index.m3u8"
    sleep 5
    snapshot "$T/o" "$T/s2"
    run check_ll "$T/s2"
    echo "$output"
    [ "$status" -eq 0 ]
    run parse_check "$T/s2"
    echo "$output"
    [ "$status" -eq 0 ]
    grep -q '^ok manifest.mpd type=dynamic' <<<"$output"
    # The live DASH MPD: dynamic, with the low-latency attributes.
    grep -q 'type="dynamic"' "$T/o/manifest.mpd"
    grep -q 'availabilityTimeComplete="false"' "$T/o/manifest.mpd"
    grep -q 'availabilityStartTime=' "$T/o/manifest.mpd"
    grep -q 'minimumUpdatePeriod="PT2S"' "$T/o/manifest.mpd"
    grep -q 'suggestedPresentationDelay=' "$T/o/manifest.mpd"
    grep -q '<UTCTiming' "$T/o/manifest.mpd"
    # The window: old segments leave the playlist.
    # (5 or later: the checks above may take seconds on a busy machine)
    wait_grep "$T/o/v0/index.m3u8" '^\([5-9]\|[1-9][0-9]\)\.m4s' 30
    run ! grep -q "^0.m4s" "$T/o/v0/index.m3u8"
}

@test "hls.js plays the LL-HLS stream and dash.js plays the MPD in Chromium" {
    port=$(free_port)
    live_segment "$LIVE" -o "$T/o"
    serve_dir "$T/o" "$port"
    wait_file "$T/o/master.m3u8" 30
    wait_file "$T/o/manifest.mpd" 30
    play_check hls "http://127.0.0.1:$port/master.m3u8" 8 \
        'r["ok"] and r["advanced"] > 3 and r["levels"] == 3' --lowlatency
    play_check dash "http://127.0.0.1:$port/manifest.mpd" 8 \
        'r["ok"] and r["advanced"] > 3'
}

@test "kill -9 and a restart: playlists stay valid, nothing published is rewritten, sequence numbers go on" {
    live_segment "$LIVE" -o "$T/o" --window 20
    wait_grep "$T/o/v0/index.m3u8" '^3.m4s' 40
    kill_live
    (cd "$T/o" && find . -regextype posix-extended \( -regex '\./[^/]+/[0-9]+\.m4s' \
        -o -name init.mp4 \) -exec md5sum {} +) >"$T/before.md5"
    (cd "$T/o" && md5sum */*.*.m4s) >"$T/parts.md5"
    last=$(grep -o '^[0-9]*\.m4s' "$T/o/v0/index.m3u8" | tail -1 | cut -d. -f1)
    live_segment "$LIVE" -o "$T/o" --window 20
    wait_grep "$T/o/v0/index.m3u8" "^$((last + 4)).m4s" 40
    snapshot "$T/o" "$T/s"
    run check_ll "$T/s"
    echo "$output"
    [ "$status" -eq 0 ]
    # What was published is untouched.
    (cd "$T/o" && md5sum -c --quiet "$T/before.md5")
    (cd "$T/o" && md5sum -c --quiet --ignore-missing "$T/parts.md5")
    # The old segments are still listed, then a gap for the segment the
    # killed run had begun, a discontinuity and a new init segment.
    p=$T/s/v0/index.m3u8
    cat "$p"
    grep -q '^0.m4s' "$p"
    grep -q '#EXT-X-GAP' "$p"
    grep -q '#EXT-X-DISCONTINUITY$' "$p"
    grep -q '#EXT-X-MAP:URI="init-1.mp4"' "$p"
    seqs=$(grep -o '^[0-9]*\.m4s' "$p" | cut -d. -f1)
    [ "$seqs" = "$(seq 0 "$(echo "$seqs" | tail -1)")" ]
    [ "$(echo "$seqs" | tail -1)" -gt $((last + 2)) ]
    [ "$(grep -c '<Period' "$T/o/manifest.mpd")" -eq 2 ]
    # Parts the killed run had queued for deletion go in the new run.
    for i in $(seq 200); do
        [ -e "$T/o/v0/0.0.m4s" ] || break
        sleep 0.1
    done
    [ ! -e "$T/o/v0/0.0.m4s" ]
    [ -s "$T/o/v0/0.m4s" ]
}

@test "kill -9 mid-segment: the restarted run deletes the parts of the segment the killed run had begun, after their grace" {
    local hint g=-1 orphans left f i
    live_segment "$LIVE" -o "$T/o" --window 6 --part 0.3 --segment 1
    wait_grep "$T/o/v0/index.m3u8" '^2.m4s' 40
    # killed once the open segment has published two parts
    for i in $(seq 100); do
        hint=$(sed -n 's/^#EXT-X-PRELOAD-HINT:.*URI="\([0-9]*\)\.\([0-9]*\)\.m4s".*/\1 \2/p' "$T/o/v0/index.m3u8")
        if [ -n "$hint" ] && [ "${hint#* }" -eq 2 ]; then
            g=${hint% *}
            break
        fi
        sleep 0.05
    done
    kill_live
    [ "$g" -ge 3 ]
    mapfile -t orphans < <(cd "$T/o" && ls -- */"$g".*.m4s)
    echo "orphans: ${orphans[*]}"
    [ "$(printf '%s\n' "${orphans[@]}" | grep -c '^v0/')" -ge 2 ]
    live_segment "$LIVE" -o "$T/o" --window 6 --part 0.3 --segment 1
    # the segment is a gap in the restarted run's playlist, with no parts
    wait_grep "$T/o/v0/index.m3u8" '#EXT-X-DISCONTINUITY$' 40
    grep -A2 '^#EXT-X-GAP' "$T/o/v0/index.m3u8" | grep -qx "$g.m4s"
    run grep -c "URI=\"$g\.[0-9]*\.m4s\"" "$T/o/v0/index.m3u8"
    [ "$output" = 0 ]
    # gone after the grace of a part (6 target durations), not before
    for f in "${orphans[@]}"; do
        [ -e "$T/o/$f" ]
    done
    for i in $(seq 150); do
        left=$(cd "$T/o" && ls -- "${orphans[@]}" 2>/dev/null || true)
        [ -z "$left" ] && break
        sleep 0.1
    done
    [ -z "$left" ] || { echo "never deleted: $left"; false; }
    # what the restarted run lists is all there
    snapshot "$T/o" "$T/s"
    run check_ll "$T/s"
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "a run killed before its first segment was whole: the next run uses none of its sequence numbers or init names" {
    local g='' init='' try i
    live_segment "$LIVE" -o "$T/o" --window 6 --part 0.3 --segment 1
    wait_grep "$T/o/v0/index.m3u8" '^2.m4s' 40
    kill_live
    # a restarted run killed once it has published parts of its first
    # segment, before that segment is whole (tried again when too late)
    for try in 1 2 3; do
        rm -f "$T/o/v0/index.m3u8"
        live_segment "$LIVE" -o "$T/o" --window 6 --part 0.3 --segment 1
        for i in $(seq 200); do
            grep -q '^#EXT-X-PART:' "$T/o/v0/index.m3u8" 2>/dev/null && break
            sleep 0.02
        done
        kill_live
        g=$(sed -n 's/^#EXT-X-PRELOAD-HINT:.*URI="\([0-9]*\)\..*/\1/p' "$T/o/v0/index.m3u8")
        init=$(sed -n 's/^#EXT-X-MAP:URI="\(.*\)"$/\1/p' "$T/o/v0/index.m3u8" | tail -1)
        [ -e "$T/o/v0/$g.m4s" ] || break
    done
    echo "killed in segment $g, with $init"
    [ ! -e "$T/o/v0/$g.m4s" ]
    [ -s "$T/o/v0/$g.0.m4s" ]
    # the next run lists that segment as a gap and has an init of its own
    live_segment "$LIVE" -o "$T/o" --window 6 --part 0.3 --segment 1
    wait_grep "$T/o/v0/index.m3u8" "^$((g + 2)).m4s" 40
    cat "$T/o/v0/index.m3u8"
    grep -A2 '^#EXT-X-GAP' "$T/o/v0/index.m3u8" | grep -qx "$g.m4s"
    run grep -c "URI=\"$init\"" "$T/o/v0/index.m3u8"
    [ "$output" = 0 ]
    snapshot "$T/o" "$T/s"
    run check_ll "$T/s"
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "HTTP output: PUT with a bearer token and content types, DELETE after the window, kept-alive" {
    port=$(free_port)
    mkdir -p "$T/origin"
    put_server "$port" "$T/origin" s3cret
    ladder_input "$T/short.ts" 12
    live_segment "$T/short.ts" --segment 1 --window 2 --token s3cret \
        -o "http://127.0.0.1:$port/live/"
    wait "$FEED_PID"
    wait "$SEG_PID"
    SEG_PID='' FEED_PID=''
    log=$T/put.log
    grep -q '^PUT /live/master.m3u8 application/vnd.apple.mpegurl max-age=1 ' "$log"
    grep -q '^PUT /live/v0/init.mp4 video/mp4 max-age=31536000,immutable ' "$log"
    grep -q '^PUT /live/v0/3.m4s video/iso.segment max-age=31536000,immutable ' "$log"
    grep -q '^PUT /live/v0/3.1.m4s video/iso.segment ' "$log"
    grep -q '^PUT /live/manifest.mpd application/dash+xml max-age=1 ' "$log"
    # Segments that left the window were deleted, parts too.
    grep -q '^DELETE /live/v0/0.m4s ' "$log"
    grep -q '^DELETE /live/v0/0.0.m4s ' "$log"
    [ ! -e "$T/origin/live/v0/0.m4s" ]
    [ -s "$T/origin/live/v0/index.m3u8" ]
    # One connection carried many requests.
    [ "$(awk '{print $5}' "$log" | sort | uniq -c | sort -rn | head -1 | awk '{print $1}')" -gt 20 ]
    # A wrong token: one line, status 2 (rejected credentials: not worth retrying).
    run cs-segment --token wrong "$T/short.ts" -o "http://127.0.0.1:$port/x/"
    [ "$status" -eq 2 ]
    one_line "$output"
    [[ "$output" == "cs-segment: cannot "*"'http://127.0.0.1:$port/x/'"* ]]
    [[ "$output" != *wrong* ]]
}

# What s3rver stored for KEY of bucket "media": "Content-Type Cache-Control"
# from its metadata file, or "missing".
s3_meta() {
    local f=$T/s3/media/live/$1
    [ -f "$f._S3rver_object" ] || { echo missing; return; }
    python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))
print(m.get("content-type"), m.get("cache-control"))' "$f._S3rver_metadata.json"
}

@test "S3 output: objects with Content-Type and Cache-Control, deleted when they leave the window" {
    port=$(free_port)
    mkdir -p "$T/s3"
    node "$REPO/node_modules/s3rver/bin/s3rver.js" -d "$T/s3" -a 127.0.0.1 \
        -p "$port" -s --configure-bucket media >"$T/s3rver.log" 2>&1 &
    SERVER_PID=$!
    wait_port "$port"
    export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER \
        AWS_REGION=us-east-1 AWS_ENDPOINT_URL=http://127.0.0.1:$port
    ladder_input "$T/short.ts" 10
    live_segment "$T/short.ts" --segment 1 --window 2 -o s3://media/live/
    wait "$FEED_PID"
    wait "$SEG_PID"
    SEG_PID='' FEED_PID=''
    [ "$(s3_meta master.m3u8)" = "application/vnd.apple.mpegurl max-age=1" ]
    [ "$(s3_meta v0/index.m3u8)" = "application/vnd.apple.mpegurl max-age=1" ]
    [ "$(s3_meta manifest.mpd)" = "application/dash+xml max-age=1" ]
    [ "$(s3_meta v0/init.mp4)" = "video/mp4 max-age=31536000, immutable" ]
    [ "$(s3_meta v0/7.m4s)" = "video/iso.segment max-age=31536000, immutable" ]
    [ "$(s3_meta v0/7.1.m4s)" = "video/iso.segment max-age=31536000, immutable" ]
    # The bytes are the segment: it decodes with its init segment.
    cat "$T/s3/media/live/v0/init.mp4._S3rver_object" \
        "$T/s3/media/live/v0/7.m4s._S3rver_object" >"$T/seg.mp4"
    [ "$(probe "$T/seg.mp4" stream=codec_name v:0)" = h264 ]
    # Out of the window and past the grace time: deleted.
    [ "$(s3_meta v0/0.m4s)" = missing ]
    [ "$(s3_meta v0/0.1.m4s)" = missing ]
    [ "$(s3_meta audio/0.m4s)" = missing ]
    run ! grep -q S3RVER "$T/seg.err"
}

@test "SIGTERM: the open segment is finished and published, ENDLIST, exit 0" {
    live_segment "$LIVE" -o "$T/o"
    wait_grep "$T/o/v0/index.m3u8" '^2.m4s' 30
    kill -TERM "$SEG_PID"
    st=0
    wait "$SEG_PID" || st=$?
    [ "$st" -eq 0 ]
    SEG_PID=
    for r in v0 v1 v2 audio; do
        tail -1 "$T/o/$r/index.m3u8" | grep -qx '#EXT-X-ENDLIST'
        for f in $(grep -v '^#' "$T/o/$r/index.m3u8"); do
            [ -s "$T/o/$r/$f" ]
        done
    done
    [ -z "$(find "$T/o" -name '.*tmp*')" ]
    run ffprobe -v error -count_frames -select_streams v:0 \
        -show_entries stream=nb_read_frames -of csv=p=0 "$T/o/v0/index.m3u8"
    [ "${lines[0]}" -ge 75 ]
}

@test "--vod output plays in hls.js from start to end" {
    ladder_input "$T/clip.ts" 6
    run cs-segment --vod "$T/clip.ts" -o "$T/o"
    [ "$status" -eq 0 ]
    port=$(free_port)
    serve_dir "$T/o" "$port"
    play_check hls "http://127.0.0.1:$port/master.m3u8" 10 \
        'r["ok"] and r["firstTime"] < 2 and r["lastTime"] > 5.5'
}
