#!/usr/bin/env bats
# cs-ladder: one input, an aligned adaptive-bitrate ladder in one MPEG-TS.

load helper

# One 10 s 1080p input and its three-rung ladder, shared by the first tests.
setup_file() {
    local d=$BATS_FILE_TMPDIR
    PATH=$CS_BIN:$PATH
    ffmpeg -nostdin -loglevel error -y \
        -f lavfi -i "testsrc2=size=1920x1080:rate=25:duration=10" \
        -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=10" \
        -c:v libx264 -preset ultrafast -crf 20 -pix_fmt yuv420p -g 50 \
        -c:a aac -b:a 96k -shortest "$d/hd.ts"
    # (longer under ThreadSanitizer: make tsan sets CS_LADDER_TIMEOUT)
    timeout "${CS_LADDER_TIMEOUT:-120}" cs-ladder --rungs 720p:2M,480p:1M,360p:500k --preset ultrafast \
        --stats "$d/stats.json" -o "$d/ladder.ts" "$d/hd.ts" 2>"$d/ladder.err"
}

teardown() {
    local p
    for p in ${KILL_PIDS:-}; do kill -9 "$p" 2>/dev/null || true; done
}

# The streams of $1 selected by $2 with the entries $3, as "v,v" lines in
# the order of $3 (JSON, because ffprobe lists the streams of each MPEG-TS
# program again in its other formats).
streams() {
    local jqf=${3//,/),(.}
    ffprobe -v error -select_streams "$2" -count_packets \
        -show_entries "stream=$3" -of json "$1" |
        jq -r ".streams[] | [(.$jqf)] | map(tostring) | join(\",\")"
}

# The pts of the keyframes of video stream $2 of file $1, one line.
key_pts() {
    ffprobe -v error -select_streams "v:$2" -show_entries packet=pts,flags \
        -of csv=p=0 "$1" | awk -F, '$2 ~ /K/ { printf "%s ", $1 }'
}

@test "unit checks: rung parsing and sizing, queue back-pressure, timeline, labels" {
    run ladder-check
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" != *failed:* ]]
}

@test "a 1080p input and three rungs give three H.264 streams of the right sizes and one audio" {
    local f=$BATS_FILE_TMPDIR/ladder.ts
    [ -s "$f" ]
    run streams "$f" "" codec_type,codec_name,width,height
    [ "$status" -eq 0 ]
    echo "$output"
    [ "$(grep -c '^video,h264' <<<"$output")" -eq 3 ]
    [ "$(grep -c '^audio,aac' <<<"$output")" -eq 1 ]
    [ "$(grep -c . <<<"$output")" -eq 4 ]
    grep -q '^video,h264,1280,720$' <<<"$output"
    grep -q '^video,h264,852,480$' <<<"$output"
    grep -q '^video,h264,640,360$' <<<"$output"
    # every frame of every stream decodes
    run ffmpeg -nostdin -v error -i "$f" -map 0 -f null -
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

@test "every rung is labelled with its name, size and bitrate for cs-segment" {
    run ffprobe -v error -show_entries program_tags -of json \
        "$BATS_FILE_TMPDIR/ladder.ts"
    [ "$status" -eq 0 ]
    output=$(jq -r '.programs[].tags | "\(.service_name),\(.service_provider)"' <<<"$output")
    echo "$output"
    grep -q '^720p,cs-ladder variant_bitrate=2000000 variant_width=1280 variant_height=720 variant_fps=25/1$' <<<"$output"
    grep -q '^480p,cs-ladder variant_bitrate=1000000 variant_width=852 variant_height=480' <<<"$output"
    grep -q '^360p,cs-ladder variant_bitrate=500000 variant_width=640 variant_height=360' <<<"$output"
}

@test "cs_ladder_variant_get reads the labels back from the MPEG-TS" {
    run ladder-check "$BATS_FILE_TMPDIR/ladder.ts"
    [ "$status" -eq 0 ]
    echo "$output"
    [ "$output" = "$(printf '%s\n' '1 720p 2000000 1280x720 25/1' \
        '2 480p 1000000 852x480 25/1' '3 360p 500000 640x360 25/1')" ]
}

@test "every rung has its keyframes at exactly the same pts, one per GOP" {
    local f=$BATS_FILE_TMPDIR/ladder.ts k0 k1 k2
    k0=$(key_pts "$f" 0) k1=$(key_pts "$f" 1) k2=$(key_pts "$f" 2)
    echo "$k0 / $k1 / $k2"
    [ "$(wc -w <<<"$k0")" -eq 5 ]
    [ "$k0" = "$k1" ]
    [ "$k0" = "$k2" ]
    # 2 s apart (90 kHz)
    awk '{ for (i = 2; i <= NF; i++) if ($i - $(i-1) != 180000) exit 1 }' <<<"$k0"
}

@test "CBR rungs average within 15% of their targets over 10 s" {
    local f=$BATS_FILE_TMPDIR/ladder.ts i target bytes
    local targets=(2000000 1000000 500000)
    for i in 0 1 2; do
        bytes=$(ffprobe -v error -select_streams "v:$i" -show_entries packet=size \
            -of csv=p=0 "$f" | awk '{ s += $1 } END { print s }')
        target=${targets[$i]}
        echo "rung $i: $((bytes * 8 / 10)) b/s for $target"
        [ $((bytes * 8 / 10)) -gt $((target * 85 / 100)) ]
        [ $((bytes * 8 / 10)) -lt $((target * 115 / 100)) ]
    done
}

@test "the AAC audio is passed through untouched" {
    local d=$BATS_FILE_TMPDIR
    audio_packets() {
        ffprobe -v error -select_streams a -show_entries packet=pts,size \
            -of csv=p=0 "$1" | tr -d , | grep .
    }
    audio_packets "$d/hd.ts" >"$T/a"
    audio_packets "$d/ladder.ts" >"$T/b"
    [ "$(wc -l <"$T/a")" -gt 400 ]
    diff "$T/a" "$T/b"
}

@test "--stats writes per-rung fps, bitrate, queue depth and speed, and a final line" {
    local s=$BATS_FILE_TMPDIR/stats.json
    tail -1 "$s" | jq -e '.final == true and .input_frames == 250 and
        (.rungs | length) == 3 and
        ([.rungs[] | select(.frames == 250 and .bitrate_bps > 0 and
          .speed > 0 and has("fps") and has("queue_depth"))] | length) == 3'
}

@test "a rung larger than the source is left out with a note" {
    mkclip "$T/sd.ts" 2 854x480 25
    run timeout 60 cs-ladder --rungs 720p:2M,360p:500k --preset ultrafast \
        -o "$T/out.ts" "$T/sd.ts"
    [ "$status" -eq 0 ]
    [[ "$output" == *"cs-ladder: leaving out rung '720p'"*"larger than the 854x480 source"* ]]
    [ "$(streams "$T/out.ts" v width,height)" = "640,360" ]
}

@test "--upscale keeps a rung larger than the source" {
    mkclip "$T/small.ts" 1 320x240 25
    run timeout 60 cs-ladder --upscale --rungs 480p:1M --preset ultrafast \
        -o "$T/out.ts" "$T/small.ts"
    [ "$status" -eq 0 ]
    [ "$(streams "$T/out.ts" v width,height)" = "640,480" ]
}

@test "--scale-from: source (the default) scales each rung from the decoded picture, larger from the rung above" {
    # lossless rungs, so the decoded pictures are the scaled ones
    local lossless=(--rc crf --crf 0 --preset ultrafast --gop 1)
    mkclip "$T/src.ts" 1 640x360 25
    pictures() { # FILE STREAM: one line per decoded picture, its hash
        ffmpeg -nostdin -v error -i "$1" -map "0:v:$2" -f framemd5 - |
            grep -v '^#' | awk -F, '{ print $NF }'
    }
    cs-ladder -q "${lossless[@]}" --rungs 180p:1M -o "$T/one.ts" "$T/src.ts"
    cs-ladder -q "${lossless[@]}" --rungs 270p:2M,180p:1M -o "$T/def.ts" "$T/src.ts"
    cs-ladder -q "${lossless[@]}" --rungs 270p:2M,180p:1M --scale-from source \
        -o "$T/src2.ts" "$T/src.ts"
    cs-ladder -q "${lossless[@]}" --rungs 270p:2M,180p:1M --scale-from larger \
        -o "$T/big.ts" "$T/src.ts"
    pictures "$T/one.ts" 0 >"$T/one"
    [ "$(wc -l <"$T/one")" -eq 25 ]
    pictures "$T/def.ts" 1 | diff - "$T/one"
    pictures "$T/src2.ts" 1 | diff - "$T/one"
    # scaled twice: other pictures (a lower PSNR, see the man page)
    run diff <(pictures "$T/big.ts" 1) "$T/one"
    [ "$status" -eq 1 ]
}

@test "a frame-rate cap drops frames on the common timeline and keeps keyframes aligned" {
    mkclip "$T/60.ts" 4 320x240 60
    run timeout 60 cs-ladder --rungs 240p:600k,120p:150k@30 --preset ultrafast \
        -o "$T/out.ts" "$T/60.ts"
    [ "$status" -eq 0 ]
    run streams "$T/out.ts" v avg_frame_rate,nb_read_packets
    echo "$output"
    [ "$output" = $'60/1,240\n30/1,120' ]
    [ "$(key_pts "$T/out.ts" 0)" = "$(key_pts "$T/out.ts" 1)" ]
    [ "$(key_pts "$T/out.ts" 0 | wc -w)" -eq 2 ]
}

@test "a mid-stream size change and a timestamp jump: the output goes on, valid and monotonic" {
    mkclip "$T/a.ts" 3 640x360 25
    ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc2=size=480x360:rate=25:duration=3" \
        -f lavfi -i "sine=frequency=880:sample_rate=44100:duration=3" \
        -c:v libx264 -preset ultrafast -g 25 -c:a aac -shortest \
        -output_ts_offset 60 "$T/b.ts"
    cat "$T/a.ts" "$T/b.ts" >"$T/ab.ts"
    run timeout 60 cs-ladder --rungs 360p:800k,180p:200k --preset ultrafast \
        --stats "$T/st.json" -o "$T/out.ts" "$T/ab.ts"
    [ "$status" -eq 0 ]
    jq -e 'select(.final) | .timestamp_jumps >= 1 and .input_frames == 150' "$T/st.json"
    run ffmpeg -nostdin -v error -i "$T/out.ts" -map 0 -f null -
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    local s
    for s in v:0 v:1 a:0; do
        # pts strictly increasing, no gap over 0.2 s: the jump was closed
        ffprobe -v error -select_streams "$s" -show_entries packet=pts -of csv=p=0 \
            "$T/out.ts" | tr -d , | grep . | sort -n |
            awk 'NR > 1 && ($1 <= p || $1 - p > 18000) { bad = 1 } { p = $1; n++ }
                 END { exit bad || n < 100 }'
    done
    [ "$(streams "$T/out.ts" v nb_read_packets)" = $'150\n150' ]
}

@test "audio just below zero after a picture at zero: every output time at or after zero" {
    # a TS reader would take the audio for 26.5 hours on (see cs-encode.bats)
    primed_ts "$T/prime.ts" 0
    run cs-ladder --rungs 90p:100k,72p:60k --preset ultrafast "$T/prime.ts" -o "$T/out.ts"
    [ "$status" -eq 0 ]
    ffprobe -v error -show_entries packet=pts,dts -of csv=p=0 "$T/out.ts" |
        tr , ' ' | awk 'NF { n++; for (i = 1; i <= NF; i++)
                           if ($i < 0 || $i > 7 * 90000) bad = 1 }
                        END { exit bad || n < 400 }'
}

@test "audio that is not AAC or Opus is encoded once, to AAC by default" {
    ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc2=size=320x240:rate=25:duration=2" \
        -f lavfi -i "sine=sample_rate=44100:duration=2" -c:v libx264 -preset ultrafast \
        -c:a mp2 -shortest "$T/mp2.ts"
    run timeout 60 cs-ladder --rungs 240p:400k,120p:100k --preset ultrafast \
        -o "$T/out.ts" "$T/mp2.ts"
    [ "$status" -eq 0 ]
    [ "$(streams "$T/out.ts" a codec_name,sample_rate)" = "aac,48000" ]
    local d
    d=$(streams "$T/out.ts" a duration)
    awk -v d="$d" 'BEGIN { exit !(d > 1.8 && d < 2.3) }'
}

@test "reads standard input and writes standard output; --tune zerolatency has no B-frames" {
    mkclip "$T/in.ts" 2 320x240 25
    timeout 60 cs-ladder --tune zerolatency --rungs 240p:400k,120p:100k \
        --preset ultrafast <"$T/in.ts" >"$T/out.ts"
    [ "$(streams "$T/out.ts" v codec_name,has_b_frames)" = $'h264,0\nh264,0' ]
}

@test "--tune zerolatency: a paced live input goes out within a few frames" {
    ffmpeg -nostdin -loglevel error -re -f lavfi -i "testsrc2=size=320x240:rate=25:duration=4" \
        -f lavfi -i "sine=duration=4" -c:v libx264 -preset ultrafast -tune zerolatency \
        -g 50 -c:a aac -f mpegts - |
        timeout 60 cs-ladder --tune zerolatency --rungs 240p:500k,120p:150k \
            --stats "$T/st.json" -o "$T/out.ts"
    # from a picture's decoding to its packet's writing, at most 10 frames
    # (400 ms: generous for a loaded machine; an idle one takes ~10 ms)
    jq -e 'select(.final) | [.rungs[] | select(.frames == 100 and
        .delay_max_ms < 400)] | length == 2' "$T/st.json"
}

