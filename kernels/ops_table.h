/* kernels/ops_table.h — THE list of backend compute ops, written once.
 *
 * Each entry is  X(ID, name, class, (parameters after `be`), (arguments))
 *
 * and kernels/backend.h expands the list into
 *   - enum backend_op:        ID                     (OP_MATMUL, ...)
 *   - a struct backend_ops slot:   void (*name)(struct backend *be, parameters...);
 *   - a dispatcher:           void backend_<name>(struct backend *be, parameters...);
 * kernels/backend.c expands it into the dispatchers' bodies: run the backend's
 * slot, time it, and fill the op's kernel record with record_<name>() (record
 * name, shapes, modeled bytes and FLOPs from kernels/cost.c).
 *
 * Adding an op (say all_reduce) is:
 *   1. one entry below, with its contract as a comment (shapes as [rows][cols]);
 *   2. record_all_reduce() in kernels/backend.c (name, shapes, cost);
 *   3. in each backend that runs it: the function, `.all_reduce = fn` in its
 *      backend_ops, and its answer in supports(). A backend that leaves the
 *      slot NULL answers "no" to backend_supports() for the op; calling the
 *      dispatcher anyway exits with a message naming the op and backend.
 *
 * What `dtype` means in backend_supports(be, op, dtype):
 *   matmul, embed       the weight's format (w->type, emb->type)
 *   attention, kv_store the K/V cache format (kv->kv_type: f32 or f16)
 *   everything else     the activation format: f32 is the only one today
 *
 * Non-compute slots (alloc, upload, sync, ...) are not ops: no record, no
 * entry here; they are written out in struct backend_ops. */
#ifndef INFERTOP_OPS_TABLE_H
#define INFERTOP_OPS_TABLE_H

/* clang-format off */
#define BACKEND_OP_LIST(X)                                                                         \
    /* y[m][w->rows] = x[m][w->cols] · Wᵀ */                                                       \
    X(OP_MATMUL, matmul, OPC_MATMUL,                                                               \
      (float *y, const struct weight *w, const float *x, int m),                                   \
      (y, w, x, m))                                                                                \
    /* Causal attention for n_q new tokens at positions pos0..pos0+n_q-1 of one sequence whose    \
     * K/V for positions 0..pos0+n_q-1 are already in `kv`. q, out: [n_q][n_heads*head_dim] */     \
    X(OP_ATTENTION, attention, OPC_ATTN,                                                           \
      (enum attn_impl impl, float *out, const float *q, const struct kv_view *kv, int layer,      \
       int n_q, int pos0, const struct attn_shape *sh),                                            \
      (impl, out, q, kv, layer, n_q, pos0, sh))                                                    \
    /* Store k, v [n][kv_dim] as tokens pos0..pos0+n-1 of `layer` in `kv` */                       \
    X(OP_KV_STORE, kv_store, OPC_COPY,                                                             \
      (const struct kv_view *kv, int layer, int pos0, int n, const float *k, const float *v),     \
      (kv, layer, pos0, n, k, v))                                                                  \
    /* y[m][n] = x[m][n] / rms(x row) * w[n] */                                                    \
    X(OP_RMSNORM, rmsnorm, OPC_NORM,                                                               \
      (float *y, const float *x, const float *w, int m, int n, float eps),                         \
      (y, x, w, m, n, eps))                                                                        \
    /* Rotate adjacent pairs (2i, 2i+1) of each head by pos[row] * freq_i, the layout of GGUF     \
     * Llama weights (llama.cpp's "normal" rope). x: [m][n_heads*head_dim], pos: [m] */            \
    X(OP_ROPE, rope, OPC_ELTWISE,                                                                  \
      (float *x, const int *pos, int m, int n_heads, int head_dim, const struct rope_params *rp), \
      (x, pos, m, n_heads, head_dim, rp))                                                          \
    /* out[i] = silu(gate[i]) * up[i], i < n */                                                    \
    X(OP_SWIGLU, swiglu, OPC_ELTWISE,                                                              \
      (float *out, const float *gate, const float *up, int64_t n),                                 \
      (out, gate, up, n))                                                                          \
    /* y[i] += x[i], i < n */                                                                      \
    X(OP_ADD, add, OPC_ELTWISE,                                                                    \
      (float *y, const float *x, int64_t n),                                                       \
      (y, x, n))                                                                                   \
    /* out[m][emb->cols] = rows tokens[i] of emb (any dtype, dequantized); a row shard of a table  \
     * (SHARD_ROWS, a vocab-parallel embedding) gives row tokens[i] - shard_offset, and zeros for   \
     * the tokens outside its rows (the other ranks' rows: summed over ranks, the full lookup) */ \
    X(OP_EMBED, embed, OPC_EMBED,                                                                  \
      (float *out, const struct weight *emb, const int *tokens, int m),                            \
      (out, emb, tokens, m))                                                                       \
    /* Communication (kernels/comm.h): every rank of communicator c calls the op from its own     \
     * thread; it returns when this rank's result is in place. buf[n] on every rank becomes the   \
     * element-wise sum over ranks */                                                              \
    X(OP_ALL_REDUCE, all_reduce, OPC_COMM,                                                         \
      (struct comm *c, float *buf, int64_t n),                                                     \
      (c, buf, n))                                                                                 \
    /* out[rows][row_elems] on every rank = each rank's in[rows_r][row_elems] at its rows          \
     * [comm_rows_lo(rows, size, r), comm_rows_lo(rows, size, r + 1)) */                           \
    X(OP_ALL_GATHER, all_gather, OPC_COMM,                                                         \
      (struct comm *c, float *out, const float *in, int64_t rows, int64_t row_elems),              \
      (c, out, in, rows, row_elems))                                                               \
    /* out[rows_r][row_elems] = rank r's rows of the sum over ranks of in[rows][row_elems]; in is  \
     * overwritten (it accumulates) */                                                             \
    X(OP_REDUCE_SCATTER, reduce_scatter, OPC_COMM,                                                 \
      (struct comm *c, float *out, float *in, int64_t rows, int64_t row_elems),                    \
      (c, out, in, rows, row_elems))                                                               \
    /* buf[n] to rank `peer` of c (returns once the bytes left this device) */                     \
    X(OP_SEND, send, OPC_COMM,                                                                     \
      (struct comm *c, int peer, const float *buf, int64_t n),                                     \
      (c, peer, buf, n))                                                                           \
    /* buf[n] = the oldest message from rank `peer` of c (waits for it) */                         \
    X(OP_RECV, recv, OPC_COMM,                                                                     \
      (struct comm *c, int peer, float *buf, int64_t n),                                           \
      (c, peer, buf, n))
/* clang-format on */

/* Helpers to expand an entry: prepend the backend (or the record) to the
 * parenthesized parameter and argument lists. `void (*f) BACKEND_OP_PARAMS P;`
 * becomes `void (*f)(struct backend *be, float *y, ...);`. */
#define BACKEND_OP_PARAMS(...) (struct backend *be, __VA_ARGS__)
#define BACKEND_OP_ARGS(...)   (be, __VA_ARGS__)

#endif
