/* core/quant/eval.c — see eval.h. Formulas follow llama.cpp's
 * tools/perplexity/perplexity.cpp (perplexity() and kl_divergence()). */
#include "core/quant/eval.h"
#include "core/quant/evaltext.h"
#include "core/quant/oneseq.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One model's pass over a chunk: logits of positions first..ctx-1. */
struct side {
    const struct eval_model *em;
    struct oneseq seq;
    float *logits;            /* [ctx - first][vocab] */
};

/* Sums over scored positions (llama's kl_divergence_result). */
struct acc {
    double nll, nll2, nll_base, nll_base2, nll_nll_base, kld, kld2, dp, dp2, dp4;
    int64_t same_top, count;
    float *kld_vals, *dp_vals;   /* [scored total] */
};

int eval_chunks(int n_tokens, int ctx, int chunks)
{
    int all = ctx > 0 ? n_tokens / ctx : 0;
    return chunks > 0 && chunks < all ? chunks : all;
}

int eval_check(const struct eval_spec *s, const struct model *m, char *err, size_t errlen)
{
    if (s->ctx < 3)
        snprintf(err, errlen, "--ctx %d: expected at least 3 (the first half of each chunk is context; "
                 "ctx - ctx/2 - 1 positions are scored)", s->ctx);
    else if (s->ctx > m->cfg.max_ctx)
        snprintf(err, errlen, "--ctx %d: larger than %s's context %d", s->ctx, m->source, m->cfg.max_ctx);
    else if (s->n_tokens < s->ctx)
        snprintf(err, errlen, "eval text: %d tokens; --ctx %d needs at least %d (one chunk)", s->n_tokens,
                 s->ctx, s->ctx);
    else if (s->chunks < 0)
        snprintf(err, errlen, "--chunks %d: expected >= 0 (0 = every whole chunk)", s->chunks);
    else return 0;
    return -1;
}

static int side_open(struct side *sd, const struct eval_model *em, int ctx, char *err, size_t errlen)
{
    memset(sd, 0, sizeof *sd);
    sd->em = em;
    if (oneseq_init(&sd->seq, em->m, em->be, ctx, em->kv_type, em->attn, err, errlen) < 0) return -1;
    sd->logits = malloc((size_t)(ctx - ctx / 2) * em->m->cfg.vocab * sizeof *sd->logits);
    if (!sd->logits) {
        snprintf(err, errlen, "eval: out of memory for %d x %d logits", ctx - ctx / 2, em->m->cfg.vocab);
        oneseq_free(&sd->seq);
        return -1;
    }
    return 0;
}

static void side_close(struct side *sd)
{
    if (sd->em) oneseq_free(&sd->seq);
    free(sd->logits);
    memset(sd, 0, sizeof *sd);
}

/* The chunk's first half as context (no logits), then the second half with
 * every position's logits: rows for positions first..ctx-1. */
static int side_chunk(struct side *sd, const int32_t *chunk, int ctx)
{
    int first = ctx / 2;
    if (oneseq_run(&sd->seq, chunk, first, 0, false, sd->logits) < 0) return -1;
    return oneseq_run(&sd->seq, chunk + first, ctx - first, first, true, sd->logits) < 0 ? -1 : 0;
}

/* lp[i] = log softmax(logits)[i], computed in double, stored as float. */
static void log_softmax_row(const float *l, int V, float *lp)
{
    float mx = l[0];
    for (int i = 1; i < V; i++) mx = l[i] > mx ? l[i] : mx;
    double sum = 0;
    for (int i = 0; i < V; i++) sum += exp((double)l[i] - mx);
    double lse = mx + log(sum);
    for (int i = 0; i < V; i++) lp[i] = (float)(l[i] - lse);
}

/* One scored position: Q's log-probs lq (log_softmax_row of its logits)
 * predicting tok, against base log-probs lpb (NULL: none); k indexes the
 * per-position arrays. Both sides go through the same float rows, so a model
 * against itself reads KLD = 0 and Δp = 0 exactly. */
