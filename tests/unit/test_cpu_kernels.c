/* tests/unit/test_cpu_kernels.c — every CPU op against a plain double-precision
 * reference on random inputs, at odd and even shapes, on the scalar path and
 * every SIMD path the machine has, with 1 and 2 threads. */
#include "kernels/formats.h"
#include "kernels/backend.h"
#include "kernels/cost.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/attn_kernels.h"
#include "kernels/cpu/dot_tile.h"
#include "kernels/cpu/quant.h"
#include "kernels/cpu/threadpool.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers ---------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static void rng_seed(uint64_t s) { rng_state = s * 0x9e3779b97f4a7c15ull + 1; }

/* Uniform in [-1, 1], never exactly zero. */
static float rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    float u = (float)((rng_state >> 40) + 1) / (float)(1ull << 24);   /* (0, 1] */
    return 2.0f * u - 1.0f + 0x1p-20f;
}

static float *rnd_vec(size_t n)
{
    float *v = malloc(n * sizeof *v);
    cr_assert_not_null(v);
    for (size_t i = 0; i < n; i++) v[i] = rnd();
    return v;
}

/* Backend configurations every op is checked on: scalar and each SIMD level
 * the processor has, times 1 and 2 threads. */
struct cfg { int threads; enum cpu_simd simd; };

static int all_cfgs(struct cfg *out)
{
    int n = 0;
    for (int s = CPU_SIMD_SCALAR; s <= (int)cpu_simd_detect(); s++)
        for (int t = 1; t <= 2; t++) out[n++] = (struct cfg){t, (enum cpu_simd)s};
    return n;
}

static struct backend *make_be(struct cfg c)
{
    struct backend *be = cpu_backend_create(c.threads, c.simd);
    cr_assert_not_null(be);
    return be;
}

/* ---- matmul ----------------------------------------------------------- */

/* A weight of type t with random values; wd gets the dequantized values. */
static struct weight make_weight(enum dtype t, int rows, int cols, double *wd)
{
    struct weight w = {.type = t, .rows = rows, .cols = cols};
    w.data = malloc(weight_bytes(&w));
    cr_assert_not_null(w.data);
    float *row = rnd_vec((size_t)cols), *back = malloc((size_t)cols * sizeof *back);
    cr_assert_not_null(back);
    for (int r = 0; r < rows; r++) {
        uint8_t *dst = (uint8_t *)w.data + (size_t)r * dtype_row_bytes(t, cols);
        for (int k = 0; k < cols; k++) row[k] = rnd();
        for (int k = 0; k < cols; k++) {
            if (t == DT_F32) { memcpy(dst + 4 * k, &row[k], 4); back[k] = row[k]; }
            if (t == DT_F16) { uint16_t h = fp32_to_fp16(row[k]); memcpy(dst + 2 * k, &h, 2); back[k] = fp16_to_fp32(h); }
            if (t == DT_BF16) { uint16_t h = fp32_to_bf16(row[k]); memcpy(dst + 2 * k, &h, 2); back[k] = bf16_to_fp32(h); }
        }
        if (dtype_is_quant(t)) {
            dtype_encode_row(t, row, dst, cols);
            dtype_decode_row(t, dst, back, cols);
        }
        for (int k = 0; k < cols; k++) wd[(size_t)r * cols + k] = back[k];
    }
    free(row);
    free(back);
    return w;
}

/* y_ref[i][n] = sum_k x[i][k] w[n][k] in double; mag = sum |x w| (error scale). */
static void matmul_ref(const double *wd, const float *x, int m, int N, int K, double *y, double *mag)
{
    for (int i = 0; i < m; i++)
        for (int n = 0; n < N; n++) {
            double s = 0, a = 0;
            for (int k = 0; k < K; k++) {
                double p = (double)x[(size_t)i * K + k] * wd[(size_t)n * K + k];
                s += p;
                a += fabs(p);
            }
            y[(size_t)i * N + n] = s;
            mag[(size_t)i * N + n] = a;
        }
}

static void check_matmul_float(enum dtype t, int K, int N, int m)
{
    struct cfg cfgs[8];
    int nc = all_cfgs(cfgs);
    double *wd = malloc((size_t)N * K * sizeof *wd), *yr = malloc((size_t)m * N * sizeof *yr),
           *mag = malloc((size_t)m * N * sizeof *mag);
    cr_assert(wd && yr && mag);
    struct weight w = make_weight(t, N, K, wd);
    float *x = rnd_vec((size_t)m * K), *y = malloc((size_t)m * N * sizeof *y);
    cr_assert_not_null(y);
    matmul_ref(wd, x, m, N, K, yr, mag);
    for (int c = 0; c < nc; c++) {
        struct backend *be = make_be(cfgs[c]);
        cr_assert(backend_supports(be, OP_MATMUL, t));
        backend_matmul(be, y, &w, x, m);
        for (int i = 0; i < m * N; i++)
            /* float accumulation of K products: error well under 1e-5 of sum|x w| */
            cr_assert(fabs(y[i] - yr[i]) <= 1e-5 * mag[i] + 1e-7,
                      "%s K=%d N=%d m=%d simd=%s threads=%d: y[%d]=%.8g ref %.8g",
                      dtype_info(t)->name, K, N, m, cpu_simd_name(cfgs[c].simd),
                      cfgs[c].threads, i, (double)y[i], yr[i]);
        backend_destroy(be);
    }
    free(w.data); free(wd); free(yr); free(mag); free(x); free(y);
}

static const int MM_SHAPES[][3] = {   /* K, N, m */
    {67, 13, 1}, {67, 13, 3}, {67, 13, 17}, {64, 32, 4}, {576, 96, 1}, {576, 96, 9},
    {33, 200, 5}, {1, 7, 2}, {130, 300, 40},
};

