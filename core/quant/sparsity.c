/* core/quant/sparsity.c — 2:4 pruning of a model's linear weights; see
 * sparsity.h. The compressed encoding is kernels/sparse24.{h,c}; this file
 * chooses which two of each four survive and swaps the model's weights. */
#include "core/quant/sparsity.h"
#include "core/quant/calib.h"
#include "kernels/sparse24.h"
#include "kernels/xq_blocks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sparsity_mode_name(enum opt_sparsity m)
{
    switch (m) {
    case SPARSITY_OFF: return "off";
    case SPARSITY_MAGNITUDE: return "2:4-magnitude";
    case SPARSITY_WANDA: return "2:4-wanda";
    }
    return "?";
}

void sparsity_prune_row(float *w, const float *xnorm, int n)
{
    for (int g = 0; g + 4 <= n; g += 4) {
        float s[4];
        for (int i = 0; i < 4; i++) s[i] = fabsf(w[g + i]) * (xnorm ? xnorm[g + i] : 1.f);
        int a, b;
        sparse24_top2(s, &a, &b);
        for (int i = 0; i < 4; i++)
            if (i != a && i != b) w[g + i] = 0.f;
    }
}

enum dtype sparsity_value_type(enum dtype t)
{
    if (t == DT_F32 || t == DT_S24_F32) return DT_S24_F32;
    if (t == DT_Q8_0 || t == DT_I8 || t == DT_S24_Q8) return DT_S24_Q8;
    return DT_S24_F16;
}

double sparsity_model_bytes(const struct model_config *c, enum dtype values, bool head)
{
    double per = (double)dtype_row_bytes(values, S24_BLOCK) / S24_BLOCK;
    double sp = (double)dtype_row_bytes(sparsity_value_type(values), S24_BLOCK) / S24_BLOCK;
    double qd = (double)c->n_heads * c->head_dim, kvd = (double)c->n_kv_heads * c->head_dim;
    double layer = c->dim * (2 * qd + 2 * kvd) + 3.0 * c->dim * c->ffn_dim;   /* wq wo wk wv gate up down */
    double emb = (double)c->vocab * c->dim;
    double head_b = c->tied_output && !head ? 0 : emb * (head ? sp : per);
    return c->n_layers * layer * sp + emb * per + head_b + 4.0 * (c->n_layers * 2.0 * c->dim + c->dim);
}

/* Why w cannot be pruned ("" when it can). */
static const char *unprunable(const struct weight *w)
{
    if (!w->data) return "has no data (shape-only model)";
    if (w->dev) return "already has a backend copy (prune before model_upload)";
    if (w->shard_dim != SHARD_NONE) return "is a shard view (prune the whole tensor)";
    if (dtype_is_sparse24(w->type)) return "is already 2:4 sparse";
    if (w->cols % S24_BLOCK) return "has a width that is not a multiple of 16";
    return "";
}

/* One int8-per-channel row (DT_I8: f32 s, int8 q[n]) → s24_q8 keeping the
 * int8 values themselves: per group the two largest |q|·xnorm (s is one
 * positive number per row, so the order is |w|·xnorm's), every block's scale
 * d = s rounded to f16 (relative change <= 2^-11 for s >= 2^-14; the int8
 * step is 1/127 of the row's max). Re-encoding the decoded floats instead
 * would round every kept value a second time onto a per-block grid. */
static void prune_i8_row(const unsigned char *in, const float *xnorm, unsigned char *out, int n)
{
    float sc;
    memcpy(&sc, in, sizeof sc);
    uint16_t d = fp32_to_fp16(sc);
    const int8_t *q = (const int8_t *)(in + XQ_ROW_HDR);
    for (int b = 0; b < n / S24_BLOCK; b++, out += S24_Q8_BLOCK_BYTES) {
        uint16_t meta = 0;
        for (int g = 0; g < S24_BLOCK / 4; g++) {
            const int8_t *qg = q + b * S24_BLOCK + 4 * g;
            float s4[4];
            for (int i = 0; i < 4; i++) s4[i] = (float)abs(qg[i]) * (xnorm ? xnorm[b * S24_BLOCK + 4 * g + i] : 1.f);
            int i0, i1;
            sparse24_top2(s4, &i0, &i1);
            meta |= (uint16_t)(sparse24_nibble(i0, i1) << (4 * g));
            out[4 + 2 * g] = (unsigned char)qg[i0];
            out[4 + 2 * g + 1] = (unsigned char)qg[i1];
        }
        memcpy(out, &meta, 2);
        memcpy(out + 2, &d, 2);
    }
}

