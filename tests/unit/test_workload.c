/* tests/unit/test_workload.c — core/rng and core/workload: generator
 * statistics, scenario parsing and its one-line errors, and workload generation
 * (determinism, lengths, arrival processes, shared prefixes). */
#include "core/rng.h"
#include "core/workload/workload.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Recorded once from this implementation (gcc and clang, -O0 to -O3,
 * -march=native); see the golden tests below. */
#define GOLDEN_X0 0x15780b2e0c2ec716ull
#define GOLDEN_X1 0x6104d9866d113a7eull
#define GOLDEN_N 0x1.c5e21f7812a4ep-3
#define GOLDEN_G 0x1.62b43afac61e4p-5
#define GOLDEN_L 0x1.96988f1476c19p+8
#define GOLDEN_E 0x1.9d54a0958fc6p+0
#define GOLDEN_CHAT_HASH 0xa2f5dfe0e597a8aull

/* ---- helpers ------------------------------------------------------------ */

static const char *const SHIPPED[] = {
    "scenarios/smoke.ini", "scenarios/chat.ini", "scenarios/long-context.ini",
    "scenarios/bursty.ini", "scenarios/shared-prefix.ini",
};
#define N_SHIPPED (int)(sizeof SHIPPED / sizeof SHIPPED[0])

static struct scenario parse_ok(const char *text)
{
    struct scenario sc;
    char err[512] = "";
    int rc = scenario_parse_buffer("t.ini", text, strlen(text), &sc, err, sizeof err);
    cr_assert_eq(rc, 0, "parse failed: %s", err);
    return sc;
}

static struct scenario load_ok(const char *path)
{
    struct scenario sc;
    char err[512] = "";
    cr_assert_eq(scenario_load(path, &sc, err, sizeof err), 0, "%s", err);
    return sc;
}

static void generate_ok(const struct scenario *sc, int vocab, double cap, struct workload *w)
{
    char err[512] = "";
    cr_assert_eq(workload_generate(sc, vocab, cap, w, err, sizeof err), 0, "%s", err);
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Parse must fail with a message that starts with `prefix`, leave *sc as it
 * was, and be one line. */
static void parse_fails(const char *text, const char *prefix)
{
    struct scenario sc;
    memset(&sc, 0xA5, sizeof sc);
    struct scenario before = sc;
    char err[512] = "";
    int rc = scenario_parse_buffer("t.ini", text, strlen(text), &sc, err, sizeof err);
    cr_assert_eq(rc, -1, "expected failure '%s...' for:\n%s", prefix, text);
    cr_assert_eq(strncmp(err, prefix, strlen(prefix)), 0, "expected '%s...', got '%s'", prefix,
                 err);
    cr_assert_null(strchr(err, '\n'), "message must be one line: %s", err);
    cr_assert(strstr(err, "expected") || strstr(err, "missing") || strstr(err, "not used") ||
                  strstr(err, "given twice"),
              "message says what was expected: %s", err);
    cr_assert_eq(memcmp(&sc, &before, sizeof sc), 0, "scenario changed on error");
}

/* A minimal valid scenario with `extra` spliced in and `arrival` as its
 * [arrival] body. */
static char *scenario_text(const char *scenario_extra, const char *arrival, const char *prompt,
                           const char *output)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "[scenario]\nname = t\nseed = 9\n%s\n[arrival]\n%s\n[prompt]\n%s\n[output]\n%s\n",
             scenario_extra, arrival, prompt, output);
    return buf;
}

static double mean_gap(const struct workload *w)
{
    return (w->reqs[w->n - 1].arrival_s - w->reqs[0].arrival_s) / (w->n - 1);
}

static double gap_cv(const struct workload *w)
{
    double m = mean_gap(w), ss = 0;
    for (int i = 1; i < w->n; i++) {
        double d = w->reqs[i].arrival_s - w->reqs[i - 1].arrival_s - m;
        ss += d * d;
    }
    return sqrt(ss / (w->n - 2)) / m;
}

/* FNV-1a over everything a workload means (not its pointers). */
static uint64_t workload_hash(const struct workload *w)
{
    uint64_t h = 1469598103934665603ull;
#define MIX(p, n)                                                                                \
    for (size_t b_ = 0; b_ < (n); b_++)                                                          \
        h = (h ^ ((const unsigned char *)(p))[b_]) * 1099511628211ull;
    for (int i = 0; i < w->n; i++) {
        const struct request_spec *q = &w->reqs[i];
        MIX(&q->id, sizeof q->id);
        MIX(&q->arrival_s, sizeof q->arrival_s);
        MIX(&q->prompt_len, sizeof q->prompt_len);
        MIX(&q->prefix_len, sizeof q->prefix_len);
        MIX(&q->group, sizeof q->group);
        MIX(&q->max_output, sizeof q->max_output);
        MIX(q->prompt, (size_t)q->prompt_len * sizeof *q->prompt);
    }
#undef MIX
    return h;
}

