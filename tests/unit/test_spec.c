/* tests/unit/test_spec.c — speculative decoding (core/spec): the n-gram
 * lookup, the acceptance rules, greedy exactness of every drafter through the
 * serving engine (k, batching, KV layout, preemption), the sampling
 * distribution with and without speculation (chi-square), KV rollback
 * against a run without speculation, and a draft of another vocabulary. */
#include "core/engine/engine.h"
#include "core/spec/spec.h"
#include "core/workload/report.h"
#include "kernels/cpu/cpu_backend.h"
#include "tests/unit/fixture_engine.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- n-gram lookup --------------------------------------------------------- */

Test(spec_ngram, longest_most_recent_match_proposes_what_followed)
{
    /* ... 1 2 3 7 8 ... 1 2 3 9 ... then the context ends in 2 3: the most
     * recent earlier "2 3" is followed by 9 */
    int32_t ctx[] = {5, 1, 2, 3, 7, 8, 6, 1, 2, 3, 9, 4, 2, 3};
    int32_t out[8];
    int n = spec_ngram_lookup(ctx, 14, 1, 4, 3, out);
    cr_assert_eq(n, 3);
    cr_assert_eq(out[0], 9);
    cr_assert_eq(out[1], 4);
    cr_assert_eq(out[2], 2);
    /* ending in 1 2 3 (3-gram): the last earlier 1 2 3 is followed by 9 4 2 */
    int32_t ctx2[] = {1, 2, 3, 7, 1, 2, 3, 9, 4, 2, 1, 2, 3};
    n = spec_ngram_lookup(ctx2, 13, 2, 4, 2, out);
    cr_assert_eq(n, 2);
    cr_assert_eq(out[0], 9);
    cr_assert_eq(out[1], 4);
}

Test(spec_ngram, no_match_or_too_short_proposes_nothing)
{
    int32_t ctx[] = {1, 2, 3, 4, 5, 6};
    int32_t out[4];
    cr_assert_eq(spec_ngram_lookup(ctx, 6, 1, 4, 4, out), 0);
    cr_assert_eq(spec_ngram_lookup(ctx, 1, 1, 4, 4, out), 0);
    int32_t rep[] = {7, 7, 7};
    /* "7 7" occurs at 0: followed by the last 7 (the continuation may overlap the suffix) */
    cr_assert_eq(spec_ngram_lookup(rep, 3, 2, 2, 4, out), 1);
    cr_assert_eq(out[0], 7);
    /* ngram_min above every match length: nothing */
    int32_t ab[] = {1, 2, 9, 2};
    cr_assert_eq(spec_ngram_lookup(ab, 4, 2, 4, 4, out), 0);
    cr_assert_eq(spec_ngram_lookup(ab, 4, 1, 4, 4, out), 2);
    cr_assert_eq(out[0], 9);
}

/* ---- acceptance rules ------------------------------------------------------ */

#define V 8

/* rows[r][V]: a logit peak at peak[r] */
static void peaked_rows(float *rows, const int *peak, int n)
{
    for (int r = 0; r < n; r++)
        for (int i = 0; i < V; i++) rows[r * V + i] = i == peak[r] ? 3.0f : 0.1f * (float)i;
}

Test(spec_accept, greedy_keeps_the_agreeing_prefix_then_the_argmax)
{
    struct sampler smp;
    cr_assert_eq(sampler_init(&smp, V, 0, 0, 1, 1), 0);
    float rows[5 * V], p[V], w[V];
    int32_t emit[5];
    int peak[] = {3, 5, 1, 6, 2};
    peaked_rows(rows, peak, 5);
    int32_t all[] = {3, 5, 1, 6};
    cr_assert_eq(spec_accept(&smp, rows, V, all, 4, NULL, p, w, emit), 5, "all kept plus the bonus");
    cr_assert_eq(emit[4], 2);
    int32_t second_wrong[] = {3, 4, 1, 6};
    cr_assert_eq(spec_accept(&smp, rows, V, second_wrong, 4, NULL, p, w, emit), 2);
    cr_assert_eq(emit[0], 3);
    cr_assert_eq(emit[1], 5, "the target's own token replaces the rejected one");
    int32_t first_wrong[] = {0};
    cr_assert_eq(spec_accept(&smp, rows, V, first_wrong, 1, NULL, p, w, emit), 1);
    cr_assert_eq(emit[0], 3);
    sampler_free(&smp);
}

