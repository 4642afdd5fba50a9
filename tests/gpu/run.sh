#!/usr/bin/env bash
# tests/gpu/run.sh LOGDIR — the device check, for a machine with an NVIDIA GPU
# (written for one H200; about 2-5 minutes, under 8).
#
#  1. make CUDA=1 build/gpu_check (kernels for sm_80 and sm_90)
#  2. build/gpu_check: every CUDA op against the CPU backend on random inputs,
#     per-dtype tolerances, CUPTI measured durations; summary table
#  3. the same under compute-sanitizer memcheck when it exists (out-of-bounds
#     and misaligned accesses in our kernels; CUPTI is then held by the
#     sanitizer, so that row reads SKIP — the "trace unavailable" path)
# Full logs go to LOGDIR; exit status 0 only when the build and step 2 pass
# and step 3 (when it ran) found no error.
set -u
LOGDIR=${1:?usage: tests/gpu/run.sh LOGDIR}
mkdir -p "$LOGDIR"
cd "$(dirname "$0")/../.."
command -v nvcc >/dev/null 2>&1 || export PATH="$PATH:/usr/local/cuda/bin"
JOBS=$(nproc 2>/dev/null || echo 4)
status=0

{
    echo "== $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null) on $(hostname)"
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv 2>&1
    nvcc --version | tail -2
} >"$LOGDIR/env.log" 2>&1
cat "$LOGDIR/env.log"

echo "== build (make CUDA=1 -j$JOBS build/gpu_check)"
if ! timeout 300 make CUDA=1 -j"$JOBS" build/gpu_check >"$LOGDIR/build.log" 2>&1; then
    echo "BUILD FAILED (last lines of $LOGDIR/build.log):"
    tail -30 "$LOGDIR/build.log"
    exit 1
fi

echo "== gpu_check"
timeout 180 build/gpu_check 2>&1 | tee "$LOGDIR/gpu_check.log"
rc=${PIPESTATUS[0]}
echo "gpu_check exit status: $rc" | tee -a "$LOGDIR/gpu_check.log"
[ "$rc" -eq 0 ] || status=1

if command -v compute-sanitizer >/dev/null 2>&1; then
    echo "== compute-sanitizer --tool memcheck build/gpu_check (log: $LOGDIR/memcheck.log)"
    timeout 240 compute-sanitizer --tool memcheck --error-exitcode 9 build/gpu_check >"$LOGDIR/memcheck.log" 2>&1
    mrc=$?
    grep -E "ERROR SUMMARY|^summary|cupti:" "$LOGDIR/memcheck.log"
    echo "memcheck exit status: $mrc (124 = timed out, tables partial)" | tee -a "$LOGDIR/memcheck.log"
    [ "$mrc" -eq 0 ] || [ "$mrc" -eq 124 ] || status=1
else
    echo "== compute-sanitizer not found: memcheck skipped" | tee "$LOGDIR/memcheck.log"
fi
exit $status