int sparsity_prune_weight(struct weight *w, const float *xnorm, enum dtype to, void **owned,
                          char *err, size_t errlen)
{
    const char *why = unprunable(w);
    if (*why || !dtype_is_sparse24(to)) {
        snprintf(err, errlen, "weight %s: %s; expected a whole %dx%d matrix with data, cols %% 16 == 0, into a 2:4 format",
                 w->name, *why ? why : "target format is not 2:4", w->rows, w->cols);
        return -1;
    }
    size_t in_row = weight_row_stride(w), out_row = dtype_row_bytes(to, w->cols);
    unsigned char *out = malloc(out_row * (size_t)w->rows);
    float *row = malloc(sizeof *row * (size_t)w->cols);
    if (!out || !row) {
        free(out);
        free(row);
        snprintf(err, errlen, "weight %s: out of memory for its 2:4 copy (%zu bytes)", w->name,
                 out_row * (size_t)w->rows);
        return -1;
    }
    for (int r = 0; r < w->rows; r++) {
        if (w->type == DT_I8 && to == DT_S24_Q8) {
            prune_i8_row((const unsigned char *)w->data + (size_t)r * in_row, xnorm, out + (size_t)r * out_row, w->cols);
            continue;
        }
        dtype_decode_row(w->type, (const char *)w->data + (size_t)r * in_row, row, w->cols);
        sparsity_prune_row(row, xnorm, w->cols);
        dtype_encode_row(to, row, out + (size_t)r * out_row, w->cols);
    }
    free(row);
    w->data = out;
    w->type = to;
    w->row_stride = 0;
    *owned = out;
    return 0;
}

/* ---- whole model ---- */

/* One pruned weight: where it was, what it held before, the new buffer. */
struct pruned {
    struct weight *w;
    void *data;
    enum dtype type;
    size_t row_stride;
    void *buf;
};

/* The model's release chained behind the pruned weights: model_free puts
 * every weight back as the loader left it (its release frees by those
 * pointers: synth buffers, GGUF mapping), frees the 2:4 buffers, then runs
 * the release the model had. */
struct pruned_owner {
    void *owner;
    void (*release)(struct model *m);
    enum dtype wtype;
    struct pruned *p;
    int n, cap;
};

static void release_pruned(struct model *m)
{
    struct pruned_owner *o = m->owner;
    for (int i = o->n - 1; i >= 0; i--) {
        struct pruned *p = &o->p[i];
        p->w->data = p->data;
        p->w->type = p->type;
        p->w->row_stride = p->row_stride;
        free(p->buf);
    }
    free(o->p);
    m->wtype = o->wtype;
    m->owner = o->owner;
    m->release = o->release;
    free(o);
    if (m->release) m->release(m);
}

/* The model's owner list, installed on first use. NULL when out of memory. */
static struct pruned_owner *owner_of(struct model *m)
{
    if (m->release == release_pruned) return m->owner;
    struct pruned_owner *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->owner = m->owner;
    o->release = m->release;
    o->wtype = m->wtype;
    m->owner = o;
    m->release = release_pruned;
    return o;
}

/* Room for one more record; NULL when out of memory. */
static struct pruned *next_record(struct model *m)
{
    struct pruned_owner *o = owner_of(m);
    if (!o) return NULL;
    if (o->n == o->cap) {
        int cap = o->cap ? 2 * o->cap : 16;
        struct pruned *p = realloc(o->p, sizeof *p * (size_t)cap);
        if (!p) return NULL;
        o->p = p;
        o->cap = cap;
    }
    return &o->p[o->n];
}

