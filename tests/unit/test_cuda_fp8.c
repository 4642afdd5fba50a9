/* tests/unit/test_cuda_fp8.c — the fp8a8 cuBLASLt FP8 GEMM path's plain-C
 * plan and per-element math (kernels/cuda/cuda_fp8_plan.h), on the CPU:
 *
 *  - the device rule (cc >= 8.9) and the one-line note older devices get;
 *  - f8lt_plan_make on random shapes: the GEMM exactly when device, switch,
 *    m >= 16 and N, K multiples of 16 allow, the first failing reason
 *    otherwise; m_pad, in-place output, scratch offsets aligned and disjoint;
 *  - the split weight layout built by the two upload copies (cudaMemcpy2D's
 *    arguments, replayed here by memcpy) holds every code and scale of the
 *    host rows, row shards (a pitch wider than the row) included;
 *  - f8lt_encode: code for code the CPU's activation quantizer, and within
 *    half an E4M3 step of x/s in double (saturating at 448);
 *  - f8lt_act_scale and f8lt_epilogue against their double definitions;
 *  - the whole GEMM path emulated (codes through the split layout and the
 *    padded activation buffer, sums in double as an exact accumulator,
 *    epilogue in f32) against the CPU backend's fp8a8 matmul, dynamic and
 *    static activation scales, within the derived summation-order bound. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cuda/cuda_fp8_plan.h"
#include "kernels/fp8.h"
#include "kernels/xq_blocks.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static double rnd_unit(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) * 0x1.0p-53;
}
static float rnd(float lo, float hi) { return lo + (hi - lo) * (float)rnd_unit(); }
static int rnd_int(int lo, int hi) { return lo + (int)(rnd_unit() * (hi - lo + 1)); }

/* ---- device rule and note ---- */

Test(cuda_fp8, device_rule_is_cc_8_9)
{
    const int cc[][3] = {{7, 5, 0}, {8, 0, 0}, {8, 6, 0}, {8, 7, 0}, {8, 9, 1}, {9, 0, 1}, {10, 0, 1}, {12, 0, 1}};
    for (size_t i = 0; i < sizeof cc / sizeof cc[0]; i++)
        cr_assert_eq(f8lt_device_ok(cc[i][0], cc[i][1]), cc[i][2] == 1, "sm_%d%d", cc[i][0], cc[i][1]);
}

Test(cuda_fp8, old_device_note_names_the_device)
{
    char buf[192] = "";
    cr_assert_eq(f8lt_device_note(buf, sizeof buf, 8, 0), 1);
    cr_assert_str_eq(buf, "fp8a8: cuBLASLt FP8 GEMM not supported on sm_80 (needs sm_89+); using the fp8a8 CUDA kernels");
    cr_assert_eq(f8lt_device_note(buf, sizeof buf, 8, 6), 1);
    cr_assert(strstr(buf, "sm_86 (needs sm_89+)"), "%s", buf);
    strcpy(buf, "untouched");
    cr_assert_eq(f8lt_device_note(buf, sizeof buf, 9, 0), 0);
    cr_assert_eq(f8lt_device_note(buf, sizeof buf, 8, 9), 0);
    cr_assert_str_eq(buf, "untouched");
}

Test(cuda_fp8, workspace_follows_the_cublas_recommendation)
{
    cr_assert_eq(f8lt_workspace_bytes(9), (size_t)32 << 20);
    cr_assert_eq(f8lt_workspace_bytes(10), (size_t)32 << 20);
    cr_assert_eq(f8lt_workspace_bytes(8), (size_t)4 << 20);
}

Test(cuda_fp8, every_reason_has_its_own_text)
{
    for (int a = 0; a < F8LT_WHY_COUNT; a++) {
        const char *ta = f8lt_why_text((enum f8lt_why)a);
        cr_assert(ta && ta[0]);
        for (int b = 0; b < a; b++) cr_assert_str_neq(ta, f8lt_why_text((enum f8lt_why)b));
    }
    cr_assert_str_eq(f8lt_why_text(F8LT_OK), "cuBLASLt FP8 GEMM");
    cr_assert(strstr(f8lt_why_text(F8LT_SMALL_M), "m < 16"));
}

