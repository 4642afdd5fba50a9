/* Communication ops (kernels/comm.h) on CPU virtual devices: every collective
 * against a double-precision reference on random non-zero buffers for 2, 3
 * and 4 ranks and odd sizes, each rank on its own thread as the engine drives
 * them; send/recv in order; each op leaves one `comm` record on its device
 * with the ring's byte count. */
#include "kernels/comm.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/registry.h"

#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAXR 4

struct world {
    int n;
    struct backend *dev[MAXR];
    struct kernel_log log[MAXR];
    struct comm *c;
};

static void world_init(struct world *w, int n)
{
    char err[256];
    w->n = n;
    cr_assert_eq(cpu_backend_create_group(n, n, CPU_SIMD_AMX, w->dev), 0);
    for (int r = 0; r < n; r++) {
        kernel_log_init(&w->log[r], 64);
        w->dev[r]->log = &w->log[r];
    }
    w->c = comm_create(w->dev, n, err, sizeof err);
    cr_assert(w->c, "%s", err);
    cr_assert_str_eq(comm_algo_name(w->c), "ring");
}

static void world_free(struct world *w)
{
    comm_destroy(w->c);
    for (int r = 0; r < w->n; r++) {
        backend_destroy(w->dev[r]);
        kernel_log_free(&w->log[r]);
    }
}

static float rnd(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    float v = (float)((*s >> 8) & 0xffff) / 65536.0f - 0.5f;
    return v == 0 ? 0.25f : v;
}

enum which { ALL_REDUCE, ALL_GATHER, REDUCE_SCATTER, SENDRECV };

struct job {
    struct world *w;
    int rank;
    enum which op;
    float *a, *b;          /* this rank's buffers (backend memory) */
    int64_t rows, cols;
};

static void *run_rank(void *p)
{
    struct job *j = p;
    struct backend *be = j->w->dev[j->rank];
    struct comm *c = j->w->c;
    int n = j->w->n;
    int64_t lo = comm_rows_lo(j->rows, n, j->rank), hi = comm_rows_lo(j->rows, n, j->rank + 1);
    switch (j->op) {
    case ALL_REDUCE: backend_all_reduce(be, c, j->a, j->rows * j->cols); break;
    case ALL_GATHER: backend_all_gather(be, c, j->b, j->a + lo * j->cols, j->rows, j->cols); break;
    case REDUCE_SCATTER: backend_reduce_scatter(be, c, j->b, j->a, j->rows, j->cols); break;
    case SENDRECV:
        /* a ring of messages: send to the next rank twice, receive two from the previous */
        backend_send(be, c, (j->rank + 1) % n, j->a, j->rows * j->cols);
        backend_send(be, c, (j->rank + 1) % n, j->a + j->cols, j->cols);
        comm_wait_recv(c, j->rank, (j->rank + n - 1) % n);
        backend_recv(be, c, (j->rank + n - 1) % n, j->b, j->rows * j->cols);
        backend_recv(be, c, (j->rank + n - 1) % n, j->b + j->rows * j->cols, j->cols);
        break;
    }
    (void)hi;
    return NULL;
}

