#!/usr/bin/env bats
# cs-segment killed on purpose (issue 14, fault test 1): SIGKILL at
# CS_FAULT_RUNS random moments of a live run (10 in `make check`, 50 in
# `make faults`), restarted each time on the same output.
# After every restart the output is a valid LL-HLS set, no published
# segment or init file is ever rewritten, and the media sequence never
# goes back.

load helper
load segment

setup_file() {
    export LIVE=$BATS_FILE_TMPDIR/live.ts
    ladder_input "$LIVE" 20
}

teardown() {
    stop_live
}

# md5 of every whole segment and init file under DIR, one a line.
published() {
    (cd "$1" && find . -regextype posix-extended \
        \( -regex '\./[^/]+/[0-9]+\.m4s' -o -regex '\./[^/]+/init(-[0-9]+)?\.mp4' \) \
        -exec md5sum {} + | sort -k2)
}

# md5 of each media playlist, one a line (a missing one: "-").
playlists_md5() {
    local d
    for d in v0 v1 v2 audio; do
        { md5sum <"$T/o/$d/index.m3u8" || echo -; } 2>/dev/null | cut -d' ' -f1
    done
}

# True when every media playlist differs from the md5s in $1.
changed() {
    paste -d' ' <(echo "$1") <(playlists_md5) |
        awk '$1 == $2 || $2 == "-" { bad = 1 } END { exit bad }'
}

@test "kill -9 at random moments, a restart after each: valid LL-HLS every time, nothing rewritten, the sequence never goes back" {
    local msn=0 prev=0 plmd5 kills="" checked=0 runs=${CS_FAULT_RUNS:-10}
    : >"$T/published.md5"
    for i in $(seq "$runs"); do
        plmd5=$(playlists_md5)
        live_segment "$LIVE" -o "$T/o" --window 6 --part 0.3 --segment 1
        # the restarted run has published (its playlist changed): the
        # output is checked (none yet when every run so far was killed
        # before its first part)
        for _ in $(seq 150); do
            changed "$plmd5" && break
            sleep 0.1
        done
        if [ "$i" -gt 1 ] && [ -e "$T/o/v0/index.m3u8" ]; then
            checked=$((checked + 1))
            snapshot "$T/o" "$T/s"
            run check_ll "$T/s"
            [ "$status" -eq 0 ] || { echo "restart $i: $output"; cat "$T/s/v0/index.m3u8"; ls "$T/o/v0" "$T/s/v0" | tr "\n" " "; cat "$T/seg.err"; false; }
            msn=$(sed -n 's/^#EXT-X-MEDIA-SEQUENCE://p' "$T/s/v0/index.m3u8")
            [ "$msn" -ge "$prev" ] || { echo "restart $i: media sequence $prev then $msn"; false; }
            prev=$msn
            # what the killed runs published is as it was (or deleted
            # after it left the window)
            (cd "$T/o" && md5sum -c --quiet --ignore-missing "$T/published.md5") || {
                echo "restart $i: a published file was rewritten"; false; }
        fi
        # a random moment: 0.1 to 2.5 s on
        t=$(( (RANDOM % 25) + 1 ))
        kills="$kills $t"
        sleep "$((t / 10)).$((t % 10))"
        kill_live
        published "$T/o" >>"$T/published.md5"
        sort -u -k2 "$T/published.md5" -o "$T/published.md5"
    done
    echo "kill moments (tenths of a second after start):$kills"
    echo "media sequence at the end: $msn; restarts checked: $checked"
    [ "$msn" -gt 0 ]
    # most restarts publish before the next kill (0.1 s kills may not)
    [ "$checked" -ge $((runs * 4 / 5)) ]
    # nothing was written twice under one name: each name has one md5
    [ "$(awk '{print $2}' "$T/published.md5" | uniq -d | wc -l)" -eq 0 ]
    run parse_check "$T/s"
    echo "$output"
    [ "$status" -eq 0 ]
}
