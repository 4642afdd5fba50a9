/* core/engine/kvcache.c — the KV cache pool and its public API; see kvcache.h.
 *
 * Sections: formulas · id map · create/destroy · request API · admission
 * policy · snapshot. Everything that differs between allocators goes through
 * kv->ops (kvcache_impl.h): kvcache_paged.c, kvcache_contiguous.c. */
#include "core/engine/kvcache_impl.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KV_MAX_BLOCK_SIZE 1024
#define KV_MAX_SEQ (1 << 24)
#define KV_MAX_REQUESTS 65536

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

/* splitmix64 finalizer: a full-avalanche 64-bit mix */
uint64_t kv_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

int kv_map_init(struct u64map *m, int max_entries)
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

void kv_map_free(struct u64map *m)
{
    free(m->keys); free(m->vals); free(m->used);
    memset(m, 0, sizeof *m);
}

/* Index holding `key`, or the empty index where it would go. */
static uint32_t kv_map_slot(const struct u64map *m, uint64_t key)
{
    uint32_t i = (uint32_t)kv_mix64(key) & m->mask;
    while (m->used[i] && m->keys[i] != key) i = (i + 1) & m->mask;
    return i;
}

int32_t kv_map_get(const struct u64map *m, uint64_t key)
{
    uint32_t i = kv_map_slot(m, key);
    return m->used[i] ? m->vals[i] : -1;
}

/* The map is sized for every possible entry, so there is always an empty slot. */
void kv_map_put(struct u64map *m, uint64_t key, int32_t val)
{
    uint32_t i = kv_map_slot(m, key);
    m->used[i] = 1; m->keys[i] = key; m->vals[i] = val;
}

/* Linear-probing delete with backward shift (no tombstones): entries after
 * the hole move back unless their home slot lies cyclically in (hole, j]. */
void kv_map_del(struct u64map *m, uint64_t key)
{
    uint32_t i = kv_map_slot(m, key);
    if (!m->used[i]) return;
    m->used[i] = 0;
    for (uint32_t j = (i + 1) & m->mask; m->used[j]; j = (j + 1) & m->mask) {
        uint32_t home = (uint32_t)kv_mix64(m->keys[j]) & m->mask;
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays) continue;
        m->keys[i] = m->keys[j]; m->vals[i] = m->vals[j]; m->used[i] = 1;
        m->used[j] = 0;
        i = j;
    }
}

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

void *kv_xcalloc(size_t n, size_t size, bool *ok)
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
    kv->reqs = kv_xcalloc(R, sizeof *kv->reqs, &ok);
    kv->free_slots = kv_xcalloc(R, sizeof *kv->free_slots, &ok);
    kv->table_mem = kv_xcalloc(R * (size_t)kv->max_blocks, sizeof *kv->table_mem, &ok);
    if (c->prefix_cache) {
        kv->token_mem = kv_xcalloc(R * (size_t)c->max_seq, sizeof *kv->token_mem, &ok);
        kv->hash_mem = kv_xcalloc(R * (size_t)kv->max_blocks, sizeof *kv->hash_mem, &ok);
    }
    if (!ok || kv_map_init(&kv->req_map, c->max_requests)) return -1;
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

