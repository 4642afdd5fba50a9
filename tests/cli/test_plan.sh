#!/usr/bin/env bash
# infertop plan (MODELED memory and roofline), the simulated device
# --device sim:GPU[xN] (SIMULATED runs labelled so in text, JSON and traces),
# and plan --validate (sim:host against the CPU backend).
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
T=$(mktemp -d); trap 'rm -f "$OUT" "$ERR"; rm -rf "$T"' EXIT
export XDG_CACHE_HOME=$T/cache

run $BIN plan --help; expect_rc "plan --help" 0; expect_out "help names the flags" "--gpu NAME\[xN\]"
run $BIN; expect_out "plan is in the usage" "infertop plan"

# the seed's numbers: llama2-7b f16 weights 13.48 GB, KV/token 512 KiB, 4096 tokens = 2 GiB
run $BIN plan --model synth:llama2-7b --gpu h100 --set wtype=f16 --ctx 4096 --json $T/p.json
expect_rc "plan llama2-7b on h100" 0
expect_out "weights 13.48 GB" "weights .*\(13\.48 GB"
expect_out "KV/token 512 KiB" "KV per token +512\.00 KiB"
expect_out "KV of 4096 tokens = 2 GiB" "KV +2\.00 GiB"
expect_out "says MODELED" "MODELED"
expect_out "decode is memory-bound" "matmul_f16 .* memory "
expect_out "prefill matmuls are compute-bound" "matmul_f16 +4096x4096x4096 .* compute "
expect_out "predicted TTFT and TPOT" "predicted: TTFT .* TPOT .* decode .* tok/s"
python3 - "$T/p.json" <<'PY' && ok "plan JSON: memory, phases, ops, predictions" || bad "plan JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["modeled"] is True
m = d["memory"]
assert abs(m["weights_bytes"] / 1e9 - 13.48) < 0.02, m["weights_bytes"]
assert m["kv_per_token_bytes"] == 512 * 1024
assert m["fits"] and m["max_batch"] >= 1
assert d["decode"]["ops"] and all(o["bound"] == "memory" for o in d["decode"]["ops"])
assert d["predicted"]["tpot_s"] > 0 and d["predicted"]["ttft_s"] > d["predicted"]["tpot_s"]
PY
# GQA: llama3-8b 128 KiB per token, not 512 (hidden size would overstate it 4x)
run $BIN plan --model synth:llama3-8b --gpu a100 --set "wtype=bf16 kv_dtype=f16" --ctx 8192 --batch 4
expect_rc "plan llama3-8b on a100" 0; expect_out "llama3-8b KV/token 128 KiB" "KV per token +128\.00 KiB"
# 70B in f16 does not fit one H100; tensor parallel over 8 does
run $BIN plan --model synth:llama2-70b --gpu h100 --set wtype=f16 --batch 8 --ctx 2048
expect_rc "70B on one h100" 0; expect_out "does not fit" "DOES NOT FIT"
run $BIN plan --model synth:llama2-70b --gpu h100x8 --tp 8 --set wtype=f16 --batch 8 --ctx 2048
expect_rc "70B on h100x8 tp=8" 0; expect_out "fits on 8" "budget: fits"; expect_out "comm in the decode step" "comm \(tp/pp\)"
run $BIN plan --model synth:llama2-70b --gpu h100x8 --tp 2 --pp 4 --set wtype=f16
expect_rc "tp 2 x pp 4" 0; expect_out "tp and pp named" "tp 2, pp 4"
run $BIN plan --model synth:llama2-7b --gpu h100 --set wtype=f16 --budget 20G --ctx 4096
expect_out "largest batch for a 20G budget" "largest batch at ctx 4096: [1-9]"

# bad input: one line, exit 2
run $BIN plan --model synth:llama2-7b --gpu v100;  expect_rc "unknown gpu" 2; expect_one_line_err "unknown gpu"; expect_err "lists the rows" "expected h100, h200, a100, l4, rtx4090 or host"
run $BIN plan --model synth:nope --gpu h100;       expect_rc "unknown model" 2; expect_one_line_err "unknown model"
run $BIN plan --model synth:tiny;                  expect_rc "no --gpu" 2; expect_one_line_err "no --gpu"
run $BIN plan --model synth:tiny --gpu h100x4 --tp 3; expect_rc "tp x pp != N" 2; expect_err "says why" "expected the 4 of --gpu"
run $BIN plan --model synth:tiny --gpu h100x99;    expect_rc "too many devices" 2; expect_err "range" "x1..x16"
run $BIN plan --model synth:tiny --gpu h100 --budget lots; expect_rc "bad budget" 2
run $BIN bench --scenario scenarios/smoke.ini --device sim:v100 -q; expect_rc "unknown sim device" 2; expect_one_line_err "unknown sim device"

# the simulated device: 70B on 8 H100s runs chat.ini in seconds, in little memory
/usr/bin/time -f "%e %M" -o $T/time $BIN bench --scenario scenarios/chat.ini --model synth:llama2-70b \
    --device sim:h100x8 --set wtype=f16 --json $T/sim.json >$OUT 2>$ERR; RC=$?
