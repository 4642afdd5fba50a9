/* core/train/train_gemm.c — register-blocked f32 NT / NN products (see train_gemm.h). */
#include "core/train/train_gemm.h"

#include <math.h>

/* NN's k block: rows of B kept hot in L2 while every row tile of the call
 * passes over them (512 KiB of B per block; at least 16 rows). */
static int nn_kblock(int cols)
{
    int kb = (512 * 1024) / (cols > 0 ? cols * (int)sizeof(float) : 1);
    return kb < 16 ? 16 : kb;
}

/* ---- portable: the scalar reference ------------------------------------ */

static void nt_portable(float *y, int ldy, const float *x, const float *W, int N, int I, int o0, int o1)
{
    for (int o = o0; o < o1; o++)
        for (int n = 0; n < N; n++) {
            const float *a = x + (size_t)n * I, *b = W + (size_t)o * I;
            float s = 0;
            for (int i = 0; i < I; i++) s += a[i] * b[i];
            y[(size_t)n * ldy + o] = s;
        }
}

static void nn_portable(float *C, int ldc, const float *A, size_t ars, size_t aks, const float *B, int ldb,
                        int r0, int r1, int cols, int K)
{
    int KB = nn_kblock(cols);
    for (int kb = 0; kb < K; kb += KB) {
        int ke = kb + KB < K ? kb + KB : K;
        for (int r = r0; r < r1; r++) {
            float *c = C + (size_t)r * ldc;
            for (int k = kb; k < ke; k++) {
                float a = A[(size_t)r * ars + (size_t)k * aks];
                const float *b = B + (size_t)k * ldb;
                for (int j = 0; j < cols; j++) c[j] += a * b[j];
            }
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

/* One SIMD level: V vectors of W floats. NT tiles are NT_MR x rows × 4 W
 * rows (NT_MR·4 accumulators); NN tiles 4 C rows × NN_VC vectors. The loops
 * over tile rows/vectors have constant bounds and are unrolled, so the
 * accumulator arrays live in registers. */
#define DEFINE_GEMM(LVL, TGT, V, W, ZERO, LOAD, STORE, SET1, FMA, HSUM, NT_MR, NN_VC)                \
    /* y[m][o] = x_m · w_o for NT_MR x rows (stride I) and 4 W rows (stride I) */                  \
    TGT static void nt_tile_##LVL(float *y, int ldy, const float *x, const float *w, int I)          \
    {                                                                                              \
        V acc[NT_MR][4];                                                                           \
        _Pragma("GCC unroll 8") for (int m = 0; m < NT_MR; m++)                                    \
            _Pragma("GCC unroll 4") for (int o = 0; o < 4; o++) acc[m][o] = ZERO;                  \
        int iv = I / W * W;                                                                        \
        for (int i = 0; i < iv; i += W) {                                                          \
            V wv[4];                                                                               \
            _Pragma("GCC unroll 4") for (int o = 0; o < 4; o++) wv[o] = LOAD(w + (size_t)o * I + i); \
            _Pragma("GCC unroll 8") for (int m = 0; m < NT_MR; m++) {                              \
                V xv = LOAD(x + (size_t)m * I + i);                                                \
                _Pragma("GCC unroll 4") for (int o = 0; o < 4; o++) acc[m][o] = FMA(xv, wv[o], acc[m][o]); \
            }                                                                                      \
        }                                                                                          \
        for (int m = 0; m < NT_MR; m++)                                                            \
            for (int o = 0; o < 4; o++) {                                                          \
                const float *a = x + (size_t)m * I, *b = w + (size_t)o * I;                        \
                float r = HSUM(acc[m][o]);                                                         \
                for (int j = iv; j < I; j++) r += a[j] * b[j];                                     \
                y[(size_t)m * ldy + o] = r;                                                        \
            }                                                                                      \
    }                                                                                              \
    /* one element, the same steps as one accumulator of the tile */                               \
    TGT static float nt_one_##LVL(const float *a, const float *b, int I)                           \
    {                                                                                              \
        V acc = ZERO;                                                                              \
        int iv = I / W * W;                                                                        \
        for (int i = 0; i < iv; i += W) acc = FMA(LOAD(a + i), LOAD(b + i), acc);                  \
        float r = HSUM(acc);                                                                       \
        for (int j = iv; j < I; j++) r += a[j] * b[j];                                             \
        return r;                                                                                  \
    }                                                                                              \
    TGT static void nt_##LVL(float *y, int ldy, const float *x, const float *W_, int N, int I,      \
                             int o0, int o1)                                                       \
    {                                                                                              \
        int o = o0;                                                                                \
        for (; o + 4 <= o1; o += 4) {                                                              \
            const float *w = W_ + (size_t)o * I;                                                   \
            int n = 0;                                                                             \
            for (; n + NT_MR <= N; n += NT_MR)                                                     \
                nt_tile_##LVL(y + (size_t)n * ldy + o, ldy, x + (size_t)n * I, w, I);              \
            for (; n < N; n++)                                                                     \
                for (int k = 0; k < 4; k++)                                                        \
                    y[(size_t)n * ldy + o + k] = nt_one_##LVL(x + (size_t)n * I, w + (size_t)k * I, I); \
        }                                                                                          \
        for (; o < o1; o++)                                                                        \
            for (int n = 0; n < N; n++)                                                            \
                y[(size_t)n * ldy + o] = nt_one_##LVL(x + (size_t)n * I, W_ + (size_t)o * I, I);   \
    }                                                                                              \
    /* 4 C rows × NN_VC vectors at c (B already offset to the same column) */                      \
    TGT static void nn_tile_##LVL(float *c, int ldc, const float *A, size_t ars, size_t aks,       \
                                  const float *B, int ldb, int k0, int k1)                         \
    {                                                                                              \
        V acc[4][NN_VC];                                                                           \
        _Pragma("GCC unroll 4") for (int m = 0; m < 4; m++)                                        \
            _Pragma("GCC unroll 8") for (int v = 0; v < NN_VC; v++)                                \
                acc[m][v] = LOAD(c + (size_t)m * ldc + v * W);                                     \
        for (int k = k0; k < k1; k++) {                                                            \
            const float *b = B + (size_t)k * ldb, *a = A + (size_t)k * aks;                        \
            V bv[NN_VC];                                                                           \
            _Pragma("GCC unroll 8") for (int v = 0; v < NN_VC; v++) bv[v] = LOAD(b + v * W);       \
            _Pragma("GCC unroll 4") for (int m = 0; m < 4; m++) {                                  \
                V av = SET1(a[(size_t)m * ars]);                                                   \
                _Pragma("GCC unroll 8") for (int v = 0; v < NN_VC; v++)                            \
                    acc[m][v] = FMA(av, bv[v], acc[m][v]);                                         \
            }                                                                                      \
        }                                                                                          \
        _Pragma("GCC unroll 4") for (int m = 0; m < 4; m++)                                        \
            _Pragma("GCC unroll 8") for (int v = 0; v < NN_VC; v++)                                \
                STORE(c + (size_t)m * ldc + v * W, acc[m][v]);                                     \
    }                                                                                              \
    /* one C row, columns [j0, cols): single vectors, then fused scalars */                        \
    TGT static void nn_row_##LVL(float *c, const float *a, size_t aks, const float *B, int ldb,    \
                                 int j0, int cols, int k0, int k1)                                 \
    {                                                                                              \
        int j = j0;                                                                                \
        for (; j + W <= cols; j += W) {                                                            \
            V acc = LOAD(c + j);                                                                   \
            for (int k = k0; k < k1; k++)                                                          \
                acc = FMA(SET1(a[(size_t)k * aks]), LOAD(B + (size_t)k * ldb + j), acc);           \
            STORE(c + j, acc);                                                                     \
        }                                                                                          \
        for (; j < cols; j++) {                                                                    \
            float s = c[j];                                                                        \
            for (int k = k0; k < k1; k++) s = fmaf(a[(size_t)k * aks], B[(size_t)k * ldb + j], s); \
            c[j] = s;                                                                              \
        }                                                                                          \
    }                                                                                              \
    TGT static void nn_##LVL(float *C, int ldc, const float *A, size_t ars, size_t aks,            \
                             const float *B, int ldb, int r0, int r1, int cols, int K)             \
    {                                                                                              \
        int KB = nn_kblock(cols), CW = NN_VC * W, cv = cols / CW * CW;                             \
        for (int kb = 0; kb < K; kb += KB) {                                                       \
            int ke = kb + KB < K ? kb + KB : K, r = r0;                                            \
            for (; r + 4 <= r1; r += 4) {                                                          \
                for (int j = 0; j < cv; j += CW)                                                   \
                    nn_tile_##LVL(C + (size_t)r * ldc + j, ldc, A + (size_t)r * ars, ars, aks,     \
                                  B + j, ldb, kb, ke);                                             \
                for (int m = 0; m < 4; m++)                                                        \
                    nn_row_##LVL(C + (size_t)(r + m) * ldc, A + (size_t)(r + m) * ars, aks, B, ldb, \
                                 cv, cols, kb, ke);                                                \
            }                                                                                      \
            for (; r < r1; r++)                                                                    \
                nn_row_##LVL(C + (size_t)r * ldc, A + (size_t)r * ars, aks, B, ldb, 0, cols, kb, ke); \
        }                                                                                          \
    }

