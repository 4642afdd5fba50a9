/* core/engine/engine.h — the step loop: plan → forward → sample → commit → publish.
 *
 * The engine owns the scheduler, the sampler and one or more model instances
 * (core/engine/instance.h: model + forward + KV pool + device group + role)
 * for one workload. Today it holds exactly one: the target, over every layer,
 * on the backend engine_init is given; the scheduler plans against the
 * target's KV pool. engine_step() runs one iteration on the caller's thread;
 * front ends call it from their own engine thread. */
#ifndef INFERTOP_ENGINE_H
#define INFERTOP_ENGINE_H

#include "core/engine/instance.h"
#include "core/model/forward.h"
#include "core/options/options.h"
#include "core/model/sampler.h"
#include "core/engine/scheduler.h"
#include "core/spec/spec.h"
#include "core/telemetry.h"

#define ENGINE_MAX_INSTANCES 4

struct parallel;   /* core/parallel/parallel.h: tp × pp devices running the target */

struct engine {
    struct options opt;
    struct model_instance inst[ENGINE_MAX_INSTANCES];
    int n_inst;
    struct model_instance *target;   /* &inst[0]: the model being served (KROLE_TARGET); points
                                        into inst, so a struct engine is never copied */
    struct parallel *par;            /* NULL unless tp or pp > 1: then the target is device 0 of
                                        its device group and par runs the step on every device */
    struct scheduler sched;          /* plans against target->kv */
    struct sampler smp;
    struct fwd_seq *seqs;
    float *logits;           /* [logits_rows][vocab]: one row per item, 1 + drafted per speculating one */
    int logits_rows;
    int32_t *sampled;        /* [max_batch + 1][1 + SPEC_MAX_K] tokens each item commits */
    int *n_sampled;          /* [max_batch + 1] */
    const float **spec_rows; /* [max_batch + 1] the verify rows of each speculating sequence */
    bool dev_sample;         /* this step's logits stayed on the backend: its sample hook picks the
                                tokens (device_sampling=on, a backend with the hook, no verify, one
                                device); only ids come back */
    double *sample_u;        /* [max_batch + 1] each row's uniform for the sample hook */
    int32_t *sample_ids;     /* [max_batch + 1] the hook's token per row */
    struct spec *spec;       /* speculative decoding (core/spec): drafters, verification, draft instance */
    uint64_t t0_ns;
    uint64_t steps;
    struct step_record *rec; /* every step, for reports */
    int n_rec, cap_rec;
    bool failed;
    char error[256];
    /* what is published (core/telemetry.h); consumers read it through engine_telemetry() */
    struct telemetry tel;
    struct tel_item *tel_items;   /* [max_batch + 1] */
    int *seq_ids;                 /* [max_batch + 1] request id of each planned sequence (kernel seq tags) */
    int events_applied;           /* tel.events folded into tel.requests so far */
    bool step_ran;                /* the previous engine_step ran a step: clear the events first */
};

/* One target instance of m on be over every layer. 0 ok; -1 with a one-line
 * message (bad option combination, out of memory, a shape-only model on a
 * backend that is not simulated). On a simulated backend (be->simulated) the run clock is
 * SIMULATED (core/telemetry.h run_clock) and, with kv_mem not set, the KV
 * budget is 90% of the device memory less the weights. */
int  engine_init(struct engine *e, const struct options *opt, struct model *m, struct backend *be,
                 const struct workload *w, char *err, size_t errlen);
void engine_free(struct engine *e);

/* Give the engine a draft model for spec=draft (same vocabulary as the
 * target): a second instance (KROLE_DRAFT) on the target's backend with its
 * own KV pool. Call after engine_init, before the first step. 0 ok; -1 with
 * one line in err (vocabulary mismatch, pool or memory); the engine then
 * runs without a draft. */
int  engine_attach_draft(struct engine *e, struct model *draft, char *err, size_t errlen);

/* One iteration. Returns 1 when a step ran, 0 when nothing could run yet
 * (waiting for arrivals: sleeps until the next one, at most max_sleep_s),
 * -1 when every request has finished or the engine failed (e->failed). */
int  engine_step(struct engine *e, double max_sleep_s);

double engine_now(const struct engine *e);   /* seconds since engine_init, on the run's clock
                                                (core/telemetry.h: wall, or SIMULATED on a sim device) */

/* Test hook: from now on every step lasts step_s on a virtual clock starting
 * at 0 (CLOCK_FIXED), whatever the backend — so a CPU run and a simulated run
 * of one workload give the same request schedule. Call right after engine_init. */
void engine_fix_step_time(struct engine *e, double step_s);

/* The target instance's parts, for the engine's own users (tests, front ends
 * that set the run up); consumers of what happened read engine_telemetry. */
static inline const struct model *engine_model(const struct engine *e) { return e->target->m; }
static inline struct backend *engine_backend(const struct engine *e) { return instance_backend(e->target); }
/* The target's KV block map as of the last step (filled every step). */
static inline const struct kvcache_snapshot *engine_kv_snapshot(const struct engine *e)
{
    return &e->target->snap;
}
/* The target's kernel records of the last step. */
static inline const struct kernel_log *engine_kernel_log(const struct engine *e) { return &e->target->log; }

/* The published telemetry (lifetimes in core/telemetry.h). */
const struct telemetry *engine_telemetry(const struct engine *e);

/* Sum the step's kernel records into sr->ops and split its time into
 * sr->prefill_s / decode_s: attention records by their seq tag (the item of
 * that request), the rest shared by tokens; scaled to sr->dur_s. Needs
 * sr->dur_s, prefill_tokens and decode_tokens. */
void engine_summarize_ops(const struct kernel_record *recs, int n_recs, const struct tel_item *items,
                          int n_items, struct step_record *sr);

/* Apply a LIVE option (options_table.h live=1) at a step boundary; the new
 * value is already in e->opt. Returns false for options that need a rebuild. */
bool engine_apply_live(struct engine *e, enum opt_id id, double old_rate_scale);

#endif
