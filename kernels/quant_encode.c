/* kernels/quant_encode.c — f32 rows → GGUF blocks (synthetic quantized
 * models, tests). Round-to-nearest against the scales as STORED (after their
 * own fp16 / 6-bit / int8 rounding), so every element decodes to the nearest
 * value its block can represent. Scale choice: max-abs (Q8_0, Q4_0), min/max
 * (Q4_1), and for the K-quants a max-based start refined by a small search
 * over neighbouring sub-block scales that minimizes the squared error. */
#include "kernels/quant_blocks.h"

#include <math.h>
#include <string.h>

static int clampi(long v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : (int)v; }

/* Round through fp16 and back: the scale a decoder will actually see. */
static float fp16_round(float f, uint16_t *h)
{
    *h = fp32_to_fp16(f);
    return fp16_to_fp32(*h);
}

/* The element of largest magnitude, with its sign. */
static float signed_absmax(const float *x, int n)
{
    float best = 0.f;
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) > fabsf(best)) best = x[i];
    return best;
}

void quantize_q8_0(const float *x, void *w, int K)
{
    struct blk_q8_0 *b = w;
    for (int i = 0; i < K / QK32; i++, x += QK32) {
        float d = fp16_round(fabsf(signed_absmax(x, QK32)) / 127.f, &b[i].d);
        for (int l = 0; l < 32; l++)
            b[i].qs[l] = (int8_t)(d > 0.f ? clampi(lrintf(x[l] / d), -127, 127) : 0);
    }
}

/* The largest-magnitude element maps exactly to q = 0 (value -8d), so the grid
 * spans [-8|d|, 7|d|] on that element's side. */
