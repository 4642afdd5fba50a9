/* kernels/cuda/cuda_graph.cu — CUDA Graphs for the decode step: the real
 * cg_driver (stream capture, instantiate, exec update, launch) and the
 * backend's step hooks (kernels/backend.h: step_begin / step_end /
 * graph_counts) over the plain-C step runner (cuda_graph_step.h).
 *
 * Capture mode is relaxed: ops may grow scratch (cudaMalloc) while being
 * captured; the old buffer's free is deferred to the next sync
 * (cuda_scratch_get). Every host → device copy of a step goes through pinned
 * staging (cuda_staging.h), so a captured copy reads the bytes the step
 * staged. Per-op kernel times: kernels of a graph launch are not attributed
 * to their op records by CUPTI's external correlation (it is pushed at
 * capture, not at launch), so those records stay dur_measured = false; the
 * step's time is measured. Compiled in every CUDA build; not yet run on a GPU. */
#include "kernels/cuda/cuda_internal.h"
#include "traces/cupti_range.h"

#include <stdio.h>

#define CG_WARMUP 2          /* eager repeats of a shape before it is captured */

static int graph_error(cudaError_t e, const char *call, char *why, size_t n)
{
    if (e == cudaSuccess) return 0;
    (void)cudaGetLastError();
    snprintf(why, n, "%s: %s", call, cudaGetErrorName(e));
    return -1;
}

static int drv_begin(void *ctx, char *why, size_t n)
{
    struct cuda_ctx *c = (struct cuda_ctx *)ctx;
    return graph_error(cudaStreamBeginCapture(c->stream, cudaStreamCaptureModeRelaxed), "cudaStreamBeginCapture",
                       why, n);
}

static int drv_end(void *ctx, char *why, size_t n)
{
    struct cuda_ctx *c = (struct cuda_ctx *)ctx;
    cudaGraph_t g = NULL;
    cudaError_t e = cudaStreamEndCapture(c->stream, &g);
    if (e != cudaSuccess && g) (void)cudaGraphDestroy(g);
    c->graph = e == cudaSuccess ? g : NULL;
    return graph_error(e, "cudaStreamEndCapture", why, n);
}

static int drv_instantiate(void *ctx, char *why, size_t n)
{
    struct cuda_ctx *c = (struct cuda_ctx *)ctx;
    if (c->graph_exec) {
        CUDA_CHECK(cudaGraphExecDestroy(c->graph_exec));
        c->graph_exec = NULL;
    }
    return graph_error(cudaGraphInstantiate(&c->graph_exec, c->graph, 0), "cudaGraphInstantiate", why, n);
}

static int drv_update(void *ctx, char *why, size_t n)
{
    struct cuda_ctx *c = (struct cuda_ctx *)ctx;
    cudaGraphExecUpdateResultInfo info;
    if (!c->graph_exec) { snprintf(why, n, "no exec to update"); return -1; }
    return graph_error(cudaGraphExecUpdate(c->graph_exec, c->graph, &info), "cudaGraphExecUpdate", why, n);
}

static int drv_launch(void *ctx, char *why, size_t n)
{
    struct cuda_ctx *c = (struct cuda_ctx *)ctx;
    return graph_error(cudaGraphLaunch(c->graph_exec, c->stream), "cudaGraphLaunch", why, n);
}

static void drv_drop_graph(void *ctx)
{
    struct cuda_ctx *c = (struct cuda_ctx *)ctx;
    if (c->graph) CUDA_CHECK(cudaGraphDestroy(c->graph));
    c->graph = NULL;
}

static const struct cg_driver CUDA_GRAPH_DRIVER = {
    drv_begin, drv_end, drv_instantiate, drv_update, drv_launch, drv_drop_graph,
};

void cuda_graph_init(struct cuda_ctx *c) { cg_step_init(&c->graphs, &CUDA_GRAPH_DRIVER, c, CG_WARMUP); }

void cuda_graph_release(struct cuda_ctx *c)
{
    if (c->graph) (void)cudaGraphDestroy(c->graph);
    if (c->graph_exec) (void)cudaGraphExecDestroy(c->graph_exec);
    c->graph = NULL;
    c->graph_exec = NULL;
}

void cuda_step_begin(struct backend *be, const struct step_shape *sh)
{
    struct cuda_ctx *c = cuda_ctx_of(be);
    CUDA_CHECK(cudaSetDevice(c->device));
    /* the range profiler measures between its pushes and pops: a captured op
     * would run outside its range, so a measured step runs eagerly */
    cg_step_begin(&c->graphs, cg_key_of(sh->n_seqs, sh->n_tokens, sh->kv_blocks), sh->graphs && !crp_active());
}

int cuda_step_end(struct backend *be)
{
    struct cuda_ctx *c = cuda_ctx_of(be);
    CUDA_CHECK(cudaSetDevice(c->device));
    int redo = cg_step_end(&c->graphs);
    if (redo && be->note) {
        char line[192];
        snprintf(line, sizeof line, "cuda: %s; decode steps run op by op", c->graphs.pol.reason);
        be->note(be->note_user, line);
    }
    return redo;
}

void cuda_graph_counts(struct backend *be, struct graph_counts *out)
{
    const struct cg_policy *p = &cuda_ctx_of(be)->graphs.pol;
    out->eager = p->eager;
    out->captures = p->captures;
    out->recaptures = p->recaptures;
    out->replays = p->replays;
    out->off = p->off;
    snprintf(out->reason, sizeof out->reason, "%s", p->reason);
}
