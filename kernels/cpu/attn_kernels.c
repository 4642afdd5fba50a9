/* kernels/cpu/attn_kernels.c — attention inner loops (contracts in
 * attn_kernels.h) for the scalar path, AVX2+FMA and AVX-512. The SIMD
 * functions carry target attributes, so the file builds without -mavx* and
 * the dispatch picks what cpu_simd_detect found. */
#include "kernels/cpu/attn_kernels.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define R ATTN_ROWS

/* Range reduction constants: ln2 split so n*LN2_HI is exact for |n| < 2^15
 * (LN2_HI has 9 significant bits), and the Taylor coefficients 1/k!. */
#define EXP_LOG2E  1.44269504088896341f
#define EXP_LN2_HI 0.693359375f
#define EXP_LN2_LO -2.12194440e-4f
#define EXP_LO     -87.3f            /* below: flush to 0 (2^n stays normal) */
#define EXP_HI     88.0f
#define EXP_C2 (1.0f / 2)
#define EXP_C3 (1.0f / 6)
#define EXP_C4 (1.0f / 24)
#define EXP_C5 (1.0f / 120)
#define EXP_C6 (1.0f / 720)
#define EXP_C7 (1.0f / 5040)

static int max_lim(const int *lim)
{
    int m = 0;
    for (int r = 0; r < R; r++) m = lim[r] > m ? lim[r] : m;
    return m;
}

/* ---- scalar ------------------------------------------------------------ */

