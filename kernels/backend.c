/* kernels/backend.c — dispatchers: run an op through the vtable and log its
 * kernel record (measured wall time on synchronous backends, modeled bytes). */
#include "kernels/backend.h"
#include "kernels/comm.h"
#include "kernels/cost.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

size_t weight_bytes(const struct weight *w)
{
    return (size_t)w->rows * dtype_row_bytes(w->type, w->cols);
}

size_t weight_row_stride(const struct weight *w)
{
    return w->row_stride ? w->row_stride : dtype_row_bytes(w->type, w->cols);
}

bool weight_is_dense(const struct weight *w)
{
    return weight_row_stride(w) == dtype_row_bytes(w->type, w->cols);
}

int weight_shard(struct weight *dst, const struct weight *src, enum shard_dim dim, int offset,
                 int count, char *err, size_t errlen)
{
    const struct dtype_info *di = dtype_info(src->type);
    int extent = dim == SHARD_ROWS ? src->rows : src->cols;
    if (src->shard_dim != SHARD_NONE || (dim != SHARD_ROWS && dim != SHARD_COLS)) {
        snprintf(err, errlen, "weight %s: shard of a shard or of no dimension; expected a whole "
                 "tensor split by rows or columns", src->name);
        return -1;
    }
    if (offset < 0 || count <= 0 || offset > extent - count) {
        snprintf(err, errlen, "weight %s: %s [%d, %d) out of range; expected within [0, %d)", src->name,
                 dim == SHARD_ROWS ? "rows" : "cols", offset, offset + count, extent);
        return -1;
    }
    if (dim == SHARD_COLS && di->row_extra) {
        snprintf(err, errlen, "weight %s: %s rows start with a per-row scale; expected a row split "
                 "(cols of a %s weight cannot be sliced in place)", src->name, di->name, di->name);
        return -1;
    }
    if (dim == SHARD_COLS && (offset % di->block_elems || count % di->block_elems)) {
        snprintf(err, errlen, "weight %s: cols [%d, %d) split a %s block; expected multiples of %d",
                 src->name, offset, offset + count, di->name, di->block_elems);
        return -1;
    }
    size_t stride = weight_row_stride(src);
    *dst = *src;
    dst->dev = NULL;
    dst->row_stride = stride;
    dst->shard_dim = dim;
    dst->shard_offset = offset;
    dst->full_rows = src->rows;
    dst->full_cols = src->cols;
    size_t skip = dim == SHARD_ROWS ? (size_t)offset * stride : dtype_row_bytes(src->type, offset);
    if (dim == SHARD_ROWS) dst->rows = count; else dst->cols = count;
    if (src->data) dst->data = (uint8_t *)src->data + skip;
    snprintf(dst->name, sizeof dst->name, "%.32s[%c%d:%d]", src->name, dim == SHARD_ROWS ? 'r' : 'c',
             offset, offset + count);
    return 0;
}

/* ---- kernel log ---- */

const char *op_class_name(enum op_class c)
{
    static const char *N[OPC_COUNT] = {"matmul", "attention", "norm", "eltwise", "embed", "copy", "comm"};
    return c < OPC_COUNT ? N[c] : "?";
}

void kernel_log_init(struct kernel_log *log, int cap)
{
    memset(log, 0, sizeof *log);
    log->recs = calloc((size_t)cap, sizeof *log->recs);
    log->cap = log->recs ? cap : 0;
    log->layer = -1;
    log->seq = -1;
    log->enabled = true;
}

void kernel_log_set_instance(struct kernel_log *log, enum kernel_role role, int device, int stage)
{
    log->role = role;
    log->device = device;
    log->stage = stage;
}

const char *kernel_role_name(enum kernel_role r)
{
    static const char *N[KROLE_COUNT] = {"target", "draft"};
    return (unsigned)r < KROLE_COUNT ? N[r] : "?";
}

