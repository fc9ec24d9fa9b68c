#!/usr/bin/env bats
# Capture as a streamer does it: an X screen (x11grab) and a sound server
# source (pulse), opened for real. The file starts its own X server without
# a screen (Xvfb, on a display it picks) showing a moving test picture, and
# its own PulseAudio server (user mode, a null sink, a 1 kHz tone played
# into it), and stops both at the end.

load helper

TOOLS=(Xvfb pulseaudio ffplay sox)

have_tools() {
    local t
    for t in "${TOOLS[@]}"; do
        command -v "$t" >/dev/null || return 1
    done
}

# Wait until a command succeeds (at most $1 tenths of a second).
wait_for() {
    local n=$1 i
    shift
    for i in $(seq "$n"); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

setup_file() {
    have_tools || return 0
    local d=$BATS_FILE_TMPDIR
    mkdir -p "$d/run" "$d/home"
    chmod 700 "$d/run"
    # -displayfd: Xvfb takes a free display number and writes it.
    Xvfb -displayfd 3 -screen 0 320x240x24 -nolisten tcp \
        3>"$d/display" >"$d/xvfb.log" 2>&1 &
    echo $! >"$d/xvfb.pid"
    wait_for 100 test -s "$d/display"
    CAP_DISPLAY=":$(cat "$d/display")"
    export CAP_DISPLAY
    export PULSE_SERVER="unix:$d/run/pulse.sock"
    XDG_RUNTIME_DIR=$d/run HOME=$d/home pulseaudio -n --daemonize=no \
        --exit-idle-time=-1 --disable-shm=yes --use-pid-file=no \
        -L "module-native-protocol-unix socket=$d/run/pulse.sock auth-anonymous=1" \
        -L "module-null-sink sink_name=cs_null rate=48000" \
        >"$d/pulse.log" 2>&1 &
    echo $! >"$d/pulse.pid"
    wait_for 100 pactl info
    # A picture that changes every frame, drawn into the X screen.
    DISPLAY=$CAP_DISPLAY SDL_AUDIODRIVER=dummy ffplay -loglevel error -an \
        -left 0 -top 0 -noborder -f lavfi "testsrc2=size=320x240:rate=25" \
        </dev/null >"$d/ffplay.log" 2>&1 &
    echo $! >"$d/ffplay.pid"
    # A 1 kHz tone into the null sink, heard on its monitor source.
    ffmpeg -nostdin -loglevel error -re -f lavfi \
        -i "sine=frequency=1000:sample_rate=48000" -f pulse -device cs_null \
        tone >"$d/tone.log" 2>&1 &
    echo $! >"$d/tone.pid"
    sleep 1
}

teardown_file() {
    local p
    for p in tone ffplay pulse xvfb; do
        [ -s "$BATS_FILE_TMPDIR/$p.pid" ] || continue
        kill "$(cat "$BATS_FILE_TMPDIR/$p.pid")" 2>/dev/null || true
    done
}

setup() {
    have_tools || skip "needs ${TOOLS[*]} (scripts/deps.apt)"
}

teardown() {
    local f
    for f in "$T"/*.pid; do
        [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
    done
    return 0
}

# Times (s) at which the values of an ffmpeg metadata print (FILE) rise
# above THR: "pts_time:T" lines, each followed by a "key=value" line. A
# value already above THR at the start (a flash under way) is no onset.
onsets() {
    awk -v thr="$2" 'BEGIN { on = 1 }
        /pts_time/ { split($0, a, "pts_time:"); t = a[2] + 0; next }
        /=/ { split($0, b, "="); v = b[2] == "-inf" ? -999 : b[2] + 0
              if (v > thr && !on) { print t; on = 1 } else if (v <= thr) on = 0 }' "$1"
}

# Seconds of a stream of FILE (v or a), from its decoded frames.
stream_s() {
    ffprobe -v error -select_streams "$2" -show_entries stream=duration \
        -of csv=p=0 "$1" | head -1
}

@test "screen and sound captured together: the picture moves, the tone is there, 5 s is 5 s" {
    run bash -c "timeout 30 cs-decode --device x11grab:$CAP_DISPLAY \
        --device pulse:cs_null.monitor --duration 5 --stats '$T/stats.json' |
        cs-encode -o '$T/cap.ts'"
    [ "$status" -eq 0 ]
    # Video: 5 s within a frame; audio as long as the video within a frame.
    local v a frames moving freq
    v=$(stream_s "$T/cap.ts" v)
    a=$(stream_s "$T/cap.ts" a)
    echo "video $v s, audio $a s"
    awk -v v="$v" -v a="$a" 'BEGIN { d = v - 5; e = a - v;
        exit !(d < 0.04 && d > -0.04 && e < 0.04 && e > -0.04) }'
    frames=$(ffmpeg -v error -i "$T/cap.ts" -map 0:v -f framemd5 - | grep -vc '^#')
    [ "$frames" -ge 124 ]
    [ "$frames" -le 126 ]
    # The picture moves: many different frames (a still screen gives one).
    moving=$(ffmpeg -v error -i "$T/cap.ts" -map 0:v -f framemd5 - |
        grep -v '^#' | awk -F, '{print $6}' | sort -u | wc -l)
    echo "$moving different frames of $frames"
    [ "$moving" -ge 10 ]
    # The tone: 1 kHz in the middle 3 s, not silence.
    ffmpeg -v error -i "$T/cap.ts" -map 0:a -ss 1 -t 3 -y "$T/mid.wav"
    run sox "$T/mid.wav" -n remix 1 stat
    echo "$output"
    freq=$(echo "$output" | awk '/Rough +frequency/ {print $3}')
    [ "$freq" -ge 980 ]
    [ "$freq" -le 1020 ]
    echo "$output" | awk '/RMS +amplitude/ { exit !($3 > 0.02) }'
    # Both devices counted in the last stats line, with how late each
    # delivered (a device is never read before its packet exists: > 0).
    tail -1 "$T/stats.json"
    [ "$(tail -1 "$T/stats.json" | jq -c '[.inputs, .frames, .final]')" = "[2,125,true]" ]
    tail -1 "$T/stats.json" | jq -e '.video_late_max_ms > 0 and .audio_late_max_ms > 0'
    # Late or missing pictures are counted, not hidden.
    tail -1 "$T/stats.json" | jq -e '(.frames_dropped | type) == "number" and (.frames_duplicated | type) == "number"'
}

@test "a capture stopped by SIGINT ends its output cleanly and exits 0" {
    cs-decode --device "x11grab:$CAP_DISPLAY" --device pulse:cs_null.monitor \
        -o "$T/cap.nut" 2>"$T/err" &
    local pid=$! st=0
    # Frames are being written (to a temporary name, renamed at the end).
    wait_for 100 compgen -G "$T/.cap.nut.tmp-*"
    sleep 1
    kill -INT "$pid"
    wait "$pid" || st=$?
    [ "$st" -eq 0 ]
    [ ! -s "$T/err" ] || [ "$(grep -vc 'repeated to make' "$T/err")" -eq 0 ]
    [ ! -e "$(compgen -G "$T/.cap.nut.tmp-*")" ]
    run ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$T/cap.nut"
    [ "${lines[0]}" = rawvideo ]
    [ "${lines[1]}" = pcm_s16le ]
}

@test "--list-devices lists the pulse source and the X display, ready for --device" {
    DISPLAY=$CAP_DISPLAY run cs-decode --list-devices
    [ "$status" -eq 0 ]
    echo "$output"
    echo "$output" | grep -q "^pulse:cs_null.monitor	"
    echo "$output" | grep -q "^x11grab:$CAP_DISPLAY	"
}

@test "a missing display or sound source: one line, status 4 (worth retrying)" {
    run timeout 20 cs-decode --device x11grab::9876 -o /dev/null
    [ "$status" -eq 4 ]
    [ "$output" = "cs-decode: 'x11grab::9876': no such device (or it is not connected)" ]
    run timeout 20 cs-decode --device pulse:no_such_source -o /dev/null
    [ "$status" -eq 4 ]
    [ "$output" = "cs-decode: 'pulse:no_such_source': no such device (or it is not connected)" ]
    PULSE_SERVER=unix:$T/nothing.sock run timeout 20 cs-decode --device pulse:default -o /dev/null
    [ "$status" -eq 4 ]
    [ "$output" = "cs-decode: 'pulse:default': no sound server (is PulseAudio or PipeWire running?)" ]
}

@test "a size the screen cannot give: one line, status 2" {
    run timeout 20 cs-decode --device "x11grab:$CAP_DISPLAY@640x480" -o /dev/null
    [ "$status" -eq 2 ]
    [ "$output" = "cs-decode: 'x11grab:$CAP_DISPLAY@640x480': the device refuses the size or rate asked of it" ]
    [ ! -e "$T/out.nut" ]
}

@test "an unknown kind of device, or two screens, is a usage error" {
    run cs-decode --device webcam:0
    [ "$status" -eq 2 ]
    [ "$output" = "cs-decode: invalid value 'webcam:0' for --device: expected KIND:NAME, KIND one of v4l2, x11grab, alsa, pulse" ]
    run cs-decode --device "x11grab:$CAP_DISPLAY" --device "x11grab:$CAP_DISPLAY"
    [ "$status" -eq 2 ]
    [ "$output" = "cs-decode: invalid value 'x11grab:$CAP_DISPLAY' for --device: expected one video and one audio device at most" ]
}

@test "screen and sound stay in sync: a flash and a beep played together are captured together" {
    local d="$T/run" disp v a
    # A second screen, all of it flashing white for 0.2 s each second, with
    # a beep at the same instants into a sink of its own: one player (ffplay
    # keeps its picture on its sound's clock).
    Xvfb -displayfd 3 -screen 0 160x120x24 -nolisten tcp 3>"$T/display" \
        >"$T/xvfb2.log" 2>&1 &
    echo $! >"$T/xvfb2.pid"
    wait_for 100 test -s "$T/display"
    disp=":$(cat "$T/display")"
    pactl load-module module-null-sink sink_name=cs_sync rate=48000 >"$T/module"
    DISPLAY=$disp SDL_AUDIODRIVER=pulseaudio PULSE_SINK=cs_sync ffplay \
        -loglevel error -left 0 -top 0 -noborder -f lavfi \
        "color=black:s=160x120:r=25,drawbox=c=white:t=fill:enable='lt(mod(t\,1)\,0.2)'[out0];sine=f=1000:r=48000,volume=enable='gte(mod(t\,1)\,0.2)':volume=0[out1]" \
        </dev/null >"$T/ffplay2.log" 2>&1 &
    echo $! >"$T/ffplay2.pid"
    # ffplay's picture settles on its sound's clock within a few seconds of
    # starting (captured 2 s after its start, flashes were 0.1-0.4 s off
    # for the first 2.5 s, beeps evenly spaced; after 5 s, 0-40 ms).
    sleep 5
    run timeout 30 cs-decode --device "x11grab:$disp" --device pulse:cs_sync.monitor \
        --duration 5 -o "$T/sync.nut"
    pactl unload-module "$(cat "$T/module")"
    [ "$status" -eq 0 ]
    ffmpeg -v error -i "$T/sync.nut" -map 0:v -vf \
        "signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=$T/v.txt" -f null -
    ffmpeg -v error -i "$T/sync.nut" -map 0:a -af \
        "asetnsamples=480,astats=metadata=1:reset=1,ametadata=print:key=lavfi.astats.Overall.RMS_level:file=$T/a.txt" \
        -f null -
    v=$(onsets "$T/v.txt" 100 | tr '\n' ' ')
    a=$(onsets "$T/a.txt" -40 | tr '\n' ' ')
    echo "flashes at $v"
    echo "beeps at   $a"
    # At least 4 flashes, each with a beep within 80 ms (viewers notice
    # sound about 45 ms ahead of the picture or 125 ms behind it; 80 ms
    # leaves room for the player's own output delay).
    [ "$(echo "$v" | wc -w)" -ge 4 ]
    awk -v v="$v" -v a="$a" 'BEGIN {
        nv = split(v, fv, " "); na = split(a, fa, " "); bad = 0
        for (i = 1; i <= nv; i++) {
            best = 9
            for (j = 1; j <= na; j++) {
                d = fa[j] - fv[i]; if (d < 0) d = -d; if (d < best) best = d
            }
            printf "flash %.2f s: nearest beep %.3f s away\n", fv[i], best
            if (best > 0.08) bad++
        }
        exit bad > 0 }'
}
