/* kernels/cpu/sparse24_dot.c — 2:4 sparse row dots: out[r] = Σ_k kept_k ·
 * x_r[pos_k] over a row's kept values (kernels/sparse24.h).
 *
 * Per 16-element block the 16-bit metadata becomes 8 gather indices
 * 4g + nibble bits (a variable shift, a mask and an add); the block's 16 x
 * values are loaded (contiguous, cached) and permuted with them, so the only
 * weight bytes streamed are the kept values and the metadata:
 *   AVX2:    one block per step, two permutevar8x32 + a blend (lanes 0-3 come
 *            from x[0..7], lanes 4-7 from x[8..15]);
 *   AVX-512: two blocks per vector, one permutex2var over their 32 x values;
 *            four blocks per step in two fma chains.
 * The 4-row kernel (prefill) decodes the indices and values once and reuses
 * them for each x row. Scalar reference: sparse24_index per kept value. */
#include "kernels/cpu/sparse24_dot.h"
#include "kernels/sparse24.h"

#include <stdint.h>
#include <string.h>

/* ---- scalar ------------------------------------------------------------ */

static inline unsigned blk_meta(const unsigned char *blk)
{
    uint16_t m;
    memcpy(&m, blk, 2);
    return m;
}

/* The 8 kept values of a block as floats. */
static inline void vals_f16(const unsigned char *blk, float v[S24_KEPT])
{
    uint16_t h[S24_KEPT];
    memcpy(h, blk + 2, sizeof h);
    for (int k = 0; k < S24_KEPT; k++) v[k] = fp16_to_fp32(h[k]);
}
static inline void vals_f32(const unsigned char *blk, float v[S24_KEPT])
{
    memcpy(v, blk + 2, S24_KEPT * sizeof *v);
}
static inline void vals_q8(const unsigned char *blk, float v[S24_KEPT])
{
    uint16_t dh;
    memcpy(&dh, blk + 2, 2);
    float d = fp16_to_fp32(dh);
    for (int k = 0; k < S24_KEPT; k++) v[k] = d * (float)(int8_t)blk[4 + k];
}

#define DEFINE_S24_SCALAR(T, BB)                                                               \
    static void s24_rows_##T##_scalar(const void *w, const float *x, size_t ldx, int nx,       \
                                      int K, float *out)                                        \
    {                                                                                           \
        float acc[DOT_MAX_ROWS] = {0};                                                          \
        const unsigned char *blk = w;                                                           \
        for (int b = 0; b < K / S24_BLOCK; b++, blk += (BB)) {                                  \
            float v[S24_KEPT];                                                                  \
            int pos[S24_KEPT];                                                                  \
            unsigned meta = blk_meta(blk);                                                      \
            vals_##T(blk, v);                                                                   \
            for (int k = 0; k < S24_KEPT; k++) pos[k] = b * S24_BLOCK + sparse24_index(meta, k); \
            for (int r = 0; r < nx; r++) {                                                      \
                const float *xr = x + (size_t)r * ldx;                                          \
                for (int k = 0; k < S24_KEPT; k++) acc[r] += v[k] * xr[pos[k]];                 \
            }                                                                                   \
        }                                                                                       \
        for (int r = 0; r < nx; r++) out[r] = acc[r];                                           \
    }

DEFINE_S24_SCALAR(f16, S24_F16_BLOCK_BYTES)
DEFINE_S24_SCALAR(f32, S24_F32_BLOCK_BYTES)
DEFINE_S24_SCALAR(q8, S24_Q8_BLOCK_BYTES)

/* ---- SIMD -------------------------------------------------------------- */
#if defined(__x86_64__) || defined(__i386__)
#include "kernels/cpu/simd_x86.h"

#define TGT_AVX2   SIMD_TGT_AVX2
#define TGT_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

