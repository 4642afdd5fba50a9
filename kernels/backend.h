/* kernels/backend.h — the one interface between the engine and compute.
 *
 * A backend is a vtable (struct backend_ops) plus a context. core/ calls the
 * backend_* dispatchers below, never a concrete backend. Each dispatcher runs
 * the op and appends a kernel record (name, shapes, measured time, MODELED
 * bytes and FLOPs) to the backend's kernel log, so every backend reports the
 * same things the same way.
 *
 * Memory: activations are float32 buffers from backend_alloc (host memory on
 * the CPU backend, device memory on CUDA). Weights are `struct weight` (host
 * bytes, plus a backend copy made by backend_upload_weight). Small index
 * arrays (tokens, positions, block tables) are host pointers; a device backend
 * copies them itself.
 *
 * Shapes in comments: [rows][cols], row-major, the last index contiguous.
 */
#ifndef INFERTOP_BACKEND_H
#define INFERTOP_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- weight formats ---------------------------------------------------- */

/* Values match ggml's type ids where a GGUF file names them (see dtype_from_ggml). */
enum dtype {
    DT_F32, DT_F16, DT_BF16,
    DT_Q8_0, DT_Q4_0, DT_Q4_1, DT_Q4_K, DT_Q6_K,
    DT_COUNT
};

struct dtype_info {
    const char *name;     /* "f32", "q4_1", ... */
    int block_elems;      /* elements per block (1 for float formats) */
    int block_bytes;      /* bytes per block */
    int ggml_type;        /* GGUF/ggml type id */
};

const struct dtype_info *dtype_info(enum dtype t);
/* Bytes of one row of n elements; n must be a multiple of block_elems. */
size_t dtype_row_bytes(enum dtype t, int64_t n);
/* -1 when the name or id is not a known format. */
int dtype_from_name(const char *name);
int dtype_from_ggml(int ggml_type);

/* Scalar conversions, round-to-nearest-even: identical on every machine. */
uint16_t fp32_to_fp16(float f);
float    fp16_to_fp32(uint16_t h);
uint16_t fp32_to_bf16(float f);
float    bf16_to_fp32(uint16_t h);

/* A weight matrix W[rows][cols]: rows = output features, cols = input features.
 * y = x · Wᵀ, so a row of W is one output's dot product. */
struct weight {
    enum dtype type;
    int rows, cols;
    void *data;          /* host bytes in `type` layout (malloc'd or mmap'd) */
    void *dev;           /* backend copy; NULL when the backend reads `data` */
    char name[48];
};

size_t weight_bytes(const struct weight *w);

/* ---- kernel records ---------------------------------------------------- */

enum op_class { OPC_MATMUL, OPC_ATTN, OPC_NORM, OPC_ELTWISE, OPC_EMBED, OPC_COPY, OPC_COUNT };
const char *op_class_name(enum op_class c);

/* One executed op. Times are measured; bytes and FLOPs are MODELED from the
 * formulas in kernels/cost.c (shared/notes/cupti-nvtx.md), unless a backend
 * with counters sets `bytes_measured`. */
struct kernel_record {
    char name[24];            /* "matmul_f16", "attn_flash", "rmsnorm" */
    enum op_class cls;
    int16_t layer;            /* -1 outside the layer stack */
    int64_t shape[4];         /* matmul {m, n, k}; attention {n_q, n_ctx, n_heads, head_dim} */
    uint64_t t_start_ns;      /* CLOCK_MONOTONIC */
    uint64_t dur_ns;
    bool dur_measured;        /* false: async launch not yet timed */
    bool bytes_measured;      /* false: dram/chip bytes are modeled */
    double flops;
    double dram_rd, dram_wr;  /* main memory: DRAM on CPU, HBM on GPU */
    double chip_rd, chip_wr;  /* on-chip: cache tiles on CPU, SRAM/L2 on GPU */
};

/* Append-only log the forward pass fills; the engine drains it per step. */
struct kernel_log {
    struct kernel_record *recs;
    int n, cap;
    int layer;                /* tag put on new records */
    bool enabled;
};

void kernel_log_init(struct kernel_log *log, int cap);
void kernel_log_free(struct kernel_log *log);
void kernel_log_clear(struct kernel_log *log);

/* ---- attention inputs -------------------------------------------------- */

enum attn_impl { ATTN_NAIVE, ATTN_FLASH };

/* Where one sequence's K and V live. Token t of layer l is the row
 *   k + l*layer_stride + (table[t / block_size] * block_size + t % block_size) * kv_dim
 * Paged storage: block_size 8..32, table lists the blocks. Contiguous storage
 * is the same with one table entry and block_size >= n_ctx. */
struct kv_view {
    void *k, *v;              /* pool bases: [layers][blocks*block_size][kv_dim] of kv_type */
    size_t layer_stride;      /* elements between layers */
    const int32_t *table;     /* [ceil(n_ctx / block_size)] block ids */
    int n_blocks;             /* entries in table */
    int block_size;           /* tokens per block */
    int kv_dim;               /* n_kv_heads * head_dim */
    enum dtype kv_type;       /* DT_F32 (0, the default) or DT_F16 */
};

/* Bytes of one K or V element. */
static inline size_t kv_elem_bytes(const struct kv_view *kv)
{
    return kv->kv_type == DT_F16 ? 2 : 4;
}

/* Row t of layer `layer` of base (kv->k or kv->v), any kv_type. */
static inline void *kv_row_bytes(const struct kv_view *kv, void *base, int layer, int t)
{
    int64_t slot = (int64_t)kv->table[t / kv->block_size] * kv->block_size + t % kv->block_size;
    return (char *)base + ((size_t)layer * kv->layer_stride + (size_t)slot * kv->kv_dim) *
                          kv_elem_bytes(kv);
}

