/* tui/theme.c — see theme.h. */
#include "tui/theme.h"

#include <curses.h>
#include <langinfo.h>
#include <stdlib.h>
#include <string.h>

struct role_style {
    short fg, bg;      /* colors (-1 = terminal default) */
    int attr;          /* added in color mode */
    int mono;          /* used without colors */
};

static const struct role_style STYLES[ROLE_COUNT] = {
    [ROLE_NORMAL]   = {-1, -1, 0, 0},
    [ROLE_DIM]      = {-1, -1, A_DIM, A_DIM},
    [ROLE_TITLE]    = {COLOR_CYAN, -1, A_BOLD, A_BOLD},
    [ROLE_FOCUS]    = {COLOR_YELLOW, -1, A_BOLD, A_REVERSE},
    [ROLE_LABEL]    = {-1, -1, A_DIM, 0},
    [ROLE_VALUE]    = {-1, -1, A_BOLD, A_BOLD},
    [ROLE_CHANGED]  = {COLOR_BLACK, COLOR_YELLOW, A_BOLD, A_REVERSE},
    [ROLE_GOOD]     = {COLOR_GREEN, -1, A_BOLD, A_BOLD},
    [ROLE_WARN]     = {COLOR_YELLOW, -1, A_BOLD, A_BOLD},
    [ROLE_BAD]      = {COLOR_RED, -1, A_BOLD, A_BOLD | A_UNDERLINE},
    [ROLE_PAUSED]   = {COLOR_BLACK, COLOR_YELLOW, A_BOLD, A_REVERSE},
    [ROLE_PREFILL]  = {COLOR_MAGENTA, -1, 0, A_BOLD},
    [ROLE_DECODE]   = {COLOR_GREEN, -1, 0, 0},
    [ROLE_MARKER]   = {COLOR_YELLOW, -1, A_BOLD, A_BOLD},
    [ROLE_KEY]      = {COLOR_BLACK, COLOR_CYAN, 0, A_REVERSE},
    [ROLE_KEYLABEL] = {-1, -1, 0, 0},
    [ROLE_ATTN]     = {COLOR_MAGENTA, -1, 0, A_BOLD},
    [ROLE_MATMUL]   = {COLOR_BLUE, -1, A_BOLD, 0},
    [ROLE_OTHER]    = {COLOR_WHITE, -1, A_DIM, A_DIM},
    [ROLE_DRAM]     = {COLOR_RED, -1, 0, A_BOLD},
    [ROLE_CHIP]     = {COLOR_CYAN, -1, 0, 0},
    [ROLE_FREE]     = {-1, -1, A_DIM, A_DIM},
    [ROLE_CACHED]   = {COLOR_WHITE, -1, A_DIM, A_DIM},
    [ROLE_SHARED]   = {COLOR_WHITE, -1, A_BOLD, A_BOLD},
    [ROLE_RESERVED] = {-1, -1, A_DIM, A_DIM},
    [ROLE_OWNER0]   = {COLOR_GREEN, -1, 0, 0},
    [ROLE_OWNER1]   = {COLOR_BLUE, -1, A_BOLD, 0},
    [ROLE_OWNER2]   = {COLOR_MAGENTA, -1, 0, 0},
    [ROLE_OWNER3]   = {COLOR_YELLOW, -1, 0, 0},
    [ROLE_OWNER4]   = {COLOR_CYAN, -1, 0, 0},
    [ROLE_OWNER5]   = {COLOR_RED, -1, 0, 0},
};

static const struct glyphs GLYPHS_UTF8 = {
    .eighths = {" ", "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588"},
    .hbar = {" ", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b", "\u258a", "\u2589", "\u2588"},
    .kv_full = "\u2588", .kv_partial = "\u2584", .kv_reserved = "\u2591", .kv_shared = "\u25c6",
    .kv_cached = "\u25c7", .kv_free = "\u00b7",
    .vline = "\u2502", .marker = "\u25bc", .shade = "\u2592", .utf8 = true,
};

static const struct glyphs GLYPHS_ASCII = {
    .eighths = {" ", " ", ".", ".", "_", "o", "o", "O", "#"},
    .hbar = {" ", " ", " ", "-", "-", "-", "=", "=", "#"},
    .kv_full = "#", .kv_partial = "o", .kv_reserved = "-", .kv_shared = "S",
    .kv_cached = "c", .kv_free = ".",
    .vline = "|", .marker = "v", .shade = "+", .utf8 = false,
};

static bool g_colors;
static const struct glyphs *g_glyphs = &GLYPHS_ASCII;

static bool locale_is_utf8(void)
{
    const char *cs = nl_langinfo(CODESET);
    return cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
}

void theme_init(bool mono, bool ascii)
{
    const char *nc = getenv("NO_COLOR");
    g_colors = !mono && !(nc && nc[0]) && has_colors();
    if (g_colors && start_color() == OK) {
        use_default_colors();
        for (int r = 0; r < ROLE_COUNT; r++) init_pair((short)(r + 1), STYLES[r].fg, STYLES[r].bg);
    } else {
        g_colors = false;
    }
    g_glyphs = !ascii && locale_is_utf8() ? &GLYPHS_UTF8 : &GLYPHS_ASCII;
}

int theme_attr(enum role r)
{
    if (r >= ROLE_COUNT) r = ROLE_NORMAL;
    if (!g_colors) return STYLES[r].mono;
    return (int)COLOR_PAIR(r + 1) | STYLES[r].attr;
}

enum role theme_owner_role(int id)
{
    if (id < 0) return ROLE_FREE;
    return (enum role)(ROLE_OWNER0 + id % N_OWNER_ROLES);
}

const struct glyphs *theme_glyphs(void) { return g_glyphs; }
bool theme_has_colors(void) { return g_colors; }
