#!/usr/bin/env bats
# WebRTC sending: cs-send whep:// (a WHEP endpoint serving viewers) and
# whip:// (pushing to a WHIP server), against real peers on loopback:
# whep-view (tests/tools, webrtcbin viewers), Chromium through cs-serve's
# player page, and cs-recv's WHIP endpoint.

load helper
load transport
load webrtc

bats_require_minimum_version 1.5.0

setup() {
    SRC=$BATS_FILE_TMPDIR/src.mp4
    [ -s "$SRC" ] || ffmpeg -nostdin -loglevel error -y \
        -f lavfi -i testsrc2=size=640x360:rate=25:duration=10 \
        -f lavfi -i sine=duration=10 -c:v libx264 -preset veryfast \
        -c:a aac "$SRC"
}

teardown() {
    kill_spawned
}

# The packet timestamps of stream $2 (v or a) of TS $1, one a line.
packet_pts() {
    ffprobe -v error -select_streams "$2" -show_entries packet=pts \
        -of csv=p=0 "$1" | awk -F, '$1 != "" { print $1 }'
}

# TS that WebRTC can carry: H.264 without B-frames and Opus, $2 s long.
webrtc_ts() {
    ffmpeg -nostdin -loglevel error -y \
        -f lavfi -i "testsrc2=size=320x240:rate=25:duration=$2" \
        -f lavfi -i "sine=sample_rate=48000:duration=$2" \
        -c:v libx264 -preset ultrafast -tune zerolatency -g 25 \
        -c:a libopus -b:a 64k -f mpegts "$1"
}

# The live pipeline into cs-send: whep_live URL [cs-send options...]. The
# picture carries the --stamp pattern. LIVE_SRC and LIVE_BITRATE, when set,
# replace $SRC and 1500k.
whep_live() {
    local url=$1
    shift
    # a session of its own, so that kill_spawned stops the whole pipeline
    # (killing only its shell would leave the programs holding bats open)
    spawn setsid bash -c "cs-decode -q --loop inf --realtime --stamp '${LIVE_SRC:-$SRC}' |
        cs-encode -q --tune zerolatency --audio opus --bitrate ${LIVE_BITRATE:-1500k} \
            --gop 1 | cs-send $* '$url' 2>'$T/send.err'"
}

# What the sender knew of its viewers at the last --stats line (file $1)
# that had any, and its last words: printed by tests whose viewers may see
# nothing.
sender_said() {
    grep '"viewers":[1-9]' "$1" | tail -n 1 | jq -c '.peers[]'
    tail -n 5 "$T/send.err"
}

# Wait (up to 30 s) until the WHEP listener at URL $1 has media: HEAD
# answers 200, not 409 (a loaded machine starts the pipeline late).
wait_media() {
    local _
    for _ in $(seq 300); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' -I "$1")" = 200 ] &&
            return 0
        sleep 0.1
    done
    echo "no media at $1 in 30 s" >&2
    return 1
}

# POST a minimal offer to URL $1: the status is printed, headers in
# $T/resp.head.
post_any() {
    obs_offer >"$T/offer.sdp"
    whip_post "$1" "" "$T/offer.sdp"
}

@test "webrtc-send: AAC audio is refused at the start, naming the fix (2)" {
    local port
    port=$(free_port)
    ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=160x120:d=2 \
        -f lavfi -i sine=d=2 -c:v libx264 -tune zerolatency -c:a aac \
        -f mpegts "$T/aac.ts"
    run timeout 20 cs-send "whep://127.0.0.1:$port/live" <"$T/aac.ts"
    [ "$status" -eq 2 ]
    [ "$output" = "cs-send: 'whep://127.0.0.1:$port/live': aac audio cannot go over webrtc; re-encode with 'cs-encode --audio opus --tune zerolatency'" ]
    run timeout 20 cs-send "whip://127.0.0.1:$port/live" <"$T/aac.ts"
    [ "$status" -eq 2 ]
    [[ "$output" == *"aac audio cannot go over webrtc; re-encode with 'cs-encode --audio opus --tune zerolatency'" ]]
    one_line "$output"
}

