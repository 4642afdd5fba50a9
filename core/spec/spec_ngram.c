/* core/spec/spec_ngram.c — prompt lookup decoding (spec=ngram): no model, the
 * request's own prompt and output are the draft. */
#include "core/spec/spec_impl.h"

#include <string.h>

/* Whether ctx[a .. a+m) equals ctx[b .. b+m). */
static bool same_run(const int32_t *ctx, int a, int b, int m)
{
    return memcmp(ctx + a, ctx + b, (size_t)m * sizeof *ctx) == 0;
}

int spec_ngram_lookup(const int32_t *ctx, int n, int nmin, int nmax, int k, int32_t *out)
{
    if (nmin < 1) nmin = 1;
    for (int m = nmax; m >= nmin; m--) {
        if (m >= n) continue;
        int suffix = n - m;
        /* most recent earlier occurrence first: recent text predicts best */
        for (int at = suffix - 1; at >= 0; at--) {
            if (!same_run(ctx, at, suffix, m)) continue;
            int got = 0;
            for (int i = at + m; i < n && got < k; i++) out[got++] = ctx[i];
            if (got > 0) return got;
        }
    }
    return 0;
}

static int ngram_propose(struct spec *s, const struct options *o, struct spec_seq *seqs, int n,
                         struct scheduler *sch, struct sampler *smp)
{
    (void)s; (void)smp;
    int nmin = (int)opt_i(o, OPT_NGRAM_MIN), nmax = (int)opt_i(o, OPT_NGRAM_MAX);
    for (int i = 0; i < n; i++) {
        const struct sched_req *r = &sch->reqs[seqs[i].req];
        seqs[i].n_draft = spec_ngram_lookup(r->tokens, r->n_tokens, nmin, nmax, seqs[i].k, seqs[i].tokens + 1);
        seqs[i].q_valid = false;
    }
    return 0;
}

const struct spec_drafter SPEC_NGRAM_DRAFTER = {.name = "ngram", .propose = ngram_propose};
