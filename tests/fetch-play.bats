#!/usr/bin/env bats
# cs-fetch play: the shuffle bag, --seed, --loop, the cache, skipping, and
# feeding cs-decode --playlist -.

load helper

S3RVER="$REPO/node_modules/s3rver/bin/s3rver.js"

setup() {
    mkdir -p "$T/store/videos"
    local i
    for i in 1 2 3 4; do
        mkclip "$T/store/videos/cat$i.mp4" 1 160x120
    done
    echo '{"videos": []}' >"$T/store/index.json"
}

teardown() {
    [ -n "${PROXYPID:-}" ] && kill "$PROXYPID" 2>/dev/null
    [ -n "${S3PID:-}" ] && kill "$S3PID" 2>/dev/null
    if [ -n "${S3PID:-}${PROXYPID:-}" ]; then
        wait ${S3PID:+"$S3PID"} ${PROXYPID:+"$PROXYPID"} 2>/dev/null || true
    fi
}

start_s3() {
    PORT=$(free_port)
    mkdir -p "$T/s3data"
    node --openssl-legacy-provider "$S3RVER" -a 127.0.0.1 -p "$PORT" \
        -d "$T/s3data" -s --configure-bucket cats >/dev/null 2>&1 &
    S3PID=$!
    export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
    export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT AWS_REGION=us-east-1
    wait_port "$PORT"
}

# every_round FILE N: each block of N lines holds N different lines, and no
# line repeats the one before it
every_round() {
    python3 - "$1" "$2" <<'PY'
import sys
lines = open(sys.argv[1]).read().split()
n = int(sys.argv[2])
assert len(lines) >= 2 * n and len(lines) % n == 0, lines
for k in range(0, len(lines), n):
    assert len(set(lines[k:k + n])) == n, (k, lines)
assert all(a != b for a, b in zip(lines, lines[1:])), lines
PY
}

@test "with --loop every round of N lines holds every video once" {
    timeout 60 cs-fetch play --loop --ahead 0 "$T/store" 2>"$T/err" |
        head -n 12 >"$T/list" || true
    [ "$(wc -l <"$T/list")" -eq 12 ]
    every_round "$T/list" 4
    # lines are the videos' absolute paths, index.json is not a video
    [ "$(sort -u "$T/list")" = "$(realpath "$T"/store/videos/*.mp4 | sort)" ]
}

@test "--seed gives a reproducible order; without --loop one round" {
    run timeout 30 cs-fetch play --seed 7 --ahead 0 "$T/store"
    [ "$status" -eq 0 ]
    [ "$(wc -l <<<"$output")" -eq 4 ]
    local first=$output
    run timeout 30 cs-fetch play --seed 7 --ahead 0 --stats "$T/stats" "$T/store"
    [ "$output" = "$first" ]
    tail -n 1 "$T/stats" | python3 -c '
import json, sys
o = json.load(sys.stdin)
assert o["final"] and o["lines"] == 4 and o["rounds"] == 1, o'

    local other=0 s
    for s in 8 9 10; do
        [ "$(timeout 30 cs-fetch play --seed $s --ahead 0 "$T/store")" != "$first" ] && other=1
    done
    [ "$other" -eq 1 ]
}

@test "videos added to the store join the bag at its next round" {
    timeout 60 cs-fetch play --loop --ahead 1 "$T/store" 2>/dev/null \
        >"$T/list" &
    local pid=$!
    wait_file "$T/list" 10
    cp "$T/store/videos/cat1.mp4" "$T/store/videos/new.mp4"
    for i in $(seq 100); do
        [ "$(wc -l <"$T/list")" -ge 10 ] && break
        sleep 0.2
    done
    kill "$pid"; wait "$pid" || true
    # the first round is the old four, the second has five
    head -n 4 "$T/list" | grep -vq new.mp4
    sed -n 5,9p "$T/list" | grep -q new.mp4
}

@test "an empty store is an error with status 3" {
    mkdir -p "$T/empty"
    run timeout 10 cs-fetch play "$T/empty"
    [ "$status" -eq 3 ]
    [[ "$output" == "cs-fetch: no videos in '$T/empty'" ]]
}

@test "from S3 the videos are downloaded into a bounded cache and paced" {
    start_s3
    timeout 60 cs-fetch sync "$T/store" s3://cats/ch
    local size
    size=$(stat -c %s "$T/store/videos/cat1.mp4")
    # room for about two videos: the rest is evicted as the list goes on
    timeout 60 cs-fetch play --loop --seed 3 --cache "$T/cache" \
        --cache-size $((size * 2)) s3://cats/ch >"$T/list" 2>"$T/err" &
    local pid=$! i
    for i in $(seq 150); do
        [ "$(wc -l <"$T/list")" -ge 8 ] && break
        sleep 0.2
    done
    # each line names a complete copy when it is printed
    local last
    last=$(tail -n 1 "$T/list")
    local name=${last##*/}
    cmp "$last" "$T/store/videos/${name#videos%2F}"
    kill "$pid"; wait "$pid" || true
    head -n 8 "$T/list" >"$T/list8"
    every_round "$T/list8" 4
    [ "$(ls "$T/cache" | wc -l)" -le 4 ]
}

@test "a video that fails to download is skipped with a warning" {
    start_s3
    timeout 60 cs-fetch sync "$T/store" s3://cats/ch
    PPORT=$(free_port)
    python3 "$REPO/tests/tools/faultproxy.py" "$PPORT" "$PORT" \
        --block videos/cat2.mp4 --log "$T/proxy.log" &
    PROXYPID=$!
    wait_port "$PPORT"
    AWS_ENDPOINT_URL=http://127.0.0.1:$PPORT run timeout 120 \
        cs-fetch play --ahead 0 --cache "$T/cache" s3://cats/ch
    [ "$status" -eq 0 ]
    [ "$(grep -c '\.mp4$' <<<"$output")" -eq 3 ]
    [[ "$output" == *"cs-fetch: warning: skipping 'videos/cat2.mp4'"* ]]
}

@test "--presign prints URLs that fetch the video" {
    start_s3
    timeout 60 cs-fetch sync "$T/store" s3://cats/ch
    run timeout 30 cs-fetch play --presign --seed 1 s3://cats/ch
    [ "$status" -eq 0 ]
    local url
    url=$(grep -m1 X-Amz-Signature= <<<"$output")
    [[ "$url" == "http://127.0.0.1:$PORT/cats/ch/videos/cat"*".mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&"* ]]
    curl -sf "$url" -o "$T/got.mp4"
    cmp "$T/got.mp4" "$T/store/videos/$(basename "${url%%\?*}")"
    run cs-fetch play --presign "$T/store"
    [ "$status" -eq 2 ]
}

@test "the play list feeds cs-decode --playlist - into one continuous stream" {
    timeout 120 cs-fetch play --seed 5 --ahead 0 "$T/store" |
        timeout 120 cs-decode --playlist - --size 160x120 --fps 25 \
            -o "$T/out.nut"
    # four one-second videos, back to back on one timeline
    local d
    d=$(probe "$T/out.nut" format=duration)
    python3 -c "import sys; d=float(sys.argv[1]); assert 3.8 <= d <= 4.3, d" "$d"
    [ "$(ffprobe -v error -count_frames -select_streams v:0 \
        -show_entries stream=nb_read_frames -of csv=p=0 "$T/out.nut")" -ge 98 ]
}
