/* tui/eval_report.h — an eval result as text (llama-perplexity's labels) and
 * as JSON, for `infertop eval` and `infertop ab --eval`. */
#ifndef INFERTOP_EVAL_REPORT_H
#define INFERTOP_EVAL_REPORT_H

#include "core/quant/eval.h"
#include "core/workload/session.h"

#include <cjson/cJSON.h>
#include <stdio.h>

/* What the reference was, for the report: "computed in this run", "file F",
 * or NULL when the weights are the reference's (nothing to compare). */
struct eval_context {
    const char *model;        /* the model's source */
    const char *text;         /* the text's path */
    const char *weights;      /* the model's weight options ("wtype=q4_0"; "" = the reference's) */
    const char *ref_weights;  /* the reference's ("wtype=f32"; "" = defaults) */
    const char *ref_source;   /* "computed in this run" / "file F"; NULL: none */
};

void   eval_report_print(FILE *out, const struct eval_context *c, const struct eval_result *r);

/* Eval of an open session's model (from spec with opt) on tokens: against
 * the reference loaded on the same backend when opt changes the weights
 * (ref_weights gets the reference's weight options), else PPL only; the
 * spec's ref_in/ref_out/progress as given in *s (tokens, ctx, chunks set).
 * Returns eval_run's code (0, 1, 2), errors printed. */
int    eval_session(struct session *S, const char *spec, const struct options *opt, struct eval_spec *s,
                    struct eval_result *r, char *ref_weights, size_t n);
cJSON *eval_report_json(const struct eval_context *c, const struct eval_result *r);

#endif
