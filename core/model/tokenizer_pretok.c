/* core/model/tokenizer_pretok.c — the pre-tokenizer: split text into the words
 * byte-level BPE merges within, by hand-written matchers for the regexes
 * llama.cpp uses (no regex engine). Each matcher works on one segment
 * [a, b) of codepoints and treats b as the end of the text, because llama.cpp
 * applies each regex of a multi-regex pre-tokenizer to the previous one's
 * pieces separately.
 *
 * Semantics kept from the regexes (and llama.cpp's hand-written versions):
 *   - alternatives are tried in order at each position, leftmost-first;
 *   - "\s+(?!\S)" leaves the last whitespace of a run to prefix the next word;
 *   - text no alternative matches still becomes a word (nothing is dropped). */
#include "core/model/tokenizer_impl.h"
#include "core/model/unicode.h"

enum cpclass { CP_NONE, CP_LETTER, CP_NUMBER, CP_SPACE, CP_OTHER };

struct seg {
    const uint32_t *cps;
    size_t a, b;             /* the segment */
    size_t *ends;            /* output: word ends */
    size_t n_ends;
    size_t prev;             /* end of the last word emitted */
};

/* Class of cps[pos], CP_NONE outside the segment (the regex sees end of text). */
static enum cpclass class_at(const struct seg *s, size_t pos)
{
    uint32_t c;
    if (pos < s->a || pos >= s->b) return CP_NONE;
    c = s->cps[pos];
    if (unicode_is_letter(c)) return CP_LETTER;
    if (unicode_is_number(c)) return CP_NUMBER;
    if (unicode_is_whitespace(c)) return CP_SPACE;
    return CP_OTHER;
}

static uint32_t cp_at(const struct seg *s, size_t pos)
{
    return pos < s->b ? s->cps[pos] : 0xFFFFFFFFu;
}

static size_t emit(struct seg *s, size_t end)
{
    if (end > s->prev) s->ends[s->n_ends++] = end;
    s->prev = end;
    return end;
}

static uint32_t ascii_lower(uint32_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

/* 's 't 'm 'd 're 've 'll at pos: the end of the match, or 0. */
static size_t match_contraction(const struct seg *s, size_t pos, bool any_case)
{
    uint32_t c1, c2;
    if (cp_at(s, pos) != '\'' || pos + 1 >= s->b) return 0;
    c1 = cp_at(s, pos + 1);
    if (any_case) c1 = ascii_lower(c1);
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return pos + 2;
    if (pos + 2 >= s->b) return 0;
    c2 = cp_at(s, pos + 2);
    if (any_case) c2 = ascii_lower(c2);
    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l'))
        return pos + 3;
    return 0;
}

static size_t run_of(const struct seg *s, size_t pos, enum cpclass k)
{
    while (class_at(s, pos) == k) pos++;
    return pos;
}

/* Whitespace at pos: "\s+(?!\S)" then "\s+"; a lone non-matching codepoint
 * becomes its own word. */
static size_t match_spaces(struct seg *s, size_t pos)
{
    size_t end = run_of(s, pos, CP_SPACE);
    size_t k = end - pos;
    if (k > 1 && end < s->b) return emit(s, end - 1);  /* leave one before \S */
    if (k > 0) return emit(s, end);
    return emit(s, pos + 1);
}

/* GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static void split_gpt2(struct seg *s)
{
    size_t pos = s->a;
    while (pos < s->b) {
        size_t q, c_end = match_contraction(s, pos, false);
        enum cpclass k;
        if (c_end) { pos = emit(s, c_end); continue; }
        q = cp_at(s, pos) == ' ' ? pos + 1 : pos;        /* optional leading space */
        k = class_at(s, q);
        if (k == CP_LETTER || k == CP_NUMBER || k == CP_OTHER) {
            pos = emit(s, run_of(s, q, k));
            continue;
        }
        pos = match_spaces(s, pos);
    }
}

static bool is_cr_lf(uint32_t c) { return c == '\r' || c == '\n'; }

/* \p{N}{1,3}: digits in groups of three from the left. */
static size_t match_digit_groups(struct seg *s, size_t pos)
{
    size_t end = run_of(s, pos, CP_NUMBER);
    while (pos + 3 < end) pos = emit(s, pos + 3);
    return emit(s, end);
}

/* Whitespace for llama3: "\s*[\r\n]+" (up to the last CR/LF of the run)
 * before "\s+(?!\S)" and "\s+". */
static size_t match_spaces_llama3(struct seg *s, size_t pos)
{
    size_t end = run_of(s, pos, CP_SPACE), last_nl = 0;
    for (size_t i = pos; i < end; i++)
        if (is_cr_lf(s->cps[i])) last_nl = i + 1;
    if (last_nl) return emit(s, last_nl);
    return match_spaces(s, pos);
}

/* Llama 3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *          ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
static void split_llama3(struct seg *s)
{
    size_t pos = s->a;
    while (pos < s->b) {
        uint32_t c = s->cps[pos];
        enum cpclass k = class_at(s, pos);
        size_t q, c_end = match_contraction(s, pos, true);
        if (c_end) { pos = emit(s, c_end); continue; }
        if (!is_cr_lf(c) && k != CP_NUMBER &&
            (k == CP_LETTER || class_at(s, pos + 1) == CP_LETTER)) {
            pos = emit(s, run_of(s, pos + 1, CP_LETTER));
            continue;
        }
        if (k == CP_NUMBER) { pos = match_digit_groups(s, pos); continue; }
        q = c == ' ' ? pos + 1 : pos;
        if (class_at(s, q) == CP_OTHER) {
            size_t end = run_of(s, q, CP_OTHER);
            while (end < s->b && is_cr_lf(s->cps[end])) end++;
            pos = emit(s, end);
            continue;
        }
        pos = match_spaces_llama3(s, pos);
    }
}

/* "\p{N}" as a first pass: every number codepoint becomes its own segment,
 * and the GPT-2 regex then runs on each segment separately. */
static void split_smollm(struct seg *s)
{
    size_t a = s->a, b = s->b;
    size_t start = a;
    for (size_t i = a; i <= b; i++) {
        bool at_end = i == b;
        if (!at_end && !unicode_is_number(s->cps[i])) continue;
        if (i > start) { s->a = start; s->b = i; split_gpt2(s); }
        if (!at_end) { s->a = i; s->b = i + 1; emit(s, i + 1); }
        start = i + 1;
    }
    s->a = a;
    s->b = b;
}

size_t pretok_split(enum tokenizer_pre pre, const uint32_t *cps, size_t n, size_t *ends)
{
    struct seg s = { .cps = cps, .a = 0, .b = n, .ends = ends, .n_ends = 0, .prev = 0 };
    switch (pre) {
    case TOKENIZER_PRE_GPT2:   split_gpt2(&s); break;
    case TOKENIZER_PRE_SMOLLM: split_smollm(&s); break;
    case TOKENIZER_PRE_LLAMA3: split_llama3(&s); break;
    }
    return s.n_ends;
}
