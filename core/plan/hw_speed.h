/* core/plan/hw_speed.h — how fast the host is right now: a short reference
 * measurement (~40 ms) repeated through `plan --validate`'s CPU run, so the
 * run can say how far the machine's own speed moved from the moment the
 * host row was probed. On a shared 2-core VM the same read of memory moved
 * ±15% and the same FMA loop ±7% within seconds (2026-12-03, AMD EPYC VM):
 * per-step errors below that are the machine's, not the model's.
 *
 * Measured: the read bandwidth of HW_SPEED_BYTES (past any LLC) by the
 * ref's threads (integer sums, as the host probe's main-memory tier), best
 * of HW_SPEED_READS reads; and the f32 FMA rate on registers (no memory) of
 * the ref's threads at once, summed, best of HW_SPEED_FMAS runs. Best, not
 * median: waiting for a CPU only ever adds time. validate samples with the
 * engine's threads after a quiet pause longer than the pool workers' spin
 * (threadpool.c: they sleep after 2 ms idle), so no sampling thread shares
 * a core with a spinning worker: one thread's samples (until 2026-12-03)
 * missed runs where both of the engine's threads were 25-30% slower than at
 * the probes while one thread's read and FMA rate were not. */
#ifndef INFERTOP_HW_SPEED_H
#define INFERTOP_HW_SPEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HW_SPEED_BYTES ((size_t)128 << 20)
#define HW_SPEED_READS 3
#define HW_SPEED_FMAS 3

struct hw_speed_ref {
    uint64_t *buf;              /* HW_SPEED_BYTES, written once */
    int threads;
    uint64_t quiet_ns;          /* slept before each sample */
    uint64_t sink;
};

struct hw_speed {
    double t_s;                 /* CLOCK_MONOTONIC seconds when taken */
    double bw;                  /* bytes/s */
    double fma_flops;           /* FLOP/s of the ref's threads together */
};

/* 0 ok; -1 out of memory. threads: the engine's; quiet_ns: the pause before
 * each sample (0: none). */
int  hw_speed_init(struct hw_speed_ref *r, int threads, uint64_t quiet_ns);
void hw_speed_take(struct hw_speed_ref *r, struct hw_speed *out);
void hw_speed_free(struct hw_speed_ref *r);

/* The speed at time t over ref's: the bandwidth (fma: the FMA rate) of the
 * n samples s (in time order) interpolated linearly at t, clamped to the
 * first and last; 1 when n == 0 or ref measured nothing. */
double hw_speed_ratio_at(const struct hw_speed *s, int n, double t, const struct hw_speed *ref, bool fma);

#endif