@test "input that is not media: one line, status 3, no output file" {
    junk "$T/junk.ts" 100000
    run timeout 30 cs-ladder -o "$T/out.ts" "$T/junk.ts"
    echo "$output"
    [ "$status" -eq 3 ]
    one_line "$output"
    [[ "$output" == "cs-ladder: cannot "*"'$T/junk.ts'"* ]]
    [ ! -e "$T/out.ts" ]
    run timeout 30 cs-ladder -o "$T/out.ts" "$T/missing.ts"
    [ "$status" -eq 3 ]
    one_line "$output"
}

@test "a reader that goes away: one line, status 4" {
    run bash -c "cs-ladder --rungs 240p:400k,120p:100k --preset ultrafast \
        '$BATS_FILE_TMPDIR/hd.ts' 2>'$T/err' | head -c 1000 >/dev/null; \
        echo \${PIPESTATUS[0]}"
    [ "$output" = 4 ]
    [ "$(cat "$T/err")" = "cs-ladder: cannot write '-': broken pipe" ]
}

# bats test_tags=sanitize
@test "a malformed --rungs is a usage error naming the rung" {
    run cs-ladder --rungs 720p:fast -o "$T/out.ts" /dev/null
    [ "$status" -eq 2 ]
    one_line "$output"
    [[ "$output" == "cs-ladder: invalid rung '720p:fast' in --rungs: expected a bit rate"* ]]
    run cs-ladder --rungs 720p:3M:codec=mpeg2 /dev/null
    [ "$status" -eq 2 ]
    run cs-ladder --rungs 720p:3M@0 /dev/null
    [ "$status" -eq 2 ]
}