@test "webrtc-send: a stream with B-frames is refused at the start (2)" {
    local port
    port=$(free_port)
    ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=160x120:d=2 \
        -c:v libx264 -bf 2 -an -f mpegts "$T/bf.ts"
    run timeout 20 cs-send "whep://127.0.0.1:$port/live" <"$T/bf.ts"
    [ "$status" -eq 2 ]
    [ "$output" = "cs-send: 'whep://127.0.0.1:$port/live': video with b-frames cannot go over webrtc; re-encode with 'cs-encode --audio opus --tune zerolatency'" ]
}

@test "webrtc-send: whep listener answers 409 with Retry-After before media, 201 after" {
    local port url
    port=$(free_port)
    url=http://127.0.0.1:$port/live
    mkfifo "$T/in"
    # held open for writing (read-write: no wait for a reader) and fed later
    exec 4<>"$T/in"
    spawn timeout 60 cs-send "whep://127.0.0.1:$port/live?mode=listener" \
        <"$T/in" 2>"$T/send.err"
    wait_listen "$port"
    [ "$(post_any "$url")" = 409 ]
    [ "$(resp_header Retry-After)" -ge 1 ]
    [ "$(curl -s -o /dev/null -w '%{http_code}' -I "$url")" = 409 ]
    webrtc_ts "$T/src.ts" 15
    # counted with the spawned, so that teardown stops a writer still
    # blocked on the FIFO (it would hold bats open)
    cat "$T/src.ts" >&4 &
    echo $! >>"$T/pids"
    sleep 2
    [ "$(curl -s -o /dev/null -w '%{http_code}' -I "$url")" = 200 ]
    # The answer names the SSRC of every stream it sends, and the video's
    # retransmissions after it (webrtcbin wrote "FID 0 RTX" when the answer
    # came before caps reached the viewer's pad, and Chromium then decoded
    # that video without ever showing a frame)
    obs_offer | sed 's/^a=sendonly/a=recvonly/' >"$T/view.sdp"
    [ "$(whip_post "$url" "" "$T/view.sdp")" = 201 ]
    tr -d '\r' <"$T/resp.body" | grep ssrc
    tr -d '\r' <"$T/resp.body" | grep -Eq '^a=ssrc-group:FID [1-9][0-9]* [1-9][0-9]*$'
    [ "$(tr -d '\r' <"$T/resp.body" | grep -Ec '^a=ssrc:[1-9][0-9]* cname:')" -eq 3 ]
    curl -s -o /dev/null -X DELETE "$url/$(resp_header Location | sed 's|.*/||')"
    run whep-view "$url" --seconds 5
    echo "$output"
    [ "$(json_field "$output" '.viewers[0].status')" = 201 ]
    [ "$(json_field "$output" '.viewers[0].frames')" -gt 10 ]
    exec 4>&-
}

@test "webrtc-send: --max-viewers: the viewer past the bound gets 503" {
    local port url
    port=$(free_port)
    url=http://127.0.0.1:$port/live
    whep_live "whep://127.0.0.1:$port/live?mode=listener" --max-viewers 1 \
        --stats "$T/stats.json"
    wait_listen "$port"
    wait_media "$url"
    local viewer
    whep-view "$url" --seconds 8 >"$T/first.json" &
    viewer=$!
    for _ in $(seq 150); do
        grep -q '"viewers":1' "$T/stats.json" && break
        sleep 0.1
    done
    [ "$(post_any "$url")" = 503 ]
    [ -n "$(resp_header Retry-After)" ]
    wait "$viewer"
    [ "$(jq '.viewers[0].status' "$T/first.json")" = 201 ]
    [ "$(jq '.viewers[0].frames' "$T/first.json")" -gt 25 ]
}

