/* tests/unit/test_tokenizer.c — the tokenizer (core/tokenizer*.c, core/model/unicode.c).
 *
 * Without the model: UTF-8 decoding, codepoint classes, each pre-tokenizer's
 * word splits, BPE merge order, SPM merging and byte fallback, special
 * tokens, decoding, the chat templates, and metadata validation (through
 * small hand-built vocabularies and in-memory GGUF files).
 * With models/SmolLM2-135M-Instruct.Q4_1.gguf (`make model`): ids equal to
 * llama.cpp's for every string in tests/reference/tokenizer_golden.json and
 * every prompt in model_golden.json, per-token pieces equal too, and
 * decode(encode(s)) == s. */
#include "core/model/gguf.h"
#include "core/model/tokenizer.h"
#include "core/model/tokenizer_impl.h"
#include "core/model/unicode.h"
#include "tests/unit/gguf_writer.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REAL_MODEL "models/SmolLM2-135M-Instruct.Q4_1.gguf"
#define TOK_GOLDEN "tests/reference/tokenizer_golden.json"
#define MODEL_GOLDEN "tests/reference/model_golden.json"

/* ---- helpers ------------------------------------------------------------ */

/* GPT-2's byte → codepoint alphabet, written from its definition. */
static uint32_t gpt2_cp(unsigned char b)
{
    static uint32_t map[256];
    static bool init;
    if (!init) {
        uint32_t next = 256;
        for (int i = 0; i < 256; i++) {
            bool keep = (i >= '!' && i <= '~') || (i >= 0xA1 && i <= 0xAC) || (i >= 0xAE);
            map[i] = keep ? (uint32_t)i : next++;
        }
        init = true;
    }
    return map[b];
}

/* The byte-level spelling of an ASCII/UTF-8 string ("Ġw" for " w"). */
static char *bl(const char *s, char *buf)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (size_t)utf8_encode(gpt2_cp(*p), buf + n);
    buf[n] = '\0';
    return buf;
}

static int encode(const struct tokenizer *t, const char *s, bool special, int32_t *out, int cap)
{
    int n = tokenizer_encode(t, s, strlen(s), false, special, out, cap);
    cr_assert_geq(n, 0, "encode failed for '%s'", s);
    cr_assert_leq(n, cap, "'%s' needs %d ids", s, n);
    return n;
}

static void expect_ids(const int32_t *got, int n, const int32_t *want, int nw, const char *what)
{
    cr_assert_eq(n, nw, "%s: %d ids, expected %d", what, n, nw);
    for (int i = 0; i < n; i++)
        cr_assert_eq(got[i], want[i], "%s: id[%d] = %d, expected %d", what, i, got[i], want[i]);
}

/* Decode a whole id list into buf (NUL-terminated); returns the length. */
static size_t decode_all(const struct tokenizer *t, const int32_t *ids, int n, char *buf,
                         size_t cap)
{
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        int k = tokenizer_decode_token(t, ids[i], buf + len, (int)(cap - len - 1));
        cr_assert_geq(k, 0);
        cr_assert_lt(len + (size_t)k, cap, "decode buffer too small");
        len += (size_t)k;
    }
    buf[len] = '\0';
    return len;
}

/* ---- unicode ------------------------------------------------------------- */

Test(tokenizer, utf8_decode_valid_and_malformed)
{
    const char s[] = "a\xc3\xa9\xe6\x97\xa5\xf0\x9f\x9a\x80";   /* a é 日 🚀 */
    const uint32_t want[] = { 'a', 0xE9, 0x65E5, 0x1F680 };
    size_t pos = 0;
    for (int i = 0; i < 4; i++) cr_assert_eq(utf8_decode(s, sizeof s - 1, &pos), want[i]);
    cr_assert_eq(pos, sizeof s - 1);

    /* a stray continuation, a bad lead, a truncated sequence: one byte each */
    const char bad[] = "\x80\xff\xe2\x82";
    pos = 0;
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(utf8_decode(bad, 4, &pos), UNICODE_REPLACEMENT, "byte %d", i);
        cr_assert_eq(pos, (size_t)i + 1);
    }
    char out[4];
    cr_assert_eq(utf8_encode(0x1F680, out), 4);
    cr_assert_eq(memcmp(out, "\xf0\x9f\x9a\x80", 4), 0);
    cr_assert_eq(utf8_encode(0x120, out), 2);
}

Test(tokenizer, unicode_classes)
{
    cr_assert(unicode_is_letter('Q'));
    cr_assert(unicode_is_letter(0xE9));      /* é */
    cr_assert(unicode_is_letter(0x65E5));    /* 日 */
    cr_assert(unicode_is_letter(0xD55C));    /* 한 */
    cr_assert_not(unicode_is_letter('3'));
    cr_assert_not(unicode_is_letter(0x1F680));
    cr_assert_not(unicode_is_letter(0x301)); /* combining acute: Mn, not L */
    cr_assert(unicode_is_number('7'));
    cr_assert(unicode_is_number(0x663));     /* Arabic-Indic three */
    cr_assert(unicode_is_number(0xBD));      /* ½ (No) */
    cr_assert(unicode_is_number(0x2162));    /* Roman numeral three (Nl) */
    cr_assert_not(unicode_is_number('x'));
    cr_assert(unicode_is_whitespace(' '));
    cr_assert(unicode_is_whitespace(0x3000));
    cr_assert(unicode_is_whitespace(0x85));
    cr_assert_not(unicode_is_whitespace(0x200B)); /* zero-width space is not White_Space */
    cr_assert_str_eq(unicode_data_version, "15.1.0");
}

