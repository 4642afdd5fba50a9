/* kernels/sparse24.c — encode/decode of 2:4 sparse rows (layout in
 * kernels/sparse24.h). Values are read and written with memcpy: s24_f32's
 * floats sit at offset 2 of a 34-byte block, unaligned. */
#include "kernels/sparse24.h"

#include <math.h>
#include <string.h>

static size_t block_bytes(enum dtype t) { return (size_t)dtype_info(t)->block_bytes; }

static const unsigned char *block_at(enum dtype t, const void *row, int b)
{
    return (const unsigned char *)row + (size_t)b * block_bytes(t);
}

unsigned sparse24_block_meta(enum dtype t, const void *row, int b)
{
    uint16_t m;
    memcpy(&m, block_at(t, row, b), sizeof m);
    return m;
}

/* Kept value k of block blk (s24_f16 / s24_f32 / s24_q8) as a float. */
static float kept_value(enum dtype t, const unsigned char *blk, int k)
{
    if (t == DT_S24_F16) {
        uint16_t h;
        memcpy(&h, blk + 2 + 2 * k, 2);
        return fp16_to_fp32(h);
    }
    if (t == DT_S24_F32) {
        float f;
        memcpy(&f, blk + 2 + 4 * k, 4);
        return f;
    }
    uint16_t d;
    memcpy(&d, blk + 2, 2);
    return fp16_to_fp32(d) * (float)(int8_t)blk[4 + k];
}

void sparse24_decode_row(enum dtype t, const void *row, float *y, int n)
{
    for (int b = 0; b < n / S24_BLOCK; b++) {
        const unsigned char *blk = block_at(t, row, b);
        unsigned meta = sparse24_block_meta(t, row, b);
        float *yb = y + (size_t)b * S24_BLOCK;
        for (int i = 0; i < S24_BLOCK; i++) yb[i] = 0.f;
        for (int k = 0; k < S24_KEPT; k++) yb[sparse24_index(meta, k)] = kept_value(t, blk, k);
    }
}

/* Per group of x's block: keep the two largest |x|; kept[8] and the meta. */
static unsigned select_block(const float *x, float kept[S24_KEPT])
{
    unsigned meta = 0;
    for (int g = 0; g < S24_BLOCK / 4; g++) {
        float s[4];
        for (int i = 0; i < 4; i++) s[i] = fabsf(x[4 * g + i]);
        int a, b;
        sparse24_top2(s, &a, &b);
        meta |= sparse24_nibble(a, b) << (4 * g);
        kept[2 * g] = x[4 * g + a];
        kept[2 * g + 1] = x[4 * g + b];
    }
    return meta;
}

static int clamp127(long v) { return v < -127 ? -127 : v > 127 ? 127 : (int)v; }

/* The kept values in s24_q8: d = max|kept| / 127 rounded through f16 (what a
 * decoder sees), q = round(v / d). */
static void write_q8(unsigned char *blk, const float kept[S24_KEPT])
{
    float amax = 0.f;
    for (int k = 0; k < S24_KEPT; k++) amax = fmaxf(amax, fabsf(kept[k]));
    uint16_t dh = fp32_to_fp16(amax / 127.f);
    float d = fp16_to_fp32(dh);
    memcpy(blk + 2, &dh, 2);
    for (int k = 0; k < S24_KEPT; k++)
        blk[4 + k] = (unsigned char)(int8_t)(d > 0.f ? clamp127(lrintf(kept[k] / d)) : 0);
}

void sparse24_encode_row(enum dtype t, const float *x, void *row, int n)
{
    for (int b = 0; b < n / S24_BLOCK; b++) {
        unsigned char *blk = (unsigned char *)row + (size_t)b * block_bytes(t);
        float kept[S24_KEPT];
        uint16_t meta = (uint16_t)select_block(x + (size_t)b * S24_BLOCK, kept);
        memcpy(blk, &meta, 2);
        if (t == DT_S24_F16) {
            for (int k = 0; k < S24_KEPT; k++) {
                uint16_t h = fp32_to_fp16(kept[k]);
                memcpy(blk + 2 + 2 * k, &h, 2);
            }
        } else if (t == DT_S24_F32) {
            memcpy(blk + 2, kept, sizeof kept);
        } else {
            write_q8(blk, kept);
        }
    }
}
