/* kernels/cpu/float_vec.h — element loads of the float weight formats (f32,
 * f16, bf16) shared by the row kernels (cpu_dot.c) and the register tiles
 * (dot_tile.c): one element as a float, W elements as a vector (AVX2: 8,
 * AVX-512: 16) and the horizontal sums. `static inline` with their own
 * target attributes, so files built without -m flags include them; callers
 * check the CPU first (cpu_simd_detect). */
#ifndef INFERTOP_FLOAT_VEC_H
#define INFERTOP_FLOAT_VEC_H

#include "kernels/formats.h"

#include <stdint.h>
#include <string.h>

static inline float wval_f32(const void *w, int k)  { return ((const float *)w)[k]; }
static inline float wval_f16(const void *w, int k)  { return fp16_to_fp32(((const uint16_t *)w)[k]); }
/* bf16 is the top half of an f32: inline the shift (bf16_to_fp32 is out of line). */
static inline float wval_bf16(const void *w, int k)
{
    uint32_t u = (uint32_t)((const uint16_t *)w)[k] << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TGT_AVX2   __attribute__((target("avx2,fma,f16c")))
#define TGT_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

/* Load W elements of a row starting at k as floats. */
TGT_AVX2 static inline __m256 ld_f32_avx2(const void *w, int k)
{
    return _mm256_loadu_ps((const float *)w + k);
}
TGT_AVX2 static inline __m256 ld_f16_avx2(const void *w, int k)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + k)));
}
TGT_AVX2 static inline __m256 ld_bf16_avx2(const void *w, int k)
{
    __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)w + k));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
TGT_AVX2 static inline float hsum_avx2(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
/* out[j] = hsum_avx2(v_j) bit for bit (the same tree: halves, then lanes
 * i + 2, then i + 1), for four vectors at once with fewer shuffles. */
TGT_AVX2 static inline void hsum4_avx2(__m256 a, __m256 b, __m256 c, __m256 d, float out[4])
{
    __m256 ab = _mm256_add_ps(_mm256_permute2f128_ps(a, b, 0x20), _mm256_permute2f128_ps(a, b, 0x31));
    __m256 cd = _mm256_add_ps(_mm256_permute2f128_ps(c, d, 0x20), _mm256_permute2f128_ps(c, d, 0x31));
    /* ab = [a4 | b4], cd = [c4 | d4]; t = [a0+a2, a1+a3, c0+c2, c1+c3 | the same for b, d] */
    __m256 t = _mm256_add_ps(_mm256_shuffle_ps(ab, cd, 0x44), _mm256_shuffle_ps(ab, cd, 0xEE));
    __m256 h = _mm256_hadd_ps(t, t);   /* [a, c, a, c | b, d, b, d] */
    __m128 lo = _mm256_castps256_ps128(h), hi = _mm256_extractf128_ps(h, 1);
    _mm_storeu_ps(out, _mm_unpacklo_ps(lo, hi));   /* [a, b, c, d] */
}

TGT_AVX512 static inline __m512 ld_f32_avx512(const void *w, int k)
{
    return _mm512_loadu_ps((const float *)w + k);
}
TGT_AVX512 static inline __m512 ld_f16_avx512(const void *w, int k)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)w + k)));
}
TGT_AVX512 static inline __m512 ld_bf16_avx512(const void *w, int k)
{
    __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)w + k));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
/* v0 + ... + v15 as _mm512_reduce_add_ps sums it, written out so that
 * hsum4_avx512's tree is this one by construction: 256-bit halves, 128-bit
 * halves, lanes (i, i + 2), lanes (0, 1). */
TGT_AVX512 static inline float hsum_avx512(__m512 v)
{
    __m256 h8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 h4 = _mm_add_ps(_mm256_castps256_ps128(h8), _mm256_extractf128_ps(h8, 1));
    __m128 h2 = _mm_add_ps(h4, _mm_movehl_ps(h4, h4));
    return _mm_cvtss_f32(_mm_add_ss(h2, _mm_movehdup_ps(h2)));
}
/* out[j] = hsum_avx512(v_j) bit for bit (_mm512_reduce_add_ps's tree: 256-bit
 * halves, 128-bit halves, lanes i + 2, lanes i + 1), four vectors at once. */
TGT_AVX512 static inline void hsum4_avx512(__m512 a, __m512 b, __m512 c, __m512 d, float out[4])
{
    __m512 ab = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));
    __m512 cd = _mm512_add_ps(_mm512_shuffle_f32x4(c, d, 0x44), _mm512_shuffle_f32x4(c, d, 0xEE));
    /* ab = [a8 | b8], cd = [c8 | d8] (128-bit blocks a.lo, a.hi, b.lo, b.hi); s = [a4, b4, c4, d4] */
    __m512 s = _mm512_add_ps(_mm512_shuffle_f32x4(ab, cd, 0x88), _mm512_shuffle_f32x4(ab, cd, 0xDD));
    s = _mm512_add_ps(s, _mm512_permute_ps(s, 0x4E));    /* lanes (i, i + 2) */
    s = _mm512_add_ps(s, _mm512_permute_ps(s, 0xB1));    /* lanes (i, i + 1) */
    __m512 g = _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), s);
    _mm_storeu_ps(out, _mm512_castps512_ps128(g));
}
#endif

#endif
