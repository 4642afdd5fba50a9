#!/usr/bin/env bash
# Parallelism benchmark (issue 17): prefill and decode tok/s for tp=2, pp=2
# (micro_batches 1, 2, 4, 8) and tp=2 sp=on against ONE device with the same
# total threads, in rounds that alternate the configurations (medians of
# per-round ratios); the measured pipeline bubble beside (p-1)/(m+p-1), the
# comm share of device time and the residual stream per device with and
# without sp. Every number is measured in this run.
#   tests/bench/bench_parallel.sh [MODEL] [ROUNDS]    (default synth:smollm2-135m, 3)
# Env: THREADS (2), WTYPE (f32), REQUESTS (8), PROMPT (32), OUTPUT (16), CONFIGS_LIST (comma-separated).
# A 7B-shaped run (q4_0 is 3.8 GB; a synth model is generated at every start, ~100 s on 2 cores):
#   WTYPE=q4_0 REQUESTS=4 PROMPT=8 OUTPUT=4 CONFIGS_LIST="tp=1,tp=2,pp=2 micro_batches=1,..." \
#       tests/bench/bench_parallel.sh synth:llama2-7b 1
set -eu
cd "$(dirname "$0")/../.."
BIN=bin/infertop
MODEL=${1:-synth:smollm2-135m}
ROUNDS=${2:-3}
THREADS=${THREADS:-2}
J=$(mktemp -d); trap 'rm -rf "$J"' EXIT
printf '[scenario]\nname = par-bench\nseed = 1\nrequests = %s\n[arrival]\nprocess = all\n[prompt]\ndist = fixed\nvalue = %s\n[output]\ndist = fixed\nvalue = %s\n' \
    "${REQUESTS:-8}" "${PROMPT:-32}" "${OUTPUT:-16}" >"$J/s.ini"
CONFIGS=("tp=1" "tp=2" "pp=2 micro_batches=1" "pp=2 micro_batches=2" "pp=2 micro_batches=4" "pp=2 micro_batches=8"
         "tp=2 sp=on")
# CONFIGS="tp=1,tp=2,..." replaces the list (the first is the one-device baseline of the ratios)
if [ -n "${CONFIGS_LIST:-}" ]; then IFS=, read -ra CONFIGS <<<"$CONFIGS_LIST"; fi
echo "model $MODEL wtype=${WTYPE:-f32}, threads=$THREADS in total, $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
    for i in "${!CONFIGS[@]}"; do
        $BIN bench --model "$MODEL" --scenario "$J/s.ini" --threads "$THREADS" \
            --set "wtype=${WTYPE:-f32} ${CONFIGS[$i]}" --json "$J/r$r-c$i.json" -q >/dev/null 2>"$J/err" ||
            { echo "bench ${CONFIGS[$i]} failed: $(cat "$J/err")"; exit 1; }
    done
    echo "round $r/$ROUNDS done (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
done
python3 - "$J" "$ROUNDS" "${CONFIGS[@]}" <<'PY'
import json, statistics, sys
d, rounds, configs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
load = lambda r, i: json.load(open(f"{d}/r{r}-c{i}.json"))
print(f"{'config':38} {'prefill tok/s':>13} {'x1dev':>6} {'decode tok/s':>12} {'x1dev':>6} "
      f"{'bubble':>7} {'formula':>7} {'comm':>6} {'resid/dev':>10}")
for i, c in enumerate(configs):
    runs = [load(r, i) for r in range(1, rounds + 1)]
    base = [load(r, 0) for r in range(1, rounds + 1)]
    pf = statistics.median(x["prefill_phase_tok_s"] for x in runs)
    dc = statistics.median(x["decode_phase_tok_s"] for x in runs)
    rp = statistics.median(x["prefill_phase_tok_s"] / b["prefill_phase_tok_s"] for x, b in zip(runs, base))
    rd = statistics.median(x["decode_phase_tok_s"] / b["decode_phase_tok_s"] for x, b in zip(runs, base))
    p = runs[-1].get("parallel")
    par = (f"{p['bubble_pct']:6.1f}% {p['bubble_formula_pct']:6.1f}% {p['comm_pct']:5.1f}% "
           f"{p['resid_bytes_max'] / 1e3:8.1f}kB") if p else f"{'-':>7} {'-':>7} {'-':>6} {'-':>10}"
    print(f"{c:38} {pf:13.1f} {rp:5.2f}x {dc:12.1f} {rd:5.2f}x {par}")
print("bubble: mean over steps of idle / (pp x span) on each stage's rank 0 (decode steps run fewer "
      "micro-batches when fewer sequences remain); comm: comm records' time / (devices x span); "
      "resid/dev: the largest residual stream one device held (B x S x D x 4 bytes, / tp with sp)")
PY
