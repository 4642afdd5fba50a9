/* kernels/cuda/cuda_ops.cu — element-wise and per-row ops: rmsnorm, rope,
 * swiglu, add, embed, kv_store. Each op: a __global__ kernel, a launcher on
 * the backend's stream, the vtable entry. Math from cuda_math.h, geometry
 * from cuda_launch.h (both covered by CPU tests). */
#include "kernels/cuda/cuda_internal.h"
#include "kernels/formats.h"
#include "kernels/cuda/cuda_launch.h"
#include "kernels/cuda/cuda_math.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRID_STRIDE(i, n) \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

[[noreturn]] static void op_error(const char *op, const char *msg)
{
    cuda_fatal(__FILE__, __LINE__, op, msg);
}

/* ---- rmsnorm: y[m][n] = x / rms(x row) * w; one block per row ---- */

__global__ static void k_rmsnorm(float *y, const float *x, const float *w, int n, float eps)
{
    const float *xr = x + (size_t)blockIdx.x * n;
    float *yr = y + (size_t)blockIdx.x * n;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) ss += xr[i] * xr[i];
    float scale = cm_rms_scale(block_reduce(ss, false), n, eps);
    for (int i = threadIdx.x; i < n; i += blockDim.x) yr[i] = xr[i] * scale * w[i];
}

void cuda_op_rmsnorm(struct backend *be, float *y, const float *x, const float *w, int m, int n, float eps)
{
    if (m <= 0 || n <= 0) return;
    struct cuda_ctx *c = cuda_ctx_of(be);
    struct cl_1d l = cl_rows(m, n);
    cuda_op_begin(be);
    k_rmsnorm<<<l.grid, l.block, 0, c->stream>>>(y, x, w, n, eps);
    CUDA_CHECK_LAUNCH(k_rmsnorm);
    cuda_op_end(be);
}

/* ---- rope: rotate pairs (2i, 2i+1) of every head of every row ---- */

__global__ static void k_rope(float *x, const int *pos, int m, int n_heads, int head_dim, struct rope_params rp)
{
    int half = head_dim / 2;
    int64_t per_row = (int64_t)n_heads * half;
    GRID_STRIDE(idx, (int64_t)m * per_row) {
        int64_t row = idx / per_row;
        int rem = (int)(idx % per_row), head = rem / half, i = rem % half;
        float *p = x + row * n_heads * head_dim + (int64_t)head * head_dim + 2 * i;
        cm_rope_rotate(&p[0], &p[1], pos[row], cm_rope_freq(i, head_dim, rp));
    }
}

void cuda_op_rope(struct backend *be, float *x, const int *pos, int m, int n_heads, int head_dim,
                  const struct rope_params *rp)
{
    if (m <= 0 || n_heads <= 0) return;
    if (head_dim <= 0 || head_dim % 2) op_error("rope", "head_dim must be even and positive");
    struct cuda_ctx *c = cuda_ctx_of(be);
    const int *dpos = cuda_ints_to_device(c, pos, m);
    struct cl_1d l = cl_eltwise((int64_t)m * n_heads * (head_dim / 2));
    cuda_op_begin(be);
    k_rope<<<l.grid, l.block, 0, c->stream>>>(x, dpos, m, n_heads, head_dim, *rp);
    CUDA_CHECK_LAUNCH(k_rope);
    cuda_op_end(be);
}

/* ---- swiglu and add ---- */

__global__ static void k_swiglu(float *out, const float *gate, const float *up, int64_t n)
{
    GRID_STRIDE(i, n) out[i] = cm_silu(gate[i]) * up[i];
}

__global__ static void k_add(float *y, const float *x, int64_t n)
{
    GRID_STRIDE(i, n) y[i] += x[i];
}

void cuda_op_swiglu(struct backend *be, float *out, const float *gate, const float *up, int64_t n)
{
    if (n <= 0) return;
    struct cuda_ctx *c = cuda_ctx_of(be);
    struct cl_1d l = cl_eltwise(n);
    cuda_op_begin(be);
    k_swiglu<<<l.grid, l.block, 0, c->stream>>>(out, gate, up, n);
    CUDA_CHECK_LAUNCH(k_swiglu);
    cuda_op_end(be);
}

void cuda_op_add(struct backend *be, float *y, const float *x, int64_t n)
{
    if (n <= 0) return;
    struct cuda_ctx *c = cuda_ctx_of(be);
    struct cl_1d l = cl_eltwise(n);
    cuda_op_begin(be);
    k_add<<<l.grid, l.block, 0, c->stream>>>(y, x, n);
    CUDA_CHECK_LAUNCH(k_add);
    cuda_op_end(be);
}

/* ---- embed: out[m][cols] = rows tokens[i] of emb ---- */

__device__ static inline float load_as_f32(const void *base, enum dtype t, int64_t i)
{
    switch (t) {
    case DT_F16: return __half2float(__ushort_as_half(((const unsigned short *)base)[i]));
    case DT_BF16: return __uint_as_float((unsigned)((const unsigned short *)base)[i] << 16);
    default: return ((const float *)base)[i];
    }
}

/* rows [off, off + n_rows) of the table are here (a vocab-parallel shard;
 * off 0 and every row otherwise): other tokens give zero rows */
