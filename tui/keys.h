/* tui/keys.h — THE key table: every key of the TUI is one row, either an
 * option toggle (bound to an option id of the registry) or a UI action. The
 * footer bar, the `?` help screen, mouse clicks on the footer, the header's
 * key-bound options and `infertop keys` are all generated from it; what a
 * toggle does mid-run (live, restart) comes from the option's class in the
 * options table. */
#ifndef INFERTOP_KEYS_H
#define INFERTOP_KEYS_H

#include "core/options/options.h"

#include <stdio.h>

enum key_kind {
    KK_CYCLE,     /* option: next value of `cycle` (or the registry's choices / on|off) */
    KK_SCALE,     /* option: multiply the current value by `factor`, clamped to its range */
    KK_ACTION,
};

enum ui_action {
    ACT_NONE, ACT_QUIT, ACT_PAUSE, ACT_STEP, ACT_RESET, ACT_HELP, ACT_FOCUS, ACT_ZOOM, ACT_VIEW,
    ACT_SORT, ACT_UP, ACT_DOWN, ACT_PGUP, ACT_PGDN, ACT_MEASURE,
    /* replay only */
    ACT_BACK_STEPS, ACT_FWD_STEPS, ACT_BACK_TIME, ACT_FWD_TIME, ACT_START, ACT_END, ACT_FASTER, ACT_SLOWER,
};

/* Where a key acts: the live view, a replay, or both. */
enum key_mode { KM_LIVE = 1, KM_REPLAY = 2, KM_BOTH = 3 };

struct key_binding {
    int key;                  /* curses key code */
    const char *name;         /* as shown: "space", "a", "Tab" */
    const char *label;        /* short footer label */
    enum key_kind kind;
    enum opt_id opt;          /* KK_CYCLE, KK_SCALE: the option it changes */
    const char *const *cycle; /* {"0", "64", "256", NULL}; NULL: the registry's choices (enum) or on|off (bool) */
    double factor;            /* KK_SCALE */
    enum ui_action action;    /* KK_ACTION */
    const char *help;         /* what it does (options add the registry's help) */
    int footer;               /* footer order (1 first); 0 = help screen only */
    unsigned modes;           /* enum key_mode bits */
};

/* The table and its length. */
const struct key_binding *keys_table(int *n);
/* The live view's binding for a key code, or NULL. */
const struct key_binding *keys_find(int key);
/* The binding for a key code in a mode (KM_LIVE or KM_REPLAY), or NULL. */
const struct key_binding *keys_find_in(int key, unsigned mode);
/* Value an option binding sets next, given the current options: the entry
 * after the current one in its cycle (the first when the current value is
 * not in it), or current x factor. 0 ok, -1 when the option is unknown. */
int keys_next_value(const struct key_binding *k, const struct options *cur, char *out, size_t n);
/* Whether option id is bound to a key (the header always shows those). */
bool keys_bound(enum opt_id id);
/* One help line: "cycle attn naive|flash: <registry help> (live, at the next step)";
 * keys of one mode only start with "live: " or "replay: ". */
void keys_describe(const struct key_binding *k, char *out, size_t n);
/* The table as Markdown (README, `infertop keys`). */
void keys_print_markdown(FILE *out);

#endif
