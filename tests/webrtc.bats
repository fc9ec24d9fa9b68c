#!/usr/bin/env bats
# WebRTC: cs-recv's WHIP endpoint (whip://) against real publishers on
# loopback: Chromium (playwright-core, fake camera and microphone),
# simple-whip-client, and OBS-style offers sent with curl.

load helper
load transport
load webrtc

bats_require_minimum_version 1.5.0

teardown() {
    kill_spawned
    if [ -n "${NETNS:-}" ]; then
        ip netns del "$NETNS" 2>/dev/null || true
    fi
}

# Start cs-recv on a free port: whip_listen [cs-recv options...] URL-QUERY;
# sets PORT and URL (the endpoint publishers POST to). Output in
# $T/out.ts, stderr in $T/err.
whip_listen() {
    local query=$1
    shift
    PORT=$(free_port)
    URL=http://127.0.0.1:$PORT/live
    spawn timeout 120 cs-recv "$@" "whip://127.0.0.1:$PORT/live$query" \
        >"$T/out.ts" 2>"$T/err"
    wait_listen "$PORT"
}

# Stop cs-recv (SIGTERM, a clean stop) and check that it exited 0. The
# signal goes to cs-recv itself: timeout(1) would pass it on to its whole
# process group too, and a second signal stops cs-recv at once.
whip_stop() {
    local pid
    pid=$(sed -n 1p "$T/pids")
    kill "$(pgrep -P "$pid")"
    wait "$pid"
}

@test "webrtc: Chromium publishes over WHIP from another origin; the TS holds H.264 and Opus" {
    local r
    whip_listen "" --stats "$T/stats.json"
    r=$(chromium_publish "$URL" --seconds 7 --delete)
    echo "$r"
    [ "$(json_field "$r" .status)" = 201 ]
    [ "$(json_field "$r" .connected)" = true ]
    [[ "$(json_field "$r" .location)" =~ ^/live/[0-9a-f]{32}$ ]]
    [ "$(json_field "$r" .etag)" != null ]
    [ "$(json_field "$r" .deleted)" = 200 ]
    sleep 1
    whip_stop
    cat "$T/err"
    check_webrtc_ts "$T/out.ts" 5
    # per publisher: bitrate, packets lost, RTT, retransmissions
    grep '"bitrate_bps"' "$T/stats.json" | grep '"packets_lost"' |
        grep '"packets_retransmitted"' | grep -q '"packets_received"'
    [ "$(final_stat "$T/stats.json" publishers)" -eq 1 ]
}

@test "webrtc: simple-whip-client publishes to cs-recv" {
    local ns=cs-whipc-$$ v a
    # whip-client's libnice offers the machine's interface addresses, never
    # loopback, and cs-recv answers with the one it listens on: the two
    # meet in a network namespace made here, on the one address of a veth.
    netns_add "$ns"
    NETNS=$ns
    ip netns exec "$ns" ip link add cs0 type veth peer name cs1 2>"$T/veth.err" ||
        skip "cannot make a veth pair: $(head -n 1 "$T/veth.err")"
    ip netns exec "$ns" ip addr add 10.99.0.1/24 dev cs0
    ip netns exec "$ns" ip link set cs0 up
    ip netns exec "$ns" ip link set cs1 up
    PORT=$(free_port)
    spawn timeout 60 ip netns exec "$ns" cs-recv "whip://10.99.0.1:$PORT/live" \
        >"$T/out.ts" 2>"$T/err"
    for _ in $(seq 50); do
        ip netns exec "$ns" ss -Hltn "sport = :$PORT" | grep -q . && break
        sleep 0.1
    done
    # Debian 12's whip-client links libsoup 2, and libnice's UPnP library
    # pulls in libsoup 3: together they abort whip-client before it sends
    # anything. It runs with a UPnP library that maps nothing and needs no
    # libsoup (tests/tools/noupnp).
    v="videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=25/1"
    v="$v ! x264enc tune=zerolatency key-int-max=25 ! video/x-h264,profile=constrained-baseline"
    v="$v ! rtph264pay config-interval=-1 pt=96 ! application/x-rtp,media=video,encoding-name=H264,payload=96"
    a="audiotestsrc is-live=true ! audioconvert ! audioresample ! opusenc"
    a="$a ! rtpopuspay pt=111 ! application/x-rtp,media=audio,encoding-name=OPUS,payload=111"
    run timeout 8 ip netns exec "$ns" env LD_LIBRARY_PATH="$CS_TOOLS/noupnp" \
        whip-client -n -u "http://10.99.0.1:$PORT/live" -V "$v" -A "$a"
    echo "$output" | grep -F '[WHIP]' | tail -n 8
    whip_stop
    grep -q "the publisher left" "$T/err"
    check_webrtc_ts "$T/out.ts" 5
}

