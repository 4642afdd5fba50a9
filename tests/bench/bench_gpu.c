/* tests/bench/bench_gpu.c — kernel-level GPU benchmark (`make bench-gpu`, with
 * tests/bench/bench_gpu.sh for the decode runs):
 *   - quantized matvec GB/s per weight format (m = 1, 11008 x 4096, the
 *     Llama-2-7B MLP up projection), as % of the copy-test bandwidth;
 *   - prefill GEMM TFLOP/s (f16 weights, m = 512) through the backend against a
 *     plain cublasGemmEx of the same shapes on f16 inputs;
 *   - flash vs naive attention prefill at 1k, 4k, 16k tokens (32/8 heads,
 *     d 128, f16 KV); naive is skipped where its score matrix would not fit;
 *   - paged decode attention GB/s (one query, 4k and 16k cached tokens, K/V
 *     bytes read per second);
 *   - fp8a8 prefill GEMM TFLOP/s: cuBLASLt's FP8 GEMM (cc >= 8.9) against the
 *     fp8a8 CUDA kernels (the GEMM switched off) and the f16 cuBLAS path, and
 *     an m sweep of both at 4096 x 4096 (what F8LT_MIN_M should be set from:
 *     a GEMM at m < 16 costs what it costs at 16, the rows being padded).
 * Times: host clock around R launches queued back to back after a warm-up,
 * then a stream sync (launch overhead is hidden by the queue except for the
 * shortest kernels). Exit 2 with the reason when no CUDA device is usable
 * (nothing measured); 0 after printing every table. */
#include "kernels/backend.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_fp8_plan.h"
#include "kernels/formats.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct backend *GPU;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float rnd(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)((rng >> 40) * 0x1.0p-24) * 2.f - 1.f;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) { fprintf(stderr, "bench_gpu: out of host memory (%zu bytes)\n", n); exit(1); }
    return p;
}

static float *dev_rand(size_t n)
{
    float *h = xmalloc(sizeof *h * n), *d = backend_alloc(GPU, sizeof *d * n);
    if (!d) { fprintf(stderr, "bench_gpu: out of device memory (%zu floats)\n", n); exit(1); }
    for (size_t i = 0; i < n; i++) h[i] = rnd();
    backend_upload(GPU, d, h, sizeof *d * n);
    free(h);
    return d;
}

/* A weight [rows][cols] of random values in format t, uploaded. */
static void make_weight(struct weight *w, enum dtype t, int rows, int cols)
{
    memset(w, 0, sizeof *w);
    w->type = t;
    w->rows = rows;
    w->cols = cols;
    snprintf(w->name, sizeof w->name, "bench.%s", dtype_info(t)->name);
    size_t rb = dtype_row_bytes(t, cols);
    w->data = xmalloc(rb * (size_t)rows);
    float *row = xmalloc(sizeof *row * (size_t)cols);
    for (int r = 0; r < rows; r++) {
        for (int k = 0; k < cols; k++) row[k] = rnd() * 0.05f;
        dtype_encode_row(t, row, (char *)w->data + (size_t)r * rb, cols);
    }
    free(row);
    if (backend_upload_weight(GPU, w) != 0) { fprintf(stderr, "bench_gpu: upload of %s failed\n", w->name); exit(1); }
}

/* ---- quantized matvec ---- */

static void bench_matvec(void)
{
    const int N = 11008, K = 4096, R = 50;
    const enum dtype ts[] = {DT_F16, DT_BF16, DT_Q8_0, DT_Q4_0, DT_Q4_1, DT_Q4_K, DT_Q6_K, DT_I8, DT_I4S_32, DT_S24_F16};
    printf("\nmatvec m=1 N=%d K=%d (the weight bytes read per second; %% of the copy test's %.2f TB/s)\n", N, K,
           GPU->measured_bw / 1e12);
    printf("%-8s %12s %10s %10s %8s\n", "format", "weight MB", "us/call", "GB/s", "% copy");
    float *x = dev_rand(K), *y = dev_rand(N);
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        struct weight w;
        make_weight(&w, ts[i], N, K);
        double bytes = (double)dtype_row_bytes(w.dev_type, K) * N;
        for (int r = 0; r < 3; r++) backend_matmul(GPU, y, &w, x, 1);
        backend_sync(GPU);
        double t0 = now_s();
        for (int r = 0; r < R; r++) backend_matmul(GPU, y, &w, x, 1);
        backend_sync(GPU);
        double s = (now_s() - t0) / R;
        printf("%-8s %12.1f %10.2f %10.1f %8.1f%s\n", dtype_info(ts[i])->name, bytes / 1e6, s * 1e6, bytes / s / 1e9,
               GPU->measured_bw > 0 ? 100 * bytes / s / GPU->measured_bw : 0,
               w.dev_type != ts[i] ? " (converted on upload)" : "");
        backend_free_weight(GPU, &w);
        free(w.data);
    }
    backend_free(GPU, x);
    backend_free(GPU, y);
}

