/* core/plan and kernels/sim: the plan's numbers against hand computations
 * (the seed's memory formulas, GQA, a budget's largest batch, a decode step's
 * memory-bound time), the roofline and its curves, and the simulated device
 * under the engine: the clock seam gives a CPU run and a simulated run of one
 * workload the same request schedule when their step times are equal. */
#include "core/engine/engine.h"
#include "core/plan/cpu_load.h"
#include "core/plan/hw.h"
#include "core/plan/plan.h"
#include "core/plan/validate.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/registry.h"

#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void load_shapes(struct model *m, const char *spec, enum dtype t)
{
    char err[256];
    cr_assert_eq(model_load_flags(m, spec, t, 1, 1, MODEL_SHAPES_ONLY, err, sizeof err), 0, "%s", err);
    cr_assert(m->shapes_only);
}

/* A device whose roofline is exactly bytes / bandwidth for memory-bound ops. */
static struct roof_device flat_device(double bw, double flops)
{
    struct roof_device d = {.name = "test", .n_devices = 1, .mem_bytes = 80e9, .bw = bw, .link_bw = 100e9};
    for (int p = 0; p < RP_COUNT; p++) d.flops[p] = flops;
    d.mem_eff = d.flop_eff = (struct roof_curve){1, 1, 0};
    return d;
}

Test(plan, llama2_7b_f16_weights_and_kv_per_token)
{
    struct model m;
    load_shapes(&m, "synth:llama2-7b", DT_F16);
    /* 6.74e9 parameters x 2 bytes (+ f32 norms) */
    double w = plan_weight_bytes(&m);
    cr_assert(w > 13.4e9 && w < 13.6e9, "weights %.3f GB", w / 1e9);
    cr_assert_float_eq(w, model_weight_bytes(&m.cfg, DT_F16), 1.0);
    /* 2 x 32 layers x 32 kv heads x 128 x 2 bytes = 512 KiB; 4096 tokens = 2 GiB (the seed's 2 GB) */
    struct plan_config c = {.m = &m, .dev = flat_device(3e12, 1e15), .tp = 1, .pp = 1, .batch = 1, .ctx = 4096,
                            .kv_type = DT_F16, .attn = ATTN_FLASH};
    struct plan_result r;
    char err[256];
    cr_assert_eq(plan_compute(&c, &r, err, sizeof err), 0, "%s", err);
    cr_assert_float_eq(r.kv_token, 512.0 * 1024, 1e-6);
    cr_assert_float_eq(r.kv, 2.0 * 1024 * 1024 * 1024, 1e-3);
    model_free(&m);
}

Test(plan, llama3_8b_gqa_kv_per_token)
{
    struct model m;
    load_shapes(&m, "synth:llama3-8b", DT_BF16);
    /* GQA: 8 KV heads, not the 32 query heads: 2 x 32 x 8 x 128 x 2 = 128 KiB */
    cr_assert_float_eq(model_kv_bytes_per_token(&m.cfg, 2), 128.0 * 1024, 1e-6);
    struct plan_config c = {.m = &m, .dev = flat_device(3e12, 1e15), .tp = 1, .pp = 1, .batch = 2, .ctx = 1000,
                            .kv_type = DT_F16};
    struct plan_result r;
    char err[256];
    cr_assert_eq(plan_compute(&c, &r, err, sizeof err), 0, "%s", err);
    cr_assert_float_eq(r.kv_token, 131072.0, 1e-6);
    cr_assert_float_eq(r.kv, 2.0 * 1000 * 131072, 1e-3);
    model_free(&m);
}

