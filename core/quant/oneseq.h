/* core/quant/oneseq.h — one sequence through a model, outside the engine:
 * a forward over every layer and a contiguous KV of ctx tokens on the same
 * backend. What eval and calibration use: they need every position's logits
 * (or linear inputs) of one text chunk, not scheduling.
 *
 * KV: k, v [n_layers][ctx][kv_dim] of kv_type (DT_F32 or DT_F16), backend
 * memory; one view with block_size = ctx. */
#ifndef INFERTOP_ONESEQ_H
#define INFERTOP_ONESEQ_H

#include "core/model/forward.h"

struct oneseq {
    struct forward fw;
    void *k, *v;
    int32_t table[1];
    struct kv_view kv;
    int ctx;
};

/* Forward + KV for up to ctx tokens of one sequence on `be` (m's weights
 * already uploaded there). 0; -1 with one line in err (out of memory, a
 * shape-only model, kv_type not f32/f16). */
int  oneseq_init(struct oneseq *s, struct model *m, struct backend *be, int ctx, enum dtype kv_type,
                 enum attn_impl attn, char *err, size_t errlen);
void oneseq_free(struct oneseq *s);

/* Run tokens[0..n) at positions pos0.. (positions before pos0 must have been
 * run by earlier calls: their K/V are in the cache). all_logits: logits_out
 * gets [n][vocab], else [1][vocab] (the last token). Returns the rows, or -1
 * when pos0 + n > ctx or n > ctx. */
int  oneseq_run(struct oneseq *s, const int32_t *tokens, int n, int pos0, bool all_logits,
                float *logits_out);

#endif
