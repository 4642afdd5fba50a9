/* core/engine/kvcache.c — KV cache pool with paged and contiguous allocators; see kvcache.h.
 *
 * Sections: formulas · id map · create/destroy · paged blocks (free list, LRU
 * of cached blocks, prefix hash chain, copy-on-write) · contiguous arena
 * (first fit) · request API · snapshot. */
#include "core/engine/kvcache.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KV_MAX_BLOCK_SIZE 1024
#define KV_MAX_SEQ (1 << 24)
#define KV_MAX_REQUESTS 65536
#define HASH_ROOT 0x6b76636163686521ull   /* parent hash of a prompt's first block */

/* ---- names, status, formulas ------------------------------------------ */

const char *kv_alloc_name(enum kv_alloc_kind k)
{
    return k == KV_PAGED ? "paged" : k == KV_CONTIGUOUS ? "contiguous" : "?";
}

int kv_alloc_from_name(const char *name)
{
    if (strcmp(name, "paged") == 0) return KV_PAGED;
    if (strcmp(name, "contiguous") == 0) return KV_CONTIGUOUS;
    return -1;
}

const char *kvcache_strerror(int status)
{
    switch (status) {
    case KVC_OK:      return "ok";
    case KVC_NOSPACE: return "no free KV space";
    case KVC_TOOLONG: return "request longer than its maximum length";
    case KVC_NOSLOT:  return "too many requests admitted";
    case KVC_EINVAL:  return "invalid request id or argument";
    default:          return "unknown kvcache status";
    }
}

int kvcache_elem_bytes(enum dtype t)
{
    return t == DT_F32 ? 4 : t == DT_F16 ? 2 : 0;
}

size_t kvcache_bytes_per_token(int n_layers, int kv_dim, int elem_bytes)
{
    return 2u * (size_t)n_layers * (size_t)kv_dim * (size_t)elem_bytes;
}

int64_t kvcache_blocks_for_budget(size_t budget_bytes, int n_layers, int kv_dim, int elem_bytes,
                                  int block_size)
{
    size_t per_block = kvcache_bytes_per_token(n_layers, kv_dim, elem_bytes) * (size_t)block_size;
    return per_block ? (int64_t)(budget_bytes / per_block) : 0;
}

/* ---- open-addressing map uint64 → int32 (request ids, prefix hashes) ---- */

struct u64map {
    uint64_t *keys;
    int32_t *vals;
    uint8_t *used;
    uint32_t mask;
};

/* splitmix64 finalizer: a full-avalanche 64-bit mix */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static int u64map_init(struct u64map *m, int max_entries)
{
    uint64_t cap = 16;
    while (cap < 2u * (uint64_t)max_entries) cap <<= 1;
    if (cap > (1ull << 31)) return -1;
    m->keys = malloc(cap * sizeof *m->keys);
    m->vals = malloc(cap * sizeof *m->vals);
    m->used = calloc(cap, 1);
    m->mask = (uint32_t)(cap - 1);
    return m->keys && m->vals && m->used ? 0 : -1;
}

static void u64map_free(struct u64map *m)
{
    free(m->keys); free(m->vals); free(m->used);
    memset(m, 0, sizeof *m);
}

/* Index holding `key`, or the empty index where it would go. */
static uint32_t u64map_slot(const struct u64map *m, uint64_t key)
{
    uint32_t i = (uint32_t)mix64(key) & m->mask;
    while (m->used[i] && m->keys[i] != key) i = (i + 1) & m->mask;
    return i;
}

static int32_t u64map_get(const struct u64map *m, uint64_t key)
{
    uint32_t i = u64map_slot(m, key);
    return m->used[i] ? m->vals[i] : -1;
}

/* The map is sized for every possible entry, so there is always an empty slot. */
static void u64map_put(struct u64map *m, uint64_t key, int32_t val)
{
    uint32_t i = u64map_slot(m, key);
    m->used[i] = 1; m->keys[i] = key; m->vals[i] = val;
}

/* Linear-probing delete with backward shift (no tombstones): entries after
 * the hole move back unless their home slot lies cyclically in (hole, j]. */
static void u64map_del(struct u64map *m, uint64_t key)
{
    uint32_t i = u64map_slot(m, key);
    if (!m->used[i]) return;
    m->used[i] = 0;
    for (uint32_t j = (i + 1) & m->mask; m->used[j]; j = (j + 1) & m->mask) {
        uint32_t home = (uint32_t)mix64(m->keys[j]) & m->mask;
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays) continue;
        m->keys[i] = m->keys[j]; m->vals[i] = m->vals[j]; m->used[i] = 1;
        m->used[j] = 0;
        i = j;
    }
}

/* ---- state ------------------------------------------------------------- */

struct kv_req {
    int id;
    bool live;
    int len;                  /* tokens appended */
    int computed;             /* tokens the forward pass has written (commit) */
    int max_len;              /* cap on len */
    int cached;               /* prompt tokens found cached at admission */
    int n_blocks;             /* table entries (paged) or arena units (contiguous) */
    int32_t *table;           /* paged: [max_blocks]; contiguous: {0} */
    int start_unit;           /* contiguous: first arena unit */
    /* paged prefix cache: prompt ids and the hash chain of its full blocks */
    int known;                /* leading tokens whose ids are known */
    int n_considered;         /* leading full blocks already registered or skipped */
    int32_t *tokens;          /* [max_seq] */
    uint64_t *hash;           /* [max_blocks] hash[i] covers tokens 0 .. (i+1)*bs-1 */
};

