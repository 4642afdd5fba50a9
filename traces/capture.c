/* traces/capture.c — see capture.h. */
#include "traces/capture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t s_to_ns(double s) { return (int64_t)llround(s * 1e9); }

int trace_capture_begin(struct trace_run *r, const struct telemetry *t, const char *scenario_name,
                        const char *scenario_path)
{
    trace_run_init(r);
    struct trace_header *h = &r->h;
    snprintf(h->model, sizeof h->model, "%s", t->model);
    snprintf(h->scenario, sizeof h->scenario, "%s", scenario_name ? scenario_name : "");
    snprintf(h->scenario_path, sizeof h->scenario_path, "%s", scenario_path ? scenario_path : "");
    snprintf(h->device, sizeof h->device, "%s", t->backend);
    snprintf(h->device_name, sizeof h->device_name, "%s", t->device_name);
    snprintf(h->device_reason, sizeof h->device_reason, "%s", t->device_reason);
    h->simulated = t->simulated;
    h->device_async = t->device_async;
    snprintf(h->options, sizeof h->options, "%s", t->options);
    h->n_requests = t->n_requests;
    h->n_layers = t->n_layers;
    h->quality = t->quality;
    if (t->par.n_devices >= 2) {
        h->par = t->par;
        h->par.seg = NULL;
        h->par.n_seg = 0;
    }
    h->pid = (int)getpid();
    h->tid = (int)gettid();
    /* both clocks read back to back: their offset maps engine t0 onto the raw clock */
    int64_t mono = clock_ns(CLOCK_MONOTONIC), raw = clock_ns(CLOCK_MONOTONIC_RAW);
    h->t0_raw_ns = (int64_t)t->t0_ns + (raw - mono);
    if (t->clock.mode != CLOCK_WALL || h->t0_raw_ns < 0) h->t0_raw_ns = 0;   /* SIMULATED time: no wall clock to map */
    r->live = true;
    return 0;
}

static enum trace_event_kind trace_kind(enum req_event_kind k)
{
    switch (k) {
    case REV_ARRIVE: return TEV_ARRIVE;
    case REV_ADMIT: return TEV_ADMIT;
    case REV_PREEMPT: return TEV_PREEMPT;
    case REV_FIRST_TOKEN: return TEV_FIRST_TOKEN;
    case REV_FINISH: return TEV_FINISH;
    default: return TEV_COUNT;       /* REV_TOKENS: a commit of the step, not an event line */
    }
}

/* The step's request events as trace events (token commits go to the step). */
static int copy_events(struct trace_run *r, const struct telemetry *t)
{
    for (int i = 0; i < t->events.n; i++) {
        const struct req_event *e = &t->events.ev[i];
        enum trace_event_kind k = trace_kind(e->kind);
        if (k == TEV_COUNT) continue;
        struct trace_event *ev = trace_run_add_event(r);
        if (!ev) return -1;
        ev->kind = k;
        ev->t_ns = s_to_ns(e->t_s);
        ev->req = e->req;
        ev->prompt_len = e->prompt_len;
        ev->max_output = e->max_output;
        ev->generated = e->generated;
        ev->cached = e->cached;
        ev->dropped = e->dropped;
        ev->hash = e->hash;
        ev->has_hash = e->kind == REV_FINISH;
    }
    return 0;
}

/* REV_TOKENS events → the step's commits and their ids. */
static int copy_commits(struct trace_step *st, const struct telemetry *t)
{
    int n = 0, n_tok = 0;
    for (int i = 0; i < t->events.n; i++)
        if (t->events.ev[i].kind == REV_TOKENS) { n++; n_tok += t->events.ev[i].n_tokens; }
    if (n == 0) return 0;
    st->commits = calloc((size_t)n, sizeof *st->commits);
    st->commit_tokens = calloc((size_t)n_tok + 1, sizeof *st->commit_tokens);
    if (!st->commits || !st->commit_tokens) return -1;
    for (int i = 0; i < t->events.n; i++) {
        const struct req_event *e = &t->events.ev[i];
        if (e->kind != REV_TOKENS) continue;
        st->commits[st->n_commits++] = (struct trace_commit){e->req, e->n_tokens, st->n_commit_tokens};
        memcpy(st->commit_tokens + st->n_commit_tokens, e->tokens, (size_t)e->n_tokens * sizeof *e->tokens);
        st->n_commit_tokens += e->n_tokens;
    }
    return 0;
}

static int copy_items(struct trace_step *st, const struct telemetry *t)
{
    st->items = calloc((size_t)t->n_items + 1, sizeof *st->items);
    if (!st->items) return -1;
    for (int k = 0; k < t->n_items; k++) {
        const struct tel_item *it = &t->items[k];
        st->items[k] = (struct trace_item){it->req, it->pos0, it->n_tokens, it->decode};
    }
    st->n_items = t->n_items;
    return 0;
}

