#!/bin/bash
# bench/edgesim.sh: the origin/edge tier of tests/edgesim.bats for longer
# runs and more viewers: one channel PUT to two origins, two nginx edges
# over both, CLIENTS LL-HLS clients split over the edges, in network
# namespaces; origin 1 is killed at KILL_AT seconds into the run and
# started again DOWN_FOR seconds later (KILL_AT 0: no kill).
#
#   sudo bench/edgesim.sh [SECONDS] [CLIENTS] [KILL_AT] [DOWN_FOR]
#
# Not a test: it prints figures as "name value" lines (origin requests per
# part, edge hit ratio, part delivery delay p50/p95 from the origin to the
# clients, the clients' worst gap between two parts, errors) and the
# clients' JSON report. Needs root, nginx, node, ffmpeg and a build.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-120}
clients=${2:-100}
kill_at=${3:-30}
down_for=${4:-15}
[ "$(id -u)" -eq 0 ] || { echo "edgesim.sh: needs root (ip netns)" >&2; exit 2; }
if [ "$kill_at" -gt 0 ] && [ $((kill_at + down_for)) -ge "$secs" ]; then
    echo "edgesim.sh: KILL_AT + DOWN_FOR must be less than SECONDS" >&2
    exit 2
fi
PATH=$PWD/bin:$PATH
ES=csb$$
ES_REPO=$PWD
ES_DIR=$(mktemp -d /tmp/cs-bench-edgesim.XXXXXX)
ES_TOKEN=bench-$RANDOM$RANDOM
# shellcheck source=tests/edgesim.bash
. tests/edgesim.bash
cleanup() {
    es_teardown
    rm -rf "$ES_DIR"
}
trap cleanup EXIT
es_setup
es_tier $((secs + 25))
es_clients "$clients" "$secs"
since=0
if [ "$kill_at" -gt 0 ]; then
    sleep "$kill_at"
    echo "o1_part_requests_before_kill $(es_origin_requests o1 part)"
    kill -9 "$ES_PID_o1"
    wait "$ES_PID_o1" 2>/dev/null || true
    sleep "$down_for"
    since=$(date +%s.%N)
    es_origin o1
fi
wait "$ES_PID_clients" || true
echo "clients $clients"
echo "seconds $secs"
es_figures "$since"
grep -h . "$ES_DIR/seg.err" >&2 || true
cat "$ES_DIR/clients.json"