struct kvcache {
    struct kvcache_config cfg;
    struct backend *be;
    char *k, *v;              /* [n_layers][pool_tokens][kv_dim] of cfg.kv_type */
    size_t layer_stride;      /* pool_tokens * kv_dim (elements) */
    size_t elem;              /* bytes per K/V element */
    int max_blocks;           /* table capacity per request: ceil(max_seq / bs) */

    struct kv_req *reqs;      /* [max_requests] admission slots */
    int32_t *free_slots; int n_free_slots;
    struct u64map req_map;    /* req_id → slot */
    int32_t *table_mem; int32_t *token_mem; uint64_t *hash_mem;

    /* paged: per block */
    int32_t *refs, *fill;
    uint8_t *registered;
    uint64_t *bhash, *bparent;
    int32_t *btokens;         /* [n_blocks][bs] ids, to verify a hash match */
    int32_t *free_stack; int n_free;
    int32_t *lru_prev, *lru_next; int lru_head, lru_tail, n_cached;
    struct u64map prefix;     /* hash chain → block */
    char *stage;              /* [bs][kv_dim] elements: host staging for copy-on-write */

    /* contiguous: live slots ordered by start_unit */
    int32_t *order; int n_order;

    uint64_t q_tokens, hit_tokens, cows, evictions;
};

/* ---- create / destroy -------------------------------------------------- */

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen) vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int check_range(const char *field, int64_t v, int64_t lo, int64_t hi, char *err, size_t n)
{
    if (v >= lo && v <= hi) return 0;
    return fail(err, n, "kvcache: %s: expected %lld..%lld, got %lld", field, (long long)lo,
                (long long)hi, (long long)v);
}

/* Validate and fill in n_blocks from the budget; 0 or -1 with a message. */
static int resolve_config(struct kvcache_config *c, char *err, size_t n)
{
    if (c->kind != KV_PAGED && c->kind != KV_CONTIGUOUS)
        return fail(err, n, "kvcache: kind: expected paged or contiguous");
    if (check_range("n_layers", c->n_layers, 1, 4096, err, n) ||
        check_range("kv_dim", c->kv_dim, 1, 1 << 20, err, n) ||
        check_range("block_size", c->block_size, 1, KV_MAX_BLOCK_SIZE, err, n) ||
        check_range("max_seq", c->max_seq, 1, KV_MAX_SEQ, err, n) ||
        check_range("max_requests", c->max_requests, 1, KV_MAX_REQUESTS, err, n) ||
        check_range("n_blocks", c->n_blocks, 0, INT32_MAX, err, n))
        return -1;
    int eb = kvcache_elem_bytes(c->kv_type);
    if (eb == 0) return fail(err, n, "kvcache: kv_type: expected f32 or f16");
    if (c->n_blocks == 0) {
        int64_t nb = kvcache_blocks_for_budget(c->budget_bytes, c->n_layers, c->kv_dim, eb,
                                               c->block_size);
        size_t need = kvcache_bytes_per_token(c->n_layers, c->kv_dim, eb) * (size_t)c->block_size;
        if (nb < 1)
            return fail(err, n, "kvcache: budget_bytes: %zu bytes hold no block (one block of %d "
                        "tokens needs %zu bytes)", c->budget_bytes, c->block_size, need);
        if (nb > INT32_MAX / c->block_size) nb = INT32_MAX / c->block_size;
        c->n_blocks = (int)nb;
    }
    if ((int64_t)c->n_blocks * c->block_size > INT32_MAX)
        return fail(err, n, "kvcache: n_blocks: %d blocks of %d tokens exceed 2^31 tokens",
                    c->n_blocks, c->block_size);
    double bytes = (double)c->n_blocks * c->block_size * (double)kvcache_bytes_per_token(c->n_layers, c->kv_dim, eb);
    if (bytes > (double)(SIZE_MAX / 4))
        return fail(err, n, "kvcache: n_blocks: pool of %.3g bytes is too large", bytes);
    if (c->kind == KV_CONTIGUOUS) c->prefix_cache = false;   /* no sharing without blocks */
    return 0;
}

static void *xcalloc(size_t n, size_t size, bool *ok)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) *ok = false;
    return p;
}

static int alloc_requests(struct kvcache *kv)
{
    const struct kvcache_config *c = &kv->cfg;
    size_t R = (size_t)c->max_requests;
    bool ok = true;
    kv->reqs = xcalloc(R, sizeof *kv->reqs, &ok);
    kv->free_slots = xcalloc(R, sizeof *kv->free_slots, &ok);
    kv->table_mem = xcalloc(R * (size_t)kv->max_blocks, sizeof *kv->table_mem, &ok);
    if (c->prefix_cache) {
        kv->token_mem = xcalloc(R * (size_t)c->max_seq, sizeof *kv->token_mem, &ok);
        kv->hash_mem = xcalloc(R * (size_t)kv->max_blocks, sizeof *kv->hash_mem, &ok);
    }
    if (!ok || u64map_init(&kv->req_map, c->max_requests)) return -1;
    for (size_t i = 0; i < R; i++) {
        struct kv_req *r = &kv->reqs[i];
        r->table = kv->table_mem + i * (size_t)kv->max_blocks;
        if (c->prefix_cache) {
            r->tokens = kv->token_mem + i * (size_t)c->max_seq;
            r->hash = kv->hash_mem + i * (size_t)kv->max_blocks;
        }
        kv->free_slots[i] = (int32_t)(R - 1 - i);      /* pop slot 0 first */
    }
    kv->n_free_slots = (int)R;
    return 0;
}

