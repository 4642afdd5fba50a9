/* kernels/cuda/cuda_attention.cu — causal attention over a paged KV cache.
 *
 * naive: the seed's standard attention. S = QKᵀ·scale [heads][n_q][n_ctx] is
 *   written to global memory, a softmax kernel turns it into P in place, and
 *   a third kernel computes O = P·V: S and P cross HBM, as the cost model says.
 * flash: one kernel; a block owns up to ATTN_TILE_Q (query, head) rows of one
 *   KV head's GQA group and streams K/V tiles of ATTN_TILE_KV tokens through
 *   shared memory with the online softmax (cuda_math.h), so S never leaves the
 *   chip. Small grids (decode) split the keys across blocks and merge the
 *   partial (m, l, acc) in a combine kernel. Geometry: cuda_launch.h.
 * Both read K/V rows through the device copy of the block table; K/V are f32
 * or f16 (kv_view.kv_type), f16 widened to float as it is read. */
#include "kernels/cuda/cuda_internal.h"
#include "kernels/cuda/cuda_launch.h"
#include "kernels/cuda/cuda_math.h"

#include <cuda_fp16.h>
#include <stdio.h>

#define GRID_STRIDE(i, n) \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

/* Everything a kernel needs about one sequence's attention, by value. */
struct attn_args {
    const float *q;           /* [n_q][n_heads*head_dim] */
    float *out;               /* [n_q][n_heads*head_dim] */
    const void *k, *v;        /* this layer's pool base: [slots][kv_dim] of f32 or f16 */
    bool f16;                 /* K/V elements are IEEE halves */
    const int32_t *table;     /* device block table */
    int block_size, kv_dim;
    int n_q, pos0, n_ctx, n_heads, group, head_dim;
    float scale;
};

/* Element index of token t's KV head kvh row in a layer's pool. */
__device__ static inline int64_t kv_head_off(const struct attn_args &a, int t, int kvh)
{
    return cm_kv_slot(a.table, a.block_size, t) * a.kv_dim + (int64_t)kvh * a.head_dim;
}

/* K/V element `off` of base as float. */
__device__ static inline float kv_at(const void *base, int64_t off, bool f16)
{
    return f16 ? __half2float(((const __half *)base)[off]) : ((const float *)base)[off];
}

/* ---- naive ---- */

/* S[h][i][t] = scale · q[i][h] · k[t][h / group]; -inf where t > pos0 + i. */
__global__ static void k_scores(struct attn_args a, float *S)
{
    int64_t total = (int64_t)a.n_heads * a.n_q * a.n_ctx;
    GRID_STRIDE(idx, total) {
        int t = (int)(idx % a.n_ctx), i = (int)((idx / a.n_ctx) % a.n_q), h = (int)(idx / ((int64_t)a.n_ctx * a.n_q));
        if (t > a.pos0 + i) {
            S[idx] = -INFINITY;
            continue;
        }
        const float *qr = a.q + ((int64_t)i * a.n_heads + h) * a.head_dim;
        int64_t kr = kv_head_off(a, t, h / a.group);
        float dot = 0.0f;
        for (int c = 0; c < a.head_dim; c++) dot += qr[c] * kv_at(a.k, kr + c, a.f16);
        S[idx] = dot * a.scale;
    }
}

/* One block per row of S: P = softmax(S row), in place; masked entries → 0. */
__global__ static void k_softmax_rows(float *S, int n_ctx)
{
    float *row = S + (int64_t)blockIdx.x * n_ctx;
    float mx = -INFINITY;
    for (int t = threadIdx.x; t < n_ctx; t += blockDim.x) mx = fmaxf(mx, row[t]);
    mx = block_reduce(mx, true);
    float sum = 0.0f;
    for (int t = threadIdx.x; t < n_ctx; t += blockDim.x) {
        float e = expf(row[t] - mx);
        row[t] = e;
        sum += e;
    }
    float inv = 1.0f / block_reduce(sum, false);
    for (int t = threadIdx.x; t < n_ctx; t += blockDim.x) row[t] *= inv;
}

