/* tui/cmd_bench.c — `infertop bench` and `infertop ab`: headless scenario runs
 * with a serving report (text, and JSON with --json). */
#include "core/quant/quality.h"
#include "core/workload/run.h"
#include "core/workload/session.h"
#include "traces/trace_out.h"
#include "traces/traffic_measure.h"
#include "tui/ab_eval.h"
#include "tui/cli.h"
#include "tui/setup.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SCENARIO "scenarios/smoke.ini"

/* What a bench run observes per step: traces, and --measure-traffic's window. */
struct bench_obs { struct trace_out *t; struct traffic_measure *tm; };

static int obs_begin(void *ctx, const struct telemetry *e, const char *name, const char *path, char *err, size_t errlen)
{
    struct bench_obs *o = ctx;
    return trace_out_wanted(o->t) ? trace_out_begin(o->t, e, name, path, err, errlen) : 0;
}

static int obs_step(void *ctx, const struct telemetry *e, char *err, size_t errlen)
{
    struct bench_obs *o = ctx;
    if (o->tm) traffic_measure_step(o->tm, e);       /* a CUPTI failure is reported, the run goes on */
    return trace_out_wanted(o->t) ? trace_out_step(o->t, e, err, errlen) : 0;
}

static int obs_end(void *ctx, const struct telemetry *e, bool ok, char *err, size_t errlen)
{
    struct bench_obs *o = ctx;
    return trace_out_wanted(o->t) ? trace_out_end(o->t, e, ok, err, errlen) : 0;
}

/* One run through core/workload/run.c: traces (t may be NULL), the traffic
 * window (tm may be NULL) and progress on stderr unless quiet. cap: capacity
 * for a relative rate; 0 = probe it now. */
static int run_one_measured(struct session *S, const struct run_setup *b, bool quiet, double cap, struct report *r,
                            struct trace_out *t, struct traffic_measure *tm)
{
    char err[768];
    struct bench_obs bo = {t, tm};
    struct run_observer o = {.ctx = &bo, .progress_to = quiet ? NULL : stderr};
    if (trace_out_wanted(t) || tm) { o.begin = obs_begin; o.step = obs_step; o.end = obs_end; }
    int rc = run_scenario(&S->model, S->be, b, cap, &o, quiet ? NULL : stderr, r, err, sizeof err);
    if (rc) cli_error("%s", err);
    return rc;
}

static int run_one(struct session *S, const struct run_setup *b, bool quiet, double cap, struct report *r,
                   struct trace_out *t)
{
    return run_one_measured(S, b, quiet, cap, r, t, NULL);
}

/* ---- output ---- */

struct metric { const char *name; double (*get)(const struct report *r); const char *unit; };
#define M(field) static double get_##field(const struct report *r) { return r->field; }
#define MD(field, stat) static double get_##field##_##stat(const struct report *r) { return r->field.stat; }
M(req_s) M(output_tok_s) M(total_tok_s) M(goodput_req_s) M(kv_util_mean_pct) M(kv_util_peak_pct)
M(kv_waste_pct) M(batch_mean) M(batch_occupancy_pct) M(prefill_time_pct) M(duration_s)
M(prefill_tok_s) M(decode_tok_s)
MD(ttft_ms, p50) MD(ttft_ms, p99) MD(tpot_ms, p50) MD(tpot_ms, p99) MD(itl_ms, p50) MD(itl_ms, p99)
MD(e2e_ms, p50) MD(e2e_ms, p99)
static double get_preemptions(const struct report *r) { return (double)r->preemptions; }
static double get_prefill_computed(const struct report *r) { return (double)r->prefill_computed_tokens; }
static double get_prefix_hits(const struct report *r) { return (double)r->prefix_hit_tokens; }
static double get_attn_dram(const struct report *r) { return r->attn_dram_bytes / 1e6; }
static double get_decode_out(const struct report *r) { return r->spec.decode_out_tok_s; }
static double get_spec_accept(const struct report *r) { return 100 * r->spec.acceptance_rate; }
static double get_spec_mal(const struct report *r) { return r->spec.mean_acceptance_length; }
#undef M
#undef MD

