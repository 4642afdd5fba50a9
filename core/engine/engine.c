/* core/engine/engine.c — see engine.h. */
#include "core/engine/engine.h"
#include "core/parallel/parallel.h"
#include "core/parallel/tp.h"
#include "kernels/registry.h"
#include "traces/nvtx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double engine_now(const struct engine *e) { return run_clock_now(&e->tel.clock); }

void engine_fix_step_time(struct engine *e, double step_s)
{
    e->tel.clock.mode = CLOCK_FIXED;
    e->tel.clock.fixed_step_s = step_s;
    e->tel.clock.virtual_s = 0;
}

/* The clock of a simulated device: SIMULATED time from 0, kernel records on
 * the backend's timeline (be->sim_ns) from 0 too. Else wall time. */
static void clock_start(struct engine *e)
{
    struct backend *be = engine_backend(e);
    e->t0_ns = be->simulated ? 0 : now_ns();
    e->tel.t0_ns = e->t0_ns;
    e->tel.clock = (struct run_clock){.mode = be->simulated ? CLOCK_SIM : CLOCK_WALL, .t0_ns = e->t0_ns};
    be->sim_ns = 0;
}

/* A step's forward pass ran: on a virtual clock the time moves by its
 * duration — the simulated backend's op times (CLOCK_SIM) or the fixed step
 * (CLOCK_FIXED); scheduling and sampling take no simulated time. */
static void clock_after_forward(struct engine *e, double t_start)
{
    struct run_clock *c = &e->tel.clock;
    struct backend *be = engine_backend(e);
    if (c->mode == CLOCK_SIM) c->virtual_s = be->sim_ns / 1e9;
    else if (c->mode == CLOCK_FIXED) c->virtual_s = t_start + c->fixed_step_s;
}

/* Before a step's forward pass: a simulated device's ops start at the clock. */
static void clock_before_forward(struct engine *e)
{
    if (e->tel.clock.mode == CLOCK_SIM) engine_backend(e)->sim_ns = (uint64_t)(e->tel.clock.virtual_s * 1e9 + 0.5);
}

const struct telemetry *engine_telemetry(const struct engine *e) { return &e->tel; }

/* Run info and the request ledger; the per-step fields start empty. */
static int telemetry_init(struct engine *e)
{
    struct telemetry *t = &e->tel;
    snprintf(t->model, sizeof t->model, "%s", engine_model(e)->source);
    snprintf(t->backend, sizeof t->backend, "%s", engine_backend(e)->ops->name);
    snprintf(t->device_name, sizeof t->device_name, "%s",
             e->par ? par_device_name(e->par) : engine_backend(e)->device_name);
    if (e->par) par_describe(e->par, &t->par);
    snprintf(t->device_reason, sizeof t->device_reason, "%s", engine_backend(e)->reason);
    t->simulated = engine_backend(e)->simulated;
    t->device_async = engine_backend(e)->ops->async;
    options_format(&e->opt, t->options, sizeof t->options, false);   /* every option, registry order */
    t->n_layers = engine_model(e)->cfg.n_layers;
    t->n_requests = e->sched.n_reqs;
    t->max_batch = (int)opt_i(&e->opt, OPT_MAX_BATCH);
    int *max_out = calloc((size_t)e->sched.n_reqs + 1, sizeof *max_out);
    if (!max_out) return -1;
    for (int i = 0; i < e->sched.n_reqs; i++) max_out[i] = e->sched.reqs[i].max_output;
    int rc = tel_ledger_init(&t->requests, e->sched.n_reqs, max_out);
    free(max_out);
    t->items = e->tel_items;
    t->pools[0] = (struct tel_pool){.pool = 0, .role = KROLE_TARGET, .snap = &e->target->snap};
    t->n_pools = 1;
    e->sched.events = &t->events;
    return rc;
}

