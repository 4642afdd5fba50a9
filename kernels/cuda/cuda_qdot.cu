/* kernels/cuda/cuda_qdot.cu — y[m][N] = x[m][K] · Wᵀ for W in ggml's block
 * formats (Q8_0, Q4_0, Q4_1, Q4_K, Q6_K), read in place from the GGUF bytes.
 *
 *   k_qd_act:  every x row quantized once to int8 blocks (qd_act32 / qd_act256,
 *              cuda_qdot.h), one thread per (row, block), into the qact scratch
 *              [m][K / block] blocks.
 *   k_qd_dot:  one warp per output row n and CL_QDOT_MROWS x rows; lane l takes
 *              weight blocks l, l+32, ...: codes unpacked in registers, dp4a
 *              dots against each x row's codes, scales applied per block
 *              (qd_block_dot, the function the CPU tests check); a shuffle sum.
 * Only the quantized weight bytes cross HBM (4.5-6.6 bits per weight instead
 * of the f16 copy's 16). Launch geometry: cl_qdot_plan (cuda_launch.c). */
#include "kernels/cuda/cuda_internal.h"
#include "kernels/cuda/cuda_launch.h"

extern "C" {
#include "kernels/cuda/cuda_qdot.h"
}

#include <stdio.h>

__global__ static void k_qd_act(uint8_t *act, const float *x, int m, int K, int t)
{
    const int nb = K / qd_block_elems(t);
    const size_t act_row = (size_t)nb * (size_t)qd_act_bytes(t);
    for (int64_t g = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; g < (int64_t)m * nb;
         g += (int64_t)gridDim.x * blockDim.x) {
        int i = (int)(g / nb), b = (int)(g % nb);
        qd_act_block(t, x + (size_t)i * K, act + (size_t)i * act_row, b);
    }
}

__global__ static void k_qd_dot(float *y, const uint8_t *w, size_t row_bytes, const uint8_t *act, int m, int N,
                                int K, int t)
{
    const int n = cl_qdot_row(blockIdx.x, threadIdx.x / 32), lane = threadIdx.x % 32;
    int i0, i1;
    cl_qdot_xrows(blockIdx.y, m, &i0, &i1);
    if (n >= N) return;
    const int nb = K / qd_block_elems(t);
    const size_t act_row = (size_t)nb * (size_t)qd_act_bytes(t);
    const uint8_t *wr = w + (size_t)n * row_bytes;
    float s[CL_QDOT_MROWS] = {0.f};
    for (int b = lane; b < nb; b += 32)
        for (int r = 0; r < i1 - i0; r++) s[r] += qd_block_dot(t, wr, act + (size_t)(i0 + r) * act_row, b);
    for (int r = 0; r < i1 - i0; r++) {
        float v = warp_sum(s[r]);
        if (lane == 0) y[(size_t)(i0 + r) * N + n] = v;
    }
}

void cuda_qdot_matmul(struct backend *be, float *y, const struct weight *w, const float *x, int m)
{
    struct cuda_ctx *c = cuda_ctx_of(be);
    const int N = w->rows, K = w->cols, t = w->dev_type;
    const int nb = K / qd_block_elems(t);
    const struct cl_qdot g = cl_qdot_plan(N, m, nb);
    if (g.grid_y > 65535u) cuda_fatal(__FILE__, __LINE__, "qdot matmul", "too many x rows for one launch");
    const size_t act_bytes = (size_t)m * (size_t)nb * (size_t)qd_act_bytes(t);
    uint8_t *act = (uint8_t *)cuda_scratch_get(c, &c->qact, act_bytes);
    cuda_op_begin(be);
    k_qd_act<<<g.act.grid, g.act.block, 0, c->stream>>>(act, x, m, K, t);
    CUDA_CHECK_LAUNCH(k_qd_act);
    k_qd_dot<<<dim3(g.grid_x, g.grid_y), g.block, 0, c->stream>>>(y, (const uint8_t *)w->dev,
                                                                  dtype_row_bytes(w->dev_type, K), act, m, N, K, t);
    CUDA_CHECK_LAUNCH(k_qd_dot);
    cuda_op_end(be);
}
