#!/usr/bin/env bats
# cs-recv's RTMP listener (lib/net/rtmpserv.c): real publishers (ffmpeg,
# nginx-rtmp relaying) and hostile clients (tests/tools/rtmpclient.py) on
# loopback, against an access file.

load helper
load transport

bats_require_minimum_version 1.5.0

KEY=cat-secret-0042

setup() {
    make_clip
    printf '# stream  key  mode\ncats %s publish\ndogs dog-secret-77 play\n' \
        "$KEY" >"$T/access"
}

teardown() {
    kill_spawned
}

# cs-recv listening with the access file: listen PORT [OPTION...]
listen() {
    local port=$1
    shift
    # no timeout(1) around it: tests stop it with SIGTERM (teardown kills
    # it if a test fails first)
    spawn cs-recv --access "$T/access" "$@" \
        "rtmp://127.0.0.1:$port/live?listen=1" >"$T/out.ts" 2>"$T/err"
    wait_listen "$port"
}

push() {
    local port=$1 key=$2
    shift 2
    timeout 30 ffmpeg -nostdin -v error -re -i "$CLIP" -c copy "$@" -f flv \
        "rtmp://127.0.0.1:$port/live/$key"
}

# Video PTS from the first one on, one a line (FLV carries milliseconds:
# 25 fps frames keep their exact 90 kHz steps).
video_pts() {
    ffprobe -v error -select_streams v -show_entries packet=pts \
        -of csv=p=0 "$1" | grep . | awk 'NR == 1 { f = $1 } { print $1 - f }'
}

# The key never shows in what cs-recv printed.
no_key_in_err() {
    run ! grep -q -e "$KEY" -e dog-secret -e not-the-key "$T/err"
}

@test "rtmp: ffmpeg pushing as OBS does (live) with a granted key gives the same frames as TS" {
    local port
    port=$(free_port)
    listen "$port" --once -v
    run push "$port" "$KEY" -rtmp_live live
    [ "$status" -eq 0 ]
    wait "$(tail -n 1 "$T/pids")"
    grep -q "a publisher from 127.0.0.1 on stream 'cats'" "$T/err"
    no_key_in_err
    [ "$(probe "$T/out.ts" stream=codec_name | sort | tr '\n' ' ')" = "aac h264 " ]
    diff <(frame_hashes "$CLIP") <(frame_hashes "$T/out.ts")
    diff <(video_pts "$CLIP") <(video_pts "$T/out.ts")
    [ "$(packets "$T/out.ts" | grep -c '^packet,1,')" -eq \
      "$(packets "$CLIP" | grep -c '^packet,1,')" ]
}

# bats test_tags=sanitize
@test "rtmp: a wrong key, or a key granted only to play, is refused with nothing on stdout" {
    local port
    port=$(free_port)
    listen "$port" --stats "$T/st.json"
    run push "$port" not-the-key
    [ "$status" -ne 0 ]
    run push "$port" dog-secret-77
    [ "$status" -ne 0 ]
    run python3 "$REPO/tests/tools/rtmpclient.py" "$port" wrong-key 5
    [ "$output" = closed ]
    kill "$(tail -n 1 "$T/pids")"
    wait "$(tail -n 1 "$T/pids")"
    [ ! -s "$T/out.ts" ]
    [ "$(grep -c "rejected a publisher from 127.0.0.1: wrong stream key" "$T/err")" -eq 3 ]
    no_key_in_err
    [ "$(final_stat "$T/st.json" rtmp_rejected)" = 3 ]
    [ "$(final_stat "$T/st.json" rtmp_publishers)" = 0 ]
    run ! grep -q -e "$KEY" -e dog-secret -e not-the-key "$T/st.json"
}