static int prune_one(struct model *m, struct weight *w, int layer, const struct sparsity_opts *o,
                     char *err, size_t errlen)
{
    const float *xnorm = NULL;
    if (o->mode == SPARSITY_WANDA) {
        xnorm = o->norm ? o->norm(o->norm_user, w, layer) : NULL;
        if (!xnorm) {
            snprintf(err, errlen, "weight %s: sparsity=2:4-wanda needs calibration input norms; none for this weight",
                     w->name);
            return -1;
        }
    }
    enum dtype to = o->value_type == DT_COUNT ? sparsity_value_type(w->type)
                                              : sparsity_value_type(o->value_type);
    struct pruned *rec = next_record(m);
    if (!rec) {
        snprintf(err, errlen, "weight %s: out of memory", w->name);
        return -1;
    }
    *rec = (struct pruned){w, w->data, w->type, w->row_stride, NULL};
    if (sparsity_prune_weight(w, xnorm, to, &rec->buf, err, errlen) < 0) return -1;
    ((struct pruned_owner *)m->owner)->n++;
    m->owned_bytes += weight_bytes(w);
    return 0;
}

int sparsity_apply(struct model *m, const struct sparsity_opts *o, int *n_pruned, char *err,
                   size_t errlen)
{
    int n = 0;
    if (n_pruned) *n_pruned = 0;
    if (o->mode == SPARSITY_OFF) return 0;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        struct layer_weights *L = &m->layers[l];
        struct weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) {
            if (prune_one(m, ws[i], l, o, err, errlen) < 0) return -1;
            n++;
        }
    }
    if (o->head) {
        /* a tied head shares tok_embd's bytes: the pruned copy is the head's
         * alone (model_upload then uploads it apart), the embedding rows stay dense */
        if (prune_one(m, &m->output, -1, o, err, errlen) < 0) return -1;
        n++;
    }
    /* the layers' format, not the loaded wtype's: after quant=int8 the
     * loaded f32 model holds int8 values, pruned to s24_q8 */
    m->wtype = o->value_type != DT_COUNT ? sparsity_value_type(o->value_type)
             : m->cfg.n_layers > 0 ? m->layers[0].wq.type : sparsity_value_type(m->wtype);
    if (n_pruned) *n_pruned = n;
    return 0;
}

/* Wanda's norms from calibration: the input of weight w (its layer's tap,
 * the head's for layer -1), as floats in a scratch buffer that prune_one
 * consumes before the next call. */
struct wanda_norms {
    const struct model *m;
    const struct calib_stats *cs;
    float *buf;
    int cap;
};

static enum fwd_tap weight_tap(const struct model *m, const struct weight *w, int layer)
{
    if (layer < 0) return FWD_TAP_HEAD;
    const struct layer_weights *L = &m->layers[layer];
    if (w == &L->wq || w == &L->wk || w == &L->wv) return FWD_TAP_QKV;
    if (w == &L->wo) return FWD_TAP_O;
    if (w == &L->w_down) return FWD_TAP_DOWN;
    return FWD_TAP_GATE_UP;
}

static const float *wanda_norm(void *user, const struct weight *w, int layer)
{
    struct wanda_norms *wn = user;
    const struct calib_input *in = calib_get(wn->cs, layer, weight_tap(wn->m, w, layer));
    if (!in || in->cols != w->cols || in->tokens <= 0) return NULL;
    if (wn->cap < in->cols) {
        float *b = realloc(wn->buf, sizeof *b * (size_t)in->cols);
        if (!b) return NULL;
        wn->buf = b;
        wn->cap = in->cols;
    }
    for (int j = 0; j < in->cols; j++) wn->buf[j] = (float)calib_channel_norm(in, j);
    return wn->buf;
}

int sparsity_apply_options(struct model *m, const struct options *o, const struct calib_stats *cs,
                           int *n_pruned, char *err, size_t errlen)
{
    struct wanda_norms wn = {m, cs, NULL, 0};
    struct sparsity_opts so = {opt_enum(o, SPARSITY), opt_i(o, OPT_SPARSITY_HEAD) != 0, DT_COUNT,
                               wanda_norm, &wn};
    if (n_pruned) *n_pruned = 0;
    if (so.mode == SPARSITY_OFF) return 0;
    if (so.mode == SPARSITY_WANDA && !cs) {
        snprintf(err, errlen, "sparsity=2:4-wanda: needs calibration input norms of the unpruned model, and none "
                 "were collected; expected sparsity=off or 2:4-magnitude");
        return -1;
    }
    char why[256];
    int rc = sparsity_apply(m, &so, n_pruned, why, sizeof why);
    free(wn.buf);
    if (rc < 0) {
        snprintf(err, errlen, "sparsity=%s: %s", sparsity_mode_name(so.mode), why);
        return -1;
    }
    return 0;
}