__global__ static void k_embed(float *out, const void *emb, enum dtype t, const int *tokens, int m, int cols, int off,
                               int n_rows)
{
    GRID_STRIDE(idx, (int64_t)m * cols) {
        int64_t r = idx / cols, col = idx % cols;
        int row = cm_embed_row(tokens[r], off, n_rows);
        out[idx] = row < 0 ? 0.0f : load_as_f32(emb, t, (int64_t)row * cols + col);
    }
}

/* Block-quantized tables without a float device copy have no device decoder
 * yet: decode the m rows from the host bytes (kernels/formats.h) and copy
 * them up (staged: a captured step replays the staged rows). */
static void embed_quantized(struct backend *be, float *out, const struct weight *emb, const int *tokens, int m)
{
    struct cuda_ctx *c = cuda_ctx_of(be);
    size_t n = (size_t)m * emb->cols;
    if (n > c->host_rows_n) {
        float *p = (float *)realloc(c->host_rows, sizeof *p * n);
        if (!p) op_error("embed", "out of host memory for dequantized rows");
        c->host_rows = p;
        c->host_rows_n = n;
    }
    size_t row_bytes = weight_row_stride(emb);
    int off = emb->shard_dim == SHARD_ROWS ? emb->shard_offset : 0;
    for (int i = 0; i < m; i++) {
        int row = cm_embed_row(tokens[i], off, emb->rows);
        float *o = c->host_rows + (size_t)i * emb->cols;
        if (row < 0) memset(o, 0, sizeof *o * (size_t)emb->cols);
        else dtype_decode_row(emb->type, (const char *)emb->data + (size_t)row * row_bytes, o, emb->cols);
    }
    cuda_copy_to_device(c, out, c->host_rows, sizeof(float) * n);   /* host_rows is free again at once */
}

void cuda_op_embed(struct backend *be, float *out, const struct weight *emb, const int *tokens, int m)
{
    if (m <= 0) return;
    for (int i = 0; i < m; i++)
        if (tokens[i] < 0 || tokens[i] >= (emb->shard_dim == SHARD_ROWS ? emb->full_rows : emb->rows)) {
            char msg[96];
            snprintf(msg, sizeof msg, "token %d outside [0, %d) of %s", tokens[i],
                     emb->shard_dim == SHARD_ROWS ? emb->full_rows : emb->rows, emb->name);
            op_error("embed", msg);
        }
    /* a table converted on upload (dev_type f16) is read on the device */
    if (!emb->dev || dtype_is_quant(emb->dev_type)) {
        if (!dtype_is_quant(emb->type)) op_error("embed", "weight used before backend_upload_weight");
        embed_quantized(be, out, emb, tokens, m);
        return;
    }
    struct cuda_ctx *c = cuda_ctx_of(be);
    const int *dtok = cuda_ints_to_device(c, tokens, m);
    struct cl_1d l = cl_eltwise((int64_t)m * emb->cols);
    cuda_op_begin(be);
    k_embed<<<l.grid, l.block, 0, c->stream>>>(out, emb->dev, emb->dev_type, dtok, m, emb->cols,
                                                 emb->shard_dim == SHARD_ROWS ? emb->shard_offset : 0, emb->rows);
    CUDA_CHECK_LAUNCH(k_embed);
    cuda_op_end(be);
}

/* ---- kv_store: k, v [n][kv_dim] → tokens pos0.. of `layer`, through the block table ---- */

/* T = float or __half (round to nearest even, as fp32_to_fp16). */
template <typename T>
__global__ static void k_kv_store(T *kl, T *vl, const int32_t *table, int block_size, int kv_dim,
                                  int pos0, int n, const float *k, const float *v)
{
    GRID_STRIDE(idx, (int64_t)n * kv_dim) {
        int i = (int)(idx / kv_dim), col = (int)(idx % kv_dim);
        int64_t dst = cm_kv_slot(table, block_size, pos0 + i) * kv_dim + col;
        kl[dst] = (T)k[idx];
        vl[dst] = (T)v[idx];
    }
}

void cuda_op_kv_store(struct backend *be, const struct kv_view *kv, int layer, int pos0, int n,
                      const float *k, const float *v)
{
    if (n <= 0) return;
    if ((int64_t)(pos0 + n - 1) / kv->block_size >= kv->n_blocks)
        op_error("kv_store", "tokens beyond the kv_view's block table");
    struct cuda_ctx *c = cuda_ctx_of(be);
    const int32_t *dtab = cuda_table_to_device(c, kv);
    size_t off = (size_t)layer * kv->layer_stride * kv_elem_bytes(kv);
    struct cl_1d l = cl_eltwise((int64_t)n * kv->kv_dim);
    char *kb = (char *)kv->k + off, *vb = (char *)kv->v + off;
    cuda_op_begin(be);
    if (kv->kv_type == DT_F16)
        k_kv_store<__half><<<l.grid, l.block, 0, c->stream>>>((__half *)kb, (__half *)vb, dtab, kv->block_size,
                                                              kv->kv_dim, pos0, n, k, v);
    else
        k_kv_store<float><<<l.grid, l.block, 0, c->stream>>>((float *)kb, (float *)vb, dtab, kv->block_size,
                                                             kv->kv_dim, pos0, n, k, v);
    CUDA_CHECK_LAUNCH(k_kv_store);
    cuda_op_end(be);
}
