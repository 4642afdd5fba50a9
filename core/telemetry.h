/* core/telemetry.h — what the engine publishes: the ONE contract its
 * consumers read (TUI collection through the runner, traces/ capture and
 * recorder, reports, bench progress). No consumer reads struct engine or
 * struct scheduler.
 *
 * What is published (struct telemetry, engine_telemetry()):
 *   - run info, constant for the run: model, backend, options text, counts;
 *   - per step: the step record, the plan items, the kernel records (tagged
 *     {role, device, stage, seq, layer}, kernels/backend.h), the request
 *     events of the step (emitted by the scheduler WHEN THEY HAPPEN), and one
 *     KV snapshot per pool;
 *   - the run so far: every step record, and the request ledger — each
 *     request's state folded from its events by tel_ledger_apply (the same
 *     function a replay can use), including its output token ids and hash.
 *
 * Lifetimes:
 *   - per-step fields (step, items, kernels, events, pools) are valid from an
 *     engine_step() that returned 1 until the next engine_step() call. The
 *     event list is cleared at the START of the first engine_step() call after
 *     a step ran, so it holds every event since the previous step that ran
 *     (arrivals released by calls that ran nothing are carried into it);
 *   - steps[] and requests stay valid until engine_free (steps[] may move
 *     when it grows: re-read the pointer after each step).
 *
 * Times are seconds since the engine started on the run's clock (struct
 * run_clock: CLOCK_MONOTONIC since t0_ns, or SIMULATED time on a simulated
 * device, or a test's fixed step time); bytes and FLOPs come from kernel records and are MODELED on backends
 * without counters (kernel_record.bytes_measured). */
#ifndef INFERTOP_TELEMETRY_H
#define INFERTOP_TELEMETRY_H

#include "core/engine/kvcache.h"
#include "core/options/kvlist.h"   /* a run's options travel as "k=v ..." text: split with kvlist_each */
#include "kernels/backend.h"

#include <stdbool.h>
#include <stdint.h>

/* ---- the run's clock --------------------------------------------------- */

/* The one seam between wall time and simulated time: every time the engine
 * stamps (steps, arrivals, request events, reports) comes from
 * run_clock_now. CLOCK_WALL: CLOCK_MONOTONIC since t0_ns. CLOCK_SIM: time
 * moves only when the engine advances it — by each step's SIMULATED duration
 * (the simulated backend's op times) and, when idle, straight to the next
 * arrival. CLOCK_FIXED (a test hook): like CLOCK_SIM, every step lasting
 * fixed_step_s whatever backend ran it, so two backends give one schedule. */
enum run_clock_mode { CLOCK_WALL, CLOCK_SIM, CLOCK_FIXED };

struct run_clock {
    enum run_clock_mode mode;
    uint64_t t0_ns;                  /* CLOCK_WALL: CLOCK_MONOTONIC at the start */
    double virtual_s;                /* CLOCK_SIM / CLOCK_FIXED: seconds since the start */
    double fixed_step_s;             /* CLOCK_FIXED: each step's duration */
};

/* Seconds since the clock's start. */
double run_clock_now(const struct run_clock *c);
/* Let s seconds pass: CLOCK_WALL sleeps, the others advance virtual_s. */
void   run_clock_wait(struct run_clock *c, double s);

/* ---- step records ---------------------------------------------------- */

struct op_class_sum {
    double time_s;
    double flops;
    double dram_bytes, chip_bytes;   /* modeled unless bytes_measured */
    int count;
};

/* The most tokens one draft proposes (spec_k's maximum, options_table.h). */
#define TEL_SPEC_MAX_K 15

/* Speculative decoding in one step (core/spec; all zero with spec=off).
 * Positions are 1-based in names, 0-based in the arrays. */
