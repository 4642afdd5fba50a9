/* kernels/cpu/quant_avx2.c — AVX2 dot products of one quantized weight row with
 * a quantized activation row (the decode hot path). Weights are expanded to
 * unsigned bytes in registers and multiplied with the int8 activations by
 * vpmaddubsw; the offsets (Q4_0's -8, Q6_K's -32) and mins (Q4_1, Q4_K) are
 * folded in afterwards through the activation block sums, so no sign fix-ups
 * are needed per element. Integer sums are exact; only the per-block scaling is
 * float, so results match the scalar path up to summation order.
 *
 * Compiled with per-function target attributes (the library is built without
 * -mavx2); callers must check the CPU first (cpu_simd_detect). F16C converts
 * the fp16 block scales. */
#include "kernels/cpu/quant_blocks.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include "kernels/cpu/simd_x86.h"
#include <math.h>
#include <string.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))

AVX2 static inline float hsum4(__m128 s)
{
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Σ u8[i]*s8[i] in 8 int32 lanes (pairs can't saturate: |u8| <= 63, |s8| <= 127). */
AVX2 static inline __m256i dot_u8s8(__m256i u, __m256i s)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

/* 16 packed bytes → 32 nibbles in ggml order: lane 0 = low nibbles (elems
 * 0..15), lane 1 = high nibbles (elems 16..31). */
AVX2 static inline __m256i unpack_nibbles32(const uint8_t *qs)
{
    __m256i q = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qs));
    q = _mm256_srlv_epi64(q, _mm256_set_epi64x(4, 4, 0, 0));
    return _mm256_and_si256(q, _mm256_set1_epi8(15));
}

static inline uint32_t load_u32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* ---- activations ---- */

/* act_q8_row with vectors; byte-identical to the scalar quantizer (max is
 * exact, x·id is the same f32 product, vcvtps2dq rounds to nearest-even like
 * lrintf in the default rounding mode), so every dot path sees the same xq. */
AVX2 void act_q8_row_avx2(const float *x, struct act_q8 *y, int K)
{
    const __m256 sign = _mm256_set1_ps(-0.f);
    const __m256i lim = _mm256_set1_epi32(127), nlim = _mm256_set1_epi32(-127);
    for (int b = 0; b < K / QK32; b++) {
        const float *xb = x + b * QK32;
        __m256 v[4], mx = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(xb + 8 * k);
            mx = _mm256_max_ps(mx, _mm256_andnot_ps(sign, v[k]));
        }
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        float amax = _mm_cvtss_f32(m4);
        float d = amax / 127.f, id = amax > 0.f ? 127.f / amax : 0.f;
        __m256 idv = _mm256_set1_ps(id);
        __m256i q[4], sum = _mm256_setzero_si256();
        for (int k = 0; k < 4; k++) {
            q[k] = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], idv));
            q[k] = _mm256_max_epi32(_mm256_min_epi32(q[k], lim), nlim);
            sum = _mm256_add_epi32(sum, q[k]);
        }
        /* packs work per 128-bit lane: the permute restores element order */
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
        p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)y[b].qs, p);
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
        int isum = _mm_cvtsi128_si32(s4);
        y[b].d = fp16_to_fp32(fp32_to_fp16(d));
        y[b].s = fp16_to_fp32(fp32_to_fp16(d * (float)isum));
    }
}

/* ---- Q8_0, Q4_0, Q4_1: the same float steps as the prefill tiles ----
 *
 * quant_tile.c computes each (weight row, x row) pair of a tile with one
 * accumulation chain acc = fma(dx*dw, Σ, acc) over the blocks, the offset
 * term as side = fma(m, s, side), and the horizontal sum
 * ((a0+a1)+(a2+a3)) + ((a4+a5)+(a6+a7)) + side. These row dots take exactly
 * those steps, so a row's result does not depend on how many rows its matmul
 * has (tile or pair): batch invariance, which speculative decoding's verify
 * (k+1 rows) needs to reproduce a one-row decode bit for bit. */

/* The tiles' horizontal sum of one accumulator (hsum4x8's lane order). */
AVX2 static inline float hsum8_tile(__m256 v)
{
    __m256 t = _mm256_hadd_ps(v, v);
    t = _mm256_hadd_ps(t, t);
    return _mm_cvtss_f32(_mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1)));
}

