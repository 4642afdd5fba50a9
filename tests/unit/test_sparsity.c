/* tests/unit/test_sparsity.c — 2:4 pruning (core/quant/sparsity), the
 * compressed format (kernels/sparse24) and the CPU sparse kernels: every
 * group keeps exactly two, magnitude keeps the largest two with ties to the
 * lower position, Wanda equals a brute-force argmax of its score, the
 * compressed round trip is exact, each kernel (scalar and every SIMD level
 * present, threads 1 and 2) equals the dense kernel on the pruned dense
 * tensor and a double reference, and a pruned model's forward equals the
 * dense forward of the pruned weights. */
#include "core/quant/sparsity.h"
#include "core/quant/calib.h"
#include "core/quant/transform.h"
#include "core/options/options.h"
#include "core/model/forward.h"
#include "kernels/backend.h"
#include "kernels/cost.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/sparse24_dot.h"
#include "kernels/sparse24.h"
#include "kernels/sparse24_tile.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rs = 0x2545f4914f6cdd1dull;

/* Uniform in [-1, 1], never exactly zero. */
static float rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return 2.0f * ((float)((rs >> 40) + 1) / (float)(1ull << 24)) - 1.0f + 0x1p-20f;
}

static float *rnd_vec(size_t n)
{
    float *v = malloc(n * sizeof *v);
    cr_assert_not_null(v);
    for (size_t i = 0; i < n; i++) v[i] = rnd();
    return v;
}

static const enum dtype S24[] = {DT_S24_F16, DT_S24_F32, DT_S24_Q8};

/* ---- pruning ---------------------------------------------------------- */

Test(sparsity, every_group_keeps_exactly_two)
{
    float *w = rnd_vec(4096), *xn = rnd_vec(4096);
    for (int i = 0; i < 4096; i++) xn[i] = fabsf(xn[i]);
    for (int mode = 0; mode < 2; mode++) {
        float *c = malloc(4096 * sizeof *c);
        memcpy(c, w, 4096 * sizeof *c);
        sparsity_prune_row(c, mode ? xn : NULL, 4096);
        for (int g = 0; g < 4096; g += 4) {
            int kept = 0;
            for (int i = 0; i < 4; i++) {
                kept += c[g + i] != 0.f;
                cr_assert(c[g + i] == 0.f || c[g + i] == w[g + i]);
            }
            cr_assert_eq(kept, 2, "group %d keeps %d", g / 4, kept);
        }
        free(c);
    }
    free(w);
    free(xn);
}

Test(sparsity, magnitude_keeps_the_two_largest)
{
    float *w = rnd_vec(2048), *c = malloc(2048 * sizeof *c);
    memcpy(c, w, 2048 * sizeof *c);
    sparsity_prune_row(c, NULL, 2048);
    for (int g = 0; g < 2048; g += 4)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                if (c[g + i] != 0.f && c[g + j] == 0.f)
                    cr_assert(fabsf(w[g + i]) >= fabsf(w[g + j]));
    free(w);
    free(c);
}

Test(sparsity, ties_keep_the_lower_position)
{
    float a[8] = {1.f, -1.f, 1.f, 0.5f, 0.25f, 2.f, -2.f, 2.f};
    sparsity_prune_row(a, NULL, 8);
    float want[8] = {1.f, -1.f, 0.f, 0.f, 0.f, 2.f, -2.f, 0.f};
    for (int i = 0; i < 8; i++) cr_assert_eq(a[i], want[i], "position %d", i);
    int lo, hi;
    sparse24_top2((const float[4]){3.f, 3.f, 3.f, 3.f}, &lo, &hi);
    cr_assert(lo == 0 && hi == 1);
}

/* The pair (a < b) with the largest summed score, over all six pairs. */
static void brute_pair(const float s[4], int *a, int *b)
{
    float best = -1.f;
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            if (s[i] + s[j] > best) { best = s[i] + s[j]; *a = i; *b = j; }
}

Test(sparsity, wanda_equals_brute_force_argmax)
{
    const int n = 4096;
    float *w = rnd_vec(n), *xn = rnd_vec(n), *c = malloc(n * sizeof *c);
    for (int i = 0; i < n; i++) xn[i] = 4.f * fabsf(xn[i]);
    memcpy(c, w, n * sizeof *c);
    sparsity_prune_row(c, xn, n);
    int differs_from_magnitude = 0;
    for (int g = 0; g < n; g += 4) {
        float s[4], m[4];
        for (int i = 0; i < 4; i++) { s[i] = fabsf(w[g + i]) * xn[g + i]; m[i] = fabsf(w[g + i]); }
        int a = 0, b = 1, ma = 0, mb = 1;
        brute_pair(s, &a, &b);
        brute_pair(m, &ma, &mb);
        differs_from_magnitude += a != ma || b != mb;
        for (int i = 0; i < 4; i++)
            cr_assert_eq(c[g + i] != 0.f, i == a || i == b, "group %d position %d", g / 4, i);
    }
    cr_assert_gt(differs_from_magnitude, n / 40, "the norms should change some choices");
    free(w); free(xn); free(c);
}

