/* core/quant/quantize.c — the quant pass; see quantize.h. */
#include "core/quant/quantize.h"
#include "core/quant/smooth.h"
#include "core/quant/quant_calib.h"
#include "kernels/xq_blocks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool quantize_enabled(const struct options *o) { return opt_enum(o, QUANT) != QUANT_NONE; }

/* int4 / w4a8 with quant_weighting=act: the scale search weighs errors by E[x_j²]. */
static bool int4_weighted(const struct options *o)
{
    enum opt_quant q = opt_enum(o, QUANT);
    return (q == QUANT_INT4 || q == QUANT_W4A8) && opt_enum(o, QUANT_WEIGHTING) == QUANT_WEIGHTING_ACT;
}

bool quantize_needs_calib(const struct options *o)
{
    enum opt_quant q = opt_enum(o, QUANT);
    bool per_tensor = opt_enum(o, ACT_SCALE) == ACT_SCALE_TENSOR;
    return q == QUANT_W8A8_SMOOTH || ((q == QUANT_W8A8 || q == QUANT_FP8A8) && per_tensor) || int4_weighted(o);
}

static enum dtype int4_type(int g, bool sym)
{
    if (g == 128) return sym ? DT_I4S_128 : DT_I4A_128;
    if (g == 64) return sym ? DT_I4S_64 : DT_I4A_64;
    return sym ? DT_I4S_32 : DT_I4A_32;
}

int quantize_target(const struct options *o, int cols)
{
    switch (opt_enum(o, QUANT)) {
    case QUANT_NONE: return -1;
    case QUANT_INT8: return DT_I8;
    case QUANT_FP8: return opt_enum(o, FP8_FORMAT);
    case QUANT_W8A8: case QUANT_W8A8_SMOOTH: return DT_W8A8;
    case QUANT_FP8A8: return DT_F8A8;
    case QUANT_W4A8: return cols % 32 ? -1 : DT_Q4_0;
    case QUANT_INT4: break;
    }
    int g = opt_enum(o, QUANT_GROUP);
    while (g > 32 && cols % g) g /= 2;
    return cols % g ? -1 : (int)int4_type(g, opt_i(o, OPT_QUANT_SYM) != 0);
}

/* ---- encoding one matrix, rows in parallel ---- */

struct enc_job {
    const struct weight *w;
    const float *imp;          /* [cols] per input channel importance, or NULL */
    enum dtype t;
    uint8_t *out;
    size_t out_row;
};

/* The format whose encoder fills rows of t: w4a8's q4_0 rows are int4 g32
 * symmetric rows (the same bytes: f16 d, 16 packed bytes, x = d·(q − 8),
 * byte i = elements i and i + 16), so they get int4's scale search rather
 * than Q4_0's max-abs rounding. */
static enum dtype encoder_type(enum dtype t) { return t == DT_Q4_0 ? DT_I4S_32 : t; }

static void enc_row(void *p, int r)
{
    struct enc_job *j = p;
    float stack[4096], *row = j->w->cols <= 4096 ? stack : malloc((size_t)j->w->cols * sizeof *row);
    if (!row) abort();       /* a few KB; the weight buffer itself was allocated already */
    quant_decode_weight_row(j->w, r, row);
    if (j->imp) xq_encode_row_weighted(encoder_type(j->t), row, j->imp, j->out + (size_t)r * j->out_row, j->w->cols);
    else dtype_encode_row(encoder_type(j->t), row, j->out + (size_t)r * j->out_row, j->w->cols);
    if (row != stack) free(row);
}

int quantize_weight(struct model *m, struct weight *w, enum dtype t, int n_threads)
{
    return quantize_weight_weighted(m, w, t, NULL, n_threads);
}

int quantize_weight_weighted(struct model *m, struct weight *w, enum dtype t, const float *imp, int n_threads)
{
    struct enc_job j = {.w = w, .imp = imp, .t = t, .out_row = dtype_row_bytes(t, w->cols)};
    j.out = malloc(j.out_row * (size_t)w->rows);
    if (!j.out) return -1;
    quant_parallel_for(w->rows, n_threads, enc_row, &j);
    return quant_replace_weight(m, w, t, j.out);
}

/* ---- static activation scales ---- */

/* Per-tensor absmax of the four inputs of layer l (unsmoothed), or false
 * without statistics. */
static bool tensor_maxima(const struct calib_stats *cs, int l, float out[4])
{
    for (int i = 0; i < 4; i++) {
        const float *ch = NULL;
        if (!quant_calib_input(cs, l, i, &ch, &out[i])) return false;
    }
    return true;
}

/* The input (0 qkv, 1 o, 2 gate_up, 3 down) each layer matrix reads. */
static const int MATRIX_INPUT[QUANT_LAYER_MATRICES] = {0, 0, 0, 1, 2, 2, 3};

/* Quantize matrix i (of QUANT_LAYER_MATRICES) of layer l into t: int4 under
 * quant_weighting=act with its input's E[x_j²] as the search's importance. */
