/* kernels/cpu/cpu_ops.c — the small ops: rmsnorm, rope, swiglu, add, embed,
 * kv_store. All are memory-bound; they go multithreaded only when the work is
 * large enough to pay for waking the pool (prefill), and run inline for a
 * single decode row. */
#include "kernels/cpu/cpu_internal.h"
#include "kernels/cpu/attn_math.h"
#include "kernels/cpu/attn_kernels.h"
#include "kernels/formats.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define ELTWISE_CHUNK (16 * 1024)    /* elements per task */

static int chunks_of(int64_t n, int64_t per) { return (int)((n + per - 1) / per); }

/* Rows per task so that each task touches about ELTWISE_CHUNK elements. */
static int rows_per_task(int64_t row_elems)
{
    int64_t r = ELTWISE_CHUNK / (row_elems > 0 ? row_elems : 1);
    return r < 1 ? 1 : (int)r;
}

/* ---- rmsnorm ---------------------------------------------------------- */

struct norm_job {
    float *y;
    const float *x, *w;
    int m, n, rows;
    float eps;
};

static void rmsnorm_row(float *y, const float *x, const float *w, int n, float eps)
{
    float ss = attn_dot(x, x, n);
    float inv = 1.0f / sqrtf(ss / (float)n + eps);
    for (int i = 0; i < n; i++) y[i] = x[i] * inv * w[i];
}

static void rmsnorm_task(void *p, int t, int worker)
{
    const struct norm_job *j = p;
    (void)worker;
    int r1 = (t + 1) * j->rows < j->m ? (t + 1) * j->rows : j->m;
    for (int r = t * j->rows; r < r1; r++)
        rmsnorm_row(j->y + (size_t)r * j->n, j->x + (size_t)r * j->n, j->w, j->n, j->eps);
}

void cpu_rmsnorm(struct backend *be, float *y, const float *x, const float *w, int m, int n,
                 float eps)
{
    struct norm_job j = {.y = y, .x = x, .w = w, .m = m, .n = n, .rows = rows_per_task(n), .eps = eps};
    pool_run(cpu_ctx(be)->pool, rmsnorm_task, &j, chunks_of(m, j.rows));
}

/* ---- rope ------------------------------------------------------------- */

struct rope_job {
    float *x;                  /* [m][n_heads*head_dim] */
    const int *pos;
    int m, n_heads, head_dim, rows;
    const struct rope_params *rp;
};

/* One token: the angle of pair i depends on (pos, i) only, so compute its
 * cos/sin once and rotate that pair in every head. */
static void rope_row(float *x, int pos, int n_heads, int head_dim, const struct rope_params *rp)
{
    for (int i = 0; i < head_dim / 2; i++) {
        float f = rope_freq(i, head_dim, rp->theta, rp->factor, rp->low_freq_factor,
                            rp->high_freq_factor, rp->orig_ctx);
        float angle = (float)pos * f, c = cosf(angle), s = sinf(angle);
        for (int h = 0; h < n_heads; h++) {
            float *pair = x + (size_t)h * head_dim + 2 * i;
            rope_rotate_pair(&pair[0], &pair[1], c, s);
        }
    }
}

static void rope_task(void *p, int t, int worker)
{
    const struct rope_job *j = p;
    (void)worker;
    size_t dim = (size_t)j->n_heads * j->head_dim;
    int r1 = (t + 1) * j->rows < j->m ? (t + 1) * j->rows : j->m;
    for (int r = t * j->rows; r < r1; r++)
        rope_row(j->x + r * dim, j->pos[r], j->n_heads, j->head_dim, j->rp);
}

void cpu_rope(struct backend *be, float *x, const int *pos, int m, int n_heads, int head_dim,
              const struct rope_params *rp)
{
    struct rope_job j = {.x = x, .pos = pos, .m = m, .n_heads = n_heads, .head_dim = head_dim,
                         .rows = rows_per_task((int64_t)n_heads * head_dim), .rp = rp};
    pool_run(cpu_ctx(be)->pool, rope_task, &j, chunks_of(m, j.rows));
}

/* ---- swiglu, add ------------------------------------------------------ */

struct elt_job {
    float *out;
    const float *a, *b;
    int64_t n;
    const struct attn_kernels *kern;   /* swiglu: the vector exp */
};

