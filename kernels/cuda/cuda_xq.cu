/* kernels/cuda/cuda_xq.cu — matmul of the own quantized formats
 * (kernels/xq_blocks.h) on the GPU: y[m][N] = x[m][K] · Wᵀ.
 *
 * Weight-only formats (int8, int4, fp8): one block of XQ_THREADS per
 * (output row n, x row i); each thread dequantizes a strided slice of the
 * row in registers through xq_weight_elem (the HD function the CPU unit
 * tests check against dtype_decode_row) and the block sums in shared memory.
 * W8A8 / FP8A8: every x row is quantized once (k_xq_act_quant: per-row or one
 * static scale; FP8A8 without a calibrated scale takes one dynamic scale for
 * the whole x from k_absmax), then the dot runs on the codes: int8·int8 in
 * int32 (exact), E4M3·E4M3 in f32, plain CUDA cores on every compute
 * capability (k_xq_act_dot).
 * FP8A8 with m >= 16 and N, K multiples of 16 on compute capability >= 8.9
 * (sm_89 / sm_90) instead runs cuBLASLt's FP8 E4M3 GEMM on tensor cores: the
 * x codes go to a dense [m_pad][K] buffer (zero rows to a multiple of 16), the
 * GEMM writes the raw f32 sums, and a column-scale epilogue multiplies by
 * ws[n]·a (cuda_fp8lt.cu; the rules and the reasons for each fallback are in
 * cuda_fp8_plan.h). On older devices the backend notes once
 * "fp8a8: cuBLASLt FP8 GEMM not supported on sm_80 (needs sm_89+); using the
 * fp8a8 CUDA kernels". fp8a8 weights sit on the device in the split layout
 * (codes [N][K], then scales [N]) on every device, so both paths read one copy.
 * Not yet run on a GPU (README, GPU status). */
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

/* max |x| over n elements into *out, which the caller zeroed: each block
 * reduces a grid-stride slice, then an integer atomicMax on the f32 bits
 * (non-negative floats order as their bits; NaN is dropped by fmaxf). Exact,
 * so the scale is the CPU's whatever the block order. */
__global__ static void k_absmax(unsigned *out, const float *x, int64_t n)
{
    float m = 0;
    for (int64_t k = (int64_t)blockIdx.x * XQ_THREADS + threadIdx.x; k < n; k += (int64_t)gridDim.x * XQ_THREADS)
        m = fmaxf(m, fabsf(x[k]));
    m = block_max(m);
    if (threadIdx.x == 0) atomicMax(out, __float_as_uint(m));
}

/* *tmax = max |x[0 .. n)|, on the stream: about 32 elements per thread, at
 * most 1024 blocks. */
static void absmax(struct cuda_ctx *c, float *tmax, const float *x, int64_t n)
{
    int64_t per_block = (int64_t)XQ_THREADS * 32, blocks = (n + per_block - 1) / per_block;
    CUDA_CHECK(cudaMemsetAsync(tmax, 0, sizeof *tmax, c->stream));
    k_absmax<<<(unsigned)(blocks < 1024 ? blocks : 1024), XQ_THREADS, 0, c->stream>>>((unsigned *)tmax, x, n);
    CUDA_CHECK_LAUNCH(k_absmax);
}

/* Row i of x → K codes at q + i*row_stride + hdr, and with hdr > 0 its f32
 * scale in front (the CPU's [scale][codes] rows; hdr 0 is the FP8 GEMM's
 * dense B). scale: static_scale when > 0, else FP8A8's tensor scale from
 * *tensor_max (f8lt_act_scale), else this row's max / 127 (W8A8 per token). */
__global__ static void k_xq_act_quant(uint8_t *q, const float *x, int K, int t, float static_scale,
                                      const float *tensor_max, size_t row_stride, int hdr)
{
    int i = blockIdx.x;
    const float *xi = x + (size_t)i * K;
    uint8_t *row = q + (size_t)i * row_stride;
    float qmax = t == DT_F8A8 ? FP8_E4M3_MAX : (float)XQ_I8_MAX;
    __shared__ float scale;
    if (static_scale > 0) {
        if (threadIdx.x == 0) scale = static_scale;
    } else if (tensor_max) {
        if (threadIdx.x == 0) scale = f8lt_act_scale(0, *tensor_max);
    } else {
        float m = 0;
        for (int k = threadIdx.x; k < K; k += XQ_THREADS) m = fmaxf(m, fabsf(xi[k]));
        m = block_max(m);
        if (threadIdx.x == 0) scale = m > 0 ? m / qmax : 1.0f;
    }
    __syncthreads();
    float s = scale;
    for (int k = threadIdx.x; k < K; k += XQ_THREADS)
        row[hdr + k] = t == DT_F8A8 ? f8lt_encode(xi[k], s) : (uint8_t)xq_round_i8(xi[k], s);
    if (threadIdx.x == 0 && hdr > 0) memcpy(row, &s, sizeof s);
}

