/* core/parallel/parallel.c — see parallel.h. */
#include "core/parallel/parallel.h"
#include "core/parallel/balance.h"
#include "core/parallel/tp.h"
#include "kernels/comm.h"
#include "kernels/registry.h"
#include "traces/nvtx.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAR_MAX_MB 64

struct parallel;

/* One device: (stage, rank), its shard, forward, KV shard and thread. */
struct par_dev {
    struct parallel *p;
    int d, stage, rank;
    struct backend *be;
    struct model shard;            /* tp views of the full model (tp == 1: whole tensors) */
    bool has_shard;
    struct forward own_fw;         /* devices other than 0; device 0 runs the target's */
    struct forward *fw;
    struct kernel_log own_log;
    struct kernel_log *log;
    int kv_shard;                  /* index in the pool's shards; -1: the pool's own storage */
    float *xfer;                   /* backend [cap][dim]: activations to / from the next stage */
    float *hidden;                 /* host [cap][dim] */
    struct fwd_seq *seqs;          /* [max_seqs]: the step's sequences with this device's KV views */
    struct tel_segment *seg;
    int n_seg, cap_seg;
    int resid_rows;                /* most residual rows held in one call this step */
    pthread_t th;
    bool started;
    int rc;
};

struct parallel {
    int tp, pp, mb, n;
    bool sp, shared_cores;
    bool balance_time;             /* pp_balance=time: stages from measured matmul time */
    double balance_layer_s, balance_head_s;   /* the probe's mean layer and head times */
    struct model *m;
    struct backend *devs[PAR_MAX_DEVICES];
    int n_devs;                    /* created (destroyed by par_free) */
    struct comm *tpc[PAR_MAX_DEVICES];   /* per stage: its tp ranks */
    struct comm *ppc;              /* every device: stage-to-stage send/recv */
    int l0[PAR_MAX_DEVICES], l1[PAR_MAX_DEVICES];
    struct par_dev dev[PAR_MAX_DEVICES];
    int cap, max_seqs;
    struct kvcache *kv;            /* the target's pool */
    /* the job the device threads run (one per step) */
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    uint64_t gen;
    int n_done;
    bool quit, sync_init;
    const struct fwd_seq *seqs;
    const int *seq_ids;
    int n_seqs;
    float *logits;
    enum attn_impl attn;
    int n_mb, mb_lo[PAR_MAX_MB + 1];
    uint64_t t0_ns;
    par_stage_hook hook;
    void *hook_user;
    struct tel_segment *all_seg;   /* every device's segments of the step, for telemetry */
    int cap_all;
    char name[160];
};

bool par_wanted(const struct options *opt)
{
    return opt_i(opt, OPT_TP) > 1 || opt_i(opt, OPT_PP) > 1;
}

/* ---- segments ---- */

static double since(const struct parallel *p, uint64_t t_ns) { return (double)(t_ns - p->t0_ns) / 1e9; }

static void seg_add(struct par_dev *d, enum tel_seg_kind kind, int mb, uint64_t t0, uint64_t t1)
{
    if (d->n_seg == d->cap_seg) {
        int cap = d->cap_seg ? d->cap_seg * 2 : 64;
        struct tel_segment *s = realloc(d->seg, (size_t)cap * sizeof *s);
        if (!s) return;                 /* the panel misses a segment; the step is unaffected */
        d->seg = s;
        d->cap_seg = cap;
    }
    d->seg[d->n_seg++] = (struct tel_segment){(int16_t)d->d, (int16_t)d->stage, (int16_t)mb, (uint8_t)kind,
                                              since(d->p, t0), since(d->p, t1)};
}

/* ---- one device's step ---- */

static int tokens_of(const struct fwd_seq *s, int a, int b)
{
    int n = 0;
    for (int k = a; k < b; k++) n += s[k].n_tokens;
    return n;
}