/* ---- prefill GEMM vs plain cuBLAS ---- */

static void check_cublas(cublasStatus_t s, const char *what)
{
    if (s != CUBLAS_STATUS_SUCCESS) { fprintf(stderr, "bench_gpu: %s: %s\n", what, cublasGetStatusString(s)); exit(1); }
}

static void check_cuda(cudaError_t e, const char *what)
{
    if (e != cudaSuccess) { fprintf(stderr, "bench_gpu: %s: %s\n", what, cudaGetErrorString(e)); exit(1); }
}

static void bench_gemm(void)
{
    const int shapes[][3] = {{512, 4096, 4096}, {512, 11008, 4096}, {2048, 4096, 4096}};
    const int R = 20;
    printf("\nprefill GEMM, f16 weights, y[m][N] = x[m][K] W^T: the backend (f32 x converted to f16, cuBLAS) vs a plain\n"
           "cublasGemmEx on f16 inputs of the same shapes (TFLOP/s = 2 m N K / time)\n");
    printf("%-22s %12s %14s %8s\n", "m x N x K", "ours TFLOP/s", "cuBLAS TFLOP/s", "ratio");
    cublasHandle_t h;
    check_cublas(cublasCreate(&h), "cublasCreate");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int m = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        struct weight w;
        make_weight(&w, DT_F16, N, K);
        float *x = dev_rand((size_t)m * K), *y = backend_alloc(GPU, sizeof(float) * (size_t)m * N);
        double flop = 2.0 * m * N * K;
        for (int r = 0; r < 3; r++) backend_matmul(GPU, y, &w, x, m);
        backend_sync(GPU);
        double t0 = now_s();
        for (int r = 0; r < R; r++) backend_matmul(GPU, y, &w, x, m);
        backend_sync(GPU);
        double ours = (now_s() - t0) / R;
        void *a16, *b16;
        float *c;
        check_cuda(cudaMalloc(&a16, 2 * (size_t)N * K), "cudaMalloc");
        check_cuda(cudaMalloc(&b16, 2 * (size_t)m * K), "cudaMalloc");
        check_cuda(cudaMalloc((void **)&c, 4 * (size_t)m * N), "cudaMalloc");
        check_cuda(cudaMemcpy(a16, w.dev, 2 * (size_t)N * K, cudaMemcpyDeviceToDevice), "cudaMemcpy");
        check_cuda(cudaMemset(b16, 0x33, 2 * (size_t)m * K), "cudaMemset");   /* f16 0.22: finite, non-zero */
        const float alpha = 1, beta = 0;
        for (int r = 0; r < R + 3; r++) {
            if (r == 3) { check_cuda(cudaDeviceSynchronize(), "sync"); t0 = now_s(); }
            check_cublas(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, N, m, K, &alpha, a16, CUDA_R_16F, K, b16, CUDA_R_16F, K,
                                      &beta, c, CUDA_R_32F, N, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                         "cublasGemmEx");
        }
        check_cuda(cudaDeviceSynchronize(), "sync");
        double ref = (now_s() - t0) / R;
        char shape[32];
        snprintf(shape, sizeof shape, "%d x %d x %d", m, N, K);
        printf("%-22s %12.1f %14.1f %8.2f\n", shape, flop / ours / 1e12, flop / ref / 1e12, ref / ours);
        check_cuda(cudaFree(a16), "cudaFree");
        check_cuda(cudaFree(b16), "cudaFree");
        check_cuda(cudaFree(c), "cudaFree");
        backend_free(GPU, x);
        backend_free(GPU, y);
        backend_free_weight(GPU, &w);
        free(w.data);
    }
    check_cublas(cublasDestroy(h), "cublasDestroy");
}

/* ---- fp8a8: cuBLASLt FP8 GEMM vs the kernels ---- */

/* Seconds per backend_matmul, after 2 warm-ups; gemm_on switches the FP8
 * GEMM (f16 weights ignore it). *lt: whether the timed calls ran cuBLASLt. */
static double time_matmul(struct weight *w, float *y, const float *x, int m, int R, bool gemm_on, bool *lt)
{
    bool was = cuda_fp8_gemm_enable(GPU, gemm_on);
    for (int r = 0; r < 2; r++) backend_matmul(GPU, y, w, x, m);
    backend_sync(GPU);
    uint64_t n0 = cuda_fp8_gemm_count(GPU);
    double t0 = now_s();
    for (int r = 0; r < R; r++) backend_matmul(GPU, y, w, x, m);
    backend_sync(GPU);
    double s = (now_s() - t0) / R;
    if (lt) *lt = cuda_fp8_gemm_count(GPU) == n0 + (uint64_t)R;
    cuda_fp8_gemm_enable(GPU, was);
    return s;
}