/* ---- pre-tokenizers ------------------------------------------------------ */

/* Split s with pre and compare with the '|'-separated expected words. */
static void expect_split(enum tokenizer_pre pre, const char *s, const char *want)
{
    uint32_t cps[256] = { 0 };
    size_t ends[256], n = 0, pos = 0, len = strlen(s), start = 0, nw;
    char got[1024] = "";
    while (pos < len) cps[n++] = utf8_decode(s, len, &pos);
    nw = pretok_split(pre, cps, n, ends);
    for (size_t w = 0; w < nw; w++) {
        char word[64];
        size_t k = 0;
        cr_assert_gt(ends[w], start, "empty or unordered word %zu in '%s'", w, s);
        for (size_t i = start; i < ends[w]; i++) k += (size_t)utf8_encode(cps[i], word + k);
        word[k] = '\0';
        if (w) strcat(got, "|");
        strcat(got, word);
        start = ends[w];
    }
    cr_assert_eq(start, n, "words do not cover '%s'", s);
    cr_assert(strcmp(got, want) == 0, "split of '%s': got '%s', expected '%s'", s, got, want);
}

Test(tokenizer, pretok_gpt2)
{
    expect_split(TOKENIZER_PRE_GPT2, "Hello world", "Hello| world");
    expect_split(TOKENIZER_PRE_GPT2, "a  b", "a| | b");
    expect_split(TOKENIZER_PRE_GPT2, "a   ", "a|   ");
    expect_split(TOKENIZER_PRE_GPT2, "don't I'll", "don|'t| I|'ll");
    expect_split(TOKENIZER_PRE_GPT2, "DON'T", "DON|'|T");   /* case-sensitive */
    expect_split(TOKENIZER_PRE_GPT2, "x 2024!?", "x| 2024|!?");
    expect_split(TOKENIZER_PRE_GPT2, "tab\tx", "tab|\t|x");
    expect_split(TOKENIZER_PRE_GPT2, "a\n\n b", "a|\n\n| b");
    expect_split(TOKENIZER_PRE_GPT2, "café 日本", "café| 日本");
}

Test(tokenizer, pretok_smollm_isolates_digits)
{
    expect_split(TOKENIZER_PRE_SMOLLM, "abc 123", "abc| |1|2|3");
    expect_split(TOKENIZER_PRE_SMOLLM, "x1y", "x|1|y");
    expect_split(TOKENIZER_PRE_SMOLLM, "3.14", "3|.|1|4");
    expect_split(TOKENIZER_PRE_SMOLLM, "don't 7", "don|'t| |7");
    expect_split(TOKENIZER_PRE_SMOLLM, "\xd9\xa3\xd9\xa4", "\xd9\xa3|\xd9\xa4"); /* ٣٤ */
}

Test(tokenizer, pretok_llama3)
{
    expect_split(TOKENIZER_PRE_LLAMA3, "1234567", "123|456|7");
    expect_split(TOKENIZER_PRE_LLAMA3, "Hello world", "Hello| world");
    expect_split(TOKENIZER_PRE_LLAMA3, "DON'T", "DON|'T");    /* case-insensitive */
    expect_split(TOKENIZER_PRE_LLAMA3, "(abc", "(abc");       /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    expect_split(TOKENIZER_PRE_LLAMA3, "a  \n\n  b", "a|  \n\n| | b");
    expect_split(TOKENIZER_PRE_LLAMA3, "x!!\n\ny", "x|!!\n\n|y");
    expect_split(TOKENIZER_PRE_LLAMA3, "a\tb", "a|\tb");
}

/* ---- a tiny byte-level BPE vocabulary ---------------------------------- */

/* ids 0..255: the 256 byte symbols; then merged tokens and two specials. */
struct tiny_bpe {
    char *texts[300];
    char storage[300][16];
    int32_t types[300];
    int32_t n;
};

static int32_t tiny_add(struct tiny_bpe *v, const char *text, int32_t type)
{
    strcpy(v->storage[v->n], text);
    v->texts[v->n] = v->storage[v->n];
    v->types[v->n] = type;
    return v->n++;
}

static struct tokenizer *tiny_bpe_build(struct tiny_bpe *v, const char *const *merges,
                                        int n_merges, enum tokenizer_pre pre)
{
    char buf[16], err[256] = "";
    memset(v, 0, sizeof *v);
    for (int b = 0; b < 256; b++) {
        int k = utf8_encode(gpt2_cp((unsigned char)b), buf);
        buf[k] = '\0';
        tiny_add(v, buf, TOKEN_TYPE_NORMAL);
    }
    for (int i = 0; i < n_merges; i++) {           /* each merge's result is a token */
        char joined[32];
        const char *sp = strchr(merges[i], ' ');
        snprintf(joined, sizeof joined, "%.*s%s", (int)(sp - merges[i]), merges[i], sp + 1);
        tiny_add(v, joined, TOKEN_TYPE_NORMAL);
    }
    tiny_add(v, "<|end|>", TOKEN_TYPE_CONTROL);
    tiny_add(v, "<u>", TOKEN_TYPE_USER_DEFINED);
    struct tokenizer_spec s = {
        .kind = TOKENIZER_BPE, .pre = pre, .n_tokens = v->n,
        .tokens = (const char *const *)v->texts, .types = v->types,
        .n_merges = n_merges, .merges = merges,
        .bos_id = -1, .eos_id = -1, .eot_id = -1, .eom_id = -1, .unk_id = -1,
    };
    struct tokenizer *t = tokenizer_from_arrays(&s, err, sizeof err);
    cr_assert_not_null(t, "tiny vocabulary rejected: %s", err);
    return t;
}

