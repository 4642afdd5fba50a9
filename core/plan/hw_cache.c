/* core/plan/hw_cache.c — see hw_cache.h. */
#include "core/plan/hw_cache.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool hw_cache_measured(enum dtype t) { return !dtype_is_sparse24(t); }

/* A cursor over the text, one line at a time. */
struct lines {
    const char *p, *end;
    int no;
    char line[256];
};

/* The next line into ls->line (without its '\n'); false at the end, on a
 * line without '\n', one too long or one holding a NUL. */
static bool next_line(struct lines *ls)
{
    ls->no++;
    const char *nl = memchr(ls->p, '\n', (size_t)(ls->end - ls->p));
    if (!nl || (size_t)(nl - ls->p) >= sizeof ls->line || memchr(ls->p, 0, (size_t)(nl - ls->p))) return false;
    memcpy(ls->line, ls->p, (size_t)(nl - ls->p));
    ls->line[nl - ls->p] = 0;
    ls->p = nl + 1;
    return true;
}

static int fail(char *err, size_t errlen, int line, const char *what)
{
    snprintf(err, errlen, "line %d: expected %s", line, what);
    return -1;
}

/* "NAME V1 ... Vk" with k finite values in (0, 1e18), single spaces; v is
 * written only when the whole line is right. */
static bool name_values(const char *line, const char *name, int k, double *v)
{
    size_t n = strlen(name);
    if (strncmp(line, name, n) != 0) return false;
    double got[ROOF_MM_ROWS_N > ROOF_SMALL_N ? ROOF_MM_ROWS_N : ROOF_SMALL_N];
    const char *p = line + n;
    for (int i = 0; i < k; i++) {
        if (*p != ' ' || !p[1] || p[1] == ' ') return false;
        char *end;
        errno = 0;
        double x = strtod(p + 1, &end);
        if (errno || end == p + 1 || !isfinite(x) || !(x > 0) || !(x < 1e18)) return false;
        got[i] = x;
        p = end;
    }
    if (*p) return false;
    memcpy(v, got, sizeof(double) * (size_t)k);
    return true;
}

static bool name_value(const char *line, const char *name, double *v) { return name_values(line, name, 1, v); }

/* "mm <format> <K> <N>": the name of a matmul line, profile shape s. */
static void mm_line_name(char *out, size_t n, enum dtype t, int s)
{
    int k, rows;
    roof_mm_shape(s, &k, &rows);
    snprintf(out, n, "mm %s %d %d", dtype_info(t)->name, k, rows);
}

/* The profile's lines (hw_cache.h) into got; 0, or -1 with err naming the line. */
static int parse_profile(struct lines *ls, struct roof_profile *got, char *err, size_t errlen)
{
    char name[64], what[128];
    for (int t = 0; t < DT_COUNT; t++) {
        if (!hw_cache_measured((enum dtype)t)) continue;
        for (int s = 0; s < ROOF_MM_SHAPES; s++) {
            mm_line_name(name, sizeof name, (enum dtype)t, s);
            if (!next_line(ls) || !name_values(ls->line, name, ROOF_MM_ROWS_N, got->mm_elem_s[t][s])) {
                snprintf(what, sizeof what, "'%s' and %d seconds per element in (0, 1e18)", name, ROOF_MM_ROWS_N);
                return fail(err, errlen, ls->no, what);
            }
        }
    }
    for (int k = 0; k < ROOF_ATTN_KINDS; k++) {
        double v[2];
        snprintf(name, sizeof name, "attn %s", roof_attn_kind_name(k));
        if (!next_line(ls) || !name_values(ls->line, name, 2, v)) {
            snprintf(what, sizeof what, "'%s FIXED_S PER_FLOP_S' in (0, 1e18)", name);
            return fail(err, errlen, ls->no, what);
        }
        got->attn_fixed_s[k] = v[0];
        got->attn_flop_s[k] = v[1];
    }
    for (int k = 1; k < ROOF_ATTN_KINDS; k += 2) {
        double v[2];
        snprintf(name, sizeof name, "attn %s_q%d", roof_attn_kind_name(k), ROOF_ATTN_WIDE_Q);
        if (!next_line(ls) || !name_values(ls->line, name, 2, v)) {
            snprintf(what, sizeof what, "'%s FIXED_S PER_FLOP_S' in (0, 1e18)", name);
            return fail(err, errlen, ls->no, what);
        }
        got->attn_wide_fixed_s[k] = v[0];
        got->attn_wide_flop_s[k] = v[1];
    }
    for (int k = 0; k < RSO_COUNT; k++) {
        snprintf(name, sizeof name, "small %s", roof_small_name((enum roof_small_op)k));
        if (!next_line(ls) || !name_values(ls->line, name, ROOF_SMALL_N, got->small_s[k])) {
            snprintf(what, sizeof what, "'%s' and %d seconds in (0, 1e18)", name, ROOF_SMALL_N);
            return fail(err, errlen, ls->no, what);
        }
    }
    return 0;
}