/* Chi-square critical value for df degrees of freedom at significance 0.001
 * (Wilson–Hilferty: z = 3.0902 is the standard normal's 0.999 quantile). */
static double chi2_crit_001(int df)
{
    double a = 2.0 / (9.0 * df);
    return df * pow(1 - a + 3.0902 * sqrt(a), 3);
}

/* Pearson's statistic of observed counts against probabilities p (cells with
 * expected count < 5 pooled into one); *df gets the degrees of freedom. */
static double chi2_vs(const long *obs, const double *p, int n, long total, int *df)
{
    double stat = 0, pool_e = 0, pool_o = 0;
    int cells = 0;
    for (int i = 0; i < n; i++) {
        double e = p[i] * total;
        if (e < 5) { pool_e += e; pool_o += obs[i]; continue; }
        stat += (obs[i] - e) * (obs[i] - e) / e;
        cells++;
    }
    if (pool_e >= 5) { stat += (pool_o - pool_e) * (pool_o - pool_e) / pool_e; cells++; }
    *df = cells - 1;
    return stat;
}

/* The rejection rule keeps the target's distribution: over many draws with a
 * draft distribution q far from p, the first emitted token is distributed as
 * p (chi-square at significance 0.001; the seeds are fixed, so the verdict is
 * deterministic). */
Test(spec_accept, rejection_sampling_keeps_the_target_distribution)
{
    struct sampler smp, dsmp;
    cr_assert_eq(sampler_init(&smp, V, 1.0f, 0, 1, 7), 0);
    cr_assert_eq(sampler_init(&dsmp, V, 1.0f, 0, 1, 99), 0);
    float rows[2 * V], q[V], p[V], w[V], pt[V];
    for (int i = 0; i < V; i++) {
        rows[i] = 0.4f * (float)i;                 /* target: mass on high ids */
        rows[V + i] = 0;
        q[i] = (float)(V - i) / (V * (V + 1) / 2.0f);   /* draft: mass on low ids */
    }
    sampler_probs(&smp, rows, pt);
    long obs[V] = {0};
    const long N = 40000;
    long kept = 0;
    for (long t = 0; t < N; t++) {
        int32_t x = sampler_pick(&dsmp, q, V), emit[2];
        int n = spec_accept(&smp, rows, V, &x, 1, q, p, w, emit);
        kept += n == 2;
        obs[emit[0]]++;
    }
    double pd[V];
    for (int i = 0; i < V; i++) pd[i] = pt[i];
    int df;
    double stat = chi2_vs(obs, pd, V, N, &df);
    cr_assert_lt(stat, chi2_crit_001(df), "chi2 %.2f df %d", stat, df);
    cr_assert(kept > N / 10 && kept < N - N / 10, "both branches ran: %ld kept of %ld", kept, N);
    /* one-hot q (n-gram): the same holds */
    memset(obs, 0, sizeof obs);
    for (long t = 0; t < N; t++) {
        int32_t x = (int32_t)(t % V), emit[2];
        spec_accept(&smp, rows, V, &x, 1, NULL, p, w, emit);
        obs[emit[0]]++;
    }
    stat = chi2_vs(obs, pd, V, N, &df);
    cr_assert_lt(stat, chi2_crit_001(df), "one-hot: chi2 %.2f df %d", stat, df);
    sampler_free(&smp);
    sampler_free(&dsmp);
}

