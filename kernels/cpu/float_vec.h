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
TGT_AVX512 static inline float hsum_avx512(__m512 v) { return _mm512_reduce_add_ps(v); }
#endif

#endif
