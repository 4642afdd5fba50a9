/* kernels/cuda/cuda_xq.cu — matmul of the own quantized formats
 * (kernels/xq_blocks.h) on the GPU: y[m][N] = x[m][K] · Wᵀ.
 *
 * Weight-only formats (int8, int4, fp8): one block of XQ_THREADS per
 * (output row n, x row i); each thread dequantizes a strided slice of the
 * row in registers through xq_weight_elem (the HD function the CPU unit
 * tests check against dtype_decode_row) and the block sums in shared memory.
 * W8A8 / FP8A8: every x row is quantized once (k_xq_act_quant: per-row or one
 * static scale; FP8A8 without a calibrated scale takes one dynamic scale for
 * the whole x, k_absmax), then the dot runs on the codes: int8·int8 in int32
 * (exact), E4M3·E4M3 in f32. Plain CUDA cores on every compute capability:
 * no cuBLASLt FP8 GEMM yet (that needs cc >= 8.9). */
#include "kernels/cuda/cuda_internal.h"

extern "C" {
#include "kernels/xq_blocks.h"
}

#define XQ_THREADS 128

/* Sum of v over the block (blockDim.x == XQ_THREADS). */
__device__ static float block_sum(float v)
{
    __shared__ float part[XQ_THREADS / 32];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = v;
    __syncthreads();
    v = threadIdx.x < XQ_THREADS / 32 ? part[threadIdx.x] : 0.0f;
    if (threadIdx.x < 32)
        for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    return v;
}

__device__ static float block_max(float v)
{
    __shared__ float part[XQ_THREADS / 32];
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, o));
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = v;
    __syncthreads();
    v = threadIdx.x < XQ_THREADS / 32 ? part[threadIdx.x] : 0.0f;
    if (threadIdx.x < 32)
        for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, o));
    return v;
}

__global__ static void k_xq_matvec(float *y, const uint8_t *w, size_t row_bytes, const float *x, int N, int K, int t)
{
    int n = blockIdx.x, i = blockIdx.y;
    const uint8_t *row = w + (size_t)n * row_bytes;
    const float *xi = x + (size_t)i * K;
    float s = 0;
    for (int k = threadIdx.x; k < K; k += XQ_THREADS) s += xq_weight_elem(t, row, k) * xi[k];
    s = block_sum(s);
    if (threadIdx.x == 0) {
        float sc = 1.0f;
        if (xq_has_row_scale(t)) memcpy(&sc, row, sizeof sc);
        y[(size_t)i * N + n] = sc * s;
    }
}

/* max |x| over n elements into *out (one block). */
__global__ static void k_absmax(float *out, const float *x, int64_t n)
{
    float m = 0;
    for (int64_t k = threadIdx.x; k < n; k += XQ_THREADS) m = fmaxf(m, fabsf(x[k]));
    m = block_max(m);
    if (threadIdx.x == 0) *out = m;
}

/* Row i of x → [f32 scale][K codes] at q + i*(4+K). scale: *fixed when
 * fixed != NULL (per tensor), else this row's max / qmax (per token). */
__global__ static void k_xq_act_quant(uint8_t *q, const float *x, int K, int t, float static_scale, const float *tensor_max)
{
    int i = blockIdx.x;
    const float *xi = x + (size_t)i * K;
    uint8_t *row = q + (size_t)i * (XQ_ROW_HDR + K);
    float qmax = t == DT_F8A8 ? FP8_E4M3_MAX : (float)XQ_I8_MAX;
    __shared__ float scale;
    if (static_scale > 0) {
        if (threadIdx.x == 0) scale = static_scale;
    } else if (tensor_max) {
        if (threadIdx.x == 0) scale = *tensor_max > 0 ? *tensor_max / qmax : 1.0f;
    } else {
        float m = 0;
        for (int k = threadIdx.x; k < K; k += XQ_THREADS) m = fmaxf(m, fabsf(xi[k]));
        m = block_max(m);
        if (threadIdx.x == 0) scale = m > 0 ? m / qmax : 1.0f;
    }
    __syncthreads();
    float s = scale;
    for (int k = threadIdx.x; k < K; k += XQ_THREADS)
        row[XQ_ROW_HDR + k] = t == DT_F8A8 ? fp8_e4m3_from_f32(xi[k] / s) : (uint8_t)xq_round_i8(xi[k], s);
    if (threadIdx.x == 0) memcpy(row, &s, sizeof s);
}

__global__ static void k_xq_act_dot(float *y, const uint8_t *w, size_t row_bytes, const uint8_t *q, int N, int K, int t)
{
    int n = blockIdx.x, i = blockIdx.y;
    const uint8_t *wr = w + (size_t)n * row_bytes, *qr = q + (size_t)i * (XQ_ROW_HDR + K);
    float s = 0;
    if (t == DT_W8A8) {
        int32_t acc = 0;      /* exact: |w|, |a| <= 127 */
        for (int k = threadIdx.x; k < K; k += XQ_THREADS)
            acc += (int32_t)(int8_t)wr[XQ_ROW_HDR + k] * (int32_t)(int8_t)qr[XQ_ROW_HDR + k];
        s = (float)acc;
    } else {
        for (int k = threadIdx.x; k < K; k += XQ_THREADS)
            s += fp8_e4m3_to_f32(wr[XQ_ROW_HDR + k]) * fp8_e4m3_to_f32(qr[XQ_ROW_HDR + k]);
    }
    s = block_sum(s);
    if (threadIdx.x == 0) {
        float ws, as;
        memcpy(&ws, wr, sizeof ws);
        memcpy(&as, qr, sizeof as);
        y[(size_t)i * N + n] = ws * as * s;
    }
}

void cuda_xq_matmul(struct backend *be, float *y, const struct weight *w, const float *x, int m)
{
    struct cuda_ctx *c = cuda_ctx_of(be);
    const int N = w->rows, K = w->cols, t = w->dev_type;
    const size_t rb = dtype_row_bytes(w->dev_type, K);
    const uint8_t *wd = (const uint8_t *)w->dev;
    dim3 grid((unsigned)N, (unsigned)m);
    cuda_op_begin(be);
    if (!dtype_quantizes_act(w->dev_type)) {
        k_xq_matvec<<<grid, XQ_THREADS, 0, c->stream>>>(y, wd, rb, x, N, K, t);
        CUDA_CHECK_LAUNCH(k_xq_matvec);
        cuda_op_end(be);
        return;
    }
    size_t act = ((size_t)m * (XQ_ROW_HDR + (size_t)K) + 15) / 16 * 16;   /* tmax float-aligned after it */
    uint8_t *q = (uint8_t *)cuda_scratch_get(c, &c->act16, act + sizeof(float));
    float *tmax = NULL;
    if (t == DT_F8A8 && !(w->act_scale > 0)) {       /* one dynamic scale for the whole x */
        tmax = (float *)(q + act);
        k_absmax<<<1, XQ_THREADS, 0, c->stream>>>(tmax, x, (int64_t)m * K);
        CUDA_CHECK_LAUNCH(k_absmax);
    }
    k_xq_act_quant<<<(unsigned)m, XQ_THREADS, 0, c->stream>>>(q, x, K, t, w->act_scale, tmax);
    CUDA_CHECK_LAUNCH(k_xq_act_quant);
    k_xq_act_dot<<<grid, XQ_THREADS, 0, c->stream>>>(y, wd, rb, q, N, K, t);
    CUDA_CHECK_LAUNCH(k_xq_act_dot);
    cuda_op_end(be);
}
