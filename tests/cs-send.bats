#!/usr/bin/env bats
# cs-send: MPEG-TS from stdin to SRT, RTMP, RTSP, RIST peers on loopback.

load helper
load transport

setup() {
    make_clip
}

teardown() {
    kill_spawned
}

# bats test_tags=sanitize
@test "cs-send: a malformed URL is a usage error (2) in one line" {
    run cs-send "srt//127.0.0.1:9000" <"$CLIP"
    [ "$status" -eq 2 ]
    [[ "$output" == "cs-send: invalid URL 'srt//127.0.0.1:9000': "* ]]
    one_line "$output"
    run cs-send "srt://127.0.0.1:9000?latency=fast" <"$CLIP"
    [ "$status" -eq 2 ]
    [[ "$output" == *"bad value for 'latency'"* ]]
    run cs-send "srt://127.0.0.1:9000?passphrase=secretsecret&colour=red" \
        <"$CLIP"
    [ "$status" -eq 2 ]
    [[ "$output" == *"unknown parameter 'colour'"* ]]
    [[ "$output" != *secretsecret* ]]
}

@test "cs-send: an unresolvable host and a refused connection exit 4" {
    run timeout 20 cs-send "srt://no-such-host.invalid:9000" <"$CLIP"
    [ "$status" -eq 4 ]
    [[ "$output" == "cs-send: cannot connect to 'srt://no-such-host.invalid:9000': cannot resolve 'no-such-host.invalid'"* ]]
    one_line "$output"
    local port
    port=$(free_port)
    run timeout 20 cs-send "tcp://127.0.0.1:$port" <"$CLIP"
    [ "$status" -eq 4 ]
    [ "$output" = "cs-send: cannot connect to 'tcp://127.0.0.1:$port': connection refused" ]
    port=$(free_port udp)
    run timeout 20 cs-send --timeout 1 "srt://127.0.0.1:$port" <"$CLIP"
    [ "$status" -eq 4 ]
    [[ "$output" == "cs-send: cannot connect to 'srt://127.0.0.1:$port': "* ]]
    one_line "$output"
}

@test "cs-send: SIGTERM while an SRT caller waits for its listener ends it at once, with nothing said" {
    local port pid
    port=$(free_port udp)
    # nobody listens: libsrt's blocking connect waited out the whole
    # --timeout (60 s here) before it heard the stop
    timeout 20 cs-send --timeout 60 "srt://127.0.0.1:$port" <"$CLIP" \
        2>"$T/err" &
    pid=$!
    sleep 1
    kill -TERM "$pid"       # timeout hands the signal on to cs-send
    local rc=0
    wait "$pid" || rc=$?
    [ "$rc" -eq 0 ]
    [ ! -s "$T/err" ]
}

# bats test_tags=sanitize
@test "cs-send: garbage instead of MPEG-TS on stdin exits 3" {
    local port
    port=$(free_port udp)
    junk "$T/junk" 100000
    run timeout 20 cs-send "udp://127.0.0.1:$port" <"$T/junk"
    [ "$status" -eq 3 ]
    [ "$output" = "cs-send: invalid input: not an MPEG-TS stream (no sync byte)" ]
}

@test "cs-send: SRT caller to srt-live-transmit arrives packet for packet, in real time" {
    local port
    port=$(free_port udp)
    spawn timeout 30 srt-live-transmit -q -a:no "srt://:$port?mode=listener" \
        "file://con" >"$T/out.ts"
    wait_udp "$port"
    local t0=$SECONDS
    run timeout 30 cs-send "srt://127.0.0.1:$port" <"$CLIP"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    # a 3 s clip takes about 3 s: paced by its PCR, not sent at once
    [ $((SECONDS - t0)) -ge 2 ]
    sleep 0.5
    kill_spawned
    same_ts "$CLIP" "$T/out.ts"
}

