#!/usr/bin/env bash
# tests/gpu/run.sh LOGDIR — the device check, one run on a machine with an
# NVIDIA GPU (written for one H200: about 3-5 minutes, every step capped so the
# whole stays under 8).
#
# Steps, each timed, logged to LOGDIR/<step>.log and independent (a failing
# step is recorded and the next one runs):
#   env        nvidia-smi, nvcc, driver
#   build      make CUDA=1 build/gpu_check bin/infertop for sm_80+sm_90; when the
#              machine lacks a build dependency (ncurses/cJSON/inih headers),
#              the binaries prebuilt by `make gpu-prebuilt` (build/gpu-prebuilt,
#              carried beside the tree, with their few shared libraries) are used
#   gpu_check  every CUDA op against the CPU backend on random inputs: f32/f16/
#              bf16 cuBLAS, the ggml block formats in place (q8_0 .. q6_k), 2:4
#              sparse, the own quant formats (fp8a8 also through cuBLASLt's FP8
#              GEMM on cc >= 8.9, and the path each shape took), attention naive/flash/paged,
#              rmsnorm, rope, eltwise, embed, CUPTI measured durations (every
#              logged op got its kernels' GPU time); comm ops need >= 2 GPUs
#   gen_synth  greedy generation, synth:smollm2-135m in q4_1 (the shipped
#              model's format and shape), cuda tokens == cpu tokens
#   gen_gguf   the same with the shipped GGUF model when models/ holds it
#              (98 MB: SKIP when it was not carried)
#   memcheck   compute-sanitizer memcheck on gpu_check, when it exists and the
#              runtime allows it
#   sampling   device sampling (the CUDA sample hook: only token ids come back)
#              against the host sampler: `ab` device_sampling=on vs off on cuda,
#              greedy and seeded temperature/top-k/top-p, every output equal;
#              and bench reports the hook picked the tokens of > 0 steps
#   graphs     CUDA Graphs for the decode step: `ab` cuda_graphs=on vs off on
#              cuda, every output equal; bench reports replays > 0 and graphs
#              not turned off (a failed capture says why)
#   range_prof bench --measure-traffic 1 on cuda: the CUPTI range profiler's
#              measured HBM/L2/shared traffic per op class beside the modeled
#              bytes (SKIP with the reason when the counters are refused)
#   bench_gpu  tests/bench/bench_gpu.sh (what `make bench-gpu` runs): matvec
#              GB/s per format, prefill GEMM vs plain cuBLAS, fp8a8 cuBLASLt FP8
#              GEMM vs the fp8a8 kernels (and an m sweep), flash vs naive
#              attention at 1k/4k/16k, paged decode GB/s, llama2-7b f16 decode
#              at batch 1/8/64 with % of the copy-test bandwidth
# The summary table (step, result, seconds) is printed last and written to
# LOGDIR/summary.txt. Exit status 0 only when no step FAILed.
set -u
LOGDIR=${1:?usage: tests/gpu/run.sh LOGDIR}
mkdir -p "$LOGDIR"
LOGDIR=$(cd "$LOGDIR" && pwd)
cd "$(dirname "$0")/../.."
command -v nvcc >/dev/null 2>&1 || export PATH="$PATH:/usr/local/cuda/bin"
JOBS=$(nproc 2>/dev/null || echo 4)
SUMMARY=()
FAILED=0

# record STEP RESULT SECONDS NOTE
record() {
    SUMMARY+=("$(printf '%-11s %-5s %6ss  %s' "$1" "$2" "$3" "$4")")
    [ "$2" = FAIL ] && FAILED=1
    printf '== %s: %s (%ss) %s\n' "$1" "$2" "$3" "$4"
}

# run_step STEP TIMEOUT CMD...: runs CMD with a timeout into LOGDIR/STEP.log;
# exit 0 → PASS, 77 → SKIP, 124 → FAIL (timed out), else FAIL.
run_step() {
    local step=$1 limit=$2; shift 2
    local t0=$SECONDS
    echo "== $step (limit ${limit}s): $*"
    timeout "$limit" bash -c "$*" >"$LOGDIR/$step.log" 2>&1
    local rc=$? dt=$((SECONDS - t0))
    tail -5 "$LOGDIR/$step.log"
    case $rc in
    0) record "$step" PASS "$dt" "" ;;
    77) record "$step" SKIP "$dt" "$(tail -1 "$LOGDIR/$step.log")" ;;
    124) record "$step" FAIL "$dt" "timed out after ${limit}s" ;;
    *) record "$step" FAIL "$dt" "exit $rc, see $step.log" ;;
    esac
}

