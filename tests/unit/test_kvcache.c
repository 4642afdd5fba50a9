/* tests/unit/test_kvcache.c — KV cache: allocators, prefix sharing, copy-on-write,
 * snapshot accounting, and attention through paged vs contiguous views.
 *
 * The pool lives in a tiny host-memory test backend (alloc/free/upload/download
 * only), so these tests need no compute backend. */
#include "core/engine/kvcache.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- host-memory test backend ------------------------------------------ */

static int n_uploads;

static void *hb_alloc(struct backend *be, size_t n) { (void)be; return malloc(n); }
static void hb_free(struct backend *be, void *p) { (void)be; free(p); }
static void hb_upload(struct backend *be, void *d, const void *s, size_t n)
{
    (void)be; n_uploads++; memcpy(d, s, n);
}
static void hb_download(struct backend *be, void *d, const void *s, size_t n)
{
    (void)be; memcpy(d, s, n);
}

static const struct backend_ops HOST_OPS = {
    .name = "test-host", .alloc = hb_alloc, .free = hb_free,
    .upload = hb_upload, .download = hb_download,
};
static struct backend host_be = {.ops = &HOST_OPS};

/* ---- helpers ------------------------------------------------------------ */

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

struct rng { uint64_t s; };
static uint32_t rnd(struct rng *r) { r->s = mix(r->s); return (uint32_t)(r->s >> 32); }
static int rnd_in(struct rng *r, int lo, int hi) { return lo + (int)(rnd(r) % (uint32_t)(hi - lo + 1)); }

/* K/V element type of the caches make_cache builds; the _f16 tests set it
 * (each test runs in its own process) and put it back. */
static enum dtype g_kv_type = DT_F32;

static struct kvcache *make_cache(enum kv_alloc_kind kind, int layers, int kv_dim, int bs,
                                  int n_blocks, int max_seq, int max_req, bool prefix)
{
    struct kvcache_config c = {
        .kind = kind, .n_layers = layers, .kv_dim = kv_dim, .block_size = bs,
        .n_blocks = n_blocks, .max_seq = max_seq, .max_requests = max_req, .prefix_cache = prefix,
        .kv_type = g_kv_type,
    };
    struct kvcache *kv = NULL;
    char err[200] = "";
    int rc = kvcache_create(&kv, &c, &host_be, err, sizeof err);
    cr_assert_eq(rc, 0, "kvcache_create: %s", err);
    return kv;
}

/* Value stored for a token whose sequence prefix (up to and including it)
 * hashes to h: same prefix → same K/V, as in a real model. Exact in float. */
static float kv_value(uint64_t h, int layer, int d, int is_v)
{
    uint64_t x = mix(h ^ ((uint64_t)layer << 40) ^ ((uint64_t)d << 20) ^ (uint64_t)is_v);
    return (float)(x >> 40) / 16777216.0f - 0.5f;
}

static uint64_t prefix_hash(uint64_t prev, int32_t tok) { return mix(prev ^ (uint32_t)tok); }

/* Element d of row t of layer l of base (v->k or v->v), f32 or f16. */
static void kv_put(const struct kv_view *v, void *base, int l, int t, int d, float x)
{
    void *row = kv_row_bytes(v, base, l, t);
    if (v->kv_type == DT_F16) ((uint16_t *)row)[d] = fp32_to_fp16(x);
    else ((float *)row)[d] = x;
}

static float kv_get(const struct kv_view *v, void *base, int l, int t, int d)
{
    const void *row = kv_row_bytes(v, base, l, t);
    return v->kv_type == DT_F16 ? fp16_to_fp32(((const uint16_t *)row)[d]) : ((const float *)row)[d];
}

/* x as the cache holds it (f16: rounded to the nearest half). */
static float kv_held(const struct kv_view *v, float x)
{
    return v->kv_type == DT_F16 ? fp16_to_fp32(fp32_to_fp16(x)) : x;
}

static void write_token(const struct kv_view *v, int layers, int t, uint64_t h)
{
    for (int l = 0; l < layers; l++)
        for (int d = 0; d < v->kv_dim; d++) {
            kv_put(v, v->k, l, t, d, kv_value(h, l, d, 0));
            kv_put(v, v->v, l, t, d, kv_value(h, l, d, 1));
        }
}

static bool token_matches(const struct kv_view *v, int layers, int t, uint64_t h)
{
    for (int l = 0; l < layers; l++)
        for (int d = 0; d < v->kv_dim; d++)
            if (kv_get(v, v->k, l, t, d) != kv_held(v, kv_value(h, l, d, 0)) ||
                kv_get(v, v->v, l, t, d) != kv_held(v, kv_value(h, l, d, 1)))
                return false;
    return true;
}

static struct kv_view view_of(const struct kvcache *kv, int id)
{
    struct kv_view v;
    cr_assert_eq(kvcache_view(kv, id, &v), KVC_OK, "view of request %d", id);
    return v;
}

/* Write tokens [from, to) of a request whose token t has prefix hash hs[t]. */
static void write_range(const struct kvcache *kv, int id, int from, int to, const uint64_t *hs)
{
    struct kv_view v = view_of(kv, id);
    for (int t = from; t < to; t++) write_token(&v, kvcache_get_config(kv)->n_layers, t, hs[t]);
}

static void hashes_of(const int32_t *tok, int n, uint64_t *hs)
{
    uint64_t h = 1;
    for (int t = 0; t < n; t++) hs[t] = h = prefix_hash(h, tok[t]);
}

/* ---- formulas and config ----------------------------------------------- */

Test(kvcache, seed_formulas)
{
    /* SmolLM2-135M shape: 30 layers, 3 KV heads x 64 = 192 */
    cr_assert_eq(kvcache_bytes_per_token(30, 192, 4), 2u * 30 * 192 * 4);
    cr_assert_eq(kvcache_bytes_per_token(30, 192, 2), 2u * 30 * 192 * 2);
    cr_assert_eq(kvcache_blocks_for_budget((size_t)1 << 30, 30, 192, 4, 16),
                 (int64_t)((1u << 30) / (2u * 30 * 192 * 4 * 16)));
    cr_assert_eq(kvcache_blocks_for_budget((size_t)1 << 30, 30, 192, 2, 16),
                 (int64_t)((1u << 30) / (2u * 30 * 192 * 2 * 16)));
    cr_assert_eq(kvcache_blocks_for_budget(100, 1, 1, 4, 16), 0);
    cr_assert_eq(kvcache_elem_bytes(DT_F32), 4);
    cr_assert_eq(kvcache_elem_bytes(DT_F16), 2);
    cr_assert_eq(kvcache_elem_bytes(DT_Q8_0), 0);

    struct kvcache_config c = {.kind = KV_PAGED, .n_layers = 3, .kv_dim = 5, .block_size = 8,
                               .budget_bytes = 2 * 3 * 5 * 4 * 8 * 7 + 100, .max_seq = 64,
                               .max_requests = 4};
    struct kvcache *kv;
    char err[200];
    cr_assert_eq(kvcache_create(&kv, &c, &host_be, err, sizeof err), 0, "%s", err);
    cr_assert_eq(kvcache_get_config(kv)->n_blocks, 7);
    cr_assert_eq(kvcache_pool_tokens(kv), 56);
    kvcache_destroy(kv);
}

