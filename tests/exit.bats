#!/usr/bin/env bats
# Every program maps the same failure to the same exit status (cs(7)):
# a missing input or a folder where a file is expected is bad input (3), a
# URL answering 404 too (not "worth retrying"), and a --stats FILE that
# cannot be written is a usage error (2), each with one line on stderr.

load helper

# The programs that read an input named on the command line: one command a
# line, INPUT standing for the input.
readers() {
    printf '%s\n' "cs-decode -o $T/out.nut INPUT" \
        "cs-encode -o $T/out.ts INPUT" \
        "cs-ladder -o $T/out.ts INPUT" \
        "cs-segment -o $T/out INPUT" \
        "cs-fetch get INPUT $T/out.mp4"
}

# bats test_tags=sanitize
@test "a missing input and a folder as input exit 3 in every program" {
    local cmd
    mkdir "$T/folder"
    while read -r cmd; do
        # shellcheck disable=SC2086 # the words of $cmd
        run timeout 20 ${cmd/INPUT/$T/missing.mp4}
        echo "$cmd missing: $status $output"
        [ "$status" -eq 3 ]
        one_line "$output"
        [[ "$output" == *"'$T/missing.mp4': no such file or directory" ]]
        # shellcheck disable=SC2086
        run timeout 20 ${cmd/INPUT/$T/folder}
        echo "$cmd folder: $status $output"
        [ "$status" -eq 3 ]
        one_line "$output"
        [[ "$output" == *"'$T/folder': is a directory" ]]
    done < <(readers)
    # no file was written (cs-segment leaves its empty output folder)
    [ -z "$(find "$T" -type f)" ]
}

# bats test_tags=sanitize
@test "a --stats file that cannot be opened exits 2 in every program" {
    local bad=$T/no/such/folder/stats.json cmd port
    mkclip "$T/a.mp4" 1
    port=$(free_port udp)
    mkdir "$T/root"
    while read -r cmd; do
        # shellcheck disable=SC2086 # the words of $cmd
        run timeout 20 $cmd
        echo "$cmd: $status $output"
        [ "$status" -eq 2 ]
        one_line "$output"
        [ "$output" = "${cmd%% *}: cannot open '$bad' for --stats: no such file or directory" ]
    done <<EOT
cs-decode --stats $bad -o $T/o.nut $T/a.mp4
cs-encode --stats $bad -o $T/o.ts $T/a.mp4
cs-ladder --stats $bad -o $T/o.ts $T/a.mp4
cs-segment --stats $bad -o $T/seg $T/a.mp4
cs-fetch --stats $bad get $T/a.mp4 $T/o.mp4
cs-send --stats $bad udp://127.0.0.1:$port
cs-recv --stats $bad udp://127.0.0.1:$port
cs-serve --stats $bad --root $T/root --listen 127.0.0.1:$(free_port)
EOT
    # nothing was written
    [ ! -e "$T/o.nut" ]
    [ ! -e "$T/o.ts" ]
    [ ! -e "$T/o.mp4" ]
}

# bats test_tags=sanitize
@test "a URL answering 404 is bad input (3), not a peer to retry (4)" {
    local port pid
    port=$(free_port)
    mkdir "$T/www"
    python3 -m http.server "$port" --bind 127.0.0.1 --directory "$T/www" \
        >/dev/null 2>&1 &
    pid=$!
    wait_port "$port"
    run timeout 30 cs-decode -o "$T/o.nut" "http://127.0.0.1:$port/gone.mp4"
    local decode_status=$status decode_output=$output
    run timeout 30 cs-ladder -o "$T/o.ts" "http://127.0.0.1:$port/gone.mp4"
    kill "$pid"
    echo "decode: $decode_status $decode_output"
    echo "ladder: $status $output"
    [ "$decode_status" -eq 3 ]
    one_line "$decode_output"
    [[ "$decode_output" == "cs-decode: cannot open 'http://127.0.0.1:$port/gone.mp4': server returned 404"* ]]
    [ "$status" -eq 3 ]
    one_line "$output"
}

@test "SIGTERM sent twice at once (as timeout(1) does) is one clean stop" {
    local port pid st
    port=$(free_port)
    cs-recv "tcp://127.0.0.1:$port?listen=1" >"$T/o.ts" 2>"$T/err" &
    pid=$!
    wait_port "$port"
    kill -TERM "$pid"
    kill -TERM "$pid"
    st=0
    wait "$pid" || st=$?
    cat "$T/err"
    [ "$st" -eq 0 ]
}

@test "SIGTERM stops cs-ladder and cs-segment reading a live pipe gone quiet" {
    local prog pid feeder st
    ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=160x90:rate=10 \
        -t 3 -c:v libx264 -preset ultrafast -g 10 -f mpegts "$T/in.ts"
    for prog in cs-ladder cs-segment; do
        rm -f "$T/pipe"
        mkfifo "$T/pipe"
        # the publisher sent 3 s, then holds the pipe open and says nothing
        { cat "$T/in.ts"; exec sleep 60; } >"$T/pipe" &
        feeder=$!
        if [ "$prog" = cs-ladder ]; then
            cs-ladder --rungs 90p:100k "$T/pipe" >"$T/out.ts" 2>"$T/err" &
        else
            cs-segment "$T/pipe" -o "$T/seg" 2>"$T/err" &
        fi
        pid=$!
        sleep 3
        kill -TERM "$pid"
        timeout 5 tail --pid="$pid" -f /dev/null || true
        kill "$pid" "$feeder" 2>/dev/null || true
        st=0
        wait "$pid" || st=$?
        wait "$feeder" 2>/dev/null || true
        cat "$T/err"
        echo "$prog: $st"
        [ "$st" -eq 0 ]
    done
}
