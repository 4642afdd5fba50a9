/* kernels/formats.c — see formats.h. */
#include "kernels/formats.h"
#include "kernels/quant_blocks.h"

#include <string.h>

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
    case DT_COUNT: break;
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
    case DT_COUNT: break;
    }
}
