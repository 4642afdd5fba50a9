/* tests/unit/test_cuda_graph.c — the launch logic of CUDA Graphs for the
 * decode step without a GPU: the step runner (kernels/cuda/cuda_graph_step.c)
 * over a fake driver whose "stream" runs ops eagerly or records them while
 * capturing, so a test can count that every step's ops ran exactly once
 * whatever failed; the pinned staging (kernels/cuda/cuda_staging.c) over
 * malloc; and the forward's side of the step hooks (core/model/forward.c):
 * a step whose capture failed is issued again with its records dropped, and
 * greedy tokens do not change. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/cuda_graph_step.h"
#include "kernels/cuda/cuda_staging.h"
#include "tests/unit/fixture_engine.h"

/* ---- a fake stream and driver ---- */
struct fake_stream {
    bool capturing, graph_held;
    int graph_ops;            /* ops in the held graph (its topology) */
    int exec_ops;             /* ops of the exec; -1 none */
    long ran;                 /* ops that ran */
    int fail_begin, fail_end, fail_inst, fail_launch;   /* calls to fail (1 = the next one) */
    int instantiated, updated, launched;
};

static int countdown(int *n) { return *n > 0 && --*n == 0; }

static int f_begin(void *ctx, char *why, size_t n)
{
    struct fake_stream *s = ctx;
    if (countdown(&s->fail_begin)) { snprintf(why, n, "fake begin refused"); return -1; }
    s->capturing = true;
    s->graph_ops = 0;
    return 0;
}

static int f_end(void *ctx, char *why, size_t n)
{
    struct fake_stream *s = ctx;
    s->capturing = false;
    if (countdown(&s->fail_end)) { snprintf(why, n, "fake capture invalidated"); return -1; }
    s->graph_held = true;
    return 0;
}

static int f_inst(void *ctx, char *why, size_t n)
{
    struct fake_stream *s = ctx;
    cr_assert(s->graph_held, "instantiate needs a held graph");
    if (countdown(&s->fail_inst)) { snprintf(why, n, "fake instantiate failed"); return -1; }
    s->exec_ops = s->graph_ops;
    s->instantiated++;
    return 0;
}

static int f_update(void *ctx, char *why, size_t n)
{
    struct fake_stream *s = ctx;
    cr_assert(s->graph_held && s->exec_ops >= 0);
    if (s->exec_ops != s->graph_ops) { snprintf(why, n, "topology changed"); return -1; }
    s->updated++;
    return 0;
}

static int f_launch(void *ctx, char *why, size_t n)
{
    struct fake_stream *s = ctx;
    cr_assert(!s->graph_held, "the graph is dropped before the launch");
    if (countdown(&s->fail_launch)) { snprintf(why, n, "fake launch failed"); return -1; }
    s->ran += s->exec_ops;
    s->launched++;
    return 0;
}

static void f_drop(void *ctx) { ((struct fake_stream *)ctx)->graph_held = false; }

static const struct cg_driver FAKE_DRIVER = {f_begin, f_end, f_inst, f_update, f_launch, f_drop};

/* One step of `ops` ops the way core/model/forward.c issues it: begin, the
 * ops (recorded while capturing), end; once more eagerly when end says the
 * ops did not run. */
static void run_step(struct cg_step *st, struct fake_stream *s, struct cg_key k, int ops, bool enabled)
{
    for (int attempt = 0;; attempt++) {
        cg_step_begin(st, k, enabled);
        cr_assert_eq(cg_step_capturing(st), s->capturing, "the runner and the stream agree on capturing");
        for (int i = 0; i < ops; i++) {
            if (s->capturing) s->graph_ops++;
            else s->ran++;
        }
        if (cg_step_end(st) == 0) break;
        cr_assert_eq(attempt, 0, "a redo runs eagerly and cannot fail");
    }
}

static void setup_stream(struct cg_step *st, struct fake_stream *s)
{
    memset(s, 0, sizeof *s);
    s->exec_ops = -1;
    cg_step_init(st, &FAKE_DRIVER, s, 2);
}

