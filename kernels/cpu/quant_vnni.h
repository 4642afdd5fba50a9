/* kernels/cpu/quant_vnni.h — private to quant_vnni.c and quant_panel.c: the
 * lane-layout helpers of the AVX-512 VNNI dot kernels (x86 only). One block
 * pair fills a 512-bit register: Q4 weight [lo nibbles b0 | hi b0 | lo b1 |
 * hi b1], x [x b0 | x b1]; per-block scales are spread over the block's
 * lanes (0-7 block 0, 8-15 block 1). The decode rows, the prefill tile and
 * the packed panels build these values with the same helpers, so their
 * float steps (and results) agree bit for bit. */
#ifndef INFERTOP_QUANT_VNNI_H
#define INFERTOP_QUANT_VNNI_H

#include "kernels/cpu/quant_blocks.h"

#include <immintrin.h>
#include <stdbool.h>
#include <string.h>

#define VNNI512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
static inline uint16_t ld_u16(const void *p) { uint16_t v; memcpy(&v, p, 2); return v; }

/* x blocks i (and i+1 when two) as 64 bytes; upper half zero for one. */
VNNI512 static inline __m512i x_pair(const struct act_q8 *a, int i, bool two)
{
    __m256i x0 = _mm256_loadu_si256((const __m256i *)a[i].qs);
    return two ? _mm512_inserti64x4(_mm512_castsi256_si512(x0), _mm256_loadu_si256((const __m256i *)a[i + 1].qs), 1)
               : _mm512_zextsi256_si512(x0);
}

/* 16 packed bytes of block 0 (and block 1) → [lo0 | hi0 | lo1 | hi1] nibbles. */
VNNI512 static inline __m512i nibble_pair(const uint8_t *qs0, size_t blk_bytes, bool two)
{
    __m128i q0 = _mm_loadu_si128((const __m128i *)qs0);
    __m256i q = two ? _mm256_inserti128_si256(_mm256_castsi128_si256(q0),
                                              _mm_loadu_si128((const __m128i *)(qs0 + blk_bytes)), 1)
                    : _mm256_zextsi128_si256(q0);
    __m512i qq = _mm512_castsi256_si512(q);
    qq = _mm512_shuffle_i64x2(qq, qq, _MM_SHUFFLE(1, 1, 0, 0));
    qq = _mm512_srlv_epi64(qq, _mm512_set_epi64(4, 4, 0, 0, 4, 4, 0, 0));
    return _mm512_and_si512(qq, _mm512_set1_epi8(15));
}

/* [v0, v1, ...] → lanes 0-7 v0, lanes 8-15 v1. */
VNNI512 static inline __m512 spread2(__m128 v)
{
    return _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                                 _mm512_castps128_ps512(v));
}

/* Two fp16 scales → spread2 of their floats. */
VNNI512 static inline __m512 spread_f16(uint16_t h0, uint16_t h1)
{
    return spread2(_mm_cvtph_ps(_mm_cvtsi32_si128((int)(h0 | (uint32_t)h1 << 16))));
}

/* out[0..3] = the full sums of a[0..3]. */
VNNI512 static inline __m128 hsum4x16(const __m512 a[4])
{
    __m256 h[4];
    _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) h[c] = _mm256_add_ps(_mm512_castps512_ps256(a[c]), _mm512_extractf32x8_ps(a[c], 1));
    __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(h[0], h[1]), _mm256_hadd_ps(h[2], h[3]));
    return _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
}

static inline uint64_t pack4_h(uint16_t a, uint16_t b, uint16_t c, uint16_t d)
{
    return a | (uint64_t)b << 16 | (uint64_t)c << 32 | (uint64_t)d << 48;
}

#endif
