/* traces/cupti_range_cupti.cu — the real crp_ops table (traces/cupti_range.h):
 * CUPTI's Range Profiler (cupti_range_profiler.h) with the host API
 * (cupti_profiler_host.h, C++ only, hence this file is compiled by nvcc).
 *
 * Sequence (CUDA 13 CUPTI): cuptiProfilerInitialize → cuptiProfilerDeviceSupported
 * → cuptiDeviceGetChipName (device_check); cuptiProfilerGetCounterAvailability
 * → cuptiProfilerHostInitialize(chip, availability) → ConfigAddMetrics →
 * GetConfigImage → GetNumOfPasses → cuptiRangeProfilerEnable(ctx) →
 * GetCounterDataSize / CounterDataImageInitialize → SetConfig{user range,
 * user replay, max ranges, nesting 1} (configure); Start / PushRange /
 * PopRange / Stop / DecodeData; per range GetRangeInfo + EvaluateToGpuValues
 * (results). Errors map to crp_status: INSUFFICIENT_PRIVILEGES → no
 * permission, MULTIPLE_SUBSCRIBERS / OLD_PROFILER_API_INITIALIZED → another
 * profiler, HARDWARE_BUSY → busy, NOT_SUPPORTED / VIRTUALIZED / CMP / MIG →
 * unsupported. Compiled for every CUDA build; not yet run on a GPU. */
#include <cuda.h>
#include <cuda_runtime_api.h>
#include <cupti_profiler_host.h>
#include <cupti_profiler_target.h>
#include <cupti_range_profiler.h>
#include <cupti_target.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "traces/cupti_range.h"
}

struct rp_ctx {
    CUcontext cu;
    int device;
    uint8_t *avail, *config, *counter_data;
    size_t avail_size, config_size, counter_size;
    CUpti_Profiler_Host_Object *host;
    CUpti_RangeProfiler_Object *rp;
    bool profiler_init;
};

static struct rp_ctx G;

static int status_of(CUptiResult r)
{
    switch (r) {
    case CUPTI_SUCCESS: return CRP_OK;
    case CUPTI_ERROR_INSUFFICIENT_PRIVILEGES:
    case CUPTI_ERROR_VIRTUALIZED_DEVICE_INSUFFICIENT_PRIVILEGES: return CRP_NO_PERMISSION;
    case CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED:
    case CUPTI_ERROR_OLD_PROFILER_API_INITIALIZED: return CRP_OTHER_PROFILER;
    case CUPTI_ERROR_HARDWARE_BUSY: return CRP_HW_BUSY;
    case CUPTI_ERROR_NOT_SUPPORTED:
    case CUPTI_ERROR_VIRTUALIZED_DEVICE_NOT_SUPPORTED:
    case CUPTI_ERROR_CMP_DEVICE_NOT_SUPPORTED:
    case CUPTI_ERROR_MIG_DEVICE_NOT_SUPPORTED: return CRP_UNSUPPORTED;
    default: return CRP_FAILED;
    }
}

/* The status of r, with "call: CUPTI_ERROR_NAME" in detail on failure. */
static int check(CUptiResult r, const char *call, char *detail, size_t dn)
{
    if (r == CUPTI_SUCCESS) return CRP_OK;
    const char *s = NULL;
    if (cuptiGetErrorMessage(r, &s) != CUPTI_SUCCESS || !s) s = "unknown CUPTI error";
    if (detail) snprintf(detail, dn, "%s: %s", call, s);
    return status_of(r);
}