static int32_t id_of(const struct tiny_bpe *v, const char *text)
{
    for (int32_t i = 0; i < v->n; i++)
        if (strcmp(v->texts[i], text) == 0) return i;
    cr_assert_fail("no token '%s'", text);
    return -1;
}

Test(tokenizer, bpe_merges_by_rank)
{
    /* "b c" outranks "a b": "abc" must become a|bc, not ab|c */
    static const char *const merges[] = { "b c", "a b", "h e", "l l", "he ll", "hell o",
                                          "\xc4\xa0 w" /* Ġ w */ };
    struct tiny_bpe v;
    struct tokenizer *t = tiny_bpe_build(&v, merges, 7, TOKENIZER_PRE_GPT2);
    int32_t ids[32], n;
    char b1[16];

    n = encode(t, "abc", false, ids, 32);
    expect_ids(ids, n, (int32_t[]){ id_of(&v, "a"), id_of(&v, "bc") }, 2, "abc");
    n = encode(t, "hello world", false, ids, 32);
    expect_ids(ids, n, (int32_t[]){ id_of(&v, "hello"), id_of(&v, bl(" w", b1)),
                                    id_of(&v, "o"), id_of(&v, "r"), id_of(&v, "l"),
                                    id_of(&v, "d") }, 6, "hello world");
    tokenizer_free(t);
}

Test(tokenizer, bpe_equal_ranks_merge_leftmost_first)
{
    static const char *const merges[] = { "a a" };
    struct tiny_bpe v;
    struct tokenizer *t = tiny_bpe_build(&v, merges, 1, TOKENIZER_PRE_GPT2);
    int32_t ids[8];
    int n = encode(t, "aaa", false, ids, 8);
    expect_ids(ids, n, (int32_t[]){ id_of(&v, "aa"), id_of(&v, "a") }, 2, "aaa");
    n = encode(t, "aaaa", false, ids, 8);
    expect_ids(ids, n, (int32_t[]){ id_of(&v, "aa"), id_of(&v, "aa") }, 2, "aaaa");
    tokenizer_free(t);
}

Test(tokenizer, bpe_bytes_and_round_trip)
{
    static const char *const merges[] = { "h i" };
    struct tiny_bpe v;
    struct tokenizer *t = tiny_bpe_build(&v, merges, 1, TOKENIZER_PRE_SMOLLM);
    const char *s = "hi \xe6\x97\xa5\n\t 42 \xf0\x9f\x9a\x80!";   /* 日 and 🚀 */
    int32_t ids[64];
    char out[128];
    int n = encode(t, s, false, ids, 64);
    cr_assert_eq(ids[0], id_of(&v, "hi"));
    cr_assert_eq(ids[1], (int32_t)' ', "a lone space is the byte token for 0x20");
    cr_assert_eq(n, 1 + (int)strlen(s) - 2, "every other byte is its own token");
    decode_all(t, ids, n, out, sizeof out);
    cr_assert_str_eq(out, s);
    tokenizer_free(t);
}

Test(tokenizer, invalid_utf8_becomes_replacement_char)
{
    struct tiny_bpe v;
    struct tokenizer *t = tiny_bpe_build(&v, NULL, 0, TOKENIZER_PRE_GPT2);
    int32_t ids[8];
    char out[16];
    int n = encode(t, "\xff", false, ids, 8);
    cr_assert_eq(n, 3);
    decode_all(t, ids, n, out, sizeof out);
    cr_assert_str_eq(out, "\xef\xbf\xbd");
    tokenizer_free(t);
}

Test(tokenizer, special_tokens)
{
    struct tiny_bpe v;
    struct tokenizer *t = tiny_bpe_build(&v, NULL, 0, TOKENIZER_PRE_GPT2);
    int32_t ids[32], end = id_of(&v, "<|end|>"), u = id_of(&v, "<u>");
    char out[64];
    int n = encode(t, "a<|end|>b", true, ids, 32);
    expect_ids(ids, n, (int32_t[]){ 'a', end, 'b' }, 3, "parse_special");
    n = encode(t, "a<|end|>b", false, ids, 32);
    cr_assert_eq(n, 9, "without parse_special the control text is plain bytes");
    n = encode(t, "x<u>", false, ids, 32);
    expect_ids(ids, n, (int32_t[]){ 'x', u }, 2, "user-defined tokens always match");
    n = encode(t, "<|end|><|end|>", true, ids, 32);
    expect_ids(ids, n, (int32_t[]){ end, end }, 2, "adjacent specials");
    cr_assert(tokenizer_is_eog(t, end), "<|end|> is an end-of-turn text");
    cr_assert(tokenizer_is_control(t, end));
    cr_assert_eq(tokenizer_eot(t), end);
    cr_assert_not(tokenizer_is_eog(t, 'a'));
    cr_assert_not(tokenizer_is_eog(t, -1));
    cr_assert_not(tokenizer_is_eog(t, v.n));
    n = encode(t, "a<|end|>", true, ids, 32);
    decode_all(t, ids, n, out, sizeof out);
    cr_assert_str_eq(out, "a<|end|>");
    tokenizer_free(t);
}

