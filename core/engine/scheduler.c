/* core/engine/scheduler.c — static and continuous batching over the KV cache. */
#include "core/engine/scheduler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sched_init(struct scheduler *s, const struct sched_config *cfg, struct kvcache *kv,
               const struct workload *w, uint64_t seed, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    s->kv = kv;
    s->n_reqs = w->n;
    s->reqs = calloc((size_t)w->n, sizeof *s->reqs);
    s->running = calloc((size_t)cfg->max_batch + 1, sizeof *s->running);
    s->waiting = calloc((size_t)w->n + 1, sizeof *s->waiting);
    s->items = calloc((size_t)cfg->max_batch + 1, sizeof *s->items);
    s->adm = calloc((size_t)cfg->max_batch + 1, sizeof *s->adm);
    bool ok = s->reqs && s->running && s->waiting && s->items && s->adm;
    for (int i = 0; ok && i < w->n; i++) {
        const struct request_spec *rs = &w->reqs[i];
        struct sched_req *r = &s->reqs[i];
        r->id = rs->id;
        r->state = REQ_PENDING;
        r->arrival_s = rs->arrival_s;
        r->prompt_len = rs->prompt_len;
        r->max_output = rs->max_output;
        r->tokens = malloc((size_t)(rs->prompt_len + rs->max_output) * sizeof *r->tokens);
        r->token_t = calloc((size_t)rs->max_output + 1, sizeof *r->token_t);
        r->rng = seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(rs->id + 1));
        ok = r->tokens && r->token_t;
        if (ok) memcpy(r->tokens, rs->prompt, (size_t)rs->prompt_len * sizeof *r->tokens);
        r->n_tokens = rs->prompt_len;
    }
    if (!ok) {
        sched_free(s);
        snprintf(err, errlen, "scheduler: out of memory for %d requests", w->n);
        return -1;
    }
    s->static_batch_open = true;
    return 0;
}

void sched_free(struct scheduler *s)
{
    for (int i = 0; s->reqs && i < s->n_reqs; i++) {
        free(s->reqs[i].tokens);
        free(s->reqs[i].token_t);
    }
    free(s->reqs); free(s->running); free(s->waiting); free(s->items); free(s->adm);
    memset(s, 0, sizeof *s);
}

/* ---- events ---- */

/* An event of request r at time t, with the request's shape and progress. */
static struct req_event event_of(const struct sched_req *r, enum req_event_kind k, double t)
{
    return (struct req_event){.kind = k, .req = r->id, .t_s = t, .prompt_len = r->prompt_len,
                              .max_output = r->max_output, .generated = r->n_generated};
}

static void emit(struct scheduler *s, const struct req_event *ev)
{
    if (s->events) req_events_push(s->events, ev);
}

/* The tokens r committed in this step (from index `first` of its output),
 * TEL_MAX_COMMIT ids per event; the first carries the step's speculative
 * counts (drafted tokens verified, of which accepted). */
static void emit_tokens(struct scheduler *s, const struct sched_req *r, int first, int drafted, int accepted,
                        double t)
{
    if (!s->events) return;
    for (int i = first; i < r->n_generated;) {
        struct req_event ev = event_of(r, REV_TOKENS, t);
        if (i == first) { ev.drafted = drafted; ev.accepted = accepted; }
        while (i < r->n_generated && ev.n_tokens < TEL_MAX_COMMIT)
            ev.tokens[ev.n_tokens++] = r->tokens[r->prompt_len + i++];
        ev.generated = i;
        emit(s, &ev);
    }
}

/* ---- queues ---- */

static int waiting_count(const struct scheduler *s) { return s->n_waiting - s->wait_head; }
static int waiting_front(const struct scheduler *s) { return s->waiting[s->wait_head]; }

static void waiting_push_front(struct scheduler *s, int idx)
{
    if (s->wait_head > 0) { s->waiting[--s->wait_head] = idx; return; }
    memmove(s->waiting + 1, s->waiting, (size_t)s->n_waiting * sizeof *s->waiting);
    s->waiting[0] = idx;
    s->n_waiting++;
}

void sched_release_arrivals(struct scheduler *s, double now)
{
    while (s->next_pending < s->n_reqs && s->reqs[s->next_pending].arrival_s <= now) {
        struct sched_req *r = &s->reqs[s->next_pending];
        r->state = REQ_WAITING;
        s->waiting[s->n_waiting++] = s->next_pending++;
        struct req_event ev = event_of(r, REV_ARRIVE, r->arrival_s);
        emit(s, &ev);
    }
}

double sched_next_arrival(const struct scheduler *s)
{
    return s->next_pending < s->n_reqs ? s->reqs[s->next_pending].arrival_s : -1;
}

