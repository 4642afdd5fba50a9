/* kernels/cpu/threadpool.c — see threadpool.h.
 *
 * Decode issues a few hundred small jobs per token (5-50 µs each), so the
 * hand-off must cost well under a microsecond and must never make the caller
 * wait for a worker that has not started yet or was descheduled (with two
 * cores shared with a TUI thread, a terminal and other processes, a worker can
 * lose its core for a millisecond in the middle of a task range).
 *
 * So each job's n_tasks are split into one contiguous range per thread, and
 * each range lives in one 64-bit atomic word of its own cache line:
 * generation (24 bits) | hi (20) | lo (20), the range [lo, hi) still
 * unclaimed. A thread takes its own range's tasks from the front
 * (compare-and-swap lo + 1: its own cache line, uncontended), then takes the
 * other ranges' tasks from the back (hi - 1) until every range is empty — so
 * a worker that is late, asleep or preempted holds up at most the one task it
 * is running, and uneven threads balance at the end of every job. A CAS only
 * succeeds while the generation is unchanged, so a late thread finds nothing
 * of an old job. The job completes when `done` reaches n_tasks; each thread
 * adds the tasks it ran once it finds nothing left. A thread reads fn/ctx only
 * after a successful claim: the job cannot finish (and be replaced) before
 * that claimed task does.
 *
 * Waiting workers watch `genw` (the current generation). One that sees no
 * new generation for POOL_SPIN_NS sleeps on a condition variable; it
 * announces that in `sleepers` first, and the caller takes the mutex to wake
 * it only when that count is non-zero. Both sides use seq_cst order on
 * genw/sleepers, so no wake-up is lost. */
#include "kernels/cpu/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static inline void cpu_relax(void) { _mm_pause(); }
#else
static inline void cpu_relax(void) { }
#endif

#define POOL_SPIN_NS   (2 * 1000 * 1000)  /* idle worker spins this long before sleeping */
#define POOL_YIELD_NS  (100 * 1000)       /* caller waiting on a descheduled worker yields after this */
#define POOL_MAX_TASKS ((1 << 20) - 1)    /* per published job; pool_run batches beyond */

/* range word fields: the unclaimed tasks [lo, hi) of generation gen */
#define RANGE(gen, hi, lo) (((uint64_t)(gen) << 40) | ((uint64_t)(hi) << 20) | (uint64_t)(lo))
#define RANGE_GEN(w) ((unsigned)((w) >> 40))
#define RANGE_HI(w)  ((int)(((w) >> 20) & POOL_MAX_TASKS))
#define RANGE_LO(w)  ((int)((w) & POOL_MAX_TASKS))

struct range_slot { _Alignas(64) atomic_uint_fast64_t w; };

struct threadpool {
    int n_threads;              /* including the caller */
    pthread_t *threads;         /* [n_threads - 1] */
    int started;                /* pthreads actually running */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    struct range_slot *ranges;  /* [n_threads]: thread i's range of the current job */
    _Alignas(64) atomic_uint genw;            /* the current job's generation */
    _Alignas(64) atomic_int done;             /* tasks of the current job finished */
    atomic_int sleepers;        /* workers blocked or about to block on `wake` */
    atomic_bool quit;
    unsigned gen;               /* caller's copy of the current generation */
    pool_fn fn;                 /* the job; stable while any of its tasks is claimed */
    void *ctx;
    int task0;                  /* index offset of this batch (jobs over POOL_MAX_TASKS) */
};

