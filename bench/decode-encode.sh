#!/bin/bash
# cs-decode | cs-encode against one ffmpeg process doing the same work:
# decode a 1080p H.264 + AAC clip, scale to 720p, encode x264 CBR 4 Mb/s
# (veryfast, a keyframe every 2 s, no scene cut, HRD CBR) + AAC 128k 48 kHz
# stereo, into MPEG-TS. Prints wall, CPU and peak-memory ratios (cs / ffmpeg;
# below 1 is better for cs) and both outputs' PSNR against the source.
# The input is ffmpeg's test pattern unless told otherwise (bench/source.bash):
# SOURCE=camera puts moving grain on it; INPUT=FILE takes any 16:9 clip (its
# first SECONDS), real footage included.
# Usage: [INPUT=FILE | SOURCE=camera] bench/decode-encode.sh [SECONDS] [RUNS]
set -eu
cd "$(dirname "$0")/.."
. bench/source.bash
secs=${1:-10} runs=${2:-3}
bin=${CS_BIN:-$PWD/bin}
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT

bench_clip "$w/in.mp4" "$secs" 1920x1080 25 44100 \
    -c:v libx264 -preset ultrafast -crf 18 -g 50 -c:a aac -b:a 192k

# cs-encode's keyframe every 2 s, at the clip's own rate.
keyint=$(awk -v r="$(bench_fps "$w/in.mp4")" \
    'BEGIN { split(r, f, "/"); printf "%d", 2 * f[1] / f[2] + 0.5 }')
x264p="keyint=$keyint:min-keyint=$keyint:scenecut=0:open-gop=0:nal-hrd=cbr:force-cfr=1"
run_cs() {
    "$bin/cs-decode" -q --size 1280x720 "$w/in.mp4" |
        "$bin/cs-encode" -q --bitrate 4M --gop 2 --preset veryfast -o "$w/cs.ts"
}
run_ff() {
    ffmpeg -nostdin -loglevel error -y -i "$w/in.mp4" -vf scale=1280:720 \
        -c:v libx264 -preset veryfast -b:v 4M -maxrate 4M -bufsize 4M \
        -x264-params "$x264p" -forced-idr 1 -pix_fmt yuv420p \
        -c:a aac -b:a 128k -ar 48000 -ac 2 -f mpegts "$w/ff.ts"
}
export -f run_cs run_ff
export bin w x264p

# One run: "wall cpu maxrss_kb" (CPU and peak memory over all processes).
measure() {
    /usr/bin/time -f "%e %U %S %M" -o "$w/t" bash -c "$1" >/dev/null
    awk '{ printf "%.3f %.3f %d\n", $1, $2 + $3, $4 }' "$w/t"
}

best() { # FUNC: the best of $runs runs, per column
    for i in $(seq "$runs"); do measure "$1"; done |
        sort -n | head -1
}

read -r cw cc cm < <(best run_cs)
read -r fw fc fm < <(best run_ff)
psnr() {
    ffmpeg -nostdin -i "$1" -i "$w/in.mp4" -lavfi \
        "[1:v]scale=1280:720[r];[0:v][r]psnr" -f null - 2>&1 |
        sed -n 's/.*average:\([0-9.inf]*\).*/\1/p' | tail -1
}
printf '%-22s %10s %10s %12s %8s\n' "" "wall s" "cpu s" "peak MiB" "PSNR dB"
printf '%-22s %10.2f %10.2f %12.1f %8s\n' "cs-decode|cs-encode" "$cw" "$cc" \
    "$(echo "$cm / 1024" | bc -l)" "$(psnr "$w/cs.ts")"
printf '%-22s %10.2f %10.2f %12.1f %8s\n' "ffmpeg" "$fw" "$fc" \
    "$(echo "$fm / 1024" | bc -l)" "$(psnr "$w/ff.ts")"
printf 'ratios cs/ffmpeg: wall %.2f  cpu %.2f  peak memory %.2f\n' \
    "$(echo "$cw / $fw" | bc -l)" "$(echo "$cc / $fc" | bc -l)" \
    "$(echo "$cm / $fm" | bc -l)"
