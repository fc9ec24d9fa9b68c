#!/usr/bin/env bats
# cs-fetch get, put and play against S3 through a proxy that fails on
# purpose (tests/tools/faultproxy.py in front of s3rver): 503s with and
# without Retry-After, a connection reset mid-body, a body that stalls past
# --timeout, a wrong ETag on a download and on an upload's answer. Every
# object ends up whole or absent, the exit status is cs(7)'s, and no secret
# is ever printed.
# Each test runs in a subshell of its own: what it exports stays there.
# shellcheck disable=SC2030,SC2031

load helper

S3RVER="$REPO/node_modules/s3rver/bin/s3rver.js"
SECRET=sEcReT-f4ult-k3y
TOKEN=t0ken-f4ult-sess

setup() {
    PORT=$(free_port)
    mkdir -p "$T/s3data"
    node --openssl-legacy-provider "$S3RVER" -a 127.0.0.1 -p "$PORT" \
        -d "$T/s3data" -s --configure-bucket cats >"$T/s3rver.log" 2>&1 &
    S3PID=$!
    # s3rver does not check signatures: any secret will do, and these are
    # easy to find in an output
    export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=$SECRET
    export AWS_SESSION_TOKEN=$TOKEN AWS_REGION=us-east-1
    export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT
    DIRECT=$AWS_ENDPOINT_URL
    wait_port "$PORT"
    head -c 700000 /dev/urandom >"$T/a.bin"
}

teardown() {
    [ -n "${PROXYPID:-}" ] && kill "$PROXYPID" 2>/dev/null
    kill "$S3PID" 2>/dev/null
    wait "$S3PID" ${PROXYPID:+"$PROXYPID"} 2>/dev/null || true
}

# proxy ARGS...: (re)start the fault proxy; cs-fetch goes through it
proxy() {
    if [ -n "${PROXYPID:-}" ]; then
        kill "$PROXYPID"
        wait "$PROXYPID" 2>/dev/null || true
    fi
    PPORT=$(free_port)
    python3 "$REPO/tests/tools/faultproxy.py" "$PPORT" "$PORT" \
        --log "$T/proxy.log" "$@" &
    PROXYPID=$!
    wait_port "$PPORT"
    export AWS_ENDPOINT_URL=http://127.0.0.1:$PPORT
}

# fetch ARGS...: cs-fetch -vv through the proxy (bounded), as `run` does;
# nothing secret in what it printed, even in debug
fetch() {
    run timeout 120 cs-fetch -vv "$@"
    if [[ "$output" == *"$SECRET"* || "$output" == *"$TOKEN"* ||
          "$output" == *Signature=* || "$output" == *X-Amz-Signature* ||
          "$output" == *Credential=* || "$output" == *Authorization* ]]; then
        echo "a secret was printed: $output" >&2
        return 1
    fi
}

# the last line is the error, in cs(7)'s form
error_is() { # PREFIX
    [[ "$(tail -n 1 <<<"$output")" == "$1"* ]]
}

# remote KEY ORIGINAL: the object, read past the proxy, is ORIGINAL byte for
# byte; remote KEY -: there is no such object
remote() {
    local st=0
    rm -f "$T/remote.back"
    AWS_ENDPOINT_URL=$DIRECT timeout 30 cs-fetch get "s3://cats/$1" \
        "$T/remote.back" 2>/dev/null || st=$?
    if [ "$2" = - ]; then
        [ "$st" -eq 3 ] || return 1
        [ ! -e "$T/remote.back" ]
    else
        [ "$st" -eq 0 ] || return 1
        cmp "$2" "$T/remote.back"
    fi
}

# no file and no temporary file left in DIR (a download that failed)
nothing_in() {
    [ -z "$(find "$1" -mindepth 1 -print -quit)" ]
}

