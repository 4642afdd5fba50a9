/* kernels/xq_formats.c — encode/decode of the own quantized formats; layouts
 * and contracts in kernels/xq_blocks.h. */
#include "kernels/xq_blocks.h"
#include "kernels/fp8.h"

#include <math.h>
#include <string.h>

float xq_row_scale(const void *row)
{
    float s;
    memcpy(&s, row, sizeof s);
    return s;
}

static float max_abs(const float *x, int n)
{
    float m = 0;
    for (int i = 0; i < n; i++) m = fmaxf(m, fabsf(x[i]));
    return m;
}

/* ---- int8 per channel ---- */

void xq_i8_encode_scaled(const float *x, void *row, int n, float s)
{
    if (s <= 0) s = max_abs(x, n) / XQ_I8_MAX;
    if (!(s > 0) || !isfinite(s)) s = 1.0f;          /* an all-zero row: any scale decodes to 0 */
    memcpy(row, &s, sizeof s);
    int8_t *q = (int8_t *)row + XQ_ROW_HDR;
    for (int i = 0; i < n; i++) q[i] = xq_round_i8(x[i], s);
}

static void decode_i8(const void *row, float *y, int n)
{
    float s = xq_row_scale(row);
    const int8_t *q = (const int8_t *)row + XQ_ROW_HDR;
    for (int i = 0; i < n; i++) y[i] = s * (float)q[i];
}

/* ---- fp8 per channel ---- */

static void encode_fp8(const float *x, void *row, int n, float s, bool e4m3)
{
    float maxv = e4m3 ? FP8_E4M3_MAX : FP8_E5M2_MAX;
    if (s <= 0) s = max_abs(x, n) / maxv;
    if (!(s > 0) || !isfinite(s)) s = 1.0f;
    memcpy(row, &s, sizeof s);
    uint8_t *b = (uint8_t *)row + XQ_ROW_HDR;
    for (int i = 0; i < n; i++) b[i] = e4m3 ? fp8_e4m3_from_f32(x[i] / s) : fp8_e5m2_from_f32(x[i] / s);
}

void xq_e4m3_encode_scaled(const float *x, void *row, int n, float s) { encode_fp8(x, row, n, s, true); }

static void decode_fp8(const void *row, float *y, int n, bool e4m3)
{
    float s = xq_row_scale(row);
    const uint8_t *b = (const uint8_t *)row + XQ_ROW_HDR;
    for (int i = 0; i < n; i++) y[i] = s * (e4m3 ? fp8_e4m3_to_f32(b[i]) : fp8_e5m2_to_f32(b[i]));
}

/* ---- int4 group-wise ---- */

/* The stored scale is f16: every candidate is judged with the rounded value. */
static float f16_round(float d) { return fp16_to_fp32(fp32_to_fp16(d)); }

/* Round to nearest even for |v| < 2^22 without a libm call (rintf is one
 * where SSE4.1 is not assumed): the search rounds g values per candidate. */
static inline float round_fast(float v)
{
    const float magic = 12582912.0f;      /* 1.5 * 2^23 */
    float t = v + magic;                  /* not folded away: no -ffast-math */
    return t - magic;
}

static int clamp_q(float q) { return q < 0 ? 0 : q > 15 ? 15 : (int)q; }
/* The zero point is a signed byte: a group that does not straddle 0 keeps
 * all 16 codes on its own range (z outside 0..15). */
static int clamp_z(float z) { return z < -128 ? -128 : z > 127 ? 127 : (int)z; }

/* Importance 1 for every element: the unweighted metric. */
static const float UNIT_W[128] = {
#define U8 1, 1, 1, 1, 1, 1, 1, 1
#define U32 U8, U8, U8, U8
    U32, U32, U32, U32
#undef U32
#undef U8
};

/* Weighted squared error of quantizing x with scale d and zero point z
 * (q = round(x/d) + z): Σ w_i (x_i − d(q_i − z))². */
static double group_err_scalar(const float *x, const float *w, int g, float d, int z)
{
    float e = 0, id = d != 0 ? 1.0f / d : 0;
    for (int i = 0; i < g; i++) {
        int q = clamp_q(round_fast(x[i] * id) + (float)z);
        float r = x[i] - d * (float)(q - z);
        e += w[i] * r * r;
    }
    return e;
}

