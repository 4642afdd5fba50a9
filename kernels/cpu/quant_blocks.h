/* kernels/cpu/quant_blocks.h — private to kernels/cpu/quant*.c: the quantized
 * activation rows and the per-format dot products quant.c dispatches to.
 * Weight block layouts: kernels/quant_blocks.h.
 *
 * Activation rows (ours, never stored in files):
 *   act_q8  per 32 elems: float d, float s = d * sum(qs), int8 qs[32]   (40 B)
 *           s lets the Q4_0 offset (-8) and the Q4_1 min term cost one multiply per block.
 *   act_q8k per 256 elems: float d, int8 qs[256], int16 bsums[16]       (292 B)
 *           bsums[j] = sum of qs[16j..16j+15]; they carry Q4_K's mins and Q6_K's -32. */
#ifndef INFERTOP_QUANT_BLOCKS_H
#define INFERTOP_QUANT_BLOCKS_H

#include <stdint.h>

#include "kernels/cpu/quant.h"
#include "kernels/quant_blocks.h"

struct act_q8  { float d, s; int8_t qs[32]; };
struct act_q8k { float d; int8_t qs[256]; int16_t bsums[16]; };

_Static_assert(sizeof(struct act_q8) == 40, "act_q8 block is 40 bytes");
_Static_assert(sizeof(struct act_q8k) == 292, "act_q8k block is 292 bytes");

/* Activation quantizers (one implementation, shared by every dot path). */
/* Symmetric int8 of n values with scale amax/127; returns the scale, writes q
 * (also the 2:4 int8 activations, kernels/cpu/sparse24_q8.c). */
float act_quantize_span(const float *x, int8_t *q, int n);
void act_q8_row(const float *x, struct act_q8 *y, int K);
void act_q8k_row(const float *x, struct act_q8k *y, int K);
/* act_q8_row vectorized (quant_avx2.c), byte-identical output; AVX2 CPUs only. */
void act_q8_row_avx2(const float *x, struct act_q8 *y, int K);

/* Scalar reference paths (quant_ref.c). */
float dot_q8_0_ref(const void *w, const void *xq, int K);
float dot_q4_0_ref(const void *w, const void *xq, int K);
float dot_q4_1_ref(const void *w, const void *xq, int K);
float dot_q4_k_ref(const void *w, const void *xq, int K);
float dot_q6_k_ref(const void *w, const void *xq, int K);

/* AVX2+FMA+F16C paths (quant_avx2.c); NULL-free: on non-x86 builds they call
 * the scalar path. */
float dot_q8_0_avx2(const void *w, const void *xq, int K);
float dot_q4_0_avx2(const void *w, const void *xq, int K);
float dot_q4_1_avx2(const void *w, const void *xq, int K);
float dot_q4_k_avx2(const void *w, const void *xq, int K);
float dot_q6_k_avx2(const void *w, const void *xq, int K);

/* True when the CPU runs the AVX-512 VNNI kernels (quant_vnni.c, quant_panel.c). */
bool quant_have_vnni512(void);
/* The tile of quant_dot_tile (mr x rows) on AVX-512 VNNI, 512-bit
 * (quant_vnni.c): false (nothing written) when the CPU lacks it or wt is not
 * Q8_0/Q4_0/Q4_1. */
bool quant_dot_tile_vnni512(enum dtype wt, const void *w, size_t w_stride, const void *xq, size_t xq_stride,
                            int mr, int K, float *out, size_t ldo);
/* One weight row on AVX-512 VNNI with the tile's float steps (*out = the
 * element the tile or quant_dot_rows4 would give): false when the CPU lacks
 * it or wt is not Q8_0/Q4_0/Q4_1. */
bool quant_dot_row_vnni512(enum dtype wt, const void *w, const void *xq, int K, float *out);

#endif
