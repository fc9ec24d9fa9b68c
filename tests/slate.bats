#!/usr/bin/env bats
# cs-ladder --slate: a live input that goes quiet (its emitter stops, the
# pipe stays open) keeps the channel on air with a slate and silence, at
# every rung's size, rate and keyframe cadence; the emitter's return brings
# the picture back.

load helper

RUNGS=180p:300k@15,90p:100k@10

setup() {
    W=$BATS_TEST_TMPDIR
    PIDS=()
    mkfifo "$W/in.fifo"
    # The pipe stays open while emitters come and go: only the emitter
    # stops sending, nobody closes the channel's input.
    sleep 600 > "$W/in.fifo" &
    PIDS+=($!)
}

teardown() {
    local p
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}

# emit SECONDS [testsrc2|smptebars]: a live H.264 + AAC MPEG-TS into the
# pipe, paced in real time, in the background; its PID in $EMITTER.
emit() {
    ffmpeg -nostdin -loglevel error -re \
        -f lavfi -i "${2:-testsrc2}=size=320x180:rate=15" \
        -f lavfi -i "sine=frequency=440:sample_rate=48000" -t "$1" \
        -c:v libx264 -preset ultrafast -tune zerolatency -g 15 \
        -pix_fmt yuv420p -c:a aac -b:a 64k -f mpegts - >> "$W/in.fifo" &
    EMITTER=$!
    PIDS+=("$EMITTER")
}

# The mean luma of every picture of video stream $2 of $1, "PTS Y" lines.
lumas() {
    ffmpeg -v error -i "$1" -map "0:v:$2" \
        -vf "signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-" \
        -f null - | awk '/pts_time/ { sub(/.*pts_time:/, ""); t = $1 }
                         /YAVG=/ { sub(/.*YAVG=/, ""); print t, int($1) }'
}

# "pts flags" of every packet of stream $2 of $1, in pts order.
packets() {
    ffprobe -v error -select_streams "$2" -show_entries packet=pts_time,flags \
        -of json "$1" | jq -r '.packets[] | "\(.pts_time) \(.flags)"' |
        sort -g
}

# The largest and smallest step between consecutive pts, "MIN MAX".
steps() {
    awk 'NR > 1 { d = $1 - p; if (min == "" || d < min) min = d
                  if (d > max) max = d } { p = $1 }
         END { printf "%.4f %.4f\n", min, max }'
}

