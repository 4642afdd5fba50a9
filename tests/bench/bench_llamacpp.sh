#!/usr/bin/env bash
# infertop vs llama.cpp on the same GGUF files and thread counts (make bench).
# Files: SmolLM2-135M-Instruct Q4_1 (real), synth:smollm2-135m written as GGUF
# in q8_0 and q4_k (K-quant matrices whose width is not a multiple of 256 fall
# back to q4_1, as llama.cpp's own quantizer falls back for them).
# llama.cpp comes from llama-cpp-python (pip builds it from source); when it is
# not installed this part says so and is skipped.
set -u
cd "$(dirname "$0")/../.."
B=build
REAL=models/SmolLM2-135M-Instruct.Q4_1.gguf
mkdir -p $B/bench
for w in q8_0 q4_k; do
    [ -f $B/bench/synth-$w.gguf ] || $B/synth_gguf smollm2-135m $w 1 $REAL $B/bench/synth-$w.gguf || exit 1
done
have_llama=1
python3 -c "import llama_cpp" 2>/dev/null || have_llama=0
echo
echo "decode/prefill vs llama.cpp: prompt 512 tokens, then 64 decode steps; roofline = weight bytes"
echo "read per token / read bandwidth over a buffer of that size, measured now"
[ $have_llama = 1 ] || echo "  (llama-cpp-python not installed: 'pip install llama-cpp-python' to add the comparison)"
printf "%-26s %3s %10s %10s %10s %10s %8s %8s %9s\n" file thr "pf tok/s" "dec tok/s" "llama pf" "llama dec" "pf x" "dec x" "roofline"
for f in $REAL $B/bench/synth-q8_0.gguf $B/bench/synth-q4_k.gguf; do
    for t in 1 2; do
        read -r pf dec wb < <($B/bench_cpu model "$f" $t)
        bw=$($B/bench_cpu bw "$wb" $t)
        roof=$(python3 -c "print(f'{100*$dec/($bw*1e9/$wb):.0f}%')")
        lpf=- ldec=- rpf=- rdec=-
        if [ $have_llama = 1 ]; then
            read -r lpf ldec < <(python3 tests/bench/llamacpp_speed.py "$f" $t 2>/dev/null)
            rpf=$(python3 -c "print(f'{$pf/$lpf:.2f}x')"); rdec=$(python3 -c "print(f'{$dec/$ldec:.2f}x')")
        fi
        printf "%-26s %3s %10s %10s %10s %10s %8s %8s %9s\n" "$(basename "$f")" $t "$pf" "$dec" "$lpf" "$ldec" "$rpf" "$rdec" "$roof"
    done
done
