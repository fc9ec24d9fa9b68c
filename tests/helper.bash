# Shared by every bats file: load with `load helper`.
# The binaries under test are in $CS_BIN (bin/ or bin-asan/).

CS_BIN=${CS_BIN:-$BATS_TEST_DIRNAME/../bin}
CS_TOOLS=${CS_TOOLS:-$BATS_TEST_DIRNAME/../build/tools}
REPO=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
PATH=$CS_BIN:$CS_TOOLS:$PATH
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}
T=${BATS_TEST_TMPDIR:-$BATS_FILE_TMPDIR}
# `run !` (a command that must fail) needs bats 1.5; a bare `! cmd` does not
# fail a test unless it is its last command.
bats_require_minimum_version 1.5.0

# A free TCP (default) or UDP port on 127.0.0.1.
free_port() {
    python3 - "${1:-tcp}" <<'PY'
import socket, sys
kind = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, kind)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
PY
}

# Make the network namespace $1, its loopback up, or skip the test: it
# needs root, and a kernel that lets it.
netns_add() {
    [ "$(id -u)" -eq 0 ] || skip "needs root to make a network namespace (ip netns)"
    ip netns add "$1" 2>"$T/netns.err" ||
        skip "cannot make a network namespace: $(head -n 1 "$T/netns.err")"
    ip netns exec "$1" ip link set lo up
}

# Make a test clip with lavfi: mkclip OUT DURATION [SIZE] [RATE] [audio|noaudio]
mkclip() {
    local out=$1 dur=$2 size=${3:-320x240} rate=${4:-25} audio=${5:-audio}
    local a=()
    if [ "$audio" = audio ]; then
        a=(-f lavfi -i "sine=frequency=440:sample_rate=44100:duration=$dur")
    fi
    ffmpeg -nostdin -loglevel error -y \
        -f lavfi -i "testsrc2=size=$size:rate=$rate:duration=$dur" "${a[@]}" \
        -c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 25 \
        ${a:+-c:a aac -b:a 64k} -shortest "$out"
}

# A 6 s 160x120 H.264 + AAC MPEG-TS whose first picture is at TICKS (90
# kHz, may be negative), every time moved modulo 2^33 as the TS clock is,
# packets in ffmpeg's order (pictures first): primed_ts OUT TICKS. TICKS 0
# puts the AAC priming just below zero after the picture at zero (what
# cs-encode wrote to a pipe before 2026-12-02); 2^33 - 3 s turns the clock
# over 3 s in.
primed_ts() {
    local v0
    ffmpeg -nostdin -loglevel error -y \
        -f lavfi -i testsrc2=size=160x120:rate=25:duration=6 \
        -f lavfi -i sine=sample_rate=48000:duration=6 \
        -c:v libx264 -preset ultrafast -g 25 -bf 0 -c:a aac -b:a 64k "$1.src.ts"
    v0=$(ffprobe -v error -select_streams v -show_entries packet=pts \
        -of csv=p=0 "$1.src.ts" | head -1 | tr -d ,)
    python3 "$REPO/tests/tools/tsshift.py" "$(($2 - v0))" <"$1.src.ts" >"$1"
}

# Wait until a TCP port accepts connections (max ~5 s).
wait_port() {
    local port=$1 i
    for i in $(seq 50); do
        (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# Wait until a file exists and is non-empty (max $2 seconds, default 10).
wait_file() {
    local f=$1 n=$(( ${2:-10} * 10 )) i
    for i in $(seq "$n"); do
        [ -s "$f" ] && return 0
        sleep 0.1
    done
    return 1
}

# Wait until FILE is larger than SIZE bytes (at most $3 seconds, default
# 10): what a writer sends has begun to arrive.
wait_grows() {
    local f=$1 size=$2 n=$(( ${3:-10} * 10 )) i
    for i in $(seq "$n"); do
        [ "$(stat -c %s "$f" 2>/dev/null || echo 0)" -gt "$size" ] && return 0
        sleep 0.1
    done
    return 1
}

# Wait until FILE has kept the same size for a second (at most $2 seconds,
# default 10): a writer on the other end of a relay has caught up.
wait_settled() {
    local f=$1 n=${2:-10} i last=-1 size
    for i in $(seq "$n"); do
        size=$(stat -c %s "$f" 2>/dev/null || echo 0)
        [ "$size" -gt 0 ] && [ "$size" = "$last" ] && return 0
        last=$size
        sleep 1
    done
    return 1
}

# ffprobe values, one a line: probe FILE ENTRIES [STREAM-SPECIFIER]
# (ENTRIES like stream=codec_name,width or format=duration). MPEG-TS lists
# streams twice (in its program too): only the top-level list is printed.
probe() {
    local sect=${2%%=*} keys=${2#*=}
    ffprobe -v error ${3:+-select_streams "$3"} -show_entries "$2" -of json "$1" |
        jq -r --arg s "$sect" --arg k "$keys" '
            (if $s == "format" then [.format] else .streams end)[] as $o
            | ($k | split(","))[] | $o[.] // empty | tostring'
}

# The number of lines of stderr in $output that are not empty.
one_line() {
    [ "$(printf '%s\n' "$1" | grep -c .)" -eq 1 ]
}

# SIZE bytes of seeded pseudo-random junk in FILE: not media, and the same
# bytes every run (fresh random bytes now and then probe as some format).
junk() {
    python3 -c 'import random, sys
sys.stdout.buffer.write(random.Random(20261124).randbytes(int(sys.argv[1])))' "$2" > "$1"
}
