/* tests/fuzz/gen_corpus_gguf.c — writes the seed corpus for fuzz_gguf into
 * the directory given as argv[1], using the test-side GGUF writer: small
 * valid files (metadata of every type, tensors of several types, a tiny
 * llama) and a few invalid ones (bad counts, nested array, bad offset).
 * Built and run by `make fuzz-corpus`. */
#include "tests/unit/gguf_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int save(const char *dir, const char *name, struct gguf_writer *w)
{
    size_t len;
    unsigned char *buf = gw_finish(w, &len);
    gw_free(w);
    if (!buf) { fprintf(stderr, "%s: out of memory\n", name); return -1; }
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    int ok = fp && fwrite(buf, 1, len, fp) == len;
    if (fp && fclose(fp) != 0) ok = 0;
    free(buf);
    if (!ok) { fprintf(stderr, "%s: cannot write\n", path); return -1; }
    return 0;
}

static void all_value_types(struct gguf_writer *w)
{
    uint8_t u8 = 7, b = 1; int8_t i8 = -7; uint16_t u16 = 700; int16_t i16 = -700;
    int32_t i32 = -70000; uint64_t u64 = 1ull << 40; int64_t i64 = -(1ll << 40);
    double f64 = 0.125; int32_t arr[3] = {1, -2, 3}; const char *s[2] = {"ab", "c"};
    gw_kv_scalar(w, "u8", GGUF_U8, &u8);   gw_kv_scalar(w, "i8", GGUF_I8, &i8);
    gw_kv_scalar(w, "u16", GGUF_U16, &u16); gw_kv_scalar(w, "i16", GGUF_I16, &i16);
    gw_kv_u32(w, "u32", 70000);             gw_kv_scalar(w, "i32", GGUF_I32, &i32);
    gw_kv_f32(w, "f32", 1.5f);              gw_kv_scalar(w, "bool", GGUF_BOOL, &b);
    gw_kv_str(w, "str", "hello");           gw_kv_scalar(w, "u64", GGUF_U64, &u64);
    gw_kv_scalar(w, "i64", GGUF_I64, &i64); gw_kv_scalar(w, "f64", GGUF_F64, &f64);
    gw_kv_arr(w, "arr", GGUF_I32, 3, arr);  gw_kv_arr_str(w, "sarr", 2, s);
}

static void tensor(struct gguf_writer *w, const char *name, int type, uint64_t ne0, uint64_t ne1)
{
    int be, bb;
    if (!gguf_ggml_type_block(type, &be, &bb)) return;
    size_t n = (size_t)(ne0 / (uint64_t)be) * (size_t)bb * (size_t)ne1;
    unsigned char *p = malloc(n);
    if (!p) { w->oom = true; return; }
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 37 + 11);
    gw_tensor(w, name, 2, (uint64_t[]){ne0, ne1}, (uint32_t)type, p, n);
    free(p);
}

static void tiny_llama(struct gguf_writer *w)
{
    gw_kv_str(w, "general.architecture", "llama");
    gw_kv_u32(w, "llama.embedding_length", 32);
    gw_kv_u32(w, "llama.block_count", 1);
    gw_kv_u32(w, "llama.attention.head_count", 2);
    gw_kv_u32(w, "llama.feed_forward_length", 32);
    gw_kv_u32(w, "llama.context_length", 64);
    gw_kv_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    const char *toks[4] = {"<s>", "a", "b", "ab"};
    gw_kv_arr_str(w, "tokenizer.ggml.tokens", 4, toks);
    tensor(w, "token_embd.weight", 8, 32, 4);
    tensor(w, "output_norm.weight", 0, 32, 1);
    static const char *M[] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up",
                              "ffn_down"};
    for (int i = 0; i < 7; i++) {
        char n[48];
        snprintf(n, sizeof n, "blk.0.%s.weight", M[i]);
        tensor(w, n, 3, 32, 32);
    }
    tensor(w, "blk.0.attn_norm.weight", 0, 32, 1);
    tensor(w, "blk.0.ffn_norm.weight", 0, 32, 1);
}

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: %s DIR\n", argv[0]); return 2; }
    const char *d = argv[1];
    struct gguf_writer w;
    int rc = 0;
    gw_init(&w); w.version = 2; all_value_types(&w); rc |= save(d, "valid_kv_v2.gguf", &w);
    gw_init(&w); all_value_types(&w); tensor(&w, "f", 0, 4, 2); tensor(&w, "h", 1, 8, 1);
    tensor(&w, "q8", 8, 32, 1); tensor(&w, "q4k", 12, 256, 1);
    rc |= save(d, "valid_tensors_v3.gguf", &w);
    gw_init(&w); w.alignment = 64; gw_kv_u32(&w, "general.alignment", 64);
    tensor(&w, "a", 0, 3, 1); tensor(&w, "b", 30, 5, 1); rc |= save(d, "valid_align64.gguf", &w);
    gw_init(&w); tiny_llama(&w); rc |= save(d, "valid_tiny_llama.gguf", &w);
    gw_init(&w); all_value_types(&w); w.n_tensors = 1ull << 60; rc |= save(d, "bad_counts.gguf", &w);
    gw_init(&w);
    gw_kv_raw(&w, "nested", GGUF_ARRAY, (unsigned char[]){9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
                                                          4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 24);
    rc |= save(d, "bad_nested.gguf", &w);
    gw_init(&w); tensor(&w, "a", 0, 4, 1);
    gw_tensor_info(&w, "b", 2, (uint64_t[]){4, 1}, 0, 4096); rc |= save(d, "bad_offset.gguf", &w);
    return rc ? 1 : 0;
}