@test "503s with and without Retry-After are retried; without end, status 4 and nothing half written" {
    proxy --503 2
    fetch put "$T/a.bin" s3://cats/a.bin
    [ "$status" -eq 0 ]
    remote a.bin "$T/a.bin"
    [ "$(grep -c '^503 ' "$T/proxy.log")" -eq 2 ]

    # Retry-After: 1 is waited for, each time
    proxy --503 2 --retry-after 1
    mkdir -p "$T/get"
    local t0=$SECONDS
    fetch get s3://cats/a.bin "$T/get/a.bin"
    [ "$status" -eq 0 ]
    [ $((SECONDS - t0)) -ge 2 ]
    cmp "$T/a.bin" "$T/get/a.bin"

    # a store that never recovers: given up after the retries, status 4
    proxy --503 1000000
    rm -f "$T/get/a.bin"
    fetch get s3://cats/a.bin "$T/get/a.bin"
    [ "$status" -eq 4 ]
    error_is "cs-fetch: cannot get 's3://cats/a.bin': HTTP 503"
    nothing_in "$T/get"
    fetch put "$T/a.bin" s3://cats/b.bin
    [ "$status" -eq 4 ]
    error_is "cs-fetch: cannot put 's3://cats/b.bin': HTTP 503"
    remote b.bin -
    # 1 attempt and 5 retries each
    [ "$(grep -c '^503 PUT /cats/b.bin' "$T/proxy.log")" -eq 6 ]
    # AWS_MAX_ATTEMPTS counts the attempts in all, as the AWS CLI does
    AWS_MAX_ATTEMPTS=2 fetch put "$T/a.bin" s3://cats/c.bin
    [ "$status" -eq 4 ]
    [ "$(grep -c '^503 PUT /cats/c.bin' "$T/proxy.log")" -eq 2 ]
    AWS_MAX_ATTEMPTS=0 fetch put "$T/a.bin" s3://cats/c.bin
    [ "$status" -eq 2 ]
    error_is "cs-fetch: AWS_MAX_ATTEMPTS: not a whole number from 1 to 100"
    [ "$(grep -c '^503 PUT /cats/c.bin' "$T/proxy.log")" -eq 2 ]
    fetch play --ahead 0 --cache "$T/cache" s3://cats
    [ "$status" -eq 4 ]
    error_is "cs-fetch: "

    # with Retry-After: 1 the retries take at least 5 s, and still end
    proxy --503 1000000 --retry-after 1
    t0=$SECONDS
    fetch put "$T/a.bin" s3://cats/b.bin
    [ "$status" -eq 4 ]
    [ $((SECONDS - t0)) -ge 5 ]
    remote b.bin -
}

@test "a connection reset mid-body: a download resumes where it stopped, an upload is sent again; for good, whole or absent" {
    AWS_ENDPOINT_URL=$DIRECT timeout 30 cs-fetch put "$T/a.bin" s3://cats/a.bin
    mkdir -p "$T/get"
    proxy --cut-on /cats/a.bin --reset --times 2
    fetch get s3://cats/a.bin "$T/get/a.bin"
    [ "$status" -eq 0 ]
    cmp "$T/a.bin" "$T/get/a.bin"
    [ "$(grep -c '^cut GET /cats/a.bin' "$T/proxy.log")" -eq 2 ]
    grep -Eq '^pass GET /cats/a.bin range=bytes=[1-9][0-9]*-$' "$T/proxy.log"

    # every reply cut: status 4 after the retries, no file, no temporary
    proxy --cut-on /cats/a.bin --reset --times 0
    rm -f "$T/get/a.bin"
    fetch get s3://cats/a.bin "$T/get/a.bin"
    [ "$status" -eq 4 ]
    error_is "cs-fetch: cannot get 's3://cats/a.bin': "
    nothing_in "$T/get"

    # an upload reset halfway through its body is sent again
    proxy --reset-upload-on /cats/u.bin --times 1
    fetch put "$T/a.bin" s3://cats/u.bin
    [ "$status" -eq 0 ]
    remote u.bin "$T/a.bin"
    grep -q '^resetup PUT /cats/u.bin' "$T/proxy.log"
    proxy --reset-upload-on /cats/v.bin --times 0
    fetch put "$T/a.bin" s3://cats/v.bin
    [ "$status" -eq 4 ]
    error_is "cs-fetch: cannot put 's3://cats/v.bin': "
    remote v.bin -
}

@test "a body that stalls longer than --timeout is fetched again from where it stopped; for good, status 4 and no file" {
    AWS_ENDPOINT_URL=$DIRECT timeout 30 cs-fetch put "$T/a.bin" s3://cats/a.bin
    mkdir -p "$T/get"
    proxy --stall-on /cats/a.bin --stall 60 --times 1
    local t0=$SECONDS
    fetch --timeout 2 get s3://cats/a.bin "$T/get/a.bin"
    [ "$status" -eq 0 ]
    cmp "$T/a.bin" "$T/get/a.bin"
    # given up after about 2 s, not after the stall's 60
    [ $((SECONDS - t0)) -lt 30 ]
    grep -q '^stall GET /cats/a.bin' "$T/proxy.log"
    grep -Eq '^pass GET /cats/a.bin range=bytes=[1-9][0-9]*-$' "$T/proxy.log"

    # (three attempts: each stalled one costs several seconds)
    proxy --stall-on /cats/a.bin --stall 60 --times 0
    rm -f "$T/get/a.bin"
    t0=$SECONDS
    AWS_MAX_ATTEMPTS=3 fetch --timeout 2 get s3://cats/a.bin "$T/get/a.bin"
    [ "$status" -eq 4 ]
    [ $((SECONDS - t0)) -lt 60 ]
    error_is "cs-fetch: cannot get 's3://cats/a.bin': "
    nothing_in "$T/get"
}

