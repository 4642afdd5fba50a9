/* kernels/sim over a device group: comm ops on SIMULATED timelines (a
 * collective ends on every rank at the latest rank's start plus the link
 * time of NCCL's cost model; a message lands when its send ends), the group
 * refusing more devices than the xN asked for, and the engine's real
 * tensor/pipeline machinery (core/parallel) over simulated devices: every
 * rank's all-reduce ends together, tp cuts a decode step, and pp with
 * micro-batches shows the bubble (p−1)/(m+p−1). Quantization and 2:4 on a
 * shape-only model change the formats (and the bytes) without data. */
#include "core/engine/engine.h"
#include "core/parallel/tp.h"
#include "core/plan/hw.h"
#include "core/quant/transform.h"
#include "kernels/comm.h"
#include "kernels/registry.h"

#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* A simulated device of the hardware table (o: its sim_* options; NULL: defaults). */
static struct backend *sim_of(const char *spec, const struct options *opt)
{
    char err[256];
    struct roof_device d;
    struct options o;
    options_defaults(&o);
    cr_assert_eq(hw_device(spec, opt ? opt : &o, &d, NULL, err, sizeof err), 0, "%s", err);
    struct backend *be = backend_create_sim(&d, spec, err, sizeof err);
    cr_assert(be, "%s", err);
    return be;
}

Test(sim_comm, link_time_is_nccl_latency_plus_bytes_over_bandwidth)
{
    struct roof_device d;
    hw_row_device(hw_find("h100"), 1, &d);
    double t = roof_comm_time(&d, 14, 1e6);
    cr_assert_float_eq(t, 3.6e-6 + 14 * 0.47e-6 + 1e6 / 450e9, 1e-15, "%g", t);
    cr_assert_float_eq(roof_comm_time(&d, 0, 1e6), 0, 0, "no steps, no time");
    hw_row_device(hw_find("l4"), 1, &d);
    cr_assert_float_eq(roof_comm_time(&d, 1, 64e6), 3.6e-6 + 1.0e-6 + 64e6 / 32e9, 1e-15, "PCIe row");
}

Test(sim_comm, group_splits_the_aggregate_and_refuses_more_than_xn)
{
    char err[256];
    struct backend *tmpl = sim_of("h100x4", NULL), *devs[8];
    cr_assert_eq(backend_create_group_like(tmpl, 8, devs, err, sizeof err), -1);
    cr_assert(strstr(err, "expected at most 4"), "%s", err);
    cr_assert_eq(backend_create_group_like(tmpl, 2, devs, err, sizeof err), 0, "%s", err);
    const struct roof_device *one = backend_sim_device(devs[1]), *agg = backend_sim_device(tmpl);
    cr_assert(one && agg && devs[1]->simulated && devs[1]->device == 1);
    cr_assert_float_eq(one->bw, agg->bw / 4, 1, "one device of the four: %g", one->bw);
    cr_assert_float_eq(devs[0]->mem_bytes, 80e9, 1);
    cr_assert(strstr(devs[0]->device_name, "SIMULATED"));
    for (int i = 0; i < 2; i++) backend_destroy(devs[i]);
    backend_destroy(tmpl);
}

/* Two simulated ranks: an all-reduce from different start times, then a
 * send from rank 0 that rank 1 waits for. */
struct rank_job {
    struct backend *be;
    struct comm *c;
    uint64_t start;
    struct kernel_log log;
};

static void *rank_main(void *p)
{
    struct rank_job *j = p;
    float *buf = backend_alloc(j->be, 4096 * sizeof(float));   /* never touched: PROT_NONE */
    j->be->sim_ns = j->start;
    j->be->log = &j->log;
    backend_all_reduce(j->be, j->c, buf, 4096);
    if (j->be->device == 0) {
        backend_send(j->be, j->c, 1, buf, 1024);
    } else {
        backend_wait_recv(j->be, j->c, 0);
        backend_recv(j->be, j->c, 0, buf, 1024);
    }
    j->be->log = NULL;
    backend_free(j->be, buf);
    return NULL;
}

