/* traces/trace_run.c — see trace_run.h. */
#include "traces/trace_run.h"

#include <stdlib.h>
#include <string.h>

static const char *EVENT_NAMES[TEV_COUNT] = {
    [TEV_ARRIVE] = "arrive", [TEV_ADMIT] = "admit", [TEV_FIRST_TOKEN] = "first_token",
    [TEV_FINISH] = "finish", [TEV_PREEMPT] = "preempt", [TEV_OPTION] = "option",
};

const char *trace_event_name(enum trace_event_kind k)
{
    return (unsigned)k < TEV_COUNT ? EVENT_NAMES[k] : "?";
}

int trace_event_kind_from_name(const char *s)
{
    for (int k = 0; k < TEV_COUNT; k++)
        if (strcmp(EVENT_NAMES[k], s) == 0) return k;
    return -1;
}

void trace_run_init(struct trace_run *r)
{
    memset(r, 0, sizeof *r);
    r->h.version = TRACE_FORMAT_VERSION;
    r->last_detail_ns = -TRACE_DETAIL_INTERVAL_NS;
    r->last_kv_ns = -TRACE_KV_INTERVAL_NS;
}

void trace_run_clear_body(struct trace_run *r)
{
    for (int i = 0; i < r->n_steps; i++) trace_step_free(&r->steps[i]);
    for (int i = 0; i < r->n_kvs; i++) free(r->kvs[i].blocks);
    r->steps_base += r->n_steps;
    r->n_steps = r->n_ev = r->n_kvs = 0;
}

void trace_run_free(struct trace_run *r)
{
    trace_run_clear_body(r);
    free(r->kvs);
    free(r->steps);
    free(r->ev);
    memset(r, 0, sizeof *r);
}

/* Grow *p (n used, *cap slots of `size` bytes) by one slot, zeroed. */
static void *grow_one(void **p, int n, int *cap, size_t size)
{
    if (n == *cap) {
        int c = *cap ? *cap * 2 : 256;
        void *q = realloc(*p, (size_t)c * size);
        if (!q) return NULL;
        *p = q;
        *cap = c;
    }
    void *slot = (char *)*p + (size_t)n * size;
    memset(slot, 0, size);
    return slot;
}

struct trace_step *trace_run_add_step(struct trace_run *r)
{
    struct trace_step *s = grow_one((void **)&r->steps, r->n_steps, &r->cap_steps, sizeof *s);
    if (s) r->n_steps++;
    return s;
}

void trace_step_free(struct trace_step *st)
{
    free(st->items);
    free(st->kernels);
    free(st->commits);
    free(st->commit_tokens);
    if (st->par) free(st->par->segs);
    free(st->par);
    st->par = NULL;
    st->items = NULL; st->kernels = NULL; st->commits = NULL; st->commit_tokens = NULL;
    st->n_items = st->n_kernels = st->n_commits = st->n_commit_tokens = 0;
}

struct trace_event *trace_run_add_event(struct trace_run *r)
{
    struct trace_event *e = grow_one((void **)&r->ev, r->n_ev, &r->cap_ev, sizeof *e);
    if (e) { r->n_ev++; e->req = -1; }
    return e;
}

struct trace_kv *trace_run_add_kv(struct trace_run *r, int n_blocks)
{
    struct kv_block_info *b = calloc((size_t)n_blocks + 1, sizeof *b);
    struct trace_kv *k = b ? grow_one((void **)&r->kvs, r->n_kvs, &r->cap_kvs, sizeof *k) : NULL;
    if (!k) { free(b); return NULL; }
    r->n_kvs++;
    k->blocks = b;
    k->n_blocks = n_blocks;
    return k;
}

bool trace_run_wants_kv(const struct trace_run *r, int64_t t_ns)
{
    return t_ns - r->last_kv_ns >= TRACE_KV_INTERVAL_NS;
}

bool trace_run_wants_detail(const struct trace_run *r, int64_t t_ns, int n)
{
    if (r->kept_kernels + n <= TRACE_KEEP_ALL_KERNELS) return true;
    return t_ns - r->last_detail_ns >= TRACE_DETAIL_INTERVAL_NS;
}

int64_t trace_run_end_ns(const struct trace_run *r)
{
    int64_t end = 0;
    for (int i = 0; i < r->n_steps; i++) {
        const struct trace_step *s = &r->steps[i];
        if (s->t_ns + s->dur_ns > end) end = s->t_ns + s->dur_ns;
    }
    for (int i = 0; i < r->n_ev; i++)
        if (r->ev[i].t_ns > end) end = r->ev[i].t_ns;
    return end;
}

#define SWAP(T, a, b) do { T t_ = (a); (a) = (b); (b) = t_; } while (0)

bool trace_run_move_body(struct trace_run *dst, struct trace_run *src)
{
    if (dst->n_steps || dst->n_ev || dst->n_kvs) return false;
    SWAP(struct trace_step *, dst->steps, src->steps);
    SWAP(int, dst->cap_steps, src->cap_steps);
    SWAP(struct trace_event *, dst->ev, src->ev);
    SWAP(int, dst->cap_ev, src->cap_ev);
    SWAP(struct trace_kv *, dst->kvs, src->kvs);
    SWAP(int, dst->cap_kvs, src->cap_kvs);
    dst->n_steps = src->n_steps;
    dst->n_ev = src->n_ev;
    dst->n_kvs = src->n_kvs;
    dst->h = src->h;
    dst->steps_base = src->steps_base;
    src->steps_base += src->n_steps;
    src->n_steps = src->n_ev = src->n_kvs = 0;
    return true;
}
