/* traces/capture.h — fill a trace_run from the engine's telemetry, step by step.
 *
 * Reads only core/telemetry.h (the published contract), never the engine.
 * Call trace_capture_begin after engine_init, trace_capture_step after every
 * engine_step that returned 1 (it copies the step's record, plan items,
 * kernel records per the detail policy, request events and token commits,
 * and per policy the KV block map: the per-step telemetry is valid until the
 * next engine_step), and trace_capture_end after the last step. */
#ifndef INFERTOP_TRACES_CAPTURE_H
#define INFERTOP_TRACES_CAPTURE_H

#include "core/telemetry.h"
#include "traces/trace_run.h"

/* 0 ok; -1 out of memory. scenario_* may be NULL. */
int trace_capture_begin(struct trace_run *r, const struct telemetry *t, const char *scenario_name,
                        const char *scenario_path);
int trace_capture_step(struct trace_run *r, const struct telemetry *t);
/* An option changed mid-run (TUI): name=value at the engine's current time,
 * with a KV block map snapshot (trace_capture_step takes one every
 * TRACE_KV_INTERVAL_NS of run time). */
int trace_capture_option(struct trace_run *r, const struct telemetry *t, const char *name, const char *value);
/* End of the run (every event was captured with its step): 0. */
int trace_capture_end(struct trace_run *r, const struct telemetry *t);

#endif
