#!/usr/bin/env bats
# cs-encode: raw A/V -> H.264/H.265/AV1 + AAC/Opus in MPEG-TS or Matroska.

load helper

# Keyframe times of the video stream, one a line.
keytimes() {
    ffprobe -v error -select_streams v -show_entries packet=pts_time,flags \
        -of csv=p=0 "$1" | awk -F, '$2 ~ /K/ { print $1 }'
}

# Every keyframe exactly GOP seconds after the previous one, and N of them.
gop_exact() { # FILE GOP COUNT
    keytimes "$1" | awk -v g="$2" -v n="$3" '
        NR > 1 { d = $1 - p; if (d < g - 0.001 || d > g + 0.001) bad = 1 }
        { p = $1 } END { exit bad || NR != n }'
}

@test "h264 + aac in MPEG-TS at the asked size and rate, a keyframe exactly every 2 s" {
    mkclip "$T/in.mp4" 6 640x480 30 audio
    run bash -c "cs-decode '$T/in.mp4' | cs-encode --codec h264 --bitrate 2M --gop 2 --size 320x180 --fps 25 -o '$T/out.ts'"
    [ "$status" -eq 0 ]
    [ "$(probe "$T/out.ts" format=format_name)" = mpegts ]
    run probe "$T/out.ts" stream=codec_name,width,height,r_frame_rate v
    [ "$output" = $'h264\n320\n180\n25/1' ]
    [ "$(probe "$T/out.ts" stream=codec_name,sample_rate,channels a)" = $'aac\n48000\n2' ]
    gop_exact "$T/out.ts" 2 3
    # no scene-cut or stray keyframes: exactly 150 frames, 3 of them key
    [ "$(ffprobe -v error -select_streams v -show_entries packet=pts -of csv=p=0 "$T/out.ts" | grep -c .)" -eq 150 ]
}

@test "hevc + opus in MPEG-TS" {
    mkclip "$T/in.mp4" 4 320x240 25 audio
    run bash -c "cs-decode '$T/in.mp4' | cs-encode --codec hevc --audio opus --bitrate 1M --gop 2 -o '$T/out.ts'"
    [ "$status" -eq 0 ]
    [ "$(probe "$T/out.ts" format=format_name)" = mpegts ]
    [ "$(probe "$T/out.ts" stream=codec_name v)" = hevc ]
    [ "$(probe "$T/out.ts" stream=codec_name a)" = opus ]
    gop_exact "$T/out.ts" 2 2
}

@test "av1 + opus in Matroska" {
    mkclip "$T/in.mp4" 4 320x240 25 audio
    run bash -c "cs-decode '$T/in.mp4' | cs-encode --codec av1 --audio opus --bitrate 1M --gop 2 -o '$T/out.mkv'"
    [ "$status" -eq 0 ]
    [ "$(probe "$T/out.mkv" format=format_name)" = "matroska,webm" ]
    [ "$(probe "$T/out.mkv" stream=codec_name v)" = av1 ]
    [ "$(probe "$T/out.mkv" stream=codec_name a)" = opus ]
    gop_exact "$T/out.mkv" 2 2
}

@test "CBR 2 Mb/s averages within 10% of 2 Mb/s over 10 s" {
    mkclip "$T/in.mp4" 10 640x360 25 audio
    run bash -c "cs-decode '$T/in.mp4' | cs-encode --bitrate 2M --rc cbr -o '$T/out.ts'"
    [ "$status" -eq 0 ]
    bits=$(ffprobe -v error -select_streams v -show_entries packet=size -of csv=p=0 "$T/out.ts" |
        awk '{ s += $1 } END { print s * 8 }')
    awk -v b="$bits" 'BEGIN { r = b / 10 / 2000000; print r; exit !(r > 0.9 && r < 1.1) }'
}

@test "reads y4m from cs-decode --y4m (video only)" {
    mkclip "$T/in.mp4" 2 320x240 25 audio
    run bash -c "cs-decode --y4m '$T/in.mp4' | cs-encode -o '$T/out.ts'"
    [ "$status" -eq 0 ]
    [ "$(probe "$T/out.ts" stream=codec_name)" = h264 ]
}

@test "--tune zerolatency leaves out B-frames; --stats ends with a final object" {
    mkclip "$T/in.mp4" 2 320x240 25 audio
    run bash -c "cs-decode '$T/in.mp4' | cs-encode --tune zerolatency --stats '$T/stats' -o '$T/out.ts'"
    [ "$status" -eq 0 ]
    [ "$(probe "$T/out.ts" stream=has_b_frames v)" = 0 ]
    tail -1 "$T/stats" | jq -e '.final == true and .frames == 50 and .bitrate_bps > 0'
}

