/* tui/panel_help.c — the `?` screen: every key of the table with what it
 * does (option keys add the registry's help and what a change does, from the
 * option's class), every option's current value (the header shows only the
 * key-bound and changed ones), the map legend, the views, and what the TUI
 * itself costs. */
#include "tui/panel.h"

#include <stdio.h>
#include <string.h>

static unsigned mode_or_live(unsigned mode) { return mode ? mode : KM_LIVE; }

/* The keys that act in `mode` (live or replay). */
static int draw_keys(WINDOW *w, int y, unsigned mode)
{
    int n;
    const struct key_binding *t = keys_table(&n);
    char line[512];
    for (int i = 0; i < n; i++) {
        if (!(t[i].modes & mode_or_live(mode))) continue;
        keys_describe(&t[i], line, sizeof line);
        put_fmt(w, y, 1, ROLE_KEY, "%-7s", t[i].name);
        put_text(w, y++, 9, ROLE_NORMAL, line);
    }
    return y;
}

static int draw_legend(WINDOW *w, int y)
{
    const struct glyphs *g = theme_glyphs();
    int x = put_text(w, y, 1, ROLE_LABEL, "KV map: ");
    const char *glyph[6] = {g->kv_full, g->kv_partial, g->kv_reserved, g->kv_shared, g->kv_cached, g->kv_free};
    const char *name[6] = {"full block", "partly filled", "reserved but empty", "shared prefix", "cached (evictable)", "free"};
    for (int i = 0; i < 6; i++) {
        put_glyph(w, y, x, i == 3 ? ROLE_SHARED : i >= 4 ? ROLE_FREE : ROLE_OWNER0, glyph[i]);
        x = put_text(w, y, x + 1, ROLE_NORMAL, name[i]) + 2;
    }
    y++;
    x = put_text(w, y, 1, ROLE_LABEL, "graphs: one column per engine step; ");
    put_glyph(w, y, x, ROLE_MARKER, g->marker);
    put_text(w, y, x + 1, ROLE_NORMAL, " marks the step where an option change applied");
    y++;
    put_text(w, y, 1, ROLE_LABEL, "KV numbers: rsv-empty and int frag in % of allocated tokens, ext frag in % of free tokens");
    return y + 1;
}

#define HELP_MIN_WIDTH 73    /* text columns of the help window at 80 columns */

/* Every option's "name=value" flowed from column 1 at `width`; draws when w
 * is not NULL. Returns the rows taken. */
static int flow_options(WINDOW *w, int y, int width, const struct options *o)
{
    int x = 1, rows = 1;
    for (int i = 0; i < OPT_COUNT; i++) {
        const char *name = option_def((enum opt_id)i)->name, *value = opt_s(o, (enum opt_id)i);
        int len = (int)strlen(name) + 1 + (int)strlen(value);
        if (x > 1 && x + len >= width) { rows++; y++; x = 1; }
        if (w) {
            int x1 = put_fmt(w, y, x, ROLE_LABEL, "%s=", name);
            put_text(w, y, x1, ROLE_VALUE, value);
        }
        x += len + 1;
    }
    return rows;
}

/* Lines of the help text in a key mode (for scrolling). */
int panel_help_lines(const struct tui_data *d, unsigned mode)
{
    int n, keys = 0;
    const struct key_binding *t = keys_table(&n);
    for (int i = 0; i < n; i++) keys += (t[i].modes & mode_or_live(mode)) != 0;
    return keys + 9 + flow_options(NULL, 0, HELP_MIN_WIDTH, &d->st->opt);
}

void panel_help_draw(WINDOW *w, const struct tui_data *d, struct ui_state *ui)
{
    int h, wd;
    getmaxyx(w, h, wd);
    werase(w);
    wattrset(w, theme_attr(ROLE_FOCUS));
    panel_box(w);
    wattrset(w, 0);
    put_text(w, 0, 2, ROLE_FOCUS, " help: keys (Up/Down scroll, any other key closes) ");
    WINDOW *in = derwin(w, h - 2, wd - 2, 1, 1);
    if (!in) return;
    int y = -ui->help_scroll;        /* every option first: the header shows only some */
    put_text(in, y, 1, ROLE_LABEL, "options now (`infertop options` says what each does):");
    y += 1 + flow_options(in, y + 1, wd - 2, &d->st->opt);
    y = draw_keys(in, y + 1, ui->key_mode);
    y = draw_legend(in, y + 1);
    put_fmt(in, y, 1, ROLE_LABEL, "views: overview, memory, timing (now: %s).  Click a footer key or a panel title.",
            view_name(ui->view));
    put_fmt(in, y + 1, 1, ROLE_LABEL, "TUI thread: %.2f ms/frame (max %.2f), %.1f%% of one CPU; %llu steps dropped by the ring",
            d->frame_ms, d->frame_ms_max, d->cpu_pct, (unsigned long long)d->steps_lost);
    delwin(in);
}
