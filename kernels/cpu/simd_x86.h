/* kernels/cpu/simd_x86.h — small AVX2 helpers the CPU kernels share: a
 * horizontal sum, a horizontal max and the int8 rounding of an activation
 * quantizer. `static inline` with their own target attribute, so a file
 * built without -mavx2 includes them; callers check the CPU first
 * (cpu_simd_detect). Used by the 2:4 kernels (sparse24_dot.c, sparse24_q8.c)
 * and, for simd_hsum8, by quant_avx2.c and qx_avx2.c. */
#ifndef INFERTOP_SIMD_X86_H
#define INFERTOP_SIMD_X86_H

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define SIMD_TGT_AVX2 __attribute__((target("avx2,fma,f16c")))

/* v0 + ... + v7, as ((v0+v4) + (v2+v6)) + ((v1+v5) + (v3+v7)). */
SIMD_TGT_AVX2 static inline float simd_hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* max(v0, ..., v7) (exact). */
SIMD_TGT_AVX2 static inline float simd_hmax8(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* |v| per lane. */
SIMD_TGT_AVX2 static inline __m256 simd_abs8(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.f), v); }

/* round(v · id) per lane, clamped to [-127, 127]: the scalar quantizer's
 * lrintf(x · id) (vcvtps2dq rounds to nearest even in the default mode; x·id
 * is the same f32 product), so a vector quantizer writes its bytes. */
SIMD_TGT_AVX2 static inline __m256i simd_q8_round(__m256 v, __m256 id)
{
    __m256i q = _mm256_cvtps_epi32(_mm256_mul_ps(v, id));
    return _mm256_max_epi32(_mm256_min_epi32(q, _mm256_set1_epi32(127)), _mm256_set1_epi32(-127));
}
#endif

#endif
