/* tui/panel_kv.c — the KV block map (one cell per block, or per `per` blocks
 * when the pool is larger than the panel) and the pool's numbers beside it. */
#include "tui/kvmap.h"
#include "tui/panel.h"

#include <stdio.h>

#define STATS_W 21   /* "rsv-empty  30.3%", "allocated  1.23k tok" */

static const char *cell_glyph(enum kv_cell_kind k)
{
    const struct glyphs *g = theme_glyphs();
    switch (k) {
    case KC_FULL: return g->kv_full;
    case KC_PARTIAL: return g->kv_partial;
    case KC_RESERVED: return g->kv_reserved;
    case KC_SHARED: return g->kv_shared;
    case KC_CACHED: return g->kv_cached;
    default: return g->kv_free;
    }
}

static enum role cell_role(struct kv_cell c)
{
    if (c.kind == KC_FREE) return ROLE_FREE;
    if (c.kind == KC_CACHED) return ROLE_CACHED;
    if (c.kind == KC_SHARED) return ROLE_SHARED;
    return theme_owner_role(c.owner);
}

/* Map in the box (y, x, h, w): row-major cells. Returns blocks per cell. */
static int draw_map(WINDOW *win, const struct runner_state *st, int y, int x, int h, int w)
{
    if (h <= 0 || w <= 0 || st->n_blocks <= 0) return 1;
    int per = kvmap_blocks_per_cell(st->n_blocks, h * w);
    int cells = (st->n_blocks + per - 1) / per;
    for (int i = 0; i < cells && i < h * w; i++) {
        struct kv_cell c = kvmap_cell(st->blocks, st->n_blocks, st->block_size, per, i);
        put_glyph(win, y + i / w, x + i % w, cell_role(c), cell_glyph(c.kind));
    }
    return per;
}

static double pct(double a, double b) { return b > 0 ? 100.0 * a / b : 0; }

static void stat_line(WINDOW *w, int y, int x, const char *label, const char *value, enum role r)
{
    put_fmt(w, y, x, ROLE_LABEL, "%-10s", label);
    put_text(w, y, x + 11, r, value);
}

static void draw_stats(WINDOW *w, const struct runner_state *st, int y, int x, int h)
{
    const struct kvcache_totals *t = &st->kv;
    char v[10][40], a[16];
    const char *lab[10] = {"util", "used", "allocated", "free", "rsv-empty", "int frag", "ext frag",
                           "preempt", "prefix hit", "blocks"};
    snprintf(v[0], sizeof v[0], "%.1f%%", 100.0 * t->utilization);
    fmt_si((double)t->used_tokens, a, sizeof a); snprintf(v[1], sizeof v[1], "%s tok", a);
    fmt_si((double)t->allocated_tokens, a, sizeof a); snprintf(v[2], sizeof v[2], "%s tok", a);
    fmt_si((double)t->free_tokens, a, sizeof a); snprintf(v[3], sizeof v[3], "%s tok", a);
    snprintf(v[4], sizeof v[4], "%.1f%%", pct((double)t->reserved_empty_tokens, (double)t->allocated_tokens));
    snprintf(v[5], sizeof v[5], "%.1f%%", pct((double)t->internal_frag_tokens, (double)t->allocated_tokens));
    snprintf(v[6], sizeof v[6], "%.1f%%", pct((double)t->external_frag_tokens, (double)t->free_tokens));
    snprintf(v[7], sizeof v[7], "%llu", (unsigned long long)st->preemptions);
    snprintf(v[8], sizeof v[8], "%.0f%% of %llu", pct((double)t->prefix_hit_tokens, (double)t->prefix_query_tokens),
             (unsigned long long)t->prefix_query_tokens);
    snprintf(v[9], sizeof v[9], "%d x%d tok", st->n_blocks_total, st->block_size);
    enum role roles[10] = {ROLE_VALUE, ROLE_VALUE, ROLE_VALUE, ROLE_VALUE,
                           t->reserved_empty_tokens > 0 ? ROLE_WARN : ROLE_VALUE, ROLE_VALUE,
                           t->external_frag_tokens > 0 ? ROLE_WARN : ROLE_VALUE,
                           st->preemptions > 0 ? ROLE_BAD : ROLE_VALUE, ROLE_VALUE, ROLE_VALUE};
    for (int i = 0; i < 10 && i < h; i++) stat_line(w, y + i, x, lab[i], v[i], roles[i]);
}

static void draw_legend(WINDOW *w, int y, int x, int width)
{
    const struct glyphs *g = theme_glyphs();
    struct { const char *glyph, *name; enum role r; } items[] = {
        {g->kv_full, "full", ROLE_OWNER0}, {g->kv_partial, "part", ROLE_OWNER0},
        {g->kv_reserved, "rsv-empty", ROLE_OWNER0}, {g->kv_shared, "shared", ROLE_SHARED},
        {g->kv_cached, "cached", ROLE_CACHED}, {g->kv_free, "free", ROLE_FREE},
    };
    int cx = x;
    for (int i = 0; i < 6; i++) {
        int len = 2 + (int)snprintf(NULL, 0, "%s", items[i].name);
        if (cx + len > x + width) break;
        put_glyph(w, y, cx, items[i].r, items[i].glyph);
        cx = put_text(w, y, cx + 1, ROLE_DIM, items[i].name) + 1;
    }
}

void panel_kv_draw(WINDOW *w, const struct tui_data *d, struct ui_state *ui)
{
    int h, wd;
    getmaxyx(w, h, wd);
    werase(w);
    const struct runner_state *st = d->st;
    int stats_w = wd - 2 >= 2 * STATS_W ? STATS_W : (wd - 2) / 2;
    int map_w = wd - 2 - stats_w - 1, map_h = h - 2;
    bool legend = map_h >= 4;
    int per = 1;
    if (d->kv_note[0]) put_text(w, 1 + (map_h - 1) / 2, 1 + (map_w > 24 ? (map_w - 24) / 2 : 0), ROLE_DIM, d->kv_note);
    else per = draw_map(w, st, 1, 1, map_h - legend, map_w);
    if (legend) draw_legend(w, h - 2, 1, map_w);
    draw_stats(w, st, 1, wd - 1 - stats_w, h - 2);
    char title[128];
    snprintf(title, sizeof title, "KV cache %s, %d blk, 1 cell = %d block%s", kv_alloc_name(st->kv_kind),
             st->n_blocks_total, per, per == 1 ? "" : "s");
    panel_frame(w, P_KV, title, ui, ui);
}
