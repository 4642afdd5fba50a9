/* core/plan/plan.c — see plan.h. */
#include "core/plan/plan.h"
#include "core/model/forward.h"
#include "kernels/comm.h"
#include "kernels/registry.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double plan_weight_bytes(const struct model *m)
{
    const struct model_config *c = &m->cfg;
    double b = (double)weight_bytes(&m->tok_embd) + (c->tied_output ? 0 : (double)weight_bytes(&m->output));
    for (int l = 0; l < c->n_layers; l++) {
        const struct layer_weights *L = &m->layers[l];
        const struct weight *w[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (int i = 0; i < 7; i++) b += (double)weight_bytes(w[i]);
    }
    return b + 4.0 * (2.0 * c->n_layers * c->dim + c->dim);
}

/* The forward's activation buffers for `tokens` tokens (forward.c's list). */
static double activation_bytes(const struct model_config *c, double tokens)
{
    double qd = (double)c->n_heads * c->head_dim, kvd = (double)c->n_kv_heads * c->head_dim;
    return tokens * (3.0 * c->dim + 2 * qd + 2 * kvd + 2.0 * c->ffn_dim + c->vocab) * 4.0;
}

static int kv_elem(enum dtype t) { return t == DT_F32 ? 4 : 2; }

double plan_need_bytes(const struct plan_config *c, int b, double *kv_dev, double *act_dev)
{
    int n = c->tp * c->pp;
    double kv = (double)b * c->ctx * model_kv_bytes_per_token(&c->m->cfg, kv_elem(c->kv_type));
    double act = activation_bytes(&c->m->cfg, (double)b * c->ctx) / c->tp;
    if (kv_dev) *kv_dev = kv / n;
    if (act_dev) *act_dev = act;
    return plan_weight_bytes(c->m) / n + kv / n + act;
}

/* ---- one phase through the engine's forward on a simulated device ---- */

/* Ops tensor parallelism splits across the group; norms, adds and the
 * embedding lookup run on every device. */
static bool split_by_tp(const struct kernel_record *r)
{
    if (r->cls == OPC_NORM || r->cls == OPC_EMBED) return false;
    return strcmp(r->name, "add") != 0;
}


static struct plan_op *op_slot(struct plan_phase *ph, const struct kernel_record *r)
{
    for (int i = 0; i < ph->n_ops; i++) {
        struct plan_op *o = &ph->ops[i];
        if (!strcmp(o->name, r->name) && !memcmp(o->shape, r->shape, sizeof o->shape)) return o;
    }
    if (ph->n_ops == PLAN_MAX_OPS) return NULL;
    struct plan_op *o = &ph->ops[ph->n_ops++];
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%s", r->name);
    o->cls = r->cls;
    memcpy(o->shape, r->shape, sizeof o->shape);
    return o;
}

/* Fold record r (scaled to one device of the tp group) into the phase. */
static void add_record(struct plan_phase *ph, const struct plan_config *c, struct kernel_record r)
{
    if (c->tp > 1 && split_by_tp(&r)) {
        r.flops /= c->tp; r.dram_rd /= c->tp; r.dram_wr /= c->tp;
    }
    struct roof_time t;
    roof_op_time(&c->dev, &r, roof_record_fmt(&r, c->kv_type), &t);
    struct plan_op *o = op_slot(ph, &r);
    double bytes = r.dram_rd + r.dram_wr;
    ph->flops += r.flops;
    ph->bytes += bytes;
    ph->t_s += t.t_s;
    ph->class_s[r.cls] += t.t_s;
    if (!o) return;
    o->count++;
    o->flops += r.flops; o->bytes += bytes;
    o->t_s += t.t_s; o->compute_s += t.compute_s; o->memory_s += t.memory_s;
    o->memory_bound = o->memory_s >= o->compute_s;
}

/* The step's comm, timed as the simulated device times it (roof_comm_time):
 * 2 ring all-reduces per layer of tokens·dim f32 (2(tp−1) steps moving
 * 2(tp−1)/tp of it per device), and pp−1 hand-offs of the same rows. */
static double comm_s(const struct plan_config *c, int tokens)
{
    const struct model_config *mc = &c->m->cfg;
    int64_t elems = (int64_t)tokens * mc->dim;
    double t = 0;
    if (c->tp > 1)
        t += 2.0 * mc->n_layers * roof_comm_time(&c->dev, 2 * (c->tp - 1), comm_bytes_all_reduce(c->tp, elems));
    if (c->pp > 1) t += (c->pp - 1) * roof_comm_time(&c->dev, 1, (double)elems * sizeof(float));
    return t;
}

/* Run the phase: n_seq sequences of n_tok new tokens at position pos0. */
static int run_phase(const struct plan_config *c, struct backend *be, int n_seq, int n_tok, int pos0,
                     struct plan_phase *ph, char *err, size_t errlen)
{
    const struct model_config *mc = &c->m->cfg;
    struct forward f;
    struct kernel_log log;
    int T = n_seq * n_tok, rc = -1;
    memset(ph, 0, sizeof *ph);
    kernel_log_init(&log, 1024);
    be->log = &log;
    struct fwd_seq *seqs = calloc((size_t)n_seq, sizeof *seqs);
    int32_t *tokens = calloc((size_t)n_tok, sizeof *tokens), table[1] = {0};
    float *logits = malloc((size_t)n_seq * mc->vocab * sizeof *logits);
    void *pool = backend_alloc(be, 4096);
    if (!seqs || !tokens || !logits || !pool || !log.recs) {
        snprintf(err, errlen, "plan: out of memory");
        goto done;
    }
    if (forward_init(&f, (struct model *)c->m, be, T, err, errlen) < 0) goto done;
    f.attn = c->attn;
    for (int s = 0; s < n_seq; s++)
        seqs[s] = (struct fwd_seq){.tokens = tokens, .n_tokens = n_tok, .pos0 = pos0, .decode = n_tok == 1 && pos0 > 0,
                                   .kv = {.k = pool, .v = pool, .layer_stride = 0, .table = table, .n_blocks = 1,
                                          .block_size = pos0 + n_tok, .kv_dim = mc->n_kv_heads * mc->head_dim,
                                          .kv_type = c->kv_type}};
    if (forward_batch(&f, seqs, n_seq, logits) < 0) snprintf(err, errlen, "plan: the forward pass refused the batch");
    else rc = 0;
    forward_free(&f);
    for (int i = 0; rc == 0 && i < log.n; i++) add_record(ph, c, log.recs[i]);
    ph->tokens = T;
    ph->comm_s = rc == 0 ? comm_s(c, T) : 0;
    ph->t_s += ph->comm_s;
done:
    backend_free(be, pool);
    be->log = NULL;
    kernel_log_free(&log);
    free(seqs); free(tokens); free(logits);
    return rc;
}

/* Largest batch (1..4096) whose memory fits the budget at ctx; 0: none. */
static int max_batch(const struct plan_config *c, double budget)
{
    int lo = 0, hi = 4096;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (plan_need_bytes(c, mid, NULL, NULL) <= budget) lo = mid; else hi = mid - 1;
    }
    return lo;
}

