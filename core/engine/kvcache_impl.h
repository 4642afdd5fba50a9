/* core/engine/kvcache_impl.h — private to the KV cache: its state, the
 * open-addressing map, and the allocator ops table that kvcache.c dispatches
 * to (kvcache_paged.c, kvcache_contiguous.c). Another allocator (a draft
 * model's pool, a per-device shard) is one more struct kv_alloc_ops; the
 * scheduler and the public API in kvcache.h stay as they are. */
#ifndef INFERTOP_KVCACHE_IMPL_H
#define INFERTOP_KVCACHE_IMPL_H

#include "core/engine/kvcache.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- open-addressing map uint64 → int32 (request ids, prefix hashes) ---- */

struct u64map {
    uint64_t *keys;
    int32_t *vals;
    uint8_t *used;
    uint32_t mask;
};


uint64_t kv_mix64(uint64_t x);            /* splitmix64 finalizer */
int      kv_map_init(struct u64map *m, int max_entries);
void     kv_map_free(struct u64map *m);
int32_t  kv_map_get(const struct u64map *m, uint64_t key);   /* -1 when absent */
void     kv_map_put(struct u64map *m, uint64_t key, int32_t val);
void     kv_map_del(struct u64map *m, uint64_t key);

/* calloc of at least one element; clears *ok on failure. */
void *kv_xcalloc(size_t n, size_t size, bool *ok);

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

struct kv_alloc_ops;

/* A per-device shard of the pool (tensor / pipeline parallelism): its own
 * storage for n_layers layers of kv_dim, addressed by the pool's block tables. */
struct kv_shard {
    struct backend *be;
    char *k, *v;              /* [n_layers][pool_tokens][kv_dim] of cfg.kv_type */
    int n_layers, kv_dim;
    size_t layer_stride;      /* pool_tokens * kv_dim */
    char *stage;              /* host [bs][kv_dim]: staging for copy-on-write */
};

struct kvcache {
    struct kvcache_config cfg;
    const struct kv_alloc_ops *ops;   /* the allocator: paged or contiguous */
    struct backend *be;
    char *k, *v;              /* [n_layers][pool_tokens][kv_dim] of cfg.kv_type */
    size_t layer_stride;      /* pool_tokens * kv_dim (elements) */
    size_t elem;              /* bytes per K/V element */
    int max_blocks;           /* table capacity per request: ceil(max_seq / bs) */

    struct kv_req *reqs;      /* [max_requests] admission slots */
    int32_t *free_slots; int n_free_slots;
    struct u64map req_map;    /* req_id → slot */
    int32_t *table_mem; int32_t *token_mem; uint64_t *hash_mem;

    /* paged (kvcache_paged.c): per block */
    int32_t *refs, *fill;
    uint8_t *registered;
    uint64_t *bhash, *bparent;
    int32_t *btokens;         /* [n_blocks][bs] ids, to verify a hash match */
    int32_t *free_stack; int n_free;
    int32_t *lru_prev, *lru_next; int lru_head, lru_tail, n_cached;
    struct u64map prefix;     /* hash chain → block */
    char *stage;              /* [bs][kv_dim] elements: host staging for copy-on-write */

    /* contiguous (kvcache_contiguous.c): live slots ordered by start_unit */
    int32_t *order; int n_order;

    uint64_t q_tokens, hit_tokens, cows, evictions;

    struct kv_shard shards[KV_MAX_SHARDS];
    int n_shards;
};

/* ---- the allocator ops table ---------------------------------------------
 * Called by kvcache.c with arguments already checked (live request, n >= 0,
 * room verified by can_append before append). */
struct kv_alloc_ops {
    enum kv_alloc_kind kind;
    int  (*table_entries)(const struct kvcache_config *c);   /* per request */
    int  (*init)(struct kvcache *kv);                         /* its state; -1 out of memory */
    void (*destroy)(struct kvcache *kv);
    /* admission policy: the max_len kvcache_admit gets for a request of
     * need_len tokens (0 = max_seq), whether one can be admitted now, and the
     * rows an empty pool must give it */
    int  (*policy_max_len)(const struct kvcache *kv, int need_len);
    int  (*can_admit)(const struct kvcache *kv, const int32_t *tokens, int n_tokens, int n_running, int pending_blocks);
    int64_t (*hold_tokens)(const struct kvcache *kv, int need_len);
    /* request lifecycle; admit returns cached prompt tokens or a negative status */
    int  (*admit)(struct kvcache *kv, struct kv_req *r, int slot, const int32_t *prompt, int n_prompt);
    int  (*prefix_probe)(const struct kvcache *kv, const int32_t *prompt, int n_prompt);
    int  (*blocks_needed)(const struct kvcache *kv, const struct kv_req *r, int n);
    int  (*blocks_available)(const struct kvcache *kv);
    void (*append)(struct kvcache *kv, struct kv_req *r, int n);
    void (*commit)(struct kvcache *kv, struct kv_req *r);
    void (*truncate)(struct kvcache *kv, struct kv_req *r, int n);
    void (*release)(struct kvcache *kv, struct kv_req *r, int slot);
    void (*view)(const struct kvcache *kv, const struct kv_req *r, struct kv_view *out);
    void (*prefix_clear)(struct kvcache *kv);
    /* snapshot: every block's state, then the free-space shape (largest run,
     * external fragmentation for a request of next_req_tokens) */
    void (*snap_blocks)(const struct kvcache *kv, struct kvcache_snapshot *s);
    void (*snap_free)(const struct kvcache *kv, int next_req_tokens, struct kvcache_totals *t);
};

extern const struct kv_alloc_ops KV_PAGED_OPS, KV_CONTIGUOUS_OPS;

#endif
