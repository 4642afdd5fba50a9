/* tests/unit/test_xquant.c — the own quantized formats (kernels/xq_blocks.h),
 * their CPU kernels (kernels/cpu/qx.h) and the weight transforms
 * (core/quant): encode/decode against double-precision references on random
 * nonzero data, FP8 edge cases, the int4 scale search never worse than
 * max-abs, every kernel on every SIMD path at 1 and 2 threads against the
 * dequantized double product, SmoothQuant exact before quantization. */
#include "core/model/forward.h"
#include "core/quant/calib.h"
#include "core/quant/quant_calib.h"
#include "core/quant/quantize.h"
#include "core/quant/smooth.h"
#include "core/quant/transform.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/qx.h"
#include "kernels/fp8.h"
#include "kernels/xq_blocks.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rs = 0x2545f4914f6cdd1dull;

/* Uniform in [-1, 1], never exactly zero. */
static float rnd(void)
{
    rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
    float u = (float)((rs >> 40) + 1) / (float)(1ull << 24);
    return 2.0f * u - 1.0f + 0x1p-20f;
}

/* ---- FP8 ---- */

/* The nearest finite code to x by brute force over all 256 codes (double),
 * saturating: what a correct RNE saturating encoder returns (ties aside). */
static double fp8_nearest(double x, bool e4m3)
{
    double best = 0, bd = INFINITY;
    for (int b = 0; b < 256; b++) {
        float v = e4m3 ? fp8_e4m3_to_f32((uint8_t)b) : fp8_e5m2_to_f32((uint8_t)b);
        if (!isfinite(v)) continue;
        if (fabs(x - v) < bd) { bd = fabs(x - v); best = v; }
    }
    return best;
}

Test(xquant, fp8_e4m3_edges)
{
    cr_assert_eq(fp8_e4m3_from_f32(448.f), 0x7e);
    cr_assert_eq(fp8_e4m3_to_f32(0x7e), 448.f);
    cr_assert_eq(fp8_e4m3_from_f32(500.f), 0x7e, "saturates, never NaN");
    cr_assert_eq(fp8_e4m3_from_f32(-1e9f), 0xfe);
    cr_assert_eq(fp8_e4m3_from_f32(INFINITY), 0x7e, "no inf in E4M3: saturate");
    cr_assert_eq(fp8_e4m3_from_f32(NAN) & 0x7f, 0x7f);
    cr_assert(isnan(fp8_e4m3_to_f32(0x7f)) && isnan(fp8_e4m3_to_f32(0xff)));
    cr_assert_eq(fp8_e4m3_from_f32(-0.0f), 0x80);
    cr_assert(signbit(fp8_e4m3_to_f32(0x80)) && fp8_e4m3_to_f32(0x80) == 0);
    cr_assert_eq(fp8_e4m3_to_f32(0x01), 0x1p-9f, "smallest subnormal");
    cr_assert_eq(fp8_e4m3_from_f32(0x1p-10f), 0x00, "tie to even: 0");
    cr_assert_eq(fp8_e4m3_from_f32(3 * 0x1p-10f), 0x02, "tie to even: 2");
    cr_assert_eq(fp8_e4m3_from_f32(1.0625f), 0x38, "tie 1.0|1.125 to even 1.0");
    cr_assert_eq(fp8_e4m3_from_f32(1.1875f), 0x3a, "tie 1.125|1.25 to even 1.25");
    cr_assert_eq(fp8_e4m3_to_f32(0x08), 0x1p-6f, "smallest normal");
    cr_assert_eq(fp8_e4m3_from_f32(7.5f * 0x1p-9f), 0x08, "subnormal rounds up into the normals");
    for (int b = 0; b < 256; b++)
        if ((b & 0x7f) != 0x7f) cr_assert_eq(fp8_e4m3_from_f32(fp8_e4m3_to_f32((uint8_t)b)), b, "code %#x", b);
}

Test(xquant, fp8_e5m2_edges)
{
    cr_assert_eq(fp8_e5m2_from_f32(57344.f), 0x7b);
    cr_assert_eq(fp8_e5m2_to_f32(0x7b), 57344.f);
    cr_assert_eq(fp8_e5m2_from_f32(60000.f), 0x7b, "saturates");
    cr_assert_eq(fp8_e5m2_from_f32(-INFINITY), 0xfc, "keeps inf");
    cr_assert(isinf(fp8_e5m2_to_f32(0x7c)));
    cr_assert(isnan(fp8_e5m2_to_f32(fp8_e5m2_from_f32(NAN))));
    cr_assert_eq(fp8_e5m2_from_f32(-0.0f), 0x80);
    cr_assert_eq(fp8_e5m2_to_f32(0x01), 0x1p-16f);
    cr_assert_eq(fp8_e5m2_from_f32(0x1p-17f), 0x00, "tie to even");
    for (int b = 0; b < 256; b++) {
        float v = fp8_e5m2_to_f32((uint8_t)b);
        if (!isnan(v)) cr_assert_eq(fp8_e5m2_from_f32(v), b, "code %#x", b);
    }
}

