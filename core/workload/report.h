/* core/workload/report.h — serving metrics from a finished run (definitions in
 * docs/serving-metrics.md).
 *
 * TTFT = first token − arrival (queueing included); TPOT per request =
 * (E2E − TTFT)/(N_out − 1), then over requests; ITL = every gap between
 * consecutive tokens, pooled; E2E = finish − arrival. Percentiles: linear
 * interpolation between closest ranks (numpy's default, vLLM's).
 *
 * Computed from the published telemetry only (core/telemetry.h): the
 * request ledger and the step records. */
#ifndef INFERTOP_REPORT_H
#define INFERTOP_REPORT_H

#include "core/spec/spec_report.h"
#include "core/telemetry.h"

struct dist_stats { double mean, p50, p90, p99, max; int n; };

struct report {
    int requests, finished;
    double duration_s;               /* first arrival → last completion */
    double req_s, output_tok_s, total_tok_s;
    struct dist_stats ttft_ms, tpot_ms, itl_ms, e2e_ms;
    double goodput_req_s;            /* requests meeting every SLO ÷ duration */
    double slo_ttft_ms, slo_tpot_ms; /* 0 = none */
    double kv_util_mean_pct, kv_util_peak_pct;
    double kv_waste_pct;             /* (reserved-but-empty + internal frag) ÷ allocated, mean over steps */
    double batch_mean, batch_max, batch_occupancy_pct;   /* mean batch ÷ max_batch */
    uint64_t preemptions;
    double prefill_time_pct;         /* apportioned, see telemetry.h */
    double prefill_tok_s;            /* prefill tokens run ÷ prefill time (apportioned) */
    double decode_tok_s;             /* decode tokens ÷ decode time (apportioned) */
    long prompt_tokens, output_tokens, prefill_computed_tokens, prefix_hit_tokens;
    uint64_t steps;
    double attn_time_s, matmul_time_s, other_time_s;
    double attn_dram_bytes, attn_chip_bytes;   /* modeled */
    struct spec_report spec;         /* speculative decoding (all zero with spec=off) */
    /* tensor/pipeline parallelism: means over the steps that ran on a device group */
    int par_steps;
    double par_bubble_pct, par_bubble_formula_pct, par_comm_pct;
    double par_resid_bytes_max;      /* largest residual stream one device held */
    struct tel_backend_hooks hooks;  /* device sampling and step graphs (telemetry.hooks at the end) */
    struct report_output *outputs;   /* per request, only after report_outputs(); else NULL */
    int n_outputs;
};

/* One request's output tokens: token identity across configurations. */
struct report_output {
    int id, prompt_len, generated;
    uint64_t hash;                   /* tel_hash_tokens(tokens, generated) */
    int32_t *tokens;                 /* [generated] */
    int spec_drafts, spec_drafted, spec_accepted;   /* its speculative steps (tel_request) */
};

struct dist_stats dist_compute(double *v, int n);   /* sorts v */
void report_compute(const struct telemetry *t, double slo_ttft_ms, double slo_tpot_ms, struct report *r);
/* Copy every request's output tokens and hash into r->outputs. 0 ok, -1 out of memory. */
int  report_outputs(const struct telemetry *t, struct report *r);
/* Free r->outputs (a report without them needs no call). */
void report_free(struct report *r);

#endif
