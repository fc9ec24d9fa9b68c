# Shared by the benches that run pipelines in the background (source it
# after `repo` is set): the build's programs first on PATH, a scratch
# folder $w, `bg CMD` to start a pipeline in a process group of its own
# (all stopped at exit), `port tcp|udp` for a free port on 127.0.0.1.
# shellcheck shell=bash
export PATH=${CS_BIN:-$repo/bin}:$PATH
w=$(mktemp -d)
set -m
groups=()
cleanup() {
    for g in "${groups[@]}"; do kill -TERM -- "-$g" 2>/dev/null || true; done
    sleep 1
    rm -rf "$w"
}
trap cleanup EXIT
bg() { bash -c "$1" > /dev/null 2>&1 & groups+=("$!"); }
port() {
    python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1]=="udp" else socket.SOCK_STREAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"
}
