/* kernels/comm.h — communication between the devices of a group.
 *
 * A communicator joins n backends (a device group, kernels/registry.h); rank
 * r is the r-th backend. Collectives follow NCCL's model: EVERY rank calls
 * the op (backend_all_reduce, ... in kernels/ops_table.h) from its own
 * thread with its own buffers, and the call returns on a rank when that
 * rank's result is in place. Each call is a backend op, so it leaves a
 * kernel record of class `comm` on the calling device's log: bytes moved
 * over the link by that rank, measured time (waiting for slower ranks
 * included: that is the all-reduce wait a tensor-parallel device sees) and
 * the algorithm in the record's name ("allreduce_ring").
 *
 * Two implementations:
 *  - in-process (CPU virtual devices): a ring over per-device buffers. Every
 *    step copies a chunk from the previous rank's memory into a staging
 *    buffer owned (allocated) by the receiving device, then the receiver
 *    reduces from its staging buffer: the copies a real link makes, none
 *    skipped. Ring all-reduce moves 2(n−1)/n × S bytes per rank.
 *  - NCCL (CUDA devices, when the backend has a comm_init slot): the
 *    communicator holds one ncclComm per device.
 *
 * Point-to-point (pipeline activations): send copies the message into memory
 * allocated on the receiving device (a mailbox slot, eager), recv copies it
 * out. comm_wait_recv blocks until a message is there, so a pipeline stage
 * can count that wait as idle and the recv op as the transfer alone.
 *
 * Chunks: a [rows][row_elems] buffer split n ways gives rank r the rows
 * [comm_rows_lo(rows, n, r), comm_rows_lo(rows, n, r + 1)), so odd sizes
 * split with the first ranks one row short at most. */
#ifndef INFERTOP_COMM_H
#define INFERTOP_COMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct backend;
struct comm;

/* The most ranks one communicator joins (kernels/registry.h's BACKEND_GROUP_MAX). */
#define BACKEND_COMM_MAX 16

/* First row of rank r's chunk of `rows` rows split over n ranks. */
static inline int64_t comm_rows_lo(int64_t rows, int n, int r)
{
    return rows * r / n;
}

/* A communicator over devs[0..n) (n >= 1; rank r = devs[r]; the backends
 * outlive it). CUDA backends with an NCCL comm_init slot get NCCL comms;
 * every other backend the in-process ring. NULL with a one-line reason in
 * err (out of memory, NCCL init failed, mixed backends). */
struct comm *comm_create(struct backend **devs, int n, char *err, size_t errlen);
void comm_destroy(struct comm *c);

int comm_size(const struct comm *c);
/* Rank of be in c, -1 when it is not a member. */
int comm_rank(const struct comm *c, const struct backend *be);
/* "ring" (in-process) or "nccl". */
const char *comm_algo_name(const struct comm *c);
/* The backend-private handle (NCCL comms) or NULL for the in-process ring. */
void *comm_backend_handle(const struct comm *c);

/* ---- in-process implementations (host memory), called by the CPU backend's
 * comm op slots on the calling rank's thread; see the ops' contracts in
 * kernels/ops_table.h. Staging buffers are allocated on the receiving rank's
 * backend (backend_alloc) and kept for the next call. */
void comm_host_all_reduce(struct comm *c, int rank, float *buf, int64_t n);
void comm_host_all_gather(struct comm *c, int rank, float *out, const float *in, int64_t rows,
                          int64_t row_elems);
void comm_host_reduce_scatter(struct comm *c, int rank, float *out, float *in, int64_t rows,
                              int64_t row_elems);
void comm_host_send(struct comm *c, int rank, int peer, const float *buf, int64_t n);
void comm_host_recv(struct comm *c, int rank, int peer, float *buf, int64_t n);

/* Block until a message from `peer` to `rank` is waiting (no copy, no
 * record). Returns its arrival time on a simulated timeline (comm_sim_send),
 * 0 for a message with data. */
uint64_t comm_wait_recv(struct comm *c, int rank, int peer);

/* ---- simulated devices (kernels/sim): the same communicator carries
 * timelines instead of data; nothing is copied.
 *
 * comm_sim_join: every rank calls it from its own thread with the time its
 * collective starts on its SIMULATED timeline (ns); returns the latest start
 * over the ranks (a ring cannot finish before its last member joins).
 * comm_sim_send: a message of n floats (no data) landing on `peer` at
 * arrive_ns. comm_sim_recv: takes the oldest one from `peer` and returns its
 * arrival time (aborts on a size mismatch, as the data path does). */
uint64_t comm_sim_join(struct comm *c, int rank, uint64_t t_ns);
void     comm_sim_send(struct comm *c, int rank, int peer, int64_t n, uint64_t arrive_ns);
uint64_t comm_sim_recv(struct comm *c, int rank, int peer, int64_t n);

/* Bytes one rank moves over the link in each op (the record's dram_rd):
 * all-reduce ring 2(n−1)/n × S; all-gather and reduce-scatter (n−1)/n × S,
 * S = the full buffer's bytes; send/recv S. */
double comm_bytes_all_reduce(int n, int64_t elems);
double comm_bytes_gather_scatter(int n, int64_t elems);

#endif
