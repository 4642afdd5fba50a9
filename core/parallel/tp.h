/* core/parallel/tp.h — the Megatron tensor split of a model over tp ranks.
 *
 * Rank r of tp gets a shard model: the same config except n_heads,
 * n_kv_heads and ffn_dim (its share), and weights that are zero-copy views
 * (weight_shard, kernels/backend.h) into the full model's:
 *   wq, wk, wv   rows: its heads (column-parallel: output features);
 *                KV heads are split, each rank keeping whole GQA groups (its
 *                query heads are the ones its KV heads serve); with more ranks
 *                than KV heads each rank takes n_heads/tp query heads of one
 *                group and that group's KV head (replicated, as Megatron does);
 *   wo           columns: the same heads (row-parallel: input features);
 *   w_gate, w_up rows: its slice of the ffn features;
 *   w_down       columns: the same slice (block formats keep whole blocks);
 *   output       rows: its slice of the vocabulary (vocab-parallel head);
 *   tok_embd     rows: the same slice of the vocabulary (vocab-parallel
 *                embedding: a rank's lookup gives zeros for tokens outside its
 *                rows, and the forward sums the ranks' rows with one all-reduce,
 *                or reduce-scatters them to each rank's tokens with sp).
 * The forward (core/model/forward.h, f->tp) then all-reduces the partial sums
 * after wo and after w_down: 2 per layer (and the embedding rows once per
 * forward on the first stage). Splits are as even as the units
 * allow (comm_rows_lo): odd counts give the first ranks one unit less. */
#ifndef INFERTOP_TP_H
#define INFERTOP_TP_H

#include "core/model/model.h"

/* Rank r's share, in the full model's units. */
struct tp_split {
    int q_lo, q_hi;           /* query heads [q_lo, q_hi) */
    int kv_lo, kv_hi;         /* KV heads */
    int ffn_lo, ffn_hi;       /* ffn features */
    int vocab_lo, vocab_hi;   /* output rows */
};

/* The split of m over tp ranks for `rank`. 0 ok; -1 with a one-line message
 * naming the shape and what tp it allows. */
int  tp_split_of(const struct model *m, int tp, int rank, struct tp_split *out, char *err, size_t errlen);

/* *dst = rank's shard of src (views; src must outlive dst). tp == 1 gives a
 * model of views over the whole tensors. 0 ok; -1 with a message. */
int  tp_shard_model(struct model *dst, const struct model *src, int tp, int rank, char *err, size_t errlen);
/* Free what tp_shard_model allocated (not the viewed weights). */
void tp_shard_free(struct model *dst);

/* Bytes of rank's weights over layers [l0, l1) (+ the embedding table when
 * l0 == 0, + the head and final norm when l1 == n_layers): what a device
 * holds. */
double tp_weight_bytes(const struct model *shard, int l0, int l1);

#endif