void kernel_log_free(struct kernel_log *log) { free(log->recs); memset(log, 0, sizeof *log); }
void kernel_log_clear(struct kernel_log *log) { log->n = 0; }

/* Returns a zeroed record to fill, or a scratch one when logging is off/full.
 * The record is appended before the op runs: the CUDA backend's timing reads
 * the log's last record while the op launches. */
static struct kernel_record *rec_begin(struct backend *be, enum op_class cls)
{
    static _Thread_local struct kernel_record scratch;
    struct kernel_log *log = be->log;
    struct kernel_record *r = &scratch;
    if (log && log->enabled) {
        if (log->n == log->cap) {
            int cap = log->cap ? log->cap * 2 : 256;
            struct kernel_record *nr = realloc(log->recs, (size_t)cap * sizeof *nr);
            if (nr) { log->recs = nr; log->cap = cap; }
        }
        if (log->n < log->cap) r = &log->recs[log->n++];
    }
    memset(r, 0, sizeof *r);
    r->cls = cls;
    r->layer = (int16_t)(log ? log->layer : -1);
    r->seq = log ? log->seq : -1;
    r->role = (int8_t)(log ? log->role : KROLE_TARGET);
    r->device = (int8_t)(log ? log->device : 0);
    r->stage = (int16_t)(log ? log->stage : 0);
    r->t_start_ns = now_ns();
    return r;
}

static void rec_end(struct backend *be, struct kernel_record *r)
{
    r->dur_measured = !be->ops->async;
    r->dur_ns = r->dur_measured ? now_ns() - r->t_start_ns : 0;
}

/* A simulated backend's record: placed on its timeline, lasting what the
 * backend's model says (from the record's modeled cost, filled by now). */
static void rec_simulate(struct backend *be, struct kernel_record *r)
{
    r->t_start_ns = be->sim_ns;
    r->dur_ns = be->ops->modeled_ns(be, r);
    r->dur_measured = true;          /* filled (simulated: be->simulated says so) */
    be->sim_ns += r->dur_ns;
}

/* ---- op ids ---- */

const char *backend_op_name(enum backend_op op)
{
    static const char *const NAMES[OP_COUNT] = {
#define OP_NAME(id, name, cls, params, args) [id] = #name,
        BACKEND_OP_LIST(OP_NAME)
#undef OP_NAME
    };
    return (unsigned)op < OP_COUNT ? NAMES[op] : "?";
}

/* Whether be's backend_ops has a function in op's slot. */
static bool has_slot(const struct backend_ops *o, enum backend_op op)
{
    switch (op) {
#define OP_HAS_SLOT(id, name, cls, params, args) case id: return o->name != NULL;
    BACKEND_OP_LIST(OP_HAS_SLOT)
#undef OP_HAS_SLOT
    case OP_COUNT: break;
    }
    return false;
}

bool backend_supports(struct backend *be, enum backend_op op, enum dtype t)
{
    if ((unsigned)t >= DT_COUNT || !has_slot(be->ops, op)) return false;
    return be->ops->supports ? be->ops->supports(be, op, t) : true;
}

/* ---- memory and weights ---- */

void *backend_alloc(struct backend *be, size_t bytes) { return be->ops->alloc(be, bytes); }
void  backend_free(struct backend *be, void *p) { if (p) be->ops->free(be, p); }

static void note(struct backend *be, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct backend *be, const char *fmt, ...)
{
    if (!be->note) return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    be->note(be->note_user, line);
}

/* What a weight the backend cannot multiply in its own format becomes: f16
 * (half the bytes of f32, what cuBLAS runs fastest), else f32. -1: neither. */
static int conversion_target(struct backend *be)
{
    if (backend_supports(be, OP_MATMUL, DT_F16) && backend_supports(be, OP_EMBED, DT_F16)) return DT_F16;
    if (backend_supports(be, OP_MATMUL, DT_F32) && backend_supports(be, OP_EMBED, DT_F32)) return DT_F32;
    return -1;
}

