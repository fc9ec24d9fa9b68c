# Shared by tests/webrtc.bats: load with `load webrtc` after `load helper`
# and `load transport`.

# An offer as OBS Studio 30 sends it: no candidates, no trickle, H.264
# (42e01f, packetization-mode 1) on 96 with RTX on 97, Opus on 111.
obs_offer() {
    local fp=6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35
    fp=$fp:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08
    sed 's/$/\r/' <<EOS
v=0
o=- 1 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0 1
m=audio 9 UDP/TLS/RTP/SAVPF 111
c=IN IP4 0.0.0.0
a=ice-ufrag:obsx
a=ice-pwd:abcdefghijklmnopqrstuvwx
a=fingerprint:sha-256 $fp
a=setup:actpass
a=mid:0
a=sendonly
a=rtcp-mux
a=rtpmap:111 opus/48000/2
a=fmtp:111 minptime=10;useinbandfec=1
a=ssrc:1001 cname:obs
m=video 9 UDP/TLS/RTP/SAVPF 96 97
c=IN IP4 0.0.0.0
a=ice-ufrag:obsx
a=ice-pwd:abcdefghijklmnopqrstuvwx
a=fingerprint:sha-256 $fp
a=setup:actpass
a=mid:1
a=sendonly
a=rtcp-mux
a=rtpmap:96 H264/90000
a=rtcp-fb:96 nack
a=rtcp-fb:96 nack pli
a=fmtp:96 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1
a=rtpmap:97 rtx/90000
a=fmtp:97 apt=96
a=ssrc-group:FID 2001 2002
a=ssrc:2001 cname:obs
a=ssrc:2002 cname:obs
EOS
}

# POST an SDP body (file $3) to URL $1 with curl; $2 is a bearer token or
# "". Headers and body go to $T/resp; the status is printed.
whip_post() {
    local auth=()
    [ -n "$2" ] && auth=(-H "Authorization: Bearer $2")
    curl -s -m 15 -o "$T/resp.body" -D "$T/resp.head" -w '%{http_code}' \
        -X POST -H 'Content-Type: application/sdp' "${auth[@]}" \
        --data-binary "@$3" "$1"
}

# A response header of the last whip_post (name case-insensitive).
resp_header() {
    grep -i "^$1:" "$T/resp.head" | head -n 1 | cut -d' ' -f2- | tr -d '\r'
}

# Publish Chromium's fake camera and microphone to the WHIP URL $1;
# the remaining arguments go to tests/browser/whip-publish.mjs. Its JSON
# report is printed.
chromium_publish() {
    local url=$1
    shift
    timeout 90 node "$REPO/tests/browser/whip-publish.mjs" --url "$url" "$@"
}

# A field of a JSON report: json_field JSON .key
json_field() {
    printf '%s\n' "$1" | jq -r "$2"
}

# The TS in $1 holds H.264 and Opus, decodes without a fatal error, has at
# least $2 seconds of decoded video, and its video and audio timestamps
# rise frame after frame.
check_webrtc_ts() {
    local ts=$1 secs=$2 codecs span
    codecs=$(probe "$ts" stream=codec_name | sort | tr '\n' ' ')
    [ "$codecs" = "h264 opus " ] || { echo "codecs: $codecs" >&2; return 1; }
    span=$(ffprobe -v error -select_streams v -show_entries frame=pts_time \
        -of csv=p=0 "$ts" | awk 'NR == 1 { a = $1 } { b = $1 }
        END { print b - a }')
    echo "decoded video: $span s" >&2
    awk -v s="$span" -v m="$secs" 'BEGIN { exit !(s >= m) }'
    rising "$ts" v
    rising "$ts" a
}

# The decoded frames of stream $2 (v or a) of $1 have rising timestamps.
# (A frame with side data, such as x264's SEI, adds an empty line.)
rising() {
    ffprobe -v error -select_streams "$2" -show_entries frame=pts \
        -of csv=p=0 "$1" | awk '/./ { n++; if (n > 1 && $1 <= p) bad++; p = $1 }
        END { if (n < 2 || bad) { print "not rising: " bad "/" n; exit 1 } }'
}

# The most that FIELD showed in any line of the --stats file FILE (0 if
# none): counters go with a session, so the last line may hold zeros.
stats_max() {
    grep -o "\"$1\":[0-9]*" "$2" | cut -d: -f2 | sort -n | tail -n 1 |
        grep . || echo 0
}
