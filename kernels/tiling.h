/* kernels/tiling.h — tile sizes shared by the attention kernels of every
 * backend and by the cost model that counts their on-chip traffic
 * (kernels/cost.c). A leaf: no includes.
 *
 * The CPU and CUDA flash kernels both tile K/V by ATTN_TILE_KV tokens and Q by
 * ATTN_TILE_Q rows. The CPU kernels walk a K/V tile once per block of
 * ATTN_ROWS (query, head) rows of one GQA group. */
#ifndef INFERTOP_TILING_H
#define INFERTOP_TILING_H

#define ATTN_TILE_Q  32
#define ATTN_TILE_KV 64
#define ATTN_ROWS    4

#endif
