/* tests/unit/test_cupti_range.c — the range-profiler session
 * (traces/cupti_range.c) over fake CUPTI tables: each fallback (no GPU, no
 * counter permission, another profiler, unsupported device, a multi-pass
 * metric set, busy counters at stop) leaves the session off with its reason
 * and releases CUPTI exactly once; the happy path pushes one range per op
 * (nesting 1, max_ranges respected) and hands back the decoded values. The
 * real table runs too: on a machine without a GPU it must answer "no GPU". */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "traces/cupti_range.h"

struct fake {
    int check_st, config_st, passes, stop_st;
    int releases, pushes, pops, starts;
    char names[16][64];
};

static int f_check(void *ctx, int device, char *chip, size_t n, char *detail, size_t dn)
{
    struct fake *f = ctx;
    (void)device;
    snprintf(chip, n, "GH100");
    if (f->check_st) snprintf(detail, dn, "fake device_check detail");
    return f->check_st;
}

static int f_config(void *ctx, const char *chip, const char *const *metrics, int n_metrics, int max_ranges,
                    int *passes, char *detail, size_t dn)
{
    struct fake *f = ctx;
    cr_assert_str_eq(chip, "GH100");
    cr_assert_eq(n_metrics, CRP_N_METRICS);
    cr_assert_str_eq(metrics[CRP_DRAM_READ], "dram__bytes_read.sum");
    cr_assert(max_ranges > 0);
    *passes = f->passes;
    if (f->config_st == CRP_NO_PERMISSION) snprintf(detail, dn, "cuptiProfilerGetCounterAvailability: CUPTI_ERROR_INSUFFICIENT_PRIVILEGES");
    return f->config_st;
}

static int f_start(void *ctx, char *detail, size_t dn) { (void)detail; (void)dn; ((struct fake *)ctx)->starts++; return CRP_OK; }

static int f_push(void *ctx, const char *name)
{
    struct fake *f = ctx;
    cr_assert(f->pushes == f->pops, "nesting 1: a push only after the previous pop");
    snprintf(f->names[f->pushes++ % 16], 64, "%s", name);
    return CRP_OK;
}

static int f_pop(void *ctx) { ((struct fake *)ctx)->pops++; return CRP_OK; }

static int f_stop(void *ctx, char *detail, size_t dn)
{
    struct fake *f = ctx;
    if (f->stop_st) snprintf(detail, dn, "cuptiRangeProfilerStop: CUPTI_ERROR_HARDWARE_BUSY");
    return f->stop_st;
}

static int f_results(void *ctx, struct crp_range *out, int max, int *n, char *detail, size_t dn)
{
    struct fake *f = ctx;
    (void)detail; (void)dn;
    *n = 0;
    for (int i = 0; i < f->pushes && *n < max; i++) {
        snprintf(out[*n].name, sizeof out[*n].name, "%s", f->names[i % 16]);
        for (int m = 0; m < CRP_N_METRICS; m++) out[*n].v[m] = 1000.0 * (i + 1) + m;
        (*n)++;
    }
    return CRP_OK;
}

static void f_release(void *ctx) { ((struct fake *)ctx)->releases++; }

static const struct crp_ops FAKE = {f_check, f_config, f_start, f_push, f_pop, f_stop, f_results, f_release};

/* A session over f opened with max_ranges, which must succeed. */
static void open_ok(struct crp_session *s, struct fake *f, int max_ranges)
{
    cr_assert_eq(crp_open(s, &FAKE, f, 0, max_ranges), CRP_OK);
    cr_assert(crp_usable(s) && s->reason[0] == '\0');
}

/* Close the window into out[max]; the status must be `want`. Returns the ranges. */
static int end_window(struct crp_session *s, struct crp_range *out, int max, int want)
{
    int n = -1;
    cr_assert_eq(crp_window_end(s, out, max, &n), want);
    return n;
}

static void expect_off(enum crp_status want, struct fake *f, const char *needle)
{
    struct crp_session s;
    int st = crp_open(&s, &FAKE, f, 0, 8);
    cr_assert_eq(st, want);
    cr_assert(!crp_usable(&s));
    cr_assert(strstr(s.reason, needle), "reason '%s' lacks '%s'", s.reason, needle);
    cr_assert_eq(f->releases, 1, "CUPTI released once after a failed open");
    cr_assert_eq(crp_window_begin(&s), want, "a window on an off session answers its status");
    crp_push(&s, "matmul");
    crp_pop(&s);
    cr_assert_eq(f->pushes, 0);
    crp_close(&s);
    cr_assert_eq(f->releases, 1, "close after a failure releases nothing more");
}

