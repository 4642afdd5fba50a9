/* tui/setup.c — see setup.h. */
#include "tui/setup.h"
#include "core/quant/evaltext.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

int setup_load(const struct cli_args *a, const char *default_rel, const struct options *overrides,
               struct run_setup *b)
{
    char path[PATH_MAX + 32], err[768];
    const char *p = a->scenario ? a->scenario : setup_find_path(default_rel, path, sizeof path);
    if (run_setup_load(b, p, a->model, overrides, a->scenario_set, err, sizeof err) < 0) {
        cli_error("%s", err);
        return -1;
    }
    return 0;
}

/* spec=draft with no --draft fails before any model is loaded. */
static int check_draft_given(const struct cli_args *a, const struct options *o)
{
    if (opt_enum(o, SPEC) != SPEC_DRAFT || a->draft) return 0;
    cli_error("spec=draft: no draft model; expected --draft M (a GGUF file or synth: preset with the target's "
              "vocabulary)");
    return EXIT_BAD_INPUT;
}

static int open_draft(struct session *S, const struct cli_args *a, struct run_setup *b, const struct options *o)
{
    char err[768];
    if (b) b->draft = NULL;
    if (!a->draft) return 0;
    int rc = session_open_draft(S, a->draft, o, a->quiet ? NULL : stderr, err, sizeof err);
    if (rc) {
        cli_error("%s", err);
        session_close(S);
        return rc;
    }
    if (b) b->draft = &S->draft;
    return 0;
}

int setup_session(struct session *S, const struct cli_args *a, struct run_setup *b)
{
    char err[512], msg[768];
    const struct options *o = b ? &b->opt : &a->opt;
    int rc = check_draft_given(a, o);
    if (rc) { memset(S, 0, sizeof *S); return rc; }
    rc = session_open(S, b ? b->model : a->model, o, a->quiet ? NULL : stderr, err, sizeof err);
    if (rc == 0) return open_draft(S, a, b, o);
    if (b && S->model_failed) run_setup_model_error(b, err, msg, sizeof msg);
    else snprintf(msg, sizeof msg, "%s", err);
    cli_error("%s", msg);
    return rc;
}

int setup_no_positional(const struct cli_args *a)
{
    if (a->n_positional == 0) return 0;
    cli_error("%s: unexpected argument '%s' (flags start with --; see `infertop help`)", a->cmd, a->positional[0]);
    return -1;
}

const char *setup_find_path(const char *rel, char *buf, size_t n)
{
    return evaltext_find(rel, buf, n);    /* the same lookup: working directory, then beside the binary */
}
