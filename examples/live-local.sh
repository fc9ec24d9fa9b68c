#!/bin/bash
# The whole live cat channel on this machine (what `make demo` runs): the
# emitter (cs-fetch play | cs-decode --realtime --stamp | cs-encode |
# cs-send) and the ingest server (cs-recv | cs-ladder | cs-segment;
# cs-serve), then the URL of the player page. Ctrl-C stops everything.
#
#   examples/live-local.sh [--store STORE] [--port N] [--http HOST:PORT]
#                          [--transport srt|rtmp] [--seconds N]
#
# Settings (options or environment): CS_STORE (a folder or s3://bucket/
# prefix with the usual AWS variables; default ./demo/assets, filled with
# synthetic clips when empty), CS_PORT (9000 for SRT, 1935 for RTMP),
# CS_HTTP (127.0.0.1:8080), CS_TRANSPORT (srt), CS_WHEP (127.0.0.1:8889,
# the WHEP endpoint WebRTC viewers play, fed by a second emitter with Opus
# audio; empty: none), CS_DEMO_SECONDS
# (stop by itself after N seconds; 0: run until Ctrl-C).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

transport=${CS_TRANSPORT:-srt}
port=${CS_PORT:-}
http=${CS_HTTP:-127.0.0.1:8080}
seconds=${CS_DEMO_SECONDS:-0}
export CS_WHEP=${CS_WHEP-127.0.0.1:8889}
export CS_STORE=${CS_STORE:-demo/assets}
while [ $# -gt 0 ]; do
    case $1 in
    --store) CS_STORE=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --http) http=$2; shift 2 ;;
    --transport) transport=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) say "unknown option '$1'"; exit 2 ;;
    esac
done
case $transport in
srt) port=${port:-9000}
     recv="srt://:$port?mode=listener"
     send="srt://127.0.0.1:$port" ;;
rtmp) port=${port:-1935}
      recv="rtmp://127.0.0.1:$port/live/demo?listen=1"
      send="rtmp://127.0.0.1:$port/live/demo" ;;
*) say "unknown transport '$transport': srt or rtmp"; exit 2 ;;
esac

root=demo/www
rm -rf "$root/live"
sleeper=''
trap 'say stopping; [ -z "$sleeper" ] || kill "$sleeper" 2>/dev/null; stop_all; exit 0' INT TERM
CS_RECV_URL=$recv CS_HTTP=$http CS_ROOT=$root start_bg ingest-server "'$here/ingest-server.sh'"
sleep 1
CS_SEND_URL=$send start_bg emitter "'$here/emitter.sh'"

if wait_for "$root/live/master.m3u8" 60; then
    say "live: http://$http/live/   (Ctrl-C to stop)"
else
    say "no playlist after 60 s; see the messages above"
fi
# WebRTC viewers: a second emitter (the clips exist by now), with Opus
# audio (WebRTC carries no AAC), into cs-send's WHEP endpoint.
if [ -n "$CS_WHEP" ]; then
    CS_SEND_URL="whep://$CS_WHEP/live?mode=listener" CS_AUDIO=opus \
        start_bg webrtc-emitter "'$here/emitter.sh'"
    say "webrtc: http://$http/live/?whep=http://$CS_WHEP/live"
fi
if [ "$seconds" -gt 0 ]; then
    # in the background: a TERM is taken at once, not after the sleep
    sleep "$seconds" &
    sleeper=$!
    wait "$sleeper"
    say "stopping after $seconds s"
    stop_all
    exit 0
fi
wait
