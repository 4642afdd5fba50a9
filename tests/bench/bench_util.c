/* tests/bench/bench_util.c — see bench_util.h. */
#include "tests/bench/bench_util.h"
#include "core/model/model.h"   /* struct model_config */
#include "kernels/formats.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct bw_job { const float *p; size_t n; double sum; };

/* 16 independent sums so the loop is load-bound, not add-latency-bound. */
__attribute__((target("avx2"))) static void *bw_read(void *arg)
{
    struct bw_job *j = arg;
    float acc[16] = {0};
    for (size_t i = 0; i + 16 <= j->n; i += 16)
        for (int k = 0; k < 16; k++) acc[k] += j->p[i + k];
    double s = 0;
    for (int k = 0; k < 16; k++) s += acc[k];
    j->sum = s;
    return NULL;
}

double bench_read_bandwidth(const float *buf, size_t bytes, int threads, int reps)
{
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    size_t n = bytes / sizeof(float), per = n / (size_t)threads;
    double best = 0, sink = 0;
    for (int r = 0; r < reps; r++) {
        pthread_t th[64];
        struct bw_job jobs[64];
        uint64_t t0 = now_ns();
        for (int t = 0; t < threads; t++) {
            jobs[t] = (struct bw_job){buf + per * (size_t)t, per, 0};
            pthread_create(&th[t], NULL, bw_read, &jobs[t]);
        }
        for (int t = 0; t < threads; t++) { pthread_join(th[t], NULL); sink += jobs[t].sum; }
        double gbs = (double)per * threads * sizeof(float) / ((now_ns() - t0) / 1e9) / 1e9;
        if (gbs > best) best = gbs;
    }
    if (sink == 12345.678) printf(" ");    /* keep the sums alive */
    return best;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_median(double *v, int n)
{
    if (n <= 0) return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void bench_kv_init(struct bench_kv *kb, const struct model_config *c, int ctx)
{
    int kvd = c->n_kv_heads * c->head_dim;
    size_t n = (size_t)c->n_layers * ctx * kvd;
    kb->k = calloc(n, 2);
    kb->v = calloc(n, 2);
    if (!kb->k || !kb->v) { fprintf(stderr, "bench: out of memory for the KV cache\n"); exit(1); }
    kb->table[0] = 0;
    kb->view = (struct kv_view){kb->k, kb->v, (size_t)ctx * kvd, kb->table, 1, ctx, kvd, DT_F16};
}

void bench_kv_free(struct bench_kv *kb)
{
    free(kb->k);
    free(kb->v);
}

struct bench_wset bench_wset_make(enum dtype t, int N, int K, int copies, void (*edit_row)(float *row, int K))
{
    struct bench_wset s = {calloc((size_t)copies, sizeof(struct weight)), copies, 0};
    float *row = malloc(sizeof(float) * (size_t)K);
    if (!s.w || !row) { fprintf(stderr, "bench: out of memory for %d weight copies\n", copies); exit(1); }
    for (int c = 0; c < copies; c++) {
        struct weight *w = &s.w[c];
        *w = (struct weight){.type = t, .rows = N, .cols = K};
        w->data = malloc(weight_bytes(w));
        if (!w->data) { fprintf(stderr, "bench: out of memory for %zu bytes\n", weight_bytes(w)); exit(1); }
        uint64_t st = 0x9e3779b97f4a7c15ull * (uint64_t)(c + 1);
        for (int r = 0; r < N; r++) {
            for (int k = 0; k < K; k++) {
                st ^= st << 13; st ^= st >> 7; st ^= st << 17;
                row[k] = (float)((st >> 40) % 2001) / 1000.f - 1.0005f;
            }
            if (edit_row) edit_row(row, K);
            dtype_encode_row(t, row, (char *)w->data + (size_t)r * dtype_row_bytes(t, K), K);
        }
    }
    s.bytes = weight_bytes(&s.w[0]);
    free(row);
    return s;
}

void bench_wset_free(struct bench_wset *s)
{
    for (int c = 0; c < s->copies; c++) free(s->w[c].data);
    free(s->w);
}
