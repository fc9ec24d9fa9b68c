#!/bin/bash
# fuzz.sh DIR SECONDS [NAME...]: run each libFuzzer target of DIR
# (fuzz_NAME, all of them unless named) for SECONDS, after replaying its
# regression inputs (tests/fuzz/regress/NAME/*: each must run clean).
# New corpus entries go to build-fuzz/corpus/NAME, crashes to
# build-fuzz/artifacts/. One line a target: executions and the outcome;
# the status is 1 when any target failed.
set -u -o pipefail
cd "$(dirname "$0")/.." || exit
dir=$1
secs=$2
shift 2
if [ $# -gt 0 ]; then names=("$@"); else
    names=()
    for f in "$dir"/fuzz_*; do
        [[ -x $f && $f != *.d ]] && names+=("${f##*/fuzz_}")
    done
fi
status=0
mkdir -p build-fuzz/artifacts
for n in "${names[@]}"; do
    bin=$dir/fuzz_$n
    seeds=tests/fuzz/corpus/$n
    regress=tests/fuzz/regress/$n
    work=build-fuzz/corpus/$n
    log=build-fuzz/fuzz_$n.log
    mkdir -p "$work"
    if [ -d "$regress" ] && [ -n "$(ls -A "$regress")" ]; then
        if ! "$bin" "$regress"/* >"$log.regress" 2>&1; then
            echo "fuzz $n: a regression input fails (see $log.regress)"
            status=1
            continue
        fi
    fi
    args=("-max_total_time=$secs" -print_final_stats=1 -timeout=10
          -rss_limit_mb=2048 "-artifact_prefix=build-fuzz/artifacts/$n-"
          "$work")
    [ -d "$seeds" ] && args+=("$seeds")
    "$bin" "${args[@]}" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [ "$rc" -eq 0 ]; then
        echo "fuzz $n: ${execs:-?} executions in ${secs} s, no finding"
    else
        echo "fuzz $n: FAILED after ${execs:-?} executions (see $log):"
        grep -m 3 -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log"
        status=1
    fi
done
exit "$status"
