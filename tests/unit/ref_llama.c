/* tests/unit/ref_llama.c — see ref_llama.h. */
#include "tests/unit/ref_llama.h"

#include <math.h>
#include <stdlib.h>

static void rmsnorm(double *y, const double *x, const float *w, int n, double eps)
{
    double ss = 0;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    double r = 1.0 / sqrt(ss / n + eps);
    for (int i = 0; i < n; i++) y[i] = x[i] * r * w[i];
}

static void matvec(double *y, const struct weight *w, const double *x)
{
    const float *W = w->data;
    for (int r = 0; r < w->rows; r++) {
        double s = 0;
        for (int c = 0; c < w->cols; c++) s += (double)W[(size_t)r * w->cols + c] * x[c];
        y[r] = s;
    }
}

static void rope(double *x, int pos, int n_heads, int hd, double theta)
{
    for (int h = 0; h < n_heads; h++)
        for (int i = 0; i < hd / 2; i++) {
            double f = pow(theta, -2.0 * i / hd) * pos, c = cos(f), s = sin(f);
            double *p = x + h * hd + 2 * i, a = p[0], b = p[1];
            p[0] = a * c - b * s;
            p[1] = a * s + b * c;
        }
}

static void emit(ref_tap_fn tap, void *user, int l, enum fwd_tap which, int t, const double *x, int cols)
{
    if (tap) tap(user, l, which, t, x, cols);
}

/* Causal attention of position t (q: [qd]) over K/V rows 0..t of one layer. */
static void attend(const struct model_config *c, const double *q, const double *K, const double *V, int t,
                   double *att, double *sc)
{
    int hd = c->head_dim, kvd = c->n_kv_heads * hd;
    for (int h = 0; h < c->n_heads; h++) {
        int kh = h / (c->n_heads / c->n_kv_heads);
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j <= t; j++) {
            double s = 0;
            for (int i = 0; i < hd; i++) s += q[h * hd + i] * K[(size_t)j * kvd + kh * hd + i];
            sc[j] = s / sqrt(hd);
            if (sc[j] > mx) mx = sc[j];
        }
        for (int j = 0; j <= t; j++) sum += (sc[j] = exp(sc[j] - mx));
        for (int i = 0; i < hd; i++) {
            double a = 0;
            for (int j = 0; j <= t; j++) a += sc[j] / sum * V[(size_t)j * kvd + kh * hd + i];
            att[h * hd + i] = a;
        }
    }
}

void ref_llama_forward(const struct model *m, const int32_t *tokens, int n, double *logits, ref_tap_fn tap,
                       void *user)
{
    const struct model_config *c = &m->cfg;
    int D = c->dim, hd = c->head_dim, qd = c->n_heads * hd, kvd = c->n_kv_heads * hd, F = c->ffn_dim;
    double *x = calloc((size_t)n * D, 8), *xb = calloc((size_t)n * D, 8), *K = calloc((size_t)n * kvd, 8),
           *V = calloc((size_t)n * kvd, 8), *q = calloc(qd, 8), *att = calloc(qd, 8), *o = calloc(D, 8),
           *g = calloc(F, 8), *u = calloc(F, 8), *sc = calloc(n, 8);
    const float *E = m->tok_embd.data;
    for (int t = 0; t < n; t++)
        for (int i = 0; i < D; i++) x[(size_t)t * D + i] = E[(size_t)tokens[t] * D + i];
    for (int l = 0; l < c->n_layers; l++) {
        const struct layer_weights *L = &m->layers[l];
        for (int t = 0; t < n; t++) {            /* every position's normed input, K, V first */
            double *nb = xb + (size_t)t * D;
            rmsnorm(nb, x + (size_t)t * D, L->attn_norm, D, c->norm_eps);
            emit(tap, user, l, FWD_TAP_QKV, t, nb, D);
            matvec(K + (size_t)t * kvd, &L->wk, nb);
            matvec(V + (size_t)t * kvd, &L->wv, nb);
            rope(K + (size_t)t * kvd, t, c->n_kv_heads, hd, c->rope.theta);
        }
        for (int t = 0; t < n; t++) {
            matvec(q, &L->wq, xb + (size_t)t * D);
            rope(q, t, c->n_heads, hd, c->rope.theta);
            attend(c, q, K, V, t, att, sc);
            emit(tap, user, l, FWD_TAP_O, t, att, qd);
            matvec(o, &L->wo, att);
            for (int i = 0; i < D; i++) x[(size_t)t * D + i] += o[i];
        }
        for (int t = 0; t < n; t++) {
            double *xt = x + (size_t)t * D, *nb = xb + (size_t)t * D;
            rmsnorm(nb, xt, L->ffn_norm, D, c->norm_eps);
            emit(tap, user, l, FWD_TAP_GATE_UP, t, nb, D);
            matvec(g, &L->w_gate, nb);
            matvec(u, &L->w_up, nb);
            for (int i = 0; i < F; i++) g[i] = g[i] / (1 + exp(-g[i])) * u[i];
            emit(tap, user, l, FWD_TAP_DOWN, t, g, F);
            matvec(o, &L->w_down, g);
            for (int i = 0; i < D; i++) xt[i] += o[i];
        }
    }
    for (int t = 0; t < n; t++) {
        rmsnorm(xb, x + (size_t)t * D, m->output_norm, D, c->norm_eps);
        emit(tap, user, c->n_layers, FWD_TAP_HEAD, t, xb, D);
        if (logits) matvec(logits + (size_t)t * c->vocab, &m->output, xb);
    }
    free(x); free(xb); free(K); free(V); free(q); free(att); free(o); free(g); free(u); free(sc);
}