static void check_matmul_all_shapes(enum dtype t)
{
    rng_seed(7 + t);
    for (size_t s = 0; s < sizeof MM_SHAPES / sizeof MM_SHAPES[0]; s++)
        check_matmul_float(t, MM_SHAPES[s][0], MM_SHAPES[s][1], MM_SHAPES[s][2]);
}

Test(cpu_matmul, f32) { check_matmul_all_shapes(DT_F32); }
Test(cpu_matmul, f16) { check_matmul_all_shapes(DT_F16); }
Test(cpu_matmul, bf16) { check_matmul_all_shapes(DT_BF16); }

/* Quantized weights: the backend's result must equal the quant API used row
 * by row (x quantized once, quant_dot_row per weight row), and stay within
 * the activation-quantization error of the double reference. */
static void check_matmul_quant(enum dtype t, int K, int N, int m)
{
    struct cfg cfgs[8];
    int nc = all_cfgs(cfgs);
    double *wd = malloc((size_t)N * K * sizeof *wd), *yr = malloc((size_t)m * N * sizeof *yr),
           *mag = malloc((size_t)m * N * sizeof *mag);
    cr_assert(wd && yr && mag);
    struct weight w = make_weight(t, N, K, wd);
    float *x = rnd_vec((size_t)m * K), *y = malloc((size_t)m * N * sizeof *y);
    float *yq = malloc((size_t)m * N * sizeof *yq);
    void *xq = malloc(quant_act_bytes(t, K));
    cr_assert(y && yq && xq);
    matmul_ref(wd, x, m, N, K, yr, mag);
    for (int i = 0; i < m; i++) {
        quant_act_row(t, x + (size_t)i * K, xq, K);
        for (int n = 0; n < N; n++)
            yq[(size_t)i * N + n] = quant_dot_row(t, (uint8_t *)w.data + (size_t)n * dtype_row_bytes(t, K),
                                                  xq, K, CPU_SIMD_SCALAR);
    }
    for (int c = 0; c < nc; c++) {
        struct backend *be = make_be(cfgs[c]);
        cr_assert(backend_supports(be, OP_MATMUL, t));
        backend_matmul(be, y, &w, x, m);
        for (int i = 0; i < m * N; i++) {
            cr_assert(fabsf(y[i] - yq[i]) <= 1e-5f * (float)mag[i] + 1e-6f,
                      "%s K=%d N=%d m=%d simd=%s threads=%d: y[%d]=%.8g row-wise %.8g",
                      dtype_info(t)->name, K, N, m, cpu_simd_name(cfgs[c].simd),
                      cfgs[c].threads, i, (double)y[i], (double)yq[i]);
            /* 8-bit activations: relative error per product below ~1/127 */
            cr_assert(fabs(y[i] - yr[i]) <= mag[i] / 100.0, "%s y[%d]=%g ref %g",
                      dtype_info(t)->name, i, (double)y[i], yr[i]);
        }
        backend_destroy(be);
    }
    free(w.data); free(wd); free(yr); free(mag); free(x); free(y); free(yq); free(xq);
}

Test(cpu_matmul, quantized)
{
    rng_seed(99);
    for (int t = DT_Q8_0; t < DT_COUNT; t++) {
        if (!dtype_is_quant((enum dtype)t)) continue;   /* 2:4 formats: test_sparsity.c */
        int blk = dtype_info((enum dtype)t)->block_elems;
        int K = blk == 32 ? 96 : 512;       /* odd number of blocks where blocks are small */
        check_matmul_quant((enum dtype)t, K, 13, 1);
        check_matmul_quant((enum dtype)t, K, 13, 3);
        check_matmul_quant((enum dtype)t, K, 37, 17);
    }
}

/* A row's result does not depend on the matmul's row count for the act_q8
 * block formats (what speculative verification and batching need): on every
 * SIMD path (AMX included: its 1-row kernel and its 16-row tiles, ragged or
 * not, must agree) and 1 and 2 threads, each row of an m-row matmul equals a
 * 1-row matmul bit for bit. N = 43 leaves a ragged 16-row group; m runs past
 * 16 and 32 so full, ragged and multiple x tiles all occur. */
Test(cpu_matmul, block_format_rows_do_not_depend_on_the_row_count)
{
    rng_seed(7);
    static const enum dtype T[] = {DT_Q8_0, DT_Q4_0, DT_Q4_1};
    static const int ROWS[] = {1, 2, 3, 5, 8, 16, 17, 33, 40};
    const int K = 96, N = 43, M = 40;
    float *x = rnd_vec((size_t)M * K), *y = malloc((size_t)M * N * sizeof *y), *y1 = malloc((size_t)N * sizeof *y1);
    double *wd = malloc((size_t)N * K * sizeof *wd);
    cr_assert(y && y1 && wd);
    struct cfg cfgs[8];
    int nc = all_cfgs(cfgs);
    for (int t = 0; t < 3; t++) {
        struct weight w = make_weight(T[t], N, K, wd);
        for (int c = 0; c < nc; c++) {
            struct backend *be = make_be(cfgs[c]);
            for (size_t k = 0; k < sizeof ROWS / sizeof ROWS[0]; k++) {
                int rows = ROWS[k];
                backend_matmul(be, y, &w, x, rows);
                for (int r = 0; r < rows; r++) {
                    backend_matmul(be, y1, &w, x + (size_t)r * K, 1);
                    cr_assert_arr_eq(y + (size_t)r * N, y1, (size_t)N * sizeof *y1,
                                     "%s simd=%s threads=%d: row %d of %d differs from a one-row matmul",
                                     dtype_info(T[t])->name, cpu_simd_name(cfgs[c].simd), cfgs[c].threads, r, rows);
                }
            }
            backend_destroy(be);
        }
        free(w.data);
    }
    free(x); free(y); free(y1); free(wd);
}

/* The float formats' register tiles (dot_tile.h) directly: on every SIMD
 * level, a tile call over nr weight rows × nx x rows (every full and ragged
 * tile shape occurs: nr up to 9, nx up to 11) gives each pair the bits of a
 * 1 × 1 call, and the double reference within float accumulation error.
 * Odd K leaves a scalar tail after the vectors; strides wider than K. */
