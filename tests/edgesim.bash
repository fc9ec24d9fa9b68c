# The origin/edge tier on one machine, shared by tests/edgesim.bats and
# bench/edgesim.sh: network namespaces for an ingest host, two origins, two
# edges and the viewers, each joined by a veth pair to a bridge that lives
# in a namespace of its own (nothing is added to the machine's own network).
#
#   ingest (cs-segment -o origin1 -o origin2)
#     -> origin1, origin2 (cs-serve, PUT ingest)
#       -> edge1, edge2 (nginx with examples/nginx/edge.conf, both origins
#          as upstreams)
#         -> viewers (tests/tools/llhls-clients.mjs)
#
# Set before use: ES (a unique short prefix: namespace names), ES_DIR (a
# work folder), ES_REPO (the repository), and cs-segment and cs-serve on
# PATH. es_teardown removes every namespace named $ES-* and is safe to call
# twice.

ES_NET=10.213.7
ES_HOSTS="lan in o1 o2 e1 e2 cl"
ES_SEGMENT=2
ES_PART=0.5
ES_PIDS=()

es_addr() {
    case $1 in
    in) echo "$ES_NET.1" ;;
    o1) echo "$ES_NET.11" ;;
    o2) echo "$ES_NET.12" ;;
    e1) echo "$ES_NET.21" ;;
    e2) echo "$ES_NET.22" ;;
    cl) echo "$ES_NET.31" ;;
    esac
}

# Run a command in host $1's namespace.
es_in() {
    local host=$1
    shift
    ip netns exec "$ES-$host" "$@"
}

# Start a command in host $1's namespace in the background, its pid (the
# command's own: ip execs it) last in ES_PIDS and in ES_LAST.
es_spawn() {
    local host=$1
    shift
    ip netns exec "$ES-$host" "$@" &
    ES_LAST=$!
    ES_PIDS+=("$ES_LAST")
}

es_setup() {
    local h
    mkdir -p "$ES_DIR"
    ip netns add "$ES-lan"
    ip -n "$ES-lan" link add br0 type bridge
    ip -n "$ES-lan" link set br0 up
    ip -n "$ES-lan" link set lo up
    for h in in o1 o2 e1 e2 cl; do
        ip netns add "$ES-$h"
        ip -n "$ES-$h" link add eth0 type veth peer name "$h" netns "$ES-lan"
        ip -n "$ES-$h" addr add "$(es_addr "$h")/24" dev eth0
        ip -n "$ES-$h" link set eth0 up
        ip -n "$ES-$h" link set lo up
        ip -n "$ES-lan" link set "$h" master br0 up
    done
}

# Stop what es_* started (by pid), then delete the namespaces.
es_teardown() {
    local p h
    for p in "${ES_PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${ES_PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    ES_PIDS=()
    for h in $ES_HOSTS; do
        ip netns del "$ES-$h" 2>/dev/null || true
    done
}

# Wait until host $1 accepts TCP on $2 (address:port), 10 s at most.
es_wait_port() {
    local i
    for i in $(seq 100); do
        es_in "$1" bash -c "exec 3<>/dev/tcp/${2%:*}/${2#*:}" 2>/dev/null &&
            return 0
        sleep 0.1
    done
    echo "edgesim: '$2' does not answer in $1" >&2
    return 1
}

# Start cs-serve on origin $1 (o1 or o2), its files in $ES_DIR/$1; sets
# its pid in ES_PID_o1 or ES_PID_o2.
es_origin() {
    local h=$1 a
    a=$(es_addr "$h"):8080
    mkdir -p "$ES_DIR/$h"
    CS_INGEST_TOKEN=$ES_TOKEN es_spawn "$h" cs-serve --root "$ES_DIR/$h" \
        --listen "$a" --max-per-address 1024 </dev/null >/dev/null \
        2>>"$ES_DIR/$h.err"
    case $h in
    o1) ES_PID_o1=$ES_LAST ;;
    o2) ES_PID_o2=$ES_LAST ;;
    esac
    es_wait_port "$h" "$a"
}

