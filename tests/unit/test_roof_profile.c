/* kernels/roof_profile.c and its cache lines: each term of the measured
 * operator profile against a hand computation (matmul interpolated in rows
 * and in shape — bilinear in 1/K, 1/N, clamped, the long-N tail — plus the
 * per-op cost, attention's fixed + per-FLOP cost by kind, the small
 * ops' polyline in elements, rope's heads and head_dim), the roofline as the
 * fallback where the profile has nothing, the profile's round trip through
 * the host cache file (format 7) and the sim device's re-read footprint
 * after a live quant change. */
#include "core/plan/hw.h"
#include "core/plan/hw_cache.h"
#include "core/plan/hw_probe.h"
#include "core/parallel/tp.h"
#include "core/workload/session.h"
#include "kernels/registry.h"
#include "kernels/roofline.h"
#include "kernels/tiling.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

/* The profile's matmul: a + b/K + c/N seconds per weight element (the cost
 * model the shape interpolation is exact for), times a factor by m. */
#define AFF(k, n) (1e-10 + 2e-8 / (k) + 3e-9 / (n))
#define LONG_EXTRA 5e-12
static const double ROWF[ROOF_MM_ROWS_N] = {1, 1.2, 1.6, 2.4, 4, 10, 20, 60};   /* m = 1 2 4 8 16 64 128 512 */

/* A device with a profile for q8_0 matmuls, flash/f16 attention and every small op. */
static struct roof_device profiled(void)
{
    struct roof_device d = {.name = "test", .n_devices = 1, .bw = 1e10, .op_overhead_s = 2e-6};
    for (int p = 0; p < RP_COUNT; p++) d.flops[p] = 1e11;
    d.mem_eff = d.flop_eff = (struct roof_curve){1, 1, 0};
    /* per element: AFF(K, N) × ROWF[m], the long-N point LONG_EXTRA above it */
    for (int sh = 0; sh < ROOF_MM_SHAPES; sh++) {
        int k, n;
        roof_mm_shape(sh, &k, &n);
        for (int i = 0; i < ROOF_MM_ROWS_N; i++)
            d.prof.mm_elem_s[DT_Q8_0][sh][i] = (AFF(k, n) + (sh == ROOF_MM_GRID ? LONG_EXTRA : 0)) * ROWF[i];
    }
    int k = roof_attn_kind(ATTN_FLASH, DT_F16, 1);
    d.prof.attn_fixed_s[k] = 3e-6;
    d.prof.attn_flop_s[k] = 1e-10;
    for (int s = 0; s < RSO_COUNT; s++)
        for (int i = 0; i < ROOF_SMALL_N; i++) d.prof.small_s[s][i] = (1.0 + s) * 1e-6 * (i + 1);
    return d;
}

static double time_of(const struct roof_device *d, const struct kernel_record *r, enum dtype fmt)
{
    struct roof_time t;
    roof_op_time(d, r, fmt, &t);
    return t.t_s;
}

Test(roof_profile, matmul_interpolates_rows_and_adds_the_op_cost)
{
    struct roof_device d = profiled();
    double elems = 576.0 * 1536, a = AFF(1536.0, 576.0);    /* N 576 rows, K 1536 columns */
    struct kernel_record r = {.cls = OPC_MATMUL, .shape = {3, 576, 1536}, .flops = 2 * 3 * elems, .dram_rd = 1};
    /* m = 3: halfway between m = 2 (1.2) and m = 4 (1.6) */
    cr_assert_float_eq(time_of(&d, &r, DT_Q8_0), 2e-6 + elems * a * 1.4, 1e-15);
    r.shape[0] = 1;
    r.flops = 2 * elems;
    cr_assert_float_eq(time_of(&d, &r, DT_Q8_0), 2e-6 + elems * a, 1e-15);
    r.flops = 2 * 72 * elems;
    r.shape[0] = 40;                     /* between 16 (4) and 64 (10): 4 + 6·24/48 = 7 */
    r.flops = 2 * 40 * elems;
    cr_assert_float_eq(time_of(&d, &r, DT_Q8_0), 2e-6 + elems * a * 7, 1e-15);
    r.flops = 2 * 72 * elems;
    r.shape[0] = 72;                     /* between 64 (10) and 128 (20): 10 + 10·8/64 = 11.25 */
    cr_assert_float_eq(time_of(&d, &r, DT_Q8_0), 2e-6 + elems * a * 11.25, 1e-15);
    r.shape[0] = 320;                    /* between 128 (20) and 512 (60): 20 + 40·192/384 = 40 */
    r.flops = 2 * 320 * elems;
    cr_assert_float_eq(time_of(&d, &r, DT_Q8_0), 2e-6 + elems * a * 40, 1e-15);
    r.shape[0] = 512;                    /* the 512-row probe itself */
    r.flops = 2 * 512 * elems;
    cr_assert_float_eq(time_of(&d, &r, DT_Q8_0), 2e-6 + elems * a * 60, 1e-15);
    r.flops /= 2;                        /* a tp=2 share of the same record: half the rows, N = 288 */
    cr_assert_float_eq(time_of(&d, &r, DT_Q8_0), 2e-6 + elems / 2 * AFF(1536.0, 288.0) * 60, 1e-15);
    r.shape[0] = 1024;                   /* beyond 512: per element ∝ m, 60 · 2 */
    r.flops = 2 * 1024 * elems;
    cr_assert_float_eq(time_of(&d, &r, DT_Q8_0), 2e-6 + elems * a * 120, 1e-15);
    /* f32 has no profile here: the roofline, overhead + max(flops/F, bytes/bw) */
    r.flops = 2.0 * 512 * elems;
    r.dram_rd = 4 * elems;
    cr_assert_float_eq(time_of(&d, &r, DT_F32), 2e-6 + r.flops / 1e11, 1e-15);
}

