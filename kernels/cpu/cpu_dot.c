/* kernels/cpu/cpu_dot.c — f32 vector helpers (dot, axpy) of the attention
 * loops: scalar, AVX2+FMA and AVX-512, and the dispatch of the 2:4 row
 * kernels. The SIMD functions carry target attributes, so this file compiles
 * without -m flags; the *_fn getters pick a path at run time from the level
 * cpu_simd_detect found. The float weight formats' matmul is dot_tile.c. */
#include "kernels/cpu/cpu_dot.h"
#include "kernels/cpu/attn_math.h"
#include "kernels/cpu/float_vec.h"
#include "kernels/cpu/sparse24_dot.h"

#include <stdint.h>

/* ---- scalar ------------------------------------------------------------ */

static float vec_dot_scalar(const float *a, const float *b, int n) { return attn_dot(a, b, n); }
static void vec_axpy_scalar(float *y, float a, const float *x, int n) { attn_axpy(y, a, x, n); }

/* ---- SIMD -------------------------------------------------------------- */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* Software prefetch of the first operand 16 vectors ahead (measured +15% on
 * f32 decode rows, 4096x4096, 1 thread, when this was the matmul's kernel). */
#define PF_f32(w, k, NW)                                                                   \
    do {                                                                                   \
        const char *pf = (const char *)((const float *)(w) + (k));                         \
        for (int b = 0; b < (NW) * 4; b += 64) _mm_prefetch(pf + b, _MM_HINT_T0);          \
    } while (0)

/* One row pair: four independent accumulators hide the FMA latency (the
 * attention loops' dot over a head). Tails past the last full vector are
 * scalar. */
#define DEFINE_DOT1(LVL, TGT, V, W, ZERO, FMA, ADD, HSUM)                                      \
    TGT static float dot1_f32_##LVL(const float *w, const float *x, int K)                      \
    {                                                                                           \
        V a0 = ZERO, a1 = ZERO, a2 = ZERO, a3 = ZERO;                                           \
        int k = 0;                                                                              \
        for (; k + 4 * W <= K; k += 4 * W) {                                                    \
            PF_f32(w, k + 16 * W, 4 * W);                                                       \
            a0 = FMA(ld_f32_##LVL(w, k), ld_f32_##LVL(x, k), a0);                               \
            a1 = FMA(ld_f32_##LVL(w, k + W), ld_f32_##LVL(x, k + W), a1);                       \
            a2 = FMA(ld_f32_##LVL(w, k + 2 * W), ld_f32_##LVL(x, k + 2 * W), a2);               \
            a3 = FMA(ld_f32_##LVL(w, k + 3 * W), ld_f32_##LVL(x, k + 3 * W), a3);               \
        }                                                                                       \
        for (; k + W <= K; k += W) a0 = FMA(ld_f32_##LVL(w, k), ld_f32_##LVL(x, k), a0);        \
        float s = HSUM(ADD(ADD(a0, a1), ADD(a2, a3)));                                          \
        for (; k < K; k++) s += w[k] * x[k];                                                    \
        return s;                                                                               \
    }

DEFINE_DOT1(avx2, TGT_AVX2, __m256, 8, _mm256_setzero_ps(), _mm256_fmadd_ps, _mm256_add_ps, hsum_avx2)
DEFINE_DOT1(avx512, TGT_AVX512, __m512, 16, _mm512_setzero_ps(), _mm512_fmadd_ps, _mm512_add_ps, hsum_avx512)

static float vec_dot_avx2(const float *a, const float *b, int n) { return dot1_f32_avx2(a, b, n); }
static float vec_dot_avx512(const float *a, const float *b, int n)
{
    return dot1_f32_avx512(a, b, n);
}

TGT_AVX2 static void vec_axpy_avx2(float *y, float a, const float *x, int n)
{
    __m256 va = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}

TGT_AVX512 static void vec_axpy_avx512(float *y, float a, const float *x, int n)
{
    __m512 va = _mm512_set1_ps(a);
    int i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}
#define HAVE_X86_SIMD 1
#endif

/* ---- dispatch ---------------------------------------------------------- */

dot_rows_fn cpu_dot_rows_fn(enum dtype t, enum cpu_simd s)
{
    return dtype_is_sparse24(t) ? cpu_s24_dot_rows_fn(t, s) : NULL;
}

vec_dot_fn cpu_vec_dot_fn(enum cpu_simd s)
{
#ifdef HAVE_X86_SIMD
    if (s >= CPU_SIMD_AVX512) return vec_dot_avx512;
    if (s == CPU_SIMD_AVX2) return vec_dot_avx2;
#else
    (void)s;
#endif
    return vec_dot_scalar;
}

vec_axpy_fn cpu_vec_axpy_fn(enum cpu_simd s)
{
#ifdef HAVE_X86_SIMD
    if (s >= CPU_SIMD_AVX512) return vec_axpy_avx512;
    if (s == CPU_SIMD_AVX2) return vec_axpy_avx2;
#else
    (void)s;
#endif
    return vec_axpy_scalar;
}
