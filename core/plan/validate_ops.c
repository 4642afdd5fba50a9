/* core/plan/validate_ops.c — see validate_ops.h. */
#include "core/plan/validate_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int64_t ROWS_LO[] = {1, 2, 5, 17, 65, 513};
#define ROWS_N ((int)(sizeof ROWS_LO / sizeof ROWS_LO[0]))

int64_t validate_rows_bucket(int64_t x)
{
    int i = 0;
    while (i + 1 < ROWS_N && x >= ROWS_LO[i + 1]) i++;
    return ROWS_LO[i];
}

int64_t validate_elems_bucket(int64_t x)
{
    int64_t lo = 1;
    while (lo <= x / 16) lo *= 16;
    return lo;
}

/* The kind record r belongs to (its key fields; sums zero). */
static struct validate_kind kind_of(const struct kernel_record *r)
{
    struct validate_kind k = {.cls = r->cls};
    snprintf(k.name, sizeof k.name, "%s", r->name);
    if (r->cls == OPC_MATMUL) {
        k.n = r->shape[1];
        k.k = r->shape[2];
        k.lo = validate_rows_bucket(r->shape[0]);
    } else if (r->cls == OPC_ATTN) {
        k.lo = validate_rows_bucket(r->shape[0]);
    } else {
        k.lo = validate_elems_bucket(r->shape[0]);
    }
    return k;
}

static bool same_kind(const struct validate_kind *a, const struct validate_kind *b)
{
    return a->n == b->n && a->k == b->k && a->lo == b->lo && strcmp(a->name, b->name) == 0;
}

int validate_kinds_add(struct validate_kinds *t, const struct kernel_record *r, enum validate_phase ph, double pred_s,
                       double meas_s)
{
    struct validate_kind key = kind_of(r);
    int i = 0;
    while (i < t->n && !same_kind(&t->k[i], &key)) i++;     /* a few dozen kinds: a linear scan */
    if (i == t->n) {
        if (t->n == t->cap) {
            int cap = t->cap ? 2 * t->cap : 32;
            struct validate_kind *k = realloc(t->k, (size_t)cap * sizeof *k);
            if (!k) return -1;
            t->k = k;
            t->cap = cap;
        }
        t->k[t->n++] = key;
    }
    struct validate_class *c = &t->k[i].ph[ph];
    c->pred_s += pred_s;
    c->meas_s += meas_s;
    c->count++;
    return 0;
}

static enum validate_phase g_sort_phase;   /* qsort has no context argument */

static int by_measured(const void *a, const void *b)
{
    double x = ((const struct validate_kind *)a)->ph[g_sort_phase].meas_s;
    double y = ((const struct validate_kind *)b)->ph[g_sort_phase].meas_s;
    return x > y ? -1 : x < y;
}

void validate_kinds_sort(struct validate_kinds *t, enum validate_phase ph)
{
    g_sort_phase = ph;
    if (t->n > 1) qsort(t->k, (size_t)t->n, sizeof *t->k, by_measured);
}

/* The largest size of the bucket that starts at lo; -1: unbounded. */
static int64_t rows_hi(int64_t lo)
{
    for (int i = 0; i + 1 < ROWS_N; i++)
        if (ROWS_LO[i] == lo) return ROWS_LO[i + 1] - 1;
    return -1;
}

const char *validate_kind_key(const struct validate_kind *k, char *out, size_t n)
{
    int64_t hi = k->cls == OPC_MATMUL || k->cls == OPC_ATTN ? rows_hi(k->lo) : k->lo * 16 - 1;
    const char *what = k->cls == OPC_MATMUL ? "m" : k->cls == OPC_ATTN ? "n_q" : "elems";
    char range[48];
    if (hi == k->lo) snprintf(range, sizeof range, "%s %lld", what, (long long)k->lo);
    else if (hi < 0) snprintf(range, sizeof range, "%s %lld+", what, (long long)k->lo);
    else snprintf(range, sizeof range, "%s %lld-%lld", what, (long long)k->lo, (long long)hi);
    if (k->cls == OPC_MATMUL) snprintf(out, n, "%lldx%lld %s", (long long)k->n, (long long)k->k, range);
    else snprintf(out, n, "%s", range);
    return out;
}

void validate_kinds_free(struct validate_kinds *t)
{
    free(t->k);
    memset(t, 0, sizeof *t);
}
