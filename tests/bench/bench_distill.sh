#!/usr/bin/env bash
# make distill: SmolLM2-135M-Instruct (Q4_1) as teacher, a small student
# distilled on its own sampled continuations of scenarios/distill_prompts.txt,
# then the judges: held-out KL before -> after and training tokens/s (from
# infertop's --json), llama.cpp's llama-perplexity on the trained and the
# untrained draft (a finite PPL = llama.cpp loads and runs the file).
#
# Knobs (environment): DISTILL_SHAPE (2x576), DISTILL_TOKENS (training tokens,
# 12288), DISTILL_DATA (teacher tokens generated, 4096), DISTILL_THREADS (2),
# DISTILL_SET (extra train_* options), LLAMA_BIN (folder holding
# llama-perplexity; else it is looked up on PATH; skipped when absent).
set -u
cd "$(dirname "$0")/../.."
TEACHER=models/SmolLM2-135M-Instruct.Q4_1.gguf
SHAPE=${DISTILL_SHAPE:-2x576}
TOKENS=${DISTILL_TOKENS:-12288}
DATA=${DISTILL_DATA:-4096}
THR=${DISTILL_THREADS:-2}
O=build/bench
mkdir -p $O
echo "distill benchmark on $(lscpu | sed -n 's/^Model name: *//p'), $THR threads; load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
common=(--teacher $TEACHER --student "$SHAPE" --threads "$THR")
set -x
./bin/infertop distill "${common[@]}" -o $O/draft-untrained.gguf --tokens 1 \
    --set "train_lr=0 train_data=256 train_ckpt=0" -q || exit 1
./bin/infertop distill "${common[@]}" -o $O/draft-$SHAPE.gguf --tokens "$TOKENS" --json $O/distill.json \
    --set "train_data=$DATA train_ckpt=50 ${DISTILL_SET:-}" || exit 1
{ set +x; } 2>/dev/null
python3 - $O/distill.json <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print(f"held-out KL (top-{j['config']['topk']} + tail, tau {j['config']['tau']}): "
      f"{j['heldout_kl_before']:.4f} -> {j['heldout_kl_after']:.4f} "
      f"({j['heldout_kl_after'] / j['heldout_kl_before']:.3f}x) after {j['tokens_seen']} tokens, "
      f"{j['steps']} steps; training {j['train_tokens_per_s']:.1f} tok/s "
      f"({j['train_seconds']:.0f} s, {j['config']['threads']} threads, {j['config']['simd']})")
PY
PPL=""
if [ -n "${LLAMA_BIN:-}" ] && [ -x "$LLAMA_BIN/llama-perplexity" ]; then PPL=$LLAMA_BIN/llama-perplexity
else PPL=$(command -v llama-perplexity || true); fi
if [ -z "$PPL" ]; then
    echo "llama-perplexity not found (set LLAMA_BIN): llama.cpp check skipped"
    exit 0
fi
# the drafts must load and give a finite PPL; the teacher is for reference only
for f in $O/draft-untrained.gguf $O/draft-$SHAPE.gguf $TEACHER; do
    out=$("$PPL" -m "$f" -f scenarios/distill_prompts.txt -c 128 -t "$THR" 2>&1); rc=$?
    ppl=$(grep -oE 'Final estimate: PPL = [0-9.]+' <<<"$out" | grep -oE '[0-9.]+$')
    echo "llama-perplexity $(basename "$f"): PPL ${ppl:-none (exit $rc)} (scenarios/distill_prompts.txt, ctx 128)"
    [ -n "$ppl" ] || [ "$f" = $TEACHER ] || { tail -5 <<<"$out"; exit 1; }
done