/* ---- rng ---------------------------------------------------------------- */

Test(rng, splitmix64_matches_reference_vector)
{
    /* Published first outputs of splitmix64 from state 0 (Vigna's splitmix64.c). */
    uint64_t s = 0;
    cr_assert_eq(rng_splitmix64(&s), 0xe220a8397b1dcdafull);
    cr_assert_eq(rng_splitmix64(&s), 0x6e789e6aa1b965f4ull);
    cr_assert_eq(rng_splitmix64(&s), 0x06c45d188009454full);
}

Test(rng, golden_values_are_identical_on_every_machine)
{
    /* Recorded once from this implementation; any machine, compiler or libm
     * must reproduce them bit for bit, or workloads would differ between machines. */
    struct rng r;
    rng_init(&r, 42);
    uint64_t x0 = rng_next(&r), x1 = rng_next(&r);
    double n = rng_normal(&r), g = rng_gamma(&r, 0.25), l = rng_lognormal(&r, 5.0, 1.0);
    double e = rng_exponential(&r);
    printf("golden: %#llx %#llx %a %a %a %a\n", (unsigned long long)x0, (unsigned long long)x1,
           n, g, l, e);
    cr_assert_eq(x0, GOLDEN_X0);
    cr_assert_eq(x1, GOLDEN_X1);
    cr_assert_eq(n, GOLDEN_N);
    cr_assert_eq(g, GOLDEN_G);
    cr_assert_eq(l, GOLDEN_L);
    cr_assert_eq(e, GOLDEN_E);
}

Test(rng, log_and_exp_agree_with_libm)
{
    struct rng r;
    rng_init(&r, 1);
    for (int i = 0; i < 200000; i++) {
        double x = rng_exp(60.0 * rng_uniform(&r) - 30.0) * (1.0 + rng_uniform(&r));
        double got = rng_log(x), want = log(x);
        cr_assert_leq(fabs(got - want), 4e-16 * fmax(1.0, fabs(want)), "log(%a): %a vs %a", x, got,
                      want);
        double y = 1400.0 * rng_uniform(&r) - 700.0;
        double ge = rng_exp(y), we = exp(y);
        cr_assert_leq(fabs(ge - we), 4e-15 * we, "exp(%a): %a vs %a", y, ge, we);
    }
    cr_assert_eq(rng_log(1.0), 0.0);
    cr_assert_eq(rng_exp(0.0), 1.0);
    cr_assert(isinf(rng_log(0.0)) && rng_log(0.0) < 0);
    cr_assert(isnan(rng_log(-1.0)));
    cr_assert(isinf(rng_exp(1000.0)));
    cr_assert_eq(rng_exp(-1000.0), 0.0);
}

Test(rng, streams_differ_and_repeat)
{
    struct rng a, b, c;
    rng_init_stream(&a, 7, 1, 0);
    rng_init_stream(&b, 7, 1, 0);
    rng_init_stream(&c, 7, 1, 1);
    uint64_t xa = rng_next(&a), xb = rng_next(&b), xc = rng_next(&c);
    cr_assert_eq(xa, xb);
    cr_assert_neq(xa, xc);
}

Test(rng, below_is_in_range_and_uniform)
{
    struct rng r;
    rng_init(&r, 3);
    int count[7] = { 0 };
    const int n = 70000;
    for (int i = 0; i < n; i++) {
        uint64_t v = rng_below(&r, 7);
        cr_assert_lt(v, 7u);
        count[v]++;
    }
    for (int k = 0; k < 7; k++)   /* expected 10000, sd ~93 */
        cr_assert(abs(count[k] - 10000) < 500, "bucket %d: %d", k, count[k]);
    cr_assert_eq(rng_below(&r, 1), 0u);
}

/* Sample mean and variance of `n` draws of f. */
static void moments(struct rng *r, double (*f)(struct rng *, double), double arg, int n,
                    double *mean, double *var)
{
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++) {
        double x = f(r, arg);
        s += x;
        ss += x * x;
    }
    *mean = s / n;
    *var = ss / n - *mean * *mean;
}

static double draw_normal(struct rng *r, double unused)
{
    (void)unused;
    return rng_normal(r);
}

static double draw_exponential(struct rng *r, double unused)
{
    (void)unused;
    return rng_exponential(r);
}

static double draw_uniform(struct rng *r, double unused)
{
    (void)unused;
    return rng_uniform(r);
}