static void bench_fp8(void)
{
    char why[192];
    int avail = cuda_fp8_gemm_status(GPU, NULL, NULL, why, sizeof why);
    printf("\nfp8a8 prefill GEMM, y[m][N] = x[m][K] W^T, x quantized to E4M3 per tensor (dynamic scale): cuBLASLt\n"
           "FP8 GEMM + column-scale epilogue vs the fp8a8 CUDA kernels vs f16 weights on cuBLAS (TFLOP/s = 2 m N K / time)\n"
           "%s\n", why);
    if (!avail) return;
    const int shapes[][3] = {{512, 4096, 4096}, {512, 11008, 4096}, {2048, 4096, 4096}};
    printf("%-22s %10s %10s %10s %8s %8s\n", "m x N x K", "lt", "kernels", "f16", "lt/kern", "lt/f16");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int m = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        struct weight w8, w16;
        make_weight(&w8, DT_F8A8, N, K);
        make_weight(&w16, DT_F16, N, K);
        float *x = dev_rand((size_t)m * K), *y = backend_alloc(GPU, sizeof(float) * (size_t)m * N);
        double flop = 2.0 * m * N * K;
        bool lt = false;
        double tl = time_matmul(&w8, y, x, m, 20, true, &lt), tk = time_matmul(&w8, y, x, m, 2, false, NULL);
        double tf = time_matmul(&w16, y, x, m, 20, true, NULL);
        char shape[32];
        snprintf(shape, sizeof shape, "%d x %d x %d", m, N, K);
        printf("%-22s %10.1f %10.2f %10.1f %8.1f %8.2f%s\n", shape, flop / tl / 1e12, flop / tk / 1e12, flop / tf / 1e12,
               tk / tl, tf / tl, lt ? "" : "  (cuBLASLt did not run: see the notes)");
        backend_free(GPU, x);
        backend_free(GPU, y);
        backend_free_weight(GPU, &w8);
        backend_free_weight(GPU, &w16);
        free(w8.data);
        free(w16.data);
    }
    const int ms[] = {1, 4, 8, 16, 32, 64, 128, 256};
    const int N = 4096, K = 4096;
    printf("\nfp8a8 m sweep, N = K = %d (us per matmul; the plan sends m >= %d to cuBLASLt;\n"
           "a GEMM at m < 16 would cost what m = 16 costs, its rows padded)\n", N,
           F8LT_MIN_M);
    printf("%-6s %10s %10s %8s\n", "m", "lt us", "kernels us", "kern/lt");
    struct weight w8;
    make_weight(&w8, DT_F8A8, N, K);
    float *x = dev_rand((size_t)256 * K), *y = backend_alloc(GPU, sizeof(float) * (size_t)256 * N);
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
        bool lt = false;
        double tk = time_matmul(&w8, y, x, ms[i], 10, false, NULL);
        double tl = ms[i] >= F8LT_MIN_M ? time_matmul(&w8, y, x, ms[i], 20, true, &lt) : 0;
        if (lt) printf("%-6d %10.1f %10.1f %8.2f\n", ms[i], tl * 1e6, tk * 1e6, tk / tl);
        else printf("%-6d %10s %10.1f %8s\n", ms[i], "-", tk * 1e6, "-");
    }
    backend_free(GPU, x);
    backend_free(GPU, y);
    backend_free_weight(GPU, &w8);
    free(w8.data);
}

/* ---- attention ---- */

/* A contiguous (one block) or paged KV view of n_ctx tokens, f16, filled. */
static void make_kv(struct kv_view *kv, int n_ctx, int Hkv, int d, int block_size)
{
    memset(kv, 0, sizeof *kv);
    int bs = block_size > 0 ? block_size : n_ctx, nb = (n_ctx + bs - 1) / bs;
    int32_t *table = xmalloc(sizeof *table * (size_t)nb);
    for (int b = 0; b < nb; b++) table[b] = nb - 1 - b;           /* scattered order */
    kv->table = table;
    kv->n_blocks = nb;
    kv->block_size = bs;
    kv->kv_dim = Hkv * d;
    kv->kv_type = DT_F16;
    kv->layer_stride = (size_t)nb * bs * kv->kv_dim;
    size_t bytes = kv->layer_stride * 2;
    kv->k = backend_alloc(GPU, bytes);
    kv->v = backend_alloc(GPU, bytes);
    if (!kv->k || !kv->v) { fprintf(stderr, "bench_gpu: out of device memory (KV)\n"); exit(1); }
    float *k = dev_rand((size_t)n_ctx * kv->kv_dim), *v = dev_rand((size_t)n_ctx * kv->kv_dim);
    backend_kv_store(GPU, kv, 0, 0, n_ctx, k, v);
    backend_sync(GPU);
    backend_free(GPU, k);
    backend_free(GPU, v);
}

