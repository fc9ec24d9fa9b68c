#!/usr/bin/env bats
# cs-serve: types, cache headers, validators, ranges, CORS, gzip, ingest,
# LL-HLS blocking reload / delta updates / preload hints, traversal,
# limits, metrics, the player page and the exit statuses.

load helper
load serve-helper

setup() {
    serve_setup
}

teardown() {
    if [ -n "${SERVE_PID:-}" ]; then
        kill "$SERVE_PID" 2>/dev/null || true
        wait "$SERVE_PID" 2>/dev/null || true
    fi
}

serve() {
    timeout 170 cs-serve --root "$ROOT" --listen 127.0.0.1:$PORT \
        --ingest-token t0ken-s3cret "$@" 2>"$T/serve.err" &
    SERVE_PID=$!
    wait_port "$PORT"
}

# Response headers only, CR removed, names lower-cased.
hdrs() {
    curl -s -o /dev/null -D - "$@" | tr -d '\r' |
        awk -F': ' '{ if (NF > 1) print tolower($1) ": " $2; else print }'
}

code() {
    curl -s -o /dev/null -w '%{http_code}' "$@"
}

# Wait (max 20 s) until N requests are blocked; print how many are.
wait_blocked() {
    local n
    for _ in $(seq 200); do
        n=$(curl -s "$U/metrics" | awk '/^cs_serve_blocked_requests /{print $2}')
        [ "${n:-0}" -ge "$1" ] && break
        sleep 0.1
    done
    echo "${n:-0}"
}

@test "content types, cache headers, validators, HEAD and CORS" {
    python3 "$LLHLS" write "$ROOT/s/v0" 30
    printf '<MPD/>' >"$ROOT/s/manifest.mpd"
    head -c 1000 /dev/zero >"$ROOT/s/v0/7.ts"
    head -c 100 /dev/zero >"$ROOT/s/v0/a.m4a"
    serve
    run hdrs $U/s/v0/index.m3u8
    [[ "$output" == *"content-type: application/vnd.apple.mpegurl"* ]]
    [[ "$output" == *"cache-control: public, max-age=1"* ]]
    [[ "$output" == *"access-control-allow-origin: *"* ]]
    [[ "$output" == *"access-control-expose-headers: Age"* ]]
    [[ "$output" == *"age: "* ]]
    run hdrs $U/s/v0/2.m4s
    [[ "$output" == *"content-type: video/iso.segment"* ]]
    [[ "$output" == *"cache-control: public, max-age=31536000, immutable"* ]]
    [[ "$output" == *"accept-ranges: bytes"* ]]
    [[ "$output" == *"last-modified: "* ]]
    etag=$(grep '^etag: ' <<<"$output" | cut -d' ' -f2)
    [ -n "$etag" ]
    [ "$(code -H "If-None-Match: $etag" $U/s/v0/2.m4s)" = 304 ]
    [ "$(code -H "If-None-Match: \"other\"" $U/s/v0/2.m4s)" = 200 ]
    run hdrs $U/s/v0/1.2.m4s
    [[ "$output" == *"cache-control: public, max-age=31536000, immutable"* ]]
    run hdrs $U/s/v0/init.mp4
    [[ "$output" == *"content-type: video/mp4"* ]]
    [[ "$(hdrs $U/s/manifest.mpd)" == *"content-type: application/dash+xml"* ]]
    [[ "$(hdrs $U/s/v0/7.ts)" == *"content-type: video/mp2t"* ]]
    [[ "$(hdrs $U/s/v0/a.m4a)" == *"content-type: audio/mp4"* ]]
    # HEAD: the headers of a GET, no body
    run curl -s -I $U/s/v0/2.m4s
    [[ "$output" == *"Content-Length: $(stat -c %s "$ROOT/s/v0/2.m4s")"* ]]
    [ "$(curl -s -I $U/s/v0/2.m4s -o /dev/null -w '%{size_download}')" = 0 ]
    # CORS preflight
    run hdrs -X OPTIONS -H 'Origin: http://x' \
        -H 'Access-Control-Request-Headers: range' $U/s/v0/2.m4s
    [[ "$output" == "HTTP/1.1 204"* ]]
    [[ "$output" == *"access-control-allow-headers: Range"* ]]
}

@test "byte ranges give 206, unsatisfiable ones 416" {
    python3 "$LLHLS" write "$ROOT/s/v0" 10
    serve
    size=$(stat -c %s "$ROOT/s/v0/1.m4s")
    run curl -s -D "$T/h" -H 'Range: bytes=0-9' $U/s/v0/1.m4s
    [ "$output" = "$(head -c 10 "$ROOT/s/v0/1.m4s")" ]
    grep -q "^HTTP/1.1 206" "$T/h"
    grep -qi "^content-range: bytes 0-9/$size" "$T/h"
    run curl -s -H 'Range: bytes=-5' $U/s/v0/1.m4s
    [ "$output" = "$(tail -c 5 "$ROOT/s/v0/1.m4s")" ]
    [ "$(curl -s -H "Range: bytes=$((size - 3))-" $U/s/v0/1.m4s | wc -c)" -eq 3 ]
    run hdrs -H "Range: bytes=$size-" $U/s/v0/1.m4s
    [[ "$output" == "HTTP/1.1 416"* ]]
    [[ "$output" == *"content-range: bytes */$size"* ]]
}

@test "playlists are gzip'ed for clients that accept it" {
    python3 "$LLHLS" write "$ROOT/s/v0" 40
    serve
    run hdrs -H 'Accept-Encoding: gzip' $U/s/v0/index.m3u8
    [[ "$output" == *"content-encoding: gzip"* ]]
    [[ "$output" == *"vary: Accept-Encoding"* ]]
    curl -s -H 'Accept-Encoding: gzip' $U/s/v0/index.m3u8 | gunzip >"$T/pl"
    cmp "$T/pl" "$ROOT/s/v0/index.m3u8"
    run hdrs $U/s/v0/index.m3u8
    [[ "$output" != *"content-encoding"* ]]
    run hdrs -H 'Accept-Encoding: gzip' $U/s/v0/3.m4s
    [[ "$output" != *"content-encoding"* ]]
}

@test "404, 405 and 401 (with no token in the log)" {
    python3 "$LLHLS" write "$ROOT/s/v0" 10
    serve
    [ "$(code $U/s/v0/nope.m4s)" = 404 ]
    [ "$(code $U/nope/)" = 404 ]
    [ "$(code -X POST -d x $U/s/v0/1.m4s)" = 405 ]
    [[ "$(hdrs -X PATCH $U/s/v0/1.m4s)" == *"allow: GET, HEAD, OPTIONS, PUT, DELETE"* ]]
    echo data >"$T/f"
    [ "$(code -T "$T/f" $U/s/v0/new.m4s)" = 401 ]
    [ "$(code -T "$T/f" -H 'Authorization: Bearer wrong' $U/s/v0/new.m4s)" = 401 ]
    [ "$(code -X DELETE $U/s/v0/1.m4s)" = 401 ]
    [ ! -e "$ROOT/s/v0/new.m4s" ]
    [ -e "$ROOT/s/v0/1.m4s" ]
    [[ "$(hdrs -T "$T/f" $U/s/v0/new.m4s)" == *"www-authenticate: Bearer"* ]]
    run curl -s $U/metrics
    [[ "$output" == *"cs_serve_ingest_errors_total 4"* ]]
    kill "$SERVE_PID"
    wait "$SERVE_PID" || true
    SERVE_PID=
    run ! grep -q 't0ken-s3cret\|wrong' "$T/serve.err"
    # without --ingest-token, PUT is not a method this server takes
    timeout 20 cs-serve --root "$ROOT" --listen 127.0.0.1:$PORT 2>/dev/null &
    SERVE_PID=$!
    wait_port "$PORT"
    [ "$(code -T "$T/f" -H 'Authorization: Bearer x' $U/s/v0/new.m4s)" = 405 ]
}

