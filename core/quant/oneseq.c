/* core/quant/oneseq.c — see oneseq.h. */
#include "core/quant/oneseq.h"
#include "kernels/formats.h"

#include <stdio.h>
#include <string.h>

int oneseq_init(struct oneseq *s, struct model *m, struct backend *be, int ctx, enum dtype kv_type,
                enum attn_impl attn, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (kv_type != DT_F32 && kv_type != DT_F16) {
        snprintf(err, errlen, "oneseq: kv type %s: expected f32 or f16", dtype_info(kv_type)->name);
        return -1;
    }
    if (forward_init(&s->fw, m, be, ctx, err, errlen) < 0) return -1;
    s->fw.attn = attn;
    const struct model_config *c = &m->cfg;
    int kvd = c->n_kv_heads * c->head_dim;
    size_t elems = (size_t)c->n_layers * ctx * kvd, eb = kv_type == DT_F16 ? 2 : 4;
    s->k = backend_alloc(be, elems * eb);
    s->v = backend_alloc(be, elems * eb);
    if (!s->k || !s->v) {
        snprintf(err, errlen, "oneseq: out of memory for the KV of %d tokens (%zu MB)", ctx,
                 2 * elems * eb >> 20);
        oneseq_free(s);
        return -1;
    }
    s->ctx = ctx;
    s->kv = (struct kv_view){s->k, s->v, (size_t)ctx * kvd, s->table, 1, ctx, kvd, kv_type};
    return 0;
}

void oneseq_free(struct oneseq *s)
{
    struct backend *be = s->fw.be;
    if (be) {
        backend_free(be, s->k);
        backend_free(be, s->v);
    }
    forward_free(&s->fw);
    memset(s, 0, sizeof *s);
}

int oneseq_run(struct oneseq *s, const int32_t *tokens, int n, int pos0, bool all_logits,
               float *logits_out)
{
    if (n <= 0 || pos0 < 0 || pos0 + n > s->ctx) return -1;
    struct fwd_seq q = {tokens, n, pos0, s->kv, all_logits, false};
    return forward_batch(&s->fw, &q, 1, logits_out);
}