/* Fill every rank's `a` with random values, run `op` on n threads, check. */
static void check_op(int n, enum which op, int64_t rows, int64_t cols)
{
    struct world w;
    world_init(&w, n);
    int64_t total = rows * cols;
    struct job jobs[MAXR];
    double *ref = calloc((size_t)total, sizeof *ref);
    float *orig[MAXR];
    unsigned seed = (unsigned)(n * 1000 + rows * 7 + cols);
    for (int r = 0; r < n; r++) {
        jobs[r] = (struct job){&w, r, op, backend_alloc(w.dev[r], (size_t)(total + cols) * 4),
                               backend_alloc(w.dev[r], (size_t)(total + cols) * 4), rows, cols};
        orig[r] = malloc((size_t)(total + cols) * 4);
        for (int64_t i = 0; i < total + cols; i++) orig[r][i] = jobs[r].a[i] = rnd(&seed);
        memset(jobs[r].b, 0, (size_t)(total + cols) * 4);
        for (int64_t i = 0; i < total; i++) ref[i] += orig[r][i];
    }
    pthread_t th[MAXR];
    for (int r = 0; r < n; r++) pthread_create(&th[r], NULL, run_rank, &jobs[r]);
    for (int r = 0; r < n; r++) pthread_join(th[r], NULL);
    for (int r = 0; r < n; r++) {
        int64_t lo = comm_rows_lo(rows, n, r), hi = comm_rows_lo(rows, n, r + 1);
        for (int64_t i = 0; i < total; i++) {
            switch (op) {
            case ALL_REDUCE:
                cr_assert_float_eq(jobs[r].a[i], ref[i], 1e-5, "n=%d rank %d elem %ld", n, r, (long)i);
                break;
            case ALL_GATHER: {
                int owner = 0;
                while (comm_rows_lo(rows, n, owner + 1) <= i / cols) owner++;
                cr_assert_eq(jobs[r].b[i], orig[owner][i], "n=%d rank %d elem %ld rows %ld cols %ld got %g want %g owner %d", n, r, (long)i, (long)rows, (long)cols, jobs[r].b[i], orig[owner][i], owner);
                break;
            }
            case REDUCE_SCATTER:
                if (i < (hi - lo) * cols)
                    cr_assert_float_eq(jobs[r].b[i], ref[lo * cols + i], 1e-5, "n=%d rank %d", n, r);
                break;
            case SENDRECV: {
                int prev = (r + n - 1) % n;
                cr_assert_eq(jobs[r].b[i], orig[prev][i]);
                break;
            }
            }
        }
        if (op == SENDRECV)
            for (int64_t i = 0; i < cols; i++) cr_assert_eq(jobs[r].b[total + i], orig[(r + n - 1) % n][cols + i]);
        /* one record per op (send/recv: four), class comm, the ring's bytes */
        const struct kernel_log *lg = &w.log[r];
        cr_assert_eq(lg->n, op == SENDRECV ? 4 : 1, "records on rank %d: %d", r, lg->n);
        cr_assert_eq(lg->recs[0].cls, OPC_COMM);
        double want = op == ALL_REDUCE ? 2.0 * (n - 1) / n * total * 4
                    : op == SENDRECV   ? (double)total * 4
                                       : (double)(n - 1) / n * total * 4;
        cr_assert_float_eq(lg->recs[0].dram_rd, want, 1e-6, "%s", lg->recs[0].name);
        cr_assert(lg->recs[0].dur_measured);
    }
    for (int r = 0; r < n; r++) {
        backend_free(w.dev[r], jobs[r].a);
        backend_free(w.dev[r], jobs[r].b);
        free(orig[r]);
    }
    cr_assert_str_eq(w.log[0].recs[0].name, op == ALL_REDUCE ? "allreduce_ring" : op == ALL_GATHER ? "allgather_ring"
                                            : op == REDUCE_SCATTER ? "reducescatter_ring" : "send_ring");
    free(ref);
    world_free(&w);
}

static const int64_t SHAPES[][2] = {{1, 1}, {3, 7}, {5, 33}, {17, 61}, {2, 1001}};

Test(comm, all_reduce_matches_reference_for_2_3_4_ranks)
{
    for (int n = 2; n <= 4; n++)
        for (size_t s = 0; s < sizeof SHAPES / sizeof SHAPES[0]; s++) check_op(n, ALL_REDUCE, SHAPES[s][0], SHAPES[s][1]);
}

Test(comm, all_gather_places_every_ranks_rows)
{
    for (int n = 2; n <= 4; n++)
        for (size_t s = 0; s < sizeof SHAPES / sizeof SHAPES[0]; s++) check_op(n, ALL_GATHER, SHAPES[s][0], SHAPES[s][1]);
}

Test(comm, reduce_scatter_gives_each_rank_its_summed_rows)
{
    for (int n = 2; n <= 4; n++)
        for (size_t s = 0; s < sizeof SHAPES / sizeof SHAPES[0]; s++)
            check_op(n, REDUCE_SCATTER, SHAPES[s][0], SHAPES[s][1]);
}

Test(comm, send_recv_delivers_in_order)
{
    for (int n = 2; n <= 4; n++) check_op(n, SENDRECV, 3, 7);
}

Test(comm, one_rank_and_bad_groups)
{
    char err[256];
    struct backend *be = cpu_backend_create(1, CPU_SIMD_AMX);
    struct comm *c = comm_create(&be, 1, err, sizeof err);
    cr_assert(c);
    float x[3] = {1, 2, 3};
    backend_all_reduce(be, c, x, 3);
    cr_assert_eq(x[1], 2);
    cr_assert_eq(comm_rank(c, be), 0);
    comm_destroy(c);
    cr_assert_null(comm_create(&be, 0, err, sizeof err));
    cr_assert(strstr(err, "expected 1..16"), "%s", err);
    backend_destroy(be);
}
