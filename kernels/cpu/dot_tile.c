/* kernels/cpu/dot_tile.c — register tiles for the float weight formats
 * (dot_tile.h): scalar, AVX2+FMA+F16C and AVX-512, picked at run time. The
 * SIMD functions carry target attributes, so this file compiles without -m
 * flags. */
/* The tiles' accumulator arrays live in registers only once the loops over
 * them are unrolled and the arrays scalarized, which -O1 (the sanitizer
 * build) does not do: there they were memory, 25x slower than -O2 at 64 rows
 * (build-san/bench_f32mm), and the hw probe's test ran past its timeout. */
#pragma GCC optimize("O2")

#include "kernels/cpu/dot_tile.h"
#include "kernels/cpu/attn_math.h"
#include "kernels/cpu/float_vec.h"

#include <stdint.h>

/* ---- scalar ------------------------------------------------------------ */

#define SCALAR_CHUNK 64

/* One weight row against one x row: the row is converted chunk by chunk into
 * a small buffer and dotted with attn_dot per chunk (f32 needs no copy). */
#define DEFINE_PAIR_SCALAR(T)                                                                 \
    static float pair_##T##_scalar(const void *w, const float *x, int K)                      \
    {                                                                                          \
        float buf[SCALAR_CHUNK], acc = 0;                                                      \
        for (int k0 = 0; k0 < K; k0 += SCALAR_CHUNK) {                                         \
            int n = K - k0 < SCALAR_CHUNK ? K - k0 : SCALAR_CHUNK;                             \
            for (int i = 0; i < n; i++) buf[i] = wval_##T(w, k0 + i);                          \
            acc += attn_dot(buf, x + k0, n);                                                   \
        }                                                                                      \
        return acc;                                                                            \
    }                                                                                          \
    static void tiles_##T##_scalar(const void *w, size_t ws, int nr, const float *x, size_t ldx, \
                                   int nx, int K, float *y, size_t ldy)                        \
    {                                                                                          \
        for (int n = 0; n < nr; n++)                                                           \
            for (int i = 0; i < nx; i++)                                                       \
                y[(size_t)i * ldy + n] = pair_##T##_scalar((const char *)w + (size_t)n * ws,   \
                                                           x + (size_t)i * ldx, K);            \
    }

static float pair_f32_scalar(const void *w, const float *x, int K) { return attn_dot(w, x, K); }
static void tiles_f32_scalar(const void *w, size_t ws, int nr, const float *x, size_t ldx, int nx, int K,
                             float *y, size_t ldy)
{
    for (int n = 0; n < nr; n++)
        for (int i = 0; i < nx; i++)
            y[(size_t)i * ldy + n] = pair_f32_scalar((const char *)w + (size_t)n * ws, x + (size_t)i * ldx, K);
}
DEFINE_PAIR_SCALAR(f16)
DEFINE_PAIR_SCALAR(bf16)

/* ---- SIMD -------------------------------------------------------------- */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TILE_INL static inline __attribute__((always_inline))

/* Software prefetch (into L2) of the next group of weight rows while a group
 * runs, the line at the same k of its rows. Measured with build/bench_f32mm
 * (one decode step's matmuls, 1 thread, CPU time, Intel Xeon VM, load 8-9):
 * f32 m = 1 38.1 → 34.7 ms with it; spreading the requests over the group's
 * tiles (below) took m = 16 from 78 to 68.5 ms; the L2 hint instead of L1 a
 * further 5% at m = 8 and 16 (52 → 49.4, 69 → 66 ms); two groups ahead was
 * slower. f16/bf16 without it were slower than the old row kernels at m = 1
 * (26 → 29-31 ms; four row streams at once), with it 19.4-20.9 ms. */
#define ESZ_f32  4    /* bytes per element */
#define ESZ_f16  2
#define ESZ_bf16 2
#define TILE_UNROLL _Pragma("GCC unroll 4")

