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

run $BIN bench --scenario scenarios/smoke.ini --set "spec=layerskip spec_k=4" --trace "$T/t.json" --nvtxt "$T/t.nvtxt" \
    --record "$T/r.jsonl" -q
expect_rc "bench spec=layerskip with traces and a recording" 0
python3 - "$T/t.json" <<'PY' && ok "Chrome trace: draft and verify ranges on their own track" || bad "Chrome trace spec track"
import json, sys
ev = json.load(open(sys.argv[1]))
ev = ev["traceEvents"] if isinstance(ev, dict) else ev
spec = [e for e in ev if e.get("name") in ("draft", "verify") and e.get("ph") == "X"]
tids = {e["tid"] for e in spec}
names = {e["args"]["name"] for e in ev if e.get("ph") == "M" and e.get("name") == "thread_name" and e["tid"] in tids}
assert spec and len(tids) == 1 and any("speculative" in n for n in names), (len(spec), tids, names)
assert all("drafted tokens" in e["args"] or "accepted tokens" in e["args"] for e in spec)
PY
grep -q '"draft"' "$T/t.nvtxt" && grep -q '"verify"' "$T/t.nvtxt" && ok "NVTXT has draft and verify ranges" || bad "NVTXT spec ranges"
grep -q '"spec":{"counts":\[' "$T/r.jsonl" && ok "the recording keeps each step's spec counts" || bad "recording spec counts"
run $BIN replay "$T/r.jsonl" --export "$T/t2.json"
cmp -s "$T/t.json" "$T/t2.json" && ok "the recording exports the same Chrome trace" || bad "replayed trace differs"

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
