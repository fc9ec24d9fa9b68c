#!/bin/bash
# Hardware encoders against x264: encode the same raw 1080p25 clip (made
# with lavfi, decoded once by cs-decode into NUT) with cs-encode at 6 Mb/s
# CBR, a keyframe every 2 s, zero latency, once with libx264 (veryfast) and
# once with each hardware encoder that opens here (h264_nvenc, hevc_nvenc,
# av1_nvenc, h264_vaapi, hevc_vaapi, h264_qsv, hevc_qsv). Prints, per
# encoder, frames per second, CPU seconds (user + system) and CPU per
# frame relative to x264, and the output's PSNR against the source.
# An encoder whose device or driver is not here is listed as such, with
# cs-encode's own line saying why; with none at all the script says so and
# exits 0 after the x264 row.
# The clip is ffmpeg's test pattern unless told otherwise (bench/source.bash):
# SOURCE=camera puts moving grain on it; INPUT=FILE takes any clip (its
# first SECONDS), real footage included.
# Usage: [INPUT=FILE | SOURCE=camera] bench/hw.sh [SECONDS] [ENCODER...]
set -eu
cd "$(dirname "$0")/.."
. bench/source.bash
secs=${1:-10}
shift || true
bin=${CS_BIN:-$PWD/bin}
if [ $# -gt 0 ]; then
    encoders=("$@")
else
    encoders=(h264_nvenc hevc_nvenc av1_nvenc h264_vaapi hevc_vaapi h264_qsv hevc_qsv)
fi
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT

bench_clip "$w/src.mp4" "$secs" 1920x1080 25 48000 \
    -c:v libx264 -preset ultrafast -crf 16 -g 50 -c:a aac
"$bin/cs-decode" -q "$w/src.mp4" -o "$w/raw.nut"
frames=$(ffprobe -v error -count_frames -select_streams v:0 \
    -show_entries stream=nb_read_frames -of csv=p=0 "$w/raw.nut")

# encode CODEC OUT: "wall cpu" of one cs-encode run, or a failure line.
encode() {
    /usr/bin/time -f "%e %U %S" -o "$w/t" "$bin/cs-encode" -q -c "$1" \
        -b 6M --rc cbr --gop 2 --tune zerolatency --audio none \
        -o "$2" "$w/raw.nut" 2>"$w/err" || return 1
    awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' "$w/t"
}

psnr() {
    ffmpeg -nostdin -i "$1" -i "$w/src.mp4" -lavfi "[0:v][1:v]psnr" \
        -f null - 2>&1 | sed -n 's/.*average:\([0-9.inf]*\).*/\1/p' | tail -1
}

printf '%-12s %8s %8s %14s %8s\n' encoder fps "cpu s" "cpu/frame rel" "PSNR dB"
read -r xw xc < <(encode h264 "$w/x264.ts")
printf '%-12s %8.1f %8.2f %14.2f %8s\n' libx264 "$(echo "$frames / $xw" | bc -l)" \
    "$xc" 1 "$(psnr "$w/x264.ts")"
found=0
for e in "${encoders[@]}"; do
    if out=$(encode "$e" "$w/$e.out"); then
        read -r hw hc <<<"$out"
        found=$((found + 1))
        printf '%-12s %8.1f %8.2f %14.2f %8s\n' "$e" \
            "$(echo "$frames / $hw" | bc -l)" "$hc" \
            "$(echo "$hc / $xc" | bc -l)" "$(psnr "$w/$e.out")"
    else
        printf '%-12s not here: %s\n' "$e" "$(head -1 "$w/err")"
    fi
done
if [ "$found" -eq 0 ]; then
    echo "no hardware encoder opens on this machine: nothing to compare with x264"
fi