/* The step's sequences with this device's views of their KV. */
static int dev_views(struct parallel *p, struct par_dev *d)
{
    for (int k = 0; k < p->n_seqs; k++) {
        d->seqs[k] = p->seqs[k];
        if (d->kv_shard >= 0 && kvcache_shard_view(p->kv, d->kv_shard, p->seq_ids[k], &d->seqs[k].kv) != KVC_OK)
            return -1;
    }
    return 0;
}

/* Activations of micro-batch mb from the previous stage: the wait is idle,
 * the transfer a recv. */
static void recv_hidden(struct parallel *p, struct par_dev *d, int mb, int64_t floats)
{
    int prev = d->d - p->tp;
    uint64_t t0 = backend_now_ns(d->be);
    backend_wait_recv(d->be, p->ppc, prev);
    uint64_t t1 = backend_now_ns(d->be);
    seg_add(d, SEG_IDLE, mb, t0, t1);
    nvtx_push(NR_COMM, (uint64_t)floats * sizeof(float));
    backend_recv(d->be, p->ppc, prev, d->xfer, floats);
    backend_download(d->be, d->hidden, d->xfer, (size_t)floats * sizeof(float));
    nvtx_pop();
    seg_add(d, SEG_RECV, mb, t1, backend_now_ns(d->be));
}

static void send_hidden(struct parallel *p, struct par_dev *d, int mb, int64_t floats)
{
    uint64_t t0 = backend_now_ns(d->be);
    nvtx_push(NR_COMM, (uint64_t)floats * sizeof(float));
    backend_upload(d->be, d->xfer, d->hidden, (size_t)floats * sizeof(float));
    backend_send(d->be, p->ppc, d->d + p->tp, d->xfer, floats);
    nvtx_pop();
    seg_add(d, SEG_SEND, mb, t0, backend_now_ns(d->be));
}

static int dev_step(struct parallel *p, struct par_dev *d)
{
    const struct model_config *c = &p->m->cfg;
    bool first = d->stage == 0, last = d->stage == p->pp - 1;
    unsigned flags = (first ? FWD_EMBED : 0) | (last ? FWD_HEAD : 0);
    d->n_seg = 0;
    d->resid_rows = 0;
    if (d->log != NULL && d->d != 0) kernel_log_clear(d->log);
    d->be->log = d->log;
    d->fw->attn = p->attn;
    if (dev_views(p, d) < 0) return -1;
    for (int mb = 0; mb < p->n_mb; mb++) {
        int a = p->mb_lo[mb], b = p->mb_lo[mb + 1];
        int64_t floats = (int64_t)tokens_of(d->seqs, a, b) * c->dim;
        if (!first) recv_hidden(p, d, mb, floats);
        uint64_t t0 = backend_now_ns(d->be);
        nvtx_push(NR_FORWARD, (uint64_t)mb);      /* the micro-batch's compute on this device's thread */
        if (p->hook) {
            p->hook(p->hook_user, d->stage, mb);
        } else {
            float *rows = last ? p->logits + (size_t)forward_rows(d->seqs, a) * c->vocab : NULL;
            d->fw->seq_ids = p->seq_ids + a;
            if (forward_stage(d->fw, p->l0[d->stage], p->l1[d->stage], flags, d->seqs + a, b - a, d->hidden,
                              rows) < 0) {
                nvtx_pop();
                return -1;
            }
            if (d->fw->resid_rows > d->resid_rows) d->resid_rows = d->fw->resid_rows;
        }
        nvtx_pop();
        seg_add(d, SEG_COMPUTE, mb, t0, backend_now_ns(d->be));
        if (!last) send_hidden(p, d, mb, floats);
    }
    backend_sync(d->be);
    return 0;
}

static void *dev_thread(void *arg)
{
    struct par_dev *d = arg;
    struct parallel *p = d->p;
    char name[48];
    snprintf(name, sizeof name, "device %d (stage %d, rank %d)", d->d, d->stage, d->rank);
    nvtx_name_thread(name);
    uint64_t seen = 0;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->gen == seen && !p->quit) pthread_cond_wait(&p->go, &p->mu);
        bool quit = p->quit;
        seen = p->gen;
        pthread_mutex_unlock(&p->mu);
        if (quit) break;
        d->rc = dev_step(p, d);
        pthread_mutex_lock(&p->mu);
        p->n_done++;
        pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

