#!/bin/bash
# The ingest server: receive a live MPEG-TS (SRT or RTMP), make an aligned
# ladder, package LL-HLS and DASH over CMAF, serve it. Any SRT or RTMP
# sender works against it (cs-send, OBS, ffmpeg). Runs until Ctrl-C.
#
#   examples/ingest-server.sh [--from URL] [--http HOST:PORT] [--root DIR]
#                             [--rungs LIST]
#
# Settings (options or environment): CS_RECV_URL (default
# 'srt://:9000?mode=listener'; for RTMP 'rtmp://127.0.0.1:1935/live/KEY'),
# CS_HTTP (127.0.0.1:8080), CS_ROOT (./demo/www; the stream is ROOT/live),
# CS_RUNGS (360p:800k,270p:450k,180p:250k).
set -eu
. "$(dirname "$0")/lib.sh"

from=${CS_RECV_URL:-srt://:9000?mode=listener}
http=${CS_HTTP:-127.0.0.1:8080}
root=${CS_ROOT:-demo/www}
rungs=${CS_RUNGS:-360p:800k,270p:450k,180p:250k}
while [ $# -gt 0 ]; do
    case $1 in
    --from) from=$2; shift 2 ;;
    --http) http=$2; shift 2 ;;
    --root) root=$2; shift 2 ;;
    --rungs) rungs=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) say "unknown option '$1'"; exit 2 ;;
    esac
done
mkdir -p "$root/live"

trap 'stop_all; exit 0' INT TERM
start_bg origin "cs-serve --root '$root' --listen '$http'"
start_bg ingest "cs-recv '$from' |
    cs-ladder --rungs '$rungs' --tune zerolatency --gop 1 --preset veryfast |
    cs-segment --segment 2 -o '$root/live'"
say "receiving on $from; player at http://$http/live/"
wait