/* ---- compressed format ------------------------------------------------ */

/* x pruned to 2:4 and rounded to t's value format: the dense tensor the
 * compressed row must reproduce. q8: the block scale depends on the kept
 * values, so the reference is one encode/decode, then a second one must be
 * the identity. */
static void pruned_dense(enum dtype t, const float *x, float *out, int n)
{
    memcpy(out, x, (size_t)n * sizeof *out);
    sparsity_prune_row(out, NULL, n);
    for (int i = 0; i < n; i++)
        if (t == DT_S24_F16) out[i] = fp16_to_fp32(fp32_to_fp16(out[i]));
}

Test(sparsity, compressed_round_trip_is_exact)
{
    const int n = 176;
    for (size_t ti = 0; ti < sizeof S24 / sizeof S24[0]; ti++) {
        enum dtype t = S24[ti];
        cr_assert_eq(dtype_row_bytes(t, n), (size_t)(n / 16) * dtype_info(t)->block_bytes);
        float *x = rnd_vec(n), want[176], got[176], again[176];
        unsigned char row[176 * 3];
        pruned_dense(t, x, want, n);
        dtype_encode_row(t, want, row, n);
        dtype_decode_row(t, row, got, n);
        for (int b = 0; b < n / 16; b++) {
            unsigned meta = sparse24_block_meta(t, row, b);
            for (int g = 0; g < 4; g++) {
                unsigned nib = (meta >> (4 * g)) & 15u;
                cr_assert((nib & 3u) < (nib >> 2), "%s block %d group %d nibble %x", dtype_info(t)->name, b, g, nib);
            }
        }
        if (t == DT_S24_Q8) {
            for (int i = 0; i < n; i++) {
                cr_assert_eq(got[i] == 0.f, want[i] == 0.f);
                cr_assert(fabsf(got[i] - want[i]) <= 1.01f / 254.f, "q8 element %d", i);
            }
            memcpy(want, got, sizeof want);
            dtype_encode_row(t, want, row, n);
            dtype_decode_row(t, row, again, n);
            memcpy(got, again, sizeof got);
        }
        for (int i = 0; i < n; i++)
            cr_assert_eq(got[i], want[i], "%s element %d: %g vs %g", dtype_info(t)->name, i, got[i], want[i]);
        free(x);
    }
}

Test(sparsity, nine_bits_per_element_for_f16_values)
{
    cr_assert_eq(dtype_row_bytes(DT_S24_F16, 4096) * 8, (size_t)4096 * 9);
    cr_assert_eq(dtype_row_bytes(DT_S24_F32, 4096) * 8, (size_t)4096 * 17);
    cr_assert_eq(dtype_row_bytes(DT_S24_Q8, 4096) * 8, (size_t)4096 * 6);
    cr_assert_eq(dtype_from_ggml(-1), -1);
    cr_assert(dtype_is_sparse24(DT_S24_Q8) && !dtype_is_quant(DT_S24_Q8));
}

/* ---- kernels ----------------------------------------------------------- */

struct cfg { int threads; enum cpu_simd simd; };

static int all_cfgs(struct cfg *out)
{
    int n = 0;
    for (int s = CPU_SIMD_SCALAR; s <= (int)cpu_simd_detect(); s++)
        for (int t = 1; t <= 2; t++) out[n++] = (struct cfg){t, (enum cpu_simd)s};
    return n;
}

/* A [N][K] weight of 2:4 type t from random values, and the same pruned
 * values as a dense f32 weight. */
static void make_pair(enum dtype t, int N, int K, struct weight *sp, struct weight *dense)
{
    *sp = (struct weight){.type = t, .rows = N, .cols = K};
    *dense = (struct weight){.type = DT_F32, .rows = N, .cols = K};
    sp->data = malloc(weight_bytes(sp));
    dense->data = malloc(weight_bytes(dense));
    cr_assert(sp->data && dense->data);
    float *x = rnd_vec((size_t)K);
    for (int r = 0; r < N; r++) {
        for (int k = 0; k < K; k++) x[k] = rnd();
        void *row = (char *)sp->data + (size_t)r * dtype_row_bytes(t, K);
        dtype_encode_row(t, x, row, K);
        dtype_decode_row(t, row, (float *)dense->data + (size_t)r * K, K);
    }
    free(x);
}

