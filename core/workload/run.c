/* core/workload/run.c — see run.h. */
#include "core/workload/run.h"
#include "core/workload/texts.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- setup ---------------------------------------------------------------- */

/* --scenario-set items, split by the one k=v splitter (core/options/kvlist.h). */
enum { SCENARIO_SET_MAX = 16 };
struct scenario_items {
    int n;
    char keys[SCENARIO_SET_MAX][KVLIST_ITEM_MAX + 1], vals[SCENARIO_SET_MAX][KVLIST_ITEM_MAX + 1];
};

static int collect_item(void *ctx, const char *key, const char *value, char *err, size_t errlen)
{
    struct scenario_items *it = ctx;
    if (it->n == SCENARIO_SET_MAX) {
        snprintf(err, errlen, "%s: expected at most %d items", key, SCENARIO_SET_MAX);
        return -1;
    }
    snprintf(it->keys[it->n], sizeof it->keys[0], "%s", key);
    snprintf(it->vals[it->n], sizeof it->vals[0], "%s", value);
    it->n++;
    return 0;
}

/* "arrival.process=poisson arrival.rate=2" → scenario_set_many (validated together). */
static int apply_scenario_set(struct scenario *sc, const char *list, char *err, size_t errlen)
{
    static struct scenario_items it;      /* 8 KiB: off the stack */
    char e[512];
    const char *keys[SCENARIO_SET_MAX], *vals[SCENARIO_SET_MAX];
    it.n = 0;
    if (kvlist_each(list, collect_item, &it, e, sizeof e) < 0) {
        snprintf(err, errlen, "--scenario-set %s", e);
        return -1;
    }
    for (int i = 0; i < it.n; i++) { keys[i] = it.keys[i]; vals[i] = it.vals[i]; }
    if (scenario_set_many(sc, it.n, keys, vals, e, sizeof e) < 0) {
        snprintf(err, errlen, "--scenario-set: %s", e);
        return -1;
    }
    return 0;
}

/* Options = defaults, then the scenario's [options], then the command line's.
 * Each must be one scenario runs use (options_check_scope): max_tokens, say,
 * is refused, never silently dropped. */
static int merge_options(const struct scenario *sc, const struct options *cli, struct options *out,
                         char *err, size_t errlen)
{
    char e[256];
    options_defaults(out);
    for (int i = 0; i < sc->n_options; i++) {
        struct options one;
        options_defaults(&one);
        if (options_set(&one, sc->options[i].key, sc->options[i].value, e, sizeof e) < 0 ||
            options_check_scope(&one, OS_RUN, "scenario runs", e, sizeof e) < 0 ||
            options_set(out, sc->options[i].key, sc->options[i].value, e, sizeof e) < 0) {
            if (sc->options[i].line > 0) snprintf(err, errlen, "%s:%d: %s", sc->path, sc->options[i].line, e);
            else snprintf(err, errlen, "--scenario-set: options.%s", e);
            return -1;
        }
    }
    if (options_check_scope(cli, OS_RUN, "scenario runs", err, errlen) < 0) return -1;
    for (int i = 0; i < OPT_COUNT; i++)
        if (cli->explicit_set[i]) { out->v[i] = cli->v[i]; out->explicit_set[i] = true; }
    /* a scenario's kv_mem is sized for the machine it was written on; on a
     * simulated device the KV budget is the device's memory (the engine's
     * rule for a kv_mem not set) unless the command line sets kv_mem */
    if (strncmp(opt_s(out, OPT_DEVICE), "sim:", 4) == 0 && !cli->explicit_set[OPT_KV_MEM])
        out->explicit_set[OPT_KV_MEM] = false;
    return 0;
}

int run_setup_load(struct run_setup *b, const char *path, const char *model,
                   const struct options *overrides, const char *set_list, char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    if (scenario_load(path, &b->sc, err, errlen) < 0) return -1;
    if (set_list && apply_scenario_set(&b->sc, set_list, err, errlen) < 0) return -1;
    if (merge_options(&b->sc, overrides, &b->opt, err, errlen) < 0) return -1;
    if (opt_i(&b->opt, OPT_REQUESTS) > 0) {
        char n[32];
        snprintf(n, sizeof n, "%lld", (long long)opt_i(&b->opt, OPT_REQUESTS));
        if (scenario_set(&b->sc, "requests", n, err, errlen) < 0) return -1;
    }
    b->model_from_scenario = !model && b->sc.model[0];
    b->model = model ? model : b->sc.model[0] ? b->sc.model : NULL;
    return 0;
}

void run_setup_model_error(const struct run_setup *b, const char *msg, char *out, size_t n)
{
    int line = b->model_from_scenario ? scenario_key_line(&b->sc, "model") : 0;
    if (line > 0) snprintf(out, n, "%s:%d: model: %s", b->sc.path, line, msg);
    else snprintf(out, n, "%s", msg);
}