struct step_spec {
    int kind;                        /* enum opt_spec in force (0 = off) */
    int k;                           /* spec_k in force */
    int drafts;                      /* requests that drafted >= 1 token */
    int drafted, accepted;           /* drafted tokens, of which the target accepted */
    int emitted;                     /* tokens those requests committed (accepted + 1 each) */
    int draft_rounds;                /* draft forward passes (one token each, batched across requests) */
    double draft_s;                  /* the draft phase (propose) */
    double verify_s;                 /* the target forward that scored the drafts, and the acceptance */
    uint16_t drafted_at[TEL_SPEC_MAX_K], accepted_at[TEL_SPEC_MAX_K];   /* per position 1..k */
};

struct step_record {
    uint64_t index;
    double t_start_s, dur_s;         /* since the engine started */
    int prefill_tokens, decode_tokens;
    int batch_size;                  /* requests in this step */
    int running, waiting;
    int preempted, finished;         /* during this step */
    double prefill_s, decode_s;      /* step time apportioned: attention by its seq tag, the rest by tokens */
    double plan_s;                   /* scheduler planning: t_start_s .. t_start_s + plan_s */
    double sample_start_s, sample_s; /* sampling (since the engine started), its duration */
    int committed;                   /* output tokens committed (sum of the step's tokens events) */
    struct op_class_sum ops[OPC_COUNT];
    struct kvcache_totals kv;
    struct step_spec spec;
    /* tensor/pipeline parallelism (telemetry.par of the step; all 0 without) */
    int par_mb;                      /* micro-batches run */
    double par_bubble, par_bubble_formula;   /* measured, (p − 1)/(m + p − 1) */
    double par_comm_share;           /* comm records' time ÷ (devices × span) */
    double par_resid_bytes;          /* the largest residual stream one device held */
};

/* ---- request events -------------------------------------------------- */

enum req_state { REQ_PENDING, REQ_WAITING, REQ_RUNNING, REQ_FINISHED };

enum req_event_kind {
    REV_ARRIVE,         /* released to the waiting queue; t = its arrival time */
    REV_ADMIT,          /* got KV and a running slot (again after a preemption) */
    REV_PREEMPT,        /* lost its KV; waits to be recomputed */
    REV_FIRST_TOKEN,    /* its first output token was committed */
    REV_TOKENS,         /* 1..TEL_MAX_COMMIT output tokens committed in one step */
    REV_FINISH,         /* reached max_output; KV released */
    REV_COUNT
};

/* Tokens one event carries: a speculative step commits at most k+1 tokens
 * per request; more than this arrive as several REV_TOKENS events. */
#define TEL_MAX_COMMIT 16

struct req_event {
    enum req_event_kind kind;
    int req;                         /* request id */
    double t_s;                      /* since the engine started */
    int prompt_len, max_output;      /* the request's shape (every event) */
    int generated;                   /* output tokens committed so far, after this event */
    int cached;                      /* ADMIT: prompt tokens found in the prefix cache */
    int dropped;                     /* PREEMPT: tokens whose K/V were dropped (recomputed later) */
    int n_tokens;                    /* TOKENS: ids in tokens[] */
    int32_t tokens[TEL_MAX_COMMIT];  /* TOKENS: the committed ids, in order */
    uint64_t hash;                   /* FINISH: tel_hash of every output id */
    int drafted, accepted;           /* TOKENS (the first event of a commit): drafted tokens this step
                                        verified for the request, and how many of them it kept */
};

const char *req_event_name(enum req_event_kind k);   /* "arrive", "admit", ... */

/* The events of one step, in emission order. */
struct req_event_list {
    struct req_event *ev;
    int n, cap;
    bool lost;                       /* an append failed (out of memory) */
};

void req_events_clear(struct req_event_list *l);
void req_events_free(struct req_event_list *l);
/* Append a copy of *ev; on out of memory sets l->lost and drops it. */
void req_events_push(struct req_event_list *l, const struct req_event *ev);

/* FNV-1a 64 over the ids' little-endian bytes: identical outputs ⇔ equal
 * hashes (up to collisions). tel_hash_init() is the hash of no tokens. */
uint64_t tel_hash_init(void);
uint64_t tel_hash_token(uint64_t h, int32_t token);
uint64_t tel_hash_tokens(const int32_t *tokens, int n);

