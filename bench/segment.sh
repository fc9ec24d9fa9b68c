#!/bin/bash
# cs-segment against ffmpeg's hls muxer on the same 3-rendition MPEG-TS
# input (what cs-ladder writes), both writing HLS with MPEG-TS segments
# (the one format both can do): CPU seconds per minute of input and the
# ratio ffmpeg / cs-segment (above 1: cs-segment uses less). Also shown:
# cs-segment's full fMP4 output (CMAF + LL-HLS parts + DASH) for scale.
# Each is run REPS times (default 3); the fastest run counts.
#
# Usage: bench/segment.sh [SECONDS] [REPS]
set -eu
cd "$(dirname "$0")/.."
dur=${1:-60}
reps=${2:-3}
bin=${CS_BIN:-$PWD/bin}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "# making a ${dur} s input: 1280x720, 854x480, 640x360 at 30 fps + AAC"
ffmpeg -nostdin -loglevel error -y \
    -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=$dur" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=$dur" \
    -filter_complex "[0:v]split=3[a][b][c];[b]scale=854:480[vb];[c]scale=640:360[vc]" \
    -map "[a]" -map "[vb]" -map "[vc]" -map 1:a \
    -c:v libx264 -preset ultrafast -g 60 -keyint_min 60 -sc_threshold 0 \
    -b:v:0 3M -b:v:1 1500k -b:v:2 800k -c:a aac -b:a 128k -f mpegts "$work/in.ts"

cpu() { # CMD...: the best user+system CPU seconds of $reps runs
    local best="" t i
    for i in $(seq "$reps"); do
        rm -rf "$work/out"
        mkdir -p "$work/out"
        /usr/bin/time -f '%U %S' -o "$work/time" "$@" >/dev/null 2>"$work/err" ||
            { cat "$work/err" >&2; exit 1; }
        t=$(awk '{printf "%.3f", $1 + $2}' "$work/time")
        if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a < b)}'; then
            best=$t
        fi
    done
    echo "$best"
}

seg=$(cpu "$bin/cs-segment" --container ts --vod "$work/in.ts" -o "$work/out")
ff=$(cpu ffmpeg -nostdin -loglevel error -i "$work/in.ts" \
    -map 0:v:0 -map 0:a -map 0:v:1 -map 0:a -map 0:v:2 -map 0:a -c copy \
    -f hls -hls_time 2 -hls_playlist_type vod -hls_segment_type mpegts \
    -var_stream_map "v:0,a:0 v:1,a:1 v:2,a:2" -master_pl_name master.m3u8 \
    -hls_segment_filename "$work/out/v%v/%d.ts" "$work/out/v%v/index.m3u8")
fmp4=$(cpu "$bin/cs-segment" "$work/in.ts" -o "$work/out")

per_min() { awk -v t="$1" -v d="$dur" 'BEGIN{printf "%.3f", t * 60 / d}'; }
echo "input: ${dur} s, $(du -k "$work/in.ts" | cut -f1) KiB, best of $reps"
printf '%-44s %8s CPU s/min\n' "cs-segment --container ts" "$(per_min "$seg")"
printf '%-44s %8s CPU s/min\n' "ffmpeg -f hls (mpegts segments)" "$(per_min "$ff")"
printf '%-44s %8s CPU s/min\n' "cs-segment fMP4 + LL-HLS parts + DASH" "$(per_min "$fmp4")"
awk -v a="$ff" -v b="$seg" 'BEGIN{printf "ratio ffmpeg / cs-segment (TS): %.2f\n", a / b}'