static int alloc_blocks(struct kvcache *kv)
{
    const struct kvcache_config *c = &kv->cfg;
    size_t nb = (size_t)c->n_blocks;
    bool ok = true;
    if (c->kind == KV_CONTIGUOUS) {
        kv->order = xcalloc((size_t)c->max_requests, sizeof *kv->order, &ok);
        return ok ? 0 : -1;
    }
    kv->refs = xcalloc(nb, sizeof *kv->refs, &ok);
    kv->fill = xcalloc(nb, sizeof *kv->fill, &ok);
    kv->registered = xcalloc(nb, 1, &ok);
    kv->free_stack = xcalloc(nb, sizeof *kv->free_stack, &ok);
    kv->stage = xcalloc((size_t)c->block_size * (size_t)c->kv_dim, kv->elem, &ok);
    if (c->prefix_cache) {
        kv->bhash = xcalloc(nb, sizeof *kv->bhash, &ok);
        kv->bparent = xcalloc(nb, sizeof *kv->bparent, &ok);
        kv->btokens = xcalloc(nb * (size_t)c->block_size, sizeof *kv->btokens, &ok);
        kv->lru_prev = xcalloc(nb, sizeof *kv->lru_prev, &ok);
        kv->lru_next = xcalloc(nb, sizeof *kv->lru_next, &ok);
        if (ok && u64map_init(&kv->prefix, c->n_blocks)) ok = false;
    }
    if (!ok) return -1;
    for (size_t i = 0; i < nb; i++) kv->free_stack[i] = (int32_t)(nb - 1 - i);  /* block 0 first */
    kv->n_free = c->n_blocks;
    kv->lru_head = kv->lru_tail = -1;
    return 0;
}

int kvcache_create(struct kvcache **out, const struct kvcache_config *cfg, struct backend *be,
                   char *err, size_t errlen)
{
    *out = NULL;
    struct kvcache_config c = *cfg;
    if (resolve_config(&c, err, errlen)) return -1;
    struct kvcache *kv = calloc(1, sizeof *kv);
    if (!kv) return fail(err, errlen, "kvcache: out of host memory");
    kv->cfg = c;
    kv->be = be;
    kv->max_blocks = c.kind == KV_PAGED ? (c.max_seq + c.block_size - 1) / c.block_size : 1;
    kv->layer_stride = (size_t)c.n_blocks * (size_t)c.block_size * (size_t)c.kv_dim;
    kv->elem = (size_t)kvcache_elem_bytes(c.kv_type);
    if (alloc_requests(kv) || alloc_blocks(kv)) {
        kvcache_destroy(kv);
        return fail(err, errlen, "kvcache: out of host memory for bookkeeping of %d blocks, %d requests",
                    c.n_blocks, c.max_requests);
    }
    size_t bytes = kv->layer_stride * (size_t)c.n_layers * kv->elem;
    kv->k = backend_alloc(be, bytes);
    kv->v = kv->k ? backend_alloc(be, bytes) : NULL;
    if (!kv->v) {
        kvcache_destroy(kv);
        return fail(err, errlen, "kvcache: backend %s could not allocate 2 x %zu bytes of KV pool",
                    be->ops->name, bytes);
    }
    *out = kv;
    return 0;
}

void kvcache_destroy(struct kvcache *kv)
{
    if (!kv) return;
    if (kv->be) { backend_free(kv->be, kv->k); backend_free(kv->be, kv->v); }
    free(kv->reqs); free(kv->free_slots); free(kv->table_mem); free(kv->token_mem);
    free(kv->hash_mem);
    u64map_free(&kv->req_map);
    free(kv->refs); free(kv->fill); free(kv->registered); free(kv->free_stack); free(kv->stage);
    free(kv->bhash); free(kv->bparent); free(kv->btokens); free(kv->lru_prev); free(kv->lru_next);
    u64map_free(&kv->prefix);
    free(kv->order);
    free(kv);
}

const struct kvcache_config *kvcache_get_config(const struct kvcache *kv) { return &kv->cfg; }

int64_t kvcache_pool_tokens(const struct kvcache *kv)
{
    return (int64_t)kv->cfg.n_blocks * kv->cfg.block_size;
}

/* ---- paged: blocks, LRU of cached blocks, prefix hash chain ------------ */

static void lru_push_tail(struct kvcache *kv, int b)
{
    kv->lru_prev[b] = kv->lru_tail;
    kv->lru_next[b] = -1;
    if (kv->lru_tail >= 0) kv->lru_next[kv->lru_tail] = b; else kv->lru_head = b;
    kv->lru_tail = b;
    kv->n_cached++;
}

static void lru_remove(struct kvcache *kv, int b)
{
    int p = kv->lru_prev[b], n = kv->lru_next[b];
    if (p >= 0) kv->lru_next[p] = n; else kv->lru_head = n;
    if (n >= 0) kv->lru_prev[n] = p; else kv->lru_tail = p;
    kv->n_cached--;
}

