/* traces/trace_run.h — one run as the exporters see it: a header, the steps
 * (step record, plan items, kernel records when kept) and request events.
 *
 * It is filled either live (trace_capture_* after every engine step) or from a
 * recording (recorder_read), and the exporters read only this struct: so a
 * live export and the export of its recording are the same trace.
 *
 * Times are integer nanoseconds since the engine started (engine t0, on
 * CLOCK_MONOTONIC); header.t0_raw_ns maps them onto CLOCK_MONOTONIC_RAW (the
 * clock Nsight Systems records on Linux).
 *
 * Kernel detail policy (bounds a recording's size): every step keeps its
 * per-op-class summary (step_record.ops); the kernel records themselves are
 * kept for every step until TRACE_KEEP_ALL_KERNELS records have been kept in
 * the run, then for at most one step per TRACE_DETAIL_INTERVAL_NS. A step
 * without kernels exports as step/schedule/forward/sample slices only. */
#ifndef INFERTOP_TRACE_RUN_H
#define INFERTOP_TRACE_RUN_H

#include "core/telemetry.h"

#include <stdbool.h>
#include <stdint.h>

#define TRACE_FORMAT_NAME "infertop-recording"
/* 1: header, step, event, option, end.  2 adds "kv" lines (block map
 * snapshots) and prompt/max_output on arrive events.  3 adds the token
 * commits of each step (ids), kernel tags {role, device, stage, seq}, the
 * pool of a KV snapshot, and per event the request's progress (generated,
 * admit: cached, preempt: dropped, finish: output hash). The reader takes
 * all three.  4 adds the header's quality object (struct tel_quality: the
 * weights against the reference, measured before the run; a recording holds
 * one epoch, so one measurement); older files read as state "none".
 * 5 adds tensor/pipeline parallelism: the header's "parallel" object (tp,
 * pp, micro_batches, sp, devices, shared cores, comm algorithm) and per step
 * a "par" object (bubble, comm share, per-device layers, times and memory,
 * every device's compute/send/recv/idle segments). The reader takes 1 to 5. */
#define TRACE_FORMAT_VERSION 5
#define TRACE_KEEP_ALL_KERNELS 200000
#define TRACE_DETAIL_INTERVAL_NS 100000000LL   /* 10 detailed steps per second after that */
/* KV block map snapshots: at most one per TRACE_KV_INTERVAL_NS of run time
 * (4 per second), plus one at every option change. */
#define TRACE_KV_INTERVAL_NS 250000000LL

struct trace_kernel {
    char name[24];
    enum op_class cls;
    int layer;                 /* -1 outside the layer stack */
    int role, device, stage;   /* kernel_record tags (version >= 3; 0 before) */
    int seq;                   /* request id served, -1 shared (version >= 3; -1 before) */
    int64_t t_ns, dur_ns;      /* since engine t0; measured */
    int64_t shape[4];
    double flops, dram_bytes, chip_bytes;   /* modeled unless the header says measured */
};

struct trace_item { int req; int pos0, n_tokens; bool decode; };

/* Output tokens a request committed in a step: ids tokens[off .. off+n) of
 * the step's commit_tokens (a REV_TOKENS event of the telemetry). */
struct trace_commit { int req; int n, off; };

/* A step of a tp/pp device group (version >= 5): telemetry.par's per-step
 * fields (seg NULL: the segments are segs[], owned) and the run info. */
struct trace_par {
    struct tel_parallel tel;
    struct tel_segment *segs;
    int n_segs;
};

struct trace_step {
    struct step_record rec;    /* seconds, as the engine published them */
    int64_t t_ns, dur_ns, plan_ns, sample_t_ns, sample_ns;
    struct trace_item *items;
    int n_items;
    struct trace_kernel *kernels;
    int n_kernels;
    bool detailed;             /* kernels kept for this step */
    struct trace_commit *commits;   /* version >= 3; none before */
    int n_commits;
    int32_t *commit_tokens;    /* [sum of commits' n] */
    int n_commit_tokens;
    struct trace_par *par;     /* version >= 4 with tp or pp > 1; NULL otherwise */
};