Test(xquant, fp8_random_nearest)
{
    for (int i = 0; i < 20000; i++) {
        float x = rnd() * ldexpf(1.0f, (int)(rnd() * 24));      /* 2^-24 .. 2^24 magnitudes */
        for (int f = 0; f < 2; f++) {
            float got = f ? fp8_e4m3_to_f32(fp8_e4m3_from_f32(x)) : fp8_e5m2_to_f32(fp8_e5m2_from_f32(x));
            double want = fp8_nearest(x, f);
            /* equal, or a tie between two codes (then both are at the same distance) */
            cr_assert(got == want || fabs(fabs(x - got) - fabs(x - want)) <= 1e-12 * fabs(x),
                      "%s x=%.9g got %.9g nearest %.9g", f ? "e4m3" : "e5m2", (double)x, (double)got, want);
        }
    }
}

/* ---- row formats ---- */

static const enum dtype OWN[] = {DT_I8, DT_I4S_32, DT_I4S_64, DT_I4S_128, DT_I4A_32, DT_I4A_64,
                                 DT_I4A_128, DT_E4M3, DT_E5M2, DT_W8A8, DT_F8A8};
#define N_OWN (int)(sizeof OWN / sizeof OWN[0])

/* Worst element error allowed relative to the row's max |x|. */
static double rel_bound(enum dtype t)
{
    switch (t) {
    case DT_I8: case DT_W8A8: return 0.5 / 127 + 1e-6;
    case DT_E4M3: case DT_F8A8: return 1.0 / 16 + 1e-6;   /* half an ulp of 3 mantissa bits */
    case DT_E5M2: return 1.0 / 8 + 1e-6;
    default: return 1.0 / 7;                               /* int4: one step at most (clipping) */
    }
}

Test(xquant, encode_decode_rows)
{
    int K = 384;
    float x[384], y[384];
    uint8_t row[1024];
    for (int f = 0; f < N_OWN; f++) {
        enum dtype t = OWN[f];
        cr_assert(dtype_row_bytes(t, K) <= sizeof row);
        for (int rep = 0; rep < 20; rep++) {
            double amax = 0, sq = 0, sq_ref = 0;
            for (int k = 0; k < K; k++) { x[k] = rnd() * (rep + 1); amax = fmax(amax, fabs(x[k])); }
            dtype_encode_row(t, x, row, K);
            dtype_decode_row(t, row, y, K);
            for (int k = 0; k < K; k++) {
                double e = fabs((double)x[k] - y[k]);
                /* fp8: relative to each value (floating point), else to the row's range */
                double lim = (t == DT_E4M3 || t == DT_F8A8 || t == DT_E5M2)
                                 ? rel_bound(t) * fabs(x[k]) + amax * 0x1p-9
                                 : rel_bound(t) * amax * (dtype_i4_group(t) ? 2 : 1);
                cr_assert(e <= lim, "%s x[%d]=%g decoded %g", dtype_info(t)->name, k, (double)x[k], (double)y[k]);
                sq += e * e;
                sq_ref += (double)x[k] * x[k];
            }
            cr_assert(sq < sq_ref * (dtype_i4_group(t) ? 0.02 : 0.005), "%s: rms error too large", dtype_info(t)->name);
        }
    }
}

/* The per-element math the CUDA kernels run (HD, xq_weight_elem) equals the
 * row decoder on every format. */
Test(xquant, hd_element_math_matches_decode)
{
    int K = 256;
    float x[256], y[256];
    uint8_t row[1024];
    for (int f = 0; f < N_OWN; f++) {
        enum dtype t = OWN[f];
        for (int k = 0; k < K; k++) x[k] = rnd() * 3;
        dtype_encode_row(t, x, row, K);
        dtype_decode_row(t, row, y, K);
        float sc = xq_has_row_scale(t) ? xq_row_scale(row) : 1.0f;
        for (int k = 0; k < K; k++)
            cr_assert_eq(sc * xq_weight_elem(t, row, k), y[k], "%s k=%d", dtype_info(t)->name, k);
    }
    for (int h = 0; h < 65536; h++)
        if (((h >> 10) & 0x1f) != 31) cr_assert_eq(xq_half_to_f32((uint16_t)h), fp16_to_fp32((uint16_t)h), "half %#x", h);
}

/* The search must never lose to max-abs rounding, on any group; it should
 * win on most (the point of it). */
Test(xquant, int4_scale_search_never_worse)
{
    const int gs[3] = {32, 64, 128};
    float x[128];
    uint8_t a[80], b[80];
    for (int zp = 0; zp < 2; zp++)
        for (int gi = 0; gi < 3; gi++) {
            int g = gs[gi], better = 0, n = 600;
            for (int rep = 0; rep < n; rep++) {
                for (int i = 0; i < g; i++) x[i] = rnd();
                if (rep % 3 == 0) x[rep % g] *= 8;                  /* an outlier */
                if (zp && rep % 2) for (int i = 0; i < g; i++) x[i] = fabsf(x[i]) + 0.5f;  /* one-sided */
                xq_i4_encode_group(x, g, zp, false, a);
                xq_i4_encode_group(x, g, zp, true, b);
                double ea = xq_i4_group_error(x, g, zp, a), eb = xq_i4_group_error(x, g, zp, b);
                cr_assert(eb <= ea, "g=%d zp=%d rep %d: search %g > max-abs %g", g, zp, rep, eb, ea);
                better += eb < ea * 0.999;
            }
            cr_assert(better > n / 2, "g=%d zp=%d: search better on only %d/%d groups", g, zp, better, n);
        }
}

