/* tests/gpu/gpu_check.c — every CUDA op against the CPU backend on random
 * inputs (odd shapes included), with per-op/per-dtype tolerances, plus a check
 * that CUPTI fills measured kernel durations into the kernel log.
 *
 * Tolerances allow for the CPU backend's own exp/sum order and, for f16/bf16
 * weights, the GPU rounding activations to the weight type before cuBLAS.
 * Error metric per case: max |gpu - cpu| / max |cpu| over the output (a
 * relative error at the output's scale), compared with the case's tolerance.
 * Prints one table row per case and a summary. Exit 0 all pass, 1 a failure,
 * 77 when no CUDA device is usable (nothing was checked). */
#include "kernels/formats.h"
#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_fp8_plan.h"
#include "kernels/xq_blocks.h"
#include "traces/cupti.h"
#include "core/model/sampler.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct backend *CPU, *GPU;
static int n_cases, n_failed;

/* ---- helpers ---- */

static uint64_t rng = 0x2545f4914f6cdd1dull;
static float rnd(float lo, float hi)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return lo + (hi - lo) * (float)((rng >> 40) * 0x1.0p-24);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) { fprintf(stderr, "gpu_check: out of host memory (%zu bytes)\n", n); exit(1); }
    return p;
}

static float *rand_vec(size_t n, float lo, float hi)
{
    float *v = xmalloc(sizeof *v * n);
    for (size_t i = 0; i < n; i++) v[i] = rnd(lo, hi);
    return v;
}

/* A device copy of host floats. */
static float *to_gpu(const float *h, size_t n)
{
    float *d = backend_alloc(GPU, sizeof *d * n);
    if (!d) { fprintf(stderr, "gpu_check: out of device memory (%zu floats)\n", n); exit(1); }
    backend_upload(GPU, d, h, sizeof *d * n);
    return d;
}

static float *from_gpu(const float *d, size_t n)
{
    float *h = xmalloc(sizeof *h * n);
    backend_download(GPU, h, d, sizeof *h * n);
    return h;
}

/* Records a case: rel = max|g-c| / max|c|. */
static void report(const char *op, const char *dtype, const char *shape, const float *cpu, const float *gpu,
                   size_t n, double tol, double ms)
{
    double num = 0, den = 0;
    bool finite = true;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(gpu[i])) finite = false;
        num = fmax(num, fabs((double)gpu[i] - cpu[i]));
        den = fmax(den, fabs((double)cpu[i]));
    }
    double rel = den > 0 ? num / den : num;
    bool ok = finite && rel <= tol;
    n_cases++;
    n_failed += !ok;
    printf("%-14s %-5s %-34s %10.3e %9.1e %9.3f  %s\n", op, dtype, shape, rel, tol, ms, ok ? "PASS" : "FAIL");
    fflush(stdout);
}

static double gpu_ms_since(uint64_t t0) { backend_sync(GPU); return (double)(now_ns() - t0) / 1e6; }

/* ---- matmul ---- */

static void make_weight(struct weight *w, enum dtype t, int rows, int cols, const float *f)
{
    memset(w, 0, sizeof *w);
    w->type = t;
    w->rows = rows;
    w->cols = cols;
    snprintf(w->name, sizeof w->name, "check.%s", dtype_info(t)->name);
    size_t n = (size_t)rows * cols;
    w->data = xmalloc(weight_bytes(w));
    if (t == DT_F32) memcpy(w->data, f, sizeof *f * n);
    else if (t == DT_F16) for (size_t i = 0; i < n; i++) ((uint16_t *)w->data)[i] = fp32_to_fp16(f[i]);
    else if (t == DT_BF16) for (size_t i = 0; i < n; i++) ((uint16_t *)w->data)[i] = fp32_to_bf16(f[i]);
    else
        for (int r = 0; r < rows; r++)
            dtype_encode_row(t, f + (size_t)r * cols, (char *)w->data + (size_t)r * dtype_row_bytes(t, cols), cols);
}

