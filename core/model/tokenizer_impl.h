/* core/model/tokenizer_impl.h — internals shared by the tokenizer's files
 * (tokenizer.c: build/lookup/encode, tokenizer_pretok.c: regex splitting,
 * tokenizer_bpe.c: merging, tokenizer_gguf.c: metadata, tokenizer_chat.c). */
#ifndef INFERTOP_TOKENIZER_IMPL_H
#define INFERTOP_TOKENIZER_IMPL_H

#include "core/model/tokenizer.h"

/* Open-addressing hash map from byte strings to int32 values. Keys live in a
 * pool owned by the map, so the caller's strings may go away. */
struct strmap {
    int32_t *slots;          /* entry index, or -1 when empty; size mask+1 */
    size_t mask;
    size_t *key_off;         /* [n] into pool */
    uint32_t *key_len;       /* [n] */
    int32_t *value;          /* [n] */
    char *pool;
    size_t pool_len, pool_cap;
    int32_t n, cap;
};

int  strmap_init(struct strmap *m, int32_t expected);
/* Insert or overwrite (a later duplicate key wins, as in llama.cpp). 0 ok, -1 no memory. */
int  strmap_put(struct strmap *m, const char *key, size_t len, int32_t value);
/* The value, or -1 when absent. */
int32_t strmap_get(const struct strmap *m, const char *key, size_t len);
void strmap_free(struct strmap *m);

/* token flags */
enum {
    TOKF_SPECIAL = 1,        /* matched as a whole string when parse_special */
    TOKF_ALWAYS = 2,         /* USER_DEFINED: matched even without parse_special */
    TOKF_CONTROL = 4,
    TOKF_EOG = 8,
};

struct tokenizer {
    enum tokenizer_kind kind;
    enum tokenizer_pre pre;
    int32_t n_tokens;
    char *text_pool;         /* token texts, back to back */
    size_t *text_off;        /* [n_tokens] */
    uint32_t *text_len;      /* [n_tokens] */
    char *piece_pool;        /* decoded bytes per token (tokenizer_decode_token) */
    size_t *piece_off;       /* [n_tokens] */
    uint32_t *piece_len;     /* [n_tokens] */
    float *scores;           /* [n_tokens] SPM merge priority */
    uint8_t *flags;          /* [n_tokens] TOKF_* */
    struct strmap tokens;    /* text → id */
    struct strmap merges;    /* encoded pair (see bpe_pair_key) → rank */
    int32_t *specials;       /* ids matched as whole strings, longest text first */
    int32_t n_specials;
    int32_t byte_token[256]; /* SPM byte fallback id per byte (-1 none) */
    uint32_t byte_cp[256];   /* GPT-2 byte → printable codepoint */
    int32_t bos, eos, eot, eom, unk;
    bool add_bos, add_space_prefix, ignore_merges;
    char *chat_template;     /* NULL when absent */
};

/* growable id output: keeps counting past cap so callers learn the size */
struct idbuf {
    int32_t *out;
    int cap;
    int n;
};

static inline void idbuf_push(struct idbuf *b, int32_t id)
{
    if (b->n < b->cap) b->out[b->n] = id;
    b->n++;
}

static inline const char *tok_text(const struct tokenizer *t, int32_t id)
{
    return t->text_pool + t->text_off[id];
}

/* Split codepoints cps[0..n) into pre-tokenizer words. Writes word end
 * offsets (exclusive, ascending) into ends (room for n) and returns how many. */
size_t pretok_split(enum tokenizer_pre pre, const uint32_t *cps, size_t n, size_t *ends);

/* Byte-level BPE over one pre-tokenized word (already in GPT-2's byte
 * alphabet). 0 ok, -1 no memory. */
int bpe_encode_word(const struct tokenizer *t, const char *word, size_t len, struct idbuf *out);
/* SentencePiece-style merge over one text fragment (spaces already U+2581). */
int spm_encode_text(const struct tokenizer *t, const char *text, size_t len, struct idbuf *out);
/* Merge-table key for the pair (left, right): 4-byte length of left, then both. */
size_t bpe_pair_key(const char *l, size_t ll, const char *r, size_t rl, char *key);

#endif
