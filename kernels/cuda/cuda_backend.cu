/* kernels/cuda/cuda_backend.cu — the CUDA backend's lifecycle and memory:
 * probe, create/destroy, alloc/upload/download on one stream, scratch
 * buffers, and CUPTI timing of logged ops. The ops live in cuda_matmul.cu,
 * cuda_attention.cu and cuda_ops.cu. */
#include "kernels/cuda/cuda_internal.h"
#include "kernels/cuda/cuda_backend.h"
#include "traces/cupti.h"
#include "traces/cupti_range.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cuda_fatal(const char *file, int line, const char *call, const char *msg)
{
    fprintf(stderr, "infertop: CUDA error at %s:%d: %s: %s\n", file, line, call, msg);
    exit(1);
}

/* ---- probe ---- */

static const char *no_device_reason(cudaError_t e)
{
    switch (e) {
    case cudaErrorInsufficientDriver: return "no CUDA driver";
    case cudaErrorNoDevice: return "no CUDA device";
    default: return cudaGetErrorString(e);
    }
}

/* Peak HBM bandwidth from the memory clock (kHz) and bus width (bits); CUDA 13
 * removed cudaDeviceProp::memoryClockRate. 0 when the driver doesn't say. */
static double device_peak_bw(int device)
{
    int khz = 0, bits = 0;
    if (cudaDeviceGetAttribute(&khz, cudaDevAttrMemoryClockRate, device) != cudaSuccess ||
        cudaDeviceGetAttribute(&bits, cudaDevAttrGlobalMemoryBusWidth, device) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return 2.0 * khz * 1e3 * bits / 8.0;
}

static int describe_device(int device, char *out, size_t n)
{
    cudaDeviceProp p;
    cudaError_t e = cudaGetDeviceProperties(&p, device);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        snprintf(out, n, "device %d: %s (%s)", device, cudaGetErrorString(e), cudaGetErrorName(e));
        return -1;
    }
    snprintf(out, n, "%.48s, %.1f GiB, sm_%d%d, %d SMs, %.2f TB/s peak", p.name,
             (double)p.totalGlobalMem / (1024.0 * 1024 * 1024), p.major, p.minor,
             p.multiProcessorCount, device_peak_bw(device) / 1e12);
    return 0;
}

int cuda_device_count(void)
{
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return count;
}

int cuda_probe(char *reason, size_t n)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();       /* clear it: the CPU fallback continues */
        snprintf(reason, n, "%s (%s)", no_device_reason(e), cudaGetErrorName(e));
        return 0;
    }
    if (count == 0) {
        snprintf(reason, n, "no CUDA device (0 devices)");
        return 0;
    }
    char d[128];
    if (describe_device(0, d, sizeof d) != 0) {
        snprintf(reason, n, "%s", d);
        return 0;
    }
    snprintf(reason, n, "%d CUDA device%s; device 0: %.120s", count, count > 1 ? "s" : "", d);
    return 1;
}

/* ---- scratch and small host→device copies ---- */

void *cuda_scratch_get(struct cuda_ctx *c, struct cuda_scratch *s, size_t bytes)
{
    if (bytes <= s->bytes) return s->p;
    size_t want = bytes + bytes / 4;
    if (s->p && cg_step_capturing(&c->graphs)) {
        /* captured kernels read it when the graph runs: free it after the next sync */
        if (c->n_deferred == (int)(sizeof c->deferred / sizeof c->deferred[0]))
            cuda_fatal(__FILE__, __LINE__, "cuda_scratch_get", "too many scratch buffers outgrown in one captured step");
        c->deferred[c->n_deferred++] = s->p;
        s->p = NULL;
        s->bytes = 0;
    }
    if (s->p) {
        CUDA_CHECK(cudaStreamSynchronize(c->stream));   /* queued kernels may still read it */
        CUDA_CHECK(cudaFree(s->p));
        s->p = NULL;
        s->bytes = 0;
    }
    cudaError_t e = cudaMalloc(&s->p, want);
    if (e != cudaSuccess) {
        char what[96];
        snprintf(what, sizeof what, "cudaMalloc(%zu bytes of scratch)", want);
        cuda_fatal(__FILE__, __LINE__, what, cudaGetErrorString(e));
    }
    s->bytes = want;
    return s->p;
}

