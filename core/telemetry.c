/* core/telemetry.c — see telemetry.h: event lists, the token hash, the ledger. */
#include "core/telemetry.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *req_event_name(enum req_event_kind k)
{
    static const char *N[REV_COUNT] = {
        [REV_ARRIVE] = "arrive", [REV_ADMIT] = "admit", [REV_PREEMPT] = "preempt",
        [REV_FIRST_TOKEN] = "first_token", [REV_TOKENS] = "tokens", [REV_FINISH] = "finish",
    };
    return (unsigned)k < REV_COUNT ? N[k] : "?";
}

void req_events_clear(struct req_event_list *l) { l->n = 0; l->lost = false; }

void req_events_free(struct req_event_list *l)
{
    free(l->ev);
    memset(l, 0, sizeof *l);
}

void req_events_push(struct req_event_list *l, const struct req_event *ev)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 64;
        struct req_event *p = realloc(l->ev, (size_t)cap * sizeof *p);
        if (!p) { l->lost = true; return; }
        l->ev = p;
        l->cap = cap;
    }
    l->ev[l->n++] = *ev;
}

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME  0x100000001b3ull

uint64_t tel_hash_init(void) { return FNV_OFFSET; }

uint64_t tel_hash_token(uint64_t h, int32_t token)
{
    uint32_t u = (uint32_t)token;
    for (int i = 0; i < 4; i++) {
        h ^= (u >> (8 * i)) & 0xff;
        h *= FNV_PRIME;
    }
    return h;
}

uint64_t tel_hash_tokens(const int32_t *tokens, int n)
{
    uint64_t h = tel_hash_init();
    for (int i = 0; i < n; i++) h = tel_hash_token(h, tokens[i]);
    return h;
}

int tel_ledger_init(struct tel_ledger *l, int n, const int *max_output)
{
    memset(l, 0, sizeof *l);
    l->reqs = calloc((size_t)n + 1, sizeof *l->reqs);
    if (!l->reqs) return -1;
    l->n = n;
    for (int i = 0; i < n; i++) {
        struct tel_request *q = &l->reqs[i];
        q->id = i;
        q->max_output = max_output[i];
        q->hash = tel_hash_init();
        q->tokens = calloc((size_t)max_output[i] + 1, sizeof *q->tokens);
        q->token_t = calloc((size_t)max_output[i] + 1, sizeof *q->token_t);
        if (!q->tokens || !q->token_t) { tel_ledger_free(l); return -1; }
    }
    return 0;
}

void tel_ledger_free(struct tel_ledger *l)
{
    for (int i = 0; l->reqs && i < l->n; i++) {
        free(l->reqs[i].tokens);
        free(l->reqs[i].token_t);
    }
    free(l->reqs);
    memset(l, 0, sizeof *l);
}

/* Move q to state s, keeping the per-state counts. */
static void set_state(struct tel_ledger *l, struct tel_request *q, enum req_state s)
{
    if (q->state == REQ_WAITING) l->waiting--;
    if (q->state == REQ_RUNNING) l->running--;
    q->state = s;
    if (s == REQ_WAITING) l->waiting++;
    if (s == REQ_RUNNING) l->running++;
    if (s == REQ_FINISHED) l->finished++;
}

static void commit_tokens(struct tel_ledger *l, struct tel_request *q, const struct req_event *ev)
{
    for (int i = 0; i < ev->n_tokens && i < TEL_MAX_COMMIT && q->generated < q->max_output; i++) {
        q->tokens[q->generated] = ev->tokens[i];
        q->token_t[q->generated] = ev->t_s;
        q->hash = tel_hash_token(q->hash, ev->tokens[i]);
        q->generated++;
        l->tokens_out++;
    }
    if (ev->drafted > 0) {
        q->spec_drafts++;
        q->spec_drafted += ev->drafted;
        q->spec_accepted += ev->accepted;
    }
}

void tel_ledger_apply(struct tel_ledger *l, const struct req_event *ev)
{
    if (ev->req < 0 || ev->req >= l->n) return;
    struct tel_request *q = &l->reqs[ev->req];
    switch (ev->kind) {
    case REV_ARRIVE:
        q->arrival_s = ev->t_s;
        q->prompt_len = ev->prompt_len;
        set_state(l, q, REQ_WAITING);
        break;
    case REV_ADMIT:
        if (q->preempted == 0) q->admit_s = ev->t_s;
        q->cached += ev->cached;
        set_state(l, q, REQ_RUNNING);
        break;
    case REV_PREEMPT:
        q->preempted++;
        l->preemptions++;
        set_state(l, q, REQ_WAITING);
        break;
    case REV_FIRST_TOKEN: q->first_s = ev->t_s; break;
    case REV_TOKENS: commit_tokens(l, q, ev); break;
    case REV_FINISH:
        q->finish_s = ev->t_s;
        set_state(l, q, REQ_FINISHED);
        break;
    default: break;
    }
}

double tel_now(const struct telemetry *t) { return run_clock_now(&t->clock); }

double run_clock_now(const struct run_clock *c)
{
    return c->mode == CLOCK_WALL ? (now_ns() - c->t0_ns) / 1e9 : c->virtual_s;
}

void run_clock_wait(struct run_clock *c, double s)
{
    if (s <= 0) return;
    if (c->mode != CLOCK_WALL) { c->virtual_s += s; return; }
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    nanosleep(&ts, NULL);
}

static const char *const QUALITY_STATE[] = {"none", "reference", "measuring", "measured", "failed"};

const char *tel_quality_state_name(enum tel_quality_state s)
{
    return (unsigned)s < sizeof QUALITY_STATE / sizeof QUALITY_STATE[0] ? QUALITY_STATE[s] : "?";
}

int tel_quality_state_from_name(const char *s)
{
    for (int i = 0; i < (int)(sizeof QUALITY_STATE / sizeof QUALITY_STATE[0]); i++)
        if (!strcmp(s, QUALITY_STATE[i])) return i;
    return -1;
}

const char *tel_seg_name(enum tel_seg_kind k)
{
    static const char *const N[SEG_COUNT] = {"compute", "send", "recv", "idle"};
    return (unsigned)k < SEG_COUNT ? N[k] : "?";
}

void tel_hooks_format(const struct tel_backend_hooks *h, const char *backend, char *out, size_t n)
{
    const struct graph_counts *g = &h->graphs;
    char graphs[192];
    if (!h->has_graphs) snprintf(graphs, sizeof graphs, "graphs: n/a (%s)", backend);
    else if (g->off) snprintf(graphs, sizeof graphs, "graphs: off (%s)", g->reason);
    else
        snprintf(graphs, sizeof graphs, "graphs: eager %llu, captures %llu, recaptures %llu, replays %llu",
                 (unsigned long long)g->eager, (unsigned long long)g->captures, (unsigned long long)g->recaptures,
                 (unsigned long long)g->replays);
    snprintf(out, n, "%s | device sampling: %llu steps (%s)", graphs, (unsigned long long)h->sampled_steps,
             h->sampled_steps ? "ids only" : "logits downloaded");
}
