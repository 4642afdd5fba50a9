/* kernels/cpu/qx_avx2.c — AVX2 (and AVX-512 VNNI) kernels of the own
 * quantized formats; see qx.h. Weights are dequantized in registers:
 *   int8      vpmovsxbd + vcvtdq2ps, 8 per step;
 *   fp8       bytes → IEEE half bits → vcvtph2ps: E5M2 is a half's top byte
 *             (b << 8, exact incl. subnormals, inf, NaN); E4M3's 7 magnitude
 *             bits shifted left 7 are a half 2^8 smaller (subnormals land on
 *             half subnormals), so the row's sum is scaled by 256 once;
 *   int4      16 packed bytes → 16 low + 16 high nibbles → (q − z) as floats,
 *             summed per group, times the group's d;
 *   W8A8      int8 · int8 → int32 exactly: vpmaddubsw on |w| and sign(x, w)
 *             (AVX2) or vpdpbusd (VNNI), scales applied once per row.
 * Tails (K not a multiple of the vector step) go element by element.
 * Compiled with per-function target attributes; callers check the CPU. */
#include "kernels/cpu/qx.h"
#include "kernels/fp8.h"
#include "kernels/xq_blocks.h"

#include <stdbool.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")))

AVX2 static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 static inline int32_t hsum8_i32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

AVX2 static inline __attribute__((always_inline)) __m128i load8(const uint8_t *p)
{
    int64_t v;
    memcpy(&v, p, 8);
    return _mm_cvtsi64_si128(v);
}

AVX2 static inline __attribute__((always_inline)) __m256 ld_i8(const uint8_t *p)
{
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(load8(p)));
}

AVX2 static inline __attribute__((always_inline)) __m256 ld_e5m2(const uint8_t *p)
{
    return _mm256_cvtph_ps(_mm_slli_epi16(_mm_cvtepu8_epi16(load8(p)), 8));
}

/* E4M3 as a half 2^-8 of its value (scale the sum by 256). */
AVX2 static inline __attribute__((always_inline)) __m256 ld_e4m3_div256(const uint8_t *p)
{
    __m128i b = _mm_cvtepu8_epi16(load8(p));
    __m128i sign = _mm_slli_epi16(_mm_and_si128(b, _mm_set1_epi16(0x80)), 8);
    __m128i mag = _mm_slli_epi16(_mm_and_si128(b, _mm_set1_epi16(0x7f)), 7);
    return _mm256_cvtph_ps(_mm_or_si128(sign, mag));
}

/* One weight row (per-element format: LOAD gives 8 values, SCALAR one, MUL
 * the factor the sum needs) against NX x rows; NX a constant so the
 * accumulators live in registers. */
#define DEFINE_DOT_ELEM(name, LOAD, SCALAR, MUL)                                                 \
    AVX2 static inline __attribute__((always_inline)) void name##_n(const void *w, const float *x, size_t ldx, const int NX,    \
                                     int K, float *out)                                          \
    {                                                                                            \
        const uint8_t *b = (const uint8_t *)w + XQ_ROW_HDR;                                      \
        __m256 acc[DOT_MAX_ROWS] = {_mm256_setzero_ps(), _mm256_setzero_ps(),                    \
                                    _mm256_setzero_ps(), _mm256_setzero_ps()};                   \
        int k = 0;                                                                               \
        if (NX == 1) { /* one row: four independent chains hide the FMA latency */               \
            for (; k + 32 <= K; k += 32)                                                         \
                for (int u = 0; u < 4; u++)                                                      \
                    acc[u] = _mm256_fmadd_ps(LOAD(b + k + 8 * u), _mm256_loadu_ps(x + k + 8 * u), \
                                             acc[u]);                                            \
            acc[0] = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])); \
        }                                                                                        \
        for (; k + 8 <= K; k += 8) {                                                             \
            __m256 wv = LOAD(b + k);                                                             \
            for (int r = 0; r < NX; r++)                                                         \
                acc[r] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + (size_t)r * ldx + k), acc[r]);  \
        }                                                                                        \
        float sc = xq_row_scale(w);                                                              \
        for (int r = 0; r < NX; r++) {                                                           \
            float s = hsum8(acc[r]) * (MUL), t = 0;                                              \
            for (int kk = k; kk < K; kk++) t += SCALAR(b[kk]) * x[(size_t)r * ldx + kk];         \
            out[r] = sc * (s + t);                                                               \
        }                                                                                        \
    }                                                                                            \
    AVX2 static void name(const void *w, const float *x, size_t ldx, int nx, int K, float *out)  \
    {                                                                                            \
        switch (nx) {                                                                            \
        case 1: name##_n(w, x, ldx, 1, K, out); break;                                           \
        case 2: name##_n(w, x, ldx, 2, K, out); break;                                           \
        case 3: name##_n(w, x, ldx, 3, K, out); break;                                           \
        default: name##_n(w, x, ldx, 4, K, out); break;                                          \
        }                                                                                        \
    }