static void check_matmul(enum dtype t, int m, int N, int K, double tol)
{
    float *wf = rand_vec((size_t)N * K, -1, 1), *x = rand_vec((size_t)m * K, -1, 1);
    struct weight wc, wg;
    make_weight(&wc, t, N, K, wf);
    wg = wc;
    backend_upload_weight(CPU, &wc);
    if (backend_upload_weight(GPU, &wg) != 0) exit(1);
    float *yc = xmalloc(sizeof *yc * (size_t)m * N), *dx = to_gpu(x, (size_t)m * K);
    float *dy = backend_alloc(GPU, sizeof(float) * (size_t)m * N);
    backend_matmul(CPU, yc, &wc, x, m);
    uint64_t t0 = now_ns();
    backend_matmul(GPU, dy, &wg, dx, m);
    double ms = gpu_ms_since(t0);
    float *yg = from_gpu(dy, (size_t)m * N);
    char shape[48];
    snprintf(shape, sizeof shape, "m=%d N=%d K=%d", m, N, K);
    report("matmul", dtype_info(t)->name, shape, yc, yg, (size_t)m * N, tol, ms);
    backend_free(GPU, dx); backend_free(GPU, dy); backend_free_weight(GPU, &wg);
    free(wf); free(x); free(wc.data); free(yc); free(yg);
}

/* ggml block formats (q8_0 .. q6_k) run in place (kernels/cuda/cuda_qdot.cu):
 * the device copy keeps the GGUF format (no conversion note), and the result
 * matches the CPU backend's integer dots (same activation quantization, so
 * only the float summation order differs). */
static int n_notes;
static void count_note(void *user, const char *line)
{
    (void)user;
    n_notes++;
    printf("note: %s\n", line);
}

static void check_matmul_in_place(enum dtype t, int m, int N, int K, double tol)
{
    int notes0 = n_notes;
    GPU->note = count_note;
    check_matmul(t, m, N, K, n_notes == notes0 ? tol : -1);
    GPU->note = NULL;
    if (n_notes != notes0) {
        printf("  %s was converted on upload instead of running in place: FAIL\n", dtype_info(t)->name);
        n_cases++;
        n_failed++;
    }
}

/* ---- fp8a8 through cuBLASLt's FP8 GEMM (kernels/cuda/cuda_fp8lt.cu) ----
 * Both backends multiply the same E4M3 codes: the weight bytes are the same,
 * and x is coded by the same scale rule and encoder (tests/unit/test_cuda_fp8.c
 * shows f8lt_encode / f8lt_act_scale equal the CPU's code for code); every
 * product of two E4M3 values is exact in f32 (4-bit significands), and both
 * finish with (ws·a)·Σ. What differs is the sum's order and precision:
 *   - the CPU's f32 sums: within (K-1)·u·Σ|p|, u = 2^-24;
 *   - cuBLASLt, fast accumulation off: the tensor cores' partial sums are
 *     promoted into f32 periodically; inside one MMA block Hopper's FP8 path
 *     keeps about 14 bits after aligning the addends (DeepSeek-V3 technical
 *     report, sec. 3.3.2, measured on H800; not measured here), so at most
 *     2^-13·Σ|p| over all blocks, plus the f32 promotions' K·u·Σ|p|;
 *   - the kernels (m < 16 or an odd shape): f32 sums, K·u·Σ|p|;
 *   - the (ws·a)·Σ roundings: 4u relative on each side.
 * Tolerance per element: |gpu - cpu| <= ws[n]·a·Σ_k|p_k|·(2^-12 + (2K + 8)·u),
 * the 2^-13 doubled for margin. The rel.err column of these rows is the max
 * over the output of |gpu - cpu| / that bound (tol 1). A wrong layout, scale
 * or transpose moves y by about |y| ~ Σ|p|/sqrt(K): far outside. The path is
 * checked too: the GEMM ran exactly when the device has it (cc >= 8.9) and
 * the plan picks it for the shape (cuda_fp8_gemm_count). */

/* bound[i][n] = ws[n]·a·Σ_k |e4m3(qw[n][k])·e4m3(qx[i][k])| · factor. */
static double *fp8_bounds(const struct weight *w, const float *x, int m, float a)
{
    const int N = w->rows, K = w->cols;
    const size_t rb = dtype_row_bytes(DT_F8A8, K);
    const double factor = 0x1p-12 + (2.0 * K + 8) * 0x1p-24;
    float *xa = xmalloc(sizeof *xa * (size_t)m * K);
    for (size_t i = 0; i < (size_t)m * K; i++) xa[i] = fabsf(fp8_e4m3_to_f32(f8lt_encode(x[i], a)));
    double *b = xmalloc(sizeof *b * (size_t)m * N);
    float *wa = xmalloc(sizeof *wa * (size_t)K);
    for (int n = 0; n < N; n++) {
        const uint8_t *row = (const uint8_t *)w->data + (size_t)n * rb;
        for (int k = 0; k < K; k++) wa[k] = fabsf(fp8_e4m3_to_f32(row[XQ_ROW_HDR + k]));
        double ws = xq_row_scale(row);
        for (int i = 0; i < m; i++) {
            double s = 0;
            for (int k = 0; k < K; k++) s += (double)wa[k] * xa[(size_t)i * K + k];
            b[(size_t)i * N + n] = ws * a * s * factor;
        }
    }
    free(xa);
    free(wa);
    return b;
}

