#!/bin/bash
# Run bats files (all of tests/*.bats, or those named) against $CS_BIN and
# close with one summary line: "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.." || exit
export CS_BIN=${CS_BIN:-$PWD/bin}
export CS_TOOLS=${CS_TOOLS:-$PWD/build/tools}
export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-300}
if [ $# -gt 0 ]; then files=("$@"); else files=(tests/*.bats); fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s)
status=0
for f in "${files[@]}"; do
    t0=$(date +%s)
    bats --tap "$f" 2>&1 | tee -a "$log" || status=1
    echo "# $f: $(( $(date +%s) - t0 )) s" | tee -a "$log"
done
pass=$(grep -cE '^ok [0-9]+' "$log" | tr -d ' ')
skip=$(grep -cE '^ok [0-9]+ .*# skip' "$log" | tr -d ' ')
fail=$(grep -cE '^not ok [0-9]+' "$log" | tr -d ' ')
pass=$((pass - skip))
echo "# total time: $(( $(date +%s) - start )) s"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$status" -eq 0 ]
