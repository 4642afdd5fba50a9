/* traces/capture.c — see capture.h. */
#include "traces/capture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct trace_req_seen { bool arrived, running, first, finished; int n_preempted; };

static int64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t s_to_ns(double s) { return (int64_t)llround(s * 1e9); }

static void header_options(const struct options *o, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < OPT_COUNT && len < n; i++) {
        int w = snprintf(buf + len, n - len, "%s%s=%s", i ? " " : "", option_def(i)->name, o->v[i].s);
        if (w < 0) break;
        len += (size_t)w;
    }
}

int trace_capture_begin(struct trace_run *r, const struct engine *e, const char *scenario_name,
                        const char *scenario_path)
{
    trace_run_init(r);
    struct trace_header *h = &r->h;
    snprintf(h->model, sizeof h->model, "%s", e->m->source);
    snprintf(h->scenario, sizeof h->scenario, "%s", scenario_name ? scenario_name : "");
    snprintf(h->scenario_path, sizeof h->scenario_path, "%s", scenario_path ? scenario_path : "");
    snprintf(h->device, sizeof h->device, "%s", e->be->ops->name);
    snprintf(h->device_name, sizeof h->device_name, "%s", e->be->device_name);
    snprintf(h->device_reason, sizeof h->device_reason, "%s", e->be->reason);
    h->simulated = e->be->simulated;
    h->device_async = e->be->ops->async;
    header_options(&e->opt, h->options, sizeof h->options);
    h->n_requests = e->sched.n_reqs;
    h->n_layers = e->m->cfg.n_layers;
    h->pid = (int)getpid();
    h->tid = (int)gettid();
    /* both clocks read back to back: their offset maps engine t0 onto the raw clock */
    int64_t mono = clock_ns(CLOCK_MONOTONIC), raw = clock_ns(CLOCK_MONOTONIC_RAW);
    h->t0_raw_ns = (int64_t)e->t0_ns + (raw - mono);
    r->seen = calloc((size_t)e->sched.n_reqs + 1, sizeof *r->seen);
    return r->seen ? 0 : -1;
}

static int add_event(struct trace_run *r, enum trace_event_kind k, int64_t t_ns, int req)
{
    struct trace_event *ev = trace_run_add_event(r);
    if (!ev) return -1;
    ev->kind = k;
    ev->t_ns = t_ns;
    ev->req = req;
    return 0;
}

/* Compare every request with what was reported; `plan_ns`: when the last
 * plan ran (admissions and preemptions happen there). */
static int scan_requests(struct trace_run *r, const struct engine *e, int64_t plan_ns)
{
    const struct scheduler *s = &e->sched;
    int rc = 0;
    for (int i = 0; i < s->n_reqs && rc == 0; i++) {
        const struct sched_req *q = &s->reqs[i];
        struct trace_req_seen *w = &r->seen[i];
        if (q->state != REQ_PENDING && !w->arrived) {
            w->arrived = true;
            rc |= add_event(r, TEV_ARRIVE, s_to_ns(q->arrival_s), q->id);
            if (rc == 0) {
                r->ev[r->n_ev - 1].prompt_len = q->prompt_len;
                r->ev[r->n_ev - 1].max_output = q->max_output;
            }
        }
        for (; w->n_preempted < q->n_preempted; w->n_preempted++) {
            w->running = false;
            rc |= add_event(r, TEV_PREEMPT, plan_ns, q->id);
        }
        if ((q->state == REQ_RUNNING || q->state == REQ_FINISHED) && !w->running && !w->finished) {
            w->running = true;   /* the first admission has its own time; re-admissions happen at a plan */
            rc |= add_event(r, TEV_ADMIT, q->n_preempted == 0 ? s_to_ns(q->t_admit) : plan_ns, q->id);
        }
        if (q->n_generated > 0 && !w->first) {
            w->first = true;
            rc |= add_event(r, TEV_FIRST_TOKEN, s_to_ns(q->t_first), q->id);
        }
        if (q->state == REQ_FINISHED && !w->finished) {
            w->finished = true;
            rc |= add_event(r, TEV_FINISH, s_to_ns(q->t_finish), q->id);
        }
    }
    return rc;
}