/* Largest batch: weights + b·(ctx·KV/token + activations of ctx tokens) <= budget. */
Test(plan, max_batch_for_a_budget)
{
    struct model m;
    load_shapes(&m, "synth:llama2-7b", DT_F16);
    const struct model_config *mc = &m.cfg;
    int ctx = 2048;
    double kv_tok = 2.0 * 32 * 32 * 128 * 2;
    double act_tok = (3.0 * mc->dim + 2.0 * 4096 + 2.0 * 4096 + 2.0 * mc->ffn_dim + mc->vocab) * 4.0;
    double per_seq = ctx * (kv_tok + act_tok), w = plan_weight_bytes(&m);
    for (int want = 1; want <= 9; want += 4) {
        struct plan_config c = {.m = &m, .dev = flat_device(3e12, 1e15), .tp = 1, .pp = 1, .batch = 1, .ctx = ctx,
                                .kv_type = DT_F16, .budget = w + want * per_seq + per_seq / 2};
        struct plan_result r;
        char err[256];
        cr_assert_eq(plan_compute(&c, &r, err, sizeof err), 0, "%s", err);
        cr_assert_eq(r.max_batch, want, "budget for %d sequences gave %d", want, r.max_batch);
        cr_assert(r.fits);
    }
    /* a budget below the weights holds no batch */
    struct plan_config c = {.m = &m, .dev = flat_device(3e12, 1e15), .tp = 1, .pp = 1, .batch = 1, .ctx = ctx,
                            .kv_type = DT_F16, .budget = w * 0.99};
    struct plan_result r;
    char err[256];
    cr_assert_eq(plan_compute(&c, &r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(r.max_batch, 0);
    cr_assert(!r.fits);
    model_free(&m);
}

/* With flat curves, no per-op cost and FLOP/s far above the memory roof, a
 * decode step takes exactly its bytes / bandwidth; the bytes are the weights
 * (read once) plus the KV the attention reads, plus small activations. */
Test(plan, decode_step_memory_bound_time_is_bytes_over_bandwidth)
{
    struct model m;
    load_shapes(&m, "synth:llama2-7b", DT_F16);
    struct plan_config c = {.m = &m, .dev = flat_device(2e12, 1e18), .tp = 1, .pp = 1, .batch = 1, .ctx = 1024,
                            .kv_type = DT_F16, .attn = ATTN_FLASH};
    struct plan_result r;
    char err[256];
    cr_assert_eq(plan_compute(&c, &r, err, sizeof err), 0, "%s", err);
    cr_assert_float_eq(r.decode.t_s, r.decode.bytes / 2e12, 1e-12);
    double kv_read = 1025 * 512.0 * 1024;         /* K and V of 1025 positions, every layer */
    double w = plan_weight_bytes(&m) - 4.0 * (2.0 * 32 * 4096 + 4096) - (double)weight_bytes(&m.tok_embd);
    /* every matrix but the embedding table is read; the table gives one row */
    cr_assert(r.decode.bytes > w + kv_read && r.decode.bytes < (w + kv_read) * 1.01,
              "decode bytes %.4g, weights+KV %.4g", r.decode.bytes, w + kv_read);
    for (int i = 0; i < r.decode.n_ops; i++) cr_assert(r.decode.ops[i].memory_bound, "%s", r.decode.ops[i].name);
    cr_assert_float_eq(r.tpot_s, r.decode.t_s, 1e-15);
    cr_assert_float_eq(r.decode_tok_s, 1.0 / r.decode.t_s, 1e-6);
    /* prefill of 1024 tokens is compute-bound on a finite-FLOP device */
    c.dev = flat_device(2e12, 1e14);
    cr_assert_eq(plan_compute(&c, &r, err, sizeof err), 0, "%s", err);
    cr_assert(r.prefill.flops / 1e14 > r.prefill.bytes / 2e12);
    model_free(&m);
}

Test(plan, tensor_parallel_splits_weights_and_adds_comm)
{
    struct model m;
    load_shapes(&m, "synth:llama2-70b", DT_F16);
    struct roof_device d;
    hw_row_device(hw_find("h100"), 1, &d);
    struct plan_config c = {.m = &m, .dev = d, .tp = 1, .pp = 1, .batch = 8, .ctx = 2048, .kv_type = DT_F16};
    struct plan_result one, eight;
    char err[256];
    cr_assert_eq(plan_compute(&c, &one, err, sizeof err), 0, "%s", err);
    cr_assert(!one.fits, "70B f16 (138 GB) does not fit one 80 GB H100");
    c.tp = 8;
    cr_assert_eq(plan_compute(&c, &eight, err, sizeof err), 0, "%s", err);
    cr_assert(eight.fits);
    cr_assert_float_eq(eight.weights_dev, one.weights / 8, 1.0);
    cr_assert(eight.decode.comm_s > 0 && one.decode.comm_s == 0);
    cr_assert(eight.decode.t_s < one.decode.t_s / 3, "tp=8 decode %.3g vs %.3g", eight.decode.t_s, one.decode.t_s);
    model_free(&m);
}

/* ---- hardware table ---- */

Test(hw, rows_keep_dense_and_sparse_apart)
{
    int n;
    const struct hw_row *rows = hw_rows(&n);
    cr_assert_eq(n, 5);
    for (int i = 0; i < n; i++)
        for (int p = RP_TF32; p < RP_COUNT; p++)
            if (rows[i].sparse_tflops[p] > 0)
                cr_assert_float_eq(rows[i].sparse_tflops[p], 2 * rows[i].dense_tflops[p], 0.6, "%s %s",
                                   rows[i].key, roof_path_name((enum roof_path)p));
    const struct hw_row *h = hw_find("h100");
    cr_assert_float_eq(h->dense_tflops[RP_FP16], 989.5, 0.01, "the dense figure, not the sparse 1979");
    cr_assert_float_eq(hw_find("a100")->dense_tflops[RP_FP8], 0, 0, "A100 has no FP8");
}

Test(hw, parse_names_and_counts)
{
    const struct hw_row *row;
    bool host;
    int n;
    char err[256];
    cr_assert_eq(hw_parse("h100x8", &row, &host, &n, err, sizeof err), 0);
    cr_assert(row == hw_find("h100") && n == 8 && !host);
    cr_assert_eq(hw_parse("host", &row, &host, &n, err, sizeof err), 0);
    cr_assert(host && n == 1);
    cr_assert_eq(hw_parse("rtx4090", &row, &host, &n, err, sizeof err), 0);
    cr_assert_eq(hw_parse("h100x0", &row, &host, &n, err, sizeof err), -1);
    cr_assert(strstr(err, "x1..x16"), "%s", err);
    cr_assert_eq(hw_parse("v100", &row, &host, &n, err, sizeof err), -1);
    cr_assert(strstr(err, "unknown 'v100'") && strstr(err, "h100, h200"), "%s", err);
    cr_assert_eq(hw_parse("x8", &row, &host, &n, err, sizeof err), -1);
}

Test(roofline, efficiency_curve_and_bounds)
{
    struct roof_curve c = {0.3, 0.9, 4e6};
    cr_assert_float_eq(roof_efficiency(&c, 4e6), 0.6, 1e-12);
    cr_assert(roof_efficiency(&c, 100e6) > 0.87 && roof_efficiency(&c, 1e3) < 0.31);
    struct roof_device d = flat_device(1e12, 1e14);
    d.op_overhead_s = 1e-6;
    struct kernel_record r = {.cls = OPC_MATMUL, .flops = 1e9, .dram_rd = 1e6};
    struct roof_time t;
    roof_op_time(&d, &r, DT_F16, &t);
    cr_assert(!t.memory_bound);
    cr_assert_float_eq(t.t_s, 1e-6 + 1e9 / 1e14, 1e-15);
    cr_assert_float_eq(t.intensity, 1000, 1e-9);
    r.flops = 1e3;
    roof_op_time(&d, &r, DT_F16, &t);
    cr_assert(t.memory_bound);
    cr_assert_float_eq(t.t_s, 1e-6 + 1e6 / 1e12, 1e-15);
}

/* ---- the simulated device under the engine ---- */

static const char *SCENARIO =
    "[scenario]\nname = sim-test\nseed = 7\nrequests = 12\n"
    "[arrival]\nprocess = poisson\nrate = 40\n"
    "[prompt]\ndist = uniform\nmin = 5\nmax = 60\n"
    "[output]\ndist = uniform\nmin = 3\nmax = 24\n";

struct schedule {
    struct req_event ev[4096];
    int n;
    int batch[2048], prefill[2048];
    int steps;
};

/* Run the scenario on be with every step lasting step_s (0: the clock's own). */
static void run_schedule(struct model *m, struct backend *be, double step_s, struct schedule *out)
{
    char err[256];
    struct scenario sc;
    struct workload w;
    struct options o;
    struct engine e;
    options_defaults(&o);
    cr_assert_eq(options_set_list(&o, "max_batch=4 kv_mem=1M", err, sizeof err), 0, "%s", err);
    cr_assert_eq(scenario_parse_buffer("t.ini", SCENARIO, strlen(SCENARIO), &sc, err, sizeof err), 0, "%s", err);
    cr_assert_eq(workload_generate(&sc, m->cfg.vocab, 0, &w, err, sizeof err), 0, "%s", err);
    cr_assert_eq(engine_init(&e, &o, m, be, &w, err, sizeof err), 0, "%s", err);
    if (step_s > 0) engine_fix_step_time(&e, step_s);
    memset(out, 0, sizeof *out);
    int rc;
    while ((rc = engine_step(&e, 0.01)) >= 0) {
        const struct telemetry *t = engine_telemetry(&e);
        for (int i = 0; rc == 1 && i < t->events.n && out->n < 4096; i++) out->ev[out->n++] = t->events.ev[i];
        if (rc == 1 && out->steps < 2048) {
            out->batch[out->steps] = t->step->batch_size;
            out->prefill[out->steps++] = t->step->prefill_tokens;
        }
    }
    cr_assert(!e.failed, "%s", e.error);
    engine_free(&e);
    workload_free(&w);
}

Test(sim, same_schedule_as_the_cpu_when_step_times_are_equal)
{
    char err[256];
    struct model full, shapes;
    cr_assert_eq(model_synth(&full, &model_preset_find("tiny")->cfg, DT_F32, 1, 2, err, sizeof err), 0);
    load_shapes(&shapes, "synth:tiny", DT_F32);
    struct backend *cpu = cpu_backend_create(2, CPU_SIMD_AMX);
    struct roof_device d;
    hw_row_device(hw_find("l4"), 1, &d);
    struct backend *sim = backend_create_sim(&d, "sim:l4", err, sizeof err);
    cr_assert(sim && sim->simulated);
    static struct schedule a, b;
    run_schedule(&full, cpu, 0.004, &a);
    run_schedule(&shapes, sim, 0.004, &b);
    cr_assert(a.steps > 10 && a.n > 30);
    cr_assert_eq(a.steps, b.steps);
    cr_assert_eq(a.n, b.n);
    for (int i = 0; i < a.steps; i++) cr_assert(a.batch[i] == b.batch[i] && a.prefill[i] == b.prefill[i], "step %d", i);
    for (int i = 0; i < a.n; i++) {
        cr_assert_eq(a.ev[i].kind, b.ev[i].kind, "event %d", i);
        cr_assert_eq(a.ev[i].req, b.ev[i].req, "event %d", i);
        cr_assert_float_eq(a.ev[i].t_s, b.ev[i].t_s, 1e-9, "event %d", i);
        if (a.ev[i].kind == REV_TOKENS) cr_assert_eq(a.ev[i].n_tokens, b.ev[i].n_tokens);
    }
    backend_destroy(sim);
    backend_destroy(cpu);
    model_free(&full);
    model_free(&shapes);
}

/* On its own clock a simulated run's time is the sum of its simulated ops,
 * and every kernel record sits on that timeline. */
Test(sim, simulated_clock_is_the_sum_of_op_times)
{
    char err[256];
    struct model m;
    load_shapes(&m, "synth:llama2-70b", DT_F16);
    struct roof_device d;
    hw_row_device(hw_find("h100"), 8, &d);
    struct backend *sim = backend_create_sim(&d, "sim:h100x8", err, sizeof err);
    struct scenario sc;
    struct workload w;
    struct options o;
    struct engine e;
    options_defaults(&o);
    cr_assert_eq(options_set_list(&o, "max_batch=4", err, sizeof err), 0, "%s", err);
    cr_assert_eq(scenario_parse_buffer("t.ini", SCENARIO, strlen(SCENARIO), &sc, err, sizeof err), 0, "%s", err);
    cr_assert_eq(workload_generate(&sc, m.cfg.vocab, 0, &w, err, sizeof err), 0, "%s", err);
    cr_assert_eq(engine_init(&e, &o, &m, sim, &w, err, sizeof err), 0, "%s", err);
    const struct telemetry *t = engine_telemetry(&e);
    cr_assert(t->simulated && t->clock.mode == CLOCK_SIM);
    int rc, steps = 0;
    while ((rc = engine_step(&e, 0.01)) >= 0) {
        if (rc != 1) continue;
        uint64_t sum = 0, start = t->kernels[0].t_start_ns;
        for (int i = 0; i < t->n_kernels; i++) {
            cr_assert_eq(t->kernels[i].t_start_ns, start + sum, "record %d on the timeline", i);
            sum += t->kernels[i].dur_ns;
        }
        cr_assert_float_eq(t->step->dur_s, sum / 1e9, 2e-9);
        cr_assert_float_eq(t->step->t_start_s, start / 1e9, 2e-9);
        steps++;
    }
    cr_assert(!e.failed, "%s", e.error);
    cr_assert(steps > 10);
    /* 70B f16 on 8 H100s: a decode step is milliseconds, never zero, never seconds */
    cr_assert(t->steps[steps - 1].dur_s > 1e-3 && t->steps[steps - 1].dur_s < 0.5, "%g", t->steps[steps - 1].dur_s);
    engine_free(&e);
    workload_free(&w);
    backend_destroy(sim);
    model_free(&m);
}

/* ---- the host row's cache ---- */

static bool log_says(FILE *f, const char *what)
{
    char buf[2048] = "";
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    return strstr(buf, what) != NULL;
}

/* Measured once, then read back; a corrupt file is a miss, measured again
 * and replaced; the values are real (positive, finite) either way. Two full
 * probes at 1 thread: under ASan on the loaded 2-core VM (load average 12)
 * they took over 400 s once the probe added the 64- and 512-row matmuls and
 * the small ops' streaming matmul (132 s of CPU in those 400 s). */
Test(hw, host_measurement_is_cached_and_a_corrupt_cache_is_a_miss, .timeout = 1200)
{
    char dir[] = "/tmp/infertop-hw-XXXXXX", err[256];
    cr_assert(mkdtemp(dir));
    setenv("XDG_CACHE_HOME", dir, 1);
    struct roof_device a, b, c;
    FILE *log = tmpfile();
    cr_assert_eq(hw_host_measure(1, false, &a, log, err, sizeof err), 0, "%s", err);
    cr_assert(log_says(log, "(measured)"));
    cr_assert(a.bw > 1e8 && a.wtype_flops[DT_F32] > 1e7 && a.wtype_flops[DT_Q4_1] > 1e7 && a.op_overhead_s > 0);
    FILE *log2 = tmpfile();
    cr_assert_eq(hw_host_measure(1, false, &b, log2, err, sizeof err), 0, "%s", err);
    cr_assert(log_says(log2, "(cached: "));
    cr_assert_float_eq(b.bw, a.bw, 0, "the cached value, to the bit");
    cr_assert_float_eq(b.wtype_flops[DT_Q8_0], a.wtype_flops[DT_Q8_0], 0);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "for f in %s/infertop/hw/host-*.txt; do sed -i 's/^bandwidth .*/bandwidth nan/' $f; done", dir);
    cr_assert_eq(system(cmd), 0);
    FILE *log3 = tmpfile();
    cr_assert_eq(hw_host_measure(1, false, &c, log3, err, sizeof err), 0, "%s", err);
    cr_assert(log_says(log3, "(measured)"), "a corrupt cache is measured again");
    cr_assert(c.bw > 1e8);
    fclose(log); fclose(log2); fclose(log3);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
    unsetenv("XDG_CACHE_HOME");
}

/* The header's bandwidth line: a real device's name finds its datasheet row. */
Test(plan, device_name_finds_datasheet_row)
{
    cr_assert_str_eq(hw_for_device("NVIDIA H200")->key, "h200");
    cr_assert_str_eq(hw_for_device("NVIDIA H100 80GB HBM3")->key, "h100");
    cr_assert_str_eq(hw_for_device("NVIDIA GeForce RTX 4090")->key, "rtx4090");
    cr_assert_str_eq(hw_for_device("NVIDIA A100-SXM4-80GB")->key, "a100");
    cr_assert_null(hw_for_device("Tesla T4"));
    cr_assert_null(hw_for_device(NULL));
    char line[96];
    hw_bw_line(line, sizeof line, 4.31e12, "NVIDIA H200");
    cr_assert_str_eq(line, "copy 4.31 TB/s measured vs 4.80 TB/s datasheet (h200)");
    hw_bw_line(line, sizeof line, 0, "NVIDIA H200");
    cr_assert_str_eq(line, "");
    hw_bw_line(line, sizeof line, 2.5e11, "Tesla T4");
    cr_assert_str_eq(line, "copy 0.25 TB/s measured (no datasheet row)");
}

/* The LOADED label: other processes' CPU time during the probes or the run
 * (a quarter of the CPUs); the 1-minute load average only where /proc/stat
 * gave nothing (others' load, this run's own threads taken off the end). */
Test(plan, validation_load_counts_other_processes_only)
{
    struct validate_result v = {.cores = 2, .threads = 2, .load_start = 1.9, .load_end = 3.9,
                                .others_probe = 0.1, .others_run = 0.3};
    cr_assert(!validate_loaded(&v), "0.3 of 2 CPUs: quiet, though the load average still decays from 1.9");
    v.others_run = 0.6;
    cr_assert(validate_loaded(&v), "0.6 of 2 CPUs during the run");
    v.others_run = -1;
    cr_assert(!validate_loaded(&v), "the run unknown, the probes' 0.1");
    v.others_probe = 0.7;
    cr_assert(validate_loaded(&v), "0.7 during the probes");
    v = (struct validate_result){.cores = 2, .threads = 2, .load_start = 0.5, .load_end = 2.8,
                                 .others_probe = -1, .others_run = -1};
    cr_assert(!validate_loaded(&v), "0.8 left of 2.8 after our 2 threads: under half of 2 CPUs");
    v.load_end = 3.5;
    cr_assert(validate_loaded(&v), "1.5 of others after the run");
    v.load_end = 1;
    v.load_start = 1.2;
    cr_assert(validate_loaded(&v), "loaded before the probes");
}

/* The op-kind table of plan --validate: buckets by hand, one kind per (name,
 * shape, bucket), sums per phase, sorted by a phase's measured time. */
Test(plan, validation_op_kinds_by_shape_and_bucket)
{
    cr_assert_eq(validate_rows_bucket(1), 1);
    cr_assert_eq(validate_rows_bucket(4), 2);
    cr_assert_eq(validate_rows_bucket(5), 5);
    cr_assert_eq(validate_rows_bucket(16), 5);
    cr_assert_eq(validate_rows_bucket(64), 17);
    cr_assert_eq(validate_rows_bucket(512), 65);
    cr_assert_eq(validate_rows_bucket(2048), 513);
    cr_assert_eq(validate_elems_bucket(1), 1);
    cr_assert_eq(validate_elems_bucket(255), 16);
    cr_assert_eq(validate_elems_bucket(256), 256);
    cr_assert_eq(validate_elems_bucket(4608), 4096);
    struct validate_kinds t = {0};
    struct kernel_record mm = {.name = "matmul_q8_0", .cls = OPC_MATMUL, .shape = {8, 1536, 576}};
    struct kernel_record mm3 = mm, mm1 = mm, mmk = mm;
    mm3.shape[0] = 12;                      /* same bucket as 8 */
    mm1.shape[0] = 1;                       /* its own */
    mmk.shape[1] = 192;                     /* another shape */
    struct kernel_record sw = {.name = "swiglu", .cls = OPC_ELTWISE, .shape = {12288}};
    cr_assert_eq(validate_kinds_add(&t, &mm, VP_DECODE, 1.0, 2.0), 0);
    cr_assert_eq(validate_kinds_add(&t, &mm3, VP_DECODE, 3.0, 4.0), 0);
    cr_assert_eq(validate_kinds_add(&t, &mm3, VP_PREFILL, 5.0, 6.0), 0);
    cr_assert_eq(validate_kinds_add(&t, &mm1, VP_DECODE, 0.5, 0.25), 0);
    cr_assert_eq(validate_kinds_add(&t, &mmk, VP_DECODE, 0.1, 0.2), 0);
    cr_assert_eq(validate_kinds_add(&t, &sw, VP_DECODE, 7.0, 9.0), 0);
    cr_assert_eq(t.n, 4, "m 8 and 12 share a kind; m 1, N 192 and swiglu are their own: %d", t.n);
    validate_kinds_sort(&t, VP_DECODE);
    char key[64];
    cr_assert_str_eq(t.k[0].name, "swiglu");
    cr_assert_str_eq(validate_kind_key(&t.k[0], key, sizeof key), "elems 4096-65535");
    cr_assert_str_eq(t.k[1].name, "matmul_q8_0");
    cr_assert_str_eq(validate_kind_key(&t.k[1], key, sizeof key), "1536x576 m 5-16");
    cr_assert_eq(t.k[1].ph[VP_DECODE].count, 2);
    cr_assert_float_eq(t.k[1].ph[VP_DECODE].pred_s, 4.0, 1e-12);
    cr_assert_float_eq(t.k[1].ph[VP_DECODE].meas_s, 6.0, 1e-12);
    cr_assert_float_eq(t.k[1].ph[VP_PREFILL].meas_s, 6.0, 1e-12);
    cr_assert_str_eq(validate_kind_key(&t.k[2], key, sizeof key), "1536x576 m 1");
    cr_assert_str_eq(validate_kind_key(&t.k[3], key, sizeof key), "192x576 m 5-16");
    validate_kinds_sort(&t, VP_PREFILL);
    cr_assert_eq(t.k[0].ph[VP_PREFILL].count, 1, "the only kind with prefill time first");
    validate_kinds_free(&t);
    cr_assert_eq(t.n, 0);
}

/* /proc/stat's busy time by hand: user + nice + system + irq + softirq + steal. */
Test(plan, cpu_stat_busy_sums_the_busy_fields)
{
    const char *t = "cpu  100 20 30 5000 40 5 6 7 0 0\ncpu0 50 10 15 2500 20 2 3 3 0 0\n";
    double b = 0;
    cr_assert_eq(cpu_stat_busy(t, strlen(t), 100, &b), 0);
    cr_assert_float_eq(b, (100 + 20 + 30 + 5 + 6 + 7) / 100.0, 1e-12);
    const char *old = "cpu  100 20 30 5000 40 5 6\n";   /* no steal column: not this format */
    cr_assert_eq(cpu_stat_busy(old, strlen(old), 100, &b), -1);
    cr_assert_eq(cpu_stat_busy("intr 5\n", 7, 100, &b), -1);
}

/* CPU seconds this process has used. */
static double own_cpu_s(void)
{
    struct cpu_sample s;
    cpu_sample_now(&s);
    return s.own_s;
}

/* Spin until this process has used `cpu_s` more CPU seconds (CPU time, not
 * wall: on a shared machine the wall time it takes varies). */
static void *spin_cpu(void *arg)
{
    double cpu_s = *(const double *)arg, t0 = own_cpu_s(), x = 1;
    while (own_cpu_s() - t0 < cpu_s)
        for (int i = 0; i < 100000; i++) x = x * 1.0000001 + 1e-9;
    return x > 0 ? NULL : arg;
}

/* A child's CPU time is another process's: counted in full, however loaded
 * the machine. A thread of ours is ours: getrusage sees it (else the spin
 * below would never end). */
Test(plan, cpu_others_counts_a_child_not_ourselves, .timeout = 60)
{
    struct cpu_sample a, b;
    cpu_sample_now(&a);
    cr_assert(a.ok, "/proc/stat readable");
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        double s = 1.0;
        _exit(spin_cpu(&s) == NULL ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);                     /* this process sleeps while the child spins */
    cpu_sample_now(&b);
    double wall = b.wall_s - a.wall_s, others = cpu_others(&a, &b);
    cr_assert(others * wall >= 0.8, "a child's 1.0 CPU s over %.2f s: others %.2f CPUs", wall, others);
    struct cpu_sample c, d;
    cpu_sample_now(&c);
    pthread_t th;
    double s = 0.6;
    cr_assert_eq(pthread_create(&th, NULL, spin_cpu, &s), 0);
    pthread_join(th, NULL);
    cpu_sample_now(&d);
    cr_assert(d.own_s - c.own_s >= 0.6, "a thread's CPU time is ours: %.2f s", d.own_s - c.own_s);
    cr_assert(cpu_others(&c, &d) >= 0 || d.wall_s - c.wall_s < CPU_LOAD_MIN_S);
    struct cpu_sample e = c;
    e.wall_s = c.wall_s + 0.5;
    cr_assert_eq(cpu_others(&c, &e), -1, "under CPU_LOAD_MIN_S: unknown");
}

/* hw_speed_ratio_at: linear in time between samples, clamped at both ends, 1 without samples. */
Test(plan, speed_ratio_interpolates_and_clamps)
{
    struct hw_speed ref = {.bw = 10e9, .fma_flops = 4e9};
    struct hw_speed s[3] = {{.t_s = 100, .bw = 10e9, .fma_flops = 4e9},
                            {.t_s = 110, .bw = 8e9, .fma_flops = 2e9},
                            {.t_s = 130, .bw = 12e9, .fma_flops = 4e9}};
    cr_assert_float_eq(hw_speed_ratio_at(s, 3, 90, &ref, false), 1.0, 1e-12);      /* before the first */
    cr_assert_float_eq(hw_speed_ratio_at(s, 3, 105, &ref, false), 0.9, 1e-12);
    cr_assert_float_eq(hw_speed_ratio_at(s, 3, 120, &ref, false), 1.0, 1e-12);
    cr_assert_float_eq(hw_speed_ratio_at(s, 3, 125, &ref, true), 0.875, 1e-12);
    cr_assert_float_eq(hw_speed_ratio_at(s, 3, 200, &ref, false), 1.2, 1e-12);     /* after the last */
    cr_assert_float_eq(hw_speed_ratio_at(s, 0, 105, &ref, false), 1.0, 1e-12);
    struct hw_speed none = {0};
    cr_assert_float_eq(hw_speed_ratio_at(s, 3, 105, &none, false), 1.0, 1e-12);
}

/* hw_speed_moved: the larger relative move of the two rates, 0 without a
 * measurement; validate_steady: the probe's move and the run's medians,
 * each within VALIDATE_STEADY. */
Test(plan, steadiness_of_the_host_speed)
{
    struct hw_speed a = {.bw = 40e9, .fma_flops = 40e9}, b = {.bw = 44e9, .fma_flops = 30e9}, z = {0};
    cr_assert_float_eq(hw_speed_moved(&a, &b), 0.25, 1e-12);           /* FMA -25% beats read +10% */
    cr_assert_float_eq(hw_speed_moved(&b, &a), 1.0 / 3, 1e-12);
    cr_assert_float_eq(hw_speed_moved(&a, &a), 0.0, 1e-12);
    cr_assert_float_eq(hw_speed_moved(&a, &z), 0.0, 1e-12);
    struct validate_result *v = calloc(1, sizeof *v);
    cr_assert(v);
    cr_assert(validate_steady(v), "nothing measured: nothing says otherwise");
    v->probe_moved = VALIDATE_STEADY + 0.01;
    cr_assert_not(validate_steady(v), "the speed moved across the probe");
    v->probe_moved = 0.05;
    v->n_speed = 3;
    v->bw_ratio_median = 1.08;
    v->fma_ratio_median = 0.95;
    cr_assert(validate_steady(v));
    v->fma_ratio_median = 1 - VALIDATE_STEADY - 0.01;
    cr_assert_not(validate_steady(v), "the run slower than the probe");
    v->fma_ratio_median = 1.0;
    v->bw_ratio_median = 1 + VALIDATE_STEADY + 0.01;
    cr_assert_not(validate_steady(v), "the run's read faster than the probe's");
    free(v);
}

/* A real sample: both rates measured and plausible for any machine this runs on. */
Test(plan, speed_sample_measures_the_host)
{
    struct hw_speed_ref r;
    cr_assert_eq(hw_speed_init(&r, 2, 1000000), 0);
    struct hw_speed a;
    hw_speed_take(&r, &a);
    hw_speed_free(&r);
    cr_assert(a.bw > 1e8 && a.bw < 1e13, "read %.3g B/s", a.bw);
    cr_assert(a.fma_flops > 1e7 && a.fma_flops < 1e13, "fma %.3g FLOP/s", a.fma_flops);
    cr_assert(a.t_s > 0);
}