Test(kvcache, bad_config_names_the_field)
{
    struct kvcache_config c = {.kind = KV_PAGED, .n_layers = 2, .kv_dim = 4, .block_size = 0,
                               .n_blocks = 4, .max_seq = 64, .max_requests = 4};
    struct kvcache *kv = (struct kvcache *)&c;
    char err[200] = "";
    cr_assert_eq(kvcache_create(&kv, &c, &host_be, err, sizeof err), -1);
    cr_assert_null(kv);
    cr_assert(strstr(err, "block_size") != NULL, "%s", err);
    c.block_size = 16; c.n_blocks = 0; c.budget_bytes = 1000;
    cr_assert_eq(kvcache_create(&kv, &c, &host_be, err, sizeof err), -1);
    cr_assert(strstr(err, "budget_bytes") != NULL, "%s", err);
    c.n_blocks = 4; c.max_requests = 0;
    cr_assert_eq(kvcache_create(&kv, &c, &host_be, err, sizeof err), -1);
    cr_assert(strstr(err, "max_requests") != NULL, "%s", err);
    c.max_requests = 4; c.kv_type = DT_Q8_0;
    cr_assert_eq(kvcache_create(&kv, &c, &host_be, err, sizeof err), -1);
    cr_assert(strstr(err, "kv_type") != NULL, "%s", err);
    /* f16 halves the bytes per block: a budget of 7 f32 blocks holds 14 */
    c.kv_type = DT_F16; c.n_blocks = 0; c.budget_bytes = 2 * 2 * 4 * 4 * 16 * 7;
    cr_assert_eq(kvcache_create(&kv, &c, &host_be, err, sizeof err), 0, "%s", err);
    cr_assert_eq(kvcache_get_config(kv)->n_blocks, 14);
    kvcache_destroy(kv);
    cr_assert_eq(kv_alloc_from_name("paged"), KV_PAGED);
    cr_assert_eq(kv_alloc_from_name("contiguous"), KV_CONTIGUOUS);
    cr_assert_eq(kv_alloc_from_name("buddy"), -1);
}

/* ---- paged: directed ---------------------------------------------------- */

Test(kvcache, paged_append_allocates_blocks_and_fails_cleanly)
{
    struct kvcache *kv = make_cache(KV_PAGED, 2, 3, 8, 4, 64, 4, false);
    struct kvcache_snapshot s;
    cr_assert_eq(kvcache_snapshot_init(&s, kv), 0);
    cr_assert_eq(kvcache_admit(kv, 7, NULL, 0, 0), 0);
    cr_assert_eq(kvcache_append(kv, 7, 20), KVC_OK);
    struct kv_view v = view_of(kv, 7);
    cr_assert_eq(v.n_blocks, 3);
    cr_assert_eq(v.block_size, 8);
    kvcache_snapshot(kv, 0, &s);
    cr_assert_eq(s.totals.allocated_tokens, 24);
    cr_assert_eq(s.totals.used_tokens, 20);
    cr_assert_eq(s.totals.internal_frag_tokens, 4);
    cr_assert_eq(s.totals.reserved_empty_tokens, 0);
    cr_assert_eq(s.totals.free_tokens, 8);
    cr_assert_float_eq(s.totals.utilization, 20.0 / 32.0, 1e-12);

    /* 20 + 13 = 33 tokens need 5 blocks of 8: one more than the pool has */
    int32_t before[3];
    memcpy(before, v.table, sizeof before);
    cr_assert_eq(kvcache_blocks_needed(kv, 7, 13), 2);
    cr_assert_eq(kvcache_can_append(kv, 7, 13), KVC_NOSPACE);
    cr_assert_eq(kvcache_append(kv, 7, 13), KVC_NOSPACE);
    cr_assert_eq(kvcache_len(kv, 7), 20);
    v = view_of(kv, 7);
    cr_assert_eq(v.n_blocks, 3);
    cr_assert_arr_eq(v.table, before, sizeof before);
    cr_assert_eq(kvcache_append(kv, 7, 12), KVC_OK);   /* exactly fills the pool */
    cr_assert_eq(kvcache_append(kv, 99, 1), KVC_EINVAL);
    cr_assert_eq(kvcache_admit(kv, 7, NULL, 0, 0), KVC_EINVAL);   /* duplicate id */

    cr_assert_eq(kvcache_release(kv, 7), KVC_OK);
    kvcache_snapshot(kv, 0, &s);
    cr_assert_eq(s.totals.blocks_free, 4);
    cr_assert_eq(s.totals.used_tokens, 0);
    cr_assert_eq(kvcache_len(kv, 7), KVC_EINVAL);
    kvcache_snapshot_free(&s);
    kvcache_destroy(kv);
}

Test(kvcache, paged_limits)
{
    struct kvcache *kv = make_cache(KV_PAGED, 1, 2, 16, 8, 40, 2, true);
    int32_t p[48] = {0};
    cr_assert_eq(kvcache_admit(kv, 1, p, 41, 0), KVC_TOOLONG);       /* beyond max_seq */
    cr_assert_eq(kvcache_admit(kv, 1, p, 10, 50), KVC_TOOLONG);      /* max_len > max_seq */
    cr_assert_eq(kvcache_admit(kv, 1, p, 10, 12), 0);
    cr_assert_eq(kvcache_append(kv, 1, 13), KVC_TOOLONG);            /* beyond its max_len */
    cr_assert_eq(kvcache_append(kv, 1, 12), KVC_OK);
    cr_assert_eq(kvcache_admit(kv, 2, p, 3, 0), 0);
    cr_assert_eq(kvcache_admit(kv, 3, p, 3, 0), KVC_NOSLOT);
    cr_assert_eq(kvcache_truncate(kv, 1, 13), KVC_EINVAL);
    cr_assert_eq(kvcache_truncate(kv, 1, 5), KVC_OK);
    cr_assert_eq(kvcache_len(kv, 1), 5);
    kvcache_destroy(kv);
}

/* Two requests with the same 2.5-block prompt: the second shares the two full
 * blocks; rewriting inside one of them copies it and leaves the first intact. */
