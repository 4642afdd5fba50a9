/* core/quant/calib.c — see calib.h. */
#include "core/quant/calib.h"
#include "core/quant/evaltext.h"
#include "core/quant/oneseq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALIB_PER_LAYER 4     /* FWD_TAP_QKV .. FWD_TAP_DOWN */

static int tap_cols(const struct model_config *c, enum fwd_tap t)
{
    switch (t) {
    case FWD_TAP_O:    return c->n_heads * c->head_dim;
    case FWD_TAP_DOWN: return c->ffn_dim;
    default:           return c->dim;
    }
}

static int n_inputs(const struct calib_stats *s)
{
    return s->n_layers * CALIB_PER_LAYER + 1;
}

int calib_init(struct calib_stats *s, const struct model_config *c)
{
    memset(s, 0, sizeof *s);
    s->n_layers = c->n_layers;
    s->in = calloc((size_t)n_inputs(s), sizeof *s->in);
    if (!s->in) return -1;
    for (int i = 0; i < n_inputs(s); i++) {
        struct calib_input *in = &s->in[i];
        in->cols = tap_cols(c, i == n_inputs(s) - 1 ? FWD_TAP_HEAD : (enum fwd_tap)(i % CALIB_PER_LAYER));
        in->ch_absmax = calloc((size_t)in->cols, sizeof *in->ch_absmax);
        in->ch_sumsq = calloc((size_t)in->cols, sizeof *in->ch_sumsq);
        if (!in->ch_absmax || !in->ch_sumsq) {
            calib_free(s);
            return -1;
        }
    }
    return 0;
}

void calib_free(struct calib_stats *s)
{
    for (int i = 0; s->in && i < n_inputs(s); i++) {
        free(s->in[i].ch_absmax);
        free(s->in[i].ch_sumsq);
    }
    free(s->in);
    memset(s, 0, sizeof *s);
}

const struct calib_input *calib_get(const struct calib_stats *s, int layer, enum fwd_tap tap)
{
    if (!s->in || tap < 0 || tap >= FWD_TAP_COUNT) return NULL;
    if (tap == FWD_TAP_HEAD) return &s->in[n_inputs(s) - 1];
    if (layer < 0 || layer >= s->n_layers) return NULL;
    return &s->in[layer * CALIB_PER_LAYER + tap];
}

double calib_channel_norm(const struct calib_input *in, int j)
{
    return sqrt(in->ch_sumsq[j]);
}

void calib_observe(void *user, int layer, enum fwd_tap tap, const float *x, int rows, int cols)
{
    struct calib_stats *s = user;
    struct calib_input *in = (struct calib_input *)calib_get(s, layer, tap);
    if (!in || in->cols != cols) return;
    for (int r = 0; r < rows; r++) {
        const float *row = x + (size_t)r * cols;
        for (int j = 0; j < cols; j++) {
            float a = fabsf(row[j]);
            if (a > in->ch_absmax[j]) in->ch_absmax[j] = a;
            if (a > in->absmax) in->absmax = a;
            in->ch_sumsq[j] += (double)row[j] * row[j];
        }
    }
    in->tokens += rows;
}

/* One sequence: BOS in place of its first token when the model adds one. */
static int run_sequence(struct oneseq *q, int32_t *tokens, int n, int32_t bos, float *logits)
{
    int32_t first = tokens[0];
    int rc;
    if (bos >= 0) tokens[0] = bos;
    rc = oneseq_run(q, tokens, n, 0, true, logits);
    tokens[0] = first;
    return rc;
}

int calib_collect(struct model *m, struct backend *be, const int32_t *tokens, int n, int seq_len,
                  struct calib_stats *out, char *err, size_t errlen)
{
    if (seq_len <= 0) seq_len = 256;
    if (seq_len > m->cfg.max_ctx) seq_len = m->cfg.max_ctx;
    if (n < 1) {
        snprintf(err, errlen, "calibration: no tokens");
        return -1;
    }
    if (seq_len > n) seq_len = n;
    if (calib_init(out, &m->cfg) < 0) {
        snprintf(err, errlen, "calibration: out of memory for the statistics");
        return -1;
    }
    struct oneseq q;
    float *logits = malloc((size_t)seq_len * m->cfg.vocab * sizeof *logits);
    int32_t *copy = malloc((size_t)n * sizeof *copy);
    if (!logits || !copy || oneseq_init(&q, m, be, seq_len, DT_F32, ATTN_FLASH, err, errlen) < 0) {
        if (!logits || !copy) snprintf(err, errlen, "calibration: out of memory for %d tokens", seq_len);
        free(logits); free(copy); calib_free(out);
        return -1;
    }
    memcpy(copy, tokens, (size_t)n * sizeof *copy);
    q.fw.observe = calib_observe;
    q.fw.observe_user = out;
    int32_t bos = evaltext_bos(m);
    int rc = 0;
    for (int at = 0; at < n && rc >= 0; at += seq_len) {
        int len = n - at < seq_len ? n - at : seq_len;
        rc = run_sequence(&q, copy + at, len, bos, logits);
        if (rc >= 0) out->n_tokens += len;
    }
    oneseq_free(&q);
    free(logits); free(copy);
    if (rc < 0) {
        snprintf(err, errlen, "calibration: forward failed");
        calib_free(out);
        return -1;
    }
    return 0;
}

int calib_collect_shipped(struct model *m, struct backend *be, int max_tokens,
                          struct calib_stats *out, char *err, size_t errlen)
{
    int32_t *ids;
    int n = evaltext_load_tokens(m, EVALTEXT_CALIB, max_tokens > 0 ? max_tokens : 512, &ids, err, errlen);
    if (n < 0) return -1;
    int rc = calib_collect(m, be, ids, n, 0, out, err, errlen);
    free(ids);
    return rc;
}
