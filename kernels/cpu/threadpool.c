/* kernels/cpu/threadpool.c — see threadpool.h.
 *
 * A job is published under the mutex with a new generation number; workers
 * wake on `wake`, claim task indices from an atomic counter until it runs
 * past n_tasks, and the last one to finish signals `done`. Workers spin
 * briefly before sleeping because decode issues hundreds of small jobs per
 * token and a futex wake-up costs microseconds each time. */
#include "kernels/cpu/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define POOL_SPIN_ITERS 20000

struct threadpool {
    int n_threads;              /* including the caller */
    pthread_t *threads;         /* [n_threads - 1] */
    int started;                /* pthreads actually running */
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    atomic_uint_fast64_t gen;   /* bumped once per job */
    pool_fn fn;
    void *ctx;
    int n_tasks;
    atomic_int next;            /* next unclaimed task */
    int busy;                   /* workers not yet finished with this job (under mu) */
    bool quit;
};

struct worker_arg {
    struct threadpool *pool;
    int id;
};

static void pool_drain_tasks(struct threadpool *pool, pool_fn fn, void *ctx, int n_tasks, int id)
{
    for (;;) {
        int t = atomic_fetch_add_explicit(&pool->next, 1, memory_order_relaxed);
        if (t >= n_tasks) break;
        fn(ctx, t, id);
    }
}

/* Wait for a generation other than `seen`; false when the pool shuts down. */
static bool pool_wait_job(struct threadpool *pool, uint64_t seen)
{
    for (int i = 0; i < POOL_SPIN_ITERS; i++) {
        if (atomic_load_explicit(&pool->gen, memory_order_acquire) != seen) break;
        if ((i & 255) == 255) sched_yield();
    }
    pthread_mutex_lock(&pool->mu);
    while (atomic_load(&pool->gen) == seen && !pool->quit)
        pthread_cond_wait(&pool->wake, &pool->mu);
    bool run = !pool->quit;
    pthread_mutex_unlock(&pool->mu);
    return run;
}

static void *pool_worker_main(void *p)
{
    struct worker_arg *arg = p;
    struct threadpool *pool = arg->pool;
    int id = arg->id;
    free(arg);
    uint64_t seen = 0;
    while (pool_wait_job(pool, seen)) {
        pthread_mutex_lock(&pool->mu);
        seen = atomic_load(&pool->gen);
        pool_fn fn = pool->fn;
        void *ctx = pool->ctx;
        int n_tasks = pool->n_tasks;
        pthread_mutex_unlock(&pool->mu);
        pool_drain_tasks(pool, fn, ctx, n_tasks, id);
        pthread_mutex_lock(&pool->mu);
        if (--pool->busy == 0) pthread_cond_signal(&pool->done);
        pthread_mutex_unlock(&pool->mu);
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
    pthread_cond_init(&pool->done, NULL);
    atomic_init(&pool->gen, 0);
    atomic_init(&pool->next, 0);
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

void pool_destroy(struct threadpool *pool)
{
    if (!pool) return;
    pthread_mutex_lock(&pool->mu);
    pool->quit = true;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mu);
    for (int i = 0; i < pool->started; i++) pthread_join(pool->threads[i], NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->done);
    pthread_mutex_destroy(&pool->mu);
    free(pool->threads);
    free(pool);
}

int pool_threads(const struct threadpool *pool) { return pool->n_threads; }

void pool_run(struct threadpool *pool, pool_fn fn, void *ctx, int n_tasks)
{
    if (n_tasks <= 0) return;
    if (pool->n_threads == 1 || n_tasks == 1) {
        for (int t = 0; t < n_tasks; t++) fn(ctx, t, 0);
        return;
    }
    pthread_mutex_lock(&pool->mu);
    pool->fn = fn;
    pool->ctx = ctx;
    pool->n_tasks = n_tasks;
    atomic_store(&pool->next, 0);
    pool->busy = pool->n_threads - 1;
    atomic_fetch_add_explicit(&pool->gen, 1, memory_order_release);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mu);

    pool_drain_tasks(pool, fn, ctx, n_tasks, 0);

    pthread_mutex_lock(&pool->mu);
    while (pool->busy > 0) pthread_cond_wait(&pool->done, &pool->mu);
    pthread_mutex_unlock(&pool->mu);
}
