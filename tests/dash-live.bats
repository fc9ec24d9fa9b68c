#!/usr/bin/env bats
# Low-latency DASH through cs-serve: the time endpoint the MPD names, a
# segment served while it is written (real CMAF) and named in the MPD
# ahead, and dash.js (aimed at 1.7 s) and Shaka Player (at the MPD's aim)
# holding their latency for 30 s (after 15 s to catch up; below the MPD's
# maximum, 6 s: a loaded machine stalls them more, so the test asserts the
# drift more than the figure). One steady live source for the file:
# ffmpeg's test pattern in real time -> cs-segment (0.4 s parts, 2 s
# segments) -> cs-serve.

load helper

setup_file() {
    export W=$BATS_FILE_TMPDIR
    HTTP_PORT=$(free_port)
    export U=http://127.0.0.1:$HTTP_PORT
    mkdir -p "$W/www/live"
    mkfifo "$W/feed"
    ffmpeg -nostdin -loglevel error -re \
        -f lavfi -i testsrc2=size=320x180:rate=25 \
        -f lavfi -i sine=frequency=440:sample_rate=48000 \
        -c:v libx264 -preset ultrafast -tune zerolatency -g 25 \
        -keyint_min 25 -sc_threshold 0 -b:v 300k -c:a aac -b:a 64k \
        -f mpegts -y "$W/feed" 3>&- &
    echo $! > "$W/feed.pid"
    cs-segment -q --stats "$W/seg.json" -o "$W/www/live" "$W/feed" \
        2>"$W/seg.err" 3>&- &
    echo $! > "$W/seg.pid"
    cs-serve -q --root "$W/www" --listen "127.0.0.1:$HTTP_PORT" \
        2>"$W/serve.err" 3>&- &
    echo $! > "$W/serve.pid"
    wait_port "$HTTP_PORT"
    for i in $(seq 300); do
        [ -s "$W/www/live/manifest.mpd" ] && break
        sleep 0.1
    done
    sleep 4
}

# The video rendition's folder (the one that is not audio).
video_dir() {
    local d
    for d in "$W"/www/live/*/; do
        [ "$(basename "$d")" = audio ] || echo "${d%/}"
    done | head -n 1
}

teardown_file() {
    local p
    for p in feed seg serve; do
        [ -f "$W/$p.pid" ] && kill "$(cat "$W/$p.pid")" 2>/dev/null || true
    done
}

@test "the MPD names cs-serve's /time, which answers ISO 8601 UTC with milliseconds" {
    mpd=$W/www/live/manifest.mpd
    grep -q '<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="/time"/>' "$mpd"
    grep -q '<ServiceDescription id="0"><Latency target="3200" max="6000" min="400"/><PlaybackRate max="1.5" min="0.9"/>' "$mpd"
    before=$(date +%s.%N)
    run curl -s -D "$W/time.h" "$U/time"
    after=$(date +%s.%N)
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$ ]]
    grep -qi '^cache-control: no-store' "$W/time.h"
    # the server's clock: between the request and its answer (1 ms steps)
    python3 - "$output" "$before" "$after" <<'PY'
import sys
from datetime import datetime
t = datetime.fromisoformat(sys.argv[1].replace('Z', '+00:00')).timestamp()
before, after = float(sys.argv[2]), float(sys.argv[3])
assert before - 0.002 <= t <= after + 0.002, (sys.argv[1:], t)
PY
}

@test "a segment of real CMAF fetched while it is written arrives chunk by chunk and equals the file" {
    local media
    media=$(video_dir)
    # the segment after the one being written (chosen when the request
    # is made): it waits for its first part, then streams
    name=${media##*/}
    run python3 "$REPO/tests/tools/chunks.py" "$U/live/$name/{next}.m4s" \
        "$W/seg" --timeout 20 --playlist "$media/index.m3u8"
    echo "$output"
    [ "$status" -eq 0 ]
    next=$(jq -r '.url | sub(".*/"; "") | sub("\\.m4s$"; "")' <<<"$output")
    cmp "$W/seg" "$media/$next.m4s"
    done_at=$(stat -c %.3Y "$media/$next.m4s")
    # its first part came a second or more before the segment was complete
    jq -e --argjson complete "$done_at" '.status == 200 and .chunked and .complete
        and .events[0][0] < $complete - 1.0
        and ([.events[] | .[0] | . * 10 | floor] | unique | length) >= 3' \
        <<<"$output"
}

