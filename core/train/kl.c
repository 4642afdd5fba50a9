/* core/train/kl.c — top-k + tail distillation targets and the forward KL. */
#include "core/train/kl.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int kl_targets_alloc(struct kl_targets *t, size_t n, int k)
{
    memset(t, 0, sizeof *t);
    t->k = k; t->n = n;
    t->ids = malloc(n * (size_t)k * sizeof *t->ids);
    t->p = malloc(n * (size_t)k * sizeof *t->p);
    t->tail = malloc(n * sizeof *t->tail);
    if (t->ids && t->p && t->tail) return 0;
    kl_targets_free(t);
    return -1;
}

void kl_targets_free(struct kl_targets *t)
{
    free(t->ids); free(t->p); free(t->tail);
    memset(t, 0, sizeof *t);
}

/* Sift-down of a min-heap of k (value, id) pairs keyed by value, ties broken
 * by the larger id being "smaller" so the kept set is deterministic. */
static bool less(float va, int32_t ia, float vb, int32_t ib)
{
    return va < vb || (va == vb && ia > ib);
}

static void sift(float *v, int32_t *id, int k, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < k && less(v[l], id[l], v[m], id[m])) m = l;
        if (r < k && less(v[r], id[r], v[m], id[m])) m = r;
        if (m == i) return;
        float tv = v[i]; v[i] = v[m]; v[m] = tv;
        int32_t ti = id[i]; id[i] = id[m]; id[m] = ti;
        i = m;
    }
}

/* ids/vals [k]: the k largest z, most likely first. */
static void top_k(const float *z, int vocab, int k, int32_t *ids, float *vals)
{
    for (int i = 0; i < k; i++) { vals[i] = z[i]; ids[i] = i; }
    for (int i = k / 2 - 1; i >= 0; i--) sift(vals, ids, k, i);
    for (int j = k; j < vocab; j++)
        if (less(vals[0], ids[0], z[j], j)) { vals[0] = z[j]; ids[0] = j; sift(vals, ids, k, 0); }
    for (int n = k - 1; n > 0; n--) {          /* heap sort: smallest to the end */
        float tv = vals[0]; vals[0] = vals[n]; vals[n] = tv;
        int32_t ti = ids[0]; ids[0] = ids[n]; ids[n] = ti;
        sift(vals, ids, n, 0);
    }
}

/* log Σ exp(z/tau), in double, fixed order. */
static double logsumexp(const float *z, int vocab, float tau, double *mx_out)
{
    double mx = -INFINITY, s = 0;
    for (int j = 0; j < vocab; j++) if (z[j] / tau > mx) mx = z[j] / tau;
    for (int j = 0; j < vocab; j++) s += exp(z[j] / tau - mx);
    *mx_out = mx;
    return mx + log(s);
}

void kl_target_set(struct kl_targets *t, size_t i, const float *z, int vocab, float tau)
{
    int k = t->k < vocab ? t->k : vocab;
    int32_t *ids = t->ids + i * (size_t)t->k;
    float *p = t->p + i * (size_t)t->k;
    double mx, lse = logsumexp(z, vocab, tau, &mx), kept = 0;
    top_k(z, vocab, k, ids, p);
    for (int j = 0; j < k; j++) {
        double pj = exp(p[j] / tau - lse);
        p[j] = (float)pj;
        kept += pj;
    }
    double tail = 1.0 - kept;
    t->tail[i] = k == vocab || tail < 0 ? 0.0f : (float)tail;
}

double kl_position(const struct kl_targets *t, size_t i, const float *z, int vocab, float tau,
                   float *dz, float scale)
{
    int k = t->k < vocab ? t->k : vocab;
    const int32_t *ids = t->ids + i * (size_t)t->k;
    const float *p = t->p + i * (size_t)t->k;
    double mx, lse = logsumexp(z, vocab, tau, &mx), qk = 0, kl = 0;
    for (int j = 0; j < k; j++) {
        double lq = z[ids[j]] / tau - lse;
        qk += exp(lq);
        if (p[j] > 0) kl += p[j] * (log((double)p[j]) - lq);
    }
    double ptail = t->tail[i], qtail = 1.0 - qk;
    if (qtail < 1e-30) qtail = 1e-30;
    if (ptail > 0) kl += ptail * (log(ptail) - log(qtail));
    if (dz) {
        double ratio = ptail > 0 ? ptail / qtail : 0, g = (double)scale * tau;
        for (int j = 0; j < vocab; j++) {
            double q = exp(z[j] / tau - lse);
            dz[j] = (float)(g * (q - q * ratio));
        }
        for (int j = 0; j < k; j++) {
            double q = exp(z[ids[j]] / tau - lse);
            dz[ids[j]] = (float)(g * (q - p[j]));
        }
    }
    return kl;
}
