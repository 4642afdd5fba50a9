/* traces/traffic_measure.h — `--measure-traffic N`: N engine steps measured
 * by the CUPTI range profiler (traces/cupti_range.h), one range per op launch
 * (the CUDA backend pushes "<record index>#<op class>"), summed per op class
 * beside the same steps' MODELED bytes from the kernel records, with the error.
 *
 * Use: traffic_measure_open (fails with the reason when there is no GPU or no
 * counters) → traffic_measure_step after every engine step (the window opens
 * after the first step, so warm-up launches stay out, and closes after N more)
 * → traffic_measure_print → traffic_measure_close. Reads core/telemetry.h only. */
#ifndef INFERTOP_TRAFFIC_MEASURE_H
#define INFERTOP_TRAFFIC_MEASURE_H

#include <stdio.h>

#include "core/telemetry.h"
#include "traces/cupti_range.h"

#define TM_MAX_ROWS 64
#define TM_MAX_RANGES 4096

struct tm_row {
    char name[24];
    int ranges;                      /* measured launches of this op */
    double dram, l2, smem_wavefronts, gpu_ns;    /* measured, summed */
    double modeled_dram, modeled_chip;           /* the kernel records', summed */
};

struct traffic_measure {
    struct crp_session s;
    int steps, seen;                 /* steps wanted; steps observed so far */
    bool in_window, done;
    struct crp_range *ranges;        /* [TM_MAX_RANGES] */
    int n_ranges, dropped;
    struct tm_row rows[TM_MAX_ROWS];
    int n_rows;
    char reason[256];                /* why nothing was measured ("" when it was) */
};

/* Open the profiler for `steps` steps on the backend named backend_name
 * (only "cuda" has counters). 0, or 2 with the one-line reason in err
 * (nothing to measure; the caller names itself before it). */
int traffic_measure_open(struct traffic_measure *m, const struct crp_ops *ops, void *ctx, const char *backend_name,
                         int device, int steps, char *err, size_t errlen);
/* After each engine step: opens the window after the first, closes it after
 * `steps` more (then the rows are filled). 0, or -1 when CUPTI failed mid-way
 * (m->reason says why; the run itself goes on). */
int traffic_measure_step(struct traffic_measure *m, const struct telemetry *t);
/* Sum the ranges per op class ("12#matmul" → "matmul"); the modeled side,
 * per class of the step's kernel records, is added by traffic_measure_step
 * (tm_add_modeled). */
void tm_add_measured(struct traffic_measure *m, const struct crp_range *r, int n);
void tm_add_modeled(struct traffic_measure *m, const struct kernel_record *k, int n);
void traffic_measure_print(const struct traffic_measure *m, FILE *f);
void traffic_measure_close(struct traffic_measure *m);

#endif
