/* kernels/comm.c — communicators and the in-process ring (see comm.h). */
#include "kernels/comm.h"
#include "kernels/backend.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One message in flight from a sender to a receiver: bytes in memory
 * allocated on the receiving device. */
struct comm_msg {
    float *data;                           /* NULL: a simulated message (no data) */
    int64_t n;
    uint64_t arrive_ns;                    /* simulated messages: when it lands on the receiver */
    struct comm_msg *next;
};

/* Messages from rank src to rank dst, oldest first. */
struct comm_box {
    struct comm_msg *head, *tail;
};

struct comm {
    int n;
    struct backend *dev[BACKEND_COMM_MAX];
    void *handle;                          /* backend comms (NCCL) or NULL */
    /* barrier: a generation counter so it can be reused at once */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int arrived;
    uint64_t generation;
    /* per rank: the buffer it registered for the current collective, its staging */
    float *ptr[BACKEND_COMM_MAX];
    float *stage[BACKEND_COMM_MAX];
    size_t stage_bytes[BACKEND_COMM_MAX];
    struct comm_box *box;                  /* [src * n + dst] */
    /* simulated timelines: each rank's entry time of its current collective,
     * double-buffered by the rank's collective count so one barrier suffices */
    uint64_t sim_t[2][BACKEND_COMM_MAX];
    uint64_t sim_calls[BACKEND_COMM_MAX];
};

struct comm *comm_create(struct backend **devs, int n, char *err, size_t errlen)
{
    if (n < 1 || n > BACKEND_COMM_MAX) {
        snprintf(err, errlen, "comm: %d devices; expected 1..%d", n, BACKEND_COMM_MAX);
        return NULL;
    }
    for (int r = 1; r < n; r++)
        if (devs[r]->ops != devs[0]->ops) {
            snprintf(err, errlen, "comm: device %d is %s, device 0 is %s; expected one kind of backend",
                     r, devs[r]->ops->name, devs[0]->ops->name);
            return NULL;
        }
    struct comm *c = calloc(1, sizeof *c);
    if (c) c->box = calloc((size_t)n * n, sizeof *c->box);
    if (!c || !c->box) {
        free(c);
        snprintf(err, errlen, "comm: out of memory");
        return NULL;
    }
    c->n = n;
    memcpy(c->dev, devs, (size_t)n * sizeof *devs);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (n > 1 && devs[0]->ops->comm_init) {
        c->handle = devs[0]->ops->comm_init(devs, n, err, errlen);
        if (!c->handle) {
            comm_destroy(c);
            return NULL;
        }
    }
    return c;
}

void comm_destroy(struct comm *c)
{
    if (!c) return;
    for (int i = 0; c->box && i < c->n * c->n; i++)
        for (struct comm_msg *m = c->box[i].head, *nx; m; m = nx) {
            nx = m->next;
            backend_free(c->dev[i % c->n], m->data);
            free(m);
        }
    for (int r = 0; r < c->n; r++) backend_free(c->dev[r], c->stage[r]);
    if (c->handle && c->dev[0]->ops->comm_free) c->dev[0]->ops->comm_free(c->handle);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c->box);
    free(c);
}

int comm_size(const struct comm *c) { return c->n; }

int comm_rank(const struct comm *c, const struct backend *be)
{
    for (int r = 0; r < c->n; r++)
        if (c->dev[r] == be) return r;
    return -1;
}

const char *comm_algo_name(const struct comm *c) { return c->handle ? "nccl" : "ring"; }

void *comm_backend_handle(const struct comm *c) { return c->handle; }

double comm_bytes_all_reduce(int n, int64_t elems)
{
    return n > 1 ? 2.0 * (n - 1) / n * (double)elems * sizeof(float) : 0;
}

double comm_bytes_gather_scatter(int n, int64_t elems)
{
    return n > 1 ? (double)(n - 1) / n * (double)elems * sizeof(float) : 0;
}

/* Every rank waits here until all n arrived. */
static void barrier(struct comm *c)
{
    pthread_mutex_lock(&c->mu);
    uint64_t gen = c->generation;
    if (++c->arrived == c->n) {
        c->arrived = 0;
        c->generation++;
        pthread_cond_broadcast(&c->cv);
    } else {
        while (gen == c->generation) pthread_cond_wait(&c->cv, &c->mu);
    }
    pthread_mutex_unlock(&c->mu);
}

