/* traces/cupti.h — CUPTI Activity API collector: measured kernel times.
 *
 * One collector per process (CUPTI itself is process-wide). Start it only once
 * a CUDA device exists (the CUDA backend does); any CUPTI failure leaves it off
 * with "trace unavailable: <reason>", never fatal. Without CUDA in the build
 * the functions exist and report that reason.
 *
 * Kernels are attributed to the caller's own 64-bit tags: cupti_tag_push(tag)
 * before launching, cupti_tag_pop() after (CUPTI external correlation, kind
 * CUSTOM0); a drained kernel carries the innermost tag active at its launch
 * (0 when none). */
#ifndef INFERTOP_CUPTI_H
#define INFERTOP_CUPTI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cupti_kernel {
    uint64_t tag;              /* caller's tag, 0 = untagged */
    uint64_t start_ns, end_ns; /* GPU timestamps */
    uint32_t correlation_id;
    uint32_t stream_id;
    int32_t grid[3], block[3];
    int32_t registers;         /* per thread */
    int32_t smem_bytes;        /* static + dynamic shared memory per block */
    char name[64];             /* mangled kernel name, truncated */
};

struct cupti_stats {
    uint64_t kernels, memcpys, memsets, memcpy_bytes, memset_bytes;
    uint64_t dropped;          /* records CUPTI dropped (buffers full) */
    uint64_t pool_misses;      /* buffer requests the pool could not serve */
    uint64_t unmatched;        /* kernels whose tag was never seen */
};

typedef void (*cupti_kernel_fn)(const struct cupti_kernel *k, void *user);

/* Subscribe and enable CONCURRENT_KERNEL, MEMCPY, MEMSET, EXTERNAL_CORRELATION
 * and RUNTIME + DRIVER API records (external correlation needs them: cuBLAS
 * may launch through the driver API) into buffers from a preallocated pool. 0 on success;
 * -1 with "trace unavailable: <reason>" in why (another subscriber such as
 * nsys/ncu is named when CUPTI reports one). */
int  cupti_collector_start(char *why, size_t n);
bool cupti_collector_active(void);
void cupti_tag_push(uint64_t tag);
void cupti_tag_pop(void);
/* Flush every completed record and call fn for each kernel finished since the
 * last drain (launches must have completed: synchronize first). Returns the
 * number of kernels delivered. */
int  cupti_collector_drain(cupti_kernel_fn fn, void *user);
void cupti_collector_stats(struct cupti_stats *s);
/* Flush, disable and unsubscribe; safe when never started. */
void cupti_collector_stop(void);

#ifdef __cplusplus
}
#endif

#endif
