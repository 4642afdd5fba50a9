/* kernels/cpu/qx_avx512.c — AVX-512 kernels of the weight-only own formats
 * (int8, fp8, int4): the AVX2 kernels' dequantize-in-registers scheme
 * (qx_avx2.c) on 16 lanes, so one instruction converts and multiplies twice
 * the weights; int4 looks its weights up in a per-group table of the 16
 * values d·(q − z) (vpermps). Picked at CPU_SIMD_AVX512
 * (F+BW+VL+F16C, cpu_simd_detect). */
#include "kernels/cpu/qx.h"
#include "kernels/fp8.h"
#include "kernels/xq_blocks.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#define A512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))
#define INL  static inline __attribute__((always_inline))

A512 INL __m512 ld16_i8(const uint8_t *p)
{
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p)));
}

A512 INL __m512 ld16_e5m2(const uint8_t *p)
{
    __m256i h = _mm256_slli_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)p)), 8);
    return _mm512_cvtph_ps(h);
}

/* E4M3 read as a half 2^8 smaller (see qx_avx2.c): the caller scales by 256. */
A512 INL __m512 ld16_e4m3_div256(const uint8_t *p)
{
    __m256i b = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)p));
    __m256i sign = _mm256_slli_epi16(_mm256_and_si256(b, _mm256_set1_epi16(0x80)), 8);
    __m256i mag = _mm256_slli_epi16(_mm256_and_si256(b, _mm256_set1_epi16(0x7f)), 7);
    return _mm512_cvtph_ps(_mm256_or_si256(sign, mag));
}

#define DEFINE_DOT_ELEM512(name, LOAD, SCALAR, MUL)                                              \
    A512 INL void name##_n(const void *w, const float *x, size_t ldx, const int NX, int K,       \
                           float *out)                                                           \
    {                                                                                            \
        const uint8_t *b = (const uint8_t *)w + XQ_ROW_HDR;                                      \
        __m512 acc[DOT_MAX_ROWS] = {_mm512_setzero_ps(), _mm512_setzero_ps(),                    \
                                    _mm512_setzero_ps(), _mm512_setzero_ps()};                   \
        int k = 0;                                                                               \
        if (NX == 1) {                                                                           \
            for (; k + 64 <= K; k += 64)                                                         \
                for (int u = 0; u < 4; u++)                                                      \
                    acc[u] = _mm512_fmadd_ps(LOAD(b + k + 16 * u),                               \
                                             _mm512_loadu_ps(x + k + 16 * u), acc[u]);           \
            acc[0] = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])); \
        }                                                                                        \
        for (; k + 16 <= K; k += 16) {                                                           \
            __m512 wv = LOAD(b + k);                                                             \
            for (int r = 0; r < NX; r++)                                                         \
                acc[r] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x + (size_t)r * ldx + k), acc[r]);  \
        }                                                                                        \
        float sc = xq_row_scale(w);                                                              \
        for (int r = 0; r < NX; r++) {                                                           \
            float s = _mm512_reduce_add_ps(acc[r]) * (MUL), t = 0;                               \
            for (int kk = k; kk < K; kk++) t += SCALAR(b[kk]) * x[(size_t)r * ldx + kk];         \
            out[r] = sc * (s + t);                                                               \
        }                                                                                        \
    }                                                                                            \
    A512 static void name(const void *w, const float *x, size_t ldx, int nx, int K, float *out)  \
    {                                                                                            \
        switch (nx) {                                                                            \
        case 1: name##_n(w, x, ldx, 1, K, out); break;                                           \
        case 2: name##_n(w, x, ldx, 2, K, out); break;                                           \
        case 3: name##_n(w, x, ldx, 3, K, out); break;                                           \
        default: name##_n(w, x, ldx, 4, K, out); break;                                          \
        }                                                                                        \
    }

#define SC_I8(v) ((float)(int8_t)(v))
DEFINE_DOT_ELEM512(dot_i8_avx512, ld16_i8, SC_I8, 1.0f)
DEFINE_DOT_ELEM512(dot_e5m2_avx512, ld16_e5m2, fp8_e5m2_to_f32, 1.0f)
DEFINE_DOT_ELEM512(dot_e4m3_avx512, ld16_e4m3_div256, fp8_e4m3_to_f32, 256.0f)