/* The rank's staging buffer, at least `floats` long, on its own device. */
static float *staging(struct comm *c, int rank, int64_t floats)
{
    size_t bytes = (size_t)floats * sizeof(float);
    if (bytes > c->stage_bytes[rank]) {
        backend_free(c->dev[rank], c->stage[rank]);
        c->stage[rank] = backend_alloc(c->dev[rank], bytes);
        c->stage_bytes[rank] = c->stage[rank] ? bytes : 0;
        if (!c->stage[rank]) {
            fprintf(stderr, "infertop: comm: out of memory for %zu bytes of staging on device %d\n",
                    bytes, rank);
            abort();
        }
    }
    return c->stage[rank];
}

static int mod(int a, int n) { return ((a % n) + n) % n; }

/* Chunk `i` of n over `total` units: [lo, hi). */
static void chunk(int64_t total, int n, int i, int64_t *lo, int64_t *hi)
{
    *lo = comm_rows_lo(total, n, i);
    *hi = comm_rows_lo(total, n, i + 1);
}

/* Ring reduce step: receive chunk `ci` of prev's buffer over the link into
 * staging, then buf[chunk] += staging. Units of `unit` floats. */
static void ring_reduce_step(struct comm *c, int rank, float *buf, int64_t units, int64_t unit, int ci)
{
    int prev = mod(rank - 1, c->n);
    int64_t lo, hi;
    chunk(units, c->n, ci, &lo, &hi);
    int64_t len = (hi - lo) * unit;
    if (len <= 0) return;
    float *st = staging(c, rank, len);
    memcpy(st, c->ptr[prev] + lo * unit, (size_t)len * sizeof(float));
    float *dst = buf + lo * unit;
    for (int64_t i = 0; i < len; i++) dst[i] += st[i];
}

/* Ring gather step: chunk `ci` of prev's buffer straight into ours. */
static void ring_copy_step(struct comm *c, int rank, float *buf, int64_t units, int64_t unit, int ci)
{
    int prev = mod(rank - 1, c->n);
    int64_t lo, hi;
    chunk(units, c->n, ci, &lo, &hi);
    if (hi > lo) memcpy(buf + lo * unit, c->ptr[prev] + lo * unit, (size_t)((hi - lo) * unit) * sizeof(float));
}

void comm_host_all_reduce(struct comm *c, int rank, float *buf, int64_t n)
{
    int N = c->n;
    if (N == 1) return;
    c->ptr[rank] = buf;
    barrier(c);
    /* reduce-scatter: after step s, rank r's chunk (r-1-s) holds s+2 ranks' sum */
    for (int s = 0; s < N - 1; s++) {
        ring_reduce_step(c, rank, buf, n, 1, mod(rank - 1 - s, N));
        barrier(c);
    }
    /* all-gather: rank r's full chunk is (r+1); pass them around */
    for (int s = 0; s < N - 1; s++) {
        ring_copy_step(c, rank, buf, n, 1, mod(rank - s, N));
        barrier(c);
    }
}

void comm_host_all_gather(struct comm *c, int rank, float *out, const float *in, int64_t rows,
                          int64_t row_elems)
{
    int N = c->n;
    int64_t lo, hi;
    chunk(rows, N, rank, &lo, &hi);
    if (out + lo * row_elems != in && hi > lo)
        memmove(out + lo * row_elems, in, (size_t)((hi - lo) * row_elems) * sizeof(float));
    if (N == 1) return;
    c->ptr[rank] = out;
    barrier(c);
    for (int s = 0; s < N - 1; s++) {
        ring_copy_step(c, rank, out, rows, row_elems, mod(rank - 1 - s, N));
        barrier(c);
    }
}

void comm_host_reduce_scatter(struct comm *c, int rank, float *out, float *in, int64_t rows,
                              int64_t row_elems)
{
    int N = c->n;
    int64_t lo, hi;
    if (N > 1) {
        c->ptr[rank] = in;
        barrier(c);
        /* shifted by one against all-reduce so rank r ends holding chunk r */
        for (int s = 0; s < N - 1; s++) {
            ring_reduce_step(c, rank, in, rows, row_elems, mod(rank - 2 - s, N));
            barrier(c);
        }
    }
    chunk(rows, N, rank, &lo, &hi);
    if (hi > lo && out != in + lo * row_elems)
        memmove(out, in + lo * row_elems, (size_t)((hi - lo) * row_elems) * sizeof(float));
}

