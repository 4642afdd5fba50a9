/* kernels/cuda/cuda_fp8lt.cu — fp8a8 prefill/batched matmuls through cuBLASLt's
 * FP8 E4M3 GEMM (compute capability >= 8.9), the split device layout of fp8a8
 * weights, and the public switches (cuda_backend.h).
 *
 * The plan (path, shapes, scratch, workspace, why the kernels run instead)
 * and the per-element math are plain C in cuda_fp8_plan.{h,c}; cuda_xq.cu
 * quantizes x and calls the GEMM and the epilogue here. The GEMM (column-major
 * terms, see cuda_fp8_plan.h): D[N][m_pad] = op_T(A)·B, A = weight codes K×N
 * (ld K), B = x codes K×m_pad (ld K), D f32 (ld N), compute f32, A/B scales 1,
 * fast accumulation off (cuBLASLt then promotes the tensor cores' partial sums
 * to f32 periodically). The algorithm comes from cuBLASLt's heuristic for
 * 16-byte-aligned pointers (the plan's guarantee), cached per shape. */
#include "kernels/cuda/cuda_internal.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_launch.h"

#include <stdio.h>

/* ---- weights: the split layout ---- */

int cuda_f8lt_upload(struct backend *be, struct weight *w)
{
    struct cuda_ctx *c = cuda_ctx_of(be);
    struct f8lt_wlayout l = f8lt_wlayout_split(w->rows, w->cols);
    void *d = NULL;
    if (cudaMalloc(&d, l.bytes) != cudaSuccess) {
        (void)cudaGetLastError();
        fprintf(stderr, "infertop: cuda: no device memory for weight %s (%zu bytes)\n", w->name, l.bytes);
        return -1;
    }
    struct f8lt_copy2d cp[2];
    f8lt_upload_copies(cp, w->rows, w->cols, weight_row_stride(w));
    for (int i = 0; i < 2; i++)
        CUDA_CHECK(cudaMemcpy2D((char *)d + cp[i].dst_off, cp[i].dpitch, (const char *)w->data + cp[i].src_off,
                                cp[i].spitch, cp[i].width, cp[i].height, cudaMemcpyHostToDevice));
    w->dev = d;
    char line[192];
    if (!c->f8lt_noted && be->note && f8lt_device_note(line, sizeof line, c->cc_major, c->cc_minor)) {
        char full[208];
        snprintf(full, sizeof full, "cuda: %s", line);
        be->note(be->note_user, full);
    }
    c->f8lt_noted = true;
    return 0;
}

/* ---- descriptors ---- */

struct lt_descs {
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t a, b, d;
};

static void descs_make(struct lt_descs *ds, const struct f8lt_plan *p)
{
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    int8_t fast = 0;
    CUBLAS_CHECK(cublasLtMatmulDescCreate(&ds->op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(ds->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(ds->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(ds->op, CUBLASLT_MATMUL_DESC_FAST_ACCUM, &fast, sizeof fast));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&ds->a, CUDA_R_8F_E4M3, (uint64_t)p->K, (uint64_t)p->N, (int64_t)p->K));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&ds->b, CUDA_R_8F_E4M3, (uint64_t)p->K, (uint64_t)p->m_pad, (int64_t)p->K));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&ds->d, CUDA_R_32F, (uint64_t)p->N, (uint64_t)p->m_pad, (int64_t)p->N));
}

static void descs_free(struct lt_descs *ds)
{
    CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(ds->d));
    CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(ds->b));
    CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(ds->a));
    CUBLAS_CHECK(cublasLtMatmulDescDestroy(ds->op));
}

/* ---- algorithm choice, cached per shape ---- */

/* cuBLASLt's first heuristic result for p; false when it offers none
 * (CUBLAS_STATUS_NOT_SUPPORTED or zero results); other failures are fatal. */
static bool heuristic(struct cuda_ctx *c, const struct f8lt_plan *p, cublasLtMatmulAlgo_t *algo, cublasStatus_t *st)
{
    struct lt_descs ds;
    descs_make(&ds, p);
    cublasLtMatmulPreference_t pref;
    size_t ws = p->workspace_bytes;
    uint32_t align = F8LT_ALIGN;
    CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
    const cublasLtMatmulPreferenceAttributes_t al[] = {
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
    for (size_t i = 0; i < sizeof al / sizeof al[0]; i++)
        CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, al[i], &align, sizeof align));
    cublasLtMatmulHeuristicResult_t res = {};
    int n = 0;
    *st = cublasLtMatmulAlgoGetHeuristic(c->cublaslt, ds.op, ds.a, ds.b, ds.d, ds.d, pref, 1, &res, &n);
    CUBLAS_CHECK(cublasLtMatmulPreferenceDestroy(pref));
    descs_free(&ds);
    if (*st == CUBLAS_STATUS_NOT_SUPPORTED) return false;
    CUBLAS_CHECK(*st);
    if (n < 1 || res.state != CUBLAS_STATUS_SUCCESS) return false;
    *algo = res.algo;
    return true;
}