#define SC_I8(v) ((float)(int8_t)(v))
DEFINE_DOT_ELEM(dot_i8_avx2, ld_i8, SC_I8, 1.0f)
DEFINE_DOT_ELEM(dot_e5m2_avx2, ld_e5m2, fp8_e5m2_to_f32, 1.0f)
DEFINE_DOT_ELEM(dot_e4m3_avx2, ld_e4m3_div256, fp8_e4m3_to_f32, 256.0f)

/* 16 nibbles (u8 in a __m128i) → two vectors of (q − z). */
AVX2 static inline void nib16_to_ps(__m128i q, __m256 z, __m256 *a, __m256 *b)
{
    *a = _mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(q)), z);
    *b = _mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(q, 8))), z);
}

/* int4 group g (32/64/128), zp: zero-point layout. Group elements: chunk c
 * of 16 bytes holds elems 16c.. (low nibbles) and g/2 + 16c.. (high). */
AVX2 static inline __attribute__((always_inline)) void dot_i4_rows(const void *w, const float *x, size_t ldx,
                                                                   const int nx, int K, float *out, const int g,
                                                                   const bool zp)
{
    const int bb = xq_i4_hdr(zp) + g / 2, h = g / 2;
    const __m128i m4 = _mm_set1_epi8(15);
    __m256 acc[DOT_MAX_ROWS];
    for (int r = 0; r < nx; r++) acc[r] = _mm256_setzero_ps();
    for (int blk = 0; blk < K / g; blk++) {
        const uint8_t *p = (const uint8_t *)w + (size_t)blk * bb;
        uint16_t dh;
        memcpy(&dh, p, 2);
        __m256 z = _mm256_set1_ps(zp ? (float)(int8_t)p[2] : 8.0f), d = _mm256_set1_ps(_cvtsh_ss(dh));
        const uint8_t *qs = p + xq_i4_hdr(zp);
        /* two chains per row (low and high nibbles) */
        __m256 bl[DOT_MAX_ROWS], bh[DOT_MAX_ROWS];
        for (int r = 0; r < nx; r++) bl[r] = bh[r] = _mm256_setzero_ps();
        for (int c = 0; c < h; c += 16) {
            __m128i q = _mm_loadu_si128((const __m128i *)(qs + c));
            __m256 l0, l1, h0, h1;
            nib16_to_ps(_mm_and_si128(q, m4), z, &l0, &l1);
            nib16_to_ps(_mm_and_si128(_mm_srli_epi16(q, 4), m4), z, &h0, &h1);
            for (int r = 0; r < nx; r++) {
                const float *xb = x + (size_t)r * ldx + (size_t)blk * g;
                __m256 a0 = _mm256_mul_ps(l0, _mm256_loadu_ps(xb + c));
                __m256 a1 = _mm256_mul_ps(h0, _mm256_loadu_ps(xb + h + c));
                a0 = _mm256_fmadd_ps(l1, _mm256_loadu_ps(xb + c + 8), a0);
                a1 = _mm256_fmadd_ps(h1, _mm256_loadu_ps(xb + h + c + 8), a1);
                bl[r] = _mm256_add_ps(bl[r], a0);
                bh[r] = _mm256_add_ps(bh[r], a1);
            }
        }
        for (int r = 0; r < nx; r++) acc[r] = _mm256_fmadd_ps(d, _mm256_add_ps(bl[r], bh[r]), acc[r]);
    }
    for (int r = 0; r < nx; r++) out[r] = hsum8(acc[r]);
}

#define DEFINE_DOT_I4(name, G, ZP)                                                                \
    AVX2 static void name(const void *w, const float *x, size_t ldx, int nx, int K, float *out)  \
    {                                                                                             \
        switch (nx) {                                                                             \
        case 1: dot_i4_rows(w, x, ldx, 1, K, out, G, ZP); break;                                  \
        case 2: dot_i4_rows(w, x, ldx, 2, K, out, G, ZP); break;                                  \
        case 3: dot_i4_rows(w, x, ldx, 3, K, out, G, ZP); break;                                  \
        default: dot_i4_rows(w, x, ldx, 4, K, out, G, ZP); break;                                 \
        }                                                                                         \
    }