@test "webrtc-send: 20 WHEP viewers at once all play from a keyframe; one leaving stops none" {
    local port url
    port=$(free_port)
    url=http://127.0.0.1:$port/live
    # Small media: 20 viewers of the 640x360 stream at 1.5 Mb/s are
    # bench/webrtc.sh's; here, beside another test file on two cores, they
    # starved the viewers' threads, and viewers lost the first packets of
    # their first keyframe (the sender had dropped none).
    ffmpeg -nostdin -loglevel error -y \
        -f lavfi -i testsrc2=size=320x240:rate=25:duration=10 \
        -f lavfi -i sine=duration=10 -c:v libx264 -preset veryfast \
        -c:a aac "$T/small.mp4"
    LIVE_SRC=$T/small.mp4 LIVE_BITRATE=400k \
        whep_live "whep://127.0.0.1:$port/live?mode=listener" \
        --stats "$T/stats.json"
    wait_listen "$port"
    wait_media "$url"
    # (stderr apart: a GLib warning there must not break the JSON)
    run --separate-stderr timeout 120 whep-view "$url" --count 20 --seconds 12 --drop-one-at 6
    echo "${stderr:-}"  # set by run --separate-stderr
    echo "$output" | jq -c '.viewers[] | [.status, .frames, .frames_after_drop, .first_keyframe, .width, .height, .max_gap_ms]'
    # all that is known of a viewer that saw nothing (ICE and connection
    # states as GStreamer numbers them: 2 connected, 4 failed)
    echo "$output" | jq -c '.viewers[] | select(.frames == 0)'
    sender_said "$T/stats.json"
    [ "$status" -eq 0 ]
    [ "$(json_field "$output" '[.viewers[] | select(.status == 201)] | length')" -eq 20 ]
    [ "$(json_field "$output" '[.viewers[] | select(.first_keyframe and .width == 320 and .height == 240)] | length')" -eq 20 ]
    # every viewer played; the 19 that stayed kept playing after one left,
    # and the one that left got nothing 0.5 s after its DELETE was answered
    # (25 fps: 6 s are 150 frames; half of that under the shared load)
    [ "$(json_field "$output" '[.viewers[] | select(.frames >= 60)] | length')" -eq 20 ]
    [ "$(json_field "$output" '[.viewers[1:][] | select(.frames_after_drop >= 75)] | length')" -eq 19 ]
    [ "$(json_field "$output" '.viewers[0].frames_after_drop')" -le 2 ]
    # the sender counted them, and forgot the one that left
    grep -q '"viewers":20' "$T/stats.json"
    grep -q '"viewers":19' "$T/stats.json"
    # and kept, for each, a count of what its queue let go
    [ "$(grep '"viewers":20' "$T/stats.json" | tail -n 1 |
        jq '[.peers[] | select(.packets_dropped | type == "number")] | length')" -eq 20 ]
}

@test "webrtc-send: no UPnP: with viewers playing, the sender listens on its WHEP port alone" {
    local port url pid viewers _
    port=$(free_port)
    url=http://127.0.0.1:$port/live
    whep_live "whep://127.0.0.1:$port/live?mode=listener" \
        --stats "$T/stats.json"
    wait_listen "$port"
    pid=$(pgrep -f "^cs-send --stats $T/stats.json whep://127.0.0.1:$port/live")
    wait_media "$url"
    timeout 60 whep-view "$url" --count 3 --seconds 8 >"$T/view.json" 2>"$T/view.err" &
    viewers=$!
    # the three are playing (the sender counts them), then a moment more
    for _ in $(seq 300); do
        grep -q '"viewers":3' "$T/stats.json" && break
        sleep 0.1
    done
    sleep 2
    # libnice's default asked the router for a port mapping per viewer, an
    # HTTP server of its own each: 7 listening sockets here
    ss -ltnp >"$T/listen"
    grep "pid=$pid," "$T/listen" || true
    [ "$(grep -c "pid=$pid," "$T/listen")" -eq 1 ]
    grep "pid=$pid," "$T/listen" | grep -q ":$port "
    wait "$viewers"
    jq -c '.viewers[] | [.status, .frames]' "$T/view.json"
    # all that is known of a viewer that saw nothing (as in the 20-viewer
    # test), and what the viewers' process said
    jq -c '.viewers[] | select(.frames == 0)' "$T/view.json"
    tail -n 5 "$T/view.err"
    sender_said "$T/stats.json"
    [ "$(jq '[.viewers[] | select(.frames > 0)] | length' "$T/view.json")" -eq 3 ]
}

