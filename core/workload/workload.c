/* core/workload/workload.c — scenario → timed requests with deterministic
 * prompts (scenario.c parses the file). */
#include "core/workload/workload.h"
#include "core/workload/scenario_msg.h"

#include "core/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- generation --------------------------------------------------------- */

/* Independent random streams: changing one distribution leaves the others'
 * draws unchanged, and request i's tokens do not depend on n. */
enum stream {
    STREAM_ARRIVAL = 1, STREAM_PROMPT_LEN, STREAM_OUTPUT_LEN, STREAM_GROUPS, STREAM_PREFIX,
    STREAM_TOKENS,
};

void workload_token_range(int vocab, int *lo, int *hi)
{
    /* 512 clears the control tokens and the 256 byte tokens of Llama/SmolLM-style
     * vocabularies; tiny synthetic vocabularies keep their top three quarters. */
    *lo = vocab >= 2048 ? 512 : vocab / 4;
    *hi = vocab;
}

static int sample_length(const struct length_spec *L, struct rng *r)
{
    switch (L->dist) {
    case LENGTH_FIXED:
        return L->value;
    case LENGTH_UNIFORM:
        return L->min + (int)rng_below(r, (uint64_t)(L->max - L->min) + 1);
    case LENGTH_LOGNORMAL: {
        double x = floor(rng_lognormal(r, rng_log(L->median), L->sigma) + 0.5);
        return x < L->min ? L->min : x > L->max ? L->max : (int)x;
    }
    case LENGTH_LIST:
        return L->values[rng_below(r, (uint64_t)L->n_values)];
    }
    return 1;
}

static double sample_gap(const struct arrival_spec *a, double rate, struct rng *r)
{
    switch (a->process) {
    case ARRIVAL_ALL:
        return 0.0;
    case ARRIVAL_FIXED:
        return 1.0 / rate;
    case ARRIVAL_POISSON:
        return rng_exponential(r) / rate;
    case ARRIVAL_GAMMA: {
        double shape = 1.0 / (a->cv * a->cv);
        return rng_gamma(r, shape) / (shape * rate);   /* scale 1/(shape·rate): mean 1/rate */
    }
    }
    return 0.0;
}

/* Arrival times: the first at 0, then cumulative gaps; n fixed by requests or
 * by the first arrival at or after duration_s. */
static int make_arrivals(const struct msg *m, const struct scenario *sc, double rate,
                         double **out, int *n_out)
{
    struct rng r;
    rng_init_stream(&r, sc->seed, STREAM_ARRIVAL, 0);
    int cap = sc->requests > 0 ? sc->requests : 1024;
    double *t = malloc((size_t)cap * sizeof *t);
    if (!t)
        return msg_fail(m, 0, "workload", "out of memory for %d arrivals", cap);
    int n = 0;
    double now = 0.0;
    for (;;) {
        if (sc->requests > 0 ? n == sc->requests : now >= sc->duration_s)
            break;
        if (n == WORKLOAD_MAX_REQUESTS) {
            free(t);
            return msg_fail(m, scenario_key_line(sc, "duration_s"), "duration_s",
                        "%g s at %g req/s gives more than %d requests", sc->duration_s, rate,
                        WORKLOAD_MAX_REQUESTS);
        }
        if (n == cap) {
            int ncap = cap * 2 > WORKLOAD_MAX_REQUESTS ? WORKLOAD_MAX_REQUESTS : cap * 2;
            double *nt = realloc(t, (size_t)ncap * sizeof *nt);
            if (!nt) {
                free(t);
                return msg_fail(m, 0, "workload", "out of memory for %d arrivals", ncap);
            }
            t = nt;
            cap = ncap;
        }
        t[n++] = now;
        now += sample_gap(&sc->arrival, rate, &r);
    }
    *out = t;
    *n_out = n;
    return 0;
}

/* group[i] for each request in arrival order: slot j gets group j mod G (even
 * sizes; exactly per_group each when given), then the slots are shuffled. */
