/* core/model/tokenizer_bpe.c — the merge loops of both vocabulary kinds.
 *
 * A word starts as one symbol per UTF-8 character, kept in a doubly linked
 * list over an array. Candidate merges of adjacent symbols sit in a binary
 * heap ordered by priority (BPE: merge rank, lower first; SPM: token score,
 * higher first) and then by position (leftmost first). A popped candidate
 * whose symbols changed since it was pushed is stale and skipped: symbols
 * only grow (a merge extends the left one), so "both alive and their lengths
 * still add up to the candidate's" is exactly "unchanged". */
#include <stdlib.h>
#include <string.h>

#include "core/model/tokenizer_impl.h"
#include "core/model/unicode.h"

struct sym {
    size_t off;              /* into the word */
    size_t len;              /* 0 once merged into its left neighbour */
    int32_t prev, next;      /* -1 at the ends */
};

struct cand {
    double prio;             /* lower pops first */
    int32_t left, right;
    size_t len;              /* left.len + right.len when pushed */
};

struct merger {
    const struct tokenizer *t;
    const char *word;
    struct sym *syms;
    struct cand *heap;
    size_t n_heap, heap_cap;
    char *key;               /* scratch for BPE pair keys: 4 + word length */
    bool spm;
};

static bool cand_before(const struct cand *x, const struct cand *y)
{
    if (x->prio != y->prio) return x->prio < y->prio;
    return x->left < y->left;
}

static void heap_push(struct merger *m, struct cand c)
{
    size_t i = m->n_heap++;
    m->heap[i] = c;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!cand_before(&m->heap[i], &m->heap[p])) break;
        struct cand tmp = m->heap[p];
        m->heap[p] = m->heap[i];
        m->heap[i] = tmp;
        i = p;
    }
}

static struct cand heap_pop(struct merger *m)
{
    struct cand top = m->heap[0];
    size_t i = 0, n = --m->n_heap;
    m->heap[0] = m->heap[n];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, best = i;
        if (l < n && cand_before(&m->heap[l], &m->heap[best])) best = l;
        if (r < n && cand_before(&m->heap[r], &m->heap[best])) best = r;
        if (best == i) break;
        struct cand tmp = m->heap[best];
        m->heap[best] = m->heap[i];
        m->heap[i] = tmp;
        i = best;
    }
    return top;
}

size_t bpe_pair_key(const char *l, size_t ll, const char *r, size_t rl, char *key)
{
    uint32_t n = (uint32_t)ll;
    memcpy(key, &n, 4);
    memcpy(key + 4, l, ll);
    memcpy(key + 4 + ll, r, rl);
    return 4 + ll + rl;
}

/* Push the merge of symbols left and right if the vocabulary has one. */
static void try_pair(struct merger *m, int32_t left, int32_t right)
{
    const struct sym *a, *b;
    struct cand c;
    if (left < 0 || right < 0) return;
    a = &m->syms[left];
    b = &m->syms[right];
    c.left = left;
    c.right = right;
    c.len = a->len + b->len;
    if (m->spm) {
        /* SPM: the concatenation must itself be a token; its score ranks it */
        int32_t id = strmap_get(&m->t->tokens, m->word + a->off, c.len);
        if (id < 0) return;
        c.prio = -(double)m->t->scores[id];
    } else {
        size_t kl = bpe_pair_key(m->word + a->off, a->len, m->word + b->off, b->len, m->key);
        int32_t rank = strmap_get(&m->t->merges, m->key, kl);
        if (rank < 0) return;
        c.prio = rank;
    }
    heap_push(m, c);
}

static void merge_all(struct merger *m)
{
    while (m->n_heap > 0) {
        struct cand c = heap_pop(m);
        struct sym *a = &m->syms[c.left], *b = &m->syms[c.right];
        if (a->len == 0 || b->len == 0 || a->len + b->len != c.len) continue;  /* stale */
        a->len += b->len;
        b->len = 0;
        a->next = b->next;
        if (b->next >= 0) m->syms[b->next].prev = c.left;
        try_pair(m, a->prev, c.left);
        try_pair(m, c.left, a->next);
    }
}

/* Split the word into UTF-8 characters (a malformed byte stands alone) and
 * seed the heap with every adjacent pair. */
static int32_t seed_symbols(struct merger *m, size_t len)
{
    int32_t n = 0;
    for (size_t off = 0; off < len; n++) {
        size_t cl = (size_t)utf8_seq_len((unsigned char)m->word[off]);
        if (cl > len - off) cl = len - off;
        m->syms[n] = (struct sym){ .off = off, .len = cl, .prev = n - 1, .next = -1 };
        if (n > 0) m->syms[n - 1].next = n;
        off += cl;
    }
    for (int32_t i = 1; i < n; i++) try_pair(m, i - 1, i);
    return n;
}

/* Run the merges over word[0..len) and hand each final symbol to emit_sym. */
static int merge_word(const struct tokenizer *t, const char *word, size_t len, bool spm,
                      void (*emit_sym)(const struct tokenizer *, const char *, size_t,
                                       struct idbuf *),
                      struct idbuf *out)
{
    struct merger m = { .t = t, .word = word, .spm = spm };
    int rc = -1;
    m.heap_cap = 3 * len + 1;   /* n-1 seeds + at most 2 per merge (n-1 merges) */
    m.syms = malloc((len + 1) * sizeof *m.syms);
    m.heap = malloc(m.heap_cap * sizeof *m.heap);
    m.key = spm ? NULL : malloc(len + 4);
    if (m.syms && m.heap && (spm || m.key)) {
        int32_t n = seed_symbols(&m, len);
        merge_all(&m);
        for (int32_t i = 0; i < n && i >= 0; i = m.syms[i].next)
            emit_sym(t, word + m.syms[i].off, m.syms[i].len, out);
        rc = 0;
    }
    free(m.syms);
    free(m.heap);
    free(m.key);
    return rc;
}

/* A BPE symbol with no token (a broken vocabulary) falls back to the tokens
 * of its single bytes, where they exist, as llama.cpp does. */
static void emit_bpe_symbol(const struct tokenizer *t, const char *s, size_t len,
                            struct idbuf *out)
{
    int32_t id = strmap_get(&t->tokens, s, len);
    if (id >= 0) { idbuf_push(out, id); return; }
    for (size_t i = 0; i < len; i++) {
        id = strmap_get(&t->tokens, s + i, 1);
        if (id >= 0) idbuf_push(out, id);
    }
}

/* An SPM symbol with no token is a single character outside the vocabulary:
 * spell it in byte tokens (<0xXX>). */
static void emit_spm_symbol(const struct tokenizer *t, const char *s, size_t len,
                            struct idbuf *out)
{
    int32_t id = strmap_get(&t->tokens, s, len);
    if (id >= 0) { idbuf_push(out, id); return; }
    for (size_t i = 0; i < len; i++) idbuf_push(out, t->byte_token[(unsigned char)s[i]]);
}

int bpe_encode_word(const struct tokenizer *t, const char *word, size_t len, struct idbuf *out)
{
    if (t->ignore_merges) {
        int32_t id = strmap_get(&t->tokens, word, len);
        if (id >= 0) { idbuf_push(out, id); return 0; }
    }
    return merge_word(t, word, len, false, emit_bpe_symbol, out);
}

int spm_encode_text(const struct tokenizer *t, const char *text, size_t len, struct idbuf *out)
{
    return merge_word(t, text, len, true, emit_spm_symbol, out);
}
