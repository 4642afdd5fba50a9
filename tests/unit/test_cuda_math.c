/* tests/unit/test_cuda_math.c — the CUDA kernels' shared math (cuda_math.h) and
 * launch geometry (cuda_launch.h), run on the CPU against double-precision
 * references on random inputs. No GPU needed: these are the same inline
 * functions the kernels call. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/cuda_launch.h"
#include "kernels/cuda/cuda_math.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static double rnd_unit(void)   /* [0, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) * 0x1.0p-53;
}

static double rnd_range(double lo, double hi) { return lo + (hi - lo) * rnd_unit(); }
static int rnd_int(int lo, int hi) { return lo + (int)(rnd_unit() * (hi - lo + 1)); }

/* ---- element-wise math ---- */

/* The vocab-parallel embedding's row: token - off inside [0, n_rows), -1 outside. */
Test(cuda_math, embed_row_of_a_vocabulary_shard)
{
    for (int t = 0; t < 100; t++) {
        cr_assert_eq(cm_embed_row(t, 0, 100), t);
        cr_assert_eq(cm_embed_row(t, 33, 34), t >= 33 && t < 67 ? t - 33 : -1, "token %d", t);
    }
}

Test(cuda_math, silu_matches_double)
{
    for (int i = 0; i < 20000; i++) {
        float x = (float)rnd_range(-30, 30);
        double ref = (double)x / (1.0 + exp(-(double)x));
        cr_assert(fabs(cm_silu(x) - ref) <= 2e-6 * fabs(ref) + 1e-30, "silu(%g) = %g, want %g",
                  x, cm_silu(x), ref);
    }
}

Test(cuda_math, rms_scale_matches_double)
{
    for (int i = 0; i < 200; i++) {
        int n = rnd_int(1, 5000);
        float eps = i % 2 ? 1e-5f : 1e-6f;
        float sumsq = 0;
        double dsum = 0;
        for (int j = 0; j < n; j++) {
            float v = (float)rnd_range(-3, 3);
            sumsq += v * v;
            dsum += (double)v * v;
        }
        double ref = 1.0 / sqrt(dsum / n + eps);
        cr_assert(fabs(cm_rms_scale(sumsq, n, eps) - ref) <= 1e-4 * ref, "n=%d", n);
    }
}

/* Llama 3 rope scaling written independently in double. */
static double ref_rope_freq(int i, int d, struct rope_params rp)
{
    double freq = pow((double)rp.theta, -2.0 * i / d);
    if (rp.factor <= 0) return freq;
    double wavelen = 2 * M_PI / freq;
    double lo = rp.orig_ctx / (double)rp.low_freq_factor, hi = rp.orig_ctx / (double)rp.high_freq_factor;
    if (wavelen < hi) return freq;
    if (wavelen > lo) return freq / rp.factor;
    double smooth = (rp.orig_ctx / wavelen - rp.low_freq_factor) / (rp.high_freq_factor - rp.low_freq_factor);
    return (1 - smooth) * freq / rp.factor + smooth * freq;
}

Test(cuda_math, rope_freq_plain_and_llama3)
{
    struct rope_params cases[] = {
        {10000.f, 0, 0, 0, 0}, {500000.f, 0, 0, 0, 0},
        {500000.f, 8.f, 1.f, 4.f, 8192}, {500000.f, 32.f, 1.f, 4.f, 8192}, {10000.f, 4.f, 1.f, 4.f, 2048},
    };
    int dims[] = {32, 64, 80, 128, 256};
    int banded = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++)
            for (int i = 0; i < dims[k] / 2; i++) {
                double ref = ref_rope_freq(i, dims[k], cases[c]);
                double got = cm_rope_freq(i, dims[k], cases[c]);
                cr_assert(fabs(got - ref) <= 2e-5 * ref, "theta=%g factor=%g d=%d i=%d: %g vs %g",
                          cases[c].theta, cases[c].factor, dims[k], i, got, ref);
                if (cases[c].factor > 0 && got != (float)pow(cases[c].theta, -2.0 * i / dims[k]) &&
                    fabs(got * cases[c].factor - pow(cases[c].theta, -2.0 * i / dims[k])) > 1e-3 * ref)
                    banded++;   /* interpolated band actually exercised */
            }
    cr_assert(banded > 0, "no frequency fell in the interpolated band");
}

