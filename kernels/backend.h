/* kernels/backend.h — the one interface between the engine and compute.
 *
 * A backend is a vtable (struct backend_ops) plus a context. core/ calls the
 * backend_* dispatchers below, never a concrete backend. The compute ops are
 * listed once, in kernels/ops_table.h: that list makes the vtable slots, the
 * op ids (enum backend_op) and the dispatchers. Each dispatcher runs the op
 * and appends a kernel record (name, shapes, measured time, MODELED bytes and
 * FLOPs) to the backend's kernel log, so every backend reports the same things
 * the same way. backend_supports(be, op, dtype) says what a backend runs; the
 * weight upload acts on it (a format a backend cannot multiply is converted).
 *
 * Memory: activations are float32 buffers from backend_alloc (host memory on
 * the CPU backend, device memory on CUDA). Weights are `struct weight` (host
 * bytes, plus a backend copy made by backend_upload_weight, possibly in
 * another format: weight_run_type). Small index
 * arrays (tokens, positions, block tables) are host pointers; a device backend
 * copies them itself.
 *
 * Shapes in comments: [rows][cols], row-major, the last index contiguous.
 */
#ifndef INFERTOP_BACKEND_H
#define INFERTOP_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/formats.h"     /* enum dtype, dtype_info, row decode/encode */
#include "kernels/ops_table.h"   /* BACKEND_OP_LIST: the compute ops */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- weights ------------------------------------------------------------ */

/* Which slice of a full tensor a weight is (tensor parallelism). */
enum shard_dim {
    SHARD_NONE,          /* the whole tensor */
    SHARD_ROWS,          /* rows [shard_offset, +rows) of full_rows: output features (column-parallel) */
    SHARD_COLS,          /* cols [shard_offset, +cols) of full_cols: input features (row-parallel) */
};

/* A weight matrix W[rows][cols]: rows = output features, cols = input features.
 * y = x · Wᵀ, so a row of W is one output's dot product.
 * Row r starts at data + r * weight_row_stride(w): a column shard is a view
 * into its full tensor's rows, so its stride is the full row's bytes.
 * data == NULL with rows, cols set: a shape-only weight (plan, simulated device). */
struct weight {
    enum dtype type;
    int rows, cols;
    void *data;          /* host bytes in `type` layout (malloc'd or mmap'd); NULL: shapes only */
    void *dev;           /* backend copy, dense [rows][cols] in dev_type; NULL when the backend
                            reads `data` */
    enum dtype dev_type; /* format of `dev`: `type`, or what upload converted it to */
    size_t row_stride;   /* bytes between rows in `data`; 0 = dense, dtype_row_bytes(type, cols) */
    enum shard_dim shard_dim;
    int shard_offset;    /* first row (SHARD_ROWS) or column (SHARD_COLS) in the full tensor */
    int full_rows, full_cols;  /* shape of the full tensor a shard slices (0 when SHARD_NONE) */
    /* Activation quantization (dtype_quantizes_act: W8A8, FP8A8; core/quant):
     * act_scale > 0 is one static scale for every x row (per tensor, from
     * calibration); 0 means per token (W8A8) or dynamic per tensor (FP8A8). */
    float act_scale;
    char name[48];
};

/* Bytes of the weight's values, dense: rows × dtype_row_bytes(type, cols)
 * (what a backend copy in `type` holds; a column shard's rows are strided in `data`). */
size_t weight_bytes(const struct weight *w);
/* Bytes from row r to row r+1 in w->data. */
size_t weight_row_stride(const struct weight *w);
/* True when rows are back to back in data (weight_bytes(w) contiguous bytes). */
bool weight_is_dense(const struct weight *w);

