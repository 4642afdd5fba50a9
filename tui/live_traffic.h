/* tui/live_traffic.h — the TUI's measure key: the CUPTI range profiler over
 * the next N engine steps (traces/traffic_measure.h, `bench
 * --measure-traffic`'s code) run on the engine thread through the runner's
 * hooks, its rows handed to the traffic panel's "measured" column beside the
 * modeled bytes. Where nothing can be measured (a backend without counters,
 * no counter permission, another profiler attached, an unsupported device)
 * the one-line reason goes to the screen instead. */
#ifndef INFERTOP_LIVE_TRAFFIC_H
#define INFERTOP_LIVE_TRAFFIC_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/engine/runner.h"
#include "traces/traffic_measure.h"
#include "tui/data.h"

#define LIVE_TRAFFIC_STEPS 8

struct live_traffic {
    struct runner_hooks inner;       /* the hooks this one wraps (a recorder's), called first */
    char backend[16];                /* the backend's name: only "cuda" has counters */
    atomic_int requested;            /* steps the key asked for; the engine thread takes it */
    struct traffic_measure tm;       /* engine thread only */
    bool measuring;
    pthread_mutex_t mu;              /* the hand-over below; the engine thread only trylocks */
    struct tui_measured out;
    bool fresh;                      /* out not yet taken by the TUI */
};

void live_traffic_init(struct live_traffic *lt, const char *backend_name);
/* Wrap cfg->hooks (before runner_start): every hook still runs, then this one's step. */
void live_traffic_hooks(struct live_traffic *lt, struct runner_config *cfg);
/* TUI thread: measure the next `steps` steps. 0 asked (the engine thread
 * opens the profiler; a failure there comes back through live_traffic_take);
 * 2 when this backend has nothing to measure, with the one-line reason in why
 * (CUPTI is not touched). */
int  live_traffic_request(struct live_traffic *lt, int steps, char *why, size_t n);
/* TUI thread, every frame: the newest result into d->measured. True when
 * there was one. */
bool live_traffic_take(struct live_traffic *lt, struct tui_data *d);
/* After runner_stop (closes a measurement still open). */
void live_traffic_free(struct live_traffic *lt);

#endif