float attn_exp(float x)
{
    if (!(x >= EXP_LO)) return 0.0f;            /* also -inf (and NaN) */
    x = x < EXP_HI ? x : EXP_HI;
    float n = nearbyintf(x * EXP_LOG2E);
    float r = (x - n * EXP_LN2_HI) - n * EXP_LN2_LO;
    float p = EXP_C7;
    p = p * r + EXP_C6;
    p = p * r + EXP_C5;
    p = p * r + EXP_C4;
    p = p * r + EXP_C3;
    p = p * r + EXP_C2;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;   /* 2^n, n in [-126, 127] */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* Element e of K/V row `row`: float, or an IEEE half widened exactly. */
static inline float kv_elem(const void *row, int e, bool f16)
{
    return f16 ? fp16_to_fp32(((const uint16_t *)row)[e]) : ((const float *)row)[e];
}

static inline void scores_any_scalar(const float *const *q, int nr, const void *const *k, bool f16,
                                     int nk, int d, float scale, float *S)
{
    for (int t = 0; t < nk; t++)
        for (int r = 0; r < nr; r++) {
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            int e = 0;
            for (; e + 4 <= d; e += 4) {
                s0 += q[r][e] * kv_elem(k[t], e, f16);
                s1 += q[r][e + 1] * kv_elem(k[t], e + 1, f16);
                s2 += q[r][e + 2] * kv_elem(k[t], e + 2, f16);
                s3 += q[r][e + 3] * kv_elem(k[t], e + 3, f16);
            }
            for (; e < d; e++) s0 += q[r][e] * kv_elem(k[t], e, f16);
            S[t * R + r] = scale * ((s0 + s1) + (s2 + s3));
        }
}

static void scores_scalar(const float *const *q, int nr, const void *const *k, int nk, int d,
                          float scale, float *S)
{
    scores_any_scalar(q, nr, k, false, nk, d, scale, S);
}

static void scores_f16_scalar(const float *const *q, int nr, const void *const *k, int nk, int d,
                              float scale, float *S)
{
    scores_any_scalar(q, nr, k, true, nk, d, scale, S);
}

static void tile_max_scalar(const float *S, const int *lim, float *mx)
{
    for (int r = 0; r < R; r++) {
        float m = -INFINITY;
        for (int t = 0; t < lim[r]; t++) m = S[t * R + r] > m ? S[t * R + r] : m;
        mx[r] = m;
    }
}

static void tile_exp_scalar(float *S, const int *lim, const float *m, float *sum)
{
    int nk = max_lim(lim);
    for (int r = 0; r < R; r++) {
        float s = 0;
        for (int t = 0; t < nk; t++) {
            float p = t < lim[r] ? attn_exp(S[t * R + r] - m[r]) : 0.0f;
            S[t * R + r] = p;
            s += p;
        }
        sum[r] = s;
    }
}

static inline void pv_any_scalar(float *const *o, int nr, const float *P, ptrdiff_t p_rs,
                                 ptrdiff_t p_ts, const void *const *v, bool f16, int nk, int d)
{
    for (int r = 0; r < nr; r++)
        for (int t = 0; t < nk; t++) {
            float p = P[r * p_rs + t * p_ts];
            for (int e = 0; e < d; e++) o[r][e] += p * kv_elem(v[t], e, f16);
        }
}

static void pv_scalar(float *const *o, int nr, const float *P, ptrdiff_t p_rs, ptrdiff_t p_ts,
                      const void *const *v, int nk, int d)
{
    pv_any_scalar(o, nr, P, p_rs, p_ts, v, false, nk, d);
}

static void pv_f16_scalar(float *const *o, int nr, const float *P, ptrdiff_t p_rs, ptrdiff_t p_ts,
                          const void *const *v, int nk, int d)
{
    pv_any_scalar(o, nr, P, p_rs, p_ts, v, true, nk, d);
}

static void softmax_row_scalar(float *p, const float *s, int n)
{
    float mx = -INFINITY, sum = 0;
    for (int t = 0; t < n; t++) mx = s[t] > mx ? s[t] : mx;
    for (int t = 0; t < n; t++) { p[t] = attn_exp(s[t] - mx); sum += p[t]; }
    float inv = 1.0f / sum;
    for (int t = 0; t < n; t++) p[t] *= inv;
}

static void exp_array_scalar(float *y, const float *x, int n)
{
    for (int i = 0; i < n; i++) y[i] = attn_exp(x[i]);
}

static void to_f16_scalar(uint16_t *dst, const float *src, int n)
{
    for (int i = 0; i < n; i++) dst[i] = fp32_to_fp16(src[i]);
}

static const struct attn_kernels kernels_scalar = {
    scores_scalar, scores_f16_scalar, tile_max_scalar, tile_exp_scalar, pv_scalar, pv_f16_scalar,
    softmax_row_scalar, exp_array_scalar, to_f16_scalar,
};

/* ---- x86 SIMD ---------------------------------------------------------- */

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_X86_SIMD 1

#define TGT_AVX2   __attribute__((target("avx2,fma,f16c")))
#define TGT_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")))
#define INLINE     static inline __attribute__((always_inline))

/* Sums of a, b, c, d (4 lanes per 128-bit lane) as [Σa, Σb, Σc, Σd] within
 * each 128-bit lane: unpack pairs, add, unpack again, add. */
TGT_AVX2 INLINE __m256 hsum4_lanes_avx2(__m256 a, __m256 b, __m256 c, __m256 d)
{
    __m256 ab = _mm256_add_ps(_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b));
    __m256 cd = _mm256_add_ps(_mm256_unpacklo_ps(c, d), _mm256_unpackhi_ps(c, d));
    __m256d lo = _mm256_unpacklo_pd(_mm256_castps_pd(ab), _mm256_castps_pd(cd));
    __m256d hi = _mm256_unpackhi_pd(_mm256_castps_pd(ab), _mm256_castps_pd(cd));
    return _mm256_add_ps(_mm256_castpd_ps(lo), _mm256_castpd_ps(hi));
}

TGT_AVX512 INLINE __m512 hsum4_lanes_avx512(__m512 a, __m512 b, __m512 c, __m512 d)
{
    __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
    __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
    __m512d lo = _mm512_unpacklo_pd(_mm512_castps_pd(ab), _mm512_castps_pd(cd));
    __m512d hi = _mm512_unpackhi_pd(_mm512_castps_pd(ab), _mm512_castps_pd(cd));
    return _mm512_add_ps(_mm512_castpd_ps(lo), _mm512_castpd_ps(hi));
}

/* exp as attn_exp, 8 or 16 lanes, with FMA. */
TGT_AVX2 INLINE __m256 exp_avx2(__m256 x)
{
    __m256 keep = _mm256_cmp_ps(x, _mm256_set1_ps(EXP_LO), _CMP_GE_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(EXP_LO)), _mm256_set1_ps(EXP_HI));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(EXP_LOG2E)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(EXP_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(EXP_LN2_LO), r);
    __m256 p = _mm256_set1_ps(EXP_C7);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_C6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_C5));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_C4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_C3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_C2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), keep);
}

