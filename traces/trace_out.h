/* traces/trace_out.h — what a headless run writes besides its report: a
 * Chrome trace (--trace), NVTXT (--nvtxt) and a JSON Lines recording
 * (--record), captured step by step from the engine's telemetry (core/telemetry.h).
 *
 * The three calls have the shape of core/workload/run.h's run_observer
 * begin/step/end (ctx = the struct trace_out), so a command plugs them into
 * run_scenario. Errors are one line in err. */
#ifndef INFERTOP_TRACE_OUT_H
#define INFERTOP_TRACE_OUT_H

#include "traces/capture.h"
#include "traces/export.h"
#include "traces/recorder.h"

struct trace_out {
    const char *chrome, *nvtxt, *record;    /* NULL: not wanted */
    enum nvtxt_timebase nvtxt_tb;           /* --nvtxt-clock: NVTXT_MANUAL (default, 0) or raw */
    /* the quality line the front end measured (NULL: the telemetry's own);
     * the recording's header carries it */
    const struct tel_quality *quality;
    struct trace_run run;
    struct recorder rec;
    bool capturing, recording;
};

/* Any output asked for? */
bool trace_out_wanted(const struct trace_out *t);

/* After engine_init: start capturing and open the recording. 0 ok, -1. */
int trace_out_begin(void *t, const struct telemetry *e, const char *scenario_name, const char *scenario_path,
                    char *err, size_t errlen);
/* After each step that ran: capture it and stream it to the recording. 0 ok, -1. */
int trace_out_step(void *t, const struct telemetry *e, char *err, size_t errlen);
/* End of run: close the recording and write the exports when ok (else the
 * recording is removed and nothing is written); frees the capture. 0 ok, -1. */
int trace_out_end(void *t, const struct telemetry *e, bool ok, char *err, size_t errlen);

#endif