int kvcache_create(struct kvcache **out, const struct kvcache_config *cfg, struct backend *be,
                   char *err, size_t errlen)
{
    *out = NULL;
    struct kvcache_config c = *cfg;
    if (resolve_config(&c, err, errlen)) return -1;
    struct kvcache *kv = calloc(1, sizeof *kv);
    if (!kv) return fail(err, errlen, "kvcache: out of host memory");
    kv->cfg = c;
    kv->ops = c.kind == KV_PAGED ? &KV_PAGED_OPS : &KV_CONTIGUOUS_OPS;
    kv->be = be;
    kv->max_blocks = kv->ops->table_entries(&c);
    kv->layer_stride = (size_t)c.n_blocks * (size_t)c.block_size * (size_t)c.kv_dim;
    kv->elem = (size_t)kvcache_elem_bytes(c.kv_type);
    if (alloc_requests(kv) || kv->ops->init(kv)) {
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

int kvcache_add_shard(struct kvcache *kv, struct backend *be, int n_layers, int kv_dim, char *err,
                      size_t errlen)
{
    if (kv->n_shards == KV_MAX_SHARDS)
        return fail(err, errlen, "kvcache: %d shards; expected at most %d", kv->n_shards + 1, KV_MAX_SHARDS);
    struct kv_shard *sh = &kv->shards[kv->n_shards];
    sh->be = be;
    sh->n_layers = n_layers;
    sh->kv_dim = kv_dim;
    sh->layer_stride = (size_t)kvcache_pool_tokens(kv) * (size_t)kv_dim;
    size_t bytes = sh->layer_stride * (size_t)n_layers * kv->elem;
    sh->k = backend_alloc(be, bytes);
    sh->v = sh->k ? backend_alloc(be, bytes) : NULL;
    sh->stage = malloc((size_t)kv->cfg.block_size * (size_t)kv_dim * kv->elem);
    if (!sh->v || !sh->stage) {
        backend_free(be, sh->k);
        backend_free(be, sh->v);
        free(sh->stage);
        memset(sh, 0, sizeof *sh);
        return fail(err, errlen, "kvcache: device %d could not allocate 2 x %zu bytes of KV shard", be->device,
                    bytes);
    }
    return kv->n_shards++;
}

int kvcache_shard_view(const struct kvcache *kv, int shard, int req_id, struct kv_view *out)
{
    if (shard < 0 || shard >= kv->n_shards) return KVC_EINVAL;
    const struct kv_shard *sh = &kv->shards[shard];
    struct kvcache as_shard = *kv;      /* shares the bookkeeping; only read */
    as_shard.k = sh->k;
    as_shard.v = sh->v;
    as_shard.cfg.kv_dim = sh->kv_dim;
    as_shard.layer_stride = sh->layer_stride;
    return kvcache_view(&as_shard, req_id, out);
}

size_t kvcache_storage_bytes(const struct kvcache *kv, int shard)
{
    if (shard < 0) return 2 * kv->layer_stride * (size_t)kv->cfg.n_layers * kv->elem;
    if (shard >= kv->n_shards) return 0;
    return 2 * kv->shards[shard].layer_stride * (size_t)kv->shards[shard].n_layers * kv->elem;
}

void kvcache_destroy(struct kvcache *kv)
{
    if (!kv) return;
    for (int i = 0; i < kv->n_shards; i++) {
        backend_free(kv->shards[i].be, kv->shards[i].k);
        backend_free(kv->shards[i].be, kv->shards[i].v);
        free(kv->shards[i].stage);
    }
    if (kv->be) { backend_free(kv->be, kv->k); backend_free(kv->be, kv->v); }
    free(kv->reqs); free(kv->free_slots); free(kv->table_mem); free(kv->token_mem);
    free(kv->hash_mem);
    kv_map_free(&kv->req_map);
    kv->ops->destroy(kv);
    free(kv);
}

const struct kvcache_config *kvcache_get_config(const struct kvcache *kv) { return &kv->cfg; }

int64_t kvcache_pool_tokens(const struct kvcache *kv)
{
    return (int64_t)kv->cfg.n_blocks * kv->cfg.block_size;
}

/* ---- request API ------------------------------------------------------- */

static int find_slot(const struct kvcache *kv, int req_id)
{
    return kv_map_get(&kv->req_map, (uint64_t)(uint32_t)req_id);
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
    int cached = kv->ops->admit(kv, r, slot, prompt, n_prompt);
    if (cached < 0) return cached;              /* no room; nothing taken */
    r->live = true;
    kv->n_free_slots--;
    kv_map_put(&kv->req_map, (uint64_t)(uint32_t)req_id, slot);
    return cached;
}

int kvcache_prefix_probe(const struct kvcache *kv, const int32_t *prompt, int n_prompt)
{
    return kv->ops->prefix_probe(kv, prompt, n_prompt);
}

int kvcache_blocks_needed(const struct kvcache *kv, int req_id, int n_tokens)
{
    const struct kv_req *r = find_req(kv, req_id);
    if (!r || n_tokens < 0) return KVC_EINVAL;
    return kv->ops->blocks_needed(kv, r, n_tokens);
}

int kvcache_can_append(const struct kvcache *kv, int req_id, int n_tokens)
{
    const struct kv_req *r = find_req(kv, req_id);
    if (!r || n_tokens < 0) return KVC_EINVAL;
    if ((int64_t)r->len + n_tokens > r->max_len) return KVC_TOOLONG;
    if (kv->ops->blocks_needed(kv, r, n_tokens) > kv->ops->blocks_available(kv)) return KVC_NOSPACE;
    return KVC_OK;
}

int kvcache_append(struct kvcache *kv, int req_id, int n_tokens)
{
    int st = kvcache_can_append(kv, req_id, n_tokens);
    if (st) return st;
    kv->ops->append(kv, find_req(kv, req_id), n_tokens);
    return KVC_OK;
}

int kvcache_commit(struct kvcache *kv, int req_id)
{
    struct kv_req *r = find_req(kv, req_id);
    if (!r) return KVC_EINVAL;
    r->computed = r->len;
    kv->ops->commit(kv, r);
    return KVC_OK;
}

int kvcache_truncate(struct kvcache *kv, int req_id, int n_tokens)
{
    struct kv_req *r = find_req(kv, req_id);
    if (!r || n_tokens < 0 || n_tokens > r->len) return KVC_EINVAL;
    kv->ops->truncate(kv, r, n_tokens);
    r->len = n_tokens;
    if (r->computed > n_tokens) r->computed = n_tokens;
    return KVC_OK;
}

int kvcache_release(struct kvcache *kv, int req_id)
{
    int slot = find_slot(kv, req_id);
    if (slot < 0) return KVC_EINVAL;
    struct kv_req *r = &kv->reqs[slot];
    kv->ops->release(kv, r, slot);
    r->live = false;
    kv_map_del(&kv->req_map, (uint64_t)(uint32_t)req_id);
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
    out->layer_stride = kv->layer_stride;
    out->table = r->table;
    out->kv_dim = kv->cfg.kv_dim;
    out->kv_type = kv->cfg.kv_type;
    kv->ops->view(kv, r, out);
    return KVC_OK;
}

void kvcache_prefix_cache_clear(struct kvcache *kv) { kv->ops->prefix_clear(kv); }

int kvcache_blocks_available(const struct kvcache *kv) { return kv->ops->blocks_available(kv); }

/* ---- admission policy (the allocator's, see kvcache.h) ------------------ */

int kvcache_can_admit(const struct kvcache *kv, const int32_t *tokens, int n_tokens, int need_len, int n_running,
                      int pending_blocks)
{
    int max_len = kv->ops->policy_max_len(kv, need_len);
    if (n_tokens < 0 || need_len < n_tokens) return KVC_EINVAL;
    if ((max_len ? max_len : kv->cfg.max_seq) > kv->cfg.max_seq) return KVC_TOOLONG;
    if (kv->n_free_slots == 0) return KVC_NOSLOT;
    if (n_running < 0 || pending_blocks < 0) return KVC_EINVAL;
    return kv->ops->can_admit(kv, tokens, n_tokens, n_running, pending_blocks);
}

int kvcache_admit_request(struct kvcache *kv, int req_id, const int32_t *tokens, int n_tokens, int need_len)
{
    return kvcache_admit(kv, req_id, tokens, n_tokens, kv->ops->policy_max_len(kv, need_len));
}

int64_t kvcache_hold_tokens(const struct kvcache *kv, int len) { return kv->ops->hold_tokens(kv, len); }

bool kvcache_fits_empty(const struct kvcache *kv, int need_len, char *why, size_t whylen)
{
    const struct kvcache_config *c = &kv->cfg;
    int64_t pool = kvcache_pool_tokens(kv);
    if (kv->ops->hold_tokens(kv, need_len) <= pool) return true;
    const char *blocks = c->n_blocks == 1 ? "block" : "blocks";
    if (why && c->kind == KV_CONTIGUOUS)
        snprintf(why, whylen, "KV pool too small: contiguous KV reserves max_seq = %d tokens per request, the pool "
                 "holds %lld (%d %s of %d); raise kv_mem or kv_blocks, or lower max_seq",
                 c->max_seq, (long long)pool, c->n_blocks, blocks, c->block_size);
    else if (why)
        snprintf(why, whylen, "KV pool too small: a request needs %d tokens, the pool holds %lld (%d %s of %d); "
                 "raise kv_mem or kv_blocks, or shorten the request", need_len, (long long)pool, c->n_blocks,
                 blocks, c->block_size);
    return false;
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
    kv->ops->snap_free(kv, next_req_tokens, t);
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
    kv->ops->snap_blocks(kv, s);
    snap_requests(kv, s);
    snap_totals(kv, next_req_tokens, s);
}