/* The KV pool the options ask for; the instance fills layers and kv_dim. */
static struct kvcache_config kv_config(const struct engine *e)
{
    struct kvcache_config kc = {
        .kind = opt_enum(&e->opt, KV),
        .block_size = opt_enum(&e->opt, BLOCK),
        .n_blocks = (int)opt_i(&e->opt, OPT_KV_BLOCKS),
        .budget_bytes = (size_t)opt_i(&e->opt, OPT_KV_MEM),
        .max_seq = (int)opt_i(&e->opt, OPT_MAX_SEQ),
        .max_requests = (int)opt_i(&e->opt, OPT_MAX_BATCH),
        .prefix_cache = opt_i(&e->opt, OPT_PREFIX_CACHE) != 0,
        .kv_type = opt_enum(&e->opt, KV_DTYPE),
    };
    return kc;
}

/* A simulated device's KV budget when kv_mem is not set: what serving engines
 * leave for KV, 90% of device memory (vLLM's gpu_memory_utilization default)
 * less the weights. be simulates xN devices; with tp × pp of them in use
 * only those count. 0 when the weights alone do not fit. */
static size_t sim_kv_budget(const struct model *m, const struct backend *be, const struct options *opt)
{
    const struct roof_device *d = backend_sim_device(be);
    int n = d && d->n_devices > 1 ? d->n_devices : 1, used = (int)(opt_i(opt, OPT_TP) * opt_i(opt, OPT_PP));
    double mem = par_wanted(opt) && used < n ? be->mem_bytes * used / n : be->mem_bytes;
    double left = 0.9 * mem - tp_weight_bytes(m, 0, m->cfg.n_layers);   /* as stored: quant/2:4 formats */
    return left > 0 ? (size_t)left : 0;
}

/* inst[0]: the target over every layer of m on be (device 0, stage 0), or
 * with tp/pp device 0 of the parallel group (core/parallel). */
static int target_create(struct engine *e, struct model *m, struct backend *be, int step_tokens,
                         char *err, size_t errlen)
{
    struct instance_spec sp = {.role = KROLE_TARGET, .m = m, .max_tokens = step_tokens, .kv = kv_config(e)};
    if (be->simulated && be->mem_bytes > 0 && !e->opt.explicit_set[OPT_KV_MEM] && !opt_i(&e->opt, OPT_KV_BLOCKS)) {
        sp.kv.budget_bytes = sim_kv_budget(m, be, &e->opt);
        if (!sp.kv.budget_bytes) {
            snprintf(err, errlen, "%s: weights (%.1f GB) exceed 90%% of the simulated device memory (%.1f GB)",
                     m->source, tp_weight_bytes(m, 0, m->cfg.n_layers) / 1e9, be->mem_bytes / 1e9);
            return -1;
        }
    }
    device_group_one(&sp.group, be);
    if (par_check_options(&e->opt, m, err, errlen) < 0) return -1;
    if (par_wanted(&e->opt)) {
        if (par_create(&e->par, &e->opt, m, be, step_tokens, &sp.kv, &e->inst[0], err, errlen) < 0) return -1;
    } else if (instance_init(&e->inst[0], &sp, err, errlen) < 0) {
        return -1;
    }
    e->n_inst = 1;
    e->target = &e->inst[0];
    return 0;
}

static int check_workload(const struct engine *e, const struct workload *w, char *err, size_t errlen)
{
    int max_seq = (int)opt_i(&e->opt, OPT_MAX_SEQ);
    for (int i = 0; i < w->n; i++) {
        int len = w->reqs[i].prompt_len + w->reqs[i].max_output;
        if (len > max_seq) {
            snprintf(err, errlen, "max_seq: request %d needs %d tokens (prompt %d + output %d); "
                     "expected max_seq >= %d", i, len, w->reqs[i].prompt_len, w->reqs[i].max_output, len);
            return -1;
        }
    }
    return 0;
}

/* A request the empty pool cannot hold would wait (or be preempted) forever. */
static int check_fits(const struct engine *e, const struct workload *w, char *err, size_t errlen)
{
    char why[400];
    for (int i = 0; i < w->n; i++)
        if (!kvcache_fits_empty(e->target->kv, w->reqs[i].prompt_len + w->reqs[i].max_output, why, sizeof why)) {
            snprintf(err, errlen, "request %d (prompt %d + output %d tokens): %s", i, w->reqs[i].prompt_len,
                     w->reqs[i].max_output, why);
            return -1;
        }
    return 0;
}

