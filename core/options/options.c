/* core/options/options.c — registry lookup, validation and formatting. */
#include "core/options/options.h"
#include "core/engine/kvcache.h"     /* enum kv_alloc_kind: the constants of kv's choices */
#include "kernels/backend.h"         /* enum attn_impl, enum dtype */

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Per enum option, from its one choice list: the names, the C values, the
 * "a|b|c" text and the count. A list and its option's type must agree:
 * checked at compile time. */
#define CHOICE_NAME(value, name) name,
#define CHOICE_VALUE(value, name) (int64_t)(value),
#define CHOICE_TEXT(value, name) "|" name
#define CHOICE_ONE(value, name) +1
#define X(id, name, type, def, choices, mn, mx, tech, cls, scope, help)                                  \
    static const char *const CHOICE_NAMES_##id[] = {choices(CHOICE_NAME) NULL};                        \
    static const int64_t CHOICE_VALUES_##id[] = {choices(CHOICE_VALUE) 0};                             \
    static const char CHOICE_TEXT_##id[] = "" choices(CHOICE_TEXT);                                    \
    enum { N_CHOICES_##id = 0 choices(CHOICE_ONE) };                                                    \
    _Static_assert((type == OT_ENUM) == (N_CHOICES_##id > 0), name ": enum options and only they have a choice list");
#include "core/options/options_table.h"
#undef X

static const struct option_def DEFS[OPT_COUNT] = {
#define X(id, name, type, def, choices, mn, mx, tech, cls, scope, help)                                  \
    [OPT_##id] = {name, type, def, N_CHOICES_##id, CHOICE_NAMES_##id, CHOICE_VALUES_##id,             \
                  N_CHOICES_##id ? CHOICE_TEXT_##id + 1 : NULL, mn, mx, tech, cls, scope, help},
#include "core/options/options_table.h"
#undef X
};

const struct option_def *option_def(enum opt_id id) { return &DEFS[id]; }

int option_find(const char *name)
{
    for (int i = 0; i < OPT_COUNT; i++)
        if (strcmp(DEFS[i].name, name) == 0) return i;
    return -1;
}

const char *opt_type_name(enum opt_type t)
{
    static const char *N[] = {"int", "float", "enum", "bool", "size", "string"};
    return N[t];
}

const char *opt_class_name(enum opt_class c)
{
    static const char *N[] = {"live", "rebuild", "process"};
    return N[c];
}

const char *opt_class_effect(enum opt_class c)
{
    static const char *N[] = {"live, at the next step", "restarts the scenario", "at the next start of infertop"};
    return N[c];
}

int choice_index(const char *const *names, int n, const char *value)
{
    for (int i = 0; n < 0 ? names[i] != NULL : i < n; i++)
        if (strcmp(names[i], value) == 0) return i;
    return -1;
}

const char *const *option_choices(const struct option_def *d, int *n)
{
    static const char *const ON_OFF[] = {"on", "off"};
    *n = d->type == OT_BOOL ? 2 : d->n_choices;
    return d->type == OT_BOOL ? ON_OFF : d->type == OT_ENUM ? d->choice_names : NULL;
}

int option_choice_index(const struct option_def *d, const char *value)
{
    int n;
    const char *const *names = option_choices(d, &n);
    return names ? choice_index(names, n, value) : -1;
}

const char *option_choice_name(const struct option_def *d, int64_t value)
{
    for (int i = 0; i < d->n_choices; i++)
        if (d->choice_values[i] == value) return d->choice_names[i];
    return NULL;
}

int parse_size(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0 || !isfinite(v)) return -1;
    double mul = 1;
    switch (toupper((unsigned char)*end)) {
    case 'K': mul = 1024.0; end++; break;
    case 'M': mul = 1024.0 * 1024; end++; break;
    case 'G': mul = 1024.0 * 1024 * 1024; end++; break;
    case 'T': mul = 1024.0 * 1024 * 1024 * 1024; end++; break;
    }
    if (*end == 'i' || *end == 'I') end++;
    if (*end == 'B' || *end == 'b') end++;
    if (*end || v * mul > 9.0e18) return -1;
    *out = (int64_t)(v * mul);
    return 0;
}

static int parse_bool(const char *s, int64_t *out)
{
    static const char *T[] = {"on", "1", "true", "yes"}, *F[] = {"off", "0", "false", "no"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, T[i]) == 0) { *out = 1; return 0; }
        if (strcmp(s, F[i]) == 0) { *out = 0; return 0; }
    }
    return -1;
}

static int parse_value(const struct option_def *d, const char *value, struct opt_value *v,
                       char *err, size_t errlen)
{
    char *end;
    memset(v, 0, sizeof *v);
    switch (d->type) {
    case OT_INT: {
        errno = 0;
        long long x = strtoll(value, &end, 10);
        if (end == value || *end || errno || x < d->min || x > d->max) {
            expect_error(err, errlen, d->name, value, "an integer in [%.0f, %.0f]", d->min, d->max);
            return -1;
        }
        v->i = x;
        snprintf(v->s, sizeof v->s, "%lld", x);
        return 0;
    }
    case OT_FLOAT: {
        errno = 0;
        double x = strtod(value, &end);
        if (end == value || *end || errno || !isfinite(x) || x < d->min || x > d->max) {
            expect_error(err, errlen, d->name, value, "a number in [%g, %g]", d->min, d->max);
            return -1;
        }
        v->f = x;
        snprintf(v->s, sizeof v->s, "%g", x);
        return 0;
    }
    case OT_ENUM: {
        int idx = option_choice_index(d, value);
        if (idx < 0) {
            expect_error(err, errlen, d->name, value, "one of %s", d->choices);
            return -1;
        }
        v->i = d->choice_values[idx];
        snprintf(v->s, sizeof v->s, "%s", d->choice_names[idx]);
        return 0;
    }
    case OT_BOOL:
        if (parse_bool(value, &v->i) < 0) {
            expect_error(err, errlen, d->name, value, "on or off");
            return -1;
        }
        snprintf(v->s, sizeof v->s, "%s", v->i ? "on" : "off");
        return 0;
    case OT_SIZE:
        if (parse_size(value, &v->i) < 0 || v->i < d->min || v->i > d->max) {
            expect_error(err, errlen, d->name, value, "a size like 256M or 1G in [%.0f, %.0f] bytes", d->min, d->max);
            return -1;
        }
        snprintf(v->s, sizeof v->s, "%s", value);
        return 0;
    case OT_STR:
        if (strlen(value) >= sizeof v->s) {
            expect_error(err, errlen, d->name, NULL, "at most %zu characters", sizeof v->s - 1);
            return -1;
        }
        snprintf(v->s, sizeof v->s, "%s", value);
        return 0;
    }
    return -1;
}

void options_defaults(struct options *o)
{
    char err[160];
    memset(o, 0, sizeof *o);
    for (int i = 0; i < OPT_COUNT; i++)
        if (parse_value(&DEFS[i], DEFS[i].def, &o->v[i], err, sizeof err) < 0) abort();  /* table bug */
}

int options_set_id(struct options *o, enum opt_id id, const char *value, char *err, size_t errlen)
{
    struct opt_value v;
    if (parse_value(&DEFS[id], value, &v, err, errlen) < 0) return -1;
    o->v[id] = v;
    o->explicit_set[id] = true;
    return 0;
}

int options_set(struct options *o, const char *key, const char *value, char *err, size_t errlen)
{
    int id = option_find(key);
    if (id < 0) {
        snprintf(err, errlen, "%s: unknown option (see `infertop options`)", key);
        return -1;
    }
    return options_set_id(o, (enum opt_id)id, value, err, errlen);
}

static int set_item(void *ctx, const char *key, const char *value, char *err, size_t errlen)
{
    return options_set(ctx, key, value, err, errlen);
}

int options_set_list(struct options *o, const char *list, char *err, size_t errlen)
{
    return kvlist_each(list, set_item, o, err, errlen) < 0 ? -1 : 0;
}

/* Why an option is outside a scope, for the error line. */
static const char *scope_reason(const struct option_def *d, unsigned scope)
{
    if (d == &DEFS[OPT_MAX_TOKENS] && scope == OS_RUN)
        return "a scenario's [output] sets output lengths: --scenario-set \"output.dist=fixed output.value=N\"";
    if (d->scope == OS_TRAIN) return "distill only";
    return d->scope == OS_GEN ? "generate only" : "scenario runs only: tui, bench, ab";
}

int options_check_scope(const struct options *o, unsigned scope, const char *cmd, char *err, size_t errlen)
{
    for (int i = 0; i < OPT_COUNT; i++) {
        if (!o->explicit_set[i] || (DEFS[i].scope & scope)) continue;
        snprintf(err, errlen, "%s: not used by %s (%s)", DEFS[i].name, cmd, scope_reason(&DEFS[i], scope));
        return -1;
    }
    return 0;
}

size_t options_format(const struct options *o, char *buf, size_t n, bool only_explicit)
{
    size_t used = 0;
    if (n) buf[0] = 0;
    for (int i = 0; i < OPT_COUNT; i++)
        if (!only_explicit || o->explicit_set[i]) used = kvlist_append(buf, n, used, DEFS[i].name, o->v[i].s);
    return used;
}

/* The VALUES column: choices, on|off, text, or the range. */
static void values_text(const struct option_def *d, char *out, size_t n)
{
    if (d->type == OT_ENUM) snprintf(out, n, "%s", d->choices);
    else if (d->type == OT_BOOL) snprintf(out, n, "on|off");
    else if (d->type == OT_STR) snprintf(out, n, "text");
    else snprintf(out, n, "%g..%g", d->min, d->max);
}

static const char *scope_text(unsigned scope)
{
    unsigned s = scope & (OS_RUN | OS_GEN);
    if (!s) return "distill";
    return s == (OS_RUN | OS_GEN) ? "all" : s == OS_RUN ? "runs" : "generate";
}

void options_print_table(FILE *out)
{
    fprintf(out, "%-12s %-6s %-16s %-8s %-16s %-7s %-8s %s\n", "OPTION", "TYPE", "VALUES", "DEFAULT",
            "TECHNIQUE", "CLASS", "USED BY", "HELP");
    for (int i = 0; i < OPT_COUNT; i++) {
        const struct option_def *d = &DEFS[i];
        char values[64];
        values_text(d, values, sizeof values);
        fprintf(out, "%-12s %-6s %-16s %-8s %-16s %-7s %-8s %s\n", d->name, opt_type_name(d->type), values, d->def,
                d->technique, opt_class_name(d->cls), scope_text(d->scope), d->help);
    }
}
