/* traces/cupti.c — CUPTI Activity API collector (see cupti.h).
 *
 * Flow: CUPTI asks for a buffer (buffer_requested) → we hand one out from a
 * preallocated pool; CUPTI fills it with records and hands it back
 * (buffer_completed, possibly on its own thread) → we copy kernel records into
 * `pending` and correlation ids into a direct-mapped table, and return the
 * buffer to the pool. cupti_collector_drain flushes, joins each kernel's
 * correlation id with its external id (our tag) and delivers it. */
#include "traces/cupti.h"

#include <stdio.h>
#include <string.h>

#ifdef INFERTOP_CUDA

#include <cupti.h>
#include <cuda_runtime_api.h>
#include <pthread.h>
#include <stdlib.h>

#define POOL_BUFS    8
#define POOL_BUF_SZ  (2u << 20)          /* 2 MB each: 16 MB preallocated */
#define CORR_SLOTS   (1u << 16)          /* direct-mapped correlationId → tag */
#define PENDING_MAX  (1 << 20)           /* kernels held between drains */

struct corr_slot { uint32_t corr; uint64_t ext; };

static struct {
    bool active;
    CUpti_SubscriberHandle sub;
    pthread_mutex_t mu;
    uint8_t *pool[POOL_BUFS];
    bool in_use[POOL_BUFS];
    struct corr_slot *corr;              /* [CORR_SLOTS] */
    struct cupti_kernel *pending;
    int n_pending, cap_pending;
    struct cupti_stats st;
} C = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void CUPTIAPI buffer_requested(uint8_t **buffer, size_t *size, size_t *max_records)
{
    *buffer = NULL;
    *size = 0;
    *max_records = 0;                    /* as many as fit */
    pthread_mutex_lock(&C.mu);
    for (int i = 0; i < POOL_BUFS; i++)
        if (!C.in_use[i] && C.pool[i]) {
            C.in_use[i] = true;
            *buffer = C.pool[i];
            *size = POOL_BUF_SZ;
            break;
        }
    if (!*buffer) C.st.pool_misses++;    /* CUPTI drops records until a buffer returns */
    pthread_mutex_unlock(&C.mu);
}

static void keep_kernel(const CUpti_ActivityKernel10 *k)
{
    C.st.kernels++;
    if (C.n_pending == C.cap_pending) {
        int cap = C.cap_pending ? C.cap_pending * 2 : 4096;
        struct cupti_kernel *p = cap <= PENDING_MAX ? realloc(C.pending, sizeof *p * (size_t)cap) : NULL;
        if (!p) { C.st.dropped++; return; }
        C.pending = p;
        C.cap_pending = cap;
    }
    struct cupti_kernel *o = &C.pending[C.n_pending++];
    memset(o, 0, sizeof *o);
    o->start_ns = k->start;
    o->end_ns = k->end;
    o->correlation_id = k->correlationId;
    o->stream_id = k->streamId;
    o->grid[0] = k->gridX; o->grid[1] = k->gridY; o->grid[2] = k->gridZ;
    o->block[0] = k->blockX; o->block[1] = k->blockY; o->block[2] = k->blockZ;
    o->registers = k->registersPerThread;
    o->smem_bytes = k->staticSharedMemory + k->dynamicSharedMemory;
    snprintf(o->name, sizeof o->name, "%s", k->name ? k->name : "?");
}