TGT_AVX512 INLINE __m512 exp_avx512(__m512 x)
{
    __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(EXP_LO), _CMP_GE_OQ);
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(EXP_LO)), _mm512_set1_ps(EXP_HI));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(EXP_LOG2E)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(EXP_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(EXP_LN2_LO), r);
    __m512 p = _mm512_set1_ps(EXP_C7);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_C6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_C5));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_C4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_C3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_C2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_maskz_mul_ps(keep, p, _mm512_castsi512_ps(e));
}

/* Masks for the last d % W elements of a row. */
TGT_AVX2 INLINE __m256i tail_mask_avx2(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* K/V loads: 8 elements at e of a float row, or 8 halves widened with F16C;
 * the tail form reads only n < 8 elements (the halves through a zeroed copy:
 * AVX2 has no 16-bit masked load). */
TGT_AVX2 INLINE __m256 kv_load8_avx2(const void *row, int e, bool f16)
{
    if (f16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + e)));
    return _mm256_loadu_ps((const float *)row + e);
}

TGT_AVX2 INLINE __m256 kv_load8_tail_avx2(const void *row, int e, int n, __m256i tm, bool f16)
{
    if (!f16) return _mm256_maskload_ps((const float *)row + e, tm);
    uint16_t b[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    memcpy(b, (const uint16_t *)row + e, (size_t)n * sizeof *b);
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b));
}

/* -- scores: NR rows (compile-time after inlining), keys one at a time. -- */

TGT_AVX2 INLINE void scores_rows_avx2(const float *const *q, int NR, const void *const *k, bool f16,
                                      int nk, int d, float scale, float *S)
{
    __m256 vs = _mm256_set1_ps(scale);
    __m256i tm = tail_mask_avx2(d % 8);
    for (int t = 0; t < nk; t++) {
        __m256 acc[R] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                         _mm256_setzero_ps()};
        const void *kt = k[t];
        int e = 0;
        for (; e + 8 <= d; e += 8) {
            __m256 kv = kv_load8_avx2(kt, e, f16);
            _Pragma("GCC unroll 4")
            for (int r = 0; r < NR; r++)
                acc[r] = _mm256_fmadd_ps(_mm256_loadu_ps(q[r] + e), kv, acc[r]);
        }
        if (e < d) {
            __m256 kv = kv_load8_tail_avx2(kt, e, d - e, tm, f16);
            _Pragma("GCC unroll 4")
            for (int r = 0; r < NR; r++)
                acc[r] = _mm256_fmadd_ps(_mm256_maskload_ps(q[r] + e, tm), kv, acc[r]);
        }
        __m256 h = hsum4_lanes_avx2(acc[0], acc[1], acc[2], acc[3]);
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
        _mm_storeu_ps(S + t * R, _mm_mul_ps(s, _mm256_castps256_ps128(vs)));
    }
}

TGT_AVX2 INLINE void scores_any_avx2(const float *const *q, int nr, const void *const *k, bool f16,
                                     int nk, int d, float scale, float *S)
{
    switch (nr) {
    case 1: scores_rows_avx2(q, 1, k, f16, nk, d, scale, S); break;
    case 2: scores_rows_avx2(q, 2, k, f16, nk, d, scale, S); break;
    case 3: scores_rows_avx2(q, 3, k, f16, nk, d, scale, S); break;
    default: scores_rows_avx2(q, 4, k, f16, nk, d, scale, S); break;
    }
}

TGT_AVX2 static void scores_avx2(const float *const *q, int nr, const void *const *k, int nk,
                                 int d, float scale, float *S)
{
    scores_any_avx2(q, nr, k, false, nk, d, scale, S);
}

TGT_AVX2 static void scores_f16_avx2(const float *const *q, int nr, const void *const *k, int nk,
                                     int d, float scale, float *S)
{
    scores_any_avx2(q, nr, k, true, nk, d, scale, S);
}