/* ---- after the step: records, segments, bubble ---- */

static void append_records(struct kernel_log *dst, const struct kernel_log *src)
{
    if (dst->n + src->n > dst->cap) {
        int cap = dst->n + src->n;
        struct kernel_record *r = realloc(dst->recs, (size_t)cap * sizeof *r);
        if (!r) return;
        dst->recs = r;
        dst->cap = cap;
    }
    memcpy(dst->recs + dst->n, src->recs, (size_t)src->n * sizeof *src->recs);
    dst->n += src->n;
}

static void device_times(const struct kernel_log *log, int device, struct tel_device *td)
{
    td->compute_s = td->comm_s = 0;
    for (int i = 0; i < log->n; i++) {
        const struct kernel_record *k = &log->recs[i];
        if (k->device != device) continue;
        if (k->cls == OPC_COMM) td->comm_s += k->dur_ns / 1e9;
        else td->compute_s += k->dur_ns / 1e9;
    }
}

/* Idle at the ends of each device's step (the fill and drain of the pipe)
 * as segments, then the bubble over each stage's rank 0. */
static void account(struct parallel *p, struct model_instance *target, struct tel_parallel *tel)
{
    double lo = 1e300, hi = -1e300;
    for (int i = 0; i < p->n; i++)
        for (int k = 0; k < p->dev[i].n_seg; k++) {
            if (p->dev[i].seg[k].t0_s < lo) lo = p->dev[i].seg[k].t0_s;
            if (p->dev[i].seg[k].t1_s > hi) hi = p->dev[i].seg[k].t1_s;
        }
    if (hi < lo) lo = hi = 0;
    int total = 0;
    for (int i = 0; i < p->n; i++) total += p->dev[i].n_seg + 2;
    if (total > p->cap_all) {
        struct tel_segment *s = realloc(p->all_seg, (size_t)total * sizeof *s);
        if (s) { p->all_seg = s; p->cap_all = total; }
    }
    int n = 0;
    double idle_stage = 0, comm = 0;
    for (int i = 0; i < p->n; i++) {
        struct par_dev *d = &p->dev[i];
        struct tel_device *td = &tel->dev[i];
        double busy = 0, idle = 0, first = hi, last = lo;
        for (int k = 0; k < d->n_seg; k++) {
            const struct tel_segment *s = &d->seg[k];
            if (s->kind == SEG_IDLE) idle += s->t1_s - s->t0_s; else busy += s->t1_s - s->t0_s;
            if (s->t0_s < first) first = s->t0_s;
            if (s->t1_s > last) last = s->t1_s;
        }
        if (n + d->n_seg + 2 <= p->cap_all) {
            if (first > lo) p->all_seg[n++] = (struct tel_segment){(int16_t)d->d, (int16_t)d->stage, -1, SEG_IDLE, lo, first};
            memcpy(p->all_seg + n, d->seg, (size_t)d->n_seg * sizeof *d->seg);
            n += d->n_seg;
            if (last < hi) p->all_seg[n++] = (struct tel_segment){(int16_t)d->d, (int16_t)d->stage, -1, SEG_IDLE, last, hi};
        }
        device_times(&target->log, d->d, td);
        td->idle_s = (hi - lo) - busy;
        td->resid_bytes = (double)d->resid_rows * p->m->cfg.dim * sizeof(float);
        if (d->rank == 0) idle_stage += (hi - lo) - busy;
        comm += td->comm_s;
        (void)idle;
    }
    double span = hi - lo;
    tel->seg = p->all_seg;
    tel->n_seg = n;
    tel->mb_used = p->n_mb;
    tel->span_s = span;
    tel->bubble = span > 0 ? idle_stage / (p->pp * span) : 0;
    tel->bubble_formula = (double)(p->pp - 1) / (p->n_mb + p->pp - 1);
    tel->comm_share = span > 0 ? comm / (p->n * span) : 0;
}