@test "webrtc: an OBS-style offer without candidates is answered with ours, H.264 on 96, Opus on 111" {
    local st
    whip_listen "" -t 2
    obs_offer >"$T/offer.sdp"
    st=$(whip_post "$URL" "" "$T/offer.sdp")
    [ "$st" = 201 ]
    [ "$(resp_header Content-Type)" = application/sdp ]
    [[ "$(resp_header Location)" =~ ^/live/[0-9a-f]{32}$ ]]
    [ -n "$(resp_header ETag)" ]
    grep -q '^a=candidate:.* 127\.0\.0\.1 .* typ host' "$T/resp.body"
    grep -qi '^a=rtpmap:96 H264/90000' "$T/resp.body"
    grep -qi '^a=rtpmap:111 OPUS/48000/2' "$T/resp.body"
    grep -q '^a=fmtp:96 .*packetization-mode=1' "$T/resp.body"
    run ! grep -qE '^a=rtpmap:(9|0|8|13) ' "$T/resp.body"
    # DELETE ends it; the same resource again is unknown
    st=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE \
        "http://127.0.0.1:$PORT$(resp_header Location)")
    [ "$st" = 200 ]
    # CORS: a browser's preflight
    curl -s -D "$T/opt.head" -o /dev/null -X OPTIONS \
        -H 'Origin: http://example.test' \
        -H 'Access-Control-Request-Method: POST' "$URL"
    grep -qi '^Accept-Post: application/sdp' "$T/opt.head"
    grep -qi '^Access-Control-Allow-Origin: \*' "$T/opt.head"
    grep -qi '^Access-Control-Allow-Methods: .*DELETE' "$T/opt.head"
    grep -qi '^Access-Control-Allow-Headers: .*Authorization' "$T/opt.head"
    grep -qi '^Access-Control-Expose-Headers: .*Location.*ETag' "$T/opt.head"
}

@test "webrtc: a wrong or missing token gets 401 and no media; the token is never printed" {
    local r st
    whip_listen "?token=right-token-0123"
    r=$(chromium_publish "$URL" --token wrong-token-0123 --seconds 1)
    echo "$r"
    [ "$(json_field "$r" .status)" = 401 ]
    [ "$(json_field "$r" .connected)" = false ]
    obs_offer >"$T/offer.sdp"
    st=$(whip_post "$URL" "" "$T/offer.sdp")
    [ "$st" = 401 ]
    [ "$(resp_header WWW-Authenticate)" = Bearer ]
    whip_stop
    [ ! -s "$T/out.ts" ]
    cat "$T/err"
    [ "$(grep -c "refused a publisher (401): missing or wrong bearer token" "$T/err")" -eq 2 ]
    run ! grep -q 'right-token\|wrong-token' "$T/err"
}

@test "webrtc: the --access file's token for the path lets a publisher in" {
    local st
    printf 'live access-token-42 publish\n' >"$T/access"
    whip_listen "" -t 2 --access "$T/access"
    obs_offer >"$T/offer.sdp"
    st=$(whip_post "$URL" nope-nope-nope "$T/offer.sdp")
    [ "$st" = 401 ]
    st=$(whip_post "$URL" access-token-42 "$T/offer.sdp")
    [ "$st" = 201 ]
}

@test "webrtc: busy path 409 with Retry-After, malformed offers 400 with one line, PATCH 422, 413, HEAD" {
    local st loc
    whip_listen "" -t 3
    obs_offer >"$T/offer.sdp"
    st=$(whip_post "$URL" "" "$T/offer.sdp")
    [ "$st" = 201 ]
    loc=$(resp_header Location)
    st=$(whip_post "$URL" "" "$T/offer.sdp")
    [ "$st" = 409 ]
    [ "$(resp_header Retry-After)" -ge 1 ]
    grep -q 'already has a publisher' "$T/resp.body"
    printf 'hello\r\n' >"$T/bad.sdp"
    st=$(whip_post "$URL" "" "$T/bad.sdp")
    [ "$st" = 400 ]
    [ "$(wc -l <"$T/resp.body")" -eq 1 ]
    grep -q 'not SDP' "$T/resp.body"
    # only VP8: nothing the toolkit carries
    obs_offer | sed 's/H264\/90000/VP8\/90000/' >"$T/vp8.sdp"
    st=$(whip_post "$URL" "" "$T/vp8.sdp")
    [ "$st" = 400 ]
    grep -q 'no H.264 with packetization-mode 1' "$T/resp.body"
    st=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH \
        -H 'Content-Type: application/trickle-ice-sdpfrag' \
        --data-binary 'a=end-of-candidates' "http://127.0.0.1:$PORT$loc")
    [ "$st" = 422 ]
    st=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE \
        "http://127.0.0.1:$PORT/live/0123456789abcdef0123456789abcdef")
    [ "$st" = 404 ]
    # an offer over 64 KiB is refused unread
    { obs_offer; head -c 70000 /dev/zero | tr '\0' 'x'; } >"$T/big.sdp"
    st=$(whip_post "$URL" "" "$T/big.sdp")
    [ "$st" = 413 ]
    st=$(curl -s -o /dev/null -w '%{http_code}' -I "$URL")
    [ "$st" = 200 ]
    st=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
        -H 'Content-Type: text/plain' --data-binary x "$URL")
    [ "$st" = 415 ]
    whip_stop
    grep -q "refused a publisher (409): this path already has a publisher" "$T/err"
    grep -q "refused a publisher (400): the offer is not SDP" "$T/err"
}