# nginx on edge $1 (e1 or e2) with examples/nginx/edge.conf: its two
# upstream servers made the two origins, its listen address the edge's,
# its paths local. The access log says, for each request, when, the cache
# status, the origin that answered and the URI.
es_edge() {
    local h=$1 d=$ES_DIR/$1 a
    a=$(es_addr "$h"):8081
    mkdir -p "$d/cache"
    sed -e "s|/var/cache/nginx/cs-edge|$d/cache|" \
        -e "s|server 127.0.0.1:8080;|server $(es_addr o1):8080;|" \
        -e "s|# server 127.0.0.1:8082;|server $(es_addr o2):8080;|" \
        -e "s|listen 127.0.0.1:8081;|listen $a;|" \
        "$ES_REPO/examples/nginx/edge.conf" >"$d/edge.conf"
    grep -q "server $(es_addr o2):8080" "$d/edge.conf" || {
        echo "edgesim: edge.conf does not name two origins" >&2
        return 1
    }
    cat >"$d/nginx.conf" <<EOC
daemon off;
master_process off;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
    log_format es '\$msec \$upstream_cache_status \$upstream_addr \$status \$request_uri';
    access_log $d/access.log es;
    client_body_temp_path $d/body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;
    include $d/edge.conf;
}
EOC
    es_spawn "$h" nginx -p "$d" -c "$d/nginx.conf" </dev/null >/dev/null \
        2>>"$d/stderr"
    es_wait_port "$h" "$a"
}

# The channel on the ingest host for $1 seconds: a 320x180 and a 160x90
# rendition (1 s GOP) packaged with ES_SEGMENT s segments and ES_PART s
# parts, PUT to both origins. Sets ES_PID_seg.
es_channel() {
    local secs=$1
    mkfifo "$ES_DIR/feed"
    es_spawn in ffmpeg -nostdin -loglevel error -re -f lavfi \
        -i "testsrc2=size=320x180:rate=25:duration=$secs" \
        -filter_complex '[0:v]split=2[a][b];[b]scale=160:90[c]' \
        -map '[a]' -map '[c]' -c:v libx264 -preset ultrafast \
        -tune zerolatency -g 25 -keyint_min 25 -sc_threshold 0 \
        -pix_fmt yuv420p -b:v:0 300k -b:v:1 100k -flush_packets 1 -f mpegts -y \
        "$ES_DIR/feed" </dev/null >/dev/null 2>>"$ES_DIR/ffmpeg.err"
    CS_TOKEN=$ES_TOKEN es_spawn in cs-segment --segment "$ES_SEGMENT" \
        --part "$ES_PART" --window 6 --stats "$ES_DIR/seg.json" \
        -o "http://$(es_addr o1):8080/live/" \
        -o "http://$(es_addr o2):8080/live/" "$ES_DIR/feed" \
        </dev/null >/dev/null 2>>"$ES_DIR/seg.err"
    ES_PID_seg=$ES_LAST
}

# Wait until both origins list $1 segments of the first rendition.
es_wait_live() {
    local i h n c
    for i in $(seq 300); do
        n=0
        for h in o1 o2; do
            c=$(grep -c '^#EXTINF' "$ES_DIR/$h/live/v0/index.m3u8" \
                2>/dev/null) || c=0
            [ "$c" -ge "$1" ] && n=$((n + 1))
        done
        [ "$n" -eq 2 ] && return 0
        sleep 0.1
    done
    echo "edgesim: the channel did not reach both origins" >&2
    return 1
}

# $1 clients for $2 seconds from the viewers' host, split over both edges;
# their JSON report in $ES_DIR/clients.json.
es_clients() {
    es_spawn cl timeout $(($2 + 60)) node \
        "$ES_REPO/tests/tools/llhls-clients.mjs" \
        --url "http://$(es_addr e1):8081/live/master.m3u8" \
        --url "http://$(es_addr e2):8081/live/master.m3u8" \
        --clients "$1" --seconds "$2" --arrivals "$ES_DIR/arrivals.txt" \
        </dev/null >"$ES_DIR/clients.json" 2>"$ES_DIR/clients.err"
    ES_PID_clients=$ES_LAST
}