/* Without a pinned chunk the copy is from the caller's pageable memory:
 * cudaMemcpyAsync returns once that source is staged, so it may be reused
 * too, but such a copy cannot be captured (the capture then fails and the
 * step reruns eagerly). Stream order protects the device scratch. */
void cuda_copy_to_device(struct cuda_ctx *c, void *dst, const void *src, size_t bytes)
{
    const void *pinned = staging_put(&c->staging, src, bytes);
    CUDA_CHECK(cudaMemcpyAsync(dst, pinned ? pinned : src, bytes, cudaMemcpyHostToDevice, c->stream));
}

const int32_t *cuda_table_to_device(struct cuda_ctx *c, const struct kv_view *kv)
{
    size_t bytes = sizeof(int32_t) * (size_t)kv->n_blocks;
    void *d = cuda_scratch_get(c, &c->table, bytes);
    cuda_copy_to_device(c, d, kv->table, bytes);
    return (const int32_t *)d;
}

const int *cuda_ints_to_device(struct cuda_ctx *c, const int *h, int n)
{
    size_t bytes = sizeof(int) * (size_t)n;
    void *d = cuda_scratch_get(c, &c->ints, bytes);
    cuda_copy_to_device(c, d, h, bytes);
    return (const int *)d;
}

/* After a stream sync every staged copy and every captured kernel is done:
 * the staging starts over, outgrown scratch is freed. */
static void stream_synced(struct cuda_ctx *c)
{
    staging_reset(&c->staging);
    for (int i = 0; i < c->n_deferred; i++) CUDA_CHECK(cudaFree(c->deferred[i]));
    c->n_deferred = 0;
}

static void *pinned_alloc(void *user, size_t bytes)
{
    (void)user;
    void *p = NULL;
    if (cudaMallocHost(&p, bytes) != cudaSuccess) {
        (void)cudaGetLastError();       /* staging_put answers NULL: the pageable copy */
        return NULL;
    }
    return p;
}

static void pinned_release(void *user, void *p)
{
    (void)user;
    CUDA_CHECK(cudaFreeHost(p));
}

/* ---- op timing through CUPTI ----
 * The dispatcher in kernels/backend.c appends the op's record before calling
 * the op, so the op's record is the log's last one. Each op gets a tag; its
 * kernels' GPU durations are summed into the record at sync. */

void cuda_op_begin(struct backend *be)
{
    struct cuda_ctx *c = cuda_ctx_of(be);
    struct kernel_log *log = be->log;
    struct crp_session *rs = crp_active();     /* --measure-traffic: one range per op */
    if (rs && log && log->n > 0) {
        char name[48];
        /* the record's name is filled after the op; its class is known now */
        snprintf(name, sizeof name, "%d#%s", log->n - 1, op_class_name(log->recs[log->n - 1].cls));
        crp_push(rs, name);
    }
    if (!c->cupti_on || !log || !log->enabled || log->n == 0) return;
    if (c->n_tags == c->cap_tags) {
        int cap = c->cap_tags ? c->cap_tags * 2 : 1024;
        struct cuda_op_tag *t = (struct cuda_op_tag *)realloc(c->tags, sizeof *t * (size_t)cap);
        if (!t) return;                 /* this op stays untimed; records say dur_measured=false */
        c->tags = t;
        c->cap_tags = cap;
    }
    struct cuda_op_tag *t = &c->tags[c->n_tags];
    t->rec = log->n - 1;
    t->t_start_ns = log->recs[log->n - 1].t_start_ns;
    t->dur_ns = 0;
    t->kernels = 0;
    cupti_tag_push(c->tag_base + (uint64_t)c->n_tags++);
}

void cuda_op_end(struct backend *be)
{
    struct cuda_ctx *c = cuda_ctx_of(be);
    struct kernel_log *log = be->log;
    if (crp_active() && log && log->n > 0) crp_pop(crp_active());
    if (!c->cupti_on || !log || !log->enabled || log->n == 0) return;
    cupti_tag_pop();
}

