/* core/workload/session.c — see session.h. */
#include "core/workload/session.h"
#include "core/parallel/tp.h"
#include "core/plan/hw.h"
#include "core/quant/calib.h"
#include "core/quant/sparsity.h"
#include "core/quant/transform.h"
#include "kernels/registry.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A backend note (e.g. a weight format converted on upload): one line on the
 * log, before a TUI takes the screen. */
static void print_backend_note(void *user, const char *line)
{
    fprintf((FILE *)user, "backend: %s\n", line);
}

/* device "sim:NAME[xN]": the hardware table's row (or the measured host) as
 * a SIMULATED device. NULL with err on a bad name. */
static struct backend *create_sim(const char *device, const struct options *opt, const struct model *m, FILE *log,
                                  char *err, size_t errlen)
{
    struct roof_device d;
    char e[256];
    if (hw_device(device + 4, opt, &d, log, e, sizeof e) < 0) {
        snprintf(err, errlen, "device %s: %s", device, e);
        return NULL;
    }
    d.reuse_bytes = tp_weight_bytes(m, 0, m->cfg.n_layers);   /* re-read every step (roofline tiers) */
    return backend_create_sim(&d, device, err, errlen);
}

/* Transform progress on a terminal: one line rewritten in place. */
static void print_progress(void *user, const char *line)
{
    FILE *f = user;
    if (!isatty(fileno(f))) return;
    fprintf(f, "%s\033[K\r", line);
    fflush(f);
}

static int session_threads(const struct options *opt)
{
    int threads = (int)opt_i(opt, OPT_THREADS);
    if (threads <= 0) threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    return threads > 0 ? threads : 2;
}

static void free_backend_copies(struct model *m, struct backend *be)
{
    if (m->output.dev == m->tok_embd.dev) m->output.dev = NULL;    /* a tied head shares tok_embd's copy */
    backend_free_weight(be, &m->tok_embd);
    backend_free_weight(be, &m->output);
    for (int l = 0; m->layers && l < m->cfg.n_layers; l++) {
        struct weight *ws[QUANT_LAYER_MATRICES];
        quant_layer_matrices(&m->layers[l], ws);
        for (int i = 0; i < QUANT_LAYER_MATRICES; i++) backend_free_weight(be, ws[i]);
    }
}

/* Calibration statistics of the untransformed m (SmoothQuant's and static
 * W8A8's max|X_j|, Wanda's ‖X_j‖₂): m uploaded to be, the shipped calibration
 * text run through it (core/quant/calib), the device copies freed again (the
 * transforms replace the weights). 0; -1 with one line in err. */
static int collect_calibration(struct model *m, struct backend *be, struct calib_stats *cs,
                               void (*progress)(void *, const char *), void *user, char *err, size_t errlen)
{
    if (progress) progress(user, "calibration: the unquantized model on the shipped calibration text...");
    int rc;
    if (model_upload(m, be) < 0) {
        snprintf(err, errlen, "%s: could not copy weights to the %s backend for calibration", m->source,
                 be->ops->name);
        rc = -1;
    } else {
        char why[400];
        rc = calib_collect_shipped(m, be, 0, cs, why, sizeof why);
        if (rc < 0) snprintf(err, errlen, "calibration: %s", why);
    }
    free_backend_copies(m, be);
    return rc;
}

/* The weight transforms the options enable (core/quant/transform.h: quant,
 * then sparsity), on m (loaded, not uploaded). *transform_s: seconds it
 * took. 0; -1 with one line in err. */