Test(rng, distributions_have_their_moments)
{
    struct rng r;
    rng_init(&r, 11);
    const int n = 400000;
    double m, v;
    moments(&r, draw_uniform, 0, n, &m, &v);
    cr_assert(fabs(m - 0.5) < 0.003 && fabs(v - 1.0 / 12) < 0.002, "uniform %g %g", m, v);
    moments(&r, draw_normal, 0, n, &m, &v);
    cr_assert(fabs(m) < 0.008 && fabs(v - 1.0) < 0.01, "normal %g %g", m, v);
    moments(&r, draw_exponential, 0, n, &m, &v);
    cr_assert(fabs(m - 1.0) < 0.008 && fabs(v - 1.0) < 0.03, "exponential %g %g", m, v);
    const double shapes[] = { 0.25, 1.0, 3.5 };
    for (int i = 0; i < 3; i++) {
        double k = shapes[i];
        moments(&r, rng_gamma, k, n, &m, &v);
        /* gamma(k, 1): mean k, variance k */
        cr_assert(fabs(m - k) < 0.01 * k + 0.005, "gamma(%g) mean %g", k, m);
        cr_assert(fabs(v - k) < 0.04 * k, "gamma(%g) var %g", k, v);
    }
}

Test(rng, lognormal_median)
{
    struct rng r;
    rng_init(&r, 5);
    int below = 0;
    const int n = 100000;
    for (int i = 0; i < n; i++)
        below += rng_lognormal(&r, log(200.0), 1.0) < 200.0;
    cr_assert(abs(below - n / 2) < 800, "%d of %d below the median", below, n);
}

/* ---- shipped scenarios -------------------------------------------------- */

Test(scenario, every_shipped_scenario_parses_and_generates)
{
    for (int i = 0; i < N_SHIPPED; i++) {
        struct scenario sc = load_ok(SHIPPED[i]);
        cr_assert_neq(sc.name[0], '\0', "%s", SHIPPED[i]);
        cr_assert_neq(sc.model[0], '\0', "%s names its model", SHIPPED[i]);
        cr_assert_gt(sc.n_options, 0, "%s sets options", SHIPPED[i]);
        struct workload w;
        generate_ok(&sc, 49152, 2.0, &w);
        cr_assert_gt(w.n, 0);
        for (int j = 0; j < w.n; j++) {
            const struct request_spec *q = &w.reqs[j];
            cr_assert_eq(q->id, j);
            cr_assert(j == 0 || q->arrival_s >= w.reqs[j - 1].arrival_s);
            cr_assert_geq(q->max_output, 1);
            cr_assert_gt(q->prompt_len, q->prefix_len);
            for (int t = 0; t < q->prompt_len; t++)
                cr_assert(q->prompt[t] >= w.token_lo && q->prompt[t] < w.token_hi);
        }
        workload_free(&w);
    }
}

Test(scenario, smoke_is_small)
{
    struct scenario sc = load_ok("scenarios/smoke.ini");
    struct workload w;
    generate_ok(&sc, 512, 0, &w);
    cr_assert_eq(w.n, 8);
    cr_assert_leq(w.n_tokens, 8 * 64);
    cr_assert_leq(w.n_output, 8 * 32);
    cr_assert_eq(w.reqs[7].arrival_s, 0.0);
    workload_free(&w);
}

Test(scenario, options_are_kept_in_order)
{
    struct scenario sc = parse_ok(
        "[scenario]\nname = o\nrequests = 1\n[prompt]\ndist = fixed\nvalue = 4\n"
        "[output]\ndist = fixed\nvalue = 2\n[options]\nzeta = 1\nalpha = two words\nkv.x = y\n");
    cr_assert_eq(sc.n_options, 3);
    cr_assert_str_eq(sc.options[0].key, "zeta");
    cr_assert_str_eq(sc.options[1].key, "alpha");
    cr_assert_str_eq(sc.options[1].value, "two words");
    cr_assert_str_eq(sc.options[2].key, "kv.x");
    cr_assert_eq(sc.options[2].line, 13);
}

Test(scenario, relative_rate_is_a_flag_and_factor)
{
    struct scenario sc = parse_ok(scenario_text("requests = 4", "process = poisson\nrate = 0.8x",
                                                "dist = fixed\nvalue = 4",
                                                "dist = fixed\nvalue = 4"));
    cr_assert(sc.arrival.relative);
    cr_assert_float_eq(sc.arrival.rate, 0.8, 1e-15);
    cr_assert(scenario_needs_capacity(&sc));
    struct workload w;
    char err[256];
    cr_assert_eq(workload_generate(&sc, 1000, 0, &w, err, sizeof err), -1);
    cr_assert(starts_with(err, "t.ini:7: rate: "), "%s", err);
    cr_assert_eq(w.n, 0);
    cr_assert_null(w.reqs);
    generate_ok(&sc, 1000, 5.0, &w);
    cr_assert_float_eq(w.rate_req_s, 4.0, 1e-12);
    workload_free(&w);
}

/* ---- parse errors: exactly "file:line: key: ..." -------------------------- */

Test(scenario, error_unknown_key)
{
    parse_fails("[scenario]\nname = t\nrequests = 2\nburst = 3\n", "t.ini:4: burst: unknown key");
}

