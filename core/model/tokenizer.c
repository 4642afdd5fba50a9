/* core/model/tokenizer.c — building a tokenizer from arrays, encoding, decoding.
 * Metadata reading is in tokenizer_gguf.c, the regex splitting in
 * tokenizer_pretok.c, the merge loops in tokenizer_bpe.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/model/tokenizer_impl.h"
#include "core/model/unicode.h"

/* Texts llama.cpp treats as end of generation whatever their declared type
 * (the first one present becomes the end-of-turn id when none is declared). */
static const char *const k_eog_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
    "<|eom_id|>", "<EOT>", "<|end_of_text|>",
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || errlen == 0) return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- validation ------------------------------------------------------- */

static bool id_ok(int32_t id, int32_t n) { return id >= -1 && id < n; }

static int validate_ids(const struct tokenizer_spec *s, char *err, size_t errlen)
{
    const struct { const char *name; int32_t id; } ids[] = {
        { "bos_token_id", s->bos_id }, { "eos_token_id", s->eos_id },
        { "eot_token_id", s->eot_id }, { "eom_token_id", s->eom_id },
        { "unknown_token_id", s->unk_id },
    };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        if (!id_ok(ids[i].id, s->n_tokens)) {
            set_err(err, errlen, "tokenizer.ggml.%s: %d is not a token id (expected 0..%d)",
                    ids[i].name, ids[i].id, s->n_tokens - 1);
            return -1;
        }
    }
    return 0;
}

static int validate_spec(const struct tokenizer_spec *s, char *err, size_t errlen)
{
    if (s->kind != TOKENIZER_BPE && s->kind != TOKENIZER_SPM) {
        set_err(err, errlen, "tokenizer.ggml.model: unknown kind %d", (int)s->kind);
        return -1;
    }
    if (s->n_tokens <= 0 || !s->tokens) {
        set_err(err, errlen, "tokenizer.ggml.tokens: expected a non-empty array of strings");
        return -1;
    }
    for (int32_t i = 0; i < s->n_tokens; i++) {
        if (!s->tokens[i]) {
            set_err(err, errlen, "tokenizer.ggml.tokens: entry %d is missing", i);
            return -1;
        }
        if (s->types && (s->types[i] < 0 || s->types[i] > TOKEN_TYPE_BYTE)) {
            set_err(err, errlen, "tokenizer.ggml.token_type: entry %d is %d (expected 0..6)", i,
                    s->types[i]);
            return -1;
        }
    }
    if (s->kind == TOKENIZER_BPE) {
        if (s->pre != TOKENIZER_PRE_GPT2 && s->pre != TOKENIZER_PRE_SMOLLM &&
            s->pre != TOKENIZER_PRE_LLAMA3) {
            set_err(err, errlen, "tokenizer.ggml.pre: unknown pre-tokenizer %d", (int)s->pre);
            return -1;
        }
        if (s->n_merges < 0 || (s->n_merges > 0 && !s->merges)) {
            set_err(err, errlen, "tokenizer.ggml.merges: expected an array of strings");
            return -1;
        }
        for (int32_t i = 0; i < s->n_merges; i++) {
            if (!s->merges[i] || !s->merges[i][0] || !strchr(s->merges[i] + 1, ' ')) {
                set_err(err, errlen, "tokenizer.ggml.merges: entry %d is not \"left right\"", i);
                return -1;
            }
        }
    }
    return validate_ids(s, err, errlen);
}

/* ---- construction ------------------------------------------------------ */

static size_t spec_len(const struct tokenizer_spec *s, int32_t i)
{
    return s->token_lens ? s->token_lens[i] : strlen(s->tokens[i]);
}

static int copy_texts(struct tokenizer *t, const struct tokenizer_spec *s)
{
    size_t total = 0, off = 0;
    for (int32_t i = 0; i < s->n_tokens; i++) {
        if (spec_len(s, i) > UINT32_MAX) return -1;
        total += spec_len(s, i) + 1;
    }
    t->text_pool = malloc(total);
    t->text_off = malloc((size_t)s->n_tokens * sizeof *t->text_off);
    t->text_len = malloc((size_t)s->n_tokens * sizeof *t->text_len);
    if (!t->text_pool || !t->text_off || !t->text_len) return -1;
    if (strmap_init(&t->tokens, s->n_tokens) != 0) return -1;
    for (int32_t i = 0; i < s->n_tokens; i++) {
        size_t len = spec_len(s, i);
        memcpy(t->text_pool + off, s->tokens[i], len);
        t->text_pool[off + len] = '\0';
        t->text_off[i] = off;
        t->text_len[i] = (uint32_t)len;
        if (strmap_put(&t->tokens, s->tokens[i], len, i) != 0) return -1;
        off += len + 1;
    }
    return 0;
}

