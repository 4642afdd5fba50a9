/* kernels/cpu/cpu_attention.c — causal, GQA-aware attention on the CPU, two ways.
 *
 * Query i of the chunk sits at position pos0+i and sees keys 0..pos0+i.
 * Query head h reads KV head h / group (group = n_heads / n_kv_heads). K and
 * V rows come through kv_row_bytes(), so paged and contiguous caches look the
 * same; they are f32 or f16 (kv->kv_type), and f16 rows go to the kernels'
 * _f16 variants, which widen them in registers.
 *
 * Both ways work on row blocks (kernels/cpu/attn_kernels.h): up to ATTN_ROWS
 * (query, head) rows that read the same KV head, so every K/V row a block
 * touches is loaded once for all the query heads of its GQA group. Rows are
 * numbered query-major within a KV head: row (i, j) = (query i, head
 * kvh*group + j) is row i*group + j.
 *
 * ATTN_NAIVE is the seed's "standard attention": three passes over memory —
 *   S[h][i][t] = scale · q·k   (the full [n_heads][n_q][n_ctx] matrix, heap)
 *   P = softmax over each row of S (another full matrix)
 *   out = P · V
 * ATTN_FLASH tiles queries by ATTN_TILE_Q and keys by ATTN_TILE_KV and keeps
 * a running max and sum per query row (online softmax), so no score matrix
 * exists beyond one tile; each K/V tile is reused by every row of the Q tile
 * while it is in cache. When there are fewer (Q tile, KV head) tasks than
 * the threads can share well (decode: one query, a few KV heads), the keys are
 * split into ranges too, each range's (max, sum, accumulator) kept apart and
 * merged at the end — the same online-softmax merge, one level up. */
#include "kernels/cpu/cpu_internal.h"
#include "kernels/cpu/attn_math.h"
#include "kernels/cpu/attn_kernels.h"
#include "kernels/tiling.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAIVE_ROWS_PER_TASK 8
/* Flash splits keys until there are this many tasks per thread (or a range
 * would be under one K/V tile); with one thread it never splits. */
#define FLASH_TASKS_PER_THREAD 4

struct attn_job {
    float *out;                        /* [n_q][n_heads*head_dim] */
    const float *q;                    /* [n_q][n_heads*head_dim] */
    const struct kv_view *kv;
    int layer, n_q, pos0, n_ctx;
    int n_heads, n_kv, group, d;       /* group = n_heads / n_kv */
    float scale;
    const struct attn_kernels *kern;
    /* kern's scores/pv for the cache's element type; esize its bytes */
    void (*scores)(const float *const *q, int nr, const void *const *k, int nk, int d,
                   float scale, float *S);
    void (*pv)(float *const *o, int nr, const float *P, ptrdiff_t p_rs, ptrdiff_t p_ts,
               const void *const *v, int nk, int d);
    size_t esize;
    float *S, *P;                      /* naive: [n_heads][n_q][n_ctx] */
    int row_blocks;                    /* naive: query blocks per KV head; flash: Q tiles */
    int n_split;                       /* flash: key ranges per (Q tile, KV heads) */
    int kv_per_task;                   /* flash: KV heads one task handles (1 or n_kv) */
    int task_rows;                     /* flash: most rows a task has */
    float *part;                       /* flash split: [n_split][n_q][n_heads][2 + d] */
    char *tiles;                       /* flash: per-thread scratch */
    size_t tile_bytes;
};

static const float *attn_q(const struct attn_job *j, int i, int h)
{
    return j->q + ((size_t)i * j->n_heads + h) * j->d;
}

static float *attn_out(const struct attn_job *j, int i, int h)
{
    return j->out + ((size_t)i * j->n_heads + h) * j->d;
}

/* K and V rows of keys [k0, k1) for KV head kvh: the block table is resolved
 * once per tile, the kernels then read plain row pointers. */
