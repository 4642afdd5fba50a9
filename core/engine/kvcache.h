/* core/engine/kvcache.h — the KV cache: one pool, two allocators (the seed's PagedAttention point).
 *
 * Pool: K and V for every layer, float32 or float16 (`kv_dtype`), allocated
 * through the backend (host memory on the CPU backend, device memory on CUDA):
 *     k, v: [n_layers][pool_tokens][kv_dim],  pool_tokens = n_blocks * block_size
 * Bookkeeping (tables, refcounts, free list, prefix cache) stays in host memory.
 * A request's K/V are addressed through a `struct kv_view` (kernels/backend.h,
 * kv_row()), which is what the forward pass and the attention kernels consume.
 *
 * Allocators (`kv=paged|contiguous`), same API:
 *  - paged: the pool is n_blocks blocks of block_size tokens. Each request has
 *    a block table; blocks come from a free list (O(1)) as tokens are appended
 *    and go back on release. Blocks are reference-counted: requests whose
 *    prompts share a prefix share its FULL blocks (prefix cache, keyed by a hash
 *    chain over the token ids of each full block, verified against the stored
 *    ids). Writing into a block that is shared or held by the prefix cache
 *    copies it first (copy-on-write).
 *    Prefix-cache policy: a full prompt block is registered when the engine
 *    commits it (kvcache_commit: its K/V are written). Released registered
 *    blocks stay cached (refcount 0, evictable) on an LRU list; allocation
 *    takes the free list first and evicts the least recently released cached
 *    block only when the free list is empty. A request's blocks are released
 *    tail first, so a prefix's root outlives its continuations. Only prompt
 *    tokens are cached (append does not carry token ids).
 *  - contiguous: what servers did before PagedAttention. At admission a
 *    request reserves its maximum length (max_len, or max_seq when max_len is
 *    0) in one piece, first fit over the token arena; it cannot be admitted
 *    when no hole is large enough, and cannot grow beyond its reservation. The
 *    arena is managed in units of block_size tokens (reservations round up).
 *    View representation: one table entry and block_size = the reservation in
 *    tokens, table[0] = 0, and k/v point at the reservation's first row of
 *    layer 0 (pool base + offset*kv_dim; layer_stride stays the pool's). Then
 *    kv_row(view, base, l, t) = base + l*layer_stride + t*kv_dim is exactly
 *    arena row offset+t, for any first-fit offset (encoding the offset as
 *    table[0]*block_size would force offsets to be multiples of the
 *    reservation, i.e. aligned allocation rather than first fit).
 *
 * Implementation: kvcache.c holds the pool, the request slots and this API,
 * and dispatches everything allocator-specific (admission policy included)
 * through a private ops table (kvcache_impl.h) to kvcache_paged.c and
 * kvcache_contiguous.c; another pool kind (a draft model's, a per-device
 * shard) is one more table, with no change to the scheduler.
 *
 * Request lifecycle (engine thread only; nothing here is thread-safe):
 *   kvcache_admit → n_cached prompt tokens already present (prefill skips them)
 *   kvcache_append(n) before a step writes n tokens → forward writes them
 *   kvcache_commit after the step → full prompt blocks enter the prefix cache
 *   kvcache_truncate (speculative rollback), kvcache_release (finish/preempt).
 */
#ifndef INFERTOP_KVCACHE_H
#define INFERTOP_KVCACHE_H

#include "kernels/backend.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum kv_alloc_kind { KV_PAGED, KV_CONTIGUOUS };

/* "paged" / "contiguous"; -1 for an unknown name. */
const char *kv_alloc_name(enum kv_alloc_kind k);
int kv_alloc_from_name(const char *name);