static const struct metric METRICS[] = {
    {"duration", get_duration_s, "s"},
    {"throughput", get_req_s, "req/s"},
    {"output tokens/s", get_output_tok_s, "tok/s"},
    {"total tokens/s", get_total_tok_s, "tok/s"},
    {"decode tok/s (phase)", get_decode_tok_s, "tok/s"},
    {"prefill tok/s (phase)", get_prefill_tok_s, "tok/s"},
    {"goodput", get_goodput_req_s, "req/s"},
    {"TTFT p50", get_ttft_ms_p50, "ms"},
    {"TTFT p99", get_ttft_ms_p99, "ms"},
    {"TPOT p50", get_tpot_ms_p50, "ms"},
    {"TPOT p99", get_tpot_ms_p99, "ms"},
    {"ITL p50", get_itl_ms_p50, "ms"},
    {"ITL p99", get_itl_ms_p99, "ms"},
    {"E2E p50", get_e2e_ms_p50, "ms"},
    {"E2E p99", get_e2e_ms_p99, "ms"},
    {"KV util mean", get_kv_util_mean_pct, "%"},
    {"KV util peak", get_kv_util_peak_pct, "%"},
    {"KV waste", get_kv_waste_pct, "% alloc"},
    {"batch mean", get_batch_mean, "req"},
    {"batch occupancy", get_batch_occupancy_pct, "%"},
    {"preemptions", get_preemptions, ""},
    {"prefill time", get_prefill_time_pct, "%"},
    {"prefill tokens run", get_prefill_computed, "tok"},
    {"prefix cache hits", get_prefix_hits, "tok"},
    {"attn DRAM (modeled)", get_attn_dram, "MB"},
    {"decode output tok/s", get_decode_out, "tok/s"},
    {"spec acceptance", get_spec_accept, "%"},
    {"spec mean accept len", get_spec_mal, "tok"},
};
#define N_METRICS (int)(sizeof METRICS / sizeof METRICS[0])

static void print_dist(const char *name, const struct dist_stats *d)
{
    printf("  %-8s mean %9.2f  p50 %9.2f  p90 %9.2f  p99 %9.2f  max %9.2f  ms (n=%d)\n", name, d->mean,
           d->p50, d->p90, d->p99, d->max, d->n);
}

/* The speculative decoding lines (core/spec/spec_report.h names), when any draft was verified. */
static void print_spec(const struct report *r)
{
    const struct spec_report *p = &r->spec;
    printf("decode output %.1f tok/s (tokens committed by decode-only steps / their time)\n", p->decode_out_tok_s);
    if (p->drafts == 0) return;
    const char *kind = option_choice_name(option_def(OPT_SPEC), p->kind);
    printf("spec %s k=%d: drafts %ld, drafted %ld, accepted %ld | acceptance rate %.1f%% | mean acceptance "
           "length %.2f | draft efficiency %.1f%%\n", kind ? kind : "?", p->k, p->drafts, p->drafted, p->accepted,
           100 * p->acceptance_rate, p->mean_acceptance_length, 100 * p->draft_efficiency);
    printf("spec acceptance per position:");
    for (int j = 0; j < p->k && j < TEL_SPEC_MAX_K; j++) printf(" %d:%.1f%%", j + 1, 100 * p->accept_at[j]);
    printf("\nspec time: draft %.3f s, verify %.3f s over %ld verify steps | c (measured) %.4f | tokens per "
           "verify %.2f (predicted %.2f) | predicted speedup %.2fx (Leviathan: verify = one target step)\n",
           p->draft_s, p->verify_s, p->verify_steps, p->c, p->tokens_per_verify, p->expected_tokens,
           p->predicted_speedup);
}

