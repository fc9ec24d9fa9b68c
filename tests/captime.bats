#!/usr/bin/env bats
# Capture time (lib/media/captime.h): cs-encode writes each frame's wall
# clock in an SEI message, cs-ladder keeps it on every rung, cs-segment
# takes it for EXT-X-PROGRAM-DATE-TIME and the MPD's ProducerReferenceTime;
# a stream without it gets the time its first byte arrived.

load helper

teardown() {
    [ -n "${PIPE_PID:-}" ] && kill "$PIPE_PID" 2>/dev/null
    [ -n "${PIPE_PID:-}" ] && wait "$PIPE_PID" 2>/dev/null
    return 0
}

# The capture times (microseconds) of the frames of video stream N (default
# 0, H.264; or hevc as the third argument) of FILE, in decoding order, one a line: the payload after our UUID in
# the elementary stream (no other reader of ours involved).
captimes() {
    ffmpeg -nostdin -loglevel error -y -i "$1" -map "0:v:${2:-0}" -c copy \
        -f "${3:-h264}" "$T/es.h264"
    python3 - "$T/es.h264" <<'PY'
import sys
uuid = bytes.fromhex("216bbf12a72586fbab546acaf55038e3")
d = open(sys.argv[1], "rb").read()
i = d.find(uuid)
while i >= 0:
    print(int(d[i + 16:i + 32]))
    i = d.find(uuid, i + 1)
PY
}

# Seconds since the epoch of the first EXT-X-PROGRAM-DATE-TIME of PLAYLIST,
# and the media sequence number it belongs to.
first_pdt() {
    python3 - "$1" <<'PY'
import re, sys
from datetime import datetime
t = open(sys.argv[1]).read()
seq = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", t).group(1))
pdt = re.search(r"#EXT-X-PROGRAM-DATE-TIME:(\S+)", t).group(1)
print("%.6f %d" % (datetime.fromisoformat(pdt.replace("Z", "+00:00")).timestamp(), seq))
PY
}

# A live source: SECONDS of 320x240 25 fps raw video and audio, paced.
live_raw() {
    ffmpeg -nostdin -loglevel error -re \
        -f lavfi -i "testsrc2=size=320x240:rate=25:duration=$1" \
        -f lavfi -i "sine=frequency=440:duration=$1" \
        -f nut -c:v rawvideo -pix_fmt yuv420p -c:a pcm_s16le -
}

@test "capture time rides from cs-encode through cs-ladder into EXT-X-PROGRAM-DATE-TIME and the MPD" {
    t0=$(date +%s.%N)
    live_raw 7 | cs-encode -q --tune zerolatency --gop 1 | tee "$T/enc.ts" |
        cs-ladder -q --rungs 240p:300k,120p:100k --tune zerolatency --gop 1 |
        tee "$T/lad.ts" |
        cs-segment -q --segment 1 --part 0.2 --window 3 -o "$T/o" -
    t1=$(date +%s.%N)
    captimes "$T/enc.ts" > "$T/enc.cap"
    # one per frame, the wall clock of this run as the paced frames came
    # (40 ms apart on average; a loaded machine may lag, never run ahead)
    [ "$(wc -l < "$T/enc.cap")" -eq 175 ]
    awk -v a="$t0" -v b="$t1" '$1 / 1e6 < a || $1 / 1e6 > b { bad = 1 }
        END { exit bad }' "$T/enc.cap"
    awk 'NR == 26 { f = $1 } END { d = ($1 - f) / 149; print d; exit d < 35000 || d > 80000 }' \
        "$T/enc.cap"
    # cs-ladder: the same times, frame for frame, on both rungs
    captimes "$T/lad.ts" 0 > "$T/lad0.cap"
    captimes "$T/lad.ts" 1 > "$T/lad1.cap"
    cmp "$T/enc.cap" "$T/lad0.cap"
    cmp "$T/enc.cap" "$T/lad1.cap"
    # the playlists' clock is the first listed segment's first frame's
    # capture time (1 s segments: frame 25 x its number), to the ms
    for r in 240p 120p audio; do
        read -r pdt seq < <(first_pdt "$T/o/$r/index.m3u8")
        [ "$seq" -ge 3 ]
        cap=$(sed -n "$((seq * 25 + 1))p" "$T/enc.cap")
        prev=$(sed -n "$((seq * 25 - 24))p" "$T/enc.cap")
        echo "$r: segment $seq PDT $pdt capture $cap (the keyframe before: $prev)"
        # video: the frame's own time (the ms of the tag). Audio: the
        # same boundary within a frame (41 ms on a quiet machine), on the
        # offset of this keyframe or of the one before when the audio came
        # first: the two differ by how much later than 1 s the second was
        # stamped (arrival times: a full run beside a benchmark read
        # 44.7 ms off)
        awk -v p="$pdt" -v c="$cap" -v q="$prev" -v audio="$([ $r = audio ] && echo 1 || echo 0)" \
            'BEGIN { j = (c - q - 1e6) / 1e6; if (j < 0) j = -j
                     tol = audio ? 0.041 + j : 0.0011
                     d = p - c / 1e6; print "off by " d ", allowed " tol
                     exit d < -tol || d > tol }'
    done
    # the MPD: a ProducerReferenceTime per AdaptationSet that maps a media
    # time to the capture time of that frame
    python3 - "$T/o/manifest.mpd" "$T/enc.cap" <<'PY'
