/* tests/bench/bench_attn_blocks.c — decode attention over a paged K/V cache
 * whose block table is ascending, descending or shuffled, in interleaved
 * calls (so the machine's drift hits every order alike).
 *
 * Why: the host probe (core/plan/hw_probe.c) times decode attention through
 * one block table; the engine's tables hold a prompt's blocks in ascending
 * order (kvcache_paged.c frees a request's blocks tail first onto its free
 * stack). This measures what the order costs: the hardware prefetcher
 * follows ascending 16-token blocks, not jumps between them.
 *
 * One call: 1 query, heads H:HKV of 64, f16 K/V, flash, at position ctx-1;
 * calls cycle over `layers` layers (each reads K/V the others evicted).
 * Prints per order the median µs, GFLOP/s and its ratio to ascending.
 *
 *   build/bench_attn_blocks [--heads 9:3] [--layers 30] [--ctx 255,2047] [--reps 401] [--threads 2]
 */
#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "tests/bench/bench_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { HEAD_DIM = 64, BLOCK = 16, N_ORDERS = 3, MAX_CTX_LIST = 8, MAX_REPS = 4001 };
static const char *ORDER_NAMES[N_ORDERS] = {"ascending", "descending", "shuffled"};

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) { fprintf(stderr, "bench_attn_blocks: out of memory for %zu bytes\n", n); exit(1); }
    return p;
}

static void usage_error(const char *what)
{
    fprintf(stderr, "bench_attn_blocks: %s\nusage: bench_attn_blocks [--heads H:HKV] [--layers L] "
                    "[--ctx N[,N..]] [--reps R] [--threads T]\n", what);
    exit(2);
}

/* Block b's slot in table order o (n blocks). */
static int32_t block_at(int o, int b, int n)
{
    if (o == 0) return b;
    if (o == 1) return n - 1 - b;
    return (int32_t)(((int64_t)b * 37) % n);    /* 37 coprime with n (checked by the caller) */
}

static void run_ctx(struct backend *be, int H, int HKV, int layers, int ctx, int reps)
{
    int n_blocks = (ctx + BLOCK - 1) / BLOCK;
    if (n_blocks % 37 == 0) n_blocks++;          /* keep the shuffle a permutation */
    size_t kv_dim = (size_t)HKV * HEAD_DIM, per_layer = (size_t)n_blocks * BLOCK * kv_dim;
    uint16_t *k = xmalloc(per_layer * layers * 2), *v = xmalloc(per_layer * layers * 2);
    for (size_t i = 0; i < per_layer * layers; i++) {
        k[i] = (uint16_t)(0x3000 + (i * 7) % 1024);      /* f16 values in [0.125, 0.25) */
        v[i] = (uint16_t)(0x3000 + (i * 13) % 1024);
    }
    int32_t *tables[N_ORDERS];
    struct kv_view kv[N_ORDERS];
    for (int o = 0; o < N_ORDERS; o++) {
        tables[o] = xmalloc(sizeof(int32_t) * (size_t)n_blocks);
        for (int b = 0; b < n_blocks; b++) tables[o][b] = block_at(o, b, n_blocks);
        kv[o] = (struct kv_view){.k = k, .v = v, .layer_stride = per_layer, .table = tables[o],
                                 .n_blocks = n_blocks, .block_size = BLOCK, .kv_dim = (int)kv_dim,
                                 .kv_type = DT_F16};
    }
    float *q = xmalloc(sizeof(float) * (size_t)H * HEAD_DIM), *out = xmalloc(sizeof(float) * (size_t)H * HEAD_DIM);
    for (int i = 0; i < H * HEAD_DIM; i++) q[i] = (float)(i % 17) * 0.01f - 0.08f;
    struct attn_shape sh = {H, HKV, HEAD_DIM, 0.125f};
    static double ts[N_ORDERS][MAX_REPS];
    int layer = 0;
    for (int r = 0; r < reps; r++)
        for (int o = 0; o < N_ORDERS; o++) {
            uint64_t t0 = now_ns();
            backend_attention(be, ATTN_FLASH, out, q, &kv[o], layer, 1, ctx - 1, &sh);
            ts[o][r] = (double)(now_ns() - t0) * 1e-9;
            layer = (layer + 1) % layers;
        }
    double flops = 4.0 * ctx * H * HEAD_DIM, base = 0;
    printf("ctx %5d, %d layers (K/V %.1f MB):", ctx, layers, (double)ctx * kv_dim * 2 * 2 * layers / 1e6);
    for (int o = 0; o < N_ORDERS; o++) {
        double s = bench_median(ts[o], reps);
        if (o == 0) base = s;
        printf("  %s %.2f us %.1f GFLOP/s x%.3f", ORDER_NAMES[o], s * 1e6, flops / s / 1e9, s / base);
    }
    printf("\n");
    for (int o = 0; o < N_ORDERS; o++) free(tables[o]);
    free(k); free(v); free(q); free(out);
}

int main(int argc, char **argv)
{
    int H = 9, HKV = 3, layers = 30, reps = 401, threads = 2, n_ctx = 2, ctx[MAX_CTX_LIST] = {255, 2047};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!val) usage_error("an option without its value");
        if (!strcmp(a, "--heads")) {
            if (sscanf(val, "%d:%d", &H, &HKV) != 2 || H < 1 || HKV < 1 || H % HKV || H > 128)
                usage_error("--heads: expected H:HKV, H a multiple of HKV, H <= 128");
        } else if (!strcmp(a, "--layers")) {
            layers = atoi(val);
            if (layers < 1 || layers > 256) usage_error("--layers: expected 1..256");
        } else if (!strcmp(a, "--reps")) {
            reps = atoi(val);
            if (reps < 1 || reps > MAX_REPS) usage_error("--reps: expected 1..4001");
        } else if (!strcmp(a, "--threads")) {
            threads = atoi(val);
            if (threads < 1 || threads > 256) usage_error("--threads: expected 1..256");
        } else if (!strcmp(a, "--ctx")) {
            n_ctx = 0;
            for (const char *p = val; *p && n_ctx < MAX_CTX_LIST;) {
                char *end;
                long c = strtol(p, &end, 10);
                if (end == p || c < 1 || c > 65536) usage_error("--ctx: expected positions 1..65536, comma-separated");
                ctx[n_ctx++] = (int)c;
                p = *end == ',' ? end + 1 : end;
                if (*end && *end != ',') usage_error("--ctx: expected positions 1..65536, comma-separated");
            }
            if (!n_ctx) usage_error("--ctx: expected at least one position");
        } else {
            usage_error("unknown option");
        }
        i++;
    }
    struct backend *be = cpu_backend_create(threads, CPU_SIMD_AVX512);
    if (!be) { fprintf(stderr, "bench_attn_blocks: no CPU backend\n"); return 1; }
    printf("bench_attn_blocks: decode attention, heads %d:%d of %d, f16 K/V, flash, %d threads, median of %d "
           "interleaved calls per order\n", H, HKV, HEAD_DIM, threads, reps);
    for (int c = 0; c < n_ctx; c++) run_ctx(be, H, HKV, layers, ctx[c], reps);
    backend_destroy(be);
    return 0;
}
