/* Model presets, the seed's formulas, synthetic weight determinism. */
#include "core/model/model.h"
#include "kernels/formats.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

Test(model, kv_formula_matches_seed)
{
    /* seed: KV per token = 2 × layers × kv_heads × head_dim × bytes */
    const struct model_preset *p = model_preset_find("llama2-7b");
    cr_assert_not_null(p);
    cr_assert_float_eq(model_kv_bytes_per_token(&p->cfg, 2), 2.0 * 32 * 32 * 128 * 2, 0.5);
    p = model_preset_find("smollm2-135m");
    cr_assert_float_eq(model_kv_bytes_per_token(&p->cfg, 2), 23040, 0.5);
    p = model_preset_find("llama2-70b");   /* GQA 8 KV heads: 320 KiB/token in f16 */
    cr_assert_float_eq(model_kv_bytes_per_token(&p->cfg, 2), 327680, 0.5);
}

Test(model, param_counts_are_the_published_ones)
{
    struct { const char *n; double lo, hi; } c[] = {
        {"smollm2-135m", 134e6, 135e6}, {"llama2-7b", 6.7e9, 6.8e9},
        {"llama3-8b", 8.0e9, 8.1e9}, {"llama2-70b", 68.9e9, 69.1e9},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        double n = model_param_count(&model_preset_find(c[i].n)->cfg);
        cr_assert(n > c[i].lo && n < c[i].hi, "%s: %.4g params", c[i].n, n);
    }
}

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t model_hash(const struct model *m)
{
    uint64_t h = 0xcbf29ce484222325ull;
    h = fnv(m->tok_embd.data, weight_bytes(&m->tok_embd), h);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const struct layer_weights *L = &m->layers[l];
        h = fnv(L->wq.data, weight_bytes(&L->wq), h);
        h = fnv(L->w_down.data, weight_bytes(&L->w_down), h);
        h = fnv(L->attn_norm, m->cfg.dim * sizeof(float), h);
    }
    return h;
}

Test(model, synth_is_deterministic_across_thread_counts)
{
    char err[256];
    struct model a, b, c;
    const struct model_config *cfg = &model_preset_find("tiny")->cfg;
    cr_assert_eq(model_synth(&a, cfg, DT_F32, 7, 1, err, sizeof err), 0, "%s", err);
    cr_assert_eq(model_synth(&b, cfg, DT_F32, 7, 3, err, sizeof err), 0, "%s", err);
    cr_assert_eq(model_synth(&c, cfg, DT_F32, 8, 2, err, sizeof err), 0, "%s", err);
    cr_assert_eq(model_hash(&a), model_hash(&b));
    cr_assert_neq(model_hash(&a), model_hash(&c));
    /* weights are not degenerate: nonzero, bounded by their uniform amplitude */
    const float *w = a.layers[0].wq.data;
    double ss = 0;
    for (int i = 0; i < 64 * 64; i++) ss += (double)w[i] * w[i];
    double std = sqrt(ss / (64 * 64));
    cr_assert(std > 0.8 / 8 && std < 1.2 / 8, "wq std %g, want ~1/sqrt(64)", std);
    model_free(&a); model_free(&b); model_free(&c);
}

Test(model, synth_f16_bf16_round_from_f32)
{
    char err[256];
    struct model a, h, b;
    const struct model_config *cfg = &model_preset_find("tiny")->cfg;
    cr_assert_eq(model_synth(&a, cfg, DT_F32, 5, 2, err, sizeof err), 0);
    cr_assert_eq(model_synth(&h, cfg, DT_F16, 5, 2, err, sizeof err), 0);
    cr_assert_eq(model_synth(&b, cfg, DT_BF16, 5, 2, err, sizeof err), 0);
    const float *f = a.layers[1].w_up.data;
    const uint16_t *hf = h.layers[1].w_up.data, *bf = b.layers[1].w_up.data;
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(hf[i], fp32_to_fp16(f[i]));
        cr_assert_eq(bf[i], fp32_to_bf16(f[i]));
    }
    model_free(&a); model_free(&h); model_free(&b);
}

Test(model, unknown_specs_fail_cleanly)
{
    char err[256];
    struct model m;
    cr_assert_eq(model_load(&m, "synth:nope", DT_F32, 1, 1, err, sizeof err), -1);
    cr_assert(strstr(err, "synth:nope") != NULL);
}

Test(model, synth_block_formats_encode_the_f32_weights)
{
    char err[256];
    struct model a, q;
    const struct model_config *cfg = &model_preset_find("tiny")->cfg;
    cr_assert_eq(model_synth(&a, cfg, DT_F32, 5, 2, err, sizeof err), 0);
    cr_assert_eq(model_synth(&q, cfg, DT_Q4_0, 5, 2, err, sizeof err), 0, "%s", err);
    const struct weight *wf = &a.layers[2].w_gate, *wq = &q.layers[2].w_gate;
    cr_assert_eq(wq->type, DT_Q4_0);
    uint8_t row[64];
    dtype_encode_row(DT_Q4_0, wf->data, row, wf->cols);
    cr_assert_eq(memcmp(row, wq->data, dtype_row_bytes(DT_Q4_0, wf->cols)), 0);
    /* tiny's 64-wide matrices cannot hold 256-blocks: q4_k falls back to q4_1 */
    cr_assert_eq(synth_matrix_type(DT_Q4_K, 64), DT_Q4_1);
    cr_assert_eq(synth_matrix_type(DT_Q4_K, 1536), DT_Q4_K);
    model_free(&a); model_free(&q);
}
