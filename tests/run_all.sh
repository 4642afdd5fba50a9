#!/usr/bin/env bash
# Run every test suite and print one summary line CI reads:
#   total: N passed, N failed
# Suites: unit tests (Criterion, plain build), unit tests under ASan+UBSan,
# command-line tests (tests/cli/test_*.sh).
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0 log=$(mktemp)

criterion_counts() {   # "[====] Synthesis: Tested: 12 | Passing: 11 | Failing: 1 | Crashing: 0"
    local line
    line=$(grep -a 'Synthesis:' "$log" | tail -1)
    if [ -z "$line" ]; then failed=$((failed + 1)); echo "  (no Criterion summary: counted as a failure)"; return; fi
    local p f c
    p=$(sed -E 's/.*Passing: ([0-9]+).*/\1/' <<<"$line")
    f=$(sed -E 's/.*Failing: ([0-9]+).*/\1/' <<<"$line")
    c=$(sed -E 's/.*Crashing: ([0-9]+).*/\1/' <<<"$line")
    passed=$((passed + p)); failed=$((failed + f + c))
}

suite() {  # name, command...
    local name=$1; shift
    echo "== $name"
    "$@" >"$log" 2>&1
    local rc=$?
    cat "$log"
    echo "== $name: exit $rc"
    return $rc
}

# a suite that exits non-zero with no failure counted (a sanitizer report after
# the summary, a crash of the runner) still counts as one failure
exit_check() { local before=$1 rc=$2; [ "$rc" -ne 0 ] && [ "$failed" -eq "$before" ] && failed=$((failed + 1)); return 0; }

# one job: with tests running concurrently Criterion 2.4's runner leaks 48
# bytes of its own (a calloc inside libcriterion.so.3), which LSan reports and
# fails the suite; --jobs 1 shows no leak (checked on the whole suite)
f0=$failed; suite "unit (ASan+UBSan)" env ASAN_OPTIONS=detect_leaks=1 build-san/test_unit --jobs 1; rc=$?
criterion_counts; exit_check "$f0" "$rc"
f0=$failed; suite "unit" build/test_unit --jobs 2; rc=$?
criterion_counts; exit_check "$f0" "$rc"
for t in tests/cli/test_*.sh; do
    f0=$failed; suite "$t" bash "$t"; rc=$?
    line=$(grep -aE '^[a-z-]*:? ?[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    if [ -z "$line" ]; then failed=$((failed + 1)); continue; fi
    p=$(sed -E 's/^[^0-9]*([0-9]+) passed.*/\1/' <<<"$line")
    f=$(sed -E 's/.*passed, ([0-9]+) failed.*/\1/' <<<"$line")
    passed=$((passed + p)); failed=$((failed + f))
    exit_check "$f0" "$rc"
done
rm -f "$log"
echo
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
