#!/bin/sh
# Print examples/nginx/edge.conf with its listen address and upstream
# servers replaced: the one edge configuration, adapted for deploy/.
#   deploy/edge-conf.sh LISTEN CACHE_PATH ORIGIN...
# e.g. deploy/edge-conf.sh 0.0.0.0:8081 /var/cache/nginx/cs-edge cs-origin:8080
# tests/deploy.bats checks that the copies in deploy/ equal its output.
set -eu
[ $# -ge 3 ] || { echo "usage: $0 LISTEN CACHE_PATH ORIGIN..." >&2; exit 2; }
listen=$1 cache=$2
shift 2
servers=""
for o in "$@"; do
    servers="$servers${servers:+\\n}    server $o max_fails=1 fail_timeout=2s;"
done
cd "$(dirname "$0")/.."
sed -e "s|^    listen 127.0.0.1:8081;|    listen $listen;|" \
    -e "s|^proxy_cache_path /var/cache/nginx/cs-edge |proxy_cache_path $cache |" \
    -e "s|^    server 127.0.0.1:8080;|$servers|" \
    -e "/^    # server 127.0.0.1:8082;/d" examples/nginx/edge.conf
