/* kernels/formats.c — the dtype table, scalar f16/bf16 conversions, and row
 * decode/encode per format; see formats.h. */
#include "kernels/formats.h"
#include "kernels/quant_blocks.h"
#include "kernels/sparse24.h"
#include "kernels/xq_blocks.h"

#include <math.h>
#include <string.h>

static const struct dtype_info DTYPES[DT_COUNT] = {
    [DT_F32]  = {"f32",  1,   4,   0, 0},
    [DT_F16]  = {"f16",  1,   2,   1, 0},
    [DT_BF16] = {"bf16", 1,   2,  30, 0},
    [DT_Q8_0] = {"q8_0", 32,  34,  8, 0},
    [DT_Q4_0] = {"q4_0", 32,  18,  2, 0},
    [DT_Q4_1] = {"q4_1", 32,  20,  3, 0},
    [DT_Q4_K] = {"q4_k", 256, 144, 12, 0},
    [DT_Q6_K] = {"q6_k", 256, 210, 14, 0},
    [DT_S24_F16] = {"s24_f16", S24_BLOCK, S24_F16_BLOCK_BYTES, -1, 0},
    [DT_S24_F32] = {"s24_f32", S24_BLOCK, S24_F32_BLOCK_BYTES, -1, 0},
    [DT_S24_Q8]  = {"s24_q8",  S24_BLOCK, S24_Q8_BLOCK_BYTES,  -1, 0},
    /* own formats: kernels/xq_blocks.h */
    [DT_I8]      = {"int8",       1,   1,  -1, 4},
    [DT_I4S_32]  = {"int4_g32",   32,  18, -1, 0},
    [DT_I4S_64]  = {"int4_g64",   64,  34, -1, 0},
    [DT_I4S_128] = {"int4_g128",  128, 66, -1, 0},
    [DT_I4A_32]  = {"int4_g32z",  32,  20, -1, 0},
    [DT_I4A_64]  = {"int4_g64z",  64,  36, -1, 0},
    [DT_I4A_128] = {"int4_g128z", 128, 68, -1, 0},
    [DT_E4M3]    = {"fp8_e4m3",   1,   1,  -1, 4},
    [DT_E5M2]    = {"fp8_e5m2",   1,   1,  -1, 4},
    [DT_W8A8]    = {"w8a8",       1,   1,  -1, 4},
    [DT_F8A8]    = {"fp8a8",      1,   1,  -1, 4},
};

const struct dtype_info *dtype_info(enum dtype t) { return &DTYPES[t]; }

size_t dtype_row_bytes(enum dtype t, int64_t n)
{
    return (size_t)DTYPES[t].row_extra + (size_t)(n / DTYPES[t].block_elems) * (size_t)DTYPES[t].block_bytes;
}

int dtype_i4_group(enum dtype t)
{
    return (t >= DT_I4S_32 && t <= DT_I4A_128) ? DTYPES[t].block_elems : 0;
}

int dtype_from_name(const char *name)
{
    for (int t = 0; t < DT_COUNT; t++)
        if (strcmp(DTYPES[t].name, name) == 0) return t;
    return -1;
}

int dtype_from_ggml(int ggml_type)
{
    for (int t = 0; t < DT_COUNT; t++)
        if (ggml_type >= 0 && DTYPES[t].ggml_type == ggml_type) return t;
    return -1;
}

/* ---- scalar conversions ---- */

static uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

uint16_t fp32_to_bf16(float f)
{
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);  /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float bf16_to_fp32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t fp32_to_fp16(float f)
{
    uint32_t u = f32_bits(f), sign = (u >> 16) & 0x8000u;
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);          /* NaN */
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);         /* overflow → inf */
    if (a < 0x38800000u) {                                            /* subnormal or zero */
        /* scale into the subnormal range and let the FPU round to nearest even */
        float m = bits_f32(a) * 16777216.0f;                          /* 2^24 */
        return (uint16_t)(sign | (uint32_t)lrintf(m));
    }
    uint32_t r = a + 0xfffu + ((a >> 13) & 1u) - 0x38000000u;         /* rebias 127 → 15 */
    return (uint16_t)(sign | (r >> 13));
}

float fp16_to_fp32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    if (e == 0) {                              /* zero or subnormal: m * 2^-24, exact */
        float mag = (float)m * 0x1p-24f;
        return sign ? -mag : mag;
    }
    if (e == 31) return bits_f32(sign | 0x7f800000u | (m << 13));
    return bits_f32(sign | ((e + 112) << 23) | (m << 13));
}

void dtype_decode_row(enum dtype t, const void *row, float *y, int n)
{
    const uint16_t *h = row;
    switch (t) {
    case DT_F32:  memcpy(y, row, (size_t)n * sizeof *y); break;
    case DT_F16:  for (int i = 0; i < n; i++) y[i] = fp16_to_fp32(h[i]); break;
    case DT_BF16: for (int i = 0; i < n; i++) y[i] = bf16_to_fp32(h[i]); break;
    case DT_Q8_0: dequant_q8_0(row, y, n); break;
    case DT_Q4_0: dequant_q4_0(row, y, n); break;
    case DT_Q4_1: dequant_q4_1(row, y, n); break;
    case DT_Q4_K: dequant_q4_k(row, y, n); break;
    case DT_Q6_K: dequant_q6_k(row, y, n); break;
    case DT_S24_F16: case DT_S24_F32: case DT_S24_Q8: sparse24_decode_row(t, row, y, n); break;
    case DT_COUNT: break;
    default: xq_decode_row(t, row, y, n); break;
    }
}

void dtype_encode_row(enum dtype t, const float *x, void *row, int n)
{
    uint16_t *h = row;
    switch (t) {
    case DT_F32:  memcpy(row, x, (size_t)n * sizeof *x); break;
    case DT_F16:  for (int i = 0; i < n; i++) h[i] = fp32_to_fp16(x[i]); break;
    case DT_BF16: for (int i = 0; i < n; i++) h[i] = fp32_to_bf16(x[i]); break;
    case DT_Q8_0: quantize_q8_0(x, row, n); break;
    case DT_Q4_0: quantize_q4_0(x, row, n); break;
    case DT_Q4_1: quantize_q4_1(x, row, n); break;
    case DT_Q4_K: quantize_q4_k(x, row, n); break;
    case DT_Q6_K: quantize_q6_k(x, row, n); break;
    case DT_S24_F16: case DT_S24_F32: case DT_S24_Q8: sparse24_encode_row(t, x, row, n); break;
    case DT_COUNT: break;
    default: xq_encode_row(t, x, row, n); break;
    }
}
