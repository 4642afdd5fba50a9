/* kernels/cpu/quant_ref.c — the activation quantizers and the scalar integer
 * dot products every SIMD path is tested against. Layouts: kernels/quant_blocks.h
 * (weights) and kernels/cpu/quant_blocks.h (activations). */
#include "kernels/cpu/quant_blocks.h"

#include <math.h>
#include <string.h>

/* ---- activations ---- */

float act_quantize_span(const float *x, int8_t *q, int n)
{
    float amax = 0.f;
    for (int i = 0; i < n; i++) amax = fmaxf(amax, fabsf(x[i]));
    float d = amax / 127.f, id = amax > 0.f ? 127.f / amax : 0.f;
    for (int i = 0; i < n; i++) {
        long v = lrintf(x[i] * id);
        q[i] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
    }
    return d;
}

void act_q8_row(const float *x, struct act_q8 *y, int K)
{
    for (int b = 0; b < K / QK32; b++) {
        /* ggml's Q8_0/Q8_1 keep d and s = d·Σq in fp16; rounding them the same
         * way makes our dot products equal llama.cpp's (tests/reference) */
        float d = act_quantize_span(x + b * QK32, y[b].qs, QK32);
        int sum = 0;
        for (int i = 0; i < QK32; i++) sum += y[b].qs[i];
        y[b].d = fp16_to_fp32(fp32_to_fp16(d));
        y[b].s = fp16_to_fp32(fp32_to_fp16(d * (float)sum));
    }
}

void act_q8k_row(const float *x, struct act_q8k *y, int K)
{
    for (int b = 0; b < K / QKK; b++) {
        y[b].d = act_quantize_span(x + b * QKK, y[b].qs, QKK);
        for (int j = 0; j < 16; j++) {
            int sum = 0;
            for (int i = 0; i < 16; i++) sum += y[b].qs[16 * j + i];
            y[b].bsums[j] = (int16_t)sum;
        }
    }
}

/* ---- scalar integer dot products ---- */

float dot_q8_0_ref(const void *w, const void *xq, int K)
{
    const struct blk_q8_0 *b = w;
    const struct act_q8 *a = xq;
    float sum = 0.f;
    for (int i = 0; i < K / QK32; i++) {
        int s = 0;
        for (int l = 0; l < 32; l++) s += b[i].qs[l] * a[i].qs[l];
        sum += fp16_to_fp32(b[i].d) * a[i].d * (float)s;
    }
    return sum;
}

/* sum(nibble * xq) over one 32-block with ggml's nibble order. */
static int nibble_dot32(const uint8_t qs[16], const int8_t xq[32])
{
    int s = 0;
    for (int l = 0; l < 16; l++) s += (qs[l] & 15) * xq[l] + (qs[l] >> 4) * xq[l + 16];
    return s;
}

/* d*(q-8)·x = d*(dx*Σq·qx - 8*s) with s = dx*Σqx from the activation block. */
float dot_q4_0_ref(const void *w, const void *xq, int K)
{
    const struct blk_q4_0 *b = w;
    const struct act_q8 *a = xq;
    float sum = 0.f;
    for (int i = 0; i < K / QK32; i++) {
        int s = nibble_dot32(b[i].qs, a[i].qs);
        sum += fp16_to_fp32(b[i].d) * (a[i].d * (float)s - 8.f * a[i].s);
    }
    return sum;
}

/* (d*q + m)·x = d*dx*Σq·qx + m*s. */
float dot_q4_1_ref(const void *w, const void *xq, int K)
{
    const struct blk_q4_1 *b = w;
    const struct act_q8 *a = xq;
    float sum = 0.f;
    for (int i = 0; i < K / QK32; i++) {
        int s = nibble_dot32(b[i].qs, a[i].qs);
        sum += fp16_to_fp32(b[i].d) * a[i].d * (float)s + fp16_to_fp32(b[i].m) * a[i].s;
    }
    return sum;
}

/* Σ_j (d*sc_j*q - dmin*mn_j)·x over sub-blocks j: the min term uses the
 * activation's 16-element sums (two per sub-block of 32). */
float dot_q4_k_ref(const void *w, const void *xq, int K)
{
    const struct blk_q4_k *b = w;
    const struct act_q8k *a = xq;
    float sum = 0.f;
    for (int i = 0; i < K / QKK; i++) {
        uint8_t sc[8], mn[8];
        q4k_unpack_scales(b[i].scales, sc, mn);
        int sq = 0, sm = 0;
        for (int c = 0; c < 4; c++) {
            const uint8_t *q = b[i].qs + 32 * c;
            const int8_t *x = a[i].qs + 64 * c;
            int s0 = 0, s1 = 0;
            for (int l = 0; l < 32; l++) {
                s0 += (q[l] & 15) * x[l];
                s1 += (q[l] >> 4) * x[32 + l];
            }
            sq += sc[2 * c] * s0 + sc[2 * c + 1] * s1;
        }
        for (int j = 0; j < 8; j++) sm += mn[j] * (a[i].bsums[2 * j] + a[i].bsums[2 * j + 1]);
        sum += a[i].d * (fp16_to_fp32(b[i].d) * (float)sq - fp16_to_fp32(b[i].dmin) * (float)sm);
    }
    return sum;
}

/* Σ_j d*sc_j*Σ(q-32)·qx = d*dx*Σ_j sc_j*(Σq·qx - 32*bsum_j) over 16-element sub-blocks. */
float dot_q6_k_ref(const void *w, const void *xq, int K)
{
    const struct blk_q6_k *b = w;
    const struct act_q8k *a = xq;
    float sum = 0.f;
    for (int i = 0; i < K / QKK; i++) {
        int st = 0;
        for (int j = 0; j < 16; j++) {
            int s = 0;
            for (int l = 0; l < 16; l++) s += q6k_get(&b[i], 16 * j + l) * a[i].qs[16 * j + l];
            st += b[i].scales[j] * (s - 32 * a[i].bsums[j]);
        }
        sum += fp16_to_fp32(b[i].d) * a[i].d * (float)st;
    }
    return sum;
}
