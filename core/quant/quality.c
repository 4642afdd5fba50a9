/* core/quant/quality.c — see quality.h. */
#include "core/quant/quality.h"
#include "core/quant/eval.h"
#include "core/quant/evaltext.h"
#include "core/quant/reference.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of memory available now (MemAvailable), 0 when unknown. */
static double available_bytes(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[128];
    double kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb * 1024;
}

/* The reference weights of model_spec on be. 0; -1 with err. A synth:
 * reference generated in a format larger than the memory left (llama2-7b at
 * f32: 25 GiB) is refused before it is built. */
static int load_reference(struct model *ref, const struct model *cur, struct backend *be, const char *model_spec,
                          const struct options *opt, char *err, size_t errlen)
{
    struct options ro;
    int threads = (int)opt_i(opt, OPT_THREADS);
    reference_options(opt, &ro);
    double need = model_weight_bytes(&cur->cfg, opt_enum(&ro, WTYPE)), have = available_bytes();
    if (model_spec && !strncmp(model_spec, "synth:", 6) && have > 0 && need > 0.8 * have) {
        snprintf(err, errlen, "reference %s at %s needs %.1f GiB, %.1f GiB available: not measured", model_spec,
                 dtype_info(opt_enum(&ro, WTYPE))->name, need / (1 << 30), have / (1 << 30));
        return -1;
    }
    if (model_load(ref, model_spec, opt_enum(&ro, WTYPE), (uint64_t)opt_i(&ro, OPT_SEED), threads > 0 ? threads : 2,
                   err, errlen) < 0)
        return -1;
    if (model_upload(ref, be) < 0) {
        snprintf(err, errlen, "reference: could not copy weights to the %s backend", be->ops->name);
        model_free(ref);
        return -1;
    }
    return 0;
}

static int measured(struct tel_quality *out, const struct eval_result *r)
{
    out->state = TQ_MEASURED;
    out->scored = (int)r->scored;
    out->kld = r->kld.v; out->kld_err = r->kld.err;
    out->same_top = r->same_top.v; out->same_top_err = r->same_top.err;
    out->ppl_ratio = r->ppl_ratio.v;
    out->seconds = r->seconds;
    return 0;
}

static int failed(struct tel_quality *out, const char *err)
{
    out->state = TQ_FAILED;
    size_t n = strlen(err) < sizeof out->error - 1 ? strlen(err) : sizeof out->error - 1;
    memcpy(out->error, err, n);     /* the first line's start: the header row is short anyway */
    out->error[n] = 0;
    return -1;
}

int quality_measure(struct model *cur, struct backend *be, const char *model_spec, const struct options *opt,
                    struct tel_quality *out)
{
    char err[512];
    memset(out, 0, sizeof *out);
    reference_format(opt, model_spec, false, out->mode, sizeof out->mode);
    if (!reference_differs(opt, model_spec)) {
        out->state = TQ_REFERENCE;
        return 0;
    }
    /* a shape-only model on a SIMULATED device has no weights to compare, and
     * its reference would be the full model's data (280 GB for llama2-70b) */
    if (cur->shapes_only || be->simulated)
        return failed(out, "a SIMULATED device computes no logits");
    int32_t *ids;
    int n = evaltext_load_tokens(cur, EVALTEXT_EVAL, QUALITY_TOKENS, &ids, err, sizeof err);
    if (n < 0) return failed(out, err);
    if (n > cur->cfg.max_ctx) n = cur->cfg.max_ctx;
    struct model ref;
    if (load_reference(&ref, cur, be, model_spec, opt, err, sizeof err) < 0) {
        free(ids);
        return failed(out, err);
    }
    struct eval_model q = {cur, be, opt_enum(opt, KV_DTYPE), opt_enum(opt, ATTN)}, base = q;
    base.m = &ref;
    struct eval_spec s = {.tokens = ids, .n_tokens = n, .ctx = n, .chunks = 1, .base = &base};
    struct eval_result r;
    out->tokens = n;
    int rc = eval_run(&s, &q, &r, err, sizeof err);
    model_free(&ref);
    free(ids);
    return rc ? failed(out, err) : measured(out, &r);
}

void quality_format(const struct tel_quality *q, char *buf, size_t n)
{
    switch (q->state) {
    case TQ_MEASURED:
        snprintf(buf, n, "quality (measured, %d tokens): KLD %.4f, same top p %.1f%%", q->tokens, q->kld,
                 100 * q->same_top);
        break;
    case TQ_REFERENCE: snprintf(buf, n, "quality: weights = reference (no measurement)"); break;
    case TQ_MEASURING: snprintf(buf, n, "quality: measuring %s against the reference...", q->mode); break;
    case TQ_FAILED:    snprintf(buf, n, "quality: not measured: %s", q->error); break;
    default:           snprintf(buf, n, "quality: not measured"); break;
    }
}
