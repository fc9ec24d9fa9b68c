#!/usr/bin/env bats
# cs-fetch scrape: yt-dlp's generic extractor against a loopback web page
# linking test clips; the store gets the videos and index.json.

load helper

setup() {
    mkdir -p "$T/web"
    local i
    for i in 1 2 3; do
        ffmpeg -nostdin -loglevel error -y \
            -f lavfi -i "testsrc2=size=160x120:rate=25:duration=$i" \
            -f lavfi -i "sine=frequency=$((300 * i)):duration=$i" \
            -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac \
            -shortest "$T/web/cat$i.mp4"
    done
    printf '<html><head><title>cats</title></head><body>%s%s%s</body></html>' \
        '<video src="cat1.mp4"></video>' '<video src="cat2.mp4"></video>' \
        '<video src="cat3.mp4"></video>' >"$T/web/index.html"
    WPORT=$(free_port)
    python3 -m http.server "$WPORT" --bind 127.0.0.1 -d "$T/web" \
        >/dev/null 2>&1 &
    WPID=$!
    wait_port "$WPORT"
    URL=http://127.0.0.1:$WPORT/index.html
}

teardown() {
    kill "$WPID" 2>/dev/null
    wait "$WPID" 2>/dev/null || true
}

@test "scrape stores every video and an index; a second run adds nothing" {
    run timeout 120 cs-fetch scrape "$URL" --to "$T/store"
    [ "$status" -eq 0 ]
    [[ "$output" == *"3 new videos"* ]]
    for i in 1 2 3; do cmp "$T/web/cat$i.mp4" "$T/store/videos/index-$i.mp4"; done
    python3 - "$T/store/index.json" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))["videos"]
assert [x["id"] for x in v] == ["index-1", "index-2", "index-3"], v
assert [round(x["duration"]) for x in v] == [1, 2, 3], v
assert all(x["key"] == "videos/%s.mp4" % x["id"] for x in v), v
assert all(len(x["upload_date"]) == 8 and x["title"] for x in v), v
PY
    run timeout 120 cs-fetch scrape "$URL" --to "$T/store"
    [ "$status" -eq 0 ]
    [[ "$output" == *"0 new videos"* ]]
    [ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["videos"]))' "$T/store/index.json")" -eq 3 ]
}

@test "scrape --limit takes N new videos per run and the next run goes on" {
    run timeout 120 cs-fetch scrape "$URL" --to "$T/store" --limit 1
    [ "$status" -eq 0 ]
    [ "$(ls "$T/store/videos")" = index-1.mp4 ]
    run timeout 120 cs-fetch scrape "$URL" --to "$T/store" --limit 5
    [[ "$output" == *"2 new videos"* ]]
    [ "$(ls "$T/store/videos" | wc -l)" -eq 3 ]
}

@test "scrape --since skips older videos" {
    run timeout 120 cs-fetch scrape "$URL" --to "$T/store" --since 2999-01-01
    [ "$status" -eq 0 ]
    [[ "$output" == *"0 new videos"* ]]
    run cs-fetch scrape "$URL" --to "$T/store" --since yesterday
    [ "$status" -eq 2 ]
}

@test "a scrape killed midway resumes and ends with every video once" {
    # slow downloads (--rate) so that the kill lands between videos
    mkdir -p "$T/tmp"
    # --foreground: timeout passes the TERM on once (a second one would
    # stop cs-fetch at once, by design)
    TMPDIR=$T/tmp timeout --foreground 120 cs-fetch scrape "$URL" --to "$T/store" --rate 100k \
        2>"$T/err" &
    local pid=$!
    wait_file "$T/store/index.json" 60
    kill -TERM "$pid"
    wait "$pid" || true
    local n
    n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["videos"]))' "$T/store/index.json")
    [ "$n" -ge 1 ]
    [ "$n" -lt 3 ]
    run timeout 120 cs-fetch scrape "$URL" --to "$T/store"
    [ "$status" -eq 0 ]
    [[ "$output" == *"$((3 - n)) new video"* ]]
    python3 - "$T/store/index.json" <<'PY'