@test "a quiet input: slate pictures at every rung's size and rate, keyframes aligned, silence, then the picture again" {
    cs-ladder --tune zerolatency --preset ultrafast --rungs "$RUNGS" \
        --slate color:0x202020 --slate-text 'back soon' --slate-after 1 \
        --stats "$W/stats.json" -o "$W/out.ts" < "$W/in.fifo" 2> "$W/ladder.err" &
    ladder=$!
    PIDS+=("$ladder")
    emit 3
    wait "$EMITTER"
    sleep 5
    emit 3 smptebars
    wait "$EMITTER"
    sleep 0.5
    kill "${PIDS[0]}"      # the end of the input ends the ladder
    status=0
    wait "$ladder" || status=$?
    cat "$W/ladder.err"
    [ "$status" -eq 0 ]
    grep -q 'warning: no picture for 1.[0-9] s: the slate is on air' "$W/ladder.err"
    grep -q 'the picture is back after' "$W/ladder.err"
    tail -1 "$W/stats.json" | jq -e '.final and .slates == 1 and .slate == false
                                    and .slate_frames >= 60'

    run ffprobe -v error -show_entries stream=codec_type,width,height \
        -of csv=p=0 "$W/out.ts"
    grep -qx 'video,320,180' <<<"$output"
    grep -qx 'video,160,90' <<<"$output"

    # every rung at its own rate without a hole, the slate included
    [ "$(packets "$W/out.ts" v:0 | steps)" = "0.0667 0.0667" ]
    [ "$(packets "$W/out.ts" v:1 | steps)" = "0.1000 0.1000" ]
    # keyframes every 2 s, at the same times in both rungs
    k0=$(packets "$W/out.ts" v:0 | awk '$2 ~ /K/ { print $1 }')
    k1=$(packets "$W/out.ts" v:1 | awk '$2 ~ /K/ { print $1 }')
    echo "keys: $k0"
    [ "$k0" = "$k1" ]
    [ "$(wc -l <<<"$k0")" -ge 4 ]
    [ "$(awk 'NR > 1 { printf "%.3f\n", $1 - p } { p = $1 }' <<<"$k0" | sort -u)" = 2.000 ]
    # audio: one AAC frame after another, from start to end
    [ "$(packets "$W/out.ts" a:0 | steps)" = "0.0213 0.0213" ]
    # and still in step with the pictures at the end (within 0.2 s)
    va=$(packets "$W/out.ts" v:0 | tail -1 | cut -d' ' -f1)
    aa=$(packets "$W/out.ts" a:0 | tail -1 | cut -d' ' -f1)
    echo "last video $va, last audio $aa"
    awk -v v="$va" -v a="$aa" 'BEGIN { d = v - a; exit !(d < 0.2 && d > -0.2) }'

    # the slate (luma 44 for 0x202020) between the two emitters, at least
    # the 5 s gap less the second it waited, in both rungs; testsrc2 before
    # and the bars after
    lumas "$W/out.ts" 0 > "$W/y0"
    lumas "$W/out.ts" 1 > "$W/y1"
    run awk '$2 >= 40 && $2 <= 48' "$W/y0"
    [ "${#lines[@]}" -ge 60 ]
    s0=$(awk '$2 >= 40 && $2 <= 48 { print $1; exit }' "$W/y0")
    s1=$(awk '$2 >= 40 && $2 <= 48 { t = $1 } END { print t }' "$W/y0")
    run awk '$2 >= 40 && $2 <= 48' "$W/y1"
    [ "${#lines[@]}" -ge 40 ]
    [ "$(head -1 "$W/y0" | awk '{ print ($2 > 60) }')" -eq 1 ]
    [ "$(tail -1 "$W/y0" | awk '{ print ($2 > 60) }')" -eq 1 ]
    [ "$(tail -1 "$W/y1" | awk '{ print ($2 > 60) }')" -eq 1 ]
    # one slate, not pictures mixed in it
    [ "$(awk -v a="$s0" -v b="$s1" '$1 >= a && $1 <= b && ($2 < 40 || $2 > 48)' "$W/y0" | wc -l)" -eq 0 ]

    # silence under the slate, the tone around it
    quiet=$(ffmpeg -v info -ss "$(awk -v t="$s0" 'BEGIN { print t + 0.3 }')" \
        -to "$(awk -v t="$s1" 'BEGIN { print t - 0.3 }')" -i "$W/out.ts" \
        -map 0:a -af volumedetect -f null - 2>&1 | sed -n 's/.*max_volume: //p')
    loud=$(ffmpeg -v info -to "$(awk -v t="$s0" 'BEGIN { print t - 0.5 }')" \
        -i "$W/out.ts" -map 0:a -af volumedetect -f null - 2>&1 |
        sed -n 's/.*max_volume: //p')
    echo "slate: $s0 .. $s1, max volume $quiet under it, $loud before"
    awk -v q="${quiet% dB}" 'BEGIN { exit !(q <= -80) }'
    awk -v l="${loud% dB}" 'BEGIN { exit !(l > -30) }'
}

@test "a pause shorter than --slate-after changes nothing; bad slates are usage errors" {
    cs-ladder --tune zerolatency --preset ultrafast --rungs "$RUNGS" \
        --slate color:navy --slate-after 5 \
        -o "$W/out.ts" < "$W/in.fifo" 2> "$W/ladder.err" &
    ladder=$!
    PIDS+=("$ladder")
    emit 2
    wait "$EMITTER"
    sleep 2.5
    emit 2 smptebars
    wait "$EMITTER"
    kill "${PIDS[0]}"
    status=0
    wait "$ladder" || status=$?
    cat "$W/ladder.err"
    [ "$status" -eq 0 ]
    run grep -c 'slate is on air' "$W/ladder.err"
    [ "$output" -eq 0 ]
    # no slate picture (navy: luma 28) in the output
    lumas "$W/out.ts" 0 > "$W/y0"
    [ "$(wc -l < "$W/y0")" -ge 50 ]
    run awk '$2 < 40' "$W/y0"
    [ "${#lines[@]}" -eq 0 ]

    mkclip "$W/clip.ts" 1 320x180 15
    run cs-ladder --slate color:notacolour --rungs 90p:100k -o /dev/null "$W/clip.ts"
    [ "$status" -eq 2 ]
    [ "$output" = "cs-ladder: cannot use slate 'color:notacolour': not a colour" ]
    run cs-ladder --slate "$W/missing.png" --rungs 90p:100k -o /dev/null "$W/clip.ts"
    [ "$status" -eq 2 ]
    [[ "$output" = "cs-ladder: cannot read slate '$W/missing.png': "* ]]
    run cs-ladder --slate "$W/clip.ts" --rungs 90p:100k -o /dev/null "$W/clip.ts"
    echo "$output"
    [ "$status" -eq 0 ]
    run cs-ladder --slate-text hello -o /dev/null "$W/clip.ts"
    [ "$status" -eq 2 ]
    [[ "$output" = *"--slate-text needs --slate"* ]]
}