/* The speculative decoding state (core/spec) for the target, with `draft`
 * (NULL: none) as spec=draft's model. */
static int spec_setup(struct engine *e, struct model *draft, char *err, size_t errlen)
{
    spec_destroy(e->spec);
    e->spec = NULL;
    struct spec_config c = {.target = e->target, .draft = draft, .kv = kvcache_get_config(e->target->kv),
                            .max_batch = (int)opt_i(&e->opt, OPT_MAX_BATCH), .max_tokens = e->target->fw.cap,
                            .n_reqs = e->sched.n_reqs};
    return spec_create(&e->spec, &c, err, errlen);
}

int engine_attach_draft(struct engine *e, struct model *draft, char *err, size_t errlen)
{
    if (spec_setup(e, draft, err, errlen) < 0) {
        char why[256];
        if (spec_setup(e, NULL, why, sizeof why) < 0) e->failed = true;   /* back to no draft */
        return -1;
    }
    struct model_instance *d = spec_draft_instance(e->spec);
    if (d && e->tel.n_pools < TEL_MAX_POOLS) {
        e->tel.pools[e->tel.n_pools] = (struct tel_pool){.pool = e->tel.n_pools, .role = KROLE_DRAFT, .snap = &d->snap};
        e->tel.n_pools++;
    }
    return 0;
}

int engine_init(struct engine *e, const struct options *opt, struct model *m, struct backend *be,
                const struct workload *w, char *err, size_t errlen)
{
    memset(e, 0, sizeof *e);
    e->opt = *opt;
    int max_batch = (int)opt_i(opt, OPT_MAX_BATCH), step_tokens = (int)opt_i(opt, OPT_MAX_TOKENS_STEP);
    if (step_tokens < max_batch) step_tokens = max_batch;
    struct sched_config sc = {
        .continuous = opt_enum(opt, BATCHING) == BATCHING_CONTINUOUS,
        .max_batch = max_batch,
        .max_tokens_step = step_tokens,
        .chunk = (int)opt_i(opt, OPT_CHUNKED_PREFILL),
        .batch_wait_s = opt_f(opt, OPT_BATCH_WAIT) / 1e3,
        .reserve = opt_enum(opt, ADMISSION) == ADMISSION_RESERVE,
    };
    if (check_workload(e, w, err, errlen) < 0) return -1;
    if (target_create(e, m, be, step_tokens, err, errlen) < 0 || check_fits(e, w, err, errlen) < 0 ||
        sched_init(&e->sched, &sc, e->target->kv, w, (uint64_t)opt_i(opt, OPT_SEED), err, errlen) < 0) {
        engine_free(e);
        return -1;
    }
    e->target->fw.attn = opt_enum(opt, ATTN);
    for (int i = 0; i < e->sched.n_reqs; i++) e->sched.reqs[i].arrival_s /= opt_f(opt, OPT_RATE_SCALE);
    e->seqs = calloc((size_t)max_batch + 1, sizeof *e->seqs);
    e->logits_rows = max_batch + 1;
    e->logits = malloc((size_t)e->logits_rows * m->cfg.vocab * sizeof *e->logits);
    e->sampled = calloc((size_t)(max_batch + 1) * (1 + SPEC_MAX_K), sizeof *e->sampled);
    e->n_sampled = calloc((size_t)max_batch + 1, sizeof *e->n_sampled);
    e->spec_rows = calloc((size_t)max_batch + 1, sizeof *e->spec_rows);
    e->tel_items = calloc((size_t)max_batch + 1, sizeof *e->tel_items);
    e->seq_ids = calloc((size_t)max_batch + 1, sizeof *e->seq_ids);
    e->sample_u = calloc((size_t)max_batch + 1, sizeof *e->sample_u);
    e->sample_ids = calloc((size_t)max_batch + 1, sizeof *e->sample_ids);
    e->target->fw.seq_ids = e->seq_ids;
    if (spec_setup(e, NULL, err, errlen) < 0) {
        engine_free(e);
        return -1;
    }
    if (!e->seqs || !e->logits || !e->sampled || !e->n_sampled || !e->spec_rows || !e->tel_items || !e->seq_ids ||
        !e->sample_u || !e->sample_ids ||
        telemetry_init(e) < 0 ||
        sampler_init(&e->smp, m->cfg.vocab, (float)opt_f(opt, OPT_TEMPERATURE), (int)opt_i(opt, OPT_TOP_K),
                     (float)opt_f(opt, OPT_TOP_P), 0) < 0) {
        engine_free(e);
        snprintf(err, errlen, "engine: out of memory");
        return -1;
    }
    clock_start(e);
    return 0;
}

