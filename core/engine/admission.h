/* core/engine/admission.h — reservation-aware admission (admission=reserve).
 *
 * The scheduler knows each request's max_output, so it can tell before
 * admitting one whether the KV pool will hold every admitted request until
 * it finishes: each request holds its context while its prefill (or the
 * recompute after a preemption) runs, then grows by one token per decode
 * step up to prompt + max_output - 1 tokens, and releases everything after
 * its last step. When its prefill ends is known only within bounds (the
 * step budget is shared), so each request is modeled by an envelope: it
 * grows from the EARLIEST step its first decode can run and ends at the
 * LATEST step its last one can, which bounds its real use at every step.
 * The sum of the envelopes peaks at one of their end steps, so the peak is
 * the largest of n sums over n requests (n <= max_batch + 1). Admitting only
 * while that peak fits the pool means no decode ever runs out of KV, so no
 * request is preempted (speculative slots aside: a verify that cannot get
 * them decodes plainly).
 *
 * Room is counted with the allocator's rounding (kvcache_hold_tokens: whole
 * blocks when paged, the max_seq reservation when contiguous) and with no
 * credit for shared prefix blocks, so the estimate never undercounts them. */
#ifndef INFERTOP_ADMISSION_H
#define INFERTOP_ADMISSION_H

#include "core/engine/kvcache.h"

#include <stdint.h>

/* One admitted (or candidate) request as the check models it. */
struct adm_seq {
    int ctx;       /* KV tokens once its prefill or recompute is done (decoding: its length now) */
    int final;     /* KV tokens at its last decode step: prompt + max_output - 1 (>= ctx) */
    int grow;      /* steps before its first decode can run, at the earliest (0: it decodes in step 1) */
    int end;       /* the last step it can hold KV in, at the latest (>= 1) */
};

/* Tokens of room (kvcache_hold_tokens of each) the n requests hold together
 * in future step t (1 = the step being planned). */
int64_t adm_hold_at(const struct kvcache *kv, const struct adm_seq *s, int n, int t);

/* The most room the n requests hold together in any future step: the max of
 * adm_hold_at over the steps where one of them ends (and step 1). */
int64_t adm_peak_tokens(const struct kvcache *kv, const struct adm_seq *s, int n);


#endif