static void attn_kv_tile(const struct attn_job *j, int kvh, int k0, int k1, const void **kp,
                         const void **vp)
{
    size_t off = (size_t)kvh * j->d * j->esize;
    for (int t = k0; t < k1; t++) {
        kp[t - k0] = (const char *)kv_row_bytes(j->kv, j->kv->k, j->layer, t) + off;
        vp[t - k0] = (const char *)kv_row_bytes(j->kv, j->kv->v, j->layer, t) + off;
    }
}

/* Bring the K and V rows of keys [k0, k1), KV heads [kv0, kv0+n_kvh), into
 * the cache while the current tile is computed: decode attention is a stream
 * over scattered 16-token blocks, which the hardware prefetchers follow
 * poorly when a task reads one head's slice of each row. One demand load per
 * 64-byte line rather than a prefetch instruction: on AMD EPYC (Zen 5) with
 * the K/V evicted by the weight stream (as between two decode steps) the
 * prefetches barely helped, while the loads, overlapped by the out-of-order
 * core, took decode attention at 512 keys from 68-81 to 52-55 us per layer
 * (paged; 51 -> 38-42 contiguous; in cache 23). The rows are the job's own,
 * so every address read is valid. */
static void attn_kv_touch(const struct attn_job *j, int kv0, int n_kvh, int k0, int k1)
{
    size_t off = (size_t)kv0 * j->d * j->esize, bytes = (size_t)n_kvh * j->d * j->esize;
    unsigned sum = 0;
    for (int t = k0; t < k1; t++) {
        const unsigned char *k = (const unsigned char *)kv_row_bytes(j->kv, j->kv->k, j->layer, t) + off;
        const unsigned char *v = (const unsigned char *)kv_row_bytes(j->kv, j->kv->v, j->layer, t) + off;
        for (size_t b = 0; b < bytes; b += 64) sum += (unsigned)k[b] + v[b];
    }
    volatile unsigned sink = sum;   /* keeps the loads */
    (void)sink;
}

/* ---- naive: three passes over a materialized S/P ---------------------- */

static float *naive_row(const struct attn_job *j, float *M, int h, int i)
{
    return M + ((size_t)h * j->n_q + i) * j->n_ctx;
}

/* Task → KV head kvh and query rows [*i0, *i1). */
static void naive_task_rows(const struct attn_job *j, int t, int *kvh, int *i0, int *i1)
{
    *kvh = t / j->row_blocks;
    *i0 = (t % j->row_blocks) * NAIVE_ROWS_PER_TASK;
    *i1 = *i0 + NAIVE_ROWS_PER_TASK < j->n_q ? *i0 + NAIVE_ROWS_PER_TASK : j->n_q;
}

/* Pass 1: S = scale · Q Kᵀ, masked entries -inf. Per K tile, each block of
 * a query's group heads gets its scores from the kernel (key-major) and
 * they are copied out to the rows of S. */
static void naive_scores(void *p, int t, int worker)
{
    const struct attn_job *j = p;
    int kvh, i0, i1, g = j->group;
    float st[ATTN_TILE_KV * ATTN_ROWS];
    const void *kp[ATTN_TILE_KV], *vp[ATTN_TILE_KV];
    (void)worker;
    naive_task_rows(j, t, &kvh, &i0, &i1);
    int kv_end = j->pos0 + i1;
    for (int k0 = 0; k0 < kv_end; k0 += ATTN_TILE_KV) {
        int k1 = k0 + ATTN_TILE_KV < kv_end ? k0 + ATTN_TILE_KV : kv_end;
        attn_kv_tile(j, kvh, k0, k1, kp, vp);
        for (int i = i0; i < i1; i++) {
            int nk = j->pos0 + i + 1 < k1 ? j->pos0 + i + 1 - k0 : k1 - k0;
            if (nk <= 0) continue;
            for (int h0 = 0; h0 < g; h0 += ATTN_ROWS) {
                int nr = g - h0 < ATTN_ROWS ? g - h0 : ATTN_ROWS;
                const float *q[ATTN_ROWS];
                for (int r = 0; r < nr; r++) q[r] = attn_q(j, i, kvh * g + h0 + r);
                j->scores(q, nr, kp, nk, j->d, j->scale, st);
                for (int r = 0; r < nr; r++) {
                    float *s = naive_row(j, j->S, kvh * g + h0 + r, i) + k0;
                    for (int k = 0; k < nk; k++) s[k] = st[k * ATTN_ROWS + r];
                }
            }
        }
    }
    for (int i = i0; i < i1; i++)
        for (int h = kvh * g; h < (kvh + 1) * g; h++) {
            float *s = naive_row(j, j->S, h, i);
            for (int k = j->pos0 + i + 1; k < j->n_ctx; k++) s[k] = -INFINITY;
        }
}