/* static_scale: a calibrated per-tensor scale (0.8 of max|x|/448: outliers
 * saturate on both sides); else the dynamic one. gemm_on false forces the
 * kernels. */
static void check_fp8_gemm(int m, int N, int K, bool static_scale, bool gemm_on)
{
    int maj = 0, min = 0;
    char why[192];
    int avail = cuda_fp8_gemm_status(GPU, &maj, &min, why, sizeof why);
    float *wf = rand_vec((size_t)N * K, -1, 1), *x = rand_vec((size_t)m * K, -1, 1);
    float mx = 0;
    for (size_t i = 0; i < (size_t)m * K; i++) {
        if (rnd(0, 1) < 0.01f) x[i] *= 25.f;             /* activation outliers */
        mx = fmaxf(mx, fabsf(x[i]));
    }
    struct weight wc, wg;
    make_weight(&wc, DT_F8A8, N, K, wf);
    wc.act_scale = static_scale ? 0.8f * mx / FP8_E4M3_MAX : 0.f;
    wg = wc;
    backend_upload_weight(CPU, &wc);
    if (backend_upload_weight(GPU, &wg) != 0) exit(1);
    float *yc = xmalloc(sizeof *yc * (size_t)m * N), *dx = to_gpu(x, (size_t)m * K);
    float *dy = backend_alloc(GPU, sizeof(float) * (size_t)m * N);
    backend_matmul(CPU, yc, &wc, x, m);
    bool was = cuda_fp8_gemm_enable(GPU, gemm_on);
    struct f8lt_plan p;
    f8lt_plan_make(&p, maj, min, gemm_on, m, N, K, (uintptr_t)dy);
    bool want = avail && p.gemm;
    uint64_t n0 = cuda_fp8_gemm_count(GPU), t0 = now_ns();
    backend_matmul(GPU, dy, &wg, dx, m);
    double ms = gpu_ms_since(t0);
    bool ran = cuda_fp8_gemm_count(GPU) == n0 + 1;
    cuda_fp8_gemm_enable(GPU, was);
    float *yg = from_gpu(dy, (size_t)m * N);
    double *bound = fp8_bounds(&wc, x, m, f8lt_act_scale(wc.act_scale, mx)), worst = 0;
    bool finite = true;
    for (size_t i = 0; i < (size_t)m * N; i++) {
        finite = finite && isfinite(yg[i]);
        worst = fmax(worst, fabs((double)yg[i] - yc[i]) / (bound[i] > 0 ? bound[i] : 1e-30));
    }
    bool ok = finite && worst <= 1.0 && ran == want;
    char shape[48];
    snprintf(shape, sizeof shape, "m=%d N=%d K=%d %s %s", m, N, K, static_scale ? "static" : "dyn",
             ran ? "lt" : "kern");
    n_cases++;
    n_failed += !ok;
    printf("%-14s %-5s %-34s %10.3e %9.1e %9.3f  %s\n", "fp8_gemm", "fp8a8", shape, worst, 1.0, ms, ok ? "PASS" : "FAIL");
    if (ran != want)
        printf("  path: expected %s (%s), ran %s\n", want ? "cuBLASLt" : "the kernels",
               avail ? f8lt_why_text(p.why) : why, ran ? "cuBLASLt" : "the kernels");
    fflush(stdout);
    backend_free(GPU, dx); backend_free(GPU, dy); backend_free_weight(GPU, &wg);
    free(wf); free(x); free(wc.data); free(yc); free(yg); free(bound);
}

/* ---- KV store + attention ---- */

struct attn_case { int H, Hkv, d, n_q, pos0, block_size; bool paged; };

/* Paged: nb distinct blocks drawn at random from a pool of nb+3 (so the table
 * is out of order and has gaps). Contiguous: one block holding every token. */
static void build_view(struct kv_view *kv, int32_t **table, const struct attn_case *ac)
{
    int n_ctx = ac->pos0 + ac->n_q;
    int bs = ac->paged ? ac->block_size : n_ctx;
    int nb = (n_ctx + bs - 1) / bs, pool_blocks = ac->paged ? nb + 3 : 1;
    int32_t *perm = xmalloc(sizeof *perm * (size_t)pool_blocks);
    for (int b = 0; b < pool_blocks; b++) perm[b] = b;
    for (int b = pool_blocks - 1; b > 0; b--) {
        int j = (int)rnd(0, (float)b + 0.999f), tmp = perm[b];
        perm[b] = perm[j];
        perm[j] = tmp;
    }
    *table = perm;                                /* first nb entries are the table */
    memset(kv, 0, sizeof *kv);
    kv->table = perm;
    kv->n_blocks = nb;
    kv->block_size = bs;
    kv->kv_dim = ac->Hkv * ac->d;
    kv->layer_stride = (size_t)pool_blocks * bs * kv->kv_dim;
}