Test(spec_accept, predicted_speedup_formula)
{
    cr_assert_float_eq(spec_expected_tokens(0.5, 2), 1.75, 1e-12);
    cr_assert_float_eq(spec_predicted_speedup(0.5, 2, 0.1), 1.75 / 1.2, 1e-12);
    cr_assert_float_eq(spec_expected_tokens(0, 4), 1, 1e-12);
    cr_assert_float_eq(spec_expected_tokens(1, 4), 5, 1e-12);
}

#undef V

/* ---- through the engine ---------------------------------------------------- */

static const char *SCENARIO =
    "[scenario]\nname = spec-test\nseed = 5\nrequests = 8\n"
    "[arrival]\nprocess = all\n"
    "[prompt]\ndist = uniform\nmin = 5\nmax = 30\n"
    "[output]\ndist = uniform\nmin = 4\nmax = 24\n"
    "[prefix]\ngroups = 2\nlength = 12\n";

#define MAXR 8
struct run_result {
    int n;
    int32_t tokens[MAXR][128];
    int n_tokens[MAXR];
    uint64_t preemptions;
    long drafted, accepted;
};

static struct model g_model, g_draft, g_other_vocab;
static struct backend *g_be;

static void setup_models(const char *preset)
{
    char err[256];
    const struct model_preset *p = model_preset_find(preset);
    cr_assert(p);
    cr_assert_eq(model_synth(&g_model, &p->cfg, DT_F32, 5, 2, err, sizeof err), 0, "%s", err);
    cr_assert_eq(model_synth(&g_draft, &p->cfg, DT_F32, 6, 2, err, sizeof err), 0, "%s", err);
    /* one thread: these runs are many and tiny, so a pool's wake-ups would be most of their time
       (two threads: spec_batch_invariance) */
    g_be = cpu_backend_create(1, CPU_SIMD_AVX512);
}

static void teardown(void)
{
    backend_destroy(g_be);
    model_free(&g_model);
    model_free(&g_draft);
}

/* Every request's tokens (prompt + output), with one check after every step:
 * the target pool's used rows are the running requests' computed tokens
 * (nothing speculative survives a step). */
static void run(const char *opts, struct run_result *out)
{
    char err[256];
    struct workload w;
    struct engine e;
    fixture_engine(&e, &w, &g_model, g_be, opts, SCENARIO);
    cr_assert_eq(engine_attach_draft(&e, &g_draft, err, sizeof err), 0, "%s", err);
    int guard = 0;
    while (engine_step(&e, 0.01) >= 0 && guard++ < 100000) {
        for (int i = 0; i < e.sched.n_reqs; i++)
            if (e.sched.reqs[i].state == REQ_RUNNING)
                cr_assert_eq(kvcache_len(e.target->kv, e.sched.reqs[i].id), e.sched.reqs[i].n_computed,
                             "%s: request %d holds KV past its computed tokens", opts, i);
    }
    cr_assert(!e.failed, "%s: %s", opts, e.error);
    cr_assert(sched_done(&e.sched));
    out->n = e.sched.n_reqs;
    cr_assert(out->n <= MAXR);
    for (int i = 0; i < out->n; i++) {
        const struct sched_req *r = &e.sched.reqs[i];
        cr_assert_eq(r->n_generated, r->max_output);
        out->n_tokens[i] = r->n_tokens;
        memcpy(out->tokens[i], r->tokens, (size_t)r->n_tokens * sizeof(int32_t));
    }
    out->preemptions = e.sched.preemptions;
    struct report rep;
    report_compute(engine_telemetry(&e), 0, 0, &rep);
    out->drafted = rep.spec.drafted;
    out->accepted = rep.spec.accepted;
    engine_free(&e);
    workload_free(&w);
}

static void assert_same(const struct run_result *a, const struct run_result *b, const char *what)
{
    cr_assert_eq(a->n, b->n);
    for (int i = 0; i < a->n; i++) {
        cr_assert_eq(a->n_tokens[i], b->n_tokens[i], "%s: request %d length", what, i);
        for (int t = 0; t < a->n_tokens[i]; t++)
            cr_assert_eq(a->tokens[i][t], b->tokens[i][t], "%s: request %d token %d", what, i, t);
    }
}

