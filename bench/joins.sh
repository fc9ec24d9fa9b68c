#!/bin/bash
# The channel's joins at length: N short clips (default 1000; 0.2 to 2 s,
# 10 to 60 fps with 30000/1001 and 179/6, mixed sizes, AAC, Opus or no
# audio) played in random order through
#   cs-fetch play | cs-decode --playlist - | cs-encode
# unpaced, and every join checked (tests/tools/joins.py check): video steps
# of one frame, each clip's picture within two frames of the sum of the
# clips before it, its audio within one frame of its picture, the end
# within two frames of the sum, the audio's end within one frame of the
# video's. Prints the measures (the worst join) as JSON; exits 1 on a
# failed check. The clips are kept in DIR (default bench/.joins-N) and
# reused. Not a test (tests/joins.bats is the short one).
# Usage: bench/joins.sh [N] [FPS] [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000} fps=${2:-30} dir=${3:-bench/.joins-$n}
tools=tests/tools/joins.py
if [ ! -s "$dir/clips.json" ]; then
    echo "making $n clips in $dir" >&2
    python3 "$tools" make "$dir" "$n" --seed "$n"
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
t0=$(date +%s.%N)
bin/cs-fetch play --ahead 0 "$dir" | tee "$out/order" |
    bin/cs-decode --playlist - --size 192x108 --fps "$fps" |
    bin/cs-encode --preset ultrafast --bitrate 500k -o "$out/out.ts"
t1=$(date +%s.%N)
echo "played $(wc -l <"$out/order") clips in $(echo "$t1 - $t0" | bc) s" \
    "(load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
python3 "$tools" check "$out/out.ts" "$dir/clips.json" "$out/order" \
    --fps "$fps" --expect "$n"
