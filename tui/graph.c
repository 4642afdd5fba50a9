/* tui/graph.c — see graph.h. */
#include "tui/graph.h"
#include "tui/panel.h"

#include <math.h>
#include <string.h>

void series_from_steps(const struct tui_data *d, int cols, step_value_fn fa, step_value_fn fb,
                       struct series *out)
{
    if (cols > GRAPH_MAX_COLS) cols = GRAPH_MAX_COLS;
    int n = data_n_steps(d);
    if (n > cols) n = cols;
    out->n = n;
    for (int i = 0; i < n; i++) {
        const struct step_record *s = data_step_back(d, n - 1 - i);
        const struct step_record *prev = data_step_back(d, n - i);
        out->a[i] = fa(s);
        out->b[i] = fb ? fb(s) : 0;
        uint64_t after = prev ? prev->index : s->index - (s->index > 0);
        out->mark[i] = data_marker_between(d, after, s->index);
    }
}

double series_max(const struct series *s)
{
    double m = 0;
    for (int i = 0; i < s->n; i++)
        if (s->a[i] + s->b[i] > m) m = s->a[i] + s->b[i];
    return m;
}

static int clamp8(double v)
{
    return v <= 0 ? 0 : v >= 8 ? 8 : (int)lround(v);
}

/* One graph column: height in eighths for the bottom series and the total. */
static void draw_column(WINDOW *win, int y, int x, int h, int ea, int et, bool mark, enum role ra,
                        enum role rb)
{
    const struct glyphs *g = theme_glyphs();
    for (int r = 0; r < h; r++) {
        int cy = y + h - 1 - r;
        int ca = clamp8(ea - 8 * r), ct = clamp8(et - 8 * r);
        if (ca == 8) put_glyph(win, cy, x, ra, g->eighths[8]);
        else if (ca > 0) put_glyph(win, cy, x, ra, g->eighths[ca]);
        else if (ct == 8) put_glyph(win, cy, x, rb, g->utf8 || !theme_has_colors() ? g->shade : g->eighths[8]);
        else if (ct > 0) put_glyph(win, cy, x, rb, g->eighths[ct]);
        else if (mark) put_glyph(win, cy, x, ROLE_MARKER, r == h - 1 ? g->marker : g->vline);
    }
}

void graph_columns(WINDOW *win, int y, int x, int h, int w, const struct series *s, double max,
                   enum role ra, enum role rb)
{
    if (h <= 0 || w <= 0) return;
    int n = s->n < w ? s->n : w;
    int first = s->n - n;
    for (int i = 0; i < n; i++) {
        double a = s->a[first + i], t = a + s->b[first + i];
        int ea = max > 0 ? (int)lround(a / max * h * 8) : 0;
        int et = max > 0 ? (int)lround(t / max * h * 8) : 0;
        if (a > 0 && ea == 0) ea = 1;            /* a nonzero value never vanishes */
        if (t > a && et == ea) et = ea + 1;
        draw_column(win, y, x + w - n + i, h, ea, et, s->mark[first + i], ra, rb);
    }
}

void graph_hbar(WINDOW *win, int y, int x, int w, const double *parts, const enum role *roles, int n,
                double total)
{
    const struct glyphs *g = theme_glyphs();
    if (total <= 0 || w <= 0) return;
    double acc = 0;
    int col = 0;
    for (int p = 0; p < n; p++) {
        acc += parts[p];
        int end = (int)lround(acc / total * w);
        if (end > w) end = w;
        /* without colors, alternate full and shaded cells so parts stay apart */
        const char *glyph = !theme_has_colors() && (p % 2) ? g->shade : g->hbar[8];
        for (; col < end; col++) put_glyph(win, y, x + col, roles[p], glyph);
    }
}
