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
# A fair comparison: both sides run the same schedule (every request arrives at
# t=0, greedy: the same steps and batch shapes; each round prints both step and
# decode-token counts and flags a difference), long enough (512 output tokens:
# about 5 s of decode on the quiet 2-core VM), and nothing but the TUI and tmux
# runs beside the TUI side: the script looks for the end of the recording once
# a second, on the header line, without a grep (at 10 polls/s, a tmux client +
# grep + sleep per poll took ~5% of a core, which a 2-thread engine on 2 cores
# pays in full).
#   OVERHEAD_ROUNDS (default 3), OVERHEAD_MODEL (default the shipped SmolLM2 GGUF,
#   else synth:smollm2-135m), OVERHEAD_REQUESTS / OVERHEAD_OUTPUT (4 x 512 tokens)
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
SET="requests=${OVERHEAD_REQUESTS:-4} prompt.dist=fixed prompt.value=32 output.dist=fixed output.value=${OVERHEAD_OUTPUT:-512}"
ARGS=(--scenario scenarios/smoke.ini --scenario-set "$SET" --model "$MODEL")
J=$(mktemp -d)
SOCK=infertop-overhead-$$
trap 'tmux -L "$SOCK" kill-server 2>/dev/null; rm -rf "$J"' EXIT

decode_of_json() {   # bench --json F: "decode tok/s, steps, decode tokens"
    python3 -c 'import json,sys; d = json.load(open(sys.argv[1]))
print(d["decode_phase_tok_s"], d["steps"], d["output_tokens"] - d["requests"])' "$1"
}
decode_of_recording() {   # the same over a recording's steps (decode tokens: after each request's first)
    python3 - "$1" <<'PY'
import json, sys
tok = t = 0.0
steps = 0
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d.get("type") == "step":
        tok += d["decode_tokens"]; t += d["decode_s"]; steps += 1
print(tok / t if t > 0 else 0, steps, int(tok))
PY
}

run_bench() {   # round $1: decode tok/s, steps, decode tokens of bench -q, NVTX compiled out
    $OFF bench "${ARGS[@]}" -q --json "$J/b$1.json" >/dev/null
    decode_of_json "$J/b$1.json"
}

run_tui() {   # round $1: the same for the TUI run (one run of the workload, recorded)
    local rec="$J/t$1.jsonl" i head
    tmux -L "$SOCK" new-session -d -s "t$1" -x 132 -y 43 \
        "$ON tui ${ARGS[*]@Q} --record $rec -q; tmux -L $SOCK wait-for -S done$1"
    # the recording holds one run: "REC stopped" in the header once the workload
    # restarted; what runs after that is not measured, so a poll a second is enough
    for ((i = 0; i < 600; i++)); do
        sleep 1
        head=$(tmux -L "$SOCK" capture-pane -p -t "t$1" -S 0 -E 2 2>/dev/null) || true
        [[ $head == *"REC stopped"* ]] && break
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
differ=0
for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2)); then t_out=$(run_tui $r); b_out=$(run_bench $r); order="TUI, bench"
    else b_out=$(run_bench $r); t_out=$(run_tui $r); order="bench, TUI"; fi
    read -r tui ts tt <<<"$t_out"
    read -r bench bs bt <<<"$b_out"
    ratio=$(python3 -c "print(f'{$tui / $bench:.4f}')")
    ratios+=("$ratio")
    same="same schedule"
    [ "$ts" = "$bs" ] && [ "$tt" = "$bt" ] || { same="SCHEDULES DIFFER"; differ=1; }
    printf '  round %d (%s): TUI %.1f tok/s, bench %.1f tok/s, TUI/bench %s (steps %s/%s, decode tokens %s/%s: %s; load %s)\n' \
        $r "$order" "$tui" "$bench" "$ratio" "$ts" "$bs" "$tt" "$bt" "$same" "$(cut -d' ' -f1 /proc/loadavg)"
done
((differ == 0)) || echo "bench_overhead: the two sides ran different schedules: the ratio compares different work"
python3 - "${ratios[@]}" <<'PY'
import statistics, sys
r = sorted(float(x) for x in sys.argv[1:])
m = statistics.median(r)
print(f"TUI/bench decode tok/s: median {m:.4f} of {len(r)} rounds (min {r[0]:.4f}, max {r[-1]:.4f}); "
      f"overhead {100 * (1 - m):+.1f}% (goal <= 2%: {'met' if m >= 0.98 else 'NOT met'})")
PY
