/* kernels/cuda/cuda_graph_step.h — one forward step run eagerly or through a
 * CUDA graph, in plain C over a small driver interface (kernels/cuda/
 * cuda_graph.cu is the real one; tests/unit/test_cuda_graph.c a fake), so
 * the launch logic is covered without a GPU. The decision per step is
 * cuda_graph_policy.h's.
 *
 *   cg_step_begin(key, enabled)   EAGER: nothing; CAPTURE / UPDATE: begin
 *                                 capturing the stream (a refusal turns
 *                                 graphs off; the step runs eagerly)
 *   ... the step's ops are issued (captured, not run, while capturing) ...
 *   cg_step_end()                 CAPTURE: end, instantiate, launch;
 *                                 UPDATE: end, update the exec from the new
 *                                 graph (refused: instantiate again, a
 *                                 recapture), launch
 * Any failure after capture began means the ops did not run: graphs go off
 * for the process with the reason, and cg_step_end returns 1 so the caller
 * issues the ops again, eagerly. What the driver must provide for that to be
 * safe is the caller's: inputs staged in pinned memory (cuda_staging.h),
 * scratch that is not freed while captured (deferred frees), downloads after
 * cg_step_end. */
#ifndef INFERTOP_CUDA_GRAPH_STEP_H
#define INFERTOP_CUDA_GRAPH_STEP_H

#include <stdbool.h>
#include <stddef.h>

#include "kernels/cuda/cuda_graph_policy.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Each call 0 ok, else -1 with a short reason in why. */
struct cg_driver {
    int  (*begin_capture)(void *ctx, char *why, size_t n);
    int  (*end_capture)(void *ctx, char *why, size_t n);   /* holds the captured graph */
    int  (*instantiate)(void *ctx, char *why, size_t n);   /* an exec from the held graph (any old one dropped) */
    int  (*update)(void *ctx, char *why, size_t n);        /* the exec from the held graph; -1: topology differs */
    int  (*launch)(void *ctx, char *why, size_t n);        /* the exec, on the stream */
    void (*drop_graph)(void *ctx);                         /* the held graph (the exec stays) */
};

struct cg_step {
    struct cg_policy pol;
    const struct cg_driver *drv;
    void *ctx;
    enum cg_action act;       /* this step's */
    bool capturing;
};

void cg_step_init(struct cg_step *s, const struct cg_driver *drv, void *ctx, int warmup);
/* Before the step's ops: enabled false runs it eagerly (counted as eager). */
void cg_step_begin(struct cg_step *s, struct cg_key k, bool enabled);
/* After the step's ops: 0 they ran (eagerly, or the graph was launched); 1
 * they did not (graphs are now off: issue them again). */
int  cg_step_end(struct cg_step *s);
/* Whether ops issued now are being captured (not run). */
static inline bool cg_step_capturing(const struct cg_step *s) { return s->capturing; }

#ifdef __cplusplus
}
#endif

#endif
