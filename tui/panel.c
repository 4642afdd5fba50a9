/* tui/panel.c — helpers shared by the panels (see panel.h). */
#include "tui/panel.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ui_add_click(struct ui_state *ui, WINDOW *w, int y, int x, int len, int key, int panel)
{
    if (!ui || ui->n_clicks >= UI_MAX_CLICKS || len <= 0) return;
    int by, bx;
    getbegyx(w, by, bx);
    struct click_region *c = &ui->clicks[ui->n_clicks++];
    c->y = by + y;
    c->x0 = bx + x;
    c->x1 = bx + x + len - 1;
    c->key = key;
    c->panel = panel;
}

/* Without UTF-8 output, a multi-byte sequence becomes one ASCII character
 * ("—" reads as "-", anything else as "?"), so text never garbles a C locale. */
static const char *ascii_only(const char *s, char *buf, size_t n)
{
    if (theme_glyphs()->utf8) return s;
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 1 < n;) {
        if (*p < 0x80) { buf[o++] = (char)*p++; continue; }
        bool dash = p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0x93 || p[2] == 0x94);
        buf[o++] = dash ? '-' : '?';
        p++;
        while ((*p & 0xc0) == 0x80) p++;
    }
    buf[o] = 0;
    return buf;
}

int put_text(WINDOW *w, int y, int x, enum role r, const char *s)
{
    char ascii[512];
    s = ascii_only(s, ascii, sizeof ascii);
    int maxy, maxx;
    getmaxyx(w, maxy, maxx);
    if (y < 0 || y >= maxy || x >= maxx || x < 0) return x;
    int room = maxx - x;
    int len = (int)strlen(s);
    wattrset(w, theme_attr(r));
    mvwaddnstr(w, y, x, s, len < room ? len : room);
    wattrset(w, 0);
    return x + (len < room ? len : room);
}

int put_fmt(WINDOW *w, int y, int x, enum role r, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return put_text(w, y, x, r, buf);
}

void put_glyph(WINDOW *w, int y, int x, enum role r, const char *g)
{
    int maxy, maxx;
    getmaxyx(w, maxy, maxx);
    if (y < 0 || y >= maxy || x < 0 || x >= maxx) return;
    wattrset(w, theme_attr(r));
    mvwaddstr(w, y, x, g);
    wattrset(w, 0);
}

void panel_box(WINDOW *w)
{
    if (theme_glyphs()->utf8) box(w, 0, 0);
    else wborder(w, '|', '|', '-', '-', '+', '+', '+', '+');   /* no line-drawing charset needed */
}

void panel_frame(WINDOW *w, enum panel_id id, const char *title, const struct ui_state *ui,
                 struct ui_state *clicks)
{
    bool focused = ui && ui->focus == (int)id;
    wattrset(w, theme_attr(focused ? ROLE_FOCUS : ROLE_DIM));
    panel_box(w);
    wattrset(w, 0);
    char t[128];
    snprintf(t, sizeof t, " %s ", title ? title : panel_name(id));
    int end = put_text(w, 0, 2, focused ? ROLE_FOCUS : ROLE_TITLE, t);
    ui_add_click(clicks, w, 0, 2, end - 2, 0, id);
}

void fmt_si(double v, char *out, size_t n)
{
    static const char *const SUFFIX[] = {"", "k", "M", "G", "T", "P"};
    int i = 0;
    double a = v < 0 ? -v : v;
    if (v == 0) { snprintf(out, n, "0"); return; }
    while (a >= 999.5 && i < 5) { a /= 1000; v /= 1000; i++; }
    if (a >= 99.95) snprintf(out, n, "%.0f%s", v, SUFFIX[i]);
    else if (a >= 9.995) snprintf(out, n, "%.1f%s", v, SUFFIX[i]);
    else snprintf(out, n, "%.2f%s", v, SUFFIX[i]);
}

void fmt_bytes(double v, char *out, size_t n)
{
    char s[32];
    fmt_si(v, s, sizeof s);
    snprintf(out, n, "%sB", s);
}