/* Pass 2: P = softmax(S), one task per (head, query) row. */
static void naive_softmax(void *p, int t, int worker)
{
    const struct attn_job *j = p;
    (void)worker;
    int h = t / j->n_q, i = t % j->n_q;
    j->kern->softmax_row(naive_row(j, j->P, h, i), naive_row(j, j->S, h, i), j->n_ctx);
}

/* Pass 3: out = P · V (masked keys have P = 0 and are skipped). */
static void naive_pv(void *p, int t, int worker)
{
    const struct attn_job *j = p;
    int kvh, i0, i1, g = j->group;
    const void *kp[ATTN_TILE_KV], *vp[ATTN_TILE_KV];
    (void)worker;
    naive_task_rows(j, t, &kvh, &i0, &i1);
    for (int i = i0; i < i1; i++)
        for (int h = kvh * g; h < (kvh + 1) * g; h++)
            memset(attn_out(j, i, h), 0, (size_t)j->d * sizeof(float));
    int kv_end = j->pos0 + i1;
    for (int k0 = 0; k0 < kv_end; k0 += ATTN_TILE_KV) {
        int k1 = k0 + ATTN_TILE_KV < kv_end ? k0 + ATTN_TILE_KV : kv_end;
        attn_kv_tile(j, kvh, k0, k1, kp, vp);
        for (int i = i0; i < i1; i++) {
            int nk = j->pos0 + i + 1 < k1 ? j->pos0 + i + 1 - k0 : k1 - k0;
            if (nk <= 0) continue;
            for (int h0 = 0; h0 < g; h0 += ATTN_ROWS) {
                int nr = g - h0 < ATTN_ROWS ? g - h0 : ATTN_ROWS;
                float *o[ATTN_ROWS];
                for (int r = 0; r < nr; r++) o[r] = attn_out(j, i, kvh * g + h0 + r);
                const float *P = naive_row(j, j->P, kvh * g + h0, i) + k0;
                j->pv(o, nr, P, (ptrdiff_t)j->n_q * j->n_ctx, 1, vp, nk, j->d);
            }
        }
    }
}

static void attention_naive(struct cpu_ctx *c, struct attn_job *j)
{
    size_t elems = (size_t)j->n_heads * j->n_q * j->n_ctx;
    j->S = malloc(2 * elems * sizeof(float));
    if (!j->S) {
        fprintf(stderr, "attn_naive: cannot allocate S and P (%zu bytes: %d heads x %d queries x "
                "%d keys)\n", 2 * elems * sizeof(float), j->n_heads, j->n_q, j->n_ctx);
        abort();
    }
    j->P = j->S + elems;
    j->row_blocks = (j->n_q + NAIVE_ROWS_PER_TASK - 1) / NAIVE_ROWS_PER_TASK;
    int n_tasks = j->n_kv * j->row_blocks;
    pool_run(c->pool, naive_scores, j, n_tasks);
    pool_run(c->pool, naive_softmax, j, j->n_heads * j->n_q);
    pool_run(c->pool, naive_pv, j, n_tasks);
    free(j->S);
}

