/* kernels/cpu/cpu_attention.c — causal, GQA-aware attention on the CPU, two ways.
 *
 * Query i of the chunk sits at position pos0+i and sees keys 0..pos0+i.
 * Query head h reads KV head h / (n_heads / n_kv_heads). K and V rows come
 * through kv_row(), so paged and contiguous caches look the same.
 *
 * ATTN_NAIVE is the seed's "standard attention": three passes over memory —
 *   S[h][i][t] = scale · q·k   (the full [n_heads][n_q][n_ctx] matrix, heap)
 *   P = softmax over each row of S (another full matrix)
 *   out = P · V
 * ATTN_FLASH tiles queries by ATTN_TILE_Q and keys by ATTN_TILE_KV and keeps
 * a running max and sum per query row (online softmax), so no score matrix
 * exists beyond one tile row; each K/V tile is reused by every query of the
 * Q tile while it is in cache. */
#include "kernels/cpu/cpu_internal.h"
#include "kernels/cpu/attn_math.h"
#include "kernels/cpu/cpu_dot.h"
#include "kernels/cost.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAIVE_ROWS_PER_TASK 8

struct attn_job {
    float *out;                        /* [n_q][n_heads*head_dim] */
    const float *q;                    /* [n_q][n_heads*head_dim] */
    const struct kv_view *kv;
    int layer, n_q, pos0, n_ctx;
    int n_heads, group, d;             /* group = n_heads / n_kv_heads */
    float scale;
    vec_dot_fn dot;
    vec_axpy_fn axpy;
    float *S, *P;                      /* naive: [n_heads][n_q][n_ctx] */
    int row_blocks;                    /* naive: per head; flash: q tiles per head */
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

/* K (or V) row of token t for query head h. */
static const float *attn_kv(const struct attn_job *j, float *base, int t, int h)
{
    return kv_row(j->kv, base, j->layer, t) + (size_t)(h / j->group) * j->d;
}

/* ---- naive: three passes over a materialized S/P ---------------------- */

static float *naive_row(const struct attn_job *j, float *M, int h, int i)
{
    return M + ((size_t)h * j->n_q + i) * j->n_ctx;
}

/* Task → head h and query rows [*i0, *i1). */
static void naive_task_rows(const struct attn_job *j, int t, int *h, int *i0, int *i1)
{
    *h = t / j->row_blocks;
    *i0 = (t % j->row_blocks) * NAIVE_ROWS_PER_TASK;
    *i1 = *i0 + NAIVE_ROWS_PER_TASK < j->n_q ? *i0 + NAIVE_ROWS_PER_TASK : j->n_q;
}

/* Pass 1: S = scale · Q Kᵀ, masked entries -inf. */
static void naive_scores(void *p, int t, int worker)
{
    const struct attn_job *j = p;
    int h, i0, i1;
    (void)worker;
    naive_task_rows(j, t, &h, &i0, &i1);
    for (int i = i0; i < i1; i++) {
        float *s = naive_row(j, j->S, h, i);
        int last = j->pos0 + i;
        for (int k = 0; k <= last; k++)
            s[k] = j->scale * j->dot(attn_q(j, i, h), attn_kv(j, j->kv->k, k, h), j->d);
        for (int k = last + 1; k < j->n_ctx; k++) s[k] = -INFINITY;
    }
}

/* Pass 2: P = softmax(S) row by row. */
static void naive_softmax(void *p, int t, int worker)
{
    const struct attn_job *j = p;
    int h, i0, i1;
    (void)worker;
    naive_task_rows(j, t, &h, &i0, &i1);
    for (int i = i0; i < i1; i++) {
        const float *s = naive_row(j, j->S, h, i);
        float *pr = naive_row(j, j->P, h, i);
        float mx = -INFINITY, sum = 0;
        for (int k = 0; k < j->n_ctx; k++) mx = s[k] > mx ? s[k] : mx;
        for (int k = 0; k < j->n_ctx; k++) { pr[k] = expf(s[k] - mx); sum += pr[k]; }
        for (int k = 0; k < j->n_ctx; k++) pr[k] /= sum;
    }
}

/* Pass 3: out = P · V (masked keys have P = 0 and are skipped). */
static void naive_pv(void *p, int t, int worker)
{
    const struct attn_job *j = p;
    int h, i0, i1;
    (void)worker;
    naive_task_rows(j, t, &h, &i0, &i1);
    for (int i = i0; i < i1; i++) {
        const float *pr = naive_row(j, j->P, h, i);
        float *o = attn_out(j, i, h);
        memset(o, 0, (size_t)j->d * sizeof *o);
        for (int k = 0; k <= j->pos0 + i; k++) j->axpy(o, pr[k], attn_kv(j, j->kv->v, k, h), j->d);
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
    int n_tasks = j->n_heads * j->row_blocks;
    pool_run(c->pool, naive_scores, j, n_tasks);
    pool_run(c->pool, naive_softmax, j, n_tasks);
    pool_run(c->pool, naive_pv, j, n_tasks);
    free(j->S);
}

/* ---- flash: tiles and online softmax ---------------------------------- */

/* Per-thread tile scratch: O[ATTN_TILE_Q][d], softmax state per row, and the
 * scores of one query row against one K tile. */
struct flash_tile {
    float *o;
    struct online_softmax *st;
    float *s;
    const float *k[ATTN_TILE_KV], *v[ATTN_TILE_KV];
};

static size_t flash_tile_bytes(int d)
{
    size_t b = (size_t)ATTN_TILE_Q * d * sizeof(float) +
               ATTN_TILE_Q * sizeof(struct online_softmax) + ATTN_TILE_KV * sizeof(float);
    return (b + 63) & ~(size_t)63;
}

static void flash_tile_bind(const struct attn_job *j, int worker, struct flash_tile *ft)
{
    char *base = j->tiles + (size_t)worker * j->tile_bytes;
    ft->o = (float *)base;
    ft->st = (struct online_softmax *)(ft->o + (size_t)ATTN_TILE_Q * j->d);
    ft->s = (float *)(ft->st + ATTN_TILE_Q);
}

/* Fold keys [k0, k1) of one K/V tile into query row i (tile row r). */
static void flash_row_update(const struct attn_job *j, struct flash_tile *ft, int h, int r, int i,
                             int k0, int k1)
{
    const float *q = attn_q(j, i, h);
    float *o = ft->o + (size_t)r * j->d, bmax = -INFINITY;
    for (int k = k0; k < k1; k++) {
        float s = j->scale * j->dot(q, ft->k[k - k0], j->d);
        ft->s[k - k0] = s;
        bmax = s > bmax ? s : bmax;
    }
    float corr = online_softmax_rescale(&ft->st[r], bmax);
    if (corr != 1.0f)
        for (int e = 0; e < j->d; e++) o[e] *= corr;
    float psum = 0;
    for (int k = k0; k < k1; k++) {
        float pk = expf(ft->s[k - k0] - ft->st[r].m);
        psum += pk;
        j->axpy(o, pk, ft->v[k - k0], j->d);
    }
    online_softmax_add(&ft->st[r], psum);
}

/* One task: head h, query rows [i0, i1) of one Q tile, all key tiles the
 * tile's last query can see. */
static void flash_task(void *p, int t, int worker)
{
    const struct attn_job *j = p;
    int h = t / j->row_blocks, i0 = (t % j->row_blocks) * ATTN_TILE_Q;
    int i1 = i0 + ATTN_TILE_Q < j->n_q ? i0 + ATTN_TILE_Q : j->n_q;
    struct flash_tile ft;
    flash_tile_bind(j, worker, &ft);
    memset(ft.o, 0, (size_t)(i1 - i0) * j->d * sizeof(float));
    for (int r = 0; r < i1 - i0; r++) online_softmax_init(&ft.st[r]);

    int kv_end = j->pos0 + i1;                   /* keys 0..kv_end-1 */
    for (int k0 = 0; k0 < kv_end; k0 += ATTN_TILE_KV) {
        int k1 = k0 + ATTN_TILE_KV < kv_end ? k0 + ATTN_TILE_KV : kv_end;
        for (int k = k0; k < k1; k++) {          /* resolve the block table once per tile */
            ft.k[k - k0] = attn_kv(j, j->kv->k, k, h);
            ft.v[k - k0] = attn_kv(j, j->kv->v, k, h);
        }
        for (int i = i0; i < i1; i++) {
            int last = j->pos0 + i;              /* causal: keys <= last */
            if (last < k0) continue;
            flash_row_update(j, &ft, h, i - i0, i, k0, last + 1 < k1 ? last + 1 : k1);
        }
    }
    for (int i = i0; i < i1; i++) {
        float *o = attn_out(j, i, h), inv = 1.0f / ft.st[i - i0].l;
        const float *acc = ft.o + (size_t)(i - i0) * j->d;
        for (int e = 0; e < j->d; e++) o[e] = acc[e] * inv;
    }
}

static void attention_flash(struct cpu_ctx *c, struct attn_job *j)
{
    j->tile_bytes = flash_tile_bytes(j->d);
    j->tiles = cpu_scratch_get(&c->attn, j->tile_bytes * (size_t)pool_threads(c->pool),
                               "attn_flash tiles");
    j->row_blocks = (j->n_q + ATTN_TILE_Q - 1) / ATTN_TILE_Q;
    pool_run(c->pool, flash_task, j, j->n_heads * j->row_blocks);
}

void cpu_attention(struct backend *be, enum attn_impl impl, float *out, const float *q,
                   const struct kv_view *kv, int layer, int n_q, int pos0,
                   const struct attn_shape *sh)
{
    struct cpu_ctx *c = cpu_ctx(be);
    if (n_q <= 0) return;
    struct attn_job j = {
        .out = out, .q = q, .kv = kv, .layer = layer, .n_q = n_q, .pos0 = pos0,
        .n_ctx = pos0 + n_q, .n_heads = sh->n_heads, .group = sh->n_heads / sh->n_kv_heads,
        .d = sh->head_dim, .scale = sh->scale,
        .dot = cpu_vec_dot_fn(c->simd), .axpy = cpu_vec_axpy_fn(c->simd),
    };
    if (impl == ATTN_NAIVE) attention_naive(c, &j);
    else attention_flash(c, &j);
}