Test(dot_tile, tiles_equal_single_pairs_and_the_reference)
{
    rng_seed(23);
    static const enum dtype T[] = {DT_F32, DT_F16, DT_BF16};
    static const int KS[] = {1, 15, 67, 577};
    const int NR = 9, NX = 11, PAD = 3;
    for (size_t ki = 0; ki < sizeof KS / sizeof KS[0]; ki++) {
        int K = KS[ki], ldx = K + PAD, ldy = NR + PAD;
        double *wd = malloc((size_t)NR * K * sizeof *wd), *yr = malloc((size_t)NX * NR * sizeof *yr),
               *mag = malloc((size_t)NX * NR * sizeof *mag), *xd = malloc((size_t)NX * K * sizeof *xd);
        float *x = rnd_vec((size_t)NX * ldx), *y = malloc((size_t)NX * ldy * sizeof *y), y1;
        cr_assert(wd && yr && mag && xd && y);
        for (int i = 0; i < NX; i++)
            for (int k = 0; k < K; k++) xd[(size_t)i * K + k] = x[(size_t)i * ldx + k];
        for (int t = 0; t < 3; t++) {
            struct weight w = make_weight(T[t], NR, K, wd);
            size_t ws = dtype_row_bytes(T[t], K);
            float *xc = malloc((size_t)NX * K * sizeof *xc);
            cr_assert_not_null(xc);
            for (int i = 0; i < NX * K; i++) xc[i] = (float)xd[i];
            matmul_ref(wd, xc, NX, NR, K, yr, mag);
            for (int s = CPU_SIMD_SCALAR; s <= (int)cpu_simd_detect(); s++) {
                dot_tile_fn fn = cpu_dot_tile_fn(T[t], (enum cpu_simd)s);
                cr_assert_not_null(fn);
                for (int nr = 1; nr <= NR; nr++)
                    for (int nx = 1; nx <= NX; nx++) {
                        fn(w.data, ws, nr, x, (size_t)ldx, nx, K, y, (size_t)ldy);
                        for (int i = 0; i < nx; i++)
                            for (int n = 0; n < nr; n++) {
                                float v = y[(size_t)i * ldy + n];
                                fn((const char *)w.data + (size_t)n * ws, ws, 1, x + (size_t)i * ldx, (size_t)ldx, 1, K, &y1, 1);
                                cr_assert(memcmp(&v, &y1, sizeof v) == 0,
                                          "%s simd=%s K=%d tile %dx%d: pair (%d,%d) = %.9g, alone %.9g",
                                          dtype_info(T[t])->name, cpu_simd_name((enum cpu_simd)s), K, nr, nx, n, i,
                                          (double)v, (double)y1);
                                double r = yr[(size_t)i * NR + n];
                                cr_assert(fabs(v - r) <= 1e-5 * mag[(size_t)i * NR + n] + 1e-7,
                                          "%s simd=%s K=%d: y(%d,%d) = %.9g, ref %.9g", dtype_info(T[t])->name,
                                          cpu_simd_name((enum cpu_simd)s), K, n, i, (double)v, r);
                            }
                    }
            }
            free(w.data);
            free(xc);
        }
        free(wd); free(yr); free(mag); free(xd); free(x); free(y);
    }
}

/* The same through the backend (task split, threads): each row of an m-row
 * f32/f16/bf16 matmul equals a 1-row matmul bit for bit, every SIMD path and
 * 1 and 2 threads, m past the 4-row tiles and the 32-row task blocks. */
Test(cpu_matmul, float_rows_do_not_depend_on_the_row_count)
{
    rng_seed(11);
    static const enum dtype T[] = {DT_F32, DT_F16, DT_BF16};
    static const int ROWS[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 40};
    const int K = 83, N = 43, M = 40;
    float *x = rnd_vec((size_t)M * K), *y = malloc((size_t)M * N * sizeof *y), *y1 = malloc((size_t)N * sizeof *y1);
    double *wd = malloc((size_t)N * K * sizeof *wd);
    cr_assert(y && y1 && wd);
    struct cfg cfgs[8];
    int nc = all_cfgs(cfgs);
    for (int t = 0; t < 3; t++) {
        struct weight w = make_weight(T[t], N, K, wd);
        for (int c = 0; c < nc; c++) {
            struct backend *be = make_be(cfgs[c]);
            for (size_t k = 0; k < sizeof ROWS / sizeof ROWS[0]; k++) {
                int rows = ROWS[k];
                backend_matmul(be, y, &w, x, rows);
                for (int r = 0; r < rows; r++) {
                    backend_matmul(be, y1, &w, x + (size_t)r * K, 1);
                    cr_assert_arr_eq(y + (size_t)r * N, y1, (size_t)N * sizeof *y1,
                                     "%s simd=%s threads=%d: row %d of %d differs from a one-row matmul",
                                     dtype_info(T[t])->name, cpu_simd_name(cfgs[c].simd), cfgs[c].threads, r, rows);
                }
            }
            backend_destroy(be);
        }
        free(w.data);
    }
    free(x); free(y); free(y1); free(wd);
}

/* ---- attention -------------------------------------------------------- */

#define KV_LAYERS 2
#define KV_LAYER 1           /* test a layer other than 0: layer_stride counts */

/* K/V storage for one sequence: contiguous (one block) or paged (blocks of
 * 16, table a shuffled subset of a larger pool). Token values are the same. */
struct kv_store_t {
    struct kv_view v;
    int32_t *table;
};

