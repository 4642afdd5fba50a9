/* kernels/cuda/cuda_sparse.cu — y[m][N] = x[m][K] · Wᵀ for 2:4 sparse W
 * (s24_f16 / s24_f32 / s24_q8, layout in kernels/sparse24.h), read in place:
 * only the kept values and their 2-bit positions cross HBM.
 *
 *   matvec (s24_f16 at m = 1, s24_f32 at any m): one warp per output row,
 *     lane l takes blocks l, l+32, ... (sparse24_block_dot), a shuffle
 *     reduction; x rows are read through the cache.
 *   s24_q8 (any m), int8 activations as on the CPU: every x row quantized
 *     once per matmul (k_s24q8_act_quant: a thread per 16-element block,
 *     sparse24_act_block, the CPU scalar quantizer's code and bytes), then
 *     the warp-per-row matvec of exact integer block dots
 *     (sparse24_q8_block_idot) scaled by d_w·d_x (sparse24_q8_block_term).
 *   sparse tensor cores (s24_f16, m > 1): mma.sp::ordered_metadata m16n8k16
 *     (sm_80+; our metadata is ordered: first index < second). A warp
 *     owns a 16-row × 8-token tile of Yᵀ and walks K one 16-element block at
 *     a time: the 16 rows' blocks are the A fragments and metadata as stored
 *     (sparse24_mma_a / _e: the block meta is the row's mma.sp metadata), x
 *     converted to f16 is B. Fragment bookkeeping is kernels/sparse24_tile.h,
 *     checked on the CPU against the instruction's definition.
 * Compiled for sm_80 and sm_90 (Makefile); not run on this machine's CI. */
#include "kernels/cuda/cuda_internal.h"
#include "kernels/sparse24_tile.h"

#include <cuda_fp16.h>
#include <stdio.h>

#define MV_WARPS 8   /* rows per matvec block */

__global__ static void k_s24_matvec(float *y, const unsigned char *w, size_t row_bytes, const float *x, int m,
                                    int N, int K, int t)
{
    int row = blockIdx.x * MV_WARPS + threadIdx.x / 32, lane = threadIdx.x % 32, tok = blockIdx.y;
    if (row >= N || tok >= m) return;
    const unsigned char *wr = w + (size_t)row * row_bytes;
    const float *xr = x + (size_t)tok * K;
    int bb = sparse24_block_bytes(t);
    float s = 0.f;
    for (int b = lane; b < K / S24_BLOCK; b += 32) s += sparse24_block_dot(t, wr + (size_t)b * bb, xr + b * S24_BLOCK);
    for (int o = 16; o > 0; o >>= 1) s += __shfl_down_sync(0xffffffffu, s, o);
    if (lane == 0) y[(size_t)tok * N + row] = s;
}

/* x[m][K] → m activation rows of sparse24_act_bytes(K) bytes at q (layout in
 * kernels/sparse24_tile.h); thread = one 16-element block of row blockIdx.y. */
__global__ static void k_s24q8_act_quant(uint8_t *q, const float *x, int K)
{
    int b = blockIdx.x * blockDim.x + threadIdx.x, tok = blockIdx.y;
    if (b >= K / S24_BLOCK) return;
    uint8_t *xu = q + (size_t)tok * sparse24_act_bytes(K);
    float *dd = (float *)(xu + K);
    float d = sparse24_act_block(x + (size_t)tok * K + (size_t)b * S24_BLOCK, xu + (size_t)b * S24_BLOCK);
    dd[2 * b] = dd[2 * b + 1] = d;
}

__global__ static void k_s24q8_act_matvec(float *y, const unsigned char *w, size_t row_bytes, const uint8_t *q,
                                          int m, int N, int K)
{
    int row = blockIdx.x * MV_WARPS + threadIdx.x / 32, lane = threadIdx.x % 32, tok = blockIdx.y;
    if (row >= N || tok >= m) return;
    const unsigned char *wr = w + (size_t)row * row_bytes;
    const uint8_t *xu = q + (size_t)tok * sparse24_act_bytes(K);
    const float *dd = (const float *)(xu + K);
    float s = 0.f;
    for (int b = lane; b < K / S24_BLOCK; b += 32) {
        const unsigned char *blk = wr + (size_t)b * S24_Q8_BLOCK_BYTES;
        s += sparse24_q8_block_term(blk, dd[2 * b], sparse24_q8_block_idot(blk, xu + (size_t)b * S24_BLOCK));
    }
    for (int o = 16; o > 0; o >>= 1) s += __shfl_down_sync(0xffffffffu, s, o);
    if (lane == 0) y[(size_t)tok * N + row] = s;
}

