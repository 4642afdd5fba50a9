/* core/plan/cpu_load.c — see cpu_load.h. */
#include "core/plan/cpu_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

int cpu_stat_busy(const char *text, size_t n, double ticks_per_s, double *busy_s)
{
    if (n < 5 || strncmp(text, "cpu ", 4) != 0 || !(ticks_per_s > 0)) return -1;
    char line[512];
    const char *nl = memchr(text, '\n', n);
    size_t len = nl ? (size_t)(nl - text) : n;
    if (len >= sizeof line) return -1;
    memcpy(line, text, len);
    line[len] = 0;
    /* user nice system idle iowait irq softirq steal */
    double v[8];
    const char *p = line + 4;
    for (int i = 0; i < 8; i++) {
        char *end;
        v[i] = strtod(p, &end);
        if (end == p || v[i] < 0) return -1;
        p = end;
    }
    *busy_s = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / ticks_per_s;
    return 0;
}

void cpu_sample_now(struct cpu_sample *s)
{
    memset(s, 0, sizeof *s);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    s->wall_s = (double)ts.tv_sec + ts.tv_nsec / 1e9;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        s->own_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                   ru.ru_stime.tv_usec / 1e6;
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return;
    char text[512];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    long hz = sysconf(_SC_CLK_TCK);
    s->ok = cpu_stat_busy(text, n, hz > 0 ? (double)hz : 100, &s->busy_s) == 0;
}

double cpu_others(const struct cpu_sample *a, const struct cpu_sample *b)
{
    double wall = b->wall_s - a->wall_s;
    if (!a->ok || !b->ok || !(wall >= CPU_LOAD_MIN_S)) return -1;
    double others = ((b->busy_s - a->busy_s) - (b->own_s - a->own_s)) / wall;
    return others > 0 ? others : 0;
}