/* ---- the step ---- */

static void split_micro_batches(struct parallel *p, int n_seqs)
{
    int m = p->mb < n_seqs ? p->mb : n_seqs;
    if (m > PAR_MAX_MB) m = PAR_MAX_MB;
    p->n_mb = m;
    for (int j = 0; j <= m; j++) p->mb_lo[j] = (int)((int64_t)n_seqs * j / m);
}

int par_forward(struct parallel *p, struct model_instance *target, const struct fwd_seq *seqs,
                const int *seq_ids, int n_seqs, float *logits, uint64_t t0_ns, struct tel_parallel *tel)
{
    if (n_seqs <= 0 || n_seqs > p->max_seqs) return -1;
    p->seqs = seqs;
    p->seq_ids = seq_ids;
    p->n_seqs = n_seqs;
    p->logits = logits;
    p->attn = target->fw.attn;
    p->t0_ns = t0_ns;
    split_micro_batches(p, n_seqs);
    instance_bind_log(target);
    /* every device starts the step at device 0's time (simulated timelines; no-op on real ones) */
    for (int i = 1; i < p->n; i++) backend_clock_start(p->devs[i], backend_now_ns(p->devs[0]));
    pthread_mutex_lock(&p->mu);
    p->n_done = 0;
    p->gen++;
    pthread_cond_broadcast(&p->go);
    while (p->n_done < p->n) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
    int rc = 0;
    for (int i = 0; i < p->n; i++) {
        if (p->dev[i].rc < 0) rc = -1;
        if (i > 0) append_records(&target->log, p->dev[i].log);
        backend_clock_join(p->devs[0], backend_now_ns(p->devs[i]));   /* the step ends with its last device */
    }
    account(p, target, tel);
    return rc < 0 ? -1 : forward_rows(seqs, n_seqs);
}

/* ---- setup ---- */

static int check_options(const struct options *opt, const struct model *m, char *err, size_t errlen)
{
    int tp = (int)opt_i(opt, OPT_TP), pp = (int)opt_i(opt, OPT_PP);
    if (tp * pp > PAR_MAX_DEVICES) {
        snprintf(err, errlen, "tp=%d pp=%d: %d devices; expected tp × pp <= %d", tp, pp, tp * pp, PAR_MAX_DEVICES);
        return -1;
    }
    if (pp > m->cfg.n_layers) {
        snprintf(err, errlen, "pp=%d: %s has %d layers; expected pp <= %d", pp, m->cfg.name, m->cfg.n_layers,
                 m->cfg.n_layers);
        return -1;
    }
    struct tp_split s;
    for (int r = 0; r < tp; r++)
        if (tp_split_of(m, tp, r, &s, err, errlen) < 0) return -1;
    return 0;
}

int par_check_options(const struct options *opt, const struct model *m, char *err, size_t errlen)
{
    if (opt_i(opt, OPT_SP) && opt_i(opt, OPT_TP) < 2) {
        snprintf(err, errlen, "sp=on: sequence parallelism splits the tokens over the tensor-parallel "
                 "ranks; expected tp >= 2");
        return -1;
    }
    return par_wanted(opt) ? check_options(opt, m, err, errlen) : 0;
}

/* The KV pool's size in blocks for the WHOLE model (every layer, every KV
 * head) from the kv options, so parallelism changes where KV lives, not how
 * much there is. */
static struct kvcache_config pool_config(const struct kvcache_config *kv, const struct model *m)
{
    struct kvcache_config kc = *kv;
    if (kc.n_blocks == 0) {
        int64_t nb = kvcache_blocks_for_budget(kc.budget_bytes, m->cfg.n_layers, m->cfg.n_kv_heads * m->cfg.head_dim,
                                               kvcache_elem_bytes(kc.kv_type), kc.block_size);
        kc.n_blocks = nb > 0 ? (int)(nb > 1 << 30 ? 1 << 30 : nb) : 0;
    }
    return kc;
}

