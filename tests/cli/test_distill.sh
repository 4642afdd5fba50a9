#!/usr/bin/env bash
# infertop distill: flags and shapes refused with one line (exit 2), a tiny
# run on synth:tiny (draft GGUF that loads and generates, --json, the
# checkpoint it resumes from), corrupt checkpoints (exit 2), Ctrl-C (a
# checkpoint, exit 130, no partial draft), and the real teacher's tokenizer
# copied into the draft.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
T=$(mktemp -d); trap 'rm -rf "$T" "$OUT" "$ERR"' EXIT
TINY=(--teacher synth:tiny --threads 2)
SMALL="train_batch=2 train_seq=16 train_data=256 train_topk=16"

run $BIN distill --help
expect_rc "distill --help" 0
expect_out "--help names SHAPE and the train_* options" "SHAPE.*LAYERSxDIM"
run $BIN --help
expect_out "infertop --help lists distill" "infertop distill --teacher"
run $BIN options
expect_out "options lists train_lr for distill" "train_lr .*distill"

run $BIN distill -q --student 2x64 -o $T/d.gguf
expect_rc "no --teacher" 2; expect_one_line_err "no --teacher"
run $BIN distill -q "${TINY[@]}" --student 3y4 -o $T/d.gguf
expect_rc "bad SHAPE" 2; expect_one_line_err "bad SHAPE"; expect_err "bad SHAPE named" "student 3y4"
run $BIN distill -q "${TINY[@]}" --student "layers=2,dim=60,heads=7" -o $T/d.gguf
expect_rc "heads not dividing dim" 2; expect_one_line_err "heads not dividing dim"
run $BIN distill -q "${TINY[@]}" --student 2x64 -o $T/d.gguf --set train_batch=0
expect_rc "train_batch=0" 2; expect_one_line_err "train_batch=0"
run $BIN distill -q "${TINY[@]}" --student 2x64 -o $T/d.gguf --set kv=paged
expect_rc "an engine option distill does not use" 2; expect_err "kv not used" "kv: not used by distill"
run $BIN distill -q "${TINY[@]}" --student 2x32 -o $T/d.gguf --init truncate
expect_rc "truncate with another dim" 2; expect_one_line_err "truncate with another dim"
run $BIN distill -q "${TINY[@]}" --student 2x64 -o $T/nodir/d.gguf
expect_rc "unwritable -o before any work" 2
run $BIN distill -q "${TINY[@]}" --student 2x64 -o $T/d.gguf --data text:$T/none.txt --set "$SMALL"
expect_rc "missing --data file" 2; expect_one_line_err "missing --data file"

# a tiny run: 24 steps of 2 x 16 tokens, checkpoints every 8
run $BIN distill "${TINY[@]}" --student 2x64 --init random -o $T/d.gguf --tokens 768 --json $T/d.json \
    --set "$SMALL train_embd=on train_lr=0.003 train_ckpt=8"
expect_rc "tiny distill" 0
expect_err "progress line" "step [0-9]+/24 \| [0-9]+ tok/s \| loss [0-9.]+ \| held-out KL [0-9.]+ \| ETA"
expect_err "loss curve" "loss curve"
expect_err "summary read back from the GGUF" "held-out KL [0-9.]+ -> [0-9.]+"
[ -s $T/d.gguf ] && ok "draft written" || bad "no draft"
python3 - "$T/d.json" <<'PY' && ok "--json: KL fell, curve of 25 points" || bad "--json content"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["steps"] == 24 and len(j["curve"]) == 25, j
assert j["heldout_kl_after"] < j["heldout_kl_before"], j
PY
run $BIN generate --model $T/d.gguf --prompt "hi" -n 4 -q
expect_rc "generate runs the draft" 0
run $BIN models $T/d.gguf
expect_rc "models FILE" 0
expect_out "models FILE: the student's shape" "layers 2, dim 64"
expect_out "models FILE: the training summary" "distilled from synth:tiny.*768 tokens, 24 steps, held-out KL"
run $BIN models $T/none.gguf
expect_rc "models on a missing file" 2; expect_one_line_err "models on a missing file"
[ -s $T/d.gguf.ckpt ] && ok "checkpoint written" || bad "no checkpoint"
cp $T/d.gguf.ckpt $T/good.ckpt