/* ---- flash: tiles and online softmax ---------------------------------- */

/* Per-thread tile scratch for one task: the accumulators O[rows][d] and
 * softmax states of the task's rows (rows = ATTN_TILE_Q queries x group),
 * and one block's key-major score tile. */
struct flash_tile {
    float *o;
    struct online_softmax *st;
    float *s;                          /* [ATTN_TILE_KV][ATTN_ROWS] */
    const void *k[ATTN_TILE_KV], *v[ATTN_TILE_KV];
};

static size_t flash_tile_bytes(int rows, int d)
{
    size_t b = (size_t)rows * d * sizeof(float) + (size_t)rows * sizeof(struct online_softmax) +
               ATTN_TILE_KV * ATTN_ROWS * sizeof(float);
    return (b + 63) & ~(size_t)63;
}

static void flash_tile_bind(const struct attn_job *j, int worker, struct flash_tile *ft)
{
    char *base = j->tiles + (size_t)worker * j->tile_bytes;
    ft->o = (float *)base;
    ft->st = (struct online_softmax *)(ft->o + (size_t)j->task_rows * j->d);
    ft->s = (float *)(ft->st + j->task_rows);
}

/* Fold keys [k0, k1) (already in ft->k/v) into the block of rows
 * [b0, b0+nr) of the task whose first query is i0. */
static void flash_block_update(const struct attn_job *j, struct flash_tile *ft, int kvh, int i0,
                               int rbase, int b0, int nr, int k0, int k1)
{
    struct online_softmax *st = ft->st + rbase;
    int g = j->group, lim[ATTN_ROWS] = {0, 0, 0, 0}, nk = 0;
    const float *q[ATTN_ROWS];
    float *o[ATTN_ROWS], bmax[ATTN_ROWS], m[ATTN_ROWS] = {0, 0, 0, 0}, psum[ATTN_ROWS];
    for (int r = 0; r < nr; r++) {
        int i = i0 + (b0 + r) / g, last = j->pos0 + i;     /* causal: keys <= last */
        lim[r] = last + 1 < k1 ? last + 1 - k0 : k1 - k0;
        lim[r] = lim[r] > 0 ? lim[r] : 0;
        nk = lim[r] > nk ? lim[r] : nk;
        q[r] = attn_q(j, i, kvh * g + (b0 + r) % g);
        o[r] = ft->o + (size_t)(rbase + b0 + r) * j->d;
    }
    if (nk == 0) return;
    j->scores(q, nr, ft->k, nk, j->d, j->scale, ft->s);
    j->kern->tile_max(ft->s, lim, bmax);
    for (int r = 0; r < nr; r++) {
        float corr = online_softmax_rescale(&st[b0 + r], bmax[r]);
        if (corr != 1.0f)
            for (int e = 0; e < j->d; e++) o[r][e] *= corr;
        m[r] = st[b0 + r].m;
    }
    j->kern->tile_exp(ft->s, lim, m, psum);
    for (int r = 0; r < nr; r++) online_softmax_add(&st[b0 + r], psum[r]);
    j->pv(o, nr, ft->s, 1, ATTN_ROWS, ft->v, nk, j->d);
}

/* Key tiles [*t0, *t1) of split sp when the Q tile's last query sees keys
 * below kv_end; a ranges of whole tiles, possibly empty. */
static void flash_split_tiles(const struct attn_job *j, int kv_end, int sp, int *t0, int *t1)
{
    int n_tiles = (kv_end + ATTN_TILE_KV - 1) / ATTN_TILE_KV;
    *t0 = (int)((long long)n_tiles * sp / j->n_split);
    *t1 = (int)((long long)n_tiles * (sp + 1) / j->n_split);
}

/* Where row (i, h)'s result goes: normalized into out, or as a partial
 * (max, sum, unnormalized accumulator) of split sp. */