Test(cuda_math, rope_rotate_matches_double)
{
    struct rope_params rp = {500000.f, 8.f, 1.f, 4.f, 8192};
    for (int it = 0; it < 20000; it++) {
        int d = 2 * rnd_int(8, 64), i = rnd_int(0, d / 2 - 1), pos = rnd_int(0, 8192);
        float freq = cm_rope_freq(i, d, rp);
        float x0 = (float)rnd_range(-2, 2), x1 = (float)rnd_range(-2, 2), y0 = x0, y1 = x1;
        cm_rope_rotate(&y0, &y1, pos, freq);
        double a = (double)pos * freq;
        double r0 = x0 * cos(a) - x1 * sin(a), r1 = x0 * sin(a) + x1 * cos(a);
        double tol = (fabs(x0) + fabs(x1)) * (2e-6 + 2e-7 * a);   /* float angle rounding grows with a */
        cr_assert(fabs(y0 - r0) <= tol && fabs(y1 - r1) <= tol, "pos=%d freq=%g: (%g,%g) vs (%g,%g)",
                  pos, freq, y0, y1, r0, r1);
    }
}

Test(cuda_math, kv_slot_equals_kv_row)
{
    static float pool[64];
    for (int it = 0; it < 200; it++) {
        int bs = rnd_int(1, 32), n_ctx = rnd_int(1, 300), nb = (n_ctx + bs - 1) / bs;
        int32_t *table = malloc(sizeof *table * (size_t)nb);
        cr_assert_not_null(table);
        for (int b = 0; b < nb; b++) table[b] = rnd_int(0, 1000);
        struct kv_view kv = {pool, pool, 0, table, nb, bs, 1, DT_F32};
        for (int t = 0; t < n_ctx; t++)
            cr_assert_eq(cm_kv_slot(table, bs, t), kv_row(&kv, pool, 0, t) - pool);
        free(table);
    }
}

/* ---- online softmax ---- */

/* Random scores in tiles of random width, some masked; out = softmax(s) · v
 * by the tile recurrence vs a two-pass double softmax. */
static void online_vs_full(int n, int dv)
{
    float *s = malloc(sizeof *s * (size_t)n), *v = malloc(sizeof *v * (size_t)n * dv);
    float *acc = calloc((size_t)dv, sizeof *acc);
    double *ref = calloc((size_t)dv, sizeof *ref);
    cr_assert(s && v && acc && ref);
    double scale = rnd_range(1, 30);   /* wide ranges stress the rescaling */
    for (int j = 0; j < n; j++) {
        s[j] = rnd_unit() < 0.2 && j > 0 ? -INFINITY : (float)rnd_range(-scale, scale);
        for (int c = 0; c < dv; c++) v[j * dv + c] = (float)rnd_range(-1, 1);
    }
    struct cm_online st = cm_online_init();
    for (int j0 = 0; j0 < n;) {
        int w = rnd_int(1, 70), j1 = j0 + w < n ? j0 + w : n;
        float tmax = -INFINITY;
        for (int j = j0; j < j1; j++) tmax = fmaxf(tmax, s[j]);
        float alpha = cm_online_rescale(&st, tmax);
        for (int c = 0; c < dv; c++) acc[c] *= alpha;
        for (int j = j0; j < j1; j++) {
            float p = cm_online_weight(&st, s[j]);
            st.l += p;
            for (int c = 0; c < dv; c++) acc[c] += p * v[j * dv + c];
        }
        j0 = j1;
    }
    double m = -INFINITY, l = 0;
    for (int j = 0; j < n; j++) m = fmax(m, s[j]);
    for (int j = 0; j < n; j++) {
        double p = s[j] == -INFINITY ? 0 : exp((double)s[j] - m);
        l += p;
        for (int c = 0; c < dv; c++) ref[c] += p * v[j * dv + c];
    }
    for (int c = 0; c < dv; c++)
        cr_assert(fabs(acc[c] / st.l - ref[c] / l) <= 1e-5, "n=%d c=%d: %g vs %g", n, c,
                  acc[c] / st.l, ref[c] / l);
    free(s); free(v); free(acc); free(ref);
}

