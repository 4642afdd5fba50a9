/* tui/kvmap.h — the KV block map's model: which glyph and owner each map
 * cell shows when one cell stands for `per` blocks. Pure (no curses), so the
 * cells of a canned snapshot are unit-tested. */
#ifndef INFERTOP_KVMAP_H
#define INFERTOP_KVMAP_H

#include "core/engine/runner.h"

enum kv_cell_kind {
    KC_FREE,        /* every block free */
    KC_CACHED,      /* no holder, but prefix-cache content kept (evictable) */
    KC_RESERVED,    /* held, no token yet: reserved-but-empty (contiguous over-provisioning) */
    KC_PARTIAL,     /* held, partly filled */
    KC_FULL,        /* held, every token slot filled */
    KC_SHARED,      /* a block held by several requests (shared prefix) */
};

struct kv_cell {
    enum kv_cell_kind kind;
    int owner;      /* request id for the color (-1: none) */
};

/* Blocks per cell so that n_blocks fit in `cells` cells (>= 1). */
int kvmap_blocks_per_cell(int n_blocks, int cells);

/* Cell `i` of the map over blocks [i*per, (i+1)*per): shared if any block is
 * shared, else the held blocks' fill decides by majority (more than half
 * full: FULL, more than half empty: RESERVED, else PARTIAL; so a cell of a
 * contiguous reservation still shows used vs reserved-but-empty) and the
 * owner is the first holder; with no holder, CACHED if any block is cached,
 * else FREE. */
struct kv_cell kvmap_cell(const struct kv_block_info *blocks, int n_blocks, int block_size, int per, int i);

#endif