/* A pool of n elements of kt as floats (f16 widened exactly), for report(). */
static float *pool_as_f32(const void *pool, size_t n, enum dtype kt)
{
    float *f = xmalloc(sizeof *f * n);
    for (size_t i = 0; i < n; i++)
        f[i] = kt == DT_F16 ? fp16_to_fp32(((const uint16_t *)pool)[i]) : ((const float *)pool)[i];
    return f;
}

/* K/V of type kt (f32 or f16): the stores must agree bit for bit (both round
 * to nearest even), attention within the f32 tolerance (same K/V values). */
static void check_attention(const struct attn_case *ac, enum dtype kt)
{
    const int layers = 2, layer = 1, n_ctx = ac->pos0 + ac->n_q;
    struct kv_view kc, kg;
    int32_t *table;
    build_view(&kc, &table, ac);
    kc.kv_type = kt;
    size_t pool = (size_t)layers * kc.layer_stride, eb = kv_elem_bytes(&kc);
    kc.k = calloc(pool, eb);
    kc.v = calloc(pool, eb);
    if (!kc.k || !kc.v) { fprintf(stderr, "gpu_check: out of host memory\n"); exit(1); }
    kg = kc;
    kg.k = backend_alloc(GPU, pool * eb);
    kg.v = backend_alloc(GPU, pool * eb);
    if (!kg.k || !kg.v) { fprintf(stderr, "gpu_check: out of device memory (KV pool)\n"); exit(1); }
    backend_upload(GPU, kg.k, kc.k, pool * eb);
    backend_upload(GPU, kg.v, kc.v, pool * eb);
    size_t qn = (size_t)ac->n_q * ac->H * ac->d, kn = (size_t)n_ctx * kc.kv_dim;
    float *k = rand_vec(kn, -1, 1), *v = rand_vec(kn, -1, 1), *q = rand_vec(qn, -1, 1);
    float *dk = to_gpu(k, kn), *dv = to_gpu(v, kn), *dq = to_gpu(q, qn), *dout = backend_alloc(GPU, sizeof(float) * qn);
    /* the cache: prefix pos0 tokens in one store, the new n_q tokens in another */
    backend_kv_store(CPU, &kc, layer, 0, n_ctx, k, v);
    if (ac->pos0) backend_kv_store(GPU, &kg, layer, 0, ac->pos0, dk, dv);
    backend_kv_store(GPU, &kg, layer, ac->pos0, ac->n_q, dk + (size_t)ac->pos0 * kc.kv_dim,
                     dv + (size_t)ac->pos0 * kc.kv_dim);
    char shape[48];
    snprintf(shape, sizeof shape, "H=%d/%d d=%d q=%d pos0=%d %s", ac->H, ac->Hkv, ac->d, ac->n_q, ac->pos0,
             ac->paged ? "paged" : "contig");
    const char *kname = dtype_info(kt)->name;
    void *kgb = xmalloc(pool * eb), *vgb = xmalloc(pool * eb);
    backend_download(GPU, kgb, kg.k, pool * eb);
    backend_download(GPU, vgb, kg.v, pool * eb);
    float *kgh = pool_as_f32(kgb, pool, kt), *vgh = pool_as_f32(vgb, pool, kt);
    float *kch = pool_as_f32(kc.k, pool, kt), *vch = pool_as_f32(kc.v, pool, kt);
    report("kv_store.k", kname, shape, kch, kgh, pool, 0, 0);
    report("kv_store.v", kname, shape, vch, vgh, pool, 0, 0);
    struct attn_shape sh = {ac->H, ac->Hkv, ac->d, 1.0f / sqrtf((float)ac->d)};
    float *oc = xmalloc(sizeof *oc * qn);
    for (int impl = ATTN_NAIVE; impl <= ATTN_FLASH; impl++) {
        backend_attention(CPU, (enum attn_impl)impl, oc, q, &kc, layer, ac->n_q, ac->pos0, &sh);
        uint64_t t0 = now_ns();
        backend_attention(GPU, (enum attn_impl)impl, dout, dq, &kg, layer, ac->n_q, ac->pos0, &sh);
        double ms = gpu_ms_since(t0);
        float *og = from_gpu(dout, qn);
        report(impl == ATTN_NAIVE ? "attn_naive" : "attn_flash", kname, shape, oc, og, qn, 1e-4, ms);
        free(og);
    }
    backend_free(GPU, kg.k); backend_free(GPU, kg.v); backend_free(GPU, dk); backend_free(GPU, dv);
    backend_free(GPU, dq); backend_free(GPU, dout);
    free(kc.k); free(kc.v); free(k); free(v); free(q); free(oc); free(table);
    free(kgb); free(vgb); free(kgh); free(vgh); free(kch); free(vch);
}