static void flash_store_row(const struct attn_job *j, int sp, int i, int h,
                            const struct online_softmax *st, const float *acc)
{
    if (j->n_split == 1) {
        float *o = attn_out(j, i, h), inv = 1.0f / st->l;
        for (int e = 0; e < j->d; e++) o[e] = acc[e] * inv;
        return;
    }
    float *pt = j->part + (((size_t)sp * j->n_q + i) * j->n_heads + h) * (2 + j->d);
    pt[0] = st->m;
    pt[1] = st->l;
    memcpy(pt + 2, acc, (size_t)j->d * sizeof(float));
}

/* One task: KV heads [kv0, kv0 + kv_per_task), queries [i0, i1) of one Q
 * tile with all their group heads, key tiles of split sp. Task rows are
 * KV-head-major: rows_kv = (i1-i0)*group rows per KV head. */
static void flash_task(void *p, int t, int worker)
{
    const struct attn_job *j = p;
    int n_kvt = j->n_kv / j->kv_per_task, g = j->group;
    int sp = t % j->n_split, qt = t / j->n_split, kv0 = qt % n_kvt * j->kv_per_task;
    int i0 = qt / n_kvt * ATTN_TILE_Q;
    int i1 = i0 + ATTN_TILE_Q < j->n_q ? i0 + ATTN_TILE_Q : j->n_q, rows_kv = (i1 - i0) * g;
    int rows = rows_kv * j->kv_per_task;
    struct flash_tile ft;
    flash_tile_bind(j, worker, &ft);
    memset(ft.o, 0, (size_t)rows * j->d * sizeof(float));
    for (int r = 0; r < rows; r++) online_softmax_init(&ft.st[r]);

    int kv_end = j->pos0 + i1, tl0, tl1;         /* keys 0..kv_end-1 */
    flash_split_tiles(j, kv_end, sp, &tl0, &tl1);
    for (int k0 = tl0 * ATTN_TILE_KV; k0 < tl1 * ATTN_TILE_KV; k0 += ATTN_TILE_KV) {
        int k1 = k0 + ATTN_TILE_KV < kv_end ? k0 + ATTN_TILE_KV : kv_end;
        if (k0 == tl0 * ATTN_TILE_KV) attn_kv_touch(j, kv0, j->kv_per_task, k0, k1);
        if (k1 < kv_end && k1 < tl1 * ATTN_TILE_KV)
            attn_kv_touch(j, kv0, j->kv_per_task, k1,
                          k1 + ATTN_TILE_KV < kv_end ? k1 + ATTN_TILE_KV : kv_end);
        for (int kvh = kv0; kvh < kv0 + j->kv_per_task; kvh++) {
            attn_kv_tile(j, kvh, k0, k1, ft.k, ft.v);
            for (int b0 = 0; b0 < rows_kv; b0 += ATTN_ROWS)
                flash_block_update(j, &ft, kvh, i0, (kvh - kv0) * rows_kv, b0,
                                   rows_kv - b0 < ATTN_ROWS ? rows_kv - b0 : ATTN_ROWS, k0, k1);
        }
    }
    for (int r = 0; r < rows; r++) {
        int kvh = kv0 + r / rows_kv, rr = r % rows_kv;
        flash_store_row(j, sp, i0 + rr / g, kvh * g + rr % g, &ft.st[r], ft.o + (size_t)r * j->d);
    }
}

/* out = merge over splits of the partial states: with M the largest max,
 * out = sum_s e^(m_s - M) acc_s / sum_s e^(m_s - M) l_s. A split that saw no
 * key of a row has m = -inf and weight 0. */