enum trace_event_kind { TEV_ARRIVE, TEV_ADMIT, TEV_FIRST_TOKEN, TEV_FINISH, TEV_PREEMPT, TEV_OPTION, TEV_COUNT };

struct trace_event {
    enum trace_event_kind kind;
    int64_t t_ns;
    int req;                   /* request id (-1 for option changes) */
    char name[32], value[64];  /* option changes */
    int prompt_len, max_output;/* arrive events (version >= 2; 0 when not recorded) */
    int generated;             /* output tokens so far (version >= 3; 0 before) */
    int cached, dropped;       /* admit: prefix-cache hits; preempt: K/V dropped (version >= 3) */
    uint64_t hash;             /* finish: output hash (version >= 3; has_hash) */
    bool has_hash;
};

/* The KV block map at one moment: after step `after_step` steps of the run
 * (steps[after_step - 1] is the last one it reflects). */
struct trace_kv {
    int64_t t_ns;
    int after_step;
    int pool;                  /* telemetry pool id (version >= 3; 0 before) */
    enum kv_alloc_kind kind;
    int block_size;
    int n_blocks;
    struct kv_block_info *blocks;   /* [n_blocks] */
};

struct trace_header {
    int version;
    char model[256], scenario[64], scenario_path[256];
    char device[32], device_name[96], device_reason[160];
    bool simulated, device_async, bytes_measured;
    char options[2048];        /* "k=v k2=v2 ..." every option, registry order */
    int n_requests, n_layers;
    int pid, tid;              /* process and engine thread, for NVTXT merge */
    int64_t t0_raw_ns;         /* CLOCK_MONOTONIC_RAW at engine t0 */
    struct tel_quality quality;/* version >= 4; TQ_NONE before (or when nothing measured it) */
    struct tel_parallel par;   /* run info of a tp/pp device group (version >= 5; n_devices 0 without;
                                  the per-step fields are in each step's par) */
};

struct trace_run {
    struct trace_header h;
    struct trace_step *steps;
    int n_steps, cap_steps;
    struct trace_event *ev;
    int n_ev, cap_ev;
    struct trace_kv *kvs;      /* in time order */
    int n_kvs, cap_kvs;
    int steps_base;            /* steps handed off by trace_run_clear_body before these */
    int64_t kept_kernels, last_detail_ns, last_kv_ns;
    bool live;                 /* trace_capture_begin filled the header */
};

const char *trace_event_name(enum trace_event_kind k);   /* "arrive", "admit", ... */
int trace_event_kind_from_name(const char *s);           /* -1 when unknown */

void trace_run_init(struct trace_run *r);
void trace_run_free(struct trace_run *r);
/* Append an empty step / event; NULL when out of memory. */
struct trace_step *trace_run_add_step(struct trace_run *r);
/* Free what a step owns (items, kernels, commits), leaving it empty. */
void trace_step_free(struct trace_step *st);
struct trace_event *trace_run_add_event(struct trace_run *r);
/* Append a KV snapshot with room for n_blocks blocks (zeroed); NULL when out of memory. */
struct trace_kv *trace_run_add_kv(struct trace_run *r, int n_blocks);
/* Should a step at t_ns take a KV snapshot (policy above)? */
bool trace_run_wants_kv(const struct trace_run *r, int64_t t_ns);
/* Free the steps, events and snapshots of r and empty them, keeping the
 * header and the capture's bookkeeping (a batch handed to a writer). */
void trace_run_clear_body(struct trace_run *r);
/* Hand src's steps, events and snapshots to dst when dst's body is empty
 * (an O(1) swap of the arrays, no allocation): src is left empty with
 * steps_base advanced, dst gets src's header and steps_base. false (nothing
 * moved) when dst still holds some. */
bool trace_run_move_body(struct trace_run *dst, struct trace_run *src);
/* Should a step starting at t_ns with n kernel records keep them (policy above)? */
bool trace_run_wants_detail(const struct trace_run *r, int64_t t_ns, int n);
/* End of the run: the latest time any step or event reaches. */
int64_t trace_run_end_ns(const struct trace_run *r);

#endif