Test(kvcache, prefix_sharing_and_copy_on_write)
{
    const int bs = 8, L = 2;
    struct kvcache *kv = make_cache(KV_PAGED, L, 3, bs, 16, 64, 4, true);
    struct kvcache_snapshot s;
    cr_assert_eq(kvcache_snapshot_init(&s, kv), 0);
    int32_t pa[20], pb[20];
    uint64_t ha[64], hb[64];
    for (int i = 0; i < 20; i++) pa[i] = pb[i] = 100 + i * 7 % 13;
    hashes_of(pa, 20, ha);

    cr_assert_eq(kvcache_admit(kv, 1, pa, 20, 0), 0);
    cr_assert_eq(kvcache_append(kv, 1, 20), KVC_OK);
    write_range(kv, 1, 0, 20, ha);
    cr_assert_eq(kvcache_prefix_probe(kv, pa, 20), 0, "nothing cached before commit");
    cr_assert_eq(kvcache_commit(kv, 1), KVC_OK);
    cr_assert_eq(kvcache_prefix_probe(kv, pa, 20), 16);

    cr_assert_eq(kvcache_admit(kv, 2, pb, 20, 0), 16);
    struct kv_view va = view_of(kv, 1), vb = view_of(kv, 2);
    cr_assert_eq(vb.n_blocks, 2);
    cr_assert_eq(vb.table[0], va.table[0]);
    cr_assert_eq(vb.table[1], va.table[1]);
    for (int t = 0; t < 16; t++) cr_assert(token_matches(&vb, L, t, ha[t]), "shared token %d", t);
    kvcache_snapshot(kv, 0, &s);
    cr_assert_eq(s.blocks[va.table[0]].refs, 2);
    cr_assert_eq(s.blocks[va.table[0]].state, KVB_SHARED);
    cr_assert_eq(s.totals.blocks_shared, 2);
    cr_assert_eq(s.totals.prefix_hit_tokens, 16);
    cr_assert_eq(s.totals.prefix_query_tokens, 40);

    /* B rolls back into its second (shared) block and continues differently */
    cr_assert_eq(kvcache_append(kv, 2, 4), KVC_OK);
    hashes_of(pb, 20, hb);
    write_range(kv, 2, 16, 20, hb);
    cr_assert_eq(kvcache_truncate(kv, 2, 11), KVC_OK);
    for (int i = 11; i < 20; i++) pb[i] = 900 + i;
    hashes_of(pb, 20, hb);
    int shared_block = va.table[1];
    n_uploads = 0;
    cr_assert_eq(kvcache_blocks_needed(kv, 2, 9), 2);   /* copy + one new block */
    cr_assert_eq(kvcache_append(kv, 2, 9), KVC_OK);
    cr_assert_gt(n_uploads, 0, "the copy goes through the backend");
    write_range(kv, 2, 11, 20, hb);
    vb = view_of(kv, 2);
    va = view_of(kv, 1);
    cr_assert_eq(vb.table[0], va.table[0], "untouched block stays shared");
    cr_assert_neq(vb.table[1], shared_block, "written block was copied");
    cr_assert_eq(va.table[1], shared_block);
    for (int t = 0; t < 20; t++) cr_assert(token_matches(&va, L, t, ha[t]), "A token %d", t);
    for (int t = 0; t < 20; t++) cr_assert(token_matches(&vb, L, t, hb[t]), "B token %d", t);
    kvcache_snapshot(kv, 0, &s);
    cr_assert_eq(s.totals.cow_copies, 1);
    cr_assert_eq(s.blocks[shared_block].refs, 1);
    cr_assert_eq(s.blocks[vb.table[1]].fill, 8);

    kvcache_release(kv, 1);
    kvcache_release(kv, 2);
    kvcache_snapshot(kv, 0, &s);
    cr_assert_eq(s.totals.blocks_used, 0);
    cr_assert_eq(s.totals.blocks_cached, 2, "A's two full prompt blocks stay cached");
    cr_assert_eq(s.totals.blocks_free + s.totals.blocks_cached, 16);
    kvcache_prefix_cache_clear(kv);
    kvcache_snapshot(kv, 0, &s);
    cr_assert_eq(s.totals.blocks_free, 16);
    kvcache_snapshot_free(&s);
    kvcache_destroy(kv);
}

/* A block-aligned prompt fully cached: the last prompt token is recomputed,
 * which writes into the last shared block → copy-on-write. */
Test(kvcache, full_prompt_hit_recomputes_last_token)
{
    const int bs = 16, L = 1;
    struct kvcache *kv = make_cache(KV_PAGED, L, 4, bs, 8, 64, 4, true);
    int32_t p[32];
    uint64_t h[32];
    for (int i = 0; i < 32; i++) p[i] = i * 31 % 17;
    hashes_of(p, 32, h);
    cr_assert_eq(kvcache_admit(kv, 1, p, 32, 0), 0);
    cr_assert_eq(kvcache_append(kv, 1, 32), KVC_OK);
    write_range(kv, 1, 0, 32, h);
    kvcache_commit(kv, 1);
    cr_assert_eq(kvcache_release(kv, 1), KVC_OK);   /* blocks stay cached */

    cr_assert_eq(kvcache_admit(kv, 2, p, 32, 0), 31);
    cr_assert_eq(kvcache_admit(kv, 3, p, 32, 0), 31);
    struct kv_view v2 = view_of(kv, 2);
    int last = v2.table[1];
    cr_assert_eq(kvcache_append(kv, 2, 2), KVC_OK);   /* token 31 (recomputed) + first new */
    v2 = view_of(kv, 2);
    struct kv_view v3 = view_of(kv, 3);
    cr_assert_neq(v2.table[1], last);
    cr_assert_eq(v3.table[1], last);
    /* request 2 writes different values at 31: request 3 and the cache keep theirs */
    write_token(&v2, L, 31, 12345);
    cr_assert(token_matches(&v3, L, 31, h[31]));
    cr_assert(token_matches(&v2, L, 30, h[30]), "copied rows kept");
    kvcache_release(kv, 2);
    kvcache_release(kv, 3);
    cr_assert_eq(kvcache_admit(kv, 4, p, 32, 0), 31);
    struct kv_view v4 = view_of(kv, 4);
    cr_assert(token_matches(&v4, L, 31, h[31]), "cached block unchanged");
    kvcache_destroy(kv);
}

