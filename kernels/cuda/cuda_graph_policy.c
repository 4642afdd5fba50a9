/* kernels/cuda/cuda_graph_policy.c — see cuda_graph_policy.h. */
#include "kernels/cuda/cuda_graph_policy.h"

#include <stdio.h>
#include <string.h>

struct cg_key cg_key_of(int n_seqs, int n_tokens, int kv_blocks)
{
    int p2 = 1;
    while (p2 < kv_blocks) p2 <<= 1;
    struct cg_key k = {n_seqs, n_tokens, p2};
    return k;
}

void cg_policy_init(struct cg_policy *p, int warmup)
{
    memset(p, 0, sizeof *p);
    p->warmup = warmup > 0 ? warmup : 1;
}

static bool same_key(struct cg_key a, struct cg_key b)
{
    return a.n_seqs == b.n_seqs && a.n_tokens == b.n_tokens && a.kv_blocks_p2 == b.kv_blocks_p2;
}

enum cg_action cg_decide(struct cg_policy *p, struct cg_key k)
{
    if (p->off) { p->eager++; return CG_EAGER; }
    if (!p->have_key || !same_key(p->key, k)) {
        p->have_key = true;
        p->key = k;
        p->repeats = 1;
        p->have_exec = false;            /* a graph of another shape cannot replay this one */
        p->eager++;
        return CG_EAGER;
    }
    p->repeats++;
    if (p->repeats <= p->warmup) { p->eager++; return CG_EAGER; }
    return p->have_exec ? CG_UPDATE : CG_CAPTURE;
}

void cg_done(struct cg_policy *p, enum cg_action a, bool ok, const char *reason)
{
    switch (a) {
    case CG_EAGER: break;
    case CG_CAPTURE:
        if (ok) { p->have_exec = true; p->captures++; break; }
        p->off = true;
        p->have_exec = false;
        snprintf(p->reason, sizeof p->reason, "CUDA graphs off: capture failed (%s)", reason ? reason : "?");
        break;
    case CG_UPDATE:
        if (ok) p->replays++;
        else p->recaptures++;            /* topology changed: the caller instantiated anew, then launched */
        break;
    }
}
