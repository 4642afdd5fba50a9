#!/usr/bin/env bash
# tests/bench/bench_quant.sh — `make bench-quant`: decode speed of the own
# weight-only formats against the GGUF block formats they replace, with
# `infertop speed` (tg64 from an empty cache, threads 1 and 2):
#   int8 (quant=int8, per channel) vs Q8_0,   int4 (quant=int4 g32 sym) vs Q4_0,
# and the named activation-quantized variants: w4a8 (int4 g32 sym in Q4_0
# blocks, int8 activations per 32) vs Q4_0, w8a8 act_scale=token vs Q8_0.
# Each comparison holds everything but the layer matrices' format equal: on
# synth:smollm2-135m the baseline is wtype=q8_0 / q4_0 and the own mode
# re-quantizes those layer matrices (the tied embedding/head stays q8_0 /
# q4_0 in both); on a GGUF file the baseline is another GGUF file
# (QUANT_Q8_GGUF / QUANT_Q4_GGUF, e.g. llama-quantize's Q8_0 / Q4_0 of the
# shipped one; skipped when unset) and the own mode re-quantizes the shipped
# file's layer matrices (its head stays as shipped: the table prints each
# side's bytes).
# SIMD=avx2 (or scalar, avx512, amx) runs every mode at most at that CPU
# SIMD level (device=cpu:$SIMD; default: device auto, the best this CPU has).
# Rounds alternate the modes (ROUNDS, default 3; each run -r REPS, default 3)
# so load drifts hit both; B/A is the median over rounds of the per-round
# ratio. Weight bytes per decoded token = the model's weight bytes (tied
# embeddings: the head reads the whole matrix; one embedding row aside);
# % of bandwidth = tok/s x bytes/token / the read bandwidth measured now at
# that working-set size and thread count (build/bench_cpu bw).
set -u
cd "$(dirname "$0")/../.."
BIN=${BIN:-bin/infertop}
BW=${BW:-build/bench_cpu}
ROUNDS=${ROUNDS:-3} REPS=${REPS:-3} NGEN=${NGEN:-64} SIMD=${SIMD:-}
SHIPPED=${SHIPPED:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
# model|set-list pairs: "label|model|sets" (sets "-" = none), baseline first in each pair
pairs=(
    "q8_0|synth:smollm2-135m|wtype=q8_0" "int8|synth:smollm2-135m|wtype=q8_0 quant=int8"
    "q4_0|synth:smollm2-135m|wtype=q4_0" "int4|synth:smollm2-135m|wtype=q4_0 quant=int4"
    "q4_0|synth:smollm2-135m|wtype=q4_0" "w4a8|synth:smollm2-135m|wtype=q4_0 quant=w4a8"
    "q8_0|synth:smollm2-135m|wtype=q8_0" "w8a8|synth:smollm2-135m|wtype=q8_0 quant=w8a8 act_scale=token"
)
[ -n "${QUANT_Q8_GGUF:-}" ] && pairs+=("q8_0|$QUANT_Q8_GGUF|-" "int8|$SHIPPED|quant=int8")
[ -n "${QUANT_Q4_GGUF:-}" ] && pairs+=("q4_0|$QUANT_Q4_GGUF|-" "int4|$SHIPPED|quant=int4"
                                     "q4_0|$QUANT_Q4_GGUF|-" "w4a8|$SHIPPED|quant=w4a8")
echo "decode tg$NGEN, threads 1 and 2, $ROUNDS alternating rounds x $REPS reps, device ${SIMD:+cpu:}${SIMD:-auto} ($(lscpu | sed -n 's/^Model name: *//p'); load $(cut -d' ' -f1-3 /proc/loadavg))"
for r in $(seq 1 "$ROUNDS"); do
    for i in "${!pairs[@]}"; do
        IFS='|' read -r label model sets <<<"${pairs[$i]}"
        args=(speed -q -m "$model" -p 0 -n "$NGEN" -t 1,2 -r "$REPS" -o json)
        [ -n "$SIMD" ] && { [ "$sets" = "-" ] && sets="device=cpu:$SIMD" || sets="$sets device=cpu:$SIMD"; }
        [ "$sets" != "-" ] && args+=(--set "$sets")
        if ! $BIN "${args[@]}" > "$T/r$r.$i.json" 2> "$T/err"; then
            echo "failed: $label $model $sets: $(head -1 "$T/err")"; exit 1
        fi
    done
    echo "round $r done (load $(cut -d' ' -f1 /proc/loadavg))" >&2
done
# bandwidth at each model's working set, measured once per size and thread count
python3 - "$T" "$ROUNDS" "$BW" "${pairs[@]}" <<'PY'
import json, subprocess, sys, statistics as st
T, R, BW, pairs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
runs = {}   # (i, threads) -> [(tok/s, bytes)]
for r in range(1, R + 1):
    for i in range(len(pairs)):
        for row in json.load(open(f"{T}/r{r}.{i}.json")):
            runs.setdefault((i, row["n_threads"]), []).append((row["avg_ts"], row["model_size"]))
bw = {}
def bandwidth(b, t):
    if (b, t) not in bw:
        out = subprocess.run([BW, "bw", str(int(b)), str(t)], capture_output=True, text=True)
        bw[(b, t)] = float(out.stdout.split()[0]) if out.returncode == 0 else float("nan")
    return bw[(b, t)]
print("%-34s %-6s %7s %12s %10s %9s %9s %8s" % ("model", "mode", "threads", "tok/s (med)", "MB/token", "GB/s", "% of bw", "B/A"))
for i in range(0, len(pairs), 2):
    for t in (1, 2):
        base = runs[(i, t)]
        for j in (i, i + 1):
            label, model, sets = pairs[j].split("|")
            s = runs[(j, t)]
            ts = st.median(v for v, _ in s)
            b = s[0][1]
            g = bandwidth(b, t)
            ratio = st.median(a[0] / c[0] for a, c in zip(s, base))
            print("%-34s %-6s %7d %12.2f %10.1f %9.1f %8.1f%% %8s" % (model[-34:], label, t, ts, b / 1e6, g,
                  100 * ts * b / 1e9 / g, "-" if j == i else "%.3f" % ratio))
PY