static void kv_make_typed(struct kv_store_t *s, int n_ctx, int kv_dim, bool paged, enum dtype kt)
{
    int bs = paged ? 16 : n_ctx, n_blocks = (n_ctx + bs - 1) / bs;
    int pool_blocks = paged ? n_blocks + 5 : 1;
    size_t layer = (size_t)pool_blocks * bs * kv_dim;
    s->table = malloc((size_t)pool_blocks * sizeof *s->table);
    cr_assert_not_null(s->table);
    for (int b = 0; b < pool_blocks; b++) s->table[b] = b;
    for (int b = pool_blocks - 1; paged && b > 0; b--) {        /* Fisher-Yates */
        int r = (int)((uint32_t)(rnd() * 1e6f + 2e6f) % (uint32_t)(b + 1));
        int32_t tmp = s->table[b]; s->table[b] = s->table[r]; s->table[r] = tmp;
    }
    size_t eb = kt == DT_F16 ? 2 : 4;
    s->v = (struct kv_view){
        .k = calloc(KV_LAYERS * layer, eb), .v = calloc(KV_LAYERS * layer, eb),
        .layer_stride = layer, .table = s->table, .n_blocks = n_blocks, .block_size = bs,
        .kv_dim = kv_dim, .kv_type = kt,
    };
    cr_assert(s->v.k && s->v.v);
}

static void kv_make(struct kv_store_t *s, int n_ctx, int kv_dim, bool paged)
{
    kv_make_typed(s, n_ctx, kv_dim, paged, DT_F32);
}

/* x rounded to the nearest half and back (what an f16 cache holds). */
static float *f16_rounded(const float *x, size_t n)
{
    float *y = malloc(n * sizeof *y);
    cr_assert_not_null(y);
    for (size_t i = 0; i < n; i++) y[i] = fp16_to_fp32(fp32_to_fp16(x[i]));
    return y;
}

static void kv_free(struct kv_store_t *s) { free(s->v.k); free(s->v.v); free(s->table); }

/* out[i][h*d+e] in double: softmax over keys 0..pos0+i of scale·q·k, times V. */
static void attn_ref(double *out, const float *q, const float *K, const float *V, int n_q, int pos0,
                     int H, int Hkv, int d, float scale)
{
    int kv_dim = Hkv * d, g = H / Hkv;
    double *s = malloc((size_t)(pos0 + n_q) * sizeof *s);
    cr_assert_not_null(s);
    for (int i = 0; i < n_q; i++)
        for (int h = 0; h < H; h++) {
            const float *qi = q + ((size_t)i * H + h) * d;
            int n = pos0 + i + 1, kh = h / g;
            double mx = -INFINITY, sum = 0;
            for (int t = 0; t < n; t++) {
                double dot = 0;
                for (int e = 0; e < d; e++) dot += (double)qi[e] * K[(size_t)t * kv_dim + kh * d + e];
                s[t] = dot * scale;
                mx = fmax(mx, s[t]);
            }
            for (int t = 0; t < n; t++) { s[t] = exp(s[t] - mx); sum += s[t]; }
            for (int e = 0; e < d; e++) {
                double o = 0;
                for (int t = 0; t < n; t++) o += s[t] * V[(size_t)t * kv_dim + kh * d + e];
                out[((size_t)i * H + h) * d + e] = o / sum;
            }
        }
    free(s);
}

/* Every SIMD level and thread count, naive and flash, contiguous and paged,
 * K/V of type kt (f16: the double reference uses the f16-rounded K/V, so the
 * tolerance is the f32 one: the kernels widen halves exactly). */
static void check_attention_typed(int H, int Hkv, int d, int n_q, int pos0, enum dtype kt)
{
    struct cfg cfgs[8];
    int nc = all_cfgs(cfgs), n_ctx = pos0 + n_q, kv_dim = Hkv * d;
    size_t qn = (size_t)n_q * H * d;
    /* Scale above 1/sqrt(d) makes the softmax peaky so rescaling matters. */
    struct attn_shape sh = {H, Hkv, d, 3.0f / sqrtf((float)d)};
    float *K = rnd_vec((size_t)n_ctx * kv_dim), *V = rnd_vec((size_t)n_ctx * kv_dim);
    float *q = rnd_vec(qn), *o[4];
    double *ref = malloc(qn * sizeof *ref);
    cr_assert_not_null(ref);
    if (kt == DT_F16) {
        float *Kr = f16_rounded(K, (size_t)n_ctx * kv_dim), *Vr = f16_rounded(V, (size_t)n_ctx * kv_dim);
        attn_ref(ref, q, Kr, Vr, n_q, pos0, H, Hkv, d, sh.scale);
        free(Kr); free(Vr);
    } else {
        attn_ref(ref, q, K, V, n_q, pos0, H, Hkv, d, sh.scale);
    }
    struct kv_store_t cont, paged;
    kv_make_typed(&cont, n_ctx, kv_dim, false, kt);
    kv_make_typed(&paged, n_ctx, kv_dim, true, kt);
    for (int k = 0; k < 4; k++) { o[k] = malloc(qn * sizeof(float)); cr_assert_not_null(o[k]); }

    for (int c = 0; c < nc; c++) {
        struct backend *be = make_be(cfgs[c]);
        backend_kv_store(be, &cont.v, KV_LAYER, 0, n_ctx, K, V);
        backend_kv_store(be, &paged.v, KV_LAYER, 0, n_ctx, K, V);
        backend_attention(be, ATTN_NAIVE, o[0], q, &cont.v, KV_LAYER, n_q, pos0, &sh);
        backend_attention(be, ATTN_FLASH, o[1], q, &cont.v, KV_LAYER, n_q, pos0, &sh);
        backend_attention(be, ATTN_NAIVE, o[2], q, &paged.v, KV_LAYER, n_q, pos0, &sh);
        backend_attention(be, ATTN_FLASH, o[3], q, &paged.v, KV_LAYER, n_q, pos0, &sh);
        for (size_t i = 0; i < qn; i++) {
            for (int k = 0; k < 2; k++)
                cr_assert(fabs(o[k][i] - ref[i]) <= 2e-5,
                          "%s kv=%s H=%d Hkv=%d d=%d n_q=%d pos0=%d simd=%s threads=%d: out[%zu]=%.8g ref %.8g",
                          k ? "flash" : "naive", dtype_info(kt)->name, H, Hkv, d, n_q, pos0, cpu_simd_name(cfgs[c].simd),
                          cfgs[c].threads, i, (double)o[k][i], ref[i]);
            /* same arithmetic on the same values: paged equals contiguous exactly */
            cr_assert(o[2][i] == o[0][i] && o[3][i] == o[1][i],
                      "paged != contiguous at %zu (H=%d n_q=%d pos0=%d)", i, H, n_q, pos0);
            cr_assert(fabsf(o[0][i] - o[1][i]) <= 2e-5f, "naive vs flash at %zu", i);
        }
        backend_destroy(be);
    }
    kv_free(&cont); kv_free(&paged);
    for (int k = 0; k < 4; k++) free(o[k]);
    free(K); free(V); free(q); free(ref);
}

