#!/bin/bash
# Download and upload throughput of cs-fetch against curl (--aws-sigv4) on
# the same object, with s3rver on loopback. Prints MB/s and the ratio
# cs-fetch / curl (above 1: cs-fetch is faster). Not a test.
# Usage: bench/fetch.sh [SIZE_MB] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-64} runs=${2:-3}
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
node --openssl-legacy-provider node_modules/s3rver/bin/s3rver.js \
    -a 127.0.0.1 -p "$port" -d "$tmp/s3" -s --configure-bucket bench \
    >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:$port
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
head -c $((size << 20)) /dev/urandom >"$tmp/obj"
url=$AWS_ENDPOINT_URL/bench/obj
sig=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "S3RVER:S3RVER")

best() { # command...: the fastest of $runs runs, in seconds
    local b=999999 t0 t
    for _ in $(seq "$runs"); do
        t0=$(date +%s.%N)
        "$@" >/dev/null
        t=$(echo "$(date +%s.%N) - $t0" | bc)
        b=$(echo "if ($t < $b) $t else $b" | bc)
    done
    echo "$b"
}
# curl needs the payload's SHA-256 from outside: computing it is part of
# its upload, as it is of cs-fetch's (which also sends Content-MD5)
curl_put() {
    curl -sf "${sig[@]}" -T "$tmp/obj" "$url" \
        -H "x-amz-content-sha256: $(sha256sum "$tmp/obj" | cut -d' ' -f1)"
}
put_curl=$(best curl_put)
put_cs=$(best bin/cs-fetch --part-size 1G put "$tmp/obj" s3://bench/obj)
get_curl=$(best curl -sf "${sig[@]}" -H "x-amz-content-sha256: $(printf '' | sha256sum | cut -d' ' -f1)" -o "$tmp/c.out" "$url")
get_cs=$(best bin/cs-fetch get s3://bench/obj "$tmp/f.out")
cmp "$tmp/c.out" "$tmp/f.out"
rate() { echo "scale=1; $size / $1" | bc; }
printf 'object: %d MiB, best of %d, s3rver on 127.0.0.1 (ratio: cs-fetch speed / curl speed)\n' "$size" "$runs"
printf 'upload:   cs-fetch %6s MB/s   curl %6s MB/s   ratio %s\n' \
    "$(rate "$put_cs")" "$(rate "$put_curl")" "$(echo "scale=2; $put_curl / $put_cs" | bc)"
printf 'download: cs-fetch %6s MB/s   curl %6s MB/s   ratio %s\n' \
    "$(rate "$get_cs")" "$(rate "$get_curl")" "$(echo "scale=2; $get_curl / $get_cs" | bc)"
