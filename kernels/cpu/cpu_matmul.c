/* kernels/cpu/cpu_matmul.c — y[m][N] = x[m][K] · Wᵀ on the CPU.
 *
 * Work is split into tasks of (a chunk of weight rows) × (a block of x rows).
 * f32/f16/bf16 weights run register tiles of 4 weight rows × 4 (AVX2: 2) x
 * rows (dot_tile.h); the other float-activation formats dot each weight row
 * load against four x rows at once (cpu_dot.h). So:
 *   decode (m = 1): every weight row streams from memory exactly once — the
 *     op is bandwidth-bound and the chunks only balance the threads;
 *   prefill (m > 1): a weight row is loaded once per four x rows, and the
 *     task's chunk of weight rows (<= MM_CHUNK_BYTES) stays in L2 while the
 *     block's x rows pass over it.
 * Quantized weights (quant.h): each x row is quantized once per matmul, then
 * every (weight row, x row) pair is an integer dot product; so for 2:4 int8
 * (s24_q8) and the activation-quantized own formats (W8A8, FP8A8). */
#include "kernels/cpu/cpu_internal.h"
#include "kernels/cpu/cpu_dot.h"
#include "kernels/cpu/dot_tile.h"
#include "kernels/cpu/quant.h"
#include "kernels/cpu/quant_amx.h"
#include "kernels/cpu/quant_panel.h"
#include "kernels/cpu/qx.h"
#include "kernels/cpu/sparse24_dot.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define MM_M_BLOCK        32      /* x rows per task */
#define MM_PANEL_M_BLOCK  128     /* x rows per task with packed panels: a packed weight group
                                     serves 32 tiles; the block's packed x (<= 128 · 136 B per
                                     64 columns) stays in L2 */
#define MM_TASKS_PER_THREAD 4     /* prefill: enough tasks to balance uneven threads */
#define MM_DECODE_TASKS   4       /* decode: tasks per thread, so a descheduled thread's slice is shared */
#define MM_DECODE_MIN_ROWS 32     /* decode: weight rows per task at least (a claim costs ~10-50 ns) */
#define MM_CHUNK_BYTES    (64 * 1024)  /* prefill: weight chunk kept in L2 */
#define MM_AMX_M_BLOCK    256     /* x rows per task on AMX: a packed 16-row weight group serves
                                     16 tiles before the next is packed */
#define MM_AMX_ROWS_MAX_M 1       /* AMX formats up to this many x rows: the VNNI rows kernel with
                                     the tile's float steps (quant_amx_rows), weights read in place;
                                     above it packing a weight group once for all rows pays */
#define MM_PANEL_MIN_ROWS 65      /* packed panels (quant_panel.h) from this many x rows: a packed
                                     weight group then serves 17+ tiles. Below, the 4 x 4 VNNI tiles
                                     (with their weight prefetch) were faster on the AMD EPYC VM,
                                     one decode step's q8_0 matmuls, 2 threads (bench_f32mm): m = 8
                                     22.7-26.2 → 8.9-9.8 ms, 16 46.9-47.9 → 16.8, 32 68.2 → 31.6-33.5,
                                     64 63.1-95.4 → 58.7-64.9 (was 8: each group packed per call
                                     served 2 tiles) */

struct mm_job {
    float *y;                    /* [m][N] */
    const float *x;              /* [m][K] */
    const uint8_t *w;            /* [N] rows, row_bytes apart (a column shard's stride is its full row) */
    size_t row_bytes;
    int m, N, K;
    int rows_per_task, n_chunks; /* along N */
    int m_block;                 /* x rows per task */
    dot_tile_fn tile;            /* f32 / f16 / bf16 weights (dot_tile.h), or NULL */
    dot_rows_fn dot;             /* the other float-activation formats (own xq, 2:4) */
    qx_wrows4_fn wrows4;         /*   decode: 4 weight rows per call (own weight-only formats), or NULL */
    enum dtype wt;               /* quantized formats: */
    const uint8_t *xq;           /*   [m] quantized x rows of xq_bytes */
    size_t xq_bytes;
    uint8_t *xp;                 /*   packed x rows of xp_bytes (quant_panel.h), or NULL */
    size_t xp_bytes;
    uint8_t *wp;                 /*   one packed weight group of wp_bytes per worker */
    size_t wp_bytes;
    qx_act_dot_fn act_dot;       /* W8A8 / FP8A8, and int8 / int4 g32 on 16-bit x rows (qx.h) */
    qx_a16_wrows4_fn a16_rows4;  /*   16-bit x rows, decode: 4 weight rows per call */
    float act_scale;             /*   > 0: one scale for every row (per tensor) */
    enum cpu_simd simd;
};

