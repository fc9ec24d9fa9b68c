#!/bin/bash
# cs-ladder against the ffmpeg CLI doing the same work in one process
# (decode once, split, scale, three libx264 encodes with identical
# parameters, audio copied) on the same 10 s 1080p input. Prints wall-time,
# CPU-time and peak-memory ratios (ffmpeg / cs-ladder: above 1 means
# cs-ladder uses less), and the PSNR of every rung against the source scaled
# to the rung's size, for both (they should agree within 0.1 dB).
#
# The input is ffmpeg's test pattern unless told otherwise (bench/source.bash):
# SOURCE=camera puts moving grain on it; INPUT=FILE takes any clip (its
# first SECONDS), real footage included: 16:9, 720p or larger, as the rungs
# are. With a clip that has no audio, neither side has audio.
#
# Usage: [RUNS=N] [INPUT=FILE | SOURCE=camera] bench/ladder.sh [SECONDS]
#        [EXTRA cs-ladder OPTIONS...]
set -eu
cd "$(dirname "$0")/.."
. bench/source.bash
dur=${1:-10}
shift || true
bin=${CS_BIN:-$PWD/bin}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rungs=(1280x720:3M 852x480:1500k 640x360:800k)
preset=veryfast gop=2 fps=30

bench_clip "$work/in.ts" "$dur" 1920x1080 "$fps" 48000 \
    -c:v libx264 -preset veryfast -crf 16 -pix_fmt yuv420p -g 60 \
    -c:a aac -b:a 128k

# The same x264 settings lib/media/encode.c gives cs-ladder's encoders
# (a keyframe every GOP seconds at the clip's own rate).
keyint=$(awk -v g="$gop" -v r="$(bench_fps "$work/in.ts")" \
    'BEGIN { split(r, f, "/"); printf "%d", g * f[1] / f[2] + 0.5 }')
xp="keyint=$keyint:min-keyint=$keyint:scenecut=0:open-gop=0:nal-hrd=cbr:force-cfr=1"
graph="[0:v]split=${#rungs[@]}"
maps=() spec=""
for i in "${!rungs[@]}"; do
    size=${rungs[$i]%%:*} rate=${rungs[$i]#*:}
    graph+="[s$i]"
    maps+=(-map "[v$i]" "-c:v:$i" libx264 "-b:v:$i" "$rate" "-maxrate:v:$i" "$rate"
           "-minrate:v:$i" "$rate" "-bufsize:v:$i" "$rate")
    spec+="${spec:+,}${size#*x}p:$rate"
done
graph+=";"
for i in "${!rungs[@]}"; do
    size=${rungs[$i]%%:*}
    graph+="[s$i]scale=${size%x*}:${size#*x}:flags=bicubic,setsar=1[v$i];"
done
graph=${graph%;}

field() { # NAME LABEL [EXT]
    sed -n "s/^[[:space:]]*$2: //p" "$work/$1.${3:-time}"
}
wall_s() { # NAME [EXT]: "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:12.34"
    field "$1" 'Elapsed (wall clock) time (h:mm:ss or m:ss)' "${2:-time}" |
        awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }'
}
cpu_s() { echo "$(field "$1" 'User time (seconds)') $(field "$1" 'System time (seconds)')" | awk '{ print $1 + $2 }'; }
rss_kb() { field "$1" 'Maximum resident set size (kbytes)'; }

# Each tool runs $RUNS times (default 3), alternating, and the run with the
# shortest wall time is kept: on a shared machine the others' load only
# ever adds time.
runs=${RUNS:-3}
timed() { # NAME CMD...: run under /usr/bin/time -v, keep the fastest report
    local name=$1
    shift
    /usr/bin/time -v -o "$work/$name.new" "$@" 2>"$work/$name.err" ||
        { cat "$work/$name.err" >&2; exit 1; }
    if [ ! -f "$work/$name.time" ] ||
        awk -v a="$(wall_s "$name" new)" -v b="$(wall_s "$name")" \
            'BEGIN { exit !(a < b) }'; then
        mv "$work/$name.new" "$work/$name.time"
    fi
}

echo "# cs-ladder --rungs $spec --preset $preset --gop $gop $*"
echo "# ffmpeg: split, scale, ${#rungs[@]} x libx264 -preset $preset, audio copied"
echo "# best of $runs runs each"
for _ in $(seq "$runs"); do
    timed ladder "$bin/cs-ladder" -q --rungs "$spec" --preset "$preset" \
        --gop "$gop" "$@" -o "$work/ladder.ts" "$work/in.ts"
    timed ffmpeg ffmpeg -nostdin -loglevel error -y -i "$work/in.ts" \
        -filter_complex "$graph" "${maps[@]}" -preset "$preset" \
        -x264-params "$xp" -forced-idr 1 -map '0:a?' -c:a copy \
        -f mpegts "$work/ffmpeg.ts"
done

# PSNR against a reference neither tool makes (lanczos, accurate rounding),
# so that neither is favoured by being compared with its own scaler.
psnr() { # FILE VIDEO-INDEX WxH: mean PSNR (y) against the scaled source
    ffmpeg -nostdin -loglevel info -i "$1" -i "$work/in.ts" -filter_complex \
        "[0:v:$2]setpts=PTS-STARTPTS[a];[1:v]scale=${3%x*}:${3#*x}:flags=lanczos+accurate_rnd+full_chroma_int,setpts=PTS-STARTPTS[b];[a][b]psnr" \
        -f null - 2>&1 | sed -n 's/.* y:\([0-9.inf]*\) .*/\1/p' | tail -1
}

printf '%-10s %10s %10s %12s\n' "" cs-ladder ffmpeg "ffmpeg/cs"
for m in wall cpu rss; do
    a=$("${m}_$( [ $m = rss ] && echo kb || echo s)" ladder)
    b=$("${m}_$( [ $m = rss ] && echo kb || echo s)" ffmpeg)
    printf '%-10s %10s %10s %12s\n' "$m$( [ $m = rss ] && echo ' KiB' || echo ' s')" \
        "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }')"
done
echo "# PSNR (Y, dB) of every rung against the source scaled to its size"
for i in "${!rungs[@]}"; do
    size=${rungs[$i]%%:*}
    a=$(psnr "$work/ladder.ts" "$i" "$size")
    b=$(psnr "$work/ffmpeg.ts" "$i" "$size")
    printf '%-10s %10s %10s %12s\n' "$size" "$a" "$b" \
        "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%+.2f", a - b }')"
done