/* Greedy: every drafter, k in {1, 2, 4, 8}, static and continuous batching,
 * paged (with a pool small enough to preempt) and contiguous KV: token for
 * token what spec=off generates. */
static void greedy_matrix(void)
{
    static const char *kinds[] = {"ngram", "layerskip", "draft"};
    static const int ks[] = {1, 2, 4, 8};
    /* small pools: building a default 64 MiB pool per run would dominate the test's time */
    static const char *kvs[] = {"kv=paged block=8 kv_blocks=10 prefix_cache=off admission=watermark",
                                "kv=paged block=8 kv_blocks=64 prefix_cache=on", "kv=contiguous max_seq=64 kv_blocks=32"};
    static const char *batching[] = {"static", "continuous"};
    static struct run_result base, other;
    char opts[512], what[600];
    for (int b = 0; b < 2; b++)
        for (int v = b == 0 ? 1 : 0; v < 3; v++) {   /* static batching cannot preempt its way out of the small pool */
            snprintf(opts, sizeof opts, "kv_dtype=f32 batching=%s max_batch=4 %s", batching[b], kvs[v]);
            run(opts, &base);
            long drafted = 0;
            uint64_t preempted = 0;
            for (int d = 0; d < 3; d++)
                for (int k = 0; k < 4; k++) {
                    snprintf(opts, sizeof opts, "kv_dtype=f32 batching=%s max_batch=4 %s spec=%s spec_k=%d",
                             batching[b], kvs[v], kinds[d], ks[k]);
                    run(opts, &other);
                    snprintf(what, sizeof what, "%s vs spec=off", opts);
                    assert_same(&base, &other, what);
                    drafted += other.drafted;
                    preempted += other.preemptions;
                }
            cr_assert_gt(drafted, 0, "the drafters drafted something");
            if (v == 0) cr_assert_gt(preempted, 0, "the small pool forced preemptions");   /* continuous */
        }
}

Test(spec_engine, greedy_equals_spec_off_tiny)
{
    setup_models("tiny");
    greedy_matrix();
    teardown();
}

Test(spec_engine, greedy_equals_spec_off_mqa)
{
    setup_models("tiny-mqa");
    greedy_matrix();
    teardown();
}

Test(spec_engine, layerskip_with_every_depth_and_adaptive_k)
{
    setup_models("tiny");
    static struct run_result base, other;
    run("kv_dtype=f16 kv_blocks=64", &base);
    char opts[256];
    for (int d = 0; d <= 4; d++) {
        snprintf(opts, sizeof opts, "kv_dtype=f16 kv_blocks=64 spec=layerskip spec_k=3 spec_layers=%d spec_adaptive=on", d);
        run(opts, &other);
        assert_same(&base, &other, opts);
    }
    /* the draft is the target itself: every drafted token is accepted */
    cr_assert_gt(other.drafted, 0);
    teardown();
}

/* spec, spec_k and spec_layers changed live every few steps (as the TUI's
 * keys do): still token for token spec=off's output. */
