/* kernels/cpu/quant_vnni.c — decode dot products on AVX-512 VNNI: one
 * quantized x row (act_q8) against QUANT_ROWS_N weight rows of Q8_0, Q4_0 or
 * Q4_1 at once.
 *
 * Why: in decode every weight row is used once, so the cost is the integer
 * work per weight block, not memory reuse. The AVX2 row dot spends ~11
 * instructions per 32-element block (nibble unpack, vpmaddubsw + vpmaddwd,
 * scaling); here one 512-bit vpdpbusd covers TWO blocks, the x pair (and its
 * scales) is loaded once for the four weight rows, and the two block scales
 * are spread over the lanes by one vpermps — about half the instructions per
 * block. Block sums are exact integers; the float steps of every element are
 * the prefill tile's (see "decode rows" below), so on a VNNI CPU a row's
 * result is the same bits whatever kernel computed it.
 *
 * Lane layout of a block pair (512 bits = 4 × 128):
 *   Q4:   weight [lo nibbles b0 | hi nibbles b0 | lo b1 | hi b1], x [x b0 | x b1]
 *   Q8_0: weight [w b0 | w b1], x [x b0 ^ 0x80 | x b1 ^ 0x80]
 * vpdpbusd multiplies unsigned by signed bytes: Q4 nibbles are unsigned; for
 * Q8_0 x is flipped to x+128 and 128·Σw is subtracted per lane (as in
 * quant_tile.c). An odd last block runs with the upper half zero. */
#include "kernels/cpu/quant_blocks.h"

#if defined(__x86_64__) || defined(__i386__)

#include "kernels/cpu/quant_vnni.h"

#define RN QUANT_ROWS_N
_Static_assert(QUANT_ROWS_N == 4, "the kernels below are written for 4 rows");

/* Software prefetch distance of the weight streams (tiles and decode rows;
 * why: the decode rows' comment below). A tile reads its four weight rows in
 * the same interleaved steps: without it the first x tile of a group waited
 * on memory, and a batch whose rows are all whole tiles (m = 4, 8) ran about
 * twice as slow as one with a ragged row (m = 5, 7), whose 4-row dots
 * prefetched the next group (bench_f32mm --wtype q8_0, AMD EPYC VM). */
#define ROWS_PREFETCH 8192

/* ---- prefill tiles: MR <= QUANT_TILE_M x rows × QUANT_TILE_N weight rows ----
 * Same lane layout; each weight block pair is unpacked once for the MR x
 * rows and each x pair loaded once for the four weight rows. The per-block
 * scale d_w·d_x is one multiply of two spread vectors per pair of blocks.
 * MR < 4 is a batch's last (ragged) x rows — m = 2, 3, 5..7, ...: one pass
 * over the weights for all of them, where x row by x row through the 4-row
 * decode dots each ragged row streamed the weights again (m = 7 read them
 * four times). An element's float steps do not depend on MR. */
_Static_assert(QUANT_TILE_M == 4 && QUANT_TILE_N == 4, "the tiles below are written for 4x4");

/* Q4: acc[r][c] += (d·dx) Σq·x; the offset term (Q4_1 m·s, Q4_0 -8·d·s) of
 * all four weight rows at once in side[r]. */
