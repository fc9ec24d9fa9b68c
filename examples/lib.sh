# Shared by the example scripts: where the binaries are, process-group
# handling for a clean Ctrl-C, and synthetic clips for an empty store.
# shellcheck shell=bash

CS_BIN=${CS_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/bin}
PATH=$CS_BIN:$PATH
set -m                      # every background pipeline in its own group
declare -a CS_GROUPS=()

say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }

# Start a pipeline in the background (a string for bash -c): its own
# process group, remembered for stop_all.
start_bg() { # NAME COMMAND
    local name=$1
    bash -c "$2" &
    CS_GROUPS+=("$!")
    say "started $name (pid $!)"
}

# SIGTERM to every group (each program drains and exits 0), then wait.
stop_all() {
    local g
    trap - INT TERM
    for g in "${CS_GROUPS[@]}"; do kill -TERM -- "-$g" 2>/dev/null || true; done
    for g in "${CS_GROUPS[@]}"; do wait "$g" 2>/dev/null || true; done
    CS_GROUPS=()
}

# Wait up to N seconds for a file to exist.
wait_for() { # FILE SECONDS
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        [ -s "$1" ] && return 0
        sleep 0.1
    done
    return 1
}

# A handful of short synthetic clips of different sizes, rates and audio
# layouts (one silent), so that the demo needs no download. The length is
# the input's -t: not every lavfi source has a duration option (mandelbrot
# and life have none). A clip that cannot be made stops with a message.
make_clips() { # DIR
    local d=$1
    mkdir -p "$d" || return 1
    local -a specs=(
        "testsrc2=size=640x360:rate=25|sine=frequency=440:sample_rate=48000|8"
        "smptebars=size=480x360:rate=30000/1001|sine=frequency=660:sample_rate=44100|6"
        "mandelbrot=size=320x240:rate=12.5||6"
        "testsrc=size=854x480:rate=30|sine=frequency=330:sample_rate=22050|7"
        "life=size=320x240:rate=25:mold=10:ratio=0.1:death_color=#C83232:life_color=#00ff00|sine=frequency=550:sample_rate=32000|6"
    )
    local i=1 s v a t out
    for s in "${specs[@]}"; do
        IFS='|' read -r v a t <<<"$s"
        out=$(printf '%s/cat-%04d.mp4' "$d" "$i")
        i=$((i + 1))
        [ -s "$out" ] && continue
        if ! ffmpeg -nostdin -loglevel error -y -t "$t" -f lavfi -i "$v" \
            ${a:+-t "$t" -f lavfi -i "$a"} -c:v libx264 -preset veryfast \
            -pix_fmt yuv420p ${a:+-c:a aac -b:a 96k} -movflags +faststart \
            -shortest "$out.tmp.mp4"; then
            rm -f "$out.tmp.mp4"
            say "cannot make the clip '$out' from '$v'"
            return 1
        fi
        mv "$out.tmp.mp4" "$out" || return 1
    done
}