/* What the kernel multiplies x[m][K] by: x itself for float-activation
 * types; for s24_q8 the int8 activation rows (s24q8_act_row) dequantized,
 * each within half a step d/2 of x (round to nearest) — *half_step gets d/2
 * per element so the float-x comparison can bound the quantization error. */
static float *kernel_input(enum dtype t, const float *x, int m, int K, float *half_step)
{
    float *xe = malloc(sizeof(float) * (size_t)m * K);
    cr_assert_not_null(xe);
    if (t != DT_S24_Q8) {
        memcpy(xe, x, sizeof(float) * (size_t)m * K);
        for (size_t i = 0; i < (size_t)m * K; i++) half_step[i] = 0.f;
        return xe;
    }
    unsigned char *xq = malloc(s24q8_act_bytes(K));
    cr_assert_not_null(xq);
    for (int i = 0; i < m; i++) {
        s24q8_act_row(x + (size_t)i * K, xq, K);
        const float *dd = (const float *)(const void *)(xq + K);
        for (int k = 0; k < K; k++) {
            size_t e = (size_t)i * K + k;
            float d = dd[2 * (k / 16)];
            xe[e] = d * (float)((int)xq[k] - 128);
            half_step[e] = d / 2;
            cr_assert(fabsf(xe[e] - x[e]) <= 0.5001f * d, "quantized x %zu: %g vs %g (d %g)", e, xe[e], x[e], d);
        }
    }
    free(xq);
    return xe;
}

static void check_kernel(enum dtype t, int N, int K, int m)
{
    struct cfg cfgs[8];
    int nc = all_cfgs(cfgs);
    struct weight sp, dn;
    make_pair(t, N, K, &sp, &dn);
    float *x = rnd_vec((size_t)m * K), *ys = malloc(sizeof(float) * m * N),
          *yd = malloc(sizeof(float) * m * N), *hs = malloc(sizeof(float) * m * K);
    float *xe = kernel_input(t, x, m, K, hs);
    const float *W = dn.data;
    for (int c = 0; c < nc; c++) {
        struct backend *be = cpu_backend_create(cfgs[c].threads, cfgs[c].simd);
        cr_assert(backend_supports(be, OP_MATMUL, t));
        cr_assert_eq(backend_upload_weight(be, &sp), 0);
        cr_assert_null(sp.dev, "the CPU reads 2:4 weights in place, no conversion");
        backend_matmul(be, ys, &sp, x, m);
        backend_matmul(be, yd, &dn, x, m);
        for (int i = 0; i < m; i++)
            for (int n = 0; n < N; n++) {
                double ref = 0, mag = 0, qerr = 0;
                for (int k = 0; k < K; k++) {
                    double wk = W[(size_t)n * K + k];
                    ref += wk * xe[(size_t)i * K + k];
                    mag += fabs(wk * xe[(size_t)i * K + k]);
                    qerr += fabs(wk) * hs[(size_t)i * K + k];
                }
                float s = ys[(size_t)i * N + n], d = yd[(size_t)i * N + n];
                cr_assert(fabs(s - ref) <= 1e-5 * mag + 1e-6, "%s simd %d thr %d m %d K %d: %g vs ref %g",
                          dtype_info(t)->name, cfgs[c].simd, cfgs[c].threads, m, K, s, ref);
                cr_assert(fabsf(s - d) <= 2e-5f * (float)mag + (float)qerr * 1.0001f + 1e-6f,
                          "%s vs dense: %g vs %g", dtype_info(t)->name, s, d);
            }
        backend_destroy(be);
    }
    free(x); free(xe); free(hs); free(ys); free(yd); free(sp.data); free(dn.data);
}

/* K: an odd block count (176 = 11 blocks: the AVX-512 single-block tail), even
 * ones; the float AVX-512 kernel steps 4 blocks, then a pair, then a single
 * (48 = pair + single, 96 = step + pair, 176 = 2 steps + pair + single); m:
 * decode, a partial and a full 4-row tile, and past it. s24_q8's
 * int8 kernels step 8 blocks (AVX-512: unmasked while 11+ remain, 128 = one
 * masked step, 1536 = 11 full steps + a masked one) and 4 blocks (AVX2: while
 * 5+ remain, 80 = one step + a scalar block). */
Test(sparsity, kernels_equal_dense_on_pruned_tensor)
{
    const int Ks[] = {16, 48, 80, 96, 128, 176, 576, 1536}, ms[] = {1, 3, 4, 9};
    for (size_t ti = 0; ti < sizeof S24 / sizeof S24[0]; ti++)
        for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++)
            for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++)
                check_kernel(S24[ti], 37, Ks[ki], ms[mi]);
}

/* The activation quantizer every s24_q8 path reads: the vector one writes
 * the scalar one's bytes (also at ties x·id = k + 0.5, rounded to even). */