Test(cuda_math, online_softmax_tiles_equal_full_softmax)
{
    int ns[] = {1, 2, 31, 64, 65, 200, 1001};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (int rep = 0; rep < 20; rep++) online_vs_full(ns[i], 1 + rep % 5);
}

Test(cuda_math, online_merge_of_splits_equals_whole)
{
    for (int it = 0; it < 500; it++) {
        int n = rnd_int(2, 400), cut = rnd_int(1, n - 1);
        float s[400];
        for (int j = 0; j < n; j++) s[j] = (float)rnd_range(-20, 20);
        struct cm_online part[2];
        double num_ref = 0, den_ref = 0, m_ref = -INFINITY;
        float accs[2] = {0, 0};
        for (int k = 0; k < 2; k++) {
            int a = k ? cut : 0, b = k ? n : cut;
            part[k] = cm_online_init();
            float tmax = -INFINITY;
            for (int j = a; j < b; j++) tmax = fmaxf(tmax, s[j]);
            cm_online_rescale(&part[k], tmax);
            for (int j = a; j < b; j++) {
                float p = cm_online_weight(&part[k], s[j]);
                part[k].l += p;
                accs[k] += p * (float)j;   /* value = key index */
            }
        }
        for (int j = 0; j < n; j++) m_ref = fmax(m_ref, s[j]);
        for (int j = 0; j < n; j++) { double p = exp(s[j] - m_ref); num_ref += p * j; den_ref += p; }
        float m_all = fmaxf(part[0].m, part[1].m);
        float w0 = cm_online_merge_weight(part[0], m_all), w1 = cm_online_merge_weight(part[1], m_all);
        double got = (w0 * accs[0] + w1 * accs[1]) / (w0 * part[0].l + w1 * part[1].l);
        cr_assert(fabs(got - num_ref / den_ref) <= 1e-4 * n, "n=%d cut=%d", n, cut);
    }
    struct cm_online empty = cm_online_init();
    cr_assert_eq(cm_online_merge_weight(empty, 3.0f), 0.0f);
}

/* ---- launch geometry ---- */

Test(cuda_launch, eltwise_grid_stride_covers_every_element_once)
{
    int64_t ns[] = {1, 2, 255, 256, 257, 1000, 65537, 300001};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        int64_t n = ns[k];
        struct cl_1d l = cl_eltwise(n);
        cr_assert(l.grid >= 1 && l.grid <= CL_MAX_GRID && l.block == CL_ELT_BLOCK);
        unsigned char *seen = calloc((size_t)n, 1);
        cr_assert_not_null(seen);
        int64_t stride = (int64_t)l.grid * l.block;
        for (int64_t tid = 0; tid < stride; tid++)
            for (int64_t i = tid; i < n; i += stride) seen[i]++;
        for (int64_t i = 0; i < n; i++) cr_assert_eq(seen[i], 1, "n=%ld i=%ld", (long)n, (long)i);
        free(seen);
    }
    struct cl_1d big = cl_eltwise((int64_t)1 << 40);
    cr_assert_eq(big.grid, CL_MAX_GRID);
}

