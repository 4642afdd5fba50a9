/* core/model/forward.c — Llama forward pass over the backend vtable. */
#include "core/model/forward.h"
#include "kernels/comm.h"
#include "traces/nvtx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *buf(struct forward *f, size_t floats, bool *ok)
{
    float *p = backend_alloc(f->be, floats * sizeof(float));
    if (!p) *ok = false;
    return p;
}

static float *norm_copy(struct forward *f, const float *w, bool *ok)
{
    int dim = f->m->cfg.dim;
    float *p = buf(f, (size_t)dim, ok);
    if (p) backend_upload(f->be, p, w, (size_t)dim * sizeof(float));
    return p;
}

int forward_init(struct forward *f, struct model *m, struct backend *be, int max_tokens,
                 char *err, size_t errlen)
{
    return forward_init_range(f, m, be, 0, m->cfg.n_layers, max_tokens, err, errlen);
}

int forward_init_range(struct forward *f, struct model *m, struct backend *be, int l0, int l1,
                       int max_tokens, char *err, size_t errlen)
{
    const struct model_config *c = &m->cfg;
    memset(f, 0, sizeof *f);
    if (m->shapes_only && !be->simulated) {
        snprintf(err, errlen, "forward: %s has shapes only (no weight data); it can be planned or "
                 "simulated (--device sim:GPU), not run on %s", m->source, be->ops->name);
        return -1;
    }
    if (l0 < 0 || l1 <= l0 || l1 > c->n_layers || max_tokens <= 0) {
        snprintf(err, errlen, "forward: layers [%d, %d) for %d tokens; expected 0 <= l0 < l1 <= %d "
                 "and tokens > 0", l0, l1, max_tokens, c->n_layers);
        return -1;
    }
    f->m = m; f->be = be; f->cap = max_tokens; f->attn = ATTN_FLASH;
    f->l0 = l0; f->l1 = l1;
    bool head = l1 == c->n_layers;
    size_t T = (size_t)max_tokens, qd = (size_t)c->n_heads * c->head_dim,
           kvd = (size_t)c->n_kv_heads * c->head_dim;
    bool ok = true;
    f->x = buf(f, T * c->dim, &ok);     f->xb = buf(f, T * c->dim, &ok);
    f->xb2 = buf(f, T * c->dim, &ok);   f->q = buf(f, T * qd, &ok);
    f->k = buf(f, T * kvd, &ok);        f->v = buf(f, T * kvd, &ok);
    f->att = buf(f, T * qd, &ok);       f->gate = buf(f, T * c->ffn_dim, &ok);
    f->up = buf(f, T * c->ffn_dim, &ok);
    if (head) f->logits = buf(f, T * (size_t)m->output.rows, &ok);   /* a tp shard: its vocab rows */
    f->attn_norm = calloc((size_t)c->n_layers, sizeof *f->attn_norm);
    f->ffn_norm = calloc((size_t)c->n_layers, sizeof *f->ffn_norm);
    f->pos = malloc(T * sizeof *f->pos);
    f->tokens = malloc(T * sizeof *f->tokens);
    ok = ok && f->attn_norm && f->ffn_norm && f->pos && f->tokens;
    for (int l = l0; ok && l < l1; l++) {
        f->attn_norm[l] = norm_copy(f, m->layers[l].attn_norm, &ok);
        f->ffn_norm[l] = norm_copy(f, m->layers[l].ffn_norm, &ok);
    }
    if (ok && head) f->output_norm = norm_copy(f, m->output_norm, &ok);
    if (!ok) {
        forward_free(f);
        snprintf(err, errlen, "forward: out of memory for %d tokens of activations", max_tokens);
        return -1;
    }
    return 0;
}

void forward_free(struct forward *f)
{
    if (!f->be) return;
    float *bufs[] = {f->x, f->xb, f->xb2, f->q, f->k, f->v, f->att, f->gate, f->up, f->logits,
                     f->output_norm, f->gather};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) backend_free(f->be, bufs[i]);
    for (int l = 0; f->m && l < f->m->cfg.n_layers; l++) {
        if (f->attn_norm) backend_free(f->be, f->attn_norm[l]);
        if (f->ffn_norm) backend_free(f->be, f->ffn_norm[l]);
    }
    free(f->attn_norm); free(f->ffn_norm); free(f->pos); free(f->tokens); free(f->observe_buf);
    free(f->host_rows);
    memset(f, 0, sizeof *f);
}