@test "MPEG-TS times start at or after zero: AAC priming, Opus pre-skip and B-frames move the stream on" {
    mkclip "$T/in.mp4" 2 320x240 25 audio
    # ffprobe unwraps a TS clock only from the first time it reads: audio
    # priming written just below zero after a picture at zero reads as
    # 26.5 hours on (8589932672), and a player finds no audio to play.
    # Standard output: packets go out in the order made, pictures first.
    for a in "aac" "aac --tune zerolatency" "opus --tune zerolatency"; do
        # shellcheck disable=SC2086
        run bash -c "cs-decode '$T/in.mp4' | cs-encode --audio $a >'$T/out.ts'"
        [ "$status" -eq 0 ]
        ffprobe -v error -show_entries packet=pts,dts -of csv=p=0 "$T/out.ts" |
            tr , ' ' | awk 'NF { n++; for (i = 1; i <= NF; i++)
                               if ($i < 0 || $i > 3 * 90000) bad = 1 }
                            END { exit bad || n < 60 }'
    done
}

@test "the output file appears whole or not at all" {
    junk "$T/rnd" 50000
    run cs-encode -o "$T/out.ts" "$T/rnd"
    [ "$status" -eq 3 ]
    one_line "$output"
    [ "$output" = "cs-encode: cannot open '$T/rnd': invalid data" ]
    [ -z "$(find "$T" -mindepth 1 ! -name rnd)" ]
}

# bats test_tags=sanitize
@test "bad input and usage: empty stdin, missing file, bad values, av1 in TS" {
    run bash -c "cs-encode -o '$T/o.ts' < /dev/null"
    [ "$status" -eq 3 ]
    one_line "$output"
    [ "$output" = "cs-encode: cannot open '-': empty input" ]
    run cs-encode "$T/missing.nut"
    [ "$status" -eq 3 ]
    one_line "$output"
    run cs-encode --bitrate fast
    [ "$status" -eq 2 ]
    one_line "$output"
    [ "$output" = "cs-encode: invalid value 'fast' for --bitrate: expected a rate like 800k or 2M" ]
    run cs-encode --codec vp9
    [ "$status" -eq 2 ]
    one_line "$output"
    run cs-encode --codec av1 --format ts
    [ "$status" -eq 2 ]
    one_line "$output"
    run cs-encode --frobnicate
    [ "$status" -eq 2 ]
    one_line "$output"
    [ "$output" = "cs-encode: unknown option '--frobnicate'; try 'cs-encode --help'" ]
}

# Video frames in a file (packets of its first video stream).
vframes() {
    ffprobe -v error -select_streams v:0 -count_packets \
        -show_entries stream=nb_read_packets -of json "$1" |
        jq -r '.streams[0].nb_read_packets'
}

@test "cs-decode | cs-encode keeps the rate and every frame at 640x360 (30, 30000/1001, 12.5 fps)" {
    mkclip "$T/in.mp4" 2 640x360 30 audio
    for r in 30 30000/1001 12.5; do
        # cs-decode tells of the frames it drops to make 12.5 fps
        run bash -c "cs-decode --fps $r '$T/in.mp4' 2>/dev/null |
            tee '$T/raw.nut' | cs-encode --stats '$T/stats' -o '$T/out.ts'"
        [ "$status" -eq 0 ]
        [ -z "$output" ]
        want=$(probe "$T/raw.nut" stream=r_frame_rate v)
        [ "$want" = "$(awk -v r="$r" 'BEGIN { print (r == "12.5") ? "25/2" : (r ~ /\//) ? r : r "/1" }')" ]
        [ "$(probe "$T/out.ts" stream=r_frame_rate v)" = "$want" ]
        [ "$(vframes "$T/out.ts")" -eq "$(vframes "$T/raw.nut")" ]
        tail -1 "$T/stats" | jq -e '.frames_dropped == 0 and .frames_duplicated == 0'
    done
}

@test "frames dropped to make an asked-for rate are told in one line and counted in --stats" {
    mkclip "$T/in.mp4" 2 320x240 30 audio
    cs-decode -o "$T/raw.nut" "$T/in.mp4"
    run cs-encode --fps 25 --stats "$T/stats" -o "$T/out.ts" "$T/raw.nut"
    [ "$status" -eq 0 ]
    one_line "$output"
    [ "$output" = "cs-encode: warning: '$T/raw.nut': 10 input frames dropped and 0 repeated to make 25 fps" ]
    [ "$(vframes "$T/out.ts")" -eq 50 ]
    tail -1 "$T/stats" | jq -e '.final and .frames == 50 and .frames_dropped == 10 and .frames_duplicated == 0'
}