static void print_report(const struct run_setup *b, const struct session *S, const struct report *r)
{
    char opts[1024];
    options_format(&b->opt, opts, sizeof opts, false);
    if (S->be->simulated)
        printf("SIMULATED on %s: every time below comes from the roofline model, nothing was computed\n",
               S->be->device_name);
    printf("scenario %s | model %s | device %s%s\noptions  %s\n", b->sc.name, S->model.source,
           S->be->ops->name, S->be->simulated ? " (SIMULATED)" : "", opts);
    printf("requests %d finished in %.2f s, %llu steps\n", r->finished, r->duration_s,
           (unsigned long long)r->steps);
    printf("throughput %.3f req/s | output %.1f tok/s | total %.1f tok/s | goodput %.3f req/s",
           r->req_s, r->output_tok_s, r->total_tok_s, r->goodput_req_s);
    if (r->slo_ttft_ms > 0 || r->slo_tpot_ms > 0)
        printf(" (SLO TTFT <= %.0f ms, TPOT <= %.0f ms)", r->slo_ttft_ms, r->slo_tpot_ms);
    printf("\nlatency (percentiles: linear interpolation between closest ranks)\n");
    print_dist("TTFT", &r->ttft_ms);
    print_dist("TPOT", &r->tpot_ms);
    print_dist("ITL", &r->itl_ms);
    print_dist("E2E", &r->e2e_ms);
    printf("KV cache utilization mean %.1f%% peak %.1f%% | waste %.1f%% of allocated "
           "(reserved-but-empty + internal fragmentation)\n",
           r->kv_util_mean_pct, r->kv_util_peak_pct, r->kv_waste_pct);
    printf("batch mean %.2f max %.0f (occupancy %.1f%% of max_batch) | preemptions %llu\n",
           r->batch_mean, r->batch_max, r->batch_occupancy_pct, (unsigned long long)r->preemptions);
    printf("prefill %.1f%% of step time | prompt tokens %ld, run through the model %ld, prefix-cache hits %ld\n",
           r->prefill_time_pct, r->prompt_tokens, r->prefill_computed_tokens, r->prefix_hit_tokens);
    printf("phase rates (step time apportioned by tokens, attention per sequence): prefill %.1f tok/s, decode %.1f tok/s\n",
           r->prefill_tok_s, r->decode_tok_s);
    printf("op time: attention %.3f s, matmul %.3f s, other %.3f s | attention traffic (modeled): "
           "DRAM %.1f MB, on-chip %.1f MB\n",
           r->attn_time_s, r->matmul_time_s, r->other_time_s, r->attn_dram_bytes / 1e6, r->attn_chip_bytes / 1e6);
    char hooks[320];
    tel_hooks_format(&r->hooks, S->be->ops->name, hooks, sizeof hooks);
    printf("%s\n", hooks);
    print_spec(r);
    if (r->par_steps)
        printf("parallel: bubble %.1f%% measured vs (p-1)/(m+p-1) %.1f%% | comm %.1f%% of device time | "
               "residual stream per device max %.1f kB (means over %d steps)\n", r->par_bubble_pct,
               r->par_bubble_formula_pct, r->par_comm_pct, r->par_resid_bytes_max / 1e3, r->par_steps);
}

static cJSON *spec_json(const struct report *r)
{
    const struct spec_report *p = &r->spec;
    cJSON *o = cJSON_CreateObject();
    const char *kind = option_choice_name(option_def(OPT_SPEC), p->kind);
    json_add_text(o, "spec", p->drafts ? (kind ? kind : "?") : "none");
    static const char *const counts[9] = {"spec_k", "verify_steps", "drafts", "drafted_tokens", "accepted_tokens",
                                          "emitted_tokens", "acceptance_rate", "mean_acceptance_length",
                                          "draft_efficiency"};
    const double cv[9] = {p->k, (double)p->verify_steps, (double)p->drafts, (double)p->drafted, (double)p->accepted,
                          (double)p->emitted, p->acceptance_rate, p->mean_acceptance_length, p->draft_efficiency};
    json_add_numbers(o, counts, cv, 9);
    double at[TEL_SPEC_MAX_K];
    int n = p->k < TEL_SPEC_MAX_K ? p->k : TEL_SPEC_MAX_K;
    for (int j = 0; j < n; j++) at[j] = p->accept_at[j];
    cJSON_AddItemToObject(o, "acceptance_per_position", cJSON_CreateDoubleArray(at, n));
    static const char *const times[7] = {"draft_s", "verify_s", "c_measured", "tokens_per_verify",
                                         "expected_tokens_per_verify", "predicted_speedup", "decode_output_tok_s"};
    const double tv[7] = {p->draft_s, p->verify_s, p->c, p->tokens_per_verify, p->expected_tokens,
                          p->predicted_speedup, p->decode_out_tok_s};
    json_add_numbers(o, times, tv, 7);
    return o;
}