int forward_set_tp(struct forward *f, struct comm *tp, bool sp, int vocab_lo, int vocab_full,
                   char *err, size_t errlen)
{
    f->tp = tp;
    f->tp_rank = comm_rank(tp, f->be);
    f->sp = sp;
    f->vocab_lo = vocab_lo;
    f->vocab_full = vocab_full;
    if (f->tp_rank < 0) {
        snprintf(err, errlen, "forward: device %d is not in its tensor-parallel group", f->be->device);
        return -1;
    }
    if (f->tp_rank != 0 || !f->logits) return 0;
    int n = comm_size(tp), widest = 0;
    for (int r = 0; r < n; r++) {
        int w = (int)(comm_rows_lo(vocab_full, n, r + 1) - comm_rows_lo(vocab_full, n, r));
        if (w > widest) widest = w;
    }
    size_t floats = (size_t)f->cap * (size_t)widest;
    f->gather = backend_alloc(f->be, floats * sizeof(float));
    f->host_rows = malloc(floats * sizeof(float));
    if (!f->gather || !f->host_rows) {
        snprintf(err, errlen, "forward: out of memory for the head's gather (%zu floats)", floats);
        return -1;
    }
    return 0;
}

/* Rows [lo, hi) of M that this device's residual stream holds: all of them
 * unless sequence parallel. */
static void resid_range(const struct forward *f, int M, int *lo, int *hi)
{
    if (f->tp && f->sp) {
        int n = comm_size(f->tp);
        *lo = (int)comm_rows_lo(M, n, f->tp_rank);
        *hi = (int)comm_rows_lo(M, n, f->tp_rank + 1);
    } else {
        *lo = 0;
        *hi = M;
    }
}

/* A block's normalized input, every row of M, into xb: with sp the local
 * rows are normalized (into xb2) and all-gathered. */
static void block_input(struct forward *f, const float *norm_w, int M)
{
    const struct model_config *c = &f->m->cfg;
    int lo, hi;
    resid_range(f, M, &lo, &hi);
    if (f->tp && f->sp) {
        backend_rmsnorm(f->be, f->xb2, f->x, norm_w, hi - lo, c->dim, c->norm_eps);
        nvtx_push(NR_COMM, (uint64_t)M * c->dim * sizeof(float));
        backend_all_gather(f->be, f->tp, f->xb, f->xb2, M, c->dim);
        nvtx_pop();
    } else {
        backend_rmsnorm(f->be, f->xb, f->x, norm_w, M, c->dim, c->norm_eps);
    }
}

/* x += the block's output xb2 [M][dim]: a partial sum on a tensor-parallel
 * rank, so all-reduced first (or reduce-scattered to this rank's rows with sp). */
static void block_output(struct forward *f, int M)
{
    const struct model_config *c = &f->m->cfg;
    int lo, hi;
    resid_range(f, M, &lo, &hi);
    if (f->tp && f->sp) {
        nvtx_push(NR_COMM, (uint64_t)M * c->dim * sizeof(float));
        backend_reduce_scatter(f->be, f->tp, f->xb, f->xb2, M, c->dim);
        nvtx_pop();
        backend_add(f->be, f->x, f->xb, (int64_t)(hi - lo) * c->dim);
    } else {
        if (f->tp) {          /* an NVTX comm range on this device's thread, like send/recv */
            nvtx_push(NR_COMM, (uint64_t)M * c->dim * sizeof(float));
            backend_all_reduce(f->be, f->tp, f->xb2, (int64_t)M * c->dim);
            nvtx_pop();
        }
        backend_add(f->be, f->x, f->xb2, (int64_t)M * c->dim);
    }
}

/* The residual's first rows, x [hi - lo][dim] = embeddings of tokens
 * [lo, hi). On a tensor-parallel rank the table is its vocabulary slice
 * (core/parallel/tp.h): every rank embeds all M tokens (zeros for the other
 * ranks' tokens) into xb2 [M][dim] and the sum over ranks is the lookup:
 * all-reduced into x, or with sp reduce-scattered to this rank's rows. */
static void embed_rows(struct forward *f, int M, int lo, int hi)
{
    const struct model_config *c = &f->m->cfg;
    if (!f->tp) {
        backend_embed(f->be, f->x, &f->m->tok_embd, f->tokens + lo, hi - lo);
        return;
    }
    backend_embed(f->be, f->sp ? f->xb2 : f->x, &f->m->tok_embd, f->tokens, M);
    nvtx_push(NR_COMM, (uint64_t)M * c->dim * sizeof(float));
    if (f->sp) backend_reduce_scatter(f->be, f->tp, f->x, f->xb2, M, c->dim);
    else backend_all_reduce(f->be, f->tp, f->x, (int64_t)M * c->dim);
    nvtx_pop();
}