/* One 32-block: acc += (dx*d) * Σw·x; |w| times x with w's sign keeps
 * vpmaddubsw's first operand unsigned. */
AVX2 static inline void q8_block(const struct blk_q8_0 *b, const struct act_q8 *a, __m256 *acc)
{
    __m256i wq = _mm256_loadu_si256((const __m256i *)b->qs);
    __m256i xv = _mm256_loadu_si256((const __m256i *)a->qs);
    __m256i p = dot_u8s8(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(xv, wq));
    *acc = _mm256_fmadd_ps(_mm256_set1_ps(a->d * _cvtsh_ss(b->d)), _mm256_cvtepi32_ps(p), *acc);
}

AVX2 float dot_q8_0_avx2(const void *w, const void *xq, int K)
{
    const struct blk_q8_0 *b = w;
    const struct act_q8 *a = xq;
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < K / QK32; i++) q8_block(&b[i], &a[i], &acc);
    return hsum8_tile(acc);
}

/* One 32-block of 4-bit weights: acc += (dx*d) * Σq·qx lane-wise and
 * side = fma(mw, s, side), mw = m (Q4_1) or -8·d (Q4_0). */
AVX2 static inline void q4_block(const uint8_t *qs, float d, float mw, const struct act_q8 *a, __m256 *acc,
                                 float *side)
{
    __m256i p = dot_u8s8(unpack_nibbles32(qs), _mm256_loadu_si256((const __m256i *)a->qs));
    *side = fmaf(mw, a->s, *side);
    *acc = _mm256_fmadd_ps(_mm256_set1_ps(a->d * d), _mm256_cvtepi32_ps(p), *acc);
}

AVX2 float dot_q4_1_avx2(const void *w, const void *xq, int K)
{
    const struct blk_q4_1 *b = w;
    const struct act_q8 *a = xq;
    __m256 acc = _mm256_setzero_ps();
    float side = 0.f;
    for (int i = 0; i < K / QK32; i++) q4_block(b[i].qs, _cvtsh_ss(b[i].d), _cvtsh_ss(b[i].m), &a[i], &acc, &side);
    return hsum8_tile(acc) + side;
}

AVX2 float dot_q4_0_avx2(const void *w, const void *xq, int K)
{
    const struct blk_q4_0 *b = w;
    const struct act_q8 *a = xq;
    __m256 acc = _mm256_setzero_ps();
    float side = 0.f;
    for (int i = 0; i < K / QK32; i++) {
        float d = _cvtsh_ss(b[i].d);
        q4_block(b[i].qs, d, -8.f * d, &a[i], &acc, &side);
    }
    return hsum8_tile(acc) + side;
}

/* ---- Q4_K ---- */

/* The 8 scales and 8 mins as bytes (see q4k_unpack_scales), 4 at a time. */
static inline void q4k_scales_u64(const uint8_t s[12], uint64_t *sc, uint64_t *mn)
{
    uint32_t u0 = load_u32(s), u1 = load_u32(s + 4), u2 = load_u32(s + 8);
    uint32_t sc_lo = u0 & 0x3f3f3f3fu, mn_lo = u1 & 0x3f3f3f3fu;
    uint32_t sc_hi = (u2 & 0x0f0f0f0fu) | ((u0 >> 2) & 0x30303030u);
    uint32_t mn_hi = ((u2 >> 4) & 0x0f0f0f0fu) | ((u1 >> 2) & 0x30303030u);
    *sc = sc_lo | ((uint64_t)sc_hi << 32);
    *mn = mn_lo | ((uint64_t)mn_hi << 32);
}

/* Byte-shuffle controls that broadcast int16 element k of a lane to all 16 words. */
AVX2 static inline __m256i word_bcast(int k)
{
    return _mm256_set1_epi16((short)((2 * k) | ((2 * k + 1) << 8)));
}