/* s24_q8: quantize x into the qact scratch, then the integer matvec. */
static void s24q8_matmul(struct cuda_ctx *c, float *y, const struct weight *w, const float *x, int m)
{
    const int N = w->rows, K = w->cols, nb = K / S24_BLOCK;
    uint8_t *q = (uint8_t *)cuda_scratch_get(c, &c->qact, (size_t)m * sparse24_act_bytes(K));
    dim3 qgrid((unsigned)((nb + 127) / 128), (unsigned)m);
    k_s24q8_act_quant<<<qgrid, 128, 0, c->stream>>>(q, x, K);
    CUDA_CHECK_LAUNCH(k_s24q8_act_quant);
    dim3 grid((unsigned)((N + MV_WARPS - 1) / MV_WARPS), (unsigned)m);
    k_s24q8_act_matvec<<<grid, 32 * MV_WARPS, 0, c->stream>>>(y, (const unsigned char *)w->dev,
                                                              dtype_row_bytes(DT_S24_Q8, K), q, m, N, K);
    CUDA_CHECK_LAUNCH(k_s24q8_act_matvec);
}

/* B fragment for tokens tok0..tok0+7 at k0: f16 pairs (k, k+1) of token gid. */
__device__ static inline void mma_b(const float *x, int m, int K, int tok0, int k0, int lane, uint32_t b[2])
{
    int tok = tok0 + (lane >> 2);
    for (int r = 0; r < 2; r++) {
        float v0 = 0.f, v1 = 0.f;
        if (tok < m) {
            const float *xr = x + (size_t)tok * K + k0;
            v0 = xr[sparse24_mma_b_k(lane, 2 * r)];
            v1 = xr[sparse24_mma_b_k(lane, 2 * r + 1)];
        }
        __half2 h = __floats2half2_rn(v0, v1);
        memcpy(&b[r], &h, sizeof b[r]);
    }
}

/* One warp: rows n0..n0+15 × tokens tok0..tok0+7 of y. */
__global__ static void k_s24_mma(float *y, const unsigned char *w, size_t row_bytes, const float *x, int m, int N,
                                 int K)
{
    int lane = threadIdx.x % 32, warp = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    int tiles_n = (N + 15) / 16, n0 = (warp % tiles_n) * 16, tok0 = (warp / tiles_n) * 8;
    if (tok0 >= m) return;
    int r_lo = n0 + (lane >> 2), r_hi = r_lo + 8;
    /* rows past N read row N-1 (their results are dropped) so every lane
     * takes part in the warp-wide instruction */
    const unsigned char *wlo = w + (size_t)min(r_lo, N - 1) * row_bytes;
    const unsigned char *whi = w + (size_t)min(r_hi, N - 1) * row_bytes;
    float d[4] = {0.f, 0.f, 0.f, 0.f};
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    for (int kb = 0; kb < K / S24_BLOCK; kb++) {
        const unsigned char *blo = wlo + (size_t)kb * S24_F16_BLOCK_BYTES, *bhi = whi + (size_t)kb * S24_F16_BLOCK_BYTES;
        uint32_t a[2], b[2];
        sparse24_mma_a(blo, bhi, lane, a);
        uint32_t e = sparse24_mma_e(blo, bhi);
        mma_b(x, m, K, tok0, kb * S24_BLOCK, lane, b);
        asm volatile("mma.sp::ordered_metadata.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
                     "{%0, %1, %2, %3}, {%4, %5}, {%6, %7}, {%0, %1, %2, %3}, %8, 0x0;\n"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(b[0]), "r"(b[1]), "r"(e));
    }
#endif
    for (int i = 0; i < 4; i++) {
        int row = n0 + sparse24_mma_d_row(lane, i), tok = tok0 + sparse24_mma_d_n(lane, i);
        if (row < N && tok < m) y[(size_t)tok * N + row] = d[i];
    }
}

void cuda_op_matmul_s24(struct backend *be, float *y, const struct weight *w, const float *x, int m)
{
    struct cuda_ctx *c = cuda_ctx_of(be);
    const int N = w->rows, K = w->cols, t = (int)w->dev_type;
    const size_t rb = dtype_row_bytes(w->dev_type, K);
    cuda_op_begin(be);
    if (w->dev_type == DT_S24_Q8) s24q8_matmul(c, y, w, x, m);
    else if (m == 1 || w->dev_type != DT_S24_F16) {
        dim3 grid((unsigned)((N + MV_WARPS - 1) / MV_WARPS), (unsigned)m);
        k_s24_matvec<<<grid, 32 * MV_WARPS, 0, c->stream>>>(y, (const unsigned char *)w->dev, rb, x, m, N, K, t);
        CUDA_CHECK_LAUNCH(k_s24_matvec);
    } else {
        int warps = ((N + 15) / 16) * ((m + 7) / 8), per_block = 4;
        k_s24_mma<<<(unsigned)((warps + per_block - 1) / per_block), 32 * per_block, 0, c->stream>>>(
            y, (const unsigned char *)w->dev, rb, x, m, N, K);
        CUDA_CHECK_LAUNCH(k_s24_mma);
    }
    cuda_op_end(be);
}
