/* tui/layout.h — where every panel goes: a PURE function of the terminal
 * size, the header height, the view and the zoomed panel. No curses calls, so
 * tests/unit/test_layout.c checks it for every size from 80x24 to 250x80. */
#ifndef INFERTOP_LAYOUT_H
#define INFERTOP_LAYOUT_H

#include <stdbool.h>

#define LAYOUT_MIN_COLS 80
#define LAYOUT_MIN_ROWS 24

enum panel_id { P_HEADER, P_KV, P_BATCH, P_PHASE, P_TRAFFIC, P_REQS, P_LOG, P_SPEC, P_PIPE, P_FOOTER, P_COUNT };

/* Views: which body panels show and how big. */
enum view_id { VIEW_OVERVIEW, VIEW_MEMORY, VIEW_TIMING, VIEW_SPEC, VIEW_PARALLEL, VIEW_COUNT };

struct rect { int y, x, h, w; };    /* h == 0 or w == 0: hidden */

struct layout {
    bool too_small;                  /* below LAYOUT_MIN_COLS x LAYOUT_MIN_ROWS: nothing placed */
    struct rect r[P_COUNT];
};

const char *panel_name(enum panel_id p);
const char *view_name(enum view_id v);

static inline bool rect_visible(struct rect r) { return r.h > 0 && r.w > 0; }

/* Place the panels on a rows x cols screen. header_h: rows the header wants
 * (clamped to 3..7). zoom: a body panel to give the whole body, or -1. The
 * header is on top, the footer on the last row; body panels tile the rest
 * without overlapping. */
void layout_compute(int rows, int cols, int header_h, enum view_id view, int zoom, struct layout *out);

#endif
