/* core/quant/smooth.c — SmoothQuant folded into the weights; see smooth.h. */
#include "core/quant/smooth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MIN 1e-5f
#define S_MAX 1e5f

/* s = xmax^α / wmax^(1−α), 1 where either side is 0 (nothing to migrate). */
static float smooth_factor(float xmax, float wmax, float alpha)
{
    if (!(xmax > 0) || !(wmax > 0)) return 1.0f;
    float s = powf(xmax, alpha) / powf(wmax, 1.0f - alpha);
    return s < S_MIN ? S_MIN : s > S_MAX ? S_MAX : s;
}

/* Make w a model-owned dense f32 copy of itself (any loaded format; f32
 * too: the loaded bytes may be a read-only mapping). */
static int to_f32(struct model *m, struct weight *w)
{
    float *out = malloc((size_t)w->rows * (size_t)w->cols * sizeof *out);
    if (!out) return -1;
    for (int r = 0; r < w->rows; r++) quant_decode_weight_row(w, r, out + (size_t)r * w->cols);
    return quant_replace_weight(m, w, DT_F32, out);
}

static float *f32(struct weight *w) { return w->data; }

/* max_r |W_rj| over the matrices ws (same cols) into wmax[cols] (max-accumulated). */
static void col_absmax(struct weight *const *ws, int n, float *wmax)
{
    for (int i = 0; i < n; i++)
        for (int r = 0; r < ws[i]->rows; r++) {
            const float *row = f32(ws[i]) + (size_t)r * ws[i]->cols;
            for (int j = 0; j < ws[i]->cols; j++) wmax[j] = fmaxf(wmax[j], fabsf(row[j]));
        }
}

static void scale_cols(struct weight *w, const float *s)
{
    for (int r = 0; r < w->rows; r++) {
        float *row = f32(w) + (size_t)r * w->cols;
        for (int j = 0; j < w->cols; j++) row[j] *= s[j];
    }
}

static void scale_rows_inv(struct weight *w, const float *s)
{
    for (int r = 0; r < w->rows; r++) {
        float *row = f32(w) + (size_t)r * w->cols;
        for (int j = 0; j < w->cols; j++) row[j] /= s[r];
    }
}

/* Inputs behind a norm: s over the matrices' columns, 1/s into the gain. */
static int smooth_normed(struct model *m, float **gain, struct weight *const *ws, int n, const float *xmax,
                         float alpha, float *tmax)
{
    int cols = ws[0]->cols;
    float *wmax = calloc((size_t)cols, sizeof *wmax), *s = malloc((size_t)cols * sizeof *s);
    float *old = *gain, *g = wmax && s ? quant_model_floats(m, gain, (size_t)cols) : NULL;
    if (!g) { free(wmax); free(s); return -1; }
    col_absmax(ws, n, wmax);
    *tmax = 0;
    for (int j = 0; j < cols; j++) {
        s[j] = smooth_factor(xmax[j], wmax[j], alpha);
        g[j] = old[j] / s[j];
        *tmax = fmaxf(*tmax, xmax[j] / s[j]);
    }
    for (int i = 0; i < n; i++) scale_cols(ws[i], s);
    free(wmax);
    free(s);
    return 0;
}

/* o: its input channel j = h·hd + e reads V channel c = (h / group)·hd + e;
 * one s per V channel (max over the q heads sharing it), 1/s into wv's rows. */
static int smooth_o(const struct model_config *c, struct weight *wo, struct weight *wv, const float *xmax,
                    float alpha, float *tmax)
{
    int hd = c->head_dim, group = c->n_heads / c->n_kv_heads, kvd = c->n_kv_heads * hd, cols = wo->cols;
    float *wmax = calloc((size_t)cols, sizeof *wmax), *xg = calloc((size_t)kvd, sizeof *xg),
          *wg = calloc((size_t)kvd, sizeof *wg), *s = malloc((size_t)kvd * sizeof *s),
          *sj = malloc((size_t)cols * sizeof *sj);
    int rc = -1;
    if (!wmax || !xg || !wg || !s || !sj) goto out;
    struct weight *one[1] = {wo};
    col_absmax(one, 1, wmax);
    for (int j = 0; j < cols; j++) {
        int ch = (j / hd / group) * hd + j % hd;
        xg[ch] = fmaxf(xg[ch], xmax[j]);
        wg[ch] = fmaxf(wg[ch], wmax[j]);
    }
    for (int ch = 0; ch < kvd; ch++) s[ch] = smooth_factor(xg[ch], wg[ch], alpha);
    *tmax = 0;
    for (int j = 0; j < cols; j++) {
        sj[j] = s[(j / hd / group) * hd + j % hd];
        *tmax = fmaxf(*tmax, xmax[j] / sj[j]);
    }
    scale_cols(wo, sj);
    scale_rows_inv(wv, s);
    rc = 0;
out:
    free(wmax); free(xg); free(wg); free(s); free(sj);
    return rc;
}

/* down: its input silu(gate)·up is linear in up's output j: 1/s into w_up's rows. */
static int smooth_down(struct weight *down, struct weight *up, const float *xmax, float alpha, float *tmax)
{
    int cols = down->cols;
    float *wmax = calloc((size_t)cols, sizeof *wmax), *s = malloc((size_t)cols * sizeof *s);
    if (!wmax || !s) { free(wmax); free(s); return -1; }
    struct weight *one[1] = {down};
    col_absmax(one, 1, wmax);
    *tmax = 0;
    for (int j = 0; j < cols; j++) {
        s[j] = smooth_factor(xmax[j], wmax[j], alpha);
        *tmax = fmaxf(*tmax, xmax[j] / s[j]);
    }
    scale_cols(down, s);
    scale_rows_inv(up, s);
    free(wmax);
    free(s);
    return 0;
}

int smooth_layer(struct model *m, int l, const struct smooth_act *a, float alpha, float tensor_max[4],
                 int n_threads, char *err, size_t errlen)
{
    (void)n_threads;
    struct layer_weights *L = &m->layers[l];
    struct weight *ws[QUANT_LAYER_MATRICES];
    quant_layer_matrices(L, ws);
    float tm[4] = {0};
    int rc = 0;
    for (int i = 0; i < QUANT_LAYER_MATRICES && rc == 0; i++) rc = to_f32(m, ws[i]);
    struct weight *qkv[3] = {&L->wq, &L->wk, &L->wv}, *gu[2] = {&L->w_gate, &L->w_up};
    if (rc == 0) rc = smooth_normed(m, &L->attn_norm, qkv, 3, a->qkv, alpha, &tm[0]);
    if (rc == 0) rc = smooth_o(&m->cfg, &L->wo, &L->wv, a->o, alpha, &tm[1]);
    if (rc == 0) rc = smooth_normed(m, &L->ffn_norm, gu, 2, a->gate_up, alpha, &tm[2]);
    if (rc == 0) rc = smooth_down(&L->w_down, &L->w_up, a->down, alpha, &tm[3]);
    if (rc < 0) {
        snprintf(err, errlen, "quant=w8a8-smooth: out of memory smoothing layer %d", l);
        return -1;
    }
    if (tensor_max) memcpy(tensor_max, tm, sizeof tm);
    return 0;
}
