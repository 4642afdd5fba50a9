/* core/spec/spec.c — the speculative step around the drafters (spec.h). */
#include "core/spec/spec_impl.h"
#include "traces/nvtx.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The draft model's instance over every layer with a pool of the target's
 * policy (no prefix cache: the draft's K/V follow the target's requests). */
static int draft_create(struct spec *s, char *err, size_t errlen)
{
    const struct spec_config *c = &s->cfg;
    if (c->draft->cfg.vocab != s->vocab) {
        snprintf(err, errlen, "draft %s: vocabulary of %d tokens; expected the target's %d", c->draft->source,
                 c->draft->cfg.vocab, s->vocab);
        return -1;
    }
    struct instance_spec sp = {.role = KROLE_DRAFT, .m = c->draft, .max_tokens = c->max_tokens, .kv = *c->kv};
    sp.kv.prefix_cache = false;
    device_group_one(&sp.group, instance_backend(c->target));
    char why[256];
    if (instance_init(&s->draft, &sp, why, sizeof why) < 0) {
        snprintf(err, errlen, "draft %s: %s", c->draft->source, why);
        return -1;
    }
    s->has_draft = true;
    instance_bind_log(c->target);
    s->dreq = calloc((size_t)c->n_reqs + 1, sizeof *s->dreq);
    return s->dreq ? 0 : -1;
}

int spec_create(struct spec **out, const struct spec_config *c, char *err, size_t errlen)
{
    struct spec *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s) { snprintf(err, errlen, "spec: out of memory"); return -1; }
    s->cfg = *c;
    s->vocab = c->target->m->cfg.vocab;
    int B = c->max_batch + 1;
    s->seqs = calloc((size_t)B, sizeof *s->seqs);
    s->seq_of_item = calloc((size_t)B, sizeof *s->seq_of_item);
    s->p = malloc((size_t)s->vocab * sizeof *s->p);
    s->w = malloc((size_t)s->vocab * sizeof *s->w);
    s->cur_k = calloc((size_t)c->n_reqs + 1, sizeof *s->cur_k);
    s->fseqs = calloc((size_t)B, sizeof *s->fseqs);
    s->fseq_of = calloc((size_t)B, sizeof *s->fseq_of);
    s->seq_ids = calloc((size_t)B, sizeof *s->seq_ids);
    s->done = calloc((size_t)B, sizeof *s->done);
    s->feed = calloc((size_t)B, sizeof *s->feed);
    s->logits = malloc((size_t)B * s->vocab * sizeof *s->logits);
    kernel_log_init(&s->ls_log, 1024);
    kernel_log_set_instance(&s->ls_log, KROLE_DRAFT, instance_backend(c->target)->device, 0);
    bool ok = s->seqs && s->seq_of_item && s->p && s->w && s->cur_k && s->fseqs && s->fseq_of && s->seq_ids &&
              s->done && s->feed && s->logits && s->ls_log.recs;
    if (!ok) snprintf(err, errlen, "spec: out of memory");
    if (ok && c->draft && draft_create(s, err, errlen) < 0) ok = false;
    if (!ok) { spec_destroy(s); return -1; }
    *out = s;
    return 0;
}

void spec_destroy(struct spec *s)
{
    if (!s) return;
    if (s->has_draft) instance_free(&s->draft);
    struct backend *be = instance_backend(s->cfg.target);
    if (be && be->log == &s->ls_log) instance_bind_log(s->cfg.target);
    kernel_log_free(&s->ls_log);
    free(s->seqs); free(s->seq_of_item); free(s->q_mem); free(s->p); free(s->w); free(s->cur_k);
    free(s->dreq); free(s->fseqs); free(s->fseq_of); free(s->seq_ids); free(s->done); free(s->feed);
    free(s->logits);
    free(s);
}

static const struct spec_drafter *drafter_of(enum opt_spec k)
{
    switch (k) {
    case SPEC_NGRAM: return &SPEC_NGRAM_DRAFTER;
    case SPEC_LAYERSKIP: return &SPEC_LAYERSKIP_DRAFTER;
    case SPEC_DRAFT: return &SPEC_MODEL_DRAFTER;
    default: return NULL;
    }
}

bool spec_available(const struct spec *s, const struct options *o)
{
    enum opt_spec k = opt_enum(o, SPEC);
    if (k == SPEC_DRAFT) return s->has_draft;
    if (k == SPEC_LAYERSKIP) return s->cfg.target->m->cfg.n_layers >= 2;
    return true;
}

int spec_slots_wanted(const struct spec *s, const struct options *o)
{
    if (opt_enum(o, SPEC) == SPEC_OFF || !spec_available(s, o)) return 0;
    return (int)opt_i(o, OPT_SPEC_K);
}

int spec_n_seqs(const struct spec *s) { return s->n_seqs; }
const struct spec_seq *spec_seqs(const struct spec *s) { return s->seqs; }
struct model_instance *spec_draft_instance(struct spec *s) { return s->has_draft ? &s->draft : NULL; }

const struct spec_seq *spec_seq_of_item(const struct spec *s, int item)
{
    int i = s->seq_of_item[item];
    return i >= 0 ? &s->seqs[i] : NULL;
}