Test(kvcache, cached_blocks_are_evicted_lru_when_the_pool_runs_out)
{
    struct kvcache *kv = make_cache(KV_PAGED, 1, 2, 8, 4, 64, 4, true);
    struct kvcache_snapshot s;
    cr_assert_eq(kvcache_snapshot_init(&s, kv), 0);
    int32_t p[16], q[16];
    for (int i = 0; i < 16; i++) { p[i] = i; q[i] = 50 + i; }
    cr_assert_eq(kvcache_admit(kv, 1, p, 16, 0), 0);
    cr_assert_eq(kvcache_append(kv, 1, 17), KVC_OK);
    kvcache_commit(kv, 1);
    kvcache_release(kv, 1);                 /* 2 cached, 2 free */
    cr_assert_eq(kvcache_admit(kv, 2, q, 16, 0), 0);
    cr_assert_eq(kvcache_append(kv, 2, 24), KVC_OK);    /* 2 free + 1 evicted */
    kvcache_snapshot(kv, 0, &s);
    cr_assert_eq(s.totals.evictions, 1);
    cr_assert_eq(s.totals.blocks_cached, 1);
    /* the tail block went first: the root (tokens 0..7) is still a hit */
    cr_assert_eq(kvcache_prefix_probe(kv, p, 16), 8);
    cr_assert_eq(kvcache_can_append(kv, 2, 8), KVC_OK);
    cr_assert_eq(kvcache_can_append(kv, 2, 9), KVC_NOSPACE);
    kvcache_snapshot_free(&s);
    kvcache_destroy(kv);
}

/* ---- contiguous: directed ---------------------------------------------- */

Test(kvcache, contiguous_first_fit_and_external_fragmentation)
{
    const int bs = 8;
    struct kvcache *kv = make_cache(KV_CONTIGUOUS, 2, 3, bs, 10, 64, 8, true);
    struct kvcache_snapshot s;
    cr_assert_eq(kvcache_snapshot_init(&s, kv), 0);
    for (int id = 0; id < 5; id++) cr_assert_eq(kvcache_admit(kv, id, NULL, 0, 16), 0);
    cr_assert_eq(kvcache_admit(kv, 5, NULL, 0, 1), KVC_NOSPACE);
    kvcache_release(kv, 1);
    kvcache_release(kv, 3);
    kvcache_snapshot(kv, 24, &s);
    cr_assert_eq(s.totals.free_tokens, 32);
    cr_assert_eq(s.totals.external_frag_tokens, 32, "two 16-token holes, request needs 24");
    cr_assert_eq(s.totals.largest_free_run, 16);
    kvcache_snapshot(kv, 16, &s);
    cr_assert_eq(s.totals.external_frag_tokens, 0);
    cr_assert_eq(kvcache_admit(kv, 6, NULL, 0, 24), KVC_NOSPACE);
    cr_assert_eq(kvcache_admit(kv, 6, NULL, 0, 13), 0);    /* rounds up to 2 units: first hole */
    kvcache_snapshot(kv, 16, &s);
    cr_assert_eq(s.blocks[2].owner, 6);
    cr_assert_eq(s.blocks[3].owner, 6);
    cr_assert_eq(s.blocks[6].owner, -1);

    /* over-provisioning shows as reserved-but-empty; the view is one block */
    cr_assert_eq(kvcache_append(kv, 6, 10), KVC_OK);
    cr_assert_eq(kvcache_append(kv, 6, 4), KVC_TOOLONG);
    struct kv_view v = view_of(kv, 6), v0 = view_of(kv, 0);
    cr_assert_eq(v.n_blocks, 1);
    cr_assert_eq(v.table[0], 0);
    cr_assert_eq(v.block_size, 16);
    cr_assert_eq((char *)v.k - (char *)v0.k, (ptrdiff_t)(2 * bs * 3 * kv_elem_bytes(&v)),
                 "view starts at arena unit 2");
    cr_assert_eq(kvcache_append(kv, 0, 3), KVC_OK);
    kvcache_snapshot(kv, 16, &s);
    cr_assert_eq(s.totals.used_tokens, 13);
    cr_assert_eq(s.totals.allocated_tokens, 64);
    cr_assert_eq(s.totals.internal_frag_tokens, 6 + 5);
    cr_assert_eq(s.totals.reserved_empty_tokens, 8 * 5);
    cr_assert_eq(s.totals.prefix_query_tokens, 0, "contiguous has no prefix cache");
    kvcache_snapshot_free(&s);
    kvcache_destroy(kv);
}

/* ---- property tests: random admit / append / share / truncate / release ---- */

#define P_MAXSEQ 64
#define P_MAXREQ 6
#define P_LAYERS 2
#define P_KVDIM 3
#define P_FAMILIES 3
#define P_OPS 300

struct treq {
    bool live;
    int id, len, n_prompt, max_len;
    int32_t tok[P_MAXSEQ];
    uint64_t h[P_MAXSEQ];
};

struct world {
    struct kvcache *kv;
    struct kvcache_snapshot snap;
    struct treq req[P_MAXREQ];
    int32_t family[P_FAMILIES][P_MAXSEQ];
    struct rng rng;
    int next_id, bs, n_blocks;
    enum kv_alloc_kind kind;
};

static void check_data(const struct world *w, const struct treq *r)
{
    struct kv_view v = view_of(w->kv, r->id);
    for (int t = 0; t < r->len; t++)
        cr_assert(token_matches(&v, P_LAYERS, t, r->h[t]), "req %d token %d: K/V changed", r->id, t);
}

/* Paged: refcounts equal table references; one owner for unshared blocks;
 * fill matches the owner's length; shared and cached blocks are full. */
static void check_paged_blocks(const struct world *w)
{
    int refs[512] = {0}, owner[512];
    const struct kvcache_snapshot *s = &w->snap;
    for (int b = 0; b < w->n_blocks; b++) owner[b] = -1;
    for (int i = 0; i < P_MAXREQ; i++) {
        const struct treq *r = &w->req[i];
        if (!r->live) continue;
        struct kv_view v = view_of(w->kv, r->id);
        cr_assert_eq(v.n_blocks, (r->len + w->bs - 1) / w->bs, "req %d blocks for %d tokens", r->id, r->len);
        for (int j = 0; j < v.n_blocks; j++) {
            int b = v.table[j];
            cr_assert(b >= 0 && b < w->n_blocks);
            refs[b]++;
            owner[b] = r->id;
            /* a block the prefix cache holds keeps all its rows valid */
            int expect = s->blocks[b].in_prefix_cache ? w->bs : r->len - j * w->bs;
            if (s->blocks[b].refs == 1)
                cr_assert_eq(s->blocks[b].fill, expect < w->bs ? expect : w->bs, "block %d fill", b);
        }
    }
    for (int b = 0; b < w->n_blocks; b++) {
        const struct kv_block_info *bi = &s->blocks[b];
        cr_assert_eq(bi->refs, refs[b], "block %d: refs %d, tables %d", b, bi->refs, refs[b]);
        if (refs[b] == 1) {
            cr_assert_eq(bi->owner, owner[b]);
            cr_assert_eq(bi->state, KVB_OWNED);
        }
        if (refs[b] > 1) {
            cr_assert_eq(bi->state, KVB_SHARED);
            cr_assert_eq(bi->fill, w->bs, "only full blocks are shared");
            cr_assert(bi->in_prefix_cache);
        }
        if (refs[b] == 0) {
            cr_assert(bi->state == KVB_FREE || bi->state == KVB_CACHED);
            cr_assert_eq(bi->owner, -1);
            cr_assert_eq(bi->state == KVB_CACHED, bi->in_prefix_cache);
        }
    }
}

