#!/usr/bin/env bats
# `make demo` in a clean clone serves a playable stream.

load helper

@test "make demo in a clean clone serves a stream that hls.js plays" {
    git clone -q "$REPO" "$T/clone"
    ln -s "$REPO/node_modules" "$T/clone/node_modules"
    # The clone is the commit this tree's build was made from (no tracked
    # file changed): it gets that build, older sources beside it, and the
    # test times the demo rather than the compiler (90 s of the 110 on 2
    # cores; CI's own build is the from-scratch one, from its clean clone).
    if git -C "$REPO" diff --quiet HEAD && [ -x "$REPO/bin/cs-serve" ]; then
        find "$T/clone" -path "$T/clone/.git" -prune -o -type f \
            -exec touch -h -d @1000000000 {} +
        cp -a "$REPO/build" "$REPO/bin" "$T/clone/"
    fi
    port=$(free_port) srt=$(free_port udp)
    cd "$T/clone"
    CS_DEMO_SECONDS=150 CS_HTTP=127.0.0.1:$port CS_PORT=$srt \
        timeout 400 make -j2 demo > "$T/demo.log" 2>&1 3>&- &
    demo=$!
    for i in $(seq 2400); do
        grep -q 'live: http://' "$T/demo.log" && break
        kill -0 "$demo" 2>/dev/null || break
        sleep 0.1
    done
    grep -o 'live: http://[^ ]*' "$T/demo.log"
    sleep 4
    run timeout 60 node "$REPO/tests/browser/play.mjs" --kind hls --lowlatency \
        --seconds 10 --url "http://127.0.0.1:$port/live/master.m3u8"
    echo "$output"
    player=$output
    # Stopped as a user stops it (the script under make, as Ctrl-C would):
    # everything down, status 0.
    script=$(pgrep -P "$(pgrep -P "$demo" make)" -f live-local.sh)
    kill -TERM "$script"
    for _ in $(seq 300); do
        kill -0 "$script" 2>/dev/null || break
        sleep 0.1
    done
    run kill -0 "$script"
    [ "$status" -ne 0 ]     # down within 30 s, not when its 150 s end
    wait "$demo"
    demo_status=$?
    tail -5 "$T/demo.log"
    grep -q 'stopping$' "$T/demo.log"
    jq -e '.ok and .advanced > 4' <<<"$player"
    [ "$demo_status" -eq 0 ]
}

@test "the demo's clip maker makes every clip, silently" {
    run bash -c '. "$1/examples/lib.sh" && make_clips "$2"' _ "$REPO" "$T/clips"
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    local f n=0 dur
    for f in "$T"/clips/cat-*.mp4; do
        [ "$(probe "$f" stream=codec_type v)" = video ]
        dur=$(probe "$f" format=duration)
        echo "$f: $dur s"
        [ "${dur%.*}" -ge 5 ]
        n=$((n + 1))
    done
    [ "$n" -eq 5 ]
    # made once: a second run keeps them and is silent too
    run bash -c '. "$1/examples/lib.sh" && make_clips "$2"' _ "$REPO" "$T/clips"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}
