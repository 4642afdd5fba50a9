/* tui/kvmap.c — see kvmap.h. */
#include "tui/kvmap.h"

int kvmap_blocks_per_cell(int n_blocks, int cells)
{
    if (cells <= 0) return n_blocks > 0 ? n_blocks : 1;
    int per = (n_blocks + cells - 1) / cells;
    return per < 1 ? 1 : per;
}

struct kv_cell kvmap_cell(const struct kv_block_info *blocks, int n_blocks, int block_size, int per, int i)
{
    struct kv_cell c = {KC_FREE, -1};
    int lo = i * per, hi = lo + per < n_blocks ? lo + per : n_blocks;
    int held = 0, full = 0, empty = 0;
    bool shared = false, cached = false;
    for (int b = lo; b < hi; b++) {
        const struct kv_block_info *k = &blocks[b];
        if (k->state == KVB_CACHED) cached = true;
        if (k->refs <= 0) continue;
        if (held++ == 0) c.owner = k->owner;
        if (k->refs > 1 || k->state == KVB_SHARED) shared = true;
        if (k->fill >= block_size) full++;
        else if (k->fill <= 0) empty++;
    }
    if (shared) c.kind = KC_SHARED;
    else if (held && 2 * full > held) c.kind = KC_FULL;         /* most held blocks full */
    else if (held && 2 * empty > held) c.kind = KC_RESERVED;    /* most held blocks empty */
    else if (held) c.kind = KC_PARTIAL;
    else if (cached) c.kind = KC_CACHED;
    return c;
}