static int32_t find_text(const struct tokenizer *t, const char *s)
{
    return strmap_get(&t->tokens, s, strlen(s));
}

/* Token flags from the declared types, then llama.cpp's end-of-turn
 * detection by text (such tokens are forced to CONTROL). */
static void set_flags(struct tokenizer *t, const struct tokenizer_spec *s)
{
    for (int32_t i = 0; i < s->n_tokens; i++) {
        int32_t ty = s->types ? s->types[i] : TOKEN_TYPE_NORMAL;
        uint8_t f = 0;
        if (ty == TOKEN_TYPE_CONTROL) f = TOKF_SPECIAL | TOKF_CONTROL;
        else if (ty == TOKEN_TYPE_UNKNOWN) f = TOKF_SPECIAL;
        else if (ty == TOKEN_TYPE_USER_DEFINED) f = TOKF_SPECIAL | TOKF_ALWAYS;
        t->flags[i] = f;
    }
    for (size_t k = 0; k < sizeof k_eog_texts / sizeof k_eog_texts[0]; k++) {
        int32_t id = find_text(t, k_eog_texts[k]);
        if (id < 0) continue;
        t->flags[id] |= TOKF_SPECIAL | TOKF_CONTROL | TOKF_EOG;
        if (t->eot < 0) t->eot = id;
    }
    if (t->eos >= 0) t->flags[t->eos] |= TOKF_EOG;
    if (t->eot >= 0) t->flags[t->eot] |= TOKF_EOG;
    if (t->eom >= 0) t->flags[t->eom] |= TOKF_EOG;
}

struct special_ref { uint32_t len; int32_t id; };

static int special_cmp(const void *a, const void *b)
{
    const struct special_ref *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;   /* longest first */
    return (x->id > y->id) - (x->id < y->id);
}

/* The ids matched as whole strings, longest text first (so "<|im_start|>"
 * wins over any shorter special inside it), as llama.cpp orders them. */
static int collect_specials(struct tokenizer *t)
{
    struct special_ref *refs;
    int32_t n = 0;
    for (int32_t i = 0; i < t->n_tokens; i++)
        if ((t->flags[i] & TOKF_SPECIAL) && t->text_len[i] > 0) n++;
    refs = malloc(((size_t)n + 1) * sizeof *refs);
    t->specials = malloc(((size_t)n + 1) * sizeof *t->specials);
    if (!refs || !t->specials) { free(refs); return -1; }
    n = 0;
    for (int32_t i = 0; i < t->n_tokens; i++)
        if ((t->flags[i] & TOKF_SPECIAL) && t->text_len[i] > 0)
            refs[n++] = (struct special_ref){ t->text_len[i], i };
    qsort(refs, (size_t)n, sizeof *refs, special_cmp);
    for (int32_t i = 0; i < n; i++) t->specials[i] = refs[i].id;
    t->n_specials = n;
    free(refs);
    return 0;
}

/* GPT-2's byte alphabet: printable Latin-1 bytes stand for themselves, the
 * other 68 bytes (controls, space, DEL, NBSP, soft hyphen) for U+0100 up. */
static void build_byte_alphabet(struct tokenizer *t)
{
    uint32_t next = 256;
    for (int b = 0; b < 256; b++) {
        bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        t->byte_cp[b] = printable ? (uint32_t)b : next++;
    }
}

static int load_merges(struct tokenizer *t, const struct tokenizer_spec *s)
{
    size_t maxlen = 0;
    char *key;
    if (strmap_init(&t->merges, s->n_merges) != 0) return -1;
    for (int32_t i = 0; i < s->n_merges; i++) {
        size_t l = strlen(s->merges[i]);
        if (l > maxlen) maxlen = l;
    }
    key = malloc(maxlen + 4);
    if (!key) return -1;
    for (int32_t i = 0; i < s->n_merges; i++) {
        const char *m = s->merges[i], *sp = strchr(m + 1, ' ');
        size_t kl = bpe_pair_key(m, (size_t)(sp - m), sp + 1, strlen(sp + 1), key);
        /* a repeated pair keeps its first (best) rank */
        if (strmap_get(&t->merges, key, kl) < 0 && strmap_put(&t->merges, key, kl, i) != 0) {
            free(key);
            return -1;
        }
    }
    free(key);
    return 0;
}

