#!/bin/bash
# The emitter: an asset store played in random order as one live stream,
# stamped with the wall clock, encoded for low latency, sent to an ingest
# server. Runs until Ctrl-C.
#
#   examples/emitter.sh [--store STORE] [--to URL] [--size WxH] [--fps N]
#                       [--bitrate RATE] [--audio aac|opus]
#
# Settings (options or environment): CS_STORE (a folder or s3://bucket/prefix,
# default ./demo/assets, filled with synthetic clips if empty), CS_SEND_URL
# (default srt://127.0.0.1:9000), CS_SIZE (640x360), CS_FPS (25),
# CS_BITRATE (1500k), CS_AUDIO (aac; opus for WebRTC, which carries no
# AAC), CS_CACHE (downloads from S3, ./demo/cache).
set -eu
. "$(dirname "$0")/lib.sh"

store=${CS_STORE:-demo/assets}
url=${CS_SEND_URL:-srt://127.0.0.1:9000}
size=${CS_SIZE:-640x360}
fps=${CS_FPS:-25}
bitrate=${CS_BITRATE:-1500k}
audio=${CS_AUDIO:-aac}
cache=${CS_CACHE:-demo/cache}
while [ $# -gt 0 ]; do
    case $1 in
    --store) store=$2; shift 2 ;;
    --to) url=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --fps) fps=$2; shift 2 ;;
    --bitrate) bitrate=$2; shift 2 ;;
    --audio) audio=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) say "unknown option '$1'"; exit 2 ;;
    esac
done

case $store in
s3://*) ;;
*) [ -n "$(ls -A "$store" 2>/dev/null)" ] || { say "making clips in '$store'"; make_clips "$store"; } ;;
esac
mkdir -p "$cache"

trap 'stop_all; exit 0' INT TERM
start_bg emitter "cs-fetch play --loop --cache '$cache' '$store' |
    cs-decode --playlist - --size $size --fps $fps --realtime --stamp |
    cs-encode --tune zerolatency --bitrate $bitrate --gop 1 --audio $audio |
    cs-send --retry forever '$url'"
say "sending to $url"
wait
