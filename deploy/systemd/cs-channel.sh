#!/bin/bash
# One channel: cs-recv | cs-ladder | cs-segment, run by cs-channel@NAME.service
# (installed as /usr/local/lib/livestreamx/cs-channel). Its settings come
# from the environment (/etc/livestreamx/NAME.env):
#   CS_INGEST         cs-recv URL, e.g. srt://:9000?mode=listener (required)
#   CS_OUTPUT         cs-segment output: folder, s3://bucket/prefix/ or
#                     http://origin:8080/NAME/ (required); several, separated
#                     by spaces, for several origins: the ladder's stream is
#                     copied (tee) to one cs-segment per output
#   CS_WHEP           a cs-send WHEP listener URL (optional), e.g.
#                     whep://0.0.0.0:8889/NAME?mode=listener, playing the
#                     rendition CS_WHEP_RENDITION (default: cs-send's, the first)
#   CS_RUNGS          cs-ladder --rungs (default: cs-ladder's)
#   CS_RECV_OPTS, CS_LADDER_OPTS, CS_SEGMENT_OPTS  more options, split on spaces
#   CS_TOKEN          bearer token for an HTTP origin (read by cs-segment)
#   AWS_*             S3 credentials and endpoint (read by cs-segment)
# The stream keys are the access file systemd hands over as the credential
# "access" (LoadCredential=, from /etc/livestreamx/NAME.access): no secret
# is on a command line.
#
# Exit status, after cs(7): 2 when any stage had a usage or configuration
# error (systemd then does not restart), else 3, else 4, else 1 for any
# other failure, 0 when all three stopped cleanly. SIGTERM goes to cs-recv
# alone: it stops, and the ladder and the packager drain what they hold and
# exit at the end of their input.
set -u

die() { echo "cs-channel: $1" >&2; exit 2; }
[ -n "${CS_INGEST:-}" ] || die "'CS_INGEST': not set"
[ -n "${CS_OUTPUT:-}" ] || die "'CS_OUTPUT': not set"

recv_opts=()
if [ -n "${CREDENTIALS_DIRECTORY:-}" ] && [ -r "$CREDENTIALS_DIRECTORY/access" ]; then
    recv_opts+=(--access "$CREDENTIALS_DIRECTORY/access")
fi
ladder_opts=(--tune zerolatency)
[ -z "${CS_RUNGS:-}" ] || ladder_opts+=(--rungs "$CS_RUNGS")
read -ra more <<< "${CS_RECV_OPTS:-}"; recv_opts+=("${more[@]}")
read -ra more <<< "${CS_LADDER_OPTS:-}"; ladder_opts+=("${more[@]}")
read -ra seg_opts <<< "${CS_SEGMENT_OPTS:-}"

# Processes joined by FIFOs (not a shell pipeline), so that each one's pid
# and exit status are known: cs-recv > ts > cs-ladder > ladder > tee >
# one cs-segment per output (and cs-send for WHEP).
read -ra outs <<< "$CS_OUTPUT"
dir=$(mktemp -d "${RUNTIME_DIRECTORY:-${TMPDIR:-/tmp}}/cs-channel.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
mkfifo "$dir/ts" "$dir/ladder" || exit 1
pids=()
# the consumers of the ladder's stream: one cs-segment per output, and
# cs-send for WHEP viewers
n=0
cons() {
    mkfifo "$dir/out$n" || exit 1
    "$@" < "$dir/out$n" & pids+=($!)
    fifos+=("$dir/out$n")
    n=$((n + 1))
}
fifos=()
for o in "${outs[@]}"; do
    cons cs-segment "${seg_opts[@]}" -o "$o"
done
if [ -n "${CS_WHEP:-}" ]; then
    whep_opts=()
    [ -z "${CS_WHEP_RENDITION:-}" ] || whep_opts=(--rendition "$CS_WHEP_RENDITION")
    cons cs-send "${whep_opts[@]}" "$CS_WHEP"
fi
# a consumer that fails (an origin down) does not stop the copies to the others
tee -p "${fifos[@]}" < "$dir/ladder" > /dev/null & pids+=($!)
cs-ladder "${ladder_opts[@]}" < "$dir/ts" > "$dir/ladder" & pids=($! "${pids[@]}")
cs-recv "${recv_opts[@]}" "$CS_INGEST" > "$dir/ts" & recv=$!
pids=("$recv" "${pids[@]}")
trap 'kill -TERM "$recv" 2>/dev/null' TERM INT

# Wait for every process (again when a signal interrupted the wait) and
# collect the exit statuses (not in $(...): a subshell has no children).
codes=""
for p in "${pids[@]}"; do
    while :; do
        wait "$p"; rc=$?
        kill -0 "$p" 2>/dev/null || break
    done
    codes="$codes $rc"
done
for want in 2 3 4; do
    case "$codes " in *" $want "*) exit "$want" ;; esac
done
case "$codes " in *[1-9]*) exit 1 ;; esac
exit 0