expect_rc "chat.ini on sim:h100x8" 0
read -r wall rss <$T/time
echo "  (synth:llama2-70b, chat.ini on sim:h100x8: ${wall} s wall, peak RSS $((rss / 1024)) MiB)"
awk -v w="$wall" 'BEGIN { exit !(w < 120) }' && ok "runs in seconds (${wall} s)" || bad "took ${wall} s"
[ "$rss" -lt 1048576 ] && ok "little memory ($((rss / 1024)) MiB, weights of 138 GB never allocated)" || bad "peak RSS ${rss} KiB"
expect_out "report says SIMULATED" "^SIMULATED on "
expect_out "device line says SIMULATED" "device sim \(SIMULATED\)"
expect_out "every request finished" "requests 64 finished"
python3 - "$T/sim.json" <<'PY' && ok "JSON: simulated true, outputs of the scenario's lengths" || bad "sim JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["simulated"] is True and "SIMULATED" in d["device_name"]
assert d["finished"] == 64 and d["duration_s"] > 0
assert all(o["output_tokens"] > 0 for o in d["outputs"])
PY
run $BIN bench --scenario scenarios/smoke.ini --model synth:llama2-70b --device sim:h100x8 --set wtype=f16 -q \
    --trace $T/sim.trace.json --record $T/sim.jsonl
expect_rc "sim run with trace and recording" 0
grep -q '"simulated": *true' $T/sim.trace.json && grep -q "SIMULATED" $T/sim.trace.json && ok "trace labelled SIMULATED" || bad "trace label"
run $BIN replay $T/sim.jsonl; expect_rc "replay of a simulated run" 0; expect_out "replay says SIMULATED" "SIMULATED"
run $BIN generate --model synth:llama2-70b --device sim:h100 --set wtype=q4_0 -n 4 -q
expect_rc "generate on a simulated device" 0

# tensor / pipeline parallelism over N simulated devices: the engine's own tp/pp machinery,
# comm from the link (NVLink) in NCCL's cost model; in seconds and little memory
/usr/bin/time -f "%e %M" -o $T/time $BIN bench --scenario scenarios/chat.ini --model synth:llama2-70b \
    --device sim:h100x8 --set "wtype=f16 tp=8" --json $T/tp8.json >$OUT 2>$ERR; RC=$?
expect_rc "chat.ini on sim:h100x8 with tp=8" 0
read -r wall rss <$T/time
echo "  (synth:llama2-70b f16, chat.ini on sim:h100x8 tp=8: ${wall} s wall, peak RSS $((rss / 1024)) MiB)"
awk -v w="$wall" 'BEGIN { exit !(w < 180) }' && ok "tp=8 runs in seconds (${wall} s)" || bad "tp=8 took ${wall} s"
[ "$rss" -lt 1048576 ] && ok "tp=8 in little memory ($((rss / 1024)) MiB)" || bad "tp=8 peak RSS ${rss} KiB"
expect_out "tp=8: every request finished" "requests 64 finished"
expect_out "tp=8: all-reduces take a share of device time" "parallel: .*comm [0-9.]+% of device time"
python3 - "$T/tp8.json" <<'PY' && ok "tp=8 JSON: simulated, parallel block with comm" || bad "tp=8 JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["simulated"] is True and "SIMULATED" in d["device_name"]
assert d["parallel"]["comm_pct"] > 0.5, d["parallel"]
PY
run $BIN bench --scenario scenarios/smoke.ini --model synth:llama2-70b --device sim:h100x8 \
    --set "wtype=f16 pp=4 micro_batches=4" --json $T/pp4.json
expect_rc "pp=4 micro_batches=4 on sim:h100x8" 0
python3 - "$T/pp4.json" <<'PY' && ok "pp=4 m=4: measured bubble near (p-1)/(m+p-1)" || bad "pp=4 bubble"
import json, sys
p = json.load(open(sys.argv[1]))["parallel"]
assert p["bubble_pct"] > 20 and abs(p["bubble_pct"] - p["bubble_formula_pct"]) < 15, p
PY
run $BIN bench --scenario scenarios/smoke.ini --model synth:llama2-70b --device sim:h100x8 --set tp=16 -q
expect_rc "tp=16 on 8 simulated devices" 2; expect_one_line_err "tp=16 on x8"; expect_err "says the limit" "expected at most 8"

# quant / sparsity on shapes: the formats change without data, the bytes drop, labelled MODELED
run $BIN plan --model synth:llama2-70b --gpu h100 --set wtype=f16 --json $T/f16.json; expect_rc "plan f16" 0
run $BIN plan --model synth:llama2-70b --gpu h100 --set "wtype=f16 quant=int4" --json $T/i4.json
expect_rc "plan quant=int4" 0; expect_out "int4 formats named, MODELED" "^weights +int4_g32 .*MODELED"
python3 - "$T/f16.json" "$T/i4.json" <<'PY' && ok "int4: weights and decode time drop" || bad "int4 plan"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
wa, wb = a["memory"]["weights_bytes"], b["memory"]["weights_bytes"]
assert 2.5 < wa / wb < 4.5, (wa, wb)
assert b["predicted"]["tpot_s"] < a["predicted"]["tpot_s"] / 2, (a["predicted"], b["predicted"])
assert b["weights_formats"].startswith("int4")
PY
run $BIN bench --scenario scenarios/smoke.ini --model synth:llama2-7b --device sim:h100 \
    --set "wtype=f16 quant=fp8a8 sparsity=2:4-magnitude"