Test(spec_engine, live_toggles_keep_greedy_output)
{
    setup_models("tiny");
    static struct run_result base;
    run("kv_dtype=f32 kv=paged block=8 kv_blocks=20 prefix_cache=off", &base);
    char err[256];
    struct workload w;
    struct engine e;
    fixture_engine(&e, &w, &g_model, g_be, "kv_dtype=f32 kv=paged block=8 kv_blocks=20 prefix_cache=off", SCENARIO);
    cr_assert_eq(engine_attach_draft(&e, &g_draft, err, sizeof err), 0, "%s", err);
    static const char *sets[][2] = {{"spec", "ngram"}, {"spec_k", "8"}, {"spec", "draft"}, {"spec_k", "1"},
                                    {"spec", "layerskip"}, {"spec_layers", "1"}, {"spec", "off"}, {"spec", "draft"},
                                    {"spec_k", "3"}, {"spec_adaptive", "on"}};
    int step = 0, n_sets = (int)(sizeof sets / sizeof sets[0]);
    while (engine_step(&e, 0.01) >= 0 && step < 100000) {
        if (++step % 3 != 0) continue;
        const char *const *kv = sets[(step / 3) % n_sets];
        cr_assert_eq(options_set(&e.opt, kv[0], kv[1], err, sizeof err), 0);
        cr_assert(engine_apply_live(&e, (enum opt_id)option_find(kv[0]), 1.0), "%s is live", kv[0]);
    }
    cr_assert(!e.failed, "%s", e.error);
    for (int i = 0; i < e.sched.n_reqs; i++) {
        const struct sched_req *r = &e.sched.reqs[i];
        cr_assert_eq(r->n_tokens, base.n_tokens[i]);
        cr_assert_arr_eq(r->tokens, base.tokens[i], (size_t)r->n_tokens * sizeof(int32_t), "request %d", i);
    }
    engine_free(&e);
    workload_free(&w);
    teardown();
}

/* The same model as its own draft agrees with itself: acceptance 100%. */
Test(spec_engine, draft_equal_to_target_accepts_everything)
{
    setup_models("tiny");
    model_free(&g_draft);
    char err[256];
    cr_assert_eq(model_synth(&g_draft, &model_preset_find("tiny")->cfg, DT_F32, 5, 2, err, sizeof err), 0);
    static struct run_result r;
    run("kv_dtype=f32 kv_blocks=64 spec=draft spec_k=4", &r);
    cr_assert_gt(r.drafted, 0);
    cr_assert_eq(r.accepted, r.drafted, "accepted %ld of %ld", r.accepted, r.drafted);
    teardown();
}

Test(spec_engine, draft_of_another_vocabulary_is_refused)
{
    setup_models("tiny");
    struct model_config c = model_preset_find("tiny")->cfg;
    c.vocab = 300;
    char err[256];
    cr_assert_eq(model_synth(&g_other_vocab, &c, DT_F32, 5, 2, err, sizeof err), 0, "%s", err);
    struct workload w;
    struct engine e;
    fixture_engine(&e, &w, &g_model, g_be, "", SCENARIO);
    cr_assert_eq(engine_attach_draft(&e, &g_other_vocab, err, sizeof err), -1);
    cr_assert(strstr(err, "vocabulary of 300 tokens; expected the target's 512"), "%s", err);
    /* spec=draft without a draft: the first step fails with a message */
    cr_assert_eq(options_set(&e.opt, "spec", "draft", err, sizeof err), 0);
    cr_assert_eq(engine_step(&e, 0), -1);
    cr_assert(e.failed && strstr(e.error, "no draft model"), "%s", e.error);
    engine_free(&e);
    workload_free(&w);
    model_free(&g_other_vocab);
    teardown();
}

/* Sampling: the distribution of the tokens at output positions 2..3 (the
 * first ones a speculative step emits) is the same with and without
 * speculation, over many seeded runs (two-sample chi-square, significance
 * 0.001; fixed seeds make the verdict deterministic). */