static int copy_items(struct trace_step *st, const struct engine *e)
{
    const struct scheduler *s = &e->sched;
    st->items = calloc((size_t)s->n_items + 1, sizeof *st->items);
    if (!st->items) return -1;
    for (int k = 0; k < s->n_items; k++) {
        const struct sched_item *it = &s->items[k];
        st->items[k] = (struct trace_item){s->reqs[it->req].id, it->pos0, it->n_tokens, it->decode};
    }
    st->n_items = s->n_items;
    return 0;
}

static int copy_kernels(struct trace_run *r, struct trace_step *st, const struct engine *e)
{
    const struct kernel_log *log = &e->log;
    if (!trace_run_wants_detail(r, st->t_ns, log->n)) return 0;
    st->kernels = calloc((size_t)log->n + 1, sizeof *st->kernels);
    if (!st->kernels) return -1;
    for (int i = 0; i < log->n; i++) {
        const struct kernel_record *k = &log->recs[i];
        struct trace_kernel *t = &st->kernels[i];
        snprintf(t->name, sizeof t->name, "%s", k->name);
        t->cls = k->cls;
        t->layer = k->layer;
        t->t_ns = (int64_t)(k->t_start_ns - e->t0_ns);
        t->dur_ns = (int64_t)k->dur_ns;
        memcpy(t->shape, k->shape, sizeof t->shape);
        t->flops = k->flops;
        t->dram_bytes = k->dram_rd + k->dram_wr;
        t->chip_bytes = k->chip_rd + k->chip_wr;
        if (k->bytes_measured) r->h.bytes_measured = true;
    }
    st->n_kernels = log->n;
    st->detailed = true;
    r->kept_kernels += log->n;
    r->last_detail_ns = st->t_ns;
    return 0;
}

/* The engine's block map as of its last step (e->snap, filled every step). */
static int copy_kv(struct trace_run *r, const struct engine *e, int64_t t_ns)
{
    const struct kvcache_snapshot *s = &e->snap;
    int n = s->totals.n_blocks < s->blocks_cap ? s->totals.n_blocks : s->blocks_cap;
    if (!s->blocks || n <= 0) return 0;
    struct trace_kv *k = trace_run_add_kv(r, n);
    if (!k) return -1;
    k->t_ns = t_ns;
    k->after_step = r->steps_base + r->n_steps;
    k->kind = s->kind;
    k->block_size = s->block_size;
    memcpy(k->blocks, s->blocks, (size_t)n * sizeof *k->blocks);
    r->last_kv_ns = t_ns;
    return 0;
}

int trace_capture_step(struct trace_run *r, const struct engine *e)
{
    if (e->n_rec == 0) return 0;
    struct trace_step *st = trace_run_add_step(r);
    if (!st) return -1;
    const struct step_record *sr = &e->rec[e->n_rec - 1];
    st->rec = *sr;
    st->t_ns = s_to_ns(sr->t_start_s);
    st->dur_ns = s_to_ns(sr->dur_s);
    st->plan_ns = s_to_ns(sr->plan_s);
    st->sample_t_ns = s_to_ns(sr->sample_start_s);
    st->sample_ns = s_to_ns(sr->sample_s);
    if (copy_items(st, e) < 0 || copy_kernels(r, st, e) < 0) return -1;
    int64_t end_ns = st->t_ns + st->dur_ns;
    if (trace_run_wants_kv(r, end_ns) && copy_kv(r, e, end_ns) < 0) return -1;
    return scan_requests(r, e, st->t_ns);
}

int trace_capture_option(struct trace_run *r, const struct engine *e, const char *name, const char *value)
{
    struct trace_event *ev = trace_run_add_event(r);
    if (!ev) return -1;
    ev->kind = TEV_OPTION;
    ev->t_ns = s_to_ns(engine_now(e));
    snprintf(ev->name, sizeof ev->name, "%s", name);
    snprintf(ev->value, sizeof ev->value, "%s", value);
    return copy_kv(r, e, ev->t_ns);
}

int trace_capture_end(struct trace_run *r, const struct engine *e)
{
    int64_t t = r->n_steps ? r->steps[r->n_steps - 1].t_ns : 0;
    return scan_requests(r, e, t);
}