static cJSON *dist_json(const struct dist_stats *d)
{
    static const char *const keys[5] = {"mean", "p50", "p90", "p99", "max"};
    const double v[5] = {d->mean, d->p50, d->p90, d->p99, d->max};
    cJSON *o = cJSON_CreateObject();
    json_add_numbers(o, keys, v, 5);
    return o;
}

/* Token identity: each request's output ids and their 64-bit hash (hex,
 * tel_hash_tokens), so two configurations' outputs compare exactly. */
static cJSON *outputs_json(const struct report *r)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < r->n_outputs; i++) {
        const struct report_output *q = &r->outputs[i];
        cJSON *o = cJSON_CreateObject();
        char hash[24];
        snprintf(hash, sizeof hash, "%016llx", (unsigned long long)q->hash);
        cJSON_AddNumberToObject(o, "id", q->id);
        cJSON_AddNumberToObject(o, "prompt_tokens", q->prompt_len);
        cJSON_AddNumberToObject(o, "output_tokens", q->generated);
        cJSON_AddStringToObject(o, "hash", hash);
        cJSON_AddItemToObject(o, "tokens", cJSON_CreateIntArray(q->tokens, q->generated));
        cJSON_AddNumberToObject(o, "spec_drafts", q->spec_drafts);
        cJSON_AddNumberToObject(o, "spec_drafted_tokens", q->spec_drafted);
        cJSON_AddNumberToObject(o, "spec_accepted_tokens", q->spec_accepted);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static cJSON *report_json(const struct run_setup *b, const struct session *S, const struct report *r)
{
    cJSON *o = cJSON_CreateObject(), *opts = cJSON_CreateObject(), *t = cJSON_CreateObject(),
          *kv = cJSON_CreateObject(), *batch = cJSON_CreateObject();
    json_add_text(o, "scenario", b->sc.name);
    json_add_text(o, "model", S->model.source);
    json_add_text(o, "device", S->be->ops->name);
    json_add_text(o, "device_reason", S->be->reason);
    json_add_text(o, "device_name", S->be->device_name);
    cJSON_AddBoolToObject(o, "simulated", S->be->simulated);
    for (int i = 0; i < OPT_COUNT; i++) json_add_text(opts, option_def(i)->name, b->opt.v[i].s);
    cJSON_AddItemToObject(o, "options", opts);
    cJSON_AddNumberToObject(o, "requests", r->requests);
    cJSON_AddNumberToObject(o, "finished", r->finished);
    cJSON_AddNumberToObject(o, "duration_s", r->duration_s);
    cJSON_AddNumberToObject(t, "req_s", r->req_s);
    cJSON_AddNumberToObject(t, "output_tok_s", r->output_tok_s);
    cJSON_AddNumberToObject(t, "total_tok_s", r->total_tok_s);
    cJSON_AddItemToObject(o, "throughput", t);
    cJSON_AddItemToObject(o, "ttft_ms", dist_json(&r->ttft_ms));
    cJSON_AddItemToObject(o, "tpot_ms", dist_json(&r->tpot_ms));
    cJSON_AddItemToObject(o, "itl_ms", dist_json(&r->itl_ms));
    cJSON_AddItemToObject(o, "e2e_ms", dist_json(&r->e2e_ms));
    cJSON_AddStringToObject(o, "percentile_method", "linear interpolation between closest ranks");
    cJSON_AddNumberToObject(o, "goodput_req_s", r->goodput_req_s);
    cJSON_AddNumberToObject(kv, "util_mean_pct", r->kv_util_mean_pct);
    cJSON_AddNumberToObject(kv, "util_peak_pct", r->kv_util_peak_pct);
    cJSON_AddNumberToObject(kv, "waste_pct", r->kv_waste_pct);
    cJSON_AddItemToObject(o, "kv", kv);
    cJSON_AddNumberToObject(batch, "mean", r->batch_mean);
    cJSON_AddNumberToObject(batch, "max", r->batch_max);
    cJSON_AddNumberToObject(batch, "occupancy_pct", r->batch_occupancy_pct);
    cJSON_AddItemToObject(o, "batch", batch);
    cJSON_AddNumberToObject(o, "preemptions", (double)r->preemptions);
    cJSON_AddNumberToObject(o, "prefill_time_pct", r->prefill_time_pct);
    cJSON_AddNumberToObject(o, "prefill_phase_tok_s", r->prefill_tok_s);
    cJSON_AddNumberToObject(o, "decode_phase_tok_s", r->decode_tok_s);
    cJSON_AddNumberToObject(o, "prompt_tokens", (double)r->prompt_tokens);
    cJSON_AddNumberToObject(o, "output_tokens", (double)r->output_tokens);
    cJSON_AddNumberToObject(o, "prefill_computed_tokens", (double)r->prefill_computed_tokens);
    cJSON_AddNumberToObject(o, "prefix_hit_tokens", (double)r->prefix_hit_tokens);
    cJSON_AddNumberToObject(o, "steps", (double)r->steps);
    if (r->par_steps) {               /* tensor/pipeline parallelism: means over its steps */
        cJSON *par = cJSON_AddObjectToObject(o, "parallel");
        cJSON_AddNumberToObject(par, "steps", r->par_steps);
        cJSON_AddNumberToObject(par, "bubble_pct", r->par_bubble_pct);
        cJSON_AddNumberToObject(par, "bubble_formula_pct", r->par_bubble_formula_pct);
        cJSON_AddNumberToObject(par, "comm_pct", r->par_comm_pct);
        cJSON_AddNumberToObject(par, "resid_bytes_max", r->par_resid_bytes_max);
    }
    cJSON_AddNumberToObject(o, "device_sampled_steps", (double)r->hooks.sampled_steps);
    if (r->hooks.has_graphs) {        /* step graphs of the backend (CUDA); absent: it has none */
        const struct graph_counts *g = &r->hooks.graphs;
        cJSON *gr = cJSON_AddObjectToObject(o, "graphs");
        cJSON_AddNumberToObject(gr, "eager", (double)g->eager);
        cJSON_AddNumberToObject(gr, "captures", (double)g->captures);
        cJSON_AddNumberToObject(gr, "recaptures", (double)g->recaptures);
        cJSON_AddNumberToObject(gr, "replays", (double)g->replays);
        if (g->off) json_add_text(gr, "off", g->reason);
    }
    cJSON_AddNumberToObject(o, "attn_dram_bytes_modeled", r->attn_dram_bytes);
    cJSON_AddNumberToObject(o, "attn_chip_bytes_modeled", r->attn_chip_bytes);
    cJSON_AddItemToObject(o, "spec", spec_json(r));
    cJSON_AddItemToObject(o, "outputs", outputs_json(r));
    return o;
}

/* The quality line (core/quant/quality.h): measured against the reference
 * weights before the run when an option changes the weights. */
static cJSON *quality_json(const struct tel_quality *q)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "state", tel_quality_state_name(q->state));
    cJSON_AddStringToObject(o, "mode", q->mode);
    if (q->state == TQ_MEASURED) {
        cJSON_AddStringToObject(o, "method", "eval (llama-perplexity's) on the first tokens of texts/eval.txt, one chunk");
        cJSON_AddNumberToObject(o, "tokens", q->tokens);
        cJSON_AddNumberToObject(o, "scored", q->scored);
        cJSON_AddNumberToObject(o, "kld", q->kld);
        cJSON_AddNumberToObject(o, "kld_err", q->kld_err);
        cJSON_AddNumberToObject(o, "same_top_p", q->same_top);
        cJSON_AddNumberToObject(o, "same_top_p_err", q->same_top_err);
        cJSON_AddNumberToObject(o, "ppl_ratio", q->ppl_ratio);
    }
    if (q->state == TQ_FAILED) cJSON_AddStringToObject(o, "error", q->error);
    return o;
}