int forward_rows(const struct fwd_seq *seqs, int n_seqs)
{
    int rows = 0;
    for (int s = 0; s < n_seqs; s++) rows += seqs[s].all_logits ? seqs[s].n_tokens : 1;
    return rows;
}

static void set_layer(struct backend *be, int layer)
{
    if (be->log) be->log->layer = layer;
}

/* Records made until the next call serve request `id` (-1: the whole batch). */
static void set_seq(struct backend *be, int id)
{
    if (be->log) be->log->seq = id;
}

/* Per-sequence attention of consecutive sequences of one kind runs inside one
 * "prefill" or "decode" range (payload: sequences in the group); this opens it
 * at the group's first sequence, the attention loop closes it at its last. */
static void mark_seq_group(const struct fwd_seq *seqs, int n_seqs, int s)
{
    if (s > 0 && seqs[s - 1].decode == seqs[s].decode) return;
    int n = 1;
    while (s + n < n_seqs && seqs[s + n].decode == seqs[s].decode) n++;
    nvtx_push(seqs[s].decode ? NR_DECODE : NR_PREFILL, (uint64_t)n);
}

/* Hand the observer a host copy of the linear input x [rows][cols] (backend
 * memory). Only when an observer is set; a failed scratch allocation skips
 * the tap rather than the forward (the observer then sees fewer rows). */
static void tap(struct forward *f, int layer, enum fwd_tap which, const float *x, int rows, int cols)
{
    if (!f->observe) return;
    const struct model_config *c = &f->m->cfg;
    if (!f->observe_buf) {
        int w = c->dim > c->ffn_dim ? c->dim : c->ffn_dim;
        if (c->n_heads * c->head_dim > w) w = c->n_heads * c->head_dim;
        f->observe_buf = malloc((size_t)f->cap * w * sizeof(float));
        if (!f->observe_buf) return;
    }
    backend_download(f->be, f->observe_buf, x, (size_t)rows * cols * sizeof(float));
    f->observe(f->observe_user, layer, which, f->observe_buf, rows, cols);
}

/* Attention block of layer l: x += Wo · attn(rope(Wq·n), rope(Wk·n), Wv·n). */
static void layer_attention(struct forward *f, int l, const struct fwd_seq *seqs, int n_seqs, int M)
{
    const struct model_config *c = &f->m->cfg;
    const struct layer_weights *L = &f->m->layers[l];
    struct backend *be = f->be;
    int qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    struct attn_shape sh = {c->n_heads, c->n_kv_heads, c->head_dim, 1.0f / sqrtf((float)c->head_dim)};

    block_input(f, f->attn_norm[l], M);
    tap(f, l, FWD_TAP_QKV, f->xb, M, c->dim);
    backend_matmul(be, f->q, &L->wq, f->xb, M);
    backend_matmul(be, f->k, &L->wk, f->xb, M);
    backend_matmul(be, f->v, &L->wv, f->xb, M);
    backend_rope(be, f->q, f->pos, M, c->n_heads, c->head_dim, &c->rope);
    backend_rope(be, f->k, f->pos, M, c->n_kv_heads, c->head_dim, &c->rope);
    for (int s = 0, row = 0; s < n_seqs; row += seqs[s].n_tokens, s++) {
        const struct fwd_seq *sq = &seqs[s];
        mark_seq_group(seqs, n_seqs, s);
        set_seq(be, f->seq_ids ? f->seq_ids[s] : s);
        backend_kv_store(be, &sq->kv, l - f->l0, sq->pos0, sq->n_tokens, f->k + (size_t)row * kvd,
                         f->v + (size_t)row * kvd);
        backend_attention(be, f->attn, f->att + (size_t)row * qd, f->q + (size_t)row * qd,
                          &sq->kv, l - f->l0, sq->n_tokens, sq->pos0, &sh);
        set_seq(be, -1);
        if (s + 1 == n_seqs || seqs[s + 1].decode != sq->decode) nvtx_pop();
    }
    tap(f, l, FWD_TAP_O, f->att, M, qd);
    backend_matmul(be, f->xb2, &L->wo, f->att, M);
    block_output(f, M);
}