int hw_cache_parse(const char *text, size_t n, const char *key, struct roof_device *d, char *err, size_t errlen)
{
    if (n > HW_CACHE_MAX_BYTES) {
        snprintf(err, errlen, "%zu bytes; expected at most %d", n, HW_CACHE_MAX_BYTES);
        return -1;
    }
    struct lines ls = {.p = text, .end = text + n};
    struct roof_device got = *d;
    char what[96];
    if (!next_line(&ls) || strcmp(ls.line, HW_CACHE_MAGIC) != 0) return fail(err, errlen, ls.no, "'" HW_CACHE_MAGIC "'");
    if (!next_line(&ls) || strncmp(ls.line, "key ", 4) != 0 || strcmp(ls.line + 4, key) != 0)
        return fail(err, errlen, ls.no, "'key' and this machine's key (another CPU or backend)");
    if (!next_line(&ls) || !name_value(ls.line, "bandwidth", &got.bw))
        return fail(err, errlen, ls.no, "'bandwidth BYTES_PER_S' in (0, 1e18)");
    if (!next_line(&ls) || !name_value(ls.line, "op_overhead_s", &got.op_overhead_s))
        return fail(err, errlen, ls.no, "'op_overhead_s SECONDS' in (0, 1e18)");
    static const char *const TIER[4] = {"llc_bytes", "llc_bw", "near_bytes", "near_bw"};
    double *tier[4] = {&got.llc_bytes, &got.llc_bw, &got.near_bytes, &got.near_bw};
    for (int i = 0; i < 4; i++)
        if (!next_line(&ls) || !name_value(ls.line, TIER[i], tier[i])) {
            snprintf(what, sizeof what, "'%s VALUE' in (0, 1e18)", TIER[i]);
            return fail(err, errlen, ls.no, what);
        }
    for (int t = 0; t < DT_COUNT; t++) {
        if (!hw_cache_measured((enum dtype)t)) continue;
        const char *name = dtype_info((enum dtype)t)->name;
        if (!next_line(&ls) || !name_value(ls.line, name, &got.wtype_flops[t])) {
            snprintf(what, sizeof what, "'%s FLOP_PER_S' in (0, 1e18)", name);
            return fail(err, errlen, ls.no, what);
        }
    }
    if (parse_profile(&ls, &got.prof, err, errlen) < 0) return -1;
    if (ls.p != ls.end) return fail(err, errlen, ls.no + 1, "the end of the file");
    *d = got;
    return 0;
}

int hw_cache_format(const char *key, const struct roof_device *d, char *out, size_t cap)
{
    if (strchr(key, '\n')) return -1;
    int n = snprintf(out, cap, HW_CACHE_MAGIC "\nkey %s\nbandwidth %.17g\nop_overhead_s %.17g\nllc_bytes %.17g\n"
                     "llc_bw %.17g\nnear_bytes %.17g\nnear_bw %.17g\n", key, d->bw, d->op_overhead_s, d->llc_bytes,
                     d->llc_bw, d->near_bytes, d->near_bw);
    for (int t = 0; n >= 0 && (size_t)n < cap && t < DT_COUNT; t++)
        if (hw_cache_measured((enum dtype)t))
            n += snprintf(out + n, cap - (size_t)n, "%s %.17g\n", dtype_info((enum dtype)t)->name, d->wtype_flops[t]);
    const struct roof_profile *p = &d->prof;
    for (int t = 0; n >= 0 && (size_t)n < cap && t < DT_COUNT; t++)
        for (int s = 0; hw_cache_measured((enum dtype)t) && n >= 0 && (size_t)n < cap && s < ROOF_MM_SHAPES; s++) {
            char name[64];
            mm_line_name(name, sizeof name, (enum dtype)t, s);
            n += snprintf(out + n, cap - (size_t)n, "%s", name);
            for (int i = 0; i < ROOF_MM_ROWS_N && n >= 0 && (size_t)n < cap; i++)
                n += snprintf(out + n, cap - (size_t)n, " %.17g", p->mm_elem_s[t][s][i]);
            if (n >= 0 && (size_t)n < cap) n += snprintf(out + n, cap - (size_t)n, "\n");
        }
    for (int k = 0; n >= 0 && (size_t)n < cap && k < ROOF_ATTN_KINDS; k++)
        n += snprintf(out + n, cap - (size_t)n, "attn %s %.17g %.17g\n", roof_attn_kind_name(k), p->attn_fixed_s[k],
                      p->attn_flop_s[k]);
    for (int k = 1; n >= 0 && (size_t)n < cap && k < ROOF_ATTN_KINDS; k += 2)
        n += snprintf(out + n, cap - (size_t)n, "attn %s_q%d %.17g %.17g\n", roof_attn_kind_name(k), ROOF_ATTN_WIDE_Q,
                      p->attn_wide_fixed_s[k], p->attn_wide_flop_s[k]);
    for (int k = 0; n >= 0 && (size_t)n < cap && k < RSO_COUNT; k++) {
        n += snprintf(out + n, cap - (size_t)n, "small %s", roof_small_name((enum roof_small_op)k));
        for (int i = 0; i < ROOF_SMALL_N && n >= 0 && (size_t)n < cap; i++)
            n += snprintf(out + n, cap - (size_t)n, " %.17g", p->small_s[k][i]);
        if (n >= 0 && (size_t)n < cap) n += snprintf(out + n, cap - (size_t)n, "\n");
    }
    return n >= 0 && (size_t)n < cap ? n : -1;
}
