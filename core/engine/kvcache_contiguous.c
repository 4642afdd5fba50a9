/* core/engine/kvcache_contiguous.c — the contiguous allocator (kvcache.h,
 * kv=contiguous): each admitted request reserves max_seq tokens in one piece,
 * first fit over the token arena (managed in units of block_size tokens). */
#include "core/engine/kvcache_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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


/* ---- ops ---------------------------------------------------------------- */

/* One table entry: {0}; the view's base is the reservation (kvcache.h). */
static int contig_table_entries(const struct kvcache_config *c)
{
    (void)c;
    return 1;
}

static int contig_init(struct kvcache *kv)
{
    bool ok = true;
    kv->order = kv_xcalloc((size_t)kv->cfg.max_requests, sizeof *kv->order, &ok);
    return ok ? 0 : -1;
}

static void contig_destroy(struct kvcache *kv) { free(kv->order); }

/* A server does not know how long an answer will be: each request reserves
 * max_seq (max_len 0), the over-provisioning PagedAttention removes. */
static int contig_policy_max_len(const struct kvcache *kv, int need_len)
{
    (void)kv; (void)need_len;
    return 0;
}

static int contig_can_admit(const struct kvcache *kv, const int32_t *tokens, int n_tokens, int n_running,
                            int pending_blocks)
{
    (void)tokens; (void)n_tokens; (void)n_running; (void)pending_blocks;
    int pos;
    return contig_first_fit(kv, contig_units(kv, kv->cfg.max_seq), &pos) < 0 ? KVC_NOSPACE : KVC_OK;
}

static int64_t contig_hold_tokens(const struct kvcache *kv, int need_len)
{
    (void)need_len;
    return (int64_t)contig_units(kv, kv->cfg.max_seq) * kv->cfg.block_size;
}

static int contig_prefix_probe(const struct kvcache *kv, const int32_t *prompt, int n_prompt)
{
    (void)kv; (void)prompt; (void)n_prompt;
    return 0;
}

static int contig_admit_ops(struct kvcache *kv, struct kv_req *r, int slot, const int32_t *prompt, int n_prompt)
{
    (void)prompt; (void)n_prompt;
    return contig_admit(kv, r, slot);
}

/* Admission is a first-fit reservation: appends take no blocks. */
static int contig_blocks_needed(const struct kvcache *kv, const struct kv_req *r, int n)
{
    (void)kv; (void)r; (void)n;
    return 0;
}

static int contig_blocks_available(const struct kvcache *kv)
{
    (void)kv;
    return 0;
}

static void contig_append(struct kvcache *kv, struct kv_req *r, int n)
{
    (void)kv;
    r->len += n;
}

static void contig_nothing(struct kvcache *kv, struct kv_req *r) { (void)kv; (void)r; }
static void contig_truncate(struct kvcache *kv, struct kv_req *r, int n) { (void)kv; (void)r; (void)n; }
static void contig_prefix_clear(struct kvcache *kv) { (void)kv; }

static void contig_release_ops(struct kvcache *kv, struct kv_req *r, int slot)
{
    (void)r;
    contig_release(kv, slot);
}

/* See kvcache.h: base at the reservation, table {0}, one block. */
static void contig_view(const struct kvcache *kv, const struct kv_req *r, struct kv_view *out)
{
    const struct kvcache_config *c = &kv->cfg;
    size_t row0 = (size_t)r->start_unit * c->block_size * c->kv_dim * kv->elem;
    out->k = kv->k + row0;
    out->v = kv->v + row0;
    out->n_blocks = 1;
    out->block_size = r->n_blocks * c->block_size;
}

static void contig_snap_blocks(const struct kvcache *kv, struct kvcache_snapshot *s)
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

/* Holes: the longest one, and the free rows in holes too small for
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


static void contig_snap_free(const struct kvcache *kv, int next_req_tokens, struct kvcache_totals *t)
{
    int tokens = next_req_tokens > 0 ? next_req_tokens : kv->cfg.max_seq;
    snap_holes(kv, contig_units(kv, tokens), t);
}

const struct kv_alloc_ops KV_CONTIGUOUS_OPS = {
    .kind = KV_CONTIGUOUS,
    .table_entries = contig_table_entries,
    .init = contig_init,
    .destroy = contig_destroy,
    .policy_max_len = contig_policy_max_len,
    .can_admit = contig_can_admit,
    .hold_tokens = contig_hold_tokens,
    .admit = contig_admit_ops,
    .prefix_probe = contig_prefix_probe,
    .blocks_needed = contig_blocks_needed,
    .blocks_available = contig_blocks_available,
    .append = contig_append,
    .commit = contig_nothing,
    .truncate = contig_truncate,
    .release = contig_release_ops,
    .view = contig_view,
    .prefix_clear = contig_prefix_clear,
    .snap_blocks = contig_snap_blocks,
    .snap_free = contig_snap_free,
};