/* Status codes (0 = ok, negative = refused; the cache is unchanged). */
enum kvc_status {
    KVC_OK = 0,
    KVC_NOSPACE = -1,   /* no free blocks / no hole large enough: preempt or wait */
    KVC_TOOLONG = -2,   /* beyond the request's max length (or max_seq) */
    KVC_NOSLOT = -3,    /* max_requests requests already admitted */
    KVC_EINVAL = -4,    /* unknown or duplicate request id, bad argument */
};
const char *kvcache_strerror(int status);

struct kvcache_config {
    enum kv_alloc_kind kind;
    int n_layers;
    int kv_dim;               /* n_kv_heads * head_dim */
    int block_size;           /* tokens per block (paged: 8, 16, 32); contiguous: arena unit */
    int n_blocks;             /* > 0: pool size in blocks; 0: derive from budget_bytes */
    size_t budget_bytes;      /* used when n_blocks == 0 (kvcache_blocks_for_budget) */
    int max_seq;              /* longest request, tokens */
    int max_requests;         /* requests admitted at once */
    bool prefix_cache;        /* paged only: share full prompt blocks */
    enum dtype kv_type;       /* element type of K and V: DT_F32 (0) or DT_F16 */
};

/* The seed's formulas, with elem_bytes bytes per K/V element (2 for f16, 4 for f32):
 *   KV bytes per token = 2 × layers × kv_dim × elem_bytes
 *   blocks for a budget = budget / (2 × layers × kv_dim × elem_bytes × block_size)  (floor) */
size_t  kvcache_bytes_per_token(int n_layers, int kv_dim, int elem_bytes);
int64_t kvcache_blocks_for_budget(size_t budget_bytes, int n_layers, int kv_dim, int elem_bytes,
                                  int block_size);
/* Bytes of one K/V element of type t (DT_F32 4, DT_F16 2); 0 for any other type. */
int kvcache_elem_bytes(enum dtype t);

struct kvcache;

/* Build a cache; the pool is allocated with backend_alloc(be). The config is
 * validated (0 and *out set, or -1 with "kvcache: field: expected ..." in err).
 * `be` must outlive the cache. */
int  kvcache_create(struct kvcache **out, const struct kvcache_config *cfg, struct backend *be,
                    char *err, size_t errlen);
void kvcache_destroy(struct kvcache *kv);

/* The resolved config (n_blocks filled in when it came from a budget). */
const struct kvcache_config *kvcache_get_config(const struct kvcache *kv);
int64_t kvcache_pool_tokens(const struct kvcache *kv);

/* Admit request `req_id` with its prompt (token ids, n_prompt >= 0). max_len:
 * the most tokens the request may hold (prompt + new tokens), 0 = max_seq.
 * Paged: shares the cached full blocks of the prompt's longest cached prefix
 * and allocates nothing else. Contiguous: reserves max_len tokens first fit.
 * Returns the number of prompt tokens whose K/V are already present (>= 0; at
 * most n_prompt - 1 so prefill always computes the last prompt token), or a
 * negative kvc_status. The request's length is that count. A block-aligned
 * prompt found whole thus leaves its last token in a shared block: the first
 * append copies that block (copy-on-write) rather than recomputing it all. */
int kvcache_admit(struct kvcache *kv, int req_id, const int32_t *prompt, int n_prompt, int max_len);

/* ---- admission policy (the allocator's, so the scheduler need not know it) ----
 *
 * need_len: the most tokens the request will hold (prompt + output).
 *  - paged grows on demand up to need_len, and admits only while the free
 *    blocks cover the request's uncached context, the running requests'
 *    pending context, plus one block of headroom per running request (each
 *    may need its next block at any decode step; admitting beyond that only
 *    buys preemptions), or when nothing runs.
 *  - contiguous reserves max_seq per request (a server does not know how long
 *    an answer will be: the over-provisioning PagedAttention removes) and
 *    admits when a hole that large exists. */