/* The shape read-back by hand: bilinear in (1/K, 1/N) inside the grid (exact
 * for a + b/K + c/N), clamped outside it, the long-N difference linear in 1/N. */
Test(roof_profile, matmul_shape_bilinear_in_reciprocals)
{
    struct roof_device d = profiled();
    const struct roof_profile *p = &d.prof;
    /* K 1024, N 576: fu = (1/512 − 1/1024)/(1/512 − 1/1536) = 3/4, fv = 8/9; linear: exact */
    cr_assert_float_eq(roof_mm_elem_s(p, DT_Q8_0, 1024, 576, 1), AFF(1024.0, 576.0), 1e-22);
    /* the bilinear patch by hand, on a profile that is not linear: one corner raised */
    struct roof_profile q = *p;
    for (int i = 0; i < ROOF_MM_ROWS_N; i++) q.mm_elem_s[DT_Q8_0][1 * ROOF_MM_NN + 1][i] += 8e-12 * ROWF[i];
    /* (1536, 1024) is corner (i+1, j+1) of the patch: weight fu · fv = 3/4 · 8/9 = 2/3 */
    cr_assert_float_eq(roof_mm_elem_s(&q, DT_Q8_0, 1024, 576, 1), AFF(1024.0, 576.0) + 8e-12 * 2.0 / 3.0, 1e-22);
    cr_assert_float_eq(roof_mm_elem_s(&q, DT_Q8_0, 1024, 576, 16), (AFF(1024.0, 576.0) + 8e-12 * 2.0 / 3.0) * 4, 1e-21);
    /* outside the grid: K and N clamped to it */
    cr_assert_float_eq(roof_mm_elem_s(p, DT_Q8_0, 256, 64, 1), AFF(512.0, 128.0), 1e-22);
    cr_assert_float_eq(roof_mm_elem_s(p, DT_Q8_0, 8192, 2048, 1), AFF(4096.0, 2048.0), 1e-22);
    /* long N, K 1536, N 49152: grid at (1536, 4096) + (long − grid(512, 4096)) · w,
     * w = (1/4096 − 1/49152) / (1/4096 − 1/32768) = 22/21 */
    double dl = AFF(512.0, 32768.0) + LONG_EXTRA - AFF(512.0, 4096.0);
    cr_assert_float_eq(roof_mm_elem_s(p, DT_Q8_0, 1536, 49152, 1), AFF(1536.0, 4096.0) + dl * 22.0 / 21.0, 1e-22);
    cr_assert_float_eq(roof_mm_elem_s(p, DT_Q8_0, 512, 32768, 2), (AFF(512.0, 32768.0) + LONG_EXTRA) * 1.2, 1e-22,
                       "at the long-N point: its own value");
    /* a long-N point far below the grid (noise) is held at half the grid's edge */
    for (int i = 0; i < ROOF_MM_ROWS_N; i++) q.mm_elem_s[DT_Q8_0][ROOF_MM_GRID][i] = 1e-13;
    cr_assert_float_eq(roof_mm_elem_s(&q, DT_Q8_0, 4096, 32768, 1), 0.5 * AFF(4096.0, 4096.0), 1e-22);
    /* a format without a profile, or a shape missing: 0 (the roofline) */
    cr_assert_eq(roof_mm_elem_s(p, DT_F32, 1024, 1024, 1), 0);
    q.mm_elem_s[DT_Q8_0][3][0] = 0;
    cr_assert_eq(roof_mm_elem_s(&q, DT_Q8_0, 1024, 1024, 1), 0);
    int k, n;
    roof_mm_shape(ROOF_MM_GRID, &k, &n);
    cr_assert(k == ROOF_MM_LONG_K && n == ROOF_MM_LONG_N);
    roof_mm_shape(2 * ROOF_MM_NN + 1, &k, &n);
    cr_assert(k == 4096 && n == 1024);
}