/* 16 elements (those set in m) at e of a float row, or 16 halves widened. */
TGT_AVX512 INLINE __m512 kv_load16_avx512(const void *row, int e, __mmask16 m, bool f16)
{
    if (f16) return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *)row + e));
    return _mm512_maskz_loadu_ps(m, (const float *)row + e);
}

TGT_AVX512 INLINE void scores_rows_avx512(const float *const *q, int NR, const void *const *k,
                                          bool f16, int nk, int d, float scale, float *S)
{
    __mmask16 tm = (__mmask16)((1u << (d % 16)) - 1);
    for (int t = 0; t < nk; t++) {
        __m512 acc[R] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                         _mm512_setzero_ps()};
        const void *kt = k[t];
        int e = 0;
        for (; e + 16 <= d; e += 16) {
            __m512 kv = f16 ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)kt + e)))
                            : _mm512_loadu_ps((const float *)kt + e);
            _Pragma("GCC unroll 4")
            for (int r = 0; r < NR; r++)
                acc[r] = _mm512_fmadd_ps(_mm512_loadu_ps(q[r] + e), kv, acc[r]);
        }
        if (e < d) {
            __m512 kv = kv_load16_avx512(kt, e, tm, f16);
            _Pragma("GCC unroll 4")
            for (int r = 0; r < NR; r++)
                acc[r] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tm, q[r] + e), kv, acc[r]);
        }
        __m512 h = hsum4_lanes_avx512(acc[0], acc[1], acc[2], acc[3]);
        __m256 h8 = _mm256_add_ps(_mm512_castps512_ps256(h), _mm512_extractf32x8_ps(h, 1));
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(h8), _mm256_extractf128_ps(h8, 1));
        _mm_storeu_ps(S + t * R, _mm_mul_ps(s, _mm_set1_ps(scale)));
    }
}

TGT_AVX512 INLINE void scores_any_avx512(const float *const *q, int nr, const void *const *k,
                                         bool f16, int nk, int d, float scale, float *S)
{
    switch (nr) {
    case 1: scores_rows_avx512(q, 1, k, f16, nk, d, scale, S); break;
    case 2: scores_rows_avx512(q, 2, k, f16, nk, d, scale, S); break;
    case 3: scores_rows_avx512(q, 3, k, f16, nk, d, scale, S); break;
    default: scores_rows_avx512(q, 4, k, f16, nk, d, scale, S); break;
    }
}

TGT_AVX512 static void scores_avx512(const float *const *q, int nr, const void *const *k, int nk,
                                     int d, float scale, float *S)
{
    scores_any_avx512(q, nr, k, false, nk, d, scale, S);
}

TGT_AVX512 static void scores_f16_avx512(const float *const *q, int nr, const void *const *k,
                                         int nk, int d, float scale, float *S)
{
    scores_any_avx512(q, nr, k, true, nk, d, scale, S);
}

/* -- tile max / exp: AVX-512 holds 4 keys x 4 rows per vector; lane j is
 * key t0 + j/4, row j%4. AVX2 holds 2 keys. -- */

TGT_AVX512 static void tile_max_avx512(const float *S, const int *lim, float *mx)
{
    __m512i vlim = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)lim));
    __m512i vt = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    __m512 m = _mm512_set1_ps(-INFINITY);
    for (int t0 = 0, nk = max_lim(lim); t0 < nk; t0 += 4) {
        __mmask16 k = _mm512_cmplt_epi32_mask(vt, vlim);
        m = _mm512_mask_max_ps(m, k, m, _mm512_maskz_loadu_ps(k, S + t0 * R));
        vt = _mm512_add_epi32(vt, _mm512_set1_epi32(4));
    }
    __m256 m8 = _mm256_max_ps(_mm512_castps512_ps256(m), _mm512_extractf32x8_ps(m, 1));
    _mm_storeu_ps(mx, _mm_max_ps(_mm256_castps256_ps128(m8), _mm256_extractf128_ps(m8, 1)));
}

