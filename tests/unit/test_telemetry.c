/* Telemetry as the contract (core/telemetry.h), on synth:tiny:
 *   - request events come in order with the right counts (arrive <= admit <=
 *     first token <= finish; committed tokens add up to each output; a tiny
 *     pool gives preempt events, one per preemption) and the ledger folded
 *     from them matches the scheduler;
 *   - summarize_ops attributes attention by its seq tag: on a real mixed
 *     batch it gives the split the old record-order rule gave, and reordered
 *     records (a second forward pass) do not move it;
 *   - token identity: live toggles of batching, attention and chunked
 *     prefill at step boundaries leave every request's greedy tokens (ids
 *     and hash) unchanged; the recording carries the same ids (v3 round trip
 *     from a live capture). */
#include "core/engine/engine.h"
#include "core/workload/report.h"
#include "kernels/cpu/cpu_backend.h"
#include "traces/capture.h"
#include "traces/recorder.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *SCENARIO =
    "[scenario]\nname = telemetry-test\nseed = 5\nrequests = 10\n"
    "[arrival]\nprocess = all\n"
    "[prompt]\ndist = uniform\nmin = 5\nmax = 40\n"
    "[output]\ndist = uniform\nmin = 3\nmax = 20\n";

static struct model g_model;
static struct backend *g_be;

static void setup(void)
{
    char err[256];
    cr_assert_eq(model_synth(&g_model, &model_preset_find("tiny")->cfg, DT_F32, 5, 2, err, sizeof err), 0);
    g_be = cpu_backend_create(2, CPU_SIMD_AVX512);
}

static void teardown(void)
{
    backend_destroy(g_be);
    model_free(&g_model);
}

TestSuite(telemetry, .init = setup, .fini = teardown);

static struct workload g_w;

static void start(struct engine *e, const char *opts)
{
    char err[256];
    struct scenario sc;
    struct options o;
    options_defaults(&o);
    cr_assert_eq(options_set_list(&o, opts, err, sizeof err), 0, "%s", err);
    cr_assert_eq(scenario_parse_buffer("t.ini", SCENARIO, strlen(SCENARIO), &sc, err, sizeof err), 0, "%s", err);
    cr_assert_eq(workload_generate(&sc, g_model.cfg.vocab, 0, &g_w, err, sizeof err), 0, "%s", err);
    cr_assert_eq(engine_init(e, &o, &g_model, g_be, &g_w, err, sizeof err), 0, "%s", err);
}

static void stop(struct engine *e)
{
    engine_free(e);
    workload_free(&g_w);
}

/* Every event of a run, in publication order. */
struct event_log { struct req_event ev[4096]; int n; };

static void take_events(struct event_log *log, const struct telemetry *t)
{
    for (int i = 0; i < t->events.n; i++) {
        cr_assert_lt(log->n, 4096);
        log->ev[log->n++] = t->events.ev[i];
    }
    cr_assert(!t->events.lost);
}

/* Step to the end, taking each step's events (only after steps that ran:
 * the list carries the events of calls that ran nothing). */
static void run_logged(struct engine *e, struct event_log *log)
{
    int rc, guard = 0;
    while ((rc = engine_step(e, 0.01)) >= 0 && guard++ < 100000)
        if (rc == 1) take_events(log, engine_telemetry(e));
    cr_assert(!e->failed, "%s", e->error);
}

/* Per request: one arrive, admit(s), one first token, tokens adding up to
 * the output, one finish, in that order and time order; ids and hash equal
 * the scheduler's. Returns the preempt events seen. */