Test(sparsity, s24_q8_activation_quantizer_matches_the_scalar_one)
{
    const int K = 576;
    float *x = rnd_vec(K);
    for (int i = 0; i < 16; i++) x[i] = (float)(i - 8) * 0.5f;   /* amax 4: x·id = 31.75·k, ties at 0.5 */
    x[16] = 127.f; x[17] = 0.5f;                                 /* x·id = 0.5 exactly */
    for (int i = 32; i < 48; i++) x[i] = 0.f;                    /* an all-zero block: d = 0 */
    unsigned char a[576 * 2], b[576 * 2];
    s24q8_act_row(x, a, K);
    s24q8_act_row_ref(x, b, K);
    cr_assert_eq(s24q8_act_bytes(K), (size_t)K + K / 8 * sizeof(float));
    cr_assert_eq(memcmp(a, b, s24q8_act_bytes(K)), 0);
    cr_assert_eq(b[17], 128, "0.5 rounds to even 0 (+128)");
    free(x);
}

/* Speculative verify and batching reuse decode results: a row of x gives the
 * same bits alone (decode) as inside a 4-row group or a ragged edge. */
Test(sparsity, s24_q8_rows_do_not_depend_on_the_batch)
{
    const int N = 21, K = 576, m = 7;
    struct cfg cfgs[8];
    int nc = all_cfgs(cfgs);
    struct weight sp, dn;
    make_pair(DT_S24_Q8, N, K, &sp, &dn);
    float *x = rnd_vec((size_t)m * K), yb[7 * 21], y1[21];
    for (int c = 0; c < nc; c++) {
        struct backend *be = cpu_backend_create(cfgs[c].threads, cfgs[c].simd);
        backend_matmul(be, yb, &sp, x, m);
        for (int i = 0; i < m; i++) {
            backend_matmul(be, y1, &sp, x + (size_t)i * K, 1);
            cr_assert_eq(memcmp(y1, yb + (size_t)i * N, sizeof y1), 0, "simd %d row %d", cfgs[c].simd, i);
        }
        backend_destroy(be);
    }
    free(x); free(sp.data); free(dn.data);
}

Test(sparsity, cost_model_counts_kept_bytes_and_half_the_macs)
{
    struct weight d = {.type = DT_F16, .rows = 64, .cols = 4096};
    struct weight s = {.type = DT_S24_F16, .rows = 64, .cols = 4096};
    struct kernel_record rd = {0}, rsp = {0};
    cost_matmul(&rd, &d, 1);
    cost_matmul(&rsp, &s, 1);
    cr_assert_float_eq(rsp.flops, rd.flops / 2, 1e-9);
    cr_assert_float_eq(rsp.dram_rd - 4.0 * 4096, 64.0 * 4096 * 9 / 8, 1e-6);
    cr_assert_float_eq(rd.dram_rd - 4.0 * 4096, 64.0 * 4096 * 2, 1e-6);
}

/* ---- whole model ------------------------------------------------------ */

static struct weight *linear(struct model *m, int l, int i)
{
    struct layer_weights *L = &m->layers[l];
    struct weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
    return ws[i];
}

/* The last-position logits of tokens[0..n) on m. */
static void run_logits(struct model *m, const int32_t *toks, int n, float *logits)
{
    char err[256];
    struct backend *be = cpu_backend_create(2, CPU_SIMD_AVX512);
    struct forward fw;
    cr_assert_eq(model_upload(m, be), 0);
    cr_assert_eq(forward_init(&fw, m, be, n, err, sizeof err), 0, "%s", err);
    int kvd = m->cfg.n_kv_heads * m->cfg.head_dim;
    float *k = calloc((size_t)m->cfg.n_layers * n * kvd, sizeof(float));
    float *v = calloc((size_t)m->cfg.n_layers * n * kvd, sizeof(float));
    int32_t table[1] = {0};
    struct kv_view kv = {k, v, (size_t)n * kvd, table, 1, n, kvd, DT_F32};
    struct fwd_seq s = {toks, n, 0, kv, false, false};
    cr_assert_eq(forward_batch(&fw, &s, 1, logits), 1);
    forward_free(&fw);
    backend_destroy(be);
    free(k);
    free(v);
}

/* Wanda's norms in the test: a fixed positive pattern per input channel. */
static const float *test_norms(void *user, const struct weight *w, int layer)
{
    float *buf = user;
    (void)layer;
    for (int j = 0; j < w->cols; j++) buf[j] = 0.5f + (float)((j * 7919) % 13);
    return buf;
}

