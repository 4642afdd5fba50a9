#!/usr/bin/env bash
# Speculative decoding from the command line: spec=draft needs --draft with
# the target's vocabulary (one line, exit 2 otherwise); every drafter leaves
# greedy output unchanged (synth and the real GGUF); bench/ab print and write
# the acceptance metrics.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf
T=$(mktemp -d); trap 'rm -rf "$T" "$OUT" "$ERR"' EXIT

run $BIN generate --model synth:tiny --set spec=draft -n 4
expect_rc "spec=draft without --draft" 2; expect_one_line_err "spec=draft without --draft"
expect_err "says what is missing" "spec=draft: no draft model; expected --draft M"
run $BIN generate --model synth:tiny --set spec=draft --draft synth:smollm2-135m -n 4 -q
expect_rc "draft of another vocabulary" 2; expect_one_line_err "draft of another vocabulary"
expect_err "names both vocabularies" "vocabulary of 49152 tokens; expected the target's 512"
run $BIN generate --model synth:tiny --set spec=draft --draft "$T/none.gguf" -n 4 -q
expect_rc "missing draft file" 2; expect_one_line_err "missing draft file"
run $BIN bench --scenario scenarios/smoke.ini --set spec=draft -q
expect_rc "bench spec=draft without --draft" 2

P="one two three four one two three four one two three"
run $BIN generate --model synth:tiny --prompt "$P" -n 48 -q; cp "$OUT" "$T/off.txt"
for s in "spec=ngram spec_k=1" "spec=ngram spec_k=8" "spec=layerskip spec_k=4" "spec=layerskip spec_k=2 spec_layers=1"; do
    run $BIN generate --model synth:tiny --prompt "$P" -n 48 -q --set "$s"
    cmp -s "$OUT" "$T/off.txt" && ok "synth greedy unchanged: $s" || bad "synth greedy changed: $s"
done
run $BIN generate --model synth:tiny --prompt "$P" -n 48 -q --set "spec=draft spec_k=3" --draft synth:tiny-mqa
expect_rc "draft model of the same vocabulary" 0
cmp -s "$OUT" "$T/off.txt" && ok "synth greedy unchanged: spec=draft" || bad "synth greedy changed: spec=draft"

run $BIN bench --scenario scenarios/smoke.ini --set "spec=ngram spec_k=4" --json "$T/b.json" -q
expect_rc "bench spec=ngram" 0
expect_out "bench prints the acceptance line" "^spec ngram k=4: drafts [0-9]+, drafted [0-9]+, accepted [0-9]+ \| acceptance rate"
expect_out "bench prints per-position acceptance" "^spec acceptance per position: 1:[0-9.]+% 2:"
expect_out "bench prints c and the predicted speedup" "c \(measured\) [0-9.]+ .* predicted speedup [0-9.]+x"
python3 - "$T/b.json" <<'PY' && ok "bench JSON: spec metrics add up" || bad "bench JSON spec metrics"
import json, sys
r = json.load(open(sys.argv[1])); s = r["spec"]
assert s["spec"] == "ngram" and s["spec_k"] == 4, s
assert s["drafted_tokens"] > 0 and 0 <= s["accepted_tokens"] <= s["drafted_tokens"], s
assert abs(s["acceptance_rate"] - s["accepted_tokens"] / s["drafted_tokens"]) < 1e-9, s
assert abs(s["mean_acceptance_length"] - (1 + s["accepted_tokens"] / s["drafts"])) < 1e-9, s
assert len(s["acceptance_per_position"]) == 4, s
assert sum(o["spec_drafted_tokens"] for o in r["outputs"]) == s["drafted_tokens"], "per request sums to overall"
assert sum(o["spec_accepted_tokens"] for o in r["outputs"]) == s["accepted_tokens"]
PY
run $BIN ab --scenario scenarios/smoke.ini --a "spec=off" --b "spec=layerskip spec_k=2" -q
expect_rc "ab spec=off vs layerskip" 0
expect_out "ab: outputs identical" "^outputs identical: 8 of 8 requests"
expect_out "ab: measured beside predicted" "^spec \(B\): acceptance rate [0-9.]+%, k=2, .*measured [0-9.]+x, predicted [0-9.]+x"

run $BIN options
expect_out "options lists spec" "^spec .*off\|draft\|layerskip\|ngram"

if [ ! -f "$MODEL" ]; then
    echo "  SKIP real-model checks: $MODEL absent (make model)"
    summary; exit $?
fi
G="Repeat this sentence exactly: the red fox ran to the old mill by the river and back."
run $BIN generate --model "$MODEL" --chat --prompt "$G" -n 24 -q; cp "$OUT" "$T/goff.txt"
for s in "spec=ngram spec_k=4" "spec=layerskip spec_k=2 spec_layers=10"; do
    run $BIN generate --model "$MODEL" --chat --prompt "$G" -n 24 -q --set "$s"
    cmp -s "$OUT" "$T/goff.txt" && ok "GGUF greedy unchanged: $s" || bad "GGUF greedy changed: $s ($(head -c 80 "$OUT"))"
done
summary
