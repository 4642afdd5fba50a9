/* core/engine/runner.h — the engine on its own thread, for live front ends.
 *
 * Producer: the engine thread runs engine_step() in a loop, applies commands
 * at step boundaries, and publishes
 *   - every step_record into a ring (runner_read_steps, cursor per reader;
 *     a reader that falls behind skips ahead and is told how many it lost);
 *   - the latest state (KV snapshot, request table, counters) into a buffer
 *     that readers copy with runner_latest().
 * The engine never blocks on a reader: it publishes with a trylock and
 * skips a publication when a reader holds the buffer (the next step retries).
 * Everything published is built from the engine's telemetry
 * (core/telemetry.h), which is also what the hooks see.
 * When the workload finishes, the scenario restarts with the next seed
 * (a live view never runs dry); `reset` restarts it at once.
 *
 * An option set mid-run (RCMD_SET) does what its class in the options table
 * says, decided here and nowhere else: OC_LIVE applies at the next step
 * boundary (engine_apply_live); OC_REBUILD restarts the scenario with new
 * caches (and `requests` with the new count); OC_PROCESS is refused with a
 * log line (it needs the next start of infertop), as is an option scenario
 * runs do not use (scope without OS_RUN). */
#ifndef INFERTOP_RUNNER_H
#define INFERTOP_RUNNER_H

#include "core/model/model.h"
#include "core/options/options.h"
#include "core/telemetry.h"
#include "core/workload/workload.h"

#define RUNNER_RING        4096      /* step records kept */
#define RUNNER_MAX_BLOCKS  65536     /* KV block entries in a published state */
#define RUNNER_MAX_REQS    256       /* request rows in a published state */
#define RUNNER_MAX_SEGS    1024      /* pipeline segments of the last step in a published state */
#define RUNNER_LOG_LINES   64

enum runner_cmd_kind { RCMD_SET, RCMD_PAUSE, RCMD_RESUME, RCMD_TOGGLE_PAUSE, RCMD_STEP, RCMD_RESET, RCMD_QUIT };

struct runner_cmd {
    enum runner_cmd_kind kind;
    enum opt_id opt;                  /* RCMD_SET: which option */
    char value[64];                   /* RCMD_SET: its new value, as text */
};

struct runner_req_row {
    int id;
    enum req_state state;
    int prompt_len, generated, max_output;
    int blocks, reserved, used;       /* KV */
    int cached;                       /* prefix-cache hits (tokens) */
    int preempted;
    double ttft_ms;                   /* < 0 until the first token */
    double tok_s;                     /* decode rate so far */
};

struct runner_state {
    uint64_t version;                 /* increments with every publication */
    uint64_t steps, epoch;            /* epoch: scenario restarts */
    uint64_t config_step;             /* first step run after the last option change or reset */
    double elapsed_s;                 /* since the runner started */
    bool paused;
    bool probing;                     /* measuring capacity before the workload starts */
    bool reloading;                   /* re-transforming the weights (a quant=... rebuild) */
    char activity[128];               /* while probing or reloading: its progress ("probe: 3/32 requests ...") */
    char wformat[64];                 /* the layer matrices' weight format(s) now (model.wformat, else wtype) */
    int requests_total, requests_finished, running, waiting;
    uint64_t preemptions;
    long tokens_out;                  /* generated this epoch */
    long tokens_out_total;            /* generated since the runner started (every epoch) */
    struct options opt;
    /* KV */
    enum kv_alloc_kind kv_kind;
    int block_size, n_blocks;         /* entries in blocks[] (capped at RUNNER_MAX_BLOCKS) */
    int n_blocks_total;
    struct kvcache_totals kv;
    struct kv_block_info blocks[RUNNER_MAX_BLOCKS];
    int n_reqs;                       /* running and waiting requests, up to RUNNER_MAX_REQS */
    struct runner_req_row reqs[RUNNER_MAX_REQS];
    /* parallelism: telemetry.par of the last step (par.seg is NULL here: the copy is seg[]) */
    struct tel_parallel par;
    int n_seg;
    struct tel_segment seg[RUNNER_MAX_SEGS];
    /* latency so far this epoch */
    double ttft_p50_ms, ttft_p99_ms, tpot_p50_ms, tpot_p99_ms;
    struct tel_quality quality;       /* the weights against the reference (core/quant/quality.h) */
    struct tel_backend_hooks hooks;   /* device sampling and step graphs so far (telemetry.hooks) */
};

