/* core/plan/validate.c — see validate.h. */
#include "core/plan/validate.h"
#include "core/plan/cpu_load.h"
#include "core/plan/hw.h"
#include "core/plan/hw_probe.h"
#include "core/workload/session.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct observe_ctx {
    const struct roof_device *host;
    enum dtype kv_type;         /* the run's KV element type: attention's profile */
    struct validate_result *v;
    int cap;
    bool oom;
    struct hw_speed_ref *speed;     /* NULL: no speed samples */
    double next_speed_s;
};

/* A host speed sample now, if there is room (the CPU run pauses ~20 ms between two steps). */
static void take_speed(struct validate_result *v, struct hw_speed_ref *ref)
{
    if (ref && v->n_speed < VALIDATE_SPEED_MAX) hw_speed_take(ref, &v->speed[v->n_speed++]);
}


static void add_to_class(struct validate_class *c, double pred_s, double meas_s)
{
    c->pred_s += pred_s;
    c->meas_s += meas_s;
    c->count++;
}

double hw_speed_moved(const struct hw_speed *before, const struct hw_speed *after)
{
    if (!(before->bw > 0 && before->fma_flops > 0 && after->bw > 0 && after->fma_flops > 0)) return 0;
    return fmax(fabs(after->bw / before->bw - 1), fabs(after->fma_flops / before->fma_flops - 1));
}

bool validate_steady(const struct validate_result *v)
{
    if (v->probe_moved > VALIDATE_STEADY) return false;
    if (v->n_speed == 0 || !(v->bw_ratio_median > 0)) return true;
    return fabs(v->bw_ratio_median - 1) <= VALIDATE_STEADY && fabs(v->fma_ratio_median - 1) <= VALIDATE_STEADY;
}

bool validate_loaded(const struct validate_result *v)
{
    if (v->cores <= 0) return false;
    if (v->others_probe >= 0 || v->others_run >= 0)
        return fmax(v->others_probe, v->others_run) > VALIDATE_LOADED_CPUS * v->cores;
    double others = fmax(v->load_start, v->load_end - v->threads);
    return others > 0.5 * v->cores;
}

/* Every step of the CPU run: its records' roofline times against their measured times. */
static int observe_step(void *ctx, const struct telemetry *t, char *err, size_t errlen)
{
    struct observe_ctx *o = ctx;
    struct validate_result *v = o->v;
    (void)err; (void)errlen;
    if (!t->step) return 0;
    if (v->n_steps == o->cap) {
        int cap = o->cap ? o->cap * 2 : 1024;
        struct validate_step *s = realloc(v->steps, (size_t)cap * sizeof *s);
        if (!s) { o->oom = true; return 0; }
        v->steps = s;
        o->cap = cap;
    }
    struct validate_step *s = &v->steps[v->n_steps++];
    *s = (struct validate_step){.index = (int)t->step->index, .batch = t->step->batch_size,
                                .prefill_tokens = t->step->prefill_tokens, .decode_tokens = t->step->decode_tokens,
                                .meas_s = t->step->dur_s, .t_s = now_ns() / 1e9};
    if (o->speed && s->t_s >= o->next_speed_s) {
        take_speed(v, o->speed);
        o->next_speed_s = s->t_s + VALIDATE_SPEED_EVERY_S;
    }
    /* the weights this step read: what the next step reads again (the roofline's
     * last-level-cache tier, kernels/roofline.h) */
    struct roof_device host = *o->host;
    host.reuse_bytes = 0;
    for (int i = 0; i < t->n_kernels; i++)
        if (t->kernels[i].cls == OPC_MATMUL) host.reuse_bytes += t->kernels[i].dram_rd;
    enum validate_phase ph = s->prefill_tokens > 0 ? VP_PREFILL : VP_DECODE;
    for (int i = 0; i < t->n_kernels; i++) {
        const struct kernel_record *k = &t->kernels[i];
        struct roof_time rt;
        roof_op_time(&host, k, roof_record_fmt(k, o->kv_type), &rt);
        s->pred_s += rt.t_s;
        s->ops_meas_s += k->dur_ns / 1e9;
        add_to_class(&v->cls[k->cls], rt.t_s, k->dur_ns / 1e9);
        add_to_class(&v->phase_cls[ph][k->cls], rt.t_s, k->dur_ns / 1e9);
        if (validate_kinds_add(&v->kinds, k, ph, rt.t_s, k->dur_ns / 1e9) < 0) o->oom = true;
    }
    return 0;
}