Test(tokenizer, count_beyond_cap_and_bos)
{
    struct tiny_bpe v;
    struct tokenizer *t = tiny_bpe_build(&v, NULL, 0, TOKENIZER_PRE_GPT2);
    int32_t ids[4] = { -7, -7, -7, -7 };
    cr_assert_eq(tokenizer_encode(t, "abcdef", 6, false, false, ids, 2), 6);
    cr_assert_eq(ids[0], 'a');
    cr_assert_eq(ids[1], 'b');
    cr_assert_eq(ids[2], -7, "nothing written past cap");
    cr_assert_eq(tokenizer_encode(t, "abc", 3, false, false, NULL, 0), 3);
    cr_assert_eq(tokenizer_encode(t, "", 0, false, false, ids, 4), 0);
    cr_assert_eq(tokenizer_encode(t, "ab", 2, true, false, ids, 4), 2, "no BOS in this vocab");
    char c;
    cr_assert_eq(tokenizer_decode_token(t, -1, &c, 1), -1);
    cr_assert_eq(tokenizer_decode_token(t, v.n, &c, 1), -1);
    tokenizer_free(t);
}

Test(tokenizer, llama3_ignore_merges_takes_whole_words)
{
    /* "abc" is a token but no merge chain reaches it: llama3 still emits it */
    static const char *const merges[] = { "a b" };
    static struct tiny_bpe v;
    struct tokenizer *t;
    int32_t ids[8];
    char buf[16], err[256];
    for (int b = 0; b < 256; b++) {
        int k = utf8_encode(gpt2_cp((unsigned char)b), buf);
        buf[k] = '\0';
        tiny_add(&v, buf, TOKEN_TYPE_NORMAL);
    }
    int32_t ab = tiny_add(&v, "ab", TOKEN_TYPE_NORMAL);
    int32_t abc = tiny_add(&v, "abc", TOKEN_TYPE_NORMAL);
    for (int pass = 0; pass < 2; pass++) {
        struct tokenizer_spec s = {
            .kind = TOKENIZER_BPE, .pre = pass ? TOKENIZER_PRE_LLAMA3 : TOKENIZER_PRE_GPT2,
            .n_tokens = v.n, .tokens = (const char *const *)v.texts, .n_merges = 1,
            .merges = merges, .bos_id = -1, .eos_id = -1, .eot_id = -1, .eom_id = -1,
            .unk_id = -1,
        };
        t = tokenizer_from_arrays(&s, err, sizeof err);
        cr_assert_not_null(t, "%s", err);
        int n = encode(t, "abc", false, ids, 8);
        if (pass) expect_ids(ids, n, (int32_t[]){ abc }, 1, "llama3");
        else expect_ids(ids, n, (int32_t[]){ ab, 'c' }, 2, "gpt2");
        tokenizer_free(t);
    }
}

/* ---- a tiny SentencePiece vocabulary ------------------------------------ */

static struct tokenizer *tiny_spm(int32_t *ids_out /* [4]: ▁h ▁hi i h */)
{
    static char texts[300][16];
    static const char *ptrs[300];
    static int32_t types[300];
    static float scores[300];
    int32_t n = 0;
    char err[256] = "";
    strcpy(texts[n], "<unk>"); types[n++] = TOKEN_TYPE_UNKNOWN;
    strcpy(texts[n], "<s>"); types[n++] = TOKEN_TYPE_CONTROL;
    strcpy(texts[n], "</s>"); types[n++] = TOKEN_TYPE_CONTROL;
    for (int b = 0; b < 256; b++) {
        snprintf(texts[n], 16, "<0x%02X>", b);
        types[n++] = TOKEN_TYPE_BYTE;
    }
    const char *words[] = { "\xe2\x96\x81", "h", "i", "\xe2\x96\x81h", "\xe2\x96\x81hi", "hi" };
    const float wscore[] = { -1, -2, -2, -3, -1, -5 };
    for (int i = 0; i < 6; i++) {
        strcpy(texts[n], words[i]);
        scores[n] = wscore[i];
        types[n++] = TOKEN_TYPE_NORMAL;
    }
    for (int i = 0; i < n; i++) ptrs[i] = texts[i];
    struct tokenizer_spec s = {
        .kind = TOKENIZER_SPM, .n_tokens = n, .tokens = ptrs, .types = types, .scores = scores,
        .bos_id = 1, .eos_id = 2, .eot_id = -1, .eom_id = -1, .unk_id = 0,
        .add_bos = true, .add_space_prefix = true,
        .chat_template = "{% if x %}[INST] {{ m }} [/INST]{% endif %}",
    };
    struct tokenizer *t = tokenizer_from_arrays(&s, err, sizeof err);
    cr_assert_not_null(t, "%s", err);
    ids_out[0] = 259 + 3;   /* ▁h */
    ids_out[1] = 259 + 4;   /* ▁hi */
    ids_out[2] = 259 + 2;   /* i */
    ids_out[3] = 259 + 0;   /* ▁ */
    return t;
}

Test(tokenizer, spm_merges_by_score_with_byte_fallback)
{
    int32_t w[4], ids[32];
    struct tokenizer *t = tiny_spm(w);
    char out[64];
    /* " hi hi" → ▁hi ▁hi (space prefix added) */
    int n = tokenizer_encode(t, "hi hi", 5, true, false, ids, 32);
    expect_ids(ids, n, (int32_t[]){ 1, w[1], w[1] }, 3, "hi hi");
    cr_assert(tokenizer_add_bos(t));
    /* é is not in the vocabulary: <0xC3><0xA9> */
    n = tokenizer_encode(t, "\xc3\xa9i", 3, false, false, ids, 32);
    expect_ids(ids, n, (int32_t[]){ w[3], 3 + 0xC3, 3 + 0xA9, w[2] }, 4, "byte fallback");
    decode_all(t, ids, n, out, sizeof out);
    cr_assert_str_eq(out, " \xc3\xa9i");
    /* specials: the text after one gets a space prefix again, as in llama.cpp */
    n = tokenizer_encode(t, "hi</s>hi", 8, false, true, ids, 32);
    expect_ids(ids, n, (int32_t[]){ w[1], 2, w[1] }, 3, "special");
    cr_assert(tokenizer_is_eog(t, 2));
    char chat[64];
    cr_assert_eq(tokenizer_apply_chat(t, "hey", chat, sizeof chat), 18);
    cr_assert_str_eq(chat, "[INST] hey [/INST]");
    tokenizer_free(t);
}

