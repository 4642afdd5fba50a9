/* tui/eval_report.c — see eval_report.h. */
#include "tui/eval_report.h"
#include "core/quant/reference.h"
#include "tui/cli.h"

static void line(FILE *out, const char *label, struct eval_stat s, double scale, const char *unit)
{
    fprintf(out, "%-31s: %10.6f ± %10.6f%s\n", label, s.v * scale, s.err * scale, unit);
}

void eval_report_print(FILE *out, const struct eval_context *c, const struct eval_result *r)
{
    fprintf(out, "eval: %s%s%s on %s: %d tokens, ctx %d, %d chunks, %lld positions scored, %.1f s "
            "(%.0f tok/s)\n", c->model, *c->weights ? " " : "", c->weights, c->text, r->n_tokens, r->ctx,
            r->chunks, (long long)r->scored, r->seconds, r->tokens_per_s);
    line(out, "PPL", r->ppl, 1, "");
    if (!r->has_base) {
        fprintf(out, "reference: none: %s\n", c->ref_source ? c->ref_source
                : "the weights are the reference's (no weight-transform option set), so no KLD to measure");
        return;
    }
    fprintf(out, "reference: %s%s%s\n", c->ref_weights && *c->ref_weights ? c->ref_weights : "default weights",
            c->ref_source ? ", " : "", c->ref_source ? c->ref_source : "");
    line(out, "Mean PPL(Q)", r->ppl, 1, "");
    line(out, "Mean PPL(base)", r->ppl_base, 1, "");
    fprintf(out, "%-31s: %6.2f%%\n", "Cor(ln(PPL(Q)), ln(PPL(base)))", 100 * r->cor_ln_ppl);
    line(out, "Mean ln(PPL(Q)/PPL(base))", r->ln_ppl_ratio, 1, "");
    line(out, "Mean PPL(Q)/PPL(base)", r->ppl_ratio, 1, "");
    line(out, "Mean    KLD", r->kld, 1, "");
    fprintf(out, "%-31s: %10.6f\n", "Maximum KLD", r->kld_max);
    fprintf(out, "%-31s: %10.6f\n", "99.0%   KLD", r->kld_p99);
    fprintf(out, "%-31s: %10.6f\n", "Median  KLD", r->kld_median);
    fprintf(out, "%-32s: %10.6f ± %10.6f %%\n", "Mean    Δp", 100 * r->dp.v, 100 * r->dp.err);
    fprintf(out, "%-32s: %10.6f ± %10.6f %%\n", "RMS Δp", 100 * r->dp_rms.v, 100 * r->dp_rms.err);
    line(out, "Same top p", r->same_top, 100, " %");
}

static cJSON *stat_json(struct eval_stat s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "value", s.v);
    cJSON_AddNumberToObject(o, "err", s.err);
    return o;
}

cJSON *eval_report_json(const struct eval_context *c, const struct eval_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", c->model);
    cJSON_AddStringToObject(o, "weights", c->weights);
    cJSON_AddStringToObject(o, "text", c->text);
    cJSON_AddStringToObject(o, "method", "llama-perplexity: chunks of ctx, BOS first, second half scored");
    cJSON_AddNumberToObject(o, "tokens", r->n_tokens);
    cJSON_AddNumberToObject(o, "ctx", r->ctx);
    cJSON_AddNumberToObject(o, "chunks", r->chunks);
    cJSON_AddNumberToObject(o, "scored", (double)r->scored);
    cJSON_AddNumberToObject(o, "seconds", r->seconds);
    cJSON_AddNumberToObject(o, "tokens_per_s", r->tokens_per_s);
    cJSON_AddItemToObject(o, "ppl", stat_json(r->ppl));
    cJSON_AddItemToObject(o, "mean_nll", stat_json(r->nll));
    if (!r->has_base) {
        cJSON_AddNullToObject(o, "reference");
        return o;
    }
    cJSON *ref = cJSON_CreateObject(), *kld = stat_json(r->kld);
    cJSON_AddStringToObject(ref, "weights", c->ref_weights ? c->ref_weights : "");
    cJSON_AddStringToObject(ref, "source", c->ref_source ? c->ref_source : "");
    cJSON_AddItemToObject(ref, "ppl_base", stat_json(r->ppl_base));
    cJSON_AddItemToObject(ref, "ppl_ratio", stat_json(r->ppl_ratio));
    cJSON_AddItemToObject(ref, "ln_ppl_ratio", stat_json(r->ln_ppl_ratio));
    cJSON_AddNumberToObject(ref, "cor_ln_ppl", r->cor_ln_ppl);
    cJSON_AddNumberToObject(kld, "median", r->kld_median);
    cJSON_AddNumberToObject(kld, "p99", r->kld_p99);
    cJSON_AddNumberToObject(kld, "max", r->kld_max);
    cJSON_AddItemToObject(ref, "kld", kld);
    cJSON_AddItemToObject(ref, "same_top_p", stat_json(r->same_top));
    cJSON_AddItemToObject(ref, "dp_mean", stat_json(r->dp));
    cJSON_AddItemToObject(ref, "dp_rms", stat_json(r->dp_rms));
    cJSON_AddItemToObject(o, "reference", ref);
    return o;
}

/* The reference weights on the session's backend: the same spec with the
 * weight options reset. */
static int open_reference(struct model *ref, const char *spec, const struct options *opt, struct backend *be)
{
    char err[512];
    struct options ro;
    reference_options(opt, &ro);
    int threads = (int)opt_i(&ro, OPT_THREADS);
    if (model_load(ref, spec, opt_enum(&ro, WTYPE), (uint64_t)opt_i(&ro, OPT_SEED), threads > 0 ? threads : 2,
                   err, sizeof err) < 0) {
        cli_error("eval: reference: %s", err);
        return EXIT_BAD_INPUT;
    }
    if (model_upload(ref, be) < 0) {
        cli_error("eval: reference: could not copy weights to the %s backend", be->ops->name);
        model_free(ref);
        return 1;
    }
    return 0;
}

int eval_session(struct session *S, const char *spec, const struct options *opt, struct eval_spec *s,
                 struct eval_result *r, char *ref_weights, size_t n)
{
    char err[1400] = "", model_id[128];
    struct model ref;
    struct eval_model q = {&S->model, S->be, opt_enum(opt, KV_DTYPE), opt_enum(opt, ATTN)}, base = q;
    bool have_ref = false;
    int rc;
    reference_format(opt, spec, true, ref_weights, n);
    evalref_model_id(spec, (uint64_t)opt_i(opt, OPT_SEED), model_id, sizeof model_id);
    s->model_id = model_id;
    s->ref_weights = ref_weights;
    if (eval_check(s, q.m, err, sizeof err) < 0) { cli_error("%s", err); return EXIT_BAD_INPUT; }
    if (!s->ref_in && reference_differs(opt, spec)) {
        if ((rc = open_reference(&ref, spec, opt, S->be)) != 0) return rc;
        have_ref = true;
        base.m = &ref;
        s->base = &base;
    }
    rc = eval_run(s, &q, r, err, sizeof err);
    if (rc) cli_error("%s", err);
    if (have_ref) model_free(&ref);
    s->base = NULL;
    s->model_id = NULL;
    return rc;
}
