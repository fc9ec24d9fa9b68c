#!/bin/bash
# bench/serve.sh: cs-serve against nginx serving the same segment folder
# (wrk, same connections and threads), as ratios of the best of ROUNDS runs
# each, taken in turn; then how many blocked LL-HLS requests cs-serve
# holds, with what memory each, and how soon after the part lands they
# are all answered.
#
#   [CS_SERVE=PROGRAM] bench/serve.sh [SECONDS] [CONNECTIONS] [BLOCKED] [ROUNDS]
#
# SECONDS 0: the blocked requests only.
# All the load comes from 127.0.0.1, as a crowd of players would from many
# addresses: cs-serve's per-address limit is raised to let it in, as nginx
# has none. Not a test: it prints figures (with the load average, as the
# machine may be shared). Needs wrk, nginx, python3 and a build.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
conns=${2:-100}
blocked=${3:-10000}
rounds=${4:-3}
bin=${CS_SERVE:-$PWD/bin/cs-serve}  # CS_SERVE: another build to measure
llhls=$PWD/tests/tools/llhls.py
work=$(mktemp -d /tmp/cs-bench-serve.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() {
    for _ in $(seq 50); do
        (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
# CPU clock ticks (user and system) of the processes PID..., all threads
ticks() {
    local t=0 f
    for p in "$@"; do
        for f in /proc/"$p"/task/*/stat; do
            t=$((t + $(awk '{ print $14 + $15 }' "$f")))
        done
    done
    echo "$t"
}
# URL PID... -> "requests/s CPU-microseconds/request" of one wrk run: the
# second does not depend on how much of a shared machine the server got
rps() {
    local url=$1 t0 t1 out
    shift
    t0=$(ticks "$@")
    out=$(wrk -t2 -c"$conns" -d"${secs}s" "$url")
    t1=$(ticks "$@")
    awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" '
        / requests in / { n = $1 }
        /^Requests\/sec/ { r = $2 }
        END { printf "%s %.1f\n", r, n ? t * 1e6 / hz / n : 0 }' <<<"$out"
}

# the folder: an LL-HLS rendition plus a 1 MB segment
root=$work/root
python3 "$llhls" write "$root/s/v0" 60
head -c 1048576 /dev/urandom >"$root/s/v0/big.m4s"
chmod -R a+rX "$root"

cp=$(port)
"$bin" --root "$root" --listen "127.0.0.1:$cp" -q \
    --max-connections $((2 * (conns + blocked))) \
    --max-per-address $((conns + blocked + 100)) --max-blocked "$blocked" &
pids+=($!)
spid=$!
wait_port "$cp"

np=$(port)
mkdir -p "$work/nginx"
user=""
[ "$(id -u)" = 0 ] && user="user root;"
cat >"$work/nginx/nginx.conf" <<EOC
$user
worker_processes 2;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log error;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    open_file_cache max=1000 inactive=20s;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    types { application/vnd.apple.mpegurl m3u8; video/iso.segment m4s; }
    server {
        listen 127.0.0.1:$np;
        root $root;
        add_header Cache-Control "public, max-age=1";
        add_header Access-Control-Allow-Origin "*";
    }
}
EOC
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
pids+=($!)
ngpid=$!
wait_port "$np"

max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (b > 0 && (a == 0 || b < a) ? b : a) }'; }
npids="$ngpid $(pgrep -d' ' -P "$ngpid" || true)"

echo "# wrk -t2 -c$conns -d${secs}s, cs-serve --threads 2 vs nginx" \
    "worker_processes 2, best of $rounds each, in turn; ratios cs-serve/nginx"
echo "# (requests/s: higher is better; CPU a request: lower is better)"
echo "# load before: $(uptime | sed 's/.*load average/load average/')"
files="s/v0/index.m3u8 s/v0/3.2.m4s s/v0/big.m4s"
[ "$secs" = 0 ] && files=""
for f in $files; do
    a=0 b=0 ca=0 cb=0
    for _ in $(seq "$rounds"); do
        read -r r c < <(rps "http://127.0.0.1:$cp/$f" "$spid")
        a=$(max "$a" "$r") ca=$(min "$ca" "$c")
        # shellcheck disable=SC2086 # the workers' pids, one word each
        read -r r c < <(rps "http://127.0.0.1:$np/$f" $npids)
        b=$(max "$b" "$r") cb=$(min "$cb" "$c")
    done
    printf '%-16s cs-serve %8.0f req/s %6.1f us CPU/req   nginx %8.0f req/s %6.1f us CPU/req   ratio %.2f, CPU a request %.2f\n' \
        "$f" "$a" "$ca" "$b" "$cb" "$(echo "$a / $b" | bc -l)" \
        "$(echo "$ca / $cb" | bc -l)"
done
echo "# load after: $(uptime | sed 's/.*load average/load average/')"

rss() { awk '/^VmRSS/ { print $2 }' "/proc/$spid/status"; }
# Wait (up to 30 s) until the server holds N blocked requests or more;
# print the most it was seen holding.
held() {
    local n=0 v
    for _ in $(seq 300); do
        v=$(curl -s "http://127.0.0.1:$cp/metrics" |
            awk '/^cs_serve_blocked_requests /{ print $2 }')
        [ "${v:-0}" -gt "$n" ] && n=$v   # a poll unanswered is not a drop
        [ "$n" -ge "$1" ] && break
        sleep 0.1
    done
    echo "$n"
}
answered() {  # playlist responses queued so far (not /metrics itself)
    curl -s "http://127.0.0.1:$cp/metrics" |
        awk '$1 == "cs_serve_requests_total{kind=\"playlist\"}" { print $2 }'
}
# Land the next part from FOLDER (the part, then the playlist naming it)
# and print when all N held requests had their answers queued, in ms
# after the part landed, and the server's CPU time meanwhile, in ms.
land() {
    local from=$1 part=$2 n=$3 r0 a landed queued c0 c1
    r0=$(answered)
    c0=$(ticks "$spid")
    mv "$from/$part" "$root/b/v0/$part"
    mv "$from/index.m3u8" "$root/b/v0/index.m3u8"
    # the part has landed when the playlist naming it is in place (its
    # ctime); the server's side: when its count of answers has them all
    # (polled, so late by up to one poll; the client's figures add its
    # own reading)
    landed=$(stat -c %.9Z "$root/b/v0/index.m3u8")
    for _ in $(seq 1000); do
        a=$(answered)
        [ "${a:-0}" -ge $((${r0:-0} + n)) ] && break
        sleep 0.01
    done
    queued=$(date +%s.%N)
    c1=$(ticks "$spid")
    echo "$landed $(echo "($queued - $landed) * 1000" | bc -l)" \
        $(((c1 - c0) * 1000 / $(getconf CLK_TCK)))
}
client() {  # the client's view of answer KEY (.done_at or .next.done_at)
    jq -r --argjson t "$2" '"answers: \('"$1"'.codes | tojson); after the part " +
        "landed (client included): first \(('"$1"'.done_at.p0 - $t) * 1000 | round) ms, " +
        "median \(('"$1"'.done_at.p50 - $t) * 1000 | round) ms, p90 " +
        "\(('"$1"'.done_at.p90 - $t) * 1000 | round) ms, p99 " +
        "\(('"$1"'.done_at.p99 - $t) * 1000 | round) ms, last " +
        "\(('"$1"'.done_at.p100 - $t) * 1000 | round) ms"' "$work/many"
}

echo "# $blocked blocked requests (_HLS_msn/_HLS_part for the next part), each"
echo "# on a connection of its own, kept alive for a second blocked request"
echo "# (a player following the playlist: what every part costs afterwards)"
rm -rf "$root/b" "$work/next" "$work/next2"
LLHLS_PPS=50 python3 "$llhls" write "$root/b/v0" 120
# the next versions made beforehand, so that each lands with two renames
# (the part, then the playlist) and not with a python start on the clock
LLHLS_PPS=50 python3 "$llhls" write "$work/next" 121
LLHLS_PPS=50 python3 "$llhls" write "$work/next2" 122
curl -s "http://127.0.0.1:$cp/b/v0/index.m3u8" >/dev/null
before=$(rss)
LLHLS_PPS=50 python3 "$llhls" many \
    "http://127.0.0.1:$cp/b/v0/index.m3u8?_HLS_msn=2&_HLS_part=20" "$blocked" \
    --timeout 60 --next \
    "http://127.0.0.1:$cp/b/v0/index.m3u8?_HLS_msn=2&_HLS_part=21" >"$work/many" &
mpid=$!
t0=$(date +%s.%N)
c0=$(ticks "$spid")
n=$(held "$blocked")
t1=$(date +%s.%N)
cgather=$((($(ticks "$spid") - c0) * 1000 / $(getconf CLK_TCK)))
during=$(rss)
[ "$n" -gt 0 ] || { echo "no request held"; exit 1; }
read -r landed1 ms1 cpu1 < <(land "$work/next" 2.20.m4s "$n")
n2=$(held "$n")
during2=$(rss)
read -r landed2 ms2 cpu2 < <(land "$work/next2" 2.21.m4s "$n2")
wait "$mpid"
printf 'first request: held %s (gathered in %.1f s, server CPU %d ms); RSS %d KiB -> %d KiB (%.2f KiB a request)\n' \
    "$n" "$(echo "$t1 - $t0" | bc -l)" "$cgather" "$before" "$during" \
    "$(echo "($during - $before) / $n" | bc -l)"
printf 'server: all %s answers queued within %.0f ms of the part landing (server CPU meanwhile %d ms)\n' "$n" "$ms1" "$cpu1"
client "" "$landed1"
printf 'next request, same connections: held %s; RSS %d KiB (%.2f KiB a connection)\n' \
    "$n2" "$during2" "$(echo "($during2 - $before) / $n2" | bc -l)"
printf 'server: all %s answers queued within %.0f ms of the part landing (server CPU meanwhile %d ms)\n' "$n2" "$ms2" "$cpu2"
client ".next" "$landed2"
echo "# load: $(uptime | sed 's/.*load average/load average/')"