/* 8 gather indices of one block: lane k = 4·(k/2) + ((meta >> 2k) & 3). */
TGT_AVX2 static inline __m256i idx8_avx2(unsigned meta)
{
    const __m256i sh = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
    const __m256i base = _mm256_setr_epi32(0, 0, 4, 4, 8, 8, 12, 12);
    __m256i m = _mm256_srlv_epi32(_mm256_set1_epi32((int)meta), sh);
    return _mm256_add_epi32(_mm256_and_si256(m, _mm256_set1_epi32(3)), base);
}

/* x[idx[k]] for the block's 16 x values: indices < 8 live in lanes 0-3. */
TGT_AVX2 static inline __m256 gather8_avx2(const float *x, __m256i idx)
{
    __m256 p0 = _mm256_permutevar8x32_ps(_mm256_loadu_ps(x), idx);
    __m256 p1 = _mm256_permutevar8x32_ps(_mm256_loadu_ps(x + 8), idx);
    return _mm256_blend_ps(p0, p1, 0xF0);
}

TGT_AVX2 static inline __m256 v8_f16_avx2(const unsigned char *blk)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 2)));
}
TGT_AVX2 static inline __m256 v8_f32_avx2(const unsigned char *blk)
{
    return _mm256_loadu_ps((const float *)(const void *)(blk + 2));
}
TGT_AVX2 static inline __m256 v8_q8_avx2(const unsigned char *blk)
{
    uint16_t dh;
    memcpy(&dh, blk + 2, 2);
    __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(blk + 4))));
    return _mm256_mul_ps(q, _mm256_set1_ps(_cvtsh_ss(dh)));   /* F16C: no call per block */
}

