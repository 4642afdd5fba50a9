/* core/engine/engine.h — the step loop: plan → forward → sample → commit → publish.
 *
 * The engine owns the KV cache, the scheduler and the forward pass for one
 * workload on one model and backend. engine_step() runs one iteration on the
 * caller's thread; front ends call it from their own engine thread. */
#ifndef INFERTOP_ENGINE_H
#define INFERTOP_ENGINE_H

#include "core/model/forward.h"
#include "core/options/options.h"
#include "core/model/sampler.h"
#include "core/engine/scheduler.h"
#include "core/telemetry.h"

struct engine {
    struct model *m;
    struct backend *be;
    struct options opt;
    struct forward fw;
    struct kvcache *kv;
    struct kvcache_snapshot snap;
    struct scheduler sched;
    struct sampler smp;
    struct kernel_log log;
    struct fwd_seq *seqs;
    float *logits;           /* [max_batch][vocab] */
    int32_t *sampled;        /* [max_batch] */
    uint64_t t0_ns;
    uint64_t steps;
    struct step_record *rec; /* every step, for reports */
    int n_rec, cap_rec;
    bool failed;
    char error[256];
};

/* 0 ok; -1 with a one-line message (bad option combination, out of memory). */
int  engine_init(struct engine *e, const struct options *opt, struct model *m, struct backend *be,
                 const struct workload *w, char *err, size_t errlen);
void engine_free(struct engine *e);

/* One iteration. Returns 1 when a step ran, 0 when nothing could run yet
 * (waiting for arrivals: sleeps until the next one, at most max_sleep_s),
 * -1 when every request has finished or the engine failed (e->failed). */
int  engine_step(struct engine *e, double max_sleep_s);

double engine_now(const struct engine *e);   /* seconds since engine_init */

/* Apply a LIVE option (options_table.h live=1) at a step boundary; the new
 * value is already in e->opt. Returns false for options that need a rebuild. */
bool engine_apply_live(struct engine *e, enum opt_id id, double old_rate_scale);

#endif