#define DEFINE_TILE512_Q4(name, BLK, Q41, MR)                                                            \
    VNNI512 static void name(const uint8_t *w, size_t ws, const uint8_t *xq, size_t xs, int K,        \
                             float *out, size_t ldo)                                                 \
    {                                                                                                \
        const int nb = K / QK32;                                                                     \
        __m512 acc[MR][4];                                                                            \
        __m128 side[MR];                                                                              \
        _Pragma("GCC unroll 4") for (int r = 0; r < MR; r++) {                                                                \
            side[r] = _mm_setzero_ps();                                                              \
            _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) acc[r][c] = _mm512_setzero_ps();                             \
        }                                                                                            \
        for (int i = 0; i < nb; i += 2) {                                                            \
            bool two = i + 1 < nb;                                                                   \
            __m512i wu[4];                                                                           \
            __m512 dw[4];                                                                            \
            uint16_t m0[4], m1[4];                                                                   \
            _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) {                                                            \
                const struct BLK *b = (const struct BLK *)(w + c * ws) + i;                          \
                _mm_prefetch((const char *)b + ROWS_PREFETCH, _MM_HINT_T0);                          \
                wu[c] = nibble_pair(b[0].qs, sizeof *b, two);                                        \
                uint16_t d1 = two ? ld_u16(&b[1].d) : 0;                                             \
                dw[c] = spread_f16(ld_u16(&b[0].d), d1);                                             \
                m0[c] = Q41 ? ld_u16((const uint8_t *)&b[0] + 2) : ld_u16(&b[0].d);                  \
                m1[c] = !two ? 0 : Q41 ? ld_u16((const uint8_t *)&b[1] + 2) : d1;                    \
            }                                                                                        \
            __m128 k = _mm_set1_ps(Q41 ? 1.f : -8.f);                                                \
            __m128 mw0 = _mm_mul_ps(k, _mm_cvtph_ps(_mm_cvtsi64_si128((long long)pack4_h(m0[0], m0[1], m0[2], m0[3])))); \
            __m128 mw1 = _mm_mul_ps(k, _mm_cvtph_ps(_mm_cvtsi64_si128((long long)pack4_h(m1[0], m1[1], m1[2], m1[3])))); \
            _Pragma("GCC unroll 4") for (int r = 0; r < MR; r++) {                                                            \
                const struct act_q8 *a = (const struct act_q8 *)(xq + r * xs) + i;                   \
                __m512i xv = x_pair(a, 0, two);                                                      \
                __m512 dx = spread2(_mm_unpacklo_ps(_mm_set_ss(a[0].d), _mm_set_ss(two ? a[1].d : 0.f))); \
                side[r] = _mm_fmadd_ps(mw0, _mm_set1_ps(a[0].s), side[r]);                           \
                if (two) side[r] = _mm_fmadd_ps(mw1, _mm_set1_ps(a[1].s), side[r]);                  \
                _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) {                                                        \
                    __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wu[c], xv);              \
                    acc[r][c] = _mm512_fmadd_ps(_mm512_mul_ps(dx, dw[c]), _mm512_cvtepi32_ps(p), acc[r][c]); \
                }                                                                                    \
            }                                                                                        \
        }                                                                                            \
        _Pragma("GCC unroll 4") for (int r = 0; r < MR; r++) _mm_storeu_ps(out + (size_t)r * ldo, _mm_add_ps(hsum4x16(acc[r]), side[r])); \
    }

DEFINE_TILE512_Q4(tile512_q4_1, blk_q4_1, 1, 4)
DEFINE_TILE512_Q4(tile512_q4_0, blk_q4_0, 0, 4)
DEFINE_TILE512_Q4(tile512_q4_1_m3, blk_q4_1, 1, 3)
DEFINE_TILE512_Q4(tile512_q4_0_m3, blk_q4_0, 0, 3)
DEFINE_TILE512_Q4(tile512_q4_1_m2, blk_q4_1, 1, 2)
DEFINE_TILE512_Q4(tile512_q4_0_m2, blk_q4_0, 0, 2)