/* Contiguous: each request owns one run of units matching its view; runs
 * never overlap (the views' row ranges are disjoint). */
static void check_contig_blocks(const struct world *w)
{
    const struct kvcache_snapshot *s = &w->snap;
    const char *k0 = NULL;
    int u0 = -1;
    for (int i = 0; i < P_MAXREQ; i++) {
        const struct treq *r = &w->req[i];
        if (!r->live) continue;
        struct kv_view v = view_of(w->kv, r->id);
        int first = -1, count = 0;
        for (int u = 0; u < w->n_blocks; u++)
            if (s->blocks[u].owner == r->id) {
                if (first < 0) first = u;
                cr_assert_eq(u, first + count, "req %d units not contiguous", r->id);
                count++;
                int rows = r->len - (u - first) * w->bs;
                cr_assert_eq(s->blocks[u].fill, rows < 0 ? 0 : rows > w->bs ? w->bs : rows);
            }
        cr_assert_eq(count * w->bs, v.block_size, "req %d reservation", r->id);
        cr_assert_eq(v.n_blocks, 1);
        cr_assert_geq(v.block_size, r->max_len ? r->max_len : P_MAXSEQ);
        size_t eb = kv_elem_bytes(&v);
        if (!k0) { k0 = v.k; u0 = first; }
        cr_assert_eq((const char *)v.k - k0, (ptrdiff_t)((first - u0) * w->bs * P_KVDIM * eb),
                     "req %d view offset", r->id);
        for (int j = i + 1; j < P_MAXREQ; j++) {
            if (!w->req[j].live) continue;
            struct kv_view o = view_of(w->kv, w->req[j].id);
            const char *a0 = v.k, *a1 = a0 + (size_t)v.block_size * P_KVDIM * eb;
            const char *b0 = o.k, *b1 = b0 + (size_t)o.block_size * P_KVDIM * eb;
            cr_assert(a1 <= b0 || b1 <= a0, "reservations of %d and %d overlap", r->id, w->req[j].id);
        }
    }
}

static void check_totals(const struct world *w)
{
    const struct kvcache_totals *t = &w->snap.totals;
    int64_t pool = (int64_t)w->n_blocks * w->bs, used = 0, logical = 0;
    int live = 0;
    for (int b = 0; b < w->n_blocks; b++)
        if (w->snap.blocks[b].refs > 0) used += w->snap.blocks[b].fill;
    for (int i = 0; i < P_MAXREQ; i++)
        if (w->req[i].live) { live++; logical += w->req[i].len; }
    cr_assert_eq(t->pool_tokens, pool);
    cr_assert_eq(t->blocks_used + t->blocks_free + t->blocks_cached, w->n_blocks);
    cr_assert_eq(t->allocated_tokens + t->free_tokens, pool, "used + free = pool");
    cr_assert_eq(t->allocated_tokens, (int64_t)t->blocks_used * w->bs);
    cr_assert_eq(t->used_tokens, used);
    cr_assert_eq(t->allocated_tokens, t->used_tokens + t->internal_frag_tokens + t->reserved_empty_tokens);
    cr_assert_eq(t->logical_tokens, logical);
    cr_assert_eq(t->n_requests, live);
    cr_assert_float_eq(t->utilization, (double)used / (double)pool, 1e-12);
    cr_assert_leq(t->external_frag_tokens, t->free_tokens);
    cr_assert_leq(t->prefix_hit_tokens, t->prefix_query_tokens);
    if (w->kind == KV_PAGED) {
        cr_assert_eq(t->reserved_empty_tokens, 0, "paged reserves nothing ahead");
        cr_assert_eq(t->external_frag_tokens, 0);
    }
    for (int i = 0; i < t->n_requests; i++) {
        const struct kv_req_info *ri = &w->snap.reqs[i];
        cr_assert_eq(ri->used, kvcache_len(w->kv, ri->req_id));
        cr_assert_geq(ri->reserved, ri->used);
    }
}

static void check_world(struct world *w, int next_tokens)
{
    kvcache_snapshot(w->kv, next_tokens, &w->snap);
    if (w->kind == KV_PAGED) check_paged_blocks(w);
    else check_contig_blocks(w);
    check_totals(w);
}

static struct treq *pick_live(struct world *w)
{
    int live[P_MAXREQ], n = 0;
    for (int i = 0; i < P_MAXREQ; i++) if (w->req[i].live) live[n++] = i;
    return n ? &w->req[live[rnd_in(&w->rng, 0, n - 1)]] : NULL;
}

/* First fit over the snapshot's unit owners (contiguous), -1 when none. */
static int model_first_fit(const struct world *w, int units)
{
    for (int u = 0, run = 0; u < w->n_blocks; u++) {
        run = w->snap.blocks[u].owner < 0 ? run + 1 : 0;
        if (run == units) return u - units + 1;
    }
    return -1;
}

static void op_admit(struct world *w, int slot)
{
    struct treq *r = &w->req[slot];
    memset(r, 0, sizeof *r);
    r->id = w->next_id++;
    r->n_prompt = rnd_in(&w->rng, 0, P_MAXSEQ / 2);
    int fam = rnd_in(&w->rng, 0, P_FAMILIES - 1);
    int shared = rnd(&w->rng) % 2 ? r->n_prompt : rnd_in(&w->rng, 0, r->n_prompt);
    for (int t = 0; t < r->n_prompt; t++)
        r->tok[t] = t < shared ? w->family[fam][t] : (int32_t)rnd_in(&w->rng, 0, 49);
    r->max_len = rnd(&w->rng) % 3 ? rnd_in(&w->rng, r->n_prompt > 0 ? r->n_prompt : 1, P_MAXSEQ) : 0;
    int probe = kvcache_prefix_probe(w->kv, r->tok, r->n_prompt);
    int units = (r->max_len ? r->max_len : P_MAXSEQ) / w->bs;
    units += ((r->max_len ? r->max_len : P_MAXSEQ) % w->bs) != 0;
    int fit = w->kind == KV_CONTIGUOUS ? model_first_fit(w, units) : 0;

    int c = kvcache_admit(w->kv, r->id, r->tok, r->n_prompt, r->max_len);
    if (c == KVC_NOSPACE) {
        cr_assert_eq(w->kind, KV_CONTIGUOUS);
        cr_assert_eq(fit, -1, "admission refused although a hole fits");
        return;
    }
    cr_assert_geq(c, 0, "admit: %s", kvcache_strerror(c));
    cr_assert_eq(c, probe, "admit found %d cached, probe said %d", c, probe);
    cr_assert(c == 0 || c < r->n_prompt);
    r->live = true;
    r->len = c;
    hashes_of(r->tok, r->n_prompt, r->h);
    check_world(w, 0);
    if (w->kind == KV_CONTIGUOUS) {
        cr_assert_eq(w->snap.blocks[fit].owner, r->id, "not first fit");
        cr_assert(fit == 0 || w->snap.blocks[fit - 1].owner != r->id);
    }
    check_data(w, r);   /* cached prefix rows hold this prompt's values */
}