AVX2 float dot_q4_k_avx2(const void *w, const void *xq, int K)
{
    const struct blk_q4_k *b = w;
    const struct act_q8k *a = xq;
    const __m256i m4 = _mm256_set1_epi8(15);
    __m256 acc = _mm256_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    for (int i = 0; i < K / QKK; i++) {
        uint64_t sc8, mn8;
        q4k_scales_u64(b[i].scales, &sc8, &mn8);
        float d = _cvtsh_ss(b[i].d) * a[i].d, dmin = _cvtsh_ss(b[i].dmin) * a[i].d;

        /* mins: Σ_j mn_j * (bsums[2j] + bsums[2j+1]) */
        __m256i bs = _mm256_loadu_si256((const __m256i *)a[i].bsums);
        __m128i pair = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
        __m128i mn16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mn8));
        accm = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(_mm_madd_epi16(mn16, pair)), accm);

        __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc8)));
        __m256i sumi = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(b[i].qs + 32 * c));
            __m256i lo = _mm256_and_si256(q, m4);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            __m256i x0 = _mm256_loadu_si256((const __m256i *)(a[i].qs + 64 * c));
            __m256i x1 = _mm256_loadu_si256((const __m256i *)(a[i].qs + 64 * c + 32));
            __m256i p0 = _mm256_maddubs_epi16(lo, x0), p1 = _mm256_maddubs_epi16(hi, x1);
            __m256i s0 = _mm256_shuffle_epi8(sc16, word_bcast(2 * c));
            __m256i s1 = _mm256_shuffle_epi8(sc16, word_bcast(2 * c + 1));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(_mm256_madd_epi16(p0, s0),
                                                           _mm256_madd_epi16(p1, s1)));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return simd_hsum8(acc) - hsum4(accm);
}

/* ---- Q6_K ---- */

/* Shuffle controls for Q6_K scales: lane 0 gets word 2k, lane 1 word 2k+1. */
AVX2 static inline __m256i word_pair_bcast(int k)
{
    short lo = (short)((4 * k) | ((4 * k + 1) << 8)), hi = (short)((4 * k + 2) | ((4 * k + 3) << 8));
    return _mm256_setr_epi16(lo, lo, lo, lo, lo, lo, lo, lo, hi, hi, hi, hi, hi, hi, hi, hi);
}

AVX2 float dot_q6_k_avx2(const void *w, const void *xq, int K)
{
    const struct blk_q6_k *b = w;
    const struct act_q8k *a = xq;
    const __m256i m4 = _mm256_set1_epi8(15), m30 = _mm256_set1_epi8(0x30);
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < K / QKK; i++) {
        float d = _cvtsh_ss(b[i].d) * a[i].d;
        __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)b[i].scales));
        /* -32 offset: Σ_j sc_j * bsums[j] */
        __m256i corr = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)a[i].bsums), sc16);
        /* scales 8h..8h+7 of half h in both lanes */
        const __m256i sc_half[2] = {_mm256_permute2x128_si256(sc16, sc16, 0x00),
                                    _mm256_permute2x128_si256(sc16, sc16, 0x11)};
        __m256i sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i sch = sc_half[h];
            __m256i ql0 = _mm256_loadu_si256((const __m256i *)(b[i].ql + 64 * h));
            __m256i ql1 = _mm256_loadu_si256((const __m256i *)(b[i].ql + 64 * h + 32));
            __m256i qh = _mm256_loadu_si256((const __m256i *)(b[i].qh + 32 * h));
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
            q[1] = _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m30));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                   _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
            for (int k = 0; k < 4; k++) {
                __m256i xv = _mm256_loadu_si256((const __m256i *)(a[i].qs + 128 * h + 32 * k));
                __m256i p = _mm256_maddubs_epi16(q[k], xv);
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, _mm256_shuffle_epi8(sch, word_pair_bcast(k))));
            }
        }
        sumi = _mm256_sub_epi32(sumi, _mm256_slli_epi32(corr, 5));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return simd_hsum8(acc);
}

#else  /* not x86: the scalar paths stand in */

void act_q8_row_avx2(const float *x, struct act_q8 *y, int K) { act_q8_row(x, y, K); }

float dot_q8_0_avx2(const void *w, const void *xq, int K) { return dot_q8_0_ref(w, xq, K); }
float dot_q4_0_avx2(const void *w, const void *xq, int K) { return dot_q4_0_ref(w, xq, K); }
float dot_q4_1_avx2(const void *w, const void *xq, int K) { return dot_q4_1_ref(w, xq, K); }
float dot_q4_k_avx2(const void *w, const void *xq, int K) { return dot_q4_k_ref(w, xq, K); }
float dot_q6_k_avx2(const void *w, const void *xq, int K) { return dot_q6_k_ref(w, xq, K); }

#endif
