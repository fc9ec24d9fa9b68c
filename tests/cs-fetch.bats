#!/usr/bin/env bats
# cs-fetch on a local folder and on S3 (s3rver on loopback): round trips,
# paging, multipart, faults, credentials.
# Each test runs in a subshell of its own: what it exports stays there.
# shellcheck disable=SC2030,SC2031

load helper

S3RVER="$REPO/node_modules/s3rver/bin/s3rver.js"
SECRET=S3RVER

setup() {
    PORT=$(free_port)
    mkdir -p "$T/s3data"
    # s3rver's continuation tokens use a cipher OpenSSL 3 keeps in its
    # legacy provider
    node --openssl-legacy-provider "$S3RVER" -a 127.0.0.1 -p "$PORT" -d "$T/s3data" -s \
        --configure-bucket cats >"$T/s3rver.log" 2>&1 &
    S3PID=$!
    export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=$SECRET
    export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT AWS_REGION=us-east-1
    unset AWS_SESSION_TOKEN
    wait_port "$PORT"
}

teardown() {
    [ -n "${PROXYPID:-}" ] && kill "$PROXYPID" 2>/dev/null
    kill "$S3PID" 2>/dev/null
    wait "$S3PID" ${PROXYPID:+"$PROXYPID"} 2>/dev/null || true
}

# proxy PORTVAR ARGS...: start the fault-injecting proxy in front of s3rver
proxy() {
    PPORT=$(free_port)
    python3 "$REPO/tests/tools/faultproxy.py" "$PPORT" "$PORT" \
        --log "$T/proxy.log" "$@" &
    PROXYPID=$!
    wait_port "$PPORT"
}

roundtrip() { # STORE
    local s=$1
    head -c 300000 /dev/urandom >"$T/a.bin"
    printf 'hello' >"$T/small.txt"
    run timeout 30 cs-fetch put "$T/a.bin" "$s/dir/a.bin"
    [ "$status" -eq 0 ]
    timeout 30 cs-fetch put "$T/small.txt" "$s/small.txt"
    run timeout 30 cs-fetch ls "$s"
    [ "$status" -eq 0 ]
    [ "$output" = $'dir/a.bin\nsmall.txt' ]
    timeout 30 cs-fetch get "$s/dir/a.bin" "$T/back.bin"
    cmp "$T/a.bin" "$T/back.bin"
    [ "$(timeout 30 cs-fetch get "$s/small.txt" -)" = hello ]
    mkdir -p "$T/here"
    (cd "$T/here" && timeout 30 cs-fetch get "$s/small.txt")
    cmp "$T/small.txt" "$T/here/small.txt"
    run timeout 30 cs-fetch rm "$s/dir/a.bin"
    [ "$status" -eq 0 ]
    [ "$(timeout 30 cs-fetch ls "$s")" = small.txt ]
    run timeout 30 cs-fetch get "$s/dir/a.bin" -
    [ "$status" -eq 3 ]
    one_line "$output"
    [[ "$output" == "cs-fetch: cannot get '$s/dir/a.bin': "* ]]
    run timeout 30 cs-fetch rm "$s/dir/a.bin"
    [ "$status" -eq 3 ]
}

syncs() { # STORE
    local s=$1
    mkdir -p "$T/src/sub"
    head -c 1000 /dev/urandom >"$T/src/one.mp4"
    head -c 2000 /dev/urandom >"$T/src/sub/two.mp4"
    run timeout 30 cs-fetch sync "$T/src" "$s"
    [ "$status" -eq 0 ]
    [[ "$output" == *"2 uploaded, 0 unchanged"* ]]
    run timeout 30 cs-fetch sync "$T/src" "$s"
    [[ "$output" == *"0 uploaded, 2 unchanged"* ]]
    # same size, other bytes: changed
    head -c 1000 /dev/urandom >"$T/src/one.mp4"
    run timeout 30 cs-fetch sync "$T/src" "$s"
    [[ "$output" == *"1 uploaded, 1 unchanged"* ]]
    timeout 30 cs-fetch get "$s/one.mp4" "$T/one.back"
    cmp "$T/src/one.mp4" "$T/one.back"
    timeout 30 cs-fetch get "$s/sub/two.mp4" "$T/two.back"
    cmp "$T/src/sub/two.mp4" "$T/two.back"
}

