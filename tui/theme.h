/* tui/theme.h — colors as semantic roles, and the glyph set.
 *
 * Panels ask for a role (theme_attr(ROLE_PREFILL)), never a color. With
 * colors the roles map to color pairs; without (no color terminal, NO_COLOR
 * set, or theme_init(mono=true)) they map to bold/dim/reverse/underline.
 * Glyphs: UTF-8 blocks and lines when the locale's codeset is UTF-8, ASCII
 * otherwise (LANG=C). */
#ifndef INFERTOP_THEME_H
#define INFERTOP_THEME_H

#include <stdbool.h>

enum role {
    ROLE_NORMAL, ROLE_DIM, ROLE_TITLE, ROLE_FOCUS, ROLE_LABEL, ROLE_VALUE, ROLE_CHANGED,
    ROLE_GOOD, ROLE_WARN, ROLE_BAD, ROLE_PAUSED,
    ROLE_PREFILL, ROLE_DECODE, ROLE_MARKER, ROLE_KEY, ROLE_KEYLABEL,
    ROLE_ATTN, ROLE_MATMUL, ROLE_OTHER, ROLE_DRAM, ROLE_CHIP,
    ROLE_FREE, ROLE_CACHED, ROLE_SHARED, ROLE_RESERVED,
    ROLE_OWNER0, ROLE_OWNER1, ROLE_OWNER2, ROLE_OWNER3, ROLE_OWNER4, ROLE_OWNER5,
    ROLE_COUNT
};
#define N_OWNER_ROLES 6

struct glyphs {
    const char *eighths[9];   /* bar tops: "", 1/8 .. 8/8 */
    const char *hbar[9];      /* horizontal bar ends: 0/8 .. 8/8 */
    const char *kv_full, *kv_partial, *kv_reserved, *kv_shared, *kv_cached, *kv_free;
    const char *vline, *marker, *shade;
    bool utf8;
};

/* Decide colors (has_colors() && !NO_COLOR && !mono) and glyphs (UTF-8
 * locale && !ascii); call after initscr/newterm. */
void theme_init(bool mono, bool ascii);
/* Attribute for a role (color pair and/or bold, dim, reverse). */
int  theme_attr(enum role r);
/* Stable role for a request id (same id, same color). */
enum role theme_owner_role(int id);
const struct glyphs *theme_glyphs(void);
bool theme_has_colors(void);

#endif
