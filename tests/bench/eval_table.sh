#!/usr/bin/env bash
# tests/bench/eval_table.sh — `make eval`: the eval table (PPL, KLD, same top p
# against the reference weights; llama-perplexity's method) of every model in
# EVAL_MODELS under every mode in EVAL_MODES on EVAL_TEXT.
#   EVAL_MODES  space-separated --set lists, commas inside one mode
#               ("-" = the weights as they are, the reference itself); the
#               quantization and sparsity helpers append their modes in the Makefile
#   EVAL_CTX, EVAL_CHUNKS, EVAL_THREADS
# A mode that does not change a model's weights (wtype on a GGUF file) prints
# the model's own PPL with "= ref" in the KLD columns.
set -u
cd "$(dirname "$0")/../.."
BIN=${BIN:-bin/infertop}
MODELS=${EVAL_MODELS:-models/SmolLM2-135M-Instruct.Q4_1.gguf synth:smollm2-135m}
MODES=${EVAL_MODES:--}
TEXT=${EVAL_TEXT:-texts/eval.txt}
CTX=${EVAL_CTX:-512} CHUNKS=${EVAL_CHUNKS:-0} THREADS=${EVAL_THREADS:-0}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
echo "eval on $TEXT, ctx $CTX, chunks ${CHUNKS/#0/all}, threads $THREADS ($(lscpu | sed -n 's/^Model name: *//p'))"
printf '%-40s %-24s %10s %10s %10s %10s %9s\n' model mode PPL "±" "mean KLD" "99% KLD" "same top"
rc=0
for m in $MODELS; do
    for mode in $MODES; do
        set_args=()
        [ "$mode" != "-" ] && set_args=(--set "${mode//,/ }")
        [ "$CHUNKS" -gt 0 ] && set_args+=(--chunks "$CHUNKS")
        if ! $BIN eval -q --model "$m" "${set_args[@]}" --text "$TEXT" --ctx "$CTX" \
                --threads "$THREADS" --json "$T/r.json" > "$T/out" 2> "$T/err"; then
            printf '%-40s %-24s %s\n' "$m" "$mode" "failed: $(head -1 "$T/err")"
            rc=1
            continue
        fi
        python3 - "$T/r.json" "$m" "$mode" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); r = j["reference"]
f = lambda v: "%10.6f" % v
kld = (f(r["kld"]["value"]), f(r["kld"]["p99"]), "%8.3f%%" % (100 * r["same_top_p"]["value"])) if r else ("= ref",) * 3
print("%-40s %-24s %10.4f %10.4f %10s %10s %9s" % (sys.argv[2][-40:], sys.argv[3], j["ppl"]["value"], j["ppl"]["err"], *kld))
PY
    done
done
exit $rc