/* int4 group g: each 16-byte chunk c gives elems 16c.. (low nibbles) and
 * g/2 + 16c.. (high), 16 lanes each. The group's 16 possible weights
 * d·(q − z), q = 0..15, are one register (tab); vpermps looks each nibble up
 * in it, so a weight costs a zero-extend, a permute and its FMA (no convert,
 * no subtract, no per-group rescale), and the group scale is converted by
 * F16C in registers. Two accumulators per x row (low, high halves) keep two
 * FMA chains in flight. */
A512 INL void dot_i4_rows512(const void *w, const float *x, size_t ldx, const int nx, int K, float *out,
                             const int g, const bool zp)
{
    const int bb = xq_i4_hdr(zp) + g / 2, h = g / 2;
    const __m128i m4 = _mm_set1_epi8(15);
    const __m512 iota = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512 al[DOT_MAX_ROWS], ah[DOT_MAX_ROWS];
    for (int r = 0; r < nx; r++) al[r] = ah[r] = _mm512_setzero_ps();
    for (int blk = 0; blk < K / g; blk++) {
        const uint8_t *p = (const uint8_t *)w + (size_t)blk * bb;
        uint16_t dh;
        memcpy(&dh, p, 2);
        __m512 z = _mm512_set1_ps(zp ? (float)(int8_t)p[2] : 8.0f), d = _mm512_set1_ps(_cvtsh_ss(dh));
        __m512 tab = _mm512_mul_ps(_mm512_sub_ps(iota, z), d);        /* d·(q − z): the decoder's product */
        const uint8_t *qs = p + xq_i4_hdr(zp);
        for (int c = 0; c < h; c += 16) {
            __m128i q = _mm_loadu_si128((const __m128i *)(qs + c));
            __m512 lo = _mm512_permutexvar_ps(_mm512_cvtepu8_epi32(_mm_and_si128(q, m4)), tab);
            __m512 hi = _mm512_permutexvar_ps(_mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(q, 4), m4)), tab);
            for (int r = 0; r < nx; r++) {
                const float *xb = x + (size_t)r * ldx + (size_t)blk * g;
                al[r] = _mm512_fmadd_ps(lo, _mm512_loadu_ps(xb + c), al[r]);
                ah[r] = _mm512_fmadd_ps(hi, _mm512_loadu_ps(xb + h + c), ah[r]);
            }
        }
    }
    for (int r = 0; r < nx; r++) out[r] = _mm512_reduce_add_ps(_mm512_add_ps(al[r], ah[r]));
}

#define DEFINE_DOT_I4_512(name, G, ZP)                                                            \
    A512 static void name(const void *w, const float *x, size_t ldx, int nx, int K, float *out)  \
    {                                                                                             \
        switch (nx) {                                                                             \
        case 1: dot_i4_rows512(w, x, ldx, 1, K, out, G, ZP); break;                               \
        case 2: dot_i4_rows512(w, x, ldx, 2, K, out, G, ZP); break;                               \
        case 3: dot_i4_rows512(w, x, ldx, 3, K, out, G, ZP); break;                               \
        default: dot_i4_rows512(w, x, ldx, 4, K, out, G, ZP); break;                              \
        }                                                                                         \
    }
DEFINE_DOT_I4_512(dot_i4s32_avx512, 32, false)
DEFINE_DOT_I4_512(dot_i4s64_avx512, 64, false)
DEFINE_DOT_I4_512(dot_i4s128_avx512, 128, false)
DEFINE_DOT_I4_512(dot_i4a32_avx512, 32, true)
DEFINE_DOT_I4_512(dot_i4a64_avx512, 64, true)
DEFINE_DOT_I4_512(dot_i4a128_avx512, 128, true)

dot_rows_fn qx_dot_rows_avx512(enum dtype t)
{
    switch (t) {
    case DT_I8: return dot_i8_avx512;
    case DT_E4M3: return dot_e4m3_avx512;
    case DT_E5M2: return dot_e5m2_avx512;
    case DT_I4S_32: return dot_i4s32_avx512;
    case DT_I4S_64: return dot_i4s64_avx512;
    case DT_I4S_128: return dot_i4s128_avx512;
    case DT_I4A_32: return dot_i4a32_avx512;
    case DT_I4A_64: return dot_i4a64_avx512;
    case DT_I4A_128: return dot_i4a128_avx512;
    default: return NULL;
    }
}

#else

dot_rows_fn qx_dot_rows_avx512(enum dtype t) { (void)t; return NULL; }

#endif