step_env() {
    echo "date: $(date -u +%FT%TZ)  commit: $(git rev-parse --short HEAD 2>/dev/null)  host: $(hostname)"
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv
    nvcc --version | tail -2
    for p in ncursesw libcjson inih; do pkg-config --exists "$p" && echo "pkg $p: yes" || echo "pkg $p: no"; done
    ls build/gpu-prebuilt 2>/dev/null && echo "prebuilt tree: present" || echo "prebuilt tree: absent"
}

# Sets BIN and CHECK; builds here when the dependencies are present.
BIN=bin/infertop
CHECK=build/gpu_check
step_build() {
    if pkg-config --exists ncursesw libcjson inih 2>/dev/null &&
        make CUDA=1 -j"$JOBS" build/gpu_check build/bench_gpu bin/infertop; then
        echo "built here"
        return 0
    fi
    if [ -x build/gpu-prebuilt/infertop ] && [ -x build/gpu-prebuilt/gpu_check ] && [ -x build/gpu-prebuilt/bench_gpu ]; then
        echo "using build/gpu-prebuilt (built by make gpu-prebuilt, libraries in build/gpu-prebuilt/lib)"
        return 0
    fi
    echo "no build dependencies here and no build/gpu-prebuilt"
    return 1
}

use_prebuilt_if_needed() {
    if [ ! -x "$BIN" ] || [ ! -x "$CHECK" ] || grep -q "using build/gpu-prebuilt" "$LOGDIR/build.log"; then
        BIN=build/gpu-prebuilt/infertop
        CHECK=build/gpu-prebuilt/gpu_check
        export LD_LIBRARY_PATH="$PWD/build/gpu-prebuilt/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
        export BIN CHECK
    fi
}

# gen_equal MODEL [--set ...]: greedy tokens on cuda == on cpu.
gen_equal() {
    local model=$1; shift
    local prompt="The capital of France is" out_c out_g
    out_c=$("$BIN" generate --model "$model" "$@" --set temperature=0 --device cpu -n 32 --prompt "$prompt") || return 1
    out_g=$("$BIN" generate --model "$model" "$@" --set temperature=0 --device cuda -n 32 --prompt "$prompt" \
        2>"$LOGDIR/gen_cuda_stderr.txt") || { cat "$LOGDIR/gen_cuda_stderr.txt"; return 1; }
    cat "$LOGDIR/gen_cuda_stderr.txt"
    echo "cpu : $out_c"
    echo "cuda: $out_g"
    if grep -q "converted to" "$LOGDIR/gen_cuda_stderr.txt"; then echo "a weight format was converted, not run in place"; fi
    [ "$out_c" = "$out_g" ] || { echo "greedy tokens differ"; return 1; }
    echo "greedy tokens equal"
}