/* Whether a request of need_len tokens with this context (tokens[0..n_tokens))
 * can be admitted now, with n_running requests running that will still take
 * pending_blocks blocks for context they have not appended yet (admitted
 * requests whose prefill has not run: blocks are taken as tokens are
 * appended, so the free count alone does not show them): KVC_OK or
 * KVC_NOSPACE (or KVC_TOOLONG / KVC_EINVAL). No effects. With n_running 0
 * the paged watermark asks no headroom: the scheduler's admission=reserve
 * passes 0 because its own peak check (core/engine/admission.h) covers the
 * running requests' growth. */
int kvcache_can_admit(const struct kvcache *kv, const int32_t *tokens, int n_tokens, int need_len, int n_running,
                      int pending_blocks);
/* kvcache_admit with the allocator's reservation for need_len (see above). */
int kvcache_admit_request(struct kvcache *kv, int req_id, const int32_t *tokens, int n_tokens, int need_len);
/* Tokens of room a request holds once it has len tokens, under this
 * allocator: paged rounds len up to whole blocks; contiguous holds its
 * max_seq reservation whatever len (admission=reserve sums these). */
int64_t kvcache_hold_tokens(const struct kvcache *kv, int len);
/* Whether an EMPTY pool could ever hold a request of need_len tokens under
 * this policy; false means waiting cannot help. When false and why is not
 * NULL, one line in why: "the request needs N tokens, the pool holds M ...". */
bool kvcache_fits_empty(const struct kvcache *kv, int need_len, char *why, size_t whylen);

/* Prompt tokens a kvcache_admit of this prompt would find cached now; no side
 * effects (the scheduler sizes prefill with it). */
int kvcache_prefix_probe(const struct kvcache *kv, const int32_t *prompt, int n_prompt);

/* Reserve room for n more tokens (positions len .. len+n-1), allocating blocks
 * and copying a shared block about to be written. KVC_OK, or a negative status
 * with the request unchanged. */
int kvcache_append(struct kvcache *kv, int req_id, int n_tokens);
/* Whether kvcache_append(req_id, n) would succeed now (same status), no effects. */
int kvcache_can_append(const struct kvcache *kv, int req_id, int n_tokens);
/* Free blocks a paged append of n tokens would take now (0 for contiguous);
 * negative status for an unknown request. */
int kvcache_blocks_needed(const struct kvcache *kv, int req_id, int n_tokens);

/* Paged: blocks an append could take now (free list + evictable cached
 * blocks). Contiguous: 0 (admission there is a first-fit reservation). */
int kvcache_blocks_available(const struct kvcache *kv);

/* The forward pass has written every appended token: full prompt blocks now
 * hold valid K/V and enter the prefix cache. */
int kvcache_commit(struct kvcache *kv, int req_id);

/* Shrink the request to n_tokens (<= len): rejected speculative tokens. Blocks
 * past the new end are released; the token ids past it are forgotten. */
int kvcache_truncate(struct kvcache *kv, int req_id, int n_tokens);

/* Finish or preempt: release everything the request holds. */
int kvcache_release(struct kvcache *kv, int req_id);

/* Tokens appended to the request, or a negative status. */
int kvcache_len(const struct kvcache *kv, int req_id);

/* Where the request's K/V live. `out->table` points into the cache and stays
 * valid until the request's next append, truncate or release. */
int kvcache_view(const struct kvcache *kv, int req_id, struct kv_view *out);

/* ---- shards (tensor / pipeline parallelism) ------------------------------
 * The pool's bookkeeping (tables, prefix cache, admission) serves several
 * devices at once: each shard is storage on its own backend for n_layers
 * layers of kv_dim (a pipeline stage's layers, a tensor-parallel rank's KV
 * heads), addressed by the same block tables, so every device sees the same
 * allocation decisions. Copy-on-write copies the block in every shard. */
#define KV_MAX_SHARDS 16
/* Add one; returns its index (>= 0) or -1 with a one-line message (out of
 * device memory, too many shards). */
int kvcache_add_shard(struct kvcache *kv, struct backend *be, int n_layers, int kv_dim, char *err,
                      size_t errlen);
