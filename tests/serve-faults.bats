#!/usr/bin/env bats
# cs-serve under hostile load from one address (issue 14, fault test 4):
# 10,000 held blocking requests, 2,000 idle connections, a slowloris, a
# 100 KB header and a 1 MB request line. The limits answer, a client from
# another address is served, memory stays within a stated bound, and
# every held request is answered when its part lands.

load helper
load serve-helper

setup() {
    serve_setup
}

teardown() {
    exec 5>&- 2>/dev/null || true
    for p in "${HOSTILE_PID:-}" "${SERVE_PID:-}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null
        [ -n "$p" ] && wait "$p" 2>/dev/null
    done
    true
}

rss_kb() {
    awk '/^VmRSS/{print $2}' "/proc/$(pgrep -P "$SERVE_PID" cs-serve || echo "$SERVE_PID")/status"
}

metric() {
    curl -s --interface 127.0.0.2 "$U/metrics" | awk -v m="$1" '$1 == m {print $2}'
}

# Wait (at most $2 s) for a line $1 in the tool's output.
wait_line() {
    local i
    for i in $(seq $(($2 * 10))); do
        grep -qx "$1" "$T/hostile" && return 0
        sleep 0.1
    done
    cat "$T/hostile"
    return 1
}

@test "hostile load from one address: limits answer, another address is served, memory bounded, held requests answered" {
    ulimit -n 32768 2>/dev/null || ulimit -n "$(ulimit -Hn)"
    [ "$(ulimit -n)" -ge 16000 ] || skip "open file limit $(ulimit -n): 16000 needed"
    # a part every 0.2 s, 100 a segment: target duration 20 s, so a held
    # request waits up to 60 s while the load is built
    export LLHLS_PPS=100
    python3 "$LLHLS" write "$ROOT/s/v0" 120
    timeout 300 cs-serve --root "$ROOT" --listen "127.0.0.1:$PORT" \
        --max-connections 13000 --max-per-address 13000 --max-blocked 10000 \
        2>"$T/serve.err" &
    SERVE_PID=$!
    wait_port "$PORT"
    rss0=$(rss_kb)
    mkfifo "$T/ctl"
    python3 "$REPO/tests/tools/serve-hostile.py" "$PORT" \
        "/s/v0/index.m3u8?_HLS_msn=1&_HLS_part=20" 10000 2000 200 \
        <"$T/ctl" >"$T/hostile" &
    HOSTILE_PID=$!
    exec 5>"$T/ctl"
    wait_line ready 120
    # the tool has sent them all; the server may still be reading the last
    local held=0
    for _ in $(seq 300); do
        held=$(metric cs_serve_blocked_requests)
        [ "${held:-0}" -ge 10000 ] && break
        sleep 0.1
    done
    echo "held: $held"
    [ "$held" -eq 10000 ]
    # all of that from 127.0.0.1; a viewer at 127.0.0.2 is served
    run curl -s --interface 127.0.0.2 -o "$T/got" -w '%{http_code} %{time_total}' \
        --max-time 10 "$U/s/v0/1.0.m4s"
    echo "another address: $output (status, seconds)"
    [ "${output% *}" = 200 ]
    cmp "$T/got" "$ROOT/s/v0/1.0.m4s"
    # not a timing test: a loaded machine may be slow, a starved one is not
    awk -v t="${output#* }" 'BEGIN { exit !(t < 2) }'
    rss1=$(rss_kb)
    echo "RSS: $rss0 kB idle, $rss1 kB under load"
    # the bound: 10,000 held requests at 5 KB and 2,200 waiting sockets,
    # within 120 MB
    [ $((rss1 - rss0)) -lt 120000 ]
    # idle and slowloris connections are closed by the 5 s header timeout
    sleep 6
    echo >&5
    wait_line released 30
    python3 "$LLHLS" write "$ROOT/s/v0" 121
    echo >&5
    wait "$HOSTILE_PID"
    HOSTILE_PID=
    result=$(tail -n 1 "$T/hostile")
    echo "$result"
    [ "$(jq -r '.held["200"]' <<<"$result")" -eq 10000 ]
    [ "$(jq -r '.idle_closed' <<<"$result")" -eq 2000 ]
    [ "$(jq -r '.slow_closed' <<<"$result")" -eq 200 ]
    [ "$(jq -r '.refused | add' <<<"$result")" -eq 0 ]
    [[ "$(jq -r '.big_header' <<<"$result")" == "HTTP/1.1 431 "* ]]
    [[ "$(jq -r '.big_line' <<<"$result")" == "HTTP/1.1 4"* ]]
    [ "$(metric cs_serve_blocked_requests)" -eq 0 ]
    kill -0 "$SERVE_PID"
}
