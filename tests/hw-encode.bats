#!/usr/bin/env bats
# Hardware encoders (NVENC, VA-API, Quick Sync): named, detected, and asked
# for the options their documentation names. Where a device exists the
# encoder must work; where none does (CI) it must say so plainly.

load helper

HW_ENCODERS=(h264_nvenc hevc_nvenc av1_nvenc h264_vaapi hevc_vaapi h264_qsv hevc_qsv)

setup() {
    ffmpeg -nostdin -loglevel error -f lavfi -i "testsrc2=size=320x240:rate=25:duration=1" \
        -f lavfi -i "sine=duration=1" -c:v rawvideo -c:a pcm_s16le -y "$T/in.nut"
}

# Whether this libavcodec has encoder $1.
built_in() {
    ffmpeg -hide_banner -encoders 2>/dev/null | awk '{print $2}' | grep -qx "$1"
}

# Whether a device for encoder $1's family is present.
device_for() {
    case $1 in
    *_nvenc) [ -e /dev/nvidia0 ] ;;
    *) compgen -G "/dev/dri/renderD*" >/dev/null ;;
    esac
}

@test "each hardware encoder is accepted by name; with no device it says so plainly, status 2" {
    local c why
    for c in "${HW_ENCODERS[@]}"; do
        run cs-encode --codec "$c" -o "$T/$c.out" "$T/in.nut"
        echo "$c: $status $output"
        if ! built_in "$c"; then
            [ "$status" -eq 2 ]
            [ "$output" = "cs-encode: '$c': this libavcodec has no such encoder" ]
        elif ! device_for "$c"; then
            case $c in
            *_nvenc) why="no NVIDIA GPU or driver (CUDA) found" ;;
            *_vaapi) why="no VA-API device found" ;;
            *) why="no Intel Quick Sync device found" ;;
            esac
            [ "$status" -eq 2 ]
            [ "$output" = "cs-encode: '$c': not available here: $why" ]
            [ ! -e "$T/$c.out" ]
        else
            [ "$status" -eq 0 ]
            [ "$(probe "$T/$c.out" stream=codec_name v)" = "${c%%_*}" ]
        fi
    done
}