static void keep_record(const CUpti_Activity *rec)
{
    switch (rec->kind) {
    case CUPTI_ACTIVITY_KIND_KERNEL:
    case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL:
        keep_kernel((const CUpti_ActivityKernel10 *)rec);
        break;
    case CUPTI_ACTIVITY_KIND_MEMCPY:
        C.st.memcpys++;
        C.st.memcpy_bytes += ((const CUpti_ActivityMemcpy6 *)rec)->bytes;
        break;
    case CUPTI_ACTIVITY_KIND_MEMSET:
        C.st.memsets++;
        C.st.memset_bytes += ((const CUpti_ActivityMemset4 *)rec)->bytes;
        break;
    case CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION: {
        const CUpti_ActivityExternalCorrelation *e = (const CUpti_ActivityExternalCorrelation *)rec;
        if (e->externalKind == CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0) {
            struct corr_slot *s = &C.corr[e->correlationId & (CORR_SLOTS - 1)];
            s->corr = e->correlationId;
            s->ext = e->externalId;
        }
        break;
    }
    default:                             /* runtime API records: needed for correlation only */
        break;
    }
}

static void CUPTIAPI buffer_completed(CUcontext ctx, uint32_t stream, uint8_t *buffer, size_t size,
                                      size_t valid)
{
    (void)size;
    CUpti_Activity *rec = NULL;
    size_t dropped = 0;
    pthread_mutex_lock(&C.mu);
    while (valid > 0 && cuptiActivityGetNextRecord(buffer, valid, &rec) == CUPTI_SUCCESS)
        keep_record(rec);
    if (cuptiActivityGetNumDroppedRecords(ctx, stream, &dropped) == CUPTI_SUCCESS)
        C.st.dropped += dropped;
    for (int i = 0; i < POOL_BUFS; i++)
        if (C.pool[i] == buffer) C.in_use[i] = false;
    pthread_mutex_unlock(&C.mu);
}

static void CUPTIAPI no_callback(void *user, CUpti_CallbackDomain d, CUpti_CallbackId id, const void *data)
{
    (void)user; (void)d; (void)id; (void)data;
}

static const char *cupti_msg(CUptiResult r)
{
    const char *s = NULL;
    if (cuptiGetResultString(r, &s) != CUPTI_SUCCESS || !s) s = "unknown CUPTI error";
    return s;
}

static void release_memory(void)
{
    for (int i = 0; i < POOL_BUFS; i++) { free(C.pool[i]); C.pool[i] = NULL; C.in_use[i] = false; }
    free(C.corr);
    free(C.pending);
    C.corr = NULL;
    C.pending = NULL;
    C.n_pending = C.cap_pending = 0;
}

static int alloc_memory(void)
{
    C.corr = calloc(CORR_SLOTS, sizeof *C.corr);
    if (!C.corr) return -1;
    for (int i = 0; i < POOL_BUFS; i++)
        if (!(C.pool[i] = aligned_alloc(8, POOL_BUF_SZ))) return -1;
    return 0;
}

static const CUpti_ActivityKind KINDS[] = {
    CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, CUPTI_ACTIVITY_KIND_MEMCPY, CUPTI_ACTIVITY_KIND_MEMSET,
    CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION, CUPTI_ACTIVITY_KIND_RUNTIME, CUPTI_ACTIVITY_KIND_DRIVER,
};
#define N_KINDS (int)(sizeof KINDS / sizeof KINDS[0])

static int subscribe(char *why, size_t n)
{
    char old[CUPTI_OLD_SUBSCRIBER_NAME_MIN_LEN] = "";
    CUpti_SubscriberParams p;
    memset(&p, 0, sizeof p);
    p.structSize = CUpti_SubscriberParams_STRUCT_SIZE;
    p.subscriberName = "infertop";
    p.oldSubscriberName = old;
    p.oldSubscriberSize = sizeof old;
    CUptiResult r = cuptiSubscribe_v2(&C.sub, no_callback, NULL, &p);
    if (r == CUPTI_SUCCESS) return 0;
    if (old[0]) snprintf(why, n, "trace unavailable: CUPTI already held by %s (%s)", old, cupti_msg(r));
    else snprintf(why, n, "trace unavailable: cuptiSubscribe_v2: %s", cupti_msg(r));
    return -1;
}

