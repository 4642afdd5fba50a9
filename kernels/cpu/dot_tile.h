/* kernels/cpu/dot_tile.h — the matmul kernel of the float weight formats
 * (f32, f16, bf16): register tiles of several weight rows × several x rows.
 *
 * Decode of a batch (m = 2..16 x rows) and prefill load each weight vector
 * once per tile of x rows and each x vector once per tile of weight rows,
 * accumulators in registers: AVX-512 tiles are 4 weight rows × 4 x rows
 * (16 accumulators, 8 loads per 16 FMAs), AVX2 4 × 2 (8 accumulators, 6
 * loads per 8 FMAs), where one weight row against four x rows needed 10
 * loads per 8 FMAs and lone rows 2 loads per FMA.
 *
 * Batch invariance: every (weight row, x row) pair is summed in the same
 * order whatever the tile around it — one vector accumulator over the k
 * vectors in order, the same horizontal sum, then the ragged tail element
 * by element — so a row's result is the same bits at every row count
 * (m = 1 decode, batched decode, prefill, speculative verify) and every
 * tile shape, on each SIMD level (the levels' lane splits differ, so their
 * bits do). The scalar level sums each pair as the scalar row kernel does. */
#ifndef INFERTOP_DOT_TILE_H
#define INFERTOP_DOT_TILE_H

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"

#include <stddef.h>

/* y[i * ldy + n] = sum_k w_n[k] · x[i * ldx + k] for n < nr, i < nx, where
 * weight row n starts at (const char *)w + n * ws (ws bytes per row, K
 * elements of the kernel's dtype) and x rows hold K floats. */
typedef void (*dot_tile_fn)(const void *w, size_t ws, int nr, const float *x, size_t ldx, int nx, int K,
                            float *y, size_t ldy);

/* The kernel for weights of type t (F32, F16 or BF16) at SIMD level s; NULL
 * for other types. */
dot_tile_fn cpu_dot_tile_fn(enum dtype t, enum cpu_simd s);

#endif
