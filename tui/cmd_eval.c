/* tui/cmd_eval.c — `infertop eval`: perplexity of a model on a text and, when
 * its weights differ from the reference's (a weight-transform option set, see
 * core/quant/reference.h) or --ref names a saved reference, KLD / same top p /
 * Δp against it. The work is core/quant/eval.c; this parses, opens the models
 * and prints. */
#include "core/quant/eval.h"
#include "core/quant/evaltext.h"
#include "core/quant/reference.h"
#include "traces/outfile.h"
#include "tui/cli.h"
#include "tui/eval_report.h"
#include "tui/setup.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EVAL_DEFAULT_CTX 512  /* llama-perplexity's default -c */

/* Options eval acts on: the backend's (device, threads), the weights'
 * (seed, and every weight-transform option), and the forward's (attn,
 * kv_dtype). Any other option set is refused, never ignored. */
static int check_options(const struct options *o)
{
    for (int i = 0; i < OPT_COUNT; i++) {
        if (!o->explicit_set[i] || reference_is_weight_option((enum opt_id)i)) continue;
        if (i == OPT_DEVICE || i == OPT_THREADS || i == OPT_SEED || i == OPT_ATTN || i == OPT_KV_DTYPE) continue;
        cli_error("%s: not used by eval (it runs each chunk through the model: device, threads, seed, attn, "
                  "kv_dtype and the weight options apply)", option_def((enum opt_id)i)->name);
        return -1;
    }
    return 0;
}

static void print_progress(void *user, const struct eval_progress *p)
{
    (void)user;
    bool tty = isatty(2);
    fprintf(stderr, "%seval: chunk %d/%d | %.0f tok/s | ETA %.0f s%s", tty ? "\r" : "", p->chunks_done,
            p->chunks, p->tokens_per_s, p->eta_s, tty && p->chunks_done < p->chunks ? "" : "\n");
}

static int write_json(const char *path, cJSON *root)
{
    char *text = cJSON_Print(root), err[1200];
    int rc = 0;
    if (!text) { cli_error("%s: out of memory formatting the JSON report", path); return 1; }
    size_t n = strlen(text);
    text[n] = '\n';
    if (outfile_write_all(path, text, n + 1, err, sizeof err) < 0) { cli_error("%s", err); rc = 1; }
    free(text);
    return rc;
}

/* The text first (a bad file fails before the model loads), then its tokens. */
static int read_text(const char *path, char **text, size_t *len)
{
    char err[1200];
    if (evaltext_read(path, text, len, err, sizeof err) == 0) return 0;
    cli_error("--text %s", err);
    return -1;
}

static int text_tokens(const struct model *m, const char *path, char *text, size_t len, int32_t **ids)
{
    char err[512];
    int n = evaltext_tokenize(m, text, len, ids, err, sizeof err);
    free(text);
    if (n < 0) cli_error("%s: %s", path, err);
    return n;
}

struct eval_cmd {
    struct session S;
    int32_t *ids;
    char path[PATH_MAX + 16], weights[256], ref_weights[256], ref_src[1100];
};

static int eval_prepare(struct cli_args *a, struct eval_cmd *E, struct eval_spec *s)
{
    const char *spec = a->model ? a->model : SESSION_DEFAULT_MODEL;
    int rc;
    if (setup_no_positional(a) < 0 || check_options(&a->opt) < 0) return EXIT_BAD_INPUT;
    if (a->ref_in && a->ref_out) { cli_error("eval: --ref and --save-ref: expected one of them"); return EXIT_BAD_INPUT; }
    const char *path = a->text ? a->text : evaltext_find(EVALTEXT_EVAL, E->path, sizeof E->path);
    char *text;
    size_t len;
    if (read_text(path, &text, &len) < 0) return EXIT_BAD_INPUT;
    if ((rc = setup_session(&E->S, a, NULL)) != 0) { free(text); return rc; }
    int n = text_tokens(&E->S.model, path, text, len, &E->ids);
    if (n < 0) return EXIT_BAD_INPUT;
    reference_format(&a->opt, spec, false, E->weights, sizeof E->weights);
    *s = (struct eval_spec){.tokens = E->ids, .n_tokens = n, .ctx = a->ctx ? a->ctx : EVAL_DEFAULT_CTX,
                            .chunks = a->chunks, .ref_in = a->ref_in, .ref_out = a->ref_out,
                            .progress = a->quiet ? NULL : print_progress};
    if (a->ref_in) snprintf(E->ref_src, sizeof E->ref_src, "file %s", a->ref_in);
    else if (reference_differs(&a->opt, spec)) snprintf(E->ref_src, sizeof E->ref_src, "computed in this run");
    return 0;
}

int cmd_eval(struct cli_args *a)
{
    static struct eval_cmd E;
    struct eval_spec s;
    struct eval_result r;
    const char *spec = a->model ? a->model : SESSION_DEFAULT_MODEL;
    int rc = eval_prepare(a, &E, &s);
    if (rc == 0) rc = eval_session(&E.S, spec, &a->opt, &s, &r, E.ref_weights, sizeof E.ref_weights);
    if (rc == 0) {
        const char *text = a->text ? a->text : evaltext_find(EVALTEXT_EVAL, E.path, sizeof E.path);
        struct eval_context c = {E.S.model.source, text, E.weights, E.ref_weights, E.ref_src[0] ? E.ref_src : NULL};
        eval_report_print(stdout, &c, &r);
        if (a->ref_out && !a->quiet) fprintf(stderr, "eval: reference log-probs saved to %s\n", a->ref_out);
        if (a->json) {
            cJSON *root = eval_report_json(&c, &r);
            rc = write_json(a->json, root);
            cJSON_Delete(root);
        }
    }
    free(E.ids);
    session_close(&E.S);
    return rc;
}