#define DEFINE_TILE512_Q8_0(name, MR)                                                                                     \
VNNI512 static void name(const uint8_t *w, size_t ws, const uint8_t *xq, size_t xs, int K, float *out, size_t ldo)        \
{                                                                                                                         \
    const int nb = K / QK32;                                                                                              \
    const __m512i flip = _mm512_set1_epi8((char)0x80);                                                                    \
    __m512 acc[MR][4];                                                                                                    \
    _Pragma("GCC unroll 4") for (int r = 0; r < MR; r++)                                                                  \
        _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) acc[r][c] = _mm512_setzero_ps();                              \
    for (int i = 0; i < nb; i += 2) {                                                                                     \
        bool two = i + 1 < nb;                                                                                            \
        __m512i wv[4], neg[4];                                                                                            \
        __m512 dw[4];                                                                                                     \
        _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) {                                                             \
            const struct blk_q8_0 *b = (const struct blk_q8_0 *)(w + c * ws) + i;                                         \
            _mm_prefetch((const char *)b + ROWS_PREFETCH, _MM_HINT_T0);                                                   \
            __m256i w0 = _mm256_loadu_si256((const __m256i *)b[0].qs);                                                    \
            wv[c] = two ? _mm512_inserti64x4(_mm512_castsi256_si512(w0), _mm256_loadu_si256((const __m256i *)b[1].qs), 1) \
                        : _mm512_zextsi256_si512(w0);                                                                     \
            neg[c] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), flip, wv[c]));  \
            dw[c] = spread_f16(ld_u16(&b[0].d), two ? ld_u16(&b[1].d) : 0);                                               \
        }                                                                                                                 \
        _Pragma("GCC unroll 4") for (int r = 0; r < MR; r++) {                                                            \
            const struct act_q8 *a = (const struct act_q8 *)(xq + r * xs) + i;                                            \
            __m512i xv = _mm512_xor_si512(x_pair(a, 0, two), flip);                                                       \
            __m512 dx = spread2(_mm_unpacklo_ps(_mm_set_ss(a[0].d), _mm_set_ss(two ? a[1].d : 0.f)));                     \
            _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) {                                                         \
                __m512i p = _mm512_dpbusd_epi32(neg[c], xv, wv[c]);                                                       \
                acc[r][c] = _mm512_fmadd_ps(_mm512_mul_ps(dx, dw[c]), _mm512_cvtepi32_ps(p), acc[r][c]);                  \
            }                                                                                                             \
        }                                                                                                                 \
    }                                                                                                                     \
    _Pragma("GCC unroll 4") for (int r = 0; r < MR; r++) _mm_storeu_ps(out + (size_t)r * ldo, hsum4x16(acc[r]));          \
}

DEFINE_TILE512_Q8_0(tile512_q8_0, 4)
DEFINE_TILE512_Q8_0(tile512_q8_0_m3, 3)
DEFINE_TILE512_Q8_0(tile512_q8_0_m2, 2)

/* ---- decode rows: one x row × nr <= 4 weight rows ----
 * The float steps of one (x row, weight row) element are exactly the tile's:
 * the same lane layout, scale dx·dw per block pair, fma chain over the pairs,
 * the offset term in its own fma chain, hsum4x16's order, offset added last.
 * So a row's result does not depend on whether it ran in a prefill tile, a
 * 4-row decode group or alone (a ragged edge): a speculative verify of k+1
 * rows reproduces the one-row decode bit for bit (spec_batch_invariance). */
/* Decode streams every weight row from memory once, four rows at a time, and
 * the hardware prefetcher does not keep four interleaved 40-byte-step streams
 * ahead: measured on AMD EPYC (Zen 5) the 4-row Q4_1 kernel read 4.2 GB/s of
 * weights out of cache (a plain read of the same buffer: 35-60 GB/s). Each
 * (row, block pair) step prefetches the same offset ROWS_PREFETCH bytes on;
 * over a group's steps that touches every line of the span ROWS_PREFETCH
 * ahead of the group (weight rows of a matmul are contiguous). 8 KiB ahead:
 * 26-28 GB/s (2 KiB: 15-16, 16 KiB: 28-29, but twice the bytes fetched past
 * a matrix's end). Prefetches never fault, past the end or not. */
