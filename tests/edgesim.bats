#!/usr/bin/env bats
# The origin/edge tier, simulated with network namespaces (tests/edgesim.bash):
# one channel PUT to two origins (cs-segment -o twice), two nginx edges
# with examples/nginx/edge.conf over both, 100 LL-HLS clients split over
# the edges; one origin is killed mid-run and comes back. Needs root (ip
# netns), nginx and node; about 80 s. bench/edgesim.sh runs it longer.

load helper
load edgesim

setup() {
    [ "$(id -u)" -eq 0 ] || skip "needs root for ip netns"
    command -v nginx >/dev/null || skip "needs nginx"
    ES=cses$$
    ES_DIR=$T/es
    ES_REPO=$REPO
    ES_TOKEN=edgesim-$RANDOM$RANDOM
    es_setup
}

teardown() {
    es_teardown
    run ip netns list
    [[ "$output" != *"$ES-"* ]]
}

@test "100 LL-HLS clients over two edges: an origin killed mid-run costs no client a part or more than a segment, and takes traffic again when it comes back" {
    local secs=45 restart o1_before
    es_tier $((secs + 25))
    es_clients 100 "$secs"
    sleep 12
    # o1 dies; what it answered so far is read first (a new process
    # counts from 0)
    o1_before=$(es_origin_requests o1 part)
    # shellcheck disable=SC2154 # set by es_origin (tests/edgesim.bash)
    kill -9 "$ES_PID_o1"
    wait "$ES_PID_o1" 2>/dev/null || true
    sleep 13
    restart=$(date +%s.%N)
    es_origin o1
    # shellcheck disable=SC2154 # set by es_clients
    wait "$ES_PID_clients"
    es_figures "$restart" | tee "$ES_DIR/figures.txt" >&3
    echo "o1_part_requests_before_kill $o1_before" >&3
    cat "$ES_DIR/clients.json"
    cat "$ES_DIR/seg.err"

    # No client failed, none skipped a part, none waited longer than one
    # segment between two parts; every client kept up.
    jq -e '.errors == 0 and .skipped_parts == 0' "$ES_DIR/clients.json"
    jq -e --argjson s "$ES_SEGMENT" '.max_gap_s <= $s' "$ES_DIR/clients.json"
    jq -e --argjson n "$secs" --argjson p "$ES_PART" \
        '.min_parts_per_client >= ($n / $p / 2)' "$ES_DIR/clients.json"
    # Both origins served parts before the kill.
    [ "$o1_before" -gt 0 ]
    # The packager said once that o1 was gone and once that it was back,
    # and kept feeding o2 (it is still running).
    [ "$(grep -c "going on with the other outputs" "$ES_DIR/seg.err")" -eq 1 ]
    grep -q "'http://$(es_addr o1):8080/live/': writing again" "$ES_DIR/seg.err"
    # The restarted o1 answers the edges again: their logs name it after
    # the restart, and the new process counted part requests. (Which
    # kind reaches which origin is the edges' round robin: with parts and
    # playlists alternating, one origin may get all the parts.)
    [ "$(awk '$1 == "o1_requests_since" { print $2 }' "$ES_DIR/figures.txt")" -gt 0 ]
    [ "$(( $(es_origin_requests o1 part) + $(es_origin_requests o1 playlist) ))" -gt 0 ]
    # Request collapsing: the origins saw far fewer part requests than
    # the clients made (at most one per edge per part, give or take
    # the failover).
    jq -e '.parts > 0' "$ES_DIR/clients.json"
    awk '$1 == "origin_part_requests_per_part" { exit !($2 <= 4) }' \
        "$ES_DIR/figures.txt"
}