/* Weights of device d's layers on its backend (a no-op where the backend
 * reads host memory in place, as the CPU does). */
static int upload_shard(struct par_dev *d, int l0, int l1)
{
    struct model *s = &d->shard;
    bool ok = true;
    if (l0 == 0) ok = backend_upload_weight(d->be, &s->tok_embd) == 0;
    if (ok && l1 == s->cfg.n_layers) ok = backend_upload_weight(d->be, &s->output) == 0;
    for (int l = l0; ok && l < l1; l++) {
        struct layer_weights *L = &s->layers[l];
        struct weight *w[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; ok && i < sizeof w / sizeof w[0]; i++) ok = backend_upload_weight(d->be, w[i]) == 0;
    }
    return ok ? 0 : -1;
}

/* Stage s's layers [l0[s], l1[s]): even counts, or balanced by measured
 * matmul time (core/parallel/balance.h) on the engine's backend, where the
 * whole model's weights are runnable. */
static int stage_bounds(struct parallel *p, struct backend *be, char *err, size_t errlen)
{
    int L = p->m->cfg.n_layers;
    if (!p->balance_time) {
        for (int s = 0; s < p->pp; s++) {
            p->l0[s] = (int)comm_rows_lo(L, p->pp, s);
            p->l1[s] = (int)comm_rows_lo(L, p->pp, s + 1);
        }
        return 0;
    }
    if (strcmp(be->ops->name, "cpu") != 0) {
        snprintf(err, errlen, "pp_balance=time: the probe times matmuls on the CPU backend; expected "
                 "pp_balance=layers on %s", be->ops->name);
        return -1;
    }
    double *cost = calloc((size_t)L, sizeof *cost), embed, head;
    int rows = p->cap < 8 ? p->cap : 8;
    int rc = cost ? par_measure_costs(be, p->m, rows, 3, cost, &embed, &head, err, errlen) : -1;
    if (!cost) snprintf(err, errlen, "pp_balance=time: out of memory");
    if (rc == 0) rc = par_balance_split(cost, L, embed, head, p->pp, p->l0, p->l1);
    if (rc == 0) {
        p->balance_layer_s = 0;
        for (int l = 0; l < L; l++) p->balance_layer_s += cost[l] / L;
        p->balance_head_s = head;
    }
    free(cost);
    return rc;
}

static int create_devices(struct parallel *p, struct backend *be, char *err, size_t errlen)
{
    if (backend_create_group_like(be, p->n, p->devs, err, errlen) < 0) return -1;
    p->n_devs = p->n;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    p->shared_cores = !be->simulated && (p->n > be->n_threads || (cores > 0 && p->n > cores));
    if (stage_bounds(p, be, err, errlen) < 0) return -1;
    for (int s = 0; s < p->pp; s++) {
        p->tpc[s] = comm_create(p->devs + s * p->tp, p->tp, err, errlen);
        if (!p->tpc[s]) return -1;
    }
    p->ppc = comm_create(p->devs, p->n, err, errlen);
    snprintf(p->name, sizeof p->name, "%d %s device%s (tp=%d × pp=%d%s, %d thread%s each%s): %.60s", p->n,
             be->ops->name, p->n > 1 ? "s" : "", p->tp, p->pp, p->sp ? ", sp" : "", p->devs[0]->n_threads,
             p->devs[0]->n_threads == 1 ? "" : "s", p->shared_cores ? "; devices share cores: timings contended" : "",
             p->devs[0]->device_name);
    return p->ppc ? 0 : -1;
}

/* Device d's shard, forward (device 0: the target instance's), KV shard,
 * log and buffers. */