static void assign_groups(const struct scenario *sc, int n, int *group)
{
    struct rng r;
    rng_init_stream(&r, sc->seed, STREAM_GROUPS, 0);
    for (int i = 0; i < n; i++)
        group[i] = i % sc->prefix.groups;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(&r, (uint64_t)i + 1);
        int g = group[i];
        group[i] = group[j];
        group[j] = g;
    }
}

/* Resolve the absolute rate (req/s); 0 for process = all. */
static int resolve_rate(const struct msg *m, const struct scenario *sc, double capacity,
                        double *rate)
{
    const struct arrival_spec *a = &sc->arrival;
    *rate = 0.0;
    if (a->process == ARRIVAL_ALL)
        return 0;
    if (!a->relative) {
        *rate = a->rate;
        return 0;
    }
    if (!(capacity > 0) || !isfinite(capacity))
        return msg_fail(m, scenario_key_line(sc, "arrival.rate"), "rate",
                    "%gx is relative to measured capacity; expected a capacity > 0 req/s, got %g",
                    a->rate, capacity);
    *rate = a->rate * capacity;
    return 0;
}

/* Distinct first tokens (of each group's prefix, and of each member's own
 * part) need that many distinct ids. */
static int check_prefix_fits(const struct msg *m, const struct scenario *sc, int n,
                             const int *group, int range, int *members)
{
    int G = sc->prefix.groups;
    memset(members, 0, (size_t)G * sizeof *members);
    int most = 0;
    for (int i = 0; i < n; i++)
        if (++members[group[i]] > most)
            most = members[group[i]];
    if (G > range)
        return msg_fail(m, scenario_key_line(sc, "prefix.groups"), "groups",
                    "%d groups need as many distinct token ids; the vocabulary gives %d", G,
                    range);
    if (most > range)
        return msg_fail(m, scenario_key_line(sc, "prefix.groups"), "groups",
                    "%d requests in one group need as many distinct token ids; the vocabulary "
                    "gives %d", most, range);
    return 0;
}

/* Write request i's prompt: its group's prefix (shared exactly), then its own
 * tokens. The first own token differs between members of a group, so two
 * prompts of a group share exactly prefix.length tokens. */
static void fill_prompt(const struct scenario *sc, struct request_spec *q, int member,
                        int lo, int range)
{
    struct rng r;
    int own_start = 0;
    if (q->group >= 0) {
        rng_init_stream(&r, sc->seed, STREAM_PREFIX, (uint64_t)q->group);
        uint64_t member_off = rng_below(&r, (uint64_t)range);
        struct rng top;
        rng_init_stream(&top, sc->seed, STREAM_PREFIX, UINT64_MAX);
        uint64_t group_off = rng_below(&top, (uint64_t)range);
        q->prompt[0] = lo + (int32_t)((group_off + (uint64_t)q->group) % (uint64_t)range);
        for (int t = 1; t < q->prefix_len; t++)
            q->prompt[t] = lo + (int32_t)rng_below(&r, (uint64_t)range);
        q->prompt[q->prefix_len] =
            lo + (int32_t)((member_off + (uint64_t)member) % (uint64_t)range);
        own_start = q->prefix_len + 1;
    }
    rng_init_stream(&r, sc->seed, STREAM_TOKENS, (uint64_t)q->id);
    for (int t = own_start; t < q->prompt_len; t++)
        q->prompt[t] = lo + (int32_t)rng_below(&r, (uint64_t)range);
}