Test(cuda_launch, rows_one_block_per_row)
{
    for (int it = 0; it < 500; it++) {
        int rows = rnd_int(1, 5000), cols = rnd_int(1, 20000);
        struct cl_1d l = cl_rows(rows, cols);
        cr_assert_eq(l.grid, (uint32_t)rows);
        cr_assert(l.block >= 32 && l.block <= CL_ROW_BLOCK && (l.block & (l.block - 1)) == 0);
        cr_assert(l.block >= (uint32_t)cols || l.block == CL_ROW_BLOCK);
        cr_assert(l.block == 32 || l.block / 2 < (uint32_t)cols);
    }
}

/* Every (query, head, causal key) is visited by exactly one (block, row). */
static void flash_cover(int n_q, int pos0, int H, int Hkv, int d, int sms)
{
    struct cl_flash g;
    cr_assert_eq(cl_flash_plan(&g, n_q, pos0, H, Hkv, d, sms), 0);
    int n_ctx = pos0 + n_q;
    cr_assert(g.n_splits >= 1 && g.n_splits <= CL_MAX_SPLITS);
    cr_assert(g.n_splits * g.tiles_per_split >= g.kv_tiles);
    cr_assert((g.n_splits - 1) * g.tiles_per_split < g.kv_tiles, "empty tail split");
    cr_assert(g.q_tiles * ATTN_TILE_Q >= g.rows && (g.q_tiles - 1) * ATTN_TILE_Q < g.rows);
    unsigned char *seen = calloc((size_t)n_q * H * n_ctx, 1);
    cr_assert_not_null(seen);
    for (int qt = 0; qt < g.q_tiles; qt++)
        for (int kvh = 0; kvh < Hkv; kvh++)
            for (int s = 0; s < g.n_splits; s++) {
                int r0, r1, q, h, k0, k1;
                cl_flash_tile_rows(&g, qt, &r0, &r1);
                cl_flash_row(&g, kvh, r1 - 1, &q, &h);
                cl_flash_keys(&g, s, q, &k0, &k1);
                cr_assert(k1 - k0 <= g.tiles_per_split * ATTN_TILE_KV);
                for (int r = r0; r < r1; r++) {
                    cl_flash_row(&g, kvh, r, &q, &h);
                    cr_assert(q < n_q && h / (H / Hkv) == kvh);
                    for (int t = k0; t < k1 && t <= pos0 + q; t++) seen[((size_t)q * H + h) * n_ctx + t]++;
                }
            }
    for (int q = 0; q < n_q; q++)
        for (int h = 0; h < H; h++)
            for (int t = 0; t < n_ctx; t++)
                cr_assert_eq(seen[((size_t)q * H + h) * n_ctx + t], t <= pos0 + q ? 1 : 0,
                             "n_q=%d pos0=%d H=%d Hkv=%d sms=%d q=%d h=%d t=%d", n_q, pos0, H, Hkv,
                             sms, q, h, t);
    cr_assert(g.smem_bytes >= sizeof(float) * (size_t)(2 * ATTN_TILE_KV + ATTN_TILE_Q) * d);
    free(seen);
}

Test(cuda_launch, flash_covers_rows_heads_and_keys_once)
{
    flash_cover(1, 0, 1, 1, 64, 132);
    flash_cover(1, 1000, 9, 3, 64, 132);      /* decode, GQA 3, long context: splits */
    flash_cover(7, 0, 9, 3, 64, 132);
    flash_cover(33, 17, 4, 4, 80, 1);
    flash_cover(100, 0, 8, 1, 128, 132);      /* MQA prefill */
    flash_cover(1, 4095, 32, 8, 128, 132);
    for (int it = 0; it < 40; it++) {
        int Hkv = rnd_int(1, 4), H = Hkv * rnd_int(1, 4);
        flash_cover(rnd_int(1, 70), rnd_int(0, 300), H, Hkv, rnd_int(1, 256), rnd_int(0, 140));
    }
}

