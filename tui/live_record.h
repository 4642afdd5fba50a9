/* tui/live_record.h — `infertop tui --record F`: traces/live_capture.h
 * plugged into the runner's hooks and the TUI's frame (a "REC F" label in
 * the header, one log line when the recording stops or fails). */
#ifndef INFERTOP_LIVE_RECORD_H
#define INFERTOP_LIVE_RECORD_H

#include "core/engine/runner.h"
#include "traces/live_capture.h"
#include "tui/data.h"

struct live_record {
    struct live_capture c;
    bool noted;                   /* the stop/failure is in the log */
};

/* Prepare recording to `path`. 0 ok, -1 out of memory. */
int  live_record_init(struct live_record *lr, const char *path, const char *scenario_name,
                      const char *scenario_path);
/* Install the capture hooks into a runner config (before runner_start). */
void live_record_hooks(struct live_record *lr, struct runner_config *cfg);
/* TUI thread, every frame: write what was handed over; header line "REC F". */
void live_record_pump(struct live_record *lr, struct tui_data *d);
/* After runner_stop: 0 ok; -1 with a message in err (F not written). */
int  live_record_finish(struct live_record *lr, char *err, size_t errlen);
void live_record_free(struct live_record *lr);

#endif