#define CHECK(call, params)                                                       \
    do {                                                                          \
        int st_ = check(call(&params), #call, detail, dn);                        \
        if (st_ != CRP_OK) return st_;                                            \
    } while (0)

typedef CUresult (*ctx_get_fn)(CUcontext *);

/* A zeroed CUPTI parameter struct of type T named v, structSize set. */
#define PARAMS(T, v) \
    T v;             \
    memset(&v, 0, sizeof v); \
    v.structSize = T##_STRUCT_SIZE

static int rp_device_check(void *ctx, int device, char *chip, size_t n, char *detail, size_t dn)
{
    (void)ctx;
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || device < 0 || device >= count) {
        (void)cudaGetLastError();
        snprintf(detail, dn, "%d CUDA devices", count);
        return CRP_NO_GPU;
    }
    memset(&G, 0, sizeof G);
    G.device = device;
    /* the runtime's primary context, as a CUcontext, without linking libcuda */
    void *fn = NULL;
    cudaDriverEntryPointQueryResult q;
    if (cudaSetDevice(device) != cudaSuccess || cudaFree(0) != cudaSuccess ||
        cudaGetDriverEntryPointByVersion("cuCtxGetCurrent", &fn, 12000, cudaEnableDefault, &q) != cudaSuccess || !fn ||
        ((ctx_get_fn)fn)(&G.cu) != CUDA_SUCCESS || !G.cu) {
        (void)cudaGetLastError();
        snprintf(detail, dn, "no CUDA context for device %d", device);
        return CRP_FAILED;
    }
    PARAMS(CUpti_Profiler_Initialize_Params, ip);
    CHECK(cuptiProfilerInitialize, ip);
    G.profiler_init = true;
    PARAMS(CUpti_Profiler_DeviceSupported_Params, sp);
    sp.cuDevice = device;
    sp.api = CUPTI_PROFILER_RANGE_PROFILING;
    CHECK(cuptiProfilerDeviceSupported, sp);
    if (sp.isSupported != CUPTI_PROFILER_CONFIGURATION_SUPPORTED) {
        snprintf(detail, dn, "architecture %d, vGPU %d, confidential compute %d, CMP %d, WSL %d (1 = unsupported, 2 = disabled)",
                 (int)sp.architecture, (int)sp.vGpu, (int)sp.confidentialCompute, (int)sp.cmp, (int)sp.wsl);
        return sp.vGpu == CUPTI_PROFILER_CONFIGURATION_DISABLED ? CRP_NO_PERMISSION : CRP_UNSUPPORTED;
    }
    PARAMS(CUpti_Device_GetChipName_Params, cp);
    cp.deviceIndex = (size_t)device;
    CHECK(cuptiDeviceGetChipName, cp);
    snprintf(chip, n, "%s", cp.pChipName);
    return CRP_OK;
}

/* *p = a zeroed host image of n bytes (*size = n); CRP_FAILED when there is no memory. */
static int image_alloc(uint8_t **p, size_t *size, size_t n, char *detail, size_t dn)
{
    *p = (uint8_t *)calloc(n ? n : 1, 1);
    if (!*p) { snprintf(detail, dn, "out of host memory (%zu bytes of profiler image)", n); return CRP_FAILED; }
    *size = n;
    return CRP_OK;
}

/* The counter-availability image of the context: its size, then its bytes. */
static int availability_image(char *detail, size_t dn)
{
    PARAMS(CUpti_Profiler_GetCounterAvailability_Params, ap);
    ap.ctx = G.cu;
    CHECK(cuptiProfilerGetCounterAvailability, ap);
    int st = image_alloc(&G.avail, &G.avail_size, ap.counterAvailabilityImageSize, detail, dn);
    if (st != CRP_OK) return st;
    ap.pCounterAvailabilityImage = G.avail;
    CHECK(cuptiProfilerGetCounterAvailability, ap);
    return CRP_OK;
}

/* The host object for `chip` and the config image of the metric set; *passes
 * gets the passes it needs. */