@test "webrtc: a DELETE mid-stream, then a new publisher: one valid stream" {
    local r
    whip_listen "" -v
    r=$(chromium_publish "$URL" --seconds 4 --delete)
    [ "$(json_field "$r" .deleted)" = 200 ]
    sleep 1
    r=$(chromium_publish "$URL" --seconds 4 --delete)
    echo "$r"
    [ "$(json_field "$r" .status)" = 201 ]
    sleep 1
    whip_stop
    cat "$T/err"
    grep -q "the publisher left; waiting for the next one" "$T/err"
    grep -q "a new publisher; the stream goes on" "$T/err"
    check_webrtc_ts "$T/out.ts" 6
}

@test "webrtc: a publisher killed with SIGKILL: 409 until --timeout, then the next one streams on" {
    local r pid st
    whip_listen "" -t 3
    # node itself (not under timeout), so that SIGKILL hits the publisher;
    # its Chromium goes with it (the pipe to it closes)
    node "$REPO/tests/browser/whip-publish.mjs" --url "$URL" --seconds 20 \
        >/dev/null &
    pid=$!
    wait_file "$T/out.ts" 30
    sleep 3
    kill -KILL "$pid"
    wait "$pid" || true
    obs_offer >"$T/offer.sdp"
    st=$(whip_post "$URL" "" "$T/offer.sdp")
    [ "$st" = 409 ]
    sleep 5
    r=$(chromium_publish "$URL" --seconds 4 --delete)
    echo "$r"
    [ "$(json_field "$r" .status)" = 201 ]
    sleep 1
    whip_stop
    cat "$T/err"
    check_webrtc_ts "$T/out.ts" 6
}

@test "webrtc: a WHIP port already in use: one line, status 4" {
    local port
    port=$(free_port)
    spawn timeout 30 python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
time.sleep(30)' "$port"
    wait_listen "$port"
    run -4 timeout 20 cs-recv "whip://127.0.0.1:$port/live?token=hidden-token-77"
    echo "$output"
    one_line "$output"
    [[ "$output" == "cs-recv: 'whip://127.0.0.1:$port/live': cannot listen on port $port: "* ]]
    run ! grep -q hidden-token <<<"$output"
}

@test "webrtc: with --cert and --key the WHIP endpoint is HTTPS" {
    local st
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
        -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
    whip_listen "" -t 2 --cert "$T/cert.pem" --key "$T/key.pem"
    obs_offer >"$T/offer.sdp"
    st=$(curl -s -m 15 --cacert "$T/cert.pem" -o "$T/resp.body" \
        -w '%{http_code}' -X POST -H 'Content-Type: application/sdp' \
        --data-binary "@$T/offer.sdp" "https://127.0.0.1:$PORT/live")
    [ "$st" = 201 ]
    grep -qi '^a=rtpmap:96 H264/90000' "$T/resp.body"
    # plain HTTP gets no answer
    run curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST \
        -H 'Content-Type: application/sdp' --data-binary "@$T/offer.sdp" "$URL"
    [ "$output" != 201 ]
    # a key without its certificate is a usage error
    run -2 cs-recv --key "$T/key.pem" "whip://127.0.0.1:$PORT/live"
    one_line "$output"
    [[ "$output" == *"--cert and --key go together"* ]]
}

@test "webrtc: 5% loss between publisher and cs-recv: NACKs, retransmissions, no freeze over 1 s" {
    local ice relay r nacks rtx
    ice=$(free_port udp)
    relay=$(free_port udp)
    # cs-recv's own jitter buffer (200 ms): a NACK goes at once and is
    # sent again until the packet comes, several times within that
    whip_listen "?ice_port=$ice" --stats "$T/stats.json"
    # both directions lose 5%: media, NACKs, STUN and DTLS alike
    spawn lossy-relay "$relay" "$ice" 0.05 0 7
    r=$(chromium_publish "$URL" --seconds 10 --delete --via "$ice:$relay")
    echo "$r"
    [ "$(json_field "$r" .connected)" = true ]
    sleep 1
    whip_stop
    # the most any line of the run showed (the publisher's counters go with
    # it: a line written after its DELETE may hold a new session's zeros)
    nacks=$(stats_max nacks_sent "$T/stats.json")
    rtx=$(stats_max packets_retransmitted "$T/stats.json")
    echo "nacks_sent=$nacks packets_retransmitted=$rtx"
    [ "$nacks" -gt 0 ]
    [ "$rtx" -gt 0 ]
    check_webrtc_ts "$T/out.ts" 8
    # no gap over 1 s between pictures
    ffprobe -v error -select_streams v -show_entries frame=pts_time \
        -of csv=p=0 "$T/out.ts" | awk '/./ { if (n++ && $1 - p > 1) {
        print "gap: " p " to " $1; bad++ } p = $1 } END { exit bad > 0 }'
}