/* ---- chat templates ------------------------------------------------------ */

static struct tokenizer *with_template(const char *tmpl)
{
    static const char *toks[] = { "a", "<|im_start|>", "<|im_end|>" };
    char err[256];
    struct tokenizer_spec s = {
        .kind = TOKENIZER_BPE, .pre = TOKENIZER_PRE_GPT2, .n_tokens = 3, .tokens = toks,
        .bos_id = -1, .eos_id = 2, .eot_id = -1, .eom_id = -1, .unk_id = -1,
        .chat_template = tmpl,
    };
    struct tokenizer *t = tokenizer_from_arrays(&s, err, sizeof err);
    cr_assert_not_null(t, "%s", err);
    return t;
}

Test(tokenizer, chat_templates)
{
    char out[512];
    struct tokenizer *t = with_template(
        "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
        "{{ '<|im_start|>system\nYou are Bob<|im_end|>\n' }}{% endif %}"
        "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
        "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}");
    const char *want = "<|im_start|>system\nYou are Bob<|im_end|>\n<|im_start|>user\nHi<|im_end|>"
                       "\n<|im_start|>assistant\n";
    cr_assert_eq(tokenizer_apply_chat(t, "Hi", out, sizeof out), (int)strlen(want));
    cr_assert_str_eq(out, want);
    cr_assert_eq(tokenizer_apply_chat(t, "Hi", out, 8), (int)strlen(want), "snprintf-style");
    cr_assert_eq(strlen(out), 7u);
    tokenizer_free(t);

    t = with_template("{% for m in messages %}{{'<|im_start|>' + m['role'] + '\n' + m['content']"
                      " + '<|im_end|>\n'}}{% endfor %}");
    tokenizer_apply_chat(t, "Yo", out, sizeof out);
    cr_assert_str_eq(out, "<|im_start|>user\nYo<|im_end|>\n<|im_start|>assistant\n");
    tokenizer_free(t);

    t = with_template("{{ '<|start_header_id|>' + role + '<|end_header_id|>' }}");
    tokenizer_apply_chat(t, "Q", out, sizeof out);
    cr_assert_str_eq(out, "<|start_header_id|>user<|end_header_id|>\n\nQ<|eot_id|>"
                          "<|start_header_id|>assistant<|end_header_id|>\n\n");
    tokenizer_free(t);

    t = with_template("{{ something unknown }}");
    cr_assert_eq(tokenizer_apply_chat(t, "Q", out, sizeof out), -1);
    tokenizer_free(t);
    t = with_template(NULL);
    cr_assert_eq(tokenizer_apply_chat(t, "Q", out, sizeof out), -1);
    tokenizer_free(t);
}

/* ---- validation ---------------------------------------------------------- */

static void expect_spec_error(const struct tokenizer_spec *s, const char *want)
{
    char err[256] = "";
    struct tokenizer *t = tokenizer_from_arrays(s, err, sizeof err);
    cr_assert_null(t, "accepted a bad spec (want '%s')", want);
    cr_assert_not_null(strstr(err, want), "error '%s' lacks '%s'", err, want);
    cr_assert_null(strchr(err, '\n'), "error is not one line: %s", err);
}

Test(tokenizer, spec_validation)
{
    static const char *toks[] = { "a", "b", "ab" };
    static const char *bad_merges[] = { "ab" };
    static const char *good_merges[] = { "a b" };
    int32_t types[] = { 1, 1, 9 };
    struct tokenizer_spec base = {
        .kind = TOKENIZER_BPE, .pre = TOKENIZER_PRE_GPT2, .n_tokens = 3, .tokens = toks,
        .n_merges = 1, .merges = good_merges,
        .bos_id = -1, .eos_id = -1, .eot_id = -1, .eom_id = -1, .unk_id = -1,
    };
    struct tokenizer_spec s = base;
    s.eos_id = 3;
    expect_spec_error(&s, "tokenizer.ggml.eos_token_id: 3 is not a token id");
    s = base;
    s.types = types;
    expect_spec_error(&s, "tokenizer.ggml.token_type: entry 2 is 9");
    s = base;
    s.merges = bad_merges;
    expect_spec_error(&s, "tokenizer.ggml.merges: entry 0");
    s = base;
    s.n_tokens = 0;
    expect_spec_error(&s, "tokenizer.ggml.tokens: expected a non-empty array");
    s = base;
    s.kind = TOKENIZER_SPM;     /* no byte tokens and no <unk> */
    expect_spec_error(&s, "no byte token <0x00>");
}

/* A GGUF file with tokenizer metadata built by hand; `skip` leaves one key out
 * and `bad` replaces it with a wrong value. */