/* SPM byte fallback: <0xXX>, else the byte itself as a token, else <unk>. */
static int find_byte_tokens(struct tokenizer *t, char *err, size_t errlen)
{
    for (int b = 0; b < 256; b++) {
        char hex[8], raw[2] = { (char)b, 0 };
        int32_t id;
        snprintf(hex, sizeof hex, "<0x%02X>", b);
        id = find_text(t, hex);
        if (id < 0) id = strmap_get(&t->tokens, raw, 1);
        if (id < 0) id = t->unk;
        if (id < 0) {
            set_err(err, errlen, "tokenizer.ggml.tokens: no byte token <0x%02X> and no "
                    "unknown_token_id (expected byte fallback tokens)", b);
            return -1;
        }
        t->byte_token[b] = id;
    }
    return 0;
}

/* ---- decoded pieces ---------------------------------------------------- */

/* The raw bytes a byte-level token text stands for, into dst (room: 3 ×
 * len, as a malformed byte re-encodes as U+FFFD). */
static size_t decode_bpe_text(const char *s, size_t len, char *dst, const int16_t *cp_byte)
{
    size_t pos = 0, n = 0;
    while (pos < len) {
        uint32_t cp = utf8_decode(s, len, &pos);
        if (cp < 324 && cp_byte[cp] >= 0) dst[n++] = (char)cp_byte[cp];
        else n += (size_t)utf8_encode(cp, dst + n);  /* not in the alphabet: keep */
    }
    return n;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static size_t decode_spm_text(const char *s, size_t len, bool is_byte, char *dst)
{
    size_t n = 0;
    if (is_byte && len == 6 && memcmp(s, "<0x", 3) == 0 && s[5] == '>' &&
        hex_digit(s[3]) >= 0 && hex_digit(s[4]) >= 0) {
        dst[0] = (char)(hex_digit(s[3]) * 16 + hex_digit(s[4]));
        return 1;
    }
    for (size_t i = 0; i < len; i++) {
        if (i + 2 < len && memcmp(s + i, "\xe2\x96\x81", 3) == 0) { dst[n++] = ' '; i += 2; }
        else dst[n++] = s[i];
    }
    return n;
}

static int build_pieces(struct tokenizer *t, const struct tokenizer_spec *s)
{
    int16_t cp_byte[324];
    size_t total = 0, off = 0;
    for (int32_t i = 0; i < t->n_tokens; i++) total += 4 * (size_t)t->text_len[i] + 1;
    t->piece_pool = malloc(total);
    t->piece_off = malloc((size_t)t->n_tokens * sizeof *t->piece_off);
    t->piece_len = malloc((size_t)t->n_tokens * sizeof *t->piece_len);
    if (!t->piece_pool || !t->piece_off || !t->piece_len) return -1;
    memset(cp_byte, 0xFF, sizeof cp_byte);
    for (int b = 0; b < 256; b++) cp_byte[t->byte_cp[b]] = (int16_t)b;
    for (int32_t i = 0; i < t->n_tokens; i++) {
        const char *txt = tok_text(t, i);
        size_t len = t->text_len[i], n;
        int32_t ty = s->types ? s->types[i] : TOKEN_TYPE_NORMAL;
        bool verbatim = (t->flags[i] & TOKF_SPECIAL) != 0;
        if (verbatim) { memcpy(t->piece_pool + off, txt, len); n = len; }
        else if (t->kind == TOKENIZER_BPE) n = decode_bpe_text(txt, len, t->piece_pool + off, cp_byte);
        else n = decode_spm_text(txt, len, ty == TOKEN_TYPE_BYTE, t->piece_pool + off);
        t->piece_off[i] = off;
        t->piece_len[i] = (uint32_t)n;
        off += n;
    }
    return 0;
}

static int build_tables(struct tokenizer *t, const struct tokenizer_spec *s, char *err,
                        size_t errlen)
{
    t->flags = calloc((size_t)s->n_tokens, 1);
    t->scores = calloc((size_t)s->n_tokens, sizeof *t->scores);
    if (!t->flags || !t->scores) return -1;
    if (s->scores) memcpy(t->scores, s->scores, (size_t)s->n_tokens * sizeof *t->scores);
    if (copy_texts(t, s) != 0) return -1;
    set_flags(t, s);
    if (collect_specials(t) != 0) return -1;
    build_byte_alphabet(t);
    for (int b = 0; b < 256; b++) t->byte_token[b] = -1;
    if (t->kind == TOKENIZER_BPE && load_merges(t, s) != 0) return -1;
    if (t->kind == TOKENIZER_SPM && find_byte_tokens(t, err, errlen) != 0) return -2;
    if (build_pieces(t, s) != 0) return -1;
    if (s->chat_template && !(t->chat_template = strdup(s->chat_template))) return -1;
    return 0;
}

struct tokenizer *tokenizer_from_arrays(const struct tokenizer_spec *s, char *err, size_t errlen)
{
    struct tokenizer *t;
    int rc;
    if (validate_spec(s, err, errlen) != 0) return NULL;
    t = calloc(1, sizeof *t);
    if (!t) { set_err(err, errlen, "tokenizer: out of memory"); return NULL; }
    t->kind = s->kind;
    t->pre = s->pre;
    t->n_tokens = s->n_tokens;
    t->bos = s->bos_id;
    t->eos = s->eos_id;
    t->eot = s->eot_id;
    t->eom = s->eom_id;
    t->unk = s->unk_id;
    t->add_bos = s->add_bos;
    t->add_space_prefix = s->add_space_prefix;
    t->ignore_merges = s->kind == TOKENIZER_BPE && s->pre == TOKENIZER_PRE_LLAMA3;
    rc = build_tables(t, s, err, errlen);
    if (rc != 0) {
        if (rc == -1) set_err(err, errlen, "tokenizer: out of memory (%d tokens)", s->n_tokens);
        tokenizer_free(t);
        return NULL;
    }
    return t;
}

void tokenizer_free(struct tokenizer *t)
{
    if (!t) return;
    free(t->text_pool);
    free(t->text_off);
    free(t->text_len);
    free(t->piece_pool);
    free(t->piece_off);
    free(t->piece_len);
    free(t->scores);
    free(t->flags);
    strmap_free(&t->tokens);
    strmap_free(&t->merges);
    free(t->specials);
    free(t->chat_template);
    free(t);
}

/* ---- special-token partition ------------------------------------------ */

/* A run of the input: raw text [off, off+len) or one special token. */
struct frag { size_t off, len; int32_t id; };

struct fraglist { struct frag *v; size_t n, cap; };

static int frag_push(struct fraglist *l, size_t off, size_t len, int32_t id)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        struct frag *v = realloc(l->v, cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (struct frag){ off, len, id };
    return 0;
}

/* Cut every raw fragment of *l at each occurrence of special token id. */
static int cut_on_special(const struct tokenizer *t, const char *text, struct fraglist *l,
                          int32_t id)
{
    const char *s = tok_text(t, id);
    size_t slen = t->text_len[id];
    struct fraglist out = { 0 };
    bool found = false;
    for (size_t i = 0; i < l->n; i++) {
        struct frag f = l->v[i];
        size_t off = f.off, end = f.off + f.len;
        const char *p;
        if (f.id >= 0) { if (frag_push(&out, f.off, f.len, f.id)) goto oom; continue; }
        while (off < end && (p = memmem(text + off, end - off, s, slen)) != NULL) {
            size_t at = (size_t)(p - text);
            found = true;
            if (at > off && frag_push(&out, off, at - off, -1)) goto oom;
            if (frag_push(&out, at, slen, id)) goto oom;
            off = at + slen;
        }
        if (off < end && frag_push(&out, off, end - off, -1)) goto oom;
    }
    if (!found) { free(out.v); return 0; }
    free(l->v);
    *l = out;
    return 0;
oom:
    free(out.v);
    return -1;
}

static int partition(const struct tokenizer *t, const char *text, size_t len,
                     bool parse_special, struct fraglist *l)
{
    if (len > 0 && frag_push(l, 0, len, -1) != 0) return -1;
    for (int32_t i = 0; i < t->n_specials; i++) {
        int32_t id = t->specials[i];
        if (!parse_special && !(t->flags[id] & TOKF_ALWAYS)) continue;
        if (cut_on_special(t, text, l, id) != 0) return -1;
    }
    return 0;
}

/* ---- encoding ---------------------------------------------------------- */

/* Append cp's UTF-8 bytes in GPT-2's byte alphabet to dst. */
static size_t byte_encode_cp(const struct tokenizer *t, uint32_t cp, char *dst)
{
    char raw[4];
    size_t n = 0;
    int k = utf8_encode(cp, raw);
    for (int i = 0; i < k; i++) n += (size_t)utf8_encode(t->byte_cp[(unsigned char)raw[i]], dst + n);
    return n;
}

static int encode_bpe_fragment(const struct tokenizer *t, const char *text, size_t len,
                               struct idbuf *out)
{
    uint32_t *cps = malloc((len + 1) * sizeof *cps);
    size_t *ends = malloc((len + 1) * sizeof *ends);
    char *word = malloc(8 * len + 1);       /* ≤ 4 bytes per cp, ≤ 2 per byte */
    size_t n = 0, pos = 0, n_words, start = 0;
    int rc = -1;
    if (!cps || !ends || !word) goto done;
    while (pos < len) cps[n++] = utf8_decode(text, len, &pos);
    n_words = pretok_split(t->pre, cps, n, ends);
    for (size_t w = 0; w < n_words; w++) {
        size_t wl = 0;
        for (size_t i = start; i < ends[w]; i++) wl += byte_encode_cp(t, cps[i], word + wl);
        if (bpe_encode_word(t, word, wl, out) != 0) goto done;
        start = ends[w];
    }
    rc = 0;
done:
    free(cps);
    free(ends);
    free(word);
    return rc;
}

/* SPM: optional leading space, spaces as U+2581, then merge. */
static int encode_spm_fragment(const struct tokenizer *t, const char *text, size_t len,
                               bool space_prefix, struct idbuf *out)
{
    char *buf = malloc(3 * (len + 1));
    size_t n = 0;
    int rc;
    if (!buf) return -1;
    if (space_prefix) { memcpy(buf, "\xe2\x96\x81", 3); n = 3; }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') { memcpy(buf + n, "\xe2\x96\x81", 3); n += 3; }
        else buf[n++] = text[i];
    }
    rc = spm_encode_text(t, buf, n, out);
    free(buf);
    return rc;
}