static double median(double *x, int n)
{
    if (n == 0) return 0;
    for (int i = 1; i < n; i++)         /* insertion sort: a few thousand steps */
        for (int j = i; j > 0 && x[j - 1] > x[j]; j--) { double t = x[j]; x[j] = x[j - 1]; x[j - 1] = t; }
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

/* The host row, probed until the host's speed held across one probe
 * (VALIDATE_PROBE_TRIES at most): speed_probe[0] holds the sample before
 * the last probe, [1] after it. The last one, steady or not, is the row
 * both runs use: hw_device_fresh caches it, and the sim:host run reads the
 * cache. Without speed samples one probe. 0 ok; -1 with err. */
static int probe_steadily(const struct run_setup *b, struct hw_speed_ref *speed, struct validate_result *v,
                          struct roof_device *host, FILE *log, char *err, size_t errlen)
{
    v->probe_moved = 0;
    for (int t = 0; t < VALIDATE_PROBE_TRIES; t++) {
        if (t > 0) v->speed_probe[0] = v->speed_probe[1];
        if (hw_device_fresh("host", &b->opt, host, log, err, errlen) < 0) return -1;
        v->probe_tries = t + 1;
        if (!speed) return 0;
        hw_speed_take(speed, &v->speed_probe[1]);
        const struct hw_speed *before = &v->speed_probe[0], *after = &v->speed_probe[1];
        v->probe_moved = hw_speed_moved(before, after);
        if (v->probe_moved <= VALIDATE_STEADY) break;
        if (log && t + 1 < VALIDATE_PROBE_TRIES)
            fprintf(log, "validate: the host's speed moved %.0f%% across the probe (read %.1f -> %.1f GB/s, FMA "
                         "%.1f -> %.1f GFLOP/s): probing again (%d of %d)\n", 100 * v->probe_moved,
                    before->bw / 1e9, after->bw / 1e9, before->fma_flops / 1e9, after->fma_flops / 1e9, t + 2,
                    VALIDATE_PROBE_TRIES);
    }
    return 0;
}

/* The read-speed ratios of the run's samples to the probe's (the mean of
 * the two around the probes), their range, and the decode steps' error with
 * each prediction divided by the ratio at its time. */
static void summarize_speed(struct validate_result *v, double *a, double *sgn)
{
    struct hw_speed ref = {.bw = 0.5 * (v->speed_probe[0].bw + v->speed_probe[1].bw),
                           .fma_flops = 0.5 * (v->speed_probe[0].fma_flops + v->speed_probe[1].fma_flops)};
    v->bw_ratio_min = v->fma_ratio_min = 1e9;
    v->bw_ratio_max = v->fma_ratio_max = 0;
    double rb[VALIDATE_SPEED_MAX], rf[VALIDATE_SPEED_MAX];
    int n = 0;
    for (int i = 0; i < v->n_speed && ref.bw > 0 && ref.fma_flops > 0; i++, n++) {
        double b = v->speed[i].bw / ref.bw, f = v->speed[i].fma_flops / ref.fma_flops;
        rb[n] = b;
        rf[n] = f;
        v->bw_ratio_min = fmin(v->bw_ratio_min, b);
        v->bw_ratio_max = fmax(v->bw_ratio_max, b);
        v->fma_ratio_min = fmin(v->fma_ratio_min, f);
        v->fma_ratio_max = fmax(v->fma_ratio_max, f);
    }
    if (v->bw_ratio_max == 0) v->bw_ratio_min = v->fma_ratio_min = 0;
    v->bw_ratio_median = median(rb, n);
    v->fma_ratio_median = median(rf, n);
    int nd = 0;
    for (int i = 0; i < v->n_steps; i++) {
        const struct validate_step *s = &v->steps[i];
        if (s->meas_s <= 0 || s->prefill_tokens > 0 || s->decode_tokens == 0) continue;
        double e = (s->pred_s / hw_speed_ratio_at(v->speed, v->n_speed, s->t_s, &ref, false) - s->meas_s) / s->meas_s;
        a[nd] = fabs(e);
        sgn[nd++] = e;
    }
    v->decode_err_speed_median = median(a, nd);
    v->decode_err_speed_signed = median(sgn, nd);
}

static void summarize(struct validate_result *v)
{
    double *a = malloc(sizeof *a * (size_t)(v->n_steps + 1)), *sgn = malloc(sizeof *sgn * (size_t)(v->n_steps + 1)),
           *pf = malloc(sizeof *pf * (size_t)(v->n_steps + 1)), *out = malloc(sizeof *out * (size_t)(v->n_steps + 1));
    int nd = 0, np = 0;
    for (int i = 0; a && sgn && pf && out && i < v->n_steps; i++) {
        const struct validate_step *s = &v->steps[i];
        if (s->meas_s <= 0) continue;
        double e = (s->pred_s - s->meas_s) / s->meas_s;
        if (s->prefill_tokens == 0 && s->decode_tokens > 0) {
            out[nd] = (s->meas_s - s->ops_meas_s) / s->meas_s;
            a[nd] = fabs(e);
            sgn[nd++] = e;
        }
        else if (s->prefill_tokens > 0) pf[np++] = fabs(e);
    }
    v->n_decode = nd;
    if (a && sgn && pf && out) {
        v->decode_outside_median = median(out, nd);
        v->decode_err_median = median(a, nd);
        v->decode_err_signed = median(sgn, nd);
        v->prefill_err_median = median(pf, np);
        summarize_speed(v, a, sgn);
    }
    free(a); free(sgn); free(pf); free(out);
}

/* One run of b's scenario at capacity cap on `device`; the observer may be NULL. */
static int run_on(const struct run_setup *b, const char *device, double cap, struct run_observer *o, FILE *log,
                  struct report *r, double *probed, char *err, size_t errlen)
{
    static struct run_setup rb;      /* large: off the stack */
    rb = *b;
    char e[256];
    if (options_set(&rb.opt, "device", device, e, sizeof e) < 0) { snprintf(err, errlen, "%s", e); return 2; }
    struct session S;
    int rc = session_open(&S, rb.model, &rb.opt, log, err, errlen);
    if (rc) return rc;
    if (cap <= 0 && scenario_needs_capacity(&rb.sc)) {
        rc = run_probe_capacity(&S.model, S.be, &rb, 0, NULL, log, &cap, err, errlen);
        if (probed) *probed = cap;
    }
    if (rc == 0) rc = run_scenario(&S.model, S.be, &rb, cap, o, log, r, err, errlen);
    session_close(&S);
    return rc;
}

int plan_validate(const struct run_setup *b, FILE *log, struct validate_result *v, char *err, size_t errlen)
{
    memset(v, 0, sizeof *v);
    struct roof_device host;
    char e[256];
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    v->cores = cores > 0 ? (int)cores : 0;
    v->threads = opt_i(&b->opt, OPT_THREADS) > 0 ? (int)opt_i(&b->opt, OPT_THREADS) : v->cores;
    v->load_start = hw_load_average();
    struct cpu_sample c0, c1, c2;
    /* one 128 MiB buffer for every sample, read by the engine's threads, each
     * sample after VALIDATE_SPEED_QUIET_NS: a sample runs between two steps,
     * and the engine's pool workers spin 2 ms before they sleep (threadpool.c) */
    static struct hw_speed_ref speed;
    bool have_speed = hw_speed_init(&speed, v->threads > 0 ? v->threads : 1, VALIDATE_SPEED_QUIET_NS) == 0;
    if (have_speed) hw_speed_take(&speed, &v->speed_probe[0]);
    cpu_sample_now(&c0);
    if (probe_steadily(b, have_speed ? &speed : NULL, v, &host, log, e, sizeof e) < 0) {
        snprintf(err, errlen, "%s", e);
        hw_speed_free(&speed);
        return 1;
    }
    cpu_sample_now(&c1);
    v->others_probe = cpu_others(&c0, &c1);
    snprintf(v->device, sizeof v->device, "%s", host.name);
    v->bw = host.bw;
    v->f32_flops = host.wtype_flops[DT_F32];
    v->op_overhead_s = host.op_overhead_s;
    v->llc_bytes = host.llc_bytes;
    v->llc_bw = host.llc_bw;
    v->near_bytes = host.near_bytes;
    v->near_bw = host.near_bw;
    v->host = host;
    v->wtype = opt_enum(&b->opt, WTYPE);
    struct observe_ctx oc = {.host = &host, .kv_type = opt_enum(&b->opt, KV_DTYPE), .v = v,
                             .speed = have_speed ? &speed : NULL};
    struct run_observer o = {.ctx = &oc, .step = observe_step, .progress_to = log};
    if (log) fprintf(log, "validate: 1/2 the scenario on the CPU backend (measured)\n");
    int rc = run_on(b, "cpu", 0, &o, log, &v->measured, &v->capacity, err, errlen);
    if (rc == 0 && oc.oom) { snprintf(err, errlen, "validate: out of memory for the step and op-kind tables"); rc = 1; }
    if (rc == 0 && have_speed) take_speed(v, &speed);
    hw_speed_free(&speed);
    if (rc) return rc;
    v->load_end = hw_load_average();
    cpu_sample_now(&c2);
    v->others_run = cpu_others(&c1, &c2);
    if (log) fprintf(log, "validate: 2/2 the same requests on sim:host (SIMULATED)\n");
    struct run_observer quiet = {.progress_to = log};
    rc = run_on(b, "sim:host", v->capacity, &quiet, log, &v->simulated, NULL, err, errlen);
    if (rc) return rc;
    summarize(v);
    return 0;
}

void validate_free(struct validate_result *v)
{
    free(v->steps);
    validate_kinds_free(&v->kinds);
    report_free(&v->measured);
    report_free(&v->simulated);
    memset(v, 0, sizeof *v);
}
