/* core/workload/run.c on synth:tiny: the progress a line shows (no ETA
 * before a rate means something), the capacity probe, observers, and a KV
 * pool too small to ever hold a request failing at engine_init instead of
 * waiting forever. */
#include "core/workload/run.h"
#include "kernels/cpu/cpu_backend.h"
#include "tests/unit/fixture_engine.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static const char *SCENARIO =
    "[scenario]\nname = run-test\nseed = 3\nrequests = 6\n"
    "[arrival]\nprocess = poisson\nrate = 0.5x\n"
    "[prompt]\ndist = uniform\nmin = 5\nmax = 20\n"
    "[output]\ndist = fixed\nvalue = 6\n";

static struct model g_model;
static struct backend *g_be;

static void setup(void) { fixture_tiny_up(&g_model, &g_be, 2); }
static void teardown(void) { fixture_tiny_down(&g_model, g_be); }

static void load(struct run_setup *b, const char *opts)
{
    char err[256];
    memset(b, 0, sizeof *b);
    cr_assert_eq(scenario_parse_buffer("run.ini", SCENARIO, strlen(SCENARIO), &b->sc, err, sizeof err), 0, "%s", err);
    options_defaults(&b->opt);
    cr_assert_eq(options_set_list(&b->opt, opts, err, sizeof err), 0, "%s", err);
}

struct seen { int steps, progress, begin, end; bool end_ok; double first_eta; int finished_at_first_eta; };

static int on_begin(void *c, const struct telemetry *e, const char *n, const char *p, char *err, size_t el)
{
    (void)e; (void)n; (void)p; (void)err; (void)el;
    ((struct seen *)c)->begin++;
    return 0;
}
static int on_step(void *c, const struct telemetry *e, char *err, size_t el)
{
    (void)e; (void)err; (void)el;
    ((struct seen *)c)->steps++;
    return 0;
}
static int on_end(void *c, const struct telemetry *e, bool ok, char *err, size_t el)
{
    (void)e; (void)err; (void)el;
    ((struct seen *)c)->end++;
    ((struct seen *)c)->end_ok = ok;
    return 0;
}
static void on_progress(void *c, const struct run_progress *p)
{
    struct seen *s = c;
    s->progress++;
    cr_assert(p->eta_s < 0 || p->finished > 0, "an ETA before any request finished: %g s", p->eta_s);
    if (p->eta_s >= 0 && s->first_eta == 0) { s->first_eta = p->eta_s; s->finished_at_first_eta = p->finished; }
}

Test(run, progress_has_no_eta_before_the_first_request_finishes, .init = setup, .fini = teardown)
{
    struct run_setup b;
    load(&b, "max_batch=4");
    struct scenario sc = b.sc;
    char err[256];
    cr_assert_eq(scenario_set(&sc, "arrival.process", "all", err, sizeof err), 0, "%s", err);
    struct workload w;
    struct engine e;
    fixture_engine_with(&e, &w, &g_model, g_be, &b.opt, &sc);
    struct run_progress p;
    run_progress_get(engine_telemetry(&e), &p);
    cr_assert_eq(p.finished, 0);
    cr_assert_lt(p.eta_s, 0, "no rate yet, no ETA");
    while (e.sched.n_finished == 0 && engine_step(&e, 0.01) >= 0) {}
    run_progress_get(engine_telemetry(&e), &p);
    cr_assert_gt(p.eta_s, 0, "one finished: ETA from requests per second");
    cr_assert_float_eq(p.eta_s, (p.total - p.finished) * p.t_s / p.finished, 1e-9);
    engine_free(&e);
    workload_free(&w);
}