static void score_position(struct acc *a, const float *lq, int V, int tok, const float *lpb, int64_t k)
{
    double nll = -(double)lq[tok];
    a->nll += nll; a->nll2 += nll * nll;
    a->count++;
    if (!lpb) return;
    double nll_b = -(double)lpb[tok], kld = 0;
    int imax = 0, imax_b = 0;
    for (int i = 0; i < V; i++) {
        if (lq[i] > lq[imax]) imax = i;
        if (lpb[i] > lpb[imax_b]) imax_b = i;
        kld += exp((double)lpb[i]) * ((double)lpb[i] - (double)lq[i]);
    }
    a->nll_base += nll_b; a->nll_base2 += nll_b * nll_b; a->nll_nll_base += nll * nll_b;
    a->kld += kld; a->kld2 += kld * kld;
    a->same_top += imax == imax_b;
    double dp = exp(-nll) - exp(-nll_b);
    a->dp += dp; a->dp2 += dp * dp; a->dp4 += dp * dp * dp * dp;
    a->kld_vals[k] = (float)kld;
    a->dp_vals[k] = (float)dp;
}

/* llama-perplexity's mean_and_uncertainty: mean, and the standard error
 * sqrt(var/(n-1)) when n > 10 (0 otherwise). */
static struct eval_stat mean_err(double sum, double sum2, int64_t n)
{
    if (n < 1) return (struct eval_stat){0, 0};
    double f = sum / n, df = sum2 / n - f * f;
    return (struct eval_stat){f, df > 0 && n > 10 ? sqrt(df / (n - 1)) : 0};
}

