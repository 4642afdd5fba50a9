/* kernels/roof_profile.c and its cache lines: each term of the measured
 * operator profile against a hand computation (matmul interpolated in rows
 * plus the per-op cost, attention's fixed + per-FLOP cost by kind, the small
 * ops' polyline in elements, rope's heads and head_dim), the roofline as the
 * fallback where the profile has nothing, the profile's round trip through
 * the host cache file (format 4) and the sim device's re-read footprint
 * after a live quant change. */
#include "core/plan/hw.h"
#include "core/plan/hw_cache.h"
#include "core/parallel/tp.h"
#include "core/workload/session.h"
#include "kernels/registry.h"
#include "kernels/roofline.h"
#include "kernels/tiling.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

/* A device with a profile for q8_0 matmuls, flash/f16 attention and every small op. */
static struct roof_device profiled(void)
{
    struct roof_device d = {.name = "test", .n_devices = 1, .bw = 1e10, .op_overhead_s = 2e-6};
    for (int p = 0; p < RP_COUNT; p++) d.flops[p] = 1e11;
    d.mem_eff = d.flop_eff = (struct roof_curve){1, 1, 0};
    /* m = 1 2 4 8 16 128 */
    const double g[ROOF_MM_ROWS_N] = {1e-9, 1.2e-9, 1.6e-9, 2.4e-9, 4e-9, 20e-9};
    memcpy(d.prof.mm_elem_s[DT_Q8_0], g, sizeof g);
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
    double elems = 576.0 * 1536;
    struct kernel_record r = {.cls = OPC_MATMUL, .shape = {3, 576, 1536}, .flops = 2 * 3 * elems, .dram_rd = 1};
    /* m = 3: halfway between m = 2 (1.2 ns) and m = 4 (1.6 ns) */
    cr_assert_float_eq(time_of(&d, &r, DT_Q8_0), 2e-6 + elems * 1.4e-9, 1e-15);
    r.shape[0] = 1;
    r.flops = 2 * elems;
    cr_assert_float_eq(time_of(&d, &r, DT_Q8_0), 2e-6 + elems * 1e-9, 1e-15);
    r.flops = 2 * 72 * elems;
    r.shape[0] = 72;                     /* between 16 (4 ns) and 128 (20 ns): 4 + 16·56/112 = 12 ns */
    cr_assert_float_eq(time_of(&d, &r, DT_Q8_0), 2e-6 + elems * 12e-9, 1e-15);
    r.shape[0] = 512;                    /* beyond 128: per element ∝ m, 20 ns · 4 */
    r.flops = 2 * 512 * elems;
    cr_assert_float_eq(time_of(&d, &r, DT_Q8_0), 2e-6 + elems * 80e-9, 1e-15);
    r.flops /= 2;                        /* a tp=2 share of the same record: half the elements */
    cr_assert_float_eq(time_of(&d, &r, DT_Q8_0), 2e-6 + elems / 2 * 80e-9, 1e-15);
    r.flops *= 2;
    /* f32 has no profile here: the roofline, overhead + max(flops/F, bytes/bw) */
    r.flops = 2.0 * 512 * elems;
    r.dram_rd = 4 * elems;
    cr_assert_float_eq(time_of(&d, &r, DT_F32), 2e-6 + r.flops / 1e11, 1e-15);
}

Test(roof_profile, record_format_from_the_log)
{
    struct kernel_record mm = {.cls = OPC_MATMUL, .name = "matmul_q4_1"}, at = {.cls = OPC_ATTN, .name = "attn_flash"},
                         add = {.cls = OPC_ELTWISE, .name = "add"};
    cr_assert_eq(roof_record_fmt(&mm, DT_F16), DT_Q4_1);
    cr_assert_eq(roof_record_fmt(&at, DT_F16), DT_F16);
    cr_assert_eq(roof_record_fmt(&add, DT_F16), DT_F32);
}

Test(roof_profile, attention_fixed_plus_per_flop_by_kind)
{
    struct roof_device d = profiled();
    struct kernel_record r = {.cls = OPC_ATTN, .name = "attn_flash_paged", .shape = {1, 300, 9, 64}, .flops = 7e5};
    cr_assert_float_eq(time_of(&d, &r, DT_F16), 3e-6 + 7e5 * 1e-10, 1e-15);
    /* another kind (f32 KV, prefill, naive) is not in the profile: the roofline */
    r.dram_rd = 1e6;
    cr_assert_float_eq(time_of(&d, &r, DT_F32), 2e-6 + 1e6 / 1e10, 1e-15);
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
    cr_assert_float_eq(d.prof.mm_elem_s[DT_Q8_0][0], 0.5e-9, 1e-24);
    cr_assert_float_eq(d.prof.attn_flop_s[roof_attn_kind(ATTN_FLASH, DT_F16, 1)], 0.5e-10, 1e-24);
    cr_assert_float_eq(d.prof.attn_fixed_s[roof_attn_kind(ATTN_FLASH, DT_F16, 1)], 3e-6, 1e-24);
    d.n_devices = 2;
    roof_device_one(&d, &one);
    cr_assert_float_eq(one.prof.mm_elem_s[DT_Q8_0][0], 1e-9, 1e-24);
}

/* The profile goes through the cache file to the bit; a format-3 file and a
 * short mm line are rejected naming the line. */
Test(roof_profile, cache_round_trip_and_rejections)
{
    struct roof_device d = profiled(), back;
    d.llc_bytes = d.llc_bw = d.near_bytes = d.near_bw = 1e9;
    for (int t = 0; t < DT_COUNT; t++) {
        if (!hw_cache_measured((enum dtype)t)) continue;
        d.wtype_flops[t] = 1e10 + t;
        for (int i = 0; i < ROOF_MM_ROWS_N; i++) d.prof.mm_elem_s[t][i] = 1e-9 * (t + 1) + 1e-12 * i;
    }
    for (int k = 0; k < ROOF_ATTN_KINDS; k++) { d.prof.attn_fixed_s[k] = 1e-6 * (k + 1); d.prof.attn_flop_s[k] = 1e-11 * (k + 1); }
    static char text[HW_CACHE_MAX_BYTES];
    char err[256];
    int n = hw_cache_format("cpu=x backend=y", &d, text, sizeof text);
    cr_assert(n > 0);
    memset(&back, 0, sizeof back);
    cr_assert_eq(hw_cache_parse(text, (size_t)n, "cpu=x backend=y", &back, err, sizeof err), 0, "%s", err);
    cr_assert(!memcmp(&back.prof, &d.prof, sizeof d.prof), "the profile, to the bit");
    cr_assert(strncmp(text, "infertop-hw 4\n", 14) == 0);
    text[12] = '3';
    cr_assert_eq(hw_cache_parse(text, (size_t)n, "cpu=x backend=y", &back, err, sizeof err), -1);
    cr_assert(strstr(err, "line 1: expected 'infertop-hw 4'"), "%s", err);
    text[12] = '4';
    char *mm = strstr(text, "\nmm q8_0 ");
    cr_assert(mm);
    char *nl = strchr(mm + 1, '\n'), *last = nl;
    while (last[-1] != ' ') last--;
    memmove(last - 1, nl, strlen(nl) + 1);    /* drop the m=128 value */
    cr_assert_eq(hw_cache_parse(text, strlen(text), "cpu=x backend=y", &back, err, sizeof err), -1);
    cr_assert(strstr(err, "expected 'mm q8_0' and 6 seconds per element"), "%s", err);
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