/* Through traces/outfile.h: never a half-written report over a regular file. */
static int write_json(const char *path, cJSON *root)
{
    char *text = cJSON_Print(root), err[1200];
    int rc = 0;
    if (!text) { cli_error("%s: out of memory formatting the JSON report", path); return 1; }
    size_t n = strlen(text);
    text[n] = '\n';   /* cJSON_Print's NUL becomes the trailing newline */
    if (outfile_write_all(path, text, n + 1, err, sizeof err) < 0) { cli_error("%s", err); rc = 1; }
    free(text);
    return rc;
}

int cmd_bench(struct cli_args *a)
{
    static struct run_setup b;
    if (setup_no_positional(a) < 0 || setup_load(a, DEFAULT_SCENARIO, &a->opt, &b) < 0) return EXIT_BAD_INPUT;
    struct session S;
    int src = setup_session(&S, a, &b);
    if (src) return src;
    struct report r = {0};
    struct trace_out t = {.chrome = a->trace, .nvtxt = a->nvtxt, .record = a->record,
                          .nvtxt_tb = a->nvtxt_raw ? NVTXT_MONOTONIC_RAW : NVTXT_MANUAL};
    struct tel_quality q;
    char qline[256];
    static struct traffic_measure tm;
    if (a->measure_traffic) {      /* without a GPU with counters: the reason, exit 2 */
        char err[384];
        if (traffic_measure_open(&tm, crp_cupti_ops(), NULL, S.be->ops->name, 0, a->measure_traffic, err, sizeof err)) {
            cli_error("--measure-traffic: %s", err);
            session_close(&S);
            return EXIT_BAD_INPUT;
        }
    }
    quality_measure(&S.model, S.be, b.model ? b.model : SESSION_DEFAULT_MODEL, &b.opt, &q);
    t.quality = &q;
    int rc = run_one_measured(&S, &b, a->quiet, 0, &r, &t, a->measure_traffic ? &tm : NULL);
    if (a->measure_traffic) {
        traffic_measure_print(&tm, stdout);
        traffic_measure_close(&tm);
    }
    if (rc == 0) {
        print_report(&b, &S, &r);
        quality_format(&q, qline, sizeof qline);
        printf("%s\n", qline);
        if (a->json) {
            cJSON *root = report_json(&b, &S, &r);
            cJSON_AddItemToObject(root, "quality", quality_json(&q));
            rc = write_json(a->json, root);
            cJSON_Delete(root);
        }
    }
    report_free(&r);
    session_close(&S);
    return rc;
}

