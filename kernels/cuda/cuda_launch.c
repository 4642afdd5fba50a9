/* kernels/cuda/cuda_launch.c — launch planning (plain C; see cuda_launch.h). */
#include "kernels/cuda/cuda_launch.h"

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

struct cl_1d cl_eltwise(int64_t n)
{
    struct cl_1d l = {1, CL_ELT_BLOCK};
    int64_t blocks = ceil_div(n > 0 ? n : 1, CL_ELT_BLOCK);
    l.grid = (uint32_t)(blocks < (int64_t)CL_MAX_GRID ? blocks : (int64_t)CL_MAX_GRID);
    return l;
}

struct cl_1d cl_rows(int rows, int cols)
{
    struct cl_1d l = {(uint32_t)(rows > 0 ? rows : 1), 32};
    while ((int)l.block < cols && l.block < CL_ROW_BLOCK) l.block *= 2;
    return l;
}

/* Splits only pay when the (q tile, kv head) grid leaves multiprocessors idle:
 * aim for about two blocks per SM, never split a key tile, at most CL_MAX_SPLITS. */
static void flash_choose_splits(struct cl_flash *g, int sm_count)
{
    int blocks = g->q_tiles * g->n_kv_heads;
    int splits = 1;
    if (sm_count > 1 && blocks < sm_count)
        splits = (int)ceil_div(2 * (int64_t)sm_count, blocks);
    if (splits > g->kv_tiles) splits = g->kv_tiles;
    if (splits > CL_MAX_SPLITS) splits = CL_MAX_SPLITS;
    if (splits < 1) splits = 1;
    g->tiles_per_split = (int)ceil_div(g->kv_tiles, splits);
    g->n_splits = (int)ceil_div(g->kv_tiles, g->tiles_per_split);   /* no empty tail split */
}

int cl_flash_plan(struct cl_flash *g, int n_q, int pos0, int n_heads, int n_kv_heads,
                  int head_dim, int sm_count)
{
    if (n_q < 1 || pos0 < 0 || head_dim < 1 || head_dim > CL_FLASH_MAX_D || n_kv_heads < 1 ||
        n_heads < n_kv_heads || n_heads % n_kv_heads != 0)
        return -1;
    g->n_q = n_q;
    g->pos0 = pos0;
    g->n_ctx = pos0 + n_q;
    g->head_dim = head_dim;
    g->n_heads = n_heads;
    g->n_kv_heads = n_kv_heads;
    g->group = n_heads / n_kv_heads;
    g->rows = n_q * g->group;
    g->q_tiles = (int)ceil_div(g->rows, ATTN_TILE_Q);
    g->kv_tiles = (int)ceil_div(g->n_ctx, ATTN_TILE_KV);
    g->threads = 32 * CL_FLASH_WARPS;
    /* K rows padded to head_dim+1 floats so lanes reading different keys hit different banks */
    g->smem_bytes = sizeof(float) * ((size_t)ATTN_TILE_KV * (head_dim + 1) +
                                     (size_t)ATTN_TILE_KV * head_dim + (size_t)ATTN_TILE_Q * head_dim);
    flash_choose_splits(g, sm_count);
    return 0;
}

struct cl_qdot cl_qdot_plan(int N, int m, int blocks_per_row)
{
    struct cl_qdot g;
    g.grid_x = (uint32_t)ceil_div(N > 0 ? N : 1, CL_QDOT_WARPS);
    g.grid_y = (uint32_t)ceil_div(m > 0 ? m : 1, CL_QDOT_MROWS);
    g.block = 32 * CL_QDOT_WARPS;
    g.act = cl_eltwise((int64_t)(m > 0 ? m : 1) * (blocks_per_row > 0 ? blocks_per_row : 1));
    return g;
}
