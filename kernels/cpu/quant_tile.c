/* kernels/cpu/quant_tile.c — prefill matmul tiles for the formats paired with
 * act_q8 (Q8_0, Q4_0, Q4_1): up to QUANT_TILE_M x rows × QUANT_TILE_N weight
 * rows per call. Each weight block is loaded (and its nibbles unpacked) once for
 * all x rows of the tile and each x block once for all weight rows, so the
 * int8 work per byte loaded is M·N/(M+N) times that of quant_dot_row.
 *
 * Paths: AVX-512 VNNI (quant_vnni.c: 512-bit vpdpbusd, two blocks per
 * instruction, the 4×4 accumulators in 16 of the 32 zmm registers), AVX2 (vpmaddubsw + vpmaddwd,
 * two passes of 2 x rows so 16 registers suffice) and scalar (the reference
 * dots). Block sums are exact integers; only per-block scaling is float.
 *
 * vpdpbusd multiplies unsigned by signed bytes. Q4 nibbles are unsigned
 * already; for Q8_0 the x bytes are flipped to x+128 (xor 0x80) and the
 * excess 128·Σw is subtracted, per 4-byte lane, from a per-weight-block
 * start value. AVX2 keeps the sign trick of quant_avx2.c (vpmaddubsw would
 * saturate on (x+128)·w). */
#include "kernels/cpu/quant_blocks.h"

#include <string.h>

/* ---- scalar: the reference dot per pair ---- */

static void tile_ref(enum dtype wt, const uint8_t *w, size_t ws, const uint8_t *xq, size_t xs,
                     int mr, int K, float *out, size_t ldo)
{
    float (*dot)(const void *, const void *, int) =
        wt == DT_Q8_0 ? dot_q8_0_ref : wt == DT_Q4_0 ? dot_q4_0_ref : dot_q4_1_ref;
    for (int r = 0; r < mr; r++)
        for (int c = 0; c < QUANT_TILE_N; c++)
            out[(size_t)r * ldo + c] = dot(w + c * ws, xq + r * xs, K);
}

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#define TN QUANT_TILE_N
/* Software prefetch distance of the four weight streams, as in quant_vnni.c
 * (the hardware prefetcher does not keep four interleaved streams ahead). */
#define TILE_PREFETCH 8192
_Static_assert(QUANT_TILE_N == 4 && QUANT_TILE_M == 4, "the kernels below are written for 4x4 tiles");

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")))

/* hsum of each of 4 vectors → one __m128 [h(a), h(b), h(c), h(d)]. */
#define HSUM4X8(attr, name)                                                            \
    attr static inline __m128 name(__m256 a, __m256 b, __m256 c, __m256 d)             \
    {                                                                                  \
        __m256 ab = _mm256_hadd_ps(a, b), cd = _mm256_hadd_ps(c, d);                   \
        __m256 s = _mm256_hadd_ps(ab, cd);                                             \
        return _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));     \
    }
HSUM4X8(AVX2, hsum4x8_avx2)
HSUM4X8(VNNI, hsum4x8_vnni)

static inline uint64_t pack4_u16(uint16_t a, uint16_t b, uint16_t c, uint16_t d)
{
    return a | (uint64_t)b << 16 | (uint64_t)c << 32 | (uint64_t)d << 48;
}

/* Σ u8·s8 into 8 int32 lanes; the VNNI form adds onto `acc`. */
#define DOT_VNNI(acc, u, s) _mm256_dpbusd_epi32((acc), (u), (s))
#define DOT_AVX2(acc, u, s) \
    _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1)))

/* 16 packed bytes → 32 nibbles in ggml order (see quant_avx2.c). */
#define NIBBLES(qs) _mm256_and_si256(_mm256_srlv_epi64(                                     \
    _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(qs))),                      \
    _mm256_set_epi64x(4, 4, 0, 0)), _mm256_set1_epi8(15))

