/* core/spec/spec_report.c — see spec_report.h. */
#include "core/spec/spec_report.h"
#include "core/spec/spec.h"

#include <string.h>

static void add_step(const struct step_record *s, struct spec_report *r, double *k_weighted)
{
    const struct step_spec *p = &s->spec;
    if (s->prefill_tokens == 0 && s->decode_tokens > 0) {
        r->decode_steps++;
        r->decode_steps_s += s->dur_s;
        r->decode_steps_tokens += s->committed;
    }
    if (p->drafts == 0) return;
    r->kind = p->kind;
    r->k = p->k;
    r->verify_steps++;
    r->drafts += p->drafts;
    r->drafted += p->drafted;
    r->accepted += p->accepted;
    r->emitted += p->emitted;
    r->draft_rounds += p->draft_rounds;
    r->draft_s += p->draft_s;
    r->verify_s += p->verify_s;
    *k_weighted += (double)p->k * p->verify_s;
    for (int j = 0; j < TEL_SPEC_MAX_K; j++) {
        r->drafted_at[j] += p->drafted_at[j];
        r->accepted_at[j] += p->accepted_at[j];
    }
}

void spec_report_compute(const struct step_record *steps, int n_steps, struct spec_report *r)
{
    memset(r, 0, sizeof *r);
    double k_weighted = 0;
    for (int i = 0; i < n_steps; i++) add_step(&steps[i], r, &k_weighted);
    r->decode_out_tok_s = r->decode_steps_s > 0 ? r->decode_steps_tokens / r->decode_steps_s : 0;
    if (r->drafts == 0) return;
    r->acceptance_rate = r->drafted ? (double)r->accepted / r->drafted : 0;
    r->mean_acceptance_length = 1 + (double)r->accepted / r->drafts;
    r->tokens_per_verify = (double)r->emitted / r->drafts;
    for (int j = 0; j < TEL_SPEC_MAX_K; j++)
        r->accept_at[j] = r->drafted_at[j] ? (double)r->accepted_at[j] / r->drafted_at[j] : 0;
    /* k of the run: spec_k weighted by verify time (it may change live) */
    double k = r->verify_s > 0 ? k_weighted / r->verify_s : r->k;
    r->draft_efficiency = (double)r->emitted / (r->drafts * (k + 1));
    r->c = r->verify_s > 0 && k > 0 ? r->draft_s / (k * r->verify_s) : 0;
    int ki = (int)(k + 0.5);
    r->expected_tokens = spec_expected_tokens(r->acceptance_rate, ki);
    r->predicted_speedup = spec_predicted_speedup(r->acceptance_rate, ki, r->c);
}
