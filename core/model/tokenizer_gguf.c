/* core/model/tokenizer_gguf.c — read a GGUF file's tokenizer.* metadata into a
 * tokenizer_spec, checking every key's type and every array's length, then
 * build the tokenizer from it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/model/gguf.h"
#include "core/model/tokenizer_impl.h"

#define K_MODEL  "tokenizer.ggml.model"
#define K_PRE    "tokenizer.ggml.pre"
#define K_TOKENS "tokenizer.ggml.tokens"
#define K_TYPES  "tokenizer.ggml.token_type"
#define K_SCORES "tokenizer.ggml.scores"
#define K_MERGES "tokenizer.ggml.merges"

/* Arrays borrowed from the file plus what had to be converted. */
struct gguf_spec {
    struct tokenizer_spec s;
    const char **tokens;
    size_t *token_lens;
    int32_t *types;
    float *scores;
    const char **merges;
};

static void fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || errlen == 0) return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Pre-tokenizer names llama.cpp gives each regex family we implement. */
static int parse_pre(const char *name, enum tokenizer_pre *pre)
{
    static const struct { const char *name; enum tokenizer_pre pre; } k[] = {
        { "gpt-2", TOKENIZER_PRE_GPT2 }, { "phi-2", TOKENIZER_PRE_GPT2 },
        { "mpt", TOKENIZER_PRE_GPT2 }, { "olmo", TOKENIZER_PRE_GPT2 },
        { "jais", TOKENIZER_PRE_GPT2 },
        { "smollm", TOKENIZER_PRE_SMOLLM }, { "starcoder", TOKENIZER_PRE_SMOLLM },
        { "refact", TOKENIZER_PRE_SMOLLM }, { "command-r", TOKENIZER_PRE_SMOLLM },
        { "codeshell", TOKENIZER_PRE_SMOLLM }, { "exaone", TOKENIZER_PRE_SMOLLM },
        { "minerva-7b", TOKENIZER_PRE_SMOLLM },
        { "llama3", TOKENIZER_PRE_LLAMA3 }, { "llama-v3", TOKENIZER_PRE_LLAMA3 },
        { "llama-bpe", TOKENIZER_PRE_LLAMA3 }, { "falcon3", TOKENIZER_PRE_LLAMA3 },
        { "falcon-h1", TOKENIZER_PRE_LLAMA3 }, { "pixtral", TOKENIZER_PRE_LLAMA3 },
        { "midm-2.0", TOKENIZER_PRE_LLAMA3 }, { "lfm2", TOKENIZER_PRE_LLAMA3 },
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (strcmp(name, k[i].name) == 0) { *pre = k[i].pre; return 0; }
    return -1;
}

static int read_kind(const struct gguf_file *f, struct tokenizer_spec *s, char *err, size_t errlen)
{
    const char *model, *pre;
    if (!gguf_get_str(f, K_MODEL, &model, NULL)) {
        fail(err, errlen, K_MODEL ": expected a string (\"gpt2\" or \"llama\")");
        return -1;
    }
    if (strcmp(model, "llama") == 0) { s->kind = TOKENIZER_SPM; return 0; }
    if (strcmp(model, "gpt2") != 0) {
        fail(err, errlen, K_MODEL ": unsupported \"%s\" (expected \"gpt2\" or \"llama\")", model);
        return -1;
    }
    s->kind = TOKENIZER_BPE;
    if (!gguf_get_str(f, K_PRE, &pre, NULL)) {
        fail(err, errlen, K_PRE ": expected a string naming the pre-tokenizer");
        return -1;
    }
    if (parse_pre(pre, &s->pre) != 0) {
        fail(err, errlen, K_PRE ": unsupported \"%s\" (expected gpt-2, smollm, llama-bpe or "
             "another llama.cpp name for one of those regexes)", pre);
        return -1;
    }
    return 0;
}

/* A string array's element pointers and lengths; *n its length. */
static int read_str_array(const struct gguf_file *f, const char *key, uint64_t *n,
                          const char ***strs, size_t **lens, char *err, size_t errlen)
{
    enum gguf_vtype elem;
    if (!gguf_get_arr(f, key, &elem, n, NULL) || elem != GGUF_STRING) {
        fail(err, errlen, "%s: expected an array of strings", key);
        return -1;
    }
    if (*n > INT32_MAX) {
        fail(err, errlen, "%s: %llu entries (expected at most %d)", key,
             (unsigned long long)*n, INT32_MAX);
        return -1;
    }
    *strs = malloc((size_t)(*n + 1) * sizeof **strs);
    if (lens) *lens = malloc((size_t)(*n + 1) * sizeof **lens);
    if (!*strs || (lens && !*lens)) {
        fail(err, errlen, "%s: out of memory for %llu entries", key, (unsigned long long)*n);
        return -1;
    }
    for (uint64_t i = 0; i < *n; i++) {
        size_t len;
        if (!gguf_get_arr_str(f, key, i, &(*strs)[i], &len)) {
            fail(err, errlen, "%s: entry %llu unreadable", key, (unsigned long long)i);
            return -1;
        }
        if (lens) (*lens)[i] = len;
    }
    return 0;
}

/* An optional numeric array of n_tokens elements of type want (4 bytes each),
 * copied out (the file's data may be unaligned). */
static int read_num_array(const struct gguf_file *f, const char *key, enum gguf_vtype want,
                          const char *want_name, int32_t n_tokens, void **out, char *err,
                          size_t errlen)
{
    enum gguf_vtype elem;
    uint64_t n;
    const void *data;
    if (gguf_find_key(f, key) < 0) return 0;
    if (!gguf_get_arr(f, key, &elem, &n, &data) || elem != want) {
        fail(err, errlen, "%s: expected an array of %s", key, want_name);
        return -1;
    }
    if (n != (uint64_t)n_tokens) {
        fail(err, errlen, "%s: %llu entries (expected %d, one per token)", key,
             (unsigned long long)n, n_tokens);
        return -1;
    }
    *out = malloc((size_t)n * 4 + 1);
    if (!*out) { fail(err, errlen, "%s: out of memory", key); return -1; }
    memcpy(*out, data, (size_t)n * 4);
    return 0;
}

/* An optional token id: absent → -1; present but not an integer → error. */
static int read_id(const struct gguf_file *f, const char *key, int32_t *id, char *err,
                   size_t errlen)
{
    int64_t v;
    *id = -1;
    if (gguf_find_key(f, key) < 0) return 0;
    if (!gguf_get_i64(f, key, &v) || v < 0 || v > INT32_MAX) {
        fail(err, errlen, "%s: expected a token id (a non-negative integer)", key);
        return -1;
    }
    *id = (int32_t)v;
    return 0;
}

static int read_bool(const struct gguf_file *f, const char *key, bool *v, char *err,
                     size_t errlen)
{
    if (gguf_find_key(f, key) < 0) return 0;
    if (!gguf_get_bool(f, key, v)) {
        fail(err, errlen, "%s: expected a bool", key);
        return -1;
    }
    return 0;
}

static int read_ids_and_flags(const struct gguf_file *f, struct tokenizer_spec *s, char *err,
                              size_t errlen)
{
    const char *tmpl;
    /* llama.cpp's defaults: SPM adds BOS and a space prefix; llama3 BPE adds BOS */
    s->add_bos = s->kind == TOKENIZER_SPM || s->pre == TOKENIZER_PRE_LLAMA3;
    s->add_space_prefix = s->kind == TOKENIZER_SPM;
    if (read_id(f, "tokenizer.ggml.bos_token_id", &s->bos_id, err, errlen) ||
        read_id(f, "tokenizer.ggml.eos_token_id", &s->eos_id, err, errlen) ||
        read_id(f, "tokenizer.ggml.eot_token_id", &s->eot_id, err, errlen) ||
        read_id(f, "tokenizer.ggml.eom_token_id", &s->eom_id, err, errlen) ||
        read_id(f, "tokenizer.ggml.unknown_token_id", &s->unk_id, err, errlen) ||
        read_bool(f, "tokenizer.ggml.add_bos_token", &s->add_bos, err, errlen) ||
        read_bool(f, "tokenizer.ggml.add_space_prefix", &s->add_space_prefix, err, errlen))
        return -1;
    /* the padding id is not used here, but a file whose id names no token is damaged */
    int32_t pad;
    if (read_id(f, "tokenizer.ggml.padding_token_id", &pad, err, errlen)) return -1;
    if (pad >= s->n_tokens) {
        fail(err, errlen, "tokenizer.ggml.padding_token_id: %d is not a token id (expected 0..%d)", pad,
             s->n_tokens - 1);
        return -1;
    }
    if (gguf_find_key(f, "tokenizer.chat_template") >= 0) {
        if (!gguf_get_str(f, "tokenizer.chat_template", &tmpl, NULL)) {
            fail(err, errlen, "tokenizer.chat_template: expected a string");
            return -1;
        }
        s->chat_template = tmpl;
    }
    return 0;
}

static int read_spec(const struct gguf_file *f, struct gguf_spec *g, char *err, size_t errlen)
{
    struct tokenizer_spec *s = &g->s;
    uint64_t n;
    if (read_kind(f, s, err, errlen) != 0) return -1;
    if (read_str_array(f, K_TOKENS, &n, &g->tokens, &g->token_lens, err, errlen) != 0) return -1;
    if (n == 0) { fail(err, errlen, K_TOKENS ": empty (expected at least one token)"); return -1; }
    s->n_tokens = (int32_t)n;
    s->tokens = g->tokens;
    s->token_lens = g->token_lens;
    if (read_num_array(f, K_TYPES, GGUF_I32, "int32", s->n_tokens, (void **)&g->types, err,
                       errlen) != 0 ||
        read_num_array(f, K_SCORES, GGUF_F32, "float32", s->n_tokens, (void **)&g->scores, err,
                       errlen) != 0)
        return -1;
    s->types = g->types;
    s->scores = g->scores;
    if (s->kind == TOKENIZER_BPE) {
        if (read_str_array(f, K_MERGES, &n, &g->merges, NULL, err, errlen) != 0) return -1;
        s->n_merges = (int32_t)n;
        s->merges = g->merges;
    }
    return read_ids_and_flags(f, s, err, errlen);
}

struct tokenizer *tokenizer_from_gguf(const struct gguf_file *f, char *err, size_t errlen)
{
    struct gguf_spec g;
    struct tokenizer *t = NULL;
    memset(&g, 0, sizeof g);
    if (read_spec(f, &g, err, errlen) == 0) t = tokenizer_from_arrays(&g.s, err, errlen);
    free(g.tokens);
    free(g.token_lens);
    free(g.types);
    free(g.scores);
    free(g.merges);
    return t;
}
