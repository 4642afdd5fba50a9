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
#include "kernels/formats.h"   /* dtype_is_quant */
#include "kernels/cpu/cpu_backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes of the quantized activation row for weights of type wt. */
size_t quant_act_bytes(enum dtype wt, int K);
/* x[K] → xq in the activation format that pairs with wt. */
void   quant_act_row(enum dtype wt, const float *x, void *xq, int K);
/* dot(W row, x) from the quantized activation; `simd` picks the code path
 * (the scalar path always exists; tests compare both). */
float  quant_dot_row(enum dtype wt, const void *wrow, const void *xq, int K, enum cpu_simd simd);
/* Register tile of quant_dot_tile: x rows × weight rows. */
#define QUANT_TILE_M 4
#define QUANT_TILE_N 4
/* Prefill: out[r*ldo + c] = dot(W row c, x row r) for r < mr (1..QUANT_TILE_M),
 * c < QUANT_TILE_N, with W rows w_stride bytes apart and quantized x rows
 * xq_stride bytes apart; every weight block is loaded once for all the x
 * rows (mr < QUANT_TILE_M: a batch's ragged last rows). AVX-512 runs the VNNI
 * kernel where the CPU has it. Returns false (nothing written) for formats
 * without a tile kernel (the K-quants) or mr out of range: use quant_dot_row
 * there. Each element equals quant_dot_row's bit for bit on the same path
 * (scalar, AVX2, AVX-512 VNNI), so results do not depend on the row count. */
bool   quant_dot_tile(enum dtype wt, const void *w, size_t w_stride, const void *xq,
                      size_t xq_stride, int mr, int K, float *out, size_t ldo, enum cpu_simd simd);
/* Decode: out[c] = dot(W row c, x) for c < QUANT_ROWS_N, W rows w_stride
 * bytes apart, one quantized x row. The AVX-512 VNNI kernel (quant_vnni.c)
 * for Q8_0, Q4_0, Q4_1 when simd is CPU_SIMD_AVX512 and the CPU has VNNI;
 * otherwise returns false (nothing written): use quant_dot_row. Each result
 * equals quant_dot_row's and the tile's bit for bit. */
#define QUANT_ROWS_N 4
bool   quant_dot_rows4(enum dtype wt, const void *w, size_t w_stride, const void *xq, int K, float *out,
                       enum cpu_simd simd);
/* Decoding and encoding weight rows: kernels/formats.h. */

#ifdef __cplusplus
}
#endif

#endif
