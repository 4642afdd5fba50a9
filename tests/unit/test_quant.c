/* tests/unit/test_quant.c — GGUF block formats (kernels/cpu/quant.h).
 *
 *  - hand-made blocks with known values decode to known floats (layout);
 *  - quantize → dequantize lands every element on the nearest value its block
 *    can represent (decoded here from the block bytes, independently of the
 *    library), and the overall error is within the format's usual range;
 *  - quant_dot_row, scalar and AVX2, against a double dot of the DEQUANTIZED
 *    row with the f32 x; the tolerance is the activation quantization error
 *    bound Σ_blocks (amax_x/127)/2 · Σ|w| plus float rounding;
 *  - scalar and AVX2 agree; sizes match dtype_row_bytes. */
#include "kernels/formats.h"
#include "kernels/cpu/quant.h"
#include "kernels/cpu/quant_blocks.h"
#include "kernels/cpu/quant_amx.h"
#include "kernels/cpu/quant_panel.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const enum dtype ALL[] = {DT_Q8_0, DT_Q4_0, DT_Q4_1, DT_Q4_K, DT_Q6_K};
#define N_ALL 5

/* ---- random inputs ---- */

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17;
    return *s;
}

static double rng_unit(uint64_t *s) { return ((rng_next(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0); }

/* Gaussian values whose scale changes every 16 elements (0.05..2), with a few
 * outliers: blocks see different scales, mins and signs. Never all zero. */
static void fill_random(float *x, int n, uint64_t seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    float scale = 1.f;
    for (int i = 0; i < n; i++) {
        if (i % 16 == 0) scale = (float)(0.05 + 1.95 * rng_unit(&s));
        double g = sqrt(-2.0 * log(rng_unit(&s))) * cos(6.283185307179586 * rng_unit(&s));
        if (rng_next(&s) % 97 == 0) g *= 4.0;
        x[i] = (float)(g * scale + (i % 64 < 32 ? 0.0 : 0.3 * scale));
    }
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    cr_assert_not_null(p, "malloc(%zu)", n);
    return p;
}

static bool have_avx2(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("f16c");
#else
    return false;
#endif
}

static int block_elems(enum dtype t) { return dtype_info(t)->block_elems; }
static int act_block(enum dtype t) { return t == DT_Q4_K || t == DT_Q6_K ? 256 : 32; }

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static float rdh(const uint8_t *p) { return fp16_to_fp32(rd16(p)); }
static void wrh(uint8_t *p, float f) { uint16_t h = fp32_to_fp16(f); p[0] = (uint8_t)h; p[1] = (uint8_t)(h >> 8); }

/* ---- sizes ---- */

Test(quant, sizes_match_dtype_row_bytes)
{
    static const int bytes[] = {34, 18, 20, 144, 210};
    for (int t = 0; t < N_ALL; t++) {
        enum dtype wt = ALL[t];
        cr_assert_eq(dtype_info(wt)->block_bytes, bytes[t], "%s block bytes", dtype_info(wt)->name);
        int K = 4096;
        size_t rb = dtype_row_bytes(wt, K);
        cr_assert_eq(rb, (size_t)(K / block_elems(wt)) * (size_t)bytes[t]);
        /* quantize writes exactly dtype_row_bytes: canary bytes after it survive */
        float *x = xmalloc(sizeof(float) * K);
        uint8_t *w = xmalloc(rb + 64);
        fill_random(x, K, 7 + t);
        memset(w, 0xA5, rb + 64);
        dtype_encode_row(wt, x, w, K);
        for (int i = 0; i < 64; i++) cr_assert_eq(w[rb + i], 0xA5, "%s wrote past the row", dtype_info(wt)->name);
        size_t ab = quant_act_bytes(wt, K);
        cr_assert_eq(ab, act_block(wt) == 256 ? (size_t)(K / 256) * 292 : (size_t)(K / 32) * 40,
                     "%s act bytes %zu", dtype_info(wt)->name, ab);
        uint8_t *xq = xmalloc(ab + 64);
        memset(xq, 0x5A, ab + 64);
        quant_act_row(wt, x, xq, K);
        for (int i = 0; i < 64; i++) cr_assert_eq(xq[ab + i], 0x5A, "%s act wrote past", dtype_info(wt)->name);
        free(x); free(w); free(xq);
    }
}

/* ---- hand-made blocks ---- */

static void expect_decode(enum dtype wt, const uint8_t *blk, const float *want, int n)
{
    float y[256];
    dtype_decode_row(wt, blk, y, n);
    for (int i = 0; i < n; i++)
        cr_assert_eq(y[i], want[i], "%s elem %d: got %g want %g", dtype_info(wt)->name, i,
                     (double)y[i], (double)want[i]);
}

Test(quant, q8_0_known_block)
{
    uint8_t b[34];
    wrh(b, 0.125f);
    float want[32];
    for (int i = 0; i < 32; i++) { b[2 + i] = (uint8_t)(int8_t)(3 * i - 50); want[i] = 0.125f * (float)(3 * i - 50); }
    expect_decode(DT_Q8_0, b, want, 32);
}

/* d = 0.5, byte l = nibbles (l, 15-l): elems 0..15 = 0.5*(l-8), 16..31 = 0.5*(7-l). */
Test(quant, q4_0_known_block)
{
    uint8_t b[18];
    wrh(b, 0.5f);
    float want[32];
    for (int l = 0; l < 16; l++) {
        b[2 + l] = (uint8_t)(l | ((15 - l) << 4));
        want[l] = 0.5f * (float)(l - 8);
        want[16 + l] = 0.5f * (float)(7 - l);
    }
    expect_decode(DT_Q4_0, b, want, 32);
}

Test(quant, q4_1_known_block)
{
    uint8_t b[20];
    wrh(b, 0.25f);
    wrh(b + 2, -1.0f);
    float want[32];
    for (int l = 0; l < 16; l++) {
        b[4 + l] = (uint8_t)(l | ((15 - l) << 4));
        want[l] = 0.25f * (float)l - 1.f;
        want[16 + l] = 0.25f * (float)(15 - l) - 1.f;
    }
    expect_decode(DT_Q4_1, b, want, 32);
}

/* The 12 scale bytes below were packed by hand from ggml's get_scale_min_k4
 * rule and encode these scales and mins (sub-blocks 4..7 use the high bits). */
static const uint8_t Q4K_SCALES[12] = {0x81, 0xFF, 0x45, 0xD1, 0x40, 0x83, 0x3E, 0xD0,
                                       0xF1, 0xF0, 0x24, 0xFF};
static const int Q4K_SC[8] = {1, 63, 5, 17, 33, 48, 20, 63};
static const int Q4K_MN[8] = {0, 3, 62, 16, 31, 47, 2, 63};

static void q4k_known_block(uint8_t b[144], float want[256])
{
    wrh(b, 0.5f);
    wrh(b + 2, 0.25f);
    memcpy(b + 4, Q4K_SCALES, 12);
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++) {
            int lo = (l * 5 + c) % 16, hi = (47 - l + 3 * c) % 16;
            b[16 + 32 * c + l] = (uint8_t)(lo | (hi << 4));
            want[64 * c + l]      = 0.5f * (float)Q4K_SC[2 * c] * (float)lo - 0.25f * (float)Q4K_MN[2 * c];
            want[64 * c + 32 + l] = 0.5f * (float)Q4K_SC[2 * c + 1] * (float)hi - 0.25f * (float)Q4K_MN[2 * c + 1];
        }
}

Test(quant, q4_k_known_block)
{
    uint8_t b[144];
    float want[256];
    q4k_known_block(b, want);
    expect_decode(DT_Q4_K, b, want, 256);
}

/* Q6_K: q (0..63) of element e sits in ql/qh as ggml lays it out: within half
 * n (128 elems), element 32k + l (k = 0..3) has its low 4 bits in
 * ql[64n + 32(k&1) + l] (low nibble for k < 2, high for k >= 2) and its top 2
 * bits at bits 2k..2k+1 of qh[32n + l]; its scale is scales[e/16]. */
static void q6k_put(uint8_t b[210], int e, int q)
{
    int n = e / 128, k = (e % 128) / 32, l = e % 32;
    uint8_t *ql = &b[64 * n + 32 * (k & 1) + l], *qh = &b[128 + 32 * n + l];
    *ql = (uint8_t)(k < 2 ? (*ql & 0xF0) | (q & 15) : (*ql & 0x0F) | ((q & 15) << 4));
    *qh = (uint8_t)((*qh & ~(3 << (2 * k))) | ((q >> 4) << (2 * k)));
}

static void q6k_known_block(uint8_t b[210], float want[256])
{
    memset(b, 0, 210);
    for (int j = 0; j < 16; j++) b[192 + j] = (uint8_t)(int8_t)(j * 17 - 128);
    wrh(b + 208, 0.5f);
    for (int e = 0; e < 256; e++) {
        int q = (e * 7 + 3) % 64;
        q6k_put(b, e, q);
        want[e] = 0.5f * (float)(int8_t)b[192 + e / 16] * (float)(q - 32);
    }
}

Test(quant, q6_k_known_block)
{
    uint8_t b[210];
    float want[256];
    q6k_known_block(b, want);
    expect_decode(DT_Q6_K, b, want, 256);
}

/* ---- round-to-nearest against the stored grid ---- */

/* The values element e of a row can decode to: base + step*k, k = 0..n-1,
 * read from the block bytes by this file's own reading of the layout. */
struct grid { double base, step; int n; };

static void q4k_scale_min(const uint8_t *s, int j, int *sc, int *mn)
{
    if (j < 4) { *sc = s[j] & 63; *mn = s[j + 4] & 63; }
    else {
        *sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
        *mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

static struct grid grid_of(enum dtype wt, const uint8_t *row, int e)
{
    int bi = e / block_elems(wt), r = e % block_elems(wt);
    const uint8_t *b = row + (size_t)bi * dtype_info(wt)->block_bytes;
    switch (wt) {
    case DT_Q8_0: { double d = rdh(b); return (struct grid){-127 * d, d, 255}; }
    case DT_Q4_0: { double d = rdh(b); return (struct grid){-8 * d, d, 16}; }
    case DT_Q4_1: return (struct grid){rdh(b + 2), rdh(b), 16};
    case DT_Q4_K: {
        int sc, mn;
        q4k_scale_min(b + 4, r / 32, &sc, &mn);
        return (struct grid){-(double)rdh(b + 2) * mn, (double)rdh(b) * sc, 16};
    }
    case DT_Q6_K: {
        double step = (double)rdh(b + 208) * (int8_t)b[192 + r / 16];
        return (struct grid){-32 * step, step, 64};
    }
    default: cr_assert_fail("not a quant type"); return (struct grid){0, 0, 0};
    }
}

static double nearest_on_grid(struct grid g, double x)
{
    double best = INFINITY;
    for (int k = 0; k < g.n; k++) best = fmin(best, fabs(x - (g.base + g.step * k)));
    return best;
}

/* Usual relative RMS error of each format on this data (gaussian blocks):
 * about step/sqrt(12) with step = range/levels; measured worst over 20 seeds
 * was 0.0076 / 0.123 / 0.095 / 0.088 / 0.022, bounds leave ~1.4x headroom. */
static double rmse_bound(enum dtype wt)
{
    switch (wt) {
    case DT_Q8_0: return 0.011;
    case DT_Q4_0: return 0.18;
    case DT_Q4_1: return 0.14;
    case DT_Q4_K: return 0.13;
    case DT_Q6_K: return 0.033;
    default: return 0;
    }
}

static void check_roundtrip(enum dtype wt, int K, uint64_t seed)
{
    float *x = xmalloc(sizeof(float) * K), *y = xmalloc(sizeof(float) * K);
    uint8_t *w = xmalloc(dtype_row_bytes(wt, K));
    fill_random(x, K, seed);
    dtype_encode_row(wt, x, w, K);
    dtype_decode_row(wt, w, y, K);
    double se = 0, sx = 0;
    for (int e = 0; e < K; e++) {
        struct grid g = grid_of(wt, w, e);
        double err = fabs((double)x[e] - y[e]), best = nearest_on_grid(g, x[e]);
        double eps = 1e-6 * (fabs(x[e]) + fabs(g.step) * g.n);
        cr_assert(err <= best + eps, "%s K=%d elem %d: x=%g decoded %g (err %g) but the grid has %g within %g",
                  dtype_info(wt)->name, K, e, (double)x[e], (double)y[e], err, (double)x[e], best);
        se += err * err;
        sx += (double)x[e] * x[e];
    }
    double rel = sqrt(se / sx);
    cr_assert(rel < rmse_bound(wt), "%s K=%d relative rms error %g >= %g", dtype_info(wt)->name, K, rel,
              rmse_bound(wt));
    free(x); free(y); free(w);
}

Test(quant, roundtrip_nearest_and_error_bound)
{
    for (int t = 0; t < N_ALL; t++)
        for (int s = 0; s < 3; s++) check_roundtrip(ALL[t], 4096, 100 + 10 * t + s);
}

/* All-equal and all-zero blocks: finite scales, exact or nearest values, no NaN. */
Test(quant, degenerate_blocks)
{
    float x[512], y[512];
    uint8_t w[1024];
    for (int t = 0; t < N_ALL; t++) {
        for (int v = 0; v < 3; v++) {
            float c = v == 0 ? 0.f : v == 1 ? 0.75f : -1.5f;
            for (int i = 0; i < 512; i++) x[i] = c;
            dtype_encode_row(ALL[t], x, w, 512);
            dtype_decode_row(ALL[t], w, y, 512);
            for (int i = 0; i < 512; i++)
                cr_assert(fabsf(y[i] - c) <= 0.01f * fabsf(c), "%s const %g elem %d → %g",
                          dtype_info(ALL[t])->name, (double)c, i, (double)y[i]);
        }
    }
}

/* ---- dot products ---- */

/* Σ over activation blocks of (amax/127)/2 · Σ|w|: the most quantizing x to
 * int8 can move the dot of w with x. */
static double act_error_bound(enum dtype wt, const float *w, const float *x, int K)
{
    int B = act_block(wt);
    double bound = 0;
    for (int b = 0; b < K; b += B) {
        double amax = 0, sw = 0;
        for (int i = b; i < b + B; i++) { amax = fmax(amax, fabs(x[i])); sw += fabs(w[i]); }
        bound += amax / 127.0 / 2.0 * sw;
    }
    return bound;
}

/* Float rounding allowance: block sums are exact integers, the per-block
 * scaling and the final sum are f32. Scaled by Σ|x|·max|w| of each block,
 * which bounds every term (including Q4_1's separate min term). */
static double float_slack(enum dtype wt, const float *w, const float *x, int K)
{
    int B = block_elems(wt);
    double s = 0;
    for (int b = 0; b < K; b += B) {
        double wm = 0, sx = 0;
        for (int i = b; i < b + B; i++) { wm = fmax(wm, fabs(w[i])); sx += fabs(x[i]); }
        s += 2 * wm * sx;
    }
    return 2e-5 * s + 1e-30;
}

/* One row `wrow` (any format) dotted with x, both code paths. */
static void check_dot_row(enum dtype wt, const void *wrow, const float *x, int K, const char *what)
{
    float *wd = xmalloc(sizeof(float) * K);
    void *xq = xmalloc(quant_act_bytes(wt, K));
    dtype_decode_row(wt, wrow, wd, K);
    quant_act_row(wt, x, xq, K);
    double ref = 0;
    for (int i = 0; i < K; i++) ref += (double)wd[i] * x[i];
    double slack = float_slack(wt, wd, x, K);
    double tol = act_error_bound(wt, wd, x, K) * 1.0001 + slack;

    float ds = quant_dot_row(wt, wrow, xq, K, CPU_SIMD_SCALAR);
    cr_assert(isfinite(ds) && fabs(ds - ref) <= tol, "%s %s K=%d scalar: %.7g vs ref %.7g (tol %.3g)",
              dtype_info(wt)->name, what, K, (double)ds, ref, tol);
    if (have_avx2()) {
        float dv = quant_dot_row(wt, wrow, xq, K, CPU_SIMD_AVX2);
        cr_assert(fabs(dv - ref) <= tol, "%s %s K=%d avx2: %.7g vs ref %.7g (tol %.3g)",
                  dtype_info(wt)->name, what, K, (double)dv, ref, tol);
        cr_assert(fabs(dv - ds) <= slack, "%s %s K=%d scalar %.9g != avx2 %.9g (slack %.3g)",
                  dtype_info(wt)->name, what, K, (double)ds, (double)dv, slack);
        float d5 = quant_dot_row(wt, wrow, xq, K, CPU_SIMD_AVX512);
        cr_assert(fabs(d5 - ds) <= slack, "%s %s K=%d avx512 path %.9g vs scalar %.9g",
                  dtype_info(wt)->name, what, K, (double)d5, (double)ds);
    }
    free(wd); free(xq);
}

static void check_dot_shapes(enum dtype wt, const int *Ks, int nK)
{
    for (int k = 0; k < nK; k++) {
        int K = Ks[k];
        float *wf = xmalloc(sizeof(float) * K), *x = xmalloc(sizeof(float) * K);
        uint8_t *w = xmalloc(dtype_row_bytes(wt, K));
        for (int r = 0; r < 4; r++) {
            fill_random(wf, K, 1000 + 31 * (uint64_t)K + r);
            fill_random(x, K, 5000 + 17 * (uint64_t)K + r);
            dtype_encode_row(wt, wf, w, K);
            check_dot_row(wt, w, x, K, "random");
        }
        free(wf); free(x); free(w);
    }
}

static const int K_SMALL[] = {32, 96, 576, 1536};
static const int K_KQ[] = {256, 512, 768, 4096};

Test(quant, dot_q8_0) { check_dot_shapes(DT_Q8_0, K_SMALL, 4); }
Test(quant, dot_q4_0) { check_dot_shapes(DT_Q4_0, K_SMALL, 4); }
Test(quant, dot_q4_1) { check_dot_shapes(DT_Q4_1, K_SMALL, 4); }
Test(quant, dot_q4_k) { check_dot_shapes(DT_Q4_K, K_KQ, 4); }
Test(quant, dot_q6_k) { check_dot_shapes(DT_Q6_K, K_KQ, 4); }

/* The hand-made blocks through both dot paths: catches a SIMD path reading the
 * layout differently from the decoder. Extreme codes included (Q6_K 0 and 63,
 * Q4_K 6-bit scales 63 and mins 62/63). */
Test(quant, dot_known_blocks)
{
    float x[256], want[256];
    fill_random(x, 256, 99);
    uint8_t b4[144], b6[210];
    q4k_known_block(b4, want);
    check_dot_row(DT_Q4_K, b4, x, 256, "known");
    q6k_known_block(b6, want);
    check_dot_row(DT_Q6_K, b6, x, 256, "known");
    uint8_t b8[34 * 8];
    for (int i = 0; i < 8; i++) {
        wrh(b8 + 34 * i, 0.03f * (float)(i + 1));
        for (int l = 0; l < 32; l++) b8[34 * i + 2 + l] = (uint8_t)(int8_t)(l % 2 ? 127 - l : -127 + 3 * l);
    }
    check_dot_row(DT_Q8_0, b8, x, 256, "known");
}

/* x = 0: the dot is exactly 0 (no NaN from a zero activation scale). */
Test(quant, dot_zero_activation)
{
    float x[512] = {0}, wf[512];
    uint8_t w[1024], xq[2048];
    fill_random(wf, 512, 3);
    for (int t = 0; t < N_ALL; t++) {
        dtype_encode_row(ALL[t], wf, w, 512);
        quant_act_row(ALL[t], x, xq, 512);
        cr_assert_eq(quant_dot_row(ALL[t], w, xq, 512, CPU_SIMD_SCALAR), 0.f);
        if (have_avx2()) cr_assert_eq(quant_dot_row(ALL[t], w, xq, 512, CPU_SIMD_AVX2), 0.f);
    }
}

/* ---- prefill tiles (quant_dot_tile) ---- */

/* Tiles of mr = 1..QUANT_TILE_M x rows × QUANT_TILE_N weight rows at every
 * SIMD level against the double reference, and bit for bit against the same
 * level's row dot (so a row's result does not depend on the batch's row
 * count or on which tile computed it). Rows sit at padded (unaligned)
 * strides and the output at an odd leading dimension, so a kernel that mixes
 * up strides or writes outside its tile (columns, or rows past mr) fails. */
static void check_tile(enum dtype wt, int K, uint64_t seed)
{
    enum { M = QUANT_TILE_M, N = QUANT_TILE_N, LDO = N + 3 };
    size_t rb = dtype_row_bytes(wt, K), ws = rb + 6, xb = quant_act_bytes(wt, K), xs = xb + 4;
    float *wd = xmalloc(sizeof(float) * K * N), *x = xmalloc(sizeof(float) * K * M);
    float *wf = xmalloc(sizeof(float) * K);
    uint8_t *w = xmalloc(ws * N), *xq = xmalloc(xs * M);
    for (int c = 0; c < N; c++) {
        fill_random(wf, K, seed + 11 * (uint64_t)c);
        dtype_encode_row(wt, wf, w + c * ws, K);
        dtype_decode_row(wt, w + c * ws, wd + (size_t)c * K, K);
    }
    for (int r = 0; r < M; r++) {
        fill_random(x + (size_t)r * K, K, seed + 1000 + 7 * (uint64_t)r);
        quant_act_row(wt, x + (size_t)r * K, xq + r * xs, K);
    }
    enum cpu_simd levels[] = {CPU_SIMD_SCALAR, CPU_SIMD_AVX2, CPU_SIMD_AVX512};
    int n_levels = have_avx2() ? 3 : 1;
    for (int l = 0; l < n_levels; l++)
        for (int mr = 1; mr <= M; mr++) {
            /* rows start at x row M - mr: a ragged tile reads its own rows only */
            const uint8_t *xt = xq + (size_t)(M - mr) * xs;
            float out[M * LDO];
            for (int i = 0; i < M * LDO; i++) out[i] = -12345.f;
            cr_assert(quant_dot_tile(wt, w, ws, xt, xs, mr, K, out, LDO, levels[l]));
            for (int r = 0; r < M; r++)
                for (int c = 0; c < LDO; c++) {
                    float got = out[r * LDO + c];
                    if (c >= N || r >= mr) {
                        cr_assert_eq(got, -12345.f, "%s mr=%d tile wrote outside [%d][%d]", dtype_info(wt)->name,
                                     mr, r, c);
                        continue;
                    }
                    int xr_i = M - mr + r;
                    const float *wr = wd + (size_t)c * K, *xr = x + (size_t)xr_i * K;
                    double ref = 0;
                    for (int i = 0; i < K; i++) ref += (double)wr[i] * xr[i];
                    double slack = float_slack(wt, wr, xr, K);
                    double tol = act_error_bound(wt, wr, xr, K) * 1.0001 + slack;
                    float row = quant_dot_row(wt, w + c * ws, xq + xr_i * xs, K, CPU_SIMD_SCALAR);
                    float same = quant_dot_row(wt, w + c * ws, xq + xr_i * xs, K, levels[l]);
                    cr_assert(fabs(got - ref) <= tol, "%s K=%d %s mr=%d tile[%d][%d] %.7g vs ref %.7g (tol %.3g)",
                              dtype_info(wt)->name, K, cpu_simd_name(levels[l]), mr, r, c, (double)got, ref, tol);
                    cr_assert(fabs(got - row) <= slack, "%s K=%d %s mr=%d tile[%d][%d] %.9g vs row dot %.9g",
                              dtype_info(wt)->name, K, cpu_simd_name(levels[l]), mr, r, c, (double)got, (double)row);
                    cr_assert(memcmp(&got, &same, sizeof got) == 0,
                              "%s K=%d %s mr=%d tile[%d][%d] %.9g vs the same path's row dot %.9g",
                              dtype_info(wt)->name, K, cpu_simd_name(levels[l]), mr, r, c, (double)got, (double)same);
                }
        }
    free(wd); free(x); free(wf); free(w); free(xq);
}

Test(quant, dot_tile_matches_reference)
{
    static const int Ks[] = {32, 96, 224, 576, 1536};
    static const enum dtype T[] = {DT_Q8_0, DT_Q4_0, DT_Q4_1};
    for (int t = 0; t < 3; t++)
        for (int k = 0; k < 5; k++) check_tile(T[t], Ks[k], 77 + 5 * (uint64_t)k + 1000 * (uint64_t)t);
}

/* The K-quants have no tile kernel, and mr must be 1..QUANT_TILE_M: the call
 * says so and writes nothing. */
Test(quant, dot_tile_declines_k_quants)
{
    uint8_t w[4 * 144] = {0}, xq[4 * 292] = {0};
    float out[16] = {0};
    cr_assert_not(quant_dot_tile(DT_Q4_K, w, 144, xq, 292, 4, 256, out, 4, CPU_SIMD_AVX2));
    cr_assert_not(quant_dot_tile(DT_Q6_K, w, 210, xq, 292, 4, 256, out, 4, CPU_SIMD_SCALAR));
    cr_assert_not(quant_dot_tile(DT_Q8_0, w, 34, xq, 36, 0, 32, out, 4, CPU_SIMD_SCALAR), "mr = 0 is refused");
    cr_assert_not(quant_dot_tile(DT_Q8_0, w, 34, xq, 36, QUANT_TILE_M + 1, 32, out, 4, CPU_SIMD_AVX2),
                  "mr past the tile is refused");
    for (int i = 0; i < 16; i++) cr_assert_eq(out[i], 0.f);
}

/* The vector activation quantizer writes exactly the scalar one's bytes
 * (random rows, an all-zero block, and exact rounding ties x·id = k + 0.5). */
Test(quant, act_q8_avx2_equals_scalar)
{
    if (!have_avx2()) return;
    enum { K = 32 * 7 };
    float x[K];
    struct act_q8 a[K / 32], b[K / 32];
    for (int seed = 0; seed < 8; seed++) {
        fill_random(x, K, 4242 + (uint64_t)seed);
        for (int i = 0; i < 32; i++) x[32 + i] = 0.f;
        for (int i = 0; i < 32; i++) x[64 + i] = i == 0 ? 127.f : (float)(i % 9) - 4.5f;
        memset(a, 0x55, sizeof a);
        memset(b, 0xAA, sizeof b);
        act_q8_row(x, a, K);
        act_q8_row_avx2(x, b, K);
        cr_assert(memcmp(a, b, sizeof a) == 0, "seed %d: act_q8_row_avx2 differs from act_q8_row", seed);
    }
}

/* The decode kernel for 4 weight rows (AVX-512 VNNI, quant_vnni.c) against
 * the double reference and the scalar row dot, odd and even block counts;
 * the other SIMD levels and the K-quants must decline and write nothing. */
static bool have_vnni512(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq") && have_avx2();
#else
    return false;
#endif
}

static void check_rows4(enum dtype wt, int K, uint64_t seed)
{
    enum { N = QUANT_ROWS_N };
    size_t ws = dtype_row_bytes(wt, K) + 10;
    float *wd = xmalloc(sizeof(float) * K * N), *x = xmalloc(sizeof(float) * K), *wf = xmalloc(sizeof(float) * K);
    uint8_t *w = xmalloc(ws * N), *xq = xmalloc(quant_act_bytes(wt, K));
    for (int c = 0; c < N; c++) {
        fill_random(wf, K, seed + 13 * (uint64_t)c);
        dtype_encode_row(wt, wf, w + c * ws, K);
        dtype_decode_row(wt, w + c * ws, wd + (size_t)c * K, K);
    }
    fill_random(x, K, seed + 999);
    quant_act_row(wt, x, xq, K);
    float out[N + 1];
    out[N] = -777.f;
    cr_assert_not(quant_dot_rows4(wt, w, ws, xq, K, out, CPU_SIMD_AVX2));
    cr_assert_not(quant_dot_rows4(wt, w, ws, xq, K, out, CPU_SIMD_SCALAR));
    if (!have_vnni512()) {
        cr_assert_not(quant_dot_rows4(wt, w, ws, xq, K, out, CPU_SIMD_AVX512));
    } else {
        cr_assert(quant_dot_rows4(wt, w, ws, xq, K, out, CPU_SIMD_AVX512));
        cr_assert_eq(out[N], -777.f, "rows4 wrote past its rows");
        for (int c = 0; c < N; c++) {
            const float *wr = wd + (size_t)c * K;
            double ref = 0;
            for (int i = 0; i < K; i++) ref += (double)wr[i] * x[i];
            double slack = float_slack(wt, wr, x, K);
            double tol = act_error_bound(wt, wr, x, K) * 1.0001 + slack;
            float row = quant_dot_row(wt, w + c * ws, xq, K, CPU_SIMD_SCALAR);
            cr_assert(fabs(out[c] - ref) <= tol, "%s K=%d rows4[%d] %.7g vs ref %.7g (tol %.3g)",
                      dtype_info(wt)->name, K, c, (double)out[c], ref, tol);
            cr_assert(fabs(out[c] - row) <= slack, "%s K=%d rows4[%d] %.9g vs scalar %.9g",
                      dtype_info(wt)->name, K, c, (double)out[c], (double)row);
        }
    }
    free(wd); free(x); free(wf); free(w); free(xq);
}

Test(quant, dot_rows4_matches_reference)
{
    static const int Ks[] = {32, 64, 96, 576, 1536};
    static const enum dtype T[] = {DT_Q8_0, DT_Q4_0, DT_Q4_1};
    for (int t = 0; t < 3; t++)
        for (int k = 0; k < 5; k++) check_rows4(T[t], Ks[k], 31 + 7 * (uint64_t)k + 100 * (uint64_t)t);
    float out[QUANT_ROWS_N] = {0};
    uint8_t w[4 * 144] = {0}, xq[292] = {0};
    cr_assert_not(quant_dot_rows4(DT_Q4_K, w, 144, xq, 256, out, CPU_SIMD_AVX512));
    cr_assert_not(quant_dot_rows4(DT_Q6_K, w, 210, xq, 256, out, CPU_SIMD_AVX512));
    for (int i = 0; i < QUANT_ROWS_N; i++) cr_assert_eq(out[i], 0.f);
}

/* ---- packed prefill panels (quant_panel.h, AVX-512 VNNI) ---- */

/* One tile from packed operands against the double reference and, bit for
 * bit, quant_dot_tile on AVX-512 (the rows' own kernel, so prefill through
 * panels and decode agree); odd block counts run the half-empty last pair. */
static void check_panel(enum dtype wt, int K, uint64_t seed)
{
    enum { M = QUANT_TILE_M, N = QUANT_TILE_N, LDO = N + 3 };
    size_t ws = dtype_row_bytes(wt, K) + 6, xb = quant_act_bytes(wt, K), xpb = quant_panel_x_bytes(K);
    size_t wpb = quant_panel_w_bytes(wt, K);
    cr_assert(xpb % 64 == 0 && wpb % 64 == 0, "packed sizes keep 64-byte alignment");
    float *wd = xmalloc(sizeof(float) * K * N), *x = xmalloc(sizeof(float) * K * M), *wf = xmalloc(sizeof(float) * K);
    uint8_t *w = xmalloc(ws * N), *xq = xmalloc(xb * M);
    uint8_t *xp = aligned_alloc(64, xpb * M), *wp = aligned_alloc(64, wpb);
    cr_assert(xp && wp);
    for (int c = 0; c < N; c++) {
        fill_random(wf, K, seed + 17 * (uint64_t)c);
        dtype_encode_row(wt, wf, w + c * ws, K);
        dtype_decode_row(wt, w + c * ws, wd + (size_t)c * K, K);
    }
    memset(xp, 0x5A, xpb * M);
    for (int r = 0; r < M; r++) {
        fill_random(x + (size_t)r * K, K, seed + 500 + 3 * (uint64_t)r);
        quant_act_row(wt, x + (size_t)r * K, xq + r * xb, K);
        quant_panel_pack_x(wt, xq + r * xb, K, xp + r * xpb);
    }
    memset(wp, 0xA5, wpb);
    quant_panel_pack_w(wt, w, ws, K, wp);
    float got[M * LDO], tile[M * LDO];
    for (int i = 0; i < M * LDO; i++) got[i] = tile[i] = -4321.f;
    quant_panel_tile(wt, wp, xp, xpb, K, got, LDO);
    cr_assert(quant_dot_tile(wt, w, ws, xq, xb, M, K, tile, LDO, CPU_SIMD_AVX512));
    for (int r = 0; r < M; r++)
        for (int c = 0; c < LDO; c++) {
            float g = got[r * LDO + c];
            if (c >= N) { cr_assert_eq(g, -4321.f, "panel tile wrote outside its columns"); continue; }
            const float *wr = wd + (size_t)c * K, *xr = x + (size_t)r * K;
            double ref = 0;
            for (int i = 0; i < K; i++) ref += (double)wr[i] * xr[i];
            double tol = act_error_bound(wt, wr, xr, K) * 1.0001 + float_slack(wt, wr, xr, K);
            cr_assert(fabs(g - ref) <= tol, "%s K=%d panel[%d][%d] %.7g vs ref %.7g (tol %.3g)",
                      dtype_info(wt)->name, K, r, c, (double)g, ref, tol);
            cr_assert(memcmp(&g, &tile[r * LDO + c], sizeof g) == 0, "%s K=%d panel[%d][%d] %.9g vs tile %.9g",
                      dtype_info(wt)->name, K, r, c, (double)g, (double)tile[r * LDO + c]);
        }
    free(wd); free(x); free(wf); free(w); free(xq); free(xp); free(wp);
}

Test(quant, panel_tile_matches_reference_and_tile)
{
    static const int Ks[] = {32, 96, 224, 576, 1536};
    static const enum dtype T[] = {DT_Q8_0, DT_Q4_0, DT_Q4_1};
    cr_assert_not(quant_panel_usable(DT_Q4_1, CPU_SIMD_AVX2));
    cr_assert_not(quant_panel_usable(DT_Q8_0, CPU_SIMD_SCALAR));
    cr_assert_not(quant_panel_usable(DT_Q4_K, CPU_SIMD_AVX512));
    cr_assert_not(quant_panel_usable(DT_Q6_K, CPU_SIMD_AVX512));
    for (int t = 0; t < 3; t++) {
        cr_assert_eq(quant_panel_usable(T[t], CPU_SIMD_AVX512), have_vnni512());
        if (!have_vnni512()) continue;
        for (int k = 0; k < 5; k++) check_panel(T[t], Ks[k], 55 + 9 * (uint64_t)k + 300 * (uint64_t)t);
    }
}

/* ---- AMX-INT8 tiles and their decode rows (quant_amx.h) ---- */

/* A packed group of nrows weight rows × mrows x rows through the AMX tile,
 * against the double reference; the 1-row VNNI kernel with the tile's float
 * steps gives the same bits for every element; the tile writes nothing
 * outside mrows × nrows. x has QUANT_AMX_M rows allocated (the tile reads
 * them all), the ones past mrows random too. */
static void check_amx(enum dtype wt, int K, int mrows, int nrows, uint64_t seed)
{
    enum { LDO = QUANT_AMX_N + 3 };
    size_t ws = dtype_row_bytes(wt, K) + 6, xb = quant_act_bytes(wt, K), wpb = quant_amx_w_bytes(wt, K);
    cr_assert(wpb % 64 == 0, "packed group keeps 64-byte alignment");
    float *wd = xmalloc(sizeof(float) * K * QUANT_AMX_N), *x = xmalloc(sizeof(float) * K * QUANT_AMX_M);
    float *wf = xmalloc(sizeof(float) * K);
    uint8_t *w = xmalloc(ws * QUANT_AMX_N), *xq = xmalloc(xb * QUANT_AMX_M), *wp = aligned_alloc(64, wpb);
    cr_assert(wp);
    for (int c = 0; c < nrows; c++) {
        fill_random(wf, K, seed + 17 * (uint64_t)c);
        dtype_encode_row(wt, wf, w + c * ws, K);
        dtype_decode_row(wt, w + c * ws, wd + (size_t)c * K, K);
    }
    for (int r = 0; r < QUANT_AMX_M; r++) {
        fill_random(x + (size_t)r * K, K, seed + 1000 + (uint64_t)r);
        quant_act_row(wt, x + (size_t)r * K, xq + r * xb, K);
    }
    float out[QUANT_AMX_M * LDO];
    for (int i = 0; i < QUANT_AMX_M * LDO; i++) out[i] = -777.f;
    quant_amx_pack_w(wt, w, ws, nrows, K, wp);
    quant_amx_tile(wt, wp, xq, xb, mrows, nrows, K, out, LDO);
    for (int r = 0; r < QUANT_AMX_M; r++) {
        float row1[QUANT_AMX_N];
        quant_amx_rows(wt, w, ws, nrows, xq + r * xb, K, row1);
        for (int c = 0; c < LDO; c++) {
            float got = out[r * LDO + c];
            if (r >= mrows || c >= nrows) {
                cr_assert_eq(got, -777.f, "%s K=%d %dx%d: tile wrote out[%d][%d]", dtype_info(wt)->name, K, mrows,
                             nrows, r, c);
                continue;
            }
            const float *wr = wd + (size_t)c * K, *xr = x + (size_t)r * K;
            double ref = 0;
            for (int i = 0; i < K; i++) ref += (double)wr[i] * xr[i];
            double tol = act_error_bound(wt, wr, xr, K) * 1.0001 + float_slack(wt, wr, xr, K);
            cr_assert(fabs(got - ref) <= tol, "%s K=%d %dx%d out[%d][%d] %.7g vs ref %.7g (tol %.3g)",
                      dtype_info(wt)->name, K, mrows, nrows, r, c, (double)got, ref, tol);
            cr_assert(memcmp(&got, &row1[c], sizeof got) == 0, "%s K=%d out[%d][%d]: tile %.9g, rows kernel %.9g",
                      dtype_info(wt)->name, K, r, c, (double)got, (double)row1[c]);
        }
    }
    free(wd); free(x); free(wf); free(w); free(xq); free(wp);
}

Test(quant, amx_tile_and_rows_match_reference)
{
    const char *why;
    cr_assert_not(quant_amx_usable(DT_Q4_1, CPU_SIMD_AVX512), "AMX only where simd is CPU_SIMD_AMX");
    cr_assert_not(quant_amx_usable(DT_Q4_K, CPU_SIMD_AMX));
    cr_assert_not(quant_amx_usable(DT_Q6_K, CPU_SIMD_AMX));
    if (!quant_amx_available(&why)) cr_skip_test("AMX-INT8 not usable here (%s): AMX kernels not run", why);
    cr_assert(quant_amx_usable(DT_Q8_0, CPU_SIMD_AMX) && quant_amx_usable(DT_Q4_0, CPU_SIMD_AMX) &&
              quant_amx_usable(DT_Q4_1, CPU_SIMD_AMX));
    static const int Ks[] = {32, 96, 128, 160, 576, 1536};   /* block counts 1, 3, 4, 5, 18, 48: every remainder of the pipelined pairs */
    static const int MN[][2] = {{16, 16}, {1, 16}, {5, 13}, {16, 1}, {12, 9}, {9, 16}};
    static const enum dtype T[] = {DT_Q8_0, DT_Q4_0, DT_Q4_1};
    for (int t = 0; t < 3; t++)
        for (int k = 0; k < 6; k++)
            for (int s = 0; s < 6; s++)
                check_amx(T[t], Ks[k], MN[s][0], MN[s][1], 7 + 11 * (uint64_t)s + 101 * (uint64_t)k + 1009 * (uint64_t)t);
}
