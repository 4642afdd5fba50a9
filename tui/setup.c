/* tui/setup.c — see setup.h. */
#include "tui/setup.h"
#include "core/workload/report.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Options = defaults, then the scenario's [options], then the command line's --set. */
static int merge_options(const struct scenario *sc, const struct options *cli, struct options *out)
{
    char err[256];
    options_defaults(out);
    for (int i = 0; i < sc->n_options; i++)
        if (options_set(out, sc->options[i].key, sc->options[i].value, err, sizeof err) < 0) {
            cli_error("%s:%d: %s", sc->path, sc->options[i].line, err);
            return -1;
        }
    for (int i = 0; i < OPT_COUNT; i++)
        if (cli->explicit_set[i]) { out->v[i] = cli->v[i]; out->explicit_set[i] = true; }
    return 0;
}

int setup_load(const char *path, const char *default_path, const char *model,
               const struct options *overrides, struct run_setup *b)
{
    char err[512];
    if (!path) path = default_path;
    if (scenario_load(path, &b->sc, err, sizeof err) < 0) { cli_error("%s", err); return -1; }
    if (merge_options(&b->sc, overrides, &b->opt) < 0) return -1;
    if (opt_i(&b->opt, OPT_REQUESTS) > 0) {
        char n[32];
        snprintf(n, sizeof n, "%lld", (long long)opt_i(&b->opt, OPT_REQUESTS));
        if (scenario_set(&b->sc, "requests", n, err, sizeof err) < 0) { cli_error("%s", err); return -1; }
    }
    b->model = model ? model : b->sc.model[0] ? b->sc.model : NULL;
    return 0;
}

static long tokens_generated(const struct scheduler *s)
{
    long out = 0;
    for (int i = 0; i < s->n_reqs; i++) out += s->reqs[i].n_generated;
    return out;
}

static void progress(const struct engine *e, bool quiet, bool final)
{
    if (quiet || !isatty(2)) return;
    const struct scheduler *s = &e->sched;
    long out = tokens_generated(s);
    double t = engine_now(e), rate = t > 0 ? out / t : 0;
    double left = 0;
    for (int i = 0; i < s->n_reqs; i++) left += s->reqs[i].max_output - s->reqs[i].n_generated;
    fprintf(stderr, "\r  %d/%d requests | %ld tokens | %.1f tok/s | ETA %.0f s   %s", s->n_finished,
            s->n_reqs, out, rate, rate > 0 ? left / rate : 0.0, final ? "\n" : "");
}

/* Steps until the workload ends or max_s (> 0) passes; on_step (optional)
 * sees every step that ran. 0 ok, 1 engine failure or on_step failure. */
static int run_engine_for(struct engine *e, bool quiet, double max_s, setup_step_fn on_step, void *ctx)
{
    double last = 0;
    int rc;
    while ((rc = engine_step(e, 0.05)) >= 0) {
        if (rc == 1 && on_step && on_step(ctx, e) != 0) return 1;
        if (engine_now(e) - last > 0.5) { progress(e, quiet, false); last = engine_now(e); }
        if (max_s > 0 && engine_now(e) > max_s) break;
    }
    progress(e, quiet, true);
    if (e->failed) { cli_error("engine: %s", e->error); return 1; }
    return 0;
}

int setup_run_engine(struct engine *e, bool quiet, setup_step_fn on_step, void *ctx)
{
    return run_engine_for(e, quiet, 0, on_step, ctx);
}

/* Capacity of a probe stopped early: token throughput over tokens per request. */
static double capacity_from_tokens(const struct engine *e, const struct workload *w)
{
    const struct scheduler *s = &e->sched;
    long done = tokens_generated(s);
    for (int i = 0; i < s->n_reqs; i++) done += s->reqs[i].prefill_computed;
    double per_req = (double)(w->n_tokens + w->n_output) / (w->n > 0 ? w->n : 1);
    double t = engine_now(e);
    return t > 0 && per_req > 0 ? done / t / per_req : 0;
}

int setup_probe_capacity(struct session *S, const struct run_setup *b, bool quiet, double max_s,
                         double *cap)
{
    char err[512];
    struct scenario p = b->sc;
    int n = (int)opt_i(&b->opt, OPT_MAX_BATCH) * 2;
    char nbuf[32];
    snprintf(nbuf, sizeof nbuf, "%d", n < 8 ? 8 : n);
    if (scenario_set(&p, "arrival.process", "all", err, sizeof err) < 0 ||
        scenario_set(&p, "requests", nbuf, err, sizeof err) < 0) { cli_error("%s", err); return 2; }
    struct workload w;
    if (workload_generate(&p, S->model.cfg.vocab, 0, &w, err, sizeof err) < 0) { cli_error("%s", err); return 2; }
    struct engine e;
    if (engine_init(&e, &b->opt, &S->model, S->be, &w, err, sizeof err) < 0) {
        cli_error("%s", err); workload_free(&w); return 2;
    }
    if (!quiet) {
        fprintf(stderr, "probe: %d requests at t=0 to measure capacity", w.n);
        if (max_s > 0) fprintf(stderr, " (at most %.0f s)", max_s);
        fprintf(stderr, "...\n");
    }
    int rc = run_engine_for(&e, quiet, max_s, NULL, NULL);
    bool all_done = e.sched.n_finished == e.sched.n_reqs;
    if (all_done) {
        struct report r;
        report_compute(&e, 0, 0, &r);
        *cap = r.req_s;
    } else {
        *cap = capacity_from_tokens(&e, &w);
    }
    if (!quiet)
        fprintf(stderr, "probe: capacity %.3f req/s (%s)\n", *cap,
                all_done ? "measured" : "estimated from token throughput over the time limit");
    engine_free(&e);
    workload_free(&w);
    return rc;
}

const char *setup_find_path(const char *rel, char *buf, size_t n)
{
    if (access(rel, R_OK) == 0) return rel;
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) return rel;
    exe[len] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    snprintf(buf, n, "%s/../%s", exe, rel);
    return access(buf, R_OK) == 0 ? buf : rel;
}