/* out[i][h][c] = Σ_{t <= pos0+i} P[h][i][t] · v[t][h / group][c] */
__global__ static void k_pv(struct attn_args a, const float *P)
{
    int64_t total = (int64_t)a.n_q * a.n_heads * a.head_dim;
    GRID_STRIDE(idx, total) {
        int c = (int)(idx % a.head_dim), h = (int)((idx / a.head_dim) % a.n_heads);
        int i = (int)(idx / ((int64_t)a.head_dim * a.n_heads));
        const float *pr = P + ((int64_t)h * a.n_q + i) * a.n_ctx;
        float acc = 0.0f;
        for (int t = 0; t <= a.pos0 + i; t++) acc += pr[t] * kv_at(a.v, kv_head_off(a, t, h / a.group) + c, a.f16);
        a.out[idx] = acc;
    }
}

static void attention_naive(struct cuda_ctx *c, const struct attn_args &a)
{
    int64_t s_elems = (int64_t)a.n_heads * a.n_q * a.n_ctx;
    float *S = (float *)cuda_scratch_get(c, &c->scores, sizeof(float) * (size_t)s_elems);
    struct cl_1d ls = cl_eltwise(s_elems), lr = cl_rows(a.n_heads * a.n_q, a.n_ctx);
    struct cl_1d lo = cl_eltwise((int64_t)a.n_q * a.n_heads * a.head_dim);
    k_scores<<<ls.grid, ls.block, 0, c->stream>>>(a, S);
    CUDA_CHECK_LAUNCH(k_scores);
    k_softmax_rows<<<lr.grid, lr.block, 0, c->stream>>>(S, a.n_ctx);
    CUDA_CHECK_LAUNCH(k_softmax_rows);
    k_pv<<<lo.grid, lo.block, 0, c->stream>>>(a, S);
    CUDA_CHECK_LAUNCH(k_pv);
}

/* ---- flash ---- */

#define ROWS_PER_WARP (ATTN_TILE_Q / CL_FLASH_WARPS)
#define DIMS_PER_LANE (CL_FLASH_MAX_D / 32)

/* Cooperative load of keys [t0, t0+nt) of KV head kvh: K rows padded to d+1. */
__device__ static inline void flash_load_kv(const struct attn_args &a, int kvh, int t0, int nt, float *Ks, float *Vs)
{
    const int d = a.head_dim;
    for (int e = threadIdx.x; e < nt * d; e += blockDim.x) {
        int j = e / d, col = e % d;
        int64_t off = cm_kv_slot(a.table, a.block_size, t0 + j) * a.kv_dim + (int64_t)kvh * d + col;
        Ks[j * (d + 1) + col] = kv_at(a.k, off, a.f16);
        Vs[j * d + col] = kv_at(a.v, off, a.f16);
    }
}

/* One row's pass over a K/V tile: scores for keys lane and lane+32, online
 * softmax update, acc += p·V. Warp-uniform control flow throughout. */
__device__ static inline void flash_row_tile(const float *qrow, const float *Ks, const float *Vs, int d, int t0,
                                             int nt, int lim, struct cm_online *st, float *acc)
{
    const int lane = threadIdx.x & 31;
    float s0 = -INFINITY, s1 = -INFINITY;
    if (lane < nt && t0 + lane <= lim) {
        float dot = 0.0f;
        for (int col = 0; col < d; col++) dot += qrow[col] * Ks[lane * (d + 1) + col];
        s0 = dot;
    }
    if (lane + 32 < nt && t0 + lane + 32 <= lim) {
        float dot = 0.0f;
        for (int col = 0; col < d; col++) dot += qrow[col] * Ks[(lane + 32) * (d + 1) + col];
        s1 = dot;
    }
    float alpha = cm_online_rescale(st, warp_max(fmaxf(s0, s1)));
    float p0 = cm_online_weight(st, s0), p1 = cm_online_weight(st, s1);
    st->l += warp_sum(p0 + p1);
#pragma unroll
    for (int jj = 0; jj < DIMS_PER_LANE; jj++) acc[jj] *= alpha;
    for (int j = 0; j < nt; j++) {
        float p = __shfl_sync(CUDA_FULL_MASK, j < 32 ? p0 : p1, j & 31);
#pragma unroll
        for (int jj = 0; jj < DIMS_PER_LANE; jj++) {
            int col = lane + 32 * jj;
            if (col < d) acc[jj] += p * Vs[j * d + col];
        }
    }
}

/* grid (q_tiles, n_kv_heads, n_splits), block 32*CL_FLASH_WARPS, dynamic smem g.smem_bytes.
 * part_acc [splits][heads][n_q][d] and part_ml [splits][heads][n_q][2] when g.n_splits > 1. */