static void flash_merge_splits(const struct attn_job *j)
{
    size_t stride = (size_t)j->n_q * j->n_heads * (2 + j->d);
    for (int i = 0; i < j->n_q; i++)
        for (int h = 0; h < j->n_heads; h++) {
            const float *p0 = j->part + ((size_t)i * j->n_heads + h) * (2 + j->d);
            float mx = -INFINITY, l = 0, *o = attn_out(j, i, h);
            for (int sp = 0; sp < j->n_split; sp++)
                mx = p0[sp * stride] > mx ? p0[sp * stride] : mx;
            memset(o, 0, (size_t)j->d * sizeof(float));
            for (int sp = 0; sp < j->n_split; sp++) {
                const float *pt = p0 + sp * stride;
                if (pt[0] == -INFINITY) continue;
                float w = expf(pt[0] - mx);
                l += w * pt[1];
                for (int e = 0; e < j->d; e++) o[e] += w * pt[2 + e];
            }
            for (int e = 0; e < j->d; e++) o[e] /= l;
        }
}

/* Key ranges per (Q tile, KV head): 1 unless that leaves threads short of
 * FLASH_TASKS_PER_THREAD tasks each; never below one K/V tile a range. */
static int flash_n_split(const struct attn_job *j, int threads)
{
    int base = j->row_blocks * (j->n_kv / j->kv_per_task);
    int kv_tiles = (j->n_ctx + ATTN_TILE_KV - 1) / ATTN_TILE_KV;
    if (threads <= 1 || base >= FLASH_TASKS_PER_THREAD * threads) return 1;
    int n = (FLASH_TASKS_PER_THREAD * threads + base - 1) / base;
    return n < kv_tiles ? n : kv_tiles;
}

static void attention_flash(struct cpu_ctx *c, struct attn_job *j)
{
    int threads = pool_threads(c->pool);
    j->row_blocks = (j->n_q + ATTN_TILE_Q - 1) / ATTN_TILE_Q;
    /* Few queries (decode): one task takes every KV head, so it streams
     * whole K/V rows; the key split then gives the threads their work. */
    j->kv_per_task = j->n_q <= ATTN_ROWS ? j->n_kv : 1;
    j->task_rows = (j->n_q < ATTN_TILE_Q ? j->n_q : ATTN_TILE_Q) * j->group * j->kv_per_task;
    j->n_split = flash_n_split(j, threads);
    j->tile_bytes = flash_tile_bytes(j->task_rows, j->d);
    size_t part_bytes = j->n_split > 1
        ? (size_t)j->n_split * j->n_q * j->n_heads * (2 + j->d) * sizeof(float) : 0;
    part_bytes = (part_bytes + 63) & ~(size_t)63;
    char *scratch = cpu_scratch_get(&c->attn, part_bytes + j->tile_bytes * (size_t)threads,
                                    "attn_flash tiles");
    j->part = (float *)scratch;
    j->tiles = scratch + part_bytes;
    pool_run(c->pool, flash_task, j, j->row_blocks * (j->n_kv / j->kv_per_task) * j->n_split);
    if (j->n_split > 1) flash_merge_splits(j);
}

void cpu_attention(struct backend *be, enum attn_impl impl, float *out, const float *q,
                   const struct kv_view *kv, int layer, int n_q, int pos0,
                   const struct attn_shape *sh)
{
    struct cpu_ctx *c = cpu_ctx(be);
    if (n_q <= 0) return;
    struct attn_job j = {
        .out = out, .q = q, .kv = kv, .layer = layer, .n_q = n_q, .pos0 = pos0,
        .n_ctx = pos0 + n_q, .n_heads = sh->n_heads, .n_kv = sh->n_kv_heads,
        .group = sh->n_heads / sh->n_kv_heads, .d = sh->head_dim, .scale = sh->scale,
        .kern = attn_kernels_for(c->simd),
    };
    bool f16 = kv->kv_type == DT_F16;
    j.scores = f16 ? j.kern->scores_f16 : j.kern->scores;
    j.pv = f16 ? j.kern->pv_f16 : j.kern->pv;
    j.esize = kv_elem_bytes(kv);
    if (impl == ATTN_NAIVE) attention_naive(c, &j);
    else attention_flash(c, &j);
}
