/* kernels/sim/sim_backend.c — see sim_backend.h. */
#include "kernels/sim/sim_backend.h"
#include "kernels/comm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* One reservation: munmap needs its length. */
struct sim_region { void *p; size_t bytes; };

struct sim_ctx {
    struct roof_device dev;
    char spec[32];                 /* what the user named: "sim:h100x8" */
    enum dtype last_wtype;         /* weight format of the op being recorded (matmul, embed) */
    enum dtype last_kv_type;       /* KV element type of the attention being recorded */
    int comm_steps;                /* comm op being recorded: ring steps over the link (0: none) */
    uint64_t comm_wait_ns;         /* ... and the wait for the other ranks / the message */
    struct sim_region *regions;
    int n_regions, cap_regions;
};

static struct sim_ctx *ctx_of(struct backend *be) { return be->ctx; }

static void *sim_alloc(struct backend *be, size_t bytes)
{
    struct sim_ctx *c = ctx_of(be);
    if (c->n_regions == c->cap_regions) {
        int cap = c->cap_regions ? c->cap_regions * 2 : 64;
        struct sim_region *r = realloc(c->regions, (size_t)cap * sizeof *r);
        if (!r) return NULL;
        c->regions = r;
        c->cap_regions = cap;
    }
    size_t len = bytes ? bytes : 1;
    void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return NULL;
    c->regions[c->n_regions++] = (struct sim_region){p, len};
    return p;
}

static void sim_free(struct backend *be, void *p)
{
    struct sim_ctx *c = ctx_of(be);
    for (int i = 0; i < c->n_regions; i++) {
        if (c->regions[i].p != p) continue;
        munmap(p, c->regions[i].bytes);
        c->regions[i] = c->regions[--c->n_regions];
        return;
    }
}

static void sim_upload(struct backend *be, void *dst, const void *src, size_t bytes)
{
    (void)be; (void)dst; (void)src; (void)bytes;     /* nothing is kept on a simulated device */
}

static void sim_download(struct backend *be, void *dst, const void *src, size_t bytes)
{
    (void)be; (void)src;
    memset(dst, 0, bytes);                           /* host memory: zeros, deterministic */
}

/* ---- ops: no compute; matmul and embed note their weight format ---- */

static void sim_matmul(struct backend *be, float *y, const struct weight *w, const float *x, int m)
{
    (void)y; (void)x; (void)m;
    ctx_of(be)->last_wtype = weight_run_type(w);
}

static void sim_attention(struct backend *be, enum attn_impl impl, float *out, const float *q,
                          const struct kv_view *kv, int layer, int n_q, int pos0, const struct attn_shape *sh)
{
    (void)impl; (void)out; (void)q; (void)layer; (void)n_q; (void)pos0; (void)sh;
    ctx_of(be)->last_kv_type = kv->kv_type;
}

static void sim_kv_store(struct backend *be, const struct kv_view *kv, int layer, int pos0, int n,
                         const float *k, const float *v)
{
    (void)be; (void)kv; (void)layer; (void)pos0; (void)n; (void)k; (void)v;
}

static void sim_rmsnorm(struct backend *be, float *y, const float *x, const float *w, int m, int n, float eps)
{
    (void)be; (void)y; (void)x; (void)w; (void)m; (void)n; (void)eps;
}

static void sim_rope(struct backend *be, float *x, const int *pos, int m, int n_heads, int head_dim,
                     const struct rope_params *rp)
{
    (void)be; (void)x; (void)pos; (void)m; (void)n_heads; (void)head_dim; (void)rp;
}

static void sim_swiglu(struct backend *be, float *out, const float *gate, const float *up, int64_t n)
{
    (void)be; (void)out; (void)gate; (void)up; (void)n;
}

static void sim_add(struct backend *be, float *y, const float *x, int64_t n)
{
    (void)be; (void)y; (void)x; (void)n;
}

static void sim_embed(struct backend *be, float *out, const struct weight *emb, const int *tokens, int m)
{
    (void)out; (void)tokens; (void)m;
    ctx_of(be)->last_wtype = weight_run_type(emb);
}

/* ---- comm ops: the communicator carries timelines (kernels/comm.h) ----
 * A collective ends on every rank at (latest rank's start) + its link time:
 * the record lasts the wait plus the transfer, as a measured one does. A
 * send keeps the sender busy for the transfer (eager, as NCCL's LL) and the
 * message lands when it ends; the recv costs nothing more than the wait. */

static uint64_t ns_of(double s) { return (uint64_t)(s * 1e9 + 0.5); }

static int sim_rank(struct backend *be, const struct comm *c)
{
    int r = comm_rank(c, be);
    if (r < 0) {
        fprintf(stderr, "infertop: simulated device %d is not in the communicator it was given\n", be->device);
        abort();
    }
    return r;
}

static void sim_collective(struct backend *be, struct comm *c, int steps)
{
    struct sim_ctx *x = ctx_of(be);
    uint64_t hi = comm_sim_join(c, sim_rank(be, c), be->sim_ns);
    x->comm_steps = comm_size(c) > 1 ? steps : 0;
    x->comm_wait_ns = hi - be->sim_ns;
}

static void sim_all_reduce(struct backend *be, struct comm *c, float *buf, int64_t n)
{
    (void)buf; (void)n;
    sim_collective(be, c, 2 * (comm_size(c) - 1));
}

static void sim_all_gather(struct backend *be, struct comm *c, float *out, const float *in, int64_t rows,
                           int64_t row_elems)
{
    (void)out; (void)in; (void)rows; (void)row_elems;
    sim_collective(be, c, comm_size(c) - 1);
}