/* ---- the plan ---- */

static enum f8lt_why expected_why(int maj, int min, bool on, int m, int N, int K)
{
    if (!(maj > 8 || (maj == 8 && min >= 9))) return F8LT_OLD_DEVICE;
    if (!on) return F8LT_OFF;
    if (m < 16) return F8LT_SMALL_M;
    if (N % 16) return F8LT_N_ALIGN;
    if (K % 16) return F8LT_K_ALIGN;
    return F8LT_OK;
}

Test(cuda_fp8, plan_takes_the_gemm_exactly_when_allowed)
{
    const int cc[][2] = {{8, 0}, {8, 6}, {8, 9}, {9, 0}};
    for (int it = 0; it < 4000; it++) {
        int ci = rnd_int(0, 3), m = rnd_int(1, 600), N = rnd_int(1, 70) * (rnd_unit() < 0.7 ? 16 : 1);
        int K = rnd_int(1, 70) * (rnd_unit() < 0.7 ? 16 : 1);
        bool on = rnd_unit() < 0.9;
        uintptr_t y = (uintptr_t)rnd_int(0, 1 << 20) * (rnd_unit() < 0.8 ? 256 : 4);
        struct f8lt_plan p;
        f8lt_plan_make(&p, cc[ci][0], cc[ci][1], on, m, N, K, y);
        enum f8lt_why want = expected_why(cc[ci][0], cc[ci][1], on, m, N, K);
        cr_assert_eq(p.why, want, "sm_%d%d on=%d m=%d N=%d K=%d: %s", cc[ci][0], cc[ci][1], on, m, N, K,
                     f8lt_why_text(p.why));
        cr_assert_eq(p.gemm, want == F8LT_OK);
        cr_assert(p.m == m && p.N == N && p.K == K);
        cr_assert(p.m_pad % 16 == 0 && p.m_pad >= m && p.m_pad < m + 16);
        cr_assert_eq(p.d_in_place, p.m_pad == m && y % 16 == 0);
        cr_assert_eq(p.codes_bytes, (size_t)p.m_pad * K);
        cr_assert(p.tmax_off % 16 == 0 && p.tmax_off >= p.codes_bytes);
        cr_assert(p.acc_off % 16 == 0 && p.acc_off >= p.tmax_off + sizeof(float));
        cr_assert_eq(p.acc_bytes, p.d_in_place ? 0 : sizeof(float) * (size_t)p.m_pad * N);
        cr_assert_eq(p.scratch_bytes, p.acc_off + p.acc_bytes);
        cr_assert_eq(p.workspace_bytes, f8lt_workspace_bytes(cc[ci][0]));
    }
}

Test(cuda_fp8, decode_and_odd_shapes_stay_on_the_kernels)
{
    struct f8lt_plan p;
    f8lt_plan_make(&p, 9, 0, true, 1, 4096, 4096, 0);
    cr_assert(!p.gemm && p.why == F8LT_SMALL_M);
    f8lt_plan_make(&p, 9, 0, true, 15, 4096, 4096, 0);
    cr_assert(!p.gemm && p.why == F8LT_SMALL_M);
    f8lt_plan_make(&p, 9, 0, true, 16, 4096, 4096, 0);
    cr_assert(p.gemm && p.d_in_place && p.acc_bytes == 0);
    f8lt_plan_make(&p, 9, 0, true, 33, 576, 1536, 0);
    cr_assert(p.gemm && !p.d_in_place && p.m_pad == 48);
    f8lt_plan_make(&p, 9, 0, true, 64, 1000, 576, 0);
    cr_assert(!p.gemm && p.why == F8LT_N_ALIGN);
    f8lt_plan_make(&p, 9, 0, true, 64, 1024, 577, 0);
    cr_assert(!p.gemm && p.why == F8LT_K_ALIGN);
    f8lt_plan_make(&p, 8, 0, true, 512, 4096, 4096, 0);
    cr_assert(!p.gemm && p.why == F8LT_OLD_DEVICE);
    f8lt_plan_make(&p, 9, 0, false, 512, 4096, 4096, 0);
    cr_assert(!p.gemm && p.why == F8LT_OFF);
}

