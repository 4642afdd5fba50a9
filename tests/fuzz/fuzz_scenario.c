/* tests/fuzz/fuzz_scenario.c — libFuzzer target for the scenario parser and
 * the workload generator.
 *
 *   make fuzz-scenario FUZZ_SECONDS=180
 *
 * Every input must either be rejected with one line "name:line: key: ..." (or
 * "name: key: ...") and leave the scenario untouched, or parse into a scenario
 * that generates a workload meeting its own contract: arrivals start at 0 and
 * never go back, lengths within the declared bounds, prefix sharing exact,
 * token ids in range. Anything else aborts. */
#include "core/workload/texts.h"
#include "core/workload/workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                              \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "fuzz_scenario: check failed: %s (line %d)\n", #cond, __LINE__);     \
            abort();                                                                             \
        }                                                                                        \
    } while (0)

static int length_bound(const struct length_spec *L, int *lo, int *hi)
{
    switch (L->dist) {
    case LENGTH_FIXED: *lo = *hi = L->value; return 0;
    case LENGTH_UNIFORM:
    case LENGTH_LOGNORMAL: *lo = L->min; *hi = L->max; return 0;
    case LENGTH_LIST:
        *lo = *hi = L->values[0];
        for (int i = 1; i < L->n_values; i++) {
            *lo = L->values[i] < *lo ? L->values[i] : *lo;
            *hi = L->values[i] > *hi ? L->values[i] : *hi;
        }
        return 0;
    }
    return -1;
}

static void check_error_line(const char *err)
{
    CHECK(strncmp(err, "fuzz.ini:", 9) == 0 || strncmp(err, "fuzz.ini: ", 10) == 0 ||
          strncmp(err, "override: ", 10) == 0);
    CHECK(strchr(err, '\n') == NULL);
    CHECK(strlen(err) > 12);
}

static void check_workload(const struct scenario *sc, const struct workload *w)
{
    int plo, phi, olo, ohi;
    CHECK(length_bound(&sc->prompt, &plo, &phi) == 0);
    CHECK(length_bound(&sc->output, &olo, &ohi) == 0);
    CHECK(w->n >= 1 && w->reqs[0].arrival_s == 0.0);
    long tokens = 0;
    for (int i = 0; i < w->n; i++) {
        const struct request_spec *q = &w->reqs[i];
        CHECK(q->id == i);
        CHECK(i == 0 || q->arrival_s >= w->reqs[i - 1].arrival_s);
        int own = q->prompt_len - q->prefix_len;
        CHECK(own >= plo && own <= phi);
        CHECK(q->max_output >= olo && q->max_output <= ohi);
        CHECK(q->prompt == w->tokens + tokens);
        tokens += q->prompt_len;
        for (int t = 0; t < q->prompt_len; t++)
            CHECK(q->prompt[t] >= w->token_lo && q->prompt[t] < w->token_hi);
        if (q->group >= 0 && i > 0) {
            for (int j = 0; j < i; j++) {
                const struct request_spec *p = &w->reqs[j];
                if (p->group != q->group)
                    continue;
                CHECK(memcmp(p->prompt, q->prompt, (size_t)q->prefix_len * 4) == 0);
                CHECK(p->prompt[p->prefix_len] != q->prompt[q->prefix_len]);
                break;
            }
        }
    }
    CHECK(tokens == w->n_tokens);
}

/* The same bytes as a [texts] file: every text lies inside the input, in
 * order, not empty, without a separator line and without blank edges. */
static void check_texts_split(const char *data, size_t size)
{
    size_t st[64], ln[64];
    int n = texts_split(data, size, 64, st, ln);
    CHECK(n >= 0 && n <= 64);
    for (int i = 0; i < n; i++) {
        CHECK(ln[i] > 0 && st[i] + ln[i] <= size);
        CHECK(i == 0 || st[i] >= st[i - 1] + ln[i - 1]);
        char last = data[st[i] + ln[i] - 1];
        CHECK(last != '\n' && last != '\r' && last != ' ' && last != '\t');
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    check_texts_split((const char *)data, size);
    struct scenario sc, before;
    memset(&sc, 0x5a, sizeof sc);
    before = sc;
    char err[512];
    if (scenario_parse_buffer("fuzz.ini", (const char *)data, size, &sc, err, sizeof err) != 0) {
        check_error_line(err);
        CHECK(memcmp(&sc, &before, sizeof sc) == 0);
        return 0;
    }
    /* Keep generation small: at most 16 requests and 4096-token prompts. */
    int plo, phi, olo, ohi;
    CHECK(length_bound(&sc.prompt, &plo, &phi) == 0 && length_bound(&sc.output, &olo, &ohi) == 0);
    if (phi + sc.prefix.length > 4096)
        return 0;
    if ((sc.requests == 0 || sc.requests > 16) &&
        scenario_set(&sc, "requests", "16", err, sizeof err) != 0) {
        check_error_line(err);
        return 0;
    }
    struct workload w;
    int vocab = 16 + (int)(size % 50000);
    if (workload_generate(&sc, vocab, 1.0 + (double)(size % 7), &w, err, sizeof err) != 0) {
        CHECK(w.reqs == NULL && w.tokens == NULL && w.n == 0);
        CHECK(strchr(err, '\n') == NULL);
        return 0;
    }
    check_workload(&sc, &w);
    workload_free(&w);
    return 0;
}