struct worker_arg {
    struct threadpool *pool;
    int id;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Take the first unclaimed task of range r in generation gen; -1 when none is left. */
static int range_take_front(struct range_slot *r, unsigned gen)
{
    uint64_t w = atomic_load_explicit(&r->w, memory_order_relaxed);
    for (;;) {
        if (RANGE_GEN(w) != gen || RANGE_LO(w) >= RANGE_HI(w)) return -1;
        if (atomic_compare_exchange_weak(&r->w, &w, w + 1)) return RANGE_LO(w);
    }
}

/* Take the last unclaimed task of another thread's range r; -1 when none is left. */
static int range_take_back(struct range_slot *r, unsigned gen)
{
    uint64_t w = atomic_load_explicit(&r->w, memory_order_relaxed);
    for (;;) {
        if (RANGE_GEN(w) != gen || RANGE_LO(w) >= RANGE_HI(w)) return -1;
        int hi = RANGE_HI(w) - 1;
        if (atomic_compare_exchange_weak(&r->w, &w, RANGE(gen, hi, RANGE_LO(w)))) return hi;
    }
}

/* The next task for thread id: its own range's front, else another's back. */
static int pool_take(struct threadpool *pool, unsigned gen, int id)
{
    int t = range_take_front(&pool->ranges[id], gen);
    for (int k = 1; t < 0 && k < pool->n_threads; k++)
        t = range_take_back(&pool->ranges[(id + k) % pool->n_threads], gen);
    return t;
}

/* Run tasks of generation `gen` until none is left anywhere. */
static void pool_drain(struct threadpool *pool, unsigned gen, int id)
{
    int ran = 0;
    for (int t; (t = pool_take(pool, gen, id)) >= 0; ran++) pool->fn(pool->ctx, pool->task0 + t, id);
    if (ran) atomic_fetch_add_explicit(&pool->done, ran, memory_order_release);
}

/* Spin, then sleep, until the generation differs from `seen`; returns it. */
static unsigned pool_wait_job(struct threadpool *pool, unsigned seen)
{
    uint64_t t0 = 0;
    for (unsigned i = 0;; i++) {
        unsigned g = atomic_load_explicit(&pool->genw, memory_order_acquire);
        if (g != seen) return g;
        cpu_relax();
        if ((i & 1023) != 1023) continue;
        uint64_t t = mono_ns();
        if (!t0) t0 = t;
        else if (t - t0 > POOL_SPIN_NS) break;
    }
    pthread_mutex_lock(&pool->mu);
    atomic_fetch_add(&pool->sleepers, 1);
    unsigned g;
    while ((g = atomic_load(&pool->genw)) == seen) pthread_cond_wait(&pool->wake, &pool->mu);
    atomic_fetch_sub(&pool->sleepers, 1);
    pthread_mutex_unlock(&pool->mu);
    return g;
}

static void *pool_worker_main(void *p)
{
    struct worker_arg *arg = p;
    struct threadpool *pool = arg->pool;
    int id = arg->id;
    free(arg);
    unsigned seen = 0;
    for (;;) {
        seen = pool_wait_job(pool, seen);
        if (atomic_load(&pool->quit)) break;
        pool_drain(pool, seen, id);
    }
    return NULL;
}

static bool pool_start_worker(struct threadpool *pool, int id)
{
    struct worker_arg *arg = malloc(sizeof *arg);
    if (!arg) return false;
    arg->pool = pool;
    arg->id = id;
    if (pthread_create(&pool->threads[id - 1], NULL, pool_worker_main, arg) != 0) {
        free(arg);
        return false;
    }
    return true;
}

struct threadpool *pool_create(int n_threads)
{
    struct threadpool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->n_threads = n_threads < 1 ? 1 : n_threads;
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->wake, NULL);
    atomic_init(&pool->genw, 0);
    atomic_init(&pool->done, 0);
    atomic_init(&pool->sleepers, 0);
    atomic_init(&pool->quit, false);
    pool->ranges = aligned_alloc(_Alignof(struct range_slot), sizeof *pool->ranges * (size_t)pool->n_threads);
    if (!pool->ranges) { pool_destroy(pool); return NULL; }
    for (int i = 0; i < pool->n_threads; i++) atomic_init(&pool->ranges[i].w, 0);
    if (pool->n_threads > 1) {
        pool->threads = calloc((size_t)pool->n_threads - 1, sizeof *pool->threads);
        if (!pool->threads) { pool_destroy(pool); return NULL; }
        for (int id = 1; id < pool->n_threads; id++) {
            if (!pool_start_worker(pool, id)) { pool_destroy(pool); return NULL; }
            pool->started++;
        }
    }
    return pool;
}

/* Store the next generation's ranges (thread i: [i·n/T, (i+1)·n/T)), then
 * the generation itself, and wake sleeping workers. */
static void pool_publish(struct threadpool *pool, int n_tasks)
{
    pool->gen = (pool->gen + 1) & 0xffffff;
    int T = pool->n_threads;
    for (int i = 0; pool->ranges && i < T; i++)      /* release: fn/ctx/task0 come with a claim */
        atomic_store_explicit(&pool->ranges[i].w,
                              RANGE(pool->gen, (int)((int64_t)n_tasks * (i + 1) / T), (int)((int64_t)n_tasks * i / T)),
                              memory_order_release);
    atomic_store(&pool->genw, pool->gen);      /* seq_cst: the ranges are visible with it */
    if (atomic_load(&pool->sleepers) > 0) {
        pthread_mutex_lock(&pool->mu);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->mu);
    }
}

void pool_destroy(struct threadpool *pool)
{
    if (!pool) return;
    atomic_store(&pool->quit, true);
    pool_publish(pool, 0);
    for (int i = 0; i < pool->started; i++) pthread_join(pool->threads[i], NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->mu);
    free(pool->ranges);
    free(pool->threads);
    free(pool);
}

int pool_threads(const struct threadpool *pool) { return pool->n_threads; }

/* Spin until all n tasks finished; yield now and then in case the worker
 * running the last one was descheduled. */
static void pool_wait_done(struct threadpool *pool, int n)
{
    uint64_t t0 = 0;
    for (unsigned i = 0; atomic_load_explicit(&pool->done, memory_order_acquire) < n; i++) {
        cpu_relax();
        if ((i & 255) != 255) continue;
        uint64_t t = mono_ns();
        if (!t0) t0 = t;
        else if (t - t0 > POOL_YIELD_NS) sched_yield();
    }
}

void pool_run(struct threadpool *pool, pool_fn fn, void *ctx, int n_tasks)
{
    if (n_tasks <= 0) return;
    if (pool->started == 0 || n_tasks == 1) {
        for (int t = 0; t < n_tasks; t++) fn(ctx, t, 0);
        return;
    }
    for (int t0 = 0; t0 < n_tasks; t0 += POOL_MAX_TASKS) {
        int n = n_tasks - t0 < POOL_MAX_TASKS ? n_tasks - t0 : POOL_MAX_TASKS;
        /* every task of the previous job is finished, so no worker reads
         * these; the seq_cst store in pool_publish makes them visible */
        pool->fn = fn;
        pool->ctx = ctx;
        pool->task0 = t0;
        atomic_store_explicit(&pool->done, 0, memory_order_relaxed);
        pool_publish(pool, n);
        pool_drain(pool, pool->gen, 0);
        pool_wait_done(pool, n);
    }
}
