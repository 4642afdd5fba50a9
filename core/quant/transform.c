/* core/quant/transform.c — the pass list and the model's transform record;
 * see transform.h. */
#include "core/quant/transform.h"
#include "core/quant/quantize.h"
#include "core/quant/sparsity.h"
#include "kernels/sparse24.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the record: what was replaced (restored by model_free) and made ----
 *
 * Chained into the model's release like sparsity.c's record: model_free runs
 * the latest pass's release first, each putting back what it replaced and
 * then running the release it found, the loader's last (it frees by the
 * loaded pointers). */

struct xform_weight { struct weight *w; struct weight orig; };
struct xform_floats { float **slot; float *orig; };

struct xform {
    void *owner;                       /* the model's owner and release before this record */
    void (*release)(struct model *m);
    enum dtype wtype;
    struct xform_weight *ws;
    int n_ws, cap_ws;
    struct xform_floats *fs;
    int n_fs, cap_fs;
    void **bufs;                       /* everything the pass allocated */
    int n_bufs, cap_bufs;
};

static bool grow(void **p, int *cap, int n, size_t elem)
{
    if (n < *cap) return true;
    int nc = *cap ? *cap * 2 : 64;
    void *q = realloc(*p, (size_t)nc * elem);
    if (!q) return false;
    *p = q;
    *cap = nc;
    return true;
}

/* Put back every replaced weight and slot (latest first), free what was
 * made, unchain (the model's release is the one before the record). */
static void xform_undo(struct model *m);

static void xform_release(struct model *m)
{
    xform_undo(m);
    if (m->release) m->release(m);
}

static void xform_undo(struct model *m)
{
    if (m->release != xform_release) return;
    struct xform *x = m->owner;
    for (int i = x->n_ws - 1; i >= 0; i--) *x->ws[i].w = x->ws[i].orig;
    for (int i = x->n_fs - 1; i >= 0; i--) *x->fs[i].slot = x->fs[i].orig;
    for (int i = 0; i < x->n_bufs; i++) free(x->bufs[i]);
    m->owner = x->owner;
    m->release = x->release;
    m->wtype = x->wtype;
    m->wformat[0] = 0;
    free(x->ws);
    free(x->fs);
    free(x->bufs);
    free(x);
}

void quant_undo_transforms(struct model *m) { xform_undo(m); }

/* The record, chained on first use; NULL when out of memory. */
static struct xform *xform_of(struct model *m)
{
    if (m->release == xform_release) return m->owner;
    struct xform *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    x->owner = m->owner;
    x->release = m->release;
    x->wtype = m->wtype;
    m->owner = x;
    m->release = xform_release;
    return x;
}

static bool keep_buf(struct xform *x, void *p)
{
    if (!grow((void **)&x->bufs, &x->cap_bufs, x->n_bufs, sizeof *x->bufs)) return false;
    x->bufs[x->n_bufs++] = p;
    return true;
}

int quant_replace_weight(struct model *m, struct weight *w, enum dtype t, void *data)
{
    struct xform *x = xform_of(m);
    if (!x || !grow((void **)&x->ws, &x->cap_ws, x->n_ws, sizeof *x->ws) || !keep_buf(x, data)) {
        free(data);
        return -1;
    }
    x->ws[x->n_ws++] = (struct xform_weight){w, *w};
    w->type = t;
    w->data = data;
    w->row_stride = 0;
    w->dev = NULL;
    w->dev_type = t;
    m->owned_bytes += weight_bytes(w);
    return 0;
}

float *quant_model_floats(struct model *m, float **slot, size_t n)
{
    struct xform *x = xform_of(m);
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!x || !p || !keep_buf(x, p)) { free(p); return NULL; }
    if (slot) {
        if (!grow((void **)&x->fs, &x->cap_fs, x->n_fs, sizeof *x->fs)) return NULL;  /* p stays kept */
        x->fs[x->n_fs++] = (struct xform_floats){slot, *slot};
        *slot = p;
    }
    m->owned_bytes += n * sizeof *p;
    return p;
}

/* ---- helpers for the passes ---- */

void quant_layer_matrices(struct layer_weights *L, struct weight *out[QUANT_LAYER_MATRICES])
{
    struct weight *ws[QUANT_LAYER_MATRICES] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
    memcpy(out, ws, sizeof ws);
}

void quant_decode_weight_row(const struct weight *w, int r, float *out)
{
    dtype_decode_row(w->type, (const char *)w->data + (size_t)r * weight_row_stride(w), out, w->cols);
}

struct pfor { int n, next; pthread_mutex_t mu; void (*fn)(void *, int); void *ctx; };

static void *pfor_worker(void *p)
{
    struct pfor *f = p;
    for (;;) {
        pthread_mutex_lock(&f->mu);
        int i = f->next++;
        pthread_mutex_unlock(&f->mu);
        if (i >= f->n) return NULL;
        f->fn(f->ctx, i);
    }
}

void quant_parallel_for(int n, int n_threads, void (*fn)(void *ctx, int i), void *ctx)
{
    struct pfor f = {.n = n, .fn = fn, .ctx = ctx};
    pthread_mutex_init(&f.mu, NULL);
    if (n_threads <= 0) n_threads = 2;
    if (n_threads > 64) n_threads = 64;
    pthread_t th[64];
    int started = 0;
    for (int t = 1; t < n_threads; t++)
        if (pthread_create(&th[started], NULL, pfor_worker, &f) == 0) started++;
    pfor_worker(&f);                     /* this thread works too (alone if none started) */
    for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
    pthread_mutex_destroy(&f.mu);
}