Test(sim_comm, collective_ends_at_latest_start_and_message_lands_after_its_send)
{
    char err[256];
    struct backend *tmpl = sim_of("h100x2", NULL), *devs[2];
    cr_assert_eq(backend_create_group_like(tmpl, 2, devs, err, sizeof err), 0, "%s", err);
    struct comm *c = comm_create(devs, 2, err, sizeof err);
    cr_assert(c, "%s", err);
    struct rank_job j[2] = {{devs[0], c, 1000000, {0}}, {devs[1], c, 5000000, {0}}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        kernel_log_init(&j[i].log, 16);
        cr_assert_eq(pthread_create(&th[i], NULL, rank_main, &j[i]), 0);
    }
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    const struct roof_device *d = backend_sim_device(devs[0]);
    uint64_t ar = (uint64_t)(roof_comm_time(d, 2, comm_bytes_all_reduce(2, 4096)) * 1e9 + 0.5);
    uint64_t sd = (uint64_t)(roof_comm_time(d, 1, 1024 * 4.0) * 1e9 + 0.5);
    const struct kernel_record *a0 = &j[0].log.recs[0], *a1 = &j[1].log.recs[0];
    cr_assert(!strcmp(a0->name, "allreduce_ring") && a0->cls == OPC_COMM, "%s", a0->name);
    cr_assert_eq(a0->t_start_ns + a0->dur_ns, 5000000 + ar, "rank 0 waits for rank 1, then the ring");
    cr_assert_eq(a1->t_start_ns + a1->dur_ns, 5000000 + ar);
    cr_assert_eq(a1->dur_ns, ar, "the last rank to join does not wait");
    cr_assert_eq(j[0].log.recs[1].dur_ns, sd, "the send keeps rank 0 busy for the transfer");
    cr_assert_eq(devs[0]->sim_ns, 5000000 + ar + sd);
    cr_assert_eq(devs[1]->sim_ns, 5000000 + ar + sd, "rank 1's timeline joins the message's arrival");
    cr_assert_eq(j[1].log.recs[1].dur_ns, 0, "recv after the wait: nothing more");
    comm_destroy(c);
    for (int i = 0; i < 2; i++) {
        kernel_log_free(&j[i].log);
        backend_destroy(devs[i]);
    }
    backend_destroy(tmpl);
}

/* ---- the engine's parallel machinery over simulated devices ---- */

static const char *SCENARIO =
    "[scenario]\nname = sim-par\nseed = 3\nrequests = 8\n"
    "[arrival]\nprocess = poisson\nrate = 1000\n"
    "[prompt]\ndist = uniform\nmin = 20\nmax = 40\n"
    "[output]\ndist = uniform\nmin = 12\nmax = 16\n";

struct par_run {
    double decode_s;           /* median-free: the last decode-only step's duration */
    double bubble, formula;    /* of that step */
    int decode_steps;
    bool ends_agree;           /* every all-reduce ended on all ranks at once */
    int allreduces;
};

/* k-th all-reduce of each device ends at the same SIMULATED instant. */
static bool allreduce_ends_agree(const struct telemetry *t, int n_dev, int *count)
{
    uint64_t ends[16][512];
    int n[16] = {0};
    for (int i = 0; i < t->n_kernels; i++) {
        const struct kernel_record *k = &t->kernels[i];
        if (k->cls != OPC_COMM || strncmp(k->name, "allreduce", 9) || k->device >= n_dev) continue;
        if (n[k->device] < 512) ends[k->device][n[k->device]++] = k->t_start_ns + k->dur_ns;
    }
    *count = n[0];
    for (int d = 1; d < n_dev; d++) {
        if (n[d] != n[0]) return false;
        for (int i = 0; i < n[0]; i++)
            if (ends[d][i] != ends[0][i]) return false;
    }
    return true;
}

static void run_par(const char *spec, const char *set, struct par_run *out)
{
    char err[256];
    struct model m;
    cr_assert_eq(model_load_flags(&m, "synth:llama2-7b", DT_F16, 1, 1, MODEL_SHAPES_ONLY, err, sizeof err), 0, "%s",
                 err);
    struct scenario sc;
    struct workload w;
    struct options o;
    struct engine e;
    options_defaults(&o);
    cr_assert_eq(options_set_list(&o, set, err, sizeof err), 0, "%s", err);
    struct backend *be = sim_of(spec, &o);
    cr_assert_eq(scenario_parse_buffer("t.ini", SCENARIO, strlen(SCENARIO), &sc, err, sizeof err), 0, "%s", err);
    cr_assert_eq(workload_generate(&sc, m.cfg.vocab, 0, &w, err, sizeof err), 0, "%s", err);
    cr_assert_eq(engine_init(&e, &o, &m, be, &w, err, sizeof err), 0, "%s", err);
    memset(out, 0, sizeof *out);
    out->ends_agree = true;
    int rc, n_dev = (int)(opt_i(&o, OPT_TP) * opt_i(&o, OPT_PP));
    const struct telemetry *t = engine_telemetry(&e);
    cr_assert(t->simulated);
    while ((rc = engine_step(&e, 0.01)) >= 0) {
        if (rc != 1 || t->step->prefill_tokens > 0 || t->step->batch_size < 8) continue;
        out->decode_s = t->step->dur_s;
        out->bubble = t->step->par_bubble;
        out->formula = t->step->par_bubble_formula;
        out->decode_steps++;
        int count = 0;
        if (!allreduce_ends_agree(t, n_dev, &count)) out->ends_agree = false;
        out->allreduces = count;
    }
    cr_assert(!e.failed, "%s", e.error);
    engine_free(&e);
    workload_free(&w);
    backend_destroy(be);
    model_free(&m);
}

