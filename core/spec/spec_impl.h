/* core/spec/spec_impl.h — private to core/spec: the drafter interface and
 * the state spec.c keeps. A drafter proposes up to seq.k tokens for each
 * sequence of a step (batched across them) and observes what was committed. */
#ifndef INFERTOP_SPEC_IMPL_H
#define INFERTOP_SPEC_IMPL_H

#include "core/spec/spec.h"

struct spec;

struct spec_drafter {
    const char *name;
    /* Propose: set seqs[i].n_draft (0..k) and tokens[1..n_draft]; with
     * sampling (smp->temperature > 0) a model drafter also fills q rows and
     * sets q_valid. Each request's rng lives in sch->reqs[].rng. Returns the
     * draft forward passes run, -1 when one failed. */
    int  (*propose)(struct spec *s, const struct options *o, struct spec_seq *seqs, int n,
                    struct scheduler *sch, struct sampler *smp);
    /* After the commit (optional). */
    void (*observe)(struct spec *s, const struct scheduler *sch);
};

extern const struct spec_drafter SPEC_NGRAM_DRAFTER, SPEC_LAYERSKIP_DRAFTER, SPEC_MODEL_DRAFTER;

/* A draft model's view of one request (scheduler index). */
struct spec_draft_req {
    bool live;                 /* admitted to the draft pool */
    uint64_t admit_order;      /* the target admission it follows (a preemption changes it) */
    int n_cached;              /* leading context tokens whose K/V the draft pool holds */
};

struct spec {
    struct spec_config cfg;
    int vocab;
    struct spec_seq *seqs;     /* [max_batch] */
    int n_seqs;
    int *seq_of_item;          /* [max_batch + 1] index into seqs, -1 */
    float *q_mem;              /* [max_batch][SPEC_MAX_K][vocab], allocated when first sampling */
    float *p, *w;              /* [vocab] scratch for the acceptance rule */
    int *cur_k;                /* [n_reqs] adaptive draft length */
    /* model drafters */
    struct model_instance draft;       /* spec=draft: the second model (own KV pool) */
    bool has_draft;
    struct spec_draft_req *dreq;       /* [n_reqs] */
    struct kernel_log ls_log;          /* layerskip: its records, tagged KROLE_DRAFT */
    struct fwd_seq *fseqs;             /* [max_batch] one draft round */
    int *fseq_of;                      /* [max_batch] the seq each fseq drafts for */
    int *seq_ids;                      /* [max_batch] request ids of a round (kernel seq tags) */
    int *done;                         /* [max_batch] a catch-up chunk reached the context's end */
    int32_t *feed;                     /* [max_batch] the token each seq feeds in a round */
    float *logits;                     /* [max(max_batch, ...)][vocab] one round's rows */
    int logits_rows;
};

/* Pick the drafted token from a draft's logits row: argmax when greedy,
 * else a draw from the sampler's distribution, kept in q_row [vocab]. */
int32_t spec_pick_draft(struct sampler *smp, const float *row, float *q_row);

#endif