/* ---- layouts ---- */

/* cudaMemcpy2D's semantics, on host memory. */
static void copy2d(uint8_t *dst, const uint8_t *src, const struct f8lt_copy2d *c)
{
    for (size_t r = 0; r < c->height; r++)
        memcpy(dst + c->dst_off + r * c->dpitch, src + c->src_off + r * c->spitch, c->width);
}

/* N fp8a8 rows of random values (pitch >= row bytes: a row shard's view). */
static uint8_t *fp8a8_rows(int N, int K, size_t pitch, float **wf)
{
    size_t rb = dtype_row_bytes(DT_F8A8, K);
    uint8_t *rows = malloc(pitch * (size_t)N);
    float *f = malloc(sizeof *f * (size_t)N * K);
    cr_assert(rows && f);
    memset(rows, 0xa5, pitch * (size_t)N);
    for (int n = 0; n < N; n++) {
        float sc = rnd(0.01f, 3.f);
        for (int k = 0; k < K; k++) f[(size_t)n * K + k] = sc * rnd(-1, 1);
        dtype_encode_row(DT_F8A8, f + (size_t)n * K, rows + (size_t)n * pitch, K);
    }
    cr_assert(rb <= pitch);
    if (wf) *wf = f;
    else free(f);
    return rows;
}

/* Host rows → the split layout, through the two planned copies. */
static uint8_t *split_copy(const uint8_t *rows, int N, int K, size_t pitch, struct f8lt_wlayout *l)
{
    *l = f8lt_wlayout_split(N, K);
    uint8_t *dev = malloc(l->bytes);
    cr_assert(dev);
    memset(dev, 0x5a, l->bytes);
    struct f8lt_copy2d cp[2];
    f8lt_upload_copies(cp, N, K, pitch);
    for (int i = 0; i < 2; i++) {
        cr_assert(cp[i].dst_off + (cp[i].height - 1) * cp[i].dpitch + cp[i].width <= l->bytes);
        copy2d(dev, rows, &cp[i]);
    }
    return dev;
}

Test(cuda_fp8, split_layout_holds_every_code_and_scale)
{
    for (int it = 0; it < 60; it++) {
        int N = rnd_int(1, 90), K = rnd_int(1, 300);
        size_t rb = dtype_row_bytes(DT_F8A8, K), pitch = rb + (it % 3 ? 0 : (size_t)rnd_int(1, 64));
        uint8_t *rows = fp8a8_rows(N, K, pitch, NULL);
        struct f8lt_wlayout l;
        uint8_t *dev = split_copy(rows, N, K, pitch, &l);
        cr_assert(l.codes_off % 16 == 0 && l.scale_off % 16 == 0 && l.scale_off >= (size_t)N * K);
        cr_assert_eq(l.code_stride, (size_t)K);
        cr_assert_eq(l.scale_stride, sizeof(float));
        for (int n = 0; n < N; n++) {
            const uint8_t *hr = rows + (size_t)n * pitch;
            cr_assert(memcmp(dev + l.codes_off + (size_t)n * l.code_stride, hr + XQ_ROW_HDR, (size_t)K) == 0,
                      "codes of row %d (N=%d K=%d)", n, N, K);
            float s;
            memcpy(&s, dev + l.scale_off + (size_t)n * l.scale_stride, sizeof s);
            cr_assert_eq(s, xq_row_scale(hr), "scale of row %d", n);
        }
        free(rows);
        free(dev);
    }
}

Test(cuda_fp8, row_layout_is_the_host_format)
{
    int N = 7, K = 45;
    size_t rb = dtype_row_bytes(DT_W8A8, K);
    struct f8lt_wlayout l = f8lt_wlayout_rows(N, K, rb);
    cr_assert(l.codes_off == XQ_ROW_HDR && l.code_stride == rb && l.scale_off == 0 && l.scale_stride == rb);
    cr_assert_eq(l.bytes, rb * N);
}