static int transform_weights(struct model *m, struct backend *be, const struct options *opt,
                             void (*progress)(void *, const char *), void *user, double *transform_s,
                             char *err, size_t errlen)
{
    *transform_s = 0;
    if (!quant_transforms_enabled(opt)) return 0;
    uint64_t t0 = now_ns();
    struct calib_stats cs = {0};
    bool calib = quant_transforms_need_calib(opt) && !m->shapes_only;   /* shapes: formats only */
    if (calib && collect_calibration(m, be, &cs, progress, user, err, errlen) < 0) return -1;
    int rc = quant_apply_transforms(m, opt, calib ? &cs : NULL, session_threads(opt), progress, user, err, errlen);
    if (calib) calib_free(&cs);
    *transform_s = (now_ns() - t0) / 1e9;
    return rc;
}

/* The layer matrices (and head) in a 2:4 format. */
static int count_pruned(const struct model *m)
{
    int n = dtype_is_sparse24(m->output.type);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        struct weight *ws[QUANT_LAYER_MATRICES];
        quant_layer_matrices(&m->layers[l], ws);
        for (int i = 0; i < QUANT_LAYER_MATRICES; i++) n += dtype_is_sparse24(ws[i]->type);
    }
    return n;
}

int session_open(struct session *s, const char *spec, const struct options *opt, FILE *log,
                 char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (!spec) spec = SESSION_DEFAULT_MODEL;
    int threads = (int)opt_i(opt, OPT_THREADS);
    bool synth = strncmp(spec, "synth:", 6) == 0;
    if (synth && log && isatty(fileno(log))) {
        fprintf(log, "model: generating synthetic weights for %s...\r", spec);
        fflush(log);
    }
    uint64_t t0 = now_ns();
    const char *device = opt_s(opt, OPT_DEVICE);
    bool sim = strncmp(device, "sim:", 4) == 0;
    if (model_load_flags(&s->model, spec, opt_enum(opt, WTYPE), (uint64_t)opt_i(opt, OPT_SEED),
                         threads > 0 ? threads : 2, sim ? MODEL_SHAPES_ONLY : 0, err, errlen) < 0) {
        memset(s, 0, sizeof *s);
        s->model_failed = true;
        return 2;
    }
    s->load_s = (now_ns() - t0) / 1e9;
    snprintf(s->spec, sizeof s->spec, "%s", spec);
    /* shapes only (a simulated device): the transforms' formats first, so the
     * device knows the bytes it re-reads every step; no backend needed */
    if (sim && transform_weights(&s->model, NULL, opt, NULL, NULL, &s->transform_s, err, errlen) < 0) {
        model_free(&s->model);
        memset(s, 0, sizeof *s);
        s->model_failed = true;
        return 2;
    }
    s->be = sim ? create_sim(device, opt, &s->model, log, err, errlen) : backend_create(device, threads, err, errlen);
    if (!s->be) {
        model_free(&s->model);
        memset(s, 0, sizeof *s);
        return 2;
    }
    if (log) {
        s->be->note = print_backend_note;
        s->be->note_user = log;
    }
    /* the options are input too: a transform they cannot make is exit 2 */
    if (!sim && transform_weights(&s->model, s->be, opt, log ? print_progress : NULL, log, &s->transform_s,
                                  err, errlen) < 0) {
        session_close(s);
        memset(s, 0, sizeof *s);
        s->model_failed = true;
        return 2;
    }
    if (!sim && model_upload(&s->model, s->be) < 0) {
        snprintf(err, errlen, "%s: could not copy weights to the %s backend", spec, s->be->ops->name);
        session_close(s);
        return 1;
    }
    if (log) {
        const struct model_config *c = &s->model.cfg;
        fprintf(log, "backend: %s (%s) — %s\n", s->be->ops->name, s->be->device_name, s->be->reason);
        char bw[96];
        hw_bw_line(bw, sizeof bw, s->be->measured_bw, s->be->device_name);
        if (bw[0]) fprintf(log, "device: %s\n", bw);
        fprintf(log, "model: %s — %.1fM params, %s, %d layers, heads %d:%d, loaded in %.2f s%s\n",
                s->model.source, model_param_count(c) / 1e6, dtype_info(s->model.wtype)->name,
                c->n_layers, c->n_heads, c->n_kv_heads, s->load_s,
                s->model.shapes_only ? " (shapes only: SIMULATED device)" : "");
        int n_pruned = count_pruned(&s->model);
        if (n_pruned)
            fprintf(log, "sparsity: %s, %d matrices pruned to %s (kept values + 2-bit indices)\n",
                    sparsity_mode_name(opt_enum(opt, SPARSITY)), n_pruned, dtype_info(s->model.wtype)->name);
        if (s->model.wformat[0] && s->model.shapes_only)
            fprintf(log, "weights: %s (formats only, shape-only model: bytes and FLOPs MODELED)\n", s->model.wformat);
        else if (s->model.wformat[0])
            fprintf(log, "weights: %s (transformed in %.2f s)\n", s->model.wformat, s->transform_s);
    }
    return 0;
}