static void check_attention(int H, int Hkv, int d, int n_q, int pos0)
{
    check_attention_typed(H, Hkv, d, n_q, pos0, DT_F32);
    check_attention_typed(H, Hkv, d, n_q, pos0, DT_F16);
}

/* n_q/pos0 pairs: decode at 0 and deep in the context, a prefill longer than
 * a Q tile, a chunked prefill crossing K/V tiles. */
static const int ATTN_STEPS[][2] = {{1, 0}, {1, 37}, {1, 130}, {40, 0}, {19, 70}, {7, 3}};

static void check_attention_steps(int H, int Hkv, int d)
{
    rng_seed((uint64_t)(H * 100 + Hkv * 10 + d));
    for (size_t s = 0; s < sizeof ATTN_STEPS / sizeof ATTN_STEPS[0]; s++)
        check_attention(H, Hkv, d, ATTN_STEPS[s][0], ATTN_STEPS[s][1]);
}

Test(cpu_attention, mha) { check_attention_steps(4, 4, 16); }
Test(cpu_attention, gqa) { check_attention_steps(6, 2, 24); }
Test(cpu_attention, mqa) { check_attention_steps(6, 1, 8); }
Test(cpu_attention, head_dim_64) { check_attention_steps(3, 1, 64); }

/* Decode and short chunks (n_q 1..4) deep in a context: several K/V tiles,
 * the flash key split on 2 threads and its merge, row blocks of 1..4 rows. */
static void check_attention_long(int H, int Hkv, int d)
{
    rng_seed((uint64_t)(H * 1000 + Hkv * 100 + d));
    const int ctxs[] = {700, 1500};
    for (int c = 0; c < 2; c++)
        for (int n_q = 1; n_q <= 4; n_q++) check_attention(H, Hkv, d, n_q, ctxs[c] - n_q);
}

Test(cpu_attention, decode_long_smollm2) { check_attention_long(9, 3, 64); }
Test(cpu_attention, decode_long_gqa_odd) { check_attention_long(10, 2, 24); }
Test(cpu_attention, decode_long_mqa) { check_attention_long(6, 1, 40); }

/* The polynomial exp of the attention kernels, scalar and every SIMD level,
 * against exp() in double on a dense grid of [-87.3, 88]: relative error
 * below 2e-7; below the range (and -inf) it returns 0. */
Test(cpu_attention, exp_approximation)
{
    const int n = 1 << 21;
    float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
    cr_assert(x && y);
    for (int i = 0; i < n; i++) x[i] = -87.3f + (88.0f + 87.3f) * (float)i / (float)(n - 1);
    x[1] = 0.0f; x[2] = -0.0f; x[3] = 1e-7f; x[4] = -0.34657359f; x[5] = 0.34657359f;
    for (int s = CPU_SIMD_SCALAR; s <= (int)cpu_simd_detect(); s++) {
        const struct attn_kernels *k = attn_kernels_for((enum cpu_simd)s);
        k->exp_array(y, x, n);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            double ref = exp((double)x[i]), rel = fabs(y[i] - ref) / ref;
            cr_assert(rel < 2e-7, "simd=%s exp(%.9g) = %.9g, ref %.9g, rel err %.3g",
                      cpu_simd_name((enum cpu_simd)s), (double)x[i], (double)y[i], ref, rel);
            worst = rel > worst ? rel : worst;
        }
        cr_log_info("attn exp %s: max relative error %.3g", cpu_simd_name((enum cpu_simd)s), worst);
        float low[5] = {-87.31f, -100.0f, -1e30f, -INFINITY, -88.5f}, out[5];
        k->exp_array(out, low, 5);
        for (int i = 0; i < 5; i++)
            cr_assert(out[i] == 0.0f, "simd=%s exp(%g) = %g, want 0", cpu_simd_name((enum cpu_simd)s),
                      (double)low[i], (double)out[i]);
        cr_assert(attn_exp(-INFINITY) == 0.0f && attn_exp(0.0f) == 1.0f);
    }
    free(x); free(y);
}

/* ---- small ops -------------------------------------------------------- */

Test(cpu_ops, rmsnorm)
{
    struct cfg cfgs[8];
    int nc = all_cfgs(cfgs);
    rng_seed(3);
    const int shapes[][2] = {{1, 67}, {3, 67}, {17, 576}, {300, 130}};
    for (size_t s = 0; s < 4; s++) {
        int m = shapes[s][0], n = shapes[s][1];
        float *x = rnd_vec((size_t)m * n), *w = rnd_vec((size_t)n), *y = malloc((size_t)m * n * 4);
        cr_assert_not_null(y);
        for (int c = 0; c < nc; c++) {
            struct backend *be = make_be(cfgs[c]);
            backend_rmsnorm(be, y, x, w, m, n, 1e-5f);
            for (int i = 0; i < m; i++) {
                double ss = 0;
                for (int k = 0; k < n; k++) ss += (double)x[i * n + k] * x[i * n + k];
                double inv = 1.0 / sqrt(ss / n + 1e-5);
                for (int k = 0; k < n; k++) {
                    double r = x[i * n + k] * inv * w[k];
                    cr_assert(fabs(y[i * n + k] - r) <= 1e-5 * fabs(r) + 1e-6, "rmsnorm m=%d n=%d", m, n);
                }
            }
            backend_destroy(be);
        }
        free(x); free(w); free(y);
    }
}