/* Weight rows per task. Decode (m <= DOT_MAX_ROWS): MM_DECODE_TASKS tasks
 * per thread of at least MM_DECODE_MIN_ROWS rows — the pool hands each thread
 * one contiguous range of them (threadpool.c), so a thread still streams one
 * slice of the weight, and when it loses its core mid-slice the others take
 * the rest of the slice's tasks instead of waiting. Prefill:
 * ~MM_TASKS_PER_THREAD tasks per thread, each small enough that the chunk
 * stays cache-resident across x rows. A row's result never depends on which
 * task computes it. */
static int mm_rows_per_task(int N, int m, size_t row_bytes, int n_threads)
{
    if (m <= DOT_MAX_ROWS) {
        int rows = (N + n_threads * MM_DECODE_TASKS - 1) / (n_threads * MM_DECODE_TASKS);
        rows = (rows + 3) & ~3;      /* whole 4-row groups (the decode kernels' unit) */
        return rows < MM_DECODE_MIN_ROWS ? MM_DECODE_MIN_ROWS : rows;
    }
    int rows = N / (n_threads * MM_TASKS_PER_THREAD);
    {
        int cap = (int)(MM_CHUNK_BYTES / (row_bytes ? row_bytes : 1));
        if (rows > cap) rows = cap;
    }
    rows -= rows % QUANT_TILE_N;   /* whole register tiles: a ragged chunk edge goes pair by pair */
    return rows < 4 ? 4 : rows;
}

/* Task t → weight rows [*n0, *n1) and x rows [*i0, *i1). */
static void mm_task_range(const struct mm_job *j, int t, int *n0, int *n1, int *i0, int *i1)
{
    int nc = t % j->n_chunks, mb = t / j->n_chunks;
    *n0 = nc * j->rows_per_task;
    *n1 = *n0 + j->rows_per_task < j->N ? *n0 + j->rows_per_task : j->N;
    *i0 = mb * j->m_block;
    *i1 = *i0 + j->m_block < j->m ? *i0 + j->m_block : j->m;
}

/* Decode with a 4-row kernel: groups of four weight rows share each x
 * vector load; the ragged end goes row by row (same bits, qx.h). */
static void mm_task_wrows4(const struct mm_job *j, int n0, int n1)
{
    int n = n0;
    for (; n + 4 <= n1; n += 4) j->wrows4(j->w + (size_t)n * j->row_bytes, j->row_bytes, j->x, j->K, j->y + n);
    for (; n < n1; n++) j->dot(j->w + (size_t)n * j->row_bytes, j->x, (size_t)j->K, 1, j->K, j->y + n);
}

static void mm_task_float(void *p, int t, int worker)
{
    const struct mm_job *j = p;
    int n0, n1, i0, i1;
    (void)worker;
    mm_task_range(j, t, &n0, &n1, &i0, &i1);
    if (j->tile) {
        j->tile(j->w + (size_t)n0 * j->row_bytes, j->row_bytes, n1 - n0, j->x + (size_t)i0 * j->K, (size_t)j->K,
                i1 - i0, j->K, j->y + (size_t)i0 * j->N + n0, (size_t)j->N);
        return;
    }
    if (j->wrows4 && j->m == 1) { mm_task_wrows4(j, n0, n1); return; }
    float out[DOT_MAX_ROWS];
    for (int i = i0; i < i1; i += DOT_MAX_ROWS) {
        int nx = i1 - i < DOT_MAX_ROWS ? i1 - i : DOT_MAX_ROWS;
        const float *xi = j->x + (size_t)i * j->K;
        for (int n = n0; n < n1; n++) {
            j->dot(j->w + (size_t)n * j->row_bytes, xi, (size_t)j->K, nx, j->K, out);
            for (int r = 0; r < nx; r++) j->y[(size_t)(i + r) * j->N + n] = out[r];
        }
    }
}