/* kvcache_view with the shard's storage: k, v, layer_stride, kv_dim are the
 * shard's; table, blocks and block size the request's. */
int kvcache_shard_view(const struct kvcache *kv, int shard, int req_id, struct kv_view *out);
/* Bytes of K and V storage of the pool itself (shard -1) or of a shard. */
size_t kvcache_storage_bytes(const struct kvcache *kv, int shard);

/* Evict every cached block nobody holds (toggle of prefix caching, tests). */
void kvcache_prefix_cache_clear(struct kvcache *kv);

/* ---- snapshot: display and reports ------------------------------------- */

enum kv_block_state {
    KVB_FREE,       /* on the free list */
    KVB_CACHED,     /* refcount 0, content kept for the prefix cache (evictable) */
    KVB_OWNED,      /* held by one request */
    KVB_SHARED,     /* held by several requests */
};

/* One block (paged) or arena unit of block_size tokens (contiguous). */
struct kv_block_info {
    int32_t owner;            /* first holding request id, -1 when none */
    int32_t fill;             /* tokens of the block holding valid (or appended) K/V */
    int32_t refs;             /* requests holding it */
    uint8_t state;            /* enum kv_block_state */
    bool in_prefix_cache;     /* registered under its hash chain */
};

struct kv_req_info {
    int32_t req_id;
    int32_t reserved;         /* tokens it holds room for: blocks*block_size or its reservation */
    int32_t used;             /* tokens appended */
    int32_t blocks;           /* blocks (paged) or arena units (contiguous) */
    int32_t cached;           /* prompt tokens found cached at admission */
};

struct kvcache_totals {
    int64_t pool_tokens;
    int64_t used_tokens;          /* physical rows with K/V (shared rows once) */
    int64_t logical_tokens;       /* Σ request lengths (shared rows per sharer) */
    int64_t allocated_tokens;     /* rows held by requests: blocks/units with refs > 0 */
    int64_t reserved_empty_tokens;/* held blocks/units with no token yet (contiguous over-provisioning) */
    int64_t internal_frag_tokens; /* empty rows inside partly filled held blocks */
    int64_t free_tokens;          /* free list + evictable cached blocks */
    int64_t cached_tokens;        /* evictable prefix-cache rows (part of free_tokens) */
    int64_t external_frag_tokens; /* free rows unusable for a request of next_req_tokens */
    int64_t largest_free_run;     /* tokens: longest contiguous free run (contiguous), else free */
    int next_req_tokens;          /* the size external fragmentation was computed for */
    int n_blocks, blocks_used, blocks_shared, blocks_free, blocks_cached;
    int n_requests;
    double utilization;           /* used_tokens / pool_tokens */
    uint64_t prefix_query_tokens; /* prompt tokens looked up at admission */
    uint64_t prefix_hit_tokens;   /* of which found cached */
    uint64_t cow_copies, evictions;
};

/* Caller-owned buffers sized once for a cache (bounded: n_blocks block
 * entries, max_requests request entries); kvcache_snapshot fills them without
 * allocating, cheap enough for every engine step. */
struct kvcache_snapshot {
    enum kv_alloc_kind kind;
    int block_size;
    struct kv_block_info *blocks; /* [totals.n_blocks] */
    struct kv_req_info *reqs;     /* [totals.n_requests], admission-slot order */
    int blocks_cap, reqs_cap;
    struct kvcache_totals totals;
};

int  kvcache_snapshot_init(struct kvcache_snapshot *s, const struct kvcache *kv);
void kvcache_snapshot_free(struct kvcache_snapshot *s);
/* Fill `s` (initialized for this cache; otherwise only kind and zero totals). next_req_tokens: size of the next
 * waiting request, for external fragmentation (contiguous: free rows in holes
 * smaller than its reservation; paged: 0, any free block serves any request). */
void kvcache_snapshot(const struct kvcache *kv, int next_req_tokens, struct kvcache_snapshot *s);

#endif
