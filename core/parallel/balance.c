/* core/parallel/balance.c — see balance.h. */
#include "core/parallel/balance.h"

#include <float.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static double stage_cost(const double *pre, int a, int b, int L, double first, double last)
{
    return pre[b] - pre[a] + (a == 0 ? first : 0) + (b == L ? last : 0);
}

int par_balance_split(const double *cost, int L, double first_extra, double last_extra, int pp, int *l0, int *l1)
{
    if (pp < 1 || pp > L) return -1;
    double *pre = calloc((size_t)L + 1, sizeof *pre);
    /* best[s][b]: the smallest max cost of layers [0, b) in s + 1 stages; cut[s][b]: the last stage's start */
    double *best = malloc(sizeof *best * (size_t)pp * (L + 1));
    int *cut = malloc(sizeof *cut * (size_t)pp * (L + 1));
    if (!pre || !best || !cut) { free(pre); free(best); free(cut); return -1; }
    for (int l = 0; l < L; l++) pre[l + 1] = pre[l] + cost[l];
#define B(s, b) best[(size_t)(s) * (L + 1) + (b)]
#define C(s, b) cut[(size_t)(s) * (L + 1) + (b)]
    for (int b = 0; b <= L; b++) { B(0, b) = b ? stage_cost(pre, 0, b, L, first_extra, last_extra) : DBL_MAX; C(0, b) = 0; }
    for (int s = 1; s < pp; s++)
        for (int b = 0; b <= L; b++) {
            B(s, b) = DBL_MAX;
            C(s, b) = -1;
            for (int a = s; a < b; a++) {          /* stages 0..s-1 take [0, a), stage s takes [a, b) */
                double prev = B(s - 1, a), here = stage_cost(pre, a, b, L, first_extra, last_extra);
                double m = prev > here ? prev : here;
                if (prev < DBL_MAX && m < B(s, b)) { B(s, b) = m; C(s, b) = a; }
            }
        }
    int b = L;
    for (int s = pp - 1; s >= 0; s--) {
        l1[s] = b;
        l0[s] = C(s, b);
        b = l0[s];
    }
#undef B
#undef C
    free(pre); free(best); free(cut);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Best of reps: the matmuls of w[0..n) with x [rows][w.cols] into y. */
static double time_matmuls(struct backend *be, const struct weight *const *w, int n, float *y, const float *x,
                           int rows, int reps)
{
    double best = DBL_MAX;
    for (int r = 0; r < reps; r++) {
        backend_sync(be);
        double t0 = now_s();
        for (int i = 0; i < n; i++) backend_matmul(be, y, w[i], x, rows);
        backend_sync(be);
        double t = now_s() - t0;
        if (t < best) best = t;
    }
    return best;
}

int par_measure_costs(struct backend *be, const struct model *m, int rows, int reps, double *layer_s,
                      double *embed_s, double *head_s, char *err, size_t errlen)
{
    const struct model_config *c = &m->cfg;
    size_t width = (size_t)c->dim;
    if ((size_t)c->ffn_dim > width) width = (size_t)c->ffn_dim;
    if ((size_t)c->n_heads * c->head_dim > width) width = (size_t)c->n_heads * c->head_dim;
    size_t out_w = width > (size_t)c->vocab ? width : (size_t)c->vocab;
    float *host = malloc(sizeof *host * (size_t)rows * width);
    float *x = backend_alloc(be, sizeof(float) * (size_t)rows * width);
    float *y = backend_alloc(be, sizeof(float) * (size_t)rows * out_w);
    int *tok = malloc(sizeof *tok * (size_t)rows);
    if (!host || !x || !y || !tok) {
        snprintf(err, errlen, "pp_balance=time: out of memory for the probe (%d rows)", rows);
        free(host); free(tok); backend_free(be, x); backend_free(be, y);
        return -1;
    }
    uint32_t s = 12345;
    for (size_t i = 0; i < (size_t)rows * width; i++) {     /* any finite values: the time does not depend on them */
        s = s * 1664525u + 1013904223u;
        host[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
    }
    for (int i = 0; i < rows; i++) tok[i] = (int)((i * 7919u) % (unsigned)c->vocab);
    backend_upload(be, x, host, sizeof(float) * (size_t)rows * width);
    struct kernel_log *log = be->log;      /* the probe is no step's work: no kernel records */
    be->log = NULL;
    for (int l = 0; l < c->n_layers; l++) {
        const struct layer_weights *L = &m->layers[l];
        const struct weight *w[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        layer_s[l] = time_matmuls(be, w, 7, y, x, rows, reps);
    }
    const struct weight *head[] = {&m->output};
    *head_s = time_matmuls(be, head, 1, y, x, rows, reps);
    double best = DBL_MAX;
    for (int r = 0; r < reps; r++) {
        backend_sync(be);
        double t0 = now_s();
        backend_embed(be, y, &m->tok_embd, tok, rows);
        backend_sync(be);
        double t = now_s() - t0;
        if (t < best) best = t;
    }
    *embed_s = best;
    be->log = log;
    free(host); free(tok);
    backend_free(be, x);
    backend_free(be, y);
    return 0;
}