/* MLP block: x += W_down · (silu(W_gate·n) ⊙ W_up·n). */
static void layer_mlp(struct forward *f, int l, int M)
{
    const struct model_config *c = &f->m->cfg;
    const struct layer_weights *L = &f->m->layers[l];
    struct backend *be = f->be;
    block_input(f, f->ffn_norm[l], M);
    tap(f, l, FWD_TAP_GATE_UP, f->xb, M, c->dim);
    backend_matmul(be, f->gate, &L->w_gate, f->xb, M);
    backend_matmul(be, f->up, &L->w_up, f->xb, M);
    backend_swiglu(be, f->gate, f->gate, f->up, (int64_t)M * c->ffn_dim);
    tap(f, l, FWD_TAP_DOWN, f->gate, M, c->ffn_dim);
    backend_matmul(be, f->xb2, &L->w_down, f->gate, M);
    block_output(f, M);
}

/* Place a [rows][w] vocabulary shard at columns [col, col + w) of
 * logits_out [rows][vocab_full], downloading it through host_rows. */
static void place_shard(struct forward *f, float *logits_out, const float *dev, int rows, int w, int col)
{
    backend_download(f->be, f->host_rows, dev, (size_t)rows * w * sizeof(float));
    for (int r = 0; r < rows; r++)
        memcpy(logits_out + (size_t)r * f->vocab_full + col, f->host_rows + (size_t)r * w, (size_t)w * sizeof(float));
}

/* Vocab-parallel head: every rank's [rows][its vocab] goes to rank 0 (send/
 * recv over the group), which assembles logits_out. */
static void gather_logits(struct forward *f, float *logits_out, int rows)
{
    int n = comm_size(f->tp), V = f->vocab_full;
    if (f->tp_rank != 0) {
        backend_send(f->be, f->tp, 0, f->logits, (int64_t)rows * f->m->output.rows);
        return;
    }
    place_shard(f, logits_out, f->logits, rows, f->m->output.rows, f->vocab_lo);
    for (int r = 1; r < n; r++) {
        int lo = (int)comm_rows_lo(V, n, r), w = (int)comm_rows_lo(V, n, r + 1) - lo;
        backend_recv(f->be, f->tp, r, f->gather, (int64_t)rows * w);
        place_shard(f, logits_out, f->gather, rows, w, lo);
    }
}

/* Final norm only on the rows of x [M][dim] that need logits, packed into xb,
 * then the head: f->logits [rows][vocab] (backend memory). Returns rows. */
static int stage_head(struct forward *f, const float *x, const struct fwd_seq *seqs, int n_seqs)
{
    const struct model_config *c = &f->m->cfg;
    struct backend *be = f->be;
    int rows = 0;
    for (int s = 0, row = 0; s < n_seqs; row += seqs[s].n_tokens, s++) {
        int first = seqs[s].all_logits ? 0 : seqs[s].n_tokens - 1;
        int n = seqs[s].n_tokens - first;
        backend_rmsnorm(be, f->xb + (size_t)rows * c->dim, x + (size_t)(row + first) * c->dim,
                        f->output_norm, n, c->dim, c->norm_eps);
        rows += n;
    }
    tap(f, c->n_layers, FWD_TAP_HEAD, f->xb, rows, c->dim);
    backend_matmul(be, f->logits, &f->m->output, f->xb, rows);
    return rows;
}

/* tp: the shards are gathered on rank 0 (a message from the other ranks). */
void forward_logits_download(struct forward *f, float *logits_out, int rows)
{
    if (f->tp) gather_logits(f, logits_out, rows);
    else backend_download(f->be, logits_out, f->logits, (size_t)rows * f->m->cfg.vocab * sizeof(float));
}

int forward_sample(struct forward *f, int rows, const struct sample_params *sp, const double *u, int32_t *ids)
{
    if (f->tp || !f->logits || !backend_can_sample(f->be)) return -1;
    return backend_sample(f->be, ids, f->logits, rows, f->m->cfg.vocab, sp, u);
}

/* Whether a stage call fits this forward (see forward_stage's contract). */
static bool stage_fits(const struct forward *f, int l0, int l1, unsigned flags, const float *hidden,
                       const float *logits_out, int M)
{
    int L = f->m->cfg.n_layers;
    if (M > f->cap || M == 0 || l0 < f->l0 || l1 > f->l1 || l1 < l0) return false;
    if ((flags & FWD_EMBED) ? l0 != 0 : !hidden) return false;
    bool head_here = l1 == L || ((flags & FWD_EARLY_EXIT) && f->l1 == L);   /* f->logits exists */
    bool writes_logits = (!f->tp || f->tp_rank == 0) && !(flags & FWD_LOGITS_STAY);  /* tp: rank 0 gathers */
    if ((flags & FWD_HEAD) ? !head_here || (writes_logits && !logits_out) : !hidden) return false;
    return !(flags & FWD_LOGITS_STAY) || ((flags & FWD_HEAD) && !f->tp);
}

