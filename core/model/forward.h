/* core/model/forward.h — the transformer as a sequence of backend ops.
 *
 * One call runs a batch of sequences through a range of layers: their new
 * tokens are concatenated into one activation matrix x[M][dim] so each weight
 * matrix is read once per step for all sequences (the point of batching);
 * attention runs per sequence over that sequence's KV view (paged or
 * contiguous). A stage (forward_stage) is layers [l0, l1) with the embedding
 * and/or the head only when asked, so a pipeline stage hands its hidden
 * state [M][dim] to the next; forward_batch is the stage over every layer
 * with both. */
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

/* The inputs of the linears, where an observer (calibration) sees them. The
 * q/k/v projections share one input, as do gate and up. */
enum fwd_tap {
    FWD_TAP_QKV,              /* attn_norm(x) [M][dim]: input of wq, wk, wv */
    FWD_TAP_O,                /* attention output [M][n_heads*head_dim]: input of wo */
    FWD_TAP_GATE_UP,          /* ffn_norm(x) [M][dim]: input of w_gate, w_up */
    FWD_TAP_DOWN,             /* silu(gate)*up [M][ffn_dim]: input of w_down */
    FWD_TAP_HEAD,             /* output_norm(x) [rows][dim]: input of the output head
                                 (layer = n_layers; only the rows that get logits) */
    FWD_TAP_COUNT
};

/* Called with host memory x [rows][cols] (a copy: the observer may not keep
 * it) for every tap of every layer the stage runs, in execution order. */
typedef void (*fwd_observer_fn)(void *user, int layer, enum fwd_tap tap, const float *x,
                                int rows, int cols);

struct forward {
    struct model *m;
    struct backend *be;
    enum attn_impl attn;
    int cap;                  /* max tokens per call */
    int l0, l1;               /* the layers this forward can run: [l0, l1); the KV views it is
                                 given hold l1 - l0 layers, model layer l at KV layer l - l0 */
    /* backend buffers, [cap][...]; logits only when l1 is the last layer */
    float *x, *xb, *xb2, *q, *k, *v, *att, *gate, *up, *logits;
    float **attn_norm, **ffn_norm, *output_norm;   /* backend copies of the norm weights,
                                                      [n_layers], set in [l0, l1) */
    const int *seq_ids;       /* [n_seqs] of the next call: the id its per-sequence attention records are
                                 tagged with (kernel_record.seq, a request id); NULL: the sequence's index */
    fwd_observer_fn observe;  /* NULL (the default): no taps, no copies, no cost */
    void *observe_user;
    float *observe_buf;       /* host [cap][max(dim, q dim, ffn_dim)], made on first use */
    int *pos;                 /* host [cap] */
    int32_t *tokens;          /* host [cap] */
    /* tensor parallelism (forward_set_tp; core/parallel/tp.h): m is this rank's
     * shard; NULL tp = the unsplit model */
    struct comm *tp;          /* the ranks of this layer range, this device among them */
    int tp_rank;
    bool sp;                  /* sequence parallel: the residual stream and the norms hold this
                                 rank's tokens only (comm_rows_lo split of M) */
    int vocab_lo, vocab_full; /* this rank's head rows: [vocab_lo, + m->output.rows) of vocab_full */
    float *gather;            /* tp rank 0 with the head: [cap][largest shard vocab] received shard */
    float *host_rows;         /* host, same shape */
    int resid_rows;           /* residual-stream rows this device held in the last call (M, or its
                                 share with sp): activation memory B×(S/N)×D */
    bool graphs;              /* allow the backend's step graphs for decode-only calls (cuda_graphs) */
};

