/* The forward pass against the independent double-precision Llama of
 * tests/unit/ref_llama.c (written from the math, no backend), on synth:tiny
 * (GQA) and synth:tiny-mqa. */
#include "core/model/forward.h"
#include "kernels/cpu/cpu_backend.h"
#include "tests/unit/ref_llama.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- reference: tests/unit/ref_llama.c, full recompute in doubles ---- */

/* logits[vocab] after tokens[0..n-1]: the last row of the reference's [n][vocab] */
static void ref_forward(const struct model *m, const int32_t *tokens, int n, double *logits)
{
    size_t V = (size_t)m->cfg.vocab;
    double *all = malloc((size_t)n * V * sizeof *all);
    cr_assert_not_null(all);
    ref_llama_forward(m, tokens, n, all, NULL, NULL);
    memcpy(logits, all + (size_t)(n - 1) * V, V * sizeof *logits);
    free(all);
}

/* ---- engine side ---- */

struct fixture {
    struct model m;
    struct backend *be;
    struct forward fw;
    float *k, *v;
    int32_t table[1];
    struct kv_view kv;
};

static void fixture_open(struct fixture *f, const char *preset, int ctx, enum attn_impl impl)
{
    char err[256];
    memset(f, 0, sizeof *f);
    cr_assert_eq(model_synth(&f->m, &model_preset_find(preset)->cfg, DT_F32, 11, 2, err, sizeof err), 0, "%s", err);
    f->be = cpu_backend_create(2, CPU_SIMD_AMX);
    cr_assert_not_null(f->be);
    cr_assert_eq(forward_init(&f->fw, &f->m, f->be, ctx, err, sizeof err), 0, "%s", err);
    f->fw.attn = impl;
    const struct model_config *c = &f->m.cfg;
    int kvd = c->n_kv_heads * c->head_dim;
    f->k = calloc((size_t)c->n_layers * ctx * kvd, sizeof(float));
    f->v = calloc((size_t)c->n_layers * ctx * kvd, sizeof(float));
    f->kv = (struct kv_view){f->k, f->v, (size_t)ctx * kvd, f->table, 1, ctx, kvd, DT_F32};
}

static void fixture_close(struct fixture *f)
{
    forward_free(&f->fw);
    backend_destroy(f->be);
    model_free(&f->m);
    free(f->k); free(f->v);
}

static double max_rel_err(const float *got, const double *want, int n)
{
    double mx = 0, scale = 0;
    for (int i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    for (int i = 0; i < n; i++) mx = fmax(mx, fabs(got[i] - want[i]));
    return mx / scale;
}

/* Prefill 7 tokens in one call, then 3 single-token decode steps; logits at
 * each point equal the reference's full recompute. */
static void check_against_reference(const char *preset, enum attn_impl impl)
{
    struct fixture f;
    const int n = 10, n_prompt = 7;
    int32_t toks[10] = {5, 77, 300, 2, 411, 9, 128, 33, 64, 500};
    fixture_open(&f, preset, n, impl);
    int V = f.m.cfg.vocab;
    float *logits = malloc((size_t)V * sizeof(float));
    double *ref = malloc((size_t)V * sizeof(double));
    struct fwd_seq s = {toks, n_prompt, 0, f.kv, false, false};
    cr_assert_eq(forward_batch(&f.fw, &s, 1, logits), 1);
    ref_forward(&f.m, toks, n_prompt, ref);
    cr_assert(max_rel_err(logits, ref, V) < 1e-4, "%s prefill err %g", preset, max_rel_err(logits, ref, V));
    for (int t = n_prompt; t < n; t++) {
        struct fwd_seq d = {&toks[t], 1, t, f.kv, false, true};
        forward_batch(&f.fw, &d, 1, logits);
        ref_forward(&f.m, toks, t + 1, ref);
        cr_assert(max_rel_err(logits, ref, V) < 1e-4, "%s decode pos %d err %g", preset, t, max_rel_err(logits, ref, V));
    }
    free(logits); free(ref);
    fixture_close(&f);
}

Test(forward, gqa_flash_matches_reference) { check_against_reference("tiny", ATTN_FLASH); }
Test(forward, gqa_naive_matches_reference) { check_against_reference("tiny", ATTN_NAIVE); }
Test(forward, mqa_flash_matches_reference) { check_against_reference("tiny-mqa", ATTN_FLASH); }

/* Two sequences in one call give the same logits as each alone. */
Test(forward, batching_two_sequences_equals_separate_runs)
{
    struct fixture a, b;
    int32_t t1[5] = {1, 2, 3, 4, 5}, t2[3] = {9, 8, 7};
    fixture_open(&a, "tiny", 16, ATTN_FLASH);
    fixture_open(&b, "tiny", 16, ATTN_FLASH);
    int V = a.m.cfg.vocab;
    float *both = malloc(2 * (size_t)V * sizeof(float)), *one = malloc((size_t)V * sizeof(float));
    struct fwd_seq s[2] = {{t1, 5, 0, a.kv, false, false}, {t2, 3, 0, b.kv, false, false}};
    cr_assert_eq(forward_batch(&a.fw, s, 2, both), 2);
    struct fwd_seq lone = {t2, 3, 0, b.kv, false, false};
    forward_batch(&b.fw, &lone, 1, one);
    for (int i = 0; i < V; i++) cr_assert_float_eq(both[V + i], one[i], 1e-4f * (1 + fabsf(one[i])));
    free(both); free(one);
    fixture_close(&a); fixture_close(&b);
}
