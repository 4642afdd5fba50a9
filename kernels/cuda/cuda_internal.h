/* kernels/cuda/cuda_internal.h — private to the kernels/cuda .cu files: the backend
 * context, the error-checking macros, scratch buffers and the op entry points
 * each .cu file provides to the vtable in cuda_backend.cu. CUDA C++ only. */
#ifndef INFERTOP_CUDA_INTERNAL_H
#define INFERTOP_CUDA_INTERNAL_H

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

/* The engine's headers are C without extern "C" guards: give them C linkage
 * here, before anything else includes them (their include guards then hold).
 * Every .cu file includes this header first. */
extern "C" {
#include "kernels/backend.h"
#include "kernels/cuda/cuda_fp8_plan.h"
#include "kernels/cuda/cuda_graph_step.h"
#include "kernels/cuda/cuda_staging.h"
}

/* Fatal tier: a failing CUDA/cuBLAS call or launch inside an op is a bug or a
 * dead device; report file:line and the call, then exit(1) (atexit handlers,
 * such as the TUI's terminal restore, still run). Creation and allocation use
 * recoverable errors instead. */
[[noreturn]] void cuda_fatal(const char *file, int line, const char *call, const char *msg);

#define CUDA_CHECK(call)                                                              \
    do {                                                                              \
        cudaError_t e_ = (call);                                                      \
        if (e_ != cudaSuccess) cuda_fatal(__FILE__, __LINE__, #call, cudaGetErrorString(e_)); \
    } while (0)

#define CUBLAS_CHECK(call)                                                            \
    do {                                                                              \
        cublasStatus_t s_ = (call);                                                   \
        if (s_ != CUBLAS_STATUS_SUCCESS)                                              \
            cuda_fatal(__FILE__, __LINE__, #call, cublasGetStatusString(s_));         \
    } while (0)

/* After every <<<>>> launch: configuration errors show up here, named by kernel. */
#define CUDA_CHECK_LAUNCH(kernel)                                                     \
    do {                                                                              \
        cudaError_t e_ = cudaGetLastError();                                          \
        if (e_ != cudaSuccess)                                                        \
            cuda_fatal(__FILE__, __LINE__, "launch of " #kernel, cudaGetErrorString(e_)); \
    } while (0)

/* A device buffer that only grows; reused by every op on the one stream. */
struct cuda_scratch {
    void *p;
    size_t bytes;
};

/* Timing of one logged op: the kernel record it belongs to and the CUPTI
 * kernel time summed over its launches. */
struct cuda_op_tag {
    int rec;                 /* index in be->log->recs */
    uint64_t t_start_ns;     /* that record's t_start_ns, to detect a cleared log */
    uint64_t dur_ns;
    int kernels;
};

/* fp8a8 through cuBLASLt (cuda_fp8lt.cu): heuristic results per shape. */
#define F8LT_CACHE 16
struct f8lt_algo_entry {
    int N, K, m_pad;           /* 0: empty */
    bool found;                /* false: cuBLASLt offered none (the kernels run that shape) */
    cublasLtMatmulAlgo_t algo;
};

struct cuda_ctx {
    int device, sm_count;
    int cc_major, cc_minor;          /* compute capability */
    size_t smem_optin;               /* max dynamic shared memory per block */
    cudaStream_t stream;             /* every op, copy and cuBLAS call runs here, in order */
    cublasHandle_t cublas;
    cublasLtHandle_t cublaslt;       /* the fp8a8 FP8 GEMM; same stream */
    struct cuda_scratch lt_ws;       /* its workspace (f8lt_workspace_bytes) */
    bool f8lt_on;                    /* cuda_fp8_gemm_enable; true after create */
    bool f8lt_noted;                 /* the "not supported on sm_XY" note was sent */
    uint64_t f8lt_calls;             /* matmuls that ran through it */
    struct f8lt_algo_entry f8lt_cache[F8LT_CACHE];
    int f8lt_next;                   /* round-robin slot */
    struct cuda_scratch act16;       /* f16/bf16 copy of matmul activations [m][K] */
    struct cuda_scratch scores;      /* naive attention S = P [heads][n_q][n_ctx] */
    struct cuda_scratch partial;     /* flash split partials: acc [splits][heads][n_q][d], m/l */
    struct cuda_scratch table;       /* device copy of a kv_view block table */
    struct cuda_scratch ints;        /* device copy of tokens / positions */
    struct cuda_scratch qact;        /* int8 activation blocks of a block-format matmul (cuda_qdot.cu) */
    struct cuda_scratch sample_ids, sample_sort, sample_u;   /* device sampling (cuda_sample.cu) */
    /* step graphs (cuda_graph.cu): the runner, the captured graph and its exec */
    struct cg_step graphs;
    cudaGraph_t graph;
    cudaGraphExec_t graph_exec;
    struct staging staging;          /* pinned sources of every host → device copy of a step */
    void *deferred[32];              /* scratch outgrown while capturing: freed at the next sync */
    int n_deferred;
    float *host_rows;                /* host dequantized embedding rows (quantized embed) */
    size_t host_rows_n;
    /* CUPTI op timing: tags tag_base .. tag_base+n_tags-1 since the last sync */
    bool cupti_on;
    char trace_reason[160];
    struct cuda_op_tag *tags;
    int n_tags, cap_tags;
    uint64_t tag_base;
};

static inline struct cuda_ctx *cuda_ctx_of(struct backend *be) { return (struct cuda_ctx *)be->ctx; }

/* Grow s to at least `bytes` (syncing the stream before freeing the old one;
 * while a step is being captured the old one's free waits for the next sync). */
void *cuda_scratch_get(struct cuda_ctx *c, struct cuda_scratch *s, size_t bytes);
/* dst (device) <- src[bytes] (host) on the stream, through pinned staging
 * (the source may be reused at once; a graph replays the staged bytes). */
void cuda_copy_to_device(struct cuda_ctx *c, void *dst, const void *src, size_t bytes);
/* Device copy of kv->table (n_blocks entries), on the stream. */
const int32_t *cuda_table_to_device(struct cuda_ctx *c, const struct kv_view *kv);
/* Device copy of n host ints, on the stream. */
const int *cuda_ints_to_device(struct cuda_ctx *c, const int *h, int n);

/* Bracket an op's launches so CUPTI attributes their kernels to its record. */
void cuda_op_begin(struct backend *be);
void cuda_op_end(struct backend *be);

/* ---- ops, one .cu per family ---- */
/* cuda_matmul.cu */
void cuda_op_matmul(struct backend *be, float *y, const struct weight *w, const float *x, int m);
/* 2:4 sparse weights (dev_type s24_*): cuda_sparse.cu; cuda_op_matmul routes them. */
void cuda_op_matmul_s24(struct backend *be, float *y, const struct weight *w, const float *x, int m);
/* The own quantized formats (cuda_xq.cu); w->dev in dtype_is_xq(w->dev_type). */
void cuda_xq_matmul(struct backend *be, float *y, const struct weight *w, const float *x, int m);
/* fp8a8 weights on the device in the split layout (cuda_fp8_plan.h), plus the
 * one "not supported on sm_XY" note on devices without FP8 GEMM: cuda_fp8lt.cu. */
int  cuda_f8lt_upload(struct backend *be, struct weight *w);
/* cuBLASLt's algorithm for plan p (cached per shape); false when it has none
 * (one note per shape; the caller runs the kernels). */
bool cuda_f8lt_algo(struct backend *be, const struct f8lt_plan *p, cublasLtMatmulAlgo_t *algo);
/* D (column-major N×m_pad with ld N = row-major [m_pad][N] f32) = the raw
 * E4M3 sums of the weight codes wq [N][K] and the x codes xq [m_pad][K], on
 * the stream with workspace c->lt_ws. D may be y (p->d_in_place). */
void cuda_f8lt_gemm(struct cuda_ctx *c, const struct f8lt_plan *p, const cublasLtMatmulAlgo_t *algo, float *D,
                    const uint8_t *wq, const uint8_t *xq);
/* y[i][n] = f8lt_epilogue(D[i][n], ws[n], a) for i < m (D's padding rows are
 * ignored), a = f8lt_act_scale(static_scale, tmax ? *tmax : 0); D may be y. */
void cuda_f8lt_epilogue(struct cuda_ctx *c, float *y, const float *D, const float *ws, float static_scale,
                        const float *tmax, int m, int N);
/* ggml block formats (q8_0, q4_0, q4_1, q4_k, q6_k), read in place: cuda_qdot.cu. */
void cuda_qdot_matmul(struct backend *be, float *y, const struct weight *w, const float *x, int m);
/* cuda_attention.cu */
void cuda_op_attention(struct backend *be, enum attn_impl impl, float *out, const float *q,
                       const struct kv_view *kv, int layer, int n_q, int pos0,
                       const struct attn_shape *sh);
/* cuda_ops.cu */
void cuda_op_kv_store(struct backend *be, const struct kv_view *kv, int layer, int pos0, int n,
                      const float *k, const float *v);
void cuda_op_rmsnorm(struct backend *be, float *y, const float *x, const float *w, int m, int n,
                     float eps);
void cuda_op_rope(struct backend *be, float *x, const int *pos, int m, int n_heads, int head_dim,
                  const struct rope_params *rp);
void cuda_op_swiglu(struct backend *be, float *out, const float *gate, const float *up, int64_t n);
void cuda_op_add(struct backend *be, float *y, const float *x, int64_t n);
void cuda_op_embed(struct backend *be, float *out, const struct weight *emb, const int *tokens, int m);
/* cuda_sample.cu: the sample hook (kernels/backend.h) */
int cuda_op_sample(struct backend *be, int32_t *ids, const float *logits, int rows, int vocab,
                   const struct sample_params *sp, const double *u);
/* cuda_graph.cu: step graphs (kernels/backend.h step hooks) */
void cuda_graph_init(struct cuda_ctx *c);
void cuda_graph_release(struct cuda_ctx *c);
void cuda_step_begin(struct backend *be, const struct step_shape *sh);
int  cuda_step_end(struct backend *be);
void cuda_graph_counts(struct backend *be, struct graph_counts *out);
/* cuda_comm.cu: NCCL (kernels/comm.h) */
extern "C" void *cuda_comm_init(struct backend **devs, int n, char *err, size_t errlen);
extern "C" void cuda_comm_free(void *handle);
extern "C" void cuda_op_all_reduce(struct backend *be, struct comm *c, float *buf, int64_t n);
extern "C" void cuda_op_all_gather(struct backend *be, struct comm *c, float *out, const float *in,
                                   int64_t rows, int64_t row_elems);
extern "C" void cuda_op_reduce_scatter(struct backend *be, struct comm *c, float *out, float *in,
                                       int64_t rows, int64_t row_elems);
extern "C" void cuda_op_send(struct backend *be, struct comm *c, int peer, const float *buf, int64_t n);
extern "C" void cuda_op_recv(struct backend *be, struct comm *c, int peer, float *buf, int64_t n);

/* ---- device helpers shared by the kernels ---- */
#ifdef __CUDACC__
#define CUDA_FULL_MASK 0xffffffffu

__device__ static inline float warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(CUDA_FULL_MASK, v, o);
    return v;
}

__device__ static inline float warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(CUDA_FULL_MASK, v, o));
    return v;
}

/* Sum (is_max false) or max over the block; blockDim.x a multiple of 32.
 * Every thread gets the result. Safe to call repeatedly. */
__device__ static inline float block_reduce(float v, bool is_max)
{
    __shared__ float part[32];
    __shared__ float total;
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = is_max ? warp_max(v) : warp_sum(v);
    __syncthreads();                       /* previous call's readers are done */
    if (lane == 0) part[wid] = v;
    __syncthreads();
    if (wid == 0) {
        float w = lane < nw ? part[lane] : (is_max ? -INFINITY : 0.0f);
        w = is_max ? warp_max(w) : warp_sum(w);
        if (lane == 0) total = w;
    }
    __syncthreads();
    return total;
}
#endif

#endif