/* The step's shape for the backend's step hooks: a graph only for a batch of
 * decode tokens with nothing the host must see between the ops (no observer
 * taps, no tensor-parallel messages) and graphs allowed. */
static struct step_shape step_shape_of(const struct forward *f, const struct fwd_seq *seqs, int n_seqs, int M)
{
    struct step_shape sh = {.n_seqs = n_seqs, .n_tokens = M, .graphs = f->graphs && !f->observe && !f->tp};
    for (int s = 0; s < n_seqs; s++) {
        sh.kv_blocks += seqs[s].kv.n_blocks;
        sh.graphs = sh.graphs && seqs[s].decode;
    }
    return sh;
}

/* Every device op of the stage, from the input rows to the head's logits or
 * the output rows in `*out`; no host copy but the input upload. Returns the
 * head's rows, or M. */
static int stage_ops(struct forward *f, int l0, int l1, unsigned flags, const struct fwd_seq *seqs, int n_seqs,
                     const float *hidden, int M, const float **out)
{
    const struct model_config *c = &f->m->cfg;
    struct backend *be = f->be;
    int lo, hi;
    resid_range(f, M, &lo, &hi);
    f->resid_rows = hi - lo;
    set_layer(be, -1);
    if (flags & FWD_EMBED) embed_rows(f, M, lo, hi);
    else backend_upload(be, f->x, hidden + (size_t)lo * c->dim, (size_t)(hi - lo) * c->dim * sizeof(float));
    for (int l = l0; l < l1; l++) {
        set_layer(be, l);
        nvtx_push(NR_LAYER, (uint64_t)l);
        nvtx_push(NR_ATTENTION, (uint64_t)l);
        layer_attention(f, l, seqs, n_seqs, M);
        nvtx_pop();
        nvtx_push(NR_MLP, (uint64_t)l);
        layer_mlp(f, l, M);
        nvtx_pop();
        nvtx_pop();
    }
    set_layer(be, -1);
    *out = f->x;
    if (f->tp && f->sp) {       /* every row again, for the head or the next stage */
        backend_all_gather(be, f->tp, f->xb2, f->x, M, c->dim);
        *out = f->xb2;
    }
    return (flags & FWD_HEAD) ? stage_head(f, *out, seqs, n_seqs) : M;
}

int forward_stage(struct forward *f, int l0, int l1, unsigned flags, const struct fwd_seq *seqs,
                  int n_seqs, float *hidden, float *logits_out)
{
    const struct model_config *c = &f->m->cfg;
    struct backend *be = f->be;
    int M = 0;
    for (int s = 0; s < n_seqs; s++) M += seqs[s].n_tokens;
    if (!stage_fits(f, l0, l1, flags, hidden, logits_out, M)) return -1;
    for (int s = 0, row = 0; s < n_seqs; s++)
        for (int i = 0; i < seqs[s].n_tokens; i++, row++) {
            f->tokens[row] = seqs[s].tokens[i];
            f->pos[row] = seqs[s].pos0 + i;
        }

    /* the ops between the step hooks may become one graph launch; a capture
     * that failed ran nothing, so they are issued again (its records dropped) */
    struct step_shape sh = step_shape_of(f, seqs, n_seqs, M);
    int n_recs = be->log ? be->log->n : 0, rows;
    const float *out;
    for (int attempt = 0;; attempt++) {
        backend_step_begin(be, &sh);
        rows = stage_ops(f, l0, l1, flags, seqs, n_seqs, hidden, M, &out);
        if (backend_step_end(be) == 0 || attempt > 0) break;
        if (be->log) be->log->n = n_recs;
    }
    if (!(flags & FWD_HEAD)) backend_download(be, hidden, out, (size_t)M * c->dim * sizeof(float));
    else if (!(flags & FWD_LOGITS_STAY)) forward_logits_download(f, logits_out, rows);
    return rows;
}

int forward_batch(struct forward *f, const struct fwd_seq *seqs, int n_seqs, float *logits_out)
{
    return forward_stage(f, 0, f->m->cfg.n_layers, FWD_EMBED | FWD_HEAD, seqs, n_seqs, NULL, logits_out);
}
