/* tui/panel_log.c — the runner's log (option changes, restarts, errors) and
 * the TUI's own messages, newest at the bottom. */
#include "tui/panel.h"

#include <string.h>

static enum role line_role(const char *s)
{
    if (strstr(s, "error")) return ROLE_BAD;
    if (strstr(s, "applied") || strstr(s, "rebuilds")) return ROLE_MARKER;
    return ROLE_NORMAL;
}

void panel_log_draw(WINDOW *w, const struct tui_data *d, struct ui_state *ui)
{
    int h, wd;
    getmaxyx(w, h, wd);
    (void)wd;
    werase(w);
    int rows = h - 2;
    for (int i = 0; i < rows; i++) {
        const char *line = data_log_back(d, rows - 1 - i);
        if (line) put_text(w, 1 + i, 1, line_role(line), line);
    }
    panel_frame(w, P_LOG, "log", ui, ui);
}