static struct tokenizer *gguf_tok(const char *skip, const char *bad, char *err, size_t errlen)
{
    static const char *toks[] = { "a", "b", "ab", "<|im_end|>" };
    static const char *merges[] = { "a b" };
    const int32_t types[] = { 1, 1, 1, 3 };
    struct gguf_writer w;
    struct gguf_file *f = NULL;
    unsigned char *buf;
    size_t len;
    gw_init(&w);
#define KEY(k) (!skip || strcmp(skip, k)) && (!bad || strcmp(bad, k))
    if (KEY("tokenizer.ggml.model")) gw_kv_str(&w, "tokenizer.ggml.model", "gpt2");
    if (bad && !strcmp(bad, "tokenizer.ggml.model")) gw_kv_str(&w, "tokenizer.ggml.model", "wpm");
    if (KEY("tokenizer.ggml.pre")) gw_kv_str(&w, "tokenizer.ggml.pre", "smollm");
    if (bad && !strcmp(bad, "tokenizer.ggml.pre")) gw_kv_str(&w, "tokenizer.ggml.pre", "qwen9");
    if (KEY("tokenizer.ggml.tokens")) gw_kv_arr_str(&w, "tokenizer.ggml.tokens", 4, toks);
    if (bad && !strcmp(bad, "tokenizer.ggml.tokens"))
        gw_kv_arr(&w, "tokenizer.ggml.tokens", GGUF_I32, 4, types);
    if (KEY("tokenizer.ggml.token_type"))
        gw_kv_arr(&w, "tokenizer.ggml.token_type", GGUF_I32, 4, types);
    if (bad && !strcmp(bad, "tokenizer.ggml.token_type"))
        gw_kv_arr(&w, "tokenizer.ggml.token_type", GGUF_I32, 3, types);
    if (KEY("tokenizer.ggml.merges")) gw_kv_arr_str(&w, "tokenizer.ggml.merges", 1, merges);
    if (KEY("tokenizer.ggml.eos_token_id")) gw_kv_u32(&w, "tokenizer.ggml.eos_token_id", 3);
    if (bad && !strcmp(bad, "tokenizer.ggml.eos_token_id"))
        gw_kv_str(&w, "tokenizer.ggml.eos_token_id", "three");
    if (bad && !strcmp(bad, "tokenizer.ggml.bos_token_id"))
        gw_kv_u32(&w, "tokenizer.ggml.bos_token_id", 77);
    if (bad && !strcmp(bad, "tokenizer.ggml.padding_token_id"))
        gw_kv_u32(&w, "tokenizer.ggml.padding_token_id", 4);   /* ids are 0..3 */
#undef KEY
    buf = gw_finish(&w, &len);
    gw_free(&w);
    cr_assert_not_null(buf);
    cr_assert_eq(gguf_open_buffer(buf, len, "t.gguf", &f, err, errlen), 0, "%s", err);
    struct tokenizer *t = tokenizer_from_gguf(f, err, errlen);
    gguf_close(f);
    free(buf);
    return t;
}

static void expect_gguf_error(const char *skip, const char *bad, const char *want)
{
    char err[256] = "";
    struct tokenizer *t = gguf_tok(skip, bad, err, sizeof err);
    cr_assert_null(t, "accepted (want '%s')", want);
    cr_assert_not_null(strstr(err, want), "error '%s' lacks '%s'", err, want);
    cr_assert_null(strchr(err, '\n'), "error is not one line: %s", err);
}

Test(tokenizer, gguf_metadata)
{
    char err[256] = "";
    int32_t ids[8];
    struct tokenizer *t = gguf_tok(NULL, NULL, err, sizeof err);
    cr_assert_not_null(t, "%s", err);
    cr_assert_eq(tokenizer_n_tokens(t), 4);
    cr_assert_eq(tokenizer_eos(t), 3);
    cr_assert_eq(tokenizer_bos(t), -1);
    int n = encode(t, "ab<|im_end|>", true, ids, 8);
    expect_ids(ids, n, (int32_t[]){ 2, 3 }, 2, "gguf vocab");
    tokenizer_free(t);

    expect_gguf_error("tokenizer.ggml.model", NULL, "tokenizer.ggml.model: expected a string");
    expect_gguf_error(NULL, "tokenizer.ggml.model", "tokenizer.ggml.model: unsupported \"wpm\"");
    expect_gguf_error("tokenizer.ggml.pre", NULL, "tokenizer.ggml.pre: expected a string");
    expect_gguf_error(NULL, "tokenizer.ggml.pre", "tokenizer.ggml.pre: unsupported \"qwen9\"");
    expect_gguf_error("tokenizer.ggml.tokens", NULL, "tokenizer.ggml.tokens: expected an array");
    expect_gguf_error(NULL, "tokenizer.ggml.tokens", "tokenizer.ggml.tokens: expected an array");
    expect_gguf_error(NULL, "tokenizer.ggml.token_type",
                      "tokenizer.ggml.token_type: 3 entries (expected 4");
    expect_gguf_error("tokenizer.ggml.merges", NULL, "tokenizer.ggml.merges: expected an array");
    expect_gguf_error(NULL, "tokenizer.ggml.eos_token_id",
                      "tokenizer.ggml.eos_token_id: expected a token id");
    expect_gguf_error(NULL, "tokenizer.ggml.bos_token_id",
                      "tokenizer.ggml.bos_token_id: 77 is not a token id");
    expect_gguf_error(NULL, "tokenizer.ggml.padding_token_id",
                      "tokenizer.ggml.padding_token_id: 4 is not a token id (expected 0..3)");
}

/* ---- the real vocabulary against llama.cpp ------------------------------- */

static void copy_str_array(struct gguf_writer *w, const struct gguf_file *f, const char *key)
{
    uint64_t n;
    enum gguf_vtype et;
    cr_assert(gguf_get_arr(f, key, &et, &n, NULL) && et == GGUF_STRING, "%s", key);
    const char **v = malloc((size_t)n * sizeof *v);
    cr_assert_not_null(v);
    for (uint64_t i = 0; i < n; i++) cr_assert(gguf_get_arr_str(f, key, i, &v[i], NULL));
    gw_kv_arr_str(w, key, n, v);
    free(v);
}

