#!/usr/bin/env bats
# The channel's joins: short clips of every rate, size and audio kind played
# back to back through cs-fetch play | cs-decode --playlist - | cs-encode,
# unpaced; every join checked in what cs-encode wrote (tests/tools/joins.py;
# bench/joins.sh plays 1,000).

load helper

setup_file() {
    # the clips take a while to make: once for the file
    python3 "$REPO/tests/tools/joins.py" make "$BATS_FILE_TMPDIR/store" 30 \
        --seed 14
}

@test "30 clips of mixed rates, sizes and audio join with no step, no gap and no drift" {
    local s=$BATS_FILE_TMPDIR/store
    timeout 120 cs-fetch play --seed 3 --ahead 0 "$s" 2>"$T/fetch.err" |
        tee "$T/order" |
        timeout 120 cs-decode --playlist - --size 192x108 --fps 30 \
            2>"$T/decode.err" |
        timeout 120 cs-encode --preset ultrafast --bitrate 500k \
            -o "$T/out.ts" 2>"$T/encode.err"
    [ "$(wc -l <"$T/order")" -eq 30 ]
    [ "$(probe "$T/out.ts" stream=codec_name)" = $'h264\naac' ]
    run python3 "$REPO/tests/tools/joins.py" check "$T/out.ts" \
        "$s/clips.json" "$T/order" --fps 30 --expect 30
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *'"failures": 0}'* ]]
}

@test "at 30000/1001 the joins hold too" {
    local s=$BATS_FILE_TMPDIR/store
    timeout 120 cs-fetch play --seed 8 --ahead 0 "$s" 2>/dev/null |
        tee "$T/order" |
        timeout 120 cs-decode --playlist - --size 160x90 --fps 30000/1001 \
            2>/dev/null |
        timeout 120 cs-encode --preset ultrafast --bitrate 400k \
            -o "$T/out.ts" 2>/dev/null
    run python3 "$REPO/tests/tools/joins.py" check "$T/out.ts" \
        "$s/clips.json" "$T/order" --fps 30000/1001 --expect 30
    echo "$output"
    [ "$status" -eq 0 ]
}
