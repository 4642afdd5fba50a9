# tests/cli/lib.sh — tiny assertion helpers for command-line tests.
# Each test file sources this, calls check ..., and ends with `summary`.
BIN=${BIN:-bin/infertop}
PASS=0 FAIL=0
OUT=$(mktemp) ERR=$(mktemp)
trap 'rm -f "$OUT" "$ERR"' EXIT

# run CMD...: runs it, keeps stdout/stderr in $OUT/$ERR and the status in $RC
run() { "$@" >"$OUT" 2>"$ERR"; RC=$?; }

ok()   { PASS=$((PASS + 1)); echo "  ok   $1"; }
bad()  { FAIL=$((FAIL + 1)); echo "  FAIL $1"; echo "       stdout: $(head -c 400 "$OUT")"; echo "       stderr: $(head -c 400 "$ERR")"; }

# expect_rc NAME CODE
expect_rc() { if [ "$RC" -eq "$2" ]; then ok "$1 (exit $2)"; else bad "$1: exit $RC, expected $2"; fi; }
# expect_out NAME REGEX — stdout matches
expect_out() { if grep -qE -- "$2" "$OUT"; then ok "$1"; else bad "$1: stdout lacks /$2/"; fi; }
# expect_err NAME REGEX — stderr matches
expect_err() { if grep -qE -- "$2" "$ERR"; then ok "$1"; else bad "$1: stderr lacks /$2/"; fi; }
# expect_one_line_err NAME — stderr is exactly one line
expect_one_line_err() { local n; n=$(wc -l <"$ERR"); if [ "$n" -eq 1 ]; then ok "$1: one-line error"; else bad "$1: $n stderr lines, expected 1"; fi; }

summary() { echo "cli: $PASS passed, $FAIL failed"; [ "$FAIL" -eq 0 ]; }
