/* traces/live_capture.c — see live_capture.h. */
#include "traces/live_capture.h"

#include <stdio.h>
#include <string.h>

int live_capture_init(struct live_capture *lr, const char *path, const char *scenario_name,
                     const char *scenario_path)
{
    memset(lr, 0, sizeof *lr);
    trace_run_init(&lr->cap);
    trace_run_init(&lr->out);
    trace_run_init(&lr->batch);
    snprintf(lr->path, sizeof lr->path, "%s", path);
    snprintf(lr->scenario, sizeof lr->scenario, "%s", scenario_name ? scenario_name : "");
    snprintf(lr->scenario_path, sizeof lr->scenario_path, "%s", scenario_path ? scenario_path : "");
    return pthread_mutex_init(&lr->mu, NULL) == 0 ? 0 : -1;
}

/* ---- engine thread ---- */

/* Hand the captured pieces to the writer unless it holds the lock or has
 * not taken the previous ones yet (they wait in cap for the next step). */
static void hand_over(struct live_capture *lr, const char *note)
{
    if (pthread_mutex_trylock(&lr->mu) != 0) return;
    /* a successful move also carries the header: ready once the capture has begun */
    if (trace_run_move_body(&lr->out, &lr->cap) && lr->cap.live) lr->header_ready = true;
    if (note && !lr->note[0]) snprintf(lr->note, sizeof lr->note, "%s", note);
    pthread_mutex_unlock(&lr->mu);
}

static void stop_capture(struct live_capture *lr, const char *why)
{
    lr->capturing = false;
    hand_over(lr, why);
}

void live_capture_epoch_start(struct live_capture *lr, const struct telemetry *t, uint64_t epoch)
{
    if (epoch == 0 && !lr->capturing && !lr->cap.live) {
        if (trace_capture_begin(&lr->cap, t, lr->scenario, lr->scenario_path) < 0) {
            stop_capture(lr, "recording stopped: out of memory");
            return;
        }
        lr->capturing = true;
        hand_over(lr, NULL);
    } else if (lr->capturing) {
        char why[200];
        snprintf(why, sizeof why, "recording stopped at the scenario restart (epoch %llu): a recording holds one run",
                 (unsigned long long)epoch);
        stop_capture(lr, why);
    }
}

void live_capture_step(struct live_capture *lr, const struct telemetry *t)
{
    if (!lr->capturing) return;
    if (trace_capture_step(&lr->cap, t) < 0) { stop_capture(lr, "recording stopped: out of memory"); return; }
    hand_over(lr, NULL);
}

void live_capture_option(struct live_capture *lr, const struct telemetry *t, const char *key, const char *value)
{
    if (!lr->capturing) return;
    if (trace_capture_option(&lr->cap, t, key, value) < 0) stop_capture(lr, "recording stopped: out of memory");
}

/* ---- writer thread ---- */

/* Take what was handed over (lock held only for the swap), then write it. */
static void write_pending(struct live_capture *lr)
{
    pthread_mutex_lock(&lr->mu);
    bool ready = lr->header_ready;
    trace_run_move_body(&lr->batch, &lr->out);     /* batch is empty here: always moves */
    pthread_mutex_unlock(&lr->mu);
    if (!ready || lr->failed) { trace_run_clear_body(&lr->batch); return; }
    if (!lr->opened) {
        if (recorder_open(&lr->w, lr->path, &lr->batch, lr->error, sizeof lr->error) < 0) lr->failed = true;
        else lr->opened = true;
    }
    if (lr->opened && !lr->failed && recorder_write_batch(&lr->w, &lr->batch) < 0) {
        recorder_error(&lr->w, lr->error, sizeof lr->error);
        lr->failed = true;
    }
    trace_run_clear_body(&lr->batch);
}

void live_capture_write(struct live_capture *lr) { write_pending(lr); }

void live_capture_status(struct live_capture *lr, char *buf, size_t n, bool *failed)
{
    pthread_mutex_lock(&lr->mu);
    snprintf(buf, n, "%s", lr->note);
    pthread_mutex_unlock(&lr->mu);
    *failed = lr->failed;
    if (lr->failed) snprintf(buf, n, "%s", lr->error);
}

int live_capture_finish(struct live_capture *lr, char *err, size_t errlen)
{
    hand_over(lr, NULL);            /* the engine thread is gone: nothing contends */
    while (lr->out.n_steps || lr->out.n_ev || lr->out.n_kvs || lr->cap.n_steps || lr->cap.n_ev || lr->cap.n_kvs) {
        write_pending(lr);
        hand_over(lr, NULL);
        if (lr->failed) break;
    }
    write_pending(lr);
    if (lr->failed) {
        if (lr->opened) recorder_abort(&lr->w);
        snprintf(err, errlen, "%s", lr->error);
        return -1;
    }
    if (!lr->opened) {
        snprintf(err, errlen, "%s: nothing recorded (the engine never started)", lr->path);
        return -1;
    }
    return recorder_finish(&lr->w, err, errlen);
}

void live_capture_free(struct live_capture *lr)
{
    if (lr->opened && lr->w.f) recorder_abort(&lr->w);
    trace_run_free(&lr->cap);
    trace_run_free(&lr->out);
    trace_run_free(&lr->batch);
    pthread_mutex_destroy(&lr->mu);
}