int run_check_lengths(const struct run_setup *b, const struct workload *w, char *err, size_t errlen)
{
    int max_seq = (int)opt_i(&b->opt, OPT_MAX_SEQ);
    for (int i = 0; i < w->n; i++) {
        int len = w->reqs[i].prompt_len + w->reqs[i].max_output;
        if (len <= max_seq) continue;
        int line = 0;
        for (int k = 0; k < b->sc.n_options; k++)
            if (strcmp(b->sc.options[k].key, "max_seq") == 0) line = b->sc.options[k].line;
        if (line <= 0 && !b->opt.explicit_set[OPT_MAX_SEQ]) line = scenario_key_line(&b->sc, "output.dist");
        char where[SCENARIO_TEXT_MAX + 16] = "";
        if (line > 0) snprintf(where, sizeof where, "%s:%d: ", b->sc.path, line);
        else snprintf(where, sizeof where, "%s: ", b->sc.path);
        snprintf(err, errlen, "%smax_seq: request %d needs %d tokens (prompt %d + output %d); "
                 "expected max_seq >= %d (or shorter prompts/outputs)", where, i, len,
                 w->reqs[i].prompt_len, w->reqs[i].max_output, len);
        return -1;
    }
    return 0;
}

/* ---- progress ------------------------------------------------------------- */

void run_progress_get(const struct telemetry *t, struct run_progress *p)
{
    const struct tel_ledger *L = &t->requests;
    memset(p, 0, sizeof *p);
    p->t_s = tel_now(t);
    p->finished = L->finished;
    p->total = L->n;
    p->running = L->running;
    p->waiting = L->waiting;
    p->tokens_out = L->tokens_out;
    p->tok_s = p->t_s > 0 ? p->tokens_out / p->t_s : 0;
    /* requests finished per second is the rate a run's end depends on; a token
     * rate from a prefill-heavy start says nothing about it */
    p->eta_s = p->finished > 0 && p->finished < p->total ? (p->total - p->finished) * p->t_s / p->finished
               : p->finished == p->total ? 0 : -1;
}

void run_progress_print(FILE *f, const struct run_progress *p)
{
    bool tty = isatty(fileno(f));
    if (p->next_arrival_s > 0) {
        fprintf(f, "%swaiting: next request arrives at t=%.1f s (in %.1f s)%s", tty ? "\r" : "",
                p->next_arrival_s, p->next_arrival_s - p->t_s, tty ? "   " : "\n");
        if (tty && p->final) fputc('\n', f);
        fflush(f);
        return;
    }
    if (!tty && !p->final) return;
    char eta[48] = "ETA after the first request finishes";
    if (p->eta_s >= 0) snprintf(eta, sizeof eta, "ETA %.0f s", p->eta_s);
    fprintf(f, "%s  %d/%d requests | %ld tokens | %.1f tok/s | %s   %s", tty ? "\r" : "", p->finished,
            p->total, p->tokens_out, p->tok_s, p->final ? "done" : eta, p->final ? "\n" : "");
    fflush(f);
}

/* ---- run loop ------------------------------------------------------------- */

#define FAR_ARRIVAL_S 5.0   /* an idle wait longer than this is announced */

static void report_progress(const struct run_observer *o, const struct engine *e, double next_arrival, bool final)
{
    if (!o || (!o->progress && !o->progress_to)) return;
    struct run_progress p;
    run_progress_get(engine_telemetry(e), &p);
    p.next_arrival_s = next_arrival;
    p.final = final;
    if (o->progress) o->progress(o->ctx, &p);
    else run_progress_print(o->progress_to, &p);
}

int run_to_end(struct engine *e, double max_s, const struct run_observer *o, char *err, size_t errlen)
{
    double last = 0, announced = -1;
    int rc;
    while ((rc = engine_step(e, 0.05)) >= 0) {
        if (rc == 1 && o && o->step && o->step(o->ctx, engine_telemetry(e), err, errlen) != 0) return 1;
        if (o && o->stop && o->stop(o->ctx)) break;
        double now = engine_now(e), next = sched_next_arrival(&e->sched);
        if (rc == 0 && e->sched.n_running == 0 && next - now > FAR_ARRIVAL_S && next != announced) {
            report_progress(o, e, next, false);
            announced = next;
        }
        if (now - last > 0.5) { report_progress(o, e, 0, false); last = now; }
        if (max_s > 0 && now > max_s) break;
    }
    report_progress(o, e, 0, true);
    if (e->failed) { snprintf(err, errlen, "engine: %s", e->error); return 1; }
    return 0;
}

/* ---- probe and one run ---------------------------------------------------- */

/* Capacity of a probe stopped early: token throughput over tokens per request. */
static double capacity_from_tokens(const struct telemetry *t, const struct workload *w)
{
    long done = t->requests.tokens_out;
    for (int i = 0; i < t->n_steps; i++) done += t->steps[i].prefill_tokens;   /* prompt + recompute run */
    double per_req = (double)(w->n_tokens + w->n_output) / (w->n > 0 ? w->n : 1);
    double now = tel_now(t);
    return now > 0 && per_req > 0 ? done / now / per_req : 0;
}

