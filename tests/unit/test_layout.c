/* tui/layout.c: the pure layout function, for every size 80x24 .. 250x80,
 * every view, every zoom and every header height: panels stay inside the
 * screen, never overlap, and each shown panel is big enough to draw. */
#include "tui/layout.h"

#include <criterion/criterion.h>

static bool overlap(struct rect a, struct rect b)
{
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

static void check_layout(const struct layout *l, int rows, int cols, int view, int zoom, int hh)
{
    cr_assert(!l->too_small, "%dx%d marked too small", cols, rows);
    for (int p = 0; p < P_COUNT; p++) {
        struct rect r = l->r[p];
        if (!rect_visible(r)) continue;
        cr_assert(r.x >= 0 && r.y >= 0 && r.x + r.w <= cols && r.y + r.h <= rows,
                  "%s outside %dx%d (view %d zoom %d hh %d): %d,%d %dx%d", panel_name(p), cols, rows, view,
                  zoom, hh, r.x, r.y, r.w, r.h);
        if (p != P_HEADER && p != P_FOOTER)
            cr_assert(r.h >= 4 && r.w >= 30, "%s too small at %dx%d view %d: %dx%d", panel_name(p), cols,
                      rows, view, r.w, r.h);
        for (int q = p + 1; q < P_COUNT; q++)
            if (rect_visible(l->r[q]))
                cr_assert(!overlap(r, l->r[q]), "%s overlaps %s at %dx%d view %d zoom %d", panel_name(p),
                          panel_name(q), cols, rows, view, zoom);
    }
    cr_assert(rect_visible(l->r[P_HEADER]) && l->r[P_HEADER].y == 0);
    cr_assert(rect_visible(l->r[P_FOOTER]) && l->r[P_FOOTER].y == rows - 1);
}

/* The panels each view promises. */
static void check_view_panels(const struct layout *l, int view, int zoom)
{
    if (zoom >= 0) {
        cr_assert(rect_visible(l->r[zoom]));
        return;
    }
    static const int OVERVIEW[] = {P_KV, P_BATCH, P_PHASE, P_TRAFFIC, P_REQS};
    static const int MEMORY[] = {P_KV, P_REQS};
    static const int TIMING[] = {P_BATCH, P_PHASE, P_TRAFFIC};
    static const int SPEC[] = {P_SPEC};
    static const int PARALLEL[] = {P_PIPE, P_TRAFFIC};
    const int *want = view == VIEW_MEMORY ? MEMORY : view == VIEW_TIMING ? TIMING : view == VIEW_SPEC ? SPEC
                    : view == VIEW_PARALLEL ? PARALLEL : OVERVIEW;
    int n = view == VIEW_MEMORY ? 2 : view == VIEW_TIMING ? 3 : view == VIEW_SPEC ? 1 : view == VIEW_PARALLEL ? 2 : 5;
    for (int i = 0; i < n; i++) cr_assert(rect_visible(l->r[want[i]]), "view %d lacks %s", view, panel_name(want[i]));
}

Test(layout, every_size_view_and_zoom)
{
    static const int ZOOMS[] = {-1, P_KV, P_BATCH, P_PHASE, P_TRAFFIC, P_REQS, P_LOG, P_SPEC, P_PIPE};
    struct layout l;
    for (int rows = LAYOUT_MIN_ROWS; rows <= 80; rows++)
        for (int cols = LAYOUT_MIN_COLS; cols <= 250; cols++)
            for (int view = 0; view < VIEW_COUNT; view++)
                for (int z = 0; z < 9; z++)
                    for (int hh = 3; hh <= 7; hh += 4) {
                        layout_compute(rows, cols, hh, view, ZOOMS[z], &l);
                        check_layout(&l, rows, cols, view, ZOOMS[z], hh);
                        check_view_panels(&l, view, ZOOMS[z]);
                    }
}

Test(layout, body_is_fully_used_in_overview)
{
    struct layout l;
    layout_compute(40, 120, 5, VIEW_OVERVIEW, -1, &l);
    long area = 0;
    for (int p = 0; p < P_COUNT; p++) area += (long)l.r[p].w * l.r[p].h;
    cr_assert_eq(area, 40L * 120, "panels cover %ld of %d cells", area, 40 * 120);
    cr_assert(rect_visible(l.r[P_LOG]), "a 120x40 screen shows the log");
}

Test(layout, too_small_below_80x24)
{
    struct layout l;
    layout_compute(23, 80, 5, VIEW_OVERVIEW, -1, &l);
    cr_assert(l.too_small);
    layout_compute(24, 79, 5, VIEW_OVERVIEW, -1, &l);
    cr_assert(l.too_small);
    layout_compute(20, 60, 5, VIEW_OVERVIEW, -1, &l);
    cr_assert(l.too_small);
    for (int p = 0; p < P_COUNT; p++) cr_assert(!rect_visible(l.r[p]));
}

Test(layout, header_height_is_clamped)
{
    struct layout l;
    layout_compute(30, 100, 12, VIEW_OVERVIEW, -1, &l);
    cr_assert_eq(l.r[P_HEADER].h, 7);
    layout_compute(30, 100, 1, VIEW_OVERVIEW, -1, &l);
    cr_assert_eq(l.r[P_HEADER].h, 3);
}
