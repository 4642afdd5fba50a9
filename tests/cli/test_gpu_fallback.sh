#!/usr/bin/env bash
# The GPU-only paths on a machine without a usable GPU: each says why in one
# line and exits 2 (bad request for this machine), nothing is half-run.
#  - --device cuda: "no usable CUDA device (<driver reason>)"
#  - bench --measure-traffic N: the range profiler's reason (no CUDA device)
#  - make gpu-prebuilt packs the check binaries when CUDA=1 (skipped without nvcc)
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh

if build/gpu_check >/dev/null 2>&1; [ $? -ne 77 ] && [ -x build/gpu_check ]; then
    echo "  (a usable GPU is present: the no-GPU fallbacks are not what runs here)"
    summary
    exit $?
fi

run $BIN generate --model synth:tiny --device cuda -n 2
expect_rc "generate --device cuda without a GPU" 2
expect_err "names the reason" "device=cuda: no usable CUDA device"
expect_one_line_err "generate --device cuda"

run $BIN bench --model synth:tiny --measure-traffic 2 -q
expect_rc "bench --measure-traffic without a GPU" 2
expect_err "says traffic is not measured and why" "--measure-traffic: traffic not measured: no usable CUDA device"
expect_one_line_err "bench --measure-traffic"

run $BIN bench --model synth:tiny --device cuda --measure-traffic 2 -q
expect_rc "bench --device cuda --measure-traffic without a GPU" 2
expect_one_line_err "bench --device cuda --measure-traffic"

run $BIN bench --model synth:tiny --measure-traffic 0
expect_rc "--measure-traffic 0 is bad input" 2
expect_err "names the flag and the range" "--measure-traffic: expected an integer in \[1, "

summary
