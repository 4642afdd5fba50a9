/* tui/ab_eval.h — the eval part of `infertop ab --eval F` (tui/ab_eval.c). */
#ifndef INFERTOP_AB_EVAL_H
#define INFERTOP_AB_EVAL_H

#include "core/workload/run.h"
#include "tui/cli.h"

#include <cjson/cJSON.h>

/* Eval A's and B's weights on a->eval_text (--ctx, --chunks; default ctx
 * 512) against the reference, print the table after the A/B report, and add
 * "eval": {"a": ..., "b": ...} to root (NULL: no JSON). 0, or the exit code
 * with the error printed. */
int ab_eval(const struct cli_args *a, struct run_setup *sa, struct run_setup *sb, cJSON *root);

#endif
