/* traces/cupti_range.c — the range-profiler session over a crp_ops table
 * (see cupti_range.h); CUPTI itself is in traces/cupti_range_cupti.cu. */
#include "traces/cupti_range.h"

#include <stdio.h>
#include <string.h>

const char *const CRP_METRIC_NAMES[CRP_N_METRICS] = {
    "dram__bytes_read.sum", "dram__bytes_write.sum", "lts__t_bytes.sum",
    "l1tex__data_pipe_lsu_wavefronts_mem_shared.sum", "gpu__time_duration.sum",
};

void crp_reason(enum crp_status st, const char *detail, char *out, size_t n)
{
    const char *what;
    switch (st) {
    case CRP_OK: what = ""; break;
    case CRP_NO_GPU: what = "traffic not measured: no usable CUDA device"; break;
    case CRP_NO_PERMISSION:
        what = "traffic not measured: no GPU counter permission (the driver restricts profiling to admin "
               "users: run as root or load nvidia with NVreg_RestrictProfilingToAdminUsers=0)";
        break;
    case CRP_OTHER_PROFILER: what = "traffic not measured: another profiler (nsys, ncu, a sanitizer) holds the counters"; break;
    case CRP_UNSUPPORTED: what = "traffic not measured: the range profiler does not support this device (or vGPU/MIG)"; break;
    case CRP_HW_BUSY: what = "traffic not measured: the GPU counters are busy (DCGM or nsys GPU metrics)"; break;
    case CRP_MULTI_PASS: what = "traffic not measured: the metric set needs more than one pass on this chip"; break;
    default: what = "traffic not measured: CUPTI range profiler failed"; break;
    }
    if (detail && detail[0] && st != CRP_OK) snprintf(out, n, "%s (%s)", what, detail);
    else snprintf(out, n, "%s", what);
}

static void release(struct crp_session *s)
{
    if (s->held && s->ops->release) s->ops->release(s->ctx);
    s->held = false;
}

static int fail(struct crp_session *s, int st, const char *detail)
{
    release(s);
    s->state = CRP_OFF;
    s->status = (enum crp_status)st;
    crp_reason(s->status, detail, s->reason, sizeof s->reason);
    return st;
}

int crp_open(struct crp_session *s, const struct crp_ops *ops, void *ctx, int device, int max_ranges)
{
    memset(s, 0, sizeof *s);
    s->ops = ops;
    s->ctx = ctx;
    s->max_ranges = max_ranges > 0 ? max_ranges : 1;
    char detail[128] = "";
    s->held = true;                              /* release() undoes device_check, even a failed one */
    int st = ops->device_check(ctx, device, s->chip, sizeof s->chip, detail, sizeof detail);
    if (st != CRP_OK) return fail(s, st, detail);
    s->state = CRP_READY;
    int passes = 0;
    st = ops->configure(ctx, s->chip, CRP_METRIC_NAMES, CRP_N_METRICS, s->max_ranges, &passes, detail, sizeof detail);
    if (st != CRP_OK) return fail(s, st, detail);
    if (passes != 1) {
        snprintf(detail, sizeof detail, "%d passes on %s", passes, s->chip);
        return fail(s, CRP_MULTI_PASS, detail);
    }
    return CRP_OK;
}

bool crp_usable(const struct crp_session *s) { return s->state != CRP_OFF; }

static struct crp_session *g_active;
void crp_set_active(struct crp_session *s) { g_active = s; }
struct crp_session *crp_active(void) { return g_active; }

int crp_window_begin(struct crp_session *s)
{
    if (s->state != CRP_READY) return s->state == CRP_OFF ? (int)s->status : CRP_FAILED;
    char detail[128] = "";
    int st = s->ops->start(s->ctx, detail, sizeof detail);
    if (st != CRP_OK) return fail(s, st, detail);
    s->state = CRP_IN_WINDOW;
    s->depth = s->pushed = s->dropped = 0;
    s->top_pushed = false;
    return CRP_OK;
}

void crp_push(struct crp_session *s, const char *name)
{
    if (s->state != CRP_IN_WINDOW) return;
    if (s->depth > 0 || s->pushed >= s->max_ranges) {   /* nesting 1; room for max_ranges */
        s->dropped++;
        s->depth++;
        return;
    }
    s->depth++;
    s->top_pushed = s->ops->push(s->ctx, name) == CRP_OK;
    if (s->top_pushed) s->pushed++;
    else s->dropped++;
}

void crp_pop(struct crp_session *s)
{
    if (s->state != CRP_IN_WINDOW || s->depth == 0) return;
    if (--s->depth == 0 && s->top_pushed) {
        s->ops->pop(s->ctx);
        s->top_pushed = false;
    }
}

int crp_window_end(struct crp_session *s, struct crp_range *out, int max, int *n)
{
    *n = 0;
    if (s->state != CRP_IN_WINDOW) return s->state == CRP_OFF ? (int)s->status : CRP_FAILED;
    char detail[128] = "";
    int st = s->ops->stop(s->ctx, detail, sizeof detail);
    if (st == CRP_OK) st = s->ops->results(s->ctx, out, max, n, detail, sizeof detail);
    if (st != CRP_OK) { *n = 0; return fail(s, st, detail); }
    s->state = CRP_READY;
    return CRP_OK;
}

void crp_close(struct crp_session *s)
{
    if (s->ops) release(s);
    s->state = CRP_OFF;
}

#ifndef INFERTOP_CUDA
static int no_cuda_check(void *ctx, int device, char *chip, size_t n, char *detail, size_t dn)
{
    (void)ctx; (void)device; (void)chip; (void)n;
    snprintf(detail, dn, "built without CUDA");
    return CRP_NO_GPU;
}

static const struct crp_ops NO_CUDA = {.device_check = no_cuda_check};
const struct crp_ops *crp_cupti_ops(void) { return &NO_CUDA; }
#endif