/* Row dot, AVX2: one block per step, two accumulators (even/odd blocks). */
#define DEFINE_S24_AVX2(T, BB)                                                                 \
    TGT_AVX2 static inline __attribute__((always_inline)) void                                 \
    s24_body_##T##_avx2(const void *w, const float *x, size_t ldx, int nx, int K, float *out)   \
    {                                                                                           \
        __m256 a[DOT_MAX_ROWS], c[DOT_MAX_ROWS];                                                \
        for (int r = 0; r < DOT_MAX_ROWS; r++) a[r] = c[r] = _mm256_setzero_ps();               \
        const unsigned char *blk = w;                                                           \
        int nb = K / S24_BLOCK, b = 0;                                                          \
        for (; b + 2 <= nb; b += 2, blk += 2 * (BB)) {                                          \
            __m256i i0 = idx8_avx2(blk_meta(blk)), i1 = idx8_avx2(blk_meta(blk + (BB)));        \
            __m256 v0 = v8_##T##_avx2(blk), v1 = v8_##T##_avx2(blk + (BB));                     \
            for (int r = 0; r < nx; r++) {                                                      \
                const float *xr = x + (size_t)r * ldx + (size_t)b * S24_BLOCK;                  \
                a[r] = _mm256_fmadd_ps(v0, gather8_avx2(xr, i0), a[r]);                         \
                c[r] = _mm256_fmadd_ps(v1, gather8_avx2(xr + S24_BLOCK, i1), c[r]);             \
            }                                                                                   \
        }                                                                                       \
        if (b < nb) {                                                                           \
            __m256i i0 = idx8_avx2(blk_meta(blk));                                              \
            __m256 v0 = v8_##T##_avx2(blk);                                                     \
            for (int r = 0; r < nx; r++)                                                        \
                a[r] = _mm256_fmadd_ps(v0, gather8_avx2(x + (size_t)r * ldx +                   \
                                                        (size_t)b * S24_BLOCK, i0), a[r]);      \
        }                                                                                       \
        for (int r = 0; r < nx; r++) out[r] = simd_hsum8(_mm256_add_ps(a[r], c[r]));                 \
    }                                                                                           \
    TGT_AVX2 static void s24_rows_##T##_avx2(const void *w, const float *x, size_t ldx, int nx, \
                                             int K, float *out)                                 \
    {                                                                                           \
        if (nx == DOT_MAX_ROWS) { s24_body_##T##_avx2(w, x, ldx, DOT_MAX_ROWS, K, out); return; } \
        for (int r = 0; r < nx; r++) s24_body_##T##_avx2(w, x + (size_t)r * ldx, ldx, 1, K, out + r); \
    }

DEFINE_S24_AVX2(f16, S24_F16_BLOCK_BYTES)
DEFINE_S24_AVX2(f32, S24_F32_BLOCK_BYTES)
DEFINE_S24_AVX2(q8, S24_Q8_BLOCK_BYTES)

/* 16 gather indices of two consecutive blocks (metas m0, m1) into their 32 x
 * values: lane k = 4·(k/2) + ((M >> 2k) & 3), M = m0 | m1 << 16. */
TGT_AVX512 static inline __m512i idx16_avx512(unsigned m0, unsigned m1)
{
    const __m512i sh = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i base = _mm512_setr_epi32(0, 0, 4, 4, 8, 8, 12, 12, 16, 16, 20, 20, 24, 24, 28, 28);
    __m512i m = _mm512_srlv_epi32(_mm512_set1_epi32((int)(m0 | m1 << 16)), sh);
    /* (m & 3) | base in one ternary-logic op: base is a multiple of 4 */
    return _mm512_ternarylogic_epi32(m, _mm512_set1_epi32(3), base, 0xEA);
}

TGT_AVX512 static inline __m512 gather16_avx512(const float *x, __m512i idx)
{
    return _mm512_permutex2var_ps(_mm512_loadu_ps(x), idx, _mm512_loadu_ps(x + 16));
}

TGT_AVX512 static inline __m512 v16_f16_avx512(const unsigned char *b0, const unsigned char *b1)
{
    __m128i lo = _mm_loadu_si128((const __m128i *)(b0 + 2));
    __m128i hi = _mm_loadu_si128((const __m128i *)(b1 + 2));
    return _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1));
}
TGT_AVX512 static inline __m512 v16_f32_avx512(const unsigned char *b0, const unsigned char *b1)
{
    __m256 lo = _mm256_loadu_ps((const float *)(const void *)(b0 + 2));
    __m256 hi = _mm256_loadu_ps((const float *)(const void *)(b1 + 2));
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(lo)),
                                               _mm256_castps_pd(hi), 1));
}
TGT_AVX512 static inline __m512 v16_q8_avx512(const unsigned char *b0, const unsigned char *b1)
{
    uint16_t d0, d1;
    memcpy(&d0, b0 + 2, 2);
    memcpy(&d1, b1 + 2, 2);
    __m128i q = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)(b0 + 4)),
                                   _mm_loadl_epi64((const __m128i *)(b1 + 4)));
    __m512 d = _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(_cvtsh_ss(d0)), _mm512_set1_ps(_cvtsh_ss(d1)));
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)), d);
}

/* Row dot, AVX-512: two blocks per vector, four per step into two
 * accumulators (two fma chains: one chain bound decode by the fma latency); a
 * last pair into the first, an odd last block through the AVX2 helpers (the
 * target includes AVX2). */