/* y[i][n] from weight row n (codes and scale where wl says: the row layout
 * for W8A8, the split one for FP8A8) and x row i's [scale][codes]. */
__global__ static void k_xq_act_dot(float *y, const uint8_t *w, struct f8lt_wlayout wl, const uint8_t *q, int N,
                                    int K, int t)
{
    int n = blockIdx.x, i = blockIdx.y;
    const uint8_t *wc = w + wl.codes_off + (size_t)n * wl.code_stride, *qr = q + (size_t)i * (XQ_ROW_HDR + K);
    float s = 0;
    if (t == DT_W8A8) {
        int32_t acc = 0;      /* exact: |w|, |a| <= 127 */
        for (int k = threadIdx.x; k < K; k += XQ_THREADS)
            acc += (int32_t)(int8_t)wc[k] * (int32_t)(int8_t)qr[XQ_ROW_HDR + k];
        s = (float)acc;
    } else {
        for (int k = threadIdx.x; k < K; k += XQ_THREADS)
            s += fp8_e4m3_to_f32(wc[k]) * fp8_e4m3_to_f32(qr[XQ_ROW_HDR + k]);
    }
    s = block_sum(s);
    if (threadIdx.x == 0) {
        float ws, as;
        memcpy(&ws, w + wl.scale_off + (size_t)n * wl.scale_stride, sizeof ws);
        memcpy(&as, qr, sizeof as);
        y[(size_t)i * N + n] = ws * as * s;
    }
}

/* FP8A8 through cuBLASLt (plan p says gemm): x codes into dense rows, the
 * GEMM, the column-scale epilogue. false, with nothing launched, when
 * cuBLASLt has no algorithm for the shape (the kernels then run it). */
static bool f8a8_gemm(struct backend *be, const struct f8lt_plan *p, float *y, const struct weight *w, const float *x)
{
    struct cuda_ctx *c = cuda_ctx_of(be);
    cublasLtMatmulAlgo_t algo;
    if (!cuda_f8lt_algo(be, p, &algo)) return false;
    const struct f8lt_wlayout wl = f8lt_wlayout_split(p->N, p->K);
    const uint8_t *wd = (const uint8_t *)w->dev;
    uint8_t *sc = (uint8_t *)cuda_scratch_get(c, &c->act16, p->scratch_bytes);
    float *tmax = NULL;
    cuda_op_begin(be);
    if (!(w->act_scale > 0)) {
        tmax = (float *)(sc + p->tmax_off);
        absmax(c, tmax, x, (int64_t)p->m * p->K);
    }
    k_xq_act_quant<<<(unsigned)p->m, XQ_THREADS, 0, c->stream>>>(sc, x, p->K, DT_F8A8, w->act_scale, tmax,
                                                                  (size_t)p->K, 0);
    CUDA_CHECK_LAUNCH(k_xq_act_quant);
    if (p->m_pad > p->m)               /* zero codes: the padding rows' sums are 0 and never read */
        CUDA_CHECK(cudaMemsetAsync(sc + (size_t)p->m * p->K, 0, (size_t)(p->m_pad - p->m) * p->K, c->stream));
    float *D = p->d_in_place ? y : (float *)(sc + p->acc_off);
    cuda_f8lt_gemm(c, p, &algo, D, wd + wl.codes_off, sc);
    cuda_f8lt_epilogue(c, y, D, (const float *)(wd + wl.scale_off), w->act_scale, tmax, p->m, p->N);
    cuda_op_end(be);
    c->f8lt_calls++;
    return true;
}

void cuda_xq_matmul(struct backend *be, float *y, const struct weight *w, const float *x, int m)
{
    struct cuda_ctx *c = cuda_ctx_of(be);
    const int N = w->rows, K = w->cols, t = w->dev_type;
    const size_t rb = dtype_row_bytes(w->dev_type, K);
    const uint8_t *wd = (const uint8_t *)w->dev;
    dim3 grid((unsigned)N, (unsigned)m);
    if (t == DT_F8A8) {
        struct f8lt_plan p;
        f8lt_plan_make(&p, c->cc_major, c->cc_minor, c->f8lt_on, m, N, K, (uintptr_t)y);
        if (p.gemm && f8a8_gemm(be, &p, y, w, x)) return;
    }
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
        absmax(c, tmax, x, (int64_t)m * K);
    }
    k_xq_act_quant<<<(unsigned)m, XQ_THREADS, 0, c->stream>>>(q, x, K, t, w->act_scale, tmax, XQ_ROW_HDR + (size_t)K,
                                                              XQ_ROW_HDR);
    CUDA_CHECK_LAUNCH(k_xq_act_quant);
    const struct f8lt_wlayout wl = t == DT_F8A8 ? f8lt_wlayout_split(N, K) : f8lt_wlayout_rows(N, K, rb);
    k_xq_act_dot<<<grid, XQ_THREADS, 0, c->stream>>>(y, wd, wl, q, N, K, t);
    CUDA_CHECK_LAUNCH(k_xq_act_dot);
    cuda_op_end(be);
}