@test "PUT and DELETE with the token write into the root atomically" {
    serve
    head -c 100000 /dev/urandom >"$T/seg"
    auth=(-H 'Authorization: Bearer t0ken-s3cret')
    [ "$(code "${auth[@]}" -T "$T/seg" $U/live/v0/5.m4s)" = 201 ]
    cmp "$T/seg" "$ROOT/live/v0/5.m4s"
    [ "$(code "${auth[@]}" -T "$T/seg" $U/live/v0/5.m4s)" = 204 ]
    # chunked upload of unknown length
    cat "$T/seg" | curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" \
        -H 'Transfer-Encoding: chunked' -T - $U/live/v0/6.m4s >"$T/c"
    [ "$(cat "$T/c")" = 201 ]
    cmp "$T/seg" "$ROOT/live/v0/6.m4s"
    [ -z "$(find "$ROOT" -name '.*')" ]
    [ "$(code "${auth[@]}" -X DELETE $U/live/v0/5.m4s)" = 204 ]
    [ ! -e "$ROOT/live/v0/5.m4s" ]
    [ "$(code "${auth[@]}" -X DELETE $U/live/v0/5.m4s)" = 404 ]
    [ "$(code "${auth[@]}" -T "$T/seg" $U/live/.hidden)" = 404 ]
    # the longest name a file can have: its temporary name must fit too
    local long
    long=$(printf 'a%.0s' $(seq 251)).m4s
    [ "$(code "${auth[@]}" -T "$T/seg" "$U/live/v0/$long")" = 201 ]
    cmp "$T/seg" "$ROOT/live/v0/$long"
    [ "$(code "${auth[@]}" -T "$T/seg" "$U/live/v0/a$long")" = 404 ]
    [ -z "$(find "$ROOT" -name '.*')" ]
}

@test "a PUT playlist answers a blocked request at once" {
    serve
    auth=(-H 'Authorization: Bearer t0ken-s3cret')
    # both states made first: the wait (3 target durations, 3 s) must not
    # run out while a loaded machine starts python
    python3 "$LLHLS" write "$T/src" 12
    python3 "$LLHLS" write "$T/src13" 13
    curl -s "${auth[@]}" -T "$T/src/index.m3u8" $U/p/v0/index.m3u8
    curl -s -o "$T/out" -w '%{http_code}' \
        "$U/p/v0/index.m3u8?_HLS_msn=2&_HLS_part=2" >"$T/code" &
    pid=$!
    sleep 1
    [ ! -s "$T/code" ]
    curl -s "${auth[@]}" -T "$T/src13/index.m3u8" $U/p/v0/index.m3u8
    wait $pid
    echo "blocked request: $(cat "$T/code")"
    [ "$(cat "$T/code")" = 200 ]
    grep -q 'URI="2.2.m4s"' "$T/out"
}

# Three probes (blocked for 1 s, then the part is written): none answered
# early, every one answered, the median within 100 ms of the write (one
# slow probe on a loaded machine is forgiven, a polling server is not).
probe3() {
    local out=$T/probes
    : >"$out"
    for n in "$@"; do
        python3 "$LLHLS" probe "$(url_for "$n")" "$ROOT/s/v0" "$n" | tee -a "$out"
    done
    jq -s -e 'all(.[]; .status == 200 and .early == false and
                       .after_write_ms < 1000) and
              ([.[].after_write_ms] | sort | .[1] < 100)' "$out"
}

@test "a blocking request returns within 100 ms after the part lands, not before" {
    python3 "$LLHLS" write "$ROOT/s/v0" 21
    serve
    url_for() { echo "$U/s/v0/index.m3u8?_HLS_msn=$(($1 / 5))&_HLS_part=$(($1 % 5))"; }
    probe3 21 22 23
    jq -s -e 'all(.[]; .has_part)' "$T/probes"
    # a part index past the segment's last part means part 0 of the next
    python3 "$LLHLS" write "$ROOT/s/v0" 25
    url_for() { echo "$U/s/v0/index.m3u8?_HLS_msn=$(($1 / 5 - 1))&_HLS_part=5"; }
    probe3 25 30 35
    curl -s "$U/s/v0/index.m3u8" | grep -q 'URI="7.0.m4s"'
    # the preload-hinted part: the GET waits for it
    grep -q 'PRELOAD-HINT:TYPE=PART,URI="7.1.m4s"' "$ROOT/s/v0/index.m3u8"
    url_for() { echo "$U/s/v0/$(($1 / 5)).$(($1 % 5)).m4s"; }
    probe3 36 37 38
    # a part nobody announced is a plain 404
    [ "$(code $U/s/v0/9.3.m4s)" = 404 ]
}

# bats test_tags=sanitize
@test "bad directives give 400 at once, ENDLIST makes them moot" {
    python3 "$LLHLS" write "$ROOT/s/v0" 22
    serve
    pl=$U/s/v0/index.m3u8
    for q in "_HLS_part=1" "_HLS_msn=7" "_HLS_msn=4&_HLS_part=40" \
             "_HLS_msn=-1" "_HLS_msn=x" "_HLS_msn=4&_HLS_part=y" \
             "_HLS_skip=maybe"; do
        run curl -s -o /dev/null -w '%{http_code} %{time_total}' "$pl?$q"
        echo "$q: $output"
        [ "${output% *}" = 400 ]
        awk -v t="${output#* }" 'BEGIN { exit !(t < 1) }'
    done
    # an msn at most 2 ahead is fine (it waits)
    [ "$(code --max-time 1 "$pl?_HLS_msn=5")" = 000 ]
    # once the playlist has ENDLIST, directives are ignored
    echo '#EXT-X-ENDLIST' >>"$ROOT/s/v0/index.m3u8"
    run curl -s -w '%{http_code}' "$pl?_HLS_msn=6&_HLS_part=0&_HLS_skip=YES"
    [[ "$output" == *"#EXT-X-ENDLIST"*200 ]]
    [[ "$output" != *"EXT-X-SKIP"* ]]
}

@test "a stuck stream gives 503 within 3 target durations" {
    python3 "$LLHLS" write "$ROOT/s/v0" 22
    serve
    run curl -s -o /dev/null -w '%{http_code} %{time_total}' \
        --max-time 10 "$U/s/v0/index.m3u8?_HLS_msn=4&_HLS_part=2"
    echo "$output"
    [ "${output% *}" = 503 ]
    # target duration 1 s: 3 s, and not much later
    awk -v t="${output#* }" 'BEGIN { exit !(t >= 2.9 && t < 4.5) }'
    run curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$U/s/v0/4.2.m4s"
    [ "$output" = 503 ]
    [[ "$(curl -s $U/metrics)" == *"cs_serve_blocked_timeouts_total 2"* ]]
}