@test "webrtc-send: Chromium plays the WHEP listener through cs-serve's player page" {
    local port http out
    port=$(free_port)
    http=$(free_port)
    mkdir -p "$T/www/live"
    spawn timeout 90 cs-serve -q --root "$T/www" --listen "127.0.0.1:$http"
    whep_live "whep://127.0.0.1:$port/live?mode=listener"
    wait_listen "$port"
    wait_listen "$http"
    out=$(timeout 90 node "$REPO/tests/browser/play.mjs" --kind page \
        --url "http://127.0.0.1:$http/live/?whep=http://127.0.0.1:$port/live" \
        --seconds 10)
    echo "$out"
    [ "$(json_field "$out" .ok)" = true ]
    [ "$(json_field "$out" .player.mode)" = webrtc ]
    [ "$(json_field "$out" .player.state)" = connected ]
    [ "$(json_field "$out" .width)" -eq 640 ]
    [ "$(json_field "$out" .height)" -eq 360 ]
    # currentTime advanced over most of the 10 s watched
    json_field "$out" '.advanced > 5' | grep -qx true
    # the latency readout, read from the stamp as in the HLS mode
    [ "$(json_field "$out" .player.latencySource)" = stamp ]
    json_field "$out" '.latency.samples > 3 and .latency.medianMs > 0 and .latency.medianMs < 3000' | grep -qx true
}

@test "webrtc-send: cs-send whip:// into cs-recv whip://: the frames that arrive are the frames sent" {
    # The TS held while connecting leaves in a burst, and the demuxer
    # passes the last frames on at once at the end: every frame must still
    # arrive, with its own timestamp, audio beside its video, and no frame
    # cut in two.
    local port pid
    port=$(free_port)
    webrtc_ts "$T/src.ts" 6
    spawn timeout 60 cs-recv --once "whip://127.0.0.1:$port/live" \
        >"$T/out.ts" 2>"$T/recv.err"
    pid=$(tail -n 1 "$T/pids")
    wait_listen "$port"
    run timeout 60 cs-send "whip://127.0.0.1:$port/live" <"$T/src.ts"
    echo "$output"
    [ "$status" -eq 0 ]
    # the clean stop DELETEd the session: cs-recv --once ends by itself
    wait "$pid"
    cat "$T/recv.err"
    # every frame, in order, with the same spacing of timestamps
    # (ffprobe writes an empty line after some packets: skipped)
    packet_pts "$T/src.ts" v >"$T/src.v"
    packet_pts "$T/out.ts" v >"$T/out.v"
    awk 'NR > 1 { print $1 - p } { p = $1 }' "$T/src.v" >"$T/sent"
    awk 'NR > 1 { print $1 - p } { p = $1 }' "$T/out.v" >"$T/got"
    [ "$(wc -l <"$T/sent")" -gt 100 ]
    [ "$(wc -l <"$T/got")" -eq "$(wc -l <"$T/sent")" ]
    diff "$T/sent" "$T/got"
    [ "$(frame_hashes "$T/out.ts" | md5sum)" = "$(frame_hashes "$T/src.ts" | md5sum)" ]
    # every audio packet, and the last one as far from the last picture as
    # it was sent (within 40 ms, a frame: lip-sync from the sender reports)
    packet_pts "$T/src.ts" a >"$T/src.a"
    packet_pts "$T/out.ts" a >"$T/out.a"
    [ "$(wc -l <"$T/out.a")" -eq "$(wc -l <"$T/src.a")" ]
    awk -v s="$(( $(tail -n 1 "$T/src.a") - $(tail -n 1 "$T/src.v") ))" \
        -v g="$(( $(tail -n 1 "$T/out.a") - $(tail -n 1 "$T/out.v") ))" \
        'BEGIN { d = g - s; print "audio against video, sent " s " got " g;
                 exit !(d <= 3600 && d >= -3600) }'
}