/* The model's tokenizer keys in a new in-memory GGUF, tokenizer.ggml.pre
 * replaced by pre. */
static struct tokenizer *tokenizer_with_pre(const struct gguf_file *f, const char *pre,
                                            char *err, size_t errlen)
{
    struct gguf_writer w;
    struct gguf_file *g = NULL;
    const void *types;
    uint64_t n;
    enum gguf_vtype et;
    uint32_t id;
    size_t len;
    bool add_bos;
    gw_init(&w);
    gw_kv_str(&w, "tokenizer.ggml.model", "gpt2");
    gw_kv_str(&w, "tokenizer.ggml.pre", pre);
    copy_str_array(&w, f, "tokenizer.ggml.tokens");
    copy_str_array(&w, f, "tokenizer.ggml.merges");
    cr_assert(gguf_get_arr(f, "tokenizer.ggml.token_type", &et, &n, &types));
    gw_kv_arr(&w, "tokenizer.ggml.token_type", et, n, types);
    const char *ids[] = { "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                          "tokenizer.ggml.unknown_token_id" };
    for (int i = 0; i < 3; i++) {
        cr_assert(gguf_get_u32(f, ids[i], &id));
        gw_kv_u32(&w, ids[i], id);
    }
    cr_assert(gguf_get_bool(f, "tokenizer.ggml.add_bos_token", &add_bos));
    gw_kv_scalar(&w, "tokenizer.ggml.add_bos_token", GGUF_BOOL, &add_bos);
    unsigned char *buf = gw_finish(&w, &len);
    gw_free(&w);
    cr_assert_not_null(buf);
    cr_assert_eq(gguf_open_buffer(buf, len, "variant.gguf", &g, err, errlen), 0, "%s", err);
    struct tokenizer *t = tokenizer_from_gguf(g, err, errlen);
    gguf_close(g);
    free(buf);
    return t;
}

/* The real file's tokenizer, or with pre != NULL the same vocabulary under
 * another pre-tokenizer. */
static struct tokenizer *real_tokenizer(const char *pre)
{
    struct gguf_file *f = NULL;
    char err[512] = "";
    cr_assert_eq(gguf_open(REAL_MODEL, &f, err, sizeof err), 0, "%s", err);
    struct tokenizer *t = pre ? tokenizer_with_pre(f, pre, err, sizeof err)
                              : tokenizer_from_gguf(f, err, sizeof err);
    gguf_close(f);
    cr_assert_not_null(t, "%s: %s", REAL_MODEL, err);
    return t;
}

static cJSON *load_json(const char *path)
{
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp, "%s: cannot open", path);
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    rewind(fp);
    char *text = malloc((size_t)len + 1);
    cr_assert_not_null(text);
    cr_assert_eq(fread(text, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    text[len] = '\0';
    cJSON *j = cJSON_Parse(text);
    free(text);
    cr_assert_not_null(j, "%s: not valid JSON", path);
    return j;
}

static size_t from_hex(const char *hex, char *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        cr_assert_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (char)v;
    }
    return n;
}

static int json_ids(const cJSON *arr, int32_t *out, int cap)
{
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        cr_assert_lt(n, cap);
        out[n++] = (int32_t)e->valueint;
    }
    return n;
}

#define SKIP_WITHOUT_MODEL()                                                          \
    do {                                                                              \
        if (access(REAL_MODEL, R_OK) != 0) {                                          \
            cr_skip_test("%s absent: run `make model` to compare with llama.cpp",    \
                         REAL_MODEL);                                                 \
            return;                                                                   \
        }                                                                             \
    } while (0)

/* Every case of a golden list: ids equal llama.cpp's, each id's bytes equal
 * llama.cpp's piece, and valid UTF-8 decodes back to itself. Returns the count. */
static int check_cases(const struct tokenizer *t, const cJSON *cases, const char *variant)
{
    static char text[8192], back[8192];
    static int32_t want[4096], got[4096];
    const cJSON *c;
    int n_cases = 0;
    cJSON_ArrayForEach(c, cases) {
        size_t len = from_hex(cJSON_GetObjectItem(c, "utf8_hex")->valuestring, text);
        char label[160];
        snprintf(label, sizeof label, "[%s] %s", variant,
                 cJSON_GetObjectItem(c, "text")->valuestring);
        int nw = json_ids(cJSON_GetObjectItem(c, "ids"), want, 4096);
        int n = tokenizer_encode(t, text, len, false, true, got, 4096);
        expect_ids(got, n, want, nw, label);

        const cJSON *ph;
        int i = 0;
        cJSON_ArrayForEach(ph, cJSON_GetObjectItem(c, "pieces_hex")) {
            char piece[256], mine[256];
            size_t pl = from_hex(ph->valuestring, piece);
            int k = tokenizer_decode_token(t, got[i], mine, sizeof mine);
            cr_assert_eq((size_t)k, pl, "%s: piece %d of id %d: %d bytes, llama.cpp %zu", label,
                         i, got[i], k, pl);
            cr_assert_eq(memcmp(mine, piece, pl), 0, "%s: piece %d differs", label, i);
            i++;
        }
        if (cJSON_IsTrue(cJSON_GetObjectItem(c, "valid_utf8"))) {
            size_t bl2 = decode_all(t, got, n, back, sizeof back);
            /* SPM decodes the space prefix it added */
            size_t skip = tokenizer_kind(t) == TOKENIZER_SPM && bl2 > len ? 1 : 0;
            cr_assert(bl2 - skip == len && memcmp(back + skip, text, len) == 0,
                      "%s: round trip differs", label);
        }
        n_cases++;
    }
    return n_cases;
}