bool cuda_f8lt_algo(struct backend *be, const struct f8lt_plan *p, cublasLtMatmulAlgo_t *algo)
{
    struct cuda_ctx *c = cuda_ctx_of(be);
    for (int i = 0; i < F8LT_CACHE; i++) {
        const struct f8lt_algo_entry *e = &c->f8lt_cache[i];
        if (e->N == p->N && e->K == p->K && e->m_pad == p->m_pad) {
            if (e->found) *algo = e->algo;
            return e->found;
        }
    }
    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    struct f8lt_algo_entry *e = &c->f8lt_cache[c->f8lt_next];
    c->f8lt_next = (c->f8lt_next + 1) % F8LT_CACHE;
    e->found = heuristic(c, p, &e->algo, &st);
    e->N = p->N;
    e->K = p->K;
    e->m_pad = p->m_pad;
    if (!e->found && be->note) {
        char line[224];
        snprintf(line, sizeof line, "cuda: fp8a8: cuBLASLt offered no FP8 GEMM algorithm for m=%d N=%d K=%d (%s); "
                 "using the fp8a8 CUDA kernels for that shape", p->m_pad, p->N, p->K, cublasGetStatusString(st));
        be->note(be->note_user, line);
    }
    if (e->found) *algo = e->algo;
    return e->found;
}

/* ---- the GEMM and the column-scale epilogue ---- */

void cuda_f8lt_gemm(struct cuda_ctx *c, const struct f8lt_plan *p, const cublasLtMatmulAlgo_t *algo, float *D,
                    const uint8_t *wq, const uint8_t *xq)
{
    void *ws = cuda_scratch_get(c, &c->lt_ws, p->workspace_bytes);
    const float alpha = 1.0f, beta = 0.0f;
    struct lt_descs ds;
    descs_make(&ds, p);
    /* beta = 0: C is not read; it is D (same layout) */
    CUBLAS_CHECK(cublasLtMatmul(c->cublaslt, ds.op, &alpha, wq, ds.a, xq, ds.b, &beta, D, ds.d, D, ds.d, algo, ws,
                                p->workspace_bytes, c->stream));
    descs_free(&ds);
}

__global__ static void k_f8lt_epilogue(float *y, const float *D, const float *ws, float static_scale,
                                       const float *tmax, int64_t n, int N)
{
    const float a = f8lt_act_scale(static_scale, tmax ? *tmax : 0.0f);
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        y[i] = f8lt_epilogue(D[i], ws[i % N], a);
}

void cuda_f8lt_epilogue(struct cuda_ctx *c, float *y, const float *D, const float *ws, float static_scale,
                        const float *tmax, int m, int N)
{
    int64_t n = (int64_t)m * N;     /* rows >= m of D are padding: never read */
    struct cl_1d l = cl_eltwise(n);
    k_f8lt_epilogue<<<l.grid, l.block, 0, c->stream>>>(y, D, ws, static_scale, tmax, n, N);
    CUDA_CHECK_LAUNCH(k_f8lt_epilogue);
}

/* ---- public switches (cuda_backend.h) ---- */

int cuda_fp8_gemm_status(struct backend *be, int *cc_major, int *cc_minor, char *why, size_t n)
{
    struct cuda_ctx *c = cuda_ctx_of(be);
    if (cc_major) *cc_major = c->cc_major;
    if (cc_minor) *cc_minor = c->cc_minor;
    if (f8lt_device_note(why, n, c->cc_major, c->cc_minor)) return 0;
    if (!c->f8lt_on) {
        snprintf(why, n, "%s", f8lt_why_text(F8LT_OFF));
        return 0;
    }
    snprintf(why, n, "fp8a8: cuBLASLt FP8 GEMM on sm_%d%d for m >= %d, N and K multiples of %d", c->cc_major,
             c->cc_minor, F8LT_MIN_M, F8LT_ALIGN);
    return 1;
}

bool cuda_fp8_gemm_enable(struct backend *be, bool on)
{
    struct cuda_ctx *c = cuda_ctx_of(be);
    bool was = c->f8lt_on;
    c->f8lt_on = on;
    return was;
}

uint64_t cuda_fp8_gemm_count(struct backend *be) { return cuda_ctx_of(be)->f8lt_calls; }