static void elt_range(const struct elt_job *j, int t, int64_t *i0, int64_t *i1)
{
    *i0 = (int64_t)t * ELTWISE_CHUNK;
    *i1 = *i0 + ELTWISE_CHUNK < j->n ? *i0 + ELTWISE_CHUNK : j->n;
}

#define SWIGLU_SPAN 256      /* elements per vector-exp call (a stack buffer) */

/* silu(g)·u = g / (1 + e^-g) · u with e^-g from the SIMD level's exp
 * (attn_kernels.h exp_array, the softmax's: relative error ~1e-7; libm's
 * scalar expf was 5-6% of a 512-token prefill). */
static void swiglu_task(void *p, int t, int worker)
{
    const struct elt_job *j = p;
    int64_t i0, i1;
    float e[SWIGLU_SPAN];
    (void)worker;
    elt_range(j, t, &i0, &i1);
    for (int64_t s = i0; s < i1; s += SWIGLU_SPAN) {
        int n = i1 - s < SWIGLU_SPAN ? (int)(i1 - s) : SWIGLU_SPAN;
        const float *g = j->a + s, *u = j->b + s;
        for (int i = 0; i < n; i++) e[i] = -g[i];
        j->kern->exp_array(e, e, n);
        for (int i = 0; i < n; i++) j->out[s + i] = g[i] / (1.0f + e[i]) * u[i];
    }
}

static void add_task(void *p, int t, int worker)
{
    const struct elt_job *j = p;
    int64_t i0, i1;
    (void)worker;
    elt_range(j, t, &i0, &i1);
    for (int64_t i = i0; i < i1; i++) j->out[i] += j->a[i];
}

void cpu_swiglu(struct backend *be, float *out, const float *gate, const float *up, int64_t n)
{
    struct elt_job j = {.out = out, .a = gate, .b = up, .n = n, .kern = attn_kernels_for(cpu_ctx(be)->simd)};
    pool_run(cpu_ctx(be)->pool, swiglu_task, &j, chunks_of(n, ELTWISE_CHUNK));
}

void cpu_add(struct backend *be, float *y, const float *x, int64_t n)
{
    struct elt_job j = {.out = y, .a = x, .n = n};
    pool_run(cpu_ctx(be)->pool, add_task, &j, chunks_of(n, ELTWISE_CHUNK));
}

/* ---- embed, kv_store -------------------------------------------------- */

void cpu_embed(struct backend *be, float *out, const struct weight *emb, const int *tokens, int m)
{
    (void)be;
    enum dtype t = weight_run_type(emb);
    size_t rb = cpu_weight_stride(emb);
    int off = emb->shard_dim == SHARD_ROWS ? emb->shard_offset : 0;
    for (int i = 0; i < m; i++) {
        int row = tokens[i] - off;
        float *o = out + (size_t)i * emb->cols;
        if (row < 0 || row >= emb->rows) memset(o, 0, sizeof *o * (size_t)emb->cols);   /* another rank's row */
        else dtype_decode_row(t, (const uint8_t *)cpu_weight_bytes(emb) + (size_t)row * rb, o, emb->cols);
    }
}

/* K and V rows [n][kv_dim] into the cache rows of positions pos0..pos0+n-1;
 * an f16 cache gets them rounded to nearest even (F16C when the SIMD level
 * has it, fp32_to_fp16 otherwise: the same bits). */
void cpu_kv_store(struct backend *be, const struct kv_view *kv, int layer, int pos0, int n,
                  const float *k, const float *v)
{
    const struct attn_kernels *kern = attn_kernels_for(cpu_ctx(be)->simd);
    size_t row = (size_t)kv->kv_dim * sizeof(float);
    for (int t = 0; t < n; t++) {
        const float *kt = k + (size_t)t * kv->kv_dim, *vt = v + (size_t)t * kv->kv_dim;
        void *kd = kv_row_bytes(kv, kv->k, layer, pos0 + t);
        void *vd = kv_row_bytes(kv, kv->v, layer, pos0 + t);
        if (kv->kv_type == DT_F16) {
            kern->to_f16(kd, kt, kv->kv_dim);
            kern->to_f16(vd, vt, kv->kv_dim);
        } else {
            memcpy(kd, kt, row);
            memcpy(vd, vt, row);
        }
    }
}