static void block_unregister(struct kvcache *kv, int b)
{
    u64map_del(&kv->prefix, kv->bhash[b]);
    kv->registered[b] = 0;
}

/* Take a block for writing (refs 1, empty): the free list first, else evict
 * the least recently released cached block. The caller checked availability. */
static int block_alloc(struct kvcache *kv)
{
    int b;
    if (kv->n_free > 0) {
        b = kv->free_stack[--kv->n_free];
    } else {
        b = kv->lru_head;
        lru_remove(kv, b);
        block_unregister(kv, b);
        kv->evictions++;
    }
    kv->refs[b] = 1;
    kv->fill[b] = 0;
    return b;
}

/* One holder fewer; at zero the block becomes cached (its content is a valid
 * registered prefix) or free. */
static void block_unref(struct kvcache *kv, int b)
{
    if (--kv->refs[b] > 0) return;
    if (kv->registered[b]) {
        lru_push_tail(kv, b);
    } else {
        kv->fill[b] = 0;
        kv->free_stack[kv->n_free++] = b;
    }
}

/* A new holder of a block found in the prefix cache. */
static void block_ref_cached(struct kvcache *kv, int b)
{
    if (kv->refs[b] == 0) lru_remove(kv, b);
    kv->refs[b]++;
}

/* Hash of a full block given its parent's (the chain covers the whole prefix). */
static uint64_t block_hash(uint64_t parent, const int32_t *tok, int n)
{
    uint64_t h = mix64(parent);
    for (int i = 0; i < n; i++) h = mix64(h ^ (uint64_t)(uint32_t)tok[i]);
    return h;
}

/* Cached block holding exactly `tok` after the prefix hashed to `parent`, or -1. */
static int prefix_find(const struct kvcache *kv, uint64_t hash, uint64_t parent, const int32_t *tok)
{
    int b = u64map_get(&kv->prefix, hash);
    int bs = kv->cfg.block_size;
    if (b < 0 || kv->bparent[b] != parent ||
        memcmp(kv->btokens + (size_t)b * bs, tok, (size_t)bs * sizeof *tok) != 0)
        return -1;
    return b;
}

static void block_register(struct kvcache *kv, int b, uint64_t hash, uint64_t parent, const int32_t *tok)
{
    if (u64map_get(&kv->prefix, hash) >= 0) return;    /* same prefix computed twice: keep the first */
    int bs = kv->cfg.block_size;
    u64map_put(&kv->prefix, hash, b);
    kv->registered[b] = 1;
    kv->bhash[b] = hash;
    kv->bparent[b] = parent;
    memcpy(kv->btokens + (size_t)b * bs, tok, (size_t)bs * sizeof *tok);
}

/* Writing into a block that others (requests or the prefix cache) still read
 * needs a private copy first. */
static bool block_needs_copy(const struct kvcache *kv, int b)
{
    return kv->refs[b] > 1 || kv->registered[b];
}

/* Copy rows 0..rows-1 of every layer's K and V from block src to dst through
 * the backend (the pool may be device memory). */
static void block_copy(struct kvcache *kv, int src, int dst, int rows)
{
    size_t row0s = (size_t)src * kv->cfg.block_size, row0d = (size_t)dst * kv->cfg.block_size;
    size_t bytes = (size_t)rows * kv->cfg.kv_dim * kv->elem;
    for (int l = 0; l < kv->cfg.n_layers; l++) {
        size_t off_s = (l * kv->layer_stride + row0s * kv->cfg.kv_dim) * kv->elem;
        size_t off_d = (l * kv->layer_stride + row0d * kv->cfg.kv_dim) * kv->elem;
        backend_download(kv->be, kv->stage, kv->k + off_s, bytes);
        backend_upload(kv->be, kv->k + off_d, kv->stage, bytes);
        backend_download(kv->be, kv->stage, kv->v + off_s, bytes);
        backend_upload(kv->be, kv->v + off_d, kv->stage, bytes);
    }
}

/* Copy-on-write of table entry i, which holds the request's tokens up to len. */
static void paged_cow(struct kvcache *kv, struct kv_req *r, int i)
{
    int old = r->table[i], nb = block_alloc(kv);
    int rows = r->len - i * kv->cfg.block_size;
    block_copy(kv, old, nb, rows);
    kv->fill[nb] = rows;
    r->table[i] = nb;
    block_unref(kv, old);
    kv->cows++;
}

/* Hash chain of the prompt's full blocks into r->hash (tokens already copied). */
static void paged_hash_prompt(const struct kvcache *kv, struct kv_req *r)
{
    int bs = kv->cfg.block_size;
    uint64_t parent = HASH_ROOT;
    for (int i = 0; (i + 1) * bs <= r->known; i++) {
        r->hash[i] = block_hash(parent, r->tokens + (size_t)i * bs, bs);
        parent = r->hash[i];
    }
}

/* Leading full blocks of `prompt` found in the prefix cache; their ids go to
 * `found` when not NULL. */
static int paged_match(const struct kvcache *kv, const int32_t *prompt, int n_prompt, int32_t *found)
{
    int bs = kv->cfg.block_size, n = 0;
    uint64_t parent = HASH_ROOT;
    for (; (n + 1) * bs <= n_prompt; n++) {
        const int32_t *tok = prompt + (size_t)n * bs;
        uint64_t h = block_hash(parent, tok, bs);
        int b = prefix_find(kv, h, parent, tok);
        if (b < 0) break;
        if (found) found[n] = b;
        parent = h;
    }
    return n;
}

