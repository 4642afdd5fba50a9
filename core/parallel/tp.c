/* core/parallel/tp.c — see tp.h. */
#include "core/parallel/tp.h"
#include "kernels/comm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Heads: split the KV heads when there are at least tp of them, else give
 * each rank n_heads/tp query heads inside one group (replicating its KV head). */
static int split_heads(const struct model_config *c, int tp, int r, struct tp_split *s, char *err, size_t errlen)
{
    int g = c->n_heads / c->n_kv_heads;
    if (c->n_kv_heads >= tp) {
        s->kv_lo = (int)comm_rows_lo(c->n_kv_heads, tp, r);
        s->kv_hi = (int)comm_rows_lo(c->n_kv_heads, tp, r + 1);
        s->q_lo = s->kv_lo * g;
        s->q_hi = s->kv_hi * g;
        return 0;
    }
    int per = c->n_heads / tp;
    if (c->n_heads % tp || g % per) {
        snprintf(err, errlen, "tp=%d: %s has %d heads in %d KV groups of %d; expected tp <= %d, or tp "
                 "dividing the heads with whole groups per rank", tp, c->name, c->n_heads, c->n_kv_heads, g,
                 c->n_kv_heads);
        return -1;
    }
    s->q_lo = r * per;
    s->q_hi = s->q_lo + per;
    s->kv_lo = s->q_lo / g;
    s->kv_hi = s->kv_lo + 1;
    return 0;
}

int tp_split_of(const struct model *m, int tp, int rank, struct tp_split *out, char *err, size_t errlen)
{
    const struct model_config *c = &m->cfg;
    memset(out, 0, sizeof *out);
    if (tp < 1 || rank < 0 || rank >= tp) {
        snprintf(err, errlen, "tp=%d rank %d; expected tp >= 1 and 0 <= rank < tp", tp, rank);
        return -1;
    }
    if (split_heads(c, tp, rank, out, err, errlen) < 0) return -1;
    /* ffn features in whole blocks of w_down's format (its columns are split) */
    int unit = dtype_info(m->layers[0].w_down.type)->block_elems;
    for (int l = 1; l < c->n_layers; l++) {
        int u = dtype_info(m->layers[l].w_down.type)->block_elems;
        if (u > unit) unit = u;
    }
    int units = c->ffn_dim / unit;
    if (units < tp) {
        snprintf(err, errlen, "tp=%d: ffn_dim %d is %d blocks of %d; expected tp <= %d", tp, c->ffn_dim, units,
                 unit, units);
        return -1;
    }
    out->ffn_lo = (int)comm_rows_lo(units, tp, rank) * unit;
    out->ffn_hi = rank + 1 == tp ? c->ffn_dim : (int)comm_rows_lo(units, tp, rank + 1) * unit;
    out->vocab_lo = (int)comm_rows_lo(c->vocab, tp, rank);
    out->vocab_hi = (int)comm_rows_lo(c->vocab, tp, rank + 1);
    return 0;
}

static int shard_layer(struct layer_weights *d, const struct layer_weights *s, const struct tp_split *p, int hd,
                       char *err, size_t errlen)
{
    int q0 = p->q_lo * hd, nq = (p->q_hi - p->q_lo) * hd, k0 = p->kv_lo * hd, nk = (p->kv_hi - p->kv_lo) * hd;
    int f0 = p->ffn_lo, nf = p->ffn_hi - p->ffn_lo;
    d->attn_norm = s->attn_norm;
    d->ffn_norm = s->ffn_norm;
    return weight_shard(&d->wq, &s->wq, SHARD_ROWS, q0, nq, err, errlen) ||
           weight_shard(&d->wk, &s->wk, SHARD_ROWS, k0, nk, err, errlen) ||
           weight_shard(&d->wv, &s->wv, SHARD_ROWS, k0, nk, err, errlen) ||
           weight_shard(&d->wo, &s->wo, SHARD_COLS, q0, nq, err, errlen) ||
           weight_shard(&d->w_gate, &s->w_gate, SHARD_ROWS, f0, nf, err, errlen) ||
           weight_shard(&d->w_up, &s->w_up, SHARD_ROWS, f0, nf, err, errlen) ||
           weight_shard(&d->w_down, &s->w_down, SHARD_COLS, f0, nf, err, errlen)
               ? -1 : 0;
}

int tp_shard_model(struct model *dst, const struct model *src, int tp, int rank, char *err, size_t errlen)
{
    struct tp_split p;
    memset(dst, 0, sizeof *dst);
    if (tp_split_of(src, tp, rank, &p, err, errlen) < 0) return -1;
    const struct model_config *c = &src->cfg;
    struct layer_weights *layers = calloc((size_t)c->n_layers, sizeof *layers);
    if (!layers) {
        snprintf(err, errlen, "tp: out of memory");
        return -1;
    }
    *dst = *src;
    dst->layers = layers;
    dst->owner = NULL;
    dst->release = NULL;
    dst->owned_bytes = 0;
    dst->cfg.n_heads = p.q_hi - p.q_lo;
    dst->cfg.n_kv_heads = p.kv_hi - p.kv_lo;
    dst->cfg.ffn_dim = p.ffn_hi - p.ffn_lo;
    for (int l = 0; l < c->n_layers; l++)
        if (shard_layer(&layers[l], &src->layers[l], &p, c->head_dim, err, errlen) < 0) {
            tp_shard_free(dst);
            return -1;
        }
    struct weight emb = src->tok_embd;   /* vocab-parallel: its rows; other tokens embed as zeros, summed over ranks */
    emb.shard_dim = SHARD_NONE;
    if (weight_shard(&dst->tok_embd, &emb, SHARD_ROWS, p.vocab_lo, p.vocab_hi - p.vocab_lo, err, errlen) < 0) {
        tp_shard_free(dst);
        return -1;
    }
    struct weight head = src->output;
    head.shard_dim = SHARD_NONE;     /* a tied head views the embedding table: split it by rows too */
    if (weight_shard(&dst->output, &head, SHARD_ROWS, p.vocab_lo, p.vocab_hi - p.vocab_lo, err, errlen) < 0) {
        tp_shard_free(dst);
        return -1;
    }
    return 0;
}

void tp_shard_free(struct model *dst)
{
    free(dst->layers);
    memset(dst, 0, sizeof *dst);
}

double tp_weight_bytes(const struct model *m, int l0, int l1)
{
    double b = 0;
    for (int l = l0; l < l1; l++) {
        const struct layer_weights *L = &m->layers[l];
        const struct weight *w[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) b += (double)weight_bytes(w[i]);
        b += 2.0 * m->cfg.dim * sizeof(float);
    }
    if (l0 == 0) b += (double)weight_bytes(&m->tok_embd);
    if (l1 == m->cfg.n_layers) b += (double)weight_bytes(&m->output) + m->cfg.dim * sizeof(float);
    return b;
}