static void op_release(struct world *w, struct treq *r);

static void op_append(struct world *w, struct treq *r)
{
    int n = rnd_in(&w->rng, 1, 2 * w->bs);
    struct kv_view before = view_of(w->kv, r->id);
    int32_t table[P_MAXSEQ];
    memcpy(table, before.table, (size_t)before.n_blocks * sizeof *table);
    int need = kvcache_blocks_needed(w->kv, r->id, n);
    int can = kvcache_can_append(w->kv, r->id, n);
    int st = kvcache_append(w->kv, r->id, n);
    cr_assert_eq(st, can);
    if (st != KVC_OK) {
        cr_assert(st == KVC_NOSPACE || st == KVC_TOOLONG, "append: %s", kvcache_strerror(st));
        if (st == KVC_TOOLONG) cr_assert_gt(r->len + n, r->max_len ? r->max_len : P_MAXSEQ);
        if (st == KVC_NOSPACE)
            cr_assert_gt(need, w->snap.totals.blocks_free + w->snap.totals.blocks_cached);
        struct kv_view after = view_of(w->kv, r->id);
        cr_assert_eq(kvcache_len(w->kv, r->id), r->len, "failed append changed the length");
        cr_assert_eq(after.n_blocks, before.n_blocks);
        cr_assert_arr_eq(after.table, table, (size_t)before.n_blocks * sizeof *table);
        check_data(w, r);
        if (st == KVC_TOOLONG && rnd(&w->rng) % 2) op_release(w, r);   /* reached its length: done */
        return;
    }
    for (int t = r->len; t < r->len + n; t++) {
        if (t >= r->n_prompt) r->tok[t] = (int32_t)rnd_in(&w->rng, 0, 49);   /* generated */
        r->h[t] = prefix_hash(t ? r->h[t - 1] : 1, r->tok[t]);
    }
    write_range(w->kv, r->id, r->len, r->len + n, r->h);
    r->len += n;
}

static void op_truncate(struct world *w, struct treq *r)
{
    int n = rnd_in(&w->rng, 0, r->len);
    cr_assert_eq(kvcache_truncate(w->kv, r->id, n), KVC_OK);
    r->len = n;
    if (r->n_prompt > n) r->n_prompt = n;   /* tokens past n will differ */
}

static void op_release(struct world *w, struct treq *r)
{
    check_data(w, r);
    cr_assert_eq(kvcache_release(w->kv, r->id), KVC_OK);
    r->live = false;
}

static void world_init(struct world *w, enum kv_alloc_kind kind, uint64_t seed)
{
    static const int sizes[3] = {8, 16, 32};
    memset(w, 0, sizeof *w);
    w->rng.s = seed * 0x2545f4914f6cdd1dull + 17;
    w->kind = kind;
    w->bs = sizes[seed % 3];
    w->n_blocks = rnd_in(&w->rng, 128, 256) / w->bs;
    bool prefix = seed % 4 != 0;
    w->kv = make_cache(kind, P_LAYERS, P_KVDIM, w->bs, w->n_blocks, P_MAXSEQ, P_MAXREQ, prefix);
    cr_assert_eq(kvcache_snapshot_init(&w->snap, w->kv), 0);
    for (int f = 0; f < P_FAMILIES; f++)
        for (int t = 0; t < P_MAXSEQ; t++) w->family[f][t] = (int32_t)rnd_in(&w->rng, 0, 49);
    check_world(w, 0);
}

/* Everything released: refcounts zero; free list full once the prefix cache
 * is cleared (paged), the whole arena one hole (contiguous). */
static void world_finish(struct world *w)
{
    for (int i = 0; i < P_MAXREQ; i++)
        if (w->req[i].live) op_release(w, &w->req[i]);
    check_world(w, 0);
    const struct kvcache_totals *t = &w->snap.totals;
    cr_assert_eq(t->blocks_used, 0);
    for (int b = 0; b < w->n_blocks; b++) cr_assert_eq(w->snap.blocks[b].refs, 0);
    kvcache_prefix_cache_clear(w->kv);
    kvcache_snapshot(w->kv, 0, &w->snap);
    cr_assert_eq(t->blocks_free, w->n_blocks, "free list full");
    cr_assert_eq(t->free_tokens, t->pool_tokens);
    cr_assert_eq(t->largest_free_run, t->pool_tokens);
    kvcache_snapshot_free(&w->snap);
    kvcache_destroy(w->kv);
}

static void run_random(enum kv_alloc_kind kind, uint64_t seed, uint64_t *hits, uint64_t *cows)
{
    struct world w;
    world_init(&w, kind, seed);
    for (int op = 0; op < P_OPS; op++) {
        int dice = rnd_in(&w.rng, 0, 99), free_slot = -1;
        for (int i = 0; i < P_MAXREQ && free_slot < 0; i++) if (!w.req[i].live) free_slot = i;
        struct treq *r = pick_live(&w);
        if (!r || (dice < 20 && free_slot >= 0)) op_admit(&w, free_slot);
        else if (dice < 70) op_append(&w, r);
        else if (dice < 82) cr_assert_eq(kvcache_commit(w.kv, r->id), KVC_OK);
        else if (dice < 90) op_truncate(&w, r);
        else op_release(&w, r);
        check_world(&w, rnd_in(&w.rng, 1, P_MAXSEQ));
        if (op % 16 == 0)
            for (int i = 0; i < P_MAXREQ; i++) if (w.req[i].live) check_data(&w, &w.req[i]);
    }
    *hits += w.snap.totals.prefix_hit_tokens;
    *cows += w.snap.totals.cow_copies;
    world_finish(&w);
}

Test(kvcache, random_paged_200_seeds, .timeout = 60)
{
    uint64_t hits = 0, cows = 0;
    for (uint64_t seed = 1; seed <= 200; seed++) run_random(KV_PAGED, seed, &hits, &cows);
    cr_assert_gt(hits, 0, "the random workload exercised prefix sharing");
    cr_assert_gt(cows, 0, "the random workload exercised copy-on-write");
}