static double covariance(double sa, double sb, double sab, int64_t n)
{
    if (n < 10) return 0;
    return (sab / n - (sa / n) * (sb / n)) / (n - 1);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* llama's percentile: linear between the closest ranks of the sorted values. */
static double percentile(const float *v, int64_t n, double fraction)
{
    if (fraction <= 0) return v[0];
    if (fraction >= 1) return v[n - 1];
    double p = fraction * (double)(n - 1);
    int64_t ip = (int64_t)p;
    p -= (double)ip;
    return (1 - p) * v[ip] + p * v[ip + 1 < n ? ip + 1 : n - 1];
}

static void finish(struct acc *a, struct eval_result *r)
{
    int64_t n = a->count;
    r->scored = n;
    r->nll = mean_err(a->nll, a->nll2, n);
    r->ppl = (struct eval_stat){exp(r->nll.v), exp(r->nll.v) * r->nll.err};
    if (!r->has_base || n < 1) return;
    struct eval_stat lb = mean_err(a->nll_base, a->nll_base2, n);
    double cov = covariance(a->nll, a->nll_base, a->nll_nll_base, n);
    r->ppl_base = (struct eval_stat){exp(lb.v), exp(lb.v) * lb.err};
    r->cor_ln_ppl = r->nll.err > 0 && lb.err > 0 ? cov / (r->nll.err * lb.err) : 0;
    double var = r->nll.err * r->nll.err + lb.err * lb.err - 2 * cov;
    r->ln_ppl_ratio = (struct eval_stat){r->nll.v - lb.v, var > 0 ? sqrt(var) : 0};
    r->ppl_ratio = (struct eval_stat){exp(r->ln_ppl_ratio.v), exp(r->ln_ppl_ratio.v) * r->ln_ppl_ratio.err};
    r->kld = mean_err(a->kld, a->kld2, n);
    r->dp = mean_err(a->dp, a->dp2, n);
    struct eval_stat mse = mean_err(a->dp2, a->dp4, n);
    double rms = sqrt(mse.v);
    r->dp_rms = (struct eval_stat){rms, rms > 0 ? 0.5 / rms * mse.err : 0};
    double top = (double)a->same_top / n;
    r->same_top = (struct eval_stat){top, n > 1 ? sqrt(top * (1 - top) / (n - 1)) : 0};
    qsort(a->kld_vals, (size_t)n, sizeof *a->kld_vals, cmp_float);
    r->kld_median = n % 2 == 0 ? 0.5 * ((double)a->kld_vals[n / 2] + a->kld_vals[n / 2 - 1]) : a->kld_vals[n / 2];
    r->kld_p99 = percentile(a->kld_vals, n, 0.99);
    r->kld_max = a->kld_vals[n - 1];
}

/* Everything one eval holds while it runs. */
struct run {
    const struct eval_spec *s;
    struct side q, base;
    struct acc a;
    float *lpb;               /* [scored][vocab] base log-probs of the current chunk */
    float *lq;                /* [vocab] Q's log-probs of one position */
    int32_t *chunk;           /* [ctx] */
    FILE *ref_in;
    struct evalref_writer out;
    bool writing;
    int V, ctx, first, scored, chunks;
};

static struct evalref_header run_header(const struct run *R, uint64_t hash)
{
    struct evalref_header h = {.version = EVALREF_VERSION, .vocab = (uint32_t)R->V, .ctx = (uint32_t)R->ctx,
                               .chunks = (uint32_t)R->chunks, .scored = (uint32_t)R->scored, .token_hash = hash};
    snprintf(h.model, sizeof h.model, "%s", R->s->model_id ? R->s->model_id : "");
    snprintf(h.weights, sizeof h.weights, "%s", R->s->ref_weights ? R->s->ref_weights : "");
    return h;
}

/* The chunks' token hash: every chunk as run (BOS in place). */
static uint64_t chunks_hash(const struct run *R)
{
    uint64_t h = EVALREF_HASH_INIT;
    int32_t bos = evaltext_bos(R->q.em->m);
    for (int c = 0; c < R->chunks; c++) {
        const int32_t *t = R->s->tokens + (size_t)c * R->ctx;
        int32_t first = bos >= 0 ? bos : t[0];
        h = evalref_token_hash(&first, 1, h);
        h = evalref_token_hash(t + 1, (size_t)R->ctx - 1, h);
    }
    return h;
}

static int run_open(struct run *R, const struct eval_spec *s, const struct eval_model *q, char *err, size_t errlen)
{
    memset(R, 0, sizeof *R);
    R->s = s;
    R->V = q->m->cfg.vocab; R->ctx = s->ctx; R->first = s->ctx / 2;
    R->scored = evalref_scored(s->ctx);
    R->chunks = eval_chunks(s->n_tokens, s->ctx, s->chunks);
    if (s->base && s->base->m->cfg.vocab != R->V) {
        snprintf(err, errlen, "eval: the reference has vocab %d, the model %d", s->base->m->cfg.vocab, R->V);
        return 2;
    }
    if (side_open(&R->q, q, s->ctx, err, errlen) < 0) return 1;
    if (s->base && side_open(&R->base, s->base, s->ctx, err, errlen) < 0) return 1;
    size_t total = (size_t)R->chunks * R->scored;
    R->lpb = malloc((size_t)(R->scored > 0 ? R->scored : 1) * R->V * sizeof *R->lpb);
    R->chunk = malloc((size_t)s->ctx * sizeof *R->chunk);
    R->lq = malloc((size_t)R->V * sizeof *R->lq);
    R->a.kld_vals = malloc((total ? total : 1) * sizeof(float));
    R->a.dp_vals = malloc((total ? total : 1) * sizeof(float));
    if (!R->lpb || !R->chunk || !R->lq || !R->a.kld_vals || !R->a.dp_vals) {
        snprintf(err, errlen, "eval: out of memory for %zu scored positions", total);
        return 1;
    }
    struct evalref_header want = run_header(R, chunks_hash(R));
    if (s->ref_in && evalref_open_read(&R->ref_in, s->ref_in, &want, err, errlen) < 0) return 2;
    if (s->ref_out) {
        if (evalref_create(&R->out, s->ref_out, &want, err, errlen) < 0) return 1;
        R->writing = true;
    }
    return 0;
}

static void run_close(struct run *R)
{
    side_close(&R->q);
    side_close(&R->base);
    if (R->ref_in) fclose(R->ref_in);
    if (R->writing) evalref_abort(&R->out);
    free(R->lpb); free(R->lq); free(R->chunk); free(R->a.kld_vals); free(R->a.dp_vals);
}

/* Base log-probs of chunk c into R->lpb: from the file, the base model, or
 * (for --save-ref without a base) the model itself. Returns whether there is
 * a base, or -1 on failure. */
static int chunk_base(struct run *R, char *err, size_t errlen)
{
    size_t n = (size_t)R->scored * R->V;
    if (R->ref_in) {
        if (fread(R->lpb, sizeof *R->lpb, n, R->ref_in) != n) {
            snprintf(err, errlen, "%s: read failed", R->s->ref_in);
            return -1;
        }
        return 1;
    }
    struct side *b = R->s->base ? &R->base : R->writing ? &R->q : NULL;
    if (!b) return 0;
    if (side_chunk(b, R->chunk, R->ctx) < 0) {
        snprintf(err, errlen, "eval: the reference's forward failed");
        return -1;
    }
    for (int t = 0; t < R->scored; t++)
        log_softmax_row(b->logits + (size_t)t * R->V, R->V, R->lpb + (size_t)t * R->V);
    return R->s->base ? 1 : 0;
}

static int run_chunk(struct run *R, int c, char *err, size_t errlen)
{
    const int32_t *src = R->s->tokens + (size_t)c * R->ctx;
    int32_t bos = evaltext_bos(R->q.em->m);
    memcpy(R->chunk, src, (size_t)R->ctx * sizeof *R->chunk);
    if (bos >= 0) R->chunk[0] = bos;
    int has_base = chunk_base(R, err, errlen);
    if (has_base < 0) return 1;
    if (R->writing && evalref_write_rows(&R->out, R->lpb, (size_t)R->scored * R->V) < 0) {
        snprintf(err, errlen, "%s: write failed", R->s->ref_out);
        return 1;
    }
    bool q_done = R->writing && !R->s->base && !R->ref_in;   /* the model itself was just run */
    if (!q_done && side_chunk(&R->q, R->chunk, R->ctx) < 0) {
        snprintf(err, errlen, "eval: forward failed");
        return 1;
    }
    for (int t = 0; t < R->scored; t++) {
        log_softmax_row(R->q.logits + (size_t)t * R->V, R->V, R->lq);
        score_position(&R->a, R->lq, R->V, R->chunk[R->first + t + 1],
                       has_base ? R->lpb + (size_t)t * R->V : NULL, (int64_t)c * R->scored + t);
    }
    return 0;
}

static void report_progress(const struct run *R, int done, uint64_t t0)
{
    if (!R->s->progress) return;
    double el = (now_ns() - t0) / 1e9;
    int models = 1 + (R->s->base != NULL);
    struct eval_progress p = {done, R->chunks, el > 0 ? (double)done * R->ctx * models / el : 0,
                              done ? el / done * (R->chunks - done) : 0};
    R->s->progress(R->s->progress_user, &p);
}

int eval_run(const struct eval_spec *s, const struct eval_model *q, struct eval_result *out,
             char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (eval_check(s, q->m, err, errlen) < 0) return 2;
    struct run R;
    uint64_t t0 = now_ns();
    int rc = run_open(&R, s, q, err, errlen);
    for (int c = 0; rc == 0 && c < R.chunks; c++) {
        rc = run_chunk(&R, c, err, errlen);
        report_progress(&R, c + 1, t0);
    }
    if (rc == 0 && R.writing) {
        R.writing = false;
        if (evalref_commit(&R.out, err, errlen) < 0) rc = 1;
    }
    if (rc == 0) {
        out->ctx = R.ctx; out->chunks = R.chunks; out->n_tokens = s->n_tokens;
        out->has_base = s->base || R.ref_in;
        out->base_from_file = R.ref_in != NULL;
        finish(&R.a, out);
        out->seconds = (now_ns() - t0) / 1e9;
        out->tokens_per_s = out->seconds > 0 ? (double)R.chunks * R.ctx * (1 + (s->base != NULL)) / out->seconds : 0;
    }
    run_close(&R);
    return rc;
}
