/* kernels/cuda/cuda_comm.cu — comm ops on CUDA devices through NCCL.
 *
 * comm_create (kernels/comm.c) calls cuda_comm_init for a group of CUDA
 * backends: one ncclComm per device (ncclCommInitAll, single process), NCCL
 * loaded at that point (see nccl_load). Each
 * op runs on the calling device's stream, bracketed so CUPTI gives its record
 * the NCCL kernels' time. Uneven chunks (kernels/comm.h: comm_rows_lo) are
 * grouped broadcasts (all-gather) and reduces (reduce-scatter), since
 * ncclAllGather/ncclReduceScatter take equal counts. */
#include "kernels/cuda/cuda_internal.h"
extern "C" {
#include "kernels/comm.h"
}

#include <nccl.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

/* NCCL is compiled against (nccl.h) in every CUDA build but loaded with
 * dlopen when a communicator over >= 2 GPUs is first made: a binary linked
 * to libnccl loads it at start-up, and that alone makes `nsys profile` lose
 * its agent (Nsight Systems 2022.4, tests/cli/test_nsys.sh), also for runs
 * that never touch a second GPU. */
struct nccl_api {
    ncclResult_t (*CommInitAll)(ncclComm_t *, int, const int *);
    ncclResult_t (*CommDestroy)(ncclComm_t);
    ncclResult_t (*AllReduce)(const void *, void *, size_t, ncclDataType_t, ncclRedOp_t, ncclComm_t, cudaStream_t);
    ncclResult_t (*Broadcast)(const void *, void *, size_t, ncclDataType_t, int, ncclComm_t, cudaStream_t);
    ncclResult_t (*Reduce)(const void *, void *, size_t, ncclDataType_t, ncclRedOp_t, int, ncclComm_t, cudaStream_t);
    ncclResult_t (*Send)(const void *, size_t, ncclDataType_t, int, ncclComm_t, cudaStream_t);
    ncclResult_t (*Recv)(void *, size_t, ncclDataType_t, int, ncclComm_t, cudaStream_t);
    ncclResult_t (*GroupStart)(void);
    ncclResult_t (*GroupEnd)(void);
    const char *(*GetErrorString)(ncclResult_t);
};
static struct nccl_api NCCL;

/* Load libnccl once; false with a reason in err. */
static bool nccl_load(char *err, size_t errlen)
{
    if (NCCL.AllReduce) return true;
    void *h = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "nccl: cannot load libnccl.so.2 (%s)", dlerror());
        return false;
    }
    struct nccl_api a;
#define NCCL_SYM(f) (*(void **)&a.f = dlsym(h, "nccl" #f)) != NULL
    bool ok = NCCL_SYM(CommInitAll) && NCCL_SYM(CommDestroy) && NCCL_SYM(AllReduce) && NCCL_SYM(Broadcast) &&
              NCCL_SYM(Reduce) && NCCL_SYM(Send) && NCCL_SYM(Recv) && NCCL_SYM(GroupStart) &&
              NCCL_SYM(GroupEnd) && NCCL_SYM(GetErrorString);
#undef NCCL_SYM
    if (!ok) {
        snprintf(err, errlen, "nccl: libnccl.so.2 lacks a symbol this build needs (NCCL 2.7 or newer expected)");
        dlclose(h);
        return false;
    }
    NCCL = a;
    return true;
}

struct nccl_comms {
    int n;
    ncclComm_t comm[BACKEND_COMM_MAX];
};

#define NCCL_CHECK(call)                                                                   \
    do {                                                                                   \
        ncclResult_t r_ = (call);                                                          \
        if (r_ != ncclSuccess) cuda_fatal(__FILE__, __LINE__, #call, NCCL.GetErrorString(r_)); \
    } while (0)

extern "C" void *cuda_comm_init(struct backend **devs, int n, char *err, size_t errlen)
{
    if (!nccl_load(err, errlen)) return NULL;
    struct nccl_comms *h = (struct nccl_comms *)calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "nccl: out of memory");
        return NULL;
    }
    int ids[BACKEND_COMM_MAX];
    for (int k = 0; k < n; k++) ids[k] = cuda_ctx_of(devs[k])->device;
    ncclResult_t r = NCCL.CommInitAll(h->comm, n, ids);
    if (r != ncclSuccess) {
        snprintf(err, errlen, "nccl: ncclCommInitAll over %d devices failed: %s", n, NCCL.GetErrorString(r));
        free(h);
        return NULL;
    }
    h->n = n;
    return h;
}

extern "C" void cuda_comm_free(void *handle)
{
    struct nccl_comms *h = (struct nccl_comms *)handle;
    for (int k = 0; k < h->n; k++) NCCL.CommDestroy(h->comm[k]);
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
    NCCL_CHECK(NCCL.AllReduce(buf, buf, (size_t)n, ncclFloat, ncclSum, nc, cuda_ctx_of(be)->stream));
    cuda_op_end(be);
}

extern "C" void cuda_op_all_gather(struct backend *be, struct comm *c, float *out, const float *in,
                                   int64_t rows, int64_t row_elems)
{
    int rank, N = comm_size(c);
    ncclComm_t nc = nccl_of(be, c, &rank);
    cuda_op_begin(be);
    NCCL_CHECK(NCCL.GroupStart());
    for (int root = 0; root < N; root++) {
        int64_t lo = comm_rows_lo(rows, N, root), hi = comm_rows_lo(rows, N, root + 1);
        if (hi == lo) continue;
        NCCL_CHECK(NCCL.Broadcast(root == rank ? (const void *)in : (const void *)(out + lo * row_elems),
                                 out + lo * row_elems, (size_t)((hi - lo) * row_elems), ncclFloat, root, nc,
                                 cuda_ctx_of(be)->stream));
    }
    NCCL_CHECK(NCCL.GroupEnd());
    cuda_op_end(be);
}

extern "C" void cuda_op_reduce_scatter(struct backend *be, struct comm *c, float *out, float *in,
                                       int64_t rows, int64_t row_elems)
{
    int rank, N = comm_size(c);
    ncclComm_t nc = nccl_of(be, c, &rank);
    cuda_op_begin(be);
    NCCL_CHECK(NCCL.GroupStart());
    for (int root = 0; root < N; root++) {
        int64_t lo = comm_rows_lo(rows, N, root), hi = comm_rows_lo(rows, N, root + 1);
        if (hi == lo) continue;
        NCCL_CHECK(NCCL.Reduce(in + lo * row_elems, root == rank ? out : in + lo * row_elems,
                              (size_t)((hi - lo) * row_elems), ncclFloat, ncclSum, root, nc,
                              cuda_ctx_of(be)->stream));
    }
    NCCL_CHECK(NCCL.GroupEnd());
    cuda_op_end(be);
}

extern "C" void cuda_op_send(struct backend *be, struct comm *c, int peer, const float *buf, int64_t n)
{
    int rank;
    ncclComm_t nc = nccl_of(be, c, &rank);
    cuda_op_begin(be);
    NCCL_CHECK(NCCL.Send(buf, (size_t)n, ncclFloat, peer, nc, cuda_ctx_of(be)->stream));
    cuda_op_end(be);
}

extern "C" void cuda_op_recv(struct backend *be, struct comm *c, int peer, float *buf, int64_t n)
{
    int rank;
    ncclComm_t nc = nccl_of(be, c, &rank);
    cuda_op_begin(be);
    NCCL_CHECK(NCCL.Recv(buf, (size_t)n, ncclFloat, peer, nc, cuda_ctx_of(be)->stream));
    cuda_op_end(be);
}