static void add_kernel_time(const struct cupti_kernel *k, void *user)
{
    struct cuda_ctx *c = (struct cuda_ctx *)user;
    if (k->tag < c->tag_base || k->tag >= c->tag_base + (uint64_t)c->n_tags) return;
    struct cuda_op_tag *t = &c->tags[k->tag - c->tag_base];
    t->dur_ns += k->end_ns - k->start_ns;
    t->kernels++;
}

/* After a stream sync: fill measured durations into the records still in the log. */
static void fill_measured_times(struct backend *be)
{
    struct cuda_ctx *c = cuda_ctx_of(be);
    if (!c->cupti_on) return;
    cupti_collector_drain(add_kernel_time, c);
    struct kernel_log *log = be->log;
    for (int i = 0; log && i < c->n_tags; i++) {
        const struct cuda_op_tag *t = &c->tags[i];
        if (t->kernels == 0 || t->rec >= log->n || log->recs[t->rec].t_start_ns != t->t_start_ns)
            continue;                   /* no kernel (host-side op) or the log was cleared */
        log->recs[t->rec].dur_ns = t->dur_ns;
        log->recs[t->rec].dur_measured = true;
    }
    c->tag_base += (uint64_t)c->n_tags + 1;
    c->n_tags = 0;
}

/* ---- device binding ----
 * The current device is per host thread; a backend on device k makes it
 * current before any call that allocates, copies or launches (cheap when it
 * already is), so several devices' backends can run from one thread. */

static void bind_device(struct backend *be)
{
    CUDA_CHECK(cudaSetDevice(cuda_ctx_of(be)->device));
}

/* ---- vtable: memory ---- */

/* matmul: cuBLAS runs f32, f16 and bf16 weights, cuda_sparse.cu the 2:4
 * formats (read in place), cuda_xq.cu the own formats (int8, int4, fp8, w8a8,
 * fp8a8: core/quant; fp8a8 prefill through cuBLASLt's FP8 GEMM on cc >= 8.9,
 * cuda_fp8lt.cu), cuda_qdot.cu ggml's block formats (q8_0, q4_0, q4_1,
 * q4_k, q6_k, read in place; int8 dp4a dots). A format missing here is
 * converted to f16 by backend_upload_weight, with one note. embed: every format (block formats are decoded on the
 * host, cuda_ops.cu). attention, kv_store: f32 and f16 caches. The rest: f32
 * activations. */
static bool cuda_supports(struct backend *be, enum backend_op op, enum dtype t)
{
    (void)be;
    switch (op) {
    case OP_MATMUL: return t == DT_F32 || t == DT_F16 || t == DT_BF16 || dtype_is_sparse24(t) || dtype_is_xq(t) ||
                            dtype_is_quant(t);
    case OP_EMBED: return true;
    case OP_ATTENTION:
    case OP_KV_STORE: return t == DT_F32 || t == DT_F16;
    default: return t == DT_F32;
    }
}

static void *cuda_alloc(struct backend *be, size_t bytes)
{
    bind_device(be);
    void *p = NULL;
    if (cudaMalloc(&p, bytes ? bytes : 1) != cudaSuccess) {
        (void)cudaGetLastError();       /* out of memory is the caller's to report */
        return NULL;
    }
    return p;
}

static void cuda_free(struct backend *be, void *p)
{
    bind_device(be);
    CUDA_CHECK(cudaStreamSynchronize(cuda_ctx_of(be)->stream));
    CUDA_CHECK(cudaFree(p));
}

static int cuda_upload_weight(struct backend *be, struct weight *w)
{
    if (w->type == DT_F8A8) {           /* codes and scales apart: the FP8 GEMM's A is the codes alone */
        bind_device(be);
        return cuda_f8lt_upload(be, w);
    }
    size_t bytes = weight_bytes(w);
    void *d = cuda_alloc(be, bytes);   /* binds the device */
    if (!d) {
        fprintf(stderr, "infertop: cuda: no device memory for weight %s (%zu bytes)\n", w->name, bytes);
        return -1;
    }
    /* a column shard's rows are strided in w->data: pack them dense on the device */
    size_t rb = dtype_row_bytes(w->type, w->cols);
    CUDA_CHECK(cudaMemcpy2D(d, rb, w->data, weight_row_stride(w), rb, (size_t)w->rows,
                            cudaMemcpyHostToDevice));
    w->dev = d;
    return 0;
}