/* The (weight rows [n0, n1)) × (x rows [i0, i1)) pairs: QUANT_ROWS_N weight
 * rows per x row at once where a multi-row kernel exists (decode), the rest
 * one at a time. */
static void mm_quant_pairs(const struct mm_job *j, int n0, int n1, int i0, int i1)
{
    float out[QUANT_ROWS_N];
    for (int i = i0; i < i1; i++) {
        const uint8_t *xi = j->xq + (size_t)i * j->xq_bytes;
        float *yi = j->y + (size_t)i * j->N;
        int n = n0;
        for (; n + QUANT_ROWS_N <= n1; n += QUANT_ROWS_N) {
            if (!quant_dot_rows4(j->wt, j->w + (size_t)n * j->row_bytes, j->row_bytes, xi, j->K, out, j->simd))
                break;
            for (int c = 0; c < QUANT_ROWS_N; c++) yi[n + c] = out[c];
        }
        for (; n < n1; n++) yi[n] = quant_dot_row(j->wt, j->w + (size_t)n * j->row_bytes, xi, j->K, j->simd);
    }
}

/* Weight rows [n, n + QUANT_TILE_N) × x rows [i, ie), ie - i <= QUANT_TILE_M,
 * as one register tile (a ragged x edge is a shorter tile: the weights are
 * read once for its rows too); pair by pair where the format has no tile or
 * the weight rows are a ragged edge. */
static void mm_quant_tile(const struct mm_job *j, int n, int ne, int i, int ie)
{
    if (ne - n == QUANT_TILE_N &&
        quant_dot_tile(j->wt, j->w + (size_t)n * j->row_bytes, j->row_bytes, j->xq + (size_t)i * j->xq_bytes,
                       j->xq_bytes, ie - i, j->K, j->y + (size_t)i * j->N + n, (size_t)j->N, j->simd))
        return;
    mm_quant_pairs(j, n, ne, i, ie);
}

/* Prefill from packed operands: each group of QUANT_TILE_N weight rows is
 * packed once into the worker's buffer (it stays in L1) and serves every
 * QUANT_TILE_M-row x tile of the task; ragged edges go unpacked. */
static void mm_task_panel(const struct mm_job *j, int n0, int n1, int i0, int i1, int worker)
{
    uint8_t *wp = j->wp + (size_t)worker * j->wp_bytes;
    for (int n = n0; n < n1; n += QUANT_TILE_N) {
        int ne = n + QUANT_TILE_N < n1 ? n + QUANT_TILE_N : n1;
        if (ne - n < QUANT_TILE_N) { mm_quant_pairs(j, n, ne, i0, i1); continue; }
        quant_panel_pack_w(j->wt, j->w + (size_t)n * j->row_bytes, j->row_bytes, j->K, wp);
        for (int i = i0; i < i1; i += QUANT_TILE_M) {
            int ie = i + QUANT_TILE_M < i1 ? i + QUANT_TILE_M : i1;
            if (ie - i < QUANT_TILE_M) { mm_quant_tile(j, n, ne, i, ie); continue; }
            quant_panel_tile(j->wt, wp, j->xp + (size_t)i * j->xp_bytes, j->xp_bytes, j->K,
                             j->y + (size_t)i * j->N + n, (size_t)j->N);
        }
    }
}

/* Batches walk the task in QUANT_TILE_N weight rows × QUANT_TILE_M x rows
 * register tiles (the weight tile stays in L1 while the x rows pass), the
 * last x rows in a shorter tile; one x row (decode) goes through the 4-row
 * dots. */
static void mm_task_quant(void *p, int t, int worker)
{
    const struct mm_job *j = p;
    int n0, n1, i0, i1;
    mm_task_range(j, t, &n0, &n1, &i0, &i1);
    if (i1 - i0 == 1) { mm_quant_pairs(j, n0, n1, i0, i1); return; }
    if (j->xp) { mm_task_panel(j, n0, n1, i0, i1, worker); return; }
    for (int n = n0; n < n1; n += QUANT_TILE_N) {
        int ne = n + QUANT_TILE_N < n1 ? n + QUANT_TILE_N : n1;
        for (int i = i0; i < i1; i += QUANT_TILE_M)
            mm_quant_tile(j, n, ne, i, i + QUANT_TILE_M < i1 ? i + QUANT_TILE_M : i1);
    }
}