/* Rows for the draft's distributions: only a model drafter that samples needs them. */
static int ensure_q(struct spec *s)
{
    if (s->q_mem) return 0;
    s->q_mem = malloc((size_t)(s->cfg.max_batch + 1) * SPEC_MAX_K * s->vocab * sizeof *s->q_mem);
    return s->q_mem ? 0 : -1;
}

/* The draft length request r asks for: spec_k, or its adaptive length. */
static int wanted_k(struct spec *s, const struct options *o, int req, int slots)
{
    int k = slots;
    if (opt_i(o, OPT_SPEC_ADAPTIVE)) {
        int kmax = (int)opt_i(o, OPT_SPEC_K);
        if (s->cur_k[req] <= 0 || s->cur_k[req] > kmax) s->cur_k[req] = kmax;
        if (k > s->cur_k[req]) k = s->cur_k[req];
    }
    return k;
}

/* The step's speculating sequences: every planned decode with reserved slots. */
static int collect_seqs(struct spec *s, const struct options *o, struct scheduler *sch, bool with_q)
{
    int n = 0;
    for (int k = 0; k < sch->n_items; k++) {
        s->seq_of_item[k] = -1;
        const struct sched_item *it = &sch->items[k];
        if (it->spec <= 0) continue;
        const struct sched_req *r = &sch->reqs[it->req];
        struct spec_seq *sq = &s->seqs[n];
        memset(sq, 0, offsetof(struct spec_seq, emit));
        sq->item = k;
        sq->req = it->req;
        sq->k = wanted_k(s, o, it->req, it->spec);
        sq->tokens[0] = r->tokens[r->n_tokens - 1];
        sq->q = with_q ? s->q_mem + (size_t)n * SPEC_MAX_K * s->vocab : NULL;
        s->seq_of_item[k] = n++;
    }
    return n;
}

/* Give back the slots a sequence did not fill; count what was drafted. A
 * sequence with no draft becomes a plain decode (no seq for its item). */
static void settle_drafts(struct spec *s, struct scheduler *sch, struct step_spec *st)
{
    int n = 0;
    for (int i = 0; i < s->n_seqs; i++) {
        struct spec_seq *sq = &s->seqs[i];
        struct sched_item *it = &sch->items[sq->item];
        if (sq->n_draft < it->spec) {
            kvcache_truncate(sch->kv, sch->reqs[it->req].id, it->pos0 + 1 + sq->n_draft);
            it->spec = sq->n_draft;
        }
        s->seq_of_item[sq->item] = -1;
        if (sq->n_draft == 0) continue;
        st->drafts++;
        st->drafted += sq->n_draft;
        for (int j = 0; j < sq->n_draft; j++) st->drafted_at[j]++;
        if (n != i) s->seqs[n] = *sq;
        s->seq_of_item[sq->item] = n++;
    }
    s->n_seqs = n;
}

int spec_propose(struct spec *s, const struct options *o, struct scheduler *sch, struct sampler *smp,
                 struct step_spec *st)
{
    memset(st, 0, sizeof *st);
    st->kind = opt_enum(o, SPEC);
    st->k = (int)opt_i(o, OPT_SPEC_K);
    s->n_seqs = 0;
    for (int k = 0; k < sch->n_items; k++) s->seq_of_item[k] = -1;
    const struct spec_drafter *d = drafter_of(opt_enum(o, SPEC));
    if (!d || !spec_available(s, o)) return 0;
    bool with_q = smp->temperature > 0 && d != &SPEC_NGRAM_DRAFTER;
    if (with_q && ensure_q(s) < 0) return -1;
    s->n_seqs = collect_seqs(s, o, sch, with_q);
    if (s->n_seqs == 0) return 0;
    uint64_t t0 = now_ns();
    nvtx_push(NR_DRAFT, (uint64_t)s->n_seqs);
    kernel_log_clear(&s->ls_log);
    int rounds = d->propose(s, o, s->seqs, s->n_seqs, sch, smp);
    nvtx_pop();
    st->draft_s = (now_ns() - t0) / 1e9;
    if (rounds < 0) return -1;
    st->draft_rounds = rounds;
    settle_drafts(s, sch, st);
    return s->n_seqs;
}

/* Adaptive length: one longer after a fully kept draft, one shorter after a rejection. */
static void adapt_k(struct spec *s, int req, int kept, int drafted)
{
    if (kept == drafted) s->cur_k[req]++;
    else if (s->cur_k[req] > 1) s->cur_k[req]--;
}

void spec_verify(struct spec *s, struct scheduler *sch, struct sampler *smp, const float *const *rows,
                 struct step_spec *st)
{
    for (int i = 0; i < s->n_seqs; i++) {
        struct spec_seq *sq = &s->seqs[i];
        struct sched_req *r = &sch->reqs[sq->req];
        smp->state = r->rng;
        sq->n_emit = spec_accept(smp, rows[i], s->vocab, sq->tokens + 1, sq->n_draft, sq->q_valid ? sq->q : NULL,
                                 s->p, s->w, sq->emit);
        r->rng = smp->state;
        int kept = sq->n_emit - 1;
        st->accepted += kept;
        st->emitted += sq->n_emit;
        for (int j = 0; j < kept; j++) st->accepted_at[j]++;
        adapt_k(s, sq->req, kept, sq->n_draft);
    }
}

void spec_observe(struct spec *s, const struct scheduler *sch)
{
    if (s->has_draft) SPEC_MODEL_DRAFTER.observe(s, sch);
}
