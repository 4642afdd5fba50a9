/* tests/bench/synth_gguf.c — write a synthetic model as a GGUF file so that
 * infertop and llama.cpp can be timed on the very same bytes.
 *
 *   synth_gguf PRESET WTYPE SEED TOKENIZER_FROM.gguf OUT.gguf
 *
 * Weights: model_synth(PRESET, WTYPE, SEED). Tokenizer metadata is copied from
 * a real GGUF with the same vocabulary size (llama.cpp needs one to load). */
#include "core/model/gguf.h"
#include "core/model/model.h"
#include "tests/unit/gguf_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_matrix(struct gguf_writer *w, const char *name, const struct weight *m)
{
    uint64_t ne[2] = {(uint64_t)m->cols, (uint64_t)m->rows};
    gw_tensor(w, name, 2, ne, (uint32_t)dtype_info(m->type)->ggml_type, m->data, weight_bytes(m));
}

static void put_norm(struct gguf_writer *w, const char *name, const float *v, int n)
{
    uint64_t ne[1] = {(uint64_t)n};
    gw_tensor(w, name, 1, ne, 0, v, (size_t)n * sizeof(float));
}

static int copy_tokenizer(struct gguf_writer *w, const struct gguf_file *src)
{
    const char *s;
    size_t len;
    uint32_t u;
    enum gguf_vtype et;
    uint64_t n;
    const void *data;
    if (!gguf_get_str(src, "tokenizer.ggml.model", &s, &len)) return -1;
    gw_kv_str(w, "tokenizer.ggml.model", s);
    if (gguf_get_str(src, "tokenizer.ggml.pre", &s, &len)) gw_kv_str(w, "tokenizer.ggml.pre", s);
    const char *arrays[] = {"tokenizer.ggml.tokens", "tokenizer.ggml.merges"};
    for (int a = 0; a < 2; a++) {
        if (!gguf_get_arr(src, arrays[a], &et, &n, &data) || et != GGUF_STRING) continue;
        const char **strs = malloc(n * sizeof *strs);
        if (!strs) return -1;
        for (uint64_t i = 0; i < n; i++) gguf_get_arr_str(src, arrays[a], i, &strs[i], &len);
        gw_kv_arr_str(w, arrays[a], n, strs);
        free(strs);
    }
    if (gguf_get_arr(src, "tokenizer.ggml.token_type", &et, &n, &data))
        gw_kv_arr(w, "tokenizer.ggml.token_type", et, n, data);
    const char *ids[] = {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"};
    for (int i = 0; i < 2; i++)
        if (gguf_get_u32(src, ids[i], &u)) gw_kv_u32(w, ids[i], u);
    return 0;
}

int main(int argc, char **argv)
{
    char err[512], name[160];
    if (argc != 6) {
        fprintf(stderr, "usage: %s PRESET WTYPE SEED TOKENIZER_FROM.gguf OUT.gguf\n", argv[0]);
        return 2;
    }
    const struct model_preset *p = model_preset_find(argv[1]);
    int wt = dtype_from_name(argv[2]);
    struct gguf_file *src;
    struct model m;
    if (!p || wt < 0) { fprintf(stderr, "synth_gguf: unknown preset or wtype\n"); return 2; }
    if (gguf_open(argv[4], &src, err, sizeof err) < 0) { fprintf(stderr, "%s\n", err); return 2; }
    if (model_synth(&m, &p->cfg, (enum dtype)wt, strtoull(argv[3], NULL, 10), 2, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const struct model_config *c = &m.cfg;
    struct gguf_writer w;
    gw_init(&w);
    gw_kv_str(&w, "general.architecture", "llama");
    snprintf(name, sizeof name, "synth-%s-%s", c->name, argv[2]);
    gw_kv_str(&w, "general.name", name);
    gw_kv_u32(&w, "llama.context_length", (uint32_t)c->max_ctx);
    gw_kv_u32(&w, "llama.embedding_length", (uint32_t)c->dim);
    gw_kv_u32(&w, "llama.block_count", (uint32_t)c->n_layers);
    gw_kv_u32(&w, "llama.feed_forward_length", (uint32_t)c->ffn_dim);
    gw_kv_u32(&w, "llama.attention.head_count", (uint32_t)c->n_heads);
    gw_kv_u32(&w, "llama.attention.head_count_kv", (uint32_t)c->n_kv_heads);
    gw_kv_u32(&w, "llama.rope.dimension_count", (uint32_t)c->head_dim);
    gw_kv_f32(&w, "llama.rope.freq_base", c->rope.theta);
    gw_kv_f32(&w, "llama.attention.layer_norm_rms_epsilon", c->norm_eps);
    gw_kv_u32(&w, "llama.vocab_size", (uint32_t)c->vocab);
    if (copy_tokenizer(&w, src) < 0) { fprintf(stderr, "%s: no tokenizer to copy\n", argv[4]); return 2; }
    put_matrix(&w, "token_embd.weight", &m.tok_embd);
    put_norm(&w, "output_norm.weight", m.output_norm, c->dim);
    if (!c->tied_output) put_matrix(&w, "output.weight", &m.output);
    for (int l = 0; l < c->n_layers; l++) {
        const struct layer_weights *L = &m.layers[l];
        const struct { const char *n; const struct weight *w; } mats[] = {
            {"attn_q", &L->wq}, {"attn_k", &L->wk}, {"attn_v", &L->wv}, {"attn_output", &L->wo},
            {"ffn_gate", &L->w_gate}, {"ffn_up", &L->w_up}, {"ffn_down", &L->w_down}};
        for (int i = 0; i < 7; i++) {
            snprintf(name, sizeof name, "blk.%d.%s.weight", l, mats[i].n);
            put_matrix(&w, name, mats[i].w);
        }
        snprintf(name, sizeof name, "blk.%d.attn_norm.weight", l);
        put_norm(&w, name, L->attn_norm, c->dim);
        snprintf(name, sizeof name, "blk.%d.ffn_norm.weight", l);
        put_norm(&w, name, L->ffn_norm, c->dim);
    }
    size_t len;
    unsigned char *bytes = gw_finish(&w, &len);
    FILE *f = bytes ? fopen(argv[5], "wb") : NULL;
    int ok = f && fwrite(bytes, 1, len, f) == len;
    if (f) ok = fclose(f) == 0 && ok;
    if (!ok) { fprintf(stderr, "%s: could not write\n", argv[5]); remove(argv[5]); return 1; }
    fprintf(stderr, "synth_gguf: %s (%.1f MB)\n", argv[5], len / 1e6);
    free(bytes);
    gw_free(&w);
    model_free(&m);
    gguf_close(src);
    return 0;
}
