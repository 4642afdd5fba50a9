/* tests/bench/bench_util.h — what the CPU benchmarks (bench_cpu.c,
 * bench_sparse.c) measure the same way: STREAM-style read bandwidth and the
 * median of repeated timings. */
#ifndef INFERTOP_BENCH_UTIL_H
#define INFERTOP_BENCH_UTIL_H

#include <stddef.h>

/* GB/s reading buf[bytes / 4] once, split over `threads` (1..64) threads that
 * sum their part; the best of `reps` passes. */
double bench_read_bandwidth(const float *buf, size_t bytes, int threads, int reps);

/* The median of v[0..n) (sorts v in place); 0 for n <= 0. */
double bench_median(double *v, int n);

#endif