bool sched_done(const struct scheduler *s) { return s->n_finished == s->n_reqs; }

static void running_remove(struct scheduler *s, int pos)
{
    memmove(s->running + pos, s->running + pos + 1, (size_t)(s->n_running - pos - 1) * sizeof *s->running);
    s->n_running--;
}

/* ---- preemption and admission ---- */

/* Recompute policy: drop the request's KV; it re-enters the queue first and
 * recomputes prompt + generated tokens when admitted again. */
static void preempt(struct scheduler *s, int pos, double now)
{
    int idx = s->running[pos];
    struct sched_req *r = &s->reqs[idx];
    struct req_event ev = event_of(r, REV_PREEMPT, now);
    ev.dropped = r->n_computed;
    emit(s, &ev);
    kvcache_release(s->kv, r->id);
    r->n_computed = 0;
    r->state = REQ_WAITING;
    r->n_preempted++;
    s->preemptions++;
    running_remove(s, pos);
    waiting_push_front(s, idx);
}

static int latest_admitted(const struct scheduler *s)
{
    int best = -1;
    for (int i = 0; i < s->n_running; i++)
        if (best < 0 || s->reqs[s->running[i]].admit_order > s->reqs[s->running[best]].admit_order) best = i;
    return best;
}

/* Context tokens r still feeds before it decodes: its prompt (or, after a
 * preemption, everything but the last generated token) less what is
 * computed; 0 for a decoding request. */
static int context_left(const struct sched_req *r)
{
    int left = r->n_tokens - (r->n_generated > 0) - r->n_computed;
    return left > 0 ? left : 0;
}

/* Blocks the running requests will still take for context they have not
 * appended (admitted, prefill not run yet). */
static int pending_blocks(const struct scheduler *s)
{
    int sum = 0;
    for (int i = 0; i < s->n_running; i++) {
        const struct sched_req *r = &s->reqs[s->running[i]];
        int len = kvcache_len(s->kv, r->id), ctx = r->n_tokens - (r->n_generated > 0);
        int b = len >= 0 && ctx > len ? kvcache_blocks_needed(s->kv, r->id, ctx - len) : 0;
        sum += b > 0 ? b : 0;
    }
    return sum;
}

static int ceil_div(int a, int b) { return (a + b - 1) / b; }

/* Prefills run in running order within the step budget, of which at least
 * `per_step` tokens are left for them each step, at most `chunk` per
 * request. r's prefill is done at the latest after ceil(queued / per_step)
 * steps in which the budget ran out on the requests up to it (*queued: their
 * context left, r's own added here), plus, with chunks, ceil(left / chunk)
 * steps in which it got a whole chunk. 0 for a decoding request. */
static int prefill_done_max(const struct scheduler *s, const struct sched_req *r, int *queued, int per_step)
{
    int left = context_left(r), chunk = s->cfg.chunk;
    if (left == 0) return 0;
    *queued += left;
    return ceil_div(*queued, per_step) + (chunk > 0 ? ceil_div(left, chunk) : 0);
}

/* r's envelope for the reserve check (core/engine/admission.h): its first
 * decode comes at the earliest after ceil(left / per-request cap) steps, its
 * last at the latest (final - ctx) steps after its prefill can be done, or
 * after `wait` steps when every decode may be held back that long (static
 * batching decodes nothing while a prefill is pending). */
static struct adm_seq adm_seq_of(const struct scheduler *s, const struct sched_req *r, int *queued, int per_step,
                                 int wait)
{
    int left = context_left(r), ctx = r->n_tokens - (r->n_generated > 0);
    if (r->state == REQ_WAITING && left > 0)        /* the candidate: what the prefix cache holds is not run */
        left -= kvcache_prefix_probe(s->kv, r->tokens, ctx);
    int final = r->prompt_len + r->max_output - 1, chunk = s->cfg.chunk;
    int cap = chunk > 0 && chunk < s->cfg.max_tokens_step ? chunk : s->cfg.max_tokens_step;
    struct adm_seq q = {.ctx = ctx, .final = final > ctx ? final : ctx, .grow = left > 0 ? ceil_div(left, cap) : 0};
    int done = prefill_done_max(s, r, queued, per_step);
    if (done < wait) done = wait;
    q.end = done + (q.final - q.ctx);
    if (q.end < 1) q.end = 1;
    return q;
}

