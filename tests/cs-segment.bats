#!/usr/bin/env bats
# cs-segment: HLS with MPEG-TS and fMP4 segments, DASH, VOD, rendition
# names, outputs and errors. Live LL-HLS, browsers and restarts are in
# segment-live.bats.

load helper
load segment
bats_require_minimum_version 1.5.0      # run !

setup_file() {
    export IN=$BATS_FILE_TMPDIR/in.ts
    ladder_input "$IN" 6
}

# Frames of every video stream reachable from a multivariant playlist,
# one a line (ffprobe lists each stream once per program and once alone).
frames_per_program() {
    ffprobe -v error -count_frames -select_streams v \
        -show_entries stream=index,nb_read_frames -of csv=p=0 "$1" | sort -u
}

@test "TS HLS: every frame of every rendition decodes, segments line up and start with keyframes" {
    run cs-segment --container ts --vod "$IN" -o "$T/o"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    run frames_per_program "$T/o/master.m3u8"
    [ "$(echo "$output" | grep -c ',150$')" -eq 3 ]
    grep -q 'CODECS="avc1.42c0..,mp4a.40.2"' "$T/o/master.m3u8"
    [ "$(grep -c EXT-X-STREAM-INF "$T/o/master.m3u8")" -eq 3 ]
    for r in hi mid lo; do
        [ "$(extinfs "$T/o/$r/index.m3u8")" = "$(extinfs "$T/o/hi/index.m3u8")" ]
        grep -q '#EXT-X-ENDLIST' "$T/o/$r/index.m3u8"
        for f in "$T/o/$r"/*.ts; do
            run ffprobe -v error -select_streams v -read_intervals '%+#1' \
                -show_entries frame=key_frame -of csv=p=0 "$f"
            [ "${lines[0]%%,*}" = 1 ]
        done
    done
    segs=("$T/o/hi"/*.ts)
    [ "${#segs[@]}" -eq 3 ]
    [ ! -e "$T/o/manifest.mpd" ]
}

@test "fMP4 HLS: CMAF init and segments decode, audio is its own rendition group" {
    run cs-segment --vod "$IN" -o "$T/o"
    [ "$status" -eq 0 ]
    run frames_per_program "$T/o/master.m3u8"
    [ "$(echo "$output" | grep -c ',150$')" -eq 3 ]
    grep -q '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="eng",.*LANGUAGE="eng",.*URI="audio/index.m3u8"' \
        "$T/o/master.m3u8"
    grep -q 'AUDIO="audio"' "$T/o/master.m3u8"
    grep -q 'RESOLUTION=240x180,FRAME-RATE=25.000' "$T/o/master.m3u8"
    grep -q '#EXT-X-PLAYLIST-TYPE:VOD' "$T/o/hi/index.m3u8"
    tail -1 "$T/o/audio/index.m3u8" | grep -qx '#EXT-X-ENDLIST'
    grep -q '#EXT-X-MAP:URI="init.mp4"' "$T/o/hi/index.m3u8"
    for r in hi mid lo; do
        [ "$(extinfs "$T/o/$r/index.m3u8")" = "$(extinfs "$T/o/hi/index.m3u8")" ]
        for f in "$T/o/$r"/[0-9]*.m4s; do
            cat "$T/o/$r/init.mp4" "$f" >"$T/seg.mp4"
            run ffprobe -v error -select_streams v -read_intervals '%+#1' \
                -show_entries frame=key_frame -of csv=p=0 "$T/seg.mp4"
            [ "${lines[0]%%,*}" = 1 ]
        done
    done
    # VOD has no parts: nothing to fetch before a segment is whole.
    run ! grep -q EXT-X-PART "$T/o/hi/index.m3u8"
    # BANDWIDTH is the measured peak, at least the average.
    bw=$(grep -o 'BANDWIDTH=[0-9]*' "$T/o/master.m3u8" | head -1 | cut -d= -f2)
    avg=$(grep -o 'AVERAGE-BANDWIDTH=[0-9]*' "$T/o/master.m3u8" | head -1 | cut -d= -f2)
    [ "$bw" -ge "$avg" ]
    [ "$avg" -gt 100000 ]
}

@test "DASH: the MPD reads back with ffmpeg and its segment list matches the files" {
    run cs-segment --vod "$IN" -o "$T/o"
    [ "$status" -eq 0 ]
    grep -q 'type="static"' "$T/o/manifest.mpd"
    grep -q 'contentType="audio" .* lang="eng"' "$T/o/manifest.mpd"
    run ffprobe -v error -count_frames \
        -show_entries stream=index,codec_type,nb_read_frames \
        -of csv=p=0 "$T/o/manifest.mpd"
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | sort -u | grep -c ',video,150$')" -eq 3 ]
    python3 - "$T/o" <<'PY'
import os, sys, xml.etree.ElementTree as ET
root = sys.argv[1]
ns = {'d': 'urn:mpeg:dash:schema:mpd:2011'}
mpd = ET.parse(os.path.join(root, 'manifest.mpd')).getroot()
reps = mpd.findall('.//d:Representation', ns)
assert len(reps) == 4, len(reps)
for rep in reps:
    st = rep.find('d:SegmentTemplate', ns)
    n = int(st.get('startNumber'))
    listed = []
    t = None
    for s in st.findall('.//d:S', ns):
        t = int(s.get('t', t if t is not None else 0))
        for _ in range(int(s.get('r', 0)) + 1):
            listed.append(st.get('media').replace('$Number$', str(n)))
            n += 1
            t += int(s.get('d'))
    folder = rep.get('id')
    files = sorted(f for f in os.listdir(os.path.join(root, folder))
                   if f.endswith('.m4s') and f.count('.') == 1)
    assert sorted(os.path.basename(x) for x in listed) == files, (listed, files)
    assert os.path.exists(os.path.join(root, st.get('initialization')))
    assert rep.get('codecs')
PY
    # The same VOD output through parsers nobody here wrote.
    run parse_check "$T/o"
    echo "$output"
    [ "$status" -eq 0 ]
    grep -q '^ok manifest.mpd type=static representations=4' <<<"$output"
    [ "$(grep -c '^ok .*index.m3u8' <<<"$output")" -eq 4 ]
}

@test "renditions are named from the ladder's labels: stream metadata, MPEG-TS services, else v0, v1" {
    ladder_input "$T/in.mkv" 2 matroska
    run cs-segment --vod "$T/in.mkv" -o "$T/o"
    [ "$status" -eq 0 ]
    grep -q '^hi/index.m3u8' "$T/o/master.m3u8"
    grep -q '^lo/index.m3u8' "$T/o/master.m3u8"
    [ -s "$T/o/mid/init.mp4" ]
    # The same streams without cs-ladder's service labels: v0, v1, v2.
    ffmpeg -nostdin -loglevel error -i "$T/in.mkv" -map 0 -c copy \
        -bsf:v h264_mp4toannexb -f mpegts "$T/plain.ts"
    run cs-segment --vod --no-dash "$T/plain.ts" -o "$T/ts"
    [ "$status" -eq 0 ]
    grep -q '^v0/index.m3u8' "$T/ts/master.m3u8"
    grep -q '^v2/index.m3u8' "$T/ts/master.m3u8"
    [ ! -e "$T/ts/manifest.mpd" ]
}

@test "reads standard input by default" {
    run bash -c "cs-segment --vod -o '$T/o' < '$IN'"
    [ "$status" -eq 0 ]
    [ -s "$T/o/master.m3u8" ]
}

@test "a --segment that is not a multiple of the GOP is refused" {
    run cs-segment --vod --segment 1.5 "$IN" -o "$T/o"
    [ "$status" -eq 2 ]
    one_line "$output"
    [[ "$output" == "cs-segment: --segment 1.5 is not a multiple of the GOP of 'hi' (1 s)" ]]
}

# bats test_tags=sanitize
@test "bad options and bad input are refused with one line" {
    run cs-segment --part 0.1 "$IN" -o "$T/o"
    [ "$status" -eq 2 ]
    one_line "$output"
    [[ "$output" == *"invalid value '0.1' for --part"* ]]
    run cs-segment --segment 30 --part 0.2 "$IN" -o "$T/o"
    [ "$status" -eq 2 ]
    [ "$output" = "cs-segment: --part 0.2 does not fit --segment 30: 2 to 60 parts a segment" ]
    run cs-segment "$IN"
    [ "$status" -eq 2 ]
    [ "$output" = "cs-segment: missing output: give -o OUTPUT" ]
    junk "$T/junk" 20000
    run cs-segment "$T/junk" -o "$T/o"
    [ "$status" -eq 3 ]
    one_line "$output"
    [[ "$output" == "cs-segment: cannot read '$T/junk': "* ]]
    run cs-segment "$IN" -o "ftp://x/y"
    [ "$status" -eq 2 ]
    one_line "$output"
}

@test "--stats writes JSON lines ending with a final object" {
    run cs-segment --vod --stats "$T/s.json" "$IN" -o "$T/o"
    [ "$status" -eq 0 ]
    tail -1 "$T/s.json" | python3 -c '
import json, sys
o = json.load(sys.stdin)
assert o["final"] is True and o["segments"] == 3 and o["written_bytes"] > 0, o'
}

@test "a timestamp jump and a new size mid-stream: new init, EXT-X-DISCONTINUITY, a new Period" {
    ladder_input "$T/a.ts" 4
    ladder_input "$T/b.ts" 4 mpegts 100 288x216
    run bash -c "cat '$T/a.ts' '$T/b.ts' | cs-segment --vod -o '$T/o'"
    [ "$status" -eq 0 ]
    [[ "$output" == *"'hi': discontinuity at 101.400 s"* ]]
    for r in hi mid lo audio; do
        [ "$(grep -c '#EXT-X-DISCONTINUITY$' "$T/o/$r/index.m3u8")" -eq 1 ]
        grep -q '#EXT-X-MAP:URI="init-1.mp4"' "$T/o/$r/index.m3u8"
        [ -s "$T/o/$r/init-1.mp4" ]
    done
    [ "$(grep -c '<Period' "$T/o/manifest.mpd")" -eq 2 ]
    # Every frame on both sides decodes, the second half at its new size.
    run ffprobe -v error -count_frames -select_streams v \
        -show_entries stream=index,nb_read_frames -of csv=p=0 "$T/o/master.m3u8"
    [ "$(echo "$output" | sort -u | grep -c ',200$')" -eq 3 ]
    cat "$T/o/hi/init-1.mp4" "$T/o/hi/3.m4s" >"$T/last.mp4"
    [ "$(probe "$T/last.mp4" stream=width,height v:0 | paste -sd x)" = 288x216 ]
    grep -q 'avc1.42c0' "$T/o/master.m3u8"
    # The multivariant playlist and the MPD tell the new size.
    grep -q 'RESOLUTION=288x216' "$T/o/master.m3u8"
    grep -q 'width="288" height="216"' "$T/o/manifest.mpd"
    grep -q 'width="320" height="240"' "$T/o/manifest.mpd"
}

# 2 s of HEVC (keyframe every second) with Opus, in Matroska: FILE.
hevc_opus_mkv() {
    ffmpeg -nostdin -loglevel error -y \
        -f lavfi -i testsrc2=size=320x240:rate=25:duration=2 \
        -f lavfi -i sine=sample_rate=48000:duration=2 \
        -c:v libx265 -preset ultrafast -pix_fmt yuv420p \
        -x265-params keyint=25:min-keyint=25:scenecut=0:log-level=error \
        -c:a libopus -b:a 64k "$1"
}

@test "CODECS strings come from the bitstream: HEVC with Opus, AV1" {
    hevc_opus_mkv "$T/h.mkv"
    run cs-segment --vod "$T/h.mkv" -o "$T/h"
    [ "$status" -eq 0 ]
    grep -q 'CODECS="hvc1.1.6.L60.90,opus"' "$T/h/master.m3u8"
    ffmpeg -nostdin -loglevel error -y \
        -f lavfi -i testsrc2=size=320x240:rate=25:duration=2 \
        -c:v libsvtav1 -preset 12 -g 25 -svtav1-params scd=0 "$T/a.mkv" 2>/dev/null
    run cs-segment --vod "$T/a.mkv" -o "$T/a"
    [ "$status" -eq 0 ]
    grep -q 'CODECS="av01.0.00M.08"' "$T/a/master.m3u8"
    run ffprobe -v error -count_frames -show_entries stream=nb_read_frames \
        -of csv=p=0 "$T/a/v0/index.m3u8"
    [ "${lines[0]}" = 50 ]
}

@test "a live TS window keeps --window segments and the sequence numbers go on" {
    run cs-segment --container ts --window 2 "$IN" -o "$T/o"
    [ "$status" -eq 0 ]
    p=$T/o/hi/index.m3u8
    grep -qx '#EXT-X-MEDIA-SEQUENCE:1' "$p"
    [ "$(grep -c '^#EXTINF' "$p")" -eq 2 ]
    run ! grep -q 'EXT-X-PART' "$p"
    tail -1 "$p" | grep -qx '#EXT-X-ENDLIST'
    # The same output again: segment 2 stays, a discontinuity, then 3 on.
    run cs-segment --container ts --window 4 "$IN" -o "$T/o"
    [ "$status" -eq 0 ]
    [[ "$output" == "cs-segment: resuming '$T/o' after media sequence 2" ]]
    grep -qx '#EXT-X-MEDIA-SEQUENCE:2' "$p"
    [ "$(grep -c '#EXT-X-DISCONTINUITY$' "$p")" -eq 1 ]
    [ "$(grep -v '^#' "$p" | tr '\n' ' ')" = "2.ts 3.ts 4.ts 5.ts " ]
    run ffprobe -v error -count_frames -select_streams v \
        -show_entries stream=nb_read_frames -of csv=p=0 "$p"
    [ "${lines[0]}" -ge 150 ]
}

teardown() {
    # Only after live_segment: stop_live waits for every child otherwise.
    [ -z "${SEG_PID:-}${SERVER_PID:-}" ] || stop_live
    [ -z "${GROUP:-}" ] || kill -- "-$GROUP" 2>/dev/null || true
}

# forge_state DIR PYTHON: rewrite DIR/cs-segment.json with PYTHON run on
# its JSON object `s`.
forge_state() {
    python3 - "$1/cs-segment.json" "$2" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
exec(sys.argv[2])
json.dump(s, open(sys.argv[1], "w"))
PY
}

# bats test_tags=sanitize
@test "a restart state cs-segment cannot have written is refused: huge numbers, timescale 0, foreign deletions" {
    run cs-segment --container ts --window 2 "$IN" -o "$T/o"
    [ "$status" -eq 0 ]
    cp -r "$T/o" "$T/clean"
    echo keep >"$T/o/keep.txt"
    local forged limit="ulimit -v 4000000;"
    # ASan maps terabytes of shadow memory: no address-space limit there
    [ -z "${ASAN_OPTIONS:-}" ] || limit=""
    for forged in \
        'for t in s["tracks"]: t["next_seq"] = 1e15' \
        's["tracks"][0]["segments"] = []; s["tracks"][0]["next_seq"] = 1e14' \
        's["tracks"][0]["segments"][-1]["seq"] = 1e300' \
        's["tracks"][0]["timescale"] = 0' \
        's["tracks"][0]["segments"] += s["tracks"][0]["segments"]' \
        's["deletes"] = [{"name": "keep.txt", "due_us": 0}]' \
        's["deletes"] = [{"name": "hi/../keep.txt", "due_us": 0}]'; do
        cp "$T/clean/cs-segment.json" "$T/o/cs-segment.json"
        forge_state "$T/o" "$forged"
        # bounded: a gap filler without a bound allocates until killed
        run bash -c "$limit timeout 30 cs-segment --container ts \
            --window 2 '$IN' -o '$T/o'"
        echo "$forged: $output"
        [ "$status" -eq 3 ]
        one_line "$output"
        [[ "$output" == "cs-segment: the state in '$T/o' is not one cs-segment writes: bad '"* ]]
        # nothing was deleted or written over
        [ "$(cat "$T/o/keep.txt")" = keep ]
        diff -r -x cs-segment.json -x keep.txt "$T/clean" "$T/o"
    done
    # the state as written resumes, and may delete only segment names
    cp "$T/clean/cs-segment.json" "$T/o/cs-segment.json"
    forge_state "$T/o" 's["deletes"] = [{"name": "hi/1.ts", "due_us": 0}]'
    run timeout 30 cs-segment --container ts --window 2 "$IN" -o "$T/o"
    [ "$status" -eq 0 ]
    [[ "$output" == "cs-segment: resuming '$T/o' after media sequence 2" ]]
    [ ! -e "$T/o/hi/1.ts" ]
    [ "$(cat "$T/o/keep.txt")" = keep ]
}

@test "a live DASH Period keeps its start and presentationTimeOffset while the window slides" {
    live_segment "$IN" --window 2 --segment 1 --no-ll -o "$T/o"
    wait_grep "$T/o/manifest.mpd" 'startNumber="0"' 20
    cp "$T/o/manifest.mpd" "$T/first.mpd"
    wait_grep "$T/o/manifest.mpd" 'startNumber="[2-9]"' 20
    cp "$T/o/manifest.mpd" "$T/later.mpd"
    python3 - "$T/first.mpd" "$T/later.mpd" <<'PY'
import sys, xml.etree.ElementTree as ET
ns = {'d': 'urn:mpeg:dash:schema:mpd:2011'}
def periods(f):
    out = {}
    for p in ET.parse(f).getroot().findall('d:Period', ns):
        ptos = sorted({(r.get('id'), r.find('d:SegmentTemplate', ns).get('presentationTimeOffset'))
                       for r in p.findall('.//d:Representation', ns)})
        starts = {r.get('id'): r.find('d:SegmentTemplate', ns).get('startNumber')
                  for r in p.findall('.//d:Representation', ns)}
        out[p.get('id')] = (p.get('start'), ptos, starts)
    return out
a, b = periods(sys.argv[1]), periods(sys.argv[2])
assert 'p0' in a and 'p0' in b, (a, b)
assert a['p0'][2] != b['p0'][2], 'the window did not slide'
assert a['p0'][:2] == b['p0'][:2], (a['p0'], b['p0'])
PY
}

# Packets of each video stream, one "index,count" a line, of FILE (a TS or
# an fMP4 init segment followed by its segments).
video_packets() {
    ffprobe -v error -count_packets -select_streams v \
        -show_entries stream=index,nb_read_packets -of csv=p=0 "$1" |
        grep , | sort -u
}

@test "after a damaged stretch every frame is packaged and each EXTINF covers its segment's media" {
    ladder_input "$T/in.ts" 8
    junk "$T/junk" 150000
    dd if="$T/junk" of="$T/in.ts" bs=1k seek=300 conv=notrunc status=none
    run cs-segment --vod --stats "$T/s.json" "$T/in.ts" -o "$T/f"
    [ "$status" -eq 0 ]
    want=$(video_packets "$T/in.ts" | cut -d, -f2 | sort -n | tr '\n' ' ')
    got=$(for r in hi mid lo; do
        grep -v '^#' "$T/f/$r/index.m3u8" | while read -r f; do
            cat "$T/f/$r/$f"
        done | cat "$T/f/$r/init.mp4" - >"$T/$r.mp4"
        video_packets "$T/$r.mp4" | cut -d, -f2
    done | sort -n | tr '\n' ' ')
    echo "want $want got $got"
    [ "$got" = "$want" ]
    tail -1 "$T/s.json" | jq -e '.dropped_frames == 0'
    # An MPEG-TS segment lasts its EXTINF (give or take the audio that the
    # input's muxer wrote a few hundred ms after the video of its time).
    run cs-segment --vod --container ts "$T/in.ts" -o "$T/t"
    [ "$status" -eq 0 ]
    n=0
    while read -r dur file; do
        span=$(probe "$T/t/hi/$file" format=duration)
        echo "$file: EXTINF $dur, lasts $span"
        awk -v s="$span" -v d="$dur" 'BEGIN { exit !(s <= d + 0.3 && s >= d - 0.3) }'
        n=$((n + 1))
    done < <(awk -F'[:,]' '/^#EXTINF/ { d = $2; next } !/^#/ { print d, $0 }' "$T/t/hi/index.m3u8")
    [ "$n" -ge 3 ]
    run video_packets "$T/t/master.m3u8"
    [ "$(echo "$output" | cut -d, -f2 | sort -n | tr '\n' ' ')" = "$want" ]
}

@test "inputs starting below zero (Opus pre-skip, B-frames) give small non-negative fMP4 decode times" {
    hevc_opus_mkv "$T/h.mkv"
    ffmpeg -nostdin -loglevel error -y \
        -f lavfi -i testsrc2=size=320x240:rate=25:duration=2 \
        -f lavfi -i sine=sample_rate=48000:duration=2 \
        -c:v libx264 -preset fast -bf 3 -g 25 -pix_fmt yuv420p \
        -c:a aac -b:a 64k "$T/b.mkv"
    for f in h b; do
        run cs-segment --vod "$T/$f.mkv" -o "$T/$f"
        [ "$status" -eq 0 ]
        [ -z "$output" ]
        python3 - "$T/$f" <<'PY'
import struct, sys
def box(d, kind):
    i = d.find(kind)
    assert i > 0, kind
    return d[i + 4:]
for r in ('v0', 'audio'):
    init = open('%s/%s/init.mp4' % (sys.argv[1], r), 'rb').read()
    m = box(init, b'mdhd')
    scale = struct.unpack('>I', m[12:16] if m[0] == 0 else m[20:24])[0]
    t = box(open('%s/%s/0.m4s' % (sys.argv[1], r), 'rb').read(), b'tfdt')
    v = struct.unpack('>Q', t[4:12])[0] if t[0] == 1 else struct.unpack('>I', t[4:8])[0]
    assert 0 <= v / scale < 0.5, (r, v, scale)
PY
        run ffprobe -v error -count_frames -show_entries stream=nb_read_frames \
            -of csv=p=0 "$T/$f/v0/index.m3u8"
        [ "${lines[0]}" = 50 ]
    done
}

@test "a TS clock that turns over mid-stream, or audio just below zero after a picture at zero: one timeline from zero" {
    primed_ts "$T/prime.ts" 0
    primed_ts "$T/turn.ts" "$(((1 << 33) - 3 * 90000))"
    for f in prime turn; do
        run cs-segment --vod "$T/$f.ts" -o "$T/$f"
        [ "$status" -eq 0 ]
        [ -z "$output" ]
        run ! grep -q DISCONTINUITY "$T/$f/v0/index.m3u8" "$T/$f/audio/index.m3u8"
        for r in v0 audio; do
            cat "$T/$f/$r/init.mp4" "$T/$f/$r"/[0-9].m4s >"$T/$f-$r.mp4"
            # from zero, rising, ending by 6 s: no 26.5-hour step
            ffprobe -v error -show_entries packet=pts_time -of csv=p=0 \
                "$T/$f-$r.mp4" | sort -n | awk '
                NR == 1 && ($1 < 0 || $1 > 0.1) { bad = 1 }
                { last = $1; n++ } END { exit bad || last > 6.1 || n < 100 }'
        done
    done
}

@test "-o twice: both outputs get the stream; a dead origin is said once, counted in --stats, and fed again when it comes back" {
    port=$(free_port)
    ladder_input "$T/live.ts" 14
    live_segment "$T/live.ts" --segment 1 --window 4 --token t0k \
        --stats "$T/stats.json" -o "$T/a" -o "http://127.0.0.1:$port/live/"
    # Nothing listens on PORT: the folder gets the stream all the same.
    wait_grep "$T/a/v0/index.m3u8" '^3\.m4s' 30
    mkdir -p "$T/origin"
    cs-serve --root "$T/origin" --listen 127.0.0.1:$port \
        --ingest-token t0k 2>"$T/serve.err" &
    SERVER_PID=$!
    wait_file "$T/origin/live/v0/index.m3u8" 20
    wait "$SEG_PID"
    wait "$FEED_PID"
    SEG_PID='' FEED_PID=''
    cat "$T/seg.err"
    # One line when it went down, one when it took writes again.
    [ "$(grep -c "going on with the other outputs" "$T/seg.err")" -eq 1 ]
    grep -q "^cs-segment: warning: cannot write '[^']*' to 'http://127.0.0.1:$port/live/': .*; going on with the other outputs$" "$T/seg.err"
    grep -q "^cs-segment: 'http://127.0.0.1:$port/live/': writing again$" "$T/seg.err"
    run ! grep -q t0k "$T/seg.err"
    kill "$SERVER_PID"
    wait "$SERVER_PID" || true
    SERVER_PID=''
    # What is written once (init segments, the master playlist) reached
    # the origin that came late, and it holds the end of the stream.
    for f in master.m3u8 v0/init.mp4 v1/init.mp4 audio/init.mp4; do
        [ -s "$T/origin/live/$f" ]
    done
    grep -q '#EXT-X-ENDLIST' "$T/origin/live/v0/index.m3u8"
    cmp "$T/a/v0/index.m3u8" "$T/origin/live/v0/index.m3u8"
    last=$(grep -o '^[0-9]*\.m4s' "$T/a/v0/index.m3u8" | tail -1)
    cmp "$T/a/v0/$last" "$T/origin/live/v0/$last"
    tail -1 "$T/stats.json" | python3 -c '
import json, sys
o = json.load(sys.stdin)
a, b = o["outputs"]
assert o["final"] is True, o
assert a["up"] and a["failed_writes"] == 0 and a["skipped_writes"] == 0, a
assert b["up"] and b["failed_writes"] >= 1 and b["skipped_writes"] >= 1, b'
}

@test "-o twice: when no output takes a write the run ends with one line" {
    port=$(free_port)
    mkdir -p "$T/origin"
    cs-serve --root "$T/origin" --listen 127.0.0.1:$port \
        --ingest-token t0k 2>"$T/serve.err" &
    SERVER_PID=$!
    wait_port "$port"
    run cs-segment --token wr0ng "$IN" -o "http://127.0.0.1:$port/a/" \
        -o "http://127.0.0.1:$port/b/"
    echo "$output"
    [ "$status" -eq 2 ]
    [[ "${lines[-1]}" == "cs-segment: cannot write 'hi/init.mp4' to any output: "* ]]
    [[ "$output" != *wr0ng* ]]
    [ ! -e "$T/origin/a" ]
    [ ! -e "$T/origin/b" ]
}

@test "a live part is written as its last frame comes, not when the next frame does" {
    # 25 fps, 0.2 s parts, 1 s segments: part 2.1 is frames 55 to 59.
    ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=160x120:rate=25 \
        -t 4 -c:v libx264 -preset veryfast -g 25 -bf 0 -f mpegts "$T/v.ts"
    ffprobe -v error -select_streams v -show_entries packet=pos -of csv=p=0 \
        "$T/v.ts" | tr -d , | grep . >"$T/pos"
    # Up to the start of frame 62: libavformat's TS reader holds a picture
    # until the next PES starts and its H.264 parser one more, so frames 0
    # to 59 reach cs-segment. The input then stays open and quiet.
    setsid bash -c "{ head -c $(sed -n 63p "$T/pos") '$T/v.ts'; sleep 100; } |
        timeout 120 cs-segment -q --segment 1 --part 0.2 -o '$T/o' -" \
        </dev/null >/dev/null 2>&1 &
    GROUP=$!
    for _ in $(seq 100); do
        [ -e "$T/o/v0/2.1.m4s" ] && break
        sleep 0.1
    done
    ls "$T/o/v0"
    [ -e "$T/o/v0/2.1.m4s" ]
    [ ! -e "$T/o/v0/2.2.m4s" ]
}
