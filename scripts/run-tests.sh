#!/bin/bash
# Run bats files (all of tests/*.bats, or those named) against $CS_BIN and
# close with one summary line: "N passed, N failed, N skipped".
#
# CS_TEST_JOBS (default 2) files run at once, the longest first (the
# order of tests/durations, then the rest by name); each file's TAP is
# printed whole when the file ends, closed by a line with its wall time and
# the CPU time its processes used. Most files wait on live clocks more than
# they compute (dash-live: 119 s, 21 s of CPU), so two at a time take about
# 18 minutes on a quiet 2-core machine where one at a time take 35.
# CS_TEST_JOBS=1 is for a machine busy with something else: there the live
# tests' bounds are missed sooner. Three at a time are no faster (the CPU
# is the limit: 1,345 s of tests against 1,378-1,503 s).
#
# With CS_SANITIZE_BIN (and CS_SANITIZE_TOOLS), the bin/ and tools of the
# sanitizer build, the tests tagged `# bats test_tags=sanitize` (bad input,
# parsers) then run again against those binaries, named "[sanitize] ..." and
# counted in the same summary; any ASan or UBSan report fails the run.
set -u -o pipefail
cd "$(dirname "$0")/.." || exit
export CS_BIN=${CS_BIN:-$PWD/bin}
export CS_TOOLS=${CS_TOOLS:-$PWD/build/tools}
export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-300}
jobs=${CS_TEST_JOBS:-2}
if [ $# -gt 0 ]; then files=("$@"); else files=(tests/*.bats); fi
out=$(mktemp -d)
reports=$(mktemp -d)
trap 'rm -rf "$out" "$reports"' EXIT
log=$out/all.tap
start=$(date +%s)

# The files in the order to start them: those tests/durations lists (the
# longest first), then the others.
ordered() {
    local f g listed=()
    if [ -f tests/durations ]; then
        while read -r f _; do
            [[ $f == \#* || -z $f ]] && continue
            for g in "${files[@]}"; do [ "$g" = "$f" ] && listed+=("$f"); done
        done <tests/durations
    fi
    [ ${#listed[@]} -eq 0 ] || printf '%s\n' "${listed[@]}"
    for g in "${files[@]}"; do
        [[ " ${listed[*]} " == *" $g "* ]] || echo "$g"
    done
}

# run_file FILE [BATS-OPTION...]: one bats file into its own TAP file,
# then printed and added to the log in one piece (under a lock), with
# its time, each test's name after $CS_TAP_PREFIX. A file whose bats
# fails leaves FILE.failed.
run_file() {
    local f=$1 t0 tap cpu
    shift
    tap=$out/$(basename "$f").$$.$RANDOM
    t0=$(date +%s)
    bats --tap --timing "$@" "$f" >"$tap" 2>&1 || : >"$out/$(basename "$f").failed"
    # the CPU the file's processes used (those reaped under bats), from
    # bash's `times`: its second line is the children's "user sys"
    # (into a file: in a pipe or $(...) it would be a subshell's, all 0)
    times >"$tap.times"
    cpu=$(awk 'NR == 2 { for (i = 1; i <= 2; i++) {
        split($i, a, /[ms]/); s += a[1] * 60 + a[2] } printf "%.0f", s }' "$tap.times")
    echo "# $f: $(( $(date +%s) - t0 )) s, CPU $cpu s" >>"$tap"
    flock "$out/lock" sh -c 'sed -E "s/^((not )?ok [0-9]+ )/\1$3/" "$1" |
        tee -a "$2"' _ "$tap" "$log" "${CS_TAP_PREFIX:-}"
}
export -f run_file
export out log

# lanes [BATS-OPTION...]: every file, $jobs at a time.
lanes() {
    ordered | xargs -d '\n' -P "$jobs" -I{} bash -c 'run_file "$@"' _ {} "$@"
}

lanes

if [ -n "${CS_SANITIZE_BIN:-}" ]; then
    echo "# sanitizer build ($CS_SANITIZE_BIN): tests tagged 'sanitize'"
    # A report stops the program with a status no test expects, and is
    # written to $reports, where it fails the run whatever the test said;
    # each test is named "[sanitize] NAME" in the TAP lines.
    (
        export CS_BIN=$CS_SANITIZE_BIN
        export CS_TOOLS=${CS_SANITIZE_TOOLS:-$CS_TOOLS}
        export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:exitcode=86:log_path=$reports/asan"
        export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=86:log_path=$reports/ubsan"
        export CS_TAP_PREFIX='[sanitize] '
        lanes --filter-tags sanitize
    )
    for r in "$reports"/*; do
        [ -e "$r" ] || continue
        cat "$r"
        echo "not ok 0 [sanitize] sanitizer report: ${r##*/}" | tee -a "$log"
    done
fi

pass=$(grep -cE '^ok [0-9]+' "$log" | tr -d ' ')
skip=$(grep -cE '^ok [0-9]+ .*# skip' "$log" | tr -d ' ')
fail=$(grep -cE '^not ok [0-9]+' "$log" | tr -d ' ')
pass=$((pass - skip))
echo "# total time: $(( $(date +%s) - start )) s"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && ! compgen -G "$out/*.failed" >/dev/null
