/* traces/trace_out.c — see trace_out.h. */
#include "traces/trace_out.h"
#include "traces/export.h"

#include <stdio.h>

bool trace_out_wanted(const struct trace_out *t) { return t && (t->chrome || t->nvtxt || t->record); }

int trace_out_begin(void *ctx, const struct telemetry *e, const char *scenario_name, const char *scenario_path,
                    char *err, size_t errlen)
{
    struct trace_out *t = ctx;
    if (!trace_out_wanted(t)) return 0;
    if (trace_capture_begin(&t->run, e, scenario_name, scenario_path) < 0) {
        snprintf(err, errlen, "trace: out of memory");
        return -1;
    }
    if (t->quality) t->run.h.quality = *t->quality;
    t->capturing = true;
    if (t->record) {
        if (recorder_open(&t->rec, t->record, &t->run, err, errlen) < 0) return -1;
        t->recording = true;
    }
    return 0;
}

int trace_out_step(void *ctx, const struct telemetry *e, char *err, size_t errlen)
{
    struct trace_out *t = ctx;
    if (!t || !t->capturing) return 0;
    if (trace_capture_step(&t->run, e) < 0) { snprintf(err, errlen, "trace: out of memory"); return -1; }
    if (t->recording && recorder_flush(&t->rec, &t->run) < 0) {
        recorder_error(&t->rec, err, errlen);
        return -1;
    }
    return 0;
}

int trace_out_end(void *ctx, const struct telemetry *e, bool ok, char *err, size_t errlen)
{
    struct trace_out *t = ctx;
    int rc = 0;
    if (!t || !t->capturing) return 0;
    if (ok && trace_capture_end(&t->run, e) < 0) { snprintf(err, errlen, "trace: out of memory"); ok = false; rc = -1; }
    if (t->recording) {
        if (!ok) recorder_abort(&t->rec);
        else if (recorder_close(&t->rec, &t->run, err, errlen) < 0) rc = -1;
    }
    if (ok && rc == 0 && t->chrome && export_chrome(&t->run, t->chrome, err, errlen) < 0) rc = -1;
    if (ok && rc == 0 && t->nvtxt && export_nvtxt(&t->run, t->nvtxt, t->nvtxt_tb, err, errlen) < 0) rc = -1;
    trace_run_free(&t->run);
    t->capturing = t->recording = false;
    return rc;
}
