/* tui/graph.h — drawing widgets shared by the panels: a scrolling column
 * graph (one column per engine step, two stacked series, option-change
 * markers as vertical lines) and a horizontal stacked bar. */
#ifndef INFERTOP_GRAPH_H
#define INFERTOP_GRAPH_H

#include "tui/data.h"
#include "tui/theme.h"

#include <curses.h>

#define GRAPH_MAX_COLS 512

/* A series of one value per step, oldest first, as the graph draws it. */
struct series {
    int n;
    double a[GRAPH_MAX_COLS];     /* bottom part */
    double b[GRAPH_MAX_COLS];     /* stacked on top (0 for a single series) */
    bool mark[GRAPH_MAX_COLS];    /* an option change applied at this step */
};

typedef double (*step_value_fn)(const struct step_record *s);

/* The last `cols` steps of the history: a = fa(step), b = fb(step) (fb may be
 * NULL), mark = a marker lies between the previous column's step and this one. */
void series_from_steps(const struct tui_data *d, int cols, step_value_fn fa, step_value_fn fb,
                       struct series *out);
/* Largest a + b in the series (0 when empty). */
double series_max(const struct series *s);

/* Column graph in the box (y, x, h, w); newest column on the right, scale
 * [0, max]. Series a in role ra at the bottom, b in rb on top; marked
 * columns get a vertical line in their empty cells and a marker on top. */
void graph_columns(WINDOW *win, int y, int x, int h, int w, const struct series *s, double max,
                   enum role ra, enum role rb);

/* Horizontal stacked bar of `n` parts (values, roles) scaled to `total`. */
void graph_hbar(WINDOW *win, int y, int x, int w, const double *parts, const enum role *roles, int n,
                double total);

#endif