/* What a stage does besides its layers. */
enum fwd_flags {
    FWD_EMBED = 1u << 0,      /* start from the token embeddings (else from `hidden`) */
    FWD_HEAD  = 1u << 1,      /* end with the final norm and the output head (else write `hidden`) */
    FWD_EARLY_EXIT = 1u << 2, /* with FWD_HEAD: the head may follow any layer l1 (a layer-skip self-draft,
                                 core/spec); the forward must reach the last layer (it owns the logits) */
    FWD_LOGITS_STAY = 1u << 3,/* with FWD_HEAD, not tensor-parallel: the logits stay in f->logits (backend
                                 memory; logits_out may be NULL) for forward_sample or
                                 forward_logits_download */
};

/* The whole model: forward_init_range(f, m, be, 0, n_layers, ...). */
int  forward_init(struct forward *f, struct model *m, struct backend *be, int max_tokens,
                  char *err, size_t errlen);
/* A forward over layers [l0, l1) of m on `be`, for up to max_tokens tokens
 * per call. 0 ok; -1 with a one-line message in err: out of memory, a bad
 * range, or a shape-only model (m->shapes_only: it has no weights to run) on
 * a backend that is not simulated (a simulated one never reads weights). */
int  forward_init_range(struct forward *f, struct model *m, struct backend *be, int l0, int l1,
                        int max_tokens, char *err, size_t errlen);
void forward_free(struct forward *f);

/* Make f one rank of a tensor-parallel group: f->m must be the rank's shard
 * (tp_shard_model) and its device a member of tp. Each layer then
 * all-reduces the attention and the MLP output (2 per layer), or with sp
 * all-gathers the normalized input before each block and reduce-scatters its
 * output (Megatron-SP); with the head, the vocabulary shards are gathered on
 * rank 0, the only rank that writes logits_out. 0 ok; -1 with a message (out
 * of memory). */
int  forward_set_tp(struct forward *f, struct comm *tp, bool sp, int vocab_lo, int vocab_full,
                    char *err, size_t errlen);

/* Run layers [l0, l1) (inside [f->l0, f->l1)) for one step's batch.
 * hidden (host, f32 [M][dim], M = the batch's tokens in sequence order): the
 * stage's input without FWD_EMBED, its output without FWD_HEAD; may be NULL
 * with both flags. FWD_EMBED needs l0 == 0, FWD_HEAD needs l1 == n_layers
 * (or FWD_EARLY_EXIT with f->l1 == n_layers: the head after layer l1 - 1).
 * With FWD_HEAD logits_out (host) receives [rows][vocab] where rows is the
 * sum over sequences of (all_logits ? n_tokens : 1), in sequence order, and
 * rows is returned; else M is returned (tensor-parallel ranks other than 0
 * leave logits_out alone; it may be NULL there). -1 when the batch is empty or over
 * the capacity, or the range/flags/hidden do not fit the forward. Marks
 * layer ranges in the kernel log (kernel_log.layer: the model layer). */
int  forward_stage(struct forward *f, int l0, int l1, unsigned flags, const struct fwd_seq *seqs,
                   int n_seqs, float *hidden, float *logits_out);

/* After a call with FWD_HEAD | FWD_LOGITS_STAY that returned rows: one token
 * per row into ids[rows] (host) by the backend's sample hook, with the rows'
 * uniforms u (host, read when sp->temperature > 0); only ids cross to the
 * host. -1 when the backend has no hook (backend_can_sample), f is
 * tensor-parallel or has no head, or the hook is out of memory. */
int  forward_sample(struct forward *f, int rows, const struct sample_params *sp, const double *u, int32_t *ids);
/* After such a call: its logits to the host, logits_out [rows][vocab]. */
void forward_logits_download(struct forward *f, float *logits_out, int rows);

/* Run one step through every layer: forward_stage(f, 0, n_layers,
 * FWD_EMBED | FWD_HEAD, seqs, n_seqs, NULL, logits_out). */
int  forward_batch(struct forward *f, const struct fwd_seq *seqs, int n_seqs, float *logits_out);

/* Number of logits rows forward_batch will produce. */
int  forward_rows(const struct fwd_seq *seqs, int n_seqs);

#endif