/* horizontal sums in one fixed order per width */
__attribute__((target("avx2,fma"))) static inline float gemm_hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}
__attribute__((target("avx512f"))) static inline float gemm_hsum16(__m512 v) { return _mm512_reduce_add_ps(v); }

DEFINE_GEMM(avx2, __attribute__((target("avx2,fma"))), __m256, 8, _mm256_setzero_ps(), _mm256_loadu_ps,
            _mm256_storeu_ps, _mm256_set1_ps, _mm256_fmadd_ps, gemm_hsum8, 2, 2)
DEFINE_GEMM(avx512, __attribute__((target("avx512f,avx2,fma"))), __m512, 16, _mm512_setzero_ps(),
            _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_fmadd_ps, gemm_hsum16, 4, 4)
#endif

void gemm_nt(enum gemm_path p, float *y, int ldy, const float *x, const float *W, int N, int I,
             int o0, int o1)
{
#if defined(__x86_64__)
    if (p == GEMM_AVX512) { nt_avx512(y, ldy, x, W, N, I, o0, o1); return; }
    if (p == GEMM_AVX2) { nt_avx2(y, ldy, x, W, N, I, o0, o1); return; }
#endif
    (void)p;
    nt_portable(y, ldy, x, W, N, I, o0, o1);
}

void gemm_nn(enum gemm_path p, float *C, int ldc, const float *A, size_t ars, size_t aks,
             const float *B, int ldb, int r0, int r1, int cols, int K)
{
#if defined(__x86_64__)
    if (p == GEMM_AVX512) { nn_avx512(C, ldc, A, ars, aks, B, ldb, r0, r1, cols, K); return; }
    if (p == GEMM_AVX2) { nn_avx2(C, ldc, A, ars, aks, B, ldb, r0, r1, cols, K); return; }
#endif
    (void)p;
    nn_portable(C, ldc, A, ars, aks, B, ldb, r0, r1, cols, K);
}