/* AMX (quant_amx.h): each group of QUANT_AMX_N weight rows is packed once
 * into the worker's buffer and serves every QUANT_AMX_M-row x tile of the
 * task; ragged groups and tiles go through the same kernel. Small row counts
 * run quant_amx_rows instead, whose results are the tile's bits, so a row's
 * result does not depend on the row count either way. */
static void mm_task_amx(void *p, int t, int worker)
{
    const struct mm_job *j = p;
    int n0, n1, i0, i1;
    mm_task_range(j, t, &n0, &n1, &i0, &i1);
    uint8_t *wp = j->wp + (size_t)worker * j->wp_bytes;
    for (int n = n0; n < n1; n += QUANT_AMX_N) {
        int nc = n1 - n < QUANT_AMX_N ? n1 - n : QUANT_AMX_N;
        if (j->m <= MM_AMX_ROWS_MAX_M) {
            for (int i = i0; i < i1; i++)
                quant_amx_rows(j->wt, j->w + (size_t)n * j->row_bytes, j->row_bytes, nc,
                               j->xq + (size_t)i * j->xq_bytes, j->K, j->y + (size_t)i * j->N + n);
            continue;
        }
        quant_amx_pack_w(j->wt, j->w + (size_t)n * j->row_bytes, j->row_bytes, nc, j->K, wp);
        for (int i = i0; i < i1; i += QUANT_AMX_M) {
            int mr = i1 - i < QUANT_AMX_M ? i1 - i : QUANT_AMX_M;
            quant_amx_tile(j->wt, wp, j->xq + (size_t)i * j->xq_bytes, j->xq_bytes, mr, nc, j->K,
                           j->y + (size_t)i * j->N + n, (size_t)j->N);
        }
    }
}

static void mm_task_quantize_x(void *p, int i, int worker)
{
    struct mm_job *j = p;
    (void)worker;
    quant_act_row(j->wt, j->x + (size_t)i * j->K, (void *)(j->xq + (size_t)i * j->xq_bytes), j->K);
    if (j->xp) quant_panel_pack_x(j->wt, j->xq + (size_t)i * j->xq_bytes, j->K, j->xp + (size_t)i * j->xp_bytes);
}

static bool mm_uses_panels(const struct mm_job *j)
{
    return j->m >= MM_PANEL_MIN_ROWS && quant_panel_usable(j->wt, j->simd);
}

/* GGUF block formats: x rows quantized once (and packed for the panels when
 * prefill runs them), then the integer dots. One scratch holds the act rows,
 * the packed rows (64-byte aligned) and a packed weight group per worker. */
static void mm_run_quant(struct cpu_ctx *c, struct mm_job *j, int n_tasks)
{
    j->xq_bytes = quant_act_bytes(j->wt, j->K);
    size_t xq_all = ((size_t)j->m * j->xq_bytes + 63) & ~(size_t)63, xp_all = 0, wp_all = 0;
    if (mm_uses_panels(j)) {
        j->xp_bytes = quant_panel_x_bytes(j->K);
        j->wp_bytes = quant_panel_w_bytes(j->wt, j->K);
        xp_all = (size_t)j->m * j->xp_bytes;
        wp_all = (size_t)pool_threads(c->pool) * j->wp_bytes;
    }
    uint8_t *s = cpu_scratch_get(&c->act, xq_all + xp_all + wp_all, "matmul activation scratch");
    j->xq = s;
    if (xp_all) {
        j->xp = s + xq_all;
        j->wp = j->xp + xp_all;
    }
    pool_run(c->pool, mm_task_quantize_x, j, j->m);
    pool_run(c->pool, mm_task_quant, j, n_tasks);
}

/* AMX: the tile reads QUANT_AMX_M x rows from every tile start, so the act
 * rows get QUANT_AMX_M - 1 zero rows of padding; then a packed weight group
 * per worker. */
static void mm_run_amx(struct cpu_ctx *c, struct mm_job *j, int n_tasks)
{
    j->xq_bytes = quant_act_bytes(j->wt, j->K);
    size_t pad = (size_t)(QUANT_AMX_M - 1) * j->xq_bytes;
    size_t xq_all = ((size_t)j->m * j->xq_bytes + pad + 63) & ~(size_t)63;
    j->wp_bytes = quant_amx_w_bytes(j->wt, j->K);
    uint8_t *s = cpu_scratch_get(&c->act, xq_all + (size_t)pool_threads(c->pool) * j->wp_bytes,
                                 "matmul activation scratch");
    j->xq = s;
    j->wp = s + xq_all;
    memset(s + (size_t)j->m * j->xq_bytes, 0, pad);
    pool_run(c->pool, mm_task_quantize_x, j, j->m);
    pool_run(c->pool, mm_task_amx, j, n_tasks);
}

