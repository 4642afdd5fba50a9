/* tui/ab_eval.c — `infertop ab --eval F`: the eval metrics of A and B (PPL,
 * KLD and same top p against the reference weights, llama-perplexity's
 * method, core/quant/eval.h) added to the A/B report, text and JSON. Each
 * side is measured against the same model with its weight options reset, so
 * a side whose weights are the reference's reads "= ref" (KLD 0 by
 * definition, nothing run for it). */
#include "core/quant/evaltext.h"
#include "core/quant/reference.h"
#include "tui/ab_eval.h"
#include "tui/eval_report.h"
#include "tui/setup.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define AB_EVAL_CTX 512

struct side_eval {
    struct eval_result r;
    char model[256], weights[256], ref_weights[256];
};

/* One side: its own session (the model with its options), the text's tokens, the eval. */
static int eval_one(const struct cli_args *a, struct run_setup *b, const char *text, size_t len,
                    struct side_eval *out)
{
    struct session S;
    int32_t *ids = NULL;
    char err[512];
    const char *spec = b->model ? b->model : SESSION_DEFAULT_MODEL;
    int rc = setup_session(&S, a, b);
    if (rc) return rc;
    int n = evaltext_tokenize(&S.model, text, len, &ids, err, sizeof err);
    if (n < 0) {
        cli_error("--eval %s: %s", a->eval_text, err);
        rc = EXIT_BAD_INPUT;
    } else {
        struct eval_spec s = {.tokens = ids, .n_tokens = n, .ctx = a->ctx ? a->ctx : AB_EVAL_CTX, .chunks = a->chunks};
        rc = eval_session(&S, spec, &b->opt, &s, &out->r, out->ref_weights, sizeof out->ref_weights);
        snprintf(out->model, sizeof out->model, "%s", S.model.source);
        reference_format(&b->opt, spec, false, out->weights, sizeof out->weights);
    }
    free(ids);
    session_close(&S);
    return rc;
}

static void cell(char *buf, size_t n, const struct side_eval *e, double v, const char *fmt)
{
    if (!e->r.has_base) snprintf(buf, n, "= ref");
    else snprintf(buf, n, fmt, v);
}

static void print_row(const char *name, const char *va, const char *vb, double a, double b, bool ratio)
{
    char r[16] = "-";
    if (ratio && fabs(a) > 1e-12) snprintf(r, sizeof r, "%.3fx", b / a);
    printf("%-22s %14s %14s %9s\n", name, va, vb, r);
}

static void print_table(const struct side_eval *e, const char *path)
{
    const struct eval_result *ra = &e[0].r, *rb = &e[1].r;
    char a[32], b[32];
    printf("\neval on %s: ctx %d, %d chunks, %lld positions scored (llama-perplexity's method); reference: "
           "the model with %s\n", path, ra->ctx, ra->chunks, (long long)ra->scored,
           *e[1].ref_weights ? e[1].ref_weights : *e[0].ref_weights ? e[0].ref_weights : "its own weights");
    printf("%-22s %14s %14s %9s\n", "eval metric", "A", "B", "B/A");
    snprintf(a, sizeof a, "%.4f", ra->ppl.v); snprintf(b, sizeof b, "%.4f", rb->ppl.v);
    print_row("PPL", a, b, ra->ppl.v, rb->ppl.v, true);
    cell(a, sizeof a, &e[0], ra->kld.v, "%.6f"); cell(b, sizeof b, &e[1], rb->kld.v, "%.6f");
    print_row("Mean KLD", a, b, 0, 0, false);
    cell(a, sizeof a, &e[0], ra->kld_p99, "%.6f"); cell(b, sizeof b, &e[1], rb->kld_p99, "%.6f");
    print_row("99.0% KLD", a, b, 0, 0, false);
    cell(a, sizeof a, &e[0], 100 * ra->same_top.v, "%.3f %%"); cell(b, sizeof b, &e[1], 100 * rb->same_top.v, "%.3f %%");
    print_row("Same top p", a, b, 0, 0, false);
    cell(a, sizeof a, &e[0], 100 * ra->dp_rms.v, "%.3f %%"); cell(b, sizeof b, &e[1], 100 * rb->dp_rms.v, "%.3f %%");
    print_row("RMS Δp", a, b, 0, 0, false);
}

int ab_eval(const struct cli_args *a, struct run_setup *sa, struct run_setup *sb, cJSON *root)
{
    char *text, err[1200];
    size_t len;
    static struct side_eval e[2];
    if (evaltext_read(a->eval_text, &text, &len, err, sizeof err) < 0) {
        cli_error("--eval %s", err);
        return EXIT_BAD_INPUT;
    }
    struct run_setup *sides[2] = {sa, sb};
    int rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++) {
        if (!a->quiet) fprintf(stderr, "== eval %s on %s\n", i ? "B" : "A", a->eval_text);
        rc = eval_one(a, sides[i], text, len, &e[i]);
    }
    free(text);
    if (rc) return rc;
    print_table(e, a->eval_text);
    if (root) {
        cJSON *o = cJSON_CreateObject();
        for (int i = 0; i < 2; i++) {
            struct eval_context c = {e[i].model, a->eval_text, e[i].weights, e[i].ref_weights,
                                     e[i].r.has_base ? "computed in this run" : NULL};
            cJSON_AddItemToObject(o, i ? "b" : "a", eval_report_json(&c, &e[i].r));
        }
        cJSON_AddItemToObject(root, "eval", o);
    }
    return 0;
}
