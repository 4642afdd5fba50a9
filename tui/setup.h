/* tui/setup.h — a scenario run's setup, shared by `bench`, `ab` and `tui`:
 * the scenario file, the merged options (defaults < scenario [options] <
 * --set) and, for rates written relative to capacity ("0.8x"), a saturation
 * probe that measures that capacity on the loaded model. */
#ifndef INFERTOP_SETUP_H
#define INFERTOP_SETUP_H

#include "core/engine/engine.h"
#include "core/workload/workload.h"
#include "tui/cli.h"
#include "tui/session.h"

struct run_setup {
    struct scenario sc;
    struct options opt;
    const char *model;        /* --model, else the scenario's model, else NULL (default) */
};

/* Load `path` (default_path when NULL) and merge options: defaults, then the
 * scenario's [options], then `overrides` (the options set on the command
 * line). 0 ok; -1 with one line printed (exit 2). */
int setup_load(const char *path, const char *default_path, const char *model,
               const struct options *overrides, struct run_setup *b);

/* Called after every step that ran; non-zero stops the run as a failure. */
typedef int (*setup_step_fn)(void *ctx, const struct engine *e);

/* Run the engine over its workload to the end (progress on a tty unless
 * quiet). 0 ok, 1 engine failure. */
int setup_run_engine(struct engine *e, bool quiet, setup_step_fn on_step, void *ctx);

/* Saturation probe: the scenario's first 2*max_batch (>= 8) requests all at
 * t=0. capacity = completed requests per second. With max_s > 0 the probe
 * stops after max_s seconds and estimates capacity from its token throughput:
 * (prompt tokens run + tokens generated) per second ÷ the mean tokens
 * (prompt + output) of a probe request. 0 ok, 1 engine failure, 2 bad input. */
int setup_probe_capacity(struct session *S, const struct run_setup *b, bool quiet, double max_s,
                         double *cap);

/* A path relative to the checkout ("scenarios/chat.ini"): as given when it
 * exists from the working directory, else next to the binary (bin/../rel),
 * so `infertop` works from anywhere. Returns rel itself when neither exists. */
const char *setup_find_path(const char *rel, char *buf, size_t n);

#endif