void engine_free(struct engine *e)
{
    sched_free(&e->sched);
    spec_destroy(e->spec);
    for (int i = 0; i < e->n_inst; i++) instance_free(&e->inst[i]);
    par_free(e->par);             /* after the instances: their pools have shards on its devices */
    sampler_free(&e->smp);
    tel_ledger_free(&e->tel.requests);
    req_events_free(&e->tel.events);
    free(e->seqs); free(e->logits); free(e->sampled); free(e->n_sampled); free(e->spec_rows);
    free(e->rec); free(e->tel_items); free(e->seq_ids); free(e->sample_u); free(e->sample_ids);
    memset(e, 0, sizeof *e);
}

/* Build fwd_seqs from the plan; views are taken after every append. */
static int build_batch(struct engine *e)
{
    const struct scheduler *s = &e->sched;
    for (int k = 0; k < s->n_items; k++) {
        const struct sched_item *it = &s->items[k];
        const struct sched_req *r = &s->reqs[it->req];
        struct fwd_seq *q = &e->seqs[k];
        const struct spec_seq *sq = spec_seq_of_item(e->spec, k);
        q->tokens = sq ? sq->tokens : r->tokens + it->pos0;   /* a verify: the last token, then the drafts */
        q->n_tokens = it->n_tokens + it->spec;
        q->pos0 = it->pos0;
        q->all_logits = sq != NULL;
        q->decode = it->decode;
        e->seq_ids[k] = r->id;
        if (kvcache_view(e->target->kv, r->id, &q->kv) != KVC_OK) return -1;
    }
    return 0;
}

/* Room for `rows` logits rows (a verify needs 1 + drafted per sequence). */
static int ensure_logits(struct engine *e, int rows)
{
    if (rows <= e->logits_rows) return 0;
    float *p = realloc(e->logits, (size_t)rows * engine_model(e)->cfg.vocab * sizeof *p);
    if (!p) return -1;
    e->logits = p;
    e->logits_rows = rows;
    return 0;
}

/* The step's tokens by the backend's sample hook (e->dev_sample: one row per
 * item, no verify): each sampling row's uniform is drawn from its request's
 * rng exactly when the host sampler would draw it (temperature > 0), so the
 * tokens and the rng streams are the host sampler's. 0 ok; -1 when the hook
 * failed (nothing drawn: the caller downloads the logits and samples on the
 * host). */
static int sample_on_backend(struct engine *e)
{
    const struct scheduler *s = &e->sched;
    struct sample_params sp = {e->smp.temperature, e->smp.top_k, e->smp.top_p};
    for (int k = 0; k < s->n_items; k++) {
        struct sched_req *r = &e->sched.reqs[s->items[k].req];
        e->sample_u[k] = 0;
        if (!s->items[k].samples || sp.temperature <= 0) continue;
        e->smp.state = r->rng;
        e->sample_u[k] = sampler_uniform(&e->smp);
    }
    if (forward_sample(&e->target->fw, s->n_items, &sp, e->sample_u, e->sample_ids) < 0) return -1;
    e->tel.hooks.sampled_steps++;
    int S = 1 + SPEC_MAX_K;
    for (int k = 0; k < s->n_items; k++) {
        e->n_sampled[k] = 0;
        if (!s->items[k].samples) continue;
        if (sp.temperature > 0) {        /* the draw is committed with the token */
            e->smp.state = e->sched.reqs[s->items[k].req].rng;
            (void)sampler_uniform(&e->smp);
            e->sched.reqs[s->items[k].req].rng = e->smp.state;
        }
        e->sampled[(size_t)k * S] = e->sample_ids[k];
        e->n_sampled[k] = 1;
    }
    return 0;
}