/* ---- row and element-wise ops ---- */

static void check_rmsnorm(int m, int n)
{
    float *x = rand_vec((size_t)m * n, -3, 3), *w = rand_vec((size_t)n, 0.5f, 1.5f), *yc = xmalloc(sizeof(float) * (size_t)m * n);
    float *dx = to_gpu(x, (size_t)m * n), *dw = to_gpu(w, (size_t)n), *dy = backend_alloc(GPU, sizeof(float) * (size_t)m * n);
    backend_rmsnorm(CPU, yc, x, w, m, n, 1e-5f);
    uint64_t t0 = now_ns();
    backend_rmsnorm(GPU, dy, dx, dw, m, n, 1e-5f);
    double ms = gpu_ms_since(t0);
    float *yg = from_gpu(dy, (size_t)m * n);
    char shape[48];
    snprintf(shape, sizeof shape, "m=%d n=%d", m, n);
    report("rmsnorm", "f32", shape, yc, yg, (size_t)m * n, 1e-5, ms);
    backend_free(GPU, dx); backend_free(GPU, dw); backend_free(GPU, dy);
    free(x); free(w); free(yc); free(yg);
}

static void check_rope(int m, int heads, int hd, struct rope_params rp, int max_pos)
{
    size_t n = (size_t)m * heads * hd;
    float *xc = rand_vec(n, -2, 2), *dx = to_gpu(xc, n);
    int *pos = xmalloc(sizeof *pos * (size_t)m);
    for (int i = 0; i < m; i++) pos[i] = (int)rnd(0, (float)max_pos);
    backend_rope(CPU, xc, pos, m, heads, hd, &rp);
    uint64_t t0 = now_ns();
    backend_rope(GPU, dx, pos, m, heads, hd, &rp);
    double ms = gpu_ms_since(t0);
    float *xg = from_gpu(dx, n);
    char shape[48];
    snprintf(shape, sizeof shape, "m=%d h=%d d=%d pos<%d%s", m, heads, hd, max_pos, rp.factor > 0 ? " llama3" : "");
    report("rope", "f32", shape, xc, xg, n, 5e-4, ms);
    backend_free(GPU, dx);
    free(xc); free(xg); free(pos);
}

static void check_eltwise(int64_t n)
{
    float *g = rand_vec((size_t)n, -8, 8), *u = rand_vec((size_t)n, -2, 2), *oc = xmalloc(sizeof(float) * (size_t)n);
    float *dg = to_gpu(g, (size_t)n), *du = to_gpu(u, (size_t)n), *dout = backend_alloc(GPU, sizeof(float) * (size_t)n);
    char shape[48];
    snprintf(shape, sizeof shape, "n=%ld", (long)n);
    backend_swiglu(CPU, oc, g, u, n);
    uint64_t t0 = now_ns();
    backend_swiglu(GPU, dout, dg, du, n);
    double ms = gpu_ms_since(t0);
    float *og = from_gpu(dout, (size_t)n);
    report("swiglu", "f32", shape, oc, og, (size_t)n, 1e-5, ms);
    backend_add(CPU, g, u, n);
    t0 = now_ns();
    backend_add(GPU, dg, du, n);
    ms = gpu_ms_since(t0);
    free(og);
    og = from_gpu(dg, (size_t)n);
    report("add", "f32", shape, g, og, (size_t)n, 0, ms);
    backend_free(GPU, dg); backend_free(GPU, du); backend_free(GPU, dout);
    free(g); free(u); free(oc); free(og);
}

/* shard_rows > 0: a vocab-parallel row shard [shard_lo, +shard_rows) of the
 * table; tokens outside it give zero rows on both backends. */