static int host_config_image(const char *chip, const char *const *metrics, int n_metrics, int *passes,
                             char *detail, size_t dn)
{
    PARAMS(CUpti_Profiler_Host_Initialize_Params, hp);
    hp.profilerType = CUPTI_PROFILER_TYPE_RANGE_PROFILER;
    hp.pChipName = chip;
    hp.pCounterAvailabilityImage = G.avail;
    CHECK(cuptiProfilerHostInitialize, hp);
    G.host = hp.pHostObject;
    PARAMS(CUpti_Profiler_Host_ConfigAddMetrics_Params, mp);
    mp.pHostObject = G.host;
    mp.ppMetricNames = (const char **)metrics;
    mp.numMetrics = (size_t)n_metrics;
    CHECK(cuptiProfilerHostConfigAddMetrics, mp);
    PARAMS(CUpti_Profiler_Host_GetConfigImageSize_Params, sp);
    sp.pHostObject = G.host;
    CHECK(cuptiProfilerHostGetConfigImageSize, sp);
    int st = image_alloc(&G.config, &G.config_size, sp.configImageSize, detail, dn);
    if (st != CRP_OK) return st;
    PARAMS(CUpti_Profiler_Host_GetConfigImage_Params, gp);
    gp.pHostObject = G.host;
    gp.configImageSize = G.config_size;
    gp.pConfigImage = G.config;
    CHECK(cuptiProfilerHostGetConfigImage, gp);
    PARAMS(CUpti_Profiler_Host_GetNumOfPasses_Params, np);
    np.configImageSize = G.config_size;
    np.pConfigImage = G.config;
    CHECK(cuptiProfilerHostGetNumOfPasses, np);
    *passes = (int)np.numOfPasses;
    return CRP_OK;
}

/* An empty counter-data image (at configure, and after each window's results). */
static int counter_image_init(char *detail, size_t dn)
{
    PARAMS(CUpti_RangeProfiler_CounterDataImage_Initialize_Params, ci);
    ci.pRangeProfilerObject = G.rp;
    ci.counterDataSize = G.counter_size;
    ci.pCounterData = G.counter_data;
    CHECK(cuptiRangeProfilerCounterDataImageInitialize, ci);
    return CRP_OK;
}

/* Enable the range profiler on the context and size its counter-data image
 * for max_ranges ranges of the metric set. */
static int enable_with_counter_image(const char *const *metrics, int n_metrics, int max_ranges, char *detail,
                                     size_t dn)
{
    PARAMS(CUpti_RangeProfiler_Enable_Params, ep);
    ep.ctx = G.cu;
    CHECK(cuptiRangeProfilerEnable, ep);
    G.rp = ep.pRangeProfilerObject;
    PARAMS(CUpti_RangeProfiler_GetCounterDataSize_Params, cs);
    cs.pRangeProfilerObject = G.rp;
    cs.pMetricNames = (const char **)metrics;
    cs.numMetrics = (size_t)n_metrics;
    cs.maxNumOfRanges = (size_t)max_ranges;
    cs.maxNumRangeTreeNodes = (uint32_t)max_ranges;
    CHECK(cuptiRangeProfilerGetCounterDataSize, cs);
    int st = image_alloc(&G.counter_data, &G.counter_size, cs.counterDataSize, detail, dn);
    return st != CRP_OK ? st : counter_image_init(detail, dn);
}

static int rp_configure(void *ctx, const char *chip, const char *const *metrics, int n_metrics, int max_ranges,
                        int *passes, char *detail, size_t dn)
{
    (void)ctx;
    int st = availability_image(detail, dn);
    if (st == CRP_OK) st = host_config_image(chip, metrics, n_metrics, passes, detail, dn);
    if (st != CRP_OK || *passes != 1) return st;       /* more passes: the session refuses it with the count */
    st = enable_with_counter_image(metrics, n_metrics, max_ranges, detail, dn);
    if (st != CRP_OK) return st;
    PARAMS(CUpti_RangeProfiler_SetConfig_Params, sc);
    sc.pRangeProfilerObject = G.rp;
    sc.configSize = G.config_size;
    sc.pConfig = G.config;
    sc.counterDataImageSize = G.counter_size;
    sc.pCounterDataImage = G.counter_data;
    sc.range = CUPTI_UserRange;
    sc.replayMode = CUPTI_UserReplay;
    sc.maxRangesPerPass = (size_t)max_ranges;
    sc.numNestingLevels = 1;
    sc.minNestingLevel = 1;
    sc.passIndex = 0;
    sc.targetNestingLevel = 1;
    CHECK(cuptiRangeProfilerSetConfig, sc);
    return CRP_OK;
}

static int rp_start(void *ctx, char *detail, size_t dn)
{
    (void)ctx;
    PARAMS(CUpti_RangeProfiler_Start_Params, p);
    p.pRangeProfilerObject = G.rp;
    CHECK(cuptiRangeProfilerStart, p);
    return CRP_OK;
}