static int check_events(const struct engine *e, const struct event_log *log)
{
    const struct scheduler *s = &e->sched;
    int preempts = 0;
    for (int i = 0; i < s->n_reqs; i++) {
        const struct sched_req *r = &s->reqs[i];
        int arrive = -1, admit = -1, first = -1, finish = -1, n_arrive = 0, n_first = 0, n_finish = 0;
        int admits = 0, pre = 0, committed = 0;
        double t_arrive = -1, t_admit = -1, t_first = -1, t_finish = -1;
        int32_t ids[128];
        for (int k = 0; k < log->n; k++) {
            const struct req_event *ev = &log->ev[k];
            if (ev->req != r->id) continue;
            cr_assert_eq(ev->prompt_len, r->prompt_len);
            cr_assert_eq(ev->max_output, r->max_output);
            switch (ev->kind) {
            case REV_ARRIVE: arrive = k; n_arrive++; t_arrive = ev->t_s; break;
            case REV_ADMIT:
                if (admit < 0) { admit = k; t_admit = ev->t_s; }
                admits++;
                cr_assert_eq(admits, pre + 1, "request %d: an admit per preemption, plus the first", i);
                break;
            case REV_PREEMPT: pre++; cr_assert_eq(admits, pre, "request %d preempted while not running", i); break;
            case REV_FIRST_TOKEN: first = k; n_first++; t_first = ev->t_s; cr_assert_eq(ev->generated, 1); break;
            case REV_TOKENS:
                cr_assert(ev->n_tokens >= 1 && ev->n_tokens <= TEL_MAX_COMMIT);
                memcpy(ids + committed, ev->tokens, (size_t)ev->n_tokens * sizeof *ids);
                committed += ev->n_tokens;
                cr_assert_eq(ev->generated, committed);
                break;
            case REV_FINISH:
                finish = k; n_finish++; t_finish = ev->t_s;
                cr_assert_eq(ev->hash, tel_hash_tokens(ids, committed), "request %d: finish hash", i);
                break;
            default: cr_assert_fail("unknown event kind %d", ev->kind);
            }
        }
        cr_assert(n_arrive == 1 && n_first == 1 && n_finish == 1, "request %d: %d arrive, %d first, %d finish", i,
                  n_arrive, n_first, n_finish);
        cr_assert(arrive < admit && admit < first && first < finish, "request %d: events out of order", i);
        cr_assert(t_arrive <= t_admit && t_admit <= t_first && t_first <= t_finish, "request %d: times out of order", i);
        cr_assert_eq(committed, r->max_output, "request %d: committed %d of %d", i, committed, r->max_output);
        cr_assert_eq(memcmp(ids, r->tokens + r->prompt_len, (size_t)committed * sizeof *ids), 0);
        cr_assert_eq(pre, r->n_preempted);
        preempts += pre;
    }
    return preempts;
}

/* The ledger folded from the events equals the scheduler's own state. */
static void check_ledger(const struct engine *e)
{
    const struct tel_ledger *L = &engine_telemetry(e)->requests;
    const struct scheduler *s = &e->sched;
    cr_assert_eq(L->n, s->n_reqs);
    cr_assert_eq(L->finished, s->n_finished);
    cr_assert_eq(L->running, 0);
    cr_assert_eq(L->waiting, 0);
    cr_assert_eq(L->preemptions, s->preemptions);
    long out = 0;
    for (int i = 0; i < s->n_reqs; i++) {
        const struct sched_req *r = &s->reqs[i];
        const struct tel_request *q = &L->reqs[i];
        cr_assert_eq(q->state, REQ_FINISHED);
        cr_assert_eq(q->generated, r->n_generated);
        cr_assert_eq(q->cached, r->cached_tokens);
        cr_assert_eq(q->arrival_s, r->arrival_s);
        cr_assert_eq(q->first_s, r->t_first);
        cr_assert_eq(q->finish_s, r->t_finish);
        cr_assert_eq(memcmp(q->tokens, r->tokens + r->prompt_len, (size_t)q->generated * sizeof(int32_t)), 0);
        cr_assert_eq(memcmp(q->token_t, r->token_t, (size_t)q->generated * sizeof(double)), 0);
        cr_assert_eq(q->hash, tel_hash_tokens(r->tokens + r->prompt_len, r->n_generated));
        out += r->n_generated;
    }
    cr_assert_eq(L->tokens_out, out);
    long committed = 0;
    for (int i = 0; i < engine_telemetry(e)->n_steps; i++) committed += engine_telemetry(e)->steps[i].committed;
    cr_assert_eq(committed, out, "step records' committed tokens add up to the outputs");
}

static struct event_log g_log;

Test(telemetry, request_events_in_order_with_counts)
{
    struct engine e;
    start(&e, "batching=continuous max_batch=4 chunked_prefill=8");
    g_log.n = 0;
    run_logged(&e, &g_log);
    cr_assert_eq(check_events(&e, &g_log), 0, "a roomy pool preempts nothing");
    check_ledger(&e);
    stop(&e);
}

