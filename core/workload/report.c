/* core/workload/report.c — see report.h. */
#include "core/workload/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(const double *sorted, int n, double p)
{
    if (n == 0) return 0;
    double pos = p / 100.0 * (n - 1);
    int lo = (int)floor(pos), hi = lo + 1 < n ? lo + 1 : lo;
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

struct dist_stats dist_compute(double *v, int n)
{
    struct dist_stats d = {0};
    d.n = n;
    if (n == 0) return d;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double sum = 0;
    for (int i = 0; i < n; i++) sum += v[i];
    d.mean = sum / n;
    d.p50 = percentile(v, n, 50);
    d.p90 = percentile(v, n, 90);
    d.p99 = percentile(v, n, 99);
    d.max = v[n - 1];
    return d;
}

static void request_metrics(const struct telemetry *t, struct report *r, double slo_ttft, double slo_tpot)
{
    const struct tel_ledger *L = &t->requests;
    int n = L->n;
    long itl_n = 0;
    for (int i = 0; i < n; i++) itl_n += L->reqs[i].generated > 1 ? L->reqs[i].generated - 1 : 0;
    double *ttft = calloc((size_t)n + 1, 8), *tpot = calloc((size_t)n + 1, 8), *e2e = calloc((size_t)n + 1, 8);
    double *itl = calloc((size_t)itl_n + 1, 8);
    if (!ttft || !tpot || !e2e || !itl) { free(ttft); free(tpot); free(e2e); free(itl); return; }
    int nt = 0, np = 0, good = 0;
    long ni = 0;
    double first_arrival = INFINITY, last_finish = 0;
    for (int i = 0; i < n; i++) {
        const struct tel_request *q = &L->reqs[i];
        r->prompt_tokens += q->prompt_len;
        r->prefix_hit_tokens += q->cached;
        if (q->state != REQ_FINISHED) continue;
        r->finished++;
        r->output_tokens += q->generated;
        first_arrival = fmin(first_arrival, q->arrival_s);
        last_finish = fmax(last_finish, q->finish_s);
        double t_ttft = (q->first_s - q->arrival_s) * 1e3, t_e2e = (q->finish_s - q->arrival_s) * 1e3;
        ttft[nt++] = t_ttft;
        e2e[nt - 1] = t_e2e;
        double t_tpot = 0;
        if (q->generated > 1) {
            t_tpot = (t_e2e - t_ttft) / (q->generated - 1);
            tpot[np++] = t_tpot;
            for (int k = 1; k < q->generated; k++) itl[ni++] = (q->token_t[k] - q->token_t[k - 1]) * 1e3;
        }
        if ((slo_ttft <= 0 || t_ttft <= slo_ttft) && (slo_tpot <= 0 || t_tpot <= slo_tpot)) good++;
    }
    r->duration_s = nt ? last_finish - first_arrival : 0;
    double d = r->duration_s > 0 ? r->duration_s : INFINITY;
    r->req_s = r->finished / d;
    r->output_tok_s = r->output_tokens / d;
    r->total_tok_s = (r->output_tokens + r->prompt_tokens) / d;
    r->goodput_req_s = good / d;
    r->ttft_ms = dist_compute(ttft, nt);
    r->e2e_ms = dist_compute(e2e, nt);
    r->tpot_ms = dist_compute(tpot, np);
    r->itl_ms = dist_compute(itl, (int)ni);
    free(ttft); free(tpot); free(e2e); free(itl);
}

static void step_metrics(const struct telemetry *t, struct report *r)
{
    double util = 0, waste = 0, batch = 0, prefill = 0, decode = 0, total = 0;
    long prefill_tok = 0, decode_tok = 0;
    int waste_n = 0;
    for (int i = 0; i < t->n_steps; i++) {
        const struct step_record *s = &t->steps[i];
        util += s->kv.utilization;
        r->kv_util_peak_pct = fmax(r->kv_util_peak_pct, 100 * s->kv.utilization);
        if (s->kv.allocated_tokens > 0) {
            waste += (double)(s->kv.reserved_empty_tokens + s->kv.internal_frag_tokens) / s->kv.allocated_tokens;
            waste_n++;
        }
        batch += s->batch_size;
        r->batch_max = fmax(r->batch_max, s->batch_size);
        prefill += s->prefill_s;
        decode += s->decode_s;
        prefill_tok += s->prefill_tokens;
        decode_tok += s->decode_tokens;
        total += s->dur_s;
        r->attn_time_s += s->ops[OPC_ATTN].time_s;
        r->matmul_time_s += s->ops[OPC_MATMUL].time_s;
        r->attn_dram_bytes += s->ops[OPC_ATTN].dram_bytes;
        r->attn_chip_bytes += s->ops[OPC_ATTN].chip_bytes;
        for (int c = 0; c < OPC_COUNT; c++)
            if (c != OPC_ATTN && c != OPC_MATMUL) r->other_time_s += s->ops[c].time_s;
        if (s->par_mb > 0) {
            r->par_steps++;
            r->par_bubble_pct += 100 * s->par_bubble;
            r->par_bubble_formula_pct += 100 * s->par_bubble_formula;
            r->par_comm_pct += 100 * s->par_comm_share;
            r->par_resid_bytes_max = fmax(r->par_resid_bytes_max, s->par_resid_bytes);
        }
    }
    r->hooks = t->hooks;
    if (r->par_steps) {
        r->par_bubble_pct /= r->par_steps;
        r->par_bubble_formula_pct /= r->par_steps;
        r->par_comm_pct /= r->par_steps;
    }
    int n = t->n_steps ? t->n_steps : 1;
    r->kv_util_mean_pct = 100 * util / n;
    r->kv_waste_pct = waste_n ? 100 * waste / waste_n : 0;
    r->batch_mean = batch / n;
    r->batch_occupancy_pct = t->max_batch > 0 ? 100 * r->batch_mean / t->max_batch : 0;
    r->prefill_time_pct = total > 0 ? 100 * prefill / total : 0;
    r->prefill_tok_s = prefill > 0 ? prefill_tok / prefill : 0;
    r->decode_tok_s = decode > 0 ? decode_tok / decode : 0;
    /* prompt and recompute tokens run through the model = the steps' prefill tokens */
    r->prefill_computed_tokens = prefill_tok;
}

void report_compute(const struct telemetry *t, double slo_ttft_ms, double slo_tpot_ms, struct report *r)
{
    memset(r, 0, sizeof *r);
    r->requests = t->requests.n;
    r->slo_ttft_ms = slo_ttft_ms;
    r->slo_tpot_ms = slo_tpot_ms;
    r->preemptions = t->requests.preemptions;
    r->steps = (uint64_t)t->n_steps;
    request_metrics(t, r, slo_ttft_ms, slo_tpot_ms);
    step_metrics(t, r);
    spec_report_compute(t->steps, t->n_steps, &r->spec);
}

int report_outputs(const struct telemetry *t, struct report *r)
{
    const struct tel_ledger *L = &t->requests;
    report_free(r);
    r->outputs = calloc((size_t)L->n + 1, sizeof *r->outputs);
    if (!r->outputs) return -1;
    for (int i = 0; i < L->n; i++) {
        const struct tel_request *q = &L->reqs[i];
        struct report_output *o = &r->outputs[i];
        *o = (struct report_output){q->id, q->prompt_len, q->generated, q->hash, NULL, q->spec_drafts,
                                    q->spec_drafted, q->spec_accepted};
        o->tokens = malloc((size_t)q->generated * sizeof *o->tokens + 1);
        r->n_outputs = i + 1;
        if (!o->tokens) { report_free(r); return -1; }
        memcpy(o->tokens, q->tokens, (size_t)q->generated * sizeof *o->tokens);
    }
    return 0;
}

void report_free(struct report *r)
{
    for (int i = 0; r->outputs && i < r->n_outputs; i++) free(r->outputs[i].tokens);
    free(r->outputs);
    r->outputs = NULL;
    r->n_outputs = 0;
}
