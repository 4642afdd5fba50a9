/* traces/export.h — a trace_run as Chrome Trace Event JSON or NVTXT.
 *
 * Both exporters walk the same range tree per step (trace_step_ranges):
 *   schedule                     t .. t+plan
 *   step                         t+plan .. t+dur (forward + sampling)
 *     forward                    category prefill, decode or mixed (see traces/nvtx.h)
 *       <op> (layer -1: embed, final norm, lm head) from kernel records
 *       layer                    span of the layer's kernel records
 *         attention              records before the layer's second rmsnorm
 *           <op> ...
 *           prefill | decode     per-sequence kv_store + attention of consecutive
 *             <op> ...           sequences of one kind (plan order)
 *         mlp                    from the second rmsnorm on
 *           <op> ...
 *     sample
 * Steps whose kernel records were not kept (trace_run.h policy) have no
 * layer/op ranges. Files are written through traces/outfile.h (a regular
 * file is replaced atomically; a device, FIFO or symlink is written through). */
#ifndef INFERTOP_TRACES_EXPORT_H
#define INFERTOP_TRACES_EXPORT_H

#include "traces/nvtx.h"
#include "traces/outfile.h"
#include "traces/trace_run.h"

#include <stdio.h>

struct trace_range {
    const char *name;
    enum nvtx_category cat;
    int64_t t0_ns, t1_ns;
    int depth;
    const struct trace_kernel *k;   /* op ranges */
    int64_t value;                  /* layer index, tokens or sequences (by range) */
    int device;                     /* the kernels' device tag (tp/pp device groups); 0 for the
                                       engine's own ranges: step, forward, schedule, sample */
};

/* Call fn on every range of step st in pre-order (parents before children,
 * siblings in time order). Stops and returns fn's first non-zero result. */
typedef int (*trace_range_fn)(void *ctx, const struct trace_run *r, const struct trace_step *st,
                              const struct trace_range *rg);
int trace_step_ranges(const struct trace_run *r, const struct trace_step *st, trace_range_fn fn, void *ctx);

/* Tracks of a tp/pp device group, the same in both exporters: device 0's
 * ranges share the engine's track; device d > 0 has its own ("device d");
 * every device d has one more for its pipeline segments ("device d pipeline
 * (stage s, rank r)"): "mb N" compute, "send mb N" / "recv mb N" and
 * "idle (bubble)". Devices >= TRACE_MAX_DEVICE_TRACKS are left out. */
#define TRACE_MAX_DEVICE_TRACKS 30
void trace_device_track_name(int device, char *buf, size_t n);
void trace_pipe_track_name(const struct trace_step *st, int device, char *buf, size_t n);
const char *trace_segment_label(const struct tel_segment *g, char *buf, size_t n);
/* NVTX category of a segment: compute = step (the live per-micro-batch
 * forward range's), send/recv = comm, idle = bubble. */
enum nvtx_category trace_segment_category(const struct tel_segment *g);

enum nvtxt_timebase { NVTXT_MANUAL, NVTXT_MONOTONIC_RAW };

/* 0 ok; -1 with a one-line message in err (a regular file at path is left as it was). */
int export_chrome(const struct trace_run *r, const char *path, char *err, size_t errlen);
int export_nvtxt(const struct trace_run *r, const char *path, enum nvtxt_timebase tb, char *err, size_t errlen);

/* Where the exporters get a detailed step's kernel records when the run was
 * read without them (recorder_read_compact): load(ctx, i, out) fills *out
 * with step i in full (the exporter frees it with trace_step_free after
 * writing it), so only one step's kernels are in memory at a time.
 * 0 ok; -1 with a message in err. */
struct step_source {
    int (*load)(void *ctx, int i, struct trace_step *out, char *err, size_t errlen);
    void *ctx;
};
/* export_chrome / export_nvtxt with steps from src (NULL: r's own steps). */
int export_chrome_src(const struct trace_run *r, const struct step_source *src, const char *path, char *err,
                      size_t errlen);
int export_nvtxt_src(const struct trace_run *r, const struct step_source *src, const char *path,
                     enum nvtxt_timebase tb, char *err, size_t errlen);
/* Step i as an exporter writes it: r->steps[i], or loaded from src into
 * *full (then release it with export_step_done). NULL when loading failed
 * (message in err). */
const struct trace_step *export_step(const struct trace_run *r, const struct step_source *src, int i,
                                     struct trace_step *full, char *err, size_t errlen);
void export_step_done(const struct trace_step *st, struct trace_step *full);

/* cJSON_AddStringToObject with s made well-formed UTF-8 first (utf8_sanitized,
 * invalid bytes become U+FFFD): every text of a JSON output that may come from
 * outside (model, scenario, device, option values, recordings) goes through
 * here, so JSON parsers take the file. */
struct cJSON;
void json_add_text(struct cJSON *o, const char *key, const char *s);
/* cJSON_AddNumberToObject for n (key, value) pairs, in order. */
void json_add_numbers(struct cJSON *o, const char *const *keys, const double *v, int n);

#endif