/* Every item's tokens to commit: a plain item samples its one row with its
 * request's rng; a speculating one gets what spec_verify keeps from its
 * 1 + drafted rows. e->sampled[k][..] and e->n_sampled[k]. */
static void choose_tokens(struct engine *e, struct step_spec *st)
{
    const struct scheduler *s = &e->sched;
    int V = engine_model(e)->cfg.vocab, S = 1 + SPEC_MAX_K;
    const struct spec_seq *seqs = spec_seqs(e->spec);
    if (e->dev_sample) {
        if (sample_on_backend(e) == 0) return;
        forward_logits_download(&e->target->fw, e->logits, s->n_items);   /* the host sampler, then */
    }
    for (int k = 0, row = 0; k < s->n_items; k++) {
        struct sched_req *r = &e->sched.reqs[s->items[k].req];
        const struct spec_seq *sq = spec_seq_of_item(e->spec, k);
        e->n_sampled[k] = 0;
        if (sq) {
            e->spec_rows[sq - seqs] = e->logits + (size_t)row * V;
            row += 1 + sq->n_draft;
            continue;
        }
        if (s->items[k].samples) {
            e->smp.state = r->rng;
            e->sampled[(size_t)k * S] = sampler_sample(&e->smp, e->logits + (size_t)row * V);
            e->n_sampled[k] = 1;
            r->rng = e->smp.state;
        }
        row++;
    }
    if (spec_n_seqs(e->spec) == 0) return;
    spec_verify(e->spec, &e->sched, &e->smp, e->spec_rows, st);
    for (int i = 0; i < spec_n_seqs(e->spec); i++) {
        const struct spec_seq *sq = &seqs[i];
        memcpy(e->sampled + (size_t)sq->item * S, sq->emit, (size_t)sq->n_emit * sizeof *e->sampled);
        e->n_sampled[sq->item] = sq->n_emit;
    }
}

/* The plan item of request `id` in this step, or NULL. */
static const struct tel_item *item_of(const struct tel_item *items, int n, int id)
{
    for (int k = 0; k < n; k++)
        if (items[k].req == id) return &items[k];
    return NULL;
}

/* Sum kernel records by class; split the step between prefill and decode:
 * an attention record belongs to the sequence its seq tag names (whatever
 * order the records came in: a second forward pass cannot shift it);
 * everything else, and attention without a planned sequence, is shared by
 * tokens. */
void engine_summarize_ops(const struct kernel_record *recs, int n_recs, const struct tel_item *items,
                          int n_items, struct step_record *sr)
{
    double attn_prefill = 0, attn_decode = 0, shared = 0;
    for (int i = 0; i < n_recs; i++) {
        const struct kernel_record *k = &recs[i];
        struct op_class_sum *o = &sr->ops[k->cls];
        double t = k->dur_ns / 1e9;
        o->time_s += t; o->flops += k->flops; o->count++;
        o->dram_bytes += k->dram_rd + k->dram_wr;
        o->chip_bytes += k->chip_rd + k->chip_wr;
        const struct tel_item *it = k->cls == OPC_ATTN && k->seq >= 0 ? item_of(items, n_items, k->seq) : NULL;
        if (!it) shared += t;
        else if (it->decode) attn_decode += t;
        else attn_prefill += t;
    }
    int tok = sr->prefill_tokens + sr->decode_tokens;
    double pf = tok ? (double)sr->prefill_tokens / tok : 0;
    sr->prefill_s = attn_prefill + shared * pf;
    sr->decode_s = attn_decode + shared * (1 - pf);
    /* scale to the measured step time (sampling, scheduling are outside records) */
    double sum = sr->prefill_s + sr->decode_s;
    if (sum > 0) { sr->prefill_s *= sr->dur_s / sum; sr->decode_s *= sr->dur_s / sum; }
}

static struct step_record *push_record(struct engine *e)
{
    if (e->n_rec == e->cap_rec) {
        int cap = e->cap_rec ? e->cap_rec * 2 : 1024;
        struct step_record *r = realloc(e->rec, (size_t)cap * sizeof *r);
        if (!r) return NULL;
        e->rec = r;
        e->cap_rec = cap;
    }
    struct step_record *sr = &e->rec[e->n_rec++];
    memset(sr, 0, sizeof *sr);
    return sr;
}