TGT_AVX512 static void tile_exp_avx512(float *S, const int *lim, const float *m, float *sum)
{
    __m512i vlim = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)lim));
    __m512 vm = _mm512_broadcast_f32x4(_mm_loadu_ps(m));
    __m512i vt = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    __m512 s = _mm512_setzero_ps();
    int nk = max_lim(lim);
    for (int t0 = 0; t0 < nk; t0 += 4) {
        __mmask16 k = _mm512_cmplt_epi32_mask(vt, vlim);
        __mmask16 st = _mm512_cmplt_epi32_mask(vt, _mm512_set1_epi32(nk));
        __m512 x = _mm512_sub_ps(_mm512_maskz_loadu_ps(k, S + t0 * R), vm);
        __m512 p = _mm512_maskz_mov_ps(k, exp_avx512(x));
        _mm512_mask_storeu_ps(S + t0 * R, st, p);
        s = _mm512_add_ps(s, p);
        vt = _mm512_add_epi32(vt, _mm512_set1_epi32(4));
    }
    __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(s), _mm512_extractf32x8_ps(s, 1));
    _mm_storeu_ps(sum, _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1)));
}

TGT_AVX2 static void tile_max_avx2(const float *S, const int *lim, float *mx)
{
    __m128i l4 = _mm_loadu_si128((const __m128i *)lim);
    __m256i vlim = _mm256_set_m128i(l4, l4);
    __m256i vt = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
    __m256 m = _mm256_set1_ps(-INFINITY);
    for (int t0 = 0, nk = max_lim(lim); t0 < nk; t0 += 2) {
        __m256i k = _mm256_cmpgt_epi32(vlim, vt);
        __m256 x = _mm256_maskload_ps(S + t0 * R, k);
        m = _mm256_blendv_ps(m, _mm256_max_ps(m, x), _mm256_castsi256_ps(k));
        vt = _mm256_add_epi32(vt, _mm256_set1_epi32(2));
    }
    _mm_storeu_ps(mx, _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1)));
}

TGT_AVX2 static void tile_exp_avx2(float *S, const int *lim, const float *m, float *sum)
{
    __m128i l4 = _mm_loadu_si128((const __m128i *)lim);
    __m256i vlim = _mm256_set_m128i(l4, l4);
    __m128 m4 = _mm_loadu_ps(m);
    __m256 vm = _mm256_set_m128(m4, m4);
    __m256i vt = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
    __m256 s = _mm256_setzero_ps();
    int nk = max_lim(lim);
    for (int t0 = 0; t0 < nk; t0 += 2) {
        __m256i k = _mm256_cmpgt_epi32(vlim, vt);
        __m256i st = _mm256_cmpgt_epi32(_mm256_set1_epi32(nk), vt);
        __m256 x = _mm256_sub_ps(_mm256_maskload_ps(S + t0 * R, k), vm);
        __m256 p = _mm256_and_ps(exp_avx2(x), _mm256_castsi256_ps(k));
        _mm256_maskstore_ps(S + t0 * R, st, p);
        s = _mm256_add_ps(s, p);
        vt = _mm256_add_epi32(vt, _mm256_set1_epi32(2));
    }
    _mm_storeu_ps(sum, _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1)));
}

/* -- P·V: per d-chunk, the block's accumulators stay in registers across
 * all keys of the tile; p values are broadcast from memory. -- */

TGT_AVX2 INLINE void pv_rows_avx2(float *const *o, int NR, const float *P, ptrdiff_t p_rs,
                                  ptrdiff_t p_ts, const void *const *v, bool f16, int nk, int d)
{
    __m256i tm = tail_mask_avx2(d % 8);
    for (int e = 0; e < d; e += 8) {
        bool tail = e + 8 > d;
        __m256 acc[R];
        _Pragma("GCC unroll 4")
        for (int r = 0; r < NR; r++)
            acc[r] = tail ? _mm256_maskload_ps(o[r] + e, tm) : _mm256_loadu_ps(o[r] + e);
        for (int t = 0; t < nk; t++) {
            __m256 vv = tail ? kv_load8_tail_avx2(v[t], e, d - e, tm, f16) : kv_load8_avx2(v[t], e, f16);
            _Pragma("GCC unroll 4")
            for (int r = 0; r < NR; r++)
                acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(P + r * p_rs + t * p_ts), vv, acc[r]);
        }
        _Pragma("GCC unroll 4")
        for (int r = 0; r < NR; r++) {
            if (tail) _mm256_maskstore_ps(o[r] + e, tm, acc[r]);
            else _mm256_storeu_ps(o[r] + e, acc[r]);
        }
    }
}