/* Lengths (own part and output) for every request; returns Σ prompt_len or -1. */
static long sample_lengths(const struct scenario *sc, struct request_spec *reqs, int n)
{
    struct rng rp, ro;
    rng_init_stream(&rp, sc->seed, STREAM_PROMPT_LEN, 0);
    rng_init_stream(&ro, sc->seed, STREAM_OUTPUT_LEN, 0);
    long total = 0;
    for (int i = 0; i < n; i++) {
        reqs[i].prefix_len = reqs[i].group >= 0 ? sc->prefix.length : 0;
        reqs[i].prompt_len = reqs[i].prefix_len + sample_length(&sc->prompt, &rp);
        reqs[i].max_output = sample_length(&sc->output, &ro);
        total += reqs[i].prompt_len;
        if (total > WORKLOAD_MAX_TOKENS)
            return -1;
    }
    return total;
}

struct gen_tmp {
    double *t;
    int *group;
    int *members;
    int *seen;
};

static void gen_tmp_free(struct gen_tmp *g)
{
    free(g->t);
    free(g->group);
    free(g->members);
    free(g->seen);
}

static int build_requests(const struct msg *m, const struct scenario *sc, struct gen_tmp *g,
                          int n, struct workload *w)
{
    w->reqs = calloc((size_t)n, sizeof *w->reqs);
    if (!w->reqs)
        return msg_fail(m, 0, "workload", "out of memory for %d requests", n);
    for (int i = 0; i < n; i++) {
        w->reqs[i].id = i;
        w->reqs[i].arrival_s = g->t[i];
        w->reqs[i].group = g->group ? g->group[i] : -1;
    }
    long total = sample_lengths(sc, w->reqs, n);
    if (total < 0)
        return msg_fail(m, scenario_key_line(sc, "requests"), "requests",
                    "the prompts would hold more than %ld tokens in all", WORKLOAD_MAX_TOKENS);
    w->tokens = malloc((size_t)total * sizeof *w->tokens);
    if (!w->tokens)
        return msg_fail(m, 0, "workload", "out of memory for %ld prompt tokens", total);
    w->n_tokens = total;
    int range = w->token_hi - w->token_lo;
    long off = 0;
    for (int i = 0; i < n; i++) {
        struct request_spec *q = &w->reqs[i];
        q->prompt = w->tokens + off;
        off += q->prompt_len;
        w->n_output += q->max_output;
        int member = q->group >= 0 ? g->seen[q->group]++ : 0;
        fill_prompt(sc, q, member, w->token_lo, range);
    }
    w->n = n;
    return 0;
}

int workload_generate(const struct scenario *sc, int vocab, double capacity_req_s,
                      struct workload *w, char *err, size_t errlen)
{
    struct msg m = { sc->path, err, errlen, NULL };
    struct gen_tmp g = { 0 };
    memset(w, 0, sizeof *w);
    if (vocab < 16)
        return msg_fail(&m, 0, "vocab", "expected at least 16 token ids, got %d", vocab);
    workload_token_range(vocab, &w->token_lo, &w->token_hi);
    int n = 0;
    int rc = resolve_rate(&m, sc, capacity_req_s, &w->rate_req_s);
    if (rc == 0)
        rc = make_arrivals(&m, sc, w->rate_req_s, &g.t, &n);
    if (rc == 0 && sc->prefix.groups > 0) {
        g.group = malloc((size_t)n * sizeof *g.group);
        g.members = malloc((size_t)sc->prefix.groups * sizeof *g.members);
        g.seen = calloc((size_t)sc->prefix.groups, sizeof *g.seen);
        if (!g.group || !g.members || !g.seen)
            rc = msg_fail(&m, 0, "workload", "out of memory for %d groups", sc->prefix.groups);
        if (rc == 0) {
            assign_groups(sc, n, g.group);
            rc = check_prefix_fits(&m, sc, n, g.group, w->token_hi - w->token_lo, g.members);
        }
    }
    if (rc == 0)
        rc = build_requests(&m, sc, &g, n, w);
    gen_tmp_free(&g);
    if (rc != 0)
        workload_free(w);
    return rc;
}

void workload_free(struct workload *w)
{
    if (!w)
        return;
    free(w->reqs);
    free(w->tokens);
    memset(w, 0, sizeof *w);
}