Test(scenario, error_unknown_section)
{
    parse_fails("[scenario]\nname = t\n\n[sched]\n", "t.ini:4: section: expected one of");
}

Test(scenario, error_repeated_section)
{
    parse_fails("[scenario]\nname = t\n[scenario]\n", "t.ini:3: section: [scenario] given twice");
}

Test(scenario, error_bad_number)
{
    parse_fails(scenario_text("requests = many", "", "", ""), "t.ini:4: requests: expected");
    parse_fails(scenario_text("requests = 2", "process = poisson\nrate = fast", "", ""),
                "t.ini:7: rate: expected a positive number");
    parse_fails(scenario_text("requests = 2", "", "dist = uniform\nmin = 1.5\nmax = 9", ""),
                "t.ini:9: min: expected an integer");
    parse_fails(scenario_text("requests = 2.5", "", "", ""), "t.ini:4: requests: expected");
    parse_fails("[scenario]\nname = t\nseed = -1\n", "t.ini:3: seed: expected");
    parse_fails("[scenario]\nname = t\nseed = 18446744073709551616\n", "t.ini:3: seed: expected");
    parse_fails(scenario_text("requests = 2", "process = poisson\nrate = 1e999", "", ""),
                "t.ini:7: rate: expected a positive number or Nx");
    parse_fails(scenario_text("requests = 2", "", "dist = lognormal\nmedian = nan", ""),
                "t.ini:9: median: expected a number > 0");
}

Test(scenario, error_negative_or_zero_rate)
{
    parse_fails(scenario_text("requests = 2", "process = poisson\nrate = -2", "", ""),
                "t.ini:7: rate: expected a positive number");
    parse_fails(scenario_text("requests = 2", "process = poisson\nrate = 0", "", ""),
                "t.ini:7: rate: expected a positive number");
    parse_fails(scenario_text("requests = 2", "process = poisson\nrate = -0.5x", "", ""),
                "t.ini:7: rate: expected a positive number");
}

Test(scenario, error_min_greater_than_max)
{
    parse_fails(scenario_text("requests = 2", "", "dist = uniform\nmin = 64\nmax = 16",
                              "dist = fixed\nvalue = 1"),
                "t.ini:10: max: expected max >= min = 64, got 16");
}

Test(scenario, error_empty_list)
{
    parse_fails(scenario_text("requests = 2", "", "dist = list\nvalues =", ""),
                "t.ini:9: values: expected a comma-separated list");
    parse_fails(scenario_text("requests = 2", "", "dist = list\nvalues = 12,,300", ""),
                "t.ini:9: values: expected a comma-separated list");
}

Test(scenario, error_missing_requests_or_duration)
{
    parse_fails("[scenario]\nname = t\n[prompt]\ndist = fixed\nvalue = 1\n"
                "[output]\ndist = fixed\nvalue = 1\n",
                "t.ini:1: requests: missing");
    parse_fails("\n[scenario]\nname = t\nrequests = 3\nduration_s = 4\n",
                "t.ini:5: duration_s: expected requests or duration_s, not both");
}

Test(scenario, error_missing_name_section_and_keys)
{
    parse_fails("[scenario]\nrequests = 2\n", "t.ini:1: name: missing");
    parse_fails("", "t.ini:1: [scenario]: missing section");
    parse_fails("[scenario]\nname = t\nrequests = 2\n[output]\ndist = fixed\nvalue = 1\n",
                "t.ini:1: [prompt]: missing section");
    parse_fails(scenario_text("requests = 2", "process = gamma\nrate = 1", "dist = fixed\nvalue = 1",
                              "dist = fixed\nvalue = 1"),
                "t.ini:5: cv: missing");
    parse_fails(scenario_text("requests = 2", "process = poisson", "dist = fixed\nvalue = 1",
                              "dist = fixed\nvalue = 1"),
                "t.ini:5: rate: missing");
    parse_fails(scenario_text("requests = 2", "", "dist = lognormal\nmedian = 5\nsigma = 1",
                              "dist = fixed\nvalue = 1"),
                "t.ini:7: max: missing");
    parse_fails(scenario_text("requests = 2", "", "value = 5", "dist = fixed\nvalue = 1"),
                "t.ini:7: dist: missing");
}

Test(scenario, error_keys_that_do_not_apply)
{
    parse_fails(scenario_text("requests = 2", "process = all\nrate = 3", "", ""),
                "t.ini:7: rate: not used by process = all");
    parse_fails(scenario_text("duration_s = 2", "process = all", "dist = fixed\nvalue = 1",
                              "dist = fixed\nvalue = 1"),
                "t.ini:4: duration_s: not used by process = all");
    parse_fails(scenario_text("requests = 2", "", "dist = fixed\nvalue = 3\nmin = 1",
                              "dist = fixed\nvalue = 1"),
                "t.ini:10: min: not used by dist = fixed");
    parse_fails(scenario_text("requests = 5", "", "dist = fixed\nvalue = 3",
                              "dist = fixed\nvalue = 1\n[prefix]\ngroups = 2\nper_group = 2\n"
                              "length = 8"),
                "t.ini:4: requests: expected groups × per_group = 4");
}

