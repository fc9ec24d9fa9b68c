#!/usr/bin/env bats
# The publisher killed and restarted CS_FAULT_RUNS times in a row (10 in
# `make check`, 50 in `make faults`; issue 14, fault test 2), over RTMP and
# over SRT, into cs-recv --exec with a --linger
# longer than the restarts take: one child for the whole run, whose input
# stays one valid stream (timestamps carried on across publishers, every
# frame decodable).

load helper
load transport

bats_require_minimum_version 1.5.0

setup() {
    CLIP=$BATS_FILE_TMPDIR/long.ts
    [ -s "$CLIP" ] || mkclip "$CLIP" 10 160x120
    printf '%s\n' 'cats cat-secret-0042 publish' 'birds bird-secret-99 publish' \
        >"$T/access"
    RTMP=$(free_port)
    SRT=$(free_port udp)
    spawn env D="$T" cs-recv --access "$T/access" --linger 10 \
        --exec 'echo $$ >>"$D/pids.$CS_STREAM"; cat >"$D/$CS_STREAM.ts"' \
        "rtmp://127.0.0.1:$RTMP/live?listen=1" \
        "srt://127.0.0.1:$SRT?mode=listener" 2>"$T/err"
    INGEST=$(tail -n 1 "$T/pids")
    wait_listen "$RTMP"
    wait_udp "$SRT"
}

teardown() {
    kill_spawned
}

RUNS=${CS_FAULT_RUNS:-10}

# restarts URL FORMAT SIGNAL STREAM: RUNS publishers one after another,
# each killed with SIGNAL 0.6 to 1.5 s after its media began to reach
# STREAM's command (not after ffmpeg started: a loaded machine may take
# that long to start it).
restarts() {
    local url=$1 fmt=$2 sig=$3 out=$T/$4.ts i p t size
    for i in $(seq "$RUNS"); do
        size=$(stat -c %s "$out" 2>/dev/null || echo 0)
        ffmpeg -nostdin -v error -re -i "$CLIP" -c copy -f "$fmt" "$url" \
            2>>"$T/pushers.err" &
        p=$!
        wait_grows "$out" "$size" || true
        t=$(( (RANDOM % 10) + 6 ))
        sleep "$((t / 10)).$((t % 10))"
        kill "-$sig" "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
}

# The stream STREAM's command got: one child, one valid stream.
check_one_stream() {
    local s=$1 frames
    kill -TERM "$INGEST"
    wait "$INGEST" || true
    grep -v "within --linger\|publisher of .* left" "$T/err" || true
    [ "$(wc -l <"$T/pids.$s")" -eq 1 ]
    # most come back (one killed before it published is not a publisher)
    [ "$(grep -c "'$s': its publisher is back within --linger" "$T/err")" -ge $((RUNS * 4 / 5)) ]
    # decodable from end to end, H.264 and AAC (checked last)
    run ffmpeg -nostdin -v error -i "$T/$s.ts" -f null -
    [ "$status" -eq 0 ]
    DECODE_ERRORS=$(grep -c 'rror' <<<"$output" || true)
    grep -m 5 'rror' <<<"$output" || true
    [ "$(ffprobe -v error -show_entries stream=codec_name -of csv=p=0 \
        "$T/$s.ts" | grep . | sort -u | tr '\n' ' ')" = "aac h264 " ]
    # video timestamps rise all the way: each publisher goes on where the
    # last one stopped
    ffprobe -v error -select_streams v -show_entries packet=dts_time \
        -of csv=p=0 "$T/$s.ts" | grep . >"$T/dts"
    frames=$(wc -l <"$T/dts")
    echo "$s: $frames video packets"
    # at least 0.6 s of 25 fps per publisher
    [ "$frames" -gt $((RUNS * 10)) ]
    awk -F, 'NR > 1 && $1 + 0 <= p + 0 { if (bad++ < 5) print "dts " p " then " $1 }
         { p = $1 } END { exit bad > 0 }' "$T/dts"
}

@test "ingest faults: an RTMP publisher killed with SIGKILL and restarted again and again: one child, one valid stream" {
    restarts "rtmp://127.0.0.1:$RTMP/live/cat-secret-0042" flv KILL cats
    check_one_stream cats
    [ "$DECODE_ERRORS" -eq 0 ]
}

@test "ingest faults: an SRT publisher stopped and restarted again and again: one child, one valid stream" {
    restarts "srt://127.0.0.1:$SRT?streamid=birds&passphrase=bird-secret-99" \
        mpegts TERM birds
    check_one_stream birds
    # a stopped publisher's last PES may be cut short (its last messages
    # still in flight): cs_tsout drops it when the next one joins, and the
    # decoder never sees half a picture
    [ "$DECODE_ERRORS" -eq 0 ]
}