int tokenizer_encode(const struct tokenizer *t, const char *text, size_t len, bool add_bos,
                     bool parse_special, int32_t *out, int cap)
{
    struct idbuf b = { .out = out, .cap = cap < 0 ? 0 : cap, .n = 0 };
    struct fraglist l = { 0 };
    bool prev_special = true;   /* SPM: the first fragment gets the space prefix */
    int rc = 0;
    if (add_bos && t->bos >= 0) idbuf_push(&b, t->bos);
    if (partition(t, text, len, parse_special, &l) != 0) { free(l.v); return -1; }
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        const struct frag *f = &l.v[i];
        if (f->id >= 0) { idbuf_push(&b, f->id); prev_special = true; continue; }
        if (t->kind == TOKENIZER_BPE) rc = encode_bpe_fragment(t, text + f->off, f->len, &b);
        else rc = encode_spm_fragment(t, text + f->off, f->len,
                                      t->add_space_prefix && prev_special, &b);
        prev_special = false;
    }
    free(l.v);
    return rc != 0 ? -1 : b.n;
}

/* ---- decoding and accessors ------------------------------------------- */

int tokenizer_decode_token(const struct tokenizer *t, int32_t id, char *buf, int cap)
{
    uint32_t n;
    if (id < 0 || id >= t->n_tokens) return -1;
    n = t->piece_len[id];
    if (cap > 0) memcpy(buf, t->piece_pool + t->piece_off[id], n < (uint32_t)cap ? n : (size_t)cap);
    return (int)n;
}

int32_t tokenizer_n_tokens(const struct tokenizer *t) { return t->n_tokens; }
int32_t tokenizer_bos(const struct tokenizer *t) { return t->bos; }
int32_t tokenizer_eos(const struct tokenizer *t) { return t->eos; }
int32_t tokenizer_eot(const struct tokenizer *t) { return t->eot; }
bool tokenizer_add_bos(const struct tokenizer *t) { return t->add_bos; }
enum tokenizer_kind tokenizer_kind(const struct tokenizer *t) { return t->kind; }

bool tokenizer_is_eog(const struct tokenizer *t, int32_t id)
{
    return id >= 0 && id < t->n_tokens && (t->flags[id] & TOKF_EOG);
}

bool tokenizer_is_control(const struct tokenizer *t, int32_t id)
{
    return id >= 0 && id < t->n_tokens && (t->flags[id] & TOKF_CONTROL);
}