Test(run, scenario_probes_capacity_and_calls_every_observer, .init = setup, .fini = teardown)
{
    struct run_setup b;
    load(&b, "max_batch=4");
    struct seen s = {0};
    struct run_observer o = {.ctx = &s, .begin = on_begin, .step = on_step, .end = on_end, .progress = on_progress};
    struct report r;
    char err[512] = "";
    double cap = 0;
    cr_assert_eq(run_probe_capacity(&g_model, g_be, &b, 0, &o, NULL, &cap, err, sizeof err), 0, "%s", err);
    cr_assert_gt(cap, 0, "probe measured a capacity");
    cr_assert_eq(s.steps + s.begin + s.end, 0, "the probe's steps are not the run's");
    cr_assert_eq(run_scenario(&g_model, g_be, &b, cap, &o, NULL, &r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(r.finished, 6);
    cr_assert_eq(s.begin, 1);
    cr_assert_eq(s.end, 1);
    cr_assert(s.end_ok);
    cr_assert_eq((uint64_t)s.steps, r.steps, "step observer saw every step");
    cr_assert_gt(s.progress, 0);
    report_free(&r);
}

Test(run, pool_that_can_never_hold_a_request_fails_at_init, .init = setup, .fini = teardown)
{
    struct run_setup b;
    load(&b, "kv_blocks=1 block=8");
    struct report r;
    char err[512] = "";
    cr_assert_eq(run_scenario(&g_model, g_be, &b, 1.0, NULL, NULL, &r, err, sizeof err), 2);
    cr_assert(strstr(err, "KV pool too small: a request needs"), "%s", err);
    cr_assert(strstr(err, "the pool holds 8 (1 block of 8)"), "%s", err);
    load(&b, "kv=contiguous max_seq=64 kv_blocks=4 block=8");
    cr_assert_eq(run_scenario(&g_model, g_be, &b, 1.0, NULL, NULL, &r, err, sizeof err), 2);
    cr_assert(strstr(err, "contiguous KV reserves max_seq = 64 tokens per request, the pool holds 32"), "%s", err);
}

Test(run, lengths_beyond_max_seq_name_the_scenario_line, .init = setup, .fini = teardown)
{
    struct run_setup b;
    load(&b, "max_seq=16");
    b.opt.explicit_set[OPT_MAX_SEQ] = false;     /* as if defaulted: blame the output length */
    struct report r;
    char err[512] = "";
    cr_assert_eq(run_scenario(&g_model, g_be, &b, 1.0, NULL, NULL, &r, err, sizeof err), 2);
    cr_assert(strncmp(err, "run.ini:13: max_seq: request ", 29) == 0, "%s", err);
    cr_assert(strstr(err, "expected max_seq >= "), "%s", err);
}

/* ---- capacity cache ------------------------------------------------------ */

#include "core/workload/capacity_cache.h"
#include <stdlib.h>
#include <unistd.h>

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

Test(capacity_cache, stores_under_xdg_cache_home_and_misses_on_anything_odd, .init = setup, .fini = teardown)
{
    char dir[] = "/tmp/infertop-capcache-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    setenv("XDG_CACHE_HOME", dir, 1);
    struct run_setup b;
    load(&b, "max_batch=4");
    char key[CAPACITY_CACHE_KEY_MAX], key2[CAPACITY_CACHE_KEY_MAX], path[1200], path2[1200], err[256];
    capacity_cache_key(&g_model, g_be, &b, key, sizeof key);
    cr_assert(strstr(key, "max_batch=4") && strstr(key, "run.ini") && !strchr(key, '\n'), "%s", key);
    cr_assert(capacity_cache_path(key, path, sizeof path));
    cr_assert(strncmp(path, dir, strlen(dir)) == 0 && strstr(path, "/infertop/capacity/"), "%s", path);
    double cap = 0;
    cr_assert_not(capacity_cache_load(path, key, &cap), "nothing stored yet");
    cr_assert_eq(capacity_cache_store(path, key, 1.25, err, sizeof err), 0, "%s", err);
    cr_assert(capacity_cache_load(path, key, &cap));
    cr_assert_float_eq(cap, 1.25, 1e-15);
    /* another option: another key and file */
    load(&b, "max_batch=8");
    capacity_cache_key(&g_model, g_be, &b, key2, sizeof key2);
    cr_assert(capacity_cache_path(key2, path2, sizeof path2));
    cr_assert_str_neq(path, path2);
    cr_assert_not(capacity_cache_load(path, key2, &cap), "a stale file (other key) is a miss");
    /* corrupt files are misses, never values */
    const char *bad[] = {
        "", "garbage\n", "infertop-capacity 1\n", "infertop-capacity 2\nkey %s\ncapacity 1\n",
        "infertop-capacity 1\nkey %s\ncapacity nan\n", "infertop-capacity 1\nkey %s\ncapacity -3\n",
        "infertop-capacity 1\nkey %s\ncapacity 1e300\n", "infertop-capacity 1\nkey %s\ncapacity 2x\n",
        "infertop-capacity 1\nkey %s\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[CAPACITY_CACHE_KEY_MAX + 100];
        snprintf(text, sizeof text, bad[i], key);
        write_file(path, text);
        cap = 7;
        cr_assert_not(capacity_cache_load(path, key, &cap), "case %zu accepted", i);
        cr_assert_float_eq(cap, 7, 0, "case %zu changed the value", i);
    }
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "relative", 1);
    cr_assert_not(capacity_cache_path(key, path, sizeof path), "no absolute cache folder: no cache");
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}
