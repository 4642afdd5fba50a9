/* kernels/cuda/cuda_matmul.cu — y[m][N] = x[m][K] · Wᵀ through cuBLAS.
 *
 * Row-major W[N][K] is column-major Wᵀ with leading dimension K, so cuBLAS
 * computes y (column-major N×m, ld N = row-major [m][N]) as op(A)=Wᵀ (CUBLAS_OP_T
 * on the K×N matrix) times x (column-major K×m). f32 weights run in f32
 * (no TF32, matching the CPU to float rounding); f16/bf16 weights take the
 * activations converted to the same 16-bit type on the device, accumulate
 * in f32 (CUBLAS_COMPUTE_32F) and write f32. */
#include "kernels/cuda/cuda_internal.h"
#include "kernels/cuda/cuda_launch.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdio.h>

__global__ static void k_f32_to_f16(__half *y, const float *x, int64_t n)
{
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        y[i] = __float2half_rn(x[i]);
}

__global__ static void k_f32_to_bf16(__nv_bfloat16 *y, const float *x, int64_t n)
{
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        y[i] = __float2bfloat16_rn(x[i]);
}

/* x [m][K] f32 → the scratch act16 buffer in `t` (f16 or bf16). */
static const void *activations_to_16bit(struct cuda_ctx *c, const float *x, int64_t n, enum dtype t)
{
    void *d = cuda_scratch_get(c, &c->act16, sizeof(uint16_t) * (size_t)n);
    struct cl_1d l = cl_eltwise(n);
    if (t == DT_F16) {
        k_f32_to_f16<<<l.grid, l.block, 0, c->stream>>>((__half *)d, x, n);
        CUDA_CHECK_LAUNCH(k_f32_to_f16);
    } else {
        k_f32_to_bf16<<<l.grid, l.block, 0, c->stream>>>((__nv_bfloat16 *)d, x, n);
        CUDA_CHECK_LAUNCH(k_f32_to_bf16);
    }
    return d;
}

static cudaDataType_t cuda_type_of(enum dtype t)
{
    return t == DT_F16 ? CUDA_R_16F : t == DT_BF16 ? CUDA_R_16BF : CUDA_R_32F;
}

void cuda_op_matmul(struct backend *be, float *y, const struct weight *w, const float *x, int m)
{
    if (m <= 0) return;
    /* backend_upload_weight gave every weight a device copy in a format
     * cuda_supports accepts; reaching either branch is a caller's bug */
    if (!w->dev) cuda_fatal(__FILE__, __LINE__, "matmul", "weight used before backend_upload_weight");
    const enum dtype wt = w->dev_type;
    if (dtype_is_sparse24(wt)) { cuda_op_matmul_s24(be, y, w, x, m); return; }
    if (dtype_is_xq(wt)) { cuda_xq_matmul(be, y, w, x, m); return; }
    if (dtype_is_quant(wt)) { cuda_qdot_matmul(be, y, w, x, m); return; }
    if (wt != DT_F32 && wt != DT_F16 && wt != DT_BF16) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s: device copy is %s, which has no CUDA matmul (not uploaded through backend_upload_weight?)",
                 w->name, dtype_info(wt)->name);
        cuda_fatal(__FILE__, __LINE__, "matmul", msg);
    }
    struct cuda_ctx *c = cuda_ctx_of(be);
    const int N = w->rows, K = w->cols;
    const float alpha = 1.0f, beta = 0.0f;
    cuda_op_begin(be);
    const void *xb = wt == DT_F32 ? (const void *)x : activations_to_16bit(c, x, (int64_t)m * K, wt);
    cudaDataType_t t = cuda_type_of(wt);
    CUBLAS_CHECK(cublasGemmEx(c->cublas, CUBLAS_OP_T, CUBLAS_OP_N, N, m, K, &alpha, w->dev, t, K, xb, t, K,
                              &beta, y, CUDA_R_32F, N, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    cuda_op_end(be);
}
