/* kernels/cuda/cuda_sample.cu — device sampling: logits [rows][vocab] on the
 * device → one token id per row, so a decode step downloads rows × 4 bytes
 * instead of rows × vocab × 4 (the logits stay on the device, downloadable
 * for eval). Selection math: kernels/sample_select.h (checked on the CPU against
 * core/model/sampler.c).
 *
 *   greedy:  k_argmax, one block per row, (value, id) block reduction with
 *            ties to the lowest id.
 *   sampled: k_sort_rows, one block per row: max logit, scaled candidates into
 *            the scratch [rows][pow2(vocab)] (sentinels after vocab), a bitonic
 *            sort in place (global memory; __syncthreads orders each stage);
 *            then thread 0 walks the sorted prefix (cs_pick_sorted) with the
 *            row's uniform u, drawn on the host by the sampler's own RNG so the
 *            token sequence is the CPU's for the same seed.
 * First version: the full sort costs log²(vocab) passes over 0.5 MB per row;
 * a radix select of the top-k would be cheaper (not measured: no GPU yet). */
#include "kernels/cuda/cuda_internal.h"
#include "kernels/cuda/cuda_backend.h"

extern "C" {
#include "kernels/sample_select.h"
}

#include <stdint.h>

#define CS_THREADS 1024

/* (value, id) maximum over the block; every thread gets it. */
__device__ static struct cs_cand block_argmax(struct cs_cand v)
{
    __shared__ struct cs_cand part[32];
    __shared__ struct cs_cand total;
    for (int o = 16; o > 0; o >>= 1) {
        struct cs_cand w;
        w.p = __shfl_xor_sync(CUDA_FULL_MASK, v.p, o);
        w.id = __shfl_xor_sync(CUDA_FULL_MASK, v.id, o);
        v = cs_max(v, w);
    }
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    __syncthreads();
    if (lane == 0) part[wid] = v;
    __syncthreads();
    if (wid == 0) {
        struct cs_cand w = lane < nw ? part[lane] : part[0];
        for (int o = 16; o > 0; o >>= 1) {
            struct cs_cand x;
            x.p = __shfl_xor_sync(CUDA_FULL_MASK, w.p, o);
            x.id = __shfl_xor_sync(CUDA_FULL_MASK, w.id, o);
            w = cs_max(w, x);
        }
        if (lane == 0) total = w;
    }
    __syncthreads();
    return total;
}

__device__ static struct cs_cand row_argmax(const float *row, int vocab)
{
    struct cs_cand best = {-INFINITY, INT32_MAX};
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        struct cs_cand c = {row[i], i};
        best = cs_max(best, c);
    }
    return block_argmax(best);
}

__global__ static void k_argmax(int32_t *ids, const float *logits, int vocab)
{
    struct cs_cand b = row_argmax(logits + (size_t)blockIdx.x * vocab, vocab);
    if (threadIdx.x == 0) ids[blockIdx.x] = b.id;
}

__global__ static void k_sort_rows(int32_t *ids, struct cs_cand *scratch, const float *logits, int vocab, int n2,
                                   float temperature, int top_k, float top_p, const double *u)
{
    const float *row = logits + (size_t)blockIdx.x * vocab;
    struct cs_cand *c = scratch + (size_t)blockIdx.x * n2;
    float mx = row_argmax(row, vocab).p;
    for (int i = threadIdx.x; i < n2; i += blockDim.x) {
        struct cs_cand s = {-INFINITY, INT32_MAX};
        if (i < vocab) { s.p = cs_scaled(row[i], mx, temperature); s.id = i; }
        c[i] = s;
    }
    __syncthreads();
    for (int k = 2; k <= n2; k <<= 1)
        for (int j = k >> 1; j > 0; j >>= 1) {
            for (int t = threadIdx.x; t < n2 / 2; t += blockDim.x) {
                int lo, hi;
                cs_bitonic_pair(t, j, &lo, &hi);
                struct cs_cand a = c[lo], b = c[hi];
                if (cs_bitonic_swap(a, b, lo, k)) { c[lo] = b; c[hi] = a; }
            }
            __syncthreads();
        }
    if (threadIdx.x == 0) ids[blockIdx.x] = cs_pick_sorted(c, vocab, top_k, top_p, u[blockIdx.x]);
}

/* The sample hook (kernels/backend.h). Runs after the step's graph, if any:
 * only the ids come back; synchronizes the stream. */
int cuda_op_sample(struct backend *be, int32_t *ids, const float *logits, int rows, int vocab,
                   const struct sample_params *sp, const double *u)
{
    struct cuda_ctx *c = cuda_ctx_of(be);
    if (rows <= 0) return 0;
    CUDA_CHECK(cudaSetDevice(c->device));
    int32_t *d_ids = (int32_t *)cuda_scratch_get(c, &c->sample_ids, sizeof(int32_t) * (size_t)rows);
    if (sp->temperature <= 0) {
        k_argmax<<<(unsigned)rows, CS_THREADS, 0, c->stream>>>(d_ids, logits, vocab);
        CUDA_CHECK_LAUNCH(k_argmax);
    } else {
        int n2 = cs_pow2(vocab);
        struct cs_cand *cand = (struct cs_cand *)cuda_scratch_get(c, &c->sample_sort, sizeof(struct cs_cand) * (size_t)rows * n2);
        double *d_u = (double *)cuda_scratch_get(c, &c->sample_u, sizeof(double) * (size_t)rows);
        CUDA_CHECK(cudaMemcpyAsync(d_u, u, sizeof(double) * (size_t)rows, cudaMemcpyHostToDevice, c->stream));
        k_sort_rows<<<(unsigned)rows, CS_THREADS, 0, c->stream>>>(d_ids, cand, logits, vocab, n2, sp->temperature,
                                                                 sp->top_k, sp->top_p, d_u);
        CUDA_CHECK_LAUNCH(k_sort_rows);
    }
    CUDA_CHECK(cudaMemcpyAsync(ids, d_ids, sizeof(int32_t) * (size_t)rows, cudaMemcpyDeviceToHost, c->stream));
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
    return 0;
}