/* w's rows decoded from w->type and re-encoded in `to`:
 * [w->rows][dtype_row_bytes(to, w->cols)], malloc'd; NULL when out of memory. */
static void *convert_rows(const struct weight *w, enum dtype to)
{
    size_t in_row = weight_row_stride(w), out_row = dtype_row_bytes(to, w->cols);
    char *out = malloc(out_row * (size_t)w->rows);
    float *row = malloc(sizeof *row * (size_t)w->cols);
    if (!out || !row) { free(out); free(row); return NULL; }
    for (int r = 0; r < w->rows; r++) {
        dtype_decode_row(w->type, (const char *)w->data + (size_t)r * in_row, row, w->cols);
        dtype_encode_row(to, row, out + (size_t)r * out_row, w->cols);
    }
    free(row);
    return out;
}

/* Copy host bytes `c->data` (format c->type) to the backend: its
 * upload_weight when it has one, else backend memory + upload (a backend that
 * reads weights in place still needs somewhere to keep a converted copy). */
static int copy_to_backend(struct backend *be, struct weight *c)
{
    if (be->ops->upload_weight) return be->ops->upload_weight(be, c);
    size_t bytes = weight_bytes(c);
    c->dev = be->ops->alloc(be, bytes);
    if (!c->dev) return -1;
    be->ops->upload(be, c->dev, c->data, bytes);
    return 0;
}

_Static_assert(DT_COUNT <= 32, "backend.noted_formats has one bit per dtype");

static int upload_converted(struct backend *be, struct weight *w)
{
    const char *from = dtype_info(w->type)->name;
    int to = conversion_target(be);
    if (to < 0 || !w->data) {
        note(be, "%s: cannot run %s weights and has no f16/f32 path for %s", be->ops->name, from,
             w->name);
        return -1;
    }
    struct weight c = *w;
    c.type = (enum dtype)to;
    c.dev = NULL;
    c.row_stride = 0;                   /* the converted rows are dense */
    c.data = convert_rows(w, c.type);
    int rc = c.data ? copy_to_backend(be, &c) : -1;
    free(c.data);
    if (rc != 0) {
        note(be, "%s: no memory to convert %s (%s, %dx%d) to %s", be->ops->name, w->name, from,
             w->rows, w->cols, dtype_info(c.type)->name);
        return -1;
    }
    w->dev = c.dev;
    w->dev_type = c.type;
    if (!(be->noted_formats & (1u << w->type))) {
        be->noted_formats |= 1u << w->type;
        note(be, "%s: no %s matmul; %s weights are converted to %s on upload (first: %s, %dx%d)",
             be->ops->name, from, from, dtype_info(c.type)->name, w->name, w->rows, w->cols);
    }
    return 0;
}

int backend_upload_weight(struct backend *be, struct weight *w)
{
    if (!backend_supports(be, OP_MATMUL, w->type) || !backend_supports(be, OP_EMBED, w->type))
        return upload_converted(be, w);
    w->dev_type = w->type;
    return be->ops->upload_weight ? be->ops->upload_weight(be, w) : 0;
}

void backend_free_weight(struct backend *be, struct weight *w)
{
    backend_free(be, w->dev);
    w->dev = NULL;
}

void backend_upload(struct backend *be, void *dst, const void *src, size_t bytes)
{
    be->ops->upload(be, dst, src, bytes);
}

void backend_download(struct backend *be, void *dst, const void *src, size_t bytes)
{
    be->ops->download(be, dst, src, bytes);
}

/* ---- kernel records per op: name, shapes, modeled cost (kernels/cost.c) ----
 * record_<op>(r, the op's parameters) runs after the op; one per entry of
 * kernels/ops_table.h. */

static void record_matmul(struct kernel_record *r, float *y, const struct weight *w,
                          const float *x, int m)
{
    (void)y; (void)x;
    snprintf(r->name, sizeof r->name, "matmul_%s", dtype_info(weight_run_type(w))->name);
    cost_matmul(r, w, m);
}