static void check_embed_rows(enum dtype t, int rows, int cols, int m, int shard_lo, int shard_rows)
{
    float *f = rand_vec((size_t)rows * cols, -1, 1);
    struct weight full, wc, wg;
    make_weight(&full, t, rows, cols, f);
    wc = full;
    if (shard_rows > 0) {
        char err[256];
        if (weight_shard(&wc, &full, SHARD_ROWS, shard_lo, shard_rows, err, sizeof err) != 0) {
            fprintf(stderr, "embed shard: %s\n", err);
            exit(1);
        }
    }
    wg = wc;
    backend_upload_weight(CPU, &wc);
    if (backend_upload_weight(GPU, &wg) != 0) exit(1);
    int *tok = xmalloc(sizeof *tok * (size_t)m);
    for (int i = 0; i < m; i++) tok[i] = (int)rnd(0, (float)rows - 0.001f);
    tok[0] = rows - 1;
    float *oc = xmalloc(sizeof(float) * (size_t)m * cols), *dout = backend_alloc(GPU, sizeof(float) * (size_t)m * cols);
    backend_embed(CPU, oc, &wc, tok, m);
    uint64_t t0 = now_ns();
    backend_embed(GPU, dout, &wg, tok, m);
    double ms = gpu_ms_since(t0);
    float *og = from_gpu(dout, (size_t)m * cols);
    char shape[48];
    if (shard_rows > 0) snprintf(shape, sizeof shape, "rows=%d+%d of %d cols=%d m=%d", shard_lo, shard_rows, rows, cols, m);
    else snprintf(shape, sizeof shape, "rows=%d cols=%d m=%d", rows, cols, m);
    /* float tables are copied exactly; block formats are read from their f16
     * upload conversion: rounding of at most 2^-11 of a value */
    report("embed", dtype_info(t)->name, shape, oc, og, (size_t)m * cols, dtype_is_quant(t) ? 1e-3 : 0, ms);
    backend_free(GPU, dout); backend_free_weight(GPU, &wg);
    free(f); free(full.data); free(tok); free(oc); free(og);
}

/* ---- device sampling (kernels/cuda/cuda_sample.cu) ----
 * Per row the CPU sampler's token for the uniform it draws, against the
 * device's pick with that same uniform; greedy must match exactly, sampled
 * rows too (a mismatch is only possible when u falls within the few-ulp
 * difference of the device's expf at a cumulative boundary: counted, and
 * more than one in the case fails). */
static void check_sampling(int rows, int vocab, float temp, int top_k, float top_p)
{
    float *l = rand_vec((size_t)rows * vocab, -8, 8);
    float *dl = to_gpu(l, (size_t)rows * vocab);
    int32_t *ids = xmalloc(sizeof *ids * (size_t)rows), *want = xmalloc(sizeof *want * (size_t)rows);
    double *u = xmalloc(sizeof *u * (size_t)rows);
    struct sampler smp;
    if (sampler_init(&smp, vocab, temp, top_k, top_p, 42) != 0) exit(1);
    for (int r = 0; r < rows; r++) {
        struct sampler peek = smp;
        u[r] = sampler_uniform(&peek);
        want[r] = sampler_sample(&smp, l + (size_t)r * vocab);
    }
    uint64_t t0 = now_ns();
    struct sample_params sp = {temp, top_k, top_p};
    if (!backend_can_sample(GPU) || backend_sample(GPU, ids, dl, rows, vocab, &sp, u) != 0) exit(1);
    double ms = (double)(now_ns() - t0) / 1e6;
    int miss = 0;
    for (int r = 0; r < rows; r++) miss += ids[r] != want[r];
    bool ok = temp <= 0 ? miss == 0 : miss <= 1;
    char shape[48];
    snprintf(shape, sizeof shape, "rows=%d V=%d T=%.2g k=%d p=%.2g", rows, vocab, temp, top_k, top_p);
    printf("%-14s %-5s %-34s %10d %9d %9.3f  %s\n", "sample", "f32", shape, miss, temp <= 0 ? 0 : 1, ms,
           ok ? "PASS" : "FAIL");
    n_cases++;
    n_failed += !ok;
    sampler_free(&smp);
    backend_free(GPU, dl);
    free(l); free(ids); free(want); free(u);
}

static void check_embed(enum dtype t, int rows, int cols, int m) { check_embed_rows(t, rows, cols, m, 0, 0); }

/* ---- CUPTI: logged ops get measured durations at sync ---- */