Test(scenario, error_syntax_duplicates_and_limits)
{
    parse_fails("[scenario]\nname = t\nthis line has no equals sign\n", "t.ini:3: syntax: ");
    parse_fails("[scenario]\nname = t\nname = u\n", "t.ini:3: name: given twice");
    parse_fails("name = t\n", "t.ini:1: name: key outside any section");
    parse_fails("[scenario]\nname = t\n[options]\nx = 1\nx = 2\n", "t.ini:5: x: given twice");
    parse_fails("[scenario]\nname = t\n[prompt\n", "t.ini:3: syntax: ");
    parse_fails(scenario_text("requests = 2", "process = poisson\nrate = 1\ncv = 1", "", ""),
                "t.ini:8: cv: not used by process = poisson");
    parse_fails(scenario_text("requests = 2", "process = bursty", "", ""),
                "t.ini:6: process: expected all, fixed, poisson or gamma");
    char long_line[400];
    snprintf(long_line, sizeof long_line, "[scenario]\nname = t\ndescription = %0300d\n", 7);
    parse_fails(long_line, "t.ini:3: line: expected at most");
    static const char with_nul[] = "[scenario]\nname = t\0\n";
    struct scenario sc;
    char err[256];
    cr_assert_eq(scenario_parse_buffer("t.ini", with_nul, sizeof with_nul - 1, &sc, err,
                                       sizeof err), -1);
    cr_assert(starts_with(err, "t.ini:2: file: expected text"), "%s", err);
}

