/* kernels/cpu/qx_avx2.c — AVX2 (and AVX-512 VNNI) kernels of the own
 * quantized formats; see qx.h. Weights are dequantized in registers:
 *   (the weight-only kernels are qx_wide.h; here its 8-lane primitives)
 *   int8      vpmovsxbd + vcvtdq2ps, 8 per step;
 *   fp8       bytes → IEEE half bits → vcvtph2ps: E5M2 is a half's top byte
 *             (b << 8, exact incl. subnormals, inf, NaN); E4M3's 7 magnitude
 *             bits shifted left 7 are a half 2^8 smaller (subnormals land on
 *             half subnormals), so the row's sum is scaled by 256 once;
 *   int4      8 packed bytes zero-extended to dwords → 8 low (mask) + 8 high
 *             (shift) nibbles → d·q − z·d by one FMA each;
 *   W8A8      int8 · int8 → int32 exactly: vpmaddubsw on |w| and sign(x, w)
 *             (AVX2) or vpdpbusd (VNNI), scales applied once per row.
 * Tails (K not a multiple of the vector step) go element by element.
 * Compiled with per-function target attributes; callers check the CPU. */
#include "kernels/cpu/qx.h"
#include "kernels/fp8.h"
#include "kernels/xq_blocks.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include "kernels/cpu/simd_x86.h"

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")))

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

/* ---- weight-only kernels: qx_wide.h at 8 lanes ---- */

#define QW_ATTR AVX2
#define QW_V __m256
#define QW_VL 8
#define QW_ZERO() _mm256_setzero_ps()
#define QW_ADD(a, b) _mm256_add_ps((a), (b))
#define QW_FMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define QW_LOADX(p) _mm256_loadu_ps(p)
#define QW_HSUM(v) simd_hsum8(v)
#define QW_SUFFIX(name) name##_avx2
#define QW_LD_I8(p) _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(load8(p)))
#define QW_LD_E5M2(p) ld_e5m2(p)
#define QW_LD_E4M3(p) ld_e4m3_div256(p)

/* int4 group: d and −z·d broadcast; a weight is fma(q, d, −z·d). */
typedef struct { __m256 d, nzd; } QW_I4;
#define QW_I4_CHAINS 1

AVX2 static inline __attribute__((always_inline)) QW_I4 qw_i4_prep(const uint8_t *blk, bool zp)
{
    uint16_t dh;
    memcpy(&dh, blk, 2);
    float d = _cvtsh_ss(dh), z = zp ? (float)(int8_t)blk[2] : 8.0f;
    return (QW_I4){_mm256_set1_ps(d), _mm256_set1_ps(-z * d)};
}

/* 8 packed bytes → 8 low-nibble and 8 high-nibble weights. */
AVX2 static inline __attribute__((always_inline)) void qw_i4_span(const QW_I4 *st, const uint8_t *qs, __m256 *lo,
                                                                  __m256 *hi)
{
    __m256i b = _mm256_cvtepu8_epi32(load8(qs));
    *lo = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_and_si256(b, _mm256_set1_epi32(15))), st->d, st->nzd);
    *hi = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(b, 4)), st->d, st->nzd);
}

#include "kernels/cpu/qx_wide.h"

/* ---- int8 / int4 g32 on 16-bit activations: qx_a16_wide.h at 8 lanes ----
 * vpmaddwd: 16 int16 pairs → 8 int32 lanes; the int4 step is one group:
 * its 16 packed bytes widened to words, low nibbles by a mask, high ones by
 * a shift (bytes <= 255: no mask needed). */

#define QA_ATTR AVX2
#define QA_VI __m256i
#define QA_V __m256
#define QA_VL 8
#define QA_ZI() _mm256_setzero_si256()
#define QA_ZF() _mm256_setzero_ps()
#define QA_LDI(p) _mm256_loadu_si256((const __m256i *)(p))
#define QA_ADDI(a, b) _mm256_add_epi32((a), (b))
#define QA_CVT(v) _mm256_cvtepi32_ps(v)
#define QA_ADDF(a, b) _mm256_add_ps((a), (b))
#define QA_FMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define QA_HSUM(v) simd_hsum8(v)
#define QA_DOT(acc, a, b) _mm256_add_epi32((acc), _mm256_madd_epi16((a), (b)))
#define QA_LD_I8W(p) _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(p)))
#define QA_UNIT_G 1
#define QA_X_LO(u) ((size_t)((u) / 2) * 64 + (size_t)((u) % 2) * 16)
#define QA_X_HI(u) (QA_X_LO(u) + 32)
#define QA_SUFFIX(name) name##_avx2