TGT_AVX2 INLINE void pv_any_avx2(float *const *o, int nr, const float *P, ptrdiff_t p_rs,
                                 ptrdiff_t p_ts, const void *const *v, bool f16, int nk, int d)
{
    switch (nr) {
    case 1: pv_rows_avx2(o, 1, P, p_rs, p_ts, v, f16, nk, d); break;
    case 2: pv_rows_avx2(o, 2, P, p_rs, p_ts, v, f16, nk, d); break;
    case 3: pv_rows_avx2(o, 3, P, p_rs, p_ts, v, f16, nk, d); break;
    default: pv_rows_avx2(o, 4, P, p_rs, p_ts, v, f16, nk, d); break;
    }
}

TGT_AVX2 static void pv_avx2(float *const *o, int nr, const float *P, ptrdiff_t p_rs,
                             ptrdiff_t p_ts, const void *const *v, int nk, int d)
{
    pv_any_avx2(o, nr, P, p_rs, p_ts, v, false, nk, d);
}

TGT_AVX2 static void pv_f16_avx2(float *const *o, int nr, const float *P, ptrdiff_t p_rs,
                                 ptrdiff_t p_ts, const void *const *v, int nk, int d)
{
    pv_any_avx2(o, nr, P, p_rs, p_ts, v, true, nk, d);
}

TGT_AVX512 INLINE void pv_rows_avx512(float *const *o, int NR, const float *P, ptrdiff_t p_rs,
                                      ptrdiff_t p_ts, const void *const *v, bool f16, int nk, int d)
{
    for (int e = 0; e < d; e += 16) {
        __mmask16 m = e + 16 <= d ? (__mmask16)0xffff : (__mmask16)((1u << (d - e)) - 1);
        __m512 acc[R];
        _Pragma("GCC unroll 4")
        for (int r = 0; r < NR; r++) acc[r] = _mm512_maskz_loadu_ps(m, o[r] + e);
        for (int t = 0; t < nk; t++) {
            __m512 vv = kv_load16_avx512(v[t], e, m, f16);
            _Pragma("GCC unroll 4")
            for (int r = 0; r < NR; r++)
                acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(P[r * p_rs + t * p_ts]), vv, acc[r]);
        }
        _Pragma("GCC unroll 4")
        for (int r = 0; r < NR; r++) _mm512_mask_storeu_ps(o[r] + e, m, acc[r]);
    }
}

TGT_AVX512 INLINE void pv_any_avx512(float *const *o, int nr, const float *P, ptrdiff_t p_rs,
                                     ptrdiff_t p_ts, const void *const *v, bool f16, int nk, int d)
{
    switch (nr) {
    case 1: pv_rows_avx512(o, 1, P, p_rs, p_ts, v, f16, nk, d); break;
    case 2: pv_rows_avx512(o, 2, P, p_rs, p_ts, v, f16, nk, d); break;
    case 3: pv_rows_avx512(o, 3, P, p_rs, p_ts, v, f16, nk, d); break;
    default: pv_rows_avx512(o, 4, P, p_rs, p_ts, v, f16, nk, d); break;
    }
}

TGT_AVX512 static void pv_avx512(float *const *o, int nr, const float *P, ptrdiff_t p_rs,
                                 ptrdiff_t p_ts, const void *const *v, int nk, int d)
{
    pv_any_avx512(o, nr, P, p_rs, p_ts, v, false, nk, d);
}

TGT_AVX512 static void pv_f16_avx512(float *const *o, int nr, const float *P, ptrdiff_t p_rs,
                                     ptrdiff_t p_ts, const void *const *v, int nk, int d)
{
    pv_any_avx512(o, nr, P, p_rs, p_ts, v, true, nk, d);
}

/* -- softmax of one materialized row (naive). -- */

