#!/usr/bin/env bash
# Weight transforms from the command line (issue 13): every quant mode runs
# on synth:tiny and names its format (the calibrated ones too), bad values
# fail with one line (exit 2), and bench reports the format.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
TO="timeout 60"
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

for q in "int8" "int4" "int4 quant_group=64 quant_sym=off" "fp8" "fp8 fp8_format=e5m2" "w8a8 act_scale=token"; do
    run $TO $BIN generate --model synth:smollm2-135m --prompt hi -n 3 --set "quant=$q"
    expect_rc "generate quant=$q" 0
    expect_err "quant=$q: the log names the new format" "^weights: (int8|int4_g32|int4_g64z|fp8_e4m3|fp8_e5m2|w8a8)"
done
run $TO $BIN generate --model synth:smollm2-135m --prompt hi -n 3 --set "quant=int4 quant_group=128"
expect_err "int4 g128: a width 128 does not divide falls back, per matrix" "^weights: int4_g64, down int4_g128"

# w4a8: int4 g32 rows in q4_0 blocks (tiny's 176-wide down: no group of 32 fits, kept as loaded)
run $TO $BIN generate --model synth:tiny --prompt hi -n 3 --set "quant=w4a8"
expect_rc "generate quant=w4a8" 0
expect_err "quant=w4a8 runs q4_0 blocks" "^weights: q4_0, down f32"

run $TO $BIN generate --model synth:tiny --prompt hi -n 3 --set quant=int3
expect_rc "quant=int3" 2; expect_one_line_err "quant=int3"; expect_err "quant=int3 names the choices" "quant"
# the modes that need calibration run the unquantized model over the shipped
# calibration text first (core/quant/calib), then transform
for q in "quant=w8a8" "quant=w8a8-smooth" "quant=fp8a8" "sparsity=2:4-wanda"; do
    run $TO $BIN generate --model synth:tiny --prompt hi -n 3 --set "$q"
    expect_rc "$q (calibrated)" 0
    expect_err "$q: the log names the new format" "^weights: (w8a8|fp8a8|s24_f32)"
done

run $TO $BIN bench --scenario scenarios/smoke.ini --set quant=int8
expect_rc "bench quant=int8" 0; expect_err "bench logs the format" "^weights: int8"
# int4's importance weighting: act (the default, calibrated) and none
for w in act none; do
    run $TO $BIN generate --model synth:tiny --prompt hi -n 3 --set "quant=int4 quant_weighting=$w"
    expect_rc "quant=int4 quant_weighting=$w" 0; expect_err "quant_weighting=$w: int4 format" "^weights: int4_g32"
done
run $TO $BIN generate --model synth:tiny --prompt hi -n 3 --set "quant_weighting=awq"
expect_rc "quant_weighting=awq" 2; expect_one_line_err "quant_weighting=awq"

# the quality record travels in the recording (version 4) and replay shows it
REC=$(mktemp /tmp/infertop_qrec_XXXXXX.jsonl)
run $TO $BIN bench --scenario scenarios/smoke.ini --set quant=int8 --record "$REC" -q
expect_rc "bench quant=int8 --record" 0
check "the recording's header carries the quality record" 'head -1 "$REC" | grep -q "\"quality\":{\"state\":\"measured\""'
run $TO $BIN replay "$REC"
expect_rc "replay of it" 0
expect_out "replay shows the recorded quality" "quality \(measured, [0-9]+ tokens\): KLD [0-9.]+, same top p [0-9.]+%  \(quant=int8 vs reference\)"
rm -f "$REC"

run $TO $BIN options
expect_out "options lists quant" "quant.*none.*int8.*int4.*fp8.*w8a8.*w8a8-smooth.*fp8a8"
summary
