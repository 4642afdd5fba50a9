/* core/engine/kvcache_paged.c — the paged allocator (kvcache.h, kv=paged):
 * blocks from a free list, a block table per request, reference counts,
 * the prefix cache (hash chain of full prompt blocks, LRU of released cached
 * blocks) and copy-on-write; admission grows on demand behind a watermark. */
#include "core/engine/kvcache_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HASH_ROOT 0x6b76636163686521ull   /* parent hash of a prompt's first block */

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
    kv_map_del(&kv->prefix, kv->bhash[b]);
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
    uint64_t h = kv_mix64(parent);
    for (int i = 0; i < n; i++) h = kv_mix64(h ^ (uint64_t)(uint32_t)tok[i]);
    return h;
}

/* Cached block holding exactly `tok` after the prefix hashed to `parent`, or -1. */
static int prefix_find(const struct kvcache *kv, uint64_t hash, uint64_t parent, const int32_t *tok)
{
    int b = kv_map_get(&kv->prefix, hash);
    int bs = kv->cfg.block_size;
    if (b < 0 || kv->bparent[b] != parent ||
        memcmp(kv->btokens + (size_t)b * bs, tok, (size_t)bs * sizeof *tok) != 0)
        return -1;
    return b;
}

static void block_register(struct kvcache *kv, int b, uint64_t hash, uint64_t parent, const int32_t *tok)
{
    if (kv_map_get(&kv->prefix, hash) >= 0) return;    /* same prefix computed twice: keep the first */
    int bs = kv->cfg.block_size;
    kv_map_put(&kv->prefix, hash, b);
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
 * the backend (the pool may be device memory): in the pool's storage and in
 * every shard's (kvcache_add_shard). */
static void storage_block_copy(struct backend *be, char *k, char *v, char *stage, int n_layers, int kv_dim,
                               size_t layer_stride, size_t elem, size_t row0s, size_t row0d, int rows)
{
    size_t bytes = (size_t)rows * kv_dim * elem;
    for (int l = 0; l < n_layers; l++) {
        size_t off_s = (l * layer_stride + row0s * kv_dim) * elem;
        size_t off_d = (l * layer_stride + row0d * kv_dim) * elem;
        backend_download(be, stage, k + off_s, bytes);
        backend_upload(be, k + off_d, stage, bytes);
        backend_download(be, stage, v + off_s, bytes);
        backend_upload(be, v + off_d, stage, bytes);
    }
}

static void block_copy(struct kvcache *kv, int src, int dst, int rows)
{
    size_t row0s = (size_t)src * kv->cfg.block_size, row0d = (size_t)dst * kv->cfg.block_size;
    storage_block_copy(kv->be, kv->k, kv->v, kv->stage, kv->cfg.n_layers, kv->cfg.kv_dim, kv->layer_stride,
                       kv->elem, row0s, row0d, rows);
    for (int i = 0; i < kv->n_shards; i++) {
        const struct kv_shard *sh = &kv->shards[i];
        storage_block_copy(sh->be, sh->k, sh->v, sh->stage, sh->n_layers, sh->kv_dim, sh->layer_stride,
                           kv->elem, row0s, row0d, rows);
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


static void paged_prefix_clear(struct kvcache *kv)
{
    if (!kv->cfg.prefix_cache) return;
    while (kv->lru_head >= 0) {
        int b = kv->lru_head;
        lru_remove(kv, b);
        block_unregister(kv, b);
        kv->fill[b] = 0;
        kv->free_stack[kv->n_free++] = b;
    }
}

/* ---- ops ---------------------------------------------------------------- */

static int paged_table_entries(const struct kvcache_config *c)
{
    return (c->max_seq + c->block_size - 1) / c->block_size;
}

static int paged_init(struct kvcache *kv)
{
    const struct kvcache_config *c = &kv->cfg;
    size_t nb = (size_t)c->n_blocks;
    bool ok = true;
    kv->refs = kv_xcalloc(nb, sizeof *kv->refs, &ok);
    kv->fill = kv_xcalloc(nb, sizeof *kv->fill, &ok);
    kv->registered = kv_xcalloc(nb, 1, &ok);
    kv->free_stack = kv_xcalloc(nb, sizeof *kv->free_stack, &ok);
    kv->stage = kv_xcalloc((size_t)c->block_size * (size_t)c->kv_dim, kv->elem, &ok);
    if (c->prefix_cache) {
        kv->bhash = kv_xcalloc(nb, sizeof *kv->bhash, &ok);
        kv->bparent = kv_xcalloc(nb, sizeof *kv->bparent, &ok);
        kv->btokens = kv_xcalloc(nb * (size_t)c->block_size, sizeof *kv->btokens, &ok);
        kv->lru_prev = kv_xcalloc(nb, sizeof *kv->lru_prev, &ok);
        kv->lru_next = kv_xcalloc(nb, sizeof *kv->lru_next, &ok);
        if (ok && kv_map_init(&kv->prefix, c->n_blocks)) ok = false;
    }
    if (!ok) return -1;
    for (size_t i = 0; i < nb; i++) kv->free_stack[i] = (int32_t)(nb - 1 - i);  /* block 0 first */
    kv->n_free = c->n_blocks;
    kv->lru_head = kv->lru_tail = -1;
    return 0;
}

static void paged_destroy(struct kvcache *kv)
{
    free(kv->refs); free(kv->fill); free(kv->registered); free(kv->free_stack); free(kv->stage);
    free(kv->bhash); free(kv->bparent); free(kv->btokens); free(kv->lru_prev); free(kv->lru_next);
    kv_map_free(&kv->prefix);
}

/* Blocks grow on demand up to the request's own limit. */
static int paged_policy_max_len(const struct kvcache *kv, int need_len)
{
    (void)kv;
    return need_len;
}

static int paged_prefix_probe(const struct kvcache *kv, const int32_t *prompt, int n_prompt)
{
    if (!kv->cfg.prefix_cache || n_prompt <= 0 || !prompt) return 0;
    return cached_tokens_for(paged_match(kv, prompt, n_prompt, NULL), kv->cfg.block_size, n_prompt);
}

static int paged_blocks_available(const struct kvcache *kv) { return kv->n_free + kv->n_cached; }

/* Admission watermark: blocks for the request's uncached context and for
 * the running requests' context not yet appended, plus one block of
 * headroom per running request (each may need its next block at any decode
 * step). Admitting beyond that only buys preemptions: the request would be
 * evicted and recomputed a few steps later. */
static int paged_can_admit(const struct kvcache *kv, const int32_t *tokens, int n_tokens, int n_running,
                           int pending_blocks)
{
    if (n_running == 0) return KVC_OK;
    int bs = kv->cfg.block_size;
    int uncached = n_tokens - paged_prefix_probe(kv, tokens, n_tokens);
    int need = (uncached + bs - 1) / bs;
    return paged_blocks_available(kv) >= need + pending_blocks + n_running + 1 ? KVC_OK : KVC_NOSPACE;
}

static int64_t paged_hold_tokens(const struct kvcache *kv, int need_len)
{
    int bs = kv->cfg.block_size;
    return (int64_t)((need_len + bs - 1) / bs) * bs;
}

static int paged_admit_ops(struct kvcache *kv, struct kv_req *r, int slot, const int32_t *prompt, int n_prompt)
{
    (void)slot;
    return paged_admit(kv, r, prompt, n_prompt);
}

static void paged_release(struct kvcache *kv, struct kv_req *r, int slot)
{
    (void)slot;
    paged_release_from(kv, r, 0);
}

static void paged_view(const struct kvcache *kv, const struct kv_req *r, struct kv_view *out)
{
    out->k = kv->k;
    out->v = kv->v;
    out->n_blocks = r->n_blocks;
    out->block_size = kv->cfg.block_size;
}

static void paged_snap_blocks(const struct kvcache *kv, struct kvcache_snapshot *s)
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


/* Any free block serves any request: no external fragmentation. */
static void paged_snap_free(const struct kvcache *kv, int next_req_tokens, struct kvcache_totals *t)
{
    (void)kv; (void)next_req_tokens;
    t->largest_free_run = t->free_tokens;
    t->external_frag_tokens = 0;
}

const struct kv_alloc_ops KV_PAGED_OPS = {
    .kind = KV_PAGED,
    .table_entries = paged_table_entries,
    .init = paged_init,
    .destroy = paged_destroy,
    .policy_max_len = paged_policy_max_len,
    .can_admit = paged_can_admit,
    .hold_tokens = paged_hold_tokens,
    .admit = paged_admit_ops,
    .prefix_probe = paged_prefix_probe,
    .blocks_needed = paged_blocks_needed,
    .blocks_available = paged_blocks_available,
    .append = paged_append,
    .commit = paged_commit,
    .truncate = paged_truncate,
    .release = paged_release,
    .view = paged_view,
    .prefix_clear = paged_prefix_clear,
    .snap_blocks = paged_snap_blocks,
    .snap_free = paged_snap_free,
};
