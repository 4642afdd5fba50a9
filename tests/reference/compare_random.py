#!/usr/bin/env python3
"""Random strings through llama.cpp and through our tokenizer; report every
difference. Covers the model's vocabulary as is (smollm), under the gpt-2 and
llama3 pre-tokenizers, and the SentencePiece vocabulary of make_golden.py.
Needs llama-cpp-python, gguf, the model and `make` (for build/libinfertop.a).

    python3 tests/reference/compare_random.py [--n 4000] [--seed 1]
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile

import gguf
import llama_cpp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_golden as mg  # noqa: E402

POOLS = [
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"), list("0123456789"),
    list(" \t\n\r\u00a0\u3000\u2003\u0085\x0b\x0c"), list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    list("éüñçßøåÆŒ"), list("日本語中文한국어"), list("٣٤٥½²Ⅻ"),
    list("🚀🔥👍🏽\u200d\u0301\ufe0f"),
    ["'s", "'t", "'re", "'ll", "'VE", "<|im_start|>", "<|im_end|>", "<|endoftext|>",
     "<file_sep>", "  ", "\n\n", "don't"],
]


def random_texts(n, rng):
    out = []
    for _ in range(n):
        s = "".join(rng.choice(rng.choice(POOLS)) for _ in range(rng.randint(1, 40))).encode()
        if rng.random() < 0.05:                      # some invalid UTF-8
            s = s + bytes([rng.randint(0x80, 0xFF)]) + s
        out.append(s)
    return out


def build_driver(tmp):
    subprocess.run(["make", "-s", "build/libinfertop.a"], cwd=mg.ROOT, check=True)
    exe = os.path.join(tmp, "tokenize_lines")
    subprocess.run(["cc", "-std=c11", "-O2", "-D_GNU_SOURCE", "-I", mg.ROOT,
                    os.path.join(mg.HERE, "tokenize_lines.c"),
                    os.path.join(mg.ROOT, "build", "libinfertop.a"), "-lm", "-o", exe],
                   check=True)
    return exe


def compare(name, path, exe, texts):
    llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
    want = [llm.tokenize(t, add_bos=False, special=True) for t in texts]
    llm.close()
    res = subprocess.run([exe, path], input="".join(t.hex() + "\n" for t in texts),
                         capture_output=True, text=True, check=True)
    bad = 0
    for t, w, line in zip(texts, want, res.stdout.splitlines()):
        got = [int(x) for x in line.split()]
        if got != w:
            bad += 1
            if bad <= 5:
                print(f"  [{name}] {t!r}: llama.cpp {w}, ours {got}")
    print(f"{name}: {len(texts)} texts, {bad} differ")
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=mg.DEFAULT_MODEL)
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    texts = random_texts(args.n, random.Random(args.seed))
    reader = gguf.GGUFReader(args.model)
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        exe = build_driver(tmp)
        bad += compare("smollm", args.model, exe, texts)
        for pre in ("gpt-2", "llama-bpe"):
            path = os.path.join(tmp, pre + ".gguf")
            mg.write_vocab_gguf(path, lambda w: mg.copy_metadata(
                reader, w, {"tokenizer.ggml.pre": pre}))
            bad += compare(pre, path, exe, texts)
        spm = mg.spm_vocab_from(reader)
        path = os.path.join(tmp, "spm.gguf")
        mg.write_vocab_gguf(path, lambda w: mg.fill_spm(w, spm))
        bad += compare("spm", path, exe, texts)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
