/* kernels/cpu/qx_avx512.c — AVX-512 primitives of the weight-only own-format
 * kernels (the kernels themselves: qx_wide.h), 16 float lanes:
 *   int8      vpmovsxbd + vcvtdq2ps;
 *   fp8       bytes → IEEE half bits → vcvtph2ps (see qx_avx2.c);
 *   int4      the group's 16 possible weights d·(q − z), q = 0..15, are one
 *             register (tab); vpermps looks each weight up by the low 4 bits
 *             of its dword, so a byte zero-extended to a dword indexes its low
 *             nibble as is and, shifted right 4, its high nibble: 16 packed
 *             bytes → 32 weights in a zero-extend, a shift and two permutes
 *             (no mask, no convert, no per-group rescale); the group scale
 *             goes through F16C in registers.
 * Picked at CPU_SIMD_AVX512 (F+BW+VL+F16C, cpu_simd_detect). */
#include "kernels/cpu/qx.h"
#include "kernels/fp8.h"
#include "kernels/xq_blocks.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#define QW_ATTR __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))
#define QW_V __m512
#define QW_VL 16
#define QW_ZERO() _mm512_setzero_ps()
#define QW_ADD(a, b) _mm512_add_ps((a), (b))
#define QW_FMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define QW_LOADX(p) _mm512_loadu_ps(p)
#define QW_HSUM(v) _mm512_reduce_add_ps(v)
#define QW_SUFFIX(name) name##_avx512

QW_ATTR static inline __attribute__((always_inline)) __m128i ld16(const uint8_t *p)
{
    return _mm_loadu_si128((const __m128i *)p);
}

#define QW_LD_I8(p) _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(ld16(p)))
#define QW_LD_E5M2(p) _mm512_cvtph_ps(_mm256_slli_epi16(_mm256_cvtepu8_epi16(ld16(p)), 8))

/* E4M3 read as a half 2^8 smaller (see qx_avx2.c): the caller scales by 256. */
QW_ATTR static inline __attribute__((always_inline)) __m512 ld16_e4m3_div256(const uint8_t *p)
{
    __m256i b = _mm256_cvtepu8_epi16(ld16(p));
    __m256i sign = _mm256_slli_epi16(_mm256_and_si256(b, _mm256_set1_epi16(0x80)), 8);
    __m256i mag = _mm256_slli_epi16(_mm256_and_si256(b, _mm256_set1_epi16(0x7f)), 7);
    return _mm512_cvtph_ps(_mm256_or_si256(sign, mag));
}
#define QW_LD_E4M3(p) ld16_e4m3_div256(p)

typedef struct { __m512 tab; } QW_I4;
#define QW_I4_CHAINS 2

/* tab = d·(q − z) for q = 0..15: the decoder's product, rounded once. */
QW_ATTR static inline __attribute__((always_inline)) QW_I4 qw_i4_prep(const uint8_t *blk, bool zp)
{
    const __m512 iota = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    uint16_t dh;
    memcpy(&dh, blk, 2);
    __m512 z = _mm512_set1_ps(zp ? (float)(int8_t)blk[2] : 8.0f);
    __m512 d = _mm512_cvtph_ps(_mm256_set1_epi16((short)dh));
    return (QW_I4){_mm512_mul_ps(_mm512_sub_ps(iota, z), d)};
}

QW_ATTR static inline __attribute__((always_inline)) void qw_i4_span(const QW_I4 *st, const uint8_t *qs, __m512 *lo,
                                                                     __m512 *hi)
{
    __m512i b = _mm512_cvtepu8_epi32(ld16(qs));
    *lo = _mm512_permutexvar_ps(b, st->tab);
    *hi = _mm512_permutexvar_ps(_mm512_srli_epi32(b, 4), st->tab);
}

#include "kernels/cpu/qx_wide.h"

/* ---- int8 / int4 g32 on 16-bit activations: qx_a16_wide.h at 16 lanes ----
 * AVX-512 VNNI vpdpwssd: 32 int16 pairs into 16 int32 lanes in one uop. The
 * int4 step is two groups A, B: their packed bytes widened to 32 words
 * [A | B], low nibbles masked, high ones shifted; lanes 0-7 sum A, 8-15 B
 * (the activation layout matches), scaled by [dA ×8 | dB ×8]. */

#define QA_ATTR __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#define QA_VI __m512i
#define QA_V __m512
#define QA_VL 16
#define QA_ZI() _mm512_setzero_si512()
#define QA_ZF() _mm512_setzero_ps()
#define QA_LDI(p) _mm512_loadu_si512((const void *)(p))
#define QA_ADDI(a, b) _mm512_add_epi32((a), (b))
#define QA_CVT(v) _mm512_cvtepi32_ps(v)
#define QA_ADDF(a, b) _mm512_add_ps((a), (b))
#define QA_FMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define QA_HSUM(v) _mm512_reduce_add_ps(v)
#define QA_DOT(acc, a, b) _mm512_dpwssd_epi32((acc), (a), (b))
#define QA_LD_I8W(p) _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(p)))
#define QA_UNIT_G 2
#define QA_X_LO(u) ((size_t)(u) * 64)
#define QA_X_HI(u) ((size_t)(u) * 64 + 32)
#define QA_SUFFIX(name) name##_avx512

/* Groups A (blk) and B (blk + 18; zero where !two: the row's odd last group). */
QA_ATTR static inline __attribute__((always_inline)) void qa_i4_words(const uint8_t *blk, bool two, __m512i *lo,
                                                                      __m512i *hi)
{
    __m128i qa = _mm_loadu_si128((const __m128i *)(blk + 2));
    __m128i qb = two ? _mm_loadu_si128((const __m128i *)(blk + 20)) : _mm_setzero_si128();
    __m512i b = _mm512_cvtepu8_epi16(_mm256_inserti128_si256(_mm256_castsi128_si256(qa), qb, 1));
    *lo = _mm512_and_si512(b, _mm512_set1_epi16(15));
    *hi = _mm512_srli_epi16(b, 4);
}

QA_ATTR static inline __attribute__((always_inline)) __m512 qa_i4_scales(const uint8_t *blk, bool two)
{
    uint16_t da, db = 0;
    memcpy(&da, blk, 2);
    if (two) memcpy(&db, blk + 18, 2);
    __m256i h = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16((short)da)), _mm_set1_epi16((short)db), 1);
    return _mm512_cvtph_ps(h);
}

#include "kernels/cpu/qx_a16_wide.h"

#else

dot_rows_fn qx_dot_rows_avx512(enum dtype t) { (void)t; return NULL; }
qx_wrows4_fn qx_wrows4_avx512(enum dtype t) { (void)t; return NULL; }
qx_act_dot_fn qx_a16_rows_avx512(enum dtype t) { (void)t; return NULL; }
qx_a16_wrows4_fn qx_a16_wrows4_avx512(enum dtype t) { (void)t; return NULL; }

#endif
