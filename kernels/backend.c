/* kernels/backend.c — dispatchers: run an op through the vtable and log its
 * kernel record (measured wall time on synchronous backends, modeled bytes). */
#include "kernels/backend.h"
#include "kernels/cost.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- formats ---- */

static const struct dtype_info DTYPES[DT_COUNT] = {
    [DT_F32]  = {"f32",  1,   4,   0},
    [DT_F16]  = {"f16",  1,   2,   1},
    [DT_BF16] = {"bf16", 1,   2,  30},
    [DT_Q8_0] = {"q8_0", 32,  34,  8},
    [DT_Q4_0] = {"q4_0", 32,  18,  2},
    [DT_Q4_1] = {"q4_1", 32,  20,  3},
    [DT_Q4_K] = {"q4_k", 256, 144, 12},
    [DT_Q6_K] = {"q6_k", 256, 210, 14},
};

const struct dtype_info *dtype_info(enum dtype t) { return &DTYPES[t]; }

size_t dtype_row_bytes(enum dtype t, int64_t n)
{
    return (size_t)(n / DTYPES[t].block_elems) * (size_t)DTYPES[t].block_bytes;
}

int dtype_from_name(const char *name)
{
    for (int t = 0; t < DT_COUNT; t++)
        if (strcmp(DTYPES[t].name, name) == 0) return t;
    return -1;
}

int dtype_from_ggml(int ggml_type)
{
    for (int t = 0; t < DT_COUNT; t++)
        if (DTYPES[t].ggml_type == ggml_type) return t;
    return -1;
}

size_t weight_bytes(const struct weight *w)
{
    return (size_t)w->rows * dtype_row_bytes(w->type, w->cols);
}

static uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

uint16_t fp32_to_bf16(float f)
{
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);  /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float bf16_to_fp32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t fp32_to_fp16(float f)
{
    uint32_t u = f32_bits(f), sign = (u >> 16) & 0x8000u;
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);          /* NaN */
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);         /* overflow → inf */
    if (a < 0x38800000u) {                                            /* subnormal or zero */
        /* scale into the subnormal range and let the FPU round to nearest even */
        float m = bits_f32(a) * 16777216.0f;                          /* 2^24 */
        return (uint16_t)(sign | (uint32_t)lrintf(m));
    }
    uint32_t r = a + 0xfffu + ((a >> 13) & 1u) - 0x38000000u;         /* rebias 127 → 15 */
    return (uint16_t)(sign | (r >> 13));
}

float fp16_to_fp32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    if (e == 0) {                              /* zero or subnormal: m * 2^-24, exact */
        float mag = (float)m * 0x1p-24f;
        return sign ? -mag : mag;
    }
    if (e == 31) return bits_f32(sign | 0x7f800000u | (m << 13));
    return bits_f32(sign | ((e + 112) << 23) | (m << 13));
}

/* ---- kernel log ---- */

const char *op_class_name(enum op_class c)
{
    static const char *N[OPC_COUNT] = {"matmul", "attention", "norm", "eltwise", "embed", "copy"};
    return c < OPC_COUNT ? N[c] : "?";
}

void kernel_log_init(struct kernel_log *log, int cap)
{
    memset(log, 0, sizeof *log);
    log->recs = calloc((size_t)cap, sizeof *log->recs);
    log->cap = log->recs ? cap : 0;
    log->layer = -1;
    log->enabled = true;
}

void kernel_log_free(struct kernel_log *log) { free(log->recs); memset(log, 0, sizeof *log); }
void kernel_log_clear(struct kernel_log *log) { log->n = 0; }

/* Returns a zeroed record to fill, or a scratch one when logging is off/full. */
static struct kernel_record *rec_begin(struct backend *be, const char *name, enum op_class cls)
{
    static _Thread_local struct kernel_record scratch;
    struct kernel_log *log = be->log;
    struct kernel_record *r = &scratch;
    if (log && log->enabled) {
        if (log->n == log->cap) {
            int cap = log->cap ? log->cap * 2 : 256;
            struct kernel_record *nr = realloc(log->recs, (size_t)cap * sizeof *nr);
            if (nr) { log->recs = nr; log->cap = cap; }
        }
        if (log->n < log->cap) r = &log->recs[log->n++];
    }
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    r->cls = cls;
    r->layer = (int16_t)(log ? log->layer : -1);
    r->t_start_ns = now_ns();
    return r;
}

static void rec_end(struct backend *be, struct kernel_record *r)
{
    r->dur_measured = !be->ops->async;
    r->dur_ns = r->dur_measured ? now_ns() - r->t_start_ns : 0;
}