static void record_attention(struct kernel_record *r, enum attn_impl impl, float *out,
                             const float *q, const struct kv_view *kv, int layer, int n_q,
                             int pos0, const struct attn_shape *sh)
{
    (void)out; (void)q; (void)layer;
    bool paged = kv->n_blocks > 1;
    snprintf(r->name, sizeof r->name, "%s",
             impl == ATTN_NAIVE ? (paged ? "attn_naive_paged" : "attn_naive")
                                : (paged ? "attn_flash_paged" : "attn_flash"));
    cost_attention(r, impl, kv, n_q, pos0, sh);
}

static void record_kv_store(struct kernel_record *r, const struct kv_view *kv, int layer,
                            int pos0, int n, const float *k, const float *v)
{
    (void)layer; (void)pos0; (void)k; (void)v;
    snprintf(r->name, sizeof r->name, "kv_store");
    cost_eltwise(r, 2.0 * n * kv->kv_dim, 1, 1, 0);
    r->dram_wr *= kv_elem_bytes(kv) / 4.0;   /* f16 cache: 2 bytes written per element */
}

static void record_rmsnorm(struct kernel_record *r, float *y, const float *x, const float *w,
                           int m, int n, float eps)
{
    (void)y; (void)x; (void)w; (void)eps;
    snprintf(r->name, sizeof r->name, "rmsnorm");
    cost_eltwise(r, (double)m * n, 1, 1, 4);
    r->dram_rd += 4.0 * n;                   /* the norm weight w[n] */
}

static void record_rope(struct kernel_record *r, float *x, const int *pos, int m, int n_heads,
                        int head_dim, const struct rope_params *rp)
{
    (void)x; (void)pos; (void)rp;
    snprintf(r->name, sizeof r->name, "rope");
    cost_eltwise(r, (double)m * n_heads * head_dim, 1, 1, 3);
    r->shape[1] = m; r->shape[2] = n_heads; r->shape[3] = head_dim;   /* {elems, tokens, heads, head_dim} */
}

static void record_swiglu(struct kernel_record *r, float *out, const float *gate,
                          const float *up, int64_t n)
{
    (void)out; (void)gate; (void)up;
    snprintf(r->name, sizeof r->name, "swiglu");
    cost_eltwise(r, (double)n, 2, 1, 6);
}

static void record_add(struct kernel_record *r, float *y, const float *x, int64_t n)
{
    (void)y; (void)x;
    snprintf(r->name, sizeof r->name, "add");
    cost_eltwise(r, (double)n, 2, 1, 1);
}

static void record_embed(struct kernel_record *r, float *out, const struct weight *emb,
                         const int *tokens, int m)
{
    (void)out; (void)tokens;
    snprintf(r->name, sizeof r->name, "embed");
    cost_eltwise(r, (double)m * emb->cols, 0, 1, 0);
    r->dram_rd = (double)m * dtype_row_bytes(weight_run_type(emb), emb->cols);
}

/* Comm records: shape {elements, ranks}; dram_rd = bytes this rank received
 * over the link, dram_wr = the same bytes landing in its memory (computed
 * from the algorithm: exact counts, not counters); flops = the additions. */
static void record_comm(struct kernel_record *r, const struct comm *c, const char *op, int64_t elems,
                        double bytes, double adds)
{
    snprintf(r->name, sizeof r->name, "%s_%s", op, comm_algo_name(c));
    r->shape[0] = elems;
    r->shape[1] = comm_size(c);
    r->dram_rd = r->dram_wr = bytes;
    r->flops = adds;
}

static void record_all_reduce(struct kernel_record *r, struct comm *c, float *buf, int64_t n)
{
    (void)buf;
    int N = comm_size(c);
    record_comm(r, c, "allreduce", n, comm_bytes_all_reduce(N, n), N > 1 ? (double)(N - 1) / N * n : 0);
}