/* The target's forward over the planned batch: on its one device, or
 * through the pipeline of its device group (core/parallel). */
static int target_forward(struct engine *e, int n)
{
    if (e->par) return par_forward(e->par, e->target, e->seqs, e->seq_ids, n, e->logits, e->t0_ns, &e->tel.par);
    e->target->fw.graphs = opt_i(&e->opt, OPT_CUDA_GRAPHS) != 0;
    if (e->dev_sample) return instance_forward_flags(e->target, e->seqs, n, NULL, NULL, FWD_LOGITS_STAY);
    return instance_forward(e->target, e->seqs, n, NULL, e->logits);
}

/* Whether this step's tokens come from the backend's sample hook: asked for,
 * the target on one device with the hook, and every row a plain item's (a
 * verify needs the logits on the host). */
static bool device_sampling_applies(struct engine *e, int rows, int n)
{
    return opt_i(&e->opt, OPT_DEVICE_SAMPLING) != 0 && !e->par && spec_n_seqs(e->spec) == 0 && rows == n &&
           backend_can_sample(instance_backend(e->target));
}

/* Draft (spec != off), build the batch and run the target's forward pass
 * inside NVTX ranges: opens "step" (closed by the caller after sampling),
 * "draft" around the drafters, and "forward" (inside "verify" when any
 * sequence speculates), whose category says whether the batch is prefill,
 * decode or both (see traces/nvtx.h). instance_forward syncs an async
 * backend so kernel times are filled. 0 ok, -1 failure (err says which). */
static int forward_marked(struct engine *e, int n, struct step_spec *st, double *verify_t0, char *err, size_t errlen)
{
    int planned = 0;
    for (int k = 0; k < n; k++) planned += e->sched.items[k].n_tokens;
    nvtx_push(NR_STEP, (uint64_t)planned);
    if (spec_propose(e->spec, &e->opt, &e->sched, &e->smp, st) < 0) {
        snprintf(err, errlen, "draft forward failed (spec=%s)", opt_s(&e->opt, OPT_SPEC));
        return -1;
    }
    int prefill = 0, decode = 0, rows = 0;
    for (int k = 0; k < n; k++) {
        const struct sched_item *it = &e->sched.items[k];
        if (it->decode) decode += it->n_tokens + it->spec; else prefill += it->n_tokens;
        rows += 1 + it->spec;
    }
    nvtx_mark(NM_PREFILL_TOKENS, (uint64_t)prefill);
    nvtx_mark(NM_DECODE_TOKENS, (uint64_t)decode);
    nvtx_mark(NM_BATCH, (uint64_t)n);
    bool verify = spec_n_seqs(e->spec) > 0;
    e->dev_sample = device_sampling_applies(e, rows, n);
    *verify_t0 = engine_now(e);
    if (verify) nvtx_push(NR_VERIFY, (uint64_t)spec_n_seqs(e->spec));
    nvtx_push_cat(NR_FORWARD, !decode ? NC_PREFILL : !prefill ? NC_DECODE : NC_MIXED,
                  (uint64_t)(prefill + decode));
    int rc = ensure_logits(e, rows) < 0 || build_batch(e) < 0 ||
             target_forward(e, n) < 0 ? -1 : 0;
    nvtx_pop();
    if (verify) nvtx_pop();
    if (rc < 0) snprintf(err, errlen, "forward failed on a batch of %d sequences", n);
    return rc;
}

static int next_waiting_tokens(const struct scheduler *s)
{
    if (s->n_waiting - s->wait_head <= 0) return 0;
    const struct sched_req *r = &s->reqs[s->waiting[s->wait_head]];
    return r->prompt_len + r->max_output;
}

static int engine_step_run(struct engine *e, double max_sleep_s);

/* Fold the events not yet applied into the request ledger. */
static void apply_events(struct engine *e)
{
    struct telemetry *t = &e->tel;
    for (; e->events_applied < t->events.n; e->events_applied++)
        tel_ledger_apply(&t->requests, &t->events.ev[e->events_applied]);
}