Test(telemetry, tiny_pool_emits_preempt_events)
{
    struct engine e;
    /* 9 blocks of 8 tokens cannot hold 10 requests of up to 60 tokens (the watermark admits more than fit) */
    start(&e, "kv=paged block=8 kv_blocks=9 prefix_cache=off admission=watermark");
    g_log.n = 0;
    run_logged(&e, &g_log);
    cr_assert_gt(e.sched.preemptions, 0, "the small pool should force preemption");
    cr_assert_eq((uint64_t)check_events(&e, &g_log), e.sched.preemptions);
    long dropped = 0;   /* one admitted but not yet prefilled drops nothing; others drop their K/V */
    for (int k = 0; k < g_log.n; k++)
        if (g_log.ev[k].kind == REV_PREEMPT) {
            const struct req_event *ev = &g_log.ev[k];
            cr_assert_leq(ev->dropped, ev->prompt_len + ev->generated);
            dropped += ev->dropped;
        }
    cr_assert_gt(dropped, 0, "preemptions dropped computed K/V");
    check_ledger(&e);
    stop(&e);
}

/* The split the engine used before tags: attention records belong to the
 * plan's sequences in record order (k-th attention record → item k mod n). */
static void split_by_order(const struct kernel_record *recs, int n, const struct tel_item *items, int n_items,
                           struct step_record *sr)
{
    double attn_prefill = 0, attn_decode = 0, shared = 0;
    int attn_i = 0;
    for (int i = 0; i < n; i++) {
        double t = recs[i].dur_ns / 1e9;
        if (recs[i].cls == OPC_ATTN && n_items > 0) {
            if (items[(attn_i++) % n_items].decode) attn_decode += t; else attn_prefill += t;
        } else {
            shared += t;
        }
    }
    int tok = sr->prefill_tokens + sr->decode_tokens;
    double pf = tok ? (double)sr->prefill_tokens / tok : 0;
    sr->prefill_s = attn_prefill + shared * pf;
    sr->decode_s = attn_decode + shared * (1 - pf);
    double sum = sr->prefill_s + sr->decode_s;
    if (sum > 0) { sr->prefill_s *= sr->dur_s / sum; sr->decode_s *= sr->dur_s / sum; }
}

static void resplit(const struct kernel_record *recs, int n, const struct telemetry *t, struct step_record *out)
{
    memset(out, 0, sizeof *out);
    out->dur_s = t->step->dur_s;
    out->prefill_tokens = t->step->prefill_tokens;
    out->decode_tokens = t->step->decode_tokens;
    engine_summarize_ops(recs, n, t->items, t->n_items, out);
}

Test(telemetry, summarize_ops_uses_tags_and_matches_the_old_split)
{
    struct engine e;
    /* chunks of 8: later steps mix decodes with other requests' prefill chunks */
    start(&e, "batching=continuous max_batch=4 chunked_prefill=8");
    const struct telemetry *t = engine_telemetry(&e);
    int mixed = 0, rc;
    while ((rc = engine_step(&e, 0.01)) >= 0 && mixed < 3) {
        if (rc != 1 || t->step->prefill_tokens == 0 || t->step->decode_tokens == 0) continue;
        mixed++;
        struct step_record old = *t->step, again;
        split_by_order(t->kernels, t->n_kernels, t->items, t->n_items, &old);
        cr_assert_float_eq(t->step->prefill_s, old.prefill_s, 1e-12, "prefill %g vs %g", t->step->prefill_s, old.prefill_s);
        cr_assert_float_eq(t->step->decode_s, old.decode_s, 1e-12);
        cr_assert_gt(t->step->prefill_s, 0);
        cr_assert_gt(t->step->decode_s, 0);
        /* every attention record names a planned request */
        for (int i = 0; i < t->n_kernels; i++)
            if (t->kernels[i].cls == OPC_ATTN) {
                bool found = false;
                for (int k = 0; k < t->n_items; k++) found |= t->items[k].req == t->kernels[i].seq;
                cr_assert(found, "attention record %d tagged seq %d", i, t->kernels[i].seq);
                cr_assert_eq(t->kernels[i].role, KROLE_TARGET);
            }
        /* the records reversed (as if a second pass interleaved them): same split by tag, not by order */
        struct kernel_record *rev = malloc((size_t)t->n_kernels * sizeof *rev);
        cr_assert_not_null(rev);
        for (int i = 0; i < t->n_kernels; i++) rev[i] = t->kernels[t->n_kernels - 1 - i];
        resplit(rev, t->n_kernels, t, &again);
        cr_assert_float_eq(again.prefill_s, t->step->prefill_s, 1e-12);
        cr_assert_float_eq(again.decode_s, t->step->decode_s, 1e-12);
        /* a second pass's attention for a request not in the plan stays shared */
        struct kernel_record *two = malloc((size_t)(t->n_kernels + 1) * sizeof *two);
        cr_assert_not_null(two);
        memcpy(two, t->kernels, (size_t)t->n_kernels * sizeof *two);
        two[t->n_kernels] = (struct kernel_record){.cls = OPC_ATTN, .seq = 9999, .dur_ns = 1000, .role = KROLE_DRAFT};
        resplit(two, t->n_kernels + 1, t, &again);
        cr_assert_eq(again.ops[OPC_ATTN].count, t->step->ops[OPC_ATTN].count + 1);
        free(rev);
        free(two);
    }
    cr_assert_eq(mixed, 3, "expected mixed prefill+decode steps");
    stop(&e);
}