Test(scenario, load_reports_the_path)
{
    char path[] = "/tmp/infertop-scenario-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs("[scenario]\nname = t\nrequests = 2\n[arrival]\nprocess = poisson\nrate = fast\n", f);
    fclose(f);
    struct scenario sc;
    char err[512], want[600];
    cr_assert_eq(scenario_load(path, &sc, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:6: rate: expected a positive number or", path);
    cr_assert(starts_with(err, want), "%s", err);
    remove(path);
    cr_assert_eq(scenario_load("/nonexistent/x.ini", &sc, err, sizeof err), -1);
    cr_assert(starts_with(err, "/nonexistent/x.ini: file: cannot open"), "%s", err);
}

/* ---- overrides ---------------------------------------------------------- */

Test(scenario, override_requests_and_atomic_failure)
{
    struct scenario sc = load_ok("scenarios/chat.ini");
    char err[256];
    cr_assert_eq(scenario_set(&sc, "requests", "16", err, sizeof err), 0, "%s", err);
    cr_assert_eq(sc.requests, 16);
    struct scenario before = sc;
    cr_assert_eq(scenario_set(&sc, "prompt.min", "1000", err, sizeof err), -1);
    cr_assert(starts_with(err, "override: scenarios/chat.ini:"), "%s", err);
    cr_assert_not_null(strstr(err, ": max: expected max >= min = 1000, got 512"), "%s", err);
    cr_assert_eq(memcmp(&sc, &before, sizeof sc), 0);
    cr_assert_eq(scenario_set(&sc, "arrival.rate", "soon", err, sizeof err), -1);
    cr_assert(starts_with(err, "override: rate: expected"), "%s", err);
    cr_assert_eq(scenario_set(&sc, "nosuch.key", "1", err, sizeof err), -1);
    cr_assert(starts_with(err, "override: nosuch.key: unknown"), "%s", err);
    const char *keys[] = { "prompt.value", "prompt.dist", "options.kv", "arrival.process" };
    const char *vals[] = { "32", "fixed", "contiguous", "all" };
    cr_assert_eq(scenario_set_many(&sc, 4, keys, vals, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sc.prompt.dist, LENGTH_FIXED);
    cr_assert_eq(sc.arrival.process, ARRIVAL_ALL);
    cr_assert_str_eq(sc.options[0].value, "contiguous");
    struct workload w;
    generate_ok(&sc, 1000, 0, &w);
    cr_assert_eq(w.n, 16);
    for (int i = 0; i < w.n; i++)
        cr_assert(w.reqs[i].prompt_len == 32 && w.reqs[i].arrival_s == 0.0);
    workload_free(&w);
}

/* ---- generation --------------------------------------------------------- */

Test(workload, same_seed_gives_byte_identical_workloads)
{
    for (int i = 0; i < N_SHIPPED; i++) {
        struct scenario sc = load_ok(SHIPPED[i]);
        struct workload a, b;
        generate_ok(&sc, 49152, 3.0, &a);
        generate_ok(&sc, 49152, 3.0, &b);
        cr_assert_eq(a.n, b.n);
        cr_assert_eq(a.n_tokens, b.n_tokens);
        cr_assert_eq(memcmp(a.tokens, b.tokens, (size_t)a.n_tokens * sizeof *a.tokens), 0);
        for (int j = 0; j < a.n; j++) {
            cr_assert_eq(memcmp(&a.reqs[j].arrival_s, &b.reqs[j].arrival_s, sizeof(double)), 0);
            cr_assert_eq(a.reqs[j].prompt_len, b.reqs[j].prompt_len);
            cr_assert_eq(a.reqs[j].max_output, b.reqs[j].max_output);
            cr_assert_eq(a.reqs[j].group, b.reqs[j].group);
            cr_assert_eq(a.reqs[j].prompt - a.tokens, b.reqs[j].prompt - b.tokens);
        }
        cr_assert_eq(workload_hash(&a), workload_hash(&b));
        workload_free(&a);
        workload_free(&b);
    }
}

Test(workload, golden_hash_of_chat_is_machine_independent)
{
    struct scenario sc = load_ok("scenarios/chat.ini");
    struct workload w;
    generate_ok(&sc, 49152, 3.0, &w);
    uint64_t h = workload_hash(&w);
    printf("chat golden hash %#llx\n", (unsigned long long)h);
    cr_assert_eq(h, GOLDEN_CHAT_HASH);
    workload_free(&w);
}

Test(workload, other_seed_differs_and_longer_runs_extend_shorter_ones)
{
    struct scenario sc = load_ok("scenarios/chat.ini");
    struct workload a, b, c;
    generate_ok(&sc, 49152, 3.0, &a);
    sc.seed += 1;
    generate_ok(&sc, 49152, 3.0, &b);
    cr_assert_neq(workload_hash(&a), workload_hash(&b));
    sc.seed -= 1;
    char err[256];
    cr_assert_eq(scenario_set(&sc, "requests", "128", err, sizeof err), 0, "%s", err);
    generate_ok(&sc, 49152, 3.0, &c);
    for (int i = 0; i < a.n; i++) {       /* request i does not depend on n */
        cr_assert_eq(a.reqs[i].arrival_s, c.reqs[i].arrival_s);
        cr_assert_eq(a.reqs[i].prompt_len, c.reqs[i].prompt_len);
        cr_assert_eq(memcmp(a.reqs[i].prompt, c.reqs[i].prompt,
                            (size_t)a.reqs[i].prompt_len * sizeof(int32_t)), 0);
    }
    workload_free(&a);
    workload_free(&b);
    workload_free(&c);
}

Test(workload, lognormal_lengths_respect_clipping_and_median)
{
    struct scenario sc = load_ok("scenarios/chat.ini");
    char err[256];
    cr_assert_eq(scenario_set(&sc, "requests", "20000", err, sizeof err), 0, "%s", err);
    struct workload w;
    generate_ok(&sc, 49152, 100.0, &w);
    int at_min = 0, at_max = 0, below_median = 0;
    for (int i = 0; i < w.n; i++) {
        int p = w.reqs[i].prompt_len, o = w.reqs[i].max_output;
        cr_assert(p >= 16 && p <= 512, "prompt %d", p);
        cr_assert(o >= 4 && o <= 256, "output %d", o);
        at_min += p == 16;
        at_max += p == 512;
        below_median += p < 200;
    }
    /* P(X < 16) = Φ(ln(16/200)) ≈ 0.6%, P(X > 512) = 1-Φ(ln 2.56) ≈ 17%. */
    cr_assert(at_min > 40 && at_min < 250, "%d clamped to min", at_min);
    cr_assert(at_max > 3000 && at_max < 3800, "%d clamped to max", at_max);
    cr_assert(abs(below_median - w.n / 2) < 400, "%d below the median", below_median);
    workload_free(&w);
}

Test(workload, uniform_and_list_lengths)
{
    struct scenario sc = parse_ok(scenario_text("requests = 5000", "",
                                                "dist = uniform\nmin = 7\nmax = 13",
                                                "dist = list\nvalues = 12, 50,300"));
    struct workload w;
    generate_ok(&sc, 100, 0, &w);
    int seen_p[14] = { 0 }, n12 = 0, n50 = 0, n300 = 0;
    for (int i = 0; i < w.n; i++) {
        int p = w.reqs[i].prompt_len, o = w.reqs[i].max_output;
        cr_assert(p >= 7 && p <= 13);
        seen_p[p]++;
        cr_assert(o == 12 || o == 50 || o == 300, "output %d", o);
        n12 += o == 12;
        n50 += o == 50;
        n300 += o == 300;
    }
    for (int v = 7; v <= 13; v++)        /* each of 7 values ~714 times */
        cr_assert(seen_p[v] > 550 && seen_p[v] < 880, "length %d seen %d times", v, seen_p[v]);
    cr_assert(n12 > 1500 && n50 > 1500 && n300 > 1500);
    cr_assert_eq(w.token_lo, 25);
    for (long t = 0; t < w.n_tokens; t++)
        cr_assert(w.tokens[t] >= 25 && w.tokens[t] < 100);
    workload_free(&w);
}

Test(workload, poisson_gaps_have_mean_one_over_rate)
{
    struct scenario sc = parse_ok(scenario_text("requests = 100000", "process = poisson\nrate = 4",
                                                "dist = fixed\nvalue = 1",
                                                "dist = fixed\nvalue = 1"));
    struct workload w;
    generate_ok(&sc, 1000, 0, &w);
    cr_assert_eq(w.reqs[0].arrival_s, 0.0);
    cr_assert_float_eq(mean_gap(&w), 0.25, 0.25 * 0.02, "mean gap %g", mean_gap(&w));
    cr_assert_float_eq(gap_cv(&w), 1.0, 0.03, "cv %g", gap_cv(&w));
    workload_free(&w);
}

Test(workload, gamma_gaps_have_the_requested_cv)
{
    const double cvs[] = { 0.5, 2.0 };
    for (int i = 0; i < 2; i++) {
        char arrival[128];
        snprintf(arrival, sizeof arrival, "process = gamma\nrate = 2\ncv = %g", cvs[i]);
        struct scenario sc = parse_ok(scenario_text("requests = 200000", arrival,
                                                    "dist = fixed\nvalue = 1",
                                                    "dist = fixed\nvalue = 1"));
        struct workload w;
        generate_ok(&sc, 1000, 0, &w);
        cr_assert_float_eq(mean_gap(&w), 0.5, 0.5 * 0.03, "cv %g: mean gap %g", cvs[i],
                           mean_gap(&w));
        cr_assert_float_eq(gap_cv(&w), cvs[i], cvs[i] * 0.05, "cv %g: got %g", cvs[i], gap_cv(&w));
        workload_free(&w);
    }
}

Test(workload, fixed_all_and_duration_arrivals)
{
    struct scenario sc = parse_ok(scenario_text("requests = 10", "process = fixed\nrate = 4",
                                                "dist = fixed\nvalue = 1",
                                                "dist = fixed\nvalue = 1"));
    struct workload w;
    generate_ok(&sc, 1000, 0, &w);
    for (int i = 0; i < w.n; i++)
        cr_assert_float_eq(w.reqs[i].arrival_s, 0.25 * i, 1e-12);
    workload_free(&w);

    sc = parse_ok(scenario_text("duration_s = 100", "process = poisson\nrate = 10",
                                "dist = fixed\nvalue = 1", "dist = fixed\nvalue = 1"));
    generate_ok(&sc, 1000, 0, &w);
    cr_assert(w.n > 1000 - 160 && w.n < 1000 + 160, "%d requests in 100 s at 10/s", w.n);
    cr_assert_lt(w.reqs[w.n - 1].arrival_s, 100.0);
    workload_free(&w);
}

Test(workload, shared_prefix_groups_share_exactly_length_tokens)
{
    struct scenario sc = load_ok("scenarios/shared-prefix.ini");
    struct workload w;
    generate_ok(&sc, 49152, 2.0, &w);
    const int L = sc.prefix.length, G = sc.prefix.groups;
    cr_assert_eq(w.n, G * sc.prefix.per_group);
    int size[64] = { 0 }, contiguous_runs = 0;
    for (int i = 0; i < w.n; i++) {
        const struct request_spec *a = &w.reqs[i];
        cr_assert(a->group >= 0 && a->group < G);
        cr_assert_eq(a->prefix_len, L);
        size[a->group]++;
        contiguous_runs += i > 0 && w.reqs[i - 1].group != a->group;
        for (int j = i + 1; j < w.n; j++) {
            const struct request_spec *b = &w.reqs[j];
            if (a->group == b->group) {
                cr_assert_eq(memcmp(a->prompt, b->prompt, (size_t)L * sizeof(int32_t)), 0);
                cr_assert_neq(a->prompt[L], b->prompt[L], "requests %d and %d share more", i, j);
            } else {
                cr_assert_neq(a->prompt[0], b->prompt[0], "groups %d, %d", a->group, b->group);
            }
        }
    }
    for (int g = 0; g < G; g++)
        cr_assert_eq(size[g], sc.prefix.per_group);
    cr_assert_gt(contiguous_runs, G, "arrival order is shuffled across groups");
    workload_free(&w);
}

Test(workload, prefix_without_per_group_spreads_requests)
{
    struct scenario sc = parse_ok(scenario_text("requests = 10", "", "dist = fixed\nvalue = 3",
                                                "dist = fixed\nvalue = 1\n[prefix]\ngroups = 3\n"
                                                "length = 5"));
    struct workload w;
    generate_ok(&sc, 1000, 0, &w);
    int size[3] = { 0 };
    for (int i = 0; i < w.n; i++) {
        size[w.reqs[i].group]++;
        cr_assert_eq(w.reqs[i].prompt_len, 8);
    }
    cr_assert(size[0] == 4 && size[1] == 3 && size[2] == 3);
    workload_free(&w);
}

Test(workload, generate_errors_leave_nothing_allocated)
{
    struct scenario sc = load_ok("scenarios/smoke.ini");
    struct workload w;
    char err[256];
    cr_assert_eq(workload_generate(&sc, 8, 0, &w, err, sizeof err), -1);
    cr_assert(starts_with(err, "scenarios/smoke.ini: vocab: expected at least 16"), "%s",
                 err);
    cr_assert(w.n == 0 && w.reqs == NULL && w.tokens == NULL);
    sc = parse_ok(scenario_text("requests = 40", "", "dist = fixed\nvalue = 3",
                                "dist = fixed\nvalue = 1\n[prefix]\ngroups = 20\nlength = 5"));
    cr_assert_eq(workload_generate(&sc, 16, 0, &w, err, sizeof err), -1);
    cr_assert(starts_with(err, "t.ini:14: groups: 20 groups need"), "%s", err);
    cr_assert(w.n == 0 && w.reqs == NULL && w.tokens == NULL);
    workload_free(&w);
}

/* ---- ranges where the arithmetic breaks (issue 11: these waited forever) -- */

Test(scenario, arrival_ranges_where_arithmetic_breaks_are_errors)
{
    const char *fixed = "dist = fixed\nvalue = 1";
    /* 1/cv² overflows: the gamma shape became inf and the gaps NaN */
    parse_fails(scenario_text("requests = 2", "process = gamma\nrate = 1\ncv = 1e-300", fixed, fixed),
                "t.ini:8: cv: expected a number >= 0.001");
    parse_fails(scenario_text("requests = 2", "process = gamma\nrate = 1\ncv = 0.0009", fixed, fixed),
                "t.ini:8: cv: expected a number >= 0.001");
    parse_ok(scenario_text("requests = 2", "process = gamma\nrate = 1\ncv = 0.001", fixed, fixed));
    /* a second request 31 years away */
    parse_fails(scenario_text("requests = 2", "process = fixed\nrate = 1e-9", fixed, fixed),
                "t.ini:7: rate: expected a positive number or Nx (req/s in [1e-06, 1e+06]");
    parse_fails(scenario_text("requests = 2", "process = poisson\nrate = 1e-300x", fixed, fixed),
                "t.ini:7: rate: expected");
    parse_fails(scenario_text("requests = 2", "process = poisson\nrate = 0.0009x", fixed, fixed),
                "t.ini:7: rate: expected");
    parse_ok(scenario_text("requests = 2", "process = fixed\nrate = 1e-6", fixed, fixed));
    parse_ok(scenario_text("requests = 2", "process = poisson\nrate = 0.001x", fixed, fixed));
}

/* The documented list limit is what one line can hold: a file line of 199
 * characters holds 96 one-digit values; an override cannot pass more. */
Test(scenario, list_limit_is_what_a_line_holds)
{
    char line[400] = "dist = list\nvalues=";
    for (int i = 0; i < SCENARIO_LIST_MAX; i++) strcat(line, i ? ",1" : "1");
    cr_assert_leq(strlen(strchr(line, '\n') + 1), 199u, "96 values fit on one line");
    struct scenario sc = parse_ok(scenario_text("requests = 2", "", line, "dist = fixed\nvalue = 1"));
    cr_assert_eq(sc.prompt.n_values, SCENARIO_LIST_MAX);
    char more[400] = "";
    for (int i = 0; i <= SCENARIO_LIST_MAX; i++) strcat(more, i ? ",1" : "1");
    char err[512] = "";
    cr_assert_eq(scenario_set(&sc, "prompt.values", more, err, sizeof err), -1);
    cr_assert(strstr(err, "1 to 96 integers"), "%s", err);
}

Test(scenario, key_line_says_where_a_key_was_set)
{
    struct scenario sc = parse_ok(scenario_text("requests = 2\nmodel = synth:tiny", "", "dist = fixed\nvalue = 1",
                                                "dist = fixed\nvalue = 1"));
    cr_assert_eq(scenario_key_line(&sc, "model"), 5);
    cr_assert_eq(scenario_key_line(&sc, "output.dist"), 12);
    cr_assert_eq(scenario_key_line(&sc, "prefix.groups"), 0);
    cr_assert_eq(scenario_key_line(&sc, "nosuch.key"), 0);
    char err[256];
    cr_assert_eq(scenario_set(&sc, "model", "synth:small", err, sizeof err), 0, "%s", err);
    cr_assert_eq(scenario_key_line(&sc, "model"), -1);
}