/* ---- per-element math ---- */

/* Nearest E4M3 magnitude step at |v| (double): 2^(e-3) for normals, 2^-9 below 2^-6. */
static double e4m3_step(double v)
{
    double a = fabs(v);
    if (a < 0x1p-6) return 0x1p-9;
    return ldexp(1.0, (int)floor(log2(a)) - 3);
}

Test(cuda_fp8, encode_is_the_cpu_quantizer_and_rounds_to_nearest)
{
    enum { K = 257 };
    float x[K];
    uint8_t row[XQ_ROW_HDR + K];
    for (int it = 0; it < 400; it++) {
        float mag = powf(10.f, rnd(-4, 3)), s = mag * rnd(0.5f, 2.f) / 448.f;
        for (int k = 0; k < K; k++) x[k] = rnd(-1, 1) * mag * (rnd_unit() < 0.05 ? 4.f : 1.f);
        xq_e4m3_encode_scaled(x, row, K, s);
        for (int k = 0; k < K; k++) {
            uint8_t c = f8lt_encode(x[k], s);
            cr_assert_eq(c, row[XQ_ROW_HDR + k], "x=%a s=%a", (double)x[k], (double)s);
            double v = (double)x[k] / (double)s, back = fp8_e4m3_to_f32(c);
            if (fabs(v) >= 448.0) cr_assert_eq(fabs(back), 448.0, "saturates: v=%g back=%g", v, back);
            else cr_assert(fabs(back - v) <= 0.5 * e4m3_step(v) * (1 + 1e-6), "v=%.9g back=%.9g", v, back);
        }
    }
}

Test(cuda_fp8, act_scale_is_the_cpu_rule)
{
    for (int it = 0; it < 1000; it++) {
        float mx = powf(10.f, rnd(-6, 4)), st = rnd(0.001f, 1.f);
        cr_assert_eq(f8lt_act_scale(0, mx), mx / 448.0f);
        cr_assert(fabs(f8lt_act_scale(0, mx) - mx / 448.0) <= 0x1p-24 * mx / 448.0);
        cr_assert_eq(f8lt_act_scale(st, mx), st);
    }
    cr_assert_eq(f8lt_act_scale(0, 0), 1.0f);
}

Test(cuda_fp8, epilogue_is_two_roundings_of_the_product)
{
    for (int it = 0; it < 20000; it++) {
        float acc = rnd(-1, 1) * powf(2.f, (float)rnd_int(-10, 20)), ws = rnd(1e-4f, 1.f), a = rnd(1e-5f, 1.f);
        float y = f8lt_epilogue(acc, ws, a);
        double ref = (double)ws * a * acc;
        cr_assert(fabs(y - ref) <= 0x1p-23 * fabs(ref), "acc=%a ws=%a a=%a: %a vs %a", (double)acc, (double)ws,
                  (double)a, (double)y, ref);
        cr_assert_eq(y, ws * a * acc);       /* the CPU act dot's expression, bit for bit */
    }
}

/* ---- the whole path, emulated, against the CPU backend ---- */

/* y_emu[m][N] by the GEMM path's steps on host memory; absp[m][N] =
 * ws·a·Σ|products| (the scale of the summation-order error). */
