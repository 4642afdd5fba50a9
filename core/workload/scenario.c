/* core/workload/scenario.c — scenario files (INI, libinih) → validated struct scenario,
 * and overrides of its keys after loading (workload.c turns one into requests).
 *
 * Parsing: libinih drives the file line by line through our reader, which counts
 * lines (inih's handler gets no line number in Debian's build), rejects lines
 * too long for inih's buffer, and checks every "[section]" header itself, so an
 * unknown or repeated section is an error even when it has no keys. The handler
 * looks each key up in one table (KEYS) that says where it lives and how its
 * value is parsed. Cross-key rules (which keys each dist or process needs) run
 * after the whole file is read, in scenario_validate. */
#include "core/workload/scenario.h"
#include "core/workload/scenario_msg.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the key table ------------------------------------------------------ */

enum section {
    SEC_SCENARIO, SEC_ARRIVAL, SEC_PROMPT, SEC_OUTPUT, SEC_PREFIX, SEC_SLO, SEC_OPTIONS, SEC_TEXTS,
    SEC_COUNT
};
static const char *const SECTION_NAMES[SEC_COUNT] = {
    "scenario", "arrival", "prompt", "output", "prefix", "slo", "options", "texts",
};

/* Length keys come in the same order for [prompt] and [output], so
 * K_O_X = K_P_X + LEN_KEYS. */
enum key {
    K_NAME, K_DESCRIPTION, K_MODEL, K_SEED, K_REQUESTS, K_DURATION,
    K_PROCESS, K_RATE, K_CV,
    K_P_DIST, K_P_VALUE, K_P_MIN, K_P_MAX, K_P_MEDIAN, K_P_SIGMA, K_P_VALUES,
    K_O_DIST, K_O_VALUE, K_O_MIN, K_O_MAX, K_O_MEDIAN, K_O_SIGMA, K_O_VALUES,
    K_GROUPS, K_PER_GROUP, K_LENGTH,
    K_TTFT, K_TPOT, K_E2E,
    K_T_FILE, K_T_CHAT,
    K_COUNT
};
enum { LEN_KEYS = K_O_DIST - K_P_DIST };
_Static_assert(K_COUNT <= (int)(sizeof(((struct scenario *)0)->key_line) / sizeof(int)),
               "struct scenario.key_line too small for the key table");

enum kind { KIND_TEXT, KIND_SEED, KIND_INT, KIND_REAL, KIND_PROCESS, KIND_RATE, KIND_DIST,
            KIND_VALUES };

struct key_def {
    enum section sec;
    const char *name;
    enum kind kind;
    size_t offset;            /* of the field in struct scenario */
    double lo, hi;            /* KIND_INT: [lo, hi]; KIND_REAL: (lo, hi], or [lo, hi] if lo_incl */
    bool lo_incl;
    size_t cap;               /* KIND_TEXT: buffer size */
};

#define OFF(f) offsetof(struct scenario, f)
#define LEN_ROWS(SEC, S)                                                                        \
    { SEC, "dist", KIND_DIST, OFF(S.dist), 0, 0, false, 0 },                                    \
    { SEC, "value", KIND_INT, OFF(S.value), 1, WORKLOAD_MAX_LEN, false, 0 },                    \
    { SEC, "min", KIND_INT, OFF(S.min), 1, WORKLOAD_MAX_LEN, false, 0 },                        \
    { SEC, "max", KIND_INT, OFF(S.max), 1, WORKLOAD_MAX_LEN, false, 0 },                        \
    { SEC, "median", KIND_REAL, OFF(S.median), 0, WORKLOAD_MAX_LEN, false, 0 },                 \
    { SEC, "sigma", KIND_REAL, OFF(S.sigma), 0, 10, true, 0 },                                  \
    { SEC, "values", KIND_VALUES, OFF(S), 0, 0, false, 0 }