/* ---- activation-quantized own formats (W8A8, FP8A8; qx.h) ---- */

static void mm_task_act_quantize(void *p, int i, int worker)
{
    struct mm_job *j = p;
    (void)worker;
    qx_act_row(j->wt, j->x + (size_t)i * j->K, j->act_scale,
               (void *)(j->xq + (size_t)i * j->xq_bytes), j->K);
}

static void mm_task_act(void *p, int t, int worker)
{
    const struct mm_job *j = p;
    int n0, n1, i0, i1;
    (void)worker;
    mm_task_range(j, t, &n0, &n1, &i0, &i1);
    float out[DOT_MAX_ROWS];
    for (int i = i0; i < i1; i += DOT_MAX_ROWS) {
        int nx = i1 - i < DOT_MAX_ROWS ? i1 - i : DOT_MAX_ROWS;
        for (int n = n0; n < n1; n++) {
            j->act_dot(j->w + (size_t)n * j->row_bytes, j->xq + (size_t)i * j->xq_bytes, j->xq_bytes,
                       nx, j->K, out);
            for (int r = 0; r < nx; r++) j->y[(size_t)(i + r) * j->N + n] = out[r];
        }
    }
}

/* FP8A8 without a calibrated scale: one dynamic scale for the whole x (per
 * tensor, as FP8 GEMMs take it), from max|x|. */
static float act_tensor_scale(const struct mm_job *j)
{
    float m = 0;
    for (int i = 0; i < j->m; i++)
        for (int k = 0; k < j->K; k++) {
            m = fmaxf(m, fabsf(j->x[(size_t)i * j->K + k]));
        }
    return m > 0 ? m / 448.0f : 1.0f;
}

static void mm_run_act(struct cpu_ctx *c, struct mm_job *j, const struct weight *w, int n_tasks)
{
    j->act_dot = qx_act_dot_fn_for(j->wt, c->simd);
    j->act_scale = w->act_scale;
    if (j->wt == DT_F8A8 && !(j->act_scale > 0)) j->act_scale = act_tensor_scale(j);
    j->xq_bytes = qx_act_bytes(j->wt, j->K);
    j->xq = cpu_scratch_get(&c->act, (size_t)j->m * j->xq_bytes, "matmul activation scratch");
    pool_run(c->pool, mm_task_act_quantize, j, j->m);
    pool_run(c->pool, mm_task_act, j, n_tasks);
}

/* ---- int8 / int4 g32 weights on 16-bit x rows (qx.h: qx_a16_row) ---- */

static void mm_task_a16_convert(void *p, int i, int worker)
{
    struct mm_job *j = p;
    (void)worker;
    qx_a16_row(j->wt, j->x + (size_t)i * j->K, (void *)(j->xq + (size_t)i * j->xq_bytes), j->K);
}

/* Decode: groups of four weight rows share each x̂ load, the ragged end goes
 * row by row (same bits); prefill: one weight row × up to 4 x rows. */
static void mm_task_a16(void *p, int t, int worker)
{
    const struct mm_job *j = p;
    int n0, n1, i0, i1;
    mm_task_range(j, t, &n0, &n1, &i0, &i1);
    if (j->m > 1) { mm_task_act(p, t, worker); return; }
    int n = n0;
    for (; n + 4 <= n1; n += 4) j->a16_rows4(j->w + (size_t)n * j->row_bytes, j->row_bytes, j->xq, j->K, j->y + n);
    for (; n < n1; n++) j->act_dot(j->w + (size_t)n * j->row_bytes, j->xq, j->xq_bytes, 1, j->K, j->y + n);
}

static void mm_run_a16(struct cpu_ctx *c, struct mm_job *j, int n_tasks)
{
    j->act_dot = qx_a16_dot_fn_for(j->wt, c->simd);
    j->a16_rows4 = qx_a16_wrows4_fn_for(j->wt, c->simd);
    j->xq_bytes = qx_a16_bytes(j->wt, j->K);
    j->xq = cpu_scratch_get(&c->act, (size_t)j->m * j->xq_bytes, "matmul activation scratch");
    pool_run(c->pool, mm_task_a16_convert, j, j->m);
    pool_run(c->pool, mm_task_a16, j, n_tasks);
}

