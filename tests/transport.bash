# Shared by tests/cs-send.bats and tests/cs-recv.bats: load with
# `load transport` after `load helper`.

# One 3-second clip (H.264 + AAC in MPEG-TS) for the whole file.
make_clip() {
    CLIP=$BATS_FILE_TMPDIR/in.ts
    [ -s "$CLIP" ] || mkclip "$CLIP" 3
}

# A free UDP port that is even, with the next one free as well (RIST's
# simple profile wants RTP on an even port, RTCP on the next): both are
# bound at once before the pair is given out, so a file running beside
# this one cannot hold the RTCP port.
even_udp_port() {
    python3 - <<'PY'
import socket
for _ in range(64):
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.bind(("127.0.0.1", 0))
    p = a.getsockname()[1]
    if p % 2 == 0 and p < 65535:
        b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            b.bind(("127.0.0.1", p + 1))
        except OSError:
            continue
        print(p)
        break
else:
    raise SystemExit("no free even UDP port pair")
PY
}

# Run a command in the background, remembered for teardown. Its standard
# input is the caller's (a bare `&` would give it /dev/null).
spawn() {
    "$@" <&0 &
    echo $! >>"$T/pids"
}

kill_spawned() {
    local p
    [ -f "$T/pids" ] || return 0
    # a process that leads its own group (setsid) is stopped with its group
    while read -r p; do
        kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true
    done <"$T/pids"
    while read -r p; do wait "$p" 2>/dev/null || true; done <"$T/pids"
    rm -f "$T/pids"
}

# ffprobe's packet list: stream, timestamps, size, flags.
packets() {
    ffprobe -v error -show_entries packet=stream_index,pts,dts,size,flags \
        -of csv "$1"
}

# The same TS packet for packet: same bytes, same packet list.
same_ts() {
    cmp "$1" "$2" && diff <(packets "$1") <(packets "$2")
}

# One MD5 a decoded video frame.
frame_hashes() {
    ffmpeg -nostdin -v error -i "$1" -map 0:v -f framemd5 - |
        grep -v '^#' | awk -F, '{ print $NF }'
}

# How much slower the build under test is: the sanitizer build starts and
# runs several times slower than the normal one. Waits and SRT latencies
# scale by it; what a test asserts does not.
if grep -q __asan_init "$CS_BIN/cs-recv" 2>/dev/null; then
    SLOW=4
else
    SLOW=1
fi

# Wait until a UDP port is bound, or a TCP port listens, on 127.0.0.1
# without connecting to it (a listener such as ffmpeg's would take the probe
# for its client). Max ~5 s times $SLOW.
wait_bound() {
    local flags=$1 port=$2
    for _ in $(seq $((50 * SLOW))); do
        ss "$flags" "sport = :$port" 2>/dev/null | grep -q . && return 0
        sleep 0.1
    done
    return 1
}
wait_udp() { wait_bound -Hlun "$1"; }
wait_listen() { wait_bound -Hltn "$1"; }

# `run` with the command's standard output going to FILE.
run_to() {
    local file=$1
    shift
    run bash -c '"$@" >"$0"' "$file" "$@"
}

# A JSON field of the last line of a --stats file.
final_stat() {
    tail -n 1 "$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"
}

# After two publishers of $CLIP into the listener spawned last (stderr in
# $T/err, stdout in $T/out.ts): stop it; the output is one clean stream
# holding every frame of both.
# shellcheck disable=SC2154 # status and output come from bats' run
two_publishers_one_stream() {
    sleep 0.5
    kill -TERM "$(tail -n 1 "$T/pids")"
    wait "$(tail -n 1 "$T/pids")"
    grep -q "a new publisher; the stream goes on" "$T/err"
    run ffmpeg -nostdin -v error -i "$T/out.ts" -f null -
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    [ "$(frame_hashes "$T/out.ts" | wc -l)" -eq \
        $(( 2 * $(frame_hashes "$CLIP" | wc -l) )) ]
}
