/* tests/bench/bench_attn_decode.c — decode attention microbenchmark (not part
 * of `make bench`): smollm2-135m shape (9 query heads, 3 KV heads, d 64), a
 * paged cache of 16-token blocks spread over a 30-layer pool, n_q = 1..4 at
 * contexts 256..2048, 1 and 2 threads, naive and flash. Each cell: best of 5
 * runs of a loop over all 30 layers (different K/V memory, as in a step).
 *
 * Build: cc -std=c11 -O2 -D_GNU_SOURCE -I. -pthread tests/bench/bench_attn_decode.c \
 *        build/libinfertop.a $(LDLIBS) -o build/bench_attn_decode */
#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define LAYERS 30
#define BS 16

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int simd = argc > 1 ? atoi(argv[1]) : (int)cpu_simd_detect();
    struct attn_shape sh = {9, 3, 64, 0.125f};
    int kvd = sh.n_kv_heads * sh.head_dim, qd = sh.n_heads * sh.head_dim, max_ctx = 2048 + 4;
    int n_blocks = (max_ctx + BS - 1) / BS, pool_blocks = n_blocks + 7;
    size_t layer = (size_t)pool_blocks * BS * kvd;
    float *k = malloc(LAYERS * layer * 4), *v = malloc(LAYERS * layer * 4);
    float *q = malloc(4 * (size_t)qd * 4), *o = malloc(4 * (size_t)qd * 4);
    int32_t *table = malloc(pool_blocks * sizeof *table);
    if (!k || !v || !q || !o || !table) return 1;
    for (size_t i = 0; i < LAYERS * layer; i++) {
        k[i] = (float)((i * 40503u) % 1000) / 1000 - 0.5f;
        v[i] = (float)((i * 9973u) % 1000) / 1000 - 0.5f;
    }
    for (int i = 0; i < 4 * qd; i++) q[i] = (float)((i * 2654435761u) % 1000) / 1000 - 0.5f;
    for (int b = 0; b < pool_blocks; b++) table[b] = (b * 7) % pool_blocks;   /* 7 and pool_blocks (136) coprime: a permutation */
    struct kv_view kv = {k, v, layer, table, n_blocks, BS, kvd, DT_F32};
    printf("decode attention, heads 9:3, d 64, paged bs %d, simd %s; us per call (one layer), "
           "best of 5 x %d layers\n", BS, cpu_simd_name((enum cpu_simd)simd), LAYERS);
    printf("%3s %4s %5s %10s %10s %12s\n", "thr", "n_q", "ctx", "naive us", "flash us", "flash GF/s");
    int ctxs[] = {256, 512, 1024, 2048};
    for (int t = 1; t <= 2; t++) {
        struct backend *be = cpu_backend_create(t, (enum cpu_simd)simd);
        for (int nq = 1; nq <= 4; nq *= 2)
            for (int c = 0; c < 4; c++) {
                double best[2] = {1e9, 1e9};
                int n_ctx = ctxs[c], reps = 4096 / n_ctx + 1;
                for (int impl = 0; impl < 2; impl++)
                    for (int run = 0; run < 5; run++) {
                        double t0 = now_s();
                        for (int r = 0; r < reps; r++)
                            for (int l = 0; l < LAYERS; l++)
                                be->ops->attention(be, (enum attn_impl)impl, o, q, &kv, l, nq,
                                                   n_ctx - nq, &sh);
                        double dt = (now_s() - t0) / (reps * LAYERS);
                        best[impl] = dt < best[impl] ? dt : best[impl];
                    }
                double flops = 4.0 * sh.head_dim * sh.n_heads * n_ctx * nq;
                printf("%3d %4d %5d %10.2f %10.2f %12.2f\n", t, nq, n_ctx, best[0] * 1e6,
                       best[1] * 1e6, flops / best[1] / 1e9);
            }
        backend_destroy(be);
    }
    free(k); free(v); free(q); free(o); free(table);
    return 0;
}
