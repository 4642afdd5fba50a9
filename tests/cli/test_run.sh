#!/usr/bin/env bash
# Runs that used to hang or ignore their input (issue 11), generate through the
# engine (issue 10 item 7), the TUI opening at once with the capacity probe
# inside it, and SIGTERM/SIGHUP exit statuses. Every run is bounded by timeout.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
T=$(mktemp -d)
trap 'rm -rf "$T"; rm -f "$OUT" "$ERR"' EXIT
TO="timeout 30"

# a scenario file with one [arrival] and [options] body
scen() {  # NAME ARRIVAL_LINES [OPTIONS_LINES] [SCENARIO_LINES]
    printf '[scenario]\nname = %s\nmodel = synth:tiny\nseed = 1\nrequests = 3\n%b\n[arrival]\n%b\n[prompt]\ndist = fixed\nvalue = 8\n[output]\ndist = fixed\nvalue = 4\n[options]\n%b\n' \
        "$1" "${4:-}" "$2" "${3:-}" >"$T/$1.ini"
}

# ---- KV pool too small: an error at once, never a sleep ----
run $TO $BIN bench --scenario scenarios/smoke.ini --set kv_blocks=1 -q
expect_rc "kv_blocks=1: fails (was a hang)" 2; expect_err "kv_blocks=1: says the KV pool is too small" "KV pool too small"
expect_one_line_err "kv_blocks=1"
for n in 2 4; do
    run $TO $BIN bench --scenario scenarios/smoke.ini --set kv_blocks=$n -q
    expect_rc "kv_blocks=$n: fails the same way" 2; expect_err "kv_blocks=$n: names the pool" "pool holds $((n * 16))"
done

# ---- generate runs through the engine: the KV options apply ----
run $TO $BIN generate --model synth:tiny --prompt hi --set "kv_blocks=2 block=8" -n 100 -q
expect_rc "generate kv_blocks=2 block=8 -n 100" 2; expect_one_line_err "generate too-small pool"
expect_err "generate: one-line KV message" "KV pool too small: a request needs 102 tokens, the pool holds 16 \(2 blocks of 8\)"
run $TO $BIN generate --model synth:tiny --prompt hi --set "kv_blocks=13 block=8" -n 100 -q
expect_rc "generate: a pool of 104 tokens holds 102" 0
run $TO $BIN generate --model synth:tiny --prompt hi --set "kv=contiguous max_seq=64" -n 100 -q
expect_rc "generate: max_seq applies" 2; expect_err "generate: says max_seq" "max_seq"
run $TO $BIN generate --model synth:tiny --prompt hello -n 8 --set seed=3
cp "$OUT" "$T/paged"
run $TO $BIN generate --model synth:tiny --prompt hello -n 8 --set "seed=3 kv=contiguous"
cmp -s "$OUT" "$T/paged" && ok "generate: paged and contiguous KV give the same greedy tokens" || bad "kv=contiguous changed tokens"
run $TO $BIN generate --model synth:tiny --prompt hello -n 8 --set "seed=3 block=8 prefix_cache=off"
cmp -s "$OUT" "$T/paged" && ok "generate: block=8 prefix_cache=off give the same greedy tokens" || bad "block=8 changed tokens"
# stdout: only the ids and one final newline; stderr: the statistics on a line of their own
[ "$(wc -l <"$OUT")" -eq 1 ] && ok "generate stdout: one line" || bad "generate stdout has $(wc -l <"$OUT") lines"
[ "$(tail -c 1 "$OUT" | od -An -c | tr -d ' ')" = '\n' ] && ok "generate stdout ends with a newline" || bad "no final newline"
grep -q "prompt tokens" "$OUT" && bad "statistics on stdout" || ok "generate stdout holds no statistics"
expect_err "generate stderr: statistics" "^prompt tokens 5 \| prefill"
$TO $BIN generate --model synth:tiny --prompt hello -n 8 --set seed=3 2>&1 >/dev/null | grep -qE "^prompt tokens" \
    && ok "statistics start their own line when both streams share a pipe" || bad "statistics not at a line start"
$TO $BIN generate --model synth:tiny --prompt hello -n 8 --set seed=3 2>&1 | grep -qE "^([0-9]+ ){8}$" \
    && ok "the id stream ends its own line when both streams share a pipe" || bad "ids and statistics on one line"

# ---- scenario overrides and arguments ----
run $TO $BIN bench --scenario scenarios/smoke.ini --scenario-set options.kv=contiguous -q
expect_rc "--scenario-set options.kv=contiguous" 0; expect_out "options.kv reaches the run" "^options .*kv=contiguous"
run $TO $BIN bench --scenario scenarios/smoke.ini --scenario-set options.nosuch=1 -q
expect_rc "--scenario-set options.nosuch=1" 2; expect_err "names the option" "--scenario-set: options.nosuch: unknown option"
expect_one_line_err "options.nosuch"
run $TO $BIN bench --scenario scenarios/smoke.ini extra -q
expect_rc "bench: extra positional argument" 2; expect_err "names it" "unexpected argument 'extra'"
run $TO $BIN generate --model synth:tiny stray -q
expect_rc "generate: extra positional argument" 2
scen badmodel 'process = all' '' ''
sed -i 's/model = synth:tiny/model = synth:nosuch/' "$T/badmodel.ini"
run $TO $BIN bench --scenario "$T/badmodel.ini" -q
expect_rc "scenario with an unknown model" 2; expect_err "model error names file:line" "badmodel.ini:3: model: .*synth:nosuch"
scen maxseq 'process = all' 'max_seq = 16'
sed -i 's/value = 4/value = 40/' "$T/maxseq.ini"
run $TO $BIN bench --scenario "$T/maxseq.ini" -q
expect_rc "scenario longer than max_seq" 2; expect_err "max_seq error names file:line" "maxseq.ini:[0-9]+: max_seq: request 0 needs 48 tokens"

# ---- arrivals where the arithmetic breaks, and far arrivals ----
scen cv 'process = gamma\nrate = 2\ncv = 1e-300'
run $TO $BIN bench --scenario "$T/cv.ini" -q
expect_rc "gamma cv = 1e-300 is refused (was a hang)" 2; expect_err "cv: file:line" "cv.ini:[0-9]+: cv: expected a number >= 0.001"
scen slow 'process = fixed\nrate = 1e-9'
run $TO $BIN bench --scenario "$T/slow.ini" -q
expect_rc "rate = 1e-9 is refused (was a hang)" 2; expect_err "rate: file:line" "slow.ini:[0-9]+: rate: expected"
scen rel 'process = poisson\nrate = 1e-300x'
run $TO $BIN bench --scenario "$T/rel.ini" -q
expect_rc "rate = 1e-300x is refused (was a hang)" 2; expect_err "relative rate: file:line" "rel.ini:[0-9]+: rate: expected"
scen far 'process = fixed\nrate = 0.01'
run timeout 8 $BIN bench --scenario "$T/far.ini"
expect_err "a far arrival is announced with its time" "waiting: next request arrives at t=100.0 s \(in 9[0-9.]+ s\)"

summary
