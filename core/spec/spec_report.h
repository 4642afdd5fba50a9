/* core/spec/spec_report.h — speculative decoding metrics of a run, from the
 * published step records (core/telemetry.h), named as vLLM and llama.cpp
 * name them (docs/speculative.md):
 *   drafts                 verify steps x requests that drafted >= 1 token
 *   drafted / accepted     tokens (llama.cpp n_drafted / n_accept)
 *   acceptance rate        accepted / drafted (llama.cpp "accept %")
 *   mean acceptance length 1 + accepted / drafts (counts the bonus token)
 *   draft efficiency       emitted / (drafts x (k + 1))
 *   acceptance at i        accepted at position i / drafted at position i
 *   c (measured)           draft time per drafted position / verify time:
 *                          draft_s / (k x verify_s), so k·c = draft ÷ verify
 *   predicted speedup      (1 - a^(k+1)) / ((1 - a)(k c + 1)), a = acceptance
 *                          rate (Leviathan et al.; "+1": the verify costs one
 *                          target step, true only while memory-bound)
 * and, to set it beside a measured speedup, the decode output rate: tokens
 * committed by decode-only steps ÷ their time. */
#ifndef INFERTOP_SPEC_REPORT_H
#define INFERTOP_SPEC_REPORT_H

#include "core/telemetry.h"

struct spec_report {
    int kind, k;                       /* of the last speculative step (enum opt_spec; 0: none ran) */
    long verify_steps;                 /* steps that verified >= 1 drafted token */
    long drafts, drafted, accepted, emitted, draft_rounds;
    long drafted_at[TEL_SPEC_MAX_K], accepted_at[TEL_SPEC_MAX_K];
    double acceptance_rate, mean_acceptance_length, draft_efficiency;
    double accept_at[TEL_SPEC_MAX_K];  /* per position 1..k */
    double draft_s, verify_s;          /* totals */
    double c;                          /* measured draft/target cost ratio (see above) */
    double expected_tokens;            /* (1 - a^(k+1)) / (1 - a): per verify, predicted */
    double tokens_per_verify;          /* emitted / drafts: measured */
    double predicted_speedup;
    long decode_steps;                 /* decode-only steps */
    double decode_steps_s;             /* their time */
    long decode_steps_tokens;          /* tokens they committed */
    double decode_out_tok_s;           /* decode_steps_tokens / decode_steps_s */
};

void spec_report_compute(const struct step_record *steps, int n_steps, struct spec_report *r);

#endif
