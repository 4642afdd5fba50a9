/* kernels/cpu/threadpool.h — persistent pthread workers for the CPU kernels.
 *
 * pool_run hands n_tasks independent tasks to the pool and returns when all
 * are done. The calling thread works too (as worker 0), so a pool of n threads
 * starts n-1 pthreads; with n = 1 everything runs inline on the caller. */
#ifndef INFERTOP_THREADPOOL_H
#define INFERTOP_THREADPOOL_H

/* One task. `worker` in [0, pool_threads) identifies the thread running it,
 * so a task can use per-thread scratch without locking. */
typedef void (*pool_fn)(void *ctx, int task, int worker);

struct threadpool;

/* NULL when memory or pthread_create fails (nothing is left running). */
struct threadpool *pool_create(int n_threads);
void pool_destroy(struct threadpool *pool);
int  pool_threads(const struct threadpool *pool);

/* Run fn(ctx, t, worker) for t in [0, n_tasks), in any order, in parallel;
 * returns after the last one finished. Not reentrant: a task must not call
 * pool_run on the same pool, and one thread at a time drives a pool. */
void pool_run(struct threadpool *pool, pool_fn fn, void *ctx, int n_tasks);

#endif