/* Optional observers called ON THE ENGINE THREAD (a recorder's capture).
 * They must not block: no I/O, no waiting on locks (trylock only). Any may
 * be NULL. epoch_start also runs once inside runner_start, before the
 * thread exists. */
struct runner_hooks {
    void *ctx;
    void (*epoch_start)(void *ctx, const struct telemetry *t, uint64_t epoch);
    void (*step)(void *ctx, const struct telemetry *t);          /* after every step that ran */
    void (*option)(void *ctx, const struct telemetry *t, const char *key, const char *value); /* applied live */
};

struct runner_config {
    struct runner_hooks hooks;
    struct options opt;
    struct model *model;
    struct model *draft;              /* spec=draft's model (NULL: none); not owned */
    struct backend *be;
    struct scenario sc;
    double capacity_req_s;            /* resolved for relative rates (0 otherwise) */
    /* > 0 with a relative rate and capacity_req_s 0: the engine thread first
     * measures capacity (run_probe_capacity, at most this many seconds),
     * publishing probing/activity, then starts the workload. */
    double probe_max_s;
    /* with probe_max_s: reuse a capacity measured before for the same model,
     * machine, options and scenario, and keep what the probe measures
     * (core/workload/capacity_cache.h) */
    bool capacity_cache;
    /* the quality line: measured by the front end before the start (TQ_NONE:
     * not asked), and again here after a rebuild that changes a weight
     * option (core/quant/reference.h), from model_spec (the --model text) */
    struct tel_quality quality;
    char model_spec[256];
    /* A change of a weight-transform option (quant_is_transform_option:
     * quant=..., sparsity=...) is a rebuild with new weights: the engine
     * thread stops the workload, calls reload (ENGINE THREAD; the model at
     * cfg.model is replaced in place, progress lines go to the activity
     * line), then restarts. NULL: such options only restart the workload
     * (the weights stay as they were) and the log says so. */
    int (*reload)(void *ctx, const struct options *o, void (*progress)(void *user, const char *line),
                  void *user, char *err, size_t errlen);
    void *reload_ctx;
};

struct runner;

int  runner_start(struct runner **out, const struct runner_config *cfg, char *err, size_t errlen);
/* Stops the thread and frees everything. */
void runner_stop(struct runner *r);
/* Queue a command; applied at the next step boundary. false when the queue is full. */
bool runner_send(struct runner *r, const struct runner_cmd *c);
/* Whether setting option `id` to `value` over the options *cur would be
 * taken with the runner's model (the value parses; tp, pp, micro_batches, sp
 * split the model): 0, or -1 with the one-line reason. Any thread (it reads
 * the model's shape only). A key cycling through values skips those refused. */
int  runner_check_option(const struct runner *r, const struct options *cur, enum opt_id id, const char *value,
                         char *err, size_t errlen);
/* Queue RCMD_SET of option `id` to `value` (validated when applied; errors go to the log). */
bool runner_set_option(struct runner *r, enum opt_id id, const char *value);

/* Copy step records after *cursor into out (at most max); advances *cursor.
 * Returns the count; *lost = records overwritten before this reader saw them. */
int  runner_read_steps(struct runner *r, uint64_t *cursor, struct step_record *out, int max,
                       uint64_t *lost);
/* Copy the latest published state: every field, and blocks[], reqs[] and
 * seg[] up to n_blocks, n_reqs and n_seg (entries past them are left as
 * they were in *out). */
void runner_latest(struct runner *r, struct runner_state *out);
/* Log lines (option changes, restarts, errors), oldest first; returns the count
 * copied after *cursor. */
int  runner_read_log(struct runner *r, uint64_t *cursor, char lines[][160], int max);


#endif