/* The probe sees progress and stop only: its steps are not the run's. */
static struct run_observer progress_only(const struct run_observer *o)
{
    struct run_observer p = {0};
    if (o) { p.ctx = o->ctx; p.progress = o->progress; p.stop = o->stop; p.progress_to = o->progress_to; }
    return p;
}

/* engine_init with the setup's options, and its draft model when it has one. */
static int engine_open(struct engine *e, const struct run_setup *b, struct model *m, struct backend *be,
                       const struct workload *w, char *err, size_t errlen)
{
    if (engine_init(e, &b->opt, m, be, w, err, errlen) < 0) return -1;
    if (b->draft && engine_attach_draft(e, b->draft, err, errlen) < 0) {
        engine_free(e);
        return -1;
    }
    return 0;
}

int run_probe_capacity(struct model *m, struct backend *be, const struct run_setup *b, double max_s,
                       const struct run_observer *o, FILE *log, double *cap, char *err, size_t errlen)
{
    struct scenario p = b->sc;
    int n = (int)opt_i(&b->opt, OPT_MAX_BATCH) * 2;
    char nbuf[32];
    snprintf(nbuf, sizeof nbuf, "%d", n < 8 ? 8 : n);
    *cap = 0;
    if (scenario_set(&p, "arrival.process", "all", err, errlen) < 0 ||
        scenario_set(&p, "requests", nbuf, err, errlen) < 0) return 2;
    struct workload w;
    if (workload_generate(&p, m->cfg.vocab, 0, &w, err, errlen) < 0) return 2;
    if (workload_apply_texts(&w, &p, m, err, errlen) < 0) { workload_free(&w); return 2; }
    struct engine e;
    if (run_check_lengths(b, &w, err, errlen) < 0 || engine_open(&e, b, m, be, &w, err, errlen) < 0) {
        workload_free(&w);
        return 2;
    }
    if (log) {
        fprintf(log, "probe: %d requests at t=0 to measure capacity", w.n);
        if (max_s > 0) fprintf(log, " (at most %.0f s)", max_s);
        fprintf(log, "...\n");
    }
    struct run_observer po = progress_only(o);
    int rc = run_to_end(&e, max_s, &po, err, errlen);
    const struct telemetry *t = engine_telemetry(&e);
    bool all_done = t->requests.finished == t->requests.n;
    if (all_done) {
        struct report r;
        report_compute(t, 0, 0, &r);
        *cap = r.req_s;
    } else {
        *cap = capacity_from_tokens(t, &w);
    }
    if (log && rc == 0)
        fprintf(log, "probe: capacity %.3f req/s (%s)\n", *cap,
                all_done ? "measured" : "estimated from token throughput over the time limit");
    engine_free(&e);
    workload_free(&w);
    return rc;
}

int run_scenario(struct model *m, struct backend *be, const struct run_setup *b, double cap,
                 const struct run_observer *o, FILE *log, struct report *r, char *err, size_t errlen)
{
    if (scenario_needs_capacity(&b->sc) && cap <= 0) {
        int rc = run_probe_capacity(m, be, b, 0, o, log, &cap, err, errlen);
        if (rc) return rc;
    }
    struct workload w;
    if (workload_generate(&b->sc, m->cfg.vocab, cap, &w, err, errlen) < 0) return 2;
    if (workload_apply_texts(&w, &b->sc, m, err, errlen) < 0) { workload_free(&w); return 2; }
    struct engine e;
    if (run_check_lengths(b, &w, err, errlen) < 0 || engine_open(&e, b, m, be, &w, err, errlen) < 0) {
        workload_free(&w);
        return 2;
    }
    if (log) fprintf(log, "run: %s, %d requests (%s arrivals%s)\n", b->sc.name, w.n,
                     arrival_process_name(b->sc.arrival.process), w.rate_req_s > 0 ? ", rate set" : "");
    const struct telemetry *t = engine_telemetry(&e);
    int rc = o && o->begin ? o->begin(o->ctx, t, b->sc.name, b->sc.path, err, errlen) : 0;
    if (rc == 0) rc = run_to_end(&e, 0, o, err, errlen);
    char eerr[512];
    int erc = o && o->end ? o->end(o->ctx, t, rc == 0, eerr, sizeof eerr) : 0;
    if (rc == 0 && erc) { rc = 1; snprintf(err, errlen, "%s", eerr); }
    if (rc != 0) rc = 1;
    report_compute(t, b->sc.slo.ttft_ms, b->sc.slo.tpot_ms, r);
    if (report_outputs(t, r) < 0 && rc == 0) { rc = 1; snprintf(err, errlen, "report: out of memory"); }
    engine_free(&e);
    workload_free(&w);
    return rc;
}
