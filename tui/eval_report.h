/* tui/eval_report.h — an eval result as text (llama-perplexity's labels) and
 * as JSON, for `infertop eval` and `infertop ab --eval`. */
#ifndef INFERTOP_EVAL_REPORT_H
#define INFERTOP_EVAL_REPORT_H

#include "core/quant/eval.h"

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
cJSON *eval_report_json(const struct eval_context *c, const struct eval_result *r);

#endif