/* The same random workloads on an f16 pool: copy-on-write and the views
 * move bytes, so every token's K/V survive exactly as rounded. */
Test(kvcache, random_paged_200_seeds_f16, .timeout = 60)
{
    uint64_t hits = 0, cows = 0;
    g_kv_type = DT_F16;
    for (uint64_t seed = 1; seed <= 200; seed++) run_random(KV_PAGED, seed, &hits, &cows);
    g_kv_type = DT_F32;
    cr_assert_gt(hits, 0);
    cr_assert_gt(cows, 0);
}

Test(kvcache, random_contiguous_200_seeds_f16, .timeout = 60)
{
    uint64_t hits = 0, cows = 0;
    g_kv_type = DT_F16;
    for (uint64_t seed = 1; seed <= 200; seed++) run_random(KV_CONTIGUOUS, seed, &hits, &cows);
    g_kv_type = DT_F32;
    cr_assert_eq(hits, 0);
    cr_assert_eq(cows, 0);
}

Test(kvcache, random_contiguous_200_seeds, .timeout = 60)
{
    uint64_t hits = 0, cows = 0;
    for (uint64_t seed = 1; seed <= 200; seed++) run_random(KV_CONTIGUOUS, seed, &hits, &cows);
    cr_assert_eq(hits, 0);
    cr_assert_eq(cows, 0);
}

/* ---- attention through paged vs contiguous views ----------------------- */

/* Causal attention in double, reading K/V only through kv_row_bytes():
 * q, out: [n_q][n_heads*head_dim]; queries at positions pos0 .. pos0+n_q-1. */
static void ref_attention(double *out, const float *q, const struct kv_view *kv, int layer,
                          int n_q, int pos0, int n_heads, int n_kv_heads, int hd)
{
    double scale = 1.0 / sqrt((double)hd), s[256];
    int group = n_heads / n_kv_heads;
    for (int i = 0; i < n_q; i++)
        for (int h = 0; h < n_heads; h++) {
            const float *qh = q + ((size_t)i * n_heads + h) * hd;
            int g = h / group, n_ctx = pos0 + i + 1;
            double mx = -INFINITY, sum = 0;
            for (int t = 0; t < n_ctx; t++) {
                double d = 0;
                for (int e = 0; e < hd; e++) d += (double)qh[e] * kv_get(kv, kv->k, layer, t, g * hd + e);
                s[t] = d * scale;
                if (s[t] > mx) mx = s[t];
            }
            for (int t = 0; t < n_ctx; t++) sum += s[t] = exp(s[t] - mx);
            double *o = out + ((size_t)i * n_heads + h) * hd;
            for (int e = 0; e < hd; e++) o[e] = 0;
            for (int t = 0; t < n_ctx; t++)
                for (int e = 0; e < hd; e++) o[e] += s[t] / sum * kv_get(kv, kv->v, layer, t, g * hd + e);
        }
}

static float frand(struct rng *r) { return (float)(rnd(r) >> 8) / 16777216.0f * 2.0f - 1.0f; }

/* Fill a request's first n tokens (all layers) with values from `src`
 * [layers][n][kv_dim] through its view. */
static void store_dense(const struct kv_view *v, int layers, int n, const float *ks, const float *vs)
{
    for (int l = 0; l < layers; l++)
        for (int t = 0; t < n; t++) {
            size_t off = ((size_t)l * n + t) * v->kv_dim;
            for (int d = 0; d < v->kv_dim; d++) {
                kv_put(v, v->k, l, t, d, ks[off + d]);
                kv_put(v, v->v, l, t, d, vs[off + d]);
            }
        }
}

/* Fill every row a request holds with noise, so a view that strays reads it. */
static void scribble(struct kvcache *kv, int id, struct rng *rng)
{
    struct kv_view v = view_of(kv, id);
    int n = kvcache_len(kv, id), layers = kvcache_get_config(kv)->n_layers;
    for (int l = 0; l < layers; l++)
        for (int t = 0; t < n; t++)
            for (int d = 0; d < v.kv_dim; d++) {
                kv_put(&v, v.k, l, t, d, 10 * frand(rng));
                kv_put(&v, v.v, l, t, d, 10 * frand(rng));
            }
}

static void attention_case(int bs, int n_heads, int n_kv_heads, int hd, int n_ctx, int n_q)
{
    const int layers = 2, kv_dim = n_kv_heads * hd;
    struct rng rng = {.s = (uint64_t)(bs * 1000 + n_ctx * 10 + n_kv_heads)};
    struct kvcache *pg = make_cache(KV_PAGED, layers, kv_dim, bs, 24, 128, 8, false);
    struct kvcache *ct = make_cache(KV_CONTIGUOUS, layers, kv_dim, bs, 24, 128, 8, false);

    /* scatter the paged request's blocks: interleave with others, free some */
    for (int id = 1; id <= 3; id++) {
        cr_assert_eq(kvcache_admit(pg, id, NULL, 0, 0), 0);
        cr_assert_eq(kvcache_append(pg, id, bs * id), KVC_OK);
    }
    kvcache_release(pg, 2);
    cr_assert_eq(kvcache_admit(pg, 9, NULL, 0, 0), 0);
    for (int t = 0; t < n_ctx; t += bs) {
        int n = n_ctx - t < bs ? n_ctx - t : bs;
        cr_assert_eq(kvcache_append(pg, 9, n), KVC_OK);
        if (t == bs) cr_assert_eq(kvcache_append(pg, 1, bs), KVC_OK);
    }
    for (int id = 1; id <= 3; id++) if (kvcache_len(pg, id) >= 0) scribble(pg, id, &rng);
    struct kv_view vp = view_of(pg, 9);
    bool scattered = false;
    for (int i = 1; i < vp.n_blocks; i++) scattered |= vp.table[i] != vp.table[i - 1] + 1;
    cr_assert(scattered || vp.n_blocks < 3, "paged table should not be one run");

    /* contiguous request at a nonzero arena offset, neighbours scribbled */
    cr_assert_eq(kvcache_admit(ct, 1, NULL, 0, bs + 3), 0);
    cr_assert_eq(kvcache_admit(ct, 9, NULL, 0, n_ctx + 5), 0);
    cr_assert_eq(kvcache_admit(ct, 2, NULL, 0, 20), 0);
    cr_assert_eq(kvcache_append(ct, 1, bs + 3), KVC_OK);
    cr_assert_eq(kvcache_append(ct, 2, 20), KVC_OK);
    cr_assert_eq(kvcache_append(ct, 9, n_ctx), KVC_OK);
    scribble(ct, 1, &rng);
    scribble(ct, 2, &rng);
    struct kv_view vc = view_of(ct, 9);

    size_t nkv = (size_t)layers * n_ctx * kv_dim, nq = (size_t)n_q * n_heads * hd;
    float *ks = malloc(nkv * sizeof *ks), *vs = malloc(nkv * sizeof *vs), *q = malloc(nq * sizeof *q);
    double *op = malloc(nq * sizeof *op), *oc = malloc(nq * sizeof *oc), *od = malloc(nq * sizeof *od);
    cr_assert(ks && vs && q && op && oc && od);
    for (size_t i = 0; i < nkv; i++) { ks[i] = kv_held(&vp, frand(&rng)); vs[i] = kv_held(&vp, frand(&rng)); }
    for (size_t i = 0; i < nq; i++) q[i] = frand(&rng);
    store_dense(&vp, layers, n_ctx, ks, vs);
    store_dense(&vc, layers, n_ctx, ks, vs);

    /* dense reference: the same K/V as one contiguous [n_ctx][kv_dim] layer */
    int32_t zero = 0;
    struct kv_view vd = {.k = ks, .v = vs, .layer_stride = (size_t)n_ctx * kv_dim, .table = &zero,
                         .n_blocks = 1, .block_size = n_ctx, .kv_dim = kv_dim};
    for (int l = 0; l < layers; l++) {
        int pos0 = n_ctx - n_q;
        ref_attention(op, q, &vp, l, n_q, pos0, n_heads, n_kv_heads, hd);
        ref_attention(oc, q, &vc, l, n_q, pos0, n_heads, n_kv_heads, hd);
        ref_attention(od, q, &vd, l, n_q, pos0, n_heads, n_kv_heads, hd);
        for (size_t i = 0; i < nq; i++) {
            cr_assert_eq(op[i], oc[i], "bs %d layer %d out[%zu]: paged %.17g contiguous %.17g",
                         bs, l, i, op[i], oc[i]);
            cr_assert_eq(op[i], od[i], "bs %d layer %d out[%zu] vs dense", bs, l, i);
        }
    }
    free(ks); free(vs); free(q); free(op); free(oc); free(od);
    kvcache_destroy(pg);
    kvcache_destroy(ct);
}