@test "put, get, ls and rm round trip byte-exact on a local folder" {
    roundtrip "$T/store"
    # written whole: no temporary file is left beside the objects
    [ -z "$(find "$T/store" -name '.*')" ]
}

@test "put, get, ls and rm round trip byte-exact on S3" {
    roundtrip s3://cats/pre
}

@test "sync uploads what is new or changed, on a folder and on S3" {
    syncs "$T/store"
    rm -rf "$T/src"
    syncs s3://cats/synced
}

@test "ls pages through more than 1000 keys" {
    mkdir -p "$T/many"
    for i in $(seq -w 1 1100); do echo "$i" >"$T/many/k$i"; done
    timeout 150 cs-fetch sync "$T/many" s3://cats/many
    run timeout 30 cs-fetch -vv ls s3://cats/many
    [ "$status" -eq 0 ]
    [ "$(grep -c '^k' <<<"$output")" -eq 1100 ]
    [ "$(grep '^k' <<<"$output" | sort -u | wc -l)" -eq 1100 ]
    # two pages: the second with a continuation token
    grep -q 'continuation-token=' <<<"$output"
}

@test "an object larger than the part size goes up in parts and comes back byte-exact" {
    head -c $((12 * 1024 * 1024 + 4321)) /dev/urandom >"$T/big.bin"
    run timeout 60 cs-fetch -vv --part-size 5M put "$T/big.bin" s3://cats/big.bin
    [ "$status" -eq 0 ]
    grep -q 'partNumber=3&uploadId=' <<<"$output"
    timeout 60 cs-fetch get s3://cats/big.bin "$T/big.back"
    cmp "$T/big.bin" "$T/big.back"
    # sync recognises the object it sent in parts
    mkdir -p "$T/up" && ln "$T/big.bin" "$T/up/big.bin"
    run timeout 60 cs-fetch --part-size 5M sync "$T/up" s3://cats
    [[ "$output" == *"0 uploaded, 1 unchanged"* ]]
    run timeout 5 cs-fetch --part-size 1M put "$T/big.bin" s3://cats/x
    [ "$status" -eq 2 ]
}

@test "an upload broken midway (the server stopped) leaves no visible object" {
    head -c $((11 * 1024 * 1024)) /dev/urandom >"$T/big.bin"
    proxy --die-on partNumber=2
    run env AWS_ENDPOINT_URL="http://127.0.0.1:$PPORT" \
        timeout 60 cs-fetch --part-size 5M put "$T/big.bin" s3://cats/half.bin
    [ "$status" -eq 4 ]
    # the abort cannot reach a stopped server either: said in a warning
    [[ "$(tail -n 1 <<<"$output")" == "cs-fetch: cannot put 's3://cats/half.bin': "* ]]
    run timeout 30 cs-fetch ls s3://cats
    [ "$status" -eq 0 ]
    [[ "$output" != *half.bin* ]]
    # a part failing for good on a live server: the upload is aborted
    proxy --block partNumber=2
    run env AWS_ENDPOINT_URL="http://127.0.0.1:$PPORT" \
        timeout 90 cs-fetch --part-size 5M put "$T/big.bin" s3://cats/aborted.bin
    [ "$status" -eq 4 ]
    grep -q '^pass DELETE /cats/aborted.bin?uploadId=' "$T/proxy.log"
    [[ "$(timeout 30 cs-fetch ls s3://cats)" != *aborted.bin* ]]
}

