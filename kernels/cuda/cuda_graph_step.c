/* kernels/cuda/cuda_graph_step.c — see cuda_graph_step.h. */
#include "kernels/cuda/cuda_graph_step.h"

#include <string.h>

void cg_step_init(struct cg_step *s, const struct cg_driver *drv, void *ctx, int warmup)
{
    memset(s, 0, sizeof *s);
    cg_policy_init(&s->pol, warmup);
    s->drv = drv;
    s->ctx = ctx;
}

void cg_step_begin(struct cg_step *s, struct cg_key k, bool enabled)
{
    s->capturing = false;
    if (!enabled) {
        s->act = CG_EAGER;
        s->pol.eager++;
        return;
    }
    s->act = cg_decide(&s->pol, k);
    if (s->act == CG_EAGER) return;
    char why[96] = "";
    if (s->drv->begin_capture(s->ctx, why, sizeof why) != 0) {
        cg_done(&s->pol, CG_CAPTURE, false, why);   /* off; nothing was issued yet: eager */
        s->act = CG_EAGER;
        s->pol.eager++;
        return;
    }
    s->capturing = true;
}

/* A failure after capture began: graphs off, the ops must be issued again. */
static int lost_step(struct cg_step *s, const char *why)
{
    s->drv->drop_graph(s->ctx);
    cg_done(&s->pol, CG_CAPTURE, false, why);
    return 1;
}

/* The exec for the held graph: a fresh one (CAPTURE), or the held exec
 * updated, instantiated again when the update is refused (UPDATE). */
static int make_exec(struct cg_step *s, char *why, size_t n, bool *recaptured)
{
    *recaptured = false;
    if (s->act == CG_UPDATE && s->drv->update(s->ctx, why, n) == 0) return 0;
    *recaptured = s->act == CG_UPDATE;
    return s->drv->instantiate(s->ctx, why, n);
}

int cg_step_end(struct cg_step *s)
{
    if (s->act == CG_EAGER) return 0;
    s->capturing = false;
    char why[96] = "";
    bool recaptured;
    if (s->drv->end_capture(s->ctx, why, sizeof why) != 0) return lost_step(s, why);
    if (make_exec(s, why, sizeof why, &recaptured) != 0) return lost_step(s, why);
    s->drv->drop_graph(s->ctx);
    if (s->drv->launch(s->ctx, why, sizeof why) != 0) return lost_step(s, why);
    cg_done(&s->pol, s->act, !recaptured, NULL);
    return 0;
}