Test(roof_profile, record_format_from_the_log)
{
    struct kernel_record mm = {.cls = OPC_MATMUL, .name = "matmul_q4_1"}, at = {.cls = OPC_ATTN, .name = "attn_flash"},
                         add = {.cls = OPC_ELTWISE, .name = "add"};
    cr_assert_eq(roof_record_fmt(&mm, DT_F16), DT_Q4_1);
    cr_assert_eq(roof_record_fmt(&at, DT_F16), DT_F16);
    cr_assert_eq(roof_record_fmt(&add, DT_F16), DT_F32);
}

Test(roof_profile, attention_fixed_plus_per_flop_by_kind_and_queries)
{
    struct roof_device d = profiled();
    struct kernel_record r = {.cls = OPC_ATTN, .name = "attn_flash_paged", .shape = {1, 300, 9, 64}, .flops = 7e5};
    cr_assert_float_eq(time_of(&d, &r, DT_F16), 3e-6 + 7e5 * 1e-10, 1e-15);
    /* another kind (f32 KV, prefill, naive) is not in the profile: the roofline */
    r.dram_rd = 1e6;
    cr_assert_float_eq(time_of(&d, &r, DT_F32), 2e-6 + 1e6 / 1e10, 1e-15);
    /* prefill (flash f16): 64 queries 4 us + 2e-11 s/FLOP, 512 queries 10 us + 4e-11; at 288
     * queries halfway: 7 us + 3e-11 s/FLOP; clamped below 64 and above 512 */
    struct roof_device e = profiled();
    int kp = roof_attn_kind(ATTN_FLASH, DT_F16, 64);
    e.prof.attn_fixed_s[kp] = 4e-6;
    e.prof.attn_flop_s[kp] = 2e-11;
    e.prof.attn_wide_fixed_s[kp] = 10e-6;
    e.prof.attn_wide_flop_s[kp] = 4e-11;
    struct kernel_record pf = {.cls = OPC_ATTN, .name = "attn_flash_paged", .shape = {288, 900, 9, 64}, .flops = 1e8};
    cr_assert_float_eq(time_of(&e, &pf, DT_F16), 7e-6 + 1e8 * 3e-11, 1e-15);
    pf.shape[0] = 2048;
    cr_assert_float_eq(time_of(&e, &pf, DT_F16), 10e-6 + 1e8 * 4e-11, 1e-15);
    pf.shape[0] = 40;                          /* n_q 40 >= ATTN_TILE_Q: prefill, below 64: the 64-query line */
    cr_assert_float_eq(time_of(&e, &pf, DT_F16), 4e-6 + 1e8 * 2e-11, 1e-15);
    e.prof.attn_wide_flop_s[kp] = 0;           /* no wide probe (a hand-made profile): the 64-query line */
    pf.shape[0] = 512;
    cr_assert_float_eq(time_of(&e, &pf, DT_F16), 4e-6 + 1e8 * 2e-11, 1e-15);
    cr_assert_eq(roof_attn_kind(ATTN_NAIVE, DT_F32, 1), 0);
    cr_assert_eq(roof_attn_kind(ATTN_FLASH, DT_F16, ATTN_TILE_Q), 7);
    cr_assert_str_eq(roof_attn_kind_name(roof_attn_kind(ATTN_FLASH, DT_F16, 1)), "flash_f16_decode");
}