/* ---- request ledger: events folded per request ------------------------ */

struct tel_request {
    int id;
    enum req_state state;
    int prompt_len, max_output;
    int generated;                   /* output tokens committed */
    int cached;                      /* prefix-cache hits, every admission */
    int preempted;
    double arrival_s, admit_s;       /* admit_s: the first admission */
    double first_s, finish_s;        /* valid once generated > 0 / state == REQ_FINISHED */
    int32_t *tokens;                 /* [max_output] output ids */
    double *token_t;                 /* [max_output] commit time of each */
    uint64_t hash;                   /* tel_hash of tokens[0..generated) */
    int spec_drafts;                 /* speculative steps that verified >= 1 drafted token */
    int spec_drafted, spec_accepted; /* their drafted tokens, of which accepted */
};

struct tel_ledger {
    struct tel_request *reqs;        /* [n], request id i at index i */
    int n;
    int finished, running, waiting;
    uint64_t preemptions;
    long tokens_out;                 /* output tokens committed, all requests */
};

/* Room for request ids 0..n-1, each with up to max_output[i] output tokens.
 * 0 ok, -1 out of memory. */
int  tel_ledger_init(struct tel_ledger *l, int n, const int *max_output);
void tel_ledger_free(struct tel_ledger *l);
/* Fold one event in (ids outside 0..n-1 and tokens beyond max_output are ignored). */
void tel_ledger_apply(struct tel_ledger *l, const struct req_event *ev);

/* ---- weight quality ---------------------------------------------------- */

/* The quality of the weights a run uses against the reference weights (the
 * same model with every weight-transform option at its default,
 * core/quant/reference.h), measured by core/quant/quality.c with eval's
 * method on a short built-in text when a weight-changing mode is applied. */
enum tel_quality_state {
    TQ_NONE,                         /* nothing asked (no front end measured it) */
    TQ_REFERENCE,                    /* the weights are the reference's: nothing to measure */
    TQ_MEASURING,
    TQ_MEASURED,
    TQ_FAILED,                       /* error[] says why */
};

struct tel_quality {
    enum tel_quality_state state;
    char mode[128];                  /* the weight options against the reference: "wtype=q4_0" */
    int tokens, scored;              /* text tokens run, positions scored */
    double kld, kld_err;             /* mean KLD(reference ‖ weights) */
    double same_top, same_top_err;   /* fraction of positions whose argmax agrees */
    double ppl_ratio;                /* mean PPL(weights)/PPL(reference) */
    double seconds;                  /* what the measurement took */
    char error[160];
};

const char *tel_quality_state_name(enum tel_quality_state s);   /* "none", "reference", ... */
int tel_quality_state_from_name(const char *s);                  /* -1 when unknown */

/* ---- the published struct -------------------------------------------- */

/* One planned sequence of the step. */
struct tel_item {
    int req;                         /* request id */
    int pos0, n_tokens;              /* fed tokens[pos0 .. pos0+n_tokens) */
    bool samples;                    /* its last row chooses a token */
    bool decode;                     /* a decode (else prefill or recompute) */
};

#define TEL_MAX_POOLS 4

/* ---- parallelism: pipeline segments and devices (core/parallel) --------- */

enum tel_seg_kind {
    SEG_COMPUTE,        /* the stage's layers for one micro-batch (its all-reduces inside) */
    SEG_SEND,           /* activations to the next stage */
    SEG_RECV,           /* activations from the previous stage (the copy; the wait is idle) */
    SEG_IDLE,           /* waiting: the pipeline bubble */
    SEG_COUNT
};
const char *tel_seg_name(enum tel_seg_kind k);   /* "compute", "send", "recv", "idle" */

/* One interval of one device in the step. */
struct tel_segment {
    int16_t device;                  /* index in the run's device group: stage * tp + rank */
    int16_t stage;
    int16_t mb;                      /* micro-batch, -1 for idle outside one */
    uint8_t kind;                    /* enum tel_seg_kind */
    double t0_s, t1_s;               /* since the engine started */
};