int session_reload_weights(struct session *s, const struct options *opt,
                           void (*progress)(void *user, const char *line), void *user,
                           char *err, size_t errlen)
{
    struct model fresh;
    double xs = 0;
    int threads = (int)opt_i(opt, OPT_THREADS);
    bool sim = s->be->simulated;          /* a simulated device: shapes only, nothing to upload */
    if (model_load_flags(&fresh, s->spec, opt_enum(opt, WTYPE), (uint64_t)opt_i(opt, OPT_SEED),
                         threads > 0 ? threads : 2, sim ? MODEL_SHAPES_ONLY : 0, err, errlen) < 0)
        return -1;
    if (transform_weights(&fresh, s->be, opt, progress, user, &xs, err, errlen) < 0) {
        model_free(&fresh);
        return -1;
    }
    if (!sim && model_upload(&fresh, s->be) < 0) {
        free_backend_copies(&fresh, s->be);
        model_free(&fresh);
        snprintf(err, errlen, "%s: could not copy the new weights to the %s backend", s->spec, s->be->ops->name);
        return -1;
    }
    free_backend_copies(&s->model, s->be);
    model_free(&s->model);
    s->model = fresh;
    s->transform_s = xs;
    /* a live quant change shrinks or grows what every step re-reads (the roofline's LLC tier) */
    if (sim) backend_sim_set_reuse_bytes(s->be, tp_weight_bytes(&s->model, 0, s->model.cfg.n_layers));
    return 0;
}

int session_open_draft(struct session *s, const char *spec, const struct options *opt, FILE *log,
                       char *err, size_t errlen)
{
    int threads = (int)opt_i(opt, OPT_THREADS);
    char why[400];
    if (model_load(&s->draft, spec, opt_enum(opt, WTYPE), (uint64_t)opt_i(opt, OPT_SEED) + 1,
                   threads > 0 ? threads : 2, why, sizeof why) < 0) {
        snprintf(err, errlen, "--draft %s", why);
        return 2;
    }
    if (s->draft.cfg.vocab != s->model.cfg.vocab) {
        snprintf(err, errlen, "--draft %s: vocabulary of %d tokens; expected the target's %d (%s)", spec,
                 s->draft.cfg.vocab, s->model.cfg.vocab, s->model.source);
        model_free(&s->draft);
        return 2;
    }
    if (model_upload(&s->draft, s->be) < 0) {
        snprintf(err, errlen, "--draft %s: could not copy weights to the %s backend", spec, s->be->ops->name);
        model_free(&s->draft);
        return 1;
    }
    s->has_draft = true;
    if (log) {
        const struct model_config *c = &s->draft.cfg;
        fprintf(log, "draft: %s — %.1fM params, %s, %d layers\n", s->draft.source, model_param_count(c) / 1e6,
                dtype_info(s->draft.wtype)->name, c->n_layers);
    }
    return 0;
}

void session_close(struct session *s)
{
    if (s->has_draft) model_free(&s->draft);
    s->has_draft = false;
    model_free(&s->model);
    backend_destroy(s->be);
    s->be = NULL;
}