# bats test_tags=sanitize
@test "rtmp: media before publish, after FCPublish alone, on 12 chunk streams, 70 chunk streams or a 2^24-1 byte message ends the connection" {
    local port what
    port=$(free_port)
    listen "$port"
    for what in media-first fcpublish streams many-streams huge; do
        run python3 "$REPO/tests/tools/rtmpclient.py" "$port" "$what" 5
        [ "$output" = closed ]
    done
    # and the real publisher still gets through afterwards
    run push "$port" "$KEY"
    [ "$status" -eq 0 ]
    sleep 0.5
    kill "$(tail -n 1 "$T/pids")"
    wait "$(tail -n 1 "$T/pids")"
    [ "$(grep -c "dropped a client from 127.0.0.1: media before publish" "$T/err")" -eq 3 ]
    [ "$(grep -c "dropped a client from 127.0.0.1: message longer than the limit" "$T/err")" -eq 1 ]
    [ "$(grep -c "dropped a client from 127.0.0.1: too many chunk streams" "$T/err")" -eq 1 ]
    [ "$(grep -c "warning" "$T/err")" -eq 5 ]
    run ! grep -q INTRUDER "$T/out.ts"
    diff <(frame_hashes "$CLIP") <(frame_hashes "$T/out.ts")
    no_key_in_err
}

@test "rtmp: an idle client connected first does not delay a real publisher, and is dropped after --timeout" {
    local port t0 waited=0 limit=$((8 * SLOW))
    port=$(free_port)
    listen "$port" --timeout "$limit"
    spawn python3 "$REPO/tests/tools/rtmpclient.py" "$port" idle 60 \
        >"$T/idle.out"
    for _ in $(seq 100); do
        ss -Htn state established "dport = :$port" | grep -q . && break
        sleep 0.1
    done
    ss -Htn state established "dport = :$port" | grep -q .
    spawn push "$port" "$KEY"
    # from the publisher's connection (the second) to the first TS byte
    for _ in $(seq 200); do
        if [ "$(ss -Htn state established "dport = :$port" | wc -l)" -ge 2 ]
        then
            break
        fi
        sleep 0.05
    done
    t0=$(date +%s%N)
    while [ ! -s "$T/out.ts" ] && [ "$waited" -lt 200 ]; do
        sleep 0.05
        waited=$((waited + 1))
    done
    echo "first byte $(( ($(date +%s%N) - t0) / 1000000 )) ms after connecting"
    [ -s "$T/out.ts" ]
    [ "$waited" -lt $((40 * SLOW)) ]        # 2 s
    # the idle client is dropped at --timeout, with one line
    for _ in $(seq $((limit * 10 + 50))); do
        if [ -s "$T/idle.out" ]; then break; fi
        sleep 0.1
    done
    [ "$(cat "$T/idle.out")" = closed ]
    grep -q "dropped a client from 127.0.0.1: no publish for $limit s" "$T/err"
}

@test "rtmp: a publisher that stops sending is dropped after --timeout, and one with a codec other than H.264 is refused" {
    local port pid size limit=$((3 * SLOW))
    port=$(free_port)
    listen "$port" --timeout "$limit"
    # no timeout(1): the test stops and kills ffmpeg itself
    ffmpeg -nostdin -v error -re -stream_loop -1 -i "$CLIP" \
        -c copy -f flv "rtmp://127.0.0.1:$port/live/$KEY" &
    pid=$!
    echo "$pid" >>"$T/pids"
    wait_file "$T/out.ts" $((10 * SLOW))
    kill -STOP "$pid"
    for _ in $(seq $((limit * 10 + 50))); do
        grep -q "dropped the publisher" "$T/err" && break
        sleep 0.1
    done
    kill -KILL "$pid"
    grep -q "dropped the publisher from 127.0.0.1: no media for $limit s" "$T/err"
    # Sorenson H.263 (FLV's codec 2): refused, nothing of it on the output
    size=$(stat -c %s "$T/out.ts")
    run timeout 30 ffmpeg -nostdin -v error -re -i "$CLIP" -c:v flv -c:a copy \
        -f flv "rtmp://127.0.0.1:$port/live/$KEY"
    [ "$status" -ne 0 ]
    grep -q "dropped the publisher from 127.0.0.1: video codec 2 is not H.264" "$T/err"
    sleep 0.5
    [ "$(stat -c %s "$T/out.ts")" -eq "$size" ]
    no_key_in_err
}

@test "rtmp: two publishers in a row with the access file give one valid stream" {
    local port
    port=$(free_port)
    listen "$port"
    push "$port" "$KEY"
    push "$port" "$KEY" -rtmp_live live
    two_publishers_one_stream
}

