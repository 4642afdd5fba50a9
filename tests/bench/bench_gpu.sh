#!/usr/bin/env bash
# tests/bench/bench_gpu.sh — `make bench-gpu`: the kernel tables of
# build/bench_gpu, then decode of synth:llama2-7b in f16 at batch 1, 8 and 64
# (`infertop speed`, tg32, 2 timed repetitions) with the share of the
# copy-test bandwidth the weight reads take: (t/s / batch) x weight bytes / bw.
# Exit 2 with the reason when no CUDA device is usable (nothing measured).
set -u
cd "$(dirname "$0")/../.."
BENCH=${BENCH_GPU:-build/bench_gpu}
BIN=${BIN:-bin/infertop}
out=$(mktemp)
trap 'rm -f "$out" "$out.json"' EXIT
"$BENCH" | tee "$out"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] || exit "$rc"
bw=$(sed -n 's/^copy test: \([0-9.]*\) TB\/s.*/\1/p' "$out")
echo
echo "decode, synth:llama2-7b f16 on cuda (weights generated on the host, then uploaded; one warm-up, 2 timed runs)"
"$BIN" speed -m synth:llama2-7b --set "device=cuda wtype=f16" -p 0 -n 32 -b 1,8,64 -r 2 -o json -q >"$out.json" || exit 1
python3 - "$out.json" "$bw" <<'PY'
import json, sys
rows, bw = json.load(open(sys.argv[1])), float(sys.argv[2] or 0) * 1e12
print(f"{'batch':>6} {'tok/s':>10} {'steps/s':>9} {'weights GB':>11} {'% copy bw':>10}")
for r in rows:
    steps = r["avg_ts"] / r["n_seq"]
    pct = 100 * steps * r["model_size"] / bw if bw > 0 else 0
    print(f"{r['n_seq']:>6} {r['avg_ts']:>10.1f} {steps:>9.2f} {r['model_size'] / 1e9:>11.2f} {pct:>10.1f}")
PY