# bats test_tags=sanitize
@test "absurd numbers in a playlist are taken as absent: a blocked request still ends" {
    python3 "$LLHLS" write "$ROOT/s/v0" 22
    sed -i 's/^#EXT-X-TARGETDURATION:.*/#EXT-X-TARGETDURATION:1e9/' \
        "$ROOT/s/v0/index.m3u8"
    serve
    # a target duration of 1e9 s held it for years: now the default 6 s,
    # so 503 after 18 s
    run curl -s -o /dev/null -w '%{http_code} %{time_total}' \
        --max-time 30 "$U/s/v0/index.m3u8?_HLS_msn=4&_HLS_part=2"
    echo "$output"
    [ "${output% *}" = 503 ]
    awk -v t="${output#* }" 'BEGIN { exit !(t >= 17.5 && t < 22) }'
    # a part target that makes an infinite count, a NaN: as absent too
    sed -i -e 's/PART-TARGET=0.200/PART-TARGET=1e-300/' \
        -e 's/CAN-SKIP-UNTIL=6.0/CAN-SKIP-UNTIL=nan/' "$ROOT/s/v0/index.m3u8"
    sleep 0.5
    run curl -s -D - -o /dev/null "$U/s/v0/index.m3u8?_HLS_msn=3&_HLS_part=0&_HLS_skip=YES"
    echo "$output"
    [[ "$output" == *"HTTP/1.1 200"* ]]
    [[ "$(tr -d '\r' <<<"$output")" == *"max-age=1"$'\n'* ]]
}

@test "a delta update carries EXT-X-SKIP and is shorter than the full playlist" {
    python3 "$LLHLS" write "$ROOT/s/v0" 63
    serve
    curl -s "$U/s/v0/index.m3u8" >"$T/full"
    curl -s "$U/s/v0/index.m3u8?_HLS_msn=12&_HLS_part=2&_HLS_skip=YES" >"$T/delta"
    cmp "$T/full" "$ROOT/s/v0/index.m3u8"
    grep -q '^#EXT-X-SKIP:SKIPPED-SEGMENTS=[1-9]' "$T/delta"
    [ "$(wc -c <"$T/delta")" -lt "$(wc -c <"$T/full")" ]
    n=$(sed -n 's/^#EXT-X-SKIP:SKIPPED-SEGMENTS=\([0-9]*\).*/\1/p' "$T/delta")
    # what is left: the last 6 s (CAN-SKIP-UNTIL) of segments, same tail
    [ "$(grep -c '^#EXTINF' "$T/delta")" -eq $(( $(grep -c '^#EXTINF' "$T/full") - n )) ]
    [ "$(grep -c '^#EXTINF' "$T/delta")" -ge 6 ]
    diff <(tail -n 12 "$T/full") <(tail -n 12 "$T/delta")
    grep -q '^#EXT-X-MEDIA-SEQUENCE:' "$T/delta"
    grep -q '^#EXT-X-MAP:URI="init.mp4"' "$T/delta"
}

@test "_HLS_skip=v2 also skips date ranges and lists the ones removed" {
    export LLHLS_DATERANGES=1
    python3 "$LLHLS" write "$ROOT/s/v0" 63
    serve
    pl=$U/s/v0/index.m3u8
    curl -s "$pl" >/dev/null
    python3 "$LLHLS" write "$ROOT/s/v0" 73   # ad-0 and ad-1 slide out
    sleep 0.5
    curl -s "$pl" >"$T/full"
    curl -s "$pl?_HLS_skip=YES" >"$T/yes"
    curl -s "$pl?_HLS_skip=v2" >"$T/v2"
    run ! grep -q 'ID="ad-0"' "$T/full"
    n=$(sed -n 's/^#EXT-X-SKIP:SKIPPED-SEGMENTS=\([0-9]*\).*/\1/p' "$T/v2")
    [ "$n" -gt 0 ]
    # YES keeps every date range, v2 only those of the segments it keeps
    [ "$(grep -c '^#EXT-X-DATERANGE' "$T/yes")" -eq "$(grep -c '^#EXT-X-DATERANGE' "$T/full")" ]
    [ "$(grep -c '^#EXT-X-DATERANGE' "$T/v2")" -eq $(( $(grep -c '^#EXT-X-DATERANGE' "$T/full") - n )) ]
    grep -q $'^#EXT-X-SKIP:SKIPPED-SEGMENTS=[0-9]*,RECENTLY-REMOVED-DATERANGES="ad-0\tad-1"$' "$T/v2"
    run ! grep -q 'RECENTLY-REMOVED' "$T/yes"
}

@test "1000 concurrent blocked requests are all answered when the part lands" {
    export LLHLS_PPS=50     # target duration 10 s: no 503 while they gather
    python3 "$LLHLS" write "$ROOT/s/v0" 120
    serve --max-per-address 1100    # all from 127.0.0.1, and /metrics
    python3 "$LLHLS" many "$U/s/v0/index.m3u8?_HLS_msn=2&_HLS_part=20" 1000 \
        --timeout 60 >"$T/many" &
    pid=$!
    n=$(wait_blocked 1000)
    echo "blocked: $n"
    [ "$n" -eq 1000 ]
    python3 "$LLHLS" write "$ROOT/s/v0" 121
    wait $pid
    cat "$T/many"
    [ "$(jq -r '.codes["200"]' "$T/many")" = 1000 ]
    [[ "$(curl -s $U/metrics)" == *"cs_serve_blocked_requests 0"* ]]
}

@test "traversal attempts never leave the root" {
    python3 "$LLHLS" write "$ROOT/s/v0" 10
    mkdir -p "$T/outside"
    echo secret >"$T/outside/secret.m4s"
    ln -s "$T/outside" "$ROOT/s/out"
    ln -s "$T/outside/secret.m4s" "$ROOT/s/v0/link.m4s"
    ln -s 1.m4s "$ROOT/s/v0/inside.m4s"
    serve
    for p in "/../outside/secret.m4s" "/s/../../outside/secret.m4s" \
             "/%2e%2e/outside/secret.m4s" "/s/%2E%2E/%2e%2e/outside/secret.m4s" \
             "/%252e%252e/outside/secret.m4s" "/s/..%2f..%2foutside/secret.m4s" \
             "/s/out/secret.m4s" "/s/v0/link.m4s" "/s/v0/.index.m3u8.tmp" \
             "/..%5c..%5coutside/secret.m4s" "/s/v0/%00/../1.m4s"; do
        run curl -s --path-as-is -w ' %{http_code}' "$U$p"
        echo "$p -> $output"
        [[ "$output" != *secret* ]]
        [ "${output##* }" = 404 ]
    done
    [ "$(code $U/s/v0/inside.m4s)" = 200 ]
    # a FIFO is not a file to serve, and must not hang the server
    mkfifo "$ROOT/s/v0/pipe.m4s"
    [ "$(code --max-time 3 $U/s/v0/pipe.m4s)" = 404 ]
    [ "$(code $U/s/v0/1.m4s)" = 200 ]
    auth=(-H 'Authorization: Bearer t0ken-s3cret')
    echo x >"$T/f"
    for p in "/../evil.m4s" "/%2e%2e/evil.m4s" "/s/out/evil.m4s"; do
        [ "$(code --path-as-is "${auth[@]}" -T "$T/f" "$U$p")" = 404 ]
    done
    [ ! -e "$T/evil.m4s" ]
    [ ! -e "$T/outside/evil.m4s" ]
}