static void cuda_upload(struct backend *be, void *dst, const void *src, size_t bytes)
{
    bind_device(be);
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, cuda_ctx_of(be)->stream));
}

static void cuda_download(struct backend *be, void *dst, const void *src, size_t bytes)
{
    struct cuda_ctx *c = cuda_ctx_of(be);
    bind_device(be);
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, c->stream));
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
    stream_synced(c);
}

static void cuda_sync(struct backend *be)
{
    bind_device(be);
    CUDA_CHECK(cudaStreamSynchronize(cuda_ctx_of(be)->stream));
    stream_synced(cuda_ctx_of(be));
    fill_measured_times(be);
}

/* Teardown calls are checked too, but a failure only warns: the process is
 * done with the device, and ctx_release also cleans up after a failed init. */
static void warn_on_teardown(cudaError_t e, const char *call)
{
    if (e == cudaSuccess) return;
    (void)cudaGetLastError();
    fprintf(stderr, "infertop: cuda: %s at teardown: %s\n", call, cudaGetErrorString(e));
}

/* Backends sharing the process-wide CUPTI collector: the last one stops it.
 * (With several devices one backend's drain may consume another's kernel
 * activity; those records then stay dur_measured = false.) */
static int g_cupti_users;

static void ctx_release(struct cuda_ctx *c)
{
    struct cuda_scratch *s[] = {&c->act16, &c->scores, &c->partial, &c->table, &c->ints, &c->qact,
                                &c->sample_ids, &c->sample_sort, &c->sample_u, &c->lt_ws};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        if (s[i]->p) warn_on_teardown(cudaFree(s[i]->p), "cudaFree(scratch)");
    if (c->cublas) {
        cublasStatus_t bs = cublasDestroy(c->cublas);
        if (bs != CUBLAS_STATUS_SUCCESS)
            fprintf(stderr, "infertop: cuda: cublasDestroy at teardown: %s\n", cublasGetStatusString(bs));
    }
    if (c->cublaslt) {
        cublasStatus_t bs = cublasLtDestroy(c->cublaslt);
        if (bs != CUBLAS_STATUS_SUCCESS)
            fprintf(stderr, "infertop: cuda: cublasLtDestroy at teardown: %s\n", cublasGetStatusString(bs));
    }
    for (int i = 0; i < c->n_deferred; i++) warn_on_teardown(cudaFree(c->deferred[i]), "cudaFree(deferred scratch)");
    if (c->staging.alloc) staging_free(&c->staging);
    cuda_graph_release(c);
    if (c->stream) warn_on_teardown(cudaStreamDestroy(c->stream), "cudaStreamDestroy");
    if (c->cupti_on && --g_cupti_users == 0) cupti_collector_stop();
    free(c->tags);
    free(c->host_rows);
    free(c);
}

static void cuda_destroy(struct backend *be)
{
    struct cuda_ctx *c = cuda_ctx_of(be);
    bind_device(be);
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
    fill_measured_times(be);
    ctx_release(c);
    free(be);
}

/* The ops (cuda_matmul.cu, cuda_attention.cu, cuda_ops.cu) run on the
 * backend's device: each entry makes it current first. */
static void bound_matmul(struct backend *be, float *y, const struct weight *w, const float *x, int m)
{
    bind_device(be);
    cuda_op_matmul(be, y, w, x, m);
}

static void bound_attention(struct backend *be, enum attn_impl impl, float *out, const float *q,
                            const struct kv_view *kv, int layer, int n_q, int pos0, const struct attn_shape *sh)
{
    bind_device(be);
    cuda_op_attention(be, impl, out, q, kv, layer, n_q, pos0, sh);
}

static void bound_kv_store(struct backend *be, const struct kv_view *kv, int layer, int pos0, int n,
                           const float *k, const float *v)
{
    bind_device(be);
    cuda_op_kv_store(be, kv, layer, pos0, n, k, v);
}

static void bound_rmsnorm(struct backend *be, float *y, const float *x, const float *w, int m, int n, float eps)
{
    bind_device(be);
    cuda_op_rmsnorm(be, y, x, w, m, n, eps);
}

