/* tui/cmd_generate.c — `infertop generate`: plain text generation of one
 * sequence, run through the engine as a one-request workload, so the KV
 * options (kv, block, kv_mem, kv_blocks, prefix_cache) apply as in a
 * scenario. stdout carries only the generated text (ids for models without a
 * tokenizer) and a final newline; the statistics go to stderr. */
#include "core/engine/engine.h"
#include "core/model/tokenizer.h"
#include "tui/cli.h"
#include "tui/setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prompt → token ids. With a tokenizer (GGUF models) the text is encoded,
 * through the chat template with --chat. Models without one (synth:) map
 * each byte of the prompt to an id deterministically: id = byte mod vocab. */
static int prompt_tokens(const struct model *m, const char *prompt, bool chat, int32_t **out)
{
    if (!m->tok) {
        if (chat) cli_error("--chat: %s has no tokenizer; the prompt is used as is", m->source);
        int n = (int)strlen(prompt);
        if (n == 0) { prompt = " "; n = 1; }
        *out = malloc((size_t)n * sizeof **out);
        if (!*out) return -1;
        for (int i = 0; i < n; i++) (*out)[i] = (int32_t)((unsigned char)prompt[i] % m->cfg.vocab);
        return n;
    }
    char *text = (char *)prompt;
    if (chat) {
        int need = tokenizer_apply_chat(m->tok, prompt, NULL, 0);
        if (need < 0) { cli_error("--chat: %s has no chat template this tokenizer knows", m->source); return -2; }
        text = malloc((size_t)need + 1);
        if (!text) return -1;
        tokenizer_apply_chat(m->tok, prompt, text, (size_t)need + 1);
    }
    size_t len = strlen(text);
    int cap = (int)len + 8;
    *out = malloc((size_t)cap * sizeof **out);
    int n = *out ? tokenizer_encode(m->tok, text, len, tokenizer_add_bos(m->tok), chat, *out, cap) : -1;
    if (text != prompt) free(text);
    if (n == 0) {                      /* an empty prompt: start from BOS */
        (*out)[0] = tokenizer_bos(m->tok) >= 0 ? tokenizer_bos(m->tok) : 0;
        n = 1;
    }
    return n;
}

/* Stream one generated token: its text when there is a tokenizer, else its id. */
static void print_token(const struct model *m, int32_t id)
{
    char piece[256];
    if (!m->tok) {
        printf("%d ", id);
    } else {
        int n = tokenizer_decode_token(m->tok, id, piece, sizeof piece);
        if (n > 0) fwrite(piece, 1, (size_t)(n < (int)sizeof piece ? n : (int)sizeof piece), stdout);
    }
    fflush(stdout);
}

static bool is_end(const struct model *m, int32_t id)
{
    return m->tok && tokenizer_is_eog(m->tok, id);
}

/* One request, arriving at t=0: the prompt and n_predict tokens to generate. */
static void one_request(struct workload *w, struct request_spec *q, int32_t *prompt, int n_prompt, int n_predict)
{
    memset(w, 0, sizeof *w);
    *q = (struct request_spec){.id = 0, .arrival_s = 0, .prompt = prompt, .prompt_len = n_prompt, .group = -1,
                               .max_output = n_predict};
    w->n = 1;
    w->reqs = q;
    w->tokens = prompt;
    w->n_tokens = n_prompt;
    w->n_output = n_predict;
}

/* max_seq follows the request unless set: a long -n is not an error by default. */
static int fit_max_seq(struct options *opt, int ctx)
{
    char v[32], err[256];
    if (opt->explicit_set[OPT_MAX_SEQ] || ctx <= opt_i(opt, OPT_MAX_SEQ)) return 0;
    snprintf(v, sizeof v, "%d", ctx);
    if (options_set(opt, "max_seq", v, err, sizeof err) < 0) {
        cli_error("generate: %d tokens (prompt + -n): %s", ctx, err);
        return -1;
    }
    opt->explicit_set[OPT_MAX_SEQ] = false;
    return 0;
}

/* Step the engine, streaming request 0's new tokens, until it has n_predict
 * tokens or produced an end-of-turn token. Returns the tokens sampled (the
 * end token included), or -1 when the engine failed. */
static int stream_tokens(struct engine *e, const struct model *m, bool *stopped)
{
    struct sched_req *r = &e->sched.reqs[0];
    int shown = 0;
    *stopped = false;
    while (!*stopped && engine_step(e, 0.05) >= 0) {
        for (; shown < r->n_generated && !*stopped; shown++) {
            int32_t id = r->tokens[r->prompt_len + shown];
            if (is_end(m, id)) *stopped = true;
            else print_token(m, id);
        }
    }
    return e->failed ? -1 : shown;
}

int cmd_generate(struct cli_args *a)
{
    if (setup_no_positional(a) < 0) return EXIT_BAD_INPUT;
    struct session S;
    int src = setup_session(&S, a, NULL);
    if (src) return src;
    struct model *m = &S.model;
    struct options opt = a->opt;
    int n_predict = a->n_predict ? a->n_predict : (int)opt_i(&opt, OPT_MAX_TOKENS);
    int32_t *prompt = NULL;
    int n_prompt = prompt_tokens(m, a->prompt ? a->prompt : "Hello", a->chat, &prompt);
    int ctx = n_prompt + n_predict, rc = EXIT_BAD_INPUT;
    char err[512];
    struct workload w;
    struct request_spec q;
    struct engine e;
    if (n_prompt == -2) goto done;
    if (n_prompt < 0) { cli_error("generate: out of memory for the prompt"); rc = 1; goto done; }
    if (ctx > m->cfg.max_ctx && !a->quiet)
        fprintf(stderr, "infertop: note: %d tokens exceed the model's trained context %d\n", ctx, m->cfg.max_ctx);
    if (fit_max_seq(&opt, ctx) < 0) goto done;
    one_request(&w, &q, prompt, n_prompt, n_predict);
    if (engine_init(&e, &opt, m, S.be, &w, err, sizeof err) < 0) {
        cli_error("generate: %s", err);
        goto done;
    }
    if (S.has_draft && engine_attach_draft(&e, &S.draft, err, sizeof err) < 0) {
        cli_error("generate: %s", err);
        engine_free(&e);
        goto done;
    }
    e.sched.reqs[0].rng = (uint64_t)opt_i(&opt, OPT_SEED);   /* the sampler stream generate always used */
    bool stopped;
    int generated = stream_tokens(&e, m, &stopped);
    double t_end = engine_now(&e), t_first = e.sched.reqs[0].t_first;
    printf("\n");
    fflush(stdout);                 /* the stream ends before the statistics start */
    if (generated < 0) {
        cli_error("generate: engine: %s", e.error);
        rc = 1;
    } else {
        double prefill_s = t_first, decode_s = t_end - t_first;
        fprintf(stderr,
                "prompt tokens %d | prefill %.1f ms (%.1f tok/s) | time to first token %.1f ms | "
                "decode %d tokens in %.1f ms (%.2f tok/s)%s\n",
                n_prompt, prefill_s * 1e3, n_prompt / prefill_s, prefill_s * 1e3, generated - 1, decode_s * 1e3,
                generated > 1 ? (generated - 1) / decode_s : 0.0, stopped ? " | stopped at end of turn" : "");
        rc = 0;
    }
    engine_free(&e);
done:
    free(prompt);
    session_close(&S);
    return rc;
}
