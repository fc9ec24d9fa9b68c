# shellcheck shell=bash
# bench/source.bash: the clip a video bench works on (sourced).
#
#   INPUT=FILE        any clip, real footage: its first SECONDS, the first
#                     video and audio streams copied (not re-encoded)
#   SOURCE=testsrc2   (default) ffmpeg's test pattern: flat colours and
#                     sharp edges that x264 encodes at ~47 dB, nothing
#                     like a camera
#   SOURCE=camera     the same pattern under moving grain (uniform temporal
#                     noise, strength 12), stored at 15 Mb/s as a camera or
#                     contribution encoder would: 720p at 3 Mb/s comes out
#                     near 40 dB, as camera footage does
#
# bench_clip OUT SECONDS SIZE FPS AUDIO-RATE [FFMPEG-OUTPUT-OPTIONS...]
# writes OUT; the synthetic sources get a 440 Hz tone and are encoded with
# the options given (the bench's own), except that SOURCE=camera sets the
# video bit rate. Tells on standard error what it made.
bench_clip() {
    local out=$1 secs=$2 size=$3 fps=$4 arate=$5 v vrate=()
    shift 5
    if [ -n "${INPUT:-}" ]; then
        echo "# input: the first $secs s of $INPUT (streams copied)" >&2
        ffmpeg -nostdin -loglevel error -y -i "$INPUT" -t "$secs" \
            -map 0:v:0 -map '0:a:0?' -c copy "$out"
        return
    fi
    v="testsrc2=size=$size:rate=$fps:duration=$secs"
    case ${SOURCE:-testsrc2} in
    testsrc2) ;;
    camera)
        v+=",noise=alls=12:allf=t+u"
        vrate=(-b:v 15M -maxrate 15M -bufsize 15M) ;;
    *)
        echo "bench: SOURCE: testsrc2 or camera, not '$SOURCE'" >&2
        return 1 ;;
    esac
    echo "# input: ${secs} s of ${SOURCE:-testsrc2} at $size, $fps fps" >&2
    ffmpeg -nostdin -loglevel error -y -f lavfi -i "$v" \
        -f lavfi -i "sine=frequency=440:sample_rate=$arate:duration=$secs" \
        "$@" "${vrate[@]}" -shortest "$out"
}

# The frame rate of OUT's first video stream, as NUM/DEN.
bench_fps() {
    ffprobe -v error -select_streams v:0 -show_entries stream=r_frame_rate \
        -of csv=p=0 "$1"
}
