/* kernels/cost.h — MODELED bytes and FLOPs of each op, shared by every backend.
 *
 * Formulas from shared/notes/cupti-nvtx.md. "dram" is main memory (DRAM on a
 * CPU, HBM on a GPU); "chip" is traffic served on-chip (cache-resident tiles
 * on a CPU, shared memory / L2 on a GPU). These are models, never
 * measurements: kernel_record.bytes_measured stays false. */
#ifndef INFERTOP_COST_H
#define INFERTOP_COST_H

#include "kernels/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Tile sizes the flash kernels use; the CPU and CUDA flash kernels both tile
 * K/V by ATTN_TILE_KV tokens and Q by ATTN_TILE_Q rows. The CPU kernels walk
 * a K/V tile once per block of ATTN_ROWS (query, head) rows of one GQA group. */
#define ATTN_TILE_Q  32
#define ATTN_TILE_KV 64
#define ATTN_ROWS    4

void cost_matmul(struct kernel_record *r, const struct weight *w, int m);
void cost_attention(struct kernel_record *r, enum attn_impl impl, const struct kv_view *kv,
                    int n_q, int pos0, const struct attn_shape *sh);
void cost_eltwise(struct kernel_record *r, double elems, int reads, int writes, double flops_per);

#ifdef __cplusplus
}
#endif

#endif
