/* kernels/cuda/cuda_comm.cu — comm ops on CUDA devices through NCCL.
 *
 * comm_create (kernels/comm.c) calls cuda_comm_init for a group of CUDA
 * backends: one ncclComm per device (ncclCommInitAll, single process). Each
 * op runs on the calling device's stream, bracketed so CUPTI gives its record
 * the NCCL kernels' time. Uneven chunks (kernels/comm.h: comm_rows_lo) are
 * grouped broadcasts (all-gather) and reduces (reduce-scatter), since
 * ncclAllGather/ncclReduceScatter take equal counts. */
#include "kernels/cuda/cuda_internal.h"
extern "C" {
#include "kernels/comm.h"
}

#include <nccl.h>

#include <stdio.h>
#include <stdlib.h>

struct nccl_comms {
    int n;
    ncclComm_t comm[BACKEND_COMM_MAX];
};

#define NCCL_CHECK(call)                                                                   \
    do {                                                                                   \
        ncclResult_t r_ = (call);                                                          \
        if (r_ != ncclSuccess) cuda_fatal(__FILE__, __LINE__, #call, ncclGetErrorString(r_)); \
    } while (0)

extern "C" void *cuda_comm_init(struct backend **devs, int n, char *err, size_t errlen)
{
    struct nccl_comms *h = (struct nccl_comms *)calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "nccl: out of memory");
        return NULL;
    }
    int ids[BACKEND_COMM_MAX];
    for (int k = 0; k < n; k++) ids[k] = cuda_ctx_of(devs[k])->device;
    ncclResult_t r = ncclCommInitAll(h->comm, n, ids);
    if (r != ncclSuccess) {
        snprintf(err, errlen, "nccl: ncclCommInitAll over %d devices failed: %s", n, ncclGetErrorString(r));
        free(h);
        return NULL;
    }
    h->n = n;
    return h;
}

extern "C" void cuda_comm_free(void *handle)
{
    struct nccl_comms *h = (struct nccl_comms *)handle;
    for (int k = 0; k < h->n; k++) ncclCommDestroy(h->comm[k]);
    free(h);
}

/* This device's NCCL comm in c; set the device current. */
static ncclComm_t nccl_of(struct backend *be, struct comm *c, int *rank)
{
    struct nccl_comms *h = (struct nccl_comms *)comm_backend_handle(c);
    *rank = comm_rank(c, be);
    if (!h || *rank < 0) {
        fprintf(stderr, "infertop: cuda device %d: no NCCL comm for this communicator\n", be->device);
        abort();
    }
    CUDA_CHECK(cudaSetDevice(cuda_ctx_of(be)->device));
    return h->comm[*rank];
}

extern "C" void cuda_op_all_reduce(struct backend *be, struct comm *c, float *buf, int64_t n)
{
    int rank;
    ncclComm_t nc = nccl_of(be, c, &rank);
    cuda_op_begin(be);
    NCCL_CHECK(ncclAllReduce(buf, buf, (size_t)n, ncclFloat, ncclSum, nc, cuda_ctx_of(be)->stream));
    cuda_op_end(be);
}

extern "C" void cuda_op_all_gather(struct backend *be, struct comm *c, float *out, const float *in,
                                   int64_t rows, int64_t row_elems)
{
    int rank, N = comm_size(c);
    ncclComm_t nc = nccl_of(be, c, &rank);
    cuda_op_begin(be);
    NCCL_CHECK(ncclGroupStart());
    for (int root = 0; root < N; root++) {
        int64_t lo = comm_rows_lo(rows, N, root), hi = comm_rows_lo(rows, N, root + 1);
        if (hi == lo) continue;
        NCCL_CHECK(ncclBroadcast(root == rank ? (const void *)in : (const void *)(out + lo * row_elems),
                                 out + lo * row_elems, (size_t)((hi - lo) * row_elems), ncclFloat, root, nc,
                                 cuda_ctx_of(be)->stream));
    }
    NCCL_CHECK(ncclGroupEnd());
    cuda_op_end(be);
}

extern "C" void cuda_op_reduce_scatter(struct backend *be, struct comm *c, float *out, float *in,
                                       int64_t rows, int64_t row_elems)
{
    int rank, N = comm_size(c);
    ncclComm_t nc = nccl_of(be, c, &rank);
    cuda_op_begin(be);
    NCCL_CHECK(ncclGroupStart());
    for (int root = 0; root < N; root++) {
        int64_t lo = comm_rows_lo(rows, N, root), hi = comm_rows_lo(rows, N, root + 1);
        if (hi == lo) continue;
        NCCL_CHECK(ncclReduce(in + lo * row_elems, root == rank ? out : in + lo * row_elems,
                              (size_t)((hi - lo) * row_elems), ncclFloat, ncclSum, root, nc,
                              cuda_ctx_of(be)->stream));
    }
    NCCL_CHECK(ncclGroupEnd());
    cuda_op_end(be);
}

extern "C" void cuda_op_send(struct backend *be, struct comm *c, int peer, const float *buf, int64_t n)
{
    int rank;
    ncclComm_t nc = nccl_of(be, c, &rank);
    cuda_op_begin(be);
    NCCL_CHECK(ncclSend(buf, (size_t)n, ncclFloat, peer, nc, cuda_ctx_of(be)->stream));
    cuda_op_end(be);
}

extern "C" void cuda_op_recv(struct backend *be, struct comm *c, int peer, float *buf, int64_t n)
{
    int rank;
    ncclComm_t nc = nccl_of(be, c, &rank);
    cuda_op_begin(be);
    NCCL_CHECK(ncclRecv(buf, (size_t)n, ncclFloat, peer, nc, cuda_ctx_of(be)->stream));
    cuda_op_end(be);
}