/* Importance-weighted: in the metric Σ imp·(x − x̂)² the weighted search is
 * never worse than max-abs on any group, and over all groups it beats the
 * unweighted search (which optimises the wrong metric). imp is heavy-tailed
 * like E[x_j²] of real activations (a few channels 100x the rest). */
Test(xquant, int4_weighted_search_never_worse)
{
    const int gs[3] = {32, 64, 128};
    float x[128], imp[128];
    uint8_t a[80], b[80], u[80];
    for (int zp = 0; zp < 2; zp++)
        for (int gi = 0; gi < 3; gi++) {
            int g = gs[gi], n = 600;
            double sum_w = 0, sum_u = 0;
            for (int rep = 0; rep < n; rep++) {
                for (int i = 0; i < g; i++) {
                    x[i] = rnd();
                    imp[i] = expf(3.0f * rnd()) * (rep % 5 == 0 && i % 7 == 0 ? 100.0f : 1.0f);
                }
                if (rep % 3 == 0) x[rep % g] *= 8;
                xq_i4_encode_group_w(x, imp, g, zp, false, a);
                xq_i4_encode_group_w(x, imp, g, zp, true, b);
                xq_i4_encode_group_w(x, NULL, g, zp, true, u);
                double ea = xq_i4_group_error_w(x, imp, g, zp, a), eb = xq_i4_group_error_w(x, imp, g, zp, b);
                cr_assert(eb <= ea, "g=%d zp=%d rep %d: weighted search %g > max-abs %g", g, zp, rep, eb, ea);
                sum_w += eb;
                sum_u += xq_i4_group_error_w(x, imp, g, zp, u);
            }
            cr_assert(sum_w < 0.9 * sum_u, "g=%d zp=%d: weighted %g vs unweighted search %g in the weighted metric", g,
                      zp, sum_w, sum_u);
        }
}

/* The symmetric search reaches the clipped scales: a group on a grid of
 * step 0.1 but one outlier 0.85 with negligible importance keeps the bulk
 * exact (the outlier clipped to 0.7 or 0.8), where max-abs (step 0.85/7)
 * misses most of the bulk by up to half its coarser step. */
Test(xquant, int4_weighted_search_clips_unimportant_outlier)
{
    float x[32], imp[32], y[32];
    for (int i = 0; i < 32; i++) { x[i] = 0.1f * (float)(i % 8 - 4) + 0.01f * rnd(); imp[i] = 1; }
    x[5] = 0.85f;
    imp[5] = 1e-6f;
    uint8_t blk[18];
    xq_i4_encode_group_w(x, imp, 32, false, true, blk);
    dtype_decode_row(DT_I4S_32, blk, y, 32);
    for (int i = 0; i < 32; i++)
        if (i != 5) cr_assert(fabsf(x[i] - y[i]) < 0.02f, "x[%d] = %g decoded %g", i, x[i], y[i]);
    cr_assert(y[5] < 0.82f, "the unimportant outlier is clipped (%g)", y[5]);
}

Test(xquant, int4_zero_point_groups)
{
    float x[32], y[32];
    uint8_t blk[20];
    for (int i = 0; i < 32; i++) x[i] = 2.0f + fabsf(rnd());     /* all in [2, 3]: symmetric wastes half */
    xq_i4_encode_group(x, 32, true, true, blk);
    cr_assert((int8_t)blk[2] < 0, "a one-sided group's zero point lies below code 0");
    dtype_decode_row(DT_I4A_32, blk, y, 32);
    uint8_t sblk[18];
    xq_i4_encode_group(x, 32, false, true, sblk);
    double ez = xq_i4_group_error(x, 32, true, blk), es = xq_i4_group_error(x, 32, false, sblk);
    cr_assert(ez < es / 4, "zero point %g vs symmetric %g on a one-sided group", ez, es);
    for (int i = 0; i < 32; i++) cr_assert(fabsf(x[i] - y[i]) <= 1.0f / 15 + 1e-3f, "x[%d]", i);
}

/* ---- kernels ---- */

struct cfg { int threads; enum cpu_simd simd; };

static int all_cfgs(struct cfg *out)
{
    int n = 0;
    for (int s = CPU_SIMD_SCALAR; s <= (int)cpu_simd_detect(); s++)
        for (int t = 1; t <= 2; t++) out[n++] = (struct cfg){t, (enum cpu_simd)s};
    return n;
}

/* y_ref[i][n] = Σ_k xd[i][k]·wd[n][k] in double, mag = Σ |·|. */
static void ref_product(const double *wd, const double *xd, int m, int N, int K, double *y, double *mag)
{
    for (int i = 0; i < m; i++)
        for (int n = 0; n < N; n++) {
            double s = 0, a = 0;
            for (int k = 0; k < K; k++) {
                double p = xd[(size_t)i * K + k] * wd[(size_t)n * K + k];
                s += p; a += fabs(p);
            }
            y[(size_t)i * N + n] = s;
            mag[(size_t)i * N + n] = a;
        }
}

