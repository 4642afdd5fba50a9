/* tests/bench/bench_f32mm.c — the matmuls of one decode step of
 * synth:smollm2-135m in f32 at m = 1..16 x rows (a batch of m decode
 * sequences), per matrix class, on the CPU backend.
 *
 * One "step" is every matrix of the model once, in the forward's order: 30
 * layers of q/o [576][576], k/v [192][576], gate/up [1536][576], down
 * [576][1536], then the tied head [49152][576] — 513 MiB of f32 weights, so a
 * step streams them from memory (or a large L3) as a decode step does. Per m
 * it prints ms per step (median of rounds), the share per class, the step's
 * weight bytes ÷ time (GB/s) and FLOPs ÷ time (GFLOP/s).
 *
 * --cpu-time times with the process's CPU clock instead of the wall clock: on a
 * machine shared with other jobs, at 1 thread, that leaves out the time the
 * thread waits for a core (at 2 threads it counts the pool's spinning too).
 *
 * --wtype f16|bf16 stores the same matrices in a 16-bit format (same tiles);
 * any other GGUF weight format (q8_0, q4_1, ...) times that format's kernels.
 *
 *   build/bench_f32mm [--rounds R] [--simd scalar|avx2|avx512] [--threads N] [--m 1,2,4,8]
 *                     [--wtype f32|f16|bf16|q8_0|...] [--cpu-time]
 */
#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/formats.h"
#include "tests/bench/bench_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { N_LAYERS = 30, N_CLASS = 5, M_MAX = 64 };

struct mat_class { const char *name; int N, K, per_layer; };
static const struct mat_class CLASSES[N_CLASS] = {
    {"q/o", 576, 576, 2}, {"k/v", 192, 576, 2}, {"gate/up", 1536, 576, 2}, {"down", 576, 1536, 1},
    {"head", 49152, 576, 0},
};

static bool g_cpu_time;

/* Nanoseconds on the chosen clock. */
static uint64_t clock_ns(void)
{
    if (!g_cpu_time) return now_ns();
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) { fprintf(stderr, "bench_f32mm: out of memory for %zu bytes\n", n); exit(1); }
    return p;
}

static enum dtype g_wtype = DT_F32;

/* A random weight [N][K] of type g_wtype, values in [-1, 1). */
static struct weight make_weight(int N, int K, uint64_t seed)
{
    struct weight w = {.type = g_wtype, .rows = N, .cols = K};
    char *d = xmalloc(weight_bytes(&w));
    float *row = xmalloc(sizeof(float) * (size_t)K);
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
    for (int r = 0; r < N; r++) {
        for (int k = 0; k < K; k++) {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            row[k] = (float)((s >> 40) % 2001) / 1000.f - 1.0005f;
        }
        dtype_encode_row(g_wtype, row, d + (size_t)r * dtype_row_bytes(g_wtype, K), K);
    }
    free(row);
    w.data = d;
    return w;
}

struct model_set { struct weight *w[N_CLASS]; int count[N_CLASS]; double bytes, flops_per_row; };

static struct model_set make_set(void)
{
    struct model_set ms = {0};
    for (int c = 0; c < N_CLASS; c++) {
        ms.count[c] = CLASSES[c].per_layer ? CLASSES[c].per_layer * N_LAYERS : 1;
        ms.w[c] = xmalloc(sizeof(struct weight) * (size_t)ms.count[c]);
        for (int i = 0; i < ms.count[c]; i++) ms.w[c][i] = make_weight(CLASSES[c].N, CLASSES[c].K, (uint64_t)(c * 1000 + i + 1));
        ms.bytes += (double)dtype_row_bytes(g_wtype, CLASSES[c].K) * CLASSES[c].N * ms.count[c];
        ms.flops_per_row += 2.0 * CLASSES[c].N * CLASSES[c].K * ms.count[c];
    }
    return ms;
}

/* One step at m rows: seconds per class in t[]. */
static void run_step(struct backend *be, const struct model_set *ms, const float *x, float *y, int m, double t[N_CLASS])
{
    for (int c = 0; c < N_CLASS; c++) t[c] = 0;
    for (int l = 0; l < N_LAYERS; l++)
        for (int c = 0; c < N_CLASS - 1; c++)
            for (int i = 0; i < CLASSES[c].per_layer; i++) {
                uint64_t t0 = clock_ns();
                be->ops->matmul(be, y, &ms->w[c][l * CLASSES[c].per_layer + i], x, m);
                t[c] += (clock_ns() - t0) / 1e9;
            }
    uint64_t t0 = clock_ns();
    be->ops->matmul(be, y, &ms->w[N_CLASS - 1][0], x, m);
    t[N_CLASS - 1] += (clock_ns() - t0) / 1e9;
}