/* dst = rows (SHARD_ROWS) or columns (SHARD_COLS) [offset, offset+count) of
 * src, as a zero-copy view into src->data (src must outlive dst; dst->dev is
 * NULL: upload the shard to its own device). Row slices work for every format.
 * Column slices of block formats (q8_0, q4_*, q*_k) must keep whole blocks:
 * offset and count multiples of dtype_info(type)->block_elems. src must be a
 * whole tensor (SHARD_NONE). Works on shape-only weights (data stays NULL).
 * 0 ok; -1 with "weight NAME: ... expected ..." in err. */
int weight_shard(struct weight *dst, const struct weight *src, enum shard_dim dim, int offset,
                 int count, char *err, size_t errlen);

/* The format a backend's ops read for w: dev_type when there is a backend
 * copy, else the host `type`. Record names and modeled bytes use it. */
static inline enum dtype weight_run_type(const struct weight *w)
{
    return w->dev ? w->dev_type : w->type;
}

/* ---- kernel records ---------------------------------------------------- */

/* OPC_COMM: communication between devices (kernels/comm.h); its records' bytes
 * are the bytes this device moved over the link. */
enum op_class { OPC_MATMUL, OPC_ATTN, OPC_NORM, OPC_ELTWISE, OPC_EMBED, OPC_COPY, OPC_COMM, OPC_COUNT };
const char *op_class_name(enum op_class c);

/* Which model instance an op ran for (core/telemetry.h: instance roles). */
enum kernel_role { KROLE_TARGET, KROLE_DRAFT, KROLE_COUNT };
const char *kernel_role_name(enum kernel_role r);   /* "target", "draft" */

/* One executed op. Times are measured; bytes and FLOPs are MODELED from the
 * formulas in kernels/cost.c, unless a backend
 * with counters sets `bytes_measured`.
 * Tags {role, device, stage, seq, layer} are copied from the kernel log's
 * current tags when the record begins (rec_begin, the one place they are
 * set): consumers attribute records by tag, never by record order. */
struct kernel_record {
    char name[24];            /* "matmul_f16", "attn_flash", "rmsnorm" */
    enum op_class cls;
    int16_t layer;            /* -1 outside the layer stack */
    int8_t role;              /* enum kernel_role of the instance */
    int8_t device;            /* device index within the instance's device group */
    int16_t stage;            /* pipeline stage index (0: the whole model) */
    int32_t seq;              /* request id the op serves; -1 when shared by the batch */
    int64_t shape[4];         /* matmul {m, n, k}; attention {n_q, n_ctx, n_heads, head_dim} */
    uint64_t t_start_ns;      /* CLOCK_MONOTONIC */
    uint64_t dur_ns;
    bool dur_measured;        /* false: async launch not yet timed */
    bool bytes_measured;      /* false: dram/chip bytes are modeled */
    double flops;
    double dram_rd, dram_wr;  /* main memory: DRAM on CPU, HBM on GPU */
    double chip_rd, chip_wr;  /* on-chip: cache tiles on CPU, SRAM/L2 on GPU */
};

/* Append-only log the forward pass fills; the engine drains it per step.
 * The tags below are put on every new record: the engine sets role, device
 * and stage per instance (kernel_log_set_instance), the forward pass sets
 * layer around each layer and seq around per-sequence attention. */
struct kernel_log {
    struct kernel_record *recs;
    int n, cap;
    int layer;                /* tag put on new records; -1 outside the layer stack */
    int seq;                  /* request id; -1 = shared by the batch */
    enum kernel_role role;
    int device, stage;
    bool enabled;
};

/* Starts with tags {target, device 0, stage 0, seq -1, layer -1}. */
void kernel_log_init(struct kernel_log *log, int cap);
void kernel_log_free(struct kernel_log *log);
/* Drops the records; the tags stay. */
void kernel_log_clear(struct kernel_log *log);
void kernel_log_set_instance(struct kernel_log *log, enum kernel_role role, int device, int stage);

/* ---- attention inputs -------------------------------------------------- */

enum attn_impl { ATTN_NAIVE, ATTN_FLASH };