/* The activations the kernel multiplies, dequantized: x itself (weight-only)
 * or x through the format's activation quantizer (per row, or one scale). */
static void act_dequant(enum dtype t, const float *x, int m, int K, float act_scale, double *xd)
{
    float tscale = act_scale;
    if (t == DT_F8A8 && !(tscale > 0)) {
        float mx = 0;
        for (int i = 0; i < m * K; i++) mx = fmaxf(mx, fabsf(x[i]));
        tscale = mx / 448.0f;
    }
    uint8_t *row = malloc(XQ_ROW_HDR + (size_t)K);
    float *back = malloc((size_t)K * sizeof *back);
    cr_assert(row && back);
    for (int i = 0; i < m; i++) {
        const float *xi = x + (size_t)i * K;
        if (qx_uses_a16(t)) {       /* int8 / int4 g32: x̂·s, the 16-bit rows they multiply */
            void *xa = malloc(qx_a16_bytes(t, K));
            cr_assert(xa);
            qx_a16_row(t, xi, xa, K);
            for (int k = 0; k < K; k++) xd[(size_t)i * K + k] = (double)qx_a16_get(t, xa, k) * qx_a16_scale(xa);
            free(xa);
            continue;
        }
        if (t == DT_W8A8) { xq_i8_encode_scaled(xi, row, K, act_scale); dtype_decode_row(DT_I8, row, back, K); }
        else if (t == DT_F8A8) { xq_e4m3_encode_scaled(xi, row, K, tscale); dtype_decode_row(DT_E4M3, row, back, K); }
        else memcpy(back, xi, (size_t)K * sizeof *back);
        for (int k = 0; k < K; k++) xd[(size_t)i * K + k] = back[k];
    }
    free(row);
    free(back);
}

static void check_kernel(enum dtype t, int K, int N, int m, float act_scale)
{
    struct weight w = {.type = t, .rows = N, .cols = K, .act_scale = act_scale};
    w.data = malloc(weight_bytes(&w));
    double *wd = malloc((size_t)N * K * sizeof *wd), *xd = malloc((size_t)m * K * sizeof *xd);
    double *yr = malloc((size_t)m * N * sizeof *yr), *mag = malloc((size_t)m * N * sizeof *mag);
    float *row = malloc((size_t)K * sizeof *row), *x = malloc((size_t)m * K * sizeof *x), *y = malloc((size_t)m * N * sizeof *y);
    cr_assert(w.data && wd && xd && yr && mag && row && x && y);
    for (int r = 0; r < N; r++) {
        uint8_t *dst = (uint8_t *)w.data + (size_t)r * dtype_row_bytes(t, K);
        for (int k = 0; k < K; k++) row[k] = rnd();
        dtype_encode_row(t, row, dst, K);
        dtype_decode_row(t, dst, row, K);
        for (int k = 0; k < K; k++) wd[(size_t)r * K + k] = row[k];
    }
    for (int i = 0; i < m * K; i++) x[i] = rnd() * 2;
    act_dequant(t, x, m, K, act_scale, xd);
    ref_product(wd, xd, m, N, K, yr, mag);
    struct cfg cfgs[8];
    int nc = all_cfgs(cfgs);
    for (int c = 0; c < nc; c++) {
        struct backend *be = cpu_backend_create(cfgs[c].threads, cfgs[c].simd);
        cr_assert(be && backend_supports(be, OP_MATMUL, t));
        backend_matmul(be, y, &w, x, m);
        for (int i = 0; i < m * N; i++)
            cr_assert(fabs(y[i] - yr[i]) <= 2e-6 * mag[i] + 1e-6, "%s K=%d N=%d m=%d simd=%s threads=%d: y[%d]=%.8g ref %.8g",
                      dtype_info(t)->name, K, N, m, cpu_simd_name(cfgs[c].simd), cfgs[c].threads, i,
                      (double)y[i], yr[i]);
        backend_destroy(be);
    }
    free(w.data); free(wd); free(xd); free(yr); free(mag); free(row); free(x); free(y);
}

static const int SHAPES[][3] = {{128, 13, 1}, {128, 13, 3}, {256, 37, 5}, {384, 64, 17}, {512, 9, 4}, {640, 37, 1}};

Test(xquant, kernels_every_path)
{
    for (int f = 0; f < N_OWN; f++)
        for (size_t s = 0; s < sizeof SHAPES / sizeof SHAPES[0]; s++)
            check_kernel(OWN[f], SHAPES[s][0], SHAPES[s][1], SHAPES[s][2], 0);
}

/* The AVX2 conversion to 16-bit rows writes the scalar one's bytes; it
 * declines rows with an inf or NaN (the scalar conversion takes those). */