static void record_all_gather(struct kernel_record *r, struct comm *c, float *out, const float *in,
                              int64_t rows, int64_t row_elems)
{
    (void)out; (void)in;
    record_comm(r, c, "allgather", rows * row_elems, comm_bytes_gather_scatter(comm_size(c), rows * row_elems), 0);
}

static void record_reduce_scatter(struct kernel_record *r, struct comm *c, float *out, float *in,
                                  int64_t rows, int64_t row_elems)
{
    (void)out; (void)in;
    int N = comm_size(c);
    double b = comm_bytes_gather_scatter(N, rows * row_elems);
    record_comm(r, c, "reducescatter", rows * row_elems, b, b / sizeof(float));
}

static void record_send(struct kernel_record *r, struct comm *c, int peer, const float *buf, int64_t n)
{
    (void)buf;
    record_comm(r, c, "send", n, (double)n * sizeof(float), 0);
    r->shape[2] = peer;
}

static void record_recv(struct kernel_record *r, struct comm *c, int peer, float *buf, int64_t n)
{
    (void)buf;
    record_comm(r, c, "recv", n, (double)n * sizeof(float), 0);
    r->shape[2] = peer;
}

/* ---- dispatchers, one per entry of kernels/ops_table.h ---- */

/* A dispatcher called for an op the backend has no slot for: a programming
 * error (callers ask backend_supports first), so it stops here by name
 * rather than jumping through NULL. */
static void missing_op(struct backend *be, const char *op)
{
    fprintf(stderr, "infertop: backend %s has no %s op (check backend_supports first)\n",
            be->ops->name, op);
    abort();
}

#define REC_ARGS(...) (r, __VA_ARGS__)
#define DEFINE_DISPATCHER(id, name, cls, params, args)                \
    void backend_##name BACKEND_OP_PARAMS params                      \
    {                                                                 \
        if (!be->ops->name) missing_op(be, #name);                    \
        struct kernel_record *r = rec_begin(be, cls);                 \
        be->ops->name BACKEND_OP_ARGS args;                           \
        rec_end(be, r);                                               \
        record_##name REC_ARGS args;                                  \
        if (be->ops->modeled_ns) rec_simulate(be, r);                 \
    }
BACKEND_OP_LIST(DEFINE_DISPATCHER)
#undef DEFINE_DISPATCHER
#undef REC_ARGS

bool backend_can_sample(const struct backend *be) { return be->ops->sample != NULL; }

int backend_sample(struct backend *be, int32_t *ids, const float *logits, int rows, int vocab,
                   const struct sample_params *sp, const double *u)
{
    return be->ops->sample(be, ids, logits, rows, vocab, sp, u);
}

void backend_step_begin(struct backend *be, const struct step_shape *sh)
{
    if (be->ops->step_begin) be->ops->step_begin(be, sh);
}

int backend_step_end(struct backend *be) { return be->ops->step_end ? be->ops->step_end(be) : 0; }

bool backend_graph_counts(struct backend *be, struct graph_counts *out)
{
    memset(out, 0, sizeof *out);
    if (!be->ops->graph_counts) return false;
    be->ops->graph_counts(be, out);
    return true;
}

void backend_sync(struct backend *be) { if (be->ops->sync) be->ops->sync(be); }

uint64_t backend_now_ns(const struct backend *be) { return be->simulated ? be->sim_ns : now_ns(); }

void backend_clock_start(struct backend *be, uint64_t t_ns)
{
    if (be->simulated) be->sim_ns = t_ns;
}

void backend_clock_join(struct backend *be, uint64_t t_ns)
{
    if (be->simulated && t_ns > be->sim_ns) be->sim_ns = t_ns;
}

void backend_wait_recv(struct backend *be, struct comm *c, int peer)
{
    backend_clock_join(be, comm_wait_recv(c, comm_rank(c, be), peer));
}

void backend_destroy(struct backend *be)
{
    if (be && be->ops->destroy) be->ops->destroy(be);
}
