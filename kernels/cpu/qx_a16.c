/* kernels/cpu/qx_a16.c — 16-bit activation rows for the int8 and int4 g32
 * symmetric weight-only formats (qx.h): the conversion of an x row, the
 * scalar kernels (the same integer sums as the vector ones) and the dispatch
 * by SIMD level. */
#include "kernels/cpu/qx.h"
#include "kernels/xq_blocks.h"

#include <math.h>
#include <string.h>

#define A16_HDR 64          /* f32 scale, then padding: the int16 words start 64-byte aligned */
#define A16_MAX 32767.0f    /* |x̂| <= 32767: no (-32768)² pair, which vpmaddwd would overflow */

bool qx_uses_a16(enum dtype t) { return t == DT_I8 || t == DT_I4S_32; }

/* int4: pairs of 32-element groups. */
static int a16_pairs(int K) { return (K / 32 + 1) / 2; }

size_t qx_a16_bytes(enum dtype t, int K)
{
    if (t == DT_I4S_32) return A16_HDR + (size_t)a16_pairs(K) * (64 * sizeof(int16_t) + 16 * sizeof(int32_t));
    return A16_HDR + (size_t)((K + 63) / 64 * 64) * sizeof(int16_t);
}

float qx_a16_scale(const void *xa) { float s; memcpy(&s, xa, sizeof s); return s; }

static int16_t *a16_words(void *xa) { return (int16_t *)((uint8_t *)xa + A16_HDR); }

/* int4: word index of element k (group g = k / 32, e = k % 32) in the pair layout. */
static size_t a16_i4_index(int k)
{
    int g = k / 32, e = k % 32;
    return (size_t)(g / 2) * 64 + (size_t)(e / 16) * 32 + (size_t)(g % 2) * 16 + (size_t)(e % 16);
}

int qx_a16_get(enum dtype t, const void *xa, int k)
{
    const int16_t *q = (const int16_t *)((const uint8_t *)xa + A16_HDR);
    return q[t == DT_I4S_32 ? a16_i4_index(k) : (size_t)k];
}

/* s = max|x| / 32767 and 1/s (0 for an all-zero row). A non-finite x makes s
 * non-finite, so the outputs are NaN/inf as a float dot's would be. */
static float a16_scale(const float *x, int K, float *inv)
{
    float m = 0;
    for (int k = 0; k < K; k++) m = fmaxf(m, fabsf(x[k]));
    for (int k = 0; k < K; k++) if (!isfinite(x[k])) m = x[k] != x[k] ? x[k] : INFINITY;
    *inv = m > 0 && isfinite(m) ? A16_MAX / m : 0;
    return m / A16_MAX;
}

static int16_t a16_round(float v, float inv)
{
    float r = rintf(v * inv);
    return (int16_t)(r > A16_MAX ? A16_MAX : r < -A16_MAX ? -A16_MAX : r);
}

void qx_a16_row(enum dtype t, const float *x, void *xa, int K)
{
    static _Atomic int avx2 = -1;       /* every thread computes the same value */
    if (avx2 < 0) avx2 = cpu_simd_detect() != CPU_SIMD_SCALAR;
    if (!avx2 || !qx_a16_row_avx2(t, x, xa, K)) qx_a16_row_ref(t, x, xa, K);
}

void qx_a16_row_ref(enum dtype t, const float *x, void *xa, int K)
{
    float inv, s = a16_scale(x, K, &inv);
    memset(xa, 0, qx_a16_bytes(t, K));
    memcpy(xa, &s, sizeof s);
    int16_t *q = a16_words(xa);
    if (t != DT_I4S_32) {
        for (int k = 0; k < K; k++) q[k] = a16_round(x[k], inv);
        return;
    }
    int np = a16_pairs(K);
    int32_t *init = (int32_t *)(q + (size_t)np * 64);
    for (int k = 0; k < K; k++) {
        int16_t v = a16_round(x[k], inv);
        q[a16_i4_index(k)] = v;
        init[(k / 32) * 8] -= 8 * v;     /* group g's word: pair g/2, lane 8·(g%2) */
    }
}

/* ---- scalar kernels ---- */

static void a16_rows_ref_i8(const void *w, const void *xa, size_t xs, int nx, int K, float *out)
{
    const int8_t *wq = (const int8_t *)w + XQ_ROW_HDR;
    for (int r = 0; r < nx; r++) {
        const uint8_t *a = (const uint8_t *)xa + (size_t)r * xs;
        const int16_t *q = (const int16_t *)(a + A16_HDR);
        int64_t s = 0;
        for (int k = 0; k < K; k++) s += (int32_t)wq[k] * q[k];
        out[r] = xq_row_scale(w) * qx_a16_scale(a) * (float)s;
    }
}

static void a16_rows_ref_i4(const void *w, const void *xa, size_t xs, int nx, int K, float *out)
{
    const uint8_t *wb = w;
    for (int r = 0; r < nx; r++) {
        const uint8_t *a = (const uint8_t *)xa + (size_t)r * xs;
        float s = 0;
        for (int g = 0; g < K / 32; g++) {
            const uint8_t *blk = wb + (size_t)g * 18;
            uint16_t dh;
            memcpy(&dh, blk, 2);
            int32_t d = 0;
            for (int e = 0; e < 32; e++) d += (xq_i4_get(blk + 2, 32, e) - 8) * qx_a16_get(DT_I4S_32, a, g * 32 + e);
            s += fp16_to_fp32(dh) * (float)d;
        }
        out[r] = qx_a16_scale(a) * s;
    }
}

static void a16_wrows4_ref(qx_act_dot_fn rows, const void *w, size_t ws, const void *xa, int K, float *out)
{
    for (int c = 0; c < 4; c++) rows((const uint8_t *)w + (size_t)c * ws, xa, 0, 1, K, out + c);
}
static void a16_wrows4_ref_i8(const void *w, size_t ws, const void *xa, int K, float *out)
{
    a16_wrows4_ref(a16_rows_ref_i8, w, ws, xa, K, out);
}
static void a16_wrows4_ref_i4(const void *w, size_t ws, const void *xa, int K, float *out)
{
    a16_wrows4_ref(a16_rows_ref_i4, w, ws, xa, K, out);
}

/* AVX-512 kernels only where the CPU has VNNI (vpdpwssd); else AVX2's. */
static bool a16_use_avx512(enum cpu_simd s) { return s >= CPU_SIMD_AVX512 && qx_have_vnni(); }

qx_act_dot_fn qx_a16_dot_fn_for(enum dtype t, enum cpu_simd s)
{
    if (!qx_uses_a16(t)) return NULL;
    qx_act_dot_fn v = s == CPU_SIMD_SCALAR ? NULL : a16_use_avx512(s) ? qx_a16_rows_avx512(t) : qx_a16_rows_avx2(t);
    return v ? v : t == DT_I8 ? a16_rows_ref_i8 : a16_rows_ref_i4;
}

qx_a16_wrows4_fn qx_a16_wrows4_fn_for(enum dtype t, enum cpu_simd s)
{
    if (!qx_uses_a16(t)) return NULL;
    qx_a16_wrows4_fn v = s == CPU_SIMD_SCALAR ? NULL : a16_use_avx512(s) ? qx_a16_wrows4_avx512(t) : qx_a16_wrows4_avx2(t);
    return v ? v : t == DT_I8 ? a16_wrows4_ref_i8 : a16_wrows4_ref_i4;
}
