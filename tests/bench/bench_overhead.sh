#!/usr/bin/env bash
# Profiler overhead (make bench): decode throughput of what a user runs —
# bin/infertop tui (NVTX compiled in, the TUI drawing at its 15 frames/s in a
# tmux pane, telemetry published every step and recorded with --record) —
# against `bench -q` of bin/infertop-nvtx0 (make nvtx-off: NVTX compiled out),
# on the same requests. Rounds alternate the order (TUI first, then bench
# first); the result is the median of the per-round ratios TUI / bench of
# decode tok/s (decode tokens / decode-step time: the report's
# decode_phase_tok_s, computed for the TUI from its recording's step records).
# Goal: the TUI side within 2% (ratio >= 0.98).
#   OVERHEAD_ROUNDS (default 3), OVERHEAD_MODEL (default the shipped SmolLM2 GGUF,
#   else synth:smollm2-135m), OVERHEAD_REQUESTS / OVERHEAD_OUTPUT (4 x 128 tokens)
set -eu
cd "$(dirname "$0")/../.."
ON=bin/infertop OFF=bin/infertop-nvtx0
ROUNDS=${OVERHEAD_ROUNDS:-3}
MODEL=${OVERHEAD_MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
[ -f "$MODEL" ] || [ "${MODEL#synth:}" != "$MODEL" ] || MODEL=synth:smollm2-135m
for b in $ON $OFF; do
    [ -x $b ] || { echo "bench_overhead: $b missing (make all nvtx-off)"; exit 2; }
done
if ! command -v tmux >/dev/null 2>&1; then
    echo "bench_overhead: tmux not installed: the TUI side cannot run; nothing measured"
    exit 0
fi
SET="requests=${OVERHEAD_REQUESTS:-4} prompt.dist=fixed prompt.value=32 output.dist=fixed output.value=${OVERHEAD_OUTPUT:-128}"
ARGS=(--scenario scenarios/smoke.ini --scenario-set "$SET" --model "$MODEL")
J=$(mktemp -d)
SOCK=infertop-overhead-$$
trap 'tmux -L "$SOCK" kill-server 2>/dev/null; rm -rf "$J"' EXIT

decode_of_json() {   # bench --json F: decode tok/s
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["decode_phase_tok_s"])' "$1"
}
decode_of_recording() {   # the same formula over a recording's steps
    python3 - "$1" <<'PY'
import json, sys
tok = t = 0.0
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d.get("type") == "step":
        tok += d["decode_tokens"]; t += d["decode_s"]
print(tok / t if t > 0 else 0)
PY
}

run_bench() {   # round $1: decode tok/s of bench -q, NVTX compiled out
    $OFF bench "${ARGS[@]}" -q --json "$J/b$1.json" >/dev/null
    decode_of_json "$J/b$1.json"
}

run_tui() {   # round $1: decode tok/s of the TUI run (one run of the workload, recorded)
    local rec="$J/t$1.jsonl" i
    tmux -L "$SOCK" new-session -d -s "t$1" -x 132 -y 43 \
        "$ON tui ${ARGS[*]@Q} --record $rec -q; tmux -L $SOCK wait-for -S done$1"
    # the recording holds one run: "REC stopped" in the header once the workload restarted
    for ((i = 0; i < 6000; i++)); do
        tmux -L "$SOCK" capture-pane -p -t "t$1" 2>/dev/null | grep -q "REC stopped" && break
        sleep 0.1
    done
    tmux -L "$SOCK" send-keys -t "t$1" q
    timeout 60 tmux -L "$SOCK" wait-for "done$1"
    [ -f "$rec" ] || { echo "bench_overhead: the TUI wrote no recording" >&2; exit 1; }
    decode_of_recording "$rec"
}

echo
echo "== profiler overhead: decode tok/s, TUI + telemetry + recording (NVTX on) vs bench -q (NVTX compiled out)"
echo "   model $MODEL, smoke.ini with $SET; $(nproc) CPUs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
ratios=()
for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2)); then tui=$(run_tui $r); bench=$(run_bench $r); order="TUI, bench"
    else bench=$(run_bench $r); tui=$(run_tui $r); order="bench, TUI"; fi
    ratio=$(python3 -c "print(f'{$tui / $bench:.4f}')")
    ratios+=("$ratio")
    printf '  round %d (%s): TUI %.1f tok/s, bench %.1f tok/s, TUI/bench %s\n' $r "$order" "$tui" "$bench" "$ratio"
done
python3 - "${ratios[@]}" <<'PY'
import statistics, sys
r = sorted(float(x) for x in sys.argv[1:])
m = statistics.median(r)
print(f"TUI/bench decode tok/s: median {m:.4f} of {len(r)} rounds (min {r[0]:.4f}, max {r[-1]:.4f}); "
      f"overhead {100 * (1 - m):+.1f}% (goal <= 2%: {'met' if m >= 0.98 else 'NOT met'})")
PY
