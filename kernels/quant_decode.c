/* kernels/quant_decode.c — GGUF block formats → f32 (ggml's layouts, see
 * kernels/quant_blocks.h). Plain C: used by every backend and by tests. */
#include "kernels/quant_blocks.h"

#include <math.h>
#include <string.h>

/* ---- Q4_K scale packing ---- */

void q4k_unpack_scales(const uint8_t s[12], uint8_t sc[8], uint8_t mn[8])
{
    for (int j = 0; j < 4; j++) {
        sc[j] = s[j] & 63;
        mn[j] = s[j + 4] & 63;
        sc[j + 4] = (uint8_t)((s[j + 8] & 15) | ((s[j] >> 6) << 4));
        mn[j + 4] = (uint8_t)((s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4));
    }
}

void q4k_pack_scales(uint8_t s[12], const uint8_t sc[8], const uint8_t mn[8])
{
    for (int j = 0; j < 4; j++) {
        s[j]     = (uint8_t)((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
        s[j + 4] = (uint8_t)((mn[j] & 63) | ((mn[j + 4] >> 4) << 6));
        s[j + 8] = (uint8_t)((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
    }
}

/* ---- Q6_K element access: q in 0..63 for element e (0..255) of a block ---- */

int q6k_get(const struct blk_q6_k *b, int e)
{
    int half = e / 128, r = e % 128, quarter = r / 32, l = r % 32;
    uint8_t lo = b->ql[64 * half + 32 * (quarter & 1) + l];
    int low4 = quarter < 2 ? (lo & 15) : (lo >> 4);
    int high2 = (b->qh[32 * half + l] >> (2 * quarter)) & 3;
    return low4 | (high2 << 4);
}

/* ---- dequantization ---- */

void dequant_q8_0(const void *w, float *y, int K)
{
    const struct blk_q8_0 *b = w;
    for (int i = 0; i < K / QK32; i++) {
        float d = fp16_to_fp32(b[i].d);
        for (int l = 0; l < 32; l++) y[32 * i + l] = d * (float)b[i].qs[l];
    }
}

void dequant_q4_0(const void *w, float *y, int K)
{
    const struct blk_q4_0 *b = w;
    for (int i = 0; i < K / QK32; i++) {
        float d = fp16_to_fp32(b[i].d);
        for (int l = 0; l < 16; l++) {
            y[32 * i + l]      = d * (float)((b[i].qs[l] & 15) - 8);
            y[32 * i + l + 16] = d * (float)((b[i].qs[l] >> 4) - 8);
        }
    }
}

void dequant_q4_1(const void *w, float *y, int K)
{
    const struct blk_q4_1 *b = w;
    for (int i = 0; i < K / QK32; i++) {
        float d = fp16_to_fp32(b[i].d), m = fp16_to_fp32(b[i].m);
        for (int l = 0; l < 16; l++) {
            y[32 * i + l]      = d * (float)(b[i].qs[l] & 15) + m;
            y[32 * i + l + 16] = d * (float)(b[i].qs[l] >> 4) + m;
        }
    }
}

void dequant_q4_k(const void *w, float *y, int K)
{
    const struct blk_q4_k *b = w;
    for (int i = 0; i < K / QKK; i++, y += QKK) {
        float d = fp16_to_fp32(b[i].d), dmin = fp16_to_fp32(b[i].dmin);
        uint8_t sc[8], mn[8];
        q4k_unpack_scales(b[i].scales, sc, mn);
        for (int c = 0; c < 4; c++) {
            const uint8_t *q = b[i].qs + 32 * c;
            float d0 = d * sc[2 * c], m0 = dmin * mn[2 * c];
            float d1 = d * sc[2 * c + 1], m1 = dmin * mn[2 * c + 1];
            for (int l = 0; l < 32; l++) {
                y[64 * c + l]      = d0 * (float)(q[l] & 15) - m0;
                y[64 * c + 32 + l] = d1 * (float)(q[l] >> 4) - m1;
            }
        }
    }
}

void dequant_q6_k(const void *w, float *y, int K)
{
    const struct blk_q6_k *b = w;
    for (int i = 0; i < K / QKK; i++, y += QKK) {
        float d = fp16_to_fp32(b[i].d);
        for (int e = 0; e < QKK; e++)
            y[e] = d * (float)b[i].scales[e / 16] * (float)(q6k_get(&b[i], e) - 32);
    }
}