static void output_token_counts(const char *opts, int runs, long *counts, int vocab)
{
    static const char *ONE =
        "[scenario]\nname = one\nseed = 9\nrequests = 1\n[arrival]\nprocess = all\n"
        "[prompt]\ndist = fixed\nvalue = 12\n[output]\ndist = fixed\nvalue = 4\n";
    char err[256], o_text[256];
    struct scenario sc;
    struct workload w;
    cr_assert_eq(scenario_parse_buffer("one.ini", ONE, strlen(ONE), &sc, err, sizeof err), 0, "%s", err);
    cr_assert_eq(workload_generate(&sc, vocab, 0, &w, err, sizeof err), 0, "%s", err);
    for (int s = 0; s < runs; s++) {
        struct options o;
        struct engine e;
        options_defaults(&o);
        snprintf(o_text, sizeof o_text, "%s seed=%d", opts, s + 1);
        cr_assert_eq(options_set_list(&o, o_text, err, sizeof err), 0, "%s", err);
        cr_assert_eq(engine_init(&e, &o, &g_model, g_be, &w, err, sizeof err), 0, "%s", err);
        cr_assert_eq(engine_attach_draft(&e, &g_draft, err, sizeof err), 0, "%s", err);
        while (engine_step(&e, 0.01) >= 0) {}
        cr_assert(!e.failed, "%s", e.error);
        const struct sched_req *r = &e.sched.reqs[0];
        for (int t = 1; t < 3; t++) counts[(size_t)(t - 1) * vocab + r->tokens[r->prompt_len + t]]++;
        engine_free(&e);
    }
    workload_free(&w);
}

/* Two-sample Pearson chi-square over cells with >= 10 total counts (the rest pooled). */
static double chi2_two(const long *a, const long *b, int n, int *df)
{
    long na = 0, nb = 0;
    for (int i = 0; i < n; i++) { na += a[i]; nb += b[i]; }
    double stat = 0, pa = 0, pb = 0;
    int cells = 0;
    for (int i = 0; i <= n; i++) {
        double x = i < n ? a[i] : pa, y = i < n ? b[i] : pb;
        if (i < n && x + y < 10) { pa += x; pb += y; continue; }
        if (x + y == 0) continue;
        double ea = (x + y) * na / (double)(na + nb), eb = (x + y) * nb / (double)(na + nb);
        stat += (x - ea) * (x - ea) / ea + (y - eb) * (y - eb) / eb;
        cells++;
    }
    *df = cells - 1;
    return stat;
}

Test(spec_engine, sampling_distribution_unchanged_by_speculation, .timeout = 600)
{
    setup_models("tiny");
    int V = g_model.cfg.vocab, runs = 600;
    long *off = calloc((size_t)2 * V, sizeof *off), *on = calloc((size_t)2 * V, sizeof *on);
    const char *base = "kv_dtype=f32 temperature=0.8 top_k=0 top_p=1 kv_blocks=4 max_seq=32 max_batch=1";
    char opts[256];
    output_token_counts(base, runs, off, V);
    static const char *kinds[] = {"draft", "layerskip"};
    for (int d = 0; d < 2; d++) {
        memset(on, 0, (size_t)2 * V * sizeof *on);
        snprintf(opts, sizeof opts, "%s spec=%s spec_k=2", base, kinds[d]);
        output_token_counts(opts, runs, on, V);
        for (int pos = 0; pos < 2; pos++) {
            int df;
            double stat = chi2_two(off + (size_t)pos * V, on + (size_t)pos * V, V, &df);
            cr_assert_gt(df, 3, "enough cells to test");
            cr_assert_lt(stat, chi2_crit_001(df), "%s: output token %d: chi2 %.1f with df %d", kinds[d], pos + 2,
                         stat, df);
        }
    }
    free(off);
    free(on);
    teardown();
}

/* ---- KV rollback: a speculative pool equals a plain one ------------------- */

static struct kvcache *pool(enum kv_alloc_kind kind, bool prefix, struct backend *be)
{
    struct kvcache_config c = {.kind = kind, .n_layers = 2, .kv_dim = 4, .block_size = 4, .n_blocks = 128,
                               .max_seq = 96, .max_requests = 4, .prefix_cache = prefix, .kv_type = DT_F32};
    struct kvcache *kv;
    char err[256];
    cr_assert_eq(kvcache_create(&kv, &c, be, err, sizeof err), 0, "%s", err);
    return kv;
}

