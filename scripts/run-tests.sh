#!/bin/bash
# Run bats files (all of tests/*.bats, or those named) against $CS_BIN and
# close with one summary line: "N passed, N failed, N skipped".
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
if [ $# -gt 0 ]; then files=("$@"); else files=(tests/*.bats); fi
log=$(mktemp)
reports=$(mktemp -d)
trap 'rm -rf "$log" "$reports"' EXIT
start=$(date +%s)
status=0

# run_file FILE [BATS-OPTION...]: one bats file, its TAP into the log.
run_file() {
    local f=$1 t0
    shift
    t0=$(date +%s)
    bats --tap --timing "$@" "$f" 2>&1 | tee -a "$log" || status=1
    echo "# $f: $(( $(date +%s) - t0 )) s" | tee -a "$log"
}

for f in "${files[@]}"; do
    run_file "$f"
done

if [ -n "${CS_SANITIZE_BIN:-}" ]; then
    echo "# sanitizer build ($CS_SANITIZE_BIN): tests tagged 'sanitize'"
    (
        export CS_BIN=$CS_SANITIZE_BIN
        export CS_TOOLS=${CS_SANITIZE_TOOLS:-$CS_TOOLS}
        # A report stops the program with a status no test expects, and is
        # written to $reports, where it fails the run whatever the test said.
        export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:exitcode=86:log_path=$reports/asan"
        export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=86:log_path=$reports/ubsan"
        rc=0
        for f in "${files[@]}"; do
            # each test is named "[sanitize] NAME" in the TAP lines
            bats --tap --filter-tags sanitize "$f" 2>&1 |
                sed -E 's/^((not )?ok [0-9]+ )/\1[sanitize] /' | tee -a "$log" || rc=1
        done
        exit "$rc"
    ) || status=1
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
[ "$fail" -eq 0 ] && [ "$status" -eq 0 ]
