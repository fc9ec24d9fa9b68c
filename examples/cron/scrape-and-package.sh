#!/bin/bash
# Scrape the channel's new videos into the store, then package each video
# that has no VOD yet into renditions: cs-ladder (MPEG-TS with every rung
# on stdout) into cs-segment --vod.
#
# Environment: CS_CHANNEL (default the cat channel), CS_STORE (s3://... or a
# folder, default ./assets), CS_VOD (where the VOD folders go, default
# ./vod; an s3:// location is written by cs-segment itself), CS_WORK (a
# scratch folder, default /var/tmp/livestreamx), and the AWS_* variables.
set -euo pipefail

channel=${CS_CHANNEL:-https://www.youtube.com/user/niiyan1216}
store=${CS_STORE:-./assets}
vod=${CS_VOD:-./vod}
work=${CS_WORK:-/var/tmp/livestreamx}
mkdir -p "$work"

exec 9>"$work/.lock"
flock -n 9 || { echo "another run holds $work/.lock" >&2; exit 0; }

# 1. new videos into the store (status 4: the site is down; try tomorrow)
cs-fetch scrape "$channel" --to "$store" --rate 4M

# 2. package each video of the index that has no VOD yet
cs-fetch get "$store/index.json" "$work/index.json"
python3 -c '
import json, sys
for v in json.load(open(sys.argv[1]))["videos"]:
    print(v["id"], v["key"])
' "$work/index.json" | while read -r id key; do
    [ -e "$work/done/$id" ] && continue
    cs-fetch get "$store/$key" "$work/$id.mp4"
    if cs-ladder "$work/$id.mp4" | cs-segment --vod - -o "$vod/$id"; then
        mkdir -p "$work/done" && touch "$work/done/$id"
    else
        echo "packaging '$id' failed; it is retried tomorrow" >&2
    fi
    rm -f "$work/$id.mp4"
done
