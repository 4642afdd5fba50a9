/* kernels/cpu/cpu_comm.c — the CPU backend's comm ops: the in-process ring of
 * kernels/comm.c over the virtual devices' host memory. The calling thread
 * (the one driving this device) does the copies. */
#include "kernels/comm.h"
#include "kernels/cpu/cpu_internal.h"

#include <stdio.h>
#include <stdlib.h>

/* This device's rank in c; a device outside c is a programming error. */
static int rank_of(struct backend *be, const struct comm *c)
{
    int r = comm_rank(c, be);
    if (r < 0) {
        fprintf(stderr, "infertop: cpu device %d is not in the communicator it was given\n", be->device);
        abort();
    }
    return r;
}

void cpu_all_reduce(struct backend *be, struct comm *c, float *buf, int64_t n)
{
    comm_host_all_reduce(c, rank_of(be, c), buf, n);
}

void cpu_all_gather(struct backend *be, struct comm *c, float *out, const float *in, int64_t rows,
                    int64_t row_elems)
{
    comm_host_all_gather(c, rank_of(be, c), out, in, rows, row_elems);
}

void cpu_reduce_scatter(struct backend *be, struct comm *c, float *out, float *in, int64_t rows,
                        int64_t row_elems)
{
    comm_host_reduce_scatter(c, rank_of(be, c), out, in, rows, row_elems);
}

void cpu_send(struct backend *be, struct comm *c, int peer, const float *buf, int64_t n)
{
    comm_host_send(c, rank_of(be, c), peer, buf, n);
}

void cpu_recv(struct backend *be, struct comm *c, int peer, float *buf, int64_t n)
{
    comm_host_recv(c, rank_of(be, c), peer, buf, n);
}
