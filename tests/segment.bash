# Shared by the cs-segment bats files: a 3-rendition input as cs-ladder
# makes it (one source, three sizes, identical fixed GOPs, one audio).

# ladder_input OUT SECONDS [FORMAT] [OFFSET] [SIZE0]
ladder_input() {
    local out=$1 dur=$2 fmt=${3:-mpegts} off=${4:-0} s0=${5:-320x240}
    ffmpeg -nostdin -loglevel error -y \
        -f lavfi -i "testsrc2=size=320x240:rate=25:duration=$dur" \
        -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=$dur" \
        -filter_complex "[0:v]split=3[a][b][c];[a]scale=${s0/x/:}[va];[b]scale=240:180[vb];[c]scale=160:120[vc]" \
        -map "[va]" -map "[vb]" -map "[vc]" -map 1:a \
        -c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 25 -keyint_min 25 \
        -sc_threshold 0 -b:v:0 400k -b:v:1 250k -b:v:2 120k \
        -c:a aac -b:a 64k \
        -metadata:s:v:0 variant_name=hi -metadata:s:v:1 variant_name=mid \
        -metadata:s:v:2 variant_name=lo \
        -output_ts_offset "$off" -f "$fmt" "$out"
}

# The EXTINF durations of a media playlist, one a line.
extinfs() {
    grep '^#EXTINF' "$1" | cut -d: -f2
}

# Serve DIR over HTTP on 127.0.0.1:PORT in the background; sets SERVER_PID.
serve_dir() {
    python3 -m http.server --bind 127.0.0.1 "$2" --directory "$1" \
        >"$T/http.log" 2>&1 &
    SERVER_PID=$!
    wait_port "$2"
}