static const cJSON *find_variant(const cJSON *golden, const char *name)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(golden, "variants"))
        if (strcmp(cJSON_GetObjectItem(v, "name")->valuestring, name) == 0) return v;
    cr_assert_fail("%s: no variant '%s'", TOK_GOLDEN, name);
    return NULL;
}

Test(tokenizer, golden_ids_match_llama_cpp)
{
    SKIP_WITHOUT_MODEL();
    struct tokenizer *t = real_tokenizer(NULL);
    cJSON *j = load_json(TOK_GOLDEN);
    int n = check_cases(t, cJSON_GetObjectItem(j, "cases"), "smollm");
    cr_assert_geq(n, 25, "only %d golden cases", n);
    cJSON_Delete(j);
    tokenizer_free(t);
}

/* The model's vocabulary under the gpt-2 and llama3 pre-tokenizers. */
Test(tokenizer, golden_pre_tokenizer_variants_match_llama_cpp)
{
    SKIP_WITHOUT_MODEL();
    cJSON *j = load_json(TOK_GOLDEN);
    const char *names[] = { "gpt-2", "llama-bpe" };
    for (int i = 0; i < 2; i++) {
        const cJSON *v = find_variant(j, names[i]);
        struct tokenizer *t = real_tokenizer(cJSON_GetObjectItem(v, "pre")->valuestring);
        cr_assert_geq(check_cases(t, cJSON_GetObjectItem(v, "cases"), names[i]), 25);
        tokenizer_free(t);
    }
    cJSON_Delete(j);
}

/* A SentencePiece vocabulary stored in the golden file: needs no model. */
Test(tokenizer, golden_spm_vocab_matches_llama_cpp)
{
    cJSON *j = load_json(TOK_GOLDEN);
    const cJSON *v = find_variant(j, "spm"), *voc = cJSON_GetObjectItem(v, "vocab"), *e;
    int n = cJSON_GetArraySize(cJSON_GetObjectItem(voc, "tokens")), i = 0;
    const char **toks = calloc((size_t)n, sizeof *toks);
    int32_t *types = calloc((size_t)n, sizeof *types);
    float *scores = calloc((size_t)n, sizeof *scores);
    char err[256] = "";
    cr_assert(toks && types && scores);
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(voc, "tokens")) toks[i++] = e->valuestring;
    i = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(voc, "types")) types[i++] = e->valueint;
    i = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(voc, "scores")) scores[i++] = (float)e->valuedouble;
    struct tokenizer_spec s = {
        .kind = TOKENIZER_SPM, .n_tokens = n, .tokens = toks, .types = types, .scores = scores,
        .bos_id = cJSON_GetObjectItem(voc, "bos_id")->valueint,
        .eos_id = cJSON_GetObjectItem(voc, "eos_id")->valueint,
        .unk_id = cJSON_GetObjectItem(voc, "unk_id")->valueint,
        .eot_id = -1, .eom_id = -1, .add_bos = true,
        .add_space_prefix = cJSON_IsTrue(cJSON_GetObjectItem(voc, "add_space_prefix")),
    };
    struct tokenizer *t = tokenizer_from_arrays(&s, err, sizeof err);
    cr_assert_not_null(t, "%s", err);
    cr_assert_geq(check_cases(t, cJSON_GetObjectItem(v, "cases"), "spm"), 25);
    tokenizer_free(t);
    free(toks);
    free(types);
    free(scores);
    cJSON_Delete(j);
}

Test(tokenizer, golden_prompts_and_chat_match_llama_cpp)
{
    SKIP_WITHOUT_MODEL();
    struct tokenizer *t = real_tokenizer(NULL);
    cJSON *j = load_json(MODEL_GOLDEN), *p;
    static int32_t want[4096], got[4096];
    int n_chat = 0;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(j, "prompts")) {
        const char *prompt = cJSON_GetObjectItem(p, "prompt")->valuestring;
        int nw = json_ids(cJSON_GetObjectItem(p, "tokens"), want, 4096);
        int n = tokenizer_encode(t, prompt, strlen(prompt), false, true, got, 4096);
        expect_ids(got, n, want, nw, prompt);
        /* chat prompts were rendered by the script the way apply_chat should */
        const char *user = strstr(prompt, "<|im_start|>user\n");
        if (user) {
            char msg[256], chat[1024];
            user += strlen("<|im_start|>user\n");
            snprintf(msg, sizeof msg, "%.*s", (int)(strstr(user, "<|im_end|>") - user), user);
            tokenizer_apply_chat(t, msg, chat, sizeof chat);
            cr_assert_str_eq(chat, prompt);
            n_chat++;
        }
    }
    cr_assert_geq(n_chat, 1);
    cJSON_Delete(j);
    tokenizer_free(t);
}

Test(tokenizer, real_vocab_special_ids)
{
    SKIP_WITHOUT_MODEL();
    struct tokenizer *t = real_tokenizer(NULL);
    cr_assert_eq(tokenizer_n_tokens(t), 49152);
    cr_assert_eq(tokenizer_kind(t), TOKENIZER_BPE);
    cr_assert_eq(tokenizer_bos(t), 1);
    cr_assert_eq(tokenizer_eos(t), 2);
    cr_assert_eq(tokenizer_eot(t), 2, "<|im_end|> ends a turn");
    cr_assert(tokenizer_is_eog(t, 2));
    cr_assert(tokenizer_is_eog(t, 0), "<|endoftext|> ends generation");
    cr_assert_not(tokenizer_is_eog(t, 1));
    cr_assert_not(tokenizer_add_bos(t), "SmolLM2 sets add_bos_token = false");
    tokenizer_free(t);
}