/* Block states and refcounts as a multiset (block ids may differ between pools). */
static void block_profile(struct kvcache *kv, int *refs_hist, int *state_hist)
{
    struct kvcache_snapshot s;
    cr_assert_eq(kvcache_snapshot_init(&s, kv), 0);
    kvcache_snapshot(kv, 0, &s);
    memset(refs_hist, 0, 8 * sizeof *refs_hist);
    memset(state_hist, 0, 4 * sizeof *state_hist);
    for (int b = 0; b < s.totals.n_blocks; b++) {
        refs_hist[s.blocks[b].refs < 7 ? s.blocks[b].refs : 7]++;
        state_hist[s.blocks[b].state]++;
    }
    kvcache_snapshot_free(&s);
}

Test(spec_rollback, pools_equal_a_plain_run_for_the_same_committed_tokens)
{
    struct backend *be = cpu_backend_create(1, CPU_SIMD_SCALAR);
    for (uint64_t seed = 1; seed <= 200; seed++) {
        uint64_t st = seed * 0x9e3779b97f4a7c15ull;
        enum kv_alloc_kind kind = seed % 3 == 0 ? KV_CONTIGUOUS : KV_PAGED;
        bool prefix = seed % 2 == 0;
        struct kvcache *spec = pool(kind, prefix, be), *plain = pool(kind, prefix, be);
        int32_t prompt[4][24];
        int len[4];
        for (int r = 0; r < 4; r++) {
            for (int i = 0; i < 24; i++) prompt[r][i] = i < 8 ? 100 + i : (int32_t)(r * 1000 + i);   /* shared 8 */
            int n = 4 + (int)((st >> (8 * r)) % 20);
            cr_assert_geq(kvcache_admit(spec, r, prompt[r], n, 90), 0);
            cr_assert_geq(kvcache_admit(plain, r, prompt[r], n, 90), 0);
            int have = kvcache_len(spec, r);
            cr_assert_eq(kvcache_append(spec, r, n - have), KVC_OK);
            cr_assert_eq(kvcache_append(plain, r, n - have), KVC_OK);
            kvcache_commit(spec, r);
            kvcache_commit(plain, r);
            len[r] = n;
        }
        for (int step = 0; step < 30; step++)
            for (int r = 0; r < 4; r++) {
                st = st * 6364136223846793005ull + 1442695040888963407ull;
                int k = 1 + (int)((st >> 33) % 8), kept = (int)((st >> 40) % (k + 1));
                if (len[r] + 1 + k > 90) continue;
                cr_assert_eq(kvcache_append(spec, r, 1 + k), KVC_OK);        /* the token + k drafts */
                cr_assert_eq(kvcache_truncate(spec, r, len[r] + 1 + kept), KVC_OK);   /* rejected ones */
                kvcache_commit(spec, r);
                cr_assert_eq(kvcache_append(plain, r, 1 + kept), KVC_OK);
                kvcache_commit(plain, r);
                len[r] += 1 + kept;
            }
        struct kvcache_snapshot a, b;
        cr_assert_eq(kvcache_snapshot_init(&a, spec), 0);
        cr_assert_eq(kvcache_snapshot_init(&b, plain), 0);
        kvcache_snapshot(spec, 0, &a);
        kvcache_snapshot(plain, 0, &b);
        cr_assert_eq(a.totals.blocks_used, b.totals.blocks_used, "seed %llu", (unsigned long long)seed);
        cr_assert_eq(a.totals.blocks_shared, b.totals.blocks_shared, "seed %llu", (unsigned long long)seed);
        cr_assert_eq(a.totals.blocks_free, b.totals.blocks_free, "seed %llu", (unsigned long long)seed);
        cr_assert_eq(a.totals.used_tokens, b.totals.used_tokens, "seed %llu", (unsigned long long)seed);
        cr_assert_eq(a.totals.allocated_tokens, b.totals.allocated_tokens, "seed %llu", (unsigned long long)seed);
        for (int r = 0; r < 4; r++) {
            cr_assert_eq(a.reqs[r].blocks, b.reqs[r].blocks, "seed %llu req %d", (unsigned long long)seed, r);
            cr_assert_eq(a.reqs[r].used, b.reqs[r].used);
        }
        int ra[8], rb[8], sa[4], sb[4];
        block_profile(spec, ra, sa);
        block_profile(plain, rb, sb);
        cr_assert_arr_eq(ra, rb, sizeof ra, "refcounts differ, seed %llu", (unsigned long long)seed);
        cr_assert_arr_eq(sa, sb, sizeof sa, "block states differ, seed %llu", (unsigned long long)seed);
        kvcache_snapshot_free(&a);
        kvcache_snapshot_free(&b);
        for (int r = 0; r < 4; r++) { kvcache_release(spec, r); kvcache_release(plain, r); }
        block_profile(spec, ra, sa);
        block_profile(plain, rb, sb);
        cr_assert_arr_eq(sa, sb, sizeof sa, "after release, seed %llu", (unsigned long long)seed);
        kvcache_destroy(spec);
        kvcache_destroy(plain);
    }
    backend_destroy(be);
}