static const struct key_def KEYS[K_COUNT] = {
    { SEC_SCENARIO, "name", KIND_TEXT, OFF(name), 0, 0, false, SCENARIO_NAME_MAX },
    { SEC_SCENARIO, "description", KIND_TEXT, OFF(description), 0, 0, false, SCENARIO_TEXT_MAX },
    { SEC_SCENARIO, "model", KIND_TEXT, OFF(model), 0, 0, false, SCENARIO_TEXT_MAX },
    { SEC_SCENARIO, "seed", KIND_SEED, OFF(seed), 0, 0, false, 0 },
    { SEC_SCENARIO, "requests", KIND_INT, OFF(requests), 1, WORKLOAD_MAX_REQUESTS, false, 0 },
    { SEC_SCENARIO, "duration_s", KIND_REAL, OFF(duration_s), 0, 1e7, false, 0 },
    { SEC_ARRIVAL, "process", KIND_PROCESS, OFF(arrival.process), 0, 0, false, 0 },
    { SEC_ARRIVAL, "rate", KIND_RATE, OFF(arrival), 0, 0, false, 0 },
    /* gamma shape = 1/cv²: below 0.001 the gaps are fixed ones in all but name, and at 1e-155
     * the shape overflows */
    { SEC_ARRIVAL, "cv", KIND_REAL, OFF(arrival.cv), 0.001, 100, true, 0 },
    LEN_ROWS(SEC_PROMPT, prompt),
    LEN_ROWS(SEC_OUTPUT, output),
    { SEC_PREFIX, "groups", KIND_INT, OFF(prefix.groups), 1, 100000, false, 0 },
    { SEC_PREFIX, "per_group", KIND_INT, OFF(prefix.per_group), 1, WORKLOAD_MAX_REQUESTS, false, 0 },
    { SEC_PREFIX, "length", KIND_INT, OFF(prefix.length), 1, WORKLOAD_MAX_LEN, false, 0 },
    { SEC_SLO, "ttft_ms", KIND_REAL, OFF(slo.ttft_ms), 0, 1e9, false, 0 },
    { SEC_SLO, "tpot_ms", KIND_REAL, OFF(slo.tpot_ms), 0, 1e9, false, 0 },
    { SEC_SLO, "e2e_ms", KIND_REAL, OFF(slo.e2e_ms), 0, 1e9, false, 0 },
    { SEC_TEXTS, "file", KIND_TEXT, OFF(texts.file), 0, 0, false, SCENARIO_TEXT_MAX },
    { SEC_TEXTS, "chat", KIND_INT, OFF(texts.chat), 0, 1, false, 0 },
};

static const char *const PROCESS_NAMES[] = { "all", "fixed", "poisson", "gamma" };
static const char *const DIST_NAMES[] = { "fixed", "uniform", "lognormal", "list" };

/* Rates: below MIN_RATE a run of a few requests takes weeks of real time
 * (and 1/rate overflows near 1e-308); a run still waits for a far arrival,
 * and says when it comes. */
#define MIN_RATE   1e-6      /* req/s */
#define MAX_RATE   1e6
#define MIN_FACTOR 1e-3      /* × capacity */
#define MAX_FACTOR 1e3

const char *arrival_process_name(enum arrival_process p)
{
    return (unsigned)p < 4 ? PROCESS_NAMES[p] : "?";
}

const char *length_dist_name(enum length_dist d)
{
    return (unsigned)d < 4 ? DIST_NAMES[d] : "?";
}

/* ---- messages ----------------------------------------------------------- */