/* Where one sequence's K and V live. Token t of layer l is the row
 *   k + l*layer_stride + (table[t / block_size] * block_size + t % block_size) * kv_dim
 * Paged storage: block_size 8..32, table lists the blocks. Contiguous storage
 * is the same with one table entry and block_size >= n_ctx. */
struct kv_view {
    void *k, *v;              /* pool bases: [layers][blocks*block_size][kv_dim] of kv_type */
    size_t layer_stride;      /* elements between layers */
    const int32_t *table;     /* [ceil(n_ctx / block_size)] block ids */
    int n_blocks;             /* entries in table */
    int block_size;           /* tokens per block */
    int kv_dim;               /* n_kv_heads * head_dim */
    enum dtype kv_type;       /* DT_F32 (0, the default) or DT_F16 */
};

/* Bytes of one K or V element. */
static inline size_t kv_elem_bytes(const struct kv_view *kv)
{
    return kv->kv_type == DT_F16 ? 2 : 4;
}

/* Row t of layer `layer` of base (kv->k or kv->v), any kv_type. */
static inline void *kv_row_bytes(const struct kv_view *kv, void *base, int layer, int t)
{
    int64_t slot = (int64_t)kv->table[t / kv->block_size] * kv->block_size + t % kv->block_size;
    return (char *)base + ((size_t)layer * kv->layer_stride + (size_t)slot * kv->kv_dim) *
                          kv_elem_bytes(kv);
}

/* The same row as floats; only for kv_type == DT_F32. */
static inline float *kv_row(const struct kv_view *kv, void *base, int layer, int t)
{
    return (float *)kv_row_bytes(kv, base, layer, t);
}

struct attn_shape {
    int n_heads, n_kv_heads, head_dim;  /* GQA: n_heads % n_kv_heads == 0; MQA: n_kv_heads = 1 */
    float scale;                        /* usually 1/sqrt(head_dim) */
};

struct rope_params {
    float theta;              /* base, e.g. 10000 or 500000 */
    /* Llama 3 frequency scaling; factor 0 = off */
    float factor, low_freq_factor, high_freq_factor;
    int orig_ctx;
};

/* ---- sampling and step graphs (optional hooks) ---------------------------- */

/* The sampler's settings (core/model/sampler.h), as the sample hook reads them. */
struct sample_params {
    float temperature;        /* <= 0: greedy */
    int top_k;                /* 0 = all */
    float top_p;              /* 1 = off */
};

/* One forward step's batch shape, as the step hooks see it. */
struct step_shape {
    int n_seqs, n_tokens;
    int kv_blocks;            /* blocks in the sequences' tables, summed */
    bool graphs;              /* the caller allows a graph for this step (cuda_graphs=on, a decode-only
                                 batch with nothing the host must see between its ops) */
};

/* Counters of the step graphs a backend ran (kernels/cuda/cuda_graph_step.h):
 * steps run op by op (eager), graphs captured and instantiated, recaptures
 * (an update refused: instantiated again), replays (an updated graph launched). */
struct graph_counts {
    uint64_t eager, captures, recaptures, replays;
    bool off;                 /* a capture failed: eager for the rest of the process */
    char reason[128];         /* why off */
};

/* ---- the vtable -------------------------------------------------------- */

struct backend;
struct comm;                 /* kernels/comm.h: a communicator over a device group */

/* One id per compute op of kernels/ops_table.h, in its order. */
enum backend_op {
#define BACKEND_OP_ID(id, name, cls, params, args) id,
    BACKEND_OP_LIST(BACKEND_OP_ID)
#undef BACKEND_OP_ID
    OP_COUNT
};

/* "matmul", "attention", ... (the table's names); "?" out of range. */
const char *backend_op_name(enum backend_op op);

struct backend_ops {
    const char *name;                    /* "cpu", "cuda", "sim" */
    bool async;                          /* ops return before finishing; durations filled later */

