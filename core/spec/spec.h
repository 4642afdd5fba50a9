/* core/spec/spec.h — speculative decoding: draft k tokens, verify them in one
 * target forward, keep the longest exact prefix (seed §6.2).
 *
 * A step with spec != off goes:
 *   plan     the scheduler reserves KV for each decode's token plus up to
 *            spec_k drafted ones (sched_item.spec, spec_slots_wanted);
 *   propose  the drafter proposes up to that many tokens per request,
 *            batched across requests (spec_propose): KV slots it did not
 *            fill are given back at once;
 *   verify   the engine's one batched target forward scores every drafted
 *            token plus one (fwd_seq.all_logits), and spec_verify keeps the
 *            longest prefix the target agrees with, then the target's own
 *            next token (greedy: equal to the argmax; sampling: the
 *            rejection rule of Leviathan et al. / Chen et al., which leaves
 *            the target's distribution unchanged);
 *   commit   sched_commit_tokens commits 1..k+1 tokens per request and rolls
 *            the target's KV back past the kept ones; spec_observe
 *            resynchronises the drafter (a draft model's KV).
 *
 * Drafters (one small interface, spec_impl.h):
 *   ngram      prompt lookup: the longest suffix of the context (ngram_max
 *              down to ngram_min tokens) found earlier in the request's own
 *              prompt + output proposes what followed it; no model, q one-hot;
 *   layerskip  the target's first spec_layers layers, its final norm and head
 *              (forward_stage with FWD_EARLY_EXIT); it writes those layers'
 *              K/V into the target's reserved slots, which the verify then
 *              overwrites with the same values: sharing is exact;
 *   draft      a second model instance (KROLE_DRAFT) with its own KV pool,
 *              caught up on the tokens it has not seen before it drafts.
 * Exactness never depends on the drafter: a drafter that cannot propose
 * (no match, draft pool full) proposes nothing and the step is a plain decode. */
#ifndef INFERTOP_SPEC_H
#define INFERTOP_SPEC_H

#include "core/engine/instance.h"
#include "core/engine/scheduler.h"
#include "core/model/sampler.h"
#include "core/options/options.h"
#include "core/telemetry.h"

#define SPEC_MAX_K TEL_SPEC_MAX_K

/* One planned decode that speculates this step. */
struct spec_seq {
    int item;                          /* index into sched.items */
    int req;                           /* index into sched.reqs */
    int k;                             /* drafted tokens wanted (<= the item's reserved slots) */
    int n_draft;                       /* proposed (<= k) */
    int32_t tokens[1 + SPEC_MAX_K];    /* what the verify feeds: the context's last token, the drafts */
    float *q;                          /* [SPEC_MAX_K][vocab]: the draft's distribution at each drafted
                                          position (model drafters); NULL: deterministic (one-hot) */
    bool q_valid;                      /* q holds this step's rows (sampling with a model drafter) */
    int n_emit;                        /* after spec_verify: tokens to commit (accepted + 1) */
    int32_t emit[1 + SPEC_MAX_K];
};

struct spec_config {
    struct model_instance *target;     /* its forward and KV pool (layerskip shares them) */
    struct model *draft;               /* spec=draft's model; NULL: none loaded */
    const struct kvcache_config *kv;   /* the target pool's config: the draft pool copies its policy */
    int max_batch, max_tokens;         /* per step: sequences, tokens per forward */
    int n_reqs;                        /* scheduler requests (draft state is per request) */
};

struct spec;

/* 0 ok; -1 with one line in err: the draft's vocabulary differs from the
 * target's ("draft M: vocabulary of N tokens; expected the target's V"), its
 * instance or pool does not fit, out of memory. */
int  spec_create(struct spec **out, const struct spec_config *c, char *err, size_t errlen);
void spec_destroy(struct spec *s);

/* Whether the options' spec kind can run here (spec=draft needs a draft). */
bool spec_available(const struct spec *s, const struct options *o);
/* KV slots the scheduler should reserve per decode for these options:
 * spec_k when a drafter is active and available, else 0. */
int  spec_slots_wanted(const struct spec *s, const struct options *o);

/* Draft for every planned decode with reserved slots: fills the step's
 * sequences, sets each item's spec to what was proposed and truncates the
 * target's KV past it. The engine's sampler (smp) is used with each
 * request's own rng state. st gets the draft counts and time.
 * Returns the number of speculating sequences, -1 when a draft forward failed. */
int  spec_propose(struct spec *s, const struct options *o, struct scheduler *sch, struct sampler *smp,
                  struct step_spec *st);

/* The speculating sequence of plan item `item` this step, or NULL. */
const struct spec_seq *spec_seq_of_item(const struct spec *s, int item);

/* Acceptance for every speculating sequence: rows[q] points at its logits
 * [1 + n_draft][vocab] from the verify forward. Fills emit/n_emit (greedy:
 * the kept prefix and the target's argmax after it; sampling: rejection
 * sampling with the request's rng) and st's acceptance counts. */
void spec_verify(struct spec *s, struct scheduler *sch, struct sampler *smp, const float *const *rows,
                 struct step_spec *st);

/* After sched_commit_tokens: the drafter catches up with what was committed
 * (a draft model's KV truncated past the kept tokens; preempted or finished
 * requests release their draft KV). */
void spec_observe(struct spec *s, const struct scheduler *sch);

/* Sequences speculating this step. */
int  spec_n_seqs(const struct spec *s);
const struct spec_seq *spec_seqs(const struct spec *s);

/* The draft instance (spec=draft), or NULL: its KV block map for displays. */
struct model_instance *spec_draft_instance(struct spec *s);

/* ---- the rules, exposed for tests ---------------------------------------- */

/* Prompt lookup over ctx[0..n): for m from nmax down to nmin, the most recent
 * earlier occurrence of the last m tokens; the up to k tokens that followed
 * it go to out. Returns how many (0: no match). */
int  spec_ngram_lookup(const int32_t *ctx, int n, int nmin, int nmax, int k, int32_t *out);

/* Verify one sequence: rows [n_draft + 1][V] are the target's logits after
 * the context's last token and after each drafted token; q [n_draft][V] the
 * draft's distributions (NULL: one-hot on the drafted token). Temperature 0
 * (smp->temperature <= 0): the longest prefix equal to the argmax, then the
 * argmax. Else: draft token x kept with probability min(1, p(x)/q(x)); at
 * the first rejection a token from norm(max(0, p - q)); all kept: a token from
 * the last row. p, w: scratch [V]. Writes emit, returns its length (1..n_draft+1). */
int  spec_accept(struct sampler *smp, const float *rows, int V, const int32_t *draft, int n_draft,
                 const float *q, float *p, float *w, int32_t *emit);

/* Leviathan et al.'s expected speedup: (1 - a^(k+1)) / ((1 - a)(k c + 1)),
 * a = per-token acceptance, c = draft step time / target step time. */
double spec_predicted_speedup(double alpha, int k, double c);
/* Its numerator: expected tokens per target step, (1 - a^(k+1)) / (1 - a). */
double spec_expected_tokens(double alpha, int k);

#endif
