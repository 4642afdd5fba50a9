/* The serving engine end to end on synth:tiny: batching, chunking, KV layout
 * and preemption never change what a request generates (greedy). */
#include "core/engine/engine.h"
#include "core/workload/report.h"
#include "kernels/cpu/cpu_backend.h"
#include "tests/unit/fixture_engine.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static const char *SCENARIO =
    "[scenario]\nname = engine-test\nseed = 3\nrequests = 10\n"
    "[arrival]\nprocess = all\n"
    "[prompt]\ndist = uniform\nmin = 5\nmax = 40\n"
    "[output]\ndist = uniform\nmin = 3\nmax = 20\n"
    "[prefix]\ngroups = 2\nlength = 16\n";

struct run_result {
    int n;
    int32_t tokens[16][128];
    int n_tokens[16];
    uint64_t preemptions;
    struct report rep;
};

static struct model g_model;
static struct backend *g_be;

static void setup(void) { fixture_tiny_up(&g_model, &g_be, 2); }
static void teardown(void) { fixture_tiny_down(&g_model, g_be); }

/* kv_dtype of every run: the engine tests loop g_kt over 0 (f32) and 1 (f16). */
static int g_kt;
static const char *kv_dtype_name(void) { return g_kt ? "f16" : "f32"; }

static void run(const char *opts_in, struct run_result *out)
{
    char opts[512];
    snprintf(opts, sizeof opts, "kv_dtype=%s %s", kv_dtype_name(), opts_in);
    struct workload w;
    struct engine e;
    fixture_engine(&e, &w, &g_model, g_be, opts, SCENARIO);
    int guard = 0;
    while (engine_step(&e, 0.01) >= 0 && guard++ < 100000) {}
    cr_assert(!e.failed, "%s", e.error);
    cr_assert(sched_done(&e.sched));
    out->n = e.sched.n_reqs;
    for (int i = 0; i < out->n; i++) {
        const struct sched_req *r = &e.sched.reqs[i];
        cr_assert_eq(r->n_generated, r->max_output);
        out->n_tokens[i] = r->n_tokens;
        memcpy(out->tokens[i], r->tokens, (size_t)r->n_tokens * sizeof(int32_t));
    }
    out->preemptions = e.sched.preemptions;
    report_compute(engine_telemetry(&e), 0, 0, &out->rep);
    engine_free(&e);
    workload_free(&w);
}

static void assert_same_tokens(const struct run_result *a, const struct run_result *b, const char *what)
{
    cr_assert_eq(a->n, b->n);
    for (int i = 0; i < a->n; i++) {
        cr_assert_eq(a->n_tokens[i], b->n_tokens[i], "%s (kv_dtype=%s): request %d length", what,
                     kv_dtype_name(), i);
        for (int t = 0; t < a->n_tokens[i]; t++)
            cr_assert_eq(a->tokens[i][t], b->tokens[i][t], "%s (kv_dtype=%s): request %d token %d", what,
                         kv_dtype_name(), i, t);
    }
}

static struct run_result base, other;

TestSuite(engine, .init = setup, .fini = teardown);

Test(engine, static_equals_continuous)
{
    for (g_kt = 0; g_kt < 2; g_kt++) {
        run("batching=continuous", &base);
        run("batching=static max_batch=4", &other);
        assert_same_tokens(&base, &other, "static");
        cr_assert(other.rep.batch_max <= 4);
    }
}

Test(engine, chunked_prefill_and_flash_vs_naive_do_not_change_tokens)
{
    for (g_kt = 0; g_kt < 2; g_kt++) {
        run("batching=continuous", &base);
        run("batching=continuous chunked_prefill=7", &other);
        assert_same_tokens(&base, &other, "chunked");
        run("attn=naive", &other);
        assert_same_tokens(&base, &other, "naive");
    }
}

Test(engine, contiguous_kv_equals_paged)
{
    for (g_kt = 0; g_kt < 2; g_kt++) {
        run("kv=paged block=8", &base);
        run("kv=contiguous max_seq=80", &other);
        assert_same_tokens(&base, &other, "contiguous");
    }
}

Test(engine, preemption_and_recompute_keep_tokens)
{
    for (g_kt = 0; g_kt < 2; g_kt++) {
        run("kv=paged block=8 prefix_cache=off", &base);
        /* 14 blocks of 8 tokens: not enough for 10 requests of up to 76 tokens at once */
        run("kv=paged block=8 kv_blocks=14 prefix_cache=off admission=watermark", &other);
        cr_assert_gt(other.preemptions, 0, "the small pool should force preemption");
        assert_same_tokens(&base, &other, "preempted");
    }
}

/* admission=reserve admits only what fits at its peak: the same tokens as
 * a roomy pool, without a preemption, where the watermark preempts. */