static void bound_rope(struct backend *be, float *x, const int *pos, int m, int n_heads, int head_dim,
                       const struct rope_params *rp)
{
    bind_device(be);
    cuda_op_rope(be, x, pos, m, n_heads, head_dim, rp);
}

static void bound_swiglu(struct backend *be, float *out, const float *gate, const float *up, int64_t n)
{
    bind_device(be);
    cuda_op_swiglu(be, out, gate, up, n);
}

static void bound_add(struct backend *be, float *y, const float *x, int64_t n)
{
    bind_device(be);
    cuda_op_add(be, y, x, n);
}

static void bound_embed(struct backend *be, float *out, const struct weight *emb, const int *tokens, int m)
{
    bind_device(be);
    cuda_op_embed(be, out, emb, tokens, m);
}

static int bound_sample(struct backend *be, int32_t *ids, const float *logits, int rows, int vocab,
                        const struct sample_params *sp, const double *u)
{
    bind_device(be);
    return cuda_op_sample(be, ids, logits, rows, vocab, sp, u);
}

static const struct backend_ops CUDA_OPS = {
    .name = "cuda",
    .async = true,
    .supports = cuda_supports,
    .alloc = cuda_alloc,
    .free = cuda_free,
    .upload_weight = cuda_upload_weight,
    .upload = cuda_upload,
    .download = cuda_download,
    .matmul = bound_matmul,
    .attention = bound_attention,
    .kv_store = bound_kv_store,
    .rmsnorm = bound_rmsnorm,
    .rope = bound_rope,
    .swiglu = bound_swiglu,
    .add = bound_add,
    .embed = bound_embed,
    .all_reduce = cuda_op_all_reduce,
    .all_gather = cuda_op_all_gather,
    .reduce_scatter = cuda_op_reduce_scatter,
    .send = cuda_op_send,
    .recv = cuda_op_recv,
    .modeled_ns = NULL,         /* measured, not simulated */
    .sample = bound_sample,
    .step_begin = cuda_step_begin,
    .step_end = cuda_step_end,
    .graph_counts = cuda_graph_counts,
    .sync = cuda_sync,
    .destroy = cuda_destroy,
    .comm_init = cuda_comm_init,
    .comm_free = cuda_comm_free,
};

/* ---- bandwidth probe ----
 * Device-to-device copies of 256 MiB (several times any L2), 2 warm-ups then
 * 8 timed with events: bytes read + written per second. Measured once at
 * create for the header, beside the datasheet figure (core/plan/hw.c).
 * Returns 0 when the buffers or events are unavailable (nothing is fatal). */
static double measure_copy_bw(struct cuda_ctx *c)
{
    const size_t bytes = (size_t)256 << 20;
    void *a = NULL, *b = NULL;
    cudaEvent_t e0 = NULL, e1 = NULL;
    float ms = 0;
    double bw = 0;
    if (cudaMalloc(&a, bytes) != cudaSuccess || cudaMalloc(&b, bytes) != cudaSuccess ||
        cudaEventCreate(&e0) != cudaSuccess || cudaEventCreate(&e1) != cudaSuccess)
        goto done;
    CUDA_CHECK(cudaMemsetAsync(a, 0x5a, bytes, c->stream));
    for (int i = 0; i < 2; i++) CUDA_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, c->stream));
    CUDA_CHECK(cudaEventRecord(e0, c->stream));
    for (int i = 0; i < 8; i++) CUDA_CHECK(cudaMemcpyAsync(i % 2 ? a : b, i % 2 ? b : a, bytes, cudaMemcpyDeviceToDevice, c->stream));
    CUDA_CHECK(cudaEventRecord(e1, c->stream));
    CUDA_CHECK(cudaEventSynchronize(e1));
    CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
    if (ms > 0) bw = 8.0 * 2.0 * (double)bytes / (ms * 1e-3);
done:
    (void)cudaGetLastError();
    if (e0) warn_on_teardown(cudaEventDestroy(e0), "cudaEventDestroy");
    if (e1) warn_on_teardown(cudaEventDestroy(e1), "cudaEventDestroy");
    if (a) warn_on_teardown(cudaFree(a), "cudaFree(probe)");
    if (b) warn_on_teardown(cudaFree(b), "cudaFree(probe)");
    return bw;
}