/* Append m to the rank → peer mailbox (FIFO per pair) and wake receivers. */
static void push_msg(struct comm *c, int rank, int peer, struct comm_msg *m)
{
    struct comm_box *b = &c->box[rank * c->n + peer];
    pthread_mutex_lock(&c->mu);
    if (b->tail) b->tail->next = m; else b->head = m;
    b->tail = m;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* Block until the peer → rank mailbox holds a message; take the oldest. */
static struct comm_msg *pop_msg(struct comm *c, int rank, int peer)
{
    struct comm_box *b = &c->box[peer * c->n + rank];
    pthread_mutex_lock(&c->mu);
    while (!b->head) pthread_cond_wait(&c->cv, &c->mu);
    struct comm_msg *m = b->head;
    b->head = m->next;
    if (!b->head) b->tail = NULL;
    pthread_mutex_unlock(&c->mu);
    return m;
}

void comm_host_send(struct comm *c, int rank, int peer, const float *buf, int64_t n)
{
    struct comm_msg *m = calloc(1, sizeof *m);
    float *data = backend_alloc(c->dev[peer], (size_t)(n ? n : 1) * sizeof(float));
    if (!m || !data) {
        fprintf(stderr, "infertop: comm: out of memory sending %lld floats to device %d\n", (long long)n, peer);
        abort();
    }
    memcpy(data, buf, (size_t)n * sizeof(float));   /* over the link into the receiver's memory */
    m->data = data;
    m->n = n;
    push_msg(c, rank, peer, m);
}

uint64_t comm_wait_recv(struct comm *c, int rank, int peer)
{
    struct comm_box *b = &c->box[peer * c->n + rank];
    pthread_mutex_lock(&c->mu);
    while (!b->head) pthread_cond_wait(&c->cv, &c->mu);
    uint64_t t = b->head->arrive_ns;
    pthread_mutex_unlock(&c->mu);
    return t;
}

void comm_host_recv(struct comm *c, int rank, int peer, float *buf, int64_t n)
{
    struct comm_msg *m = pop_msg(c, rank, peer);
    if (m->n != n) {
        fprintf(stderr, "infertop: comm: device %d expected %lld floats from device %d, got %lld\n", rank,
                (long long)n, peer, (long long)m->n);
        abort();
    }
    memcpy(buf, m->data, (size_t)n * sizeof(float));
    backend_free(c->dev[rank], m->data);
    free(m);
}

/* ---- simulated devices: timelines, no data ---- */

uint64_t comm_sim_join(struct comm *c, int rank, uint64_t t_ns)
{
    if (c->n == 1) return t_ns;
    /* a rank reads buffer k only before its next collective's barrier, which
     * every rank must reach: buffer k is free again two collectives later */
    int k = (int)(c->sim_calls[rank]++ & 1);
    c->sim_t[k][rank] = t_ns;
    barrier(c);
    uint64_t hi = 0;
    for (int r = 0; r < c->n; r++)
        if (c->sim_t[k][r] > hi) hi = c->sim_t[k][r];
    return hi;
}

void comm_sim_send(struct comm *c, int rank, int peer, int64_t n, uint64_t arrive_ns)
{
    struct comm_msg *m = calloc(1, sizeof *m);
    if (!m) {
        fprintf(stderr, "infertop: comm: out of memory sending a simulated message to device %d\n", peer);
        abort();
    }
    m->n = n;
    m->arrive_ns = arrive_ns;
    push_msg(c, rank, peer, m);
}

uint64_t comm_sim_recv(struct comm *c, int rank, int peer, int64_t n)
{
    struct comm_msg *m = pop_msg(c, rank, peer);
    if (m->n != n || m->data) {
        fprintf(stderr, "infertop: comm: device %d expected a simulated message of %lld floats from device %d, "
                "got %lld%s\n", rank, (long long)n, peer, (long long)m->n, m->data ? " with data" : "");
        abort();
    }
    uint64_t t = m->arrive_ns;
    free(m);
    return t;
}