/* One tile: NR weight rows × NX x rows (NR, NX <= 4, compile-time constants
 * after inlining, so acc stays in registers). Per pair: acc = fma(w_v, x_v,
 * acc) over the vectors v in order, hsum, then the tail in order. A full
 * group's four sums per x row share their shuffles (HSUM4: the same tree). */
#define DEFINE_TILE(T, LVL, TGT, V, W, ZERO, FMA, LDX, HSUM, HSUM4)                           \
    TGT TILE_INL void tile_##T##_##LVL(const char *w, size_t ws, const int NR, const float *x,  \
                                       size_t ldx, const int NX, int K, float *y, size_t ldy,   \
                                       const char *pf, int npf)                                 \
    {                                                                                            \
        V acc[4][4];                                                                             \
        TILE_UNROLL for (int r = 0; r < NR; r++)                                                 \
            TILE_UNROLL for (int c = 0; c < NX; c++) acc[r][c] = ZERO;                           \
        int k = 0;                                                                               \
        for (; k + W <= K; k += W) {                                                             \
            for (int r = 0; r < npf; r++)                                                        \
                _mm_prefetch(pf + (size_t)r * ws + (size_t)k * ESZ_##T, _MM_HINT_T1);            \
            V wv[4];                                                                             \
            TILE_UNROLL for (int r = 0; r < NR; r++) wv[r] = ld_##T##_##LVL(w + (size_t)r * ws, k); \
            TILE_UNROLL for (int c = 0; c < NX; c++) {                                           \
                V xv = LDX(x + (size_t)c * ldx + k);                                             \
                TILE_UNROLL for (int r = 0; r < NR; r++) acc[r][c] = FMA(wv[r], xv, acc[r][c]);  \
            }                                                                                    \
        }                                                                                        \
        TILE_UNROLL for (int c = 0; c < NX; c++) {                                               \
            const float *xc = x + (size_t)c * ldx;                                               \
            float s[4];                                                                          \
            if (NR == 4) HSUM4(acc[0][c], acc[1][c], acc[2][c], acc[3][c], s);                  \
            else TILE_UNROLL for (int r = 0; r < NR; r++) s[r] = HSUM(acc[r][c]);               \
            TILE_UNROLL for (int r = 0; r < NR; r++) {                                           \
                for (int kk = k; kk < K; kk++) s[r] += wval_##T(w + (size_t)r * ws, kk) * xc[kk]; \
                y[(size_t)c * ldy + r] = s[r];                                                   \
            }                                                                                    \
        }                                                                                        \
    }

/* Tile t of a group's nt tiles prefetches rows [ceil(4t/nt), ceil(4(t+1)/nt))
 * of the next group (pf; none when pf is NULL): the requests are spread over
 * the whole group's work rather than issued during its first tile only. */
#define PF_LO(t, nt) (((t) * 4 + (nt) - 1) / (nt))
#define PF_ROWS(pf, ws, t, nt)                                                                   \
    (pf) ? (pf) + (size_t)PF_LO(t, nt) * (ws) : NULL,                                             \
    (pf) ? (PF_LO((t) + 1, nt) < 4 ? PF_LO((t) + 1, nt) : 4) - PF_LO(t, nt) : 0

/* Weight rows in groups of NR_MAX (the rest one by one), each group against
 * the x rows in tiles of NX_MAX (the rest in one smaller tile): the group's
 * weight rows stay in L1 while every x row passes. */
#define DEFINE_TILES(T, LVL, TGT, NR_MAX, NX_MAX)                                                \
    TGT TILE_INL void group_##T##_##LVL(const char *w, size_t ws, const int NR, const float *x,  \
                                        size_t ldx, int nx, int K, float *y, size_t ldy,         \
                                        const char *pf)                                          \
    {                                                                                             \
        int nt = (nx + NX_MAX - 1) / NX_MAX, t = 0, i = 0;                                        \
        for (; i + NX_MAX <= nx; i += NX_MAX, t++)                                                \
            tile_##T##_##LVL(w, ws, NR, x + (size_t)i * ldx, ldx, NX_MAX, K, y + (size_t)i * ldy, ldy, \
                             PF_ROWS(pf, ws, t, nt));                                             \
        const float *xi = x + (size_t)i * ldx;                                                    \
        float *yi = y + (size_t)i * ldy;                                                          \
        switch (nx - i) {                                                                         \
        case 3: if (NX_MAX > 3) tile_##T##_##LVL(w, ws, NR, xi, ldx, 3, K, yi, ldy, PF_ROWS(pf, ws, t, nt)); break; \
        case 2: if (NX_MAX > 2) tile_##T##_##LVL(w, ws, NR, xi, ldx, 2, K, yi, ldy, PF_ROWS(pf, ws, t, nt)); break; \
        case 1: tile_##T##_##LVL(w, ws, NR, xi, ldx, 1, K, yi, ldy, PF_ROWS(pf, ws, t, nt)); break; \
        default: break;                                                                           \
        }                                                                                         \
    }                                                                                             \
    TGT static void tiles_##T##_##LVL(const void *w, size_t ws, int nr, const float *x, size_t ldx, \
                                  int nx, int K, float *y, size_t ldy)                           \
    {                                                                                             \
        const char *wb = w;                                                                       \
        int n = 0;                                                                                \
        for (; n + NR_MAX <= nr; n += NR_MAX) {                                                   \
            const char *pf = n + 2 * NR_MAX <= nr ? wb + (size_t)(n + NR_MAX) * ws : NULL;        \
            group_##T##_##LVL(wb + (size_t)n * ws, ws, NR_MAX, x, ldx, nx, K, y + n, ldy, pf);    \
        }                                                                                         \
        for (; n < nr; n++) group_##T##_##LVL(wb + (size_t)n * ws, ws, 1, x, ldx, nx, K, y + n, ldy, NULL); \
    }