#define DEFINE_ROWS_Q4(name, BLK, Q41, NR)                                                               \
    VNNI512 static void name(const uint8_t *w, size_t ws, const struct act_q8 *a, int K, float *out)   \
    {                                                                                                \
        const int nb = K / QK32;                                                                     \
        __m512 acc[4];                                                                               \
        __m128 side = _mm_setzero_ps();                                                              \
        _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) acc[c] = _mm512_setzero_ps();            \
        for (int i = 0; i < nb; i += 2) {                                                            \
            bool two = i + 1 < nb;                                                                   \
            __m512i xv = x_pair(a, i, two);                                                          \
            __m512 dx = spread2(_mm_unpacklo_ps(_mm_set_ss(a[i].d), _mm_set_ss(two ? a[i + 1].d : 0.f))); \
            uint16_t m0[4] = {0}, m1[4] = {0};                                                       \
            _Pragma("GCC unroll 4") for (int c = 0; c < NR; c++) {                                   \
                const struct BLK *b = (const struct BLK *)(w + c * ws) + i;                          \
                if (NR == 4) _mm_prefetch((const char *)b + ROWS_PREFETCH, _MM_HINT_T0);    \
                uint16_t d1 = two ? ld_u16(&b[1].d) : 0;                                             \
                __m512 dw = spread_f16(ld_u16(&b[0].d), d1);                                         \
                m0[c] = Q41 ? ld_u16((const uint8_t *)&b[0] + 2) : ld_u16(&b[0].d);                  \
                m1[c] = !two ? 0 : Q41 ? ld_u16((const uint8_t *)&b[1] + 2) : d1;                    \
                __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), nibble_pair(b[0].qs, sizeof *b, two), xv); \
                acc[c] = _mm512_fmadd_ps(_mm512_mul_ps(dx, dw), _mm512_cvtepi32_ps(p), acc[c]);      \
            }                                                                                        \
            __m128 k = _mm_set1_ps(Q41 ? 1.f : -8.f);                                                \
            __m128 mw0 = _mm_mul_ps(k, _mm_cvtph_ps(_mm_cvtsi64_si128((long long)pack4_h(m0[0], m0[1], m0[2], m0[3])))); \
            __m128 mw1 = _mm_mul_ps(k, _mm_cvtph_ps(_mm_cvtsi64_si128((long long)pack4_h(m1[0], m1[1], m1[2], m1[3])))); \
            side = _mm_fmadd_ps(mw0, _mm_set1_ps(a[i].s), side);                                     \
            if (two) side = _mm_fmadd_ps(mw1, _mm_set1_ps(a[i + 1].s), side);                        \
        }                                                                                            \
        float o[4];                                                                                  \
        _mm_storeu_ps(o, _mm_add_ps(hsum4x16(acc), side));                                           \
        for (int c = 0; c < NR; c++) out[c] = o[c];                                                  \
    }

DEFINE_ROWS_Q4(rows4_q4_1, blk_q4_1, 1, 4)
DEFINE_ROWS_Q4(rows4_q4_0, blk_q4_0, 0, 4)
DEFINE_ROWS_Q4(rows1_q4_1, blk_q4_1, 1, 1)
DEFINE_ROWS_Q4(rows1_q4_0, blk_q4_0, 0, 1)

#define DEFINE_ROWS_Q8_0(name, NR)                                                                     \
VNNI512 static void name(const uint8_t *w, size_t ws, const struct act_q8 *a, int K, float *out)       \
{                                                                                                      \
    const int nb = K / QK32;                                                                           \
    const __m512i flip = _mm512_set1_epi8((char)0x80);                                                 \
    __m512 acc[4];                                                                                     \
    _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) acc[c] = _mm512_setzero_ps();                  \
    for (int i = 0; i < nb; i += 2) {                                                                  \
        bool two = i + 1 < nb;                                                                         \
        __m512i xv = _mm512_xor_si512(x_pair(a, i, two), flip);                                        \
        __m512 dx = spread2(_mm_unpacklo_ps(_mm_set_ss(a[i].d), _mm_set_ss(two ? a[i + 1].d : 0.f)));  \
        _Pragma("GCC unroll 4") for (int c = 0; c < NR; c++) {                                         \
            const struct blk_q8_0 *b = (const struct blk_q8_0 *)(w + c * ws) + i;                      \
            if (NR == 4) _mm_prefetch((const char *)b + ROWS_PREFETCH, _MM_HINT_T0);          \
            __m256i w0 = _mm256_loadu_si256((const __m256i *)b[0].qs);                                 \
            __m512i wv = two ? _mm512_inserti64x4(_mm512_castsi256_si512(w0),                          \
                                                  _mm256_loadu_si256((const __m256i *)b[1].qs), 1)     \
                             : _mm512_zextsi256_si512(w0);                                             \
            __m512i neg = _mm512_sub_epi32(_mm512_setzero_si512(),                                     \
                                           _mm512_dpbusd_epi32(_mm512_setzero_si512(), flip, wv));     \
            __m512 dw = spread_f16(ld_u16(&b[0].d), two ? ld_u16(&b[1].d) : 0);                        \
            __m512i p = _mm512_dpbusd_epi32(neg, xv, wv);                                              \
            acc[c] = _mm512_fmadd_ps(_mm512_mul_ps(dx, dw), _mm512_cvtepi32_ps(p), acc[c]);            \
        }                                                                                              \
    }                                                                                                  \
    float o[4];                                                                                        \
    _mm_storeu_ps(o, hsum4x16(acc));                                                                   \
    for (int c = 0; c < NR; c++) out[c] = o[c];                                                        \
}

