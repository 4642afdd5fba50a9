/* tui/cmd_generate.c — `infertop generate`: plain text generation, one sequence. */
#include "core/model/forward.h"
#include "core/engine/kvcache.h"
#include "core/model/model.h"
#include "core/model/sampler.h"
#include "core/model/tokenizer.h"
#include "kernels/registry.h"
#include "tui/cli.h"
#include "tui/session.h"

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

/* KV for one sequence: contiguous [layers][ctx][kv_dim] of kt, one table entry. */
struct seq_kv { struct kv_view view; int32_t table[1]; };

static int seq_kv_alloc(struct seq_kv *s, struct backend *be, const struct model_config *c, int ctx,
                        enum dtype kt)
{
    size_t kvd = (size_t)c->n_kv_heads * c->head_dim, n = (size_t)c->n_layers * ctx * kvd;
    size_t eb = (size_t)kvcache_elem_bytes(kt);
    memset(s, 0, sizeof *s);
    s->view.kv_type = kt;
    s->view.k = backend_alloc(be, n * eb);
    s->view.v = backend_alloc(be, n * eb);
    s->view.layer_stride = (size_t)ctx * kvd;
    s->view.table = s->table;
    s->view.n_blocks = 1;
    s->view.block_size = ctx;
    s->view.kv_dim = (int)kvd;
    return s->view.k && s->view.v ? 0 : -1;
}

int cmd_generate(struct cli_args *a)
{
    struct session S;
    if (session_open(&S, a) != 0) return S.exit_code;
    struct model *m = &S.model;
    int n_predict = a->n_predict ? a->n_predict : (int)opt_i(&a->opt, OPT_MAX_TOKENS);
    int32_t *prompt = NULL;
    int n_prompt = prompt_tokens(m, a->prompt ? a->prompt : "Hello", a->chat, &prompt);
    int ctx = n_prompt + n_predict, rc = 1;
    if (n_prompt == -2) { free(prompt); session_close(&S); return EXIT_BAD_INPUT; }
    char err[256];
    struct seq_kv kv;
    struct forward fw = {0};
    struct sampler smp = {0};
    float *logits = malloc((size_t)m->cfg.vocab * sizeof *logits);

    if (ctx > m->cfg.max_ctx && !a->quiet)
        fprintf(stderr, "infertop: note: %d tokens exceed the model's trained context %d\n", ctx,
                m->cfg.max_ctx);
    if (n_prompt < 0 || !logits || seq_kv_alloc(&kv, S.be, &m->cfg, ctx,
                                                 opt_i(&a->opt, OPT_KV_DTYPE) == 0 ? DT_F32 : DT_F16) < 0 ||
        forward_init(&fw, m, S.be, n_prompt, err, sizeof err) < 0 ||
        sampler_init(&smp, m->cfg.vocab, (float)opt_f(&a->opt, OPT_TEMPERATURE),
                     (int)opt_i(&a->opt, OPT_TOP_K), (float)opt_f(&a->opt, OPT_TOP_P),
                     (uint64_t)opt_i(&a->opt, OPT_SEED)) < 0) {
        cli_error("generate: out of memory for a %d-token context", ctx);
        goto done;
    }
    fw.attn = (enum attn_impl)opt_i(&a->opt, OPT_ATTN);

    struct fwd_seq seq = {prompt, n_prompt, 0, kv.view, false, false};
    uint64_t t0 = now_ns();
    forward_batch(&fw, &seq, 1, logits);
    int32_t tok = sampler_sample(&smp, logits);
    uint64_t t_first = now_ns();
    int generated = 1;
    bool stopped = is_end(m, tok);
    if (!stopped) print_token(m, tok);
    for (; generated < n_predict && !stopped; generated++) {
        struct fwd_seq d = {&tok, 1, n_prompt + generated - 1, kv.view, false, true};
        forward_batch(&fw, &d, 1, logits);
        tok = sampler_sample(&smp, logits);
        stopped = is_end(m, tok);
        if (!stopped) print_token(m, tok);
    }
    uint64_t t_end = now_ns();
    printf("\n");
    double prefill_s = (t_first - t0) / 1e9, decode_s = (t_end - t_first) / 1e9;
    fprintf(stderr,
            "prompt tokens %d | prefill %.1f ms (%.1f tok/s) | time to first token %.1f ms | "
            "decode %d tokens in %.1f ms (%.2f tok/s)%s\n",
            n_prompt, prefill_s * 1e3, n_prompt / prefill_s, prefill_s * 1e3, generated - 1,
            decode_s * 1e3, generated > 1 ? (generated - 1) / decode_s : 0.0, stopped ? " | stopped at end of turn" : "");
    rc = 0;
done:
    sampler_free(&smp);
    forward_free(&fw);
    backend_free(S.be, kv.view.k);
    backend_free(S.be, kv.view.v);
    free(logits);
    free(prompt);
    session_close(&S);
    return rc;
}
