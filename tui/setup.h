/* tui/setup.h — the command-line side of a run's setup: core/workload/run.h
 * and session.h do the work; these print their one-line errors the CLI way
 * and find the shipped files. */
#ifndef INFERTOP_SETUP_H
#define INFERTOP_SETUP_H

#include "core/workload/run.h"
#include "core/workload/session.h"
#include "tui/cli.h"

/* run_setup_load on --scenario (default_rel, found by setup_find_path, when
 * not given), --scenario-set, --model and `overrides`. 0; -1 with the
 * error printed (exit 2). */
int setup_load(const struct cli_args *a, const char *default_rel, const struct options *overrides,
               struct run_setup *b);

/* session_open for the setup's model (b NULL: --model) and options; the
 * backend/model lines go to stderr unless -q. Then the draft model of
 * --draft (session_open_draft; b->draft points at it), which spec=draft
 * needs. 0, or the exit code with the error printed (a scenario's model
 * named by file:line). */
int setup_session(struct session *S, const struct cli_args *a, struct run_setup *b);

/* Commands that take no positional arguments: 0, or -1 with
 * "CMD: unexpected argument 'X'" printed (exit 2). */
int setup_no_positional(const struct cli_args *a);

/* A path relative to the checkout ("scenarios/chat.ini"): as given when it
 * exists from the working directory, else next to the binary (bin/../rel),
 * so `infertop` works from anywhere. Returns rel itself when neither exists. */
const char *setup_find_path(const char *rel, char *buf, size_t n);

#endif