# resume: the same run from its checkpoint (written at the end: step 24)
run $BIN distill "${TINY[@]}" --student 2x64 --init random -o $T/r.gguf --tokens 768 --resume $T/good.ckpt \
    --set "$SMALL train_embd=on train_lr=0.003 train_ckpt=8"
expect_rc "resume" 0
expect_err "resumed at step 24" "resumed .* at step 24"
run $BIN distill -q "${TINY[@]}" --student 2x64 --init random -o $T/r.gguf --tokens 768 --resume $T/good.ckpt \
    --set "$SMALL train_ckpt=8"
expect_rc "resume with another train_embd" 2; expect_one_line_err "resume mismatch"

head -c 5000 $T/good.ckpt > $T/trunc.ckpt
run $BIN distill -q "${TINY[@]}" --student 2x64 --init random -o $T/r.gguf --tokens 768 --resume $T/trunc.ckpt \
    --set "$SMALL train_embd=on train_ckpt=8"
expect_rc "truncated checkpoint" 2; expect_one_line_err "truncated checkpoint"; expect_err "truncated: size" "size"
cp $T/good.ckpt $T/flip.ckpt
printf '\x55' | dd of=$T/flip.ckpt bs=1 seek=3000 conv=notrunc 2>/dev/null
run $BIN distill -q "${TINY[@]}" --student 2x64 --init random -o $T/r.gguf --tokens 768 --resume $T/flip.ckpt \
    --set "$SMALL train_embd=on train_ckpt=8"
expect_rc "corrupt checkpoint" 2; expect_one_line_err "corrupt checkpoint"; expect_err "corrupt: crc" "crc"
echo "not a checkpoint" > $T/junk.ckpt
run $BIN distill -q "${TINY[@]}" --student 2x64 -o $T/r.gguf --resume $T/junk.ckpt --set "$SMALL"
expect_rc "junk checkpoint" 2; expect_one_line_err "junk checkpoint"

# Ctrl-C: a checkpoint, exit 130, and no draft
$BIN distill "${TINY[@]}" --student 2x64 --init random -o $T/c.gguf --tokens 200000 \
    --set "$SMALL train_eval=1 train_ckpt=0" >"$OUT" 2>"$ERR" &
pid=$!
for _ in $(seq 600); do grep -q "step [1-9]" "$ERR" && break; sleep 0.1; done
kill -INT $pid; wait $pid; RC=$?
expect_rc "Ctrl-C" 130
expect_err "Ctrl-C names the checkpoint" "interrupted at step [0-9]+/.*c.gguf.ckpt"
[ -s $T/c.gguf.ckpt ] && [ ! -e $T/c.gguf ] && ok "Ctrl-C: checkpoint, no draft" || bad "Ctrl-C files: $(ls $T)"
ls $T | grep -q '\.tmp$' && bad "a temp file was left: $(ls $T)" || ok "no temp file left"

# the real teacher: its tokenizer in the draft, text out of generate
REAL=models/SmolLM2-135M-Instruct.Q4_1.gguf
if [ -f $REAL ]; then
    run $BIN distill --teacher $REAL --threads 2 --student 1x576 -o $T/s.gguf --tokens 16 \
        --set "train_batch=1 train_seq=16 train_data=32 train_ckpt=0" -q
    expect_rc "SmolLM2 teacher, 1-layer student" 0
    run $BIN generate --model $T/s.gguf --prompt "The capital of France is" -n 3 -q
    expect_rc "the draft generates with the copied tokenizer" 0
    grep -qE '^[0-9 ]+$' "$OUT" && bad "ids instead of text: no tokenizer" || ok "text out: tokenizer copied"
fi
summary