expect_rc "fp8a8 + 2:4 on a simulated device" 0
expect_err "formats on shapes, MODELED" "weights: s24_f16 .*MODELED"
expect_out "its report labelled SIMULATED" "^SIMULATED on "

# a corrupt host cache is one line on the log and a fresh measurement, never a crash
run $BIN plan --model synth:tiny --gpu host; expect_rc "plan --gpu host (measures, caches)" 0
for f in $T/cache/infertop/hw/host-*.txt; do sed -i 's/^op_overhead_s .*/op_overhead_s -1/' "$f"; done
run $BIN plan --model synth:tiny --gpu host; expect_rc "corrupt cache: measured again" 0
expect_err "says which line and what it expected" "hw: cache .*: line 4: expected 'op_overhead_s SECONDS'.*measuring again"

# validation: sim:host against the real CPU (numbers vary with the machine's load; only the shape is checked)
run $BIN plan --validate --scenario scenarios/smoke.ini --model synth:tiny --json $T/v.json
expect_rc "plan --validate" 0
expect_out "per op class table" "^  matmul +[0-9]+ "
expect_out "median decode step error" "median \|error\| of decode steps [0-9.]+%"
expect_out "the load beside the validation" "^load average [0-9.]+ at the start, [0-9.]+ after the CPU run \([0-9]+ of it this run's threads\), on [0-9]+ CPUs"
expect_out "other processes' CPUs beside it" "^other processes used ([0-9.]+|unknown) CPUs during the probes, ([0-9.]+|unknown) during the CPU run"
expect_out "per phase columns" "^  class +ops +measured s +predicted s +error +decode +prefill"
expect_out "the matmul profile by shape" "^  m=1/m=128/m=512 by shape KxN: 512x128 [0-9.e-]+/[0-9.e-]+/[0-9.e-]+ ns .* 512x32768 "
expect_out "the measured operator profile" "^profile \(measured, median of the probe passes\): matmul f32 per weight element at K 1536 N 1024: m=1 "
expect_out "end to end rows" "TPOT p50 ms"
expect_out "the host's own speed beside the model" "^  host speed \(a 128 MiB read and an FMA loop on each of the engine's [0-9]+ threads, .* at the probes [0-9.]+ / [0-9.]+ GB/s.* during the run [0-9.]+-[0-9.]+x .*\(([2-9]|[1-9][0-9]+) samples\)"
expect_out "the steadiness verdict" "^  steadiness: the speed moved [0-9]+% across the probe used \([1-3] probes?, at most 3 until within 10%\); the run's samples' median [0-9.]+x read, [0-9.]+x FMA of the probe's( \(steady: within 10%\)| — NOT STEADY)"
expect_err "host measured" "hw: host .*\((measured|cached)"
python3 - "$T/v.json" <<'PY' && ok "validate JSON: per class and per step" || bad "validate JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["simulated"] is True and d["op_classes"]["matmul"]["measured_s"] > 0
assert len(d["steps_index_prefill_decode_measured_opsmeasured_predicted"]) > 5
assert d["decode_step_error_median"] >= 0
assert d["load_average_start"] != 0 and d["cpus"] >= 1 and isinstance(d["loaded"], bool)
assert d["other_cpus_probes"] >= 0, d["other_cpus_probes"]     # the probes take seconds: measured
assert d["other_cpus_run"] >= 0 or d["other_cpus_run"] == -1    # smoke's run may be under 1 s: unknown
assert d["op_classes"]["matmul"]["decode"]["measured_s"] > 0 and "prefill" in d["op_classes"]["matmul"]
hs = d["host_speed"]            # at least the run's first step and its end
assert len(hs["run_t_bw_fma_flops"]) >= 2 and all(r[1] > 0 and r[2] > 0 for r in hs["run_t_bw_fma_flops"])
assert all(p[0] > 0 and p[1] > 0 for p in hs["probes_bw_fma_flops"]) and 0 < hs["bw_ratio_min"] <= hs["bw_ratio_max"]
assert hs["decode_step_error_median_speed_adjusted"] >= 0
assert 1 <= hs["probe_tries"] <= 3 and hs["probe_moved"] >= 0 and isinstance(hs["steady"], bool)
assert hs["threads"] >= 1 and hs["bw_ratio_median"] > 0 and hs["fma_ratio_median"] > 0
assert hs["steady"] == (hs["probe_moved"] <= 0.10 and abs(hs["bw_ratio_median"] - 1) <= 0.10
                        and abs(hs["fma_ratio_median"] - 1) <= 0.10)
PY
ls $T/cache/infertop/hw/host-*.txt >/dev/null 2>&1 && ok "host row cached" || bad "no host cache file"
summary