/* ---- dispatchers ---- */

void *backend_alloc(struct backend *be, size_t bytes) { return be->ops->alloc(be, bytes); }
void  backend_free(struct backend *be, void *p) { if (p) be->ops->free(be, p); }

int backend_upload_weight(struct backend *be, struct weight *w)
{
    return be->ops->upload_weight ? be->ops->upload_weight(be, w) : 0;
}

void backend_upload(struct backend *be, void *dst, const void *src, size_t bytes)
{
    be->ops->upload(be, dst, src, bytes);
}

void backend_download(struct backend *be, void *dst, const void *src, size_t bytes)
{
    be->ops->download(be, dst, src, bytes);
}

void backend_matmul(struct backend *be, float *y, const struct weight *w, const float *x, int m)
{
    char name[24];
    snprintf(name, sizeof name, "matmul_%s", dtype_info(w->type)->name);
    struct kernel_record *r = rec_begin(be, name, OPC_MATMUL);
    be->ops->matmul(be, y, w, x, m);
    rec_end(be, r);
    cost_matmul(r, w, m);
}

void backend_attention(struct backend *be, enum attn_impl impl, float *out, const float *q,
                       const struct kv_view *kv, int layer, int n_q, int pos0,
                       const struct attn_shape *sh)
{
    const char *name = impl == ATTN_NAIVE ? (kv->n_blocks > 1 ? "attn_naive_paged" : "attn_naive")
                                          : (kv->n_blocks > 1 ? "attn_flash_paged" : "attn_flash");
    struct kernel_record *r = rec_begin(be, name, OPC_ATTN);
    be->ops->attention(be, impl, out, q, kv, layer, n_q, pos0, sh);
    rec_end(be, r);
    cost_attention(r, impl, kv, n_q, pos0, sh);
}

void backend_kv_store(struct backend *be, const struct kv_view *kv, int layer, int pos0, int n,
                      const float *k, const float *v)
{
    struct kernel_record *r = rec_begin(be, "kv_store", OPC_COPY);
    be->ops->kv_store(be, kv, layer, pos0, n, k, v);
    rec_end(be, r);
    cost_eltwise(r, 2.0 * n * kv->kv_dim, 1, 1, 0);
    r->dram_wr *= kv_elem_bytes(kv) / 4.0;   /* f16 cache: 2 bytes written per element */
}

void backend_rmsnorm(struct backend *be, float *y, const float *x, const float *w, int m, int n,
                     float eps)
{
    struct kernel_record *r = rec_begin(be, "rmsnorm", OPC_NORM);
    be->ops->rmsnorm(be, y, x, w, m, n, eps);
    rec_end(be, r);
    cost_eltwise(r, (double)m * n, 1, 1, 4);
    r->dram_rd += 4.0 * n;
}

void backend_rope(struct backend *be, float *x, const int *pos, int m, int n_heads, int head_dim,
                  const struct rope_params *rp)
{
    struct kernel_record *r = rec_begin(be, "rope", OPC_ELTWISE);
    be->ops->rope(be, x, pos, m, n_heads, head_dim, rp);
    rec_end(be, r);
    cost_eltwise(r, (double)m * n_heads * head_dim, 1, 1, 3);
}

void backend_swiglu(struct backend *be, float *out, const float *gate, const float *up, int64_t n)
{
    struct kernel_record *r = rec_begin(be, "swiglu", OPC_ELTWISE);
    be->ops->swiglu(be, out, gate, up, n);
    rec_end(be, r);
    cost_eltwise(r, (double)n, 2, 1, 6);
}

void backend_add(struct backend *be, float *y, const float *x, int64_t n)
{
    struct kernel_record *r = rec_begin(be, "add", OPC_ELTWISE);
    be->ops->add(be, y, x, n);
    rec_end(be, r);
    cost_eltwise(r, (double)n, 2, 1, 1);
}

void backend_embed(struct backend *be, float *out, const struct weight *emb, const int *tokens, int m)
{
    struct kernel_record *r = rec_begin(be, "embed", OPC_EMBED);
    be->ops->embed(be, out, emb, tokens, m);
    rec_end(be, r);
    cost_eltwise(r, (double)m * emb->cols, 0, 1, 0);
    r->dram_rd = (double)m * dtype_row_bytes(emb->type, emb->cols);
}

void backend_sync(struct backend *be) { if (be->ops->sync) be->ops->sync(be); }

void backend_destroy(struct backend *be)
{
    if (be && be->ops->destroy) be->ops->destroy(be);
}
