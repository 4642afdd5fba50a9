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
 * layer/op ranges. Files are written to F.tmp and renamed to F. */
#ifndef INFERTOP_TRACES_EXPORT_H
#define INFERTOP_TRACES_EXPORT_H

#include "traces/nvtx.h"
#include "traces/trace_run.h"

#include <stdio.h>

struct trace_range {
    const char *name;
    enum nvtx_category cat;
    int64_t t0_ns, t1_ns;
    int depth;
    const struct trace_kernel *k;   /* op ranges */
    int64_t value;                  /* layer index, tokens or sequences (by range) */
};

/* Call fn on every range of step st in pre-order (parents before children,
 * siblings in time order). Stops and returns fn's first non-zero result. */
typedef int (*trace_range_fn)(void *ctx, const struct trace_run *r, const struct trace_step *st,
                              const struct trace_range *rg);
int trace_step_ranges(const struct trace_run *r, const struct trace_step *st, trace_range_fn fn, void *ctx);

enum nvtxt_timebase { NVTXT_MANUAL, NVTXT_MONOTONIC_RAW };

/* 0 ok; -1 with a one-line message in err (nothing left at path). */
int export_chrome(const struct trace_run *r, const char *path, char *err, size_t errlen);
int export_nvtxt(const struct trace_run *r, const char *path, enum nvtxt_timebase tb, char *err, size_t errlen);

/* Temp-file helpers shared by the writers: open path.tmp; commit closes and
 * renames it onto path when ok, else removes it. */
FILE *export_open_tmp(const char *path, char *tmp, size_t tmplen, char *err, size_t errlen);
int   export_commit(FILE *f, const char *tmp, const char *path, bool ok, char *err, size_t errlen);

#endif
