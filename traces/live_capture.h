/* traces/live_capture.h — a live session's recording (`infertop tui
 * --record F`) through the same recorder as `bench --record`.
 *
 * The capture (trace_capture_*: steps, plan items, kernels per policy, request
 * events, option changes, KV snapshots) runs ON THE ENGINE THREAD, in memory
 * only (live_capture_epoch_start/step/option, called from runner hooks).
 * Captured pieces are handed over with a trylock and an O(1) swap
 * (trace_run_move_body); when the lock is busy they simply wait for the next
 * step. The front end's thread writes them to F.tmp (live_capture_write,
 * every frame) and renames it to F at the end (live_capture_finish): the
 * engine thread never blocks on I/O or on the writer.
 *
 * A recording holds one run: it stops when the runner restarts the scenario
 * (workload finished, reset, or an option that rebuilds the KV cache); the
 * note says so and F keeps everything up to there. */
#ifndef INFERTOP_LIVE_CAPTURE_H
#define INFERTOP_LIVE_CAPTURE_H

#include "traces/capture.h"
#include "traces/recorder.h"

#include <pthread.h>

struct live_capture {
    /* engine thread only */
    struct trace_run cap;
    bool capturing;
    char scenario[64], scenario_path[256];
    /* shared, under mu */
    pthread_mutex_t mu;
    struct trace_run out;         /* captured, not yet taken by the writer */
    bool header_ready;            /* out.h holds the header */
    char note[200];               /* why capturing stopped ("" while it runs) */
    /* writer thread only */
    struct trace_run batch;
    struct recorder w;
    bool opened, failed;
    char path[1024];
    char error[512];
};

/* Prepare recording to `path` (nothing is written before the first header). 0 ok, -1 out of memory. */
int  live_capture_init(struct live_capture *lc, const char *path, const char *scenario_name,
                       const char *scenario_path);
/* Engine thread: a workload (epoch) starts; epoch 0 begins the capture, a
 * later one stops it (a recording holds one run). */
void live_capture_epoch_start(struct live_capture *lc, const struct telemetry *t, uint64_t epoch);
/* Engine thread: after every step that ran. */
void live_capture_step(struct live_capture *lc, const struct telemetry *t);
/* Engine thread: an option applied live. */
void live_capture_option(struct live_capture *lc, const struct telemetry *t, const char *key, const char *value);
/* Writer thread: write what was handed over. */
void live_capture_write(struct live_capture *lc);
/* Writer thread: why capturing stopped, into buf ("" while it runs);
 * *failed when writing failed (buf then holds the error). */
void live_capture_status(struct live_capture *lc, char *buf, size_t n, bool *failed);
/* After the engine thread is gone: write the rest, the end line, rename
 * F.tmp to F. 0 ok; -1 with a message in err (F not written). */
int  live_capture_finish(struct live_capture *lc, char *err, size_t errlen);
void live_capture_free(struct live_capture *lc);

#endif