static int create_device(struct parallel *p, int i, int step_tokens, const struct kvcache_config *kv,
                         struct model_instance *in, char *err, size_t errlen)
{
    struct par_dev *d = &p->dev[i];
    const struct model_config *c = &p->m->cfg;
    d->p = p;
    d->d = i;
    d->stage = i / p->tp;
    d->rank = i % p->tp;
    d->be = p->devs[i];
    d->kv_shard = -1;
    if (tp_shard_model(&d->shard, p->m, p->tp, d->rank, err, errlen) < 0) return -1;
    d->has_shard = true;
    int l0 = p->l0[d->stage], l1 = p->l1[d->stage];
    if (upload_shard(d, l0, l1) < 0) {
        snprintf(err, errlen, "tp/pp: device %d could not hold its weight shard", i);
        return -1;
    }
    if (i == 0) {
        struct instance_spec sp = {.role = KROLE_TARGET, .stage = 0, .m = &d->shard, .l0 = l0, .l1 = l1,
                                   .max_tokens = step_tokens, .kv = pool_config(kv, p->m)};
        device_group_one(&sp.group, d->be);
        if (instance_init(in, &sp, err, errlen) < 0) return -1;
        d->fw = &in->fw;
        d->log = &in->log;
        p->kv = in->kv;
    } else {
        if (forward_init_range(&d->own_fw, &d->shard, d->be, l0, l1, step_tokens, err, errlen) < 0) return -1;
        d->fw = &d->own_fw;
        kernel_log_init(&d->own_log, 1024);
        kernel_log_set_instance(&d->own_log, KROLE_TARGET, i, d->stage);
        d->log = &d->own_log;
        d->kv_shard = kvcache_add_shard(p->kv, d->be, l1 - l0, d->shard.cfg.n_kv_heads * c->head_dim, err, errlen);
        if (d->kv_shard < 0 || !d->own_log.recs) return -1;
    }
    if (p->tp > 1) {
        struct tp_split s;
        tp_split_of(p->m, p->tp, d->rank, &s, err, errlen);
        if (forward_set_tp(d->fw, p->tpc[d->stage], p->sp, s.vocab_lo, c->vocab, err, errlen) < 0) return -1;
    }
    d->xfer = backend_alloc(d->be, (size_t)step_tokens * c->dim * sizeof(float));
    d->hidden = calloc((size_t)step_tokens * c->dim, sizeof(float));
    d->seqs = calloc((size_t)p->max_seqs, sizeof *d->seqs);
    if (!d->xfer || !d->hidden || !d->seqs) {
        snprintf(err, errlen, "tp/pp: out of memory for device %d's buffers", i);
        return -1;
    }
    return 0;
}

static int start_threads(struct parallel *p, char *err, size_t errlen)
{
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    p->sync_init = true;
    for (int i = 0; i < p->n; i++) {
        if (pthread_create(&p->dev[i].th, NULL, dev_thread, &p->dev[i]) != 0) {
            snprintf(err, errlen, "tp/pp: could not start the thread of device %d", i);
            return -1;
        }
        p->dev[i].started = true;
    }
    return 0;
}

int par_create(struct parallel **out, const struct options *opt, struct model *m, struct backend *be,
               int step_tokens, const struct kvcache_config *kv, struct model_instance *in,
               char *err, size_t errlen)
{
    *out = NULL;
    memset(in, 0, sizeof *in);
    if (par_check_options(opt, m, err, errlen) < 0) return -1;
    struct parallel *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "tp/pp: out of memory");
        return -1;
    }
    p->tp = (int)opt_i(opt, OPT_TP);
    p->pp = (int)opt_i(opt, OPT_PP);
    p->mb = (int)opt_i(opt, OPT_MICRO_BATCHES);
    p->sp = opt_i(opt, OPT_SP) != 0;
    p->balance_time = opt_enum(opt, PP_BALANCE) == PP_BALANCE_TIME;
    p->n = p->tp * p->pp;
    p->m = m;
    p->cap = step_tokens;
    p->max_seqs = (int)opt_i(opt, OPT_MAX_BATCH) + 1;
    int rc = create_devices(p, be, err, errlen);
    for (int i = 0; rc == 0 && i < p->n; i++) rc = create_device(p, i, step_tokens, kv, in, err, errlen);
    if (rc == 0) rc = start_threads(p, err, errlen);
    if (rc < 0) {
        instance_free(in);
        par_free(p);
        return -1;
    }
    in->m = m;          /* the engine and its consumers see the whole model */
    *out = p;
    return 0;
}