AVX2 static inline __attribute__((always_inline)) void qa_i4_words(const uint8_t *blk, bool two, __m256i *lo, __m256i *hi)
{
    (void)two;
    __m256i b = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(blk + 2)));
    *lo = _mm256_and_si256(b, _mm256_set1_epi16(15));
    *hi = _mm256_srli_epi16(b, 4);
}

AVX2 static inline __attribute__((always_inline)) __m256 qa_i4_scales(const uint8_t *blk, bool two)
{
    (void)two;
    uint16_t dh;
    memcpy(&dh, blk, 2);
    return _mm256_set1_ps(_cvtsh_ss(dh));
}

#include "kernels/cpu/qx_a16_wide.h"

/* x[K] → a 16-bit activation row (qx_a16.c's layout and rounding: x̂ =
 * rint(x · (32767 / max|x|)), one product and vcvtps2dq's round to nearest
 * even, so the same bits as the scalar conversion). False, with xa
 * untouched, when x holds an inf or NaN (the scalar conversion handles it). */
AVX2 bool qx_a16_row_avx2(enum dtype t, const float *x, void *xa, int K)
{
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 mx = _mm256_setzero_ps(), bad = _mm256_setzero_ps();
    int k = 0;
    for (; k + 8 <= K; k += 8) {
        __m256 v = _mm256_loadu_ps(x + k);
        mx = _mm256_max_ps(mx, _mm256_and_ps(v, absm));
        bad = _mm256_add_ps(bad, _mm256_mul_ps(v, _mm256_setzero_ps()));   /* NaN once any inf/NaN */
    }
    float m = simd_hmax8(mx), b = simd_hsum8(bad);
    for (; k < K; k++) { m = fmaxf(m, fabsf(x[k])); b += x[k] * 0.0f; }
    if (b != 0 || m != m) return false;
    float s = m / 32767.0f, inv = m > 0 ? 32767.0f / m : 0;
    uint8_t *hdr = xa;
    memset(hdr, 0, qx_a16_bytes(t, K));      /* padding and the int4 sums start at 0 */
    memcpy(hdr, &s, sizeof s);
    int16_t *q = (int16_t *)(hdr + 64);
    const bool i4 = t == DT_I4S_32;
    const int np = (K / 32 + 1) / 2;
    int32_t *init = (int32_t *)(q + (size_t)np * 64);
    const __m256 vi = _mm256_set1_ps(inv);
    for (k = 0; k + 16 <= K; k += 16) {
        __m256i a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k), vi));
        __m256i c = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k + 8), vi));
        __m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, c), 0xd8);
        int g = k / 32, e = k % 32;
        size_t at = i4 ? (size_t)(g / 2) * 64 + (size_t)(e / 16) * 32 + (size_t)(g % 2) * 16 : (size_t)k;
        _mm256_storeu_si256((__m256i *)(q + at), p);
        if (i4) init[g * 8] -= 8 * hsum8_i32(_mm256_add_epi32(a, c));
    }
    for (; k < K; k++) {      /* int8 only: int4 rows are whole groups of 32 */
        float r = rintf(x[k] * inv);
        q[k] = (int16_t)(r > 32767.0f ? 32767.0f : r < -32767.0f ? -32767.0f : r);
    }
    return true;
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
        float s = simd_hsum8(acc) * 65536.0f;
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
qx_wrows4_fn qx_wrows4_avx2(enum dtype t) { (void)t; return NULL; }
qx_act_dot_fn qx_a16_rows_avx2(enum dtype t) { (void)t; return NULL; }
qx_a16_wrows4_fn qx_a16_wrows4_avx2(enum dtype t) { (void)t; return NULL; }
bool qx_a16_row_avx2(enum dtype t, const float *x, void *xa, int K) { (void)t; (void)x; (void)xa; (void)K; return false; }
qx_act_dot_fn qx_act_dot_avx2(enum dtype wt, bool vnni) { (void)wt; (void)vnni; return NULL; }
bool qx_have_vnni(void) { return false; }

#endif
