/* tui/panel_footer.c — the footer bar, generated from the key table: keys
 * of the current mode (live or replay) in footer order, help and quit always
 * at the right end; every entry is clickable. */
#include "tui/panel.h"

#include <stdio.h>
#include <string.h>

#define FOOTER_FIXED 98     /* footer order from which entries are pinned right */

/* Cells an entry takes: " key label". */
static int entry_width(const struct key_binding *k)
{
    return 1 + (int)strlen(k->name) + 1 + (int)strlen(k->label);
}

static int draw_entry(WINDOW *w, int x, const struct key_binding *k, struct ui_state *ui)
{
    int x0 = x + 1;
    x = put_text(w, 0, x0, ROLE_KEY, k->name);
    x = put_text(w, 0, x, ROLE_KEYLABEL, " ");
    x = put_text(w, 0, x, ROLE_KEYLABEL, k->label);
    ui_add_click(ui, w, 0, x0, x - x0, k->key, -1);
    return x;
}

static unsigned g_mode;      /* the footer's key mode while drawing */

/* The next entry of the current mode by footer order after `prev_order`, or NULL. */
static const struct key_binding *next_in_order(int prev_order, int below)
{
    int n;
    const struct key_binding *t = keys_table(&n), *best = NULL;
    for (int i = 0; i < n; i++)
        if ((t[i].modes & g_mode) && t[i].footer > prev_order && t[i].footer < below &&
            (!best || t[i].footer < best->footer))
            best = &t[i];
    return best;
}

void panel_footer_draw(WINDOW *w, const struct tui_data *d, struct ui_state *ui)
{
    (void)d;
    int h, wd;
    getmaxyx(w, h, wd);
    (void)h;
    werase(w);
    g_mode = ui->key_mode ? ui->key_mode : KM_LIVE;
    int fixed_w = 0;
    for (const struct key_binding *k = next_in_order(FOOTER_FIXED - 1, 1000); k; k = next_in_order(k->footer, 1000))
        fixed_w += entry_width(k);
    int x = 0;
    for (const struct key_binding *k = next_in_order(0, FOOTER_FIXED); k; k = next_in_order(k->footer, FOOTER_FIXED)) {
        if (x + entry_width(k) > wd - fixed_w) break;
        x = draw_entry(w, x, k, ui);
    }
    x = wd - fixed_w;
    for (const struct key_binding *k = next_in_order(FOOTER_FIXED - 1, 1000); k; k = next_in_order(k->footer, 1000))
        x = draw_entry(w, x, k, ui);
}