/* The plan as published: request ids instead of scheduler indices. */
static void publish_items(struct engine *e)
{
    const struct scheduler *s = &e->sched;
    for (int k = 0; k < s->n_items; k++) {
        const struct sched_item *it = &s->items[k];
        e->tel_items[k] = (struct tel_item){s->reqs[it->req].id, it->pos0, it->n_tokens, it->samples, it->decode};
    }
    e->tel.n_items = s->n_items;
}

/* After a step ran: point the per-step fields at it. */
static void publish_step(struct engine *e, const struct step_record *sr)
{
    struct telemetry *t = &e->tel;
    t->step = sr;
    t->kernels = e->target->log.recs;
    t->n_kernels = e->target->log.n;
    t->steps = e->rec;
    t->n_steps = e->n_rec;
}

int engine_step(struct engine *e, double max_sleep_s)
{
    if (e->failed || sched_done(&e->sched)) return -1;
    if (e->steps == 0) nvtx_name_thread("engine");   /* the thread that steps is the engine thread */
    if (e->step_ran) {          /* the previous step's events were published: start a new list */
        req_events_clear(&e->tel.events);
        e->events_applied = 0;
        e->step_ran = false;
    }
    int rc = engine_step_run(e, max_sleep_s);
    apply_events(e);
    if (rc == 1) e->step_ran = true;
    return rc;
}

static int engine_step_run(struct engine *e, double max_sleep_s)
{
    if (!spec_available(e->spec, &e->opt)) {
        e->failed = true;
        snprintf(e->error, sizeof e->error, "spec=%s: no draft model loaded (give one with --draft M)",
                 opt_s(&e->opt, OPT_SPEC));
        return -1;
    }
    e->sched.cfg.spec_k = spec_slots_wanted(e->spec, &e->opt);
    double t_start = engine_now(e);
    int preempted = 0;
    nvtx_push(NR_SCHEDULE, (uint64_t)(e->sched.n_waiting - e->sched.wait_head));
    int n = sched_plan_step(&e->sched, t_start, &preempted);
    nvtx_pop();
    double t_planned = engine_now(e);
    if (n == 0) {
        double next = sched_next_arrival(&e->sched);
        if (next < 0 && e->sched.n_running == 0 && e->sched.n_waiting - e->sched.wait_head > 0) {
            e->failed = true;
            snprintf(e->error, sizeof e->error,
                     "a waiting request can never be admitted: KV pool too small (raise kv_mem or lower max_seq)");
            return -1;
        }
        if (preempted == 0 && e->sched.n_running > 0) {
            /* nothing ran, nothing was preempted: the same plan comes next time, forever */
            e->failed = true;
            snprintf(e->error, sizeof e->error,
                     "%d running request(s) cannot get KV space and none can be preempted: KV pool too small "
                     "(raise kv_mem or kv_blocks)", e->sched.n_running);
            return -1;
        }
        double wait = next > t_start ? next - t_start : 0.0005;
        /* a virtual clock jumps to the arrival; wall time sleeps at most max_sleep_s */
        run_clock_wait(&e->tel.clock, e->tel.clock.mode == CLOCK_WALL ? fmin(max_sleep_s, wait) : wait);
        return 0;
    }
    for (int i = 0; i < e->n_inst; i++) kernel_log_clear(&e->inst[i].log);
    struct step_spec st;
    double t_verify;
    clock_before_forward(e);
    int fwd_rc = forward_marked(e, n, &st, &t_verify, e->error, sizeof e->error);
    clock_after_forward(e, t_planned);
    if (fwd_rc < 0) {
        nvtx_pop();             /* step */
        e->failed = true;
        return -1;
    }
    double t_sample = engine_now(e);
    nvtx_push(NR_SAMPLE, (uint64_t)n);
    choose_tokens(e, &st);
    nvtx_pop();
    double t_end = engine_now(e);
    if (spec_n_seqs(e->spec) > 0) st.verify_s = t_end - t_verify;
    nvtx_pop();                 /* step */
    struct step_record *sr = push_record(e);
    if (sr) {
        sr->index = e->steps;
        sr->t_start_s = t_start;
        sr->dur_s = t_end - t_start;
        sr->plan_s = t_planned - t_start;
        sr->sample_start_s = t_sample;
        sr->sample_s = t_end - t_sample;
        sr->batch_size = n;
        sr->preempted = preempted;
        for (int k = 0; k < n; k++) {
            const struct sched_item *it = &e->sched.items[k];
            if (it->decode) sr->decode_tokens += it->n_tokens + it->spec; else sr->prefill_tokens += it->n_tokens;
        }
        sr->spec = st;
    }
    if (sr && e->par) par_step_record(&e->tel.par, sr);
    publish_items(e);
    if (sr) engine_summarize_ops(e->target->log.recs, e->target->log.n, e->tel_items, e->tel.n_items, sr);
    int ev0 = e->tel.events.n;
    int fin = sched_commit_tokens(&e->sched, e->sampled, 1 + SPEC_MAX_K, e->n_sampled, t_end);
    spec_observe(e->spec, &e->sched);
    if (sr) {
        for (int i = ev0; i < e->tel.events.n; i++)
            if (e->tel.events.ev[i].kind == REV_TOKENS) sr->committed += e->tel.events.ev[i].n_tokens;
        sr->finished = fin;
        sr->running = e->sched.n_running;
        sr->waiting = e->sched.n_waiting - e->sched.wait_head;
        kvcache_snapshot(e->target->kv, next_waiting_tokens(&e->sched), &e->target->snap);
        sr->kv = e->target->snap.totals;
        struct model_instance *d = spec_draft_instance(e->spec);
        if (d) kvcache_snapshot(d->kv, 0, &d->snap);
    }
    e->tel.hooks.has_graphs = backend_graph_counts(instance_backend(e->target), &e->tel.hooks.graphs);
    publish_step(e, sr);
    e->steps++;
    return 1;
}