@test "a wrong ETag: a download is fetched again and an upload sent again; for good, nothing is kept" {
    AWS_ENDPOINT_URL=$DIRECT timeout 30 cs-fetch put "$T/a.bin" s3://cats/a.bin
    mkdir -p "$T/get"
    proxy --bad-etag-on /cats/a.bin --times 1
    fetch get s3://cats/a.bin "$T/get/a.bin"
    [ "$status" -eq 0 ]
    cmp "$T/a.bin" "$T/get/a.bin"
    [[ "$output" == *"does not match its ETag; retrying"* ]]
    proxy --bad-etag-on /cats/a.bin --times 0
    rm -f "$T/get/a.bin"
    fetch get s3://cats/a.bin "$T/get/a.bin"
    [ "$status" -eq 3 ]
    error_is "cs-fetch: cannot get 's3://cats/a.bin': content does not match its ETag"
    nothing_in "$T/get"

    # the store kept other bytes than those sent (its ETag says so): sent
    # again, and the object is the file
    proxy --damage-upload-on /cats/d.bin --times 1
    fetch put "$T/a.bin" s3://cats/d.bin
    [ "$status" -eq 0 ]
    grep -q '^damaged PUT /cats/d.bin' "$T/proxy.log"
    remote d.bin "$T/a.bin"
    # damaged every time: status 4, and the damaged object is removed
    proxy --damage-upload-on /cats/e.bin --times 0
    fetch put "$T/a.bin" s3://cats/e.bin
    [ "$status" -eq 4 ]
    error_is "cs-fetch: cannot put 's3://cats/e.bin': the ETag answered does not match the bytes sent"
    grep -q '^pass DELETE /cats/e.bin' "$T/proxy.log"
    remote e.bin -
    # an answer whose ETag is wrong though the bytes are right: the same
    proxy --bad-etag-on /cats/f.bin --times 0
    fetch put "$T/a.bin" s3://cats/f.bin
    [ "$status" -eq 4 ]
    remote f.bin -
    # a part of a multipart upload damaged every time: the upload is
    # aborted, no object appears
    head -c $((11 * 1024 * 1024)) /dev/urandom >"$T/big.bin"
    proxy --damage-upload-on partNumber=2 --times 0
    fetch --part-size 5M put "$T/big.bin" s3://cats/big.bin
    [ "$status" -eq 4 ]
    grep -q '^pass DELETE /cats/big.bin?uploadId=' "$T/proxy.log"
    remote big.bin -
}

@test "play through the faults: every line names a whole copy, a video failing for good is skipped" {
    mkdir -p "$T/store/videos"
    local i
    for i in 1 2 3; do
        mkclip "$T/store/videos/cat$i.mp4" 1 160x120
    done
    AWS_ENDPOINT_URL=$DIRECT timeout 60 cs-fetch sync "$T/store" s3://cats/ch
    # a 503, a reset, a stall and a wrong ETag, once each, on three videos
    proxy --503 1 --cut-on cat1.mp4 --reset --stall-on cat2.mp4 --stall 60 \
        --bad-etag-on cat3.mp4
    fetch --timeout 2 play --ahead 0 --seed 1 --cache "$T/cache" s3://cats/ch
    [ "$status" -eq 0 ]
    local lines
    lines=$(grep '\.mp4$' <<<"$output")
    [ "$(wc -l <<<"$lines")" -eq 3 ]
    while read -r f; do
        cmp "$f" "$T/store/videos/${f##*%2F}"
    done <<<"$lines"

    # cat2 stalls every time: skipped with a warning, the others whole
    proxy --stall-on cat2.mp4 --stall 60 --times 0
    rm -rf "$T/cache"
    AWS_MAX_ATTEMPTS=3 fetch --timeout 2 play --ahead 0 --seed 1 --cache "$T/cache" s3://cats/ch
    [ "$status" -eq 0 ]
    lines=$(grep '\.mp4$' <<<"$output")
    [ "$(wc -l <<<"$lines")" -eq 2 ]
    [[ "$output" == *"cs-fetch: warning: skipping 'videos/cat2.mp4'"* ]]
    while read -r f; do
        cmp "$f" "$T/store/videos/${f##*%2F}"
    done <<<"$lines"
    [ -z "$(find "$T/cache" -name '*cat2*')" ]
}