@test "a NUT cut inside a frame: every whole frame encoded, one line, a valid file, status 3" {
    mkclip "$T/in.mp4" 2 320x240 25 audio
    cs-decode -o "$T/raw.nut" "$T/in.mp4"
    # cut 1000 bytes into the 21st picture: 20 whole ones before it
    pos=$(ffprobe -v error -select_streams v -show_entries packet=pos -of csv=p=0 "$T/raw.nut" | sed -n 21p)
    head -c $((pos + 1000)) "$T/raw.nut" > "$T/cut.nut"
    run bash -c "cs-encode -o '$T/out.ts' < '$T/cut.nut'"
    [ "$status" -eq 3 ]
    one_line "$output"
    [ "$output" = "cs-encode: '-': the input ends inside a frame; encoded the 20 whole frames before it" ]
    [ "$(vframes "$T/out.ts")" -eq 20 ]
    [ -z "$(ffmpeg -nostdin -v error -i "$T/out.ts" -f null - 2>&1)" ]
    [ "$(probe "$T/out.ts" stream=codec_name a)" = aac ]
}

@test "takes the sample rate from the input: 44.1 kHz stays 44.1 kHz in AAC; Opus, which cannot, gets 48 kHz" {
    mkclip "$T/in.mp4" 2 320x240 25 audio
    [ "$(probe "$T/in.mp4" stream=sample_rate a)" = 44100 ]
    run cs-encode -o "$T/aac.ts" "$T/in.mp4"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    [ "$(probe "$T/aac.ts" stream=codec_name,sample_rate a)" = $'aac\n44100' ]
    run cs-encode --audio opus -o "$T/opus.ts" "$T/in.mp4"
    [ "$status" -eq 0 ]
    [ "$(probe "$T/opus.ts" stream=codec_name,sample_rate a)" = $'opus\n48000' ]
    # the raw stage from cs-decode is 48 kHz, and stays so
    cs-decode -o "$T/raw.nut" "$T/in.mp4"
    run cs-encode -o "$T/raw.ts" "$T/raw.nut"
    [ "$status" -eq 0 ]
    [ "$(probe "$T/raw.ts" stream=sample_rate a)" = 48000 ]
}

@test "a y4m cut inside a frame: the whole frames encoded, one line, status 3 (a whole one: status 0)" {
    mkclip "$T/in.mp4" 2 320x240 25 noaudio
    cs-decode --y4m -o "$T/raw.y4m" "$T/in.mp4"
    # a header line, then 50 frames of 6 + 115200 bytes: cut inside the 18th
    head -c 2000000 "$T/raw.y4m" > "$T/cut.y4m"
    run cs-encode -o "$T/out.ts" "$T/cut.y4m"
    [ "$status" -eq 3 ]
    one_line "$output"
    [ "$output" = "cs-encode: '$T/cut.y4m': the input ends inside a frame; encoded the 17 whole frames before it" ]
    [ "$(vframes "$T/out.ts")" -eq 17 ]
    [ -z "$(ffmpeg -nostdin -v error -i "$T/out.ts" -f null - 2>&1)" ]
    run cs-encode -o "$T/whole.ts" "$T/raw.y4m"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    [ "$(vframes "$T/whole.ts")" -eq 50 ]
}

# Video packets in a (maybe growing) MPEG-TS file.
vpackets() {
    local n
    n=$(ffprobe -v error -select_streams v -count_packets \
        -show_entries stream=nb_read_packets -of csv=p=0 "$1" 2>/dev/null |
        grep -m1 .)
    echo "${n:-0}"
}

@test "on a pipe every picture goes out as it is encoded, not held for the sound" {
    mkclip "$T/in.mp4" 1 160x120 25 audio
    cs-decode "$T/in.mp4" >"$T/in.nut"
    # All 25 pictures and their sound in, then the input stays open: with
    # zerolatency x264 holds none back, but interleaving held the last
    # pictures until sound with a later time came (AAC keeps 1024 samples).
    setsid bash -c "{ cat '$T/in.nut'; sleep 100; } |
        timeout 120 cs-encode --tune zerolatency >'$T/out.ts'" \
        </dev/null 2>"$T/err" &
    GROUP=$!
    local n=0
    for _ in $(seq 20); do
        n=$(vpackets "$T/out.ts")
        [ "$n" -ge 25 ] && break
        sleep 0.5
    done
    echo "$n pictures out"
    [ "$n" -eq 25 ]
}

teardown() {
    [ -z "${GROUP:-}" ] || kill -- "-$GROUP" 2>/dev/null || true
}