import sys, xml.etree.ElementTree as ET
from datetime import datetime
ns = {"d": "urn:mpeg:dash:schema:mpd:2011"}
caps = [int(x) for x in open(sys.argv[2])]
mpd = ET.parse(sys.argv[1]).getroot()
sets = mpd.findall(".//d:AdaptationSet", ns)
assert len(sets) == 2
for a in sets:
    prt = a.find("d:ProducerReferenceTime", ns)
    assert prt is not None and prt.get("type") == "encoder"
    assert prt.find("d:UTCTiming", ns) is not None
    st = a.find("d:Representation/d:SegmentTemplate", ns)
    secs = (int(prt.get("presentationTime")) - int(st.get("presentationTimeOffset"))) / int(st.get("timescale"))
    wall = datetime.fromisoformat(prt.get("wallClockTime").replace("Z", "+00:00")).timestamp()
    frame = round(secs * 25)
    assert abs(wall - caps[frame] / 1e6) < 0.041 + 0.001, (wall, caps[frame], frame)
print("ok")
PY
}

@test "a stream without capture time gets the time its first byte reached cs-segment" {
    # The relay notes the wall clock of the first byte it passes on.
    live_raw 5 | cs-encode -q --capture-time off --tune zerolatency --gop 1 |
        tee "$T/enc.ts" |
        python3 -c '
import sys, time
first = None
while True:
    b = sys.stdin.buffer.read1(65536)
    if not b:
        break
    if first is None:
        first = time.time()
        open(sys.argv[1], "w").write("%.6f\n" % first)
    sys.stdout.buffer.write(b)
    sys.stdout.buffer.flush()
' "$T/first" |
        cs-segment -q --segment 1 --part 0.2 --window 10 -o "$T/o" -
    [ -z "$(captimes "$T/enc.ts")" ]
    run ! grep -q ProducerReferenceTime "$T/o/manifest.mpd"
    read -r pdt seq < <(first_pdt "$T/o/v0/index.m3u8" 2>/dev/null ||
                        first_pdt "$T/o/"*/index.m3u8)
    [ "$seq" -eq 0 ]
    first=$(cat "$T/first")
    echo "PDT $pdt first byte $first"
    # not after the probe (half a second and more): within 0.1 s of it
    awk -v p="$pdt" -v f="$first" 'BEGIN { d = p - f; exit d < -0.1 || d > 0.1 }'
}

@test "cs-encode: a regular file gets no capture time, --capture-time on gives it one, the input's is kept" {
    live_raw 1 > "$T/raw.nut"
    cs-encode -q -o "$T/file.ts" "$T/raw.nut"
    [ -z "$(captimes "$T/file.ts")" ]
    t0=$(date +%s%6N)
    cs-encode -q --capture-time on -o "$T/on.ts" "$T/raw.nut"
    captimes "$T/on.ts" > "$T/on.cap"
    [ "$(wc -l < "$T/on.cap")" -eq 25 ]
    [ "$(head -1 "$T/on.cap")" -ge "$t0" ]
    # re-encoded (from a regular file, auto): the times it carries, kept
    # (in decoding order, which B-frames make differ; a frame may repeat)
    cs-encode -q --bitrate 300k -o "$T/again.ts" "$T/on.ts"
    captimes "$T/again.ts" > "$T/again.cap"
    cmp <(sort -u "$T/on.cap") <(sort -u "$T/again.cap")
    # off: not even the input's
    cs-encode -q --capture-time off -o "$T/off.ts" "$T/on.ts"
    [ -z "$(captimes "$T/off.ts")" ]
    # HEVC (whose decoder in FFmpeg 5.1 drops the SEI with frame threads)
    # into cs-ladder: an H.264 rung with the same times
    cs-encode -q --codec hevc --capture-time on -o "$T/hevc.ts" "$T/raw.nut"
    captimes "$T/hevc.ts" 0 hevc > "$T/hevc.cap"
    [ "$(wc -l < "$T/hevc.cap")" -eq 25 ]
    cs-ladder -q --rungs 180p:200k -o "$T/hl.ts" "$T/hevc.ts"
    cmp <(sort -u "$T/hevc.cap") <(captimes "$T/hl.ts" | sort -u)
    run cs-encode --capture-time sometimes -o "$T/x.ts" "$T/raw.nut"
    [ "$status" -eq 2 ]
    [[ "$output" == *"capture-time"* ]]
}