/* The same row as floats; only for kv_type == DT_F32. */
static inline float *kv_row(const struct kv_view *kv, void *base, int layer, int t)
{
    return (float *)kv_row_bytes(kv, base, layer, t);
}

struct attn_shape {
    int n_heads, n_kv_heads, head_dim;  /* GQA: n_heads % n_kv_heads == 0; MQA: n_kv_heads = 1 */
    float scale;                        /* usually 1/sqrt(head_dim) */
};

struct rope_params {
    float theta;              /* base, e.g. 10000 or 500000 */
    /* Llama 3 frequency scaling; factor 0 = off */
    float factor, low_freq_factor, high_freq_factor;
    int orig_ctx;
};

/* ---- the vtable -------------------------------------------------------- */

struct backend;

struct backend_ops {
    const char *name;                    /* "cpu", "cuda", "sim" */
    bool async;                          /* ops return before finishing; durations filled later */

    bool  (*supports_matmul)(struct backend *be, enum dtype w);
    void *(*alloc)(struct backend *be, size_t bytes);
    void  (*free)(struct backend *be, void *p);
    /* host → backend copy of a weight; NULL = the backend reads w->data */
    int   (*upload_weight)(struct backend *be, struct weight *w);
    void  (*upload)(struct backend *be, void *dst, const void *src, size_t bytes);
    void  (*download)(struct backend *be, void *dst, const void *src, size_t bytes);

    /* y[m][w->rows] = x[m][w->cols] · Wᵀ */
    void (*matmul)(struct backend *be, float *y, const struct weight *w, const float *x, int m);
    /* Causal attention for n_q new tokens at positions pos0..pos0+n_q-1 of one
     * sequence whose K/V for positions 0..pos0+n_q-1 are already in `kv`.
     * q, out: [n_q][n_heads*head_dim]. */
    void (*attention)(struct backend *be, enum attn_impl impl, float *out, const float *q,
                      const struct kv_view *kv, int layer, int n_q, int pos0,
                      const struct attn_shape *sh);
    /* Store k, v [n][kv_dim] as tokens pos0..pos0+n-1 of `layer` in `kv`. */
    void (*kv_store)(struct backend *be, const struct kv_view *kv, int layer, int pos0, int n,
                     const float *k, const float *v);
    /* y[m][n] = x[m][n] / rms(x row) * w[n] */
    void (*rmsnorm)(struct backend *be, float *y, const float *x, const float *w, int m, int n,
                    float eps);
    /* Rotate adjacent pairs (2i, 2i+1) of each head by pos[row] * freq_i, the
     * layout of GGUF Llama weights (llama.cpp's "normal" rope).
     * x: [m][n_heads*head_dim], pos: [m] */
    void (*rope)(struct backend *be, float *x, const int *pos, int m, int n_heads, int head_dim,
                 const struct rope_params *rp);
    /* out[i] = silu(gate[i]) * up[i] */
    void (*swiglu)(struct backend *be, float *out, const float *gate, const float *up, int64_t n);
    /* y[i] += x[i] */
    void (*add)(struct backend *be, float *y, const float *x, int64_t n);
    /* out[m][emb->cols] = rows tokens[i] of emb (any dtype, dequantized) */
    void (*embed)(struct backend *be, float *out, const struct weight *emb, const int *tokens, int m);
    void (*sync)(struct backend *be);
    void (*destroy)(struct backend *be);
};

struct backend {
    const struct backend_ops *ops;
    void *ctx;                 /* backend-private state */
    int n_threads;
    struct kernel_log *log;    /* may be NULL: no records */
    char device_name[96];      /* "AMD EPYC (2 threads, avx512)", "NVIDIA H200" */
    char reason[160];          /* why this backend was chosen */
    bool simulated;            /* timings come from a model, not from running */
};

/* ---- dispatchers (kernels/backend.c): run the op, log its record ------- */

void *backend_alloc(struct backend *be, size_t bytes);
void  backend_free(struct backend *be, void *p);
int   backend_upload_weight(struct backend *be, struct weight *w);
void  backend_upload(struct backend *be, void *dst, const void *src, size_t bytes);
void  backend_download(struct backend *be, void *dst, const void *src, size_t bytes);
void  backend_matmul(struct backend *be, float *y, const struct weight *w, const float *x, int m);
void  backend_attention(struct backend *be, enum attn_impl impl, float *out, const float *q,
                        const struct kv_view *kv, int layer, int n_q, int pos0,
                        const struct attn_shape *sh);
void  backend_kv_store(struct backend *be, const struct kv_view *kv, int layer, int pos0, int n,
                       const float *k, const float *v);
void  backend_rmsnorm(struct backend *be, float *y, const float *x, const float *w, int m, int n,
                      float eps);
void  backend_rope(struct backend *be, float *x, const int *pos, int m, int n_heads, int head_dim,
                   const struct rope_params *rp);
void  backend_swiglu(struct backend *be, float *out, const float *gate, const float *up, int64_t n);
void  backend_add(struct backend *be, float *y, const float *x, int64_t n);
void  backend_embed(struct backend *be, float *out, const struct weight *emb, const int *tokens,
                    int m);
void  backend_sync(struct backend *be);
void  backend_destroy(struct backend *be);

uint64_t now_ns(void);   /* CLOCK_MONOTONIC in nanoseconds */

#ifdef __cplusplus
}
#endif

#endif