Test(kvcache, paged_and_contiguous_views_give_equal_attention)
{
    attention_case(8, 4, 2, 5, 37, 3);     /* GQA, odd sizes */
    attention_case(16, 3, 3, 8, 50, 1);    /* MHA, decode */
    attention_case(32, 6, 1, 4, 71, 7);    /* MQA, 3 blocks */
    attention_case(8, 9, 3, 6, 9, 9);      /* prefill of the whole context */
}

Test(kvcache, paged_and_contiguous_views_give_equal_attention_f16)
{
    g_kv_type = DT_F16;
    attention_case(8, 4, 2, 5, 37, 3);
    attention_case(32, 6, 1, 4, 71, 7);
    g_kv_type = DT_F32;
}

/* ---- admission policy inside the allocator ----------------------------- */

Test(kvcache, paged_admission_keeps_a_block_of_headroom_per_running_request)
{
    /* 8 blocks of 4 tokens; a 9-token context needs 3 blocks */
    struct kvcache *kv = make_cache(KV_PAGED, 1, 4, 4, 8, 64, 4, false);
    int32_t p[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    cr_assert_eq(kvcache_can_admit(kv, p, 9, 20, 0, 0), KVC_OK, "nothing running: always admit");
    cr_assert_eq(kvcache_admit_request(kv, 1, p, 9, 20), 0);
    cr_assert_eq(kvcache_append(kv, 1, 9), KVC_OK);            /* 3 blocks held, 5 free */
    /* 3 blocks + headroom for 1 running + 1 = 5: admitted; with 2 running it needs 6 */
    cr_assert_eq(kvcache_can_admit(kv, p, 9, 20, 1, 0), KVC_OK);
    cr_assert_eq(kvcache_can_admit(kv, p, 9, 20, 2, 0), KVC_NOSPACE);
    /* a running request whose prompt is admitted but not appended will take its blocks too */
    cr_assert_eq(kvcache_can_admit(kv, p, 9, 20, 1, 1), KVC_NOSPACE, "3 + 1 pending + 1 + 1 > 5 free");
    /* grows on demand: the reservation is the request's own need_len, not max_seq */
    struct kv_view v;
    cr_assert_eq(kvcache_view(kv, 1, &v), KVC_OK);
    cr_assert_eq(kvcache_can_append(kv, 1, 11), KVC_OK);
    cr_assert_eq(kvcache_can_append(kv, 1, 12), KVC_TOOLONG);
    kvcache_destroy(kv);
}

Test(kvcache, contiguous_admission_reserves_max_seq)
{
    /* arena of 8 units of 4 tokens = 32; max_seq 16: two reservations fit */
    struct kvcache *kv = make_cache(KV_CONTIGUOUS, 1, 4, 4, 8, 16, 4, false);
    int32_t p[3] = {1, 2, 3};
    cr_assert_eq(kvcache_admit_request(kv, 1, p, 3, 5), 0);
    cr_assert_eq(kvcache_can_append(kv, 1, 13), KVC_OK, "reserved max_seq, not need_len");
    cr_assert_eq(kvcache_can_admit(kv, p, 3, 5, 1, 0), KVC_OK);
    cr_assert_eq(kvcache_admit_request(kv, 2, p, 3, 5), 0);
    cr_assert_eq(kvcache_can_admit(kv, p, 3, 5, 2, 0), KVC_NOSPACE, "no hole of max_seq left");
    kvcache_destroy(kv);
}

Test(kvcache, fits_empty_says_when_waiting_cannot_help)
{
    char why[256] = "";
    struct kvcache *kv = make_cache(KV_PAGED, 1, 4, 8, 2, 1024, 4, false);
    cr_assert(kvcache_fits_empty(kv, 16, why, sizeof why));
    cr_assert_not(kvcache_fits_empty(kv, 17, why, sizeof why));
    cr_assert_str_eq(why, "KV pool too small: a request needs 17 tokens, the pool holds 16 (2 blocks of 8); "
                          "raise kv_mem or kv_blocks, or shorten the request");
    kvcache_destroy(kv);
    kv = make_cache(KV_CONTIGUOUS, 1, 4, 8, 2, 32, 4, false);
    cr_assert_not(kvcache_fits_empty(kv, 4, why, sizeof why), "contiguous reserves max_seq = 32 > 16");
    cr_assert(strstr(why, "reserves max_seq = 32 tokens per request, the pool holds 16"), "%s", why);
    kvcache_destroy(kv);
}