@test "503s, SlowDown and dropped connections are retried and the transfer completes" {
    head -c 700000 /dev/urandom >"$T/a.bin"
    proxy --503 2 --slowdown 1 --drop 2
    export AWS_ENDPOINT_URL=http://127.0.0.1:$PPORT
    run timeout 60 cs-fetch -v put "$T/a.bin" s3://cats/a.bin
    [ "$status" -eq 0 ]
    [ "$(grep -c '^503 ' "$T/proxy.log")" -eq 2 ]
    [ "$(grep -c '^slowdown ' "$T/proxy.log")" -eq 1 ]
    [ "$(grep -c '^drop ' "$T/proxy.log")" -eq 2 ]
    [[ "$output" == *"SlowDown"*"retrying"* ]]
    kill "$PROXYPID"; wait "$PROXYPID" 2>/dev/null || true
    proxy --503 1 --drop 1
    export AWS_ENDPOINT_URL=http://127.0.0.1:$PPORT
    run timeout 60 cs-fetch get s3://cats/a.bin "$T/back.bin"
    [ "$status" -eq 0 ]
    cmp "$T/a.bin" "$T/back.bin"
}

@test "requests and presigned URLs are signed as S3 checks them (SigV4)" {
    # s3rver does not check V4 signatures: the proxy does, independently
    proxy --verify "$SECRET"
    export AWS_ENDPOINT_URL=http://127.0.0.1:$PPORT
    head -c $((6 * 1024 * 1024)) /dev/urandom >"$T/m.bin"
    run timeout 60 cs-fetch --part-size 5M put "$T/m.bin" "s3://cats/a dir/m+1 é.mp4"
    [ "$status" -eq 0 ]
    timeout 30 cs-fetch get "s3://cats/a dir/m+1 é.mp4" "$T/m.back"
    cmp "$T/m.bin" "$T/m.back"
    [ "$(timeout 30 cs-fetch ls "s3://cats/a dir")" = "m+1 é.mp4" ]
    AWS_SESSION_TOKEN=session-t0ken timeout 30 cs-fetch ls s3://cats >/dev/null
    url=$(AWS_SESSION_TOKEN=session-t0ken timeout 30 cs-fetch play --presign "s3://cats/a dir")
    [[ "$url" == *"X-Amz-Security-Token=session-t0ken"* ]]
    curl -sf "$url" -o "$T/p.back"
    cmp "$T/m.bin" "$T/p.back"
    run ! grep -q '^badsig' "$T/proxy.log"
    [ "$(grep -c '^pass ' "$T/proxy.log")" -ge 8 ]
    # the proxy does reject a bad signature
    AWS_SECRET_ACCESS_KEY=wr0ng-secret run timeout 30 cs-fetch -vv ls s3://cats
    [ "$status" -eq 2 ]
    [[ "$output" == *"cs-fetch: cannot list 's3://cats': HTTP 403 SignatureDoesNotMatch"* ]]
    [[ "$output" != *wr0ng* ]]
}

@test "a download cut midway resumes where it stopped (Range)" {
    head -c 3000000 /dev/urandom >"$T/r.bin"
    timeout 30 cs-fetch put "$T/r.bin" s3://cats/r.bin
    proxy --cut-on /cats/r.bin
    export AWS_ENDPOINT_URL=http://127.0.0.1:$PPORT
    # to a pipe: it cannot rewind, so the bytes must come once, in order
    timeout 60 cs-fetch -v get s3://cats/r.bin - 2>"$T/err" | cat >"$T/r.back"
    cmp "$T/r.bin" "$T/r.back"
    grep -q 'resuming at byte' "$T/err"
    grep -Eq '^pass GET /cats/r.bin range=bytes=[1-9][0-9]*-$' "$T/proxy.log"
}

@test "Retry-After is honoured" {
    proxy --503 1 --retry-after 2
    export AWS_ENDPOINT_URL=http://127.0.0.1:$PPORT
    local t0=$SECONDS
    run timeout 60 cs-fetch ls s3://cats
    [ "$status" -eq 0 ]
    [ $((SECONDS - t0)) -ge 2 ]
}

@test "a 200 that carries an error is retried, and so is a damaged download" {
    head -c $((11 * 1024 * 1024)) /dev/urandom >"$T/big.bin"
    proxy --error-200-on '?uploadId='
    export AWS_ENDPOINT_URL=http://127.0.0.1:$PPORT
    run timeout 60 cs-fetch -v --part-size 5M put "$T/big.bin" s3://cats/big.bin
    [ "$status" -eq 0 ]
    grep -q '^error200 POST /cats/big.bin?uploadId=' "$T/proxy.log"
    [ "$(grep -c '^pass POST /cats/big.bin?uploadId=' "$T/proxy.log")" -eq 1 ]
    # a single-part object: its ETag is its MD5, so damage is seen
    head -c 300000 /dev/urandom >"$T/small.bin"
    timeout 30 cs-fetch put "$T/small.bin" s3://cats/big.bin.small
    kill "$PROXYPID"; wait "$PROXYPID" 2>/dev/null || true
    proxy --corrupt-on /cats/big.bin.small
    export AWS_ENDPOINT_URL=http://127.0.0.1:$PPORT
    run timeout 60 cs-fetch -v get s3://cats/big.bin.small "$T/small.back"
    [ "$status" -eq 0 ]
    [[ "$output" == *"does not match its ETag; retrying"* ]]
    cmp "$T/small.bin" "$T/small.back"
}

@test "damage in a download past 1 MiB (hashed on a second thread) is seen and fetched again" {
    # 3 MB: past the bytes hashed in place, so the hashing thread checks
    # the ETag, and must start over when the download does
    head -c 3000000 /dev/urandom >"$T/mid.bin"
    timeout 30 cs-fetch put "$T/mid.bin" s3://cats/mid.bin
    proxy --corrupt-on /cats/mid.bin
    export AWS_ENDPOINT_URL=http://127.0.0.1:$PPORT
    run timeout 60 cs-fetch -v get s3://cats/mid.bin "$T/mid.back"
    [ "$status" -eq 0 ]
    [[ "$output" == *"does not match its ETag; retrying"* ]]
    [ "$(grep -c '^pass GET /cats/mid.bin' "$T/proxy.log")" -eq 2 ]
    cmp "$T/mid.bin" "$T/mid.back"
}

@test "wrong credentials: one clear line, status 2, and no secret in any output" {
    export AWS_ACCESS_KEY_ID=NOTAKEY AWS_SECRET_ACCESS_KEY=sEcReT-d0-not-print
    export AWS_SESSION_TOKEN=t0ken-d0-not-print
    run timeout 30 cs-fetch -vv ls s3://cats
    [ "$status" -eq 2 ]
    [[ "$output" == *"cs-fetch: cannot list 's3://cats': HTTP 403 InvalidAccessKeyId"* ]]
    [[ "$output" != *sEcReT* && "$output" != *t0ken* ]]
    echo x >"$T/x"
    run timeout 30 cs-fetch -vv put "$T/x" s3://cats/x
    [ "$status" -eq 2 ]
    [[ "$output" != *sEcReT* && "$output" != *t0ken* ]]
    unset AWS_SECRET_ACCESS_KEY
    run timeout 30 cs-fetch ls s3://cats
    [ "$status" -eq 2 ]
    one_line "$output"
    [[ "$output" == "cs-fetch: no S3 credentials"* ]]
}

@test "an unreachable endpoint is status 4 after the retries" {
    AWS_ENDPOINT_URL=http://127.0.0.1:$(free_port)
    export AWS_ENDPOINT_URL
    run timeout 60 cs-fetch ls s3://cats
    [ "$status" -eq 4 ]
    one_line "$output"
}

@test "get draws a progress bar only when stderr is a terminal" {
    head -c 3000000 /dev/urandom >"$T/p.bin"
    timeout 30 cs-fetch put "$T/p.bin" s3://cats/p.bin
    run timeout 30 script -qec "cs-fetch get s3://cats/p.bin '$T/p.out'" /dev/null
    [ "$status" -eq 0 ]
    [[ "$output" == *"100.0% 2929 of 2929 KiB"* ]]
    cmp "$T/p.bin" "$T/p.out"
    run timeout 30 cs-fetch get s3://cats/p.bin "$T/p2.out"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

@test "AWS is addressed virtual-host style, a custom endpoint path-style" {
    # an https proxy on a closed loopback port: nothing leaves the machine,
    # and curl never resolves the AWS host itself
    local dead
    dead=$(free_port)
    run env -u AWS_ENDPOINT_URL AWS_REGION=eu-west-1 \
        https_proxy="http://127.0.0.1:$dead" timeout 60 cs-fetch -vv ls s3://cats/x
    [ "$status" -eq 4 ]
    [[ "$output" == *"GET https://cats.s3.eu-west-1.amazonaws.com/?list-type=2&prefix=x%2F: "* ]]
    run env -u AWS_ENDPOINT_URL AWS_REGION=eu-west-1 \
        https_proxy="http://127.0.0.1:$dead" timeout 60 cs-fetch -vv ls s3://cats.example
    [[ "$output" == *"GET https://s3.eu-west-1.amazonaws.com/cats.example/?list-type=2: "* ]]
    run timeout 30 cs-fetch -vv ls s3://cats
    [[ "$output" == *"GET http://127.0.0.1:$PORT/cats/?list-type=2: ok"* ]]
}

# bats test_tags=sanitize
@test "usage errors are status 2" {
    run cs-fetch
    [ "$status" -eq 2 ]
    run cs-fetch frobnicate x
    [ "$status" -eq 2 ]
    [[ "$output" == "cs-fetch: unknown command 'frobnicate'"* ]]
    run cs-fetch get s3://cats
    [ "$status" -eq 2 ]
    run cs-fetch scrape http://127.0.0.1/
    [ "$status" -eq 2 ]
}

@test "a key with a '..' or '.' segment is refused, and no other object is touched" {
    # the proxy shows what reaches the server, and checks the signatures
    proxy --verify "$SECRET"
    export AWS_ENDPOINT_URL=http://127.0.0.1:$PPORT
    printf 'secret' >"$T/secret"
    timeout 30 cs-fetch put "$T/secret" s3://cats/secret.mp4
    local k
    for k in 'videos/../secret.mp4' 'videos/../../../other/secret.mp4' \
        'a/./../secret.mp4' '..' 'x//secret.mp4'; do
        run timeout 30 cs-fetch get "s3://cats/$k" -
        [ "$status" -eq 2 ]
        [ "$output" = "cs-fetch: cannot get 's3://cats/$k': refused: the key has an empty, '.' or '..' segment" ]
        run timeout 30 cs-fetch rm "s3://cats/$k"
        [ "$status" -eq 2 ]
        run timeout 30 cs-fetch put "$T/secret" "s3://cats/$k"
        [ "$status" -eq 2 ]
    done
    # a store whose prefix leaves its folder is refused in the same way
    mkdir -p "$T/src" && printf 'other' >"$T/src/secret.mp4"
    run timeout 30 cs-fetch sync "$T/src" s3://cats/ch/..
    [ "$status" -eq 2 ]
    # no object request went out but the first PUT (sync lists first)
    [ "$(grep -v '?list-type=2&' "$T/proxy.log")" = "pass PUT /cats/secret.mp4" ]
    [ "$(timeout 30 cs-fetch get s3://cats/secret.mp4 -)" = secret ]
}

@test "keys with spaces, '+', '%', '~', '?', '#' and unicode round-trip through put, ls and get" {
    proxy --verify "$SECRET"
    export AWS_ENDPOINT_URL=http://127.0.0.1:$PPORT
    local keys=('a b/c d.mp4' 'plus+sign.mp4' '100%25 %41.mp4' 'q?x=1#frag~.mp4'
        'unicodé/猫.mp4' 'semi;colon=&amp.mp4')
    local s k i=0
    for s in "$T/store" s3://cats/rt; do
        for k in "${keys[@]}"; do
            printf '%s' "$k" >"$T/in$i"
            timeout 30 cs-fetch put "$T/in$i" "$s/$k"
            timeout 30 cs-fetch get "$s/$k" "$T/out$i"
            cmp "$T/in$i" "$T/out$i"
            i=$((i + 1))
        done
        run timeout 30 cs-fetch ls "$s"
        [ "$status" -eq 0 ]
        [ "$output" = "$(printf '%s\n' "${keys[@]}" | LC_ALL=C sort)" ]
    done
    [ "$(grep -c '^badsig' "$T/proxy.log")" -eq 0 ]
    # the key travels percent-encoded, '/' kept
    grep -Fq 'pass GET /cats/rt/unicod%C3%A9/%E7%8C%AB.mp4' "$T/proxy.log"
    grep -Fq 'pass GET /cats/rt/q%3Fx%3D1%23frag~.mp4' "$T/proxy.log"
}

@test "ls refuses a name with a control character: one warning, a counter, the others listed" {
    local s
    printf 'x' >"$T/x"
    for s in "$T/store" s3://cats/ls; do
        timeout 30 cs-fetch put "$T/x" "$s/a.mp4"
        timeout 30 cs-fetch put "$T/x" "$s/evil"$'\n'"name.mp4"
        timeout 30 cs-fetch put "$T/x" "$s/tab"$'\t'"name.mp4"
        timeout 30 cs-fetch put "$T/x" "$s/z.mp4"
        timeout 30 cs-fetch ls --stats "$T/stats" "$s" >"$T/out" 2>"$T/err"
        [ "$(cat "$T/out")" = $'a.mp4\nz.mp4' ]
        [ "$(cat "$T/err")" = "cs-fetch: warning: refusing 'evil\\nname.mp4': a control character in the name
cs-fetch: warning: refusing 'tab\\tname.mp4': a control character in the name" ]
        tail -n 1 "$T/stats" | jq -e '.final and .refused == 2'
        # such an object can still be removed by its name
        timeout 30 cs-fetch rm "$s/evil"$'\n'"name.mp4"
        [ "$(timeout 30 cs-fetch ls "$s" 2>&1 | grep -c refusing)" -eq 1 ]
    done
}

@test "a key whose control byte XML cannot carry does not stop the listing" {
    # s3rver (like S3 asked without encoding-type=url) writes it as it is
    printf 'x' >"$T/x"
    timeout 30 cs-fetch put "$T/x" "s3://cats/ctl/a"$'\x01'"b.mp4"
    timeout 30 cs-fetch put "$T/x" s3://cats/ctl/ok.mp4
    timeout 30 cs-fetch ls s3://cats/ctl >"$T/out" 2>"$T/err"
    [ "$(cat "$T/out")" = ok.mp4 ]
    [ "$(cat "$T/err")" = "cs-fetch: warning: refusing 'a\\x7fb.mp4': a control character in the name" ]
}

@test "a listing that repeats its continuation token stops with an error" {
    printf 'x' >"$T/x"
    timeout 30 cs-fetch put "$T/x" s3://cats/loop/a.mp4
    proxy --list-loop
    run env AWS_ENDPOINT_URL="http://127.0.0.1:$PPORT" \
        timeout 20 cs-fetch ls s3://cats/loop
    echo "$output"
    [ "$status" -eq 3 ]
    cat "$T/proxy.log"
    [ "$(grep -c '^pass GET /cats.*list-type=2' "$T/proxy.log")" -eq 2 ]
}

@test "a key longer than any S3 key stops the listing: no key cut short is used" {
    local long
    printf 'x' >"$T/x"
    timeout 30 cs-fetch put "$T/x" s3://cats/long/a.mp4
    # 1100 bytes: S3 keys have at most 1024; cut short it would be another
    long=long/$(printf 'k%.0s' $(seq 1100))
    proxy --list-extra "$long"
    run env AWS_ENDPOINT_URL="http://127.0.0.1:$PPORT" \
        timeout 20 cs-fetch ls s3://cats/long
    echo "$output"
    [ "$status" -eq 3 ]
    [[ "$output" != *kkkkkkkk* ]]
    [[ "$output" == *"cs-fetch: cannot list 's3://cats/long': invalid data"* ]]
}