Test(roof_profile, small_ops_polyline_in_elements)
{
    struct roof_device d = profiled();        /* add: 3, 6, 9, 12 µs at 256, 4096, 65536, 1048576 */
    struct kernel_record r = {.cls = OPC_ELTWISE, .name = "add", .shape = {100}};
    cr_assert_float_eq(time_of(&d, &r, DT_F32), 3e-6, 1e-15, "below the smallest probe: its time");
    r.shape[0] = 2176;                        /* halfway 256..4096 */
    cr_assert_float_eq(time_of(&d, &r, DT_F32), 4.5e-6, 1e-15);
    r.shape[0] = 1048576 + 983040;            /* one more last segment: +3 µs */
    cr_assert_float_eq(time_of(&d, &r, DT_F32), 15e-6, 1e-12);
    struct kernel_record n = {.cls = OPC_NORM, .name = "rmsnorm", .shape = {4096}};
    cr_assert_float_eq(time_of(&d, &n, DT_F32), 2e-6, 1e-15);
}

Test(roof_profile, rope_between_one_and_eight_heads_scaled_by_head_dim)
{
    struct roof_device d = profiled();        /* rope_h1: 6, 12, ..; rope_h8: 7, 14, .. µs at 1, 16, 256, 2048 tokens */
    struct kernel_record r = {.cls = OPC_ELTWISE, .name = "rope", .shape = {16 * 3 * 64, 16, 3, 64}};
    /* 16 tokens: h1 12 µs, h8 14 µs; 3 heads: 12 + 2 · 2/7 */
    cr_assert_float_eq(time_of(&d, &r, DT_F32), 12e-6 + 2e-6 * 2.0 / 7.0, 1e-15);
    r.shape[3] = 128;                         /* head_dim 128: as 32 tokens of 64 */
    double t1 = 12e-6 + 6e-6 * 16.0 / 240.0, t8 = 14e-6 + 7e-6 * 16.0 / 240.0;
    cr_assert_float_eq(time_of(&d, &r, DT_F32), t1 + (t8 - t1) * 2.0 / 7.0, 1e-15);
}

Test(roof_profile, aggregate_scales_per_work_terms_only)
{
    struct roof_device d = profiled(), one;
    roof_profile_scale(&d.prof, 0.5);
    cr_assert_float_eq(d.prof.mm_elem_s[DT_Q8_0][4][0], 0.5 * AFF(1536.0, 1024.0), 1e-24);
    cr_assert_float_eq(d.prof.mm_elem_s[DT_Q8_0][ROOF_MM_GRID][roof_mm_row_index(128)], 0.5 * 20 * (AFF(512.0, 32768.0) + LONG_EXTRA), 1e-24);
    cr_assert_float_eq(d.prof.attn_flop_s[roof_attn_kind(ATTN_FLASH, DT_F16, 1)], 0.5e-10, 1e-24);
    cr_assert_float_eq(d.prof.attn_fixed_s[roof_attn_kind(ATTN_FLASH, DT_F16, 1)], 3e-6, 1e-24);
    d.n_devices = 2;
    roof_device_one(&d, &one);
    cr_assert_float_eq(one.prof.mm_elem_s[DT_Q8_0][4][0], AFF(1536.0, 1024.0), 1e-24);
}

/* The profile goes through the cache file to the bit; a format-5 file and a
 * short mm line are rejected naming the line. */