Test(cuda_launch, flash_rejects_unsupported_shapes)
{
    struct cl_flash g;
    cr_assert_eq(cl_flash_plan(&g, 1, 0, 9, 4, 64, 132), -1);
    cr_assert_eq(cl_flash_plan(&g, 1, 0, 8, 8, 257, 132), -1);
    cr_assert_eq(cl_flash_plan(&g, 0, 0, 8, 8, 64, 132), -1);
    cr_assert_eq(cl_flash_plan(&g, 1, 0, 2, 4, 64, 132), -1);
}

Test(cuda_launch, flash_splits_only_small_grids)
{
    struct cl_flash g;
    cl_flash_plan(&g, 1, 8191, 32, 8, 128, 132);
    cr_assert(g.n_splits > 1, "decode at 8k context should split (got %d)", g.n_splits);
    cl_flash_plan(&g, 4096, 0, 32, 8, 128, 132);
    cr_assert_eq(g.n_splits, 1);
}

/* ---- CUDA graph policy (kernels/cuda/cuda_graph_policy.c) ---- */
#include "kernels/cuda/cuda_graph_policy.h"

Test(cuda_graph_policy, capture_after_warmup_then_replay_recapture_on_shape_change)
{
    struct cg_policy p;
    cg_policy_init(&p, 2);
    struct cg_key a = cg_key_of(8, 8, 100), b = cg_key_of(9, 9, 100);
    cr_assert_eq(a.kv_blocks_p2, 128);
    cr_assert_eq(cg_decide(&p, a), CG_EAGER);            /* first sight */
    cr_assert_eq(cg_decide(&p, a), CG_EAGER);            /* warm-up: 2nd repeat */
    cr_assert_eq(cg_decide(&p, a), CG_CAPTURE);
    cg_done(&p, CG_CAPTURE, true, NULL);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(cg_decide(&p, a), CG_UPDATE);
        cg_done(&p, CG_UPDATE, true, NULL);
    }
    cr_assert_eq(cg_decide(&p, a), CG_UPDATE);
    cg_done(&p, CG_UPDATE, false, NULL);                 /* topology changed: re-instantiated */
    cr_assert_eq(cg_decide(&p, b), CG_EAGER, "a new shape runs eagerly first");
    cr_assert_eq(cg_decide(&p, b), CG_EAGER);
    cr_assert_eq(cg_decide(&p, b), CG_CAPTURE, "and is captured after its warm-up");
    cg_done(&p, CG_CAPTURE, true, NULL);
    cr_assert_eq(cg_decide(&p, a), CG_EAGER, "the old shape's graph is gone");
    cr_assert_eq(p.captures, 2);
    cr_assert_eq(p.replays, 5);
    cr_assert_eq(p.recaptures, 1);
    cr_assert_eq(p.eager, 5);          /* a: 2, b: 2, a again: 1 */
    /* same bucket of KV blocks: same key (decode grows the tables block by block) */
    cr_assert(cg_key_of(1, 1, 65).kv_blocks_p2 == cg_key_of(1, 1, 128).kv_blocks_p2);
    cr_assert(cg_key_of(1, 1, 129).kv_blocks_p2 != cg_key_of(1, 1, 128).kv_blocks_p2);
}

Test(cuda_graph_policy, failed_capture_turns_graphs_off_with_reason)
{
    struct cg_policy p;
    cg_policy_init(&p, 1);
    struct cg_key k = cg_key_of(1, 1, 4);
    cr_assert_eq(cg_decide(&p, k), CG_EAGER);
    cr_assert_eq(cg_decide(&p, k), CG_CAPTURE);
    cg_done(&p, CG_CAPTURE, false, "cudaErrorStreamCaptureUnsupported");
    cr_assert(p.off);
    cr_assert(strstr(p.reason, "cudaErrorStreamCaptureUnsupported"));
    for (int i = 0; i < 4; i++) cr_assert_eq(cg_decide(&p, k), CG_EAGER);
    cr_assert_eq(p.captures, 0);
}
