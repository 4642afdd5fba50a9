/* kernels/formats.h — weight formats as data: decode and encode rows of any
 * dtype (f32, f16, bf16 and ggml's block formats, kernels/quant_blocks.h).
 * A leaf beside backend.h: backends use it for embedding rows, core for
 * synthetic models in quantized formats, tests for references. */
#ifndef INFERTOP_FORMATS_H
#define INFERTOP_FORMATS_H

#include "kernels/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* row (n elements in format t) → y[n]; n a multiple of the block size */
void dtype_decode_row(enum dtype t, const void *row, float *y, int n);
/* x[n] → row in format t (round to nearest; block scales chosen per block) */
void dtype_encode_row(enum dtype t, const float *x, void *row, int n);

#ifdef __cplusplus
}
#endif

#endif