static void check_model_forward(enum dtype wt, enum opt_sparsity mode, bool head)
{
    char err[256];
    struct model sp, dn;
    const struct model_config *cfg = &model_preset_find("tiny")->cfg;
    cr_assert_eq(model_synth(&sp, cfg, wt, 11, 2, err, sizeof err), 0, "%s", err);
    cr_assert_eq(model_synth(&dn, cfg, wt, 11, 2, err, sizeof err), 0, "%s", err);
    float norms[1024];
    struct sparsity_opts o = {mode, head, DT_COUNT, test_norms, norms};
    int n_pruned;
    cr_assert_eq(sparsity_apply(&sp, &o, &n_pruned, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n_pruned, 7 * cfg->n_layers + head);
    cr_assert(dtype_is_sparse24(sp.layers[0].w_down.type));
    cr_assert(!dtype_is_sparse24(sp.tok_embd.type), "the embedding stays dense");
    cr_assert_eq(dtype_is_sparse24(sp.output.type), head);
    /* dn: the same pruned values, written back densely in wt */
    for (int l = 0; l < cfg->n_layers; l++)
        for (int i = 0; i < 7; i++) {
            struct weight *s = linear(&sp, l, i), *d = linear(&dn, l, i);
            float row[1024];
            for (int r = 0; r < d->rows; r++) {
                dtype_decode_row(s->type, (const char *)s->data + (size_t)r * dtype_row_bytes(s->type, s->cols), row, s->cols);
                dtype_encode_row(d->type, row, (char *)d->data + (size_t)r * dtype_row_bytes(d->type, d->cols), d->cols);
            }
        }
    int32_t toks[6] = {5, 77, 300, 2, 411, 9};
    int V = cfg->vocab;
    float *a = malloc(sizeof(float) * V), *b = malloc(sizeof(float) * V);
    run_logits(&sp, toks, 6, a);
    run_logits(&dn, toks, 6, b);   /* head: dn's head stays dense */
    double mx = 0, scale = 0;
    for (int i = 0; i < V; i++) { mx = fmax(mx, fabs(a[i] - b[i])); scale = fmax(scale, fabs(b[i])); }
    if (head) cr_assert_gt(mx, 0, "a pruned head changes the logits");
    else cr_assert(mx <= 1e-4 * scale, "%s %s: max diff %g of %g", dtype_info(wt)->name,
                   sparsity_mode_name(mode), mx, scale);
    free(a); free(b);
    model_free(&sp);
    model_free(&dn);
}

Test(sparsity, pruned_forward_equals_dense_forward_of_pruned_weights)
{
    check_model_forward(DT_F32, SPARSITY_MAGNITUDE, false);
    check_model_forward(DT_F16, SPARSITY_MAGNITUDE, false);
    check_model_forward(DT_F32, SPARSITY_WANDA, false);
}

/* quant=int8 then sparsity=2:4: the pruned weights are s24_q8 holding the
 * int8 model's own values (top two |q| per group, ties low; scale = the
 * row's f16-rounded), and the model's forward equals the dense forward of
 * those pruned, quantized values up to the int8 activations s24_q8 adds. */
Test(sparsity, int8_then_2_4_keeps_the_int8_values)
{
    char err[256];
    const struct model_config *cfg = &model_preset_find("tiny")->cfg;
    struct model sp, q8, dn;
    cr_assert_eq(model_synth(&sp, cfg, DT_F32, 13, 2, err, sizeof err), 0, "%s", err);
    cr_assert_eq(model_synth(&q8, cfg, DT_F32, 13, 2, err, sizeof err), 0, "%s", err);
    cr_assert_eq(model_synth(&dn, cfg, DT_F32, 13, 2, err, sizeof err), 0, "%s", err);
    struct options o, oq;
    options_defaults(&o);
    options_defaults(&oq);
    cr_assert_eq(options_set(&o, "quant", "int8", err, sizeof err), 0, "%s", err);
    cr_assert_eq(options_set(&oq, "quant", "int8", err, sizeof err), 0, "%s", err);
    cr_assert_eq(options_set(&o, "sparsity", "2:4-magnitude", err, sizeof err), 0, "%s", err);
    cr_assert_eq(quant_apply_transforms(&sp, &o, NULL, 2, NULL, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(quant_apply_transforms(&q8, &oq, NULL, 2, NULL, NULL, err, sizeof err), 0, "%s", err);
    for (int l = 0; l < cfg->n_layers; l++)
        for (int i = 0; i < 7; i++) {
            const struct weight *s = linear(&sp, l, i), *q = linear(&q8, l, i);
            struct weight *d = linear(&dn, l, i);
            cr_assert_eq(s->type, DT_S24_Q8, "layer %d matrix %d: %s", l, i, dtype_info(s->type)->name);
            cr_assert_eq(q->type, DT_I8);
            float row[1024];
            for (int r = 0; r < s->rows; r++) {
                const unsigned char *qr = (const unsigned char *)q->data + (size_t)r * weight_row_stride(q);
                float sc;
                memcpy(&sc, qr, 4);
                float d16 = fp16_to_fp32(fp32_to_fp16(sc));
                const int8_t *qv = (const int8_t *)(qr + 4);
                dtype_decode_row(s->type, (const char *)s->data + (size_t)r * weight_row_stride(s), row, s->cols);
                for (int g = 0; g < s->cols; g += 4) {
                    float mg[4];
                    for (int k = 0; k < 4; k++) mg[k] = fabsf((float)qv[g + k]);
                    int a, b;
                    sparse24_top2(mg, &a, &b);
                    for (int k = 0; k < 4; k++)
                        cr_assert_eq(row[g + k], k == a || k == b ? d16 * (float)qv[g + k] : 0.f,
                                     "layer %d matrix %d row %d elem %d", l, i, r, g + k);
                }
                memcpy((float *)d->data + (size_t)r * d->cols, row, sizeof(float) * (size_t)d->cols);
            }
        }
    int32_t toks[6] = {5, 77, 300, 2, 411, 9};
    int V = cfg->vocab;
    float *a = malloc(sizeof(float) * V), *b = malloc(sizeof(float) * V);
    run_logits(&sp, toks, 6, a);
    run_logits(&dn, toks, 6, b);
    double mx = 0, scale = 0;
    int am = 0, bm = 0;
    for (int i = 0; i < V; i++) {
        mx = fmax(mx, fabs(a[i] - b[i]));
        scale = fmax(scale, fabs(b[i]));
        if (a[i] > a[am]) am = i;
        if (b[i] > b[bm]) bm = i;
    }
    cr_assert(mx <= 1e-2 * scale, "max diff %g of %g", mx, scale);
    cr_assert_gt(mx, 0, "s24_q8 quantizes the activations: not bit-equal to the f32 forward");
    cr_assert_eq(am, bm, "same greedy token");
    free(a); free(b);
    model_free(&sp); model_free(&q8); model_free(&dn);
}

Test(sparsity, head_is_pruned_only_when_asked)
{
    check_model_forward(DT_F32, SPARSITY_MAGNITUDE, true);
}

Test(sparsity, refuses_what_it_cannot_prune)
{
    char err[256];
    struct model m;
    cr_assert_eq(model_synth(&m, &model_preset_find("tiny")->cfg, DT_F32, 3, 2, err, sizeof err), 0);
    struct sparsity_opts o = {SPARSITY_WANDA, false, DT_COUNT, NULL, NULL};
    cr_assert_eq(sparsity_apply(&m, &o, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "calibration"), "%s", err);
    struct weight odd = {.type = DT_F32, .rows = 2, .cols = 20, .data = m.layers[0].wq.data};
    void *buf;
    strcpy(odd.name, "odd");
    cr_assert_eq(sparsity_prune_weight(&odd, NULL, DT_S24_F16, &buf, err, sizeof err), -1);
    cr_assert(strstr(err, "weight odd") && strstr(err, "multiple of 16"), "%s", err);
    model_free(&m);
}

/* sparsity=2:4-wanda through the options takes each weight's input norms
 * from the calibration statistics of the unpruned model: the kept pair of
 * every group equals the brute-force argmax of |w|·‖X_j‖₂ with ‖X_j‖₂ from
 * calib_channel_norm of that weight's tap (q/k/v share one, down its own). */
Test(sparsity, wanda_options_take_the_calibration_norms)
{
    char err[256];
    const struct model_config *cfg = &model_preset_find("tiny")->cfg;
    struct model m, ref;
    cr_assert_eq(model_synth(&m, cfg, DT_F32, 5, 2, err, sizeof err), 0, "%s", err);
    cr_assert_eq(model_synth(&ref, cfg, DT_F32, 5, 2, err, sizeof err), 0, "%s", err);
    struct backend *be = cpu_backend_create(1, CPU_SIMD_AVX2);
    cr_assert_eq(model_upload(&ref, be), 0);
    int32_t toks[40];
    for (int i = 0; i < 40; i++) toks[i] = (int32_t)((i * 131 + 7) % cfg->vocab);
    struct calib_stats cs;
    cr_assert_eq(calib_collect(&ref, be, toks, 40, 20, &cs, err, sizeof err), 0, "%s", err);
    struct options o;
    options_defaults(&o);
    cr_assert_eq(options_set(&o, "sparsity", "2:4-wanda", err, sizeof err), 0, "%s", err);
    cr_assert_eq(sparsity_apply_options(&m, &o, NULL, NULL, err, sizeof err), -1, "no statistics: refused");
    cr_assert(strstr(err, "calibration"), "%s", err);
    int n_pruned = 0, differs = 0;
    cr_assert_eq(sparsity_apply_options(&m, &o, &cs, &n_pruned, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n_pruned, 7 * cfg->n_layers);
    for (int l = 0; l < cfg->n_layers; l++) {
        const struct weight *pw[] = {&m.layers[l].wk, &m.layers[l].w_down};
        const struct weight *dw[] = {&ref.layers[l].wk, &ref.layers[l].w_down};
        enum fwd_tap taps[] = {FWD_TAP_QKV, FWD_TAP_DOWN};
        for (int t = 0; t < 2; t++) {
            const struct calib_input *in = calib_get(&cs, l, taps[t]);
            cr_assert(in && in->cols == pw[t]->cols);
            float *row = malloc(sizeof(float) * (size_t)pw[t]->cols);
            for (int r = 0; r < pw[t]->rows; r++) {
                sparse24_decode_row(pw[t]->type, (const char *)pw[t]->data + (size_t)r * dtype_row_bytes(pw[t]->type, pw[t]->cols),
                                    row, pw[t]->cols);
                const float *w0 = (const float *)dw[t]->data + (size_t)r * dw[t]->cols;
                for (int g = 0; g < pw[t]->cols; g += 4) {
                    float sc[4], mg[4];
                    for (int i = 0; i < 4; i++) {
                        mg[i] = fabsf(w0[g + i]);
                        sc[i] = mg[i] * (float)calib_channel_norm(in, g + i);
                    }
                    int a = 0, b = 1, ma = 0, mb = 1;
                    brute_pair(sc, &a, &b);
                    brute_pair(mg, &ma, &mb);
                    differs += a != ma || b != mb;
                    for (int i = 0; i < 4; i++)
                        cr_assert_eq(row[g + i] != 0.f, i == a || i == b, "layer %d tap %d row %d group %d pos %d",
                                     l, (int)taps[t], r, g / 4, i);
                }
            }
            free(row);
        }
    }
    cr_assert_gt(differs, 0, "the calibration norms should change some choices from magnitude's");
    calib_free(&cs);
    backend_destroy(be);
    model_free(&m);
    model_free(&ref);
}

/* ---- CUDA per-tile math, run on the CPU (kernels/sparse24_tile.h) ---------- */

Test(sparsity_tile, block_dot_equals_the_decoded_dot)
{
    for (size_t ti = 0; ti < sizeof S24 / sizeof S24[0]; ti++) {
        enum dtype t = S24[ti];
        cr_assert_eq(sparse24_block_bytes(t), dtype_info(t)->block_bytes);
        float *x = rnd_vec(64), *w = rnd_vec(64), dec[64];
        unsigned char row[64 * 3];
        dtype_encode_row(t, w, row, 64);
        dtype_decode_row(t, row, dec, 64);
        for (int b = 0; b < 4; b++) {
            double want = 0;
            for (int i = 0; i < 16; i++) want += (double)dec[16 * b + i] * x[16 * b + i];
            float got = sparse24_block_dot(t, row + (size_t)b * sparse24_block_bytes(t), x + 16 * b);
            cr_assert(fabs(got - want) < 1e-5, "%s block %d: %g vs %g", dtype_info(t)->name, b, got, want);
        }
        free(x);
        free(w);
    }
    for (int h = 0; h < 65536; h += 7) {   /* the device's half decode is fp16_to_fp32 */
        float a = sparse24_h2f((uint16_t)h), b = fp16_to_fp32((uint16_t)h);
        cr_assert(memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b)), "half %04x", h);
    }
}

/* The fragments the mma.sp kernel assembles, fed to the instruction's
 * definition, give the dense product of a 16x16 2:4 tile and 8 tokens. */
Test(sparsity_tile, mma_fragments_reproduce_the_dense_tile)
{
    unsigned char w[16][S24_F16_BLOCK_BYTES];
    float dense[16][16], x[8][16];
    for (int r = 0; r < 16; r++) {
        float row[16];
        for (int k = 0; k < 16; k++) row[k] = rnd();
        dtype_encode_row(DT_S24_F16, row, w[r], 16);
        dtype_decode_row(DT_S24_F16, w[r], dense[r], 16);
    }
    for (int n = 0; n < 8; n++)
        for (int k = 0; k < 16; k++) x[n][k] = fp16_to_fp32(fp32_to_fp16(rnd()));   /* B is f16 */
    uint32_t a[32][2], e[32];
    float b[32][4], d[32][4] = {{0}};
    for (int lane = 0; lane < 32; lane++) {
        int g = lane >> 2;
        sparse24_mma_a(w[g], w[g + 8], lane, a[lane]);
        e[lane] = sparse24_mma_e(w[g], w[g + 8]);
        for (int i = 0; i < 4; i++) b[lane][i] = x[g][sparse24_mma_b_k(lane, i)];
    }
    sparse24_mma_emulate(a, e, b, d);
    for (int lane = 0; lane < 32; lane++)
        for (int i = 0; i < 4; i++) {
            int r = sparse24_mma_d_row(lane, i), n = sparse24_mma_d_n(lane, i);
            double want = 0;
            for (int k = 0; k < 16; k++) want += (double)dense[r][k] * x[n][k];
            cr_assert(fabs(d[lane][i] - want) < 1e-5, "lane %d elem %d (row %d, token %d): %g vs %g", lane, i, r, n,
                      d[lane][i], want);
        }
}

/* The CUDA s24_q8 path (kernels/cuda/cuda_sparse.cu) on the CPU: its
 * quantizer writes the CPU kernels' activation bytes (also at ties and for
 * an all-zero block), its block dots summed block after block give the CPU
 * scalar kernel's bits, and summed as the GPU does (lane l: blocks l, l+32,
 * ...; then the shuffle-down tree) every CPU level's result within float
 * summation error: the same integer dots, only the float order differs. */
Test(sparsity_tile, s24q8_activation_math_equals_the_cpu_kernels)
{
    const int K = 1536, nb = K / S24_BLOCK;
    float *x = rnd_vec(K), *w = rnd_vec(K);
    for (int i = 0; i < 16; i++) x[i] = (float)(i - 8) * 0.5f;   /* x·id = 31.75·k: ties at .5 */
    for (int i = 32; i < 48; i++) x[i] = 0.f;                    /* all-zero block: d = 0 */
    unsigned char row[1536], xq_cpu[1536 * 2], xq_tile[1536 * 2];
    dtype_encode_row(DT_S24_Q8, w, row, K);
    cr_assert_eq(sparse24_act_bytes(K), s24q8_act_bytes(K));
    s24q8_act_row(x, xq_cpu, K);
    float *dd = (float *)(void *)(xq_tile + K);
    for (int b = 0; b < nb; b++) dd[2 * b] = dd[2 * b + 1] = sparse24_act_block(x + 16 * b, xq_tile + 16 * b);
    cr_assert_eq(memcmp(xq_cpu, xq_tile, sparse24_act_bytes(K)), 0, "the GPU quantizer writes the CPU's bytes");
    float seq = 0.f, lane[32] = {0}, mag = 0.f;
    for (int b = 0; b < nb; b++) {
        const unsigned char *blk = row + (size_t)b * S24_Q8_BLOCK_BYTES;
        float term = sparse24_q8_block_term(blk, dd[2 * b], sparse24_q8_block_idot(blk, xq_tile + 16 * b));
        seq += term;
        lane[b % 32] += term;
        mag += fabsf(term);
    }
    for (int o = 16; o > 0; o >>= 1)               /* __shfl_down_sync: lane l adds lane l + o */
        for (int l = 0; l + o < 32; l++) lane[l] += lane[l + o];
    for (int s = CPU_SIMD_SCALAR; s <= (int)cpu_simd_detect(); s++) {
        float got;
        cpu_s24q8_act_dot_fn((enum cpu_simd)s)(row, xq_cpu, 0, 1, K, &got);
        if (s == CPU_SIMD_SCALAR) cr_assert_eq(memcmp(&got, &seq, sizeof got), 0, "scalar: %g vs %g", got, seq);
        cr_assert(fabsf(got - lane[0]) <= 2e-6f * mag, "simd %d: %g vs the GPU order's %g", s, got, lane[0]);
    }
    free(x);
    free(w);
}

/* `infertop models`' 2:4 column is the bytes a pruned model really holds. */
Test(sparsity, model_bytes_match_a_pruned_model)
{
    char err[256];
    struct model m;
    const struct model_config *cfg = &model_preset_find("tiny")->cfg;
    cr_assert_eq(model_synth(&m, cfg, DT_F16, 5, 2, err, sizeof err), 0, "%s", err);
    struct sparsity_opts o = {SPARSITY_MAGNITUDE, false, DT_COUNT, NULL, NULL};
    cr_assert_eq(sparsity_apply(&m, &o, NULL, err, sizeof err), 0, "%s", err);
    double b = weight_bytes(&m.tok_embd) + 4.0 * (cfg->n_layers * 2.0 * cfg->dim + cfg->dim);
    for (int l = 0; l < cfg->n_layers; l++)
        for (int i = 0; i < 7; i++) b += weight_bytes(linear(&m, l, i));
    cr_assert_float_eq(sparsity_model_bytes(cfg, DT_F16, false), b, 0.5);
    cr_assert_str_eq(dtype_info(m.wtype)->name, "s24_f16");
    model_free(&m);
}
