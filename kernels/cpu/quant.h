/* kernels/cpu/quant.h — GGUF block formats on the CPU: Q8_0, Q4_0, Q4_1, Q4_K, Q6_K.
 *
 * Matvec on quantized weights never makes an f32 copy of W: the activation row
 * x[K] is quantized once per matmul (Q8 blocks of 32, or Q8_K blocks of 256 for
 * the K-quants), then each weight row is dotted against it with integer
 * arithmetic, dequantizing in registers. Block layouts are ggml's (GGUF files
 * store them verbatim); K must be a multiple of the format's block size. */
#ifndef INFERTOP_QUANT_H
#define INFERTOP_QUANT_H

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"

#ifdef __cplusplus
extern "C" {
#endif

static inline bool dtype_is_quant(enum dtype t) { return t >= DT_Q8_0 && t < DT_COUNT; }

/* Bytes of the quantized activation row for weights of type wt. */
size_t quant_act_bytes(enum dtype wt, int K);
/* x[K] → xq in the activation format that pairs with wt. */
void   quant_act_row(enum dtype wt, const float *x, void *xq, int K);
/* dot(W row, x) from the quantized activation; `simd` picks the code path
 * (the scalar path always exists; tests compare both). */
float  quant_dot_row(enum dtype wt, const void *wrow, const void *xq, int K, enum cpu_simd simd);
/* Decoding and encoding weight rows: kernels/formats.h. */

#ifdef __cplusplus
}
#endif

#endif
