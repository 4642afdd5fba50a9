/* core/spec/spec_model.c — the drafters that run a model: layerskip (the
 * target's own first layers) and draft (a second model with its own KV pool).
 *
 * Both draft in rounds batched across the step's sequences: round j feeds
 * every sequence still drafting one token (the context's last token, then
 * its previous draft) and picks the next draft from that row's logits. The
 * draft model first catches up on the context tokens its pool has not seen
 * (the prompt at the first draft, the tokens committed since), in chunks of
 * at most the forward's capacity. */
#include "core/spec/spec_impl.h"
#include "traces/nvtx.h"

#include <stdio.h>
#include <string.h>

/* The draft row of sequence i at draft position j (q rows are [SPEC_MAX_K][V]). */
static float *q_row(struct spec *s, struct spec_seq *sq, int j)
{
    return sq->q ? sq->q + (size_t)j * s->vocab : NULL;
}

/* Pick draft j + 1 of every fed sequence from this round's rows, with each
 * request's own rng. */
static void pick_round(struct spec *s, struct spec_seq *seqs, int nf, int j, struct scheduler *sch,
                       struct sampler *smp)
{
    for (int f = 0; f < nf; f++) {
        struct spec_seq *sq = &seqs[s->fseq_of[f]];
        struct sched_req *r = &sch->reqs[sq->req];
        smp->state = r->rng;
        /* q rows exist whenever sampling (spec.c allocates them); greedy reads none */
        sq->tokens[j + 1] = spec_pick_draft(smp, s->logits + (size_t)f * s->vocab, q_row(s, sq, j));
        r->rng = smp->state;
        sq->n_draft = j + 1;
        sq->q_valid = smp->temperature > 0 && sq->q;
    }
}

/* ---- layerskip ------------------------------------------------------------ */

/* The draft's depth: spec_layers, 0 = half; always inside [1, n_layers - 1]. */
static int layerskip_depth(const struct options *o, int n_layers)
{
    int d = (int)opt_i(o, OPT_SPEC_LAYERS);
    if (d <= 0) d = n_layers / 2;
    if (d >= n_layers) d = n_layers - 1;
    return d < 1 ? 1 : d;
}

/* Round j over the target's first `depth` layers: the K/V it writes land in
 * the target's reserved slots (positions pos0 .. pos0+k-1), which the verify
 * rewrites. Returns the sequences fed, -1 on failure. */
static int layerskip_round(struct spec *s, struct spec_seq *seqs, int n, int j, int depth, struct scheduler *sch)
{
    struct model_instance *t = s->cfg.target;
    int nf = 0;
    for (int i = 0; i < n; i++) {
        struct spec_seq *sq = &seqs[i];
        if (sq->k <= j || sq->n_draft != j) continue;
        const struct sched_req *r = &sch->reqs[sq->req];
        struct fwd_seq *fs = &s->fseqs[nf];
        s->feed[nf] = sq->tokens[j];
        *fs = (struct fwd_seq){.tokens = &s->feed[nf], .n_tokens = 1, .pos0 = r->n_tokens - 1 + j, .decode = true};
        if (kvcache_view(t->kv, r->id, &fs->kv) != KVC_OK) return -1;
        s->fseq_of[nf] = i;
        s->seq_ids[nf++] = r->id;
    }
    if (nf == 0) return 0;
    const int *ids = t->fw.seq_ids;
    struct backend *be = instance_backend(t);
    be->log = &s->ls_log;
    t->fw.seq_ids = s->seq_ids;
    int rc = forward_stage(&t->fw, 0, depth, FWD_EMBED | FWD_HEAD | FWD_EARLY_EXIT, s->fseqs, nf, NULL, s->logits);
    t->fw.seq_ids = ids;
    backend_sync(be);
    instance_bind_log(t);
    return rc < 0 ? -1 : nf;
}

static int layerskip_propose(struct spec *s, const struct options *o, struct spec_seq *seqs, int n,
                             struct scheduler *sch, struct sampler *smp)
{
    int depth = layerskip_depth(o, s->cfg.target->m->cfg.n_layers), rounds = 0;
    for (int j = 0; j < SPEC_MAX_K; j++) {
        int nf = layerskip_round(s, seqs, n, j, depth, sch);
        if (nf < 0) return -1;
        if (nf == 0) break;
        pick_round(s, seqs, nf, j, sch, smp);
        rounds++;
    }
    return rounds;
}

const struct spec_drafter SPEC_LAYERSKIP_DRAFTER = {.name = "layerskip", .propose = layerskip_propose};

/* ---- draft model ---------------------------------------------------------- */

static void draft_forget(struct spec *s, int req_idx, int req_id)
{
    struct spec_draft_req *d = &s->dreq[req_idx];
    if (d->live) kvcache_release(s->draft.kv, req_id);
    memset(d, 0, sizeof *d);
}

/* The draft pool follows the target's admission of r: a preemption (new
 * admit_order) starts it over. false when the draft pool has no room. */
static bool draft_follow(struct spec *s, int req_idx, const struct sched_req *r)
{
    struct spec_draft_req *d = &s->dreq[req_idx];
    if (d->live && d->admit_order == r->admit_order) return true;
    draft_forget(s, req_idx, r->id);
    if (kvcache_admit_request(s->draft.kv, r->id, r->tokens, 0, r->prompt_len + r->max_output) < 0) return false;
    d->live = true;
    d->admit_order = r->admit_order;
    d->n_cached = 0;
    return true;
}