/* Least squares over the codes one candidate inverse scale gives (symmetric:
 * c = clamp(round(x·is), −8, 7)): sums Σw·x·c and Σw·c². */
static void ls_sums_scalar(const float *x, const float *w, int g, float is, float *sxc, float *scc)
{
    float a = 0, b = 0;
    for (int i = 0; i < g; i++) {
        float c = round_fast(x[i] * is);
        c = c < -8 ? -8 : c > 7 ? 7 : c;
        a += w[i] * x[i] * c;
        b += w[i] * c * c;
    }
    *sxc = a;
    *scc = b;
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

static inline __attribute__((target("avx2,fma"))) float hsum8(__m256 e)
{
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(e), _mm256_extractf128_ps(e, 1));
    s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    s4 = _mm_add_ss(s4, _mm_movehdup_ps(s4));
    return _mm_cvtss_f32(s4);
}

/* The same with 8 lanes (the search evaluates ~80 candidates per group: these
 * loops are most of a transform's time). g is a multiple of 8. */
__attribute__((target("avx2,fma"))) static double group_err_avx2(const float *x, const float *w, int g, float d, int z)
{
    __m256 id = _mm256_set1_ps(d != 0 ? 1.0f / d : 0), zv = _mm256_set1_ps((float)z), dv = _mm256_set1_ps(d);
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_set1_ps(15.0f), e = _mm256_setzero_ps();
    for (int i = 0; i < g; i += 8) {
        __m256 xv = _mm256_loadu_ps(x + i);
        __m256 q = _mm256_round_ps(_mm256_mul_ps(xv, id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        q = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(q, zv), lo), hi);
        __m256 r = _mm256_fnmadd_ps(dv, _mm256_sub_ps(q, zv), xv);
        e = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_loadu_ps(w + i), r), r, e);
    }
    return hsum8(e);
}