static void check_measured_durations(void)
{
    struct kernel_log log;
    kernel_log_init(&log, 64);
    GPU->log = &log;
    check_eltwise(1 << 16);
    check_rmsnorm(4, 576);
    check_matmul(DT_F16, 3, 576, 576, 3e-3);
    GPU->log = NULL;
    int measured = 0;
    for (int i = 0; i < log.n; i++) measured += log.recs[i].dur_measured && log.recs[i].dur_ns > 0;
    struct cupti_stats st;
    cupti_collector_stats(&st);
    bool ok = log.n > 0 && measured == log.n;
    printf("cupti: %d of %d logged ops have measured GPU durations; kernels=%llu memcpys=%llu dropped=%llu unmatched=%llu  %s\n",
           measured, log.n, (unsigned long long)st.kernels, (unsigned long long)st.memcpys,
           (unsigned long long)st.dropped, (unsigned long long)st.unmatched,
           cupti_collector_active() ? (ok ? "PASS" : "FAIL") : "SKIP (CUPTI unavailable)");
    for (int i = 0; i < log.n; i++)
        printf("  %-12s measured=%d dur=%8.3f us\n", log.recs[i].name, log.recs[i].dur_measured,
               (double)log.recs[i].dur_ns / 1e3);
    n_cases++;
    n_failed += cupti_collector_active() && !ok;
    kernel_log_free(&log);
}

