#!/usr/bin/env python3
"""llama.cpp (through llama-cpp-python) on a GGUF file: prefill tokens/s for a
512-token prompt and decode tokens/s for 64 tokens after it, the same protocol
as `bench_cpu model FILE THREADS`. Prints one line: "prefill_tok_s decode_tok_s"."""
import sys
import time

import llama_cpp

path, threads = sys.argv[1], int(sys.argv[2])
llm = llama_cpp.Llama(model_path=path, n_ctx=1024, n_batch=512, n_ubatch=512, n_threads=threads,
                      n_threads_batch=threads, verbose=False)
vocab = llm.n_vocab()
prompt = [(i * 7919) % vocab for i in range(512)]
llm.eval(prompt[:8])          # warm up, then start clean
llm.reset()
t0 = time.perf_counter()
llm.eval(prompt)
prefill = 512 / (time.perf_counter() - t0)
tok = 1
t0 = time.perf_counter()
for i in range(64):
    llm.eval([tok])
    tok = (tok * 31 + 7) % vocab
decode = 64 / (time.perf_counter() - t0)
print(f"{prefill:.2f} {decode:.2f}")