/* Reference rope frequency, written from the Llama 3 rule in double. */
static double rope_freq_ref(int i, int d, const struct rope_params *rp)
{
    double f = pow(rp->theta, -2.0 * i / d);
    if (rp->factor <= 0) return f;
    double wl = 2 * M_PI / f, lo = rp->orig_ctx / rp->low_freq_factor, hi = rp->orig_ctx / rp->high_freq_factor;
    if (wl < hi) return f;
    if (wl > lo) return f / rp->factor;
    double sm = (rp->orig_ctx / wl - rp->low_freq_factor) / (rp->high_freq_factor - rp->low_freq_factor);
    return (1 - sm) * f / rp->factor + sm * f;
}

static void check_rope(const struct rope_params *rp, int H, int d)
{
    struct cfg cfgs[8];
    int nc = all_cfgs(cfgs);
    const int m = 5, pos[5] = {0, 1, 7, 123, 300};
    size_t n = (size_t)m * H * d;
    float *x = rnd_vec(n), *y = malloc(n * sizeof *y);
    cr_assert_not_null(y);
    for (int c = 0; c < nc; c++) {
        struct backend *be = make_be(cfgs[c]);
        memcpy(y, x, n * sizeof *y);
        backend_rope(be, y, pos, m, H, d, rp);
        for (int r = 0; r < m; r++)
            for (int h = 0; h < H; h++)
                for (int i = 0; i < d / 2; i++) {
                    size_t o = ((size_t)r * H + h) * d + 2 * i;
                    double a = pos[r] * rope_freq_ref(i, d, rp), x0 = x[o], x1 = x[o + 1];
                    double r0 = x0 * cos(a) - x1 * sin(a), r1 = x0 * sin(a) + x1 * cos(a);
                    cr_assert(fabs(y[o] - r0) <= 1e-4 && fabs(y[o + 1] - r1) <= 1e-4,
                              "rope pos=%d h=%d pair=%d: (%g,%g) ref (%g,%g)", pos[r], h, i,
                              (double)y[o], (double)y[o + 1], r0, r1);
                }
        backend_destroy(be);
    }
    free(x); free(y);
}

Test(cpu_ops, rope)
{
    rng_seed(5);
    struct rope_params plain = {.theta = 10000.0f};
    check_rope(&plain, 3, 16);
    check_rope(&plain, 2, 64);
}

/* With theta 500000 and head_dim 16 the pairs span all three Llama 3 bands:
 * wavelengths below orig_ctx/high (kept), inside, and above orig_ctx/low. */
Test(cpu_ops, rope_llama3_scaling)
{
    rng_seed(6);
    struct rope_params l3 = {.theta = 500000.0f, .factor = 8.0f, .low_freq_factor = 1.0f,
                             .high_freq_factor = 4.0f, .orig_ctx = 8192};
    int bands[3] = {0};
    for (int i = 0; i < 8; i++) {
        double f = pow(l3.theta, -2.0 * i / 16), wl = 2 * M_PI / f;
        bands[wl < 2048 ? 0 : wl > 8192 ? 2 : 1]++;
    }
    cr_assert(bands[0] && bands[1] && bands[2], "test shape must cover every band");
    check_rope(&l3, 3, 16);
    check_rope(&l3, 2, 128);
}

/* Gates where e^-g overflows or vanishes (the vector exp clamps): silu(g)·u
 * still equals the double reference at every SIMD level and thread count. */
Test(cpu_ops, swiglu_extreme_gates)
{
    struct cfg cfgs[8];
    int nc = all_cfgs(cfgs);
    float g[] = {-150.f, -100.f, -88.5f, -87.f, -30.f, -1e-3f, 0.f, 1e-3f, 30.f, 87.f, 88.5f, 100.f, 150.f};
    enum { N = sizeof g / sizeof g[0] };
    float u[N], o[N];
    for (int i = 0; i < N; i++) u[i] = 0.5f + 0.25f * (float)i;
    for (int c = 0; c < nc; c++) {
        struct backend *be = make_be(cfgs[c]);
        backend_swiglu(be, o, g, u, N);
        for (int i = 0; i < N; i++) {
            double r = (double)g[i] / (1 + exp(-(double)g[i])) * u[i];
            cr_assert(fabs(o[i] - r) <= 1e-6 * fabs(r) + 1e-30, "swiglu(%g) = %g, want %g", (double)g[i],
                      (double)o[i], r);
        }
        backend_destroy(be);
    }
}

Test(cpu_ops, swiglu_and_add)
{
    struct cfg cfgs[8];
    int nc = all_cfgs(cfgs);
    rng_seed(8);
    const int64_t sizes[] = {1, 1000, 2 * 16 * 1024 + 5};
    for (int s = 0; s < 3; s++) {
        int64_t n = sizes[s];
        float *g = rnd_vec((size_t)n), *u = rnd_vec((size_t)n), *o = malloc((size_t)n * 4),
              *y = malloc((size_t)n * 4);
        cr_assert(o && y);
        for (int c = 0; c < nc; c++) {
            struct backend *be = make_be(cfgs[c]);
            for (int k = 0; k < 3; k++) g[k % n] *= 4;   /* some larger gates */
            backend_swiglu(be, o, g, u, n);
            memcpy(y, u, (size_t)n * 4);
            backend_add(be, y, g, n);
            for (int64_t i = 0; i < n; i++) {
                double r = (double)g[i] / (1 + exp(-(double)g[i])) * u[i];
                cr_assert(fabs(o[i] - r) <= 1e-6 * fabs(r) + 1e-7, "swiglu n=%ld i=%ld", (long)n, (long)i);
                cr_assert(y[i] == u[i] + g[i], "add n=%ld i=%ld", (long)n, (long)i);
            }
            backend_destroy(be);
        }
        free(g); free(u); free(o); free(y);
    }
}