int main(void)
{
    char why[256], err[256];
    if (!cuda_probe(why, sizeof why)) {
        printf("gpu_check: no usable CUDA device: %s (nothing checked)\n", why);
        return 77;
    }
    printf("gpu_check: %s\n", why);
    GPU = cuda_backend_create(0, err, sizeof err);
    CPU = cpu_backend_create(0, CPU_SIMD_AVX512);
    if (!GPU || !CPU) {
        printf("gpu_check: backend creation failed: %s\n", GPU ? "cpu backend" : err);
        return 1;
    }
    printf("gpu: %s | %s\ncpu: %s\ncopy test: %.3f TB/s (read + written, 256 MiB device copies)\n\n",
           GPU->device_name, GPU->reason, CPU->device_name, GPU->measured_bw / 1e12);
    printf("%-14s %-5s %-34s %10s %9s %9s  %s\n", "op", "dtype", "shape", "rel.err", "tol", "gpu ms", "result");

    enum dtype mm[] = {DT_F32, DT_F16, DT_BF16};
    double mm_tol[] = {2e-5, 3e-3, 2e-2};
    int mm_shapes[][3] = {{1, 576, 576}, {7, 1000, 577}, {64, 1536, 576}, {1, 4096, 4096}, {33, 4099, 1024}, {5, 49152, 576}};
    for (int t = 0; t < 3; t++)
        for (size_t s = 0; s < sizeof mm_shapes / sizeof mm_shapes[0]; s++)
            check_matmul(mm[t], mm_shapes[s][0], mm_shapes[s][1], mm_shapes[s][2], mm_tol[t]);
    /* block formats in place; K a multiple of 256 for the K formats */
    int q32_shapes[][3] = {{1, 576, 576}, {7, 1000, 576}, {64, 1536, 576}, {1, 4096, 4096}, {33, 4099, 1024},
                           {5, 49152, 576}, {1, 576, 1536}};
    int q256_shapes[][3] = {{1, 576, 512}, {7, 1000, 1536}, {64, 1536, 512}, {1, 4096, 4096}, {33, 4099, 1024},
                            {5, 49152, 512}, {1, 576, 1536}};
    for (int t = DT_Q8_0; t <= DT_Q6_K; t++) {
        bool k_format = t == DT_Q4_K || t == DT_Q6_K;
        for (size_t s = 0; s < sizeof q32_shapes / sizeof q32_shapes[0]; s++) {
            const int *sh = k_format ? q256_shapes[s] : q32_shapes[s];
            check_matmul_in_place((enum dtype)t, sh[0], sh[1], sh[2], 1e-4);
        }
    }

    /* 2:4 sparse weights, read in place (kernels/cuda/cuda_sparse.cu): the
     * warp-per-row matvec at m = 1 (every type) and for s24_f32/s24_q8 at any
     * m; mma.sp sparse tensor cores for s24_f16 at m > 1 (x rounded to f16,
     * hence f16's tolerance). K a multiple of 16; ragged N and m included.
     * s24_q8: both multiply int8 activations quantized per 16 by the same
     * code (sparse24_act_block) with exact integer block dots; only the
     * float sum of the block terms differs in order, hence 1e-4 as for the
     * block formats. */
    enum dtype sp[] = {DT_S24_F16, DT_S24_F32, DT_S24_Q8};
    double sp_tol[] = {3e-3, 2e-5, 1e-4};
    int sp_shapes[][3] = {{1, 576, 576}, {7, 1000, 576}, {64, 1536, 576}, {1, 4096, 4096}, {33, 4099, 1024}, {9, 576, 1536}};
    for (int t = 0; t < 3; t++)
        for (size_t s = 0; s < sizeof sp_shapes / sizeof sp_shapes[0]; s++)
            check_matmul(sp[t], sp_shapes[s][0], sp_shapes[s][1], sp_shapes[s][2], sp_tol[t]);

    /* own formats (core/quant): cuda_xq.cu against the CPU kernels; W8A8 is
     * exact integer math on both, FP8A8 and the float sums differ in order */
    for (int t = DT_I8; t <= DT_F8A8; t++) {
        double tol = t == DT_F8A8 ? 1e-3 : 1e-4;
        check_matmul((enum dtype)t, 1, 576, 576, tol);
        check_matmul((enum dtype)t, 9, 1536, 576, tol);
        check_matmul((enum dtype)t, 3, 576, 1536, tol);
    }

    /* fp8a8 prefill / batches through cuBLASLt's FP8 GEMM where the device
     * has it (cc >= 8.9); the shapes it refuses and the switch turned off run
     * the kernels under the same bound */
    char fp8why[192];
    cuda_fp8_gemm_status(GPU, NULL, NULL, fp8why, sizeof fp8why);
    printf("fp8 gemm: %s\n", fp8why);
    check_fp8_gemm(16, 576, 576, false, true);      /* m = m_pad: the GEMM writes y */
    check_fp8_gemm(33, 576, 1536, false, true);     /* padded to 48: raw sums in scratch */
    check_fp8_gemm(128, 1536, 576, true, true);
    check_fp8_gemm(512, 2048, 1024, false, true);
    check_fp8_gemm(64, 1024, 1024, true, true);
    check_fp8_gemm(9, 1536, 576, false, true);      /* m < 16: the kernels */
    check_fp8_gemm(64, 1000, 576, false, true);     /* N % 16: the kernels */
    check_fp8_gemm(128, 1536, 576, false, false);   /* switched off: the kernels */

    struct attn_case ac[] = {
        {9, 3, 64, 1, 0, 16, true},    {9, 3, 64, 1, 777, 16, true},  {9, 3, 64, 37, 100, 16, true},
        {9, 3, 64, 37, 100, 16, false}, {32, 8, 128, 1, 4095, 32, true}, {32, 8, 128, 128, 0, 16, true},
        {8, 8, 80, 20, 33, 8, true},   {8, 1, 256, 5, 300, 16, true}, {4, 4, 32, 200, 0, 16, false},
        {6, 2, 96, 65, 63, 24, true},
    };
    for (size_t i = 0; i < sizeof ac / sizeof ac[0]; i++) {
        check_attention(&ac[i], DT_F32);
        check_attention(&ac[i], DT_F16);
    }

    int rn[][2] = {{1, 576}, {7, 4096}, {33, 1000}, {3, 31}};
    for (size_t i = 0; i < sizeof rn / sizeof rn[0]; i++) check_rmsnorm(rn[i][0], rn[i][1]);
    check_rope(13, 9, 64, (struct rope_params){10000.f, 0, 0, 0, 0}, 2048);
    check_rope(5, 32, 128, (struct rope_params){500000.f, 8.f, 1.f, 4.f, 8192}, 2048);
    check_rope(1, 3, 2, (struct rope_params){10000.f, 0, 0, 0, 0}, 100);
    check_eltwise(1);
    check_eltwise(1001);
    check_eltwise((1 << 20) + 7);
    enum dtype et[] = {DT_F32, DT_F16, DT_BF16, DT_Q8_0, DT_Q4_1};
    for (size_t i = 0; i < sizeof et / sizeof et[0]; i++) check_embed(et[i], 1000, 576, 9);
    check_sampling(8, 49152, 0.f, 40, 1.f);
    check_sampling(64, 49152, 0.f, 0, 1.f);
    check_sampling(8, 49152, 0.8f, 40, 1.f);
    check_sampling(8, 49152, 1.f, 0, 0.9f);
    check_sampling(4, 32000, 0.7f, 0, 1.f);
    check_sampling(3, 1000, 1.2f, 5, 0.5f);
    for (size_t i = 0; i < sizeof et / sizeof et[0]; i++) check_embed_rows(et[i], 1000, 576, 41, 333, 334);
    check_measured_durations();

    printf("\nsummary: %d cases, %d passed, %d failed\n", n_cases, n_cases - n_failed, n_failed);
    backend_destroy(GPU);
    backend_destroy(CPU);
    return n_failed ? 1 : 0;
}