Test(cupti_range, no_gpu)
{
    struct fake f = {.check_st = CRP_NO_GPU, .passes = 1};
    expect_off(CRP_NO_GPU, &f, "no usable CUDA device");
}

Test(cupti_range, no_counter_permission_names_the_driver_setting)
{
    struct fake f = {.config_st = CRP_NO_PERMISSION, .passes = 1};
    expect_off(CRP_NO_PERMISSION, &f, "NVreg_RestrictProfilingToAdminUsers=0");
    struct fake g = {.config_st = CRP_NO_PERMISSION, .passes = 1};
    expect_off(CRP_NO_PERMISSION, &g, "CUPTI_ERROR_INSUFFICIENT_PRIVILEGES");
}

Test(cupti_range, another_profiler_attached)
{
    struct fake f = {.config_st = CRP_OTHER_PROFILER, .passes = 1};
    expect_off(CRP_OTHER_PROFILER, &f, "another profiler");
}

Test(cupti_range, unsupported_device)
{
    struct fake f = {.check_st = CRP_UNSUPPORTED, .passes = 1};
    expect_off(CRP_UNSUPPORTED, &f, "does not support this device");
}

Test(cupti_range, multi_pass_metric_set_refused)
{
    struct fake f = {.passes = 2};
    expect_off(CRP_MULTI_PASS, &f, "2 passes on GH100");
}

Test(cupti_range, one_range_per_op_and_values_back)
{
    struct fake f = {.passes = 1};
    struct crp_session s;
    open_ok(&s, &f, 3);
    crp_push(&s, "outside a window");            /* ignored */
    cr_assert_eq(f.pushes, 0);
    for (int w = 0; w < 2; w++) {
        cr_assert_eq(crp_window_begin(&s), CRP_OK);
        const char *ops[] = {"embed", "matmul", "attention", "rmsnorm", "matmul"};
        for (int i = 0; i < 5; i++) {
            crp_push(&s, ops[i]);
            crp_push(&s, "nested");               /* nesting 1: not a range of its own */
            crp_pop(&s);
            crp_pop(&s);
        }
        crp_pop(&s);                              /* unbalanced pop: ignored */
        cr_assert_eq(s.pushed, 3);
        cr_assert_eq(s.dropped, 2 + 5, "2 beyond max_ranges, 5 nested");
        struct crp_range out[8];
        cr_assert_eq(end_window(&s, out, 8, CRP_OK), 3);
        cr_assert_str_eq(out[2].name, "attention");
        cr_assert_eq(crp_dram_bytes(&out[0]), 1000.0 + 1001.0);
        f.pushes = f.pops = 0;
    }
    cr_assert_eq(f.starts, 2);
    crp_close(&s);
    crp_close(&s);
    cr_assert_eq(f.releases, 1);
}

Test(cupti_range, busy_counters_at_stop_turn_it_off)
{
    struct fake f = {.passes = 1, .stop_st = CRP_HW_BUSY};
    struct crp_session s;
    open_ok(&s, &f, 4);
    cr_assert_eq(crp_window_begin(&s), CRP_OK);
    crp_push(&s, "matmul");
    crp_pop(&s);
    struct crp_range out[4];
    cr_assert_eq(end_window(&s, out, 4, CRP_HW_BUSY), 0);
    cr_assert(!crp_usable(&s) && strstr(s.reason, "busy") && strstr(s.reason, "HARDWARE_BUSY"), "%s", s.reason);
    cr_assert_eq(f.releases, 1);
    crp_close(&s);
    cr_assert_eq(f.releases, 1);
}

Test(cupti_range, error_pct_and_reasons)
{
    cr_assert_float_eq(crp_error_pct(110, 100), 10.0, 1e-12);
    cr_assert_float_eq(crp_error_pct(50, 100), -50.0, 1e-12);
    cr_assert_eq(crp_error_pct(5, 0), 0.0);
    char line[256];
    crp_reason(CRP_OK, "x", line, sizeof line);
    cr_assert_str_eq(line, "");
    crp_reason(CRP_FAILED, "cuptiX: boom", line, sizeof line);
    cr_assert(strstr(line, "failed (cuptiX: boom)"), "%s", line);
}

