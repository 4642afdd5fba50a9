/* infertop eval (core/quant/eval.c) on synth:tiny: PPL against an
 * independent double-precision forward and softmax, a model against itself
 * (KLD 0, same top p 100%), --save-ref then --ref equal to the reference run
 * in-process, and the refusals (ctx, text, files that do not fit). */
#include "core/quant/eval.h"
#include "core/quant/evalref.h"
#include "core/quant/evaltext.h"
#include "core/quant/quality.h"
#include "kernels/cpu/cpu_backend.h"
#include "tests/unit/ref_llama.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fix {
    struct model f32, q4;
    struct backend *be;
    struct eval_model mf, mq;
    int32_t toks[100];
    char ref_path[64];
};

static void fix_open(struct fix *x)
{
    char err[256];
    memset(x, 0, sizeof *x);
    const struct model_config *c = &model_preset_find("tiny")->cfg;
    cr_assert_eq(model_synth(&x->f32, c, DT_F32, 11, 2, err, sizeof err), 0, "%s", err);
    cr_assert_eq(model_synth(&x->q4, c, DT_Q4_0, 11, 2, err, sizeof err), 0, "%s", err);
    x->be = cpu_backend_create(2, CPU_SIMD_AMX);
    cr_assert_eq(model_upload(&x->f32, x->be), 0);
    cr_assert_eq(model_upload(&x->q4, x->be), 0);
    x->mf = (struct eval_model){&x->f32, x->be, DT_F32, ATTN_FLASH};
    x->mq = (struct eval_model){&x->q4, x->be, DT_F32, ATTN_FLASH};
    uint32_t s = 7;
    for (int i = 0; i < 100; i++) {
        s = s * 1664525u + 1013904223u;
        x->toks[i] = (int32_t)((s >> 8) % 512u);
    }
    snprintf(x->ref_path, sizeof x->ref_path, "/tmp/infertop_evalref_%d.bin", (int)getpid());
}

static void fix_close(struct fix *x)
{
    unlink(x->ref_path);
    model_free(&x->f32);
    model_free(&x->q4);
    backend_destroy(x->be);
}

static struct eval_spec spec(struct fix *x, int ctx)
{
    return (struct eval_spec){.tokens = x->toks, .n_tokens = 100, .ctx = ctx, .model_id = "synth:tiny seed=11",
                              .ref_weights = "wtype=f32"};
}

