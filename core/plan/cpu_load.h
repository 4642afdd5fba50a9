/* core/plan/cpu_load.h — how much of the machine other processes used over
 * an interval: the busy time of all CPUs (/proc/stat's first line) less this
 * process's own CPU time (getrusage(RUSAGE_SELF): every thread of ours, the
 * pool's spinning workers included), per second of wall time. Unlike the
 * 1-minute load average (an exponential average: a minute after another
 * run stops it still reads as load) it counts only the interval, and unlike
 * the load it never counts our own threads as others'. Used by
 * `plan --validate` (core/plan/validate.c) for its LOADED label. */
#ifndef INFERTOP_CPU_LOAD_H
#define INFERTOP_CPU_LOAD_H

#include <stdbool.h>
#include <stddef.h>

/* Shorter intervals are not measured: /proc/stat counts in ticks (10 ms). */
#define CPU_LOAD_MIN_S 1.0

struct cpu_sample {
    double busy_s;      /* CPU seconds all CPUs spent busy since boot (user, nice, system, irq, softirq, steal) */
    double own_s;       /* CPU seconds of this process (user + system, all threads) */
    double wall_s;      /* a monotonic clock */
    bool ok;            /* /proc/stat was read */
};

/* Busy CPU seconds from the text of /proc/stat (its "cpu " line: user nice
 * system idle iowait irq softirq steal ...) at ticks_per_s. Idle and iowait
 * are not busy; guest time is inside user already. 0 ok; -1 when the line
 * is missing or has fewer than 8 numbers. */
int cpu_stat_busy(const char *text, size_t n, double ticks_per_s, double *busy_s);

/* The machine's and this process's CPU time now. */
void cpu_sample_now(struct cpu_sample *s);

/* Average CPUs other processes kept busy between a and b (0 at least);
 * -1 when either sample failed or the interval is under CPU_LOAD_MIN_S. */
double cpu_others(const struct cpu_sample *a, const struct cpu_sample *b);

#endif
