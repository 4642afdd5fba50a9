/* traces/capture.h — fill a trace_run from a live engine, step by step.
 *
 * Call trace_capture_begin after engine_init, trace_capture_step after every
 * engine_step that returned 1 (it reads the step's record, the scheduler's
 * plan and the kernel log, which stay valid until the next step), and
 * trace_capture_end after the last step. Request events are found by
 * comparing each request's state with what was already reported. */
#ifndef INFERTOP_TRACES_CAPTURE_H
#define INFERTOP_TRACES_CAPTURE_H

#include "core/engine/engine.h"
#include "traces/trace_run.h"

/* 0 ok; -1 out of memory. scenario_* may be NULL. */
int trace_capture_begin(struct trace_run *r, const struct engine *e, const char *scenario_name,
                        const char *scenario_path);
int trace_capture_step(struct trace_run *r, const struct engine *e);
/* An option changed mid-run (TUI): name=value at the engine's current time,
 * with a KV block map snapshot (trace_capture_step takes one every
 * TRACE_KV_INTERVAL_NS of run time). */
int trace_capture_option(struct trace_run *r, const struct engine *e, const char *name, const char *value);
int trace_capture_end(struct trace_run *r, const struct engine *e);

#endif