/* ctx 32 over 100 tokens: 3 chunks, positions 16..30 predict 17..31. */
Test(eval, ppl_is_exp_mean_nll_of_a_double_forward)
{
    struct fix x;
    fix_open(&x);
    struct eval_spec s = spec(&x, 32);
    struct eval_result r;
    char err[512];
    cr_assert_eq(eval_run(&s, &x.mf, &r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(r.chunks, 3);
    cr_assert_eq(r.scored, 3 * 15);
    cr_assert(!r.has_base);
    int V = x.f32.cfg.vocab;
    double *logits = malloc((size_t)32 * V * sizeof *logits), nll = 0, nll2 = 0;
    for (int c = 0; c < 3; c++) {
        ref_llama_forward(&x.f32, x.toks + c * 32, 32, logits, NULL, NULL);
        for (int t = 16; t <= 30; t++) {
            const double *l = logits + (size_t)t * V;
            double mx = l[0], sum = 0;
            for (int i = 1; i < V; i++) mx = fmax(mx, l[i]);
            for (int i = 0; i < V; i++) sum += exp(l[i] - mx);
            double v = mx + log(sum) - l[x.toks[c * 32 + t + 1]];
            nll += v; nll2 += v * v;
        }
    }
    double mean = nll / 45, ppl = exp(mean), err_ = ppl * sqrt((nll2 / 45 - mean * mean) / 44);
    cr_assert(fabs(r.ppl.v - ppl) < 1e-4 * ppl, "ppl %.9g, reference %.9g", r.ppl.v, ppl);
    cr_assert(fabs(r.ppl.err - err_) < 1e-3 * err_, "ppl err %.9g, reference %.9g", r.ppl.err, err_);
    cr_assert(ppl > 1 && ppl < 1e6);
    free(logits);
    fix_close(&x);
}

Test(eval, model_against_itself_reads_zero)
{
    struct fix x;
    fix_open(&x);
    struct eval_spec s = spec(&x, 32);
    s.base = &x.mf;
    struct eval_result r;
    char err[512];
    cr_assert_eq(eval_run(&s, &x.mf, &r, err, sizeof err), 0, "%s", err);
    cr_assert(r.has_base);
    cr_assert_eq(r.kld.v, 0.0, "KLD %g", r.kld.v);
    cr_assert_eq(r.kld_max, 0.0);
    cr_assert_eq(r.same_top.v, 1.0, "same top %g", r.same_top.v);
    cr_assert_eq(r.dp_rms.v, 0.0);
    cr_assert_eq(r.ln_ppl_ratio.v, 0.0);
    cr_assert_eq(r.ppl_ratio.v, 1.0);
    fix_close(&x);
}

static void same_results(const struct eval_result *a, const struct eval_result *b)
{
    const double pa[] = {a->ppl.v, a->ppl_base.v, a->kld.v, a->kld.err, a->kld_median, a->kld_p99, a->kld_max,
                         a->same_top.v, a->dp.v, a->dp_rms.v, a->ln_ppl_ratio.v, a->ln_ppl_ratio.err};
    const double pb[] = {b->ppl.v, b->ppl_base.v, b->kld.v, b->kld.err, b->kld_median, b->kld_p99, b->kld_max,
                         b->same_top.v, b->dp.v, b->dp_rms.v, b->ln_ppl_ratio.v, b->ln_ppl_ratio.err};
    for (size_t i = 0; i < sizeof pa / sizeof pa[0]; i++)
        cr_assert(fabs(pa[i] - pb[i]) <= 1e-12 * fabs(pa[i]), "field %zu: %.17g vs %.17g", i, pa[i], pb[i]);
}

/* q4_0 against f32 run in-process equals q4_0 against f32's saved log-probs. */
Test(eval, save_ref_then_ref_gives_the_same_numbers)
{
    struct fix x;
    fix_open(&x);
    struct eval_result in_run, saved, from_file;
    char err[512];
    struct eval_spec s = spec(&x, 32);
    s.base = &x.mf;
    cr_assert_eq(eval_run(&s, &x.mq, &in_run, err, sizeof err), 0, "%s", err);
    cr_assert(in_run.kld.v > 0 && in_run.same_top.v < 1 + 1e-12);

    s = spec(&x, 32);
    s.ref_out = x.ref_path;          /* the reference itself, saved */
    cr_assert_eq(eval_run(&s, &x.mf, &saved, err, sizeof err), 0, "%s", err);
    cr_assert(!saved.has_base);
    cr_assert(fabs(saved.ppl.v - in_run.ppl_base.v) < 1e-6 * saved.ppl.v);

    s = spec(&x, 32);
    s.ref_in = x.ref_path;
    cr_assert_eq(eval_run(&s, &x.mq, &from_file, err, sizeof err), 0, "%s", err);
    cr_assert(from_file.has_base && from_file.base_from_file);
    same_results(&in_run, &from_file);

    s.base = NULL;                   /* the reference against its own file: 0 */
    cr_assert_eq(eval_run(&s, &x.mf, &from_file, err, sizeof err), 0, "%s", err);
    cr_assert_eq(from_file.kld.v, 0.0);
    cr_assert_eq(from_file.same_top.v, 1.0);
    fix_close(&x);
}

static void expect_refused(struct fix *x, struct eval_spec s, const struct eval_model *q, int rc, const char *what)
{
    struct eval_result r;
    char err[512] = "";
    cr_assert_eq(eval_run(&s, q, &r, err, sizeof err), rc, "%s: rc (%s)", what, err);
    cr_assert(strstr(err, what), "expected '%s' in: %s", what, err);
    (void)x;
}

Test(eval, refusals)
{
    struct fix x;
    fix_open(&x);
    struct eval_spec s = spec(&x, 2);
    expect_refused(&x, s, &x.mf, 2, "at least 3");
    s = spec(&x, 513);
    expect_refused(&x, s, &x.mf, 2, "context 512");
    s = spec(&x, 32);
    s.n_tokens = 20;
    expect_refused(&x, s, &x.mf, 2, "needs at least 32");

    struct eval_result r;
    char err[512];
    s = spec(&x, 32);
    s.ref_out = x.ref_path;
    cr_assert_eq(eval_run(&s, &x.mf, &r, err, sizeof err), 0, "%s", err);
    s = spec(&x, 32);
    s.ref_in = x.ref_path;
    s.ctx = 16;
    expect_refused(&x, s, &x.mq, 2, "ctx: the file has 32, this run 16");
    s = spec(&x, 32);
    s.ref_in = x.ref_path;
    s.model_id = "synth:tiny seed=12";
    expect_refused(&x, s, &x.mq, 2, "model: the file is for 'synth:tiny seed=11'");
    s = spec(&x, 32);
    s.ref_in = x.ref_path;
    s.chunks = 2;
    expect_refused(&x, s, &x.mq, 2, "chunks: the file has 3, this run 2");
    s = spec(&x, 32);
    s.ref_in = x.ref_path;
    x.toks[40] ^= 1;
    expect_refused(&x, s, &x.mq, 2, "token_hash");
    x.toks[40] ^= 1;
    cr_assert_eq(truncate(x.ref_path, 4096), 0);
    expect_refused(&x, s, &x.mq, 2, "size: 4096 bytes");
    FILE *f = fopen(x.ref_path, "wb");
    fputs("not a reference file, but long enough to hold a header ........................................"
          "......................................................................................................"
          "...................................................................", f);
    fclose(f);
    expect_refused(&x, s, &x.mq, 2, "magic: expected ITEVREF1");
    s.ref_in = "/nonexistent/ref.bin";
    expect_refused(&x, s, &x.mq, 2, "cannot open");
    s = spec(&x, 32);
    s.ref_out = "/nonexistent/dir/ref.bin";
    expect_refused(&x, s, &x.mf, 1, "cannot create");
    fix_close(&x);
}

Test(eval, header_round_trip_and_field_checks)
{
    struct evalref_header h = {.version = 1, .vocab = 512, .ctx = 64, .chunks = 3, .scored = 31,
                               .token_hash = 0x0123456789abcdefull}, back;
    snprintf(h.model, sizeof h.model, "synth:tiny seed=1");
    snprintf(h.weights, sizeof h.weights, "wtype=f32");
    unsigned char buf[EVALREF_HEADER_BYTES];
    char err[256];
    evalref_encode_header(&h, buf);
    cr_assert_eq(evalref_parse_header(buf, sizeof buf, &back, err, sizeof err), 0, "%s", err);
    cr_assert_eq(back.token_hash, h.token_hash);
    cr_assert_str_eq(back.model, h.model);
    uint64_t size = EVALREF_HEADER_BYTES + 3ull * 31 * 512 * 4;
    cr_assert_eq(evalref_check(&back, &h, size, err, sizeof err), 0, "%s", err);
    cr_assert_eq(evalref_check(&back, &h, size - 4, err, sizeof err), -1);
    buf[24] = 30;                                   /* scored inconsistent with ctx */
    cr_assert_eq(evalref_parse_header(buf, sizeof buf, &back, err, sizeof err), -1);
    cr_assert(strstr(err, "scored"), "%s", err);
    evalref_encode_header(&h, buf);
    memset(buf + 40, 'x', 96);                      /* model string without its NUL */
    cr_assert_eq(evalref_parse_header(buf, sizeof buf, &back, err, sizeof err), -1);
    cr_assert(strstr(err, "model"), "%s", err);
    cr_assert_eq(evalref_parse_header(buf, 100, &back, err, sizeof err), -1);
    cr_assert_eq(evalref_scored(512), 255);
    cr_assert_eq(evalref_scored(2), 0);
}

/* The quality line: q4_0 against f32 measured on the shipped text's first
 * tokens; f32 is the reference (nothing run). */
Test(eval, quality_line_measures_a_weight_mode)
{
    struct fix x;
    fix_open(&x);
    struct options o;
    char err[256], line[256];
    options_defaults(&o);
    cr_assert_eq(options_set_list(&o, "seed=11 wtype=q4_0 kv_dtype=f32", err, sizeof err), 0, "%s", err);
    struct tel_quality q;
    cr_assert_eq(quality_measure(&x.q4, x.be, "synth:tiny", &o, &q), 0, "%s", q.error);
    cr_assert_eq(q.state, TQ_MEASURED, "state %s: %s", tel_quality_state_name(q.state), q.error);
    cr_assert_eq(q.tokens, QUALITY_TOKENS);
    cr_assert_eq(q.scored, evalref_scored(QUALITY_TOKENS));
    cr_assert(q.kld > 0 && q.same_top > 0 && q.same_top <= 1, "kld %g same top %g", q.kld, q.same_top);
    cr_assert_str_eq(q.mode, "wtype=q4_0");
    /* the same numbers as eval on those tokens against the f32 model */
    int32_t *ids;
    int n = evaltext_load_tokens(&x.q4, EVALTEXT_EVAL, QUALITY_TOKENS, &ids, err, sizeof err);
    cr_assert_eq(n, QUALITY_TOKENS, "%s", err);
    struct eval_spec s = {.tokens = ids, .n_tokens = n, .ctx = n, .chunks = 1, .base = &x.mf};
    struct eval_result r;
    cr_assert_eq(eval_run(&s, &x.mq, &r, err, sizeof err), 0, "%s", err);
    cr_assert(fabs(r.kld.v - q.kld) <= 1e-12 * q.kld, "eval %g, quality %g", r.kld.v, q.kld);
    free(ids);
    quality_format(&q, line, sizeof line);
    cr_assert(strstr(line, "quality (measured, 256 tokens): KLD "), "%s", line);
    cr_assert_eq(options_set(&o, "wtype", "f32", err, sizeof err), 0);
    cr_assert_eq(quality_measure(&x.f32, x.be, "synth:tiny", &o, &q), 0);
    cr_assert_eq(q.state, TQ_REFERENCE);
    quality_format(&q, line, sizeof line);
    cr_assert_str_eq(line, "quality: weights = reference (no measurement)");
    fix_close(&x);
}
