#!/usr/bin/env bats
# cs-decode: any input -> one normalised raw stream (NUT or y4m).

load helper

setup() {
    mkclip "$T/a.mp4" 2 320x240 25 audio
}

# Video packet timestamps (in frames) and audio sample count of a NUT file.
vpts() { ffprobe -v error -select_streams v -show_entries packet=pts_time -of csv=p=0 "$1"; }
asamples() {
    ffprobe -v error -select_streams a -show_entries packet=duration -of csv=p=0 "$1" |
        awk '{s += $1} END {print s + 0}'
}

@test "decodes an mp4 into NUT with rawvideo yuv420p and pcm_s16le 48 kHz stereo" {
    run cs-decode -o "$T/out.nut" "$T/a.mp4"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    run ffprobe -v error -show_entries stream=codec_name,pix_fmt,width,height,sample_rate,channels \
        -of compact=nk=1:p=0 "$T/out.nut"
    [ "${lines[0]}" = "rawvideo|320|240|yuv420p" ]
    [ "${lines[1]}" = "pcm_s16le|48000|2" ]
    [ "$(vpts "$T/out.nut" | wc -l)" -eq 50 ]
    [ "$(asamples "$T/out.nut")" -eq 96000 ]
}

@test "the user and password of a URL are never printed" {
    local port
    port=$(free_port)
    run timeout 20 cs-decode "http://user:hunter2pw@127.0.0.1:$port/x.mp4" -o /dev/null
    [ "$status" -eq 4 ]
    [ "$output" = "cs-decode: cannot open 'http://***@127.0.0.1:$port/x.mp4': connection refused" ]
    run timeout 20 cs-fetch get "http://user:hunter2pw@127.0.0.1:$port/x" "$T/x"
    [ "$status" -ne 0 ]
    one_line "$output"
    [[ "$output" == *"'http://***@127.0.0.1:$port/x'"* ]]
    [[ "$output" != *hunter2pw* ]]
}

@test "a play list of three inputs of different sizes, rates and layouts becomes one stream" {
    mkclip "$T/b.mp4" 2 640x360 30000/1001 noaudio
    ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=400x300:rate=12.5:duration=2 \
        -f lavfi -i sine=duration=2:sample_rate=22050 -ac 1 -c:v libx264 -preset ultrafast \
        -c:a aac "$T/c.mp4"
    printf '%s\n' "$T/a.mp4" "$T/b.mp4" "$T/c.mp4" > "$T/list"
    run cs-decode --playlist "$T/list" --size 320x180 --fps 25 -o "$T/out.nut"
    [ "$status" -eq 0 ]
    run probe "$T/out.nut" stream=width,height,r_frame_rate v
    [ "$output" = $'320\n180\n25/1' ]
    # strictly increasing by exactly one frame: no gap at the joins
    vpts "$T/out.nut" | awk 'NR == 1 && $1 != 0 { bad = 1 }
        NR > 1 && ($1 - prev < 0.0399 || $1 - prev > 0.0401) { bad = 1 }
        { prev = $1 } END { exit bad }'
    frames=$(vpts "$T/out.nut" | wc -l)
    # the inputs last 2 + 2.002 + 2 s: 150 frames, within two frames
    [ "$frames" -ge 148 ]
    [ "$frames" -le 152 ]
    # audio matches the video within one frame (1920 samples at 25 fps)
    samples=$(asamples "$T/out.nut")
    diff=$(( samples - frames * 1920 ))
    [ "${diff#-}" -le 1920 ]
}

@test "the letterbox keeps the aspect ratio: a 4:3 input in 16:9 is pillarboxed" {
    run cs-decode --size 320x180 --y4m -o "$T/out.y4m" "$T/a.mp4"
    [ "$status" -eq 0 ]
    head -c 64 "$T/out.y4m" | grep -q '^YUV4MPEG2 W320 H180 F25:1'
    # the left and right bars are black (luma 16) in the first frame
    python3 - "$T/out.y4m" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read()
start = d.index(b'FRAME\n') + 6
row = d[start + 90 * 320: start + 91 * 320]       # a middle row
assert max(row[:30]) <= 20 and max(row[-30:]) <= 20, (row[:30], row[-30:])
assert max(row[60:260]) > 40
PY
}

@test "a 16:9 input at 852x480 (16:9 rounded to even) fills the picture, as ffmpeg's scale does" {
    # fitted exactly it would be 852x478 with a black row above and below
    ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=640x360:rate=25 \
        -frames:v 3 -c:v libx264 -preset ultrafast -an "$T/wide.mp4"
    cs-decode -q --size 852x480 -o "$T/out.nut" "$T/wide.mp4"
    ffmpeg -nostdin -v error -i "$T/wide.mp4" -vf scale=852:480:flags=bicubic \
        -c:v rawvideo -an -f nut "$T/ref.nut"
    hashes() {
        ffmpeg -nostdin -v error -i "$1" -map 0:v -f framemd5 - |
            grep -v '^#' | awk -F, '{ print $NF }'
    }
    [ "$(hashes "$T/out.nut" | wc -l)" -eq 3 ]
    diff <(hashes "$T/out.nut") <(hashes "$T/ref.nut")
}

