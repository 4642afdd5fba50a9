/* core/workload/run.h — running a scenario: the setup shared by `bench`, `ab`,
 * `tui` (scenario file + overrides + merged options), the run-to-end loop with
 * its observers (traces, progress), and the saturation probe that measures
 * capacity for rates written relative to it ("0.8x").
 *
 * Nothing here prints unless given a FILE; errors are one line in err. */
#ifndef INFERTOP_RUN_H
#define INFERTOP_RUN_H

#include "core/engine/engine.h"
#include "core/workload/report.h"
#include "core/workload/workload.h"

#include <stdio.h>

struct run_setup {
    struct scenario sc;
    struct options opt;
    const char *model;        /* the command line's model, else the scenario's, else NULL (default) */
    bool model_from_scenario; /* model names the scenario's `model` key (messages say file:line) */
    struct model *draft;      /* spec=draft's model (--draft), NULL: none; not owned */
};

/* Load scenario `path`, apply `set_list` ("section.key=v ..." separated by
 * spaces or commas; NULL none; "options.NAME=v" sets an [options] entry), then
 * merge options: defaults < the scenario's [options] < `overrides` (what the
 * command line set explicitly). An unknown or bad option names its file and
 * line, or "--scenario-set" when it came from there. 0 ok; -1 with one line in
 * err (exit 2). */
int run_setup_load(struct run_setup *b, const char *path, const char *model,
                   const struct options *overrides, const char *set_list, char *err, size_t errlen);

/* Prefix an error about the model with the scenario's file:line when the
 * model came from the scenario: "F:L: model: <msg>"; else msg as is. */
void run_setup_model_error(const struct run_setup *b, const char *msg, char *out, size_t n);

/* Every request fits max_seq (prompt + output); else one line naming the
 * scenario file and the line to change (max_seq in [options], else the
 * output length). 0 ok, -1. */
int run_check_lengths(const struct run_setup *b, const struct workload *w, char *err, size_t errlen);

/* Progress of a run, for a progress line. eta_s < 0: no meaningful rate yet
 * (the ETA is the requests still to finish at the rate requests have finished
 * so far; nothing before the first one finishes). */
struct run_progress {
    double t_s;
    int finished, total, running, waiting;
    long tokens_out;
    double tok_s;             /* output tokens / t_s */
    double eta_s;
    double next_arrival_s;    /* > 0: idle, the next request arrives then (run time) */
    bool final;
};

/* Observers of one run; any member may be NULL. They see the engine's
 * published telemetry only (core/telemetry.h; per-step fields valid during
 * the call). begin runs after engine_init,
 * step after every step that ran, end after the last (ok = the run succeeded;
 * end still runs when begin failed, to release). Non-zero from begin/step/end
 * fails the run with the message they put in err. progress is called about
 * twice a second, when the engine waits long for an arrival, and at the end.
 * stop (polled every step) ends the run early, as success. */
struct run_observer {
    void *ctx;
    int  (*begin)(void *ctx, const struct telemetry *t, const char *scenario_name, const char *scenario_path,
                  char *err, size_t errlen);
    int  (*step)(void *ctx, const struct telemetry *t, char *err, size_t errlen);
    int  (*end)(void *ctx, const struct telemetry *t, bool ok, char *err, size_t errlen);
    void (*progress)(void *ctx, const struct run_progress *p);
    bool (*stop)(void *ctx);
    FILE *progress_to;        /* with progress NULL: run_progress_print to it (NULL: none) */
};

/* Fill p from the published telemetry now. */
void run_progress_get(const struct telemetry *t, struct run_progress *p);

/* Print p to f: on a terminal one line rewritten in place ("\r"), ended at
 * the final call; elsewhere only the waits for a far arrival and the final
 * line. */
void run_progress_print(FILE *f, const struct run_progress *p);

/* Step e until its workload ends (or max_s > 0 seconds of run time pass).
 * 0 ok; 1 with one line in err: the engine failed (KV pool too small, ...) or
 * an observer failed. */
int run_to_end(struct engine *e, double max_s, const struct run_observer *o, char *err, size_t errlen);

/* Saturation probe: the scenario's first 2*max_batch (>= 8) requests all at
 * t=0 on m/be; capacity = completed requests per second. With max_s > 0 the
 * probe stops after max_s seconds and estimates capacity from its token
 * throughput: (prompt tokens run + tokens generated) per second ÷ the mean
 * tokens (prompt + output) of a probe request. log (NULL: silent) gets a line
 * before and after. 0 ok, 1 engine failure, 2 bad input (message in err). */
int run_probe_capacity(struct model *m, struct backend *be, const struct run_setup *b, double max_s,
                       const struct run_observer *o, FILE *log, double *cap, char *err, size_t errlen);

/* One run of the scenario: its workload at capacity cap (used by relative
 * rates; 0 = probe it first with this configuration), engine, run to the
 * end, report with every request's output tokens (r->outputs: free with
 * report_free). log gets the "run: ..." line. 0 ok, 1 runtime failure, 2 bad
 * input. */
int run_scenario(struct model *m, struct backend *be, const struct run_setup *b, double cap,
                 const struct run_observer *o, FILE *log, struct report *r, char *err, size_t errlen);

#endif