@test "the live MPD names the segment being written, one past the newest finished one" {
    local i mpd_last done_last media
    media=$(video_dir)
    # a cut between reading the two files can make one sample disagree
    for i in $(seq 10); do
        mpd_last=$(python3 - "$W/www/live/manifest.mpd" "${media##*/}" <<'PY'
import sys, xml.etree.ElementTree as ET
ns = {'d': 'urn:mpeg:dash:schema:mpd:2011'}
mpd = ET.parse(sys.argv[1]).getroot()
for r in mpd.iter('{urn:mpeg:dash:schema:mpd:2011}Representation'):
    if r.get('id') != sys.argv[2]:
        continue
    st = r.find('d:SegmentTemplate', ns)
    n = sum(1 + int(s.get('r', '0')) for s in st.iter('{urn:mpeg:dash:schema:mpd:2011}S'))
    print(int(st.get('startNumber')) + n - 1)
PY
)
        done_last=$(grep -E '^[0-9]+\.m4s$' "$media/index.m3u8" | tail -n 1)
        done_last=${done_last%.m4s}
        [ "$mpd_last" -eq $((done_last + 1)) ] && break
        sleep 0.3
    done
    echo "MPD's last $mpd_last, newest finished $done_last"
    [ "$mpd_last" -eq $((done_last + 1)) ]
    # and cs-serve serves it as it grows: the request is answered
    run curl -s -o "$W/open.m4s" -w '%{http_code}' --max-time 10 \
        "$U/live/${media##*/}/$mpd_last.m4s"
    [ "$output" = 200 ]
    [ -s "$W/open.m4s" ]
}

@test "dash.js in low-latency mode with catch-up plays 30 s and its latency does not drift" {
    run timeout 120 node "$REPO/tests/browser/play.mjs" --kind dash --lowlatency \
        --target 1.7 --seconds 45 --warmup 15 --url "$U/live/manifest.mpd"
    echo "$output"
    [ "$status" -eq 0 ]
    # it sat at 2.5 to 4.9 s (stalled, then 1.5x) while the MPD named
    # finished segments only; 1.70 s flat on a quiet machine since
    # a stall (a sample where the playing video stood still, 0.5 s apart)
    # puts up to that much on the latency for good: on a loaded machine
    # the drift allowed grows by it
    jq -e '.ok and .advanced > 35 and .liveLatency.seconds >= 25
           and (.liveLatency.drift | fabs) <= 0.3 + 0.5 * .stalledSamples
           and .liveLatency.medianMs < 3000
           and .liveLatency.last10 < 6' <<<"$output"
}

@test "Shaka Player in low-latency mode plays 30 s and its latency does not drift" {
    # the MPD's ServiceDescription sets its aim (set to 1.7 s, Shaka began
    # nearer the edge than that and backed off at 0.95x for 20 s)
    run timeout 120 node "$REPO/tests/browser/play.mjs" --kind shaka --lowlatency \
        --seconds 45 --warmup 15 --url "$U/live/manifest.mpd"
    echo "$output"
    [ "$status" -eq 0 ]
    # drifting is moving away from live: the latency must not grow. Shaka
    # may still close in on the edge after the warm-up (a CI run read 1.49
    # then 0.76 s, another -0.05 s throughout), but never further ahead of
    # the MPD's clock than cs-segment's probe held the first packet (the
    # clock starts when the probe lets it out), and within the MPD's max.
    # A stall adds to the drift allowed as in the dash.js test (a full
    # local run, two files at a time: 5 stalled samples, drift 0.79 s,
    # rate 1.1 at the end, catching up).
    hold=$(jq -s 'map(.probe_hold_ms // empty) | first // 0' "$W/seg.json")
    echo "probe hold: $hold ms"
    jq -e --argjson hold "$hold" '.ok and .advanced > 35
           and .liveLatency.seconds >= 25
           and .liveLatency.drift <= 0.3 + 0.5 * .stalledSamples
           and .liveLatency.min > -($hold / 1000 + 0.05)
           and .liveLatency.last10 < 6' <<<"$output"
}