/* Cached prompt tokens usable for a prompt: whole blocks, but the last prompt
 * token is always recomputed (its logits start decoding). */
static int cached_tokens_for(int matched_blocks, int bs, int n_prompt)
{
    int t = matched_blocks * bs;
    return t == n_prompt && n_prompt > 0 ? n_prompt - 1 : t;
}

static int paged_admit(struct kvcache *kv, struct kv_req *r, const int32_t *prompt, int n_prompt)
{
    if (!kv->cfg.prefix_cache) return 0;
    int bs = kv->cfg.block_size;
    memcpy(r->tokens, prompt, (size_t)n_prompt * sizeof *prompt);
    r->known = n_prompt;
    paged_hash_prompt(kv, r);
    int matched = paged_match(kv, prompt, n_prompt, r->table);
    for (int i = 0; i < matched; i++) block_ref_cached(kv, r->table[i]);
    r->n_blocks = r->n_considered = matched;
    r->cached = r->len = r->computed = cached_tokens_for(matched, bs, n_prompt);
    kv->q_tokens += (uint64_t)n_prompt;
    kv->hit_tokens += (uint64_t)r->cached;
    return r->cached;
}

static int paged_blocks_needed(const struct kvcache *kv, const struct kv_req *r, int n)
{
    if (n <= 0) return 0;
    int bs = kv->cfg.block_size;
    int need = (r->len + n + bs - 1) / bs - r->n_blocks;
    if (r->len % bs != 0 && block_needs_copy(kv, r->table[r->len / bs])) need++;
    return need;
}

static void paged_append(struct kvcache *kv, struct kv_req *r, int n)
{
    int bs = kv->cfg.block_size, new_len = r->len + n;
    int first = r->len / bs;
    if (r->len % bs != 0 && block_needs_copy(kv, r->table[first])) paged_cow(kv, r, first);
    while (r->n_blocks * bs < new_len) r->table[r->n_blocks++] = block_alloc(kv);
    for (int i = first; i < r->n_blocks; i++) {
        int rows = new_len - i * bs;
        kv->fill[r->table[i]] = rows < bs ? rows : bs;
    }
    r->len = new_len;
}

/* Register the request's full prompt blocks whose K/V are written. */
static void paged_commit(struct kvcache *kv, struct kv_req *r)
{
    if (!kv->cfg.prefix_cache) return;
    int bs = kv->cfg.block_size;
    int written = r->known < r->computed ? r->known : r->computed;
    int n_full = written / bs;
    for (int i = r->n_considered; i < n_full; i++) {
        int b = r->table[i];
        if (kv->registered[b] || kv->refs[b] != 1) continue;
        block_register(kv, b, r->hash[i], i ? r->hash[i - 1] : HASH_ROOT, r->tokens + (size_t)i * bs);
    }
    if (n_full > r->n_considered) r->n_considered = n_full;
}

/* Release table entries from..n_blocks-1, tail first (LRU keeps roots longest). */
static void paged_release_from(struct kvcache *kv, struct kv_req *r, int from)
{
    for (int i = r->n_blocks - 1; i >= from; i--) block_unref(kv, r->table[i]);
    r->n_blocks = from;
}

static void paged_truncate(struct kvcache *kv, struct kv_req *r, int n)
{
    int bs = kv->cfg.block_size, keep = (n + bs - 1) / bs;
    paged_release_from(kv, r, keep);
    if (n % bs != 0) {
        int b = r->table[keep - 1];
        if (!block_needs_copy(kv, b)) kv->fill[b] = n - (keep - 1) * bs;
    }
    if (r->known > n) r->known = n;
    if (r->n_considered > n / bs) r->n_considered = n / bs;
}

void kvcache_prefix_cache_clear(struct kvcache *kv)
{
    if (kv->cfg.kind != KV_PAGED || !kv->cfg.prefix_cache) return;
    while (kv->lru_head >= 0) {
        int b = kv->lru_head;
        lru_remove(kv, b);
        block_unregister(kv, b);
        kv->fill[b] = 0;
        kv->free_stack[kv->n_free++] = b;
    }
}

/* ---- contiguous: first fit over the arena ------------------------------ */

static int contig_units(const struct kvcache *kv, int tokens)
{
    return (tokens + kv->cfg.block_size - 1) / kv->cfg.block_size;
}

/* First hole of `units` units: returns its start and the position in `order`
 * where the reservation goes, or -1. */
static int contig_first_fit(const struct kvcache *kv, int units, int *pos)
{
    int prev_end = 0;
    for (int j = 0; j < kv->n_order; j++) {
        const struct kv_req *o = &kv->reqs[kv->order[j]];
        if (o->start_unit - prev_end >= units) { *pos = j; return prev_end; }
        prev_end = o->start_unit + o->n_blocks;
    }
    if (kv->cfg.n_blocks - prev_end >= units) { *pos = kv->n_order; return prev_end; }
    return -1;
}

