/* core/quant/eval.h — quality of a model on a text, with llama-perplexity's
 * method and names (llama.cpp tools/perplexity), so the numbers compare:
 *
 *  - the text is tokenized once (evaltext_tokenize) and cut into chunks of
 *    ctx >= 3 tokens (chunks = min(--chunks, tokens / ctx); llama-perplexity
 *    wants 2·ctx tokens, one chunk is enough here); each chunk starts with
 *    the model's BOS in place of its first token when the model adds BOS;
 *  - only the second half is scored: the logits at positions first = ctx/2
 *    .. ctx-2 predict tokens first+1 .. ctx-1 (ctx - ctx/2 - 1 per chunk);
 *  - NLL_t = -log softmax(logits_t)[token_{t+1}], PPL = exp(mean NLL) ± PPL ·
 *    sqrt((mean NLL² - mean NLL²)/(N-1)) (llama-perplexity's "Final estimate").
 * Against a reference (base: the same model with the weight-transform options
 * at their defaults, run here or read from an --save-ref file), per scored
 * position, from both sides' log-softmax rows (computed in double, kept as
 * float, as the file stores them), sums in double:
 *  - KLD(base‖Q) = Σ_i p_base(i) (log p_base(i) - log p_Q(i)): mean ± error,
 *    median, 99th percentile, max (llama's percentile interpolation);
 *  - same top p: % of positions where argmax Q = argmax base, ± sqrt(p(1-p)/(N-1));
 *  - Δp = p_Q(next token) - p_base(next token): mean ±, RMS ± (0.5/RMS · err of mean Δp²);
 *  - ln(PPL(Q)/PPL(base)) = mean NLL_Q - mean NLL_base, error
 *    sqrt(σ_Q² + σ_base² - 2 cov); PPL(Q)/PPL(base) = exp of it, ± ratio · that.
 * llama-perplexity's base file is 16-bit (its base-vs-base KLD reads ~5e-4)
 * and it skips terms with log p_base <= -16; here the sum is full and the saved
 * reference f32, so base against itself is exactly 0. */
#ifndef INFERTOP_EVAL_H
#define INFERTOP_EVAL_H

#include "core/model/model.h"
#include "core/quant/evalref.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* One side of an eval: a model with its weights on a backend. */
struct eval_model {
    struct model *m;
    struct backend *be;
    enum dtype kv_type;       /* DT_F16 (llama.cpp's default) or DT_F32 */
    enum attn_impl attn;
};

struct eval_progress {
    int chunks_done, chunks;
    double tokens_per_s;      /* tokens run through the model(s) per second so far */
    double eta_s;
};
typedef void (*eval_progress_fn)(void *user, const struct eval_progress *p);

struct eval_spec {
    const int32_t *tokens;    /* the tokenized text */
    int n_tokens;
    int ctx;                  /* tokens per chunk, >= 2, <= the model's context */
    int chunks;               /* 0: every whole chunk */
    const struct eval_model *base;  /* run the reference here (NULL: none, or ref_in) */
    const char *ref_in;       /* --ref F: read the reference's log-probs (NULL: none) */
    const char *ref_out;      /* --save-ref F: write the reference's log-probs (base, or the
                                 model itself when there is no base and no ref_in) */
    const char *model_id;     /* evalref_model_id of the model; checked against ref_in */
    const char *ref_weights;  /* the reference's weight options, for the file header */
    eval_progress_fn progress;
    void *progress_user;
};

/* mean ± error */
struct eval_stat { double v, err; };

struct eval_result {
    int ctx, chunks, n_tokens;
    int64_t scored;           /* positions scored (chunks × (ctx - ctx/2 - 1)) */
    struct eval_stat ppl, nll;
    bool has_base;            /* the numbers below were measured */
    bool base_from_file;
    struct eval_stat ppl_base, ppl_ratio, ln_ppl_ratio, kld, dp, dp_rms, same_top;
    double cor_ln_ppl;        /* Cor(ln PPL(Q), ln PPL(base)) */
    double kld_median, kld_p99, kld_max;
    double seconds, tokens_per_s;
};

/* Chunks an eval of n_tokens at ctx runs: min(chunks or all, n_tokens / ctx). */
int eval_chunks(int n_tokens, int ctx, int chunks);

/* Check the spec's shape before any work: ctx in [2, model context], at least
 * one chunk of text. 0; -1 with one line in err (exit 2). */
int eval_check(const struct eval_spec *s, const struct model *m, char *err, size_t errlen);

/* Run the eval of q (and s->base) and fill *out. 0; 2 bad input (a --ref
 * file that does not fit, ctx/text as in eval_check), 1 runtime failure
 * (forward, memory, writing --save-ref), with one line in err. Nothing is
 * left at ref_out on failure. */
int eval_run(const struct eval_spec *s, const struct eval_model *q, struct eval_result *out,
             char *err, size_t errlen);

#endif
