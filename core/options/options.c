/* core/options/options.c — registry lookup, validation and formatting. */
#include "core/options/options.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct option_def DEFS[OPT_COUNT] = {
#define X(id, name, type, def, choices, mn, mx, tech, live, help) \
    [OPT_##id] = {name, type, def, choices, mn, mx, tech, live, help},
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

/* Index of `value` in "a|b|c", or -1. */
static int choice_index(const char *choices, const char *value)
{
    size_t n = strlen(value);
    int idx = 0;
    for (const char *p = choices; *p; idx++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, value, n) == 0) return idx;
        if (!bar) break;
        p = bar + 1;
    }
    return -1;
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
            snprintf(err, errlen, "%s: expected an integer in [%.0f, %.0f], got '%s'", d->name,
                     d->min, d->max, value);
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
            snprintf(err, errlen, "%s: expected a number in [%g, %g], got '%s'", d->name, d->min,
                     d->max, value);
            return -1;
        }
        v->f = x;
        snprintf(v->s, sizeof v->s, "%g", x);
        return 0;
    }
    case OT_ENUM: {
        int idx = choice_index(d->choices, value);
        if (idx < 0) {
            snprintf(err, errlen, "%s: expected one of %s, got '%s'", d->name, d->choices, value);
            return -1;
        }
        v->i = idx;
        snprintf(v->s, sizeof v->s, "%s", value);
        return 0;
    }
    case OT_BOOL:
        if (parse_bool(value, &v->i) < 0) {
            snprintf(err, errlen, "%s: expected on or off, got '%s'", d->name, value);
            return -1;
        }
        snprintf(v->s, sizeof v->s, "%s", v->i ? "on" : "off");
        return 0;
    case OT_SIZE:
        if (parse_size(value, &v->i) < 0 || v->i < d->min || v->i > d->max) {
            snprintf(err, errlen, "%s: expected a size like 256M or 1G in [%.0f, %.0f] bytes, got '%s'",
                     d->name, d->min, d->max, value);
            return -1;
        }
        snprintf(v->s, sizeof v->s, "%s", value);
        return 0;
    case OT_STR:
        if (strlen(value) >= sizeof v->s) {
            snprintf(err, errlen, "%s: expected at most %zu characters", d->name, sizeof v->s - 1);
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

int options_set(struct options *o, const char *key, const char *value, char *err, size_t errlen)
{
    int id = option_find(key);
    if (id < 0) {
        snprintf(err, errlen, "%s: unknown option (see `infertop options`)", key);
        return -1;
    }
    struct opt_value v;
    if (parse_value(&DEFS[id], value, &v, err, errlen) < 0) return -1;
    o->v[id] = v;
    o->explicit_set[id] = true;
    return 0;
}

int options_set_list(struct options *o, const char *list, char *err, size_t errlen)
{
    char item[256];
    const char *p = list;
    while (*p) {
        while (*p && (isspace((unsigned char)*p) || *p == ',')) p++;
        size_t n = strcspn(p, " \t\n,");
        if (n == 0) break;
        if (n >= sizeof item) {
            snprintf(err, errlen, "%.40s...: expected key=value of at most %zu characters", p,
                     sizeof item - 1);
            return -1;
        }
        memcpy(item, p, n);
        item[n] = 0;
        p += n;
        char *eq = strchr(item, '=');
        if (!eq || eq == item) {
            snprintf(err, errlen, "%s: expected key=value", item);
            return -1;
        }
        *eq = 0;
        if (options_set(o, item, eq + 1, err, errlen) < 0) return -1;
    }
    return 0;
}

size_t options_format(const struct options *o, char *buf, size_t n, bool only_explicit)
{
    size_t used = 0;
    if (n) buf[0] = 0;
    for (int i = 0; i < OPT_COUNT; i++) {
        if (only_explicit && !o->explicit_set[i]) continue;
        int w = snprintf(buf + used, used < n ? n - used : 0, "%s%s=%s", used ? " " : "",
                         DEFS[i].name, o->v[i].s);
        if (w > 0) used += (size_t)w;
    }
    return used;
}

void options_print_table(FILE *out)
{
    fprintf(out, "%-12s %-6s %-16s %-8s %-16s %-4s %s\n", "OPTION", "TYPE", "VALUES", "DEFAULT",
            "TECHNIQUE", "LIVE", "HELP");
    for (int i = 0; i < OPT_COUNT; i++) {
        const struct option_def *d = &DEFS[i];
        char values[64];
        if (d->type == OT_ENUM) snprintf(values, sizeof values, "%s", d->choices);
        else if (d->type == OT_BOOL) snprintf(values, sizeof values, "on|off");
        else if (d->type == OT_STR) snprintf(values, sizeof values, "text");
        else snprintf(values, sizeof values, "%g..%g", d->min, d->max);
        fprintf(out, "%-12s %-6s %-16s %-8s %-16s %-4s %s\n", d->name, opt_type_name(d->type),
                values, d->def, d->technique, d->live ? "yes" : "no", d->help);
    }
}
