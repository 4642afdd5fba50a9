/* core/plan/validate.h — `infertop plan --validate`: is the roofline model of
 * the host right? One scenario runs on the real CPU backend; every step's
 * kernel records (their real shapes, MODELED FLOPs and bytes) are timed by
 * the host row's roofline (kernels/roofline.c on the measured host,
 * core/plan/hw_host.c) and compared with their measured times — per op class
 * and per step. Then the same request stream (same capacity, same arrivals)
 * runs on sim:host, and the two serving reports are compared end to end.
 * The model is not tuned to the run: where it is wrong shows per op class. */
#ifndef INFERTOP_VALIDATE_H
#define INFERTOP_VALIDATE_H

#include "core/plan/hw_speed.h"
#include "core/plan/validate_ops.h"
#include "core/workload/run.h"
#include "kernels/roofline.h"

#include <stdio.h>

/* One step of the CPU run: measured vs predicted. */
struct validate_step {
    int index, batch, prefill_tokens, decode_tokens;
    double meas_s, pred_s;      /* step duration; the sum of its ops' roofline times */
    double ops_meas_s;          /* the sum of its ops' measured times */
    double t_s;                 /* CLOCK_MONOTONIC seconds when it was observed (hw_speed's clock) */
};

#define VALIDATE_SPEED_EVERY_S 5.0   /* a host speed sample (hw_speed.h) this often during the CPU run */
#define VALIDATE_SPEED_QUIET_NS 3000000ull  /* before each sample: past the pool workers' 2 ms spin (threadpool.c) */
#define VALIDATE_SPEED_MAX 256
/* The host's speed must hold across the probes for their profile to describe
 * the run: read speed and FMA rate after the probes within VALIDATE_STEADY
 * of before, else the probes run again, VALIDATE_PROBE_TRIES times at most
 * (the last is used). On the 2-core AMD EPYC VM both moved 10-56%
 * across one 30-40 s probe (2026-12-03), and such a run's every op class was
 * off by the same 20-35%. "Steady" also needs the run's samples' medians
 * within VALIDATE_STEADY of the probes'. */
#define VALIDATE_STEADY 0.10
#define VALIDATE_PROBE_TRIES 3

struct validate_result {
    char device[96];            /* the host row's name */
    double bw, f32_flops, op_overhead_s;
    double llc_bytes, llc_bw, near_bytes, near_bw;   /* the host's working-set tiers */
    struct roof_device host;    /* the whole host row the predictions used */
    enum dtype wtype;           /* the run's weight format (the first layer's) */
    int cores;                  /* online CPUs */
    int threads;                /* the CPU run's threads */
    double load_start, load_end;/* 1-minute load average before the probes and after the CPU run (-1: unknown) */
    double others_probe;        /* average CPUs other processes used during the host's probes */
    double others_run;          /* ... during the CPU run (core/plan/cpu_load.h; -1: unknown) */
    struct validate_class cls[OPC_COUNT];
    struct validate_class phase_cls[VP_COUNT][OPC_COUNT];
    struct validate_kinds kinds;        /* the same by op kind: name, shape, size bucket (validate_ops.h) */
    struct validate_step *steps;        /* every step of the CPU run */
    int n_steps, n_decode;              /* n_decode: steps with decode tokens only */
    double decode_err_median;           /* median |pred − meas| / meas over decode-only steps */
    double decode_err_signed;           /* median (pred − meas) / meas over the same */
    double prefill_err_median;          /* over steps with prefill tokens */
    double decode_outside_median;       /* median (meas − ops_meas) / meas over decode-only steps: the
                                           step's time outside its ops (scheduling, sampling, the
                                           loop), which no op's model holds */
    double capacity;                    /* req/s the relative rate used (both runs) */
    /* the host's own speed (hw_speed.h): before and after the probes (their mean is the
     * host row's moment), every VALIDATE_SPEED_EVERY_S of the CPU run and after it */
    struct hw_speed speed_probe[2];
    int probe_tries;                    /* host probes taken (the last one's profile is used) */
    double probe_moved;                 /* the last one's largest |after / before - 1| of read speed and FMA rate */
    double bw_ratio_median, fma_ratio_median;   /* the run's samples over the probe's mean */
    struct hw_speed speed[VALIDATE_SPEED_MAX];
    int n_speed;
    double bw_ratio_min, bw_ratio_max;  /* the run's samples' read speed over the probe's */
    double fma_ratio_min, fma_ratio_max;
    double decode_err_speed_median;     /* median |pred / bw ratio at the step − meas| / meas, decode-only
                                           steps: the error were the prediction to follow the machine's
                                           read speed (a diagnostic: the model's own error is above) */
    double decode_err_speed_signed;
    struct report measured, simulated;  /* the CPU run and the sim:host run */
};

/* Run b's scenario on the CPU and on sim:host (b->opt's device is ignored).
 * log (NULL: silent) gets progress. 0 ok; 1 runtime failure; 2 bad input,
 * with one line in err. Free with validate_free. */
/* Whether other processes loaded the machine while v measured (then waiting
 * for a core shows up as op time and the errors say little about the model):
 * the CPUs other processes used during the probes or during the CPU run
 * (others_probe, others_run) above VALIDATE_LOADED_CPUS of the CPUs. Where
 * neither is known (no /proc/stat), the 1-minute load average: at the start,
 * or after the CPU run less this run's threads, above half the CPUs. */
#define VALIDATE_LOADED_CPUS 0.25
bool validate_loaded(const struct validate_result *v);

/* Whether the host's speed held: across the probe used (probe_moved) and
 * through the run (the samples' median read and FMA ratios), each within
 * VALIDATE_STEADY. Without samples: true (nothing says otherwise). */
bool validate_steady(const struct validate_result *v);

/* The largest |after / before - 1| of the read speed and the FMA rate; 0
 * when either sample measured nothing. */
double hw_speed_moved(const struct hw_speed *before, const struct hw_speed *after);

int  plan_validate(const struct run_setup *b, FILE *log, struct validate_result *v, char *err, size_t errlen);
void validate_free(struct validate_result *v);

#endif