static int quantize_one(struct model *m, int l, int i, struct weight *w, enum dtype t, const struct options *o,
                        const struct calib_stats *cs, int n_threads, char *err, size_t errlen)
{
    const char *qname = option_choice_name(option_def(OPT_QUANT), opt_enum(o, QUANT));
    float *imp = NULL;
    if (int4_weighted(o)) {
        imp = malloc((size_t)w->cols * sizeof *imp);
        if (!imp) {
            snprintf(err, errlen, "quant=%s: out of memory for %s", qname, w->name);
            return -1;
        }
        if (!quant_calib_meansq(cs, l, MATRIX_INPUT[i], imp, w->cols)) {
            free(imp);
            snprintf(err, errlen, "quant=%s quant_weighting=act: no calibration statistics for %s", qname, w->name);
            return -1;
        }
    }
    int rc = quantize_weight_weighted(m, w, t, imp, n_threads);
    free(imp);
    if (rc < 0) snprintf(err, errlen, "quant=%s: out of memory for %s", qname, w->name);
    return rc;
}

static void set_act_scales(struct layer_weights *L, const float tmax[4], enum dtype t)
{
    struct weight *ws[QUANT_LAYER_MATRICES];
    quant_layer_matrices(L, ws);
    float qmax = t == DT_F8A8 ? 448.0f : 127.0f;
    for (int i = 0; i < QUANT_LAYER_MATRICES; i++)
        ws[i]->act_scale = tmax[MATRIX_INPUT[i]] > 0 ? tmax[MATRIX_INPUT[i]] / qmax : 0;
}

/* ---- the pass ---- */

static int smooth_one(struct model *m, int l, const struct options *o, const struct calib_stats *cs,
                      float tmax[4], int n_threads, char *err, size_t errlen)
{
    struct smooth_act a;
    const float **slots[4] = {&a.qkv, &a.o, &a.gate_up, &a.down};
    for (int i = 0; i < 4; i++) {
        float tm;
        if (!quant_calib_input(cs, l, i, slots[i], &tm)) {
            snprintf(err, errlen, "quant=w8a8-smooth: no calibration statistics for layer %d", l);
            return -1;
        }
    }
    return smooth_layer(m, l, &a, (float)opt_f(o, OPT_SMOOTH_ALPHA), tmax, n_threads, err, errlen);
}

static const char *KIND[QUANT_LAYER_MATRICES] = {"q", "k", "v", "o", "gate", "up", "down"};

/* "int4_g64, down int4_g128": the most common format, then the matrices that differ (ASCII: the TUI header shows it). */
void quantize_describe_formats(struct model *m)
{
    struct weight *ws[QUANT_LAYER_MATRICES];
    quant_layer_matrices(&m->layers[0], ws);
    int best = 0, count[QUANT_LAYER_MATRICES] = {0};
    for (int i = 0; i < QUANT_LAYER_MATRICES; i++)
        for (int k = 0; k < QUANT_LAYER_MATRICES; k++) count[i] += ws[k]->type == ws[i]->type;
    for (int i = 1; i < QUANT_LAYER_MATRICES; i++) if (count[i] > count[best]) best = i;
    int n = snprintf(m->wformat, sizeof m->wformat, "%s", dtype_info(ws[best]->type)->name);
    for (int i = 0; i < QUANT_LAYER_MATRICES && n < (int)sizeof m->wformat; i++)
        if (ws[i]->type != ws[best]->type)
            n += snprintf(m->wformat + n, sizeof m->wformat - (size_t)n, ", %s %s", KIND[i],
                          dtype_info(ws[i]->type)->name);
}

int quantize_run(struct model *m, const struct options *o, const struct calib_stats *cs, int n_threads,
                 quant_progress_fn progress, void *user, char *err, size_t errlen)
{
    enum opt_quant q = opt_enum(o, QUANT);
    const char *qname = option_choice_name(option_def(OPT_QUANT), q);
    if (quantize_needs_calib(o) && !cs) {
        snprintf(err, errlen, "quant=%s%s: needs calibration statistics of the unquantized model, and none were collected",
                 qname, q == QUANT_W8A8_SMOOTH ? "" : (q == QUANT_INT4 || q == QUANT_W4A8) ? " quant_weighting=act" : " act_scale=tensor");
        return -1;
    }
    for (int l = 0; l < m->cfg.n_layers; l++) {
        struct layer_weights *L = &m->layers[l];
        float tmax[4] = {0};
        if (q == QUANT_W8A8_SMOOTH && smooth_one(m, l, o, cs, tmax, n_threads, err, errlen) < 0) return -1;
        if (q != QUANT_W8A8_SMOOTH && quantize_needs_calib(o) && !tensor_maxima(cs, l, tmax)) {
            snprintf(err, errlen, "quant=%s: no calibration statistics for layer %d", qname, l);
            return -1;
        }
        struct weight *ws[QUANT_LAYER_MATRICES];
        quant_layer_matrices(L, ws);
        for (int i = 0; i < QUANT_LAYER_MATRICES; i++) {
            int t = quantize_target(o, ws[i]->cols);
            if (t < 0) continue;
            if (quantize_one(m, l, i, ws[i], (enum dtype)t, o, cs, n_threads, err, errlen) < 0) return -1;
        }
        if (quantize_needs_calib(o)) set_act_scales(L, tmax, ws[0]->type);
        if (progress) {
            char line[96];
            snprintf(line, sizeof line, "quant: %s, layer %d/%d", qname, l + 1, m->cfg.n_layers);
            progress(user, line);
        }
    }
    return 0;
}