@test "limits: URI and header size, idle connections" {
    python3 "$LLHLS" write "$ROOT/s/v0" 10
    serve --max-header-size 8K --timeout 1
    long=$(head -c 20000 /dev/zero | tr '\0' a)
    run code "$U/s/$long.m4s"
    [[ "$output" == 4* ]]
    run code -H "X-Big: $long" "$U/s/v0/1.m4s"
    [[ "$output" == 4* ]]
    # an idle client is dropped: the socket reads EOF within a few seconds
    run timeout 10 python3 -c "
import socket, time
s = socket.create_connection(('127.0.0.1', $PORT))
t = time.time()
s.settimeout(8)
print(len(s.recv(10)), round(time.time() - t))"
    echo "$output"
    [ "${output% *}" = 0 ]
    [ "$(code $U/s/v0/1.m4s)" = 200 ]
}

@test "the connection limit holds: the next client is turned away" {
    python3 "$LLHLS" write "$ROOT/s/v0" 10
    serve --max-connections 3
    # three connections held for 4 s; the next client goes once they are
    # open (a loaded machine may take more than a second to start python)
    python3 -c "
import socket, time
s = [socket.create_connection(('127.0.0.1', $PORT)) for _ in range(3)]
open('$T/held', 'w').write('3')
time.sleep(4)" &
    holder=$!
    wait_file "$T/held"
    sleep 0.3
    run curl -s -o /dev/null -w '%{http_code}' --max-time 2 $U/s/v0/1.m4s
    [ "$output" = 000 ]
    wait $holder
    [ "$(code $U/s/v0/1.m4s)" = 200 ]
}

@test "metrics, health and the player pages" {
    python3 "$LLHLS" write "$ROOT/s/v0" 17
    mkdir -p "$ROOT/t/v0"
    python3 "$LLHLS" write "$ROOT/t/v0" 8
    serve --assets "$REPO/node_modules/hls.js/dist"
    # playlists there before the start are known without a request
    [[ "$(curl -s $U/metrics)" == *'cs_serve_latest_msn{playlist="t/v0/index.m3u8"} 0'* ]]
    curl -s $U/s/v0/index.m3u8 >/dev/null
    curl -s $U/s/v0/1.m4s >/dev/null
    curl -s $U/s/v0/1.1.m4s >/dev/null
    run curl -s $U/metrics
    echo "$output"
    [[ "$output" == *'cs_serve_requests_total{kind="playlist"} 1'* ]]
    [[ "$output" == *'cs_serve_requests_total{kind="segment"} 1'* ]]
    [[ "$output" == *'cs_serve_requests_total{kind="part"} 1'* ]]
    [[ "$output" == *"cs_serve_sent_bytes_total{kind=\"segment\"} $(stat -c %s "$ROOT/s/v0/1.m4s")"* ]]
    [[ "$output" == *'cs_serve_latest_msn{playlist="s/v0/index.m3u8"} 2'* ]]
    [[ "$output" == *'cs_serve_latest_part{playlist="s/v0/index.m3u8"} 1'* ]]
    [[ "$output" == *"cs_serve_connections "* ]]
    [ "$(curl -s $U/healthz)" = ok ]
    run curl -s $U/
    [[ "$output" == *'<a href="/s/">s</a>'* ]]
    run curl -s $U/s/
    [[ "$output" == *'data-src="/s/v0/index.m3u8"'* ]]
    [[ "$output" == *'/_cs/hls/hls.min.js'* ]]
    [ "$(code $U/s)" = 301 ]
    cmp <(curl -s $U/_cs/hls/hls.min.js) "$REPO/node_modules/hls.js/dist/hls.min.js"
    [[ "$(hdrs $U/_cs/player.js)" == *"content-type: text/javascript"* ]]
    curl -s $U/_cs/player.js | node --check --input-type=commonjs
    [ "$(code $U/_cs/hls/../../package.json)" = 404 ]
}

@test "exit statuses: bad options 2, busy port 4, SIGTERM 0" {
    run cs-serve --root "$T/none" --listen 127.0.0.1:$PORT
    [ "$status" -eq 2 ]
    [ "$output" = "cs-serve: cannot serve '$T/none': no such folder" ]
    run cs-serve --root "$ROOT" --listen nowhere
    [ "$status" -eq 2 ]
    one_line "$output"
    run cs-serve --root "$ROOT" --threads 0
    [ "$status" -eq 2 ]
    serve --stats "$T/stats"
    for i in 1 2 3; do curl -s $U/healthz >/dev/null; done
    run timeout 5 cs-serve --root "$ROOT" --listen 127.0.0.1:$PORT
    [ "$status" -eq 4 ]
    [[ "$output" == *"cannot listen on '127.0.0.1:$PORT'"* ]]
    kill -TERM "$SERVE_PID"
    st=0
    wait "$SERVE_PID" || st=$?
    SERVE_PID=
    [ "$st" -eq 0 ]
    tail -n 1 "$T/stats" | jq -e '.final == true and .requests >= 3 and
        .blocked == 0 and has("sent_bytes") and has("connections")'
}

@test "a folder's redirect stays on this server: //host/ never goes out" {
    mkdir -p "$ROOT/live" "$ROOT/a b%"
    python3 "$LLHLS" write "$ROOT/evil.example.com/v0" 3
    serve
    loc() {
        hdrs --path-as-is "$U$1" | sed -n 's/^location: //p'
    }
    [ "$(loc //evil.example.com)" = /evil.example.com/ ]
    [ "$(loc //live)" = /live/ ]
    [ "$(loc ///live)" = /live/ ]
    [ "$(loc /live)" = /live/ ]
    [ "$(loc /a%20b%25)" = /a%20b%25/ ]
    # followed, it ends on this server at the folder's page
    run curl -s -L -o /dev/null -w '%{http_code} %{url_effective}' \
        --path-as-is "$U//evil.example.com"
    [ "$output" = "200 $U/evil.example.com/" ]
}

# Hold N idle connections to $PORT from the addresses in SRCS (a comma-
# separated list, used in turn) for HOLD seconds; after two seconds (all
# accepted, none at the 5 s header timeout yet), write how many the server
# still holds open into FILE.
flood() {
    local n=$1 srcs=$2 hold=$3 file=$4
    python3 - "$PORT" "$n" "$srcs" "$hold" "$file" <<'PY' &
import select, socket, sys, time
port, n, srcs, hold, out = sys.argv[1:6]
srcs = srcs.split(',')
socks = []
for i in range(int(n)):
    s = socket.socket()
    s.bind((srcs[i % len(srcs)], 0))
    s.connect(('127.0.0.1', int(port)))
    socks.append(s)
time.sleep(2)
alive = sum(1 for s in socks if not select.select([s], [], [], 0)[0])
open(out, 'w').write('%d\n' % alive)
time.sleep(float(hold))
PY
    FLOOD_PID=$!
}