__attribute__((target("avx2,fma"))) static void ls_sums_avx2(const float *x, const float *w, int g, float is,
                                                              float *sxc, float *scc)
{
    __m256 iv = _mm256_set1_ps(is), lo = _mm256_set1_ps(-8.0f), hi = _mm256_set1_ps(7.0f);
    __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps();
    for (int i = 0; i < g; i += 8) {
        __m256 xv = _mm256_loadu_ps(x + i), wv = _mm256_loadu_ps(w + i);
        __m256 c = _mm256_round_ps(_mm256_mul_ps(xv, iv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        c = _mm256_min_ps(_mm256_max_ps(c, lo), hi);
        __m256 wc = _mm256_mul_ps(wv, c);
        a = _mm256_fmadd_ps(wc, xv, a);
        b = _mm256_fmadd_ps(wc, c, b);
    }
    *sxc = hsum8(a);
    *scc = hsum8(b);
}

static bool have_avx2(void)
{
    static _Atomic int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached;
}

static double group_err(const float *x, const float *w, int g, float d, int z)
{
    return g % 8 == 0 && have_avx2() ? group_err_avx2(x, w, g, d, z) : group_err_scalar(x, w, g, d, z);
}

static void ls_sums(const float *x, const float *w, int g, float is, float *sxc, float *scc)
{
    if (g % 8 == 0 && have_avx2()) ls_sums_avx2(x, w, g, is, sxc, scc);
    else ls_sums_scalar(x, w, g, is, sxc, scc);
}
#else
static double group_err(const float *x, const float *w, int g, float d, int z) { return group_err_scalar(x, w, g, d, z); }
static void ls_sums(const float *x, const float *w, int g, float is, float *sxc, float *scc)
{
    ls_sums_scalar(x, w, g, is, sxc, scc);
}
#endif

/* Weighted least-squares scale for the codes that (d, z) gives:
 * argmin_d Σ w (x − d(q−z))². */
static float refit_scale(const float *x, const float *w, int g, float d, int z)
{
    double sxq = 0, sqq = 0;
    float id = d != 0 ? 1.0f / d : 0;
    for (int i = 0; i < g; i++) {
        int q = clamp_q(round_fast(x[i] * id) + (float)z) - z;
        sxq += (double)w[i] * x[i] * q;
        sqq += (double)w[i] * q * q;
    }
    return sqq > 0 ? (float)(sxq / sqq) : d;
}

struct i4_choice { float d; int z; double err; };

static void consider(struct i4_choice *best, const float *x, const float *w, int g, float d, int z)
{
    d = f16_round(d);
    if (d == 0 || !isfinite(d)) return;
    double e = group_err(x, w, g, d, z);
    if (e < best->err) *best = (struct i4_choice){d, z, e};
}

/* Plain max-abs rounding: symmetric d = max|x| / 7 (codes −7..7 around 8);
 * zero point d = (max − min) / 15, z = round(−min / d). */
static struct i4_choice i4_baseline(const float *x, const float *w, int g, bool zp)
{
    float lo = x[0], hi = x[0];
    for (int i = 1; i < g; i++) { lo = x[i] < lo ? x[i] : lo; hi = x[i] > hi ? x[i] : hi; }
    struct i4_choice c = {1.0f, zp ? 0 : 8, INFINITY};
    float d = zp ? (hi - lo) / 15.0f : fmaxf(fabsf(lo), fabsf(hi)) / 7.0f;
    int z = zp ? clamp_z(rintf(-lo / f16_round(d))) : 8;
    consider(&c, x, w, g, d, z);
    if (!isfinite(c.err)) c = (struct i4_choice){1.0f, z, group_err(x, w, g, 1.0f, z)};  /* all zeros */
    return c;
}

/* Symmetric search (codes c = q − 8 in −8..7, x ≈ d·c), in the weighted
 * metric Σ w (x − x̂)². Candidates map the group's largest-magnitude element
 * `big` to ±t, t = 5.5..9.5 in steps of 0.1, then to 16 in steps of 0.25
 * (t > 7 on the +7 side, > 8 on the −8 side clip it: with importance
 * weights, an outlier in a quiet input channel is worth clipping hard so the
 * rest of the group gets fine steps; a negative d mirrors the codes so `big`
 * can take the extra code −8). Each candidate's codes get their weighted
 * least-squares scale, err = Σwx² − (Σwxc)²/Σwc²; the best candidate's scale
 * is then rounded to f16, its codes re-rounded and its scale refit (twice),
 * every step judged by the true error, so the result is never worse than
 * the max-abs baseline it starts from. */
static struct i4_choice i4_search_sym(const float *x, const float *w, int g, struct i4_choice best)
{
    float big = x[0], sxx = 0;
    for (int i = 0; i < g; i++) {
        big = fabsf(x[i]) > fabsf(big) ? x[i] : big;
        sxx += w[i] * x[i] * x[i];
    }
    if (big == 0) return best;
    float best_d = 0, best_e = INFINITY;
    for (int k = 0; k <= 66; k++) {
        float t = k <= 40 ? 5.5f + 0.1f * (float)k : 9.5f + 0.25f * (float)(k - 40);
        for (int sgn = -1; sgn <= 1; sgn += 2) {
            float is = (float)sgn * t / big, sxc, scc;
            ls_sums(x, w, g, is, &sxc, &scc);
            if (!(scc > 0)) continue;
            float e = sxx - sxc * sxc / scc;
            if (e < best_e) { best_e = e; best_d = sxc / scc; }
        }
    }
    if (best_d == 0) return best;
    consider(&best, x, w, g, best_d, 8);
    for (int it = 0; it < 2; it++) consider(&best, x, w, g, refit_scale(x, w, g, best.d, 8), 8);
    return best;
}

/* Zero-point search: shrink the range (9 steps to 0.68), three zero points
 * per scale, refit the best d by least squares, keep the smallest error. */
static struct i4_choice i4_search_zp(const float *x, const float *w, int g, struct i4_choice best)
{
    float lo = x[0], hi = x[0];
    for (int i = 1; i < g; i++) { lo = x[i] < lo ? x[i] : lo; hi = x[i] > hi ? x[i] : hi; }
    for (int k = 0; k <= 8; k++) {
        float f = 1.0f - 0.04f * (float)k;
        float dr = f16_round((hi - lo) * f / 15.0f);
        if (!(dr > 0)) continue;
        consider(&best, x, w, g, dr, clamp_z(rintf(-lo / dr)));
        consider(&best, x, w, g, dr, clamp_z(rintf(15.0f - hi / dr)));
        consider(&best, x, w, g, dr, clamp_z(rintf(7.5f - (hi + lo) / (2 * dr))));
    }
    for (int it = 0; it < 2; it++) consider(&best, x, w, g, refit_scale(x, w, g, best.d, best.z), best.z);
    return best;
}

void xq_i4_encode_group_w(const float *x, const float *imp, int g, bool zp, bool search, uint8_t *blk)
{
    const float *w = imp ? imp : UNIT_W;
    struct i4_choice c = i4_baseline(x, w, g, zp);
    if (search) c = zp ? i4_search_zp(x, w, g, c) : i4_search_sym(x, w, g, c);
    uint16_t d = fp32_to_fp16(c.d);
    memcpy(blk, &d, 2);
    if (zp) { blk[2] = (uint8_t)(int8_t)c.z; blk[3] = 0; }
    uint8_t *qs = blk + xq_i4_hdr(zp);
    float id = 1.0f / fp16_to_fp32(d);
    int h = g / 2;
    for (int i = 0; i < h; i++) {
        int lo = clamp_q(round_fast(x[i] * id) + (float)c.z), hi = clamp_q(round_fast(x[i + h] * id) + (float)c.z);
        qs[i] = (uint8_t)(lo | hi << 4);
    }
}

void xq_i4_encode_group(const float *x, int g, bool zp, bool search, uint8_t *blk)
{
    xq_i4_encode_group_w(x, NULL, g, zp, search, blk);
}

static void decode_i4_group(const uint8_t *blk, int g, bool zp, float *y)
{
    uint16_t dh;
    memcpy(&dh, blk, 2);
    float d = fp16_to_fp32(dh);
    int z = zp ? (int8_t)blk[2] : 8;
    const uint8_t *qs = blk + xq_i4_hdr(zp);
    for (int i = 0; i < g; i++) y[i] = d * (float)(xq_i4_get(qs, g, i) - z);
}

double xq_i4_group_error_w(const float *x, const float *imp, int g, bool zp, const uint8_t *blk)
{
    float y[128];
    decode_i4_group(blk, g, zp, y);
    double e = 0;
    for (int i = 0; i < g; i++) e += (imp ? (double)imp[i] : 1.0) * ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
    return e;
}

double xq_i4_group_error(const float *x, int g, bool zp, const uint8_t *blk)
{
    return xq_i4_group_error_w(x, NULL, g, zp, blk);
}

static bool i4_zero_point(enum dtype t) { return t >= DT_I4A_32 && t <= DT_I4A_128; }

void xq_decode_row(enum dtype t, const void *row, float *y, int n)
{
    switch (t) {
    case DT_I8: case DT_W8A8: decode_i8(row, y, n); return;
    case DT_E4M3: case DT_F8A8: decode_fp8(row, y, n, true); return;
    case DT_E5M2: decode_fp8(row, y, n, false); return;
    default: break;
    }
    int g = dtype_i4_group(t), bb = dtype_info(t)->block_bytes;
    if (!g) return;
    for (int b = 0; b < n / g; b++) decode_i4_group((const uint8_t *)row + (size_t)b * bb, g, i4_zero_point(t), y + (size_t)b * g);
}

void xq_encode_row(enum dtype t, const float *x, void *row, int n) { xq_encode_row_weighted(t, x, NULL, row, n); }

void xq_encode_row_weighted(enum dtype t, const float *x, const float *imp, void *row, int n)
{
    switch (t) {
    case DT_I8: case DT_W8A8: xq_i8_encode_scaled(x, row, n, 0); return;
    case DT_E4M3: case DT_F8A8: encode_fp8(x, row, n, 0, true); return;
    case DT_E5M2: encode_fp8(x, row, n, 0, false); return;
    default: break;
    }
    int g = dtype_i4_group(t), bb = dtype_info(t)->block_bytes;
    if (!g) return;
    for (int b = 0; b < n / g; b++)
        xq_i4_encode_group_w(x + (size_t)b * g, imp ? imp + (size_t)b * g : NULL, g, i4_zero_point(t), true,
                             (uint8_t *)row + (size_t)b * bb);
}