import json, sys
ids = [x["id"] for x in json.load(open(sys.argv[1]))["videos"]]
assert sorted(ids) == ["index-1", "index-2", "index-3"], ids
PY
    # nothing half-written stays behind, in the store or the scratch space
    [ -z "$(find "$T/store" -name '.*')" ]
    [ -z "$(ls "$T/tmp")" ]
}

@test "a missing yt-dlp is a configuration error" {
    run cs-fetch scrape "$URL" --to "$T/store" --yt-dlp /nonexistent/yt-dlp
    [ "$status" -eq 2 ]
    one_line "$output"
}

@test "yt-dlp reads no config file (an --exec there would run) and gets no credentials" {
    mkdir -p "$T/home/.config/yt-dlp"
    printf -- '--exec "touch %s/pwned"\n' "$T" >"$T/home/.config/yt-dlp/config"
    run env -u XDG_CONFIG_HOME HOME="$T/home" timeout 120 \
        cs-fetch scrape "$URL" --to "$T/store" --limit 1
    [ "$status" -eq 0 ]
    [ -s "$T/store/videos/index-1.mp4" ]
    [ ! -e "$T/pwned" ]
}

# A channel whose JSON is hostile, as a site could make it: yt-dlp's part is
# played by a script that logs how it was called and answers with that JSON.
hostile_ytdlp() {
    mkdir -p "$T/bin"
    cat >"$T/bin/yt-dlp" <<SH
#!/bin/bash
{ printf 'ARGS'; printf ' [%s]' "\$@"; echo; env | sed 's/^/ENV /'; } >>"$T/calls"
case " \$* " in
*" --flat-playlist "*)
    echo '{"id": "chan", "entries": [
        {"id": "../../victim", "url": "http://127.0.0.1:1/a"},
        {"id": "evil", "url": "--exec=touch $T/pwned"},
        {"id": "local", "url": "file:///etc/passwd"}]}' ;;
*)  echo '{"id": "../../victim", "ext": "mp4", "title": "t"}' ;;
esac
SH
    chmod +x "$T/bin/yt-dlp"
}

@test "a hostile channel: only http(s) URLs after '--', files only in the scratch folder, a scrubbed environment" {
    hostile_ytdlp
    mkdir -p "$T/tmp/a"
    echo precious >"$T/tmp/victim.mp4"
    run env TMPDIR="$T/tmp/a" AWS_SECRET_ACCESS_KEY=topsecret \
        CS_INGEST_TOKEN=tok3n timeout 60 cs-fetch scrape "$URL" \
        --to "$T/store" --yt-dlp "$T/bin/yt-dlp"
    echo "$output"
    cat "$T/calls"
    # the id that climbs out of the scratch folder is refused, not uploaded
    # and not removed
    [ "$(cat "$T/tmp/victim.mp4")" = precious ]
    [ ! -e "$T/store/videos/victim.mp4" ]
    [ -z "$(ls "$T/tmp/a")" ]
    [[ "$output" == *"'../../victim': not a file name yt-dlp makes in"* ]]
    # the other entries never reach yt-dlp
    [[ "$output" == *"skipping 'evil': '--exec=touch $T/pwned' is not an http(s) URL"* ]]
    [[ "$output" == *"skipping 'local': 'file:///etc/passwd' is not an http(s) URL"* ]]
    run ! grep -q -e '--exec' -e 'file:' <(grep '^ARGS' "$T/calls")
    [ "$(grep -c '^ARGS' "$T/calls")" -eq 2 ]
    # every call: no config file, and the URL after "--"
    [ "$(grep -c '^ARGS \[--ignore-config\] .* \[--\] \[http://127\.0\.0\.1:[0-9]*/[a-z.]*\]$' "$T/calls")" -eq 2 ]
    # no credential in yt-dlp's environment
    run ! grep -q -e topsecret -e tok3n "$T/calls"
    grep -q '^ENV PATH=' "$T/calls"
    [ ! -e "$T/pwned" ]
}