static void free_kv(struct kv_view *kv)
{
    backend_free(GPU, kv->k);
    backend_free(GPU, kv->v);
    free((void *)kv->table);
}

static double time_attention(enum attn_impl impl, float *out, const float *q, const struct kv_view *kv, int n_q, int pos0,
                             const struct attn_shape *sh, int R)
{
    backend_attention(GPU, impl, out, q, kv, 0, n_q, pos0, sh);
    backend_sync(GPU);
    double t0 = now_s();
    for (int r = 0; r < R; r++) backend_attention(GPU, impl, out, q, kv, 0, n_q, pos0, sh);
    backend_sync(GPU);
    return (now_s() - t0) / R;
}

static void bench_attention(void)
{
    const int H = 32, Hkv = 8, d = 128, lens[] = {1024, 4096, 16384};
    struct attn_shape sh = {H, Hkv, d, 1.0f / sqrtf((float)d)};
    printf("\nprefill attention, causal, H=%d/%d d=%d, f16 KV: flash vs naive (naive writes S=P [H][n][n] f32)\n", H, Hkv, d);
    printf("%-8s %12s %12s %8s %14s\n", "tokens", "flash ms", "naive ms", "speedup", "flash TFLOP/s");
    size_t free_b = 0, total_b = 0;
    check_cuda(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo");
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        int n = lens[i];
        struct kv_view kv;
        make_kv(&kv, n, Hkv, d, 0);
        float *q = dev_rand((size_t)n * H * d), *out = backend_alloc(GPU, sizeof(float) * (size_t)n * H * d);
        double flop = 2.0 * 2.0 * H * (double)n * n * d / 2;        /* QK^T and PV, causal half */
        double tf = time_attention(ATTN_FLASH, out, q, &kv, n, 0, &sh, 3);
        double scores = 4.0 * H * (double)n * n;
        char naive[32] = "skipped", speed[16] = "-";
        if (scores < 0.5 * (double)free_b) {
            double tn = time_attention(ATTN_NAIVE, out, q, &kv, n, 0, &sh, 3);
            snprintf(naive, sizeof naive, "%.2f", tn * 1e3);
            snprintf(speed, sizeof speed, "%.2fx", tn / tf);
        } else {
            snprintf(naive, sizeof naive, "skip (%.0f GB)", scores / 1e9);
        }
        printf("%-8d %12.2f %12s %8s %14.1f\n", n, tf * 1e3, naive, speed, flop / tf / 1e12);
        backend_free(GPU, q);
        backend_free(GPU, out);
        free_kv(&kv);
    }
    printf("\npaged decode attention, one query, H=%d/%d d=%d, f16 KV in 16-token blocks (K+V bytes read per second)\n",
           H, Hkv, d);
    printf("%-8s %10s %10s %8s\n", "cached", "us/call", "GB/s", "% copy");
    const int ctx[] = {4096, 16384};
    for (size_t i = 0; i < 2; i++) {
        int L = ctx[i];
        struct kv_view kv;
        make_kv(&kv, L, Hkv, d, 16);
        float *q = dev_rand((size_t)H * d), *out = backend_alloc(GPU, sizeof(float) * (size_t)H * d);
        double t = time_attention(ATTN_FLASH, out, q, &kv, 1, L - 1, &sh, 50);
        double bytes = 2.0 * L * Hkv * d * 2;
        printf("%-8d %10.2f %10.1f %8.1f\n", L, t * 1e6, bytes / t / 1e9,
               GPU->measured_bw > 0 ? 100 * bytes / t / GPU->measured_bw : 0);
        backend_free(GPU, q);
        backend_free(GPU, out);
        free_kv(&kv);
    }
}

int main(void)
{
    char why[256], err[256];
    if (!cuda_probe(why, sizeof why)) {
        fprintf(stderr, "bench-gpu: no usable CUDA device: %s (nothing measured)\n", why);
        return 2;
    }
    GPU = cuda_backend_create(0, err, sizeof err);
    if (!GPU) { fprintf(stderr, "bench-gpu: %s\n", err); return 2; }
    printf("bench-gpu on %s\ncopy test: %.3f TB/s (256 MiB device copies, read + written)\n", GPU->device_name,
           GPU->measured_bw / 1e12);
    bench_matvec();
    bench_gemm();
    bench_fp8();
    bench_attention();
    backend_destroy(GPU);
    return 0;
}