Test(cpu_ops, embed_every_format)
{
    rng_seed(9);
    const int tokens[] = {5, 0, 12, 5, 1};
    const int V = 13, m = 5;
    const enum dtype types[] = {DT_F32, DT_F16, DT_BF16, DT_Q8_0, DT_Q4_K};
    struct backend *be = make_be((struct cfg){2, cpu_simd_detect()});
    for (int t = 0; t < 5; t++) {
        int D = dtype_info(types[t])->block_elems == 256 ? 256 : 96;
        double *wd = malloc((size_t)V * D * sizeof *wd);
        float *out = malloc((size_t)m * D * 4);
        cr_assert(wd && out);
        struct weight w = make_weight(types[t], V, D, wd);
        backend_embed(be, out, &w, tokens, m);
        for (int i = 0; i < m; i++)
            for (int k = 0; k < D; k++)
                cr_assert((double)out[i * D + k] == wd[(size_t)tokens[i] * D + k],
                          "embed %s token %d col %d", dtype_info(types[t])->name, tokens[i], k);
        free(w.data); free(wd); free(out);
    }
    backend_destroy(be);
}

/* kv_store puts token t at kv_row(t), K and V, leaving other layers alone. */
Test(cpu_ops, kv_store_paged)
{
    rng_seed(10);
    struct kv_store_t s;
    const int n_ctx = 45, kv_dim = 12;
    kv_make(&s, n_ctx, kv_dim, true);
    float *k = rnd_vec((size_t)n_ctx * kv_dim), *v = rnd_vec((size_t)n_ctx * kv_dim);
    struct backend *be = make_be((struct cfg){1, CPU_SIMD_SCALAR});
    backend_kv_store(be, &s.v, KV_LAYER, 0, 20, k, v);                     /* prefill chunk */
    backend_kv_store(be, &s.v, KV_LAYER, 20, n_ctx - 20, k + 20 * kv_dim, v + 20 * kv_dim);
    for (int t = 0; t < n_ctx; t++) {
        cr_assert(memcmp(kv_row(&s.v, s.v.k, KV_LAYER, t), k + t * kv_dim, kv_dim * 4) == 0, "k %d", t);
        cr_assert(memcmp(kv_row(&s.v, s.v.v, KV_LAYER, t), v + t * kv_dim, kv_dim * 4) == 0, "v %d", t);
    }
    const float *kz = s.v.k, *vz = s.v.v;
    for (size_t i = 0; i < s.v.layer_stride; i++) cr_assert(kz[i] == 0.0f && vz[i] == 0.0f);
    backend_destroy(be);
    kv_free(&s); free(k); free(v);
}

/* An f16 cache gets fp32_to_fp16's bits (round to nearest even) on every
 * SIMD level, for random values, halfway cases, subnormals, overflow and
 * odd row lengths (the F16C path's scalar tail). */
Test(cpu_ops, kv_store_f16_bits)
{
    rng_seed(12);
    const int n_ctx = 37, kv_dim = 21;
    size_t n = (size_t)n_ctx * kv_dim;
    float *k = rnd_vec(n), *v = rnd_vec(n);
    const float special[] = {0.0f, -0.0f, 1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, 0x1p-24f, 0x1p-25f,
                             0x1.8p-25f, 3e-5f, -6.1e-5f, 65504.0f, 65519.0f, 65520.0f, -7e4f,
                             INFINITY, -INFINITY, 2049.0f, 2051.0f, 1e-8f};
    int ns = (int)(sizeof special / sizeof special[0]);
    for (int i = 0; i < ns; i++) { k[i * 3] = special[i]; v[n - 1 - (size_t)i * 2] = special[i]; }
    for (size_t i = (size_t)ns * 3; i < n; i += 5) k[i] *= 3000.0f;   /* wide exponents */
    for (int s = CPU_SIMD_SCALAR; s <= (int)cpu_simd_detect(); s++) {
        for (int paged = 0; paged < 2; paged++) {
            struct kv_store_t st;
            kv_make_typed(&st, n_ctx, kv_dim, paged, DT_F16);
            struct backend *be = make_be((struct cfg){1, (enum cpu_simd)s});
            backend_kv_store(be, &st.v, KV_LAYER, 0, 10, k, v);
            backend_kv_store(be, &st.v, KV_LAYER, 10, n_ctx - 10, k + 10 * kv_dim, v + 10 * kv_dim);
            for (int t = 0; t < n_ctx; t++) {
                const uint16_t *kr = kv_row_bytes(&st.v, st.v.k, KV_LAYER, t);
                const uint16_t *vr = kv_row_bytes(&st.v, st.v.v, KV_LAYER, t);
                for (int e = 0; e < kv_dim; e++) {
                    size_t i = (size_t)t * kv_dim + e;
                    cr_assert_eq(kr[e], fp32_to_fp16(k[i]), "simd=%s k[%zu]=%a: %#x vs %#x",
                                 cpu_simd_name((enum cpu_simd)s), i, (double)k[i], kr[e], fp32_to_fp16(k[i]));
                    cr_assert_eq(vr[e], fp32_to_fp16(v[i]), "simd=%s v[%zu]", cpu_simd_name((enum cpu_simd)s), i);
                }
            }
            const uint16_t *k0 = st.v.k;
            for (size_t i = 0; i < st.v.layer_stride; i++) cr_assert_eq(k0[i], 0, "layer 0 touched");
            backend_destroy(be);
            kv_free(&st);
        }
    }
    free(k); free(v);
}

/* ---- kernel records and the pool -------------------------------------- */