Test(roof_profile, cache_round_trip_and_rejections)
{
    struct roof_device d = profiled(), back;
    d.llc_bytes = d.llc_bw = d.near_bytes = d.near_bw = 1e9;
    for (int t = 0; t < DT_COUNT; t++) {
        if (!hw_cache_measured((enum dtype)t)) continue;
        d.wtype_flops[t] = 1e10 + t;
        for (int sh = 0; sh < ROOF_MM_SHAPES; sh++)
            for (int i = 0; i < ROOF_MM_ROWS_N; i++) d.prof.mm_elem_s[t][sh][i] = 1e-9 * (t + 1) + 1e-12 * i + 1e-14 * sh;
    }
    for (int k = 0; k < ROOF_ATTN_KINDS; k++) { d.prof.attn_fixed_s[k] = 1e-6 * (k + 1); d.prof.attn_flop_s[k] = 1e-11 * (k + 1); }
    for (int k = 1; k < ROOF_ATTN_KINDS; k += 2) { d.prof.attn_wide_fixed_s[k] = 3e-6 * k; d.prof.attn_wide_flop_s[k] = 2e-11 * k; }
    static char text[HW_CACHE_MAX_BYTES];
    char err[256];
    int n = hw_cache_format("cpu=x backend=y", &d, text, sizeof text);
    cr_assert(n > 0);
    memset(&back, 0, sizeof back);
    cr_assert_eq(hw_cache_parse(text, (size_t)n, "cpu=x backend=y", &back, err, sizeof err), 0, "%s", err);
    cr_assert(!memcmp(&back.prof, &d.prof, sizeof d.prof), "the profile, to the bit");
    cr_assert(n > 16384, "%d bytes: past format 4's cap", n);
    cr_assert(strncmp(text, "infertop-hw 8\n", 14) == 0);
    cr_assert(strstr(text, "\nattn flash_f16_prefill_q512 "), "the wide prefill line");
    text[12] = '7';     /* format 7: the shuffled-table attention lines, a miss */
    cr_assert_eq(hw_cache_parse(text, (size_t)n, "cpu=x backend=y", &back, err, sizeof err), -1);
    cr_assert(strstr(err, "line 1: expected 'infertop-hw 8'"), "%s", err);
    text[12] = '8';
    char *mm = strstr(text, "\nmm q8_0 1536 1024 ");
    cr_assert(mm);
    char *nl = strchr(mm + 1, '\n'), *last = nl;
    while (last[-1] != ' ') last--;
    memmove(last - 1, nl, strlen(nl) + 1);    /* drop the m=512 value */
    cr_assert_eq(hw_cache_parse(text, strlen(text), "cpu=x backend=y", &back, err, sizeof err), -1);
    cr_assert(strstr(err, "expected 'mm q8_0 1536 1024' and 8 seconds per element"), "%s", err);
}

/* A live quant change on sim: the device's re-read footprint follows the new weights. */
Test(roof_profile, sim_reload_refreshes_the_reuse_footprint, .timeout = 60)
{
    struct options o;
    char err[256];
    options_defaults(&o);
    cr_assert_eq(options_set_list(&o, "device=sim:h100 wtype=f16", err, sizeof err), 0, "%s", err);
    struct session S;
    cr_assert_eq(session_open(&S, "synth:llama2-7b", &o, NULL, err, sizeof err), 0, "%s", err);
    double f16 = backend_sim_device(S.be)->reuse_bytes;
    cr_assert_float_eq(f16, tp_weight_bytes(&S.model, 0, S.model.cfg.n_layers), 1);
    cr_assert_eq(options_set_list(&o, "quant=int4", err, sizeof err), 0, "%s", err);
    cr_assert_eq(session_reload_weights(&S, &o, NULL, NULL, err, sizeof err), 0, "%s", err);
    double i4 = backend_sim_device(S.be)->reuse_bytes;
    cr_assert_float_eq(i4, tp_weight_bytes(&S.model, 0, S.model.cfg.n_layers), 1);
    cr_assert(i4 < f16 / 2.5, "int4 %g vs f16 %g bytes", i4, f16);
    session_close(&S);
}

/* The probe's order fix (hw_profile_order): a value above a larger size's is
 * that size's (a wait inflates, never deflates); ordered values unchanged. */
Test(roof_profile, order_bounds_each_value_by_the_larger_sizes)
{
    static struct roof_profile p;
    memset(&p, 0, sizeof p);
    static const double mm[ROOF_MM_ROWS_N] = {1, 2, 9, 3, 4, 50, 40, 60};
    static const double want[ROOF_MM_ROWS_N] = {1, 2, 3, 3, 4, 40, 40, 60};
    memcpy(p.mm_elem_s[DT_Q8_0][3], mm, sizeof mm);
    static const double sm[ROOF_SMALL_N] = {5, 2, 3, 4}, sm_want[ROOF_SMALL_N] = {2, 2, 3, 4};
    memcpy(p.small_s[RSO_SWIGLU], sm, sizeof sm);
    static const double ok[ROOF_SMALL_N] = {1, 2, 3, 4};
    memcpy(p.small_s[RSO_ADD], ok, sizeof ok);
    hw_profile_order(&p);
    for (int i = 0; i < ROOF_MM_ROWS_N; i++)
        cr_assert_float_eq(p.mm_elem_s[DT_Q8_0][3][i], want[i], 1e-12, "m index %d: %g", i, p.mm_elem_s[DT_Q8_0][3][i]);
    for (int i = 0; i < ROOF_SMALL_N; i++) {
        cr_assert_float_eq(p.small_s[RSO_SWIGLU][i], sm_want[i], 1e-12, "swiglu size %d", i);
        cr_assert_float_eq(p.small_s[RSO_ADD][i], ok[i], 1e-12, "add size %d", i);
    }
}