/* Arrivals still to come are stretched around `now` so the rate becomes
 * old_scale/new_scale times the previous one. */
static void rescale_pending(struct engine *e, double old_scale, double new_scale)
{
    struct scheduler *s = &e->sched;
    double now = engine_now(e), f = old_scale / new_scale;
    for (int i = s->next_pending; i < s->n_reqs; i++)
        s->reqs[i].arrival_s = now + (s->reqs[i].arrival_s - now) * f;
}

bool engine_apply_live(struct engine *e, enum opt_id id, double old_rate_scale)
{
    const struct options *o = &e->opt;
    switch (id) {
    case OPT_ATTN:
        for (int i = 0; i < e->n_inst; i++) e->inst[i].fw.attn = opt_enum(o, ATTN);
        return true;
    case OPT_BATCHING: e->sched.cfg.continuous = opt_enum(o, BATCHING) == BATCHING_CONTINUOUS; return true;
    case OPT_ADMISSION: e->sched.cfg.reserve = opt_enum(o, ADMISSION) == ADMISSION_RESERVE; return true;
    case OPT_CHUNKED_PREFILL: e->sched.cfg.chunk = (int)opt_i(o, OPT_CHUNKED_PREFILL); return true;
    case OPT_BATCH_WAIT: e->sched.cfg.batch_wait_s = opt_f(o, OPT_BATCH_WAIT) / 1e3; return true;
    case OPT_TEMPERATURE: e->smp.temperature = (float)opt_f(o, OPT_TEMPERATURE); return true;
    case OPT_TOP_K: e->smp.top_k = (int)opt_i(o, OPT_TOP_K); return true;
    case OPT_TOP_P: e->smp.top_p = (float)opt_f(o, OPT_TOP_P); return true;
    case OPT_RATE_SCALE: rescale_pending(e, old_rate_scale, opt_f(o, OPT_RATE_SCALE)); return true;
    /* read every step by the engine and core/spec; spec=draft needs a loaded draft (else a rebuild) */
    case OPT_SPEC: return spec_available(e->spec, o);
    case OPT_SPEC_K: case OPT_SPEC_LAYERS: case OPT_NGRAM_MIN: case OPT_NGRAM_MAX: case OPT_SPEC_ADAPTIVE:
        return true;
    case OPT_DEVICE_SAMPLING: case OPT_CUDA_GRAPHS: return true;   /* read every step (target_forward) */
    default: return false;
    }
}