static int enable_activities(char *why, size_t n)
{
    CUptiResult r = cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed);
    if (r != CUPTI_SUCCESS) {
        snprintf(why, n, "trace unavailable: cuptiActivityRegisterCallbacks: %s", cupti_msg(r));
        return -1;
    }
    for (int i = 0; i < N_KINDS; i++)
        if ((r = cuptiActivityEnable(KINDS[i])) != CUPTI_SUCCESS) {
            snprintf(why, n, "trace unavailable: cuptiActivityEnable(kind %d): %s", (int)KINDS[i], cupti_msg(r));
            for (int j = 0; j < i; j++) cuptiActivityDisable(KINDS[j]);
            return -1;
        }
    cuptiActivityFlushPeriod(200);   /* ms: completed buffers come back between drains too */
    return 0;
}

int cupti_collector_start(char *why, size_t n)
{
    int count = 0;
    if (C.active) return 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        cudaGetLastError();
        snprintf(why, n, "trace unavailable: no CUDA device (%s)", e != cudaSuccess ? cudaGetErrorName(e) : "0 devices");
        return -1;
    }
    memset(&C.st, 0, sizeof C.st);
    if (alloc_memory() != 0) {
        release_memory();
        snprintf(why, n, "trace unavailable: out of memory for %d CUPTI buffers of %u bytes", POOL_BUFS, POOL_BUF_SZ);
        return -1;
    }
    if (subscribe(why, n) != 0) { release_memory(); return -1; }
    if (enable_activities(why, n) != 0) {
        cuptiUnsubscribe(C.sub);
        release_memory();
        return -1;
    }
    C.active = true;
    snprintf(why, n, "CUPTI activity trace on (kernels, memcpy, memset)");
    return 0;
}

bool cupti_collector_active(void) { return C.active; }

void cupti_tag_push(uint64_t tag)
{
    if (C.active) cuptiActivityPushExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, tag);
}

void cupti_tag_pop(void)
{
    uint64_t last;
    if (C.active) cuptiActivityPopExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, &last);
}

int cupti_collector_drain(cupti_kernel_fn fn, void *user)
{
    if (!C.active) return 0;
    cuptiActivityFlushAll(0);            /* completes buffers through buffer_completed */
    pthread_mutex_lock(&C.mu);
    int n = C.n_pending;
    for (int i = 0; i < n; i++) {
        struct cupti_kernel *k = &C.pending[i];
        const struct corr_slot *s = &C.corr[k->correlation_id & (CORR_SLOTS - 1)];
        k->tag = s->corr == k->correlation_id ? s->ext : 0;
        if (!k->tag) C.st.unmatched++;
        fn(k, user);
    }
    C.n_pending = 0;
    pthread_mutex_unlock(&C.mu);
    return n;
}

void cupti_collector_stats(struct cupti_stats *s)
{
    pthread_mutex_lock(&C.mu);
    *s = C.st;
    pthread_mutex_unlock(&C.mu);
}

void cupti_collector_stop(void)
{
    if (!C.active) return;
    cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
    for (int i = 0; i < N_KINDS; i++) cuptiActivityDisable(KINDS[i]);
    cuptiUnsubscribe(C.sub);
    C.active = false;
    pthread_mutex_lock(&C.mu);
    release_memory();
    pthread_mutex_unlock(&C.mu);
}

#else /* built without CUDA: the collector is never available */

int cupti_collector_start(char *why, size_t n)
{
    snprintf(why, n, "trace unavailable: built without CUDA (CUDA=0 or nvcc not found)");
    return -1;
}

bool cupti_collector_active(void) { return false; }
void cupti_tag_push(uint64_t tag) { (void)tag; }
void cupti_tag_pop(void) {}
int  cupti_collector_drain(cupti_kernel_fn fn, void *user) { (void)fn; (void)user; return 0; }
void cupti_collector_stats(struct cupti_stats *s) { memset(s, 0, sizeof *s); }
void cupti_collector_stop(void) {}

#endif
