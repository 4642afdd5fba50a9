/* tui/live_record.h — `infertop tui --record F`: the live session through
 * the same recorder as `bench --record`.
 *
 * The capture (trace_capture_*: steps, plan items, kernels per policy, request
 * events, option changes, KV snapshots) runs in runner hooks ON THE ENGINE
 * THREAD, in memory only. Captured pieces are handed over with a trylock and
 * an O(1) swap (trace_run_move_body); when the lock is busy they simply wait
 * for the next step. The TUI thread writes them to F.tmp every frame
 * (live_record_pump) and renames it to F at the end (live_record_finish):
 * the engine thread never blocks on I/O or on the writer.
 *
 * A recording holds one run: it stops when the runner restarts the scenario
 * (workload finished, reset, or an option that rebuilds the KV cache); the
 * log says so and F keeps everything up to there. */
#ifndef INFERTOP_LIVE_RECORD_H
#define INFERTOP_LIVE_RECORD_H

#include "core/engine/runner.h"
#include "traces/recorder.h"
#include "tui/data.h"

#include <pthread.h>

struct live_record {
    /* engine thread only */
    struct trace_run cap;
    bool capturing;
    char scenario[64], scenario_path[256];
    /* shared, under mu */
    pthread_mutex_t mu;
    struct trace_run out;         /* captured, not yet taken by the writer */
    bool header_ready;            /* out.h holds the header */
    char note[200];               /* why capturing stopped ("" while it runs) */
    /* TUI thread only */
    struct trace_run batch;
    struct recorder w;
    bool opened, failed, noted;
    char path[1024];
    char error[512];
};

/* Prepare recording to `path` (nothing is written before the first header). 0 ok, -1 out of memory. */
int  live_record_init(struct live_record *lr, const char *path, const char *scenario_name,
                      const char *scenario_path);
/* Install the capture hooks into a runner config (before runner_start). */
void live_record_hooks(struct live_record *lr, struct runner_config *cfg);
/* TUI thread, every frame: write what was handed over; header line "REC F". */
void live_record_pump(struct live_record *lr, struct tui_data *d);
/* After runner_stop: write the rest, the end line, rename F.tmp to F.
 * 0 ok; -1 with a message in err (F not written). */
int  live_record_finish(struct live_record *lr, char *err, size_t errlen);
void live_record_free(struct live_record *lr);

#endif