static int copy_kernels(struct trace_run *r, struct trace_step *st, const struct telemetry *t)
{
    if (!trace_run_wants_detail(r, st->t_ns, t->n_kernels)) return 0;
    st->kernels = calloc((size_t)t->n_kernels + 1, sizeof *st->kernels);
    if (!st->kernels) return -1;
    for (int i = 0; i < t->n_kernels; i++) {
        const struct kernel_record *k = &t->kernels[i];
        struct trace_kernel *o = &st->kernels[i];
        snprintf(o->name, sizeof o->name, "%s", k->name);
        o->cls = k->cls;
        o->layer = k->layer;
        o->role = k->role;
        o->device = k->device;
        o->stage = k->stage;
        o->seq = k->seq;
        o->t_ns = (int64_t)(k->t_start_ns - t->t0_ns);
        o->dur_ns = (int64_t)k->dur_ns;
        memcpy(o->shape, k->shape, sizeof o->shape);
        o->flops = k->flops;
        o->dram_bytes = k->dram_rd + k->dram_wr;
        o->chip_bytes = k->chip_rd + k->chip_wr;
        if (k->bytes_measured) r->h.bytes_measured = true;
    }
    st->n_kernels = t->n_kernels;
    st->detailed = true;
    r->kept_kernels += t->n_kernels;
    r->last_detail_ns = st->t_ns;
    return 0;
}

/* A device group's step: the per-step parallel fields and every segment. */
static int copy_par(struct trace_step *st, const struct telemetry *t)
{
    if (t->par.n_devices < 2) return 0;
    st->par = calloc(1, sizeof *st->par);
    if (!st->par) return -1;
    st->par->tel = t->par;
    st->par->tel.seg = NULL;
    st->par->segs = calloc((size_t)t->par.n_seg + 1, sizeof *st->par->segs);
    if (!st->par->segs) return -1;
    if (t->par.n_seg > 0) memcpy(st->par->segs, t->par.seg, (size_t)t->par.n_seg * sizeof *st->par->segs);
    st->par->n_segs = t->par.n_seg;
    return 0;
}

/* Every pool's block map as of the last step. */
static int copy_kv(struct trace_run *r, const struct telemetry *t, int64_t t_ns)
{
    for (int p = 0; p < t->n_pools; p++) {
        const struct kvcache_snapshot *s = t->pools[p].snap;
        int n = s->totals.n_blocks < s->blocks_cap ? s->totals.n_blocks : s->blocks_cap;
        if (!s->blocks || n <= 0) continue;
        struct trace_kv *k = trace_run_add_kv(r, n);
        if (!k) return -1;
        k->t_ns = t_ns;
        k->after_step = r->steps_base + r->n_steps;
        k->pool = t->pools[p].pool;
        k->kind = s->kind;
        k->block_size = s->block_size;
        memcpy(k->blocks, s->blocks, (size_t)n * sizeof *k->blocks);
    }
    r->last_kv_ns = t_ns;
    return 0;
}

int trace_capture_step(struct trace_run *r, const struct telemetry *t)
{
    if (!t->step) return 0;
    struct trace_step *st = trace_run_add_step(r);
    if (!st) return -1;
    const struct step_record *sr = t->step;
    st->rec = *sr;
    st->t_ns = s_to_ns(sr->t_start_s);
    st->dur_ns = s_to_ns(sr->dur_s);
    st->plan_ns = s_to_ns(sr->plan_s);
    st->sample_t_ns = s_to_ns(sr->sample_start_s);
    st->sample_ns = s_to_ns(sr->sample_s);
    if (copy_items(st, t) < 0 || copy_commits(st, t) < 0 || copy_kernels(r, st, t) < 0 ||
        copy_par(st, t) < 0)
        return -1;
    int64_t end_ns = st->t_ns + st->dur_ns;
    if (trace_run_wants_kv(r, end_ns) && copy_kv(r, t, end_ns) < 0) return -1;
    return copy_events(r, t);
}

int trace_capture_option(struct trace_run *r, const struct telemetry *t, const char *name, const char *value)
{
    struct trace_event *ev = trace_run_add_event(r);
    if (!ev) return -1;
    ev->kind = TEV_OPTION;
    ev->t_ns = s_to_ns(tel_now(t));
    snprintf(ev->name, sizeof ev->name, "%s", name);
    snprintf(ev->value, sizeof ev->value, "%s", value);
    return copy_kv(r, t, ev->t_ns);
}

int trace_capture_end(struct trace_run *r, const struct telemetry *t)
{
    (void)r; (void)t;
    return 0;
}