static int rp_push(void *ctx, const char *name)
{
    (void)ctx;
    PARAMS(CUpti_RangeProfiler_PushRange_Params, p);
    p.pRangeProfilerObject = G.rp;
    p.pRangeName = name;
    return status_of(cuptiRangeProfilerPushRange(&p));
}

static int rp_pop(void *ctx)
{
    (void)ctx;
    PARAMS(CUpti_RangeProfiler_PopRange_Params, p);
    p.pRangeProfilerObject = G.rp;
    return status_of(cuptiRangeProfilerPopRange(&p));
}

static int rp_stop(void *ctx, char *detail, size_t dn)
{
    (void)ctx;
    PARAMS(CUpti_RangeProfiler_Stop_Params, p);
    p.pRangeProfilerObject = G.rp;
    CHECK(cuptiRangeProfilerStop, p);
    if (!p.isAllPassSubmitted) { snprintf(detail, dn, "cuptiRangeProfilerStop: passes left to replay"); return CRP_MULTI_PASS; }
    return CRP_OK;
}

static int rp_results(void *ctx, struct crp_range *out, int max, int *n, char *detail, size_t dn)
{
    (void)ctx;
    *n = 0;
    PARAMS(CUpti_RangeProfiler_DecodeData_Params, dp);
    dp.pRangeProfilerObject = G.rp;
    CHECK(cuptiRangeProfilerDecodeData, dp);
    PARAMS(CUpti_RangeProfiler_GetCounterDataInfo_Params, ip);
    ip.pCounterDataImage = G.counter_data;
    ip.counterDataImageSize = G.counter_size;
    CHECK(cuptiRangeProfilerGetCounterDataInfo, ip);
    for (size_t r = 0; r < ip.numTotalRanges && *n < max; r++) {
        PARAMS(CUpti_RangeProfiler_CounterData_GetRangeInfo_Params, ri);
        ri.pCounterDataImage = G.counter_data;
        ri.counterDataImageSize = G.counter_size;
        ri.rangeIndex = r;
        ri.rangeDelimiter = "/";
        CHECK(cuptiRangeProfilerCounterDataGetRangeInfo, ri);
        struct crp_range *o = &out[(*n)++];
        snprintf(o->name, sizeof o->name, "%s", ri.rangeName ? ri.rangeName : "?");
        PARAMS(CUpti_Profiler_Host_EvaluateToGpuValues_Params, ev);
        ev.pHostObject = G.host;
        ev.pCounterDataImage = G.counter_data;
        ev.counterDataImageSize = G.counter_size;
        ev.rangeIndex = r;
        ev.ppMetricNames = (const char **)CRP_METRIC_NAMES;
        ev.numMetrics = CRP_N_METRICS;
        ev.pMetricValues = o->v;
        CHECK(cuptiProfilerHostEvaluateToGpuValues, ev);
    }
    return counter_image_init(detail, dn);   /* the next window starts from an empty image */
}

static void rp_release(void *ctx)
{
    (void)ctx;
    if (G.rp) {
        PARAMS(CUpti_RangeProfiler_Disable_Params, p);
        p.pRangeProfilerObject = G.rp;
        (void)cuptiRangeProfilerDisable(&p);
    }
    if (G.host) {
        PARAMS(CUpti_Profiler_Host_Deinitialize_Params, p);
        p.pHostObject = G.host;
        (void)cuptiProfilerHostDeinitialize(&p);
    }
    if (G.profiler_init) {
        PARAMS(CUpti_Profiler_DeInitialize_Params, p);
        (void)cuptiProfilerDeInitialize(&p);
    }
    free(G.avail);
    free(G.config);
    free(G.counter_data);
    memset(&G, 0, sizeof G);
}

static const struct crp_ops CUPTI_RANGE = {
    rp_device_check, rp_configure, rp_start, rp_push, rp_pop, rp_stop, rp_results, rp_release,
};

extern "C" const struct crp_ops *crp_cupti_ops(void) { return &CUPTI_RANGE; }
