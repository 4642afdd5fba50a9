/* kernels/xq_blocks.h — byte layouts of the own quantized formats (made by
 * core/quant from float weights; no GGUF equivalent) and their scalar row
 * decoders/encoders. Little-endian, rows self-contained (a per-row scale sits
 * in front of the row, so dtype_decode_row needs nothing else).
 *
 *   DT_I8, DT_W8A8   row = f32 scale s, int8 q[K]:   x = s·q, q in [-127, 127];
 *                    s = max|row| / 127 (per output channel).
 *   DT_E4M3, DT_F8A8 row = f32 scale s, E4M3 byte[K]: x = s·e4m3(b); s = max|row| / 448.
 *   DT_E5M2          row = f32 scale s, E5M2 byte[K]: x = s·e5m2(b); s = max|row| / 57344.
 *   DT_I4S_g         blocks of g = 32/64/128: f16 d, qs[g/2]; x = d·(q − 8), q in 0..15.
 *   DT_I4A_g         blocks of g: f16 d, int8 z (zero point), u8 pad, qs[g/2]; x = d·(q − z);
 *                    z may lie outside 0..15: a group that does not straddle 0
 *                    keeps all 16 codes on its own range.
 *                    Nibbles (both int4 kinds): byte i holds element i (low) and
 *                    element i + g/2 (high), Q4_0's order.
 * The int4 encoders search the group's scale (and zero point) for the least
 * squared error — optionally weighted per element (xq_encode_row_weighted:
 * the quant pass weighs by the input channel's E[x²]) — starting from and
 * never worse than plain max-abs rounding in that metric
 * (xq_i4_group_error_w compares; tests/unit/test_xquant.c checks on random groups).
 * Per-tile math both backends share is in the HD helpers below. */
#ifndef INFERTOP_XQ_BLOCKS_H
#define INFERTOP_XQ_BLOCKS_H

#include "kernels/formats.h"
#include "kernels/fp8.h"
#include "kernels/hd.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#define XQ_I8_MAX 127

/* Byte offset of the first block after the per-row scale (DT_I8, fp8 rows). */
#define XQ_ROW_HDR 4

/* int4 block header bytes: symmetric 2 (f16 d), zero point 4 (d, z, pad). */
static inline HD int xq_i4_hdr(bool zero_point) { return zero_point ? 4 : 2; }

/* Nibble of element e (0..g-1) of a block's qs. */
static inline HD int xq_i4_get(const uint8_t *qs, int g, int e)
{
    int h = g / 2;
    return e < h ? (qs[e] & 0xf) : (qs[e - h] >> 4);
}

/* int8 · int8 over K: the W8A8 inner product (int32 cannot overflow for
 * K < 2^17 with |q| <= 127). */
static inline HD int32_t xq_dot_i8(const int8_t *a, const int8_t *b, int K)
{
    int32_t s = 0;
    for (int k = 0; k < K; k++) s += (int32_t)a[k] * (int32_t)b[k];
    return s;
}

/* Round v / s to int8 in [-127, 127] (s > 0). */
static inline HD int8_t xq_round_i8(float v, float s)
{
    float q = rintf(v / s);
    return (int8_t)(q > 127.f ? 127.f : q < -127.f ? -127.f : q);
}

/* IEEE half bits → float (exact; the int4 group scales). */
static inline HD float xq_half_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0) {
        float mag = (float)m * 0x1p-24f;
        return sign ? -mag : mag;
    }
    if (e == 31) return fp8_bits_f32(sign | 0x7f800000u | (m << 13));
    return fp8_bits_f32(sign | ((e + 112) << 23) | (m << 13));
}

/* Whether rows of t start with an f32 scale (int8, fp8, w8a8, fp8a8). */
static inline HD bool xq_has_row_scale(int t)
{
    return t == DT_I8 || t == DT_W8A8 || t == DT_E4M3 || t == DT_F8A8 || t == DT_E5M2;
}

/* Element k of a row of own format t, dequantized except for the per-row
 * scale (xq_has_row_scale: multiply the dot by it once). The per-element
 * math both the CPU tests and the CUDA kernels run. */
static inline HD float xq_weight_elem(int t, const uint8_t *row, int k)
{
    switch (t) {
    case DT_I8: case DT_W8A8: return (float)(int8_t)row[XQ_ROW_HDR + k];
    case DT_E4M3: case DT_F8A8: return fp8_e4m3_to_f32(row[XQ_ROW_HDR + k]);
    case DT_E5M2: return fp8_e5m2_to_f32(row[XQ_ROW_HDR + k]);
    default: break;
    }
    bool zp = t >= DT_I4A_32 && t <= DT_I4A_128;
    int g = (t == DT_I4S_32 || t == DT_I4A_32) ? 32 : (t == DT_I4S_64 || t == DT_I4A_64) ? 64 : 128;
    const uint8_t *blk = row + (size_t)(k / g) * (size_t)(xq_i4_hdr(zp) + g / 2);
    float d = xq_half_to_f32((uint16_t)(blk[0] | blk[1] << 8));
    int z = zp ? (int8_t)blk[2] : 8;
    return d * (float)(xq_i4_get(blk + xq_i4_hdr(zp), g, k % g) - z);
}

/* row (n elements of own format t) → y[n]; x[n] → row. */
void xq_decode_row(enum dtype t, const void *row, float *y, int n);
void xq_encode_row(enum dtype t, const float *x, void *row, int n);
/* xq_encode_row with per-element importance imp[n] (>= 0; NULL: all 1) for
 * the int4 formats: their scale search minimises Σ imp_i (x_i − x̂_i)² per
 * group (the quant pass passes E[a_j²] of the input channel j the element
 * multiplies: the expected squared error of the matvec's output). Other
 * formats ignore imp. */
void xq_encode_row_weighted(enum dtype t, const float *x, const float *imp, void *row, int n);

/* The per-row scale stored in front of an int8 / fp8 row. */
float xq_row_scale(const void *row);

/* int4 group encode with a chosen method, for the property test and the
 * transform: search = false is plain max-abs rounding (the baseline);
 * search = true the least-squares search. Writes one block of g elements. */
void xq_i4_encode_group(const float *x, int g, bool zero_point, bool search, uint8_t *blk);
/* The same minimising Σ imp_i (x_i − x̂_i)² (imp[g] >= 0; NULL: all 1); the
 * search result is never worse than max-abs rounding in that metric. */
void xq_i4_encode_group_w(const float *x, const float *imp, int g, bool zero_point, bool search, uint8_t *blk);
/* Σ (x − decode(blk))² over the group; _w: Σ imp_i (x_i − decode_i)². */
double xq_i4_group_error(const float *x, int g, bool zero_point, const uint8_t *blk);
double xq_i4_group_error_w(const float *x, const float *imp, int g, bool zero_point, const uint8_t *blk);

/* x[n] → int8 row with a given scale (s > 0) or, s <= 0, s = max|x| / 127
 * (W8A8 activations: per token dynamic, or per tensor static). */
void xq_i8_encode_scaled(const float *x, void *row, int n, float s);
/* x[n] → E4M3 row with scale s (s <= 0: max|x| / 448). */
void xq_e4m3_encode_scaled(const float *x, void *row, int n, float s);

#endif