@test "connections from one address are held to --max-per-address (64)" {
    python3 "$LLHLS" write "$ROOT/s/v0" 10
    serve
    flood 300 127.0.0.1 6 "$T/alive"
    wait_file "$T/alive" 20
    cat "$T/alive"
    [ "$(cat "$T/alive")" -eq 64 ]
    # the 65th from that address is turned away, another address is served
    run curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$U/s/v0/1.m4s"
    [ "$output" = 000 ]
    run curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
        --interface 127.0.0.2 "$U/s/v0/1.m4s"
    [ "$output" = 200 ]
    wait "$FLOOD_PID"
    [ "$(code "$U/s/v0/1.m4s")" = 200 ]
    # the option sets it
    port2=$(free_port)
    timeout 60 cs-serve --root "$ROOT" --listen "127.0.0.1:$port2" \
        --max-per-address 20 2>/dev/null &
    pid2=$!
    wait_port "$port2"
    PORT=$port2 flood 100 127.0.0.1 0 "$T/alive20"
    wait "$FLOOD_PID"
    kill "$pid2"
    wait "$pid2" || true
    [ "$(cat "$T/alive20")" -eq 20 ]
}

@test "the connection limit fits the open file limit; a flood of idle heads is shed" {
    python3 "$LLHLS" write "$ROOT/s/v0" 10
    (ulimit -n 256 && exec timeout 170 cs-serve --root "$ROOT" \
        --listen "127.0.0.1:$PORT" 2>"$T/serve.err") &
    SERVE_PID=$!
    wait_port "$PORT"
    # 300 idle connections from 30 addresses: more than 256 descriptors
    flood 300 "$(printf '127.0.1.%d,' $(seq 30) | sed 's/,$//')" 40 \
        "$T/alive"
    wait_file "$T/alive" 20
    # a real request (a socket and a file) is served once the 5 s header
    # timeout has shed the idle ones, long before the 30 s idle timeout
    run curl -s -o "$T/got" -w '%{http_code}' --max-time 20 \
        --interface 127.0.0.2 "$U/s/v0/1.m4s"
    kill "$FLOOD_PID"
    wait "$FLOOD_PID" || true
    cat "$T/serve.err"
    [ "$output" = 200 ]
    cmp "$T/got" "$ROOT/s/v0/1.m4s"
    grep -qx "cs-serve: warning: open file limit 256: holding at most 192 connections, not 10000" "$T/serve.err"
    [ "$(grep -ci 'too many open files' "$T/serve.err")" -eq 0 ]
}

# Send BYTES (a Python expression) on a fresh connection, read until the
# server closes it (at most 10 s): prints the seconds waited, "closed" or
# "open", then what came back.
raw() {
    python3 - "$PORT" "$1" <<'PY'
import socket, sys, time
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
s.sendall(eval(sys.argv[2]))
s.settimeout(10)
t, got, state = time.time(), b'', 'closed'
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
except socket.timeout:
    state = 'open'
except ConnectionResetError:
    pass
print(round(time.time() - t), state)
print(got.decode('latin-1'))
PY
}

@test "bad request heads: one 400 without Host, junk is dropped within the header timeout" {
    serve
    # HTTP/1.1 needs exactly one Host (RFC 9112, 3.2): one 400, then close
    run raw "b'GET /healthz HTTP/1.1\r\n\r\n'"
    echo "$output"
    [[ "${lines[0]}" == *" closed" ]]
    [[ "${lines[1]}" == "HTTP/1.1 400 Bad Request"* ]]
    [ "$(grep -c '^HTTP/' <<<"$output")" -eq 1 ]
    run raw "b'GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'"
    [[ "${lines[1]}" == "HTTP/1.1 400 Bad Request"* ]]
    run raw "b'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'"
    [[ "${lines[1]}" == "HTTP/1.1 200 OK"* ]]
    run raw "b'GET /healthz HTTP/1.0\r\n\r\n'"
    [[ "${lines[1]}" == "HTTP/1.1 200 OK"* ]]
    # binary junk with a line end: one 400
    run raw "bytes(range(256)) * 4"
    [[ "${lines[1]}" == "HTTP/1.1 400 Bad Request"* ]]
    [ "$(grep -c '^HTTP/' <<<"$output")" -eq 1 ]
    # a TLS hello (no line end ever comes): closed at once (see below),
    # never held for the 30 s idle timeout
    run raw "b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' + bytes(100)"
    echo "$output"
    [[ "${lines[0]}" == *" closed" ]]
    [ "$(code "$U/healthz")" = 200 ]
}

@test "a bad option value names the option once: --threads, not ----threads" {
    run cs-serve --root "$ROOT" --threads 0
    [ "$status" -eq 2 ]
    one_line "$output"
    [ "$output" = "cs-serve: invalid value '0' for --threads: expected a whole number from 1 to 64" ]
    run cs-serve --root "$ROOT" --timeout 0
    [ "$status" -eq 2 ]
    [[ "$output" == "cs-serve: invalid value '0' for --timeout: "* ]]
    run cs-serve --root "$ROOT" --max-upload x
    [ "$status" -eq 2 ]
    [[ "$output" == "cs-serve: invalid value 'x' for --max-upload: "* ]]
}

# The status lines in what raw() printed.
status_lines() {
    grep -c '^HTTP/' <<<"$1" || true
}

@test "a bad Content-Length gets exactly one 400, and the connection closes" {
    serve
    for cl in -1 99999999999999999999 12x '1, 2' ''; do
        run raw "b'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: $cl\r\n\r\n'"
        echo "Content-Length: '$cl': $output"
        [[ "${lines[0]}" == *" closed" ]]
        [[ "${lines[1]}" == "HTTP/1.1 400 Bad Request"* ]]
        [ "$(status_lines "$output")" -eq 1 ]
        # the body announced is the body sent
        [[ "$output" == *"Content-Length: 16"* ]]
        [ "${lines[-1]}" = "400 Bad Request" ]
    done
    # two lengths: one 400
    run raw "b'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n'"
    [[ "${lines[1]}" == "HTTP/1.1 400 Bad Request"* ]]
    [ "$(status_lines "$output")" -eq 1 ]
    # a plain decimal above --max-upload: one 413
    run raw "b'PUT /s/x.m4s HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551615\r\n\r\n'"
    [[ "${lines[1]}" == "HTTP/1.1 413 Content Too Large"* ]]
    [ "$(status_lines "$output")" -eq 1 ]
    [[ "$(curl -s "$U/metrics")" == *"cs_serve_requests_refused_total 7"* ]]
    [ "$(code "$U/healthz")" = 200 ]
}