DEFINE_DOT_I4(dot_i4s32_avx2, 32, false)
DEFINE_DOT_I4(dot_i4s64_avx2, 64, false)
DEFINE_DOT_I4(dot_i4s128_avx2, 128, false)
DEFINE_DOT_I4(dot_i4a32_avx2, 32, true)
DEFINE_DOT_I4(dot_i4a64_avx2, 64, true)
DEFINE_DOT_I4(dot_i4a128_avx2, 128, true)

dot_rows_fn qx_dot_rows_avx2(enum dtype t)
{
    switch (t) {
    case DT_I8: return dot_i8_avx2;
    case DT_E4M3: return dot_e4m3_avx2;
    case DT_E5M2: return dot_e5m2_avx2;
    case DT_I4S_32: return dot_i4s32_avx2;
    case DT_I4S_64: return dot_i4s64_avx2;
    case DT_I4S_128: return dot_i4s128_avx2;
    case DT_I4A_32: return dot_i4a32_avx2;
    case DT_I4A_64: return dot_i4a64_avx2;
    case DT_I4A_128: return dot_i4a128_avx2;
    default: return NULL;
    }
}

/* ---- W8A8 and FP8A8 ---- */

/* Σ w·a over 32 int8 pairs into 8 int32 lanes: |w| (u8, <= 127) times a with
 * w's sign; pairs stay below 2·127² < 2^15, no saturation. */
#define DEFINE_W8A8(name, ATTR, DOT)                                                            \
    ATTR static void name(const void *w, const void *xq, size_t xs, int nx, int K, float *out) \
    {                                                                                           \
        const int8_t *wq = (const int8_t *)w + XQ_ROW_HDR;                                      \
        for (int r = 0; r < nx; r++) {                                                          \
            const uint8_t *ar = (const uint8_t *)xq + (size_t)r * xs;                           \
            const int8_t *a = (const int8_t *)(ar + XQ_ROW_HDR);                                \
            __m256i acc = _mm256_setzero_si256();                                               \
            int k = 0;                                                                          \
            for (; k + 32 <= K; k += 32) {                                                      \
                __m256i wv = _mm256_loadu_si256((const __m256i *)(wq + k));                     \
                __m256i av = _mm256_loadu_si256((const __m256i *)(a + k));                      \
                acc = DOT(acc, _mm256_abs_epi8(wv), _mm256_sign_epi8(av, wv));                  \
            }                                                                                   \
            int32_t s = hsum8_i32(acc) + xq_dot_i8(wq + k, a + k, K - k);                       \
            out[r] = xq_row_scale(w) * xq_row_scale(ar) * (float)s;                             \
        }                                                                                       \
    }

#define DOT_MADD(acc, u, s) \
    _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1)))
#define DOT_VNNI(acc, u, s) _mm256_dpbusd_epi32((acc), (u), (s))
DEFINE_W8A8(w8a8_avx2, AVX2, DOT_MADD)
DEFINE_W8A8(w8a8_vnni, VNNI, DOT_VNNI)

/* E4M3 × E4M3 products in f32 (exact: 4-bit significands), summed in f32;
 * both operands read as halves 2^-8 small, so the sum is scaled by 2^16. */
AVX2 static void f8a8_avx2(const void *w, const void *xq, size_t xs, int nx, int K, float *out)
{
    const uint8_t *wb = (const uint8_t *)w + XQ_ROW_HDR;
    for (int r = 0; r < nx; r++) {
        const uint8_t *ar = (const uint8_t *)xq + (size_t)r * xs, *a = ar + XQ_ROW_HDR;
        __m256 acc = _mm256_setzero_ps();
        int k = 0;
        for (; k + 8 <= K; k += 8) acc = _mm256_fmadd_ps(ld_e4m3_div256(wb + k), ld_e4m3_div256(a + k), acc);
        float s = hsum8(acc) * 65536.0f;
        for (; k < K; k++) s += fp8_e4m3_to_f32(wb[k]) * fp8_e4m3_to_f32(a[k]);
        out[r] = xq_row_scale(w) * xq_row_scale(ar) * s;
    }
}

qx_act_dot_fn qx_act_dot_avx2(enum dtype wt, bool vnni)
{
    if (wt == DT_W8A8) return vnni ? w8a8_vnni : w8a8_avx2;
    if (wt == DT_F8A8) return f8a8_avx2;
    return NULL;
}

bool qx_have_vnni(void)
{
    static _Atomic int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl") &&
                 __builtin_cpu_supports("avx512f");
    }
    return cached;
}

#else

dot_rows_fn qx_dot_rows_avx2(enum dtype t) { (void)t; return NULL; }
qx_act_dot_fn qx_act_dot_avx2(enum dtype wt, bool vnni) { (void)wt; (void)vnni; return NULL; }
bool qx_have_vnni(void) { return false; }

#endif