# Note when each part reaches origin $1 (the file's time as its ingest
# renamed it into place), once a second, in $ES_DIR/published.txt as
# "PATH SECONDS" (PATH as the clients ask for it).
es_watch_published() {
    (
        while sleep 1; do
            find "$ES_DIR/$1/live" -name '*.*.m4s' -printf '/live/%P %T@\n'
        done >>"$ES_DIR/published.txt" 2>/dev/null
    ) &
    ES_PIDS+=($!)
}

# The whole tier: origins o1 and o2, edges e1 and e2, a channel running
# $1 seconds into both origins, live, its parts' arrival at o2 noted.
es_tier() {
    es_origin o1
    es_origin o2
    es_edge e1
    es_edge e2
    es_channel "$1"
    es_wait_live 2
    es_watch_published o2
}

# Origin $1's request count of kind $2 (cs-serve's /metrics).
es_origin_requests() {
    es_in cl curl -s "http://$(es_addr "$1"):8080/metrics" |
        awk -v k="cs_serve_requests_total{kind=\"$2\"}" '$1 == k { print $2 }'
}

# The figures, from the edges' access logs and the clients' report, as
# "name value" lines: origin requests per part (request collapsing), edge
# hit ratio, part delivery delay p50/p95, and for each origin the requests
# it answered after the time $1 (seconds since the epoch; 0: all).
es_figures() {
    cat "$ES_DIR/e1/access.log" "$ES_DIR/e2/access.log" |
        awk -v since="${1:-0}" -v o1="$(es_addr o1):8080" \
            -v o2="$(es_addr o2):8080" '
        { n++; if ($2 == "HIT") hit++
          # the origin that answered: the last one nginx tried
          last = $(NF - 2)
          if ($3 != "-") {
              if ($NF ~ /\.[0-9]+\.m4s$/) opart++
              if ($NF ~ /\.m3u8/) opl++
              if ($1 >= since && last == o1) a1++
              if ($1 >= since && last == o2) a2++
          }
          if ($NF ~ /\.[0-9]+\.m4s$/) { p = $NF; sub(/\?.*/, "", p); parts[p] = 1 }
        }
        END {
            np = 0; for (p in parts) np++
            printf "edge_requests %d\n", n
            printf "edge_hit_ratio %.3f\n", n ? hit / n : 0
            printf "distinct_parts %d\n", np
            printf "origin_part_requests_per_part %.2f\n", np ? opart / np : 0
            printf "origin_playlist_requests %d\n", opl
            printf "o1_requests_since %d\n", a1
            printf "o2_requests_since %d\n", a2
        }'
    # the part delivery delay: arrival at a client less the part's
    # publication at the origin
    awk 'NR == FNR { if (!($1 in pub)) pub[$1] = $2; next }
         $1 in pub { print $2 - pub[$1] * 1000 }' \
        "$ES_DIR/published.txt" "$ES_DIR/arrivals.txt" | sort -n |
        awk '{ d[NR] = $1 }
             END { if (!NR) exit
                   printf "part_delay_p50_ms %.0f\n", d[int(NR * 0.5) + 1]
                   printf "part_delay_p95_ms %.0f\n", d[int(NR * 0.95) + 1]
                   printf "part_delay_measured %d\n", NR }'
    jq -r '"part_delay_vs_pdt_p50_ms \(.delay_vs_pdt_p50_ms)\npart_delay_vs_pdt_p95_ms \(.delay_vs_pdt_p95_ms)\nclient_max_gap_s \(.max_gap_s)\nclient_errors \(.errors)\nclient_retries \(.retries)\nclient_parts \(.parts)\nclient_part_hit_ratio \(.part_hit_ratio)"' \
        "$ES_DIR/clients.json"
}