__global__ static void k_flash(struct attn_args a, struct cl_flash g, float *part_acc, float *part_ml)
{
    extern __shared__ float smem[];
    const int d = g.head_dim, qt = blockIdx.x, kvh = blockIdx.y, s = blockIdx.z;
    float *Ks = smem, *Vs = Ks + ATTN_TILE_KV * (d + 1), *Qs = Vs + ATTN_TILE_KV * d;
    int r0, r1, q_last, h_last, k0, k1;
    cl_flash_tile_rows(&g, qt, &r0, &r1);
    cl_flash_row(&g, kvh, r1 - 1, &q_last, &h_last);
    cl_flash_keys(&g, s, q_last, &k0, &k1);

    for (int e = threadIdx.x; e < (r1 - r0) * d; e += blockDim.x) {   /* Q tile, pre-scaled */
        int qi, h, col = e % d;
        cl_flash_row(&g, kvh, r0 + e / d, &qi, &h);
        Qs[e] = a.q[((int64_t)qi * a.n_heads + h) * d + col] * a.scale;
    }
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    struct cm_online st[ROWS_PER_WARP];
    float acc[ROWS_PER_WARP][DIMS_PER_LANE];
#pragma unroll
    for (int rr = 0; rr < ROWS_PER_WARP; rr++) {
        st[rr] = cm_online_init();
#pragma unroll
        for (int jj = 0; jj < DIMS_PER_LANE; jj++) acc[rr][jj] = 0.0f;
    }
    for (int t0 = k0; t0 < k1; t0 += ATTN_TILE_KV) {
        int nt = min(ATTN_TILE_KV, k1 - t0);
        __syncthreads();                 /* the previous tile is consumed (and Q is loaded) */
        flash_load_kv(a, kvh, t0, nt, Ks, Vs);
        __syncthreads();
#pragma unroll
        for (int rr = 0; rr < ROWS_PER_WARP; rr++) {
            int lr = warp * ROWS_PER_WARP + rr, qi, h;
            if (r0 + lr >= r1) continue;
            cl_flash_row(&g, kvh, r0 + lr, &qi, &h);
            flash_row_tile(Qs + lr * d, Ks, Vs, d, t0, nt, a.pos0 + qi, &st[rr], acc[rr]);
        }
    }
#pragma unroll
    for (int rr = 0; rr < ROWS_PER_WARP; rr++) {
        int lr = warp * ROWS_PER_WARP + rr, qi, h;
        if (r0 + lr >= r1) continue;
        cl_flash_row(&g, kvh, r0 + lr, &qi, &h);
        int64_t row = (int64_t)qi * a.n_heads + h;
        int64_t prow = ((int64_t)s * a.n_heads + h) * a.n_q + qi;
        float inv = st[rr].l > 0.0f ? 1.0f / st[rr].l : 0.0f;
#pragma unroll
        for (int jj = 0; jj < DIMS_PER_LANE; jj++) {
            int col = lane + 32 * jj;
            if (col >= d) continue;
            if (g.n_splits == 1) a.out[row * d + col] = acc[rr][jj] * inv;
            else part_acc[prow * d + col] = acc[rr][jj];
        }
        if (g.n_splits > 1 && lane == 0) {
            part_ml[prow * 2] = st[rr].m;
            part_ml[prow * 2 + 1] = st[rr].l;
        }
    }
}

/* One block per (query, head): out = Σ_s w_s acc_s / Σ_s w_s l_s, w_s = exp(m_s - max m). */
__global__ static void k_flash_combine(struct attn_args a, int n_splits, const float *part_acc, const float *part_ml)
{
    const int qi = blockIdx.x / a.n_heads, h = blockIdx.x % a.n_heads, d = a.head_dim;
    const int64_t split_stride = (int64_t)a.n_heads * a.n_q;
    const int64_t prow0 = (int64_t)h * a.n_q + qi;
    float m_all = -INFINITY;
    for (int s = 0; s < n_splits; s++) m_all = fmaxf(m_all, part_ml[(prow0 + s * split_stride) * 2]);
    float den = 0.0f;
    for (int s = 0; s < n_splits; s++) {
        const float *ml = part_ml + (prow0 + s * split_stride) * 2;
        struct cm_online p;
        p.m = ml[0];
        p.l = ml[1];
        den += cm_online_merge_weight(p, m_all) * p.l;
    }
    for (int col = threadIdx.x; col < d; col += blockDim.x) {
        float num = 0.0f;
        for (int s = 0; s < n_splits; s++) {
            const float *ml = part_ml + (prow0 + s * split_stride) * 2;
            struct cm_online p;
            p.m = ml[0];
            p.l = ml[1];
            num += cm_online_merge_weight(p, m_all) * part_acc[(prow0 + s * split_stride) * d + col];
        }
        a.out[((int64_t)qi * a.n_heads + h) * d + col] = num / den;
    }
}