Test(xquant, a16_conversion_avx2_equals_scalar)
{
    if (cpu_simd_detect() == CPU_SIMD_SCALAR) { cr_skip_test("no AVX2 on this CPU: the scalar conversion is the only one"); }
    const enum dtype types[] = {DT_I8, DT_I4S_32};
    const int Ks[] = {576, 77, 96, 1536, 16};
    float x[1536];
    for (size_t f = 0; f < 2; f++)
        for (size_t i = 0; i < sizeof Ks / sizeof Ks[0]; i++) {
            int K = Ks[i];
            if (types[f] == DT_I4S_32 && K % 32) continue;
            for (int k = 0; k < K; k++) x[k] = rnd() * (k % 13 == 3 ? 25.0f : 1.0f);
            size_t n = qx_a16_bytes(types[f], K);
            uint8_t *a = malloc(n), *b = malloc(n);
            cr_assert(a && b);
            memset(a, 0x5a, n);
            qx_a16_row_ref(types[f], x, a, K);
            cr_assert(qx_a16_row_avx2(types[f], x, b, K));
            cr_assert_arr_eq(a, b, n, "%s K=%d: AVX2 conversion differs", dtype_info(types[f])->name, K);
            x[K / 2] = INFINITY;
            cr_assert(!qx_a16_row_avx2(types[f], x, b, K), "an inf row is left to the scalar conversion");
            free(a);
            free(b);
        }
}

/* int8 past one int32 span (K > QA_SPAN = 2048, qx_a16_wide.h) and int4 g32
 * with an odd group count (AVX-512's last step holds one group). */
Test(xquant, a16_spans_and_odd_groups)
{
    check_kernel(DT_I8, 4160, 5, 2, 0);
    check_kernel(DT_I8, 4096 + 48, 6, 5, 0);
    check_kernel(DT_I4S_32, 96, 7, 1, 0);
    check_kernel(DT_I4S_32, 32, 5, 3, 0);
    check_kernel(DT_I4S_32, 352, 9, 5, 0);
}

/* The 16-bit activations' error: against the product with x itself (float,
 * not converted), every path stays within s/2 · Σ|w| (s = max|x| / 32767,
 * the conversion's bound) plus the float bound — on rows with outliers (a
 * few elements 40x the rest: s is set by them) — and the conversion does
 * does change results (some error exceeds the float bound alone). */
Test(xquant, a16_error_is_bounded)
{
    const enum dtype types[] = {DT_I8, DT_I4S_32};
    const int K = 512, N = 23, m = 3;
    float *x = malloc((size_t)m * K * sizeof *x), *y = malloc((size_t)m * N * sizeof *y), *row = malloc((size_t)K * sizeof *row);
    double *wd = malloc((size_t)N * K * sizeof *wd);
    cr_assert(x && y && row && wd);
    for (int i = 0; i < m * K; i++) x[i] = rnd() * (i % 97 == 5 ? 40.0f : 1.0f);
    for (size_t f = 0; f < 2; f++) {
        struct weight w = {.type = types[f], .rows = N, .cols = K};
        w.data = malloc(weight_bytes(&w));
        cr_assert(w.data);
        for (int r = 0; r < N; r++) {
            uint8_t *dst = (uint8_t *)w.data + (size_t)r * dtype_row_bytes(w.type, K);
            for (int k = 0; k < K; k++) row[k] = rnd();
            dtype_encode_row(w.type, row, dst, K);
            dtype_decode_row(w.type, dst, row, K);
            for (int k = 0; k < K; k++) wd[(size_t)r * K + k] = row[k];
        }
        struct cfg cfgs[8];
        int nc = all_cfgs(cfgs);
        for (int c = 0; c < nc; c++) {
            struct backend *be = cpu_backend_create(cfgs[c].threads, cfgs[c].simd);
            cr_assert(be);
            backend_matmul(be, y, &w, x, m);
            bool changed = false;
            for (int i = 0; i < m; i++) {
                float mx = 0;
                for (int k = 0; k < K; k++) mx = fmaxf(mx, fabsf(x[(size_t)i * K + k]));
                double s = mx / 32767.0;
                for (int n = 0; n < N; n++) {
                    double ref = 0, mag = 0, wabs = 0;
                    for (int k = 0; k < K; k++) {
                        double wk = wd[(size_t)n * K + k], p = wk * x[(size_t)i * K + k];
                        ref += p; mag += fabs(p); wabs += fabs(wk);
                    }
                    double err = fabs(y[(size_t)i * N + n] - ref), bound = s / 2 * wabs + 2e-6 * mag + 1e-6;
                    cr_assert(err <= bound, "%s simd=%s threads=%d y[%d][%d]: error %.3g > bound %.3g",
                              dtype_info(w.type)->name, cpu_simd_name(cfgs[c].simd), cfgs[c].threads, i, n, err, bound);
                    if (err > 2e-6 * mag + 1e-6) changed = true;
                }
            }
            cr_assert(changed, "%s: the 16-bit conversion changed no result", dtype_info(w.type)->name);
            backend_destroy(be);
        }
        free(w.data);
    }
    free(x); free(y); free(row); free(wd);
}

Test(xquant, kernels_ragged_width)
{
    /* per-element formats take any width: vector body + scalar tail */
    const enum dtype t[] = {DT_I8, DT_E4M3, DT_E5M2, DT_W8A8, DT_F8A8};
    for (int f = 0; f < 5; f++) { check_kernel(t[f], 77, 11, 1, 0); check_kernel(t[f], 45, 6, 6, 0); }
}