DEFINE_ROWS_Q8_0(rows4_q8_0, 4)
DEFINE_ROWS_Q8_0(rows1_q8_0, 1)

typedef void (*rows_fn)(const uint8_t *, size_t, const struct act_q8 *, int, float *);

static rows_fn rows_kernel(enum dtype wt, int nr)
{
    if (nr == 4) return wt == DT_Q8_0 ? rows4_q8_0 : wt == DT_Q4_0 ? rows4_q4_0 : wt == DT_Q4_1 ? rows4_q4_1 : NULL;
    return wt == DT_Q8_0 ? rows1_q8_0 : wt == DT_Q4_0 ? rows1_q4_0 : wt == DT_Q4_1 ? rows1_q4_1 : NULL;
}

bool quant_have_vnni512(void)
{
    static _Atomic int cached = -1;     /* every thread computes the same value */
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512f") &&
                 __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                 __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx2") &&
                 __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    }
    return cached;
}

bool quant_dot_rows4(enum dtype wt, const void *w, size_t w_stride, const void *xq, int K, float *out,
                     enum cpu_simd simd)
{
    if (simd < CPU_SIMD_AVX512 || !quant_have_vnni512()) return false;
    rows_fn f = rows_kernel(wt, RN);
    if (!f) return false;
    f(w, w_stride, xq, K, out);
    return true;
}

bool quant_dot_row_vnni512(enum dtype wt, const void *w, const void *xq, int K, float *out)
{
    rows_fn f = quant_have_vnni512() ? rows_kernel(wt, 1) : NULL;
    if (!f) return false;
    f(w, 0, xq, K, out);
    return true;
}

typedef void (*tile512_fn)(const uint8_t *, size_t, const uint8_t *, size_t, int, float *, size_t);

/* The tile kernel for mr = 2..4 x rows (mr = 1 is the 4-row decode dot). */
static tile512_fn tile512_kernel(enum dtype wt, int mr)
{
    static const tile512_fn q8_0[5] = {NULL, NULL, tile512_q8_0_m2, tile512_q8_0_m3, tile512_q8_0};
    static const tile512_fn q4_0[5] = {NULL, NULL, tile512_q4_0_m2, tile512_q4_0_m3, tile512_q4_0};
    static const tile512_fn q4_1[5] = {NULL, NULL, tile512_q4_1_m2, tile512_q4_1_m3, tile512_q4_1};
    return wt == DT_Q8_0 ? q8_0[mr] : wt == DT_Q4_0 ? q4_0[mr] : wt == DT_Q4_1 ? q4_1[mr] : NULL;
}

bool quant_dot_tile_vnni512(enum dtype wt, const void *w, size_t w_stride, const void *xq, size_t xq_stride,
                            int mr, int K, float *out, size_t ldo)
{
    if (!quant_have_vnni512() || mr < 1 || mr > QUANT_TILE_M) return false;
    if (mr == 1) {
        rows_fn r = rows_kernel(wt, RN);
        if (!r) return false;
        r(w, w_stride, xq, K, out);
        return true;
    }
    tile512_fn f = tile512_kernel(wt, mr);
    if (!f) return false;
    f(w, w_stride, xq, xq_stride, K, out, ldo);
    return true;
}

#else

bool quant_have_vnni512(void) { return false; }

bool quant_dot_row_vnni512(enum dtype wt, const void *w, const void *xq, int K, float *out)
{
    (void)wt; (void)w; (void)xq; (void)K; (void)out;
    return false;
}

bool quant_dot_tile_vnni512(enum dtype wt, const void *w, size_t w_stride, const void *xq, size_t xq_stride,
                            int mr, int K, float *out, size_t ldo)
{
    (void)wt; (void)w; (void)w_stride; (void)xq; (void)xq_stride; (void)mr; (void)K; (void)out; (void)ldo;
    return false;
}

bool quant_dot_rows4(enum dtype wt, const void *w, size_t w_stride, const void *xq, int K, float *out,
                     enum cpu_simd simd)
{
    (void)wt; (void)w; (void)w_stride; (void)xq; (void)K; (void)out; (void)simd;
    return false;
}

#endif