    /* Whether the backend runs `op` on `t` (kernels/ops_table.h says what t
     * means per op). Called through backend_supports, which answers false for
     * a NULL op slot. NULL here: every format of every op it has. */
    bool  (*supports)(struct backend *be, enum backend_op op, enum dtype t);
    void *(*alloc)(struct backend *be, size_t bytes);
    void  (*free)(struct backend *be, void *p);
    /* host → backend copy of w (in w->type) into w->dev; NULL = the backend
     * reads w->data. backend_upload_weight converts first when needed. */
    int   (*upload_weight)(struct backend *be, struct weight *w);
    void  (*upload)(struct backend *be, void *dst, const void *src, size_t bytes);
    void  (*download)(struct backend *be, void *dst, const void *src, size_t bytes);

    /* the compute ops, one slot per entry of kernels/ops_table.h:
     * void (*matmul)(struct backend *be, float *y, const struct weight *w, const float *x, int m); ... */
#define BACKEND_OP_SLOT(id, name, cls, params, args) void (*name) BACKEND_OP_PARAMS params;
    BACKEND_OP_LIST(BACKEND_OP_SLOT)
#undef BACKEND_OP_SLOT

    /* Simulated backends only (NULL elsewhere): the op's SIMULATED duration
     * from its finished kernel record (modeled FLOPs and bytes); the
     * dispatcher then places the record at be->sim_ns and advances it. */
    uint64_t (*modeled_ns)(struct backend *be, const struct kernel_record *r);

    /* Optional (NULL: the engine downloads the logits and samples on the host):
     * ids[rows] (host) <- one token per row of logits [rows][vocab] (backend
     * memory) by kernels/sample_select.h's rule, with the row's uniform u[row]
     * in [0, 1) (host; read only when sp->temperature > 0). Only the ids cross
     * to the host. 0 ok, -1 out of memory. */
    int  (*sample)(struct backend *be, int32_t *ids, const float *logits, int rows, int vocab,
                   const struct sample_params *sp, const double *u);
    /* Optional pair around the ops of one forward step (core/model/forward.c
     * calls them; NULL: no graphs). step_begin may start capturing the ops
     * into a graph (sh->graphs false: never); step_end launches what was
     * captured and returns 1 when the ops issued since step_begin did not run
     * (a capture failed: the caller issues them again, eagerly), else 0. */
    void (*step_begin)(struct backend *be, const struct step_shape *sh);
    int  (*step_end)(struct backend *be);
    /* Optional: the step graphs' counters so far. */
    void (*graph_counts)(struct backend *be, struct graph_counts *out);

    void (*sync)(struct backend *be);
    void (*destroy)(struct backend *be);
    /* Backend communicators for devs[0..n) (NCCL comms on CUDA), used by its
     * comm op slots through comm_backend_handle; NULL slot: the in-process
     * ring (kernels/comm.c). NULL return with a reason in err. */
    void *(*comm_init)(struct backend **devs, int n, char *err, size_t errlen);
    void  (*comm_free)(void *handle);
};

/* Where a backend's one-line notes go (e.g. "cuda: no q4_1 matmul; ...");
 * the owner prints them. NULL sink: notes are dropped. */
typedef void (*backend_note_fn)(void *user, const char *line);

struct backend {
    const struct backend_ops *ops;
    void *ctx;                 /* backend-private state */
    int n_threads;
    struct kernel_log *log;    /* may be NULL: no records */
    int device;                /* index in its device group (0 for a lone backend) */
    char device_name[96];      /* "AMD EPYC (2 threads, avx512)", "NVIDIA H200" */
    char reason[160];          /* why this backend was chosen */
    bool simulated;            /* timings come from a model, not from running */
    uint64_t sim_ns;           /* simulated backends: the device's timeline (ns since the run's
                                  start); records start there; the engine's clock sets/reads it */
    double mem_bytes;          /* device memory when known (simulated: the hardware table's), else 0 */
    double measured_bw;        /* bytes/s (read + written) of a short device copy test at create; 0: none */
    backend_note_fn note;      /* may be NULL; set by the owner after create */
    void *note_user;
    uint32_t noted_formats;    /* bit t: conversion of dtype t already noted */
};