Test(engine, admission_policies_keep_tokens)
{
    static const char *POOLS[] = {"kv=paged block=8 kv_blocks=14 prefix_cache=off",
                                  "kv=paged block=16 kv_blocks=9 prefix_cache=on",
                                  "kv=paged block=8 kv_blocks=14 chunked_prefill=7 batching=static max_batch=4"};
    char opts[256];
    for (g_kt = 0; g_kt < 2; g_kt++) {
        run("kv=paged block=8", &base);
        for (int p = 0; p < 3; p++) {
            snprintf(opts, sizeof opts, "%s admission=reserve", POOLS[p]);
            run(opts, &other);
            cr_assert_eq(other.preemptions, 0, "%s", opts);
            assert_same_tokens(&base, &other, opts);
            snprintf(opts, sizeof opts, "%s admission=watermark", POOLS[p]);
            run(opts, &other);
            assert_same_tokens(&base, &other, opts);
        }
    }
}

Test(engine, prefix_cache_skips_shared_prompt_tokens)
{
    for (g_kt = 0; g_kt < 2; g_kt++) {
        run("prefix_cache=off max_batch=1", &base);
        run("prefix_cache=on max_batch=1", &other);
        assert_same_tokens(&base, &other, "prefix cache");
        cr_assert_eq(base.rep.prefix_hit_tokens, 0);
        cr_assert_gt(other.rep.prefix_hit_tokens, 0);
        cr_assert_eq(other.rep.prefill_computed_tokens + other.rep.prefix_hit_tokens, base.rep.prefill_computed_tokens);
    }
}

Test(engine, report_counts_add_up)
{
    for (g_kt = 0; g_kt < 2; g_kt++) {
        run("batching=continuous", &base);
        const struct report *r = &base.rep;
        cr_assert_eq(r->finished, 10);
        long out = 0;
        for (int i = 0; i < base.n; i++) out += base.n_tokens[i];
        cr_assert_eq(r->output_tokens + r->prompt_tokens, out);
        cr_assert(r->ttft_ms.p50 <= r->ttft_ms.p99 && r->ttft_ms.p99 <= r->ttft_ms.max);
        cr_assert(r->kv_util_peak_pct > 0 && r->kv_util_peak_pct <= 100);
        cr_assert(r->batch_mean > 1, "all requests arrive at t=0: batches form");
    }
}

Test(report, percentiles_interpolate_linearly)
{
    double v[5] = {5, 1, 4, 2, 3};
    struct dist_stats d = dist_compute(v, 5);
    cr_assert_float_eq(d.p50, 3, 1e-12);
    cr_assert_float_eq(d.p90, 4.6, 1e-12);
    cr_assert_float_eq(d.p99, 4.96, 1e-12);
    cr_assert_float_eq(d.mean, 3, 1e-12);
    cr_assert_float_eq(d.max, 5, 1e-12);
}

/* ---- device sampling: the backend's sample hook (the CPU backend's here)
 * picks the same tokens as the host sampler, greedy and seeded temperature
 * with top-k/top-p, through chunked prefill (rows that do not sample) ---- */

static uint64_t g_sampled_steps;

static void run_counting(const char *opts, struct run_result *out)
{
    struct workload w;
    struct engine e;
    fixture_engine(&e, &w, &g_model, g_be, opts, SCENARIO);
    int guard = 0;
    while (engine_step(&e, 0.01) >= 0 && guard++ < 100000) {}
    cr_assert(!e.failed, "%s", e.error);
    out->n = e.sched.n_reqs;
    for (int i = 0; i < out->n; i++) {
        out->n_tokens[i] = e.sched.reqs[i].n_tokens;
        memcpy(out->tokens[i], e.sched.reqs[i].tokens, (size_t)out->n_tokens[i] * sizeof(int32_t));
    }
    g_sampled_steps = engine_telemetry(&e)->hooks.sampled_steps;
    cr_assert(!engine_telemetry(&e)->hooks.has_graphs, "the CPU backend has no step graphs");
    engine_free(&e);
    workload_free(&w);
}

Test(engine, device_sampling_hook_equals_host_sampler)
{
    const char *modes[] = {"temperature=0", "temperature=0.8 top_k=20 top_p=0.9 seed=7",
                           "temperature=1.5 top_k=0 top_p=1 seed=11 chunked_prefill=7"};
    for (int m = 0; m < 3; m++) {
        char on[256], off[256];
        snprintf(on, sizeof on, "%s device_sampling=on", modes[m]);
        snprintf(off, sizeof off, "%s device_sampling=off", modes[m]);
        run_counting(off, &base);
        cr_assert_eq(g_sampled_steps, 0, "off: the host sampler only");
        run_counting(on, &other);
        cr_assert(g_sampled_steps > 0, "on: the CPU backend's hook sampled (%s)", modes[m]);
        g_kt = 0;
        assert_same_tokens(&base, &other, modes[m]);
    }
}

Test(engine, device_sampling_leaves_speculative_steps_to_the_host)
{
    run_counting("spec=ngram device_sampling=on", &other);
    run_counting("spec=ngram device_sampling=off", &base);
    assert_same_tokens(&base, &other, "spec=ngram");
}