/* A row's result does not depend on the matmul's row count: decode's
 * 4-weight-row kernel, prefill's 1-weight-row × 4-x-row kernel and the
 * ragged ends give the same bits (what speculative verification needs), for
 * every weight-only own format, SIMD path and 1 and 2 threads. */
Test(xquant, weight_only_rows_do_not_depend_on_the_row_count)
{
    const enum dtype types[] = {DT_I8, DT_E4M3, DT_E5M2, DT_I4S_32, DT_I4S_64, DT_I4S_128, DT_I4A_32, DT_I4A_64, DT_I4A_128};
    const int K = 384, N = 43, M = 9;
    float *x = malloc((size_t)M * K * sizeof *x), *y = malloc((size_t)M * N * sizeof *y), *y1 = malloc((size_t)N * sizeof *y1);
    float *row = malloc((size_t)K * sizeof *row);
    cr_assert(x && y && y1 && row);
    for (int i = 0; i < M * K; i++) x[i] = rnd() * 3;
    struct cfg cfgs[8];
    int nc = all_cfgs(cfgs);
    for (size_t f = 0; f < sizeof types / sizeof types[0]; f++) {
        struct weight w = {.type = types[f], .rows = N, .cols = K};
        w.data = malloc(weight_bytes(&w));
        cr_assert(w.data);
        for (int r = 0; r < N; r++) {
            for (int k = 0; k < K; k++) row[k] = rnd();
            dtype_encode_row(w.type, row, (uint8_t *)w.data + (size_t)r * dtype_row_bytes(w.type, K), K);
        }
        for (int c = 0; c < nc; c++) {
            struct backend *be = cpu_backend_create(cfgs[c].threads, cfgs[c].simd);
            cr_assert(be);
            for (int rows = 1; rows <= M; rows++) {
                backend_matmul(be, y, &w, x, rows);
                for (int r = 0; r < rows; r++) {
                    backend_matmul(be, y1, &w, x + (size_t)r * K, 1);
                    cr_assert_arr_eq(y + (size_t)r * N, y1, (size_t)N * sizeof *y1,
                                     "%s simd=%s threads=%d: row %d of %d differs from a one-row matmul",
                                     dtype_info(w.type)->name, cpu_simd_name(cfgs[c].simd), cfgs[c].threads, r, rows);
                }
            }
            backend_destroy(be);
        }
        free(w.data);
    }
    free(x); free(y); free(y1); free(row);
}

Test(xquant, act_scale_static)
{
    check_kernel(DT_W8A8, 256, 21, 3, 2.0f / 127);    /* x in [-2, 2]: the static scale covers it */
    check_kernel(DT_W8A8, 256, 21, 3, 0.5f / 127);    /* and one that clips */
    check_kernel(DT_F8A8, 256, 21, 3, 2.0f / 448);
}

/* ---- transforms ---- */

static void load_tiny(struct model *m)
{
    char err[256];
    cr_assert_eq(model_load(m, "synth:tiny", DT_F32, 3, 1, err, sizeof err), 0, "%s", err);
}

/* "k=v k=v" over the defaults. */
static int set_opts(struct options *o, const char *kv)
{
    char err[256], buf[256];
    options_defaults(o);
    snprintf(buf, sizeof buf, "%s", kv);
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        cr_assert_not_null(eq);
        *eq = 0;
        if (options_set(o, tok, eq + 1, err, sizeof err) < 0) return -1;
    }
    return 0;
}

/* All logits of tokens[0..n) of one sequence, f32 K/V. */
static float *logits_of(struct model *m, const int32_t *tok, int n)
{
    char err[256];
    struct backend *be = cpu_backend_create(1, CPU_SIMD_SCALAR);
    struct forward f;
    cr_assert_eq(forward_init(&f, m, be, n, err, sizeof err), 0, "%s", err);
    int kvd = m->cfg.n_kv_heads * m->cfg.head_dim;
    float *k = calloc((size_t)m->cfg.n_layers * n * kvd, sizeof *k), *v = calloc((size_t)m->cfg.n_layers * n * kvd, sizeof *v);
    float *out = malloc((size_t)n * m->cfg.vocab * sizeof *out);
    int32_t table[1] = {0};
    struct fwd_seq s = {.tokens = tok, .n_tokens = n, .pos0 = 0, .all_logits = true,
                        .kv = {k, v, (size_t)n * kvd, table, 1, n, kvd, DT_F32}};
    cr_assert_eq(forward_batch(&f, &s, 1, out), n);
    forward_free(&f);
    backend_destroy(be);
    free(k); free(v);
    return out;
}

