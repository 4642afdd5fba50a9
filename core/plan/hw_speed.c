/* core/plan/hw_speed.c — see hw_speed.h. */
#include "core/plan/hw_speed.h"
#include "kernels/backend.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

struct slice { const uint64_t *p; size_t n; uint64_t sum; };

static void *sum_slice(void *arg)
{
    struct slice *s = arg;
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i + 4 <= s->n; i += 4) { a += s->p[i]; b += s->p[i + 1]; c += s->p[i + 2]; d += s->p[i + 3]; }
    s->sum = a + b + c + d;
    return NULL;
}

enum { MAX_T = 16 };

static int n_threads(const struct hw_speed_ref *r) { return r->threads < 1 ? 1 : r->threads > MAX_T ? MAX_T : r->threads; }

/* Bytes/s of one read of the buffer by r->threads threads. */
static double read_once(struct hw_speed_ref *r)
{
    int T = n_threads(r);
    size_t n = HW_SPEED_BYTES / sizeof(uint64_t) / (size_t)T;
    struct slice sl[MAX_T];
    pthread_t th[MAX_T];
    bool started[MAX_T] = {false};
    for (int k = 0; k < T; k++) sl[k] = (struct slice){r->buf + n * (size_t)k, n, 0};
    uint64_t t0 = now_ns();
    for (int k = 1; k < T; k++) started[k] = pthread_create(&th[k], NULL, sum_slice, &sl[k]) == 0;
    sum_slice(&sl[0]);
    for (int k = 1; k < T; k++) {
        if (started[k]) pthread_join(th[k], NULL);
        else sum_slice(&sl[k]);          /* no thread: this one reads it too */
    }
    double s = (now_ns() - t0) / 1e9;
    for (int k = 0; k < T; k++) r->sink += sl[k].sum;
    return s > 0 ? (double)(n * (size_t)T * sizeof(uint64_t)) / s : 0;
}

/* FLOP/s of 8 independent FMA chains of 8 floats for FMA_ITERS iterations:
 * the core's arithmetic rate, no memory. Plain C the compiler keeps in
 * registers (the rate is what matters, not the SIMD width: it is compared
 * with itself). */
#define FMA_ITERS 400000
struct fma_run { double flops; uint64_t sink; };

static void *fma_thread(void *arg)
{
    struct fma_run *f = arg;
    float acc[8][8];
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++) acc[i][j] = (float)(i + j) * 1e-3f;
    const float a = 0.999999f, b = 1e-7f;
    uint64_t t0 = now_ns();
    for (int it = 0; it < FMA_ITERS; it++)
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < 8; j++) acc[i][j] = acc[i][j] * a + b;
    double s = (now_ns() - t0) / 1e9;
    float sum = 0;
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++) sum += acc[i][j];
    f->sink = (uint64_t)(sum > 0);
    f->flops = s > 0 ? 2.0 * 64 * FMA_ITERS / s : 0;
    return NULL;
}

/* FLOP/s of r->threads FMA loops at once, summed: a core another tenant
 * slows (an SMT sibling busy) shows, whichever core the caller is on. */
static double fma_once(struct hw_speed_ref *r)
{
    int T = n_threads(r);
    struct fma_run run[MAX_T] = {{0}};
    pthread_t th[MAX_T];
    bool started[MAX_T] = {false};
    for (int k = 1; k < T; k++) started[k] = pthread_create(&th[k], NULL, fma_thread, &run[k]) == 0;
    fma_thread(&run[0]);
    double total = run[0].flops;
    for (int k = 1; k < T; k++) {
        if (!started[k]) continue;       /* no thread: its share is missing from the sum, every time alike */
        pthread_join(th[k], NULL);
        total += run[k].flops;
    }
    for (int k = 0; k < T; k++) r->sink += run[k].sink;
    return total;
}

int hw_speed_init(struct hw_speed_ref *r, int threads, uint64_t quiet_ns)
{
    r->threads = threads;
    r->quiet_ns = quiet_ns;
    r->sink = 0;
    r->buf = malloc(HW_SPEED_BYTES);
    if (!r->buf) return -1;
    for (size_t i = 0; i < HW_SPEED_BYTES / sizeof(uint64_t); i++) r->buf[i] = i * 0x9e3779b97f4a7c15ull;
    return 0;
}

void hw_speed_take(struct hw_speed_ref *r, struct hw_speed *out)
{
    if (r->quiet_ns > 0) {
        struct timespec q = {(time_t)(r->quiet_ns / 1000000000), (long)(r->quiet_ns % 1000000000)};
        nanosleep(&q, NULL);
    }
    out->t_s = now_ns() / 1e9;
    out->bw = out->fma_flops = 0;
    for (int i = 0; i < HW_SPEED_READS; i++) {
        double b = read_once(r);
        if (b > out->bw) out->bw = b;
    }
    for (int i = 0; i < HW_SPEED_FMAS; i++) {
        double f = fma_once(r);
        if (f > out->fma_flops) out->fma_flops = f;
    }
}

void hw_speed_free(struct hw_speed_ref *r)
{
    free(r->buf);
    r->buf = NULL;
}

static double value(const struct hw_speed *s, bool fma) { return fma ? s->fma_flops : s->bw; }

double hw_speed_ratio_at(const struct hw_speed *s, int n, double t, const struct hw_speed *ref, bool fma)
{
    double r0 = ref ? value(ref, fma) : 0;
    if (n <= 0 || !(r0 > 0)) return 1;
    if (t <= s[0].t_s || n == 1) return value(&s[0], fma) / r0;
    for (int i = 1; i < n; i++) {
        if (t > s[i].t_s) continue;
        double f = (t - s[i - 1].t_s) / (s[i].t_s - s[i - 1].t_s);
        return ((1 - f) * value(&s[i - 1], fma) + f * value(&s[i], fma)) / r0;
    }
    return value(&s[n - 1], fma) / r0;
}