#define DEFINE_S24_AVX512(T, BB)                                                               \
    TGT_AVX512 static inline __attribute__((always_inline)) void                               \
    s24_body_##T##_avx512(const void *w, const float *x, size_t ldx, int nx, int K, float *out) \
    {                                                                                           \
        __m512 a[DOT_MAX_ROWS], c[DOT_MAX_ROWS];                                                \
        __m256 t[DOT_MAX_ROWS];                                                                 \
        for (int r = 0; r < DOT_MAX_ROWS; r++) {                                                \
            a[r] = c[r] = _mm512_setzero_ps();                                                  \
            t[r] = _mm256_setzero_ps();                                                         \
        }                                                                                       \
        const unsigned char *blk = w;                                                           \
        int nb = K / S24_BLOCK, b = 0;                                                          \
        for (; b + 4 <= nb; b += 4, blk += 4 * (BB)) {                                          \
            __m512i i0 = idx16_avx512(blk_meta(blk), blk_meta(blk + (BB)));                     \
            __m512i i1 = idx16_avx512(blk_meta(blk + 2 * (BB)), blk_meta(blk + 3 * (BB)));      \
            __m512 v0 = v16_##T##_avx512(blk, blk + (BB));                                      \
            __m512 v1 = v16_##T##_avx512(blk + 2 * (BB), blk + 3 * (BB));                       \
            for (int r = 0; r < nx; r++) {                                                      \
                const float *xr = x + (size_t)r * ldx + (size_t)b * S24_BLOCK;                  \
                a[r] = _mm512_fmadd_ps(v0, gather16_avx512(xr, i0), a[r]);                      \
                c[r] = _mm512_fmadd_ps(v1, gather16_avx512(xr + 2 * S24_BLOCK, i1), c[r]);      \
            }                                                                                   \
        }                                                                                       \
        if (b + 2 <= nb) {                                                                      \
            __m512i idx = idx16_avx512(blk_meta(blk), blk_meta(blk + (BB)));                    \
            __m512 v = v16_##T##_avx512(blk, blk + (BB));                                       \
            for (int r = 0; r < nx; r++)                                                        \
                a[r] = _mm512_fmadd_ps(v, gather16_avx512(x + (size_t)r * ldx +                 \
                                                          (size_t)b * S24_BLOCK, idx), a[r]);   \
            b += 2, blk += 2 * (BB);                                                            \
        }                                                                                       \
        if (b < nb) {                                                                           \
            __m256i i0 = idx8_avx2(blk_meta(blk));                                              \
            __m256 v0 = v8_##T##_avx2(blk);                                                     \
            for (int r = 0; r < nx; r++)                                                        \
                t[r] = _mm256_fmadd_ps(v0, gather8_avx2(x + (size_t)r * ldx +                   \
                                                        (size_t)b * S24_BLOCK, i0), t[r]);      \
        }                                                                                       \
        for (int r = 0; r < nx; r++) out[r] = _mm512_reduce_add_ps(_mm512_add_ps(a[r], c[r])) + simd_hsum8(t[r]); \
    }                                                                                           \
    TGT_AVX512 static void s24_rows_##T##_avx512(const void *w, const float *x, size_t ldx,    \
                                                 int nx, int K, float *out)                     \
    {                                                                                           \
        if (nx == DOT_MAX_ROWS) { s24_body_##T##_avx512(w, x, ldx, DOT_MAX_ROWS, K, out); return; } \
        for (int r = 0; r < nx; r++) s24_body_##T##_avx512(w, x + (size_t)r * ldx, ldx, 1, K, out + r); \
    }

DEFINE_S24_AVX512(f16, S24_F16_BLOCK_BYTES)
DEFINE_S24_AVX512(f32, S24_F32_BLOCK_BYTES)
DEFINE_S24_AVX512(q8, S24_Q8_BLOCK_BYTES)
#define HAVE_X86_SIMD 1
#endif

/* ---- dispatch ---------------------------------------------------------- */

dot_rows_fn cpu_s24_dot_rows_fn(enum dtype t, enum cpu_simd s)
{
#ifdef HAVE_X86_SIMD
    if (s >= CPU_SIMD_AVX512)
        return t == DT_S24_F16 ? s24_rows_f16_avx512 : t == DT_S24_F32 ? s24_rows_f32_avx512
             : t == DT_S24_Q8 ? s24_rows_q8_avx512 : NULL;
    if (s == CPU_SIMD_AVX2)
        return t == DT_S24_F16 ? s24_rows_f16_avx2 : t == DT_S24_F32 ? s24_rows_f32_avx2
             : t == DT_S24_Q8 ? s24_rows_q8_avx2 : NULL;
#else
    (void)s;
#endif
    return t == DT_S24_F16 ? s24_rows_f16_scalar : t == DT_S24_F32 ? s24_rows_f32_scalar
         : t == DT_S24_Q8 ? s24_rows_q8_scalar : NULL;
}
