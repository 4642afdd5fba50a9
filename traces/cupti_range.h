/* traces/cupti_range.h — measured memory traffic per op range: the CUPTI
 * Range Profiler behind a small function table, so the session logic and
 * every fallback (no GPU, no counter permission, another profiler attached,
 * unsupported device, counters busy, a metric set needing several passes)
 * are unit-tested without a GPU (tests/unit/test_cupti_range.c, fake tables).
 *
 * The one-pass metric set (GH100; validated per chip at open):
 *   dram__bytes_read.sum, dram__bytes_write.sum        HBM bytes
 *   lts__t_bytes.sum                                   L2 bytes
 *   l1tex__data_pipe_lsu_wavefronts_mem_shared.sum     shared-memory wavefronts
 *                                                      (bytes <= 128 x wavefronts)
 *   gpu__time_duration.sum                             ns
 * User ranges with user replay: one range per op launch (crp_push / crp_pop,
 * named by the op's kernel record), kernels stay asynchronous.
 *
 * Usage: crp_open → crp_window_begin → (crp_push name, launches, crp_pop)* →
 * crp_window_end (values per range) → … → crp_close. Any failure leaves the
 * session off with a one-line reason (crp_reason), never fatal; pushes on an
 * off session are no-ops. The real table is crp_cupti_ops() (CUDA builds:
 * traces/cupti_range_cupti.cu; without CUDA it reports "built without CUDA"). */
#ifndef INFERTOP_CUPTI_RANGE_H
#define INFERTOP_CUPTI_RANGE_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum crp_status {
    CRP_OK,
    CRP_NO_GPU,             /* no CUDA device or driver, or a build without CUDA */
    CRP_NO_PERMISSION,      /* CUPTI_ERROR_INSUFFICIENT_PRIVILEGES */
    CRP_OTHER_PROFILER,     /* nsys / ncu / a sanitizer holds CUPTI or the counters */
    CRP_UNSUPPORTED,        /* device, virtualization or MIG not supported */
    CRP_HW_BUSY,            /* CUPTI_ERROR_HARDWARE_BUSY (DCGM, nsys GPU metrics) */
    CRP_MULTI_PASS,         /* the metric set needs more than one pass on this chip */
    CRP_FAILED,             /* any other CUPTI error: detail says which */
};

enum crp_metric { CRP_DRAM_READ, CRP_DRAM_WRITE, CRP_L2_BYTES, CRP_SMEM_WAVEFRONTS, CRP_GPU_TIME_NS, CRP_N_METRICS };

/* The CUPTI metric name of each enum crp_metric. */
extern const char *const CRP_METRIC_NAMES[CRP_N_METRICS];

struct crp_range {
    char name[64];
    double v[CRP_N_METRICS];
};

/* The CUPTI calls, one function per step; each returns an enum crp_status and
 * on failure may write a detail (the CUPTI error name) into detail[dn]. */
struct crp_ops {
    /* device present and profilable; its chip name ("GH100") into chip[n] */
    int (*device_check)(void *ctx, int device, char *chip, size_t n, char *detail, size_t dn);
    /* build the config for the metrics on chip; *passes it needs */
    int (*configure)(void *ctx, const char *chip, const char *const *metrics, int n_metrics, int max_ranges,
                     int *passes, char *detail, size_t dn);
    int (*start)(void *ctx, char *detail, size_t dn);
    int (*push)(void *ctx, const char *name);
    int (*pop)(void *ctx);
    int (*stop)(void *ctx, char *detail, size_t dn);
    /* decode the window: up to max ranges into out, *n of them */
    int (*results)(void *ctx, struct crp_range *out, int max, int *n, char *detail, size_t dn);
    /* undo whatever device_check / configure did; called once after either ran */
    void (*release)(void *ctx);
};

enum crp_state { CRP_OFF, CRP_READY, CRP_IN_WINDOW };

struct crp_session {
    const struct crp_ops *ops;
    void *ctx;
    enum crp_state state;
    enum crp_status status;     /* why it is off (CRP_OK while usable) */
    int max_ranges, depth, pushed, dropped;
    bool top_pushed;            /* the current outermost push reached CUPTI */
    bool held;                  /* device_check ran: release() is owed */
    char chip[32];
    char reason[256];           /* "" while usable */
};

/* Open a session on `device` with room for max_ranges ranges per window.
 * Returns CRP_OK, or the status with s->reason set (the session is off). */
int crp_open(struct crp_session *s, const struct crp_ops *ops, void *ctx, int device, int max_ranges);
/* Start a measured window. CRP_OK or the failure (session off, reason set). */
int crp_window_begin(struct crp_session *s);
/* Bracket one op's launches; no-ops unless in a window. Ranges beyond
 * max_ranges are not pushed (counted in s->dropped). */
void crp_push(struct crp_session *s, const char *name);
void crp_pop(struct crp_session *s);
/* End the window and decode it into out[max], *n ranges. */
int crp_window_end(struct crp_session *s, struct crp_range *out, int max, int *n);
void crp_close(struct crp_session *s);
bool crp_usable(const struct crp_session *s);

/* One line for status (and the CUPTI detail when given): what happened and
 * what to do, e.g. the NVreg_RestrictProfilingToAdminUsers remedy. */
void crp_reason(enum crp_status st, const char *detail, char *out, size_t n);

/* The session the CUDA backend brackets its op launches with (NULL: none).
 * Set by the front end that opened it, from the thread that runs the engine. */
void crp_set_active(struct crp_session *s);
struct crp_session *crp_active(void);

/* The real CUPTI table (CUDA builds), else one that answers CRP_NO_GPU. */
const struct crp_ops *crp_cupti_ops(void);

/* Bytes of the measured HBM traffic (read + write) of a range. */
static inline double crp_dram_bytes(const struct crp_range *r) { return r->v[CRP_DRAM_READ] + r->v[CRP_DRAM_WRITE]; }
/* (modeled - measured) / measured in %, 0 when measured is 0. */
static inline double crp_error_pct(double modeled, double measured)
{
    return measured > 0 ? 100.0 * (modeled - measured) / measured : 0.0;
}

#ifdef __cplusplus
}
#endif

#endif