TGT_AVX2 static void softmax_row_avx2(float *p, const float *s, int n)
{
    __m256 m = _mm256_set1_ps(-INFINITY);
    int t = 0;
    for (; t + 8 <= n; t += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(s + t));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    float mx = fmaxf(fmaxf(m4[0], m4[1]), fmaxf(m4[2], m4[3]));
    for (; t < n; t++) mx = s[t] > mx ? s[t] : mx;
    __m256 vm = _mm256_set1_ps(mx), vs = _mm256_setzero_ps();
    for (t = 0; t + 8 <= n; t += 8) {
        __m256 e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(s + t), vm));
        _mm256_storeu_ps(p + t, e);
        vs = _mm256_add_ps(vs, e);
    }
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(vs), _mm256_extractf128_ps(vs, 1));
    float sum = (s4[0] + s4[1]) + (s4[2] + s4[3]);
    for (; t < n; t++) { p[t] = attn_exp(s[t] - mx); sum += p[t]; }
    __m256 inv = _mm256_set1_ps(1.0f / sum);
    for (t = 0; t + 8 <= n; t += 8) _mm256_storeu_ps(p + t, _mm256_mul_ps(_mm256_loadu_ps(p + t), inv));
    for (; t < n; t++) p[t] *= 1.0f / sum;
}

TGT_AVX512 static void softmax_row_avx512(float *p, const float *s, int n)
{
    __m512 m = _mm512_set1_ps(-INFINITY);
    for (int t = 0; t < n; t += 16) {
        __mmask16 k = t + 16 <= n ? (__mmask16)0xffff : (__mmask16)((1u << (n - t)) - 1);
        m = _mm512_mask_max_ps(m, k, m, _mm512_maskz_loadu_ps(k, s + t));
    }
    __m512 vm = _mm512_set1_ps(_mm512_reduce_max_ps(m)), vs = _mm512_setzero_ps();
    for (int t = 0; t < n; t += 16) {
        __mmask16 k = t + 16 <= n ? (__mmask16)0xffff : (__mmask16)((1u << (n - t)) - 1);
        __m512 e = _mm512_maskz_mov_ps(k, exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, s + t), vm)));
        _mm512_mask_storeu_ps(p + t, k, e);
        vs = _mm512_add_ps(vs, e);
    }
    __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vs));
    for (int t = 0; t < n; t += 16) {
        __mmask16 k = t + 16 <= n ? (__mmask16)0xffff : (__mmask16)((1u << (n - t)) - 1);
        _mm512_mask_storeu_ps(p + t, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, p + t), inv));
    }
}

TGT_AVX2 static void exp_array_avx2(float *y, const float *x, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp_avx2(_mm256_loadu_ps(x + i)));
    for (; i < n; i++) {
        float b[8] = {x[i]};
        _mm256_storeu_ps(b, exp_avx2(_mm256_loadu_ps(b)));
        y[i] = b[0];
    }
}

TGT_AVX512 static void exp_array_avx512(float *y, const float *x, int n)
{
    for (int i = 0; i < n; i += 16) {
        __mmask16 k = i + 16 <= n ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, k, exp_avx512(_mm512_maskz_loadu_ps(k, x + i)));
    }
}

/* F16C rounds to nearest even like fp32_to_fp16; the tail goes through it too. */
TGT_AVX2 static void to_f16_f16c(uint16_t *dst, const float *src, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) dst[i] = fp32_to_fp16(src[i]);
}

static const struct attn_kernels kernels_avx2 = {
    scores_avx2, scores_f16_avx2, tile_max_avx2, tile_exp_avx2, pv_avx2, pv_f16_avx2,
    softmax_row_avx2, exp_array_avx2, to_f16_f16c,
};
static const struct attn_kernels kernels_avx512 = {
    scores_avx512, scores_f16_avx512, tile_max_avx512, tile_exp_avx512, pv_avx512, pv_f16_avx512,
    softmax_row_avx512, exp_array_avx512, to_f16_f16c,
};
#endif

const struct attn_kernels *attn_kernels_for(enum cpu_simd s)
{
#ifdef HAVE_X86_SIMD
    if (s >= CPU_SIMD_AVX512) return &kernels_avx512;
    if (s == CPU_SIMD_AVX2) return &kernels_avx2;
#else
    (void)s;
#endif
    return &kernels_scalar;
}