int msg_fail(const struct msg *m, int line, const char *key, const char *fmt, ...)
{
    if (!m->err || m->errlen == 0)
        return -1;
    const char *lead = m->lead ? m->lead : "";
    int k = line > 0    ? snprintf(m->err, m->errlen, "%s%s:%d: %s: ", lead, m->path, line, key)
            : line == 0 ? snprintf(m->err, m->errlen, "%s%s: %s: ", lead, m->path, key)
                        : snprintf(m->err, m->errlen, "override: %s: ", key);
    if (k >= 0 && (size_t)k < m->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m->err + k, m->errlen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- value parsers (strict: the whole string, no locale) ---------------- */

static bool parse_real(const char *s, double *out)
{
    if (!*s || isspace((unsigned char)*s))
        return false;
    /* LC_NUMERIC "C": a TUI that called setlocale() must not turn "0.8" into an error. */
    locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (c == (locale_t)0)
        return false;
    char *end;
    errno = 0;
    double v = strtod_l(s, &end, c);
    int e = errno;
    freelocale(c);
    if (end == s || *end || e == ERANGE || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* Decimal digits only, optional '+'; no sign games, no spaces, no exponent. */
static bool parse_u64(const char *s, uint64_t *out)
{
    if (*s == '+')
        s++;
    if (!*s)
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool parse_int_in(const char *s, double lo, double hi, int *out)
{
    uint64_t v;
    if (!parse_u64(s, &v) || (double)v < lo || (double)v > hi)
        return false;
    *out = (int)v;
    return true;
}

static int lookup_name(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

static bool text_is_clean(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* ---- setting one key ---------------------------------------------------- */

static int set_text(const struct msg *m, int line, const struct key_def *k, char *dst,
                    const char *v)
{
    if (!text_is_clean(v))
        return msg_fail(m, line, k->name, "expected printable text, got control characters");
    if (strlen(v) >= k->cap)
        return msg_fail(m, line, k->name, "expected at most %zu characters, got %zu", k->cap - 1,
                    strlen(v));
    if (k->offset == OFF(name) && !*v)
        return msg_fail(m, line, k->name, "expected a non-empty name");
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

static int set_int(const struct msg *m, int line, const struct key_def *k, int *dst, const char *v)
{
    if (!parse_int_in(v, k->lo, k->hi, dst))
        return msg_fail(m, line, k->name, "expected an integer in [%.0f, %.0f], got '%s'", k->lo,
                    k->hi, v);
    return 0;
}

static int set_real(const struct msg *m, int line, const struct key_def *k, double *dst,
                    const char *v)
{
    double x;
    bool ok = parse_real(v, &x) && (k->lo_incl ? x >= k->lo : x > k->lo) && x <= k->hi;
    if (!ok)
        return msg_fail(m, line, k->name, "expected a number %s %g and <= %g, got '%s'",
                    k->lo_incl ? ">=" : ">", k->lo, k->hi, v);
    *dst = x;
    return 0;
}

static int set_rate(const struct msg *m, int line, struct arrival_spec *a, const char *v)
{
    char buf[64];
    size_t n = strlen(v);
    bool rel = n > 0 && v[n - 1] == 'x';
    double x = 0;
    bool ok = n < sizeof buf;
    if (ok) {
        memcpy(buf, v, n + 1);
        if (rel)
            buf[n - 1] = '\0';
        ok = parse_real(buf, &x) && x >= (rel ? MIN_FACTOR : MIN_RATE) && x <= (rel ? MAX_FACTOR : MAX_RATE);
    }
    if (!ok)
        return msg_fail(m, line, "rate",
                    "expected a positive number or Nx (req/s in [%g, %g], or N times the "
                    "measured capacity, N in [%g, %g]), got '%s'", MIN_RATE, MAX_RATE, MIN_FACTOR,
                    MAX_FACTOR, v);
    a->rate = x;
    a->relative = rel;
    return 0;
}

static int set_values(const struct msg *m, int line, struct length_spec *L, const char *v)
{
    int vals[SCENARIO_LIST_MAX];
    int n = 0;
    const char *p = v;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len && isspace((unsigned char)*p)) {
            p++;
            len--;
        }
        while (len && isspace((unsigned char)p[len - 1]))
            len--;
        char item[16];
        if (len == 0 || len >= sizeof item || n == SCENARIO_LIST_MAX)
            goto bad;
        memcpy(item, p, len);
        item[len] = '\0';
        if (!parse_int_in(item, 1, WORKLOAD_MAX_LEN, &vals[n]))
            goto bad;
        n++;
        if (!comma)
            break;
        p = comma + 1;
    }
    memcpy(L->values, vals, (size_t)n * sizeof vals[0]);
    L->n_values = n;
    return 0;
bad:
    return msg_fail(m, line, "values",
                "expected a comma-separated list of 1 to %d integers in [1, %d], got '%s'",
                SCENARIO_LIST_MAX, WORKLOAD_MAX_LEN, v);
}

/* Parse `v` into the field of key `id`. The enum fields are written through
 * their named type so no int/enum aliasing is assumed. */
static int set_key(const struct msg *m, int line, struct scenario *sc, int id, const char *v)
{
    const struct key_def *k = &KEYS[id];
    char *field = (char *)sc + k->offset;
    switch (k->kind) {
    case KIND_TEXT:
        return set_text(m, line, k, field, v);
    case KIND_SEED:
        if (!parse_u64(v, &sc->seed))
            return msg_fail(m, line, k->name, "expected an unsigned 64-bit integer, got '%s'", v);
        return 0;
    case KIND_INT:
        return set_int(m, line, k, (int *)(void *)field, v);
    case KIND_REAL:
        return set_real(m, line, k, (double *)(void *)field, v);
    case KIND_RATE:
        return set_rate(m, line, &sc->arrival, v);
    case KIND_PROCESS: {
        int i = lookup_name(PROCESS_NAMES, 4, v);
        if (i < 0)
            return msg_fail(m, line, k->name, "expected all, fixed, poisson or gamma, got '%s'", v);
        sc->arrival.process = (enum arrival_process)i;
        return 0;
    }
    case KIND_DIST: {
        int i = lookup_name(DIST_NAMES, 4, v);
        if (i < 0)
            return msg_fail(m, line, k->name,
                        "expected fixed, uniform, lognormal or list, got '%s'", v);
        struct length_spec *L = k->sec == SEC_PROMPT ? &sc->prompt : &sc->output;
        L->dist = (enum length_dist)i;
        return 0;
    }
    case KIND_VALUES:
        return set_values(m, line, k->sec == SEC_PROMPT ? &sc->prompt : &sc->output, v);
    }
    return msg_fail(m, line, k->name, "internal error: unknown key kind");
}

static int find_section(const char *name)
{
    return lookup_name(SECTION_NAMES, SEC_COUNT, name);
}

static int find_key(int sec, const char *name)
{
    for (int i = 0; i < K_COUNT; i++)
        if ((int)KEYS[i].sec == sec && strcmp(KEYS[i].name, name) == 0)
            return i;
    return -1;
}

/* "name, description, model, ..." for messages. */
static void list_keys(int sec, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < K_COUNT && used < n; i++) {
        if ((int)KEYS[i].sec != sec)
            continue;
        int k = snprintf(buf + used, n - used, "%s%s", used ? ", " : "", KEYS[i].name);
        if (k < 0)
            return;
        used += (size_t)k;
    }
}

static void list_sections(char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < SEC_COUNT && used < n; i++) {
        int k = snprintf(buf + used, n - used, "%s[%s]", used ? ", " : "", SECTION_NAMES[i]);
        if (k < 0)
            return;
        used += (size_t)k;
    }
}

static bool option_key_is_clean(const char *s)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
            return false;
    return true;
}

/* Add or (when `replace`) overwrite one [options] entry. */
static int set_option(const struct msg *m, int line, struct scenario *sc, const char *key,
                      const char *value, bool replace)
{
    if (strlen(key) > SCENARIO_OPTION_KEY_MAX || !option_key_is_clean(key))
        return msg_fail(m, line, key,
                    "expected an option name of at most %d letters, digits, '_', '-' or '.'",
                    SCENARIO_OPTION_KEY_MAX);
    if (strlen(value) >= SCENARIO_TEXT_MAX || !text_is_clean(value))
        return msg_fail(m, line, key, "expected printable text of at most %d characters",
                    SCENARIO_TEXT_MAX - 1);
    struct scenario_option *o = NULL;
    for (int i = 0; i < sc->n_options; i++) {
        if (strcmp(sc->options[i].key, key) != 0)
            continue;
        if (!replace)
            return msg_fail(m, line, key, "given twice in [options] (first at line %d)",
                        sc->options[i].line);
        o = &sc->options[i];
    }
    if (!o) {
        if (sc->n_options == SCENARIO_MAX_OPTIONS)
            return msg_fail(m, line, key, "expected at most %d entries in [options]",
                        SCENARIO_MAX_OPTIONS);
        o = &sc->options[sc->n_options++];
        memcpy(o->key, key, strlen(key) + 1);
    }
    memcpy(o->value, value, strlen(value) + 1);
    o->line = line;
    return 0;
}

/* ---- cross-key validation ----------------------------------------------- */

/* Where the validator points: the scenario's key lines plus each section's
 * header line (0: not in the file). */
struct where {
    struct msg m;
    const struct scenario *sc;
    int section_line[SEC_COUNT];
};

static bool has(const struct where *w, int k)
{
    return w->sc->key_line[k] != 0;
}

static int line_of(const struct where *w, int k)
{
    return w->sc->key_line[k];
}

static bool section_present(const struct where *w, int sec)
{
    if (w->section_line[sec] != 0)
        return true;
    for (int i = 0; i < K_COUNT; i++)
        if ((int)KEYS[i].sec == sec && has(w, i))
            return true;
    return false;
}

/* Line to blame for something missing in `sec`: its header, else line 1 of
 * a file, or no line after an override (section lines unknown). */
static int section_blame(const struct where *w, int sec)
{
    if (w->section_line[sec] > 0)
        return w->section_line[sec];
    return w->m.lead ? 0 : 1;
}

static int missing(const struct where *w, int sec, int k, const char *why)
{
    return msg_fail(&w->m, section_blame(w, sec), KEYS[k].name, "missing; %s", why);
}

static int not_used(const struct where *w, int k, const char *by)
{
    return msg_fail(&w->m, line_of(w, k), KEYS[k].name, "not used by %s; remove it", by);
}

/* N: requests, duration_s, or prefix groups × per_group. Fills sc->requests
 * in the last case. */
static int validate_count(const struct where *w, struct scenario *sc)
{
    if (has(w, K_PER_GROUP)) {
        long n = (long)sc->prefix.groups * sc->prefix.per_group;
        if (has(w, K_DURATION))
            return not_used(w, K_DURATION, "a [prefix] with per_group (it fixes the count)");
        if (n > WORKLOAD_MAX_REQUESTS)
            return msg_fail(&w->m, line_of(w, K_PER_GROUP), "per_group",
                        "groups × per_group = %ld is more than %d requests", n,
                        WORKLOAD_MAX_REQUESTS);
        if (has(w, K_REQUESTS) && sc->requests != n)
            return msg_fail(&w->m, line_of(w, K_REQUESTS), "requests",
                        "expected groups × per_group = %ld (or leave requests out), got %d", n,
                        sc->requests);
        sc->requests = (int)n;
        return 0;
    }
    if (has(w, K_REQUESTS) && has(w, K_DURATION)) {
        int k = line_of(w, K_DURATION) > line_of(w, K_REQUESTS) ? K_DURATION : K_REQUESTS;
        return msg_fail(&w->m, line_of(w, k), KEYS[k].name,
                    "expected requests or duration_s, not both");
    }
    if (!has(w, K_REQUESTS) && !has(w, K_DURATION))
        return missing(w, SEC_SCENARIO, K_REQUESTS,
                       "[scenario] needs requests = N or duration_s = seconds");
    if (!has(w, K_REQUESTS))
        sc->requests = 0;
    if (!has(w, K_DURATION))
        sc->duration_s = 0;
    return 0;
}

static int validate_arrival(const struct where *w, const struct scenario *sc)
{
    const char *pname = PROCESS_NAMES[sc->arrival.process];
    char by[64];
    snprintf(by, sizeof by, "process = %s", pname);
    switch (sc->arrival.process) {
    case ARRIVAL_ALL:
        if (has(w, K_RATE))
            return not_used(w, K_RATE, "process = all (every request arrives at t = 0)");
        if (has(w, K_CV))
            return not_used(w, K_CV, by);
        if (has(w, K_DURATION))
            return msg_fail(&w->m, line_of(w, K_DURATION), "duration_s",
                        "not used by process = all (every request arrives at t = 0); "
                        "expected requests = N");
        return 0;
    case ARRIVAL_FIXED:
    case ARRIVAL_POISSON:
        if (has(w, K_CV))
            return not_used(w, K_CV, by);
        break;
    case ARRIVAL_GAMMA:
        if (!has(w, K_CV))
            return missing(w, SEC_ARRIVAL, K_CV,
                           "process = gamma needs cv = the coefficient of variation of gaps");
        break;
    }
    if (!has(w, K_RATE))
        return missing(w, SEC_ARRIVAL, K_RATE, "this process needs rate = req/s or Nx");
    return 0;
}

/* Which length keys each dist needs (r) and allows (a), by offset from K_P_DIST. */
static void dist_keys(enum length_dist d, bool need[LEN_KEYS], bool allow[LEN_KEYS])
{
    enum { DIST, VALUE, MIN, MAX, MEDIAN, SIGMA, VALUES };
    memset(need, 0, LEN_KEYS * sizeof(bool));
    memset(allow, 0, LEN_KEYS * sizeof(bool));
    need[DIST] = allow[DIST] = true;
    switch (d) {
    case LENGTH_FIXED: need[VALUE] = allow[VALUE] = true; break;
    case LENGTH_UNIFORM: need[MIN] = need[MAX] = allow[MIN] = allow[MAX] = true; break;
    case LENGTH_LOGNORMAL:
        need[MEDIAN] = need[SIGMA] = need[MAX] = true;
        allow[MEDIAN] = allow[SIGMA] = allow[MAX] = allow[MIN] = true;
        break;
    case LENGTH_LIST: need[VALUES] = allow[VALUES] = true; break;
    }
}

/* [texts] gives the prompts: [prompt] and [prefix] have nothing left to say.
 * The generator still runs with one-token placeholders (texts.c replaces them). */
static int validate_texts(const struct where *w, struct scenario *sc)
{
    if (!section_present(w, SEC_TEXTS)) {
        memset(&sc->texts, 0, sizeof sc->texts);
        return 0;
    }
    if (!has(w, K_T_FILE))
        return missing(w, SEC_TEXTS, K_T_FILE, "[texts] needs file = a text file (texts separated by lines ---)");
    for (int sec = SEC_PROMPT; sec <= SEC_PREFIX; sec += SEC_PREFIX - SEC_PROMPT)
        if (section_present(w, sec))
            return msg_fail(&w->m, section_blame(w, sec), sec == SEC_PROMPT ? "[prompt]" : "[prefix]",
                            "not used with [texts] (the texts are the prompts); remove it");
    if (!has(w, K_T_CHAT))
        sc->texts.chat = 0;
    memset(&sc->prompt, 0, sizeof sc->prompt);
    sc->prompt.dist = LENGTH_FIXED;
    sc->prompt.value = 1;
    return 0;
}

static int validate_length(const struct where *w, struct scenario *sc, int sec)
{
    if (sec == SEC_PROMPT && section_present(w, SEC_TEXTS))
        return 0;
    struct length_spec *L = sec == SEC_PROMPT ? &sc->prompt : &sc->output;
    int base = sec == SEC_PROMPT ? K_P_DIST : K_O_DIST;
    char why[128];
    if (!section_present(w, sec))
        return msg_fail(&w->m, section_blame(w, sec), sec == SEC_PROMPT ? "[prompt]" : "[output]",
                    "missing section; expected dist = fixed|uniform|lognormal|list and its keys");
    if (!has(w, base))
        return missing(w, sec, base, "expected dist = fixed|uniform|lognormal|list");
    bool need[LEN_KEYS], allow[LEN_KEYS];
    dist_keys(L->dist, need, allow);
    snprintf(why, sizeof why, "dist = %s", DIST_NAMES[L->dist]);
    for (int i = 1; i < LEN_KEYS; i++) {
        if (has(w, base + i) && !allow[i])
            return not_used(w, base + i, why);
    }
    for (int i = 1; i < LEN_KEYS; i++) {
        if (!has(w, base + i) && need[i]) {
            snprintf(why, sizeof why, "dist = %s needs %s", DIST_NAMES[L->dist],
                     KEYS[base + i].name);
            return missing(w, sec, base + i, why);
        }
    }
    if (L->dist == LENGTH_LOGNORMAL && !has(w, base + 2))
        L->min = 1;
    if ((L->dist == LENGTH_UNIFORM || L->dist == LENGTH_LOGNORMAL) && L->min > L->max)
        return msg_fail(&w->m, line_of(w, base + 3), "max", "expected max >= min = %d, got %d",
                    L->min, L->max);
    return 0;
}

static int validate_prefix(const struct where *w, struct scenario *sc)
{
    if (!section_present(w, SEC_PREFIX)) {
        memset(&sc->prefix, 0, sizeof sc->prefix);
        return 0;
    }
    if (!has(w, K_GROUPS))
        return missing(w, SEC_PREFIX, K_GROUPS, "[prefix] needs groups = G");
    if (!has(w, K_LENGTH))
        return missing(w, SEC_PREFIX, K_LENGTH, "[prefix] needs length = shared tokens");
    if (!has(w, K_PER_GROUP))
        sc->prefix.per_group = 0;
    return 0;
}

/* Every cross-key rule. May fill derived fields (requests from prefix, lognormal
 * min, zeroed unused numbers); returns 0 or -1 with the message. */
static int scenario_validate(const struct where *w, struct scenario *sc)
{
    if (!section_present(w, SEC_SCENARIO))
        return msg_fail(&w->m, section_blame(w, SEC_SCENARIO), "[scenario]",
                    "missing section; expected name and requests or duration_s");
    if (!has(w, K_NAME))
        return missing(w, SEC_SCENARIO, K_NAME, "[scenario] needs name = text");
    if (validate_texts(w, sc) || validate_prefix(w, sc) || validate_count(w, sc) || validate_arrival(w, sc) ||
        validate_length(w, sc, SEC_PROMPT) || validate_length(w, sc, SEC_OUTPUT))
        return -1;
    return 0;
}

/* ---- file reading through inih ------------------------------------------ */

struct parse {
    struct where w;
    struct scenario *sc;
    const char *text;
    size_t len, pos;
    int line;                 /* the line the reader handed out last (1-based) */
    int err_line;             /* line of our first error; 0 none */
};

static void record_error(struct parse *p)
{
    if (!p->err_line)
        p->err_line = p->line > 0 ? p->line : 1;
}

/* Check a "[name]" header line seen by the reader. Returns 0 or -1. */
static int check_section_header(struct parse *p, const char *s, size_t n)
{
    const char *close = memchr(s, ']', n);
    if (!close)
        return 0;                 /* inih reports the syntax error */
    char name[64];
    size_t len = (size_t)(close - s - 1);
    if (len >= sizeof name)
        len = sizeof name - 1;
    memcpy(name, s + 1, len);
    name[len] = '\0';
    int sec = find_section(name);
    if (sec < 0) {
        char list[128];
        list_sections(list, sizeof list);
        return msg_fail(&p->w.m, p->line, "section", "expected one of %s, got [%s]", list, name);
    }
    if (p->w.section_line[sec])
        return msg_fail(&p->w.m, p->line, "section", "[%s] given twice (first at line %d)", name,
                    p->w.section_line[sec]);
    p->w.section_line[sec] = p->line;
    return 0;
}

/* ini_reader: hand inih the next line of the buffer (without its newline). */
static char *read_line(char *buf, int num, void *stream)
{
    struct parse *p = stream;
    if (p->err_line || p->pos >= p->len)
        return NULL;
    const char *s = p->text + p->pos;
    const char *nl = memchr(s, '\n', p->len - p->pos);
    size_t n = nl ? (size_t)(nl - s) : p->len - p->pos;
    p->pos += n + (nl ? 1 : 0);
    p->line++;
    if (n + 1 > (size_t)num) {
        msg_fail(&p->w.m, p->line, "line", "expected at most %d characters, got %zu", num - 1, n);
        record_error(p);
        return NULL;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    size_t i = 0;
    if (p->line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        i = 3;                    /* UTF-8 byte order mark, as inih skips it */
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i < n && s[i] == '[' && check_section_header(p, s + i, n - i) != 0) {
        record_error(p);
        return NULL;
    }
    return buf;
}

/* ini_handler: one "key = value" line. Returns 1 to go on, 0 on error. */
static int on_key(void *user, const char *section, const char *name, const char *value)
{
    struct parse *p = user;
    if (p->err_line)
        return 1;
    const struct msg *m = &p->w.m;
    int sec = find_section(section);
    int rc;
    if (!*section) {
        char list[128];
        list_sections(list, sizeof list);
        rc = msg_fail(m, p->line, name, "key outside any section; expected it under one of %s", list);
    } else if (sec < 0) {
        rc = msg_fail(m, p->line, "section", "unknown section [%s]", section);
    } else if (sec == SEC_OPTIONS) {
        rc = strlen(name) > SCENARIO_OPTION_KEY_MAX
                 ? msg_fail(m, p->line, name, "expected an option name of at most %d characters",
                        SCENARIO_OPTION_KEY_MAX)
                 : set_option(m, p->line, p->sc, name, value, false);
    } else {
        int k = find_key(sec, name);
        if (k < 0) {
            char list[160];
            list_keys(sec, list, sizeof list);
            rc = msg_fail(m, p->line, name, "unknown key in [%s]; expected one of %s", section, list);
        } else if (p->sc->key_line[k]) {
            rc = msg_fail(m, p->line, name, "given twice in [%s] (first at line %d)", section,
                      p->sc->key_line[k]);
        } else if ((rc = set_key(m, p->line, p->sc, k, value)) == 0) {
            p->sc->key_line[k] = p->line;
        }
    }
    if (rc != 0) {
        record_error(p);
        return 0;
    }
    return 1;
}

static void path_copy(char *dst, const char *src)
{
    snprintf(dst, SCENARIO_TEXT_MAX, "%s", src);
}

static int check_text_bytes(const struct msg *m, const char *text, size_t len)
{
    if (len > SCENARIO_FILE_MAX)
        return msg_fail(m, 1, "file", "expected at most %d bytes, got %zu", SCENARIO_FILE_MAX, len);
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        int line = 1;
        for (const char *c = text; c < nul; c++)
            line += *c == '\n';
        return msg_fail(m, line, "file", "expected text, found a NUL byte");
    }
    return 0;
}

int scenario_parse_buffer(const char *name, const char *text, size_t len, struct scenario *sc,
                          char *err, size_t errlen)
{
    struct msg m = { name, err, errlen, NULL };
    if (check_text_bytes(&m, text, len) != 0)
        return -1;
    struct scenario *tmp = calloc(1, sizeof *tmp);
    struct parse *p = calloc(1, sizeof *p);
    if (!tmp || !p) {
        free(tmp);
        free(p);
        return msg_fail(&m, 0, "scenario", "out of memory");
    }
    path_copy(tmp->path, name);
    p->w.m = m;
    p->w.sc = tmp;
    p->sc = tmp;
    p->text = text;
    p->len = len;
    int ret = ini_parse_stream(read_line, p, on_key, p);
    int rc = 0;
    if (ret > 0 && (!p->err_line || ret < p->err_line))
        rc = msg_fail(&m, ret, "syntax", "expected '[section]', 'key = value' or a comment");
    else if (p->err_line || ret != 0)
        rc = ret < 0 ? msg_fail(&m, 0, "scenario", "could not be read") : -1;
    else
        rc = scenario_validate(&p->w, tmp);
    if (rc == 0)
        *sc = *tmp;
    free(tmp);
    free(p);
    return rc;
}

int scenario_load(const char *path, struct scenario *sc, char *err, size_t errlen)
{
    struct msg m = { path, err, errlen, NULL };
    FILE *f = fopen(path, "rb");
    if (!f)
        return msg_fail(&m, 0, "file", "cannot open: %s", strerror(errno));
    size_t cap = SCENARIO_FILE_MAX + 1;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return msg_fail(&m, 0, "file", "out of memory");
    }
    size_t n = fread(buf, 1, cap, f);
    int bad = ferror(f);
    fclose(f);
    int rc = bad ? msg_fail(&m, 0, "file", "read error") : scenario_parse_buffer(path, buf, n, sc, err, errlen);
    free(buf);
    return rc;
}

/* ---- overrides ---------------------------------------------------------- */

/* "prompt.max" → key id; bare names are [scenario] keys. -1 if unknown.
 * Sets *is_option and *opt_key for "options.NAME". */
static int resolve_override_key(const char *key, bool *is_option, const char **opt_key)
{
    *is_option = false;
    const char *dot = strchr(key, '.');
    if (!dot)
        return find_key(SEC_SCENARIO, key);
    char sec_name[32];
    size_t n = (size_t)(dot - key);
    if (n >= sizeof sec_name)
        return -1;
    memcpy(sec_name, key, n);
    sec_name[n] = '\0';
    int sec = find_section(sec_name);
    if (sec == SEC_OPTIONS) {
        *is_option = true;
        *opt_key = dot + 1;
        return -1;
    }
    return sec < 0 ? -1 : find_key(sec, dot + 1);
}

/* What setting key k implies for the keys it replaces: requests and
 * duration_s exclude each other; a new process or dist drops the keys it does
 * not use, so "arrival.process=all" alone is a valid override. */
static void clear_replaced_keys(struct scenario *sc, int k)
{
    if (k == K_PROCESS && sc->arrival.process != ARRIVAL_GAMMA)
        sc->key_line[K_CV] = 0;
    if (k == K_PROCESS && sc->arrival.process == ARRIVAL_ALL)
        sc->key_line[K_RATE] = 0;
    if (k == K_REQUESTS)
        sc->key_line[K_DURATION] = 0;
    if (k == K_DURATION)
        sc->key_line[K_REQUESTS] = 0;
    if (k == K_P_DIST || k == K_O_DIST)
        for (int i = 1; i < LEN_KEYS; i++)
            sc->key_line[k + i] = 0;
}

/* Apply one assignment to tmp; *k_out = key id, or -1 for an [options] entry. */
static int apply_one(const struct msg *m, struct scenario *tmp, const char *key,
                     const char *value, int *k_out)
{
    bool is_option;
    const char *opt_key = NULL;
    int k = resolve_override_key(key, &is_option, &opt_key);
    *k_out = k;
    if (is_option)
        return set_option(m, -1, tmp, opt_key, value, true);
    if (k < 0)
        return msg_fail(m, -1, key, "unknown scenario key; expected section.key (e.g. arrival.rate) "
                               "or a [scenario] key");
    return set_key(m, -1, tmp, k, value);
}

int scenario_set_many(struct scenario *sc, int n, const char *const *keys,
                      const char *const *values, char *err, size_t errlen)
{
    struct msg m = { sc->path, err, errlen, NULL };
    struct scenario *tmp = malloc(sizeof *tmp);
    int *ids = malloc((size_t)(n > 0 ? n : 1) * sizeof *ids);
    int rc = 0;
    if (!tmp || !ids)
        rc = msg_fail(&m, -1, "scenario", "out of memory");
    if (rc == 0)
        *tmp = *sc;
    for (int i = 0; rc == 0 && i < n; i++)
        rc = apply_one(&m, tmp, keys[i], values[i], &ids[i]);
    /* Clear what the new values replace, then mark the assigned keys, so the
     * order of assignments within one call does not matter. */
    for (int i = 0; rc == 0 && i < n; i++)
        if (ids[i] >= 0)
            clear_replaced_keys(tmp, ids[i]);
    for (int i = 0; rc == 0 && i < n; i++)
        if (ids[i] >= 0)
            tmp->key_line[ids[i]] = -1;
    if (rc == 0) {
        struct where w = { m, tmp, { 0 } };
        w.m.lead = "override: ";
        rc = scenario_validate(&w, tmp);
    }
    if (rc == 0)
        *sc = *tmp;
    free(tmp);
    free(ids);
    return rc;
}

int scenario_set(struct scenario *sc, const char *key, const char *value, char *err,
                 size_t errlen)
{
    return scenario_set_many(sc, 1, &key, &value, err, errlen);
}

int scenario_key_line(const struct scenario *sc, const char *key)
{
    bool is_option;
    const char *opt_key;
    int k = resolve_override_key(key, &is_option, &opt_key);
    return k < 0 ? 0 : sc->key_line[k];
}

bool scenario_needs_capacity(const struct scenario *sc)
{
    return sc->arrival.process != ARRIVAL_ALL && sc->arrival.relative;
}