/* Q8_0 x rows [r0, r0+R) × weight rows [0, 4); R is a constant per caller. */
#define DEFINE_TILE_Q8_0(attr, name, R, VNNI_FORM, HSUM)                                   \
    attr static void name(const uint8_t *w, size_t ws, const uint8_t *xq, size_t xs, int K,  \
                          float *out, size_t ldo)                                            \
    {                                                                                        \
        __m256 acc[R][TN];                                                                   \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                                          \
            _Pragma("GCC unroll 4") for (int c = 0; c < TN; c++) acc[r][c] = _mm256_setzero_ps();                   \
        const __m256i flip = _mm256_set1_epi8((char)0x80);                                   \
        for (int b = 0; b < K / QK32; b++) {                                                 \
            __m256i wv[TN], w2[TN];                                                          \
            float dw[TN];                                                                    \
            _Pragma("GCC unroll 4") for (int c = 0; c < TN; c++) {                                                   \
                const struct blk_q8_0 *blk = (const struct blk_q8_0 *)(w + c * ws) + b;      \
                _mm_prefetch((const char *)blk + TILE_PREFETCH, _MM_HINT_T0);                \
                wv[c] = _mm256_loadu_si256((const __m256i *)blk->qs);                        \
                dw[c] = _cvtsh_ss(blk->d);                                                   \
                /* VNNI: -128·Σw per lane; AVX2: |w| */                                      \
                w2[c] = VNNI_FORM ? _mm256_sub_epi32(_mm256_setzero_si256(),                 \
                                        DOT_VNNI(_mm256_setzero_si256(), flip, wv[c]))        \
                                  : _mm256_sign_epi8(wv[c], wv[c]);                          \
            }                                                                                \
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {                                                    \
                const struct act_q8 *a = (const struct act_q8 *)(xq + r * xs) + b;           \
                __m256i xv = _mm256_loadu_si256((const __m256i *)a->qs);                     \
                __m256 dx = _mm256_set1_ps(a->d);                                            \
                if (VNNI_FORM) xv = _mm256_xor_si256(xv, flip);                              \
                _Pragma("GCC unroll 4") for (int c = 0; c < TN; c++) {                                               \
                    __m256i p = VNNI_FORM ? DOT_VNNI(w2[c], xv, wv[c])                       \
                        : DOT_AVX2(_mm256_setzero_si256(), w2[c], _mm256_sign_epi8(xv, wv[c])); \
                    acc[r][c] = _mm256_fmadd_ps(_mm256_mul_ps(dx, _mm256_set1_ps(dw[c])),     \
                                                _mm256_cvtepi32_ps(p), acc[r][c]);           \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                                          \
            _mm_storeu_ps(out + (size_t)r * ldo, HSUM(acc[r][0], acc[r][1], acc[r][2], acc[r][3])); \
    }

/* Q4_0 / Q4_1: Σq·x per pair (q unsigned nibbles), scaled by d·dx; the
 * offset term (Q4_1: m·s, Q4_0: -8·d·s, s = dx·Σx) goes to side[r] for all
 * four weight rows at once. */
#define DEFINE_TILE_Q4(attr, name, R, Q41, DOT, HSUM)                                       \
    attr static void name(const uint8_t *w, size_t ws, const uint8_t *xq, size_t xs, int K,  \
                          float *out, size_t ldo)                                            \
    {                                                                                        \
        __m256 acc[R][TN];                                                                   \
        __m128 side[R];                                                                      \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {                                                        \
            side[r] = _mm_setzero_ps();                                                      \
            _Pragma("GCC unroll 4") for (int c = 0; c < TN; c++) acc[r][c] = _mm256_setzero_ps();                   \
        }                                                                                    \
        for (int b = 0; b < K / QK32; b++) {                                                 \
            __m256i wu[TN];                                                                  \
            uint16_t dh[TN], mh[TN];                                                         \
            _Pragma("GCC unroll 4") for (int c = 0; c < TN; c++) {                                                   \
                if (Q41) {                                                                   \
                    const struct blk_q4_1 *blk = (const struct blk_q4_1 *)(w + c * ws) + b;  \
                    _mm_prefetch((const char *)blk + TILE_PREFETCH, _MM_HINT_T0);            \
                    wu[c] = NIBBLES(blk->qs); dh[c] = blk->d; mh[c] = blk->m;                \
                } else {                                                                     \
                    const struct blk_q4_0 *blk = (const struct blk_q4_0 *)(w + c * ws) + b;  \
                    _mm_prefetch((const char *)blk + TILE_PREFETCH, _MM_HINT_T0);            \
                    wu[c] = NIBBLES(blk->qs); dh[c] = mh[c] = blk->d;                        \
                }                                                                            \
            }                                                                                \
            __m128 dwv = _mm_cvtph_ps(_mm_cvtsi64_si128((long long)pack4_u16(dh[0], dh[1], dh[2], dh[3]))); \
            __m128 mwv = _mm_cvtph_ps(_mm_cvtsi64_si128((long long)pack4_u16(mh[0], mh[1], mh[2], mh[3]))); \
            if (!Q41) mwv = _mm_mul_ps(mwv, _mm_set1_ps(-8.f));                              \
            float dw[TN];                                                                    \
            _mm_storeu_ps(dw, dwv);                                                          \
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {                                                    \
                const struct act_q8 *a = (const struct act_q8 *)(xq + r * xs) + b;           \
                __m256i xv = _mm256_loadu_si256((const __m256i *)a->qs);                     \
                __m256 dx = _mm256_set1_ps(a->d);                                            \
                side[r] = _mm_fmadd_ps(mwv, _mm_set1_ps(a->s), side[r]);                     \
                _Pragma("GCC unroll 4") for (int c = 0; c < TN; c++) {                                               \
                    __m256i p = DOT(_mm256_setzero_si256(), wu[c], xv);                      \
                    acc[r][c] = _mm256_fmadd_ps(_mm256_mul_ps(dx, _mm256_set1_ps(dw[c])),     \
                                                _mm256_cvtepi32_ps(p), acc[r][c]);           \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                                          \
            _mm_storeu_ps(out + (size_t)r * ldo,                                             \
                          _mm_add_ps(HSUM(acc[r][0], acc[r][1], acc[r][2], acc[r][3]), side[r])); \
    }

DEFINE_TILE_Q8_0(AVX2, tile_q8_0_avx2_half, 2, 0, hsum4x8_avx2)
DEFINE_TILE_Q4(AVX2, tile_q4_1_avx2_half, 2, 1, DOT_AVX2, hsum4x8_avx2)
DEFINE_TILE_Q4(AVX2, tile_q4_0_avx2_half, 2, 0, DOT_AVX2, hsum4x8_avx2)
DEFINE_TILE_Q8_0(AVX2, tile_q8_0_avx2_one, 1, 0, hsum4x8_avx2)
DEFINE_TILE_Q4(AVX2, tile_q4_1_avx2_one, 1, 1, DOT_AVX2, hsum4x8_avx2)
DEFINE_TILE_Q4(AVX2, tile_q4_0_avx2_one, 1, 0, DOT_AVX2, hsum4x8_avx2)

typedef void (*tile_fn)(const uint8_t *w, size_t ws, const uint8_t *xq, size_t xs, int K,
                        float *out, size_t ldo);

/* AVX2: passes of two x rows (16 registers), the odd last row in a pass of one. */
static bool tile_simd(enum dtype wt, const uint8_t *w, size_t ws, const uint8_t *xq, size_t xs,
                      int mr, int K, float *out, size_t ldo, enum cpu_simd simd)
{
    if (simd >= CPU_SIMD_AVX512 && quant_dot_tile_vnni512(wt, w, ws, xq, xs, mr, K, out, ldo)) return true;
    tile_fn two = wt == DT_Q8_0 ? tile_q8_0_avx2_half : wt == DT_Q4_0 ? tile_q4_0_avx2_half
                                                                      : tile_q4_1_avx2_half;
    tile_fn one = wt == DT_Q8_0 ? tile_q8_0_avx2_one : wt == DT_Q4_0 ? tile_q4_0_avx2_one
                                                                     : tile_q4_1_avx2_one;
    int r = 0;
    for (; r + 2 <= mr; r += 2) two(w, ws, xq + r * xs, xs, K, out + r * ldo, ldo);
    if (r < mr) one(w, ws, xq + r * xs, xs, K, out + r * ldo, ldo);
    return true;
}

#else

static bool tile_simd(enum dtype wt, const uint8_t *w, size_t ws, const uint8_t *xq, size_t xs,
                      int mr, int K, float *out, size_t ldo, enum cpu_simd simd)
{
    (void)simd;
    tile_ref(wt, w, ws, xq, xs, mr, K, out, ldo);
    return true;
}

#endif

bool quant_dot_tile(enum dtype wt, const void *w, size_t w_stride, const void *xq, size_t xq_stride,
                    int mr, int K, float *out, size_t ldo, enum cpu_simd simd)
{
    if (wt != DT_Q8_0 && wt != DT_Q4_0 && wt != DT_Q4_1) return false;
    if (mr < 1 || mr > QUANT_TILE_M) return false;
    if (simd == CPU_SIMD_SCALAR) {
        tile_ref(wt, w, w_stride, xq, xq_stride, mr, K, out, ldo);
        return true;
    }
    return tile_simd(wt, w, w_stride, xq, xq_stride, mr, K, out, ldo, simd);
}
