/* core/plan/hw_probe.h — the host row's measurements (core/plan/hw_probe.c):
 * the machine's read bandwidth by working set and the CPU backend's own ops
 * timed at the sizes of struct roof_profile (kernels/roofline.h), in
 * HW_PROBE_PASSES short passes of everything (the matmul grid, most of the
 * time, in the first HW_PROBE_MM_PASSES), each value the median over
 * passes (a burst of load from another process spoils one pass of every
 * probe, not every pass of one). Used by hw_host.c (and validate.c: the load). */
#ifndef INFERTOP_HW_PROBE_H
#define INFERTOP_HW_PROBE_H

#include "kernels/backend.h"
#include "kernels/roofline.h"

#include <stddef.h>

#define HW_PROBE_PASSES 5
#define HW_PROBE_MM_PASSES 3     /* the matmul grid (10 shapes per format): in the first 3 */

/* Measure into d: bw, near/llc tiers, op_overhead_s, wtype_flops (every
 * format hw_cache_measured lists, from the 128-row probe at K 1536 N 1024) and prof, on be
 * (its thread count is the engine's). 0 ok; -1 with err (out of memory, a
 * probe that measured nothing). */
int hw_probe_all(struct backend *be, struct roof_device *d, char *err, size_t errlen);

/* The physical order the medians must keep, made where noise broke it: a
 * matmul's time per weight element does not fall as x rows are added (each
 * row adds its multiply-adds), a small op's time does not fall as elements
 * are added. Waiting for a CPU only ever adds time, so each value is bounded
 * by the larger sizes' (x[i] = min(x[i..n)), per matmul shape and small op). */
void hw_profile_order(struct roof_profile *p);

/* The 1-minute load average (getloadavg), -1 when unknown. */
double hw_load_average(void);

#endif