/* ---- token identity under live toggles ---- */

struct outputs { int n; uint64_t hash[16]; int len[16]; int32_t ids[16][32]; };

static void take_outputs(const struct engine *e, struct outputs *o)
{
    const struct tel_ledger *L = &engine_telemetry(e)->requests;
    cr_assert_leq(L->n, 16);
    o->n = L->n;
    for (int i = 0; i < L->n; i++) {
        cr_assert_eq(L->reqs[i].state, REQ_FINISHED);
        o->hash[i] = L->reqs[i].hash;
        o->len[i] = L->reqs[i].generated;
        memcpy(o->ids[i], L->reqs[i].tokens, (size_t)o->len[i] * sizeof(int32_t));
    }
}

/* The runner's path for a live option: set it, then engine_apply_live at a step boundary. */
static void toggle(struct engine *e, const char *key, const char *value)
{
    char err[256];
    double old_scale = opt_f(&e->opt, OPT_RATE_SCALE);
    cr_assert_eq(options_set(&e->opt, key, value, err, sizeof err), 0, "%s", err);
    cr_assert(engine_apply_live(e, (enum opt_id)option_find(key), old_scale), "%s is live", key);
}

Test(telemetry, live_toggles_leave_greedy_tokens_unchanged)
{
    static const char *const TOGGLES[][2] = {
        {"batching", "static"}, {"attn", "naive"}, {"chunked_prefill", "5"}, {"batching", "continuous"},
        {"attn", "flash"}, {"chunked_prefill", "0"},
    };
    const int n_toggles = (int)(sizeof TOGGLES / sizeof TOGGLES[0]);
    for (int kt = 0; kt < 2; kt++) {
        char opts[128];
        snprintf(opts, sizeof opts, "kv_dtype=%s max_batch=4 temperature=0", kt ? "f16" : "f32");
        struct engine e;
        struct outputs base, toggled;
        start(&e, opts);
        int guard = 0;
        while (engine_step(&e, 0.01) >= 0 && guard++ < 100000) {}
        cr_assert(!e.failed, "%s", e.error);
        take_outputs(&e, &base);
        stop(&e);

        start(&e, opts);
        int steps = 0, applied = 0, rc;
        guard = 0;
        while ((rc = engine_step(&e, 0.01)) >= 0 && guard++ < 100000) {
            if (rc != 1 || ++steps % 2) continue;   /* a toggle every second step, at the boundary */
            toggle(&e, TOGGLES[applied % n_toggles][0], TOGGLES[applied % n_toggles][1]);
            applied++;
        }
        cr_assert(!e.failed, "%s", e.error);
        cr_assert_geq(applied, n_toggles, "every toggle applied at least once (%d)", applied);
        take_outputs(&e, &toggled);
        stop(&e);

        cr_assert_eq(base.n, toggled.n);
        for (int i = 0; i < base.n; i++) {
            cr_assert_eq(toggled.len[i], base.len[i], "request %d length (kv_dtype %d)", i, kt);
            for (int k = 0; k < base.len[i]; k++)
                cr_assert_eq(toggled.ids[i][k], base.ids[i][k], "request %d token %d (kv_dtype %d)", i, k, kt);
            cr_assert_eq(toggled.hash[i], base.hash[i]);
        }
    }
}