static int contig_admit(struct kvcache *kv, struct kv_req *r, int slot)
{
    int units = contig_units(kv, r->max_len), pos;
    int start = contig_first_fit(kv, units, &pos);
    if (start < 0) return KVC_NOSPACE;
    memmove(kv->order + pos + 1, kv->order + pos, (size_t)(kv->n_order - pos) * sizeof *kv->order);
    kv->order[pos] = slot;
    kv->n_order++;
    r->start_unit = start;
    r->n_blocks = units;
    r->table[0] = 0;
    return 0;
}

static void contig_release(struct kvcache *kv, int slot)
{
    int j = 0;
    while (j < kv->n_order && kv->order[j] != slot) j++;
    if (j == kv->n_order) return;
    memmove(kv->order + j, kv->order + j + 1, (size_t)(kv->n_order - j - 1) * sizeof *kv->order);
    kv->n_order--;
}

/* ---- request API ------------------------------------------------------- */

static int find_slot(const struct kvcache *kv, int req_id)
{
    return u64map_get(&kv->req_map, (uint64_t)(uint32_t)req_id);
}

static struct kv_req *find_req(const struct kvcache *kv, int req_id)
{
    int s = find_slot(kv, req_id);
    return s < 0 ? NULL : &kv->reqs[s];
}

static int check_admit_args(const struct kvcache *kv, int req_id, const int32_t *prompt,
                            int n_prompt, int max_len)
{
    if (n_prompt < 0 || (n_prompt > 0 && !prompt) || max_len < 0 || find_slot(kv, req_id) >= 0)
        return KVC_EINVAL;
    int limit = max_len ? max_len : kv->cfg.max_seq;
    if (limit > kv->cfg.max_seq || n_prompt > limit) return KVC_TOOLONG;
    if (kv->n_free_slots == 0) return KVC_NOSLOT;
    return KVC_OK;
}

int kvcache_admit(struct kvcache *kv, int req_id, const int32_t *prompt, int n_prompt, int max_len)
{
    int st = check_admit_args(kv, req_id, prompt, n_prompt, max_len);
    if (st) return st;
    int slot = kv->free_slots[kv->n_free_slots - 1];
    struct kv_req *r = &kv->reqs[slot];
    int32_t *table = r->table, *tokens = r->tokens;
    uint64_t *hash = r->hash;
    memset(r, 0, sizeof *r);
    r->table = table; r->tokens = tokens; r->hash = hash;
    r->id = req_id;
    r->max_len = max_len ? max_len : kv->cfg.max_seq;
    int cached = kv->cfg.kind == KV_PAGED ? paged_admit(kv, r, prompt, n_prompt)
                                          : contig_admit(kv, r, slot);
    if (cached < 0) return cached;              /* contiguous: no hole; nothing taken */
    r->live = true;
    kv->n_free_slots--;
    u64map_put(&kv->req_map, (uint64_t)(uint32_t)req_id, slot);
    return cached;
}

/* ---- admission policy -------------------------------------------------- */

static int policy_max_len(const struct kvcache *kv, int need_len)
{
    return kv->cfg.kind == KV_CONTIGUOUS ? 0 : need_len;   /* 0 = max_seq */
}

int kvcache_can_admit(const struct kvcache *kv, const int32_t *tokens, int n_tokens, int need_len, int n_running)
{
    int max_len = policy_max_len(kv, need_len);
    if (n_tokens < 0 || need_len < n_tokens) return KVC_EINVAL;
    if ((max_len ? max_len : kv->cfg.max_seq) > kv->cfg.max_seq) return KVC_TOOLONG;
    if (kv->n_free_slots == 0) return KVC_NOSLOT;
    if (kv->cfg.kind == KV_CONTIGUOUS) {
        int pos;
        return contig_first_fit(kv, contig_units(kv, kv->cfg.max_seq), &pos) < 0 ? KVC_NOSPACE : KVC_OK;
    }
    if (n_running == 0) return KVC_OK;
    int bs = kv->cfg.block_size;
    int uncached = n_tokens - kvcache_prefix_probe(kv, tokens, n_tokens);
    int need = (uncached + bs - 1) / bs;
    return kvcache_blocks_available(kv) >= need + n_running + 1 ? KVC_OK : KVC_NOSPACE;
}

int kvcache_admit_request(struct kvcache *kv, int req_id, const int32_t *tokens, int n_tokens, int need_len)
{
    return kvcache_admit(kv, req_id, tokens, n_tokens, policy_max_len(kv, need_len));
}

bool kvcache_fits_empty(const struct kvcache *kv, int need_len, char *why, size_t whylen)
{
    const struct kvcache_config *c = &kv->cfg;
    int64_t pool = kvcache_pool_tokens(kv);
    int64_t hold = c->kind == KV_CONTIGUOUS ? (int64_t)contig_units(kv, c->max_seq) * c->block_size
                                            : (int64_t)contig_units(kv, need_len) * c->block_size;
    if (hold <= pool) return true;
    if (why && c->kind == KV_CONTIGUOUS)
        snprintf(why, whylen, "KV pool too small: contiguous KV reserves max_seq = %d tokens per request, the pool "
                 "holds %lld (%d blocks of %d); raise kv_mem or kv_blocks, or lower max_seq",
                 c->max_seq, (long long)pool, c->n_blocks, c->block_size);
    else if (why)
        snprintf(why, whylen, "KV pool too small: a request needs %d tokens, the pool holds %lld (%d blocks of %d); "
                 "raise kv_mem or kv_blocks, or shorten the request", need_len, (long long)pool, c->n_blocks,
                 c->block_size);
    return false;
}