Test(xquant, transform_int4_and_restore)
{
    struct model m;
    load_tiny(&m);
    struct options o;
    cr_assert_eq(set_opts(&o, "quant=int4 quant_group=64 quant_weighting=none"), 0);
    float before[64];
    quant_decode_weight_row(&m.layers[1].wq, 0, before);
    void *orig = m.layers[1].wq.data;
    char err[256];
    cr_assert_eq(quant_apply_transforms(&m, &o, NULL, 2, NULL, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(m.layers[1].wq.type, quantize_target(&o, m.layers[1].wq.cols));
    cr_assert(dtype_i4_group(m.layers[1].wq.type) > 0);
    cr_assert_neq(m.wformat[0], 0);
    float after[64];
    quant_decode_weight_row(&m.layers[1].wq, 0, after);
    for (int k = 0; k < 64 && k < m.layers[1].wq.cols; k++) cr_assert(fabsf(after[k] - before[k]) < 0.2f * fabsf(before[k]) + 0.05f);
    cr_assert_eq(quant_apply_transforms(&m, &o, NULL, 2, NULL, NULL, err, sizeof err), -1, "twice is refused");
    quant_undo_transforms(&m);
    cr_assert_eq(m.layers[1].wq.data, orig, "model_free restores the loaded weights");
    cr_assert_eq(m.layers[1].wq.type, DT_F32);
    model_free(&m);
}

/* quant=w4a8 makes q4_0 rows holding exactly int4 g32 symmetric's bytes (the
 * same search, so the GGUF Q4_0 kernels run int4's weights), and decoding
 * them as q4_0 gives int4_g32's values. */
Test(xquant, transform_w4a8_is_int4_g32_in_q4_0_blocks)
{
    struct model a, b;
    load_tiny(&a);
    load_tiny(&b);
    struct options oa, ob;
    cr_assert_eq(set_opts(&oa, "quant=w4a8 quant_weighting=none"), 0);
    cr_assert_eq(set_opts(&ob, "quant=int4 quant_group=32 quant_sym=on quant_weighting=none"), 0);
    char err[256];
    cr_assert_eq(quant_apply_transforms(&a, &oa, NULL, 2, NULL, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(quant_apply_transforms(&b, &ob, NULL, 2, NULL, NULL, err, sizeof err), 0, "%s", err);
    for (int l = 0; l < a.cfg.n_layers; l++) {
        struct weight *wa[QUANT_LAYER_MATRICES], *wb[QUANT_LAYER_MATRICES];
        quant_layer_matrices(&a.layers[l], wa);
        quant_layer_matrices(&b.layers[l], wb);
        for (int i = 0; i < QUANT_LAYER_MATRICES; i++) {
            if (wa[i]->cols % 32) {          /* tiny's down (176 wide): both keep it as loaded */
                cr_assert_eq(wa[i]->type, DT_F32);
                cr_assert_eq(wb[i]->type, DT_F32);
                continue;
            }
            cr_assert_eq(wa[i]->type, DT_Q4_0, "layer %d matrix %d", l, i);
            cr_assert_eq(wb[i]->type, DT_I4S_32);
            cr_assert_eq(weight_bytes(wa[i]), weight_bytes(wb[i]));
            cr_assert_arr_eq(wa[i]->data, wb[i]->data, weight_bytes(wa[i]), "layer %d matrix %d bytes", l, i);
            float ra[1024], rb[1024];
            cr_assert(wa[i]->cols <= 1024);
            quant_decode_weight_row(wa[i], 1, ra);
            quant_decode_weight_row(wb[i], 1, rb);
            cr_assert_arr_eq(ra, rb, (size_t)wa[i]->cols * sizeof *ra);
        }
    }
    cr_assert(strstr(a.wformat, "q4_0"), "%s", a.wformat);
    model_free(&a);
    model_free(&b);
}

Test(xquant, transform_needs_calibration)
{
    struct model m;
    load_tiny(&m);
    struct options o;
    cr_assert_eq(set_opts(&o, "quant=w8a8"), 0);                /* act_scale=tensor by default */
    char err[256] = "";
    void *orig = m.layers[0].wq.data;
    cr_assert_eq(quant_apply_transforms(&m, &o, NULL, 1, NULL, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "calibration"), "%s", err);
    cr_assert_eq(m.layers[0].wq.data, orig, "unchanged on failure");
    cr_assert_eq(set_opts(&o, "quant=w8a8 act_scale=token"), 0);
    cr_assert_eq(quant_apply_transforms(&m, &o, NULL, 1, NULL, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(m.layers[0].wq.type, DT_W8A8);
    model_free(&m);
}

/* Σ over w's rows of Σ_j imp_j (w_j − ŵ_j)²: ŵ from q (w quantized), imp[cols]. */
static double weighted_error(const struct weight *w, const struct weight *q, const float *imp)
{
    float a[1024], b[1024];
    cr_assert(w->cols <= 1024);
    double e = 0;
    for (int r = 0; r < w->rows; r++) {
        quant_decode_weight_row(w, r, a);
        quant_decode_weight_row(q, r, b);
        for (int j = 0; j < w->cols; j++) e += (double)imp[j] * ((double)a[j] - b[j]) * ((double)a[j] - b[j]);
    }
    return e;
}

/* quant=int4 quant_weighting=act (the default) needs calibration, and with
 * it every layer matrix's error weighted by its own input's E[x_j²] is below
 * the unweighted search's (the statistics reach the right matrices). */
Test(xquant, transform_int4_weighted_by_calibration)
{
    struct model m, plain, ref, cal;
    load_tiny(&m);
    load_tiny(&cal);
    load_tiny(&plain);
    load_tiny(&ref);
    struct options o, on;
    cr_assert_eq(set_opts(&o, "quant=int4"), 0);
    cr_assert_eq(set_opts(&on, "quant=int4 quant_weighting=none"), 0);
    char err[256] = "";
    cr_assert(quantize_needs_calib(&o) && !quantize_needs_calib(&on));
    cr_assert_eq(quant_apply_transforms(&m, &o, NULL, 1, NULL, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "quant_weighting=act"), "%s", err);
    struct backend *be = cpu_backend_create(1, CPU_SIMD_AVX512);
    cr_assert_not_null(be);
    cr_assert_eq(model_upload(&cal, be), 0);      /* the same weights (same seed), uploaded */
    int32_t toks[96];
    for (int i = 0; i < 96; i++) toks[i] = (int32_t)((unsigned)((rnd() + 1) * 1e6f) % (unsigned)m.cfg.vocab);
    struct calib_stats cs;
    cr_assert_eq(calib_collect(&cal, be, toks, 96, 32, &cs, err, sizeof err), 0, "%s", err);
    model_free(&cal);
    backend_destroy(be);
    cr_assert_eq(quant_apply_transforms(&m, &o, &cs, 2, NULL, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(quant_apply_transforms(&plain, &on, NULL, 2, NULL, NULL, err, sizeof err), 0, "%s", err);
    static const int INPUT[QUANT_LAYER_MATRICES] = {0, 0, 0, 1, 2, 2, 3};
    for (int l = 0; l < m.cfg.n_layers; l++) {
        struct weight *wa[QUANT_LAYER_MATRICES], *wp[QUANT_LAYER_MATRICES], *wr[QUANT_LAYER_MATRICES];
        quant_layer_matrices(&m.layers[l], wa);
        quant_layer_matrices(&plain.layers[l], wp);
        quant_layer_matrices(&ref.layers[l], wr);
        for (int i = 0; i < QUANT_LAYER_MATRICES; i++) {
            if (wa[i]->type == wr[i]->type) continue;     /* no int4 group fits (ffn_down: 176 inputs) */
            float imp[1024];
            cr_assert(quant_calib_meansq(&cs, l, INPUT[i], imp, wr[i]->cols));
            double ea = weighted_error(wr[i], wa[i], imp), ep = weighted_error(wr[i], wp[i], imp);
            cr_assert(ea < ep, "layer %d %s: weighted %g >= unweighted %g", l, wr[i]->name, ea, ep);
        }
    }
    calib_free(&cs);
    model_free(&m);
    model_free(&plain);
    model_free(&ref);
}

/* quant, then sparsity over it: both records chained; model_free unwinds
 * them latest first (ASan/UBSan builds catch a double free or a leak). */
Test(xquant, transform_then_sparsity_unwinds)
{
    struct model m;
    load_tiny(&m);
    struct options o;
    cr_assert_eq(set_opts(&o, "quant=int8 sparsity=2:4-magnitude"), 0);
    char err[256];
    cr_assert_eq(quant_apply_transforms(&m, &o, NULL, 2, NULL, NULL, err, sizeof err), 0, "%s", err);
    cr_assert(dtype_is_sparse24(m.layers[0].w_up.type), "sparsity ran after quant");
    cr_assert(strstr(m.wformat, "s24_"), "the format line says what the weights are now: %s", m.wformat);
    model_free(&m);
}

/* Smoothing folded in (before any quantization) leaves the float model's
 * logits unchanged: every fold is an exact rescaling. Random outlier-ish
 * activation maxima make s far from 1. */
Test(xquant, smoothquant_exact_before_quantization)
{
    struct model m;
    load_tiny(&m);
    int32_t tok[12];
    for (int i = 0; i < 12; i++) tok[i] = (int32_t)((i * 37 + 5) % m.cfg.vocab);
    float *ref = logits_of(&m, tok, 12);
    const struct model_config *c = &m.cfg;
    int qd = c->n_heads * c->head_dim;
    float *a = malloc((size_t)(2 * c->dim + qd + c->ffn_dim) * sizeof *a);
    cr_assert_not_null(a);
    char err[256];
    for (int l = 0; l < c->n_layers; l++) {
        int n = 2 * c->dim + qd + c->ffn_dim;
        for (int i = 0; i < n; i++) a[i] = fabsf(rnd()) * (i % 17 == 0 ? 40.f : 1.f) + 0.01f;
        struct smooth_act act = {a, a + c->dim, a + c->dim + qd, a + 2 * c->dim + qd};
        float tm[4];
        cr_assert_eq(smooth_layer(&m, l, &act, 0.5f, tm, 1, err, sizeof err), 0, "%s", err);
        cr_assert(tm[0] > 0 && tm[1] > 0 && tm[2] > 0 && tm[3] > 0);
    }
    float *got = logits_of(&m, tok, 12);
    double num = 0, den = 0;
    for (int i = 0; i < 12 * c->vocab; i++) { num += (double)(got[i] - ref[i]) * (got[i] - ref[i]); den += (double)ref[i] * ref[i]; }
    cr_assert(sqrt(num / den) < 1e-5, "relative error %g", sqrt(num / den));
    free(a); free(ref); free(got);
    model_free(&m);
}