@test "a play list is read as lines arrive and a broken item is skipped with a warning" {
    junk "$T/bad.mp4" 20000
    mkfifo "$T/fifo"
    ( echo "$T/a.mp4"; sleep 1; echo "$T/bad.mp4"; sleep 1; echo "$T/a.mp4" ) > "$T/fifo" &
    run timeout 30 cs-decode --playlist "$T/fifo" -o "$T/out.nut"
    [ "$status" -eq 0 ]
    [[ "$output" == *"cs-decode: warning: skipping '$T/bad.mp4': invalid data"* ]]
    [ "$(vpts "$T/out.nut" | wc -l)" -eq 100 ]
}

@test "an mp4 with its index at the end arriving on a pipe is spooled and decoded" {
    # the default mp4 layout puts moov after mdat
    run bash -c "cat '$T/a.mp4' | cs-decode > '$T/out.nut'"
    [ "$status" -eq 0 ]
    [ "$(vpts "$T/out.nut" | wc -l)" -eq 50 ]
}

@test "--loop plays the inputs N times on one timeline" {
    run cs-decode --loop 3 -o "$T/out.nut" "$T/a.mp4"
    [ "$status" -eq 0 ]
    [ "$(vpts "$T/out.nut" | wc -l)" -eq 150 ]
    [ "$(asamples "$T/out.nut")" -eq 288000 ]
}

@test "--realtime takes about as long as the media lasts" {
    start=$(date +%s.%N)
    run cs-decode --realtime -o "$T/out.nut" "$T/a.mp4"
    end=$(date +%s.%N)
    [ "$status" -eq 0 ]
    # 2 s of media: not much faster, and (loosely) not much slower
    awk -v d="$(echo "$end - $start" | bc)" 'BEGIN { exit !(d >= 1.8 && d < 10) }'
}