int kvcache_prefix_probe(const struct kvcache *kv, const int32_t *prompt, int n_prompt)
{
    if (kv->cfg.kind != KV_PAGED || !kv->cfg.prefix_cache || n_prompt <= 0 || !prompt) return 0;
    return cached_tokens_for(paged_match(kv, prompt, n_prompt, NULL), kv->cfg.block_size, n_prompt);
}

int kvcache_blocks_needed(const struct kvcache *kv, int req_id, int n_tokens)
{
    const struct kv_req *r = find_req(kv, req_id);
    if (!r || n_tokens < 0) return KVC_EINVAL;
    return kv->cfg.kind == KV_PAGED ? paged_blocks_needed(kv, r, n_tokens) : 0;
}

int kvcache_can_append(const struct kvcache *kv, int req_id, int n_tokens)
{
    const struct kv_req *r = find_req(kv, req_id);
    if (!r || n_tokens < 0) return KVC_EINVAL;
    if ((int64_t)r->len + n_tokens > r->max_len) return KVC_TOOLONG;
    if (kv->cfg.kind == KV_PAGED && paged_blocks_needed(kv, r, n_tokens) > kv->n_free + kv->n_cached)
        return KVC_NOSPACE;
    return KVC_OK;
}

int kvcache_append(struct kvcache *kv, int req_id, int n_tokens)
{
    int st = kvcache_can_append(kv, req_id, n_tokens);
    if (st) return st;
    struct kv_req *r = find_req(kv, req_id);
    if (kv->cfg.kind == KV_PAGED) paged_append(kv, r, n_tokens);
    else r->len += n_tokens;
    return KVC_OK;
}

int kvcache_commit(struct kvcache *kv, int req_id)
{
    struct kv_req *r = find_req(kv, req_id);
    if (!r) return KVC_EINVAL;
    r->computed = r->len;
    if (kv->cfg.kind == KV_PAGED) paged_commit(kv, r);
    return KVC_OK;
}

int kvcache_truncate(struct kvcache *kv, int req_id, int n_tokens)
{
    struct kv_req *r = find_req(kv, req_id);
    if (!r || n_tokens < 0 || n_tokens > r->len) return KVC_EINVAL;
    if (kv->cfg.kind == KV_PAGED) paged_truncate(kv, r, n_tokens);
    r->len = n_tokens;
    if (r->computed > n_tokens) r->computed = n_tokens;
    return KVC_OK;
}

int kvcache_release(struct kvcache *kv, int req_id)
{
    int slot = find_slot(kv, req_id);
    if (slot < 0) return KVC_EINVAL;
    struct kv_req *r = &kv->reqs[slot];
    if (kv->cfg.kind == KV_PAGED) paged_release_from(kv, r, 0);
    else contig_release(kv, slot);
    r->live = false;
    u64map_del(&kv->req_map, (uint64_t)(uint32_t)req_id);
    kv->free_slots[kv->n_free_slots++] = slot;
    return KVC_OK;
}

int kvcache_len(const struct kvcache *kv, int req_id)
{
    const struct kv_req *r = find_req(kv, req_id);
    return r ? r->len : KVC_EINVAL;
}

int kvcache_view(const struct kvcache *kv, int req_id, struct kv_view *out)
{
    const struct kv_req *r = find_req(kv, req_id);
    if (!r) return KVC_EINVAL;
    const struct kvcache_config *c = &kv->cfg;
    out->layer_stride = kv->layer_stride;
    out->table = r->table;
    out->kv_dim = c->kv_dim;
    out->kv_type = c->kv_type;
    if (c->kind == KV_PAGED) {
        out->k = kv->k;
        out->v = kv->v;
        out->n_blocks = r->n_blocks;
        out->block_size = c->block_size;
    } else {
        /* see kvcache.h: base at the reservation, table {0}, one block */
        size_t row0 = (size_t)r->start_unit * c->block_size * c->kv_dim * kv->elem;
        out->k = kv->k + row0;
        out->v = kv->v + row0;
        out->n_blocks = 1;
        out->block_size = r->n_blocks * c->block_size;
    }
    return KVC_OK;
}

/* ---- snapshot ---------------------------------------------------------- */

int kvcache_snapshot_init(struct kvcache_snapshot *s, const struct kvcache *kv)
{
    memset(s, 0, sizeof *s);
    s->blocks = calloc((size_t)kv->cfg.n_blocks, sizeof *s->blocks);
    s->reqs = calloc((size_t)kv->cfg.max_requests, sizeof *s->reqs);
    if (!s->blocks || !s->reqs) { kvcache_snapshot_free(s); return -1; }
    s->blocks_cap = kv->cfg.n_blocks;
    s->reqs_cap = kv->cfg.max_requests;
    return 0;
}

void kvcache_snapshot_free(struct kvcache_snapshot *s)
{
    free(s->blocks); free(s->reqs);
    memset(s, 0, sizeof *s);
}