static void fill_memory(const struct plan_config *c, struct plan_result *r)
{
    int n = c->tp * c->pp;
    r->weights = plan_weight_bytes(c->m);
    r->weights_dev = r->weights / n;
    r->kv_token = model_kv_bytes_per_token(&c->m->cfg, kv_elem(c->kv_type));
    r->kv = (double)c->batch * c->ctx * r->kv_token;
    r->need_dev = plan_need_bytes(c, c->batch, &r->kv_dev, &r->act_dev);
    r->budget = c->budget > 0 ? c->budget : c->dev.mem_bytes;
    r->fits = r->need_dev <= r->budget;
    r->max_batch = max_batch(c, r->budget);
}

int plan_compute(const struct plan_config *c, struct plan_result *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    if (c->batch < 1 || c->batch > 4096 || c->ctx < 1 || c->ctx > c->m->cfg.max_ctx * 16 || c->tp < 1 ||
        c->pp < 1 || c->tp * c->pp > 16) {
        snprintf(err, errlen, "plan: batch %d, ctx %d, tp %d, pp %d; expected batch 1..4096, ctx >= 1, "
                 "tp·pp 1..16", c->batch, c->ctx, c->tp, c->pp);
        return -1;
    }
    if (c->pp > c->m->cfg.n_layers) {
        snprintf(err, errlen, "plan: pp %d; expected at most the model's %d layers", c->pp, c->m->cfg.n_layers);
        return -1;
    }
    fill_memory(c, r);
    struct backend *be = backend_create_sim(&c->dev, "plan", err, errlen);
    if (!be) return -1;
    int rc = run_phase(c, be, c->batch, c->ctx, 0, &r->prefill, err, errlen);
    if (rc == 0) rc = run_phase(c, be, c->batch, 1, c->ctx, &r->decode, err, errlen);
    backend_destroy(be);
    if (rc < 0) return -1;
    r->ttft_s = r->prefill.t_s;
    r->tpot_s = r->decode.t_s;
    r->prefill_tok_s = r->prefill.t_s > 0 ? r->prefill.tokens / r->prefill.t_s : 0;
    r->decode_tok_s = r->decode.t_s > 0 ? c->batch / r->decode.t_s : 0;
    return 0;
}