#define TEL_MAX_DEVICES 16

/* One device's share of the step (busy and comm from its kernel records). */
struct tel_device {
    int device, stage, rank;
    int l0, l1;                      /* its stage's layers [l0, l1) */
    double compute_s;                /* kernel records other than comm */
    double comm_s;                   /* comm records: all-reduce etc. incl. waiting for the other ranks */
    double idle_s;                   /* pipeline idle segments */
    double weight_bytes;             /* its weight shard */
    double kv_bytes;                 /* its KV storage (pool shard) */
    double act_bytes;                /* activation buffers it allocated */
    double resid_bytes;              /* residual stream it held this step: M (or M/N with sp) × dim × 4 */
};

struct tel_parallel {
    /* run info (constant); tp = pp = 1: no parallelism, the rest is zero */
    int tp, pp, micro_batches;
    bool sp;
    int n_devices;
    bool shared_cores;               /* more device threads than cores: timings contended */
    char comm_algo[8];               /* "ring" (in-process) or "nccl" */
    /* per step (lifetime of the per-step fields) */
    const struct tel_segment *seg;
    int n_seg;
    int mb_used;                     /* micro-batches this step (fewer when fewer sequences) */
    double span_s;                   /* first segment start to last end */
    double bubble;                   /* measured: idle / (pp × span), over each stage's rank 0 */
    double bubble_formula;           /* (p − 1) / (m + p − 1) with m = mb_used */
    double comm_share;               /* comm time / (devices × span) */
    struct tel_device dev[TEL_MAX_DEVICES];
};

/* One KV pool's block map after the step. */
struct tel_pool {
    int pool;                        /* pool id: index in telemetry.pools */
    enum kernel_role role;           /* the instance that owns it */
    const struct kvcache_snapshot *snap;
};

/* How the target's steps used its backend's optional hooks (kernels/backend.h),
 * the run so far: steps whose tokens the sample hook picked where the logits
 * were (device sampling: only ids came back), and the step graphs' counters
 * (has_graphs false: the backend has none, e.g. the CPU's). */
struct tel_backend_hooks {
    uint64_t sampled_steps;
    bool has_graphs;
    struct graph_counts graphs;
};

struct telemetry {
    /* run info (constant) */
    char model[256];                 /* model source */
    char backend[32], device_name[96], device_reason[160];
    bool simulated, device_async;
    char options[2048];              /* "k=v k2=v2 ..." every option at the start, registry order */
    int n_layers, n_requests, max_batch;
    uint64_t t0_ns;                  /* CLOCK_MONOTONIC at engine start; 0 on a simulated clock
                                        (kernel records then start on the simulated timeline) */
    struct run_clock clock;          /* what tel_now reads; simulated says whether it is SIMULATED */
    struct tel_quality quality;      /* set by the front end that measured it (TQ_NONE: not) */
    /* per step (lifetime above) */
    const struct step_record *step;  /* NULL before the first step */
    const struct tel_item *items;
    int n_items;
    const struct kernel_record *kernels;
    int n_kernels;
    struct req_event_list events;
    struct tel_pool pools[TEL_MAX_POOLS];
    int n_pools;
    struct tel_parallel par;         /* tensor/pipeline parallelism: run info + this step */
    struct tel_backend_hooks hooks;  /* device sampling and step graphs, the run so far */
    /* the run so far */
    const struct step_record *steps;
    int n_steps;
    struct tel_ledger requests;
};

/* Seconds since t0 now. */
double tel_now(const struct telemetry *t);

/* One line on the hooks for reports and the TUI, e.g.
 * "graphs: eager 12, captures 1, recaptures 0, replays 40 | device sampling: 53 steps (ids only)",
 * "graphs: off (CUDA graphs off: capture failed (...)) | ...", or
 * "graphs: n/a (cpu) | device sampling: 0 steps (logits downloaded)"; backend names the backend. */
void tel_hooks_format(const struct tel_backend_hooks *h, const char *backend, char *out, size_t n);

#endif