/* Requests whose outputs are token for token the same in both runs. */
static int same_outputs(const struct report *ra, const struct report *rb)
{
    int same = 0;
    for (int i = 0; i < ra->n_outputs && i < rb->n_outputs; i++)
        same += ra->outputs[i].generated == rb->outputs[i].generated && ra->outputs[i].hash == rb->outputs[i].hash;
    return same;
}

/* A speculative run beside a plain one: the measured speedup and the
 * predicted ones (Leviathan's, and with the verify's measured cost v =
 * verify step time / the other run's decode step time). */
static void print_ab_spec(const struct report *ra, const struct report *rb)
{
    printf("\noutputs identical: %d of %d requests\n", same_outputs(ra, rb), ra->n_outputs);
    const struct report *sp = rb->spec.drafts ? rb : ra->spec.drafts ? ra : NULL;
    const struct report *base = sp == rb ? ra : rb;
    if (!sp || base->spec.drafts || base->spec.decode_steps == 0 || sp->spec.verify_steps == 0) return;
    const struct spec_report *p = &sp->spec, *q = &base->spec;
    double measured = q->decode_out_tok_s > 0 ? p->decode_out_tok_s / q->decode_out_tok_s : 0;
    double t_base = q->decode_steps_s / q->decode_steps, t_verify = p->verify_s / p->verify_steps;
    double v = t_base > 0 ? t_verify / t_base : 0, kc = p->k * p->c;
    double with_v = v > 0 ? p->expected_tokens / ((kc + 1) * v) : 0;
    printf("spec (%s): acceptance rate %.1f%%, k=%d, c %.4f | speedup of decode output tok/s: measured %.2fx, "
           "predicted %.2fx (verify = one target step), %.2fx (verify measured at %.2f target steps)\n",
           sp == rb ? "B" : "A", 100 * p->acceptance_rate, p->k, p->c, measured, p->predicted_speedup, with_v, v);
}

static int parse_spec(const char *which, const char *spec, const struct options *base, struct options *out)
{
    char err[256];
    *out = *base;
    if (spec && options_set_list(out, spec, err, sizeof err) < 0) {
        cli_error("--%s: %s", which, err);
        return -1;
    }
    return 0;
}