/* The real table on this machine: no GPU here, so "no GPU" and no crash. */
Test(cupti_range, real_table_without_gpu_says_no_gpu)
{
    struct crp_session s;
    int st = crp_open(&s, crp_cupti_ops(), NULL, 0, 16);
    if (st == CRP_OK) {                  /* a machine with a profilable GPU: nothing to check here */
        crp_close(&s);
        return;
    }
    cr_assert(st == CRP_NO_GPU || st == CRP_NO_PERMISSION || st == CRP_UNSUPPORTED || st == CRP_OTHER_PROFILER,
              "status %d: %s", st, s.reason);
    cr_assert(s.reason[0]);
    crp_close(&s);
}

/* ---- --measure-traffic (traces/traffic_measure.c) over the fake table ---- */
#include "traces/traffic_measure.h"

static char last_err[384];   /* measure_open's message */

/* traffic_measure_open over the fake table f for backend `be_name`, n steps. */
static int measure_open(struct traffic_measure *m, struct fake *f, const char *be_name, int n)
{
    last_err[0] = '\0';
    return traffic_measure_open(m, &FAKE, f, be_name, 0, n, last_err, sizeof last_err);
}

Test(traffic_measure, without_cuda_backend_or_counters_exit_2_with_reason)
{
    struct traffic_measure m;
    struct fake f = {.passes = 1};
    cr_assert_eq(measure_open(&m, &f, "cpu", 4), 2);
    cr_assert(strstr(last_err, "no usable CUDA device") && strstr(last_err, "backend cpu"), "%s", last_err);
    cr_assert_eq(f.releases, 0, "CUPTI untouched for a CPU backend");
    struct fake g = {.passes = 1, .config_st = CRP_NO_PERMISSION};
    cr_assert_eq(measure_open(&m, &g, "cuda", 4), 2);
    cr_assert(strstr(last_err, "NVreg_RestrictProfilingToAdminUsers"), "%s", last_err);
    cr_assert_null(crp_active());
}

static struct kernel_record rec(enum op_class cls, double dram, double chip)
{
    struct kernel_record k;
    memset(&k, 0, sizeof k);
    k.cls = cls;
    k.dram_rd = dram * 0.75;
    k.dram_wr = dram * 0.25;
    k.chip_rd = chip;
    return k;
}

Test(traffic_measure, window_after_first_step_sums_per_op_class)
{
    struct traffic_measure m;
    struct fake f = {.passes = 1};
    cr_assert_eq(measure_open(&m, &f, "cuda", 2), 0);
    cr_assert(crp_active() == &m.s);
    struct kernel_record ks[3] = {rec(OPC_MATMUL, 1000, 10), rec(OPC_ATTN, 500, 5), rec(OPC_MATMUL, 3000, 30)};
    struct telemetry t;
    memset(&t, 0, sizeof t);
    t.kernels = ks;
    t.n_kernels = 3;
    cr_assert_eq(traffic_measure_step(&m, &t), 0);           /* warm-up step: opens the window */
    cr_assert(m.in_window && f.starts == 1);
    for (int step = 0; step < 2; step++) {                   /* what the CUDA backend pushes */
        const char *names[] = {"0#matmul", "1#attention", "2#matmul"};
        for (int i = 0; i < 3; i++) { crp_push(&m.s, names[i]); crp_pop(&m.s); }
        cr_assert_eq(traffic_measure_step(&m, &t), 0);
    }
    cr_assert(m.done && !m.in_window);
    cr_assert_eq(m.n_ranges, 6);
    traffic_measure_print(&m, stderr);
    const struct tm_row *mm = NULL, *at = NULL;
    for (int i = 0; i < m.n_rows; i++) {
        if (!strcmp(m.rows[i].name, op_class_name(OPC_MATMUL))) mm = &m.rows[i];
        if (!strcmp(m.rows[i].name, op_class_name(OPC_ATTN))) at = &m.rows[i];
    }
    cr_assert(mm && at, "rows per class");
    cr_assert_eq(mm->ranges, 4);
    cr_assert_eq(at->ranges, 2);
    cr_assert_float_eq(mm->modeled_dram, 2 * 4000.0, 1e-9);
    /* the fake's range i carries 1000(i+1) read + 1000(i+1)+1 written */
    double want = 0;
    for (int i = 0; i < 6; i++) if (i % 3 != 1) want += 2000.0 * (i + 1) + 1;
    cr_assert_float_eq(mm->dram, want, 1e-9);
    traffic_measure_step(&m, &t);                            /* after the window: nothing more */
    cr_assert_eq(mm->ranges, 4);
    traffic_measure_close(&m);
    cr_assert_null(crp_active());
    cr_assert_eq(f.releases, 1);
}
