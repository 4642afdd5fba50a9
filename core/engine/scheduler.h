/* core/engine/scheduler.h — which tokens of which requests run in the next step.
 *
 * Every request keeps its whole context: tokens[0..n_tokens) = prompt then
 * generated tokens; n_computed of them have K/V in the cache. A step feeds
 * tokens[n_computed .. n_computed+chunk) and, when that reaches n_tokens, the
 * last row's logits choose the next token. So decode (one token), prefill
 * (a chunk of the prompt) and recompute after preemption are one mechanism.
 *
 * batching=static: a batch of up to max_batch waiting requests (waiting up to
 * batch_wait for it to fill) is prefilled, then decoded until every request in
 * it is done; finished slots stay idle until the whole batch drains.
 * batching=continuous (iteration-level): every step admits waiting requests
 * while max_batch, KV space and the token budget allow, mixes decode tokens
 * with prefill chunks (chunked_prefill tokens per request, 0 = whole prompt),
 * and evicts finished requests at once.
 * Admission (cfg.reserve, option admission=reserve|watermark): reserve admits
 * a request only while the KV every admitted request reaches at its peak
 * (prompt + max_output, each freed when it ends; core/engine/admission.h)
 * fits the pool, so decodes do not run out of KV; watermark leaves it to
 * the allocator's watermark (kvcache_can_admit: free blocks for the prompt
 * and the admitted prompts not yet prefilled, one block of headroom per
 * running request), which admits more and preempts when the pool runs out.
 * Both preempt (recompute) the most recently admitted request when a decode
 * cannot get a KV block.
 * Speculative decoding (cfg.spec_k > 0): a decode reserves KV for its token
 * plus up to spec_k drafted ones (never past max_output) and spends them from
 * the token budget; when the pool cannot give that much it decodes plainly
 * rather than preempt.
 *
 * Request events (core/telemetry.h) are appended to `events` (when set) at
 * the moment they happen: arrive in sched_release_arrivals, admit and
 * preempt in sched_plan_step, first token / tokens / finish in
 * sched_commit_step. */
#ifndef INFERTOP_SCHEDULER_H
#define INFERTOP_SCHEDULER_H

#include "core/engine/admission.h"
#include "core/engine/kvcache.h"
#include "core/telemetry.h"
#include "core/workload/workload.h"

/* enum req_state is published in core/telemetry.h. */

struct sched_req {
    int id;
    enum req_state state;
    double arrival_s;
    int32_t *tokens;          /* [prompt_len + max_output] */
    int n_tokens;             /* prompt + generated */
    int prompt_len, max_output;
    int n_generated;
    int n_computed;           /* tokens whose K/V are in the cache */
    int cached_tokens;        /* prompt tokens found in the prefix cache (all admissions) */
    int prefill_computed;     /* prompt/recompute tokens actually run through the model */
    int n_preempted;
    uint64_t admit_order;     /* larger = admitted later */
    uint64_t rng;             /* per-request sampling state */
    double t_admit, t_first, t_finish;
    double *token_t;          /* [max_output] time each generated token was sampled */
};

struct sched_item {
    int req;                  /* index into sched.reqs */
    int pos0, n_tokens;       /* feed tokens[pos0 .. pos0+n_tokens) */
    bool samples;             /* reaches the end of the context: sample a token */
    bool decode;              /* a decode step (else prefill or recompute) */
    int spec;                 /* speculative slots reserved after the fed token (decode only; 0 = none):
                                 KV room for positions pos0+1 .. pos0+spec, which a draft's tokens fill */
};

struct sched_config {
    bool continuous;
    int max_batch;
    int max_tokens_step;
    int chunk;                /* 0 = whole prompts */
    double batch_wait_s;
    int spec_k;               /* speculative decoding: KV slots a decode reserves for drafted tokens (0 off) */
    bool reserve;             /* admission=reserve: admit only while the admitted requests' KV peak fits */
};

struct scheduler {
    struct sched_config cfg;
    struct kvcache *kv;
    struct sched_req *reqs;
    int n_reqs;
    int *running;             /* request indices, admission order */
    int n_running;
    int *waiting;             /* FIFO of request indices */
    int n_waiting, wait_head;
    int next_pending;         /* reqs are sorted by arrival */
    int n_finished;
    uint64_t admit_counter;
    uint64_t preemptions;
    bool static_batch_open;   /* static: the current batch still admits */
    struct sched_item *items; /* plan of the current step */
    struct adm_seq *adm;      /* [max_batch + 1] scratch of the reserve check */
    int n_items;
    struct req_event_list *events;   /* where request events go; NULL: none */
};

int  sched_init(struct scheduler *s, const struct sched_config *cfg, struct kvcache *kv,
                const struct workload *w, uint64_t seed, char *err, size_t errlen);
void sched_free(struct scheduler *s);

/* Move arrived requests (arrival_s <= now) to the waiting queue. */
void sched_release_arrivals(struct scheduler *s, double now);
/* Plan one step at time `now`: preempt if decodes lack KV, admit, pick chunks,
 * and append KV room for every planned token. Returns the number of items
 * (0: nothing can run now). preempted: set to preemptions made. */
int  sched_plan_step(struct scheduler *s, double now, int *preempted);
/* After the forward pass: tokens fed are computed; `sampled[i]` is the token
 * chosen for item i (ignored when !samples). Finishes requests that reached
 * max_output. Returns requests finished. */
int  sched_commit_step(struct scheduler *s, const int32_t *sampled, double now);
/* The same with 1..spec+1 tokens per item: item k commits out[k*stride ..
 * k*stride + n_out[k]) (n_out NULL: one each; items that do not sample
 * commit none). A speculative item (spec > 0) committing n tokens kept n - 1
 * of its drafted tokens: they count as computed, and the KV slots past them
 * are rolled back (kvcache_truncate). Returns requests finished. */
int  sched_commit_tokens(struct scheduler *s, const int32_t *out, int stride, const int *n_out, double now);

bool sched_done(const struct scheduler *s);
/* Arrival time of the next pending request, or -1 when none. */
double sched_next_arrival(const struct scheduler *s);

#endif