/* A live capture written as v3 and read back carries every request's output ids. */
Test(telemetry, recording_v3_round_trip_carries_output_tokens)
{
    struct engine e;
    struct trace_run cap, got;
    struct recorder w;
    char err[512], path[64];
    snprintf(path, sizeof path, "/tmp/infertop-tel-%d.jsonl", (int)getpid());
    start(&e, "batching=continuous max_batch=4 kv=paged block=8 kv_blocks=14 prefix_cache=off");
    const struct telemetry *t = engine_telemetry(&e);
    cr_assert_eq(trace_capture_begin(&cap, t, "telemetry-test", NULL), 0);
    cr_assert_eq(recorder_open(&w, path, &cap, err, sizeof err), 0, "%s", err);
    int rc, guard = 0;
    while ((rc = engine_step(&e, 0.01)) >= 0 && guard++ < 100000)
        if (rc == 1) {
            cr_assert_eq(trace_capture_step(&cap, t), 0);
            cr_assert_eq(recorder_flush(&w, &cap), 0);
        }
    cr_assert_eq(trace_capture_end(&cap, t), 0);
    cr_assert_eq(recorder_close(&w, &cap, err, sizeof err), 0, "%s", err);
    cr_assert_eq(recorder_read(path, &got, err, sizeof err), 0, "%s", err);
    cr_assert_eq(got.h.version, TRACE_FORMAT_VERSION);
    cr_assert_eq(got.n_steps, cap.n_steps);
    cr_assert_eq(got.n_ev, cap.n_ev);
    cr_assert_gt(got.n_kvs, 0);
    /* outputs rebuilt from the recording's commits */
    const struct tel_ledger *L = &t->requests;
    int *len = calloc((size_t)L->n, sizeof *len);
    int32_t (*ids)[32] = calloc((size_t)L->n, sizeof *ids);
    cr_assert(len && ids);
    for (int s = 0; s < got.n_steps; s++) {
        const struct trace_step *st = &got.steps[s];
        cr_assert_eq(st->n_kernels, cap.steps[s].n_kernels);
        for (int k = 0; k < st->n_kernels; k++) {
            cr_assert_eq(st->kernels[k].seq, cap.steps[s].kernels[k].seq);
            cr_assert_eq(st->kernels[k].role, cap.steps[s].kernels[k].role);
        }
        for (int c = 0; c < st->n_commits; c++) {
            const struct trace_commit *cm = &st->commits[c];
            for (int k = 0; k < cm->n; k++) ids[cm->req][len[cm->req]++] = st->commit_tokens[cm->off + k];
        }
    }
    int finishes = 0, preempts = 0;
    for (int i = 0; i < got.n_ev; i++) {
        const struct trace_event *ev = &got.ev[i];
        cr_assert_eq(ev->kind, cap.ev[i].kind);
        cr_assert_eq(ev->generated, cap.ev[i].generated);
        if (ev->kind == TEV_PREEMPT) { preempts++; cr_assert_eq(ev->dropped, cap.ev[i].dropped); }
        if (ev->kind != TEV_FINISH) continue;
        finishes++;
        cr_assert(ev->has_hash);
        cr_assert_eq(ev->hash, L->reqs[ev->req].hash, "request %d: recorded hash", ev->req);
    }
    cr_assert_eq(finishes, L->n);
    cr_assert_eq((uint64_t)preempts, L->preemptions);
    for (int i = 0; i < L->n; i++) {
        cr_assert_eq(len[i], L->reqs[i].generated, "request %d: recorded tokens", i);
        cr_assert_eq(memcmp(ids[i], L->reqs[i].tokens, (size_t)len[i] * sizeof(int32_t)), 0);
    }
    free(len);
    free(ids);
    trace_run_free(&cap);
    trace_run_free(&got);
    remove(path);
    stop(&e);
}