@test "a malformed request line or a head that never ends gets exactly one 400 or 431" {
    serve --max-header-size 8K
    # a TLS hello (no line end ever comes): one 400 at once, not the
    # header timeout
    run raw "b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' + bytes(100)"
    echo "$output"
    [[ "${lines[0]}" == *" closed" ]]
    [[ "${lines[1]}" == "HTTP/1.1 400 Bad Request"* ]]
    [ "$(status_lines "$output")" -eq 1 ]
    for head in 'GET /\r\n\r\n' 'GET  / HTTP/1.1\r\n\r\n' 'GET / HTTP/2.0\r\n\r\n' \
        'GET / HTTP/1.1\r\n Host: x\r\n\r\n' 'GET / HTTP/1.1\r\nHost x\r\n\r\n' \
        'GET / HTTP/1.1\r\nHost : x\r\n\r\n' 'GET /\x01 HTTP/1.1\r\n\r\n'; do
        run raw "b'$head'"
        echo "$head: $output"
        [[ "${lines[1]}" == "HTTP/1.1 400 Bad Request"* ]]
        [ "$(status_lines "$output")" -eq 1 ]
    done
    # a head longer than --max-header-size: one 431
    run raw "b'GET /healthz HTTP/1.1\r\nX-Big: ' + b'a' * 9000"
    [[ "${lines[0]}" == *" closed" ]]
    [[ "${lines[1]}" == "HTTP/1.1 431 Request Header Fields Too Large"* ]]
    [ "$(status_lines "$output")" -eq 1 ]
    [ "$(code "$U/healthz")" = 200 ]
}

@test "good requests pass the gate: empty lines first, keep-alive, a PUT with a body, a blocking reload" {
    python3 "$LLHLS" write "$ROOT/s/v0" 12
    serve
    run raw "b'\r\nGET /healthz HTTP/1.1\nHost: x\nConnection: close\n\n'"
    [[ "${lines[1]}" == "HTTP/1.1 200 OK"* ]]
    # two requests on one connection, the second one after the gate
    run curl -sv -o /dev/null -o /dev/null "$U/s/v0/1.m4s" "$U/healthz"
    [ "$(grep -c '^< HTTP/1.1 200 OK' <<<"$output")" -eq 2 ]
    [[ "$output" == *"Re-using existing connection"* ]]
    # the default --max-header-size (8K) takes a 7,000-byte header, and
    # answers it in full
    local big
    big=$(printf 'a%.0s' $(seq 7000))
    [ "$(code -H "X-Big: $big" "$U/s/v0/index.m3u8")" = 200 ]
    [ "$(curl -s -H "X-Big: $big" "$U/s/v0/index.m3u8" | tail -n 1)" = \
        "$(tail -n 1 "$ROOT/s/v0/index.m3u8")" ]
    head -c 100000 /dev/urandom >"$T/seg"
    [ "$(code -H 'Authorization: Bearer t0ken-s3cret' -T "$T/seg" \
        "$U/live/v0/5.m4s")" = 201 ]
    cmp "$T/seg" "$ROOT/live/v0/5.m4s"
    curl -s -o "$T/out" -w '%{http_code}' --max-time 20 \
        "$U/s/v0/index.m3u8?_HLS_msn=2&_HLS_part=2" >"$T/code" &
    pid=$!
    sleep 1
    [ ! -s "$T/code" ]
    python3 "$LLHLS" write "$ROOT/s/v0" 13
    wait $pid
    echo "blocked request: $(cat "$T/code")"
    [ "$(cat "$T/code")" = 200 ]
    grep -q 'URI="2.2.m4s"' "$T/out"
    [[ "$(curl -s "$U/metrics")" == *"cs_serve_requests_refused_total 0"* ]]
    # and not a 14,000-byte one
    [ "$(code -H "X-Big: ${big}${big}" "$U/healthz")" = 431 ]
}

@test "--max-per-address counts kept-alive connections past the gate, and frees them when they close" {
    serve --max-per-address 8
    # three rounds of 12 connections, each asking once and keeping the
    # connection: 8 are answered, 4 closed unanswered; closing all of them
    # gives the address its share back
    run python3 - "$PORT" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
for _ in range(3):
    socks, answered = [], 0
    for i in range(12):
        s = socket.create_connection(('127.0.0.1', port))
        s.settimeout(5)
        s.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
        try:
            answered += s.recv(4096).startswith(b'HTTP/1.1 200')
        except OSError:
            pass
        socks.append(s)
    print(answered)
    for s in socks:
        s.close()
    time.sleep(1)  # the server sees the closes
PY
    echo "$output"
    [ "$output" = "$(printf '8\n8\n8')" ]
    [ "$(code "$U/healthz")" = 200 ]
}

@test "a DASH request for the segment being written waits for it instead of 404" {
    # after 36 parts (5 a segment): segment 7 is being written, 7.1 hinted
    python3 "$LLHLS" write "$ROOT/s/v0" 36
    # its last parts and the whole segment, made beforehand and renamed
    # into place below: no python start on the clock (the wait for a part
    # ends after 3 target durations, 3 s; writing 40 parts took 1.8 s on a
    # loaded machine)
    python3 "$LLHLS" write "$T/next" 40
    serve
    [ ! -e "$ROOT/s/v0/7.m4s" ]
    curl -s -o "$T/seg" -w '%{http_code} %{time_total}' --max-time 20 \
        "$U/s/v0/7.m4s" >"$T/code" &
    pid=$!
    sleep 1
    mv "$T"/next/7.[1-4].m4s "$T/next/7.m4s" "$T/next/index.m3u8" "$ROOT/s/v0/"
    local st=0
    wait "$pid" || st=$?
    echo "curl: status $st, $(cat "$T/code") s; $(stat -c %s "$T/seg") bytes"
    [ "$st" -eq 0 ]
    [ "$(cut -d ' ' -f 1 "$T/code")" = 200 ]
    cmp "$T/seg" "$ROOT/s/v0/7.m4s"
    # 8.0 is hinted now: 9 (next) would wait; one past it is a plain 404
    [ "$(code "$U/s/v0/10.m4s")" = 404 ]
}

@test "a segment being written is streamed as its parts land (chunked) and equals the finished file" {
    # ten 0.2 s parts a segment (target 2 s: 6 s for each part to come,
    # room for a slow start on a busy machine); after 71 parts 7.0 is
    # written and 7.1 hinted
    export LLHLS_PPS=10
    python3 "$LLHLS" write "$ROOT/s/v0" 71
    serve
    python3 "$REPO/tests/tools/chunks.py" "$U/s/v0/7.m4s" "$T/seg" \
        >"$T/chunks.json" &
    pid=$!
    for i in $(seq 100); do
        curl -s "$U/metrics" | grep -q '^cs_serve_streamed_segments_total 1$' &&
            break
        sleep 0.1
    done
    # the other nine parts, 0.3 s apart; the whole segment with the last
    python3 "$LLHLS" run "$ROOT/s/v0" --from 71 --interval 0.3 --count 9
    wait "$pid"
    cat "$T/chunks.json"
    cmp "$T/seg" "$ROOT/s/v0/7.m4s"
    done_at=$(stat -c %.3Y "$ROOT/s/v0/7.m4s")
    # chunked, whole, and its first bytes (part 7.0) came more than two
    # seconds before the segment was complete, the rest in many steps
    jq -e --argjson complete "$done_at" '.status == 200 and .chunked and .complete
        and .events[0][0] < $complete - 2.0
        and ([.events[] | .[0] | . * 10 | floor] | unique | length) >= 6' \
        "$T/chunks.json"
}

