#!/usr/bin/env bash
# 2:4 sparsity through the command line: the options prune at load, the log
# says what was pruned and into which format, bad values and unmet needs are
# refused with one line and exit 2, `models` shows 2:4 weight bytes.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
trap 'rm -f "$OUT" "$ERR"' EXIT

run $BIN generate --model synth:tiny --set sparsity=2:4-magnitude -n 4
expect_rc "magnitude generate" 0
expect_err "says what was pruned" "sparsity: 2:4-magnitude, 28 matrices pruned to s24_f32"
expect_err "model line names the 2:4 format" "s24_f32, 4 layers"
run $BIN generate --model synth:tiny --set wtype=f16 --set "sparsity=2:4-magnitude sparsity_head=on" -n 4
expect_rc "head too" 0
expect_err "f16 values, head counted" "29 matrices pruned to s24_f16"
run $BIN generate --model synth:tiny --set wtype=q8_0 --set sparsity=2:4-magnitude -n 4
expect_rc "int8 values" 0
expect_err "q8_0 keeps int8 values" "pruned to s24_q8"
run $BIN generate --model synth:tiny --set "quant=int8 sparsity=2:4-magnitude" -n 4
expect_rc "quant=int8 then 2:4" 0
expect_err "int8 per channel keeps int8 values" "28 matrices pruned to s24_q8"
expect_err "model line names s24_q8" "s24_q8, 4 layers"
run $BIN generate --model synth:tiny --set sparsity=3:4 -n 2
expect_rc "unknown mode" 2; expect_one_line_err "unknown mode"
run $BIN models
expect_rc "models" 0
expect_out "2:4 column" "2:4 f16"
run $BIN options
expect_out "options list sparsity" "sparsity .*2:4-magnitude"
summary