void quantize_q4_0(const float *x, void *w, int K)
{
    struct blk_q4_0 *b = w;
    for (int i = 0; i < K / QK32; i++, x += QK32) {
        float d = fp16_round(signed_absmax(x, QK32) / -8.f, &b[i].d);
        for (int l = 0; l < 16; l++) {
            int q0 = d != 0.f ? clampi(lrintf(x[l] / d) + 8, 0, 15) : 8;
            int q1 = d != 0.f ? clampi(lrintf(x[l + 16] / d) + 8, 0, 15) : 8;
            b[i].qs[l] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

void quantize_q4_1(const float *x, void *w, int K)
{
    struct blk_q4_1 *b = w;
    for (int i = 0; i < K / QK32; i++, x += QK32) {
        float lo = x[0], hi = x[0];
        for (int l = 1; l < 32; l++) { lo = fminf(lo, x[l]); hi = fmaxf(hi, x[l]); }
        float d = fp16_round((hi - lo) / 15.f, &b[i].d);
        float m = fp16_round(lo, &b[i].m);
        for (int l = 0; l < 16; l++) {
            int q0 = d > 0.f ? clampi(lrintf((x[l] - m) / d), 0, 15) : 0;
            int q1 = d > 0.f ? clampi(lrintf((x[l + 16] - m) / d), 0, 15) : 0;
            b[i].qs[l] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

/* ---- Q4_K ---- */

/* Nearest q in 0..15 for value x on the grid step*q - off. */
static int q4k_level(float x, float step, float off)
{
    return step > 0.f ? clampi(lrintf((x + off) / step), 0, 15) : 0;
}

/* Squared error of one sub-block of 32 quantized with (step, off); the decoded
 * value is computed exactly as dequant_q4_k does. */
static float q4k_sse(const float *x, float step, float off)
{
    float e = 0.f;
    for (int l = 0; l < 32; l++) {
        float r = x[l] - (step * (float)q4k_level(x[l], step, off) - off);
        e += r * r;
    }
    return e;
}

/* Pick sub-block j's 6-bit scale and min near the max-based start. */
static void q4k_search(const float *x, float D, float DM, float scale, float minv,
                       uint8_t *sc, uint8_t *mn)
{
    int s0 = D > 0.f ? clampi(lrintf(scale / D), 0, 63) : 0;
    int m0 = DM > 0.f ? clampi(lrintf(minv / DM), 0, 63) : 0;
    float best = INFINITY;
    for (int ds = -1; ds <= 1; ds++)
        for (int dm = -1; dm <= 1; dm++) {
            int s = s0 + ds, m = m0 + dm;
            if (s < 0 || s > 63 || m < 0 || m > 63) continue;
            float e = q4k_sse(x, D * (float)s, DM * (float)m);
            if (e < best) { best = e; *sc = (uint8_t)s; *mn = (uint8_t)m; }
        }
}

static void quantize_q4_k_block(const float *x, struct blk_q4_k *b)
{
    float scale[8], minv[8], smax = 0.f, mmax = 0.f;
    for (int j = 0; j < 8; j++) {
        const float *xs = x + 32 * j;
        float lo = 0.f, hi = xs[0];     /* the min term only subtracts: lo <= 0 */
        for (int l = 0; l < 32; l++) { lo = fminf(lo, xs[l]); hi = fmaxf(hi, xs[l]); }
        scale[j] = (hi - lo) / 15.f;
        minv[j] = -lo;
        smax = fmaxf(smax, scale[j]);
        mmax = fmaxf(mmax, minv[j]);
    }
    float D = fp16_round(smax / 63.f, &b->d), DM = fp16_round(mmax / 63.f, &b->dmin);
    uint8_t sc[8], mn[8];
    for (int j = 0; j < 8; j++) q4k_search(x + 32 * j, D, DM, scale[j], minv[j], &sc[j], &mn[j]);
    q4k_pack_scales(b->scales, sc, mn);
    for (int c = 0; c < 4; c++) {
        float st0 = D * (float)sc[2 * c], of0 = DM * (float)mn[2 * c];
        float st1 = D * (float)sc[2 * c + 1], of1 = DM * (float)mn[2 * c + 1];
        for (int l = 0; l < 32; l++) {
            int q0 = q4k_level(x[64 * c + l], st0, of0);
            int q1 = q4k_level(x[64 * c + 32 + l], st1, of1);
            b->qs[32 * c + l] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

void quantize_q4_k(const float *x, void *w, int K)
{
    struct blk_q4_k *b = w;
    for (int i = 0; i < K / QKK; i++) quantize_q4_k_block(x + QKK * i, &b[i]);
}

/* ---- Q6_K ---- */

/* Nearest q in 0..63 for value x on the grid step*(q-32). */
static int q6k_level(float x, float step)
{
    return step != 0.f ? clampi(lrintf(x / step) + 32, 0, 63) : 32;
}

static float q6k_sse(const float *x, float step)
{
    float e = 0.f;
    for (int l = 0; l < 16; l++) {
        float r = x[l] - step * (float)(q6k_level(x[l], step) - 32);
        e += r * r;
    }
    return e;
}

/* Start: the largest-magnitude element maps to q-32 = -32; then try the
 * neighbouring int8 scales and the mirrored grid (sign flipped). */
static int8_t q6k_search(const float *x, float D, float s)
{
    int s0 = D > 0.f ? clampi(lrintf(s / D), -127, 127) : 0;
    int cand[6] = {s0, s0 - 1, s0 + 1, -s0, -s0 - 1, -s0 + 1};
    int best_s = s0;
    float best = INFINITY;
    for (int k = 0; k < 6; k++) {
        if (cand[k] < -127 || cand[k] > 127) continue;
        float e = q6k_sse(x, D * (float)cand[k]);
        if (e < best) { best = e; best_s = cand[k]; }
    }
    return (int8_t)best_s;
}

/* q[256] (0..63) → ql/qh: within each half of 128, ql byte l holds elems l
 * (low nibble) and l+64 (high), ql byte 32+l holds l+32 and l+96, and qh byte
 * l holds the top 2 bits of l, l+32, l+64, l+96 at bits 0, 2, 4, 6. */
static void q6k_pack(struct blk_q6_k *b, const uint8_t q[256])
{
    for (int n = 0; n < 2; n++) {
        const uint8_t *h = q + 128 * n;
        for (int l = 0; l < 32; l++) {
            b->ql[64 * n + l]      = (uint8_t)((h[l] & 15) | ((h[l + 64] & 15) << 4));
            b->ql[64 * n + 32 + l] = (uint8_t)((h[l + 32] & 15) | ((h[l + 96] & 15) << 4));
            b->qh[32 * n + l] = (uint8_t)((h[l] >> 4) | ((h[l + 32] >> 4) << 2) |
                                          ((h[l + 64] >> 4) << 4) | ((h[l + 96] >> 4) << 6));
        }
    }
}

static void quantize_q6_k_block(const float *x, struct blk_q6_k *b)
{
    float s[16], smax = 0.f;
    for (int j = 0; j < 16; j++) {
        s[j] = signed_absmax(x + 16 * j, 16) / -32.f;
        smax = fmaxf(smax, fabsf(s[j]));
    }
    float D = fp16_round(smax / 127.f, &b->d);
    uint8_t q[256];
    for (int j = 0; j < 16; j++) {
        b->scales[j] = q6k_search(x + 16 * j, D, s[j]);
        float step = D * (float)b->scales[j];
        for (int l = 0; l < 16; l++) q[16 * j + l] = (uint8_t)q6k_level(x[16 * j + l], step);
    }
    q6k_pack(b, q);
}

void quantize_q6_k(const float *x, void *w, int K)
{
    struct blk_q6_k *b = w;
    for (int i = 0; i < K / QKK; i++) quantize_q6_k_block(x + QKK * i, &b[i]);
}
