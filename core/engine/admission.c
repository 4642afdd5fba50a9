/* core/engine/admission.c — the KV peak of a set of requests; see admission.h. */
#include "core/engine/admission.h"

/* Room request s holds at most in step t: its context until it can grow,
 * then one more token per step up to its final length, nothing after its
 * end. */
static int64_t seq_hold_at(const struct kvcache *kv, const struct adm_seq *s, int t)
{
    if (t > s->end) return 0;
    int len = t <= s->grow ? s->ctx : s->ctx + (t - s->grow);
    return kvcache_hold_tokens(kv, len > s->final ? s->final : len);
}

int64_t adm_hold_at(const struct kvcache *kv, const struct adm_seq *s, int n, int t)
{
    int64_t sum = 0;
    for (int i = 0; i < n; i++) sum += seq_hold_at(kv, &s[i], t);
    return sum;
}

/* Every envelope is non-decreasing until its end and zero after, so the sum
 * is largest at one of the end steps. */
int64_t adm_peak_tokens(const struct kvcache *kv, const struct adm_seq *s, int n)
{
    int64_t peak = adm_hold_at(kv, s, n, 1);
    for (int i = 0; i < n; i++) {
        int64_t h = adm_hold_at(kv, s, n, s[i].end);
        if (h > peak) peak = h;
    }
    return peak;
}