/* One catch-up round: each sequence feeds the next chunk of the context its
 * pool has not seen; a chunk that reaches the context's end yields draft 1.
 * Returns the sequences fed (0: all caught up), -1 on failure. */
static int catchup_round(struct spec *s, struct spec_seq *seqs, int n, struct scheduler *sch, int *done_at)
{
    int nf = 0, budget = s->draft.fw.cap;
    for (int i = 0; i < n && budget > 0; i++) {
        struct spec_seq *sq = &seqs[i];
        struct sched_req *r = &sch->reqs[sq->req];
        struct spec_draft_req *d = &s->dreq[sq->req];
        if (sq->k == 0 || sq->n_draft > 0 || !d->live || d->n_cached >= r->n_tokens) continue;
        int chunk = r->n_tokens - d->n_cached;
        if (chunk > budget) chunk = budget;
        if (kvcache_append(s->draft.kv, r->id, chunk) != KVC_OK) { draft_forget(s, sq->req, r->id); sq->k = 0; continue; }
        struct fwd_seq *fs = &s->fseqs[nf];
        *fs = (struct fwd_seq){.tokens = r->tokens + d->n_cached, .n_tokens = chunk, .pos0 = d->n_cached,
                               .decode = chunk == 1};
        if (kvcache_view(s->draft.kv, r->id, &fs->kv) != KVC_OK) return -1;
        d->n_cached += chunk;
        done_at[nf] = d->n_cached == r->n_tokens;
        s->fseq_of[nf] = i;
        s->seq_ids[nf++] = r->id;
        budget -= chunk;
    }
    if (nf == 0) return 0;
    s->draft.fw.seq_ids = s->seq_ids;
    return instance_forward(&s->draft, s->fseqs, nf, NULL, s->logits) < 0 ? -1 : nf;
}

/* Round j >= 1: feed draft j at the position after the context's last token + j - 1. */
static int draft_round(struct spec *s, struct spec_seq *seqs, int n, int j, struct scheduler *sch)
{
    int nf = 0;
    for (int i = 0; i < n; i++) {
        struct spec_seq *sq = &seqs[i];
        if (sq->k <= j || sq->n_draft != j) continue;
        const struct sched_req *r = &sch->reqs[sq->req];
        if (kvcache_append(s->draft.kv, r->id, 1) != KVC_OK) continue;   /* stops here: keeps j drafts */
        struct fwd_seq *fs = &s->fseqs[nf];
        *fs = (struct fwd_seq){.tokens = &sq->tokens[j], .n_tokens = 1, .pos0 = r->n_tokens - 1 + j, .decode = true};
        if (kvcache_view(s->draft.kv, r->id, &fs->kv) != KVC_OK) return -1;
        s->fseq_of[nf] = i;
        s->seq_ids[nf++] = r->id;
    }
    if (nf == 0) return 0;
    s->draft.fw.seq_ids = s->seq_ids;
    return instance_forward(&s->draft, s->fseqs, nf, NULL, s->logits) < 0 ? -1 : nf;
}

static int model_propose(struct spec *s, const struct options *o, struct spec_seq *seqs, int n,
                         struct scheduler *sch, struct sampler *smp)
{
    (void)o;
    int rounds = 0, *done = s->done;
    for (int i = 0; i < n; i++)
        if (!draft_follow(s, seqs[i].req, &sch->reqs[seqs[i].req])) seqs[i].k = 0;
    for (;;) {                                     /* catch up; the last chunk gives draft 1 */
        int nf = catchup_round(s, seqs, n, sch, done);
        if (nf < 0) return -1;
        if (nf == 0) break;
        rounds++;
        int keep = 0;
        for (int f = 0; f < nf; f++)
            if (done[f]) {                          /* pick from the rows of finished catch-ups only */
                memmove(s->logits + (size_t)keep * s->vocab, s->logits + (size_t)f * s->vocab,
                        (size_t)s->vocab * sizeof *s->logits);
                s->fseq_of[keep++] = s->fseq_of[f];
            }
        pick_round(s, seqs, keep, 0, sch, smp);
    }
    for (int j = 1; j < SPEC_MAX_K; j++) {
        int nf = draft_round(s, seqs, n, j, sch);
        if (nf < 0) return -1;
        if (nf == 0) break;
        rounds++;
        pick_round(s, seqs, nf, j, sch, smp);
    }
    return rounds;
}

/* After the commit: the pool keeps the context tokens it holds that were
 * committed (its K/V at a rejected draft's position are wrong); requests that
 * left the running set (finished, preempted) give their draft K/V back. */
static void model_observe(struct spec *s, const struct scheduler *sch)
{
    for (int i = 0; i < sch->n_reqs; i++) {
        struct spec_draft_req *d = &s->dreq[i];
        if (!d->live) continue;
        const struct sched_req *r = &sch->reqs[i];
        if (r->state != REQ_RUNNING || r->admit_order != d->admit_order) { draft_forget(s, i, r->id); continue; }
        int len = kvcache_len(s->draft.kv, r->id), keep = len < r->n_computed ? len : r->n_computed;
        if (len > keep) kvcache_truncate(s->draft.kv, r->id, keep);
        d->n_cached = keep;
    }
}

const struct spec_drafter SPEC_MODEL_DRAFTER = {.name = "draft", .propose = model_propose, .observe = model_observe};