/* ---- create ---- */

#define TRY(call, what)                                                                    \
    do {                                                                                   \
        cudaError_t e_ = (call);                                                           \
        if (e_ != cudaSuccess) {                                                           \
            (void)cudaGetLastError();                                                      \
            snprintf(err, errlen, "cuda: %s: %s (%s)", what, cudaGetErrorString(e_), cudaGetErrorName(e_)); \
            goto fail;                                                                     \
        }                                                                                  \
    } while (0)

static int ctx_init(struct cuda_ctx *c, int device, char *err, size_t errlen)
{
    int smem = 0;
    cublasStatus_t bs;
    c->device = device;
    TRY(cudaSetDevice(device), "cudaSetDevice");
    TRY(cudaDeviceGetAttribute(&c->sm_count, cudaDevAttrMultiProcessorCount, device), "SM count");
    TRY(cudaDeviceGetAttribute(&smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, device), "shared memory size");
    TRY(cudaDeviceGetAttribute(&c->cc_major, cudaDevAttrComputeCapabilityMajor, device), "compute capability");
    TRY(cudaDeviceGetAttribute(&c->cc_minor, cudaDevAttrComputeCapabilityMinor, device), "compute capability");
    c->smem_optin = (size_t)smem;
    TRY(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking), "cudaStreamCreate");
    staging_init(&c->staging, pinned_alloc, pinned_release, c);
    cuda_graph_init(c);
    if ((bs = cublasCreate(&c->cublas)) != CUBLAS_STATUS_SUCCESS) {
        c->cublas = NULL;
        snprintf(err, errlen, "cuda: cublasCreate: %s", cublasGetStatusString(bs));
        return -1;
    }
    if ((bs = cublasSetStream(c->cublas, c->stream)) != CUBLAS_STATUS_SUCCESS) {
        snprintf(err, errlen, "cuda: cublasSetStream: %s", cublasGetStatusString(bs));
        return -1;
    }
    if ((bs = cublasLtCreate(&c->cublaslt)) != CUBLAS_STATUS_SUCCESS) {
        c->cublaslt = NULL;
        snprintf(err, errlen, "cuda: cublasLtCreate: %s", cublasGetStatusString(bs));
        return -1;
    }
    c->f8lt_on = true;
    c->cupti_on = cupti_collector_start(c->trace_reason, sizeof c->trace_reason) == 0;
    if (c->cupti_on) g_cupti_users++;
    /* tag 0 means "untagged"; each device numbers its ops in its own range */
    c->tag_base = ((uint64_t)device << 48) + 1;
    return 0;
fail:
    return -1;
}

struct backend *cuda_backend_create(int device, char *err, size_t errlen)
{
    char probe[160], desc[128] = "";
    if (errlen) err[0] = '\0';
    if (!cuda_probe(probe, sizeof probe)) {
        snprintf(err, errlen, "cuda: %s", probe);
        return NULL;
    }
    int count = cuda_device_count();
    if (device < 0 || device >= count) {
        snprintf(err, errlen, "cuda: device %d; expected 0..%d (%d device%s)", device, count - 1, count,
                 count == 1 ? "" : "s");
        return NULL;
    }
    struct backend *be = (struct backend *)calloc(1, sizeof *be);
    struct cuda_ctx *c = (struct cuda_ctx *)calloc(1, sizeof *c);
    if (!be || !c) {
        free(be);
        free(c);
        snprintf(err, errlen, "cuda: out of host memory");
        return NULL;
    }
    if (ctx_init(c, device, err, errlen) != 0 || describe_device(device, desc, sizeof desc) != 0) {
        if (!err[0]) snprintf(err, errlen, "cuda: device %d: %s", device, desc);
        ctx_release(c);
        free(be);
        return NULL;
    }
    be->ops = &CUDA_OPS;
    be->ctx = c;
    be->n_threads = 1;
    be->measured_bw = measure_copy_bw(c);
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) be->mem_bytes = (double)total_b;
    (void)cudaGetLastError();
    snprintf(be->device_name, sizeof be->device_name, "%.95s", desc);
    snprintf(be->reason, sizeof be->reason, "cuda — device %d usable; %.110s", device, c->trace_reason);
    return be;
}