@test "cs-send: input that stalls and then comes in a burst goes at once until it has caught up" {
    local port size third t0 t1
    port=$(free_port udp)
    mkclip "$T/six.ts" 6 160x120
    size=$(stat -c %s "$T/six.ts")
    third=$(( size / 3 / 188 * 188 ))
    spawn timeout 30 srt-live-transmit -q -a:no "srt://:$port?mode=listener" \
        "file://con" >"$T/out.ts"
    wait_udp "$port"
    # 2 s of media at once (paced out over 2 s), nothing until 4 s, then
    # the other 4 s at once: what was due by then goes at once, the rest
    # on time. Paced from the stall on instead, it would end at 8 s.
    t0=$(date +%s.%N)
    run timeout 30 bash -c "{ head -c $third '$T/six.ts'; sleep 4;
        tail -c +$((third + 1)) '$T/six.ts'; } | cs-send 'srt://127.0.0.1:$port'"
    t1=$(date +%s.%N)
    [ "$status" -eq 0 ]
    echo "sent in $(echo "$t1 - $t0" | bc) s"
    awk -v d="$(echo "$t1 - $t0" | bc)" 'BEGIN { exit !(d >= 5.5 && d < 7.3) }'
    sleep 0.5
    kill_spawned
    same_ts "$T/six.ts" "$T/out.ts"
}

@test "cs-send: the packets that have come go out at once, not when a datagram is full" {
    local port
    port=$(free_port udp)
    spawn timeout 120 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
with open(sys.argv[2], "wb", buffering=0) as f:
    while True:
        f.write(s.recv(65536))' "$port" "$T/got.ts"
    wait_udp "$port"
    # 10 packets, then the input stays open and quiet. A datagram holds 7:
    # the other 3 waited for more input (the next frame, live) before.
    spawn timeout 120 bash -c "{ head -c 1880 '$CLIP'; sleep 100; } |
        cs-send --no-pace 'udp://127.0.0.1:$port'"
    for _ in $(seq 100); do
        [ "$(stat -c %s "$T/got.ts" 2>/dev/null || echo 0)" -ge 1880 ] && break
        sleep 0.1
    done
    ls -l "$T/got.ts"
    cmp "$T/got.ts" <(head -c 1880 "$CLIP")
}

@test "cs-send: SRT listener serves ffmpeg as the caller, packet for packet" {
    local port
    port=$(free_port udp)
    spawn timeout 30 cs-send "srt://127.0.0.1:$port?mode=listener" <"$CLIP"
    wait_udp "$port"
    run timeout 30 ffmpeg -nostdin -v error -i "srt://127.0.0.1:$port" \
        -c copy -f mpegts -y "$T/raw.ts"
    # ffmpeg remuxes: compare what a user compares, the packets' payload
    [ "$(packets "$T/raw.ts" | wc -l)" -eq "$(packets "$CLIP" | wc -l)" ]
    diff <(ffprobe -v error -show_entries packet=size,flags -of csv "$CLIP") \
         <(ffprobe -v error -show_entries packet=size,flags -of csv "$T/raw.ts")
    diff <(frame_hashes "$CLIP") <(frame_hashes "$T/raw.ts")
}

@test "cs-send: reconnects with back-off and says so on stderr" {
    local port
    port=$(free_port udp)
    spawn timeout 30 cs-send --retry 10 --timeout 1 \
        "srt://127.0.0.1:$port" <"$CLIP" 2>"$T/err"
    sleep 2.5
    run_to "$T/out.ts" timeout 30 cs-recv --once \
        "srt://127.0.0.1:$port?mode=listener"
    [ "$status" -eq 0 ]
    grep -q "reconnecting in" "$T/err"
    grep -q "connected to 'srt://127.0.0.1:$port' again" "$T/err"
    same_ts "$CLIP" "$T/out.ts"
}

@test "cs-send: RTMP push into nginx-rtmp, and ffmpeg plays it back intact" {
    local port
    port=$(free_port)
    mkdir -p "$T/ng/logs"
    cat >"$T/ng/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off;
pid $T/ng/nginx.pid;
error_log $T/ng/error.log;
events { worker_connections 64; }
rtmp { server { listen 127.0.0.1:$port; application live { live on; } } }
CONF
    spawn timeout 60 nginx -p "$T/ng" -c "$T/ng/nginx.conf"
    wait_port "$port"
    # every packet written at once: wait_settled sees the file as it is,
    # and the stop below loses nothing held in ffmpeg's output buffer
    spawn timeout 30 ffmpeg -nostdin -v error -i "rtmp://127.0.0.1:$port/live/cat" \
        -c copy -flush_packets 1 -f mpegts -y "$T/pulled.ts"
    sleep 0.5
    run timeout 30 cs-send "rtmp://127.0.0.1:$port/live/cat" <"$CLIP"
    [ "$status" -eq 0 ]
    # the relay and the puller may lag on a busy machine: wait (10 s at
    # most) until the pulled file has stopped growing for a second
    wait_settled "$T/pulled.ts" 10
    kill_spawned
    diff <(frame_hashes "$CLIP") <(frame_hashes "$T/pulled.ts")
    [ "$(probe "$T/pulled.ts" stream=codec_name a | sort -u)" = aac ]
}