Test(cuda_graph_step, capture_then_replays_every_op_runs_once)
{
    struct cg_step st;
    struct fake_stream s;
    setup_stream(&st, &s);
    struct cg_key a = cg_key_of(4, 4, 37);
    for (int i = 0; i < 10; i++) run_step(&st, &s, a, 50, true);
    cr_assert_eq(s.ran, 10 * 50);
    cr_assert_eq(st.pol.eager, 2, "first sight + one warm-up repeat");
    cr_assert_eq(st.pol.captures, 1);
    cr_assert_eq(st.pol.replays, 7);
    cr_assert_eq(s.launched, 8);
    cr_assert_eq(s.updated, 7);
    /* a new shape: eager again, then captured; more ops than the exec: recapture */
    struct cg_key b = cg_key_of(5, 5, 37);
    for (int i = 0; i < 4; i++) run_step(&st, &s, b, 60, true);
    cr_assert_eq(st.pol.captures, 2);
    run_step(&st, &s, b, 61, true);        /* same key, another topology: update refused */
    cr_assert_eq(st.pol.recaptures, 1);
    cr_assert_eq(s.ran, 10 * 50 + 4 * 60 + 61);
    cr_assert(!st.pol.off);
}

Test(cuda_graph_step, off_by_option_counts_eager_and_never_captures)
{
    struct cg_step st;
    struct fake_stream s;
    setup_stream(&st, &s);
    for (int i = 0; i < 6; i++) run_step(&st, &s, cg_key_of(1, 1, 3), 20, false);
    cr_assert_eq(st.pol.eager, 6);
    cr_assert_eq(st.pol.captures + st.pol.replays, 0);
    cr_assert_eq(s.instantiated, 0);
    cr_assert_eq(s.ran, 6 * 20);
}

/* Each failure point: the step's ops still run exactly once, graphs go off
 * with the driver's reason, and later steps are eager. */
Test(cuda_graph_step, every_failure_reruns_the_step_eagerly_and_turns_graphs_off)
{
    const char *reasons[] = {"fake begin refused", "fake capture invalidated", "fake instantiate failed",
                             "fake launch failed"};
    for (int f = 0; f < 4; f++) {
        struct cg_step st;
        struct fake_stream s;
        setup_stream(&st, &s);
        int *fail[] = {&s.fail_begin, &s.fail_end, &s.fail_inst, &s.fail_launch};
        *fail[f] = 1;
        for (int i = 0; i < 8; i++) run_step(&st, &s, cg_key_of(2, 2, 9), 30, true);
        cr_assert_eq(s.ran, 8 * 30, "failure %d: every op ran once", f);
        cr_assert(st.pol.off, "failure %d turns graphs off", f);
        cr_assert(strstr(st.pol.reason, reasons[f]), "reason '%s'", st.pol.reason);
        cr_assert_eq(st.pol.captures + st.pol.replays, 0);
        cr_assert_eq(st.pol.eager, 8, "failure %d: every step (the lost one's rerun too) counted eager", f);
    }
}

/* ---- pinned staging over malloc ---- */
static int g_allocs, g_frees, g_fail_alloc;

static void *m_alloc(void *user, size_t n)
{
    (void)user;
    if (g_fail_alloc) return NULL;
    g_allocs++;
    return aligned_alloc(STAGING_ALIGN, n);   /* cudaMallocHost: page-aligned */
}

static void m_free(void *user, void *p)
{
    (void)user;
    g_frees++;
    free(p);
}

Test(cuda_staging, copies_of_a_step_stay_put_and_a_repeating_step_allocates_nothing)
{
    struct staging st;
    staging_init(&st, m_alloc, m_free, NULL);
    g_allocs = g_frees = g_fail_alloc = 0;
    enum { N = 400 };
    int *src = malloc(sizeof *src * 3000);
    cr_assert(src);
    const int *put[N];
    size_t len[N];
    for (int round = 0; round < 3; round++) {
        int allocs0 = g_allocs;
        for (int i = 0; i < N; i++) {
            len[i] = (size_t)(1 + (i * 37 + round) % 3000);
            for (size_t j = 0; j < len[i]; j++) src[j] = (int)(i * 7919 + j * 31 + round);
            put[i] = staging_put(&st, src, sizeof *src * len[i]);
            cr_assert(put[i]);
            cr_assert_eq((uintptr_t)put[i] % STAGING_ALIGN, 0);
        }
        for (int i = 0; i < N; i++)           /* later puts (and the reused src) changed nothing */
            for (size_t j = 0; j < len[i]; j++) cr_assert_eq(put[i][j], (int)(i * 7919 + j * 31 + round));
        if (round == 2) cr_assert_eq(g_allocs, allocs0, "the same step again: no allocation");
        staging_reset(&st);
        cr_assert_eq(st.n, 1, "folded into one chunk");
    }
    g_fail_alloc = 1;
    staging_free(&st);
    cr_assert_null(staging_put(&st, src, 64), "no pinned memory: NULL (the caller copies directly)");
    cr_assert_eq(g_allocs, g_frees);
    free(src);
}