int cmd_ab(struct cli_args *a)
{
    struct options oa, ob;
    if (!a->spec_a || !a->spec_b) {
        cli_error("ab: expected --a \"k=v ...\" and --b \"k=v ...\"");
        return EXIT_BAD_INPUT;
    }
    if (setup_no_positional(a) < 0) return EXIT_BAD_INPUT;
    if (parse_spec("a", a->spec_a, &a->opt, &oa) < 0 || parse_spec("b", a->spec_b, &a->opt, &ob) < 0)
        return EXIT_BAD_INPUT;
    static struct run_setup ba, bb;
    if (setup_load(a, DEFAULT_SCENARIO, &oa, &ba) < 0 || setup_load(a, DEFAULT_SCENARIO, &ob, &bb) < 0)
        return EXIT_BAD_INPUT;
    if (a->eval_text) {   /* a bad text fails before the runs */
        FILE *f = fopen(a->eval_text, "rb");
        if (!f) { cli_error("--eval %s: cannot open", a->eval_text); return EXIT_BAD_INPUT; }
        fclose(f);
    }
    struct report ra = {0}, rb = {0};
    struct session S;
    cJSON *root = NULL;
    int rc = 0;
    struct run_setup *setups[2] = {&ba, &bb};
    struct report *reps[2] = {&ra, &rb};
    char src[2][256];
    /* one request stream for both: a relative rate is resolved against the
     * larger of the two measured capacities */
    double cap = 0;
    for (int i = 0; i < 2 && scenario_needs_capacity(&ba.sc); i++) {
        double c = 0;
        char err[768];
        if ((rc = setup_session(&S, a, setups[i])) != 0) return rc;
        struct run_observer o = {.progress_to = a->quiet ? NULL : stderr};
        rc = run_probe_capacity(&S.model, S.be, setups[i], 0, &o, a->quiet ? NULL : stderr, &c, err, sizeof err);
        session_close(&S);
        if (rc) { cli_error("%s", err); return rc; }
        cap = c > cap ? c : cap;
    }
    if (cap > 0 && !a->quiet) fprintf(stderr, "ab: rate relative to %.3f req/s, the larger capacity\n", cap);
    for (int i = 0; i < 2 && rc == 0; i++) {
        if (!a->quiet) fprintf(stderr, "== %s: %s\n", i ? "B" : "A", i ? a->spec_b : a->spec_a);
        if ((rc = setup_session(&S, a, setups[i])) != 0) break;
        rc = run_one(&S, setups[i], a->quiet, cap, reps[i], NULL);
        snprintf(src[i], sizeof src[i], "%s", S.model.source);
        if (rc == 0 && i == 1) {
            printf("scenario %s | model %s | device %s%s\nA: %s\nB: %s\n\n", ba.sc.name, src[0],
                   S.be->ops->name, S.be->simulated ? " (SIMULATED: roofline times, nothing computed)" : "",
                   a->spec_a, a->spec_b);
            printf("%-22s %14s %14s %9s\n", "metric", "A", "B", "B/A");
            for (int m = 0; m < N_METRICS; m++) {
                double va = METRICS[m].get(&ra), vb = METRICS[m].get(&rb);
                char ratio[16] = "-";
                if (fabs(va) > 1e-12) snprintf(ratio, sizeof ratio, "%.2fx", vb / va);
                printf("%-22s %11.3f %-3s%11.3f %-3s%8s\n", METRICS[m].name, va, "", vb, "", ratio);
            }
            print_ab_spec(&ra, &rb);
            if (a->json) {
                root = cJSON_CreateObject();
                cJSON_AddItemToObject(root, "a", report_json(&ba, &S, &ra));
                cJSON_AddItemToObject(root, "b", report_json(&bb, &S, &rb));
            }
        }
        session_close(&S);
    }
    if (rc == 0 && a->eval_text) rc = ab_eval(a, &ba, &bb, root);
    if (rc == 0 && root) rc = write_json(a->json, root);
    cJSON_Delete(root);
    report_free(&ra);
    report_free(&rb);
    return rc;
}