static void snap_blocks_paged(const struct kvcache *kv, struct kvcache_snapshot *s)
{
    for (int b = 0; b < kv->cfg.n_blocks; b++) {
        struct kv_block_info *bi = &s->blocks[b];
        bool reg = kv->registered && kv->registered[b];
        bi->owner = -1;
        bi->refs = kv->refs[b];
        bi->fill = kv->fill[b];
        bi->in_prefix_cache = reg;
        bi->state = kv->refs[b] > 1 ? KVB_SHARED : kv->refs[b] == 1 ? KVB_OWNED
                                     : reg ? KVB_CACHED : KVB_FREE;
    }
    for (int i = 0; i < kv->cfg.max_requests; i++) {
        const struct kv_req *r = &kv->reqs[i];
        if (!r->live) continue;
        for (int j = 0; j < r->n_blocks; j++)
            if (s->blocks[r->table[j]].owner < 0) s->blocks[r->table[j]].owner = r->id;
    }
}

static void snap_blocks_contig(const struct kvcache *kv, struct kvcache_snapshot *s)
{
    int bs = kv->cfg.block_size;
    for (int u = 0; u < kv->cfg.n_blocks; u++)
        s->blocks[u] = (struct kv_block_info){.owner = -1, .state = KVB_FREE};
    for (int j = 0; j < kv->n_order; j++) {
        const struct kv_req *r = &kv->reqs[kv->order[j]];
        for (int u = 0; u < r->n_blocks; u++) {
            int rows = r->len - u * bs;
            s->blocks[r->start_unit + u] = (struct kv_block_info){
                .owner = r->id, .refs = 1, .state = KVB_OWNED,
                .fill = rows < 0 ? 0 : rows > bs ? bs : rows};
        }
    }
}

static void snap_requests(const struct kvcache *kv, struct kvcache_snapshot *s)
{
    int n = 0, bs = kv->cfg.block_size;
    for (int i = 0; i < kv->cfg.max_requests && n < s->reqs_cap; i++) {
        const struct kv_req *r = &kv->reqs[i];
        if (!r->live) continue;
        s->reqs[n++] = (struct kv_req_info){
            .req_id = r->id, .reserved = r->n_blocks * bs, .used = r->len,
            .blocks = r->n_blocks, .cached = r->cached};
        s->totals.logical_tokens += r->len;
    }
    s->totals.n_requests = n;
}

/* Contiguous holes: the longest one, and the free rows in holes too small for
 * a reservation of `units` units. */
static void snap_holes(const struct kvcache *kv, int units, struct kvcache_totals *t)
{
    int bs = kv->cfg.block_size, prev_end = 0, longest = 0;
    int64_t unusable = 0;
    for (int j = 0; j <= kv->n_order; j++) {
        int start = j < kv->n_order ? kv->reqs[kv->order[j]].start_unit : kv->cfg.n_blocks;
        int hole = start - prev_end;
        if (hole > longest) longest = hole;
        if (hole < units) unusable += hole;
        if (j < kv->n_order) prev_end = start + kv->reqs[kv->order[j]].n_blocks;
    }
    t->largest_free_run = (int64_t)longest * bs;
    t->external_frag_tokens = unusable * bs;
}

static void snap_totals(const struct kvcache *kv, int next_req_tokens, struct kvcache_snapshot *s)
{
    struct kvcache_totals *t = &s->totals;
    int bs = kv->cfg.block_size;
    t->n_blocks = kv->cfg.n_blocks;
    t->pool_tokens = kvcache_pool_tokens(kv);
    for (int b = 0; b < kv->cfg.n_blocks; b++) {
        const struct kv_block_info *bi = &s->blocks[b];
        if (bi->state == KVB_FREE) { t->blocks_free++; continue; }
        if (bi->state == KVB_CACHED) { t->blocks_cached++; continue; }
        t->blocks_used++;
        if (bi->state == KVB_SHARED) t->blocks_shared++;
        t->allocated_tokens += bs;
        t->used_tokens += bi->fill;
        if (bi->fill == 0) t->reserved_empty_tokens += bs;
        else t->internal_frag_tokens += bs - bi->fill;
    }
    t->free_tokens = (int64_t)(t->blocks_free + t->blocks_cached) * bs;
    t->cached_tokens = (int64_t)t->blocks_cached * bs;
    t->utilization = t->pool_tokens ? (double)t->used_tokens / (double)t->pool_tokens : 0;
    t->next_req_tokens = next_req_tokens;
    if (kv->cfg.kind == KV_CONTIGUOUS) {
        int tokens = next_req_tokens > 0 ? next_req_tokens : kv->cfg.max_seq;
        snap_holes(kv, contig_units(kv, tokens), t);
    } else {
        t->largest_free_run = t->free_tokens;
        t->external_frag_tokens = 0;
    }
    t->prefix_query_tokens = kv->q_tokens;
    t->prefix_hit_tokens = kv->hit_tokens;
    t->cow_copies = kv->cows;
    t->evictions = kv->evictions;
}

void kvcache_snapshot(const struct kvcache *kv, int next_req_tokens, struct kvcache_snapshot *s)
{
    memset(&s->totals, 0, sizeof s->totals);
    s->kind = kv->cfg.kind;
    s->block_size = kv->cfg.block_size;
    if (s->blocks_cap < kv->cfg.n_blocks) return;   /* not initialized for this cache */
    if (kv->cfg.kind == KV_PAGED) snap_blocks_paged(kv, s);
    else snap_blocks_contig(kv, s);
    snap_requests(kv, s);
    snap_totals(kv, next_req_tokens, s);
}

int kvcache_blocks_available(const struct kvcache *kv)
{
    return kv->cfg.kind == KV_PAGED ? kv->n_free + kv->n_cached : 0;
}