void par_free(struct parallel *p)
{
    if (!p) return;
    if (p->sync_init) {
        pthread_mutex_lock(&p->mu);
        p->quit = true;
        pthread_cond_broadcast(&p->go);
        pthread_mutex_unlock(&p->mu);
    }
    for (int i = 0; i < p->n; i++)
        if (p->dev[i].started) pthread_join(p->dev[i].th, NULL);
    for (int i = 0; i < p->n; i++) {
        struct par_dev *d = &p->dev[i];
        if (i > 0) {            /* device 0's forward and log are the target instance's */
            forward_free(&d->own_fw);
            kernel_log_free(&d->own_log);
        }
        if (d->be) {
            d->be->log = NULL;
            backend_free(d->be, d->xfer);
        }
        free(d->hidden);
        free(d->seqs);
        free(d->seg);
        if (d->has_shard) tp_shard_free(&d->shard);
    }
    for (int s = 0; s < p->pp; s++) comm_destroy(p->tpc[s]);
    comm_destroy(p->ppc);
    for (int i = 0; i < p->n_devs; i++) backend_destroy(p->devs[i]);
    if (p->sync_init) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->go);
        pthread_cond_destroy(&p->done);
    }
    free(p->all_seg);
    free(p);
}

void par_describe(const struct parallel *p, struct tel_parallel *tel)
{
    memset(tel, 0, sizeof *tel);
    tel->tp = p->tp;
    tel->pp = p->pp;
    tel->micro_batches = p->mb;
    tel->sp = p->sp;
    tel->n_devices = p->n;
    tel->shared_cores = p->shared_cores;
    snprintf(tel->comm_algo, sizeof tel->comm_algo, "%s", comm_algo_name(p->ppc));
    const struct model_config *c = &p->m->cfg;
    for (int i = 0; i < p->n; i++) {
        const struct par_dev *d = &p->dev[i];
        const struct model_config *s = &d->shard.cfg;
        struct tel_device *td = &tel->dev[i];
        int l0 = p->l0[d->stage], l1 = p->l1[d->stage];
        td->device = i;
        td->stage = d->stage;
        td->rank = d->rank;
        td->l0 = l0;
        td->l1 = l1;
        td->weight_bytes = tp_weight_bytes(&d->shard, l0, l1);
        td->kv_bytes = (double)kvcache_storage_bytes(p->kv, d->kv_shard);
        /* forward_init_range's buffers: x, xb, xb2 [T][dim]; q, att [T][qd]; k, v [T][kvd];
         * gate, up [T][ffn]; logits [T][vocab shard] on the last stage */
        double T = p->cap, qd = (double)s->n_heads * c->head_dim, kvd = (double)s->n_kv_heads * c->head_dim;
        td->act_bytes = 4.0 * T * (3.0 * c->dim + 2 * qd + 2 * kvd + 2.0 * s->ffn_dim +
                                   (l1 == c->n_layers ? d->shard.output.rows : 0));
    }
}

void par_step_record(const struct tel_parallel *tel, struct step_record *sr)
{
    sr->par_mb = tel->mb_used;
    sr->par_bubble = tel->bubble;
    sr->par_bubble_formula = tel->bubble_formula;
    sr->par_comm_share = tel->comm_share;
    sr->par_resid_bytes = 0;
    for (int d = 0; d < tel->n_devices; d++)
        if (tel->dev[d].resid_bytes > sr->par_resid_bytes) sr->par_resid_bytes = tel->dev[d].resid_bytes;
}

const char *par_device_name(const struct parallel *p) { return p->name; }

void par_set_stage_hook(struct parallel *p, par_stage_hook hook, void *user)
{
    p->hook = hook;
    p->hook_user = user;
}