@test "webrtc-send: --rendition picks a cs-ladder rung by name; an unknown name is refused with the names there are" {
    local port url out
    port=$(free_port)
    url=http://127.0.0.1:$port/live
    webrtc_ts "$T/src.ts" 10
    cs-ladder -q --rungs 240p:400k,120p:150k --tune zerolatency --gop 1 \
        <"$T/src.ts" >"$T/ladder.ts"
    run timeout 20 cs-send --rendition 720p "whep://127.0.0.1:$port/live" \
        <"$T/ladder.ts"
    [ "$status" -eq 2 ]
    [ "$output" = "cs-send: 'whep://127.0.0.1:$port/live': no rendition '720p' in the stream (it has '240p', '120p')" ]
    spawn timeout 30 cs-send --rendition 120p \
        "whep://127.0.0.1:$port/live?mode=listener" <"$T/ladder.ts"
    wait_listen "$port"
    sleep 2
    out=$(timeout 20 whep-view "$url" --seconds 3)
    echo "$out"
    [ "$(json_field "$out" '.viewers[0].status')" = 201 ]
    [ "$(json_field "$out" '.viewers[0].height')" -eq 120 ]
}

@test "webrtc-send: 5% loss between cs-send and a WHEP viewer: NACKs answered, retransmissions, no freeze over 1 s" {
    local port ice relay out nacks rtx
    port=$(free_port)
    ice=$(free_port udp)
    relay=$(free_port udp)
    # one viewer: its ICE port is the relay's target
    whep_live "whep://127.0.0.1:$port/live?mode=listener&ice_port=$ice" \
        --max-viewers 1 --stats "$T/stats.json"
    wait_listen "$port"
    # both directions lose 5%: media, NACKs, STUN and DTLS alike
    spawn lossy-relay "$relay" "$ice" 0.05 0 11
    sleep 3
    run --separate-stderr timeout 60 whep-view "http://127.0.0.1:$port/live" --seconds 12 \
        --relay "$relay"
    out=$output
    echo "$out" | jq -c '.viewers[]'
    [ "$status" -eq 0 ]
    [ "$(json_field "$out" '.viewers[0].status')" -eq 201 ]
    # 12 s at 25 fps: most of the 300 pictures came, none held back 1 s
    [ "$(json_field "$out" '.viewers[0].frames')" -ge 200 ]
    json_field "$out" '.viewers[0].max_gap_ms < 1000' | grep -qx true
    # the sender saw the viewer's NACKs and answered them
    nacks=$(stats_max nacks_received "$T/stats.json")
    rtx=$(stats_max packets_retransmitted "$T/stats.json")
    echo "nacks_received=$nacks packets_retransmitted=$rtx"
    [ "${nacks:-0}" -gt 0 ]
    [ "${rtx:-0}" -gt 0 ]
    # and what the viewer still missed after retransmission is under 1%
    # (5% went missing on the way)
    [ "$(json_field "$out" '.viewers[0].nacks_sent')" -gt 0 ]
    json_field "$out" '.viewers[0] | .packets_lost * 100 < .packets_received' |
        grep -qx true
}
