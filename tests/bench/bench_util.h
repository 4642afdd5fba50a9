/* tests/bench/bench_util.h — what the CPU benchmarks (bench_cpu.c,
 * bench_sparse.c, bench_qx.c) measure the same way: STREAM-style read
 * bandwidth, the median of repeated timings, and the one-sequence K/V cache
 * their forward passes run on. */
#ifndef INFERTOP_BENCH_UTIL_H
#define INFERTOP_BENCH_UTIL_H

#include "kernels/backend.h"

#include <stddef.h>

/* GB/s reading buf[bytes / 4] once, split over `threads` (1..64) threads that
 * sum their part; the best of `reps` passes. */
double bench_read_bandwidth(const float *buf, size_t bytes, int threads, int reps);

/* The median of v[0..n) (sorts v in place); 0 for n <= 0. */
double bench_median(double *v, int n);

/* `copies` weights [N][K] of type t, copy c encoded from its own xorshift
 * stream of floats in [-1, 1) (the same streams in every benchmark, so two
 * sets of different types hold the same values); edit_row, when non-NULL,
 * changes each float row before it is encoded (e.g. 2:4 pruning). The copies
 * exist so a timing loop can cycle through more weights than the caches hold.
 * bytes = one copy's size. Exits on OOM. */
struct bench_wset { struct weight *w; int copies; size_t bytes; };
struct bench_wset bench_wset_make(enum dtype t, int N, int K, int copies, void (*edit_row)(float *row, int K));
void bench_wset_free(struct bench_wset *s);

/* A one-sequence K/V cache of ctx tokens for model config c: f16, the engine's
 * default kv_dtype (and llama.cpp's), one block table entry. Exits on OOM. */
struct model_config;
struct bench_kv { void *k, *v; int32_t table[1]; struct kv_view view; };
void bench_kv_init(struct bench_kv *kb, const struct model_config *c, int ctx);
void bench_kv_free(struct bench_kv *kb);

#endif
