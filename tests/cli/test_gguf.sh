#!/usr/bin/env bash
# Real model through the command line: text in, text out, chat template, and
# bad GGUF files rejected with one line and exit 2.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf
T=$(mktemp -d); trap 'rm -rf "$T" "$OUT" "$ERR"' EXIT

printf 'GGUX\003\000\000\000' >"$T/badmagic.gguf"
run $BIN generate --model "$T/badmagic.gguf" -n 2
expect_rc "bad magic" 2; expect_one_line_err "bad magic"; expect_err "names the file" "badmagic.gguf: "
run $BIN generate --model "$T/none.gguf" -n 2
expect_rc "missing file" 2; expect_one_line_err "missing file"

if [ ! -f "$MODEL" ]; then
    echo "  SKIP real-model checks: $MODEL absent (make model)"
    summary; exit $?
fi
head -c 100000 "$MODEL" >"$T/trunc.gguf"
run $BIN generate --model "$T/trunc.gguf" -n 2
expect_rc "truncated model" 2; expect_one_line_err "truncated model"

# llama.cpp's greedy continuation starts " Paris.\n\nThe" (tests/reference/model_golden.json)
run $BIN generate --model "$MODEL" --prompt "The capital of France is" -n 5
expect_rc "generate text" 0
[ "$(head -c 11 "$OUT")" = " Paris.

Th" ] && ok "greedy text equals llama.cpp's first tokens" || bad "greedy text: $(head -c 40 "$OUT" | od -c | head -2)"
expect_err "reports the model" "q4_1, 30 layers, heads 9:3"
run $BIN generate --model "$MODEL" --prompt "Say hi" --chat -n 48
expect_rc "chat" 0
expect_err "chat stops or runs out" "decode [0-9]+ tokens"
grep -q "im_start\|im_end" "$OUT" && bad "chat output shows template tokens" || ok "chat output has no template tokens"
summary
