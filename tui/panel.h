/* tui/panel.h — what every panel shares: the UI state (focus, view, scroll,
 * click regions), the draw signature and small drawing helpers.
 *
 * A panel draws into its own window (sized by layout.c) from a const
 * struct tui_data; it never calls the runner, the engine or a backend. */
#ifndef INFERTOP_PANEL_H
#define INFERTOP_PANEL_H

#include "tui/data.h"
#include "tui/keys.h"
#include "tui/layout.h"
#include "tui/theme.h"

#include <curses.h>

#define UI_MAX_CLICKS 96

/* A screen region that acts like a key when clicked. */
struct click_region { int y, x0, x1; int key; int panel; };

enum req_sort { SORT_ID, SORT_STATE, SORT_PROMPT, SORT_GEN, SORT_BLOCKS, SORT_TTFT, SORT_TOKS, SORT_COUNT };

struct ui_state {
    enum view_id view;
    int focus;                /* enum panel_id of the focused body panel */
    bool zoom;
    bool help;
    int help_scroll;
    enum req_sort sort;
    bool sort_desc;
    int reqs_scroll;
    char status[160];         /* last action, shown in the header */
    double status_at;         /* elapsed_s when set */
    unsigned key_mode;        /* KM_LIVE or KM_REPLAY: which keys act and show in the footer */
    struct click_region clicks[UI_MAX_CLICKS];
    int n_clicks;
};

typedef void (*panel_draw_fn)(WINDOW *w, const struct tui_data *d, struct ui_state *ui);

void panel_header_draw(WINDOW *w, const struct tui_data *d, struct ui_state *ui);
void panel_kv_draw(WINDOW *w, const struct tui_data *d, struct ui_state *ui);
void panel_batch_draw(WINDOW *w, const struct tui_data *d, struct ui_state *ui);
void panel_phase_draw(WINDOW *w, const struct tui_data *d, struct ui_state *ui);
void panel_traffic_draw(WINDOW *w, const struct tui_data *d, struct ui_state *ui);
void panel_reqs_draw(WINDOW *w, const struct tui_data *d, struct ui_state *ui);
void panel_log_draw(WINDOW *w, const struct tui_data *d, struct ui_state *ui);
void panel_spec_draw(WINDOW *w, const struct tui_data *d, struct ui_state *ui);
void panel_pipe_draw(WINDOW *w, const struct tui_data *d, struct ui_state *ui);
void panel_footer_draw(WINDOW *w, const struct tui_data *d, struct ui_state *ui);
void panel_help_draw(WINDOW *w, const struct tui_data *d, struct ui_state *ui);

/* Lines of help text in a key mode (0 = KM_LIVE): the help lists the keys
 * that act there (the help screen scrolls when they do not fit). */
int panel_help_lines(const struct tui_data *d, unsigned mode);
/* Rows the header takes on a screen_rows x cols screen: identity, status and
 * one row of options (two from 30 rows on, when the options need them). */
int panel_header_rows(const struct tui_data *d, int cols, int screen_rows);

/* A border: line drawing with UTF-8, plain | - + without. */
void panel_box(WINDOW *w);
/* Border and title (focused: highlighted); the title is clickable (key `key`,
 * or focus-and-zoom when key is 0). */
void panel_frame(WINDOW *w, enum panel_id id, const char *title, const struct ui_state *ui,
                 struct ui_state *clicks);
/* Register a click region in screen coordinates from window coordinates. */
void ui_add_click(struct ui_state *ui, WINDOW *w, int y, int x, int len, int key, int panel);

/* Text in a role, clipped to the window's width. Returns the column after it. */
int put_text(WINDOW *w, int y, int x, enum role r, const char *s);
int put_fmt(WINDOW *w, int y, int x, enum role r, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* A glyph (UTF-8 or ASCII string of one cell) in a role. */
void put_glyph(WINDOW *w, int y, int x, enum role r, const char *g);

/* Name of a requests-table sort column. */
const char *reqs_sort_name(enum req_sort s);

/* 1234567 -> "1.23M" style (SI, 3 significant digits). */
void fmt_si(double v, char *out, size_t n);
/* Bytes: "12.3 MB" (decimal, like GB/s). */
void fmt_bytes(double v, char *out, size_t n);

#endif