Test(cpu_backend, kernel_records)
{
    rng_seed(11);
    struct kernel_log log;
    kernel_log_init(&log, 4);
    struct backend *be = make_be((struct cfg){2, cpu_simd_detect()});
    be->log = &log;
    log.layer = 3;
    double *wd = malloc(64 * 32 * sizeof *wd);
    cr_assert_not_null(wd);
    struct weight w = make_weight(DT_F16, 32, 64, wd);
    float *x = rnd_vec(3 * 64), *y = malloc(3 * 32 * 4);
    cr_assert_not_null(y);
    backend_matmul(be, y, &w, x, 3);

    struct kv_store_t s;
    kv_make(&s, 40, 16, true);
    float *kv = rnd_vec(40 * 16), *q = rnd_vec(4 * 64), *o = malloc(4 * 64 * 4);
    cr_assert_not_null(o);
    struct attn_shape sh = {4, 1, 16, 0.25f};
    backend_kv_store(be, &s.v, KV_LAYER, 0, 40, kv, kv);
    backend_attention(be, ATTN_FLASH, o, q, &s.v, KV_LAYER, 4, 36, &sh);
    backend_attention(be, ATTN_NAIVE, o, q, &s.v, KV_LAYER, 4, 36, &sh);
    backend_rmsnorm(be, y, y, y, 3, 32, 1e-5f);
    backend_swiglu(be, y, y, y, 96);

    cr_assert_eq(log.n, 6);
    const char *names[] = {"matmul_f16", "kv_store", "attn_flash_paged", "attn_naive_paged", "rmsnorm", "swiglu"};
    for (int i = 0; i < 6; i++) {
        struct kernel_record *r = &log.recs[i];
        cr_assert_str_eq(r->name, names[i]);
        cr_assert_eq(r->layer, 3);
        cr_assert(r->dur_measured && !r->bytes_measured);
        cr_assert(r->dram_rd > 0 && r->dram_wr > 0, "%s modeled bytes", r->name);
    }
    cr_assert(log.recs[0].shape[0] == 3 && log.recs[0].shape[1] == 32 && log.recs[0].shape[2] == 64);
    cr_assert(log.recs[0].flops == 2.0 * 3 * 32 * 64);
    cr_assert(log.recs[2].shape[0] == 4 && log.recs[2].shape[1] == 40 && log.recs[2].shape[2] == 4 &&
              log.recs[2].shape[3] == 16);
    /* naive moves the score matrix through memory, flash does not */
    cr_assert(log.recs[3].dram_rd > log.recs[2].dram_rd && log.recs[2].chip_rd > 0);

    backend_destroy(be);
    kernel_log_free(&log);
    kv_free(&s);
    free(w.data); free(wd); free(x); free(y); free(kv); free(q); free(o);
}

Test(cpu_backend, device_name)
{
    struct backend *be = make_be((struct cfg){2, CPU_SIMD_SCALAR});
    cr_assert(strstr(be->device_name, "(2 threads, scalar)") != NULL, "%s", be->device_name);
    cr_assert_str_eq(be->ops->name, "cpu");
    float *p = backend_alloc(be, 1000);
    cr_assert_not_null(p);
    cr_assert_eq((uintptr_t)p % 64, 0);
    backend_free(be, p);
    backend_destroy(be);
}

struct count_ctx { atomic_int hits[1000]; atomic_int bad_worker; int n_threads; };

static void count_task(void *p, int t, int worker)
{
    struct count_ctx *c = p;
    atomic_fetch_add(&c->hits[t], 1);
    if (worker < 0 || worker >= c->n_threads) atomic_fetch_add(&c->bad_worker, 1);
}

/* A worker that loses its core in the middle of its range holds up only the
 * task it is running: the caller takes the rest of that range (threadpool.c).
 * Worker 1's first task of the job sleeps 300 ms; everything else is the
 * caller's, so worker 1 runs at most that one task and the job ends soon
 * after the sleep. */
struct steal_ctx { atomic_int by_worker[2]; atomic_int hits[64]; atomic_bool slept; };

static void steal_task(void *p, int t, int worker)
{
    struct steal_ctx *c = p;
    atomic_fetch_add(&c->hits[t], 1);
    atomic_fetch_add(&c->by_worker[worker], 1);
    bool no = false;
    if (worker == 1 && atomic_compare_exchange_strong(&c->slept, &no, true)) usleep(300 * 1000);
}

Test(threadpool, late_worker_range_taken_over)
{
    struct threadpool *pool = pool_create(2);
    cr_assert_not_null(pool);
    for (int rep = 0; rep < 3; rep++) {
        static struct steal_ctx c;
        memset(&c, 0, sizeof c);
        pool_run(pool, steal_task, &c, 64);
        for (int t = 0; t < 64; t++) cr_assert_eq(atomic_load(&c.hits[t]), 1, "task %d", t);
        cr_assert_leq(atomic_load(&c.by_worker[1]), 1, "worker 1 ran %d tasks: its range was not taken over",
                      atomic_load(&c.by_worker[1]));
        cr_assert_eq(atomic_load(&c.by_worker[0]) + atomic_load(&c.by_worker[1]), 64);
    }
    pool_destroy(pool);
}

/* Every task runs exactly once per pool_run, for many back-to-back jobs. */
Test(threadpool, each_task_once)
{
    for (int nt = 1; nt <= 3; nt++) {
        struct threadpool *pool = pool_create(nt);
        cr_assert_not_null(pool);
        static struct count_ctx c;
        memset(&c, 0, sizeof c);
        c.n_threads = nt;
        for (int rep = 0; rep < 200; rep++) pool_run(pool, count_task, &c, 1 + rep % 1000 * 5 % 1000);
        int expect[1000] = {0};
        for (int rep = 0; rep < 200; rep++)
            for (int t = 0; t < 1 + rep % 1000 * 5 % 1000; t++) expect[t]++;
        for (int t = 0; t < 1000; t++) cr_assert_eq(atomic_load(&c.hits[t]), expect[t], "task %d", t);
        cr_assert_eq(atomic_load(&c.bad_worker), 0);
        pool_destroy(pool);
    }
}