/* AVX2 has 16 vector registers: 4 × 2 tiles (8 accumulators + 4 weight
 * vectors + 1 x vector). AVX-512 has 32: 4 × 4 (16 + 4 + 1). */
#define DEFINE_AVX2(T)                                                                            \
    DEFINE_TILE(T, avx2, TGT_AVX2, __m256, 8, _mm256_setzero_ps(), _mm256_fmadd_ps,              \
                _mm256_loadu_ps, hsum_avx2, hsum4_avx2)                                           \
    DEFINE_TILES(T, avx2, TGT_AVX2, 4, 2)
#define DEFINE_AVX512(T)                                                                          \
    DEFINE_TILE(T, avx512, TGT_AVX512, __m512, 16, _mm512_setzero_ps(), _mm512_fmadd_ps,         \
                _mm512_loadu_ps, hsum_avx512, hsum4_avx512)                                       \
    DEFINE_TILES(T, avx512, TGT_AVX512, 4, 4)
DEFINE_AVX2(f32)
DEFINE_AVX2(f16)
DEFINE_AVX2(bf16)
DEFINE_AVX512(f32)
DEFINE_AVX512(f16)
DEFINE_AVX512(bf16)
#define HAVE_X86_SIMD 1
#endif

/* ---- dispatch ---------------------------------------------------------- */

dot_tile_fn cpu_dot_tile_fn(enum dtype t, enum cpu_simd s)
{
#ifdef HAVE_X86_SIMD
    if (s >= CPU_SIMD_AVX512)
        return t == DT_F32 ? tiles_f32_avx512 : t == DT_F16 ? tiles_f16_avx512
             : t == DT_BF16 ? tiles_bf16_avx512 : NULL;
    if (s == CPU_SIMD_AVX2)
        return t == DT_F32 ? tiles_f32_avx2 : t == DT_F16 ? tiles_f16_avx2
             : t == DT_BF16 ? tiles_bf16_avx2 : NULL;
#else
    (void)s;
#endif
    return t == DT_F32 ? tiles_f32_scalar : t == DT_F16 ? tiles_f16_scalar
         : t == DT_BF16 ? tiles_bf16_scalar : NULL;
}
