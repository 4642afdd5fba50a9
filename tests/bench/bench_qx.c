/* tests/bench/bench_qx.c — decode matvec (m = 1) of the own quantized
 * formats against the GGUF block format each replaces, per SIMD path and
 * thread count, ratios measured in one run.
 *
 * Pairs (baseline, own): q8_0 vs int8 (W8A16, per channel), q4_0 vs int4
 * (i4s_32, W4A16), q8_0 vs w8a8 (per-token int8 activations). At SmolLM2-135M's
 * shapes (q/o 576x576, k/v 192x576, gate/up 1536x576, down 576x1536, the tied
 * head 49152x576). The weights cycle through copies (>= 64 MiB per side) so
 * every call streams them from memory as a decode step does. Rounds alternate
 * A and B; x = median over rounds of A time / B time (> 1: own faster).
 *
 *   build/bench_qx [--rounds R] [--simd avx2|avx512|amx] [--threads 1|2] [--set-mib M]
 * (default: every SIMD level this CPU has — amx: Q8_0/Q4_0 on their AMX-level
 * kernels, the own formats as at avx512 — threads 1 and 2, M = 64; a small M,
 * e.g. 1, keeps the weights in cache: the kernels' compute alone). */
#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/formats.h"
#include "tests/bench/bench_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_rounds = 7;
static int g_set_mib = 64;   /* weights cycled per side: 64 MiB streams them from memory (or L3); 1 keeps them in L2 */

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) { fprintf(stderr, "bench_qx: out of memory for %zu bytes\n", n); exit(1); }
    return p;
}

/* Seconds per m = 1 matmul, cycling through the copies. */
static double time_calls(struct backend *be, const struct bench_wset *s, const float *x, float *y, int calls)
{
    uint64_t t0 = now_ns();
    for (int i = 0; i < calls; i++) be->ops->matmul(be, y, &s->w[i % s->copies], x, 1);
    return (now_ns() - t0) / 1e9 / calls;
}

static int copies_for(size_t bytes) { size_t c = ((size_t)g_set_mib << 20) / bytes + 1; return c > 256 ? 256 : (int)c; }

/* Median A time, B time and A/B over alternating rounds. */
static void time_ab(struct backend *be, const struct bench_wset *a, const struct bench_wset *b, int K, int N, double out[3])
{
    float *x = xmalloc(sizeof(float) * (size_t)K), *y = xmalloc(sizeof(float) * (size_t)N);
    for (int i = 0; i < K; i++) x[i] = (float)((i * 2654435761u) % 1000) / 1000 - 0.5f;
    double ta[32], tb[32], rt[32];
    int calls = (int)(0.03 / (a->bytes / 1e10));
    if (calls < a->copies) calls = a->copies;
    if (calls > 4000) calls = 4000;
    time_calls(be, a, x, y, a->copies);
    time_calls(be, b, x, y, b->copies);
    for (int r = 0; r < g_rounds; r++) {
        ta[r] = time_calls(be, a, x, y, calls);
        tb[r] = time_calls(be, b, x, y, calls);
        rt[r] = ta[r] / tb[r];
    }
    out[0] = bench_median(ta, g_rounds);
    out[1] = bench_median(tb, g_rounds);
    out[2] = bench_median(rt, g_rounds);
    free(x);
    free(y);
}

struct shape { const char *name; int N, K; };

static void table(enum cpu_simd simd, int threads)
{
    static const struct shape shapes[] = {
        {"q/o", 576, 576}, {"k/v", 192, 576}, {"gate/up", 1536, 576}, {"down", 576, 1536}, {"head", 49152, 576},
    };
    static const enum dtype pairs[][2] = {{DT_Q8_0, DT_I8}, {DT_Q4_0, DT_I4S_32}, {DT_Q8_0, DT_W8A8}};
    struct backend *be = cpu_backend_create(threads, simd);
    if (!be) { fprintf(stderr, "bench_qx: no CPU backend\n"); exit(1); }
    printf("\nsimd %s, %d thread%s: time us per m=1 matmul (median of %d rounds), x = A time / B time\n",
           cpu_simd_name(simd), threads, threads > 1 ? "s" : "", g_rounds);
    printf("%-8s %-6s %9s %-8s %9s %7s\n", "shape", "A", "us", "B", "us", "x");
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++)
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
            const struct shape *sh = &shapes[si];
            size_t bytes = dtype_row_bytes(pairs[p][0], sh->K) * (size_t)sh->N;
            struct bench_wset a = bench_wset_make(pairs[p][0], sh->N, sh->K, copies_for(bytes), NULL);
            struct bench_wset b = bench_wset_make(pairs[p][1], sh->N, sh->K, copies_for(bytes), NULL);
            double r[3];
            time_ab(be, &a, &b, sh->K, sh->N, r);
            printf("%-8s %-6s %9.1f %-8s %9.1f %6.2fx\n", sh->name, dtype_info(pairs[p][0])->name, r[0] * 1e6,
                   dtype_info(pairs[p][1])->name, r[1] * 1e6, r[2]);
            fflush(stdout);
            bench_wset_free(&a);
            bench_wset_free(&b);
        }
    backend_destroy(be);
}

int main(int argc, char **argv)
{
    int only_simd = -1, only_threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rounds") && i + 1 < argc) g_rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--simd") && i + 1 < argc) {
            enum cpu_simd l;
            if (!cpu_simd_parse(argv[++i], &l) || l < CPU_SIMD_AVX2) {
                fprintf(stderr, "bench_qx: --simd: expected avx2, avx512 or amx, got '%s'\n", argv[i]);
                return 2;
            }
            only_simd = (int)l;
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) only_threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--set-mib") && i + 1 < argc) g_set_mib = atoi(argv[++i]);
        else { fprintf(stderr, "usage: bench_qx [--rounds R] [--simd avx2|avx512|amx] [--threads N] [--set-mib M]\n"); return 2; }
    }
    if (g_rounds < 1 || g_rounds > 32) { fprintf(stderr, "bench_qx: --rounds: expected 1..32\n"); return 2; }
    if (g_set_mib < 0 || g_set_mib > 4096) { fprintf(stderr, "bench_qx: --set-mib: expected 0..4096\n"); return 2; }
    FILE *la = fopen("/proc/loadavg", "r");
    char load[64] = "?";
    if (la) { if (!fgets(load, sizeof load, la)) strcpy(load, "?"); fclose(la); }
    load[strcspn(load, "\n")] = 0;
    printf("bench_qx: decode matvec, own formats vs GGUF blocks, %d MiB of weights cycled per side (load %s)", g_set_mib, load);
    for (int s = (int)cpu_simd_detect(); s >= CPU_SIMD_AVX2; s--) {
        if ((only_simd >= 0 && s != only_simd) || s > (int)cpu_simd_detect()) continue;
        for (int t = 1; t <= 2; t++)
            if (!only_threads || t == only_threads) table((enum cpu_simd)s, t);
    }
    return 0;
}