static void bench_m(struct backend *be, const struct model_set *ms, int m, int rounds)
{
    float *x = xmalloc(sizeof(float) * (size_t)m * 1536), *y = xmalloc(sizeof(float) * (size_t)m * 49152);
    for (int i = 0; i < m * 1536; i++) x[i] = (float)((i * 2654435761u) % 1000) / 1000 - 0.5f;
    double tot[32], cls[N_CLASS][32], t[N_CLASS];
    run_step(be, ms, x, y, m, t);   /* warm-up */
    for (int r = 0; r < rounds; r++) {
        run_step(be, ms, x, y, m, t);
        tot[r] = 0;
        for (int c = 0; c < N_CLASS; c++) { cls[c][r] = t[c]; tot[r] += t[c]; }
    }
    double med = bench_median(tot, rounds);
    printf("m=%-3d %8.2f ms %7.1f GB/s %7.1f GFLOP/s |", m, med * 1e3, ms->bytes / med / 1e9,
           ms->flops_per_row * m / med / 1e9);
    for (int c = 0; c < N_CLASS; c++) printf(" %s %.2f", CLASSES[c].name, bench_median(cls[c], rounds) * 1e3);
    printf(" ms\n");
    fflush(stdout);
    free(x);
    free(y);
}

/* Parse "1,2,4" into ms[]; returns the count or -1. */
static int parse_ms(const char *s, int *ms, int cap)
{
    int n = 0;
    while (*s && n < cap) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > M_MAX) return -1;
        ms[n++] = (int)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return -1;
    }
    return n;
}

int main(int argc, char **argv)
{
    int rounds = 5, threads = 2, ms_list[16] = {1, 2, 4, 7, 8, 16}, n_m = 6;
    enum cpu_simd simd = cpu_simd_detect();
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--simd") && i + 1 < argc) {
            if (!cpu_simd_parse(argv[++i], &simd)) { fprintf(stderr, "bench_f32mm: --simd: expected scalar, avx2 or avx512, got '%s'\n", argv[i]); return 2; }
        } else if (!strcmp(argv[i], "--m") && i + 1 < argc) {
            if ((n_m = parse_ms(argv[++i], ms_list, 16)) < 1) { fprintf(stderr, "bench_f32mm: --m: expected a list of 1..%d\n", M_MAX); return 2; }
        } else if (!strcmp(argv[i], "--wtype") && i + 1 < argc) {
            i++;
            int t = dtype_from_name(argv[i]);
            if (t < 0 || t >= DT_GGML_COUNT || 576 % dtype_info((enum dtype)t)->block_elems) {
                fprintf(stderr, "bench_f32mm: --wtype: expected a GGUF weight format whose blocks divide the rows "
                        "of 576 (f32, f16, bf16, q8_0, q4_0, q4_1), got '%s'\n", argv[i]);
                return 2;
            }
            g_wtype = (enum dtype)t;
        } else if (!strcmp(argv[i], "--cpu-time")) g_cpu_time = true;
        else { fprintf(stderr, "usage: bench_f32mm [--rounds R] [--simd L] [--threads N] [--m 1,2,4] [--wtype f32|f16|bf16|q8_0|...] [--cpu-time]\n"); return 2; }
    }
    if (rounds < 1 || rounds > 32) { fprintf(stderr, "bench_f32mm: --rounds: expected 1..32\n"); return 2; }
    if (threads < 1 || threads > 64) { fprintf(stderr, "bench_f32mm: --threads: expected 1..64\n"); return 2; }
    struct backend *be = cpu_backend_create(threads, simd);
    if (!be) { fprintf(stderr, "bench_f32mm: no CPU backend\n"); return 1; }
    struct model_set ms = make_set();
    FILE *la = fopen("/proc/loadavg", "r");
    char load[64] = "?";
    if (la) { if (!fgets(load, sizeof load, la)) strcpy(load, "?"); fclose(la); }
    load[strcspn(load, "\n")] = 0;
    printf("bench_f32mm: %s matmuls of one smollm2-135m decode step (%.0f MiB), simd %s, %d thread%s, median of %d, %s time (load %s)\n",
           dtype_info(g_wtype)->name, ms.bytes / 1048576, cpu_simd_name(simd), threads, threads > 1 ? "s" : "", rounds,
           g_cpu_time ? "CPU" : "wall", load);
    for (int i = 0; i < n_m; i++) bench_m(be, &ms, ms_list[i], rounds);
    backend_destroy(be);
    for (int c = 0; c < N_CLASS; c++) {
        for (int i = 0; i < ms.count[c]; i++) free(ms.w[c][i].data);
        free(ms.w[c]);
    }
    return 0;
}