@test "cs-send: RTSP push (ANNOUNCE/RECORD) to ffmpeg arrives intact" {
    local port
    port=$(free_port)
    spawn timeout 30 ffmpeg -nostdin -v error -rtsp_flags listen \
        -i "rtsp://127.0.0.1:$port/cam" -c copy -f mpegts -y "$T/got.ts"
    wait_listen "$port"
    run timeout 30 cs-send "rtsp://127.0.0.1:$port/cam" <"$CLIP"
    [ "$status" -eq 0 ]
    for _ in $(seq 50); do
        kill -0 "$(tail -n 1 "$T/pids")" 2>/dev/null || break
        sleep 0.1
    done
    diff <(frame_hashes "$CLIP") <(frame_hashes "$T/got.ts")
    [ "$(probe "$T/got.ts" stream=codec_name a | sort -u)" = aac ]
}

@test "cs-send: RIST (main profile) to ristreceiver, byte for byte" {
    local port out
    port=$(even_udp_port)
    out=$(free_port udp)
    spawn timeout 30 ristreceiver -p 1 -i "rist://@127.0.0.1:$port" \
        -o "udp://127.0.0.1:$out" -v 2
    spawn timeout 30 cs-recv --once --timeout 2 "udp://127.0.0.1:$out" \
        >"$T/out.ts"
    wait_udp "$out"
    run timeout 30 cs-send "rist://127.0.0.1:$port" <"$CLIP"
    [ "$status" -eq 0 ]
    wait "$(tail -n 1 "$T/pids")"
    same_ts "$CLIP" "$T/out.ts"
}

@test "cs-send: a RIST passphrase holding '&' and '=' is the whole passphrase, not more parameters" {
    local port
    # "secretpass&aes-type=128": put into librist's URL unencoded, its
    # secret would be "secretpass", and a receiver with only that decrypts
    # a listener waits for its first publisher, and one it cannot decrypt
    # is none: 12 s is the 3 s clip, the 3 s timeout, and room to spare
    port=$(even_udp_port)
    spawn timeout 12 cs-recv --once --timeout 3 \
        "rist://@127.0.0.1:$port?passphrase=secretpass" >"$T/wrong.ts"
    wait_udp "$port"
    run timeout 30 cs-send "rist://127.0.0.1:$port?passphrase=secretpass%26aes-type%3D128" \
        <"$CLIP"
    wait "$(tail -n 1 "$T/pids")" || true
    [ ! -s "$T/wrong.ts" ] || [ "$(ffprobe -v error -count_packets \
        -show_entries stream=nb_read_packets -of csv=p=0 "$T/wrong.ts" |
        head -1)" = "" ]
    # the same passphrase at both ends: byte for byte
    port=$(even_udp_port)
    spawn timeout 30 cs-recv --once --timeout 3 \
        "rist://@127.0.0.1:$port?passphrase=secretpass%26aes-type%3D128" >"$T/out.ts"
    wait_udp "$port"
    run timeout 30 cs-send "rist://127.0.0.1:$port?passphrase=secretpass%26aes-type%3D128" \
        <"$CLIP"
    [ "$status" -eq 0 ]
    wait "$(tail -n 1 "$T/pids")"
    same_ts "$CLIP" "$T/out.ts"
}

# bats test_tags=sanitize
@test "cs-send: input that opens like TS without being in sync is read on, not spun on" {
    local port
    port=$(free_port udp)
    # found by tests/fuzz/fuzz_tsbuf: 0x47 first, no packet in sync within
    # 940 bytes; the reader neither read more nor dropped a byte, and spun
    # (deaf to SIGTERM too)
    run timeout -s KILL 20 cs-send "udp://127.0.0.1:$port" \
        <"$REPO"/tests/fuzz/regress/tsbuf/timeout-*
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "a bad --timeout or --retry names the option once (--timeout, not ----timeout)" {
    run cs-send --timeout x udp://127.0.0.1:9
    [ "$status" -eq 2 ]
    [ "$output" = "cs-send: invalid value 'x' for --timeout: expected seconds (like 2, 0.5 or 200ms) from 0.001 to 86400" ]
    run cs-recv --retry x udp://127.0.0.1:9
    [ "$status" -eq 2 ]
    [ "$output" = "cs-recv: invalid value 'x' for --retry: expected a count or 'forever'" ]
}