/* ---- the forward's side: step hooks on the CPU backend ----
 * The hooks see every forward step; the first step that allows a graph
 * answers "did not run" once (a failed capture): the forward must issue it
 * again with the first attempt's records dropped. */
static int g_begins, g_ends, g_graph_steps, g_redos;
static bool g_fail_first_graph;

static void h_begin(struct backend *be, const struct step_shape *sh)
{
    (void)be;
    g_begins++;
    g_graph_steps += sh->graphs;
    cr_assert(sh->n_seqs > 0 && sh->n_tokens >= sh->n_seqs && sh->kv_blocks >= sh->n_seqs);
    if (sh->graphs) cr_assert_eq(sh->n_tokens, sh->n_seqs, "a graph step is decode only: one token per sequence");
}

static int h_end(struct backend *be)
{
    (void)be;
    g_ends++;
    if (g_fail_first_graph && g_graph_steps == 1 && g_redos == 0) {
        g_redos++;
        return 1;
    }
    return 0;
}

static const char *GRAPH_SCENARIO =
    "[scenario]\nname = graph-test\nseed = 3\nrequests = 6\n"
    "[arrival]\nprocess = all\n"
    "[prompt]\ndist = uniform\nmin = 5\nmax = 30\n"
    "[output]\ndist = uniform\nmin = 4\nmax = 16\n";

struct graph_run {
    int32_t tokens[8][64];
    int n_tokens[8], n_reqs;
    int kernels[512];         /* records per step */
    int steps;
};

static void run_hooked(struct model *m, struct backend *be, const char *opts, bool fail_first, struct graph_run *out)
{
    static struct backend_ops hooked;
    const struct backend_ops *plain = be->ops;
    hooked = *plain;
    hooked.step_begin = h_begin;
    hooked.step_end = h_end;
    be->ops = &hooked;
    g_begins = g_ends = g_graph_steps = g_redos = 0;
    g_fail_first_graph = fail_first;
    struct workload w;
    struct engine e;
    fixture_engine(&e, &w, m, be, opts, GRAPH_SCENARIO);
    memset(out, 0, sizeof *out);
    int rc;
    while ((rc = engine_step(&e, 0.01)) >= 0 && out->steps < 512)
        if (rc == 1) out->kernels[out->steps++] = engine_telemetry(&e)->n_kernels;
    cr_assert(!e.failed, "%s", e.error);
    out->n_reqs = e.sched.n_reqs;
    for (int i = 0; i < out->n_reqs; i++) {
        out->n_tokens[i] = e.sched.reqs[i].n_tokens;
        memcpy(out->tokens[i], e.sched.reqs[i].tokens, sizeof(int32_t) * (size_t)out->n_tokens[i]);
    }
    engine_free(&e);
    workload_free(&w);
    be->ops = plain;
}

Test(cuda_graph_step, forward_reissues_a_lost_step_with_its_records_dropped)
{
    struct model m;
    struct backend *be;
    fixture_tiny_up(&m, &be, 2);
    static struct graph_run plain, lost, off;
    run_hooked(&m, be, "cuda_graphs=on", false, &plain);
    cr_assert_eq(g_begins, g_ends);
    cr_assert_eq(g_begins, plain.steps, "one begin/end pair per step");
    cr_assert(g_graph_steps > 0, "decode-only steps allow a graph");
    cr_assert(g_graph_steps < plain.steps, "prefill steps do not");
    run_hooked(&m, be, "cuda_graphs=on", true, &lost);
    cr_assert_eq(g_redos, 1);
    cr_assert_eq(g_begins, lost.steps + 1, "the lost step was issued twice");
    run_hooked(&m, be, "cuda_graphs=off", false, &off);
    cr_assert_eq(g_graph_steps, 0, "cuda_graphs=off: no step allows a graph");
    cr_assert_eq(plain.steps, lost.steps);
    cr_assert_eq(plain.steps, off.steps);
    for (int i = 0; i < plain.steps; i++)
        cr_assert_eq(plain.kernels[i], lost.kernels[i], "step %d: the lost attempt's records are dropped", i);
    for (int r = 0; r < plain.n_reqs; r++) {
        cr_assert_eq(plain.n_tokens[r], lost.n_tokens[r]);
        cr_assert_eq(plain.n_tokens[r], off.n_tokens[r]);
        for (int t = 0; t < plain.n_tokens[r]; t++) {
            cr_assert_eq(plain.tokens[r][t], lost.tokens[r][t], "request %d token %d", r, t);
            cr_assert_eq(plain.tokens[r][t], off.tokens[r][t], "request %d token %d", r, t);
        }
    }
    fixture_tiny_down(&m, be);
}
