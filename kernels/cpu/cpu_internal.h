/* kernels/cpu/cpu_internal.h — state shared by the CPU backend's files:
 * the thread pool, the SIMD level, growable scratch, and the op entry points
 * the vtable in cpu_backend.c points at. Not included outside kernels/cpu/. */
#ifndef INFERTOP_CPU_INTERNAL_H
#define INFERTOP_CPU_INTERNAL_H

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/threadpool.h"

#include <stddef.h>

/* A buffer reused across calls; grows, never shrinks (64-byte aligned). */
struct cpu_scratch {
    void *p;
    size_t bytes;
};

struct cpu_ctx {
    struct threadpool *pool;
    enum cpu_simd simd;
    struct cpu_scratch act;    /* matmul: quantized x rows */
    struct cpu_scratch attn;   /* attention: S and P (naive), per-thread tiles (flash) */
    struct cpu_scratch cand;   /* sample hook: one row's candidates [vocab] */
    size_t allocated;          /* bytes live from cpu_alloc (malloc_usable_size), this device's */
};

static inline struct cpu_ctx *cpu_ctx(struct backend *be) { return be->ctx; }

/* The bytes the CPU ops read for w, in weight_run_type(w): the backend copy
 * (host memory here) when upload made one — a converted weight — else the
 * host bytes in place. */
static inline const void *cpu_weight_bytes(const struct weight *w)
{
    return w->dev ? w->dev : w->data;
}

/* Bytes between rows of cpu_weight_bytes(w): a converted copy is dense; the
 * host bytes of a column shard are strided (weight_row_stride). */
static inline size_t cpu_weight_stride(const struct weight *w)
{
    return w->dev ? dtype_row_bytes(w->dev_type, w->cols) : weight_row_stride(w);
}

/* At least `bytes` of scratch; on out-of-memory prints what failed and
 * aborts (ops have no error return, and a half-computed result is worse). */
void *cpu_scratch_get(struct cpu_scratch *s, size_t bytes, const char *what);
void  cpu_scratch_free(struct cpu_scratch *s);

/* Ops; contracts as in struct backend_ops (kernels/backend.h). */
void cpu_matmul(struct backend *be, float *y, const struct weight *w, const float *x, int m);
void cpu_attention(struct backend *be, enum attn_impl impl, float *out, const float *q,
                   const struct kv_view *kv, int layer, int n_q, int pos0,
                   const struct attn_shape *sh);
void cpu_kv_store(struct backend *be, const struct kv_view *kv, int layer, int pos0, int n,
                  const float *k, const float *v);
void cpu_rmsnorm(struct backend *be, float *y, const float *x, const float *w, int m, int n,
                 float eps);
void cpu_rope(struct backend *be, float *x, const int *pos, int m, int n_heads, int head_dim,
              const struct rope_params *rp);
void cpu_swiglu(struct backend *be, float *out, const float *gate, const float *up, int64_t n);
void cpu_add(struct backend *be, float *y, const float *x, int64_t n);
void cpu_embed(struct backend *be, float *out, const struct weight *emb, const int *tokens, int m);
/* cpu_sample.c: the sample hook (kernels/backend.h) */
int  cpu_sample(struct backend *be, int32_t *ids, const float *logits, int rows, int vocab,
                const struct sample_params *sp, const double *u);
/* comm ops (cpu_comm.c) */
void cpu_all_reduce(struct backend *be, struct comm *c, float *buf, int64_t n);
void cpu_all_gather(struct backend *be, struct comm *c, float *out, const float *in, int64_t rows,
                    int64_t row_elems);
void cpu_reduce_scatter(struct backend *be, struct comm *c, float *out, float *in, int64_t rows,
                        int64_t row_elems);
void cpu_send(struct backend *be, struct comm *c, int peer, const float *buf, int64_t n);
void cpu_recv(struct backend *be, struct comm *c, int peer, float *buf, int64_t n);

#endif
