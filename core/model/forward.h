/* core/model/forward.h — the transformer as a sequence of backend ops.
 *
 * One call runs a batch of sequences through every layer: their new tokens
 * are concatenated into one activation matrix x[M][dim] so each weight matrix
 * is read once per step for all sequences (the point of batching); attention
 * runs per sequence over that sequence's KV view (paged or contiguous). */
#ifndef INFERTOP_FORWARD_H
#define INFERTOP_FORWARD_H

#include "core/model/model.h"

/* One sequence's share of a step: tokens at positions pos0..pos0+n_tokens-1.
 * The caller has already reserved KV room for them in `kv`. */
struct fwd_seq {
    const int32_t *tokens;
    int n_tokens;
    int pos0;
    struct kv_view kv;
    bool all_logits;          /* logits for every new token (speculative verify); else the last */
    bool decode;              /* a decode token (else prefill/recompute): only names trace ranges */
};

struct forward {
    struct model *m;
    struct backend *be;
    enum attn_impl attn;
    int cap;                  /* max tokens per call */
    /* backend buffers, [cap][...] */
    float *x, *xb, *xb2, *q, *k, *v, *att, *gate, *up, *logits;
    float **attn_norm, **ffn_norm, *output_norm;   /* backend copies of the norm weights */
    const int *seq_ids;       /* [n_seqs] of the next call: the id its per-sequence attention records are
                                 tagged with (kernel_record.seq, a request id); NULL: the sequence's index */
    int *pos;                 /* host [cap] */
    int32_t *tokens;          /* host [cap] */
};

/* 0 ok; -1 out of memory (message in err). */
int  forward_init(struct forward *f, struct model *m, struct backend *be, int max_tokens,
                  char *err, size_t errlen);
void forward_free(struct forward *f);

/* Run one step. logits_out (host) receives [rows][vocab] where rows is the sum
 * over sequences of (all_logits ? n_tokens : 1), in sequence order. Returns
 * rows, or -1 when the batch exceeds the capacity. Marks layer ranges in the
 * kernel log (kernel_log.layer). */
int  forward_batch(struct forward *f, const struct fwd_seq *seqs, int n_seqs, float *logits_out);

/* Number of logits rows forward_batch will produce. */
int  forward_rows(const struct fwd_seq *seqs, int n_seqs);

#endif
