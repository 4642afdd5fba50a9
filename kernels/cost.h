/* kernels/cost.h — MODELED bytes and FLOPs of each op, shared by every backend.
 *
 * Formulas in kernels/cost.c, each above its function. "dram" is main memory (DRAM on a
 * CPU, HBM on a GPU); "chip" is traffic served on-chip (cache-resident tiles
 * on a CPU, shared memory / L2 on a GPU). These are models, never
 * measurements: kernel_record.bytes_measured stays false. */
#ifndef INFERTOP_COST_H
#define INFERTOP_COST_H

#include "kernels/backend.h"
#include "kernels/tiling.h"   /* ATTN_TILE_Q, ATTN_TILE_KV, ATTN_ROWS: the tiles counted below */

#ifdef __cplusplus
extern "C" {
#endif

void cost_matmul(struct kernel_record *r, const struct weight *w, int m);
void cost_attention(struct kernel_record *r, enum attn_impl impl, const struct kv_view *kv,
                    int n_q, int pos0, const struct attn_shape *sh);
void cost_eltwise(struct kernel_record *r, double elems, int reads, int writes, double flops_per);

#ifdef __cplusplus
}
#endif

#endif