step_gen_gguf() {
    local f
    f=$(ls models/*.gguf 2>/dev/null | head -1)
    [ -n "$f" ] || { echo "shipped model not carried (models/*.gguf absent)"; return 77; }
    gen_equal "$f"
}

# The range profiler on one decode step: bench --measure-traffic 1 on cuda.
# PASS with the per-op table; SKIP (77) when the counters are refused (no
# permission, another profiler, an unsupported vGPU) — the reason is the result.
step_range_prof() {
    "$BIN" bench --device cuda --scenario scenarios/smoke.ini --measure-traffic 1 -q
    local rc=$?
    if [ $rc -eq 2 ] && grep -qE "counter permission|another profiler|does not support|counters are busy" "$LOGDIR/range_prof.log"; then
        return 77
    fi
    [ $rc -eq 0 ] && grep -q "MEASURED by the CUPTI range profiler" "$LOGDIR/range_prof.log"
}

# ab_equal "A opts" "B opts": the smoke scenario on cuda under both; every
# request's output tokens equal (ab's "outputs identical: N of N requests").
ab_equal() {
    local out
    out=$("$BIN" ab --device cuda --scenario scenarios/smoke.ini --a "$1" --b "$2" 2>&1) || { echo "$out"; return 1; }
    echo "$out" | grep -E "outputs identical|^device" 
    echo "$out" | grep -qE "outputs identical: ([1-9][0-9]*) of \1 requests" || { echo "A: $1 / B: $2: outputs differ"; return 1; }
}

# bench_line OPTS PATTERN: the smoke scenario's bench on cuda prints a line matching PATTERN.
bench_line() {
    local out
    out=$("$BIN" bench --device cuda --scenario scenarios/smoke.ini -q --set $1 2>&1) || { echo "$out"; return 1; }
    echo "$out" | grep -E "^graphs: " || { echo "bench printed no graphs/device sampling line"; return 1; }
    echo "$out" | grep -qE "$2" || { echo "expected /$2/"; return 1; }
}

step_sampling() {
    ab_equal "device_sampling=on temperature=0" "device_sampling=off temperature=0" || return 1
    ab_equal "device_sampling=on temperature=0.8 top_k=40 top_p=0.95 seed=7" \
             "device_sampling=off temperature=0.8 top_k=40 top_p=0.95 seed=7" || return 1
    ab_equal "device_sampling=on temperature=1 top_k=0 top_p=1 seed=3" \
             "device_sampling=off temperature=1 top_k=0 top_p=1 seed=3" || return 1
    bench_line "device_sampling=on" "device sampling: [1-9][0-9]* steps \(ids only\)"
}

step_graphs() {
    ab_equal "cuda_graphs=on" "cuda_graphs=off" || return 1
    ab_equal "cuda_graphs=on temperature=0.8 seed=5" "cuda_graphs=off temperature=0.8 seed=5" || return 1
    bench_line "cuda_graphs=on" "^graphs: eager [0-9]+, captures [1-9][0-9]*, recaptures [0-9]+, replays [1-9][0-9]*"
}

step_bench_gpu() {
    BENCH_GPU=$(dirname "$CHECK")/bench_gpu BIN=$BIN tests/bench/bench_gpu.sh
}

step_memcheck() {
    command -v compute-sanitizer >/dev/null 2>&1 || { echo "compute-sanitizer not found"; return 77; }
    compute-sanitizer --tool memcheck --error-exitcode 9 "$CHECK"
    local rc=$?
    if [ $rc -ne 0 ] && grep -q "Device not supported" "$LOGDIR/memcheck.log"; then
        echo "compute-sanitizer: device not supported by this runtime"
        return 77
    fi
    return $rc
}

export LOGDIR JOBS BIN CHECK
export -f step_env step_build gen_equal step_gen_gguf step_memcheck step_range_prof step_bench_gpu ab_equal bench_line \
    step_sampling step_graphs
run_step env 30 step_env
run_step build 240 step_build
use_prebuilt_if_needed
if [ -x "$CHECK" ]; then
    run_step gpu_check 150 "$CHECK"
fi
if grep -q "no usable CUDA device" "$LOGDIR/gpu_check.log" 2>/dev/null; then
    record gen_synth SKIP 0 "no usable CUDA device"
elif [ -x "$CHECK" ]; then
    run_step gen_synth 60 gen_equal synth:smollm2-135m --set wtype=q4_1
    run_step gen_gguf 60 step_gen_gguf
    run_step sampling 60 step_sampling
    run_step graphs 45 step_graphs
    run_step range_prof 90 step_range_prof
    run_step bench_gpu 180 step_bench_gpu
    run_step memcheck 90 step_memcheck
else
    record gpu_check SKIP 0 "no binary (build failed)"
fi

{
    echo
    echo "summary ($(date -u +%FT%TZ), logs in $LOGDIR)"
    printf '%s\n' "${SUMMARY[@]}"
    grep -E "^summary:" "$LOGDIR/gpu_check.log" 2>/dev/null
} | tee "$LOGDIR/summary.txt"
exit $FAILED