@test "--realtime: an input without sound is not held back until its end" {
    mkclip "$T/quiet.mp4" 6 320x240 25 noaudio
    printf '%s\n' "$T/a.mp4" "$T/quiet.mp4" >"$T/list"
    # when the picture at 5 s (in the input without sound, from 2 to 8 s)
    # comes out: about 5 s after the start, not at 8 s, when the silence
    # for the whole input used to be made and the muxer let the pictures go
    run timeout 30 python3 -c '
import subprocess, sys, time
t0 = time.time()
dec = subprocess.Popen(["cs-decode", "--realtime", "--playlist", sys.argv[1],
                        "--size", "160x120", "--fps", "25"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
p = subprocess.Popen(["ffprobe", "-v", "error", "-probesize", "32",
                      "-analyzeduration", "0", "-f", "nut", "-i", "-",
                      "-select_streams", "v", "-show_entries", "packet=pts_time",
                      "-of", "csv=p=0"], stdin=dec.stdout, stdout=subprocess.PIPE,
                     text=True)
for line in p.stdout:
    if line.strip() and float(line) >= 5.0:
        print("%.2f" % (time.time() - t0))
        break
dec.kill()
' "$T/list"
    echo "the picture at 5 s came out after $output s"
    [ "$status" -eq 0 ]
    awk -v d="$output" 'BEGIN { exit !(d >= 4.5 && d < 7.0) }'
}

@test "--stamp survives 360p at 500 kb/s and --latency reads every frame back" {
    mkclip "$T/hd.mp4" 3 1280x720 25 audio
    cs-decode --stamp --size 640x360 "$T/hd.mp4" > "$T/stamped.nut"
    cs-encode --bitrate 500k --size 640x360 -o "$T/enc.ts" "$T/stamped.nut"
    run cs-decode --latency "$T/enc.ts"
    [ "$status" -eq 0 ]
    printf '%s\n' "$output" > "$T/lat.json"
    # every frame read, every latency plausible (non-negative, under a minute)
    jq -e 'select(.summary) | .frames == 75 and .stamped == 75 and .missing == 0' "$T/lat.json"
    jq -e -s '[.[] | select(.latency_ms) | .latency_ms] | length == 75 and min >= 0 and max < 60000' "$T/lat.json"
    # lossless and lossy readings agree to the millisecond
    cs-decode --latency "$T/stamped.nut" | jq -r 'select(.stamp_ms) | .stamp_ms' > "$T/raw"
    jq -r 'select(.stamp_ms) | .stamp_ms' "$T/lat.json" > "$T/lossy"
    diff "$T/raw" "$T/lossy"
}

@test "--latency without a stamp in the input says so" {
    run cs-decode --latency "$T/a.mp4"
    [ "$status" -eq 3 ]
    [[ "${lines[-1]}" == "cs-decode: '$T/a.mp4': no frame carries a stamp" ]]
}

@test "--stats writes JSON lines ending with a final object" {
    run cs-decode --stats "$T/stats" -o "$T/out.nut" "$T/a.mp4"
    [ "$status" -eq 0 ]
    tail -1 "$T/stats" | jq -e '.final == true and .frames == 50 and .inputs == 1'
}

# bats test_tags=sanitize
@test "bad input: random bytes, a truncated mp4, empty stdin, a missing file" {
    junk "$T/rnd" 50000
    head -c 30000 "$T/a.mp4" > "$T/trunc.mp4"
    run cs-decode -o "$T/o1.nut" "$T/rnd"
    [ "$status" -eq 3 ]
    one_line "$output"
    [ "$output" = "cs-decode: cannot open '$T/rnd': invalid data" ]
    run cs-decode -o "$T/o2.nut" "$T/trunc.mp4"
    [ "$status" -eq 3 ]
    one_line "$output"
    run bash -c "cs-decode -o '$T/o3.nut' < /dev/null"
    [ "$status" -eq 3 ]
    one_line "$output"
    [ "$output" = "cs-decode: cannot open '-': empty input" ]
    run cs-decode -o "$T/o4.nut" "$T/missing.mp4"
    [ "$status" -eq 3 ]
    one_line "$output"
    [ "$output" = "cs-decode: cannot open '$T/missing.mp4': no such file or directory" ]
    # nothing half-written is left behind
    [ -z "$(find "$T" -maxdepth 1 -name 'o[0-9]*' -o -maxdepth 1 -name '*.tmp-*')" ]
}

# bats test_tags=sanitize
@test "usage errors exit 2 with one line" {
    run cs-decode --size 33x17 "$T/a.mp4"
    [ "$status" -eq 2 ]
    one_line "$output"
    [ "$output" = "cs-decode: invalid value '33x17' for --size: expected an even size like 1280x720" ]
    run cs-decode --bogus
    [ "$status" -eq 2 ]
    one_line "$output"
    run cs-decode --playlist - "$T/a.mp4"
    [ "$status" -eq 2 ]
    one_line "$output"
}

@test "decodes from an http URL" {
    # moov first: python's server does not answer range requests
    ffmpeg -nostdin -loglevel error -i "$T/a.mp4" -c copy -movflags +faststart "$T/fs.mp4"
    port=$(free_port)
    python3 -m http.server "$port" --bind 127.0.0.1 --directory "$T" >/dev/null 2>&1 &
    pid=$!
    wait_port "$port"
    run timeout 30 cs-decode -o "$T/out.nut" "http://127.0.0.1:$port/fs.mp4"
    kill "$pid"
    [ "$status" -eq 0 ]
    [ "$(vpts "$T/out.nut" | wc -l)" -eq 50 ]
    # the server is gone: the peer is unavailable
    run timeout 30 cs-decode -o "$T/out2.nut" "http://127.0.0.1:$port/fs.mp4"
    [ "$status" -eq 4 ]
    one_line "$output"
    [ "$output" = "cs-decode: cannot open 'http://127.0.0.1:$port/fs.mp4': connection refused" ]
}

@test "an existing FIFO or device as output is written in place, never renamed over" {
    mkfifo "$T/fifo"
    timeout 30 cat "$T/fifo" > "$T/got" &
    reader=$!
    run timeout 30 cs-decode -o "$T/fifo" "$T/a.mp4"
    wait "$reader"
    [ "$status" -eq 0 ]
    [ -p "$T/fifo" ]
    [ "$(vpts "$T/got" | wc -l)" -eq 50 ]
}

@test "frames dropped to make --fps are told in one line and counted in --stats" {
    mkclip "$T/b.mp4" 2 320x240 30 audio
    run cs-decode --fps 25 --stats "$T/stats" -o "$T/out.nut" "$T/b.mp4"
    [ "$status" -eq 0 ]
    one_line "$output"
    [ "$output" = "cs-decode: warning: 10 input frames dropped and 0 repeated to make 25 fps" ]
    [ "$(vpts "$T/out.nut" | wc -l)" -eq 50 ]
    tail -1 "$T/stats" | jq -e '.final and .frames == 50 and .frames_dropped == 10 and .frames_duplicated == 0'
}

@test "--duration stops after that much output: 1 s of a 2 s clip is 25 frames and 48000 samples" {
    run cs-decode --duration 1 -o "$T/one.nut" "$T/a.mp4"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    [ "$(vpts "$T/one.nut" | wc -l)" -eq 25 ]
    [ "$(asamples "$T/one.nut")" -eq 48000 ]
}