/* The running requests as envelopes in s->adm, then r: their count. */
static int envelopes(struct scheduler *s, const struct sched_req *r)
{
    /* the budget left to prefills however many requests decode (max_batch, spec_k drafted tokens each):
     * requests admitted later must not make an earlier envelope wrong */
    int per_step = s->cfg.max_tokens_step - s->cfg.max_batch * (1 + s->cfg.spec_k);
    if (per_step < 1) per_step = 1;
    int wait = 0, queued = 0, n = 0;
    if (!s->cfg.continuous) {            /* the last prefill, r's included, holds every decode back */
        for (int i = 0; i < s->n_running; i++) {
            int d = prefill_done_max(s, &s->reqs[s->running[i]], &queued, per_step);
            if (d > wait) wait = d;
        }
        int d = prefill_done_max(s, r, &queued, per_step);
        if (d > wait) wait = d;
        queued = 0;
    }
    for (int i = 0; i < s->n_running; i++)
        s->adm[n++] = adm_seq_of(s, &s->reqs[s->running[i]], &queued, per_step, wait);
    s->adm[n++] = adm_seq_of(s, r, &queued, per_step, wait);
    return n;
}

/* admission=reserve: whether the KV the running requests and r hold at
 * their common peak fits the pool. */
static bool reserve_fits(struct scheduler *s, const struct sched_req *r)
{
    int n = envelopes(s, r);
    return adm_peak_tokens(s->kv, s->adm, n) <= kvcache_pool_tokens(s->kv);
}

/* Whether the front request may be admitted under the admission policy:
 * reserve checks the peak here and asks the allocator only for a slot and
 * its own reservation; watermark leaves the headroom to the allocator. */
static bool may_admit(struct scheduler *s, const struct sched_req *r, int need)
{
    if (s->cfg.reserve && s->n_running > 0 && !reserve_fits(s, r)) return false;
    int running = s->cfg.reserve ? 0 : s->n_running, pending = s->cfg.reserve ? 0 : pending_blocks(s);
    return kvcache_can_admit(s->kv, r->tokens, r->n_tokens, need, running, pending) == KVC_OK;
}

static bool admit_front(struct scheduler *s, double now)
{
    int idx = waiting_front(s);
    struct sched_req *r = &s->reqs[idx];
    /* how much the allocator reserves is its policy (kvcache.h); whether to admit is may_admit's */
    int need = r->prompt_len + r->max_output;
    if (!may_admit(s, r, need)) return false;
    int cached = kvcache_admit_request(s->kv, r->id, r->tokens, r->n_tokens, need);
    if (cached < 0) return false;
    s->wait_head++;
    r->n_computed = cached;
    r->cached_tokens += cached;
    r->state = REQ_RUNNING;
    r->admit_order = ++s->admit_counter;
    if (r->t_admit == 0) r->t_admit = now;
    s->running[s->n_running++] = idx;
    struct req_event ev = event_of(r, REV_ADMIT, now);
    ev.cached = cached;
    emit(s, &ev);
    return true;
}

static bool static_may_admit(struct scheduler *s, double now)
{
    if (s->n_running == 0) s->static_batch_open = true;
    if (!s->static_batch_open) return false;
    /* start when the batch is full, the oldest waited batch_wait, or no more arrivals come */
    int want = s->cfg.max_batch - s->n_running;
    if (waiting_count(s) >= want || s->next_pending == s->n_reqs) return true;
    return now - s->reqs[waiting_front(s)].arrival_s >= s->cfg.batch_wait_s;
}

/* ---- planning ---- */

static void plan_add(struct scheduler *s, int idx, int n, bool decode, int *budget)
{
    struct sched_req *r = &s->reqs[idx];
    struct sched_item *it = &s->items[s->n_items++];
    it->req = idx;
    it->pos0 = r->n_computed;
    it->n_tokens = n;
    it->samples = r->n_computed + n == r->n_tokens;
    it->decode = decode;
    it->spec = 0;
    *budget -= n;
}

/* Drafted tokens a decode of r may verify this step: spec_k, but never past
 * max_output (a verify commits up to spec + 1 tokens) nor the budget. */
static int spec_slots(const struct scheduler *s, const struct sched_req *r, int budget)
{
    int k = s->cfg.spec_k, left = r->max_output - r->n_generated - 1;
    if (k > left) k = left;
    if (k > budget - 1) k = budget - 1;
    return k > 0 ? k : 0;
}

/* Decodes first: each running request past its prefill needs one token of KV;
 * when none is left, preempt the most recently admitted request. */
