/* kernels/cuda/cuda_launch.h — launch geometry of the CUDA kernels, in plain C.
 *
 * The planning functions (cuda_launch.c) decide grid and block sizes, flash
 * tiling counts and the number of KV splits; the CM_FN index helpers below map
 * a block to the rows and keys it owns. Kernels and the CPU unit tests use the
 * same functions, so "every row, head and key is covered exactly once" is
 * tested without a GPU. No CUDA headers here. */
#ifndef INFERTOP_CUDA_LAUNCH_H
#define INFERTOP_CUDA_LAUNCH_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/tiling.h"
#include "kernels/cuda/cuda_math.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CL_ELT_BLOCK    256          /* threads per block of element-wise kernels */
#define CL_MAX_GRID     (1u << 20)   /* grid-stride loops cap the grid here */
#define CL_ROW_BLOCK    256          /* most threads of a one-block-per-row kernel */
#define CL_FLASH_WARPS  4            /* warps per flash block; each owns TILE_Q/4 rows */
#define CL_FLASH_MAX_D  256          /* largest head_dim the flash kernel takes */
#define CL_MAX_SPLITS   32           /* most KV splits of one (q tile, kv head) */

struct cl_1d { uint32_t grid, block; };

/* Grid-stride element-wise launch over n elements (n >= 1). */
struct cl_1d cl_eltwise(int64_t n);
/* One block per row: grid = rows, block = a power of two in [32, CL_ROW_BLOCK]
 * no larger than needed for cols. */
struct cl_1d cl_rows(int rows, int cols);

/* Flash attention plan for one sequence. Rows of a block are (query, head)
 * pairs of one KV head's GQA group, r = q * group + head_in_group, so a K/V
 * tile loaded into shared memory serves every query head that reads it.
 * grid = (q_tiles, n_kv_heads, n_splits); split s covers key tiles
 * [s*tiles_per_split, (s+1)*tiles_per_split). */
struct cl_flash {
    int n_q, pos0, n_ctx, head_dim;
    int n_heads, n_kv_heads, group;
    int rows;             /* n_q * group */
    int q_tiles;          /* ceil(rows / ATTN_TILE_Q) */
    int kv_tiles;         /* ceil(n_ctx / ATTN_TILE_KV) */
    int n_splits;         /* > 1: partial results merged by a combine kernel */
    int tiles_per_split;
    int threads;          /* 32 * CL_FLASH_WARPS */
    size_t smem_bytes;    /* K tile (padded rows) + V tile + Q tile, floats */
};

/* Fills g; sm_count (multiprocessors) sets how many splits a small grid gets
 * (0 or 1 splits nothing). Returns 0, or -1 when the shape is unsupported
 * (head_dim outside 1..CL_FLASH_MAX_D, n_heads not a multiple of n_kv_heads,
 * n_q < 1). */
int cl_flash_plan(struct cl_flash *g, int n_q, int pos0, int n_heads, int n_kv_heads,
                  int head_dim, int sm_count);

/* Rows [*r0, *r1) of q tile qt. */
CM_FN void cl_flash_tile_rows(const struct cl_flash *g, int qt, int *r0, int *r1)
{
    *r0 = qt * ATTN_TILE_Q;
    *r1 = *r0 + ATTN_TILE_Q < g->rows ? *r0 + ATTN_TILE_Q : g->rows;
}

/* Query index and query head of row r of KV head kvh. */
CM_FN void cl_flash_row(const struct cl_flash *g, int kvh, int r, int *q, int *head)
{
    *q = r / g->group;
    *head = kvh * g->group + r % g->group;
}

/* Keys [*k0, *k1) of split s for a block whose last row has query q_last:
 * the split's key range cut at the causal limit pos0 + q_last + 1. May be empty. */
CM_FN void cl_flash_keys(const struct cl_flash *g, int s, int q_last, int *k0, int *k1)
{
    int a = s * g->tiles_per_split * ATTN_TILE_KV;
    int b = a + g->tiles_per_split * ATTN_TILE_KV;
    int lim = g->pos0 + q_last + 1;
    if (b > g->n_ctx) b = g->n_ctx;
    if (b > lim) b = lim;
    *k0 = a;
    *k1 = b > a ? b : a;
}

/* Block-format matmul (cuda_qdot.cu): one warp per output row n, lanes
 * striding over the row's blocks; a warp also takes CL_QDOT_MROWS x rows at
 * once so a weight block read from memory serves several tokens.
 * grid = (ceil(N / CL_QDOT_WARPS), ceil(m / CL_QDOT_MROWS)), block = 32 *
 * CL_QDOT_WARPS. The activation kernel runs one thread per (row, block). */
#define CL_QDOT_WARPS 4
#define CL_QDOT_MROWS 4
struct cl_qdot { uint32_t grid_x, grid_y, block; struct cl_1d act; };
struct cl_qdot cl_qdot_plan(int N, int m, int blocks_per_row);

/* Output row of warp `warp` in block column bx (>= N: idle), and x rows
 * [*i0, *i1) of block row by. */
CM_FN int cl_qdot_row(int bx, int warp) { return bx * CL_QDOT_WARPS + warp; }
CM_FN void cl_qdot_xrows(int by, int m, int *i0, int *i1)
{
    *i0 = by * CL_QDOT_MROWS;
    *i1 = *i0 + CL_QDOT_MROWS < m ? *i0 + CL_QDOT_MROWS : m;
}

#ifdef __cplusplus
}
#endif

#endif