static void flash_allow_smem(struct cuda_ctx *c, size_t bytes)
{
    if (bytes <= 48 * 1024) return;
    if (bytes > c->smem_optin) {
        char msg[128];
        snprintf(msg, sizeof msg, "needs %zu bytes of shared memory per block, device allows %zu", bytes, c->smem_optin);
        cuda_fatal(__FILE__, __LINE__, "attention(flash)", msg);
    }
    CUDA_CHECK(cudaFuncSetAttribute(k_flash, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes));
}

static void attention_flash(struct cuda_ctx *c, const struct attn_args &a, int n_kv_heads)
{
    struct cl_flash g;
    if (cl_flash_plan(&g, a.n_q, a.pos0, a.n_heads, n_kv_heads, a.head_dim, c->sm_count) != 0)
        cuda_fatal(__FILE__, __LINE__, "attention(flash)", "unsupported shape (head_dim must be 1..256)");
    float *part_acc = NULL, *part_ml = NULL;
    if (g.n_splits > 1) {
        size_t rows = (size_t)g.n_splits * a.n_heads * a.n_q;
        part_acc = (float *)cuda_scratch_get(c, &c->partial, sizeof(float) * rows * (a.head_dim + 2));
        part_ml = part_acc + rows * a.head_dim;
    }
    flash_allow_smem(c, g.smem_bytes);
    dim3 grid(g.q_tiles, g.n_kv_heads, g.n_splits);
    k_flash<<<grid, g.threads, g.smem_bytes, c->stream>>>(a, g, part_acc, part_ml);
    CUDA_CHECK_LAUNCH(k_flash);
    if (g.n_splits > 1) {
        k_flash_combine<<<a.n_q * a.n_heads, 128, 0, c->stream>>>(a, g.n_splits, part_acc, part_ml);
        CUDA_CHECK_LAUNCH(k_flash_combine);
    }
}

void cuda_op_attention(struct backend *be, enum attn_impl impl, float *out, const float *q,
                       const struct kv_view *kv, int layer, int n_q, int pos0, const struct attn_shape *sh)
{
    if (n_q <= 0) return;
    if ((int64_t)(pos0 + n_q - 1) / kv->block_size >= kv->n_blocks)
        cuda_fatal(__FILE__, __LINE__, "attention", "context beyond the kv_view's block table");
    if (sh->n_kv_heads <= 0 || sh->n_heads % sh->n_kv_heads != 0 || kv->kv_dim != sh->n_kv_heads * sh->head_dim)
        cuda_fatal(__FILE__, __LINE__, "attention", "n_heads must be a multiple of n_kv_heads and kv_dim = n_kv_heads*head_dim");
    struct cuda_ctx *c = cuda_ctx_of(be);
    if (kv->kv_type != DT_F32 && kv->kv_type != DT_F16)
        cuda_fatal(__FILE__, __LINE__, "attention", "kv_type must be f32 or f16");
    size_t off = (size_t)layer * kv->layer_stride * kv_elem_bytes(kv);
    struct attn_args a;
    a.q = q;
    a.out = out;
    a.k = (const char *)kv->k + off;
    a.v = (const char *)kv->v + off;
    a.f16 = kv->kv_type == DT_F16;
    a.table = cuda_table_to_device(c, kv);
    a.block_size = kv->block_size;
    a.kv_dim = kv->kv_dim;
    a.n_q = n_q;
    a.pos0 = pos0;
    a.n_ctx = pos0 + n_q;
    a.n_heads = sh->n_heads;
    a.group = sh->n_heads / sh->n_kv_heads;
    a.head_dim = sh->head_dim;
    a.scale = sh->scale;
    cuda_op_begin(be);
    if (impl == ATTN_NAIVE) attention_naive(c, a);
    else attention_flash(c, a, sh->n_kv_heads);
    cuda_op_end(be);
}