@test "the next segment waits for its first part, then streams; a part that never comes breaks the body" {
    python3 "$LLHLS" write "$ROOT/s/v0" 38     # 7.3 hinted
    serve
    python3 "$REPO/tests/tools/chunks.py" "$U/s/v0/8.m4s" "$T/seg" \
        >"$T/chunks.json" &
    pid=$!
    # it waits (no 404) until 8.0 lands
    for i in $(seq 100); do
        curl -s "$U/metrics" | grep -q '^cs_serve_blocked_requests 1$' && break
        sleep 0.1
    done
    curl -s "$U/metrics" | grep -q '^cs_serve_blocked_requests 1$'
    python3 "$LLHLS" write "$ROOT/s/v0" 41     # 7 complete, 8.0
    wait "$pid"
    cat "$T/chunks.json"
    # 8.1 never comes: within 3 target durations (3 s) the body breaks
    jq -e '.status == 200 and .chunked and (.complete | not) and
           .total == '"$(stat -c %s "$ROOT/s/v0/8.0.m4s")" "$T/chunks.json"
    cmp "$T/seg" "$ROOT/s/v0/8.0.m4s"
}

@test "a preload-hinted part fetched early arrives whole and equals the part file" {
    python3 "$LLHLS" write "$ROOT/s/v0" 36     # 7.1 hinted
    serve
    python3 "$REPO/tests/tools/chunks.py" "$U/s/v0/7.1.m4s" "$T/part" \
        >"$T/chunks.json" &
    pid=$!
    sleep 0.5
    [ ! -e "$ROOT/s/v0/7.1.m4s" ]
    python3 "$LLHLS" write "$ROOT/s/v0" 37
    wait "$pid"
    cat "$T/chunks.json"
    jq -e '.status == 200 and .complete and .total > 0' "$T/chunks.json"
    cmp "$T/part" "$ROOT/s/v0/7.1.m4s"
}

@test "--max-blocked: the blocking request past the bound gets 503 with Retry-After; those held are answered" {
    export LLHLS_PPS=50     # target duration 10 s: no 503 while they wait
    python3 "$LLHLS" write "$ROOT/s/v0" 120
    serve --max-blocked 20 --max-per-address 100
    python3 "$LLHLS" many "$U/s/v0/index.m3u8?_HLS_msn=2&_HLS_part=20" 20 \
        --timeout 60 >"$T/many" &
    pid=$!
    [ "$(wait_blocked 20)" -eq 20 ]
    # the 21st blocking request: refused at once, told when to come back
    run hdrs --max-time 5 "$U/s/v0/index.m3u8?_HLS_msn=2&_HLS_part=20"
    [[ "$output" == "HTTP/1.1 503"* ]]
    [[ "$output" == *"retry-after: 1"* ]]
    # a plain reload and a segment are not blocking requests: served
    [ "$(code "$U/s/v0/index.m3u8")" = 200 ]
    [ "$(code "$U/s/v0/1.m4s")" = 200 ]
    [[ "$(curl -s $U/metrics)" == *"cs_serve_blocked_refused_total 1"* ]]
    python3 "$LLHLS" write "$ROOT/s/v0" 121
    wait $pid
    [ "$(jq -r '.codes["200"]' "$T/many")" = 20 ]
    # room again: the next blocking request waits (cut by curl after 1 s)
    # instead of a 503
    [ "$(code --max-time 1 "$U/s/v0/index.m3u8?_HLS_msn=2&_HLS_part=21")" = 000 ]
}

@test "a DASH manifest is read and gzip'ed once per version; every copy is the file" {
    mkdir -p "$ROOT/d"
    head -c 30000 /dev/urandom | base64 -w 76 |
        awk 'BEGIN { print "<MPD>" } { print "<!--" $0 "-->" } END { print "</MPD>" }' \
        >"$ROOT/d/manifest.mpd"
    serve
    for _ in 1 2 3; do
        curl -s "$U/d/manifest.mpd" | cmp - "$ROOT/d/manifest.mpd"
        curl -s -H 'Accept-Encoding: gzip' "$U/d/manifest.mpd" | gunzip |
            cmp - "$ROOT/d/manifest.mpd"
    done
    [[ "$(curl -s $U/metrics)" == *"cs_serve_manifest_reads_total 1"* ]]
    # a new version (same size, new content) is read again, once
    sleep 1
    sed -i 's/<MPD>/<MPD >/; s/<\/MPD>/<\/MPD/' "$ROOT/d/manifest.mpd"
    for _ in 1 2; do
        curl -s -H 'Accept-Encoding: gzip' "$U/d/manifest.mpd" | gunzip |
            cmp - "$ROOT/d/manifest.mpd"
    done
    [[ "$(curl -s $U/metrics)" == *"cs_serve_manifest_reads_total 2"* ]]
}

# A live playlist of 280,000 segments (7 MB), media sequence $1.
big_playlist() {
    awk -v seq="$1" 'BEGIN {
        print "#EXTM3U"; print "#EXT-X-VERSION:6"
        print "#EXT-X-TARGETDURATION:2"; print "#EXT-X-MEDIA-SEQUENCE:" seq
        for (i = seq; i < seq + 280000; i++) { print "#EXTINF:2.000,"; print i ".ts" }
    }'
}

@test "20 stalled readers of a 7 MB playlist share one copy of it" {
    mkdir -p "$ROOT/s/v0"
    big_playlist 0 >"$ROOT/s/v0/index.m3u8"
    serve
    curl -s -o /dev/null "$U/s/v0/index.m3u8"
    rss0=$(awk '/^VmRSS/{print $2}' "/proc/$(pgrep -P "$SERVE_PID" cs-serve || echo "$SERVE_PID")/status")
    # 20 clients ask and never read: each response stays pinned
    python3 - "$PORT" "$T/held" <<'PY' &
import socket, sys, time
socks = []
for _ in range(20):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(('127.0.0.1', int(sys.argv[1])))
    s.sendall(b'GET /s/v0/index.m3u8 HTTP/1.1\r\nHost: x\r\n\r\n')
    socks.append(s)
time.sleep(1)
open(sys.argv[2], 'w').close()
time.sleep(30)
PY
    pid=$!
    for _ in $(seq 100); do
        [ -e "$T/held" ] && break
        sleep 0.1
    done
    rss1=$(awk '/^VmRSS/{print $2}' "/proc/$(pgrep -P "$SERVE_PID" cs-serve || echo "$SERVE_PID")/status")
    kill "$pid"
    echo "RSS: $rss0 kB before, $rss1 kB with 20 stalled readers"
    # a copy each would be 140 MB more; one shared text is nothing more
    [ $((rss1 - rss0)) -lt 40000 ]
}