@test "--hwaccel auto falls back to software with a note when no hardware encoder opens" {
    local c
    for c in h264_nvenc h264_vaapi h264_qsv; do
        if built_in "$c" && device_for "$c"; then
            skip "a device for $c is present: auto would use it"
        fi
    done
    run cs-encode --hwaccel auto -o "$T/auto.ts" "$T/in.nut"
    [ "$status" -eq 0 ]
    [ "$output" = "cs-encode: note: no hardware h264 encoder opens here; encoding in software" ]
    [ "$(probe "$T/auto.ts" stream=codec_name v)" = h264 ]
    [ "$(ffmpeg -v error -i "$T/auto.ts" -map 0:v -f framemd5 - | grep -vc '^#')" -eq 25 ]
    # Without --hwaccel: no note.
    run cs-encode -o "$T/sw.ts" "$T/in.nut"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

@test "an unknown codec name is a usage error that lists the hardware names" {
    run cs-encode --codec h264_amf -o "$T/x.ts" "$T/in.nut"
    [ "$status" -eq 2 ]
    [ "$output" = "cs-encode: invalid value 'h264_amf' for --codec: expected h264, hevc, av1 or a hardware encoder (h264_nvenc, hevc_nvenc, av1_nvenc, h264_vaapi, hevc_vaapi, h264_qsv, hevc_qsv)" ]
    run cs-encode --hwaccel cuda -o "$T/x.ts" "$T/in.nut"
    [ "$status" -eq 2 ]
}

# Rate control, GOP (2 s at 25 fps: 50 frames) and zero latency, mapped to
# each encoder's options as the FFmpeg encoder documentation names them
# (NVENC: preset p1-p7, tune hq/ull, rc, cq, forced-idr, no-scenecut,
# strict_gop, zerolatency, delay, rc-lookahead, udu_sei for the capture
# time's SEI but on AV1; VA-API: rc_mode, qp,
# idr_interval, async_depth; QSV: preset, global_quality, idr_interval,
# forced_idr, async_depth, look_ahead). hw-options also checks each name
# against the encoder's own option table when libavcodec has it.
@test "the option mapping of every hardware encoder is the documented one" {
    local enc args want got
    while IFS='|' read -r enc args want; do
        [ -n "$enc" ] || continue
        # shellcheck disable=SC2086 # ARGS are words
        got=$(hw-options "$enc" $args 2>/dev/null | tr '\n' ' ')
        echo "$enc $args: $got"
        [ "$got" = "$want " ]
    done <<'TABLE'
h264_nvenc|cbr|b=2000000 bufsize=2000000 forced-idr=1 g=50 keyint_min=50 maxrate=2000000 no-scenecut=1 preset=p4 rc=cbr strict_gop=1 tune=hq udu_sei=1
h264_nvenc|vbr zerolatency|b=2000000 bf=0 bufsize=3000000 delay=0 forced-idr=1 g=50 keyint_min=50 maxrate=3000000 no-scenecut=1 preset=p4 rc-lookahead=0 rc=vbr strict_gop=1 tune=ull udu_sei=1 zerolatency=1
h264_nvenc|crf|b=0 cq=23 forced-idr=1 g=50 keyint_min=50 no-scenecut=1 preset=p4 rc=vbr strict_gop=1 tune=hq udu_sei=1
hevc_nvenc|crf crf=30 preset=p1|b=0 cq=30 forced-idr=1 g=50 keyint_min=50 no-scenecut=1 preset=p1 rc=vbr strict_gop=1 tune=hq udu_sei=1
av1_nvenc|cbr zerolatency|b=2000000 bf=0 bufsize=2000000 delay=0 forced-idr=1 g=50 keyint_min=50 maxrate=2000000 no-scenecut=1 preset=p4 rc-lookahead=0 rc=cbr strict_gop=1 tune=ull zerolatency=1
h264_vaapi|cbr|b=2000000 bufsize=2000000 g=50 idr_interval=0 keyint_min=50 maxrate=2000000 rc_mode=CBR
h264_vaapi|vbr zerolatency|async_depth=1 b=2000000 bf=0 bufsize=3000000 g=50 idr_interval=0 keyint_min=50 maxrate=3000000 rc_mode=VBR
hevc_vaapi|crf|b=0 g=50 idr_interval=0 keyint_min=50 qp=28 rc_mode=CQP
h264_qsv|cbr zerolatency|async_depth=1 b=2000000 bf=0 bufsize=2000000 forced_idr=1 g=50 idr_interval=0 keyint_min=50 look_ahead=0 maxrate=2000000 preset=veryfast
h264_qsv|crf|b=0 forced_idr=1 g=50 global_quality=23 idr_interval=0 keyint_min=50 preset=veryfast
hevc_qsv|vbr zerolatency|async_depth=1 b=2000000 bf=0 bufsize=3000000 forced_idr=1 g=50 idr_interval=0 keyint_min=50 maxrate=3000000 preset=veryfast
TABLE
}

@test "every option name in the mapping is in the encoder's own option table" {
    built_in h264_vaapi || skip "this libavcodec has no h264_vaapi to check names against"
    local c
    for c in "${HW_ENCODERS[@]}"; do
        built_in "$c" || continue
        run hw-options "$c" vbr zerolatency
        [ "$status" -eq 0 ]
        run hw-options "$c" crf
        [ "$status" -eq 0 ]
    done
}

@test "cs-ladder rungs take hardware encoder names; one not here stops the run with one line, status 2" {
    local c=h264_nvenc
    if built_in "$c" && device_for "$c"; then
        skip "a device for $c is present"
    fi
    mkclip "$T/src.mp4" 1 320x240 25 audio
    run cs-ladder --rungs "240p:400k:codec=$c" -o "$T/l.ts" "$T/src.mp4"
    [ "$status" -eq 2 ]
    if built_in "$c"; then
        [ "$output" = "cs-ladder: '$c': not available here (rung '240p')" ]
    fi
    [ ! -e "$T/l.ts" ]
    # The same rung in software works.
    run cs-ladder --rungs "240p:400k:codec=h264" -o "$T/l.ts" "$T/src.mp4"
    [ "$status" -eq 0 ]
    [ "$(probe "$T/l.ts" stream=codec_name v)" = h264 ]
}
