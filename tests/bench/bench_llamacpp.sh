#!/usr/bin/env bash
# infertop vs llama.cpp's own benchmark tools on the same GGUF files and
# thread counts (make bench). Files: SmolLM2-135M-Instruct Q4_1 (real),
# synth:smollm2-135m written as GGUF in q8_0 and q4_k (K-quant matrices whose
# width is not a multiple of 256 fall back to q4_1, as llama.cpp's own
# quantizer falls back for them).
# LLAMA_BIN names a folder holding llama-bench and llama-batched-bench; the
# ratios come from tests/bench/vs_llamacpp.py (rounds alternating, median of
# the per-round ratios; BENCH_ROUNDS, default 3). Without LLAMA_BIN only
# infertop's own numbers are printed, with how to get the tools.
set -u
cd "$(dirname "$0")/../.."
B=build
REAL=models/SmolLM2-135M-Instruct.Q4_1.gguf
mkdir -p $B/bench
for w in q8_0 q4_k; do
    [ -f $B/bench/synth-$w.gguf ] || $B/synth_gguf smollm2-135m $w 1 $REAL $B/bench/synth-$w.gguf || exit 1
done
FILES="$REAL $B/bench/synth-q8_0.gguf $B/bench/synth-q4_k.gguf"
echo
echo "== model speed (infertop speed, llama-bench's shape) vs llama.cpp; processor: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
L=${LLAMA_BIN:-}
if [ -z "$L" ] || [ ! -x "$L/llama-bench" ] || [ ! -x "$L/llama-batched-bench" ]; then
    echo "  (no llama.cpp tools: set LLAMA_BIN to a folder with llama-bench and llama-batched-bench to add the"
    echo "   ratios; build them outside this repository from the llama-cpp-python sdist, which vendors llama.cpp:"
    echo "   pip download --no-binary :all: --no-deps llama-cpp-python && tar xf llama_cpp_python-*.tar.gz &&"
    echo "   cmake -S llama_cpp_python-*/vendor/llama.cpp -B build -DLLAMA_CURL=OFF &&"
    echo "   cmake --build build -j2 --target llama-bench llama-batched-bench; then LLAMA_BIN=\$PWD/build/bin)"
    for f in $FILES; do
        bin/infertop speed -m "$f" -p 512 -n 64 -d 0,512 -t 1,2 -r 3 -q || exit 1
        bin/infertop speed -m "$f" -p 0 -n 64 -d 128 -b 1,4,8,16 -t 2 -r 3 -q || exit 1
    done
    exit 0
fi
# shellcheck disable=SC2086
python3 tests/bench/vs_llamacpp.py "$L" "${BENCH_ROUNDS:-3}" $FILES