/* ---- 2:4 int8 (s24_q8) with int8 activations (sparse24_dot.h) ---- */

static void mm_task_s24q8_quantize(void *p, int i, int worker)
{
    struct mm_job *j = p;
    (void)worker;
    s24q8_act_row(j->x + (size_t)i * j->K, (void *)(j->xq + (size_t)i * j->xq_bytes), j->K);
}

/* Decode (m = 1): four weight rows per kernel call share the x loads; each
 * result equals the one-row kernel's, so prefill (mm_task_act) and decode
 * agree bit for bit. */
static void mm_task_s24q8_decode(void *p, int t, int worker)
{
    const struct mm_job *j = p;
    int n0, n1, i0, i1;
    (void)worker;
    mm_task_range(j, t, &n0, &n1, &i0, &i1);
    s24q8_wrows4_fn rows4 = cpu_s24q8_wrows4_fn(j->simd);
    int n = n0;
    for (; n + 4 <= n1; n += 4) rows4(j->w + (size_t)n * j->row_bytes, j->row_bytes, j->xq, j->K, j->y + n);
    for (; n < n1; n++) j->act_dot(j->w + (size_t)n * j->row_bytes, j->xq, j->xq_bytes, 1, j->K, j->y + n);
}

static void mm_run_s24q8(struct cpu_ctx *c, struct mm_job *j, int n_tasks)
{
    j->act_dot = cpu_s24q8_act_dot_fn(c->simd);
    j->xq_bytes = s24q8_act_bytes(j->K);
    j->xq = cpu_scratch_get(&c->act, (size_t)j->m * j->xq_bytes, "matmul activation scratch");
    pool_run(c->pool, mm_task_s24q8_quantize, j, j->m);
    pool_run(c->pool, j->m == 1 ? mm_task_s24q8_decode : mm_task_act, j, n_tasks);
}

void cpu_matmul(struct backend *be, float *y, const struct weight *w, const float *x, int m)
{
    struct cpu_ctx *c = cpu_ctx(be);
    if (m <= 0 || w->rows <= 0) return;
    enum dtype wt = weight_run_type(w);
    struct mm_job j = {
        .y = y, .x = x, .w = cpu_weight_bytes(w), .row_bytes = cpu_weight_stride(w),
        .m = m, .N = w->rows, .K = w->cols, .wt = wt, .simd = c->simd,
    };
    bool amx = quant_amx_usable(wt, c->simd);
    j.rows_per_task = mm_rows_per_task(j.N, m, dtype_row_bytes(wt, w->cols), pool_threads(c->pool));
    if (amx) j.rows_per_task = (j.rows_per_task + QUANT_AMX_N - 1) / QUANT_AMX_N * QUANT_AMX_N;
    j.n_chunks = (j.N + j.rows_per_task - 1) / j.rows_per_task;
    j.m_block = amx ? MM_AMX_M_BLOCK : dtype_is_quant(wt) && mm_uses_panels(&j) ? MM_PANEL_M_BLOCK : MM_M_BLOCK;
    int n_tasks = j.n_chunks * ((m + j.m_block - 1) / j.m_block);

    if (amx) { mm_run_amx(c, &j, n_tasks); return; }
    if (dtype_is_quant(wt)) { mm_run_quant(c, &j, n_tasks); return; }
    if (dtype_quantizes_act(wt)) { mm_run_act(c, &j, w, n_tasks); return; }
    if (wt == DT_S24_Q8) { mm_run_s24q8(c, &j, n_tasks); return; }
    if (qx_uses_a16(wt)) { mm_run_a16(c, &j, n_tasks); return; }
    j.tile = cpu_dot_tile_fn(wt, c->simd);
    j.dot = dtype_is_xq(wt) ? qx_dot_rows_fn(wt, c->simd) : cpu_dot_rows_fn(wt, c->simd);
    j.wrows4 = dtype_is_xq(wt) ? qx_wrows4_fn_for(wt, c->simd) : NULL;
    pool_run(c->pool, mm_task_float, &j, n_tasks);
}