# The newest whole segment of rendition $1 ("N" of N.m4s), or -1.
last_segment() {
    local n=-1 f b
    for f in "$W/www/live/$1"/*.m4s; do
        b=${f##*/}
        [[ $b =~ ^[0-9]+\.m4s$ ]] || continue
        [ "${b%.m4s}" -gt "$n" ] && n=${b%.m4s}
    done
    echo "$n"
}

# Segment $2 of rendition $1 as one playable fMP4 file on stdout.
segment() {
    cat "$W/www/live/$1/init.mp4" "$W/www/live/$1/$2.m4s"
}

@test "hls.js plays on for 10 s while the emitter is gone, segments keep coming with aligned keyframes, and the picture comes back" {
    port=$(free_port)
    # a dark blue slate (luma 53) with a line of text
    ffmpeg -v error -f lavfi -i "color=c=0x202080:s=160x90" -frames:v 1 "$W/slate.png"
    mkfifo "$W/ladder.fifo"
    mkdir -p "$W/www/live"
    cs-serve --root "$W/www" --listen "127.0.0.1:$port" 2> "$W/serve.err" &
    PIDS+=($!)
    cs-ladder --tune zerolatency --preset ultrafast --rungs "$RUNGS" --gop 2 \
        --slate "$W/slate.png" --slate-text 'back in a moment' \
        -o "$W/ladder.fifo" < "$W/in.fifo" 2> "$W/ladder.err" &
    PIDS+=($!)
    cs-segment --segment 2 -o "$W/www/live" "$W/ladder.fifo" 2> "$W/segment.err" &
    PIDS+=($!)
    emit 300
    for _ in $(seq 300); do
        [ "$(last_segment 180p)" -ge 2 ] && break
        sleep 0.1
    done
    [ "$(last_segment 180p)" -ge 2 ]

    kill -9 "$EMITTER"
    sleep 2
    before=$(last_segment 180p)
    run timeout 60 node "$REPO/tests/browser/play.mjs" --kind hls --lowlatency \
        --seconds 12 --url "http://127.0.0.1:$port/live/master.m3u8"
    echo "$output"
    # (the smaller rendition's newest segment may land a moment later)
    after=$(last_segment 180p)
    a90=$(last_segment 90p)
    [ "$a90" -lt "$after" ] && after=$a90
    echo "segments: $before before, $after after"
    cat "$W/ladder.err"
    [ "$status" -eq 0 ]
    # what was there when the emitter stopped holds a few seconds at most
    jq -e '.ok and .advanced > 8 and .levels == 2' <<<"$output"
    [ "$after" -ge $((before + 4)) ]
    grep -q 'the slate is on air' "$W/ladder.err"

    # the last segments made meanwhile (older ones left the window): the
    # slate in both renditions, each starting with a keyframe at the same
    # time in both
    first=$((after - 3 > before ? after - 3 : before + 1))
    for n in $(seq "$first" "$after"); do
        for r in 180p 90p; do
            y=$(segment "$r" "$n" | lumas - 0 | awk '{ s += $2 } END { print NR ? int(s / NR) : -1 }')
            echo "segment $r/$n: luma $y"
            [ "$y" -ge 48 ]
            [ "$y" -le 60 ]
        done
        k0=$(segment 180p "$n" | packets - v:0 | head -1)
        k1=$(segment 90p "$n" | packets - v:0 | head -1)
        echo "first packets: $k0 / $k1"
        [[ $k0 = *K* ]]
        [ "$k0" = "$k1" ]
    done

    # the emitter comes back: the picture (testsrc2, luma ~120) follows
    emit 300
    back=0
    for _ in $(seq 30); do
        sleep 1
        n=$(last_segment 90p)
        y=$(segment 90p "$n" | lumas - 0 | awk '{ s += $2 } END { print NR ? int(s / NR) : -1 }')
        if [ "$y" -gt 90 ]; then back=1; break; fi
    done
    cat "$W/ladder.err"
    [ "$back" -eq 1 ]
    grep -q 'the picture is back' "$W/ladder.err"
    # one timeline throughout: nothing for a player to reset
    run grep -c 'EXT-X-DISCONTINUITY' "$W/www/live/180p/index.m3u8"
    [ "$output" -eq 0 ]
}