static void plan_decodes(struct scheduler *s, int *budget, int *preempted, bool prefill_pending, double now)
{
    for (int i = 0; i < s->n_running && *budget > 0;) {
        int idx = s->running[i];
        struct sched_req *r = &s->reqs[idx];
        if (r->n_computed != r->n_tokens - 1 || r->n_generated == 0 || (prefill_pending && !s->cfg.continuous)) {
            i++;
            continue;
        }
        int k = spec_slots(s, r, *budget);
        if (k > 0 && kvcache_append(s->kv, r->id, 1 + k) == KVC_OK) {
            plan_add(s, idx, 1, true, budget);
            s->items[s->n_items - 1].spec = k;
            *budget -= k;
            i++;
            continue;
        }
        if (kvcache_append(s->kv, r->id, 1) == KVC_OK) {
            plan_add(s, idx, 1, true, budget);
            i++;
            continue;
        }
        int victim = latest_admitted(s);
        /* undo items already planned for the victim: their KV room is gone with it */
        for (int k = 0; k < s->n_items; k++)
            if (s->items[k].req == s->running[victim]) {
                *budget += s->items[k].n_tokens + s->items[k].spec;
                s->items[k] = s->items[--s->n_items];
                k--;
            }
        preempt(s, victim, now);
        (*preempted)++;
        if (victim < i) i--;
    }
}

static bool in_plan(const struct scheduler *s, int idx)
{
    for (int k = 0; k < s->n_items; k++)
        if (s->items[k].req == idx) return true;
    return false;
}

/* Prefill chunks for running requests still short of their context. */
static void plan_prefills(struct scheduler *s, int *budget)
{
    for (int i = 0; i < s->n_running && *budget > 0; i++) {
        int idx = s->running[i];
        struct sched_req *r = &s->reqs[idx];
        int left = r->n_tokens - r->n_computed;
        if (in_plan(s, idx) || left <= 0 || (r->n_generated > 0 && left == 1)) continue;
        int n = left;
        if (s->cfg.chunk > 0 && n > s->cfg.chunk) n = s->cfg.chunk;
        if (n > *budget) n = *budget;
        while (n > 0 && kvcache_append(s->kv, r->id, n) != KVC_OK) n /= 2;
        if (n > 0) plan_add(s, idx, n, false, budget);
    }
}

static bool any_prefill_pending(const struct scheduler *s)
{
    for (int i = 0; i < s->n_running; i++) {
        const struct sched_req *r = &s->reqs[s->running[i]];
        if (r->n_tokens - r->n_computed > 1 || r->n_generated == 0) return true;
    }
    return false;
}

int sched_plan_step(struct scheduler *s, double now, int *preempted)
{
    int budget = s->cfg.max_tokens_step;
    *preempted = 0;
    s->n_items = 0;
    sched_release_arrivals(s, now);

    plan_decodes(s, &budget, preempted, any_prefill_pending(s), now);
    /* admission */
    bool may = s->cfg.continuous ? true : static_may_admit(s, now);
    while (may && waiting_count(s) > 0 && s->n_running < s->cfg.max_batch && budget > 0 &&
           *preempted == 0) {
        if (!admit_front(s, now)) break;
    }
    if (!s->cfg.continuous && s->n_running > 0) s->static_batch_open = false;
    plan_prefills(s, &budget);
    return s->n_items;
}

int sched_commit_step(struct scheduler *s, const int32_t *sampled, double now)
{
    return sched_commit_tokens(s, sampled, 1, NULL, now);
}

int sched_commit_tokens(struct scheduler *s, const int32_t *out, int stride, const int *n_out, double now)
{
    int finished = 0;
    for (int k = 0; k < s->n_items; k++) {
        const struct sched_item *it = &s->items[k];
        struct sched_req *r = &s->reqs[it->req];
        int n = !it->samples ? 0 : n_out ? n_out[k] : 1;
        int kept = it->spec > 0 && n > 1 ? n - 1 : 0;    /* drafted tokens the verify accepted */
        r->n_computed += it->n_tokens + kept;
        if (!it->decode) r->prefill_computed += it->n_tokens;
        if (kvcache_len(s->kv, r->id) > r->n_computed) kvcache_truncate(s->kv, r->id, r->n_computed);
        kvcache_commit(s->kv, r->id);
        if (n == 0) continue;
        int first = r->n_generated;
        for (int j = 0; j < n && r->n_generated < r->max_output; j++) {
            r->tokens[r->n_tokens++] = out[(size_t)k * stride + j];
            r->token_t[r->n_generated++] = now;
        }
        if (first == 0) {
            r->t_first = now;
            struct req_event ev = event_of(r, REV_FIRST_TOKEN, now);
            emit(s, &ev);
        }
        emit_tokens(s, r, first, it->spec, kept, now);
    }
    for (int i = 0; i < s->n_running;) {
        int idx = s->running[i];
        struct sched_req *r = &s->reqs[idx];
        if (r->n_generated < r->max_output) { i++; continue; }
        kvcache_release(s->kv, r->id);
        r->state = REQ_FINISHED;
        r->t_finish = now;
        struct req_event ev = event_of(r, REV_FINISH, now);
        ev.hash = tel_hash_tokens(r->tokens + r->prompt_len, r->n_generated);
        emit(s, &ev);
        running_remove(s, i);
        s->n_finished++;
        finished++;
    }
    return finished;
}