static void emulate_gemm_path(const uint8_t *dev, const struct f8lt_wlayout *l, const float *x, int m, int N, int K,
                              float static_scale, float *y, double *absp)
{
    struct f8lt_plan p;
    f8lt_plan_make(&p, 9, 0, true, m, N, K, 0);
    float tmax = 0;
    for (int i = 0; i < m * K; i++) tmax = fmaxf(tmax, fabsf(x[i]));
    float a = f8lt_act_scale(static_scale, tmax);
    uint8_t *codes = calloc(p.codes_bytes, 1);      /* padding rows: zero codes */
    cr_assert(codes);
    for (int i = 0; i < m; i++)
        for (int k = 0; k < K; k++) codes[(size_t)i * K + k] = f8lt_encode(x[(size_t)i * K + k], a);
    for (int i = 0; i < p.m_pad; i++)
        for (int n = 0; n < N; n++) {
            const uint8_t *wc = dev + l->codes_off + (size_t)n * l->code_stride;
            double s = 0, sa = 0;
            for (int k = 0; k < K; k++) {
                double pr = (double)fp8_e4m3_to_f32(wc[k]) * fp8_e4m3_to_f32(codes[(size_t)i * K + k]);
                s += pr;
                sa += fabs(pr);
            }
            if (i >= m) { cr_assert_eq(s, 0.0, "padding row %d", i); continue; }
            float ws;
            memcpy(&ws, dev + l->scale_off + (size_t)n * l->scale_stride, sizeof ws);
            y[(size_t)i * N + n] = f8lt_epilogue((float)s, ws, a);
            absp[(size_t)i * N + n] = (double)ws * a * sa;
        }
    free(codes);
}

/* The CPU sums K exact products (E4M3·E4M3 has at most 8 significant bits) in
 * f32: error <= (K-1)·u·Σ|p|, u = 2^-24; the emulation rounds its exact sum
 * once (u) and both multiply by ws·a in two roundings (2u each side, relative
 * to the result, <= Σ|p| scale). Bound: (K + 5)·u·ws·a·Σ|p|, plus a tiny
 * absolute term for underflow. */
static void check_against_cpu(int m, int N, int K, bool static_scale)
{
    float *wf;
    uint8_t *rows = fp8a8_rows(N, K, dtype_row_bytes(DT_F8A8, K), &wf);
    free(wf);
    struct f8lt_wlayout l;
    uint8_t *dev = split_copy(rows, N, K, dtype_row_bytes(DT_F8A8, K), &l);
    float *x = malloc(sizeof *x * (size_t)m * K), *yc = malloc(sizeof *yc * (size_t)m * N);
    float *ye = malloc(sizeof *ye * (size_t)m * N);
    double *absp = malloc(sizeof *absp * (size_t)m * N);
    cr_assert(x && yc && ye && absp);
    float mx = 0;
    for (int i = 0; i < m * K; i++) {
        x[i] = rnd(-1, 1) * (rnd_unit() < 0.02 ? 30.f : 1.f);
        mx = fmaxf(mx, fabsf(x[i]));
    }
    /* a calibrated scale a little below the max: the outliers saturate on both sides */
    float st = static_scale ? 0.8f * mx / 448.f : 0.f;
    struct weight w = {.type = DT_F8A8, .rows = N, .cols = K, .data = rows, .act_scale = st};
    snprintf(w.name, sizeof w.name, "fp8lt.test");
    struct backend *cpu = cpu_backend_create(1, CPU_SIMD_AVX512);
    cr_assert(cpu);
    backend_matmul(cpu, yc, &w, x, m);
    backend_destroy(cpu);
    emulate_gemm_path(dev, &l, x, m, N, K, st, ye, absp);
    for (int i = 0; i < m * N; i++)
        cr_assert(fabs((double)ye[i] - yc[i]) <= (K + 5) * 0x1p-24 * absp[i] + 1e-30,
                  "m=%d N=%d K=%d static=%d y[%d]: emulated %.9g cpu %.9g (bound %.3g)", m, N, K, static_scale, i,
                  (double)ye[i], (double)yc[i], (K + 5) * 0x1p-24 * absp[i]);
    free(rows); free(dev); free(x); free(yc); free(ye); free(absp);
}

Test(cuda_fp8, emulated_gemm_path_matches_the_cpu_backend)
{
    check_against_cpu(16, 32, 48, false);
    check_against_cpu(33, 48, 160, false);      /* m padded to 48 */
    check_against_cpu(20, 64, 576, true);
    check_against_cpu(64, 16, 1536, false);
    check_against_cpu(17, 80, 96, true);
}