/* ---- batch invariance of quantized matmuls --------------------------------- */

/* A verify of k+1 rows reproduces a one-row decode only if a row's result
 * does not depend on the matmul's row count (tiles for >= 4 rows, pairs
 * otherwise): every quantized format with tiles, every SIMD path (scalar,
 * AVX2, AVX-512 VNNI where the CPU has it), 1 and 2 threads, bit for bit. */
Test(spec_batch_invariance, quantized_matmul_rows_do_not_depend_on_the_row_count)
{
    static const enum dtype types[] = {DT_Q8_0, DT_Q4_0, DT_Q4_1};
    static const enum cpu_simd simds[] = {CPU_SIMD_SCALAR, CPU_SIMD_AVX2, CPU_SIMD_AVX512};
    char err[256];
    for (int t = 0; t < 3; t++)
        for (int si = 0; si < 3; si++)
            for (int th = 1; th <= 2; th++) {
                struct model m;
                cr_assert_eq(model_synth(&m, &model_preset_find("tiny")->cfg, types[t], 3, 2, err, sizeof err), 0);
                struct backend *be = cpu_backend_create(th, simds[si]);
                cr_assert_eq(model_upload(&m, be), 0);
                const struct weight *wt = &m.layers[1].w_gate;   /* [ffn_dim][dim] */
                int K = wt->cols, N = wt->rows, M = 9;
                float *x = backend_alloc(be, (size_t)M * K * sizeof *x), *y = backend_alloc(be, (size_t)M * N * sizeof *y);
                float *y1 = backend_alloc(be, (size_t)N * sizeof *y1), *hx = malloc((size_t)M * K * sizeof *hx);
                float *hy = malloc((size_t)M * N * sizeof *hy), *hy1 = malloc((size_t)N * sizeof *hy1);
                uint64_t st = 12345;
                for (int i = 0; i < M * K; i++) {
                    st = st * 6364136223846793005ull + 1442695040888963407ull;
                    hx[i] = (float)((int64_t)(st >> 40) - (1 << 23)) / (float)(1 << 22);
                }
                backend_upload(be, x, hx, (size_t)M * K * sizeof *hx);
                for (int rows = 1; rows <= M; rows++) {
                    backend_matmul(be, y, wt, x, rows);
                    backend_download(be, hy, y, (size_t)rows * N * sizeof *hy);
                    for (int r = 0; r < rows; r++) {
                        backend_matmul(be, y1, wt, x + (size_t)r * K, 1);
                        backend_download(be, hy1, y1, (size_t)N * sizeof *hy1);
                        cr_assert_arr_eq(hy + (size_t)r * N, hy1, (size_t)N * sizeof *hy1,
                                         "%s simd %d threads %d: row %d of %d differs from a one-row matmul",
                                         dtype_info(types[t])->name, (int)simds[si], th, r, rows);
                    }
                }
                backend_free(be, x); backend_free(be, y); backend_free(be, y1);
                free(hx); free(hy); free(hy1);
                backend_destroy(be);
                model_free(&m);
            }
}