static void sim_reduce_scatter(struct backend *be, struct comm *c, float *out, float *in, int64_t rows,
                               int64_t row_elems)
{
    (void)out; (void)in; (void)rows; (void)row_elems;
    sim_collective(be, c, comm_size(c) - 1);
}

static void sim_send(struct backend *be, struct comm *c, int peer, const float *buf, int64_t n)
{
    (void)buf;
    struct sim_ctx *x = ctx_of(be);
    double t = roof_comm_time(&x->dev, 1, (double)n * sizeof(float));
    comm_sim_send(c, sim_rank(be, c), peer, n, be->sim_ns + ns_of(t));
    x->comm_steps = 1;
    x->comm_wait_ns = 0;
}

static void sim_recv(struct backend *be, struct comm *c, int peer, float *buf, int64_t n)
{
    (void)buf;
    struct sim_ctx *x = ctx_of(be);
    uint64_t t = comm_sim_recv(c, sim_rank(be, c), peer, n);
    x->comm_steps = 0;
    x->comm_wait_ns = t > be->sim_ns ? t - be->sim_ns : 0;
}

/* The SIMULATED duration of the op just recorded. */
static uint64_t sim_modeled_ns(struct backend *be, const struct kernel_record *r)
{
    struct sim_ctx *x = ctx_of(be);
    if (r->cls == OPC_COMM) {
        uint64_t ns = x->comm_wait_ns + ns_of(roof_comm_time(&x->dev, x->comm_steps, r->dram_rd));
        x->comm_steps = 0;
        x->comm_wait_ns = 0;
        return ns;
    }
    struct roof_time t;
    roof_op_time(&x->dev, r, r->cls == OPC_ATTN ? x->last_kv_type : x->last_wtype, &t);
    return ns_of(t.t_s);
}

static void sim_destroy(struct backend *be)
{
    struct sim_ctx *c = ctx_of(be);
    for (int i = 0; i < c->n_regions; i++) munmap(c->regions[i].p, c->regions[i].bytes);
    free(c->regions);
    free(c);
    free(be);
}

static const struct backend_ops SIM_OPS = {
    .name = "sim",
    .async = false,
    .supports = NULL,              /* every format of every op: a datasheet GPU runs them natively */
    .alloc = sim_alloc,
    .free = sim_free,
    .upload_weight = NULL,         /* weights stay where they are (shape-only: nowhere) */
    .upload = sim_upload,
    .download = sim_download,
    .matmul = sim_matmul,
    .attention = sim_attention,
    .kv_store = sim_kv_store,
    .rmsnorm = sim_rmsnorm,
    .rope = sim_rope,
    .swiglu = sim_swiglu,
    .add = sim_add,
    .embed = sim_embed,
    .all_reduce = sim_all_reduce,
    .all_gather = sim_all_gather,
    .reduce_scatter = sim_reduce_scatter,
    .send = sim_send,
    .recv = sim_recv,
    .modeled_ns = sim_modeled_ns,
    .sync = NULL,
    .destroy = sim_destroy,
};

struct backend *sim_backend_create(const struct roof_device *d, const char *spec)
{
    struct backend *be = calloc(1, sizeof *be);
    struct sim_ctx *c = calloc(1, sizeof *c);
    if (!be || !c) { free(be); free(c); return NULL; }
    c->dev = *d;
    snprintf(c->spec, sizeof c->spec, "%s", spec);
    be->ops = &SIM_OPS;
    be->ctx = c;
    be->n_threads = 1;
    be->simulated = true;
    be->mem_bytes = d->mem_bytes;
    snprintf(be->device_name, sizeof be->device_name, "SIMULATED %.60s", d->name);
    snprintf(be->reason, sizeof be->reason, "SIMULATED (%.24s): op times from the roofline of the hardware "
             "table, no compute%s", spec, d->n_devices > 1 ? "; xN: one aggregate device, or N over the link with tp/pp" : "");
    return be;
}

void sim_backend_set_reuse_bytes(struct backend *be, double bytes)
{
    if (be && be->ops == &SIM_OPS) ctx_of(be)->dev.reuse_bytes = bytes;
}

const struct roof_device *sim_backend_device(const struct backend *be)
{
    return be && be->ops == &SIM_OPS ? &((const struct sim_ctx *)be->ctx)->dev : NULL;
}

int sim_backend_create_group(const struct backend *tmpl, int n, struct backend **out, char *err, size_t errlen)
{
    const struct roof_device *agg = sim_backend_device(tmpl);
    const char *spec = ((const struct sim_ctx *)tmpl->ctx)->spec;
    int have = agg && agg->n_devices > 1 ? agg->n_devices : 1;
    if (!agg || n < 1 || n > have) {
        snprintf(err, errlen, "device %s: tp × pp = %d simulated devices; expected at most %d (the xN of "
                 "--device, e.g. sim:h100x%d)", spec, n, have, n);
        return -1;
    }
    struct roof_device one;
    roof_device_one(agg, &one);
    for (int k = 0; k < n; k++) {
        out[k] = sim_backend_create(&one, spec);
        if (!out[k]) {
            while (k-- > 0) backend_destroy(out[k]);
            snprintf(err, errlen, "sim backend: out of memory");
            return -1;
        }
        out[k]->device = k;
        snprintf(out[k]->reason, sizeof out[k]->reason, "SIMULATED (%.24s): device %d of %d%s, op times from the "
                 "roofline, comm from the link (%.0f GB/s)", spec, k, n, n < have ? " used" : "", one.link_bw / 1e9);
    }
    return 0;
}