@test "per-rung codec: an HEVC rung beside an H.264 rung" {
    mkclip "$T/in.ts" 2 320x240 25
    run timeout 90 cs-ladder --rungs "240p:400k:codec=hevc:preset=ultrafast,120p:100k" \
        --preset ultrafast -o "$T/out.ts" "$T/in.ts"
    [ "$status" -eq 0 ]
    [ "$(streams "$T/out.ts" v codec_name)" = $'hevc\nh264' ]
    [ "$(key_pts "$T/out.ts" 0)" = "$(key_pts "$T/out.ts" 1)" ]
}

@test "an AV1 rung makes the ladder Matroska, labelled in stream metadata" {
    mkclip "$T/in.ts" 2 320x240 25
    run timeout 120 cs-ladder --rungs "240p:300k:codec=av1:preset=10,120p:100k" \
        --preset ultrafast -o "$T/out.mkv" "$T/in.ts"
    [ "$status" -eq 0 ]
    [ "$(probe "$T/out.mkv" format=format_name)" = "matroska,webm" ]
    [ "$(probe "$T/out.mkv" stream=codec_name v | paste -sd,)" = "av1,h264" ]
    [ "$(key_pts "$T/out.mkv" 0)" = "$(key_pts "$T/out.mkv" 1)" ]
    run ladder-check "$T/out.mkv"
    echo "$output"
    [ "$output" = "$(printf '%s\n' '1 240p 300000 320x240 25/1' \
        '2 120p 100000 160x120 25/1')" ]
}

@test "SIGTERM drains the encoders and leaves a whole file, status 0" {
    mkclip "$T/in.ts" 2 320x240 25
    mkfifo "$T/fifo"
    (cat "$T/in.ts"; sleep 30) >"$T/fifo" &
    local feeder=$!
    cs-ladder --rungs 240p:400k --preset ultrafast -o "$T/out.ts" "$T/fifo" &
    local pid=$! i
    KILL_PIDS="$feeder $pid"
    sleep 5     # the whole clip is in the pipe: it is read by then
    kill -TERM "$pid"
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    local st=0
    wait "$pid" || st=$?
    kill "$feeder" 2>/dev/null || true
    [ "$st" -eq 0 ]
    run ffmpeg -nostdin -v error -i "$T/out.ts" -f null -
    [ "$status" -eq 0 ]
    # what the demuxer held when the stop came may be missing, no more
    local n
    n=$(streams "$T/out.ts" v nb_read_packets)
    [ "$n" -ge 45 ]
    [ "$n" -le 50 ]
}