@test "a slow reader of a playlist gets the version it asked for, whole, while new ones land" {
    # a 7 MB live playlist, more than the kernel buffers between the two
    # ends hold, read slowly by a client with a small receive buffer;
    # three newer versions land by ingest meanwhile
    mkdir -p "$ROOT/s/v0"
    big_playlist 0 >"$ROOT/s/v0/index.m3u8"
    cp "$ROOT/s/v0/index.m3u8" "$T/old.m3u8"
    serve
    python3 - "$PORT" "$T/slow" <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
s.connect(('127.0.0.1', int(sys.argv[1])))
s.sendall(b'GET /s/v0/index.m3u8 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
data = b''
while True:
    b = s.recv(65536)
    if not b:
        break
    if not data:
        open(sys.argv[2] + '.started', 'w').close()
    data += b
    time.sleep(0.005)
open(sys.argv[2], 'wb').write(data.split(b'\r\n\r\n', 1)[1])
PY
    pid=$!
    for _ in $(seq 100); do
        [ -e "$T/slow.started" ] && break
        sleep 0.1
    done
    auth=(-H 'Authorization: Bearer t0ken-s3cret')
    for n in 1 2 3; do
        big_playlist "$n" >"$T/next.m3u8"
        [ "$(code "${auth[@]}" -T "$T/next.m3u8" "$U/s/v0/index.m3u8")" = 204 ]
    done
    curl -s "$U/s/v0/index.m3u8" | cmp - "$T/next.m3u8"
    # the slow one was still reading: the version it asked for, whole
    kill -0 "$pid"
    wait "$pid"
    cmp "$T/slow" "$T/old.m3u8"
}

hits() {
    curl -s "$U/metrics" | awk '$1 == "cs_serve_file_cache_hits_total" {print $2}'
}

# URL answers TEXT twice, the second time at least from memory.
kept() {
    local n
    n=$(hits)
    [ "$(curl -s "$1")" = "$2" ] || return 1
    [ "$(curl -s "$1")" = "$2" ] || return 1
    [ "$(hits)" -gt "$n" ]
}

@test "a 2 MiB segment is answered from memory; a 5 MiB file from the file, whole" {
    mkdir -p "$ROOT/s/v0"
    head -c $((2 << 20)) /dev/urandom >"$ROOT/s/v0/7.m4s"
    head -c $((5 << 20)) /dev/urandom >"$ROOT/s/v0/big.ts"
    serve
    sleep 0.2   # a file changed in the last 50 ms is not kept
    local n
    n=$(hits)
    for _ in 1 2 3; do
        curl -s "$U/s/v0/7.m4s" | cmp - "$ROOT/s/v0/7.m4s"
    done
    [ "$(hits)" -eq $((n + 2)) ]
    for _ in 1 2; do
        curl -s "$U/s/v0/big.ts" | cmp - "$ROOT/s/v0/big.ts"
    done
    [ "$(hits)" -eq $((n + 2)) ]
}

@test "a small file is answered from memory only while it is the file read: a rewrite, a rename, a link out are seen at once" {
    mkdir -p "$ROOT/s/v0" "$T/outside/v0"
    printf 'first part!' >"$ROOT/s/v0/1.0.m4s"
    printf 'outside....' >"$T/outside/v0/1.0.m4s"      # the same size
    printf 'outside....' >"$T/outside/1.0.m4s"
    serve
    sleep 0.2   # a file changed in the last 50 ms is not kept
    # read and kept once, then answered from memory, headers and all
    h1=$(hdrs "$U/s/v0/1.0.m4s" | grep -v '^date: ')
    for _ in 1 2 3; do [ "$(curl -s "$U/s/v0/1.0.m4s")" = 'first part!' ]; done
    [ "$(hits)" -eq 3 ]
    [ "$(hdrs "$U/s/v0/1.0.m4s" | grep -v '^date: ')" = "$h1" ]
    [ "$(hits)" -eq 4 ]
    [ "$(code -H "If-None-Match: $(grep '^etag: ' <<<"$h1" | cut -d' ' -f2)" \
        "$U/s/v0/1.0.m4s")" = 304 ]
    [ "$(curl -s -r 0-4 "$U/s/v0/1.0.m4s")" = 'first' ]
    # rewritten in place, the same size, within the same second
    printf 'other part!' >"$ROOT/s/v0/1.0.m4s"
    [ "$(curl -s "$U/s/v0/1.0.m4s")" = 'other part!' ]
    # renamed into place, as cs-segment and ingest write
    sleep 0.2
    [ "$(curl -s "$U/s/v0/1.0.m4s")" = 'other part!' ]
    [ "$(curl -s "$U/s/v0/1.0.m4s")" = 'other part!' ]
    printf 'third part!' >"$ROOT/s/v0/tmp"
    mv "$ROOT/s/v0/tmp" "$ROOT/s/v0/1.0.m4s"
    [ "$(curl -s "$U/s/v0/1.0.m4s")" = 'third part!' ]
    # kept again, then the file becomes a link out of the root: 404
    sleep 0.2
    kept "$U/s/v0/1.0.m4s" 'third part!'
    ln -sf "$T/outside/1.0.m4s" "$ROOT/s/v0/1.0.m4s"
    run curl -s -w ' %{http_code}' "$U/s/v0/1.0.m4s"
    echo "$output"
    [[ "$output" != *outside* && "$output" != *third* ]]
    [ "${output##* }" = 404 ]
    # kept again, then its folder is swapped for a link out of the root
    rm "$ROOT/s/v0/1.0.m4s"
    printf 'fifth part!' >"$ROOT/s/v0/1.0.m4s"
    sleep 0.2
    kept "$U/s/v0/1.0.m4s" 'fifth part!'
    mv "$ROOT/s/v0" "$ROOT/s/old"
    ln -s "$T/outside/v0" "$ROOT/s/v0"
    run curl -s -w ' %{http_code}' "$U/s/v0/1.0.m4s"
    echo "$output"
    [[ "$output" != *outside* && "$output" != *fifth* ]]
    [ "${output##* }" = 404 ]
    # deleted: 404, not the copy in memory
    rm "$ROOT/s/v0"
    [ "$(code "$U/s/old/1.0.m4s")" = 200 ]
    rm "$ROOT/s/old/1.0.m4s"
    [ "$(code "$U/s/old/1.0.m4s")" = 404 ]
}

@test "a playlist rewritten in place, the same size within the same second, is served new; a link out is 404" {
    python3 "$LLHLS" write "$ROOT/s/v0" 10
    mkdir -p "$T/outside"
    cp "$ROOT/s/v0/index.m3u8" "$T/outside/index.m3u8"
    serve
    curl -s "$U/s/v0/index.m3u8" | cmp - "$ROOT/s/v0/index.m3u8"
    curl -s "$U/s/v0/index.m3u8" | cmp - "$ROOT/s/v0/index.m3u8"
    ino=$(stat -c %i "$ROOT/s/v0/index.m3u8")
    text=$(sed 's/#EXT-X-VERSION:9/#EXT-X-VERSION:8/' "$ROOT/s/v0/index.m3u8")
    printf '%s\n' "$text" >"$ROOT/s/v0/index.m3u8"
    [ "$(stat -c %i "$ROOT/s/v0/index.m3u8")" = "$ino" ]
    grep -q 'VERSION:8' "$ROOT/s/v0/index.m3u8"
    curl -s "$U/s/v0/index.m3u8" | cmp - "$ROOT/s/v0/index.m3u8"
    # a copy from outside, by a link (renamed into place, as inotify
    # sees it): 404, now and once the watch has seen it
    ln -s "$T/outside/index.m3u8" "$ROOT/s/v0/link"
    mv -T "$ROOT/s/v0/link" "$ROOT/s/v0/index.m3u8"
    for _ in 1 2 3; do
        [ "$(code "$U/s/v0/index.m3u8")" = 404 ]
        sleep 0.2
    done
}