/* ---- dispatchers (kernels/backend.c) ------------------------------------ */

/* Whether `be` runs `op` on format `t` (see kernels/ops_table.h for what t
 * means per op): false when the backend has no slot for the op. */
bool  backend_supports(struct backend *be, enum backend_op op, enum dtype t);

void *backend_alloc(struct backend *be, size_t bytes);
void  backend_free(struct backend *be, void *p);
/* Make w runnable on be: weights are matmul (and embed) operands. A format
 * the backend multiplies is copied as is (or read in place: w->dev stays
 * NULL); one it cannot (CUDA: the block-quantized formats) is decoded and
 * uploaded as f16 (f32 when the backend lacks f16), w->dev_type saying which,
 * and the first such weight of each format sends one note to be->note naming
 * the tensor and both formats. The host bytes stay as they are. Returns 0, or
 * -1 when there is no memory for the copy (also noted). */
int   backend_upload_weight(struct backend *be, struct weight *w);
/* Free w's backend copy (if any) and clear w->dev. */
void  backend_free_weight(struct backend *be, struct weight *w);
void  backend_upload(struct backend *be, void *dst, const void *src, size_t bytes);
void  backend_download(struct backend *be, void *dst, const void *src, size_t bytes);

/* The compute ops: run be's slot and log the op's kernel record.
 * void backend_matmul(struct backend *be, float *y, const struct weight *w, const float *x, int m); ... */
#define BACKEND_OP_DECL(id, name, cls, params, args) void backend_##name BACKEND_OP_PARAMS params;
BACKEND_OP_LIST(BACKEND_OP_DECL)
#undef BACKEND_OP_DECL

/* Whether be has the sample hook. */
bool  backend_can_sample(const struct backend *be);
/* be's sample hook (backend_can_sample must be true); no kernel record: like
 * host sampling, it is step time outside the op records. 0 ok, -1 out of memory. */
int   backend_sample(struct backend *be, int32_t *ids, const float *logits, int rows, int vocab,
                     const struct sample_params *sp, const double *u);
/* The step hooks; no-ops (step_end answers 0) on a backend without them. */
void  backend_step_begin(struct backend *be, const struct step_shape *sh);
int   backend_step_end(struct backend *be);
/* be's graph counters into out; false (out zeroed) when be has no step graphs. */
bool  backend_graph_counts(struct backend *be, struct graph_counts *out);

void  backend_sync(struct backend *be);
void  backend_destroy(struct backend *be);

/* ---- the device's clock: one seam for measured and simulated devices ----
 * backend_now_ns: a simulated backend's timeline (be->sim_ns), else
 * CLOCK_MONOTONIC (now_ns). backend_clock_start: a simulated timeline is set
 * to t_ns (a step's start; no-op on a real device). backend_clock_join: a
 * simulated timeline moves to t_ns if that is later (another device's end,
 * a message's arrival; no-op on a real device). backend_wait_recv: block
 * until a message from `peer` of c is waiting for be (comm_wait_recv); a
 * simulated device's timeline then joins the message's arrival, so the wait
 * is idle time on either kind of device. */
uint64_t backend_now_ns(const struct backend *be);
void  backend_clock_start(struct backend *be, uint64_t t_ns);
void  backend_clock_join(struct backend *be, uint64_t t_ns);
void  backend_wait_recv(struct backend *be, struct comm *c, int peer);

uint64_t now_ns(void);   /* CLOCK_MONOTONIC in nanoseconds */

#ifdef __cplusplus
}
#endif

#endif