/* ---- the pass list ---- */

struct quant_pass_def {
    const char *name;
    bool (*enabled)(const struct options *o);
    bool (*needs_calib)(const struct options *o);
    int (*run)(struct model *m, const struct options *o, const struct calib_stats *cs, int n_threads,
               quant_progress_fn progress, void *user, char *err, size_t errlen);
};

/* The sparsity pass (core/quant/sparsity.h) behind the list's signature. */
static bool sparsity_enabled(const struct options *o) { return opt_enum(o, SPARSITY) != SPARSITY_OFF; }
static bool sparsity_needs_calib(const struct options *o) { return opt_enum(o, SPARSITY) == SPARSITY_WANDA; }
static int sparsity_run(struct model *m, const struct options *o, const struct calib_stats *cs, int n_threads,
                        quant_progress_fn progress, void *user, char *err, size_t errlen)
{
    (void)n_threads;
    if (progress) progress(user, "sparsity: pruning 2:4...");
    return sparsity_apply_options(m, o, cs, NULL, err, errlen);
}

/* In order: quantization first, then (issue 14) sparsity. */
static const struct quant_pass_def PASSES[] = {
    {"quant", quantize_enabled, quantize_needs_calib, quantize_run},
    {"sparsity", sparsity_enabled, sparsity_needs_calib, sparsity_run},
};
#define N_PASSES (int)(sizeof PASSES / sizeof PASSES[0])

bool quant_transforms_enabled(const struct options *o)
{
    for (int i = 0; i < N_PASSES; i++)
        if (PASSES[i].enabled(o)) return true;
    return false;
}

bool quant_transforms_need_calib(const struct options *o)
{
    for (int i = 0; i < N_PASSES; i++)
        if (PASSES[i].enabled(o) && PASSES[i].needs_calib(o)) return true;
    return false;
}

bool quant_is_transform_option(enum opt_id id)
{
    const struct option_def *d = option_def(id);
    return d && d->cls == OC_REBUILD && (!strcmp(d->technique, "quantization") || !strcmp(d->technique, "sparsity"));
}

/* w's format after the passes, shapes only: quant's target, then 2:4's. */
static int shape_weight(struct weight *w, const struct options *o, bool prune, char *err, size_t errlen)
{
    int t = quantize_enabled(o) ? quantize_target(o, w->cols) : -1;
    if (t >= 0) w->type = (enum dtype)t;
    if (prune) {
        if (w->cols % S24_BLOCK) {
            snprintf(err, errlen, "sparsity=%s: weight %s has %d columns; expected a multiple of %d",
                     sparsity_mode_name(opt_enum(o, SPARSITY)), w->name, w->cols, S24_BLOCK);
            return -1;
        }
        w->type = sparsity_value_type(w->type);
    }
    w->dev_type = w->type;
    return 0;
}

/* A shape-only model (plan, simulated devices): every pass's formats
 * without data — the same targets as the passes (quantize_target,
 * sparsity_value_type), nothing encoded, no calibration (scales and the
 * choice of kept values change no byte or FLOP count). What runs on it is
 * MODELED. On failure m is unchanged. */
static int transform_shapes(struct model *m, const struct options *o, char *err, size_t errlen)
{
    bool prune = opt_enum(o, SPARSITY) != SPARSITY_OFF, head = prune && opt_i(o, OPT_SPARSITY_HEAD);
    struct model saved = *m;
    struct layer_weights *copy = malloc((size_t)m->cfg.n_layers * sizeof *copy);
    if (!copy) {
        snprintf(err, errlen, "%s: out of memory", m->source);
        return -1;
    }
    memcpy(copy, m->layers, (size_t)m->cfg.n_layers * sizeof *copy);
    int rc = 0;
    for (int l = 0; rc == 0 && l < m->cfg.n_layers; l++) {
        struct weight *ws[QUANT_LAYER_MATRICES];
        quant_layer_matrices(&m->layers[l], ws);
        for (int i = 0; rc == 0 && i < QUANT_LAYER_MATRICES; i++) rc = shape_weight(ws[i], o, prune, err, errlen);
    }
    if (rc == 0 && head) {
        m->output.shard_dim = SHARD_NONE;           /* its own (pruned) format, no longer tok_embd's view */
        m->output.type = m->output.dev_type = sparsity_value_type(m->output.type);
    }
    if (rc < 0) {
        memcpy(m->layers, copy, (size_t)m->cfg.n_layers * sizeof *copy);
        m->output = saved.output;
    } else {
        if (prune) m->wtype = sparsity_value_type(m->wtype);
        quantize_describe_formats(m);
    }
    free(copy);
    return rc;
}

int quant_apply_transforms(struct model *m, const struct options *o, const struct calib_stats *cs,
                           int n_threads, quant_progress_fn progress, void *user, char *err,
                           size_t errlen)
{
    if (!quant_transforms_enabled(o)) return 0;
    if (m->release == xform_release) {
        snprintf(err, errlen, "%s: weights already transformed; reload the model first", m->source);
        return -1;
    }
    if (m->shapes_only) return transform_shapes(m, o, err, errlen);
    for (int i = 0; i < N_PASSES; i++) {
        if (!PASSES[i].enabled(o)) continue;
        if (PASSES[i].run(m, o, cs, n_threads, progress, user, err, errlen) < 0) {
            /* the sparsity pass chains its own record after ours: a failure
             * there leaves it half applied, so the caller frees the model */
            if (m->release == xform_release) xform_undo(m);
            return -1;
        }
    }
    quantize_describe_formats(m);
    return 0;
}