@test "rtmp: nginx-rtmp relaying a stream (push) to cs-recv is a real peer" {
    local port nport
    port=$(free_port)
    nport=$(free_port)
    listen "$port" --once
    mkdir -p "$T/ng/logs"
    cat >"$T/ng/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off;
pid $T/ng/nginx.pid;
error_log $T/ng/error.log;
events { worker_connections 64; }
rtmp { server { listen 127.0.0.1:$nport;
    application live { live on; push rtmp://127.0.0.1:$port/live; } } }
CONF
    spawn timeout 60 nginx -p "$T/ng" -c "$T/ng/nginx.conf"
    wait_port "$nport"
    run push "$nport" "$KEY"
    [ "$status" -eq 0 ]
    wait "$(sed -n 1p "$T/pids")"      # cs-recv: the relay ended
    grep -q "a publisher from 127.0.0.1 on stream 'cats'" "$T/err"
    diff <(frame_hashes "$CLIP") <(frame_hashes "$T/out.ts")
    [ "$(probe "$T/out.ts" stream=codec_name a)" = aac ]
}

@test "rtmp: at most 4 connections from one address, and --max-conn in all" {
    local port i max pids
    for max in 6 3; do
        port=$(free_port)
        listen "$port" --max-conn "$max" --timeout 30
        pids=()
        for i in 1 2 3 4 5; do
            python3 "$REPO/tests/tools/rtmpclient.py" "$port" idle 8 \
                >"$T/idle$max.$i.out" &
            pids+=($!)
            sleep 0.2
        done
        wait "${pids[@]}"
        kill_spawned
        cat "$T"/idle"$max".?.out
        if [ "$max" = 6 ]; then
            [ "$(cat "$T"/idle"$max".?.out | grep -c closed)" -eq 1 ]
            [ "$(grep -c "turned away a client from 127.0.0.1: too many connections from it$" "$T/err")" -eq 1 ]
        else
            [ "$(cat "$T"/idle"$max".?.out | grep -c closed)" -eq 2 ]
            [ "$(grep -c "turned away a client from 127.0.0.1: too many connections$" "$T/err")" -eq 2 ]
        fi
    done
}

@test "rtmp: a listener without a key or --access is a usage error" {
    run timeout 10 cs-recv "rtmp://127.0.0.1:$(free_port)/live?listen=1"
    [ "$status" -eq 2 ]
    [[ "$output" == *"a listener needs a stream key in the URL or --access"* ]]
}

# A self-signed certificate for 127.0.0.1, made for the test.
make_cert() {
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" \
        -out "$T/cert.pem" -days 1 -subj /CN=127.0.0.1 2>/dev/null
}

@test "rtmps: ffmpeg pushing over TLS to a test certificate gives the same frames as TS; plain RTMP to it is dropped" {
    local port
    port=$(free_port)
    make_cert
    spawn cs-recv --once -v --access "$T/access" --cert "$T/cert.pem" \
        --key "$T/key.pem" "rtmps://127.0.0.1:$port/live?listen=1" \
        >"$T/out.ts" 2>"$T/err"
    wait_listen "$port"
    # a client that does not speak TLS gets nothing through
    run timeout 10 ffmpeg -nostdin -v error -i "$CLIP" -c copy -f flv \
        "rtmp://127.0.0.1:$port/live/$KEY"
    [ "$status" -ne 0 ]
    run timeout 30 ffmpeg -nostdin -v error -re -i "$CLIP" -c copy -f flv \
        "rtmps://127.0.0.1:$port/live/$KEY"
    [ "$status" -eq 0 ]
    wait "$(tail -n 1 "$T/pids")"
    grep -q "'rtmps://127.0.0.1:$port/\*\*\*': a publisher from 127.0.0.1 on stream 'cats'" "$T/err"
    no_key_in_err
    diff <(frame_hashes "$CLIP") <(frame_hashes "$T/out.ts")
    diff <(video_pts "$CLIP") <(video_pts "$T/out.ts")
}

@test "rtmps: a listener needs --cert and --key, and they must be usable" {
    local port
    port=$(free_port)
    run cs-recv --access "$T/access" "rtmps://127.0.0.1:$port/live?listen=1"
    [ "$status" -eq 2 ]
    [[ "$output" == *"an rtmps:// listener needs --cert and --key"* ]]
    echo junk >"$T/bad.pem"
    run cs-recv --access "$T/access" --cert "$T/bad.pem" --key "$T/bad.pem" \
        "rtmps://127.0.0.1:$port/live?listen=1"
    [ "$status" -eq 2 ]
    [[ "$output" == *"cannot use certificate '$T/bad.pem'"* ]]
}