Test(sim_par, tensor_parallel_over_simulated_devices, .timeout = 120)
{
    struct par_run one, four;
    /* no per-op launch cost (sim_op_us=0): what tp divides is the bytes and FLOPs */
    run_par("h100", "max_batch=8 sim_op_us=0", &one);
    run_par("h100x4", "max_batch=8 tp=4 sim_op_us=0", &four);
    cr_assert(one.decode_steps > 3 && four.decode_steps > 3, "%d %d", one.decode_steps, four.decode_steps);
    cr_assert(four.ends_agree, "every rank's k-th all-reduce ends at the same simulated time");
    cr_assert_eq(four.allreduces, 2 * 32 + 1, "two all-reduces per layer of llama2-7b + the vocab-parallel embedding's: %d",
                 four.allreduces);
    cr_log_info("decode step, batch 8: tp=1 %.3f ms, tp=4 %.3f ms (%.2fx)", one.decode_s * 1e3, four.decode_s * 1e3,
                one.decode_s / four.decode_s);
    /* memory-bound decode: a quarter of the weights per device, plus 64 small all-reduces */
    cr_assert(four.decode_s < one.decode_s / 2.5 && four.decode_s > one.decode_s / 4, "tp=4 %g s vs %g s",
              four.decode_s, one.decode_s);
}

Test(sim_par, pipeline_bubble_over_simulated_devices, .timeout = 120)
{
    struct par_run pp;
    run_par("h100x4", "max_batch=8 pp=4 micro_batches=4", &pp);
    cr_assert(pp.decode_steps > 3, "%d", pp.decode_steps);
    cr_assert_float_eq(pp.formula, 3.0 / 7.0, 1e-9, "(p-1)/(m+p-1) for p=4, m=4");
    cr_log_info("pp=4 m=4 decode step: bubble %.1f%% vs formula %.1f%%", 100 * pp.bubble, 100 * pp.formula);
    /* balanced stages (8 layers each; embedding and head are small beside them) */
    cr_assert(fabs(pp.bubble - pp.formula) < 0.06, "bubble %.3f vs formula %.3f", pp.bubble, pp.formula);
}

/* ---- quant and 2:4 on shapes ---- */

Test(sim_quant, formats_change_on_a_shape_only_model)
{
    char err[256];
    struct model m;
    struct options o;
    cr_assert_eq(model_load_flags(&m, "synth:llama2-7b", DT_F16, 1, 1, MODEL_SHAPES_ONLY, err, sizeof err), 0, "%s",
                 err);
    double f16 = tp_weight_bytes(&m, 0, m.cfg.n_layers);
    options_defaults(&o);
    cr_assert_eq(options_set_list(&o, "quant=int4", err, sizeof err), 0, "%s", err);
    cr_assert_eq(quant_apply_transforms(&m, &o, NULL, 1, NULL, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(m.layers[3].w_down.type, DT_I4S_32, "%s", dtype_info(m.layers[3].w_down.type)->name);
    cr_assert(m.layers[0].wq.data == NULL, "no data made");
    double i4 = tp_weight_bytes(&m, 0, m.cfg.n_layers);
    cr_assert(i4 < f16 / 2.5 && i4 > f16 / 4.5, "int4 %g vs f16 %g bytes", i4, f16);
    cr_assert(strstr(m.wformat, "int4"), "%s", m.wformat);
    model_free(&m);

    cr_assert_eq(model_load_flags(&m, "synth:llama2-7b", DT_F16, 1, 1, MODEL_SHAPES_ONLY, err, sizeof err), 0);
    options_defaults(&o);
    cr_assert_eq(options_set_list(&o, "quant=fp8a8 sparsity=2:4-magnitude", err, sizeof err), 0, "%s", err);
    cr_assert_eq(quant_apply_transforms(&m, &o, NULL, 1, NULL, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(m.layers[0].wq.type, DT_S24_F16, "the 2:4 pass after fp8a8, as on real weights");
    cr_assert_eq(m.output.type, DT_F16, "the head stays dense unless sparsity_head");
    model_free(&m);
}

/* ---- the roofline's working-set tiers ---- */

Test(sim_comm, bandwidth_tiers_by_working_set)
{
    struct roof_device d = {.bw = 5e9, .near_bytes = 4e6, .near_bw = 40e9, .llc_bytes = 256e6, .llc_bw = 15e9,
                            .reuse_bytes = 100e6};
    struct kernel_record norm = {.cls = OPC_NORM, .dram_rd = 1e6, .dram_wr = 1e6};
    struct kernel_record big = {.cls = OPC_ELTWISE, .dram_rd = 8e6};
    struct kernel_record attn = {.cls = OPC_ATTN, .dram_rd = 1e5};
    struct kernel_record mm = {.cls = OPC_MATMUL, .dram_rd = 3e6};
    cr_assert_float_eq(roof_op_bandwidth(&d, &norm), 40e9, 0, "activations in the private caches");
    cr_assert_float_eq(roof_op_bandwidth(&d, &big), 5e9, 0, "larger than the private caches: memory");
    cr_assert_float_eq(roof_op_bandwidth(&d, &attn), 5e9, 0, "the KV cache: memory");
    cr_assert_float_eq(roof_op_bandwidth(&d, &mm), 5e9, 0, "weights: memory unless the LLC is trusted");
    d.llc_trusted = true;
    cr_assert_float_eq(roof_op_bandwidth(&d, &mm), 15e9, 0, "weights that fit a trusted LLC");
    d.reuse_bytes = 300e6;
    cr_assert_float_eq(roof_op_bandwidth(&d, &mm), 5e9, 0, "a footprint larger than the LLC streams");
}
