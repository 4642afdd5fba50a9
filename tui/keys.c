/* tui/keys.c — see keys.h. */
#include "tui/keys.h"

#include <curses.h>
#include <stdlib.h>
#include <string.h>

#define OPTION(k, nm, lbl, opt, cyc, foot) {k, nm, lbl, KK_CYCLE, opt, cyc, 0, ACT_NONE, NULL, foot, KM_LIVE}
#define SCALE(k, nm, lbl, opt, f, foot)   {k, nm, lbl, KK_SCALE, opt, NULL, f, ACT_NONE, NULL, foot, KM_LIVE}
#define ACTION(k, nm, lbl, act, help, foot) {k, nm, lbl, KK_ACTION, NULL, NULL, 0, act, help, foot, KM_BOTH}
#define LIVE_ACTION(k, nm, lbl, act, help, foot) {k, nm, lbl, KK_ACTION, NULL, NULL, 0, act, help, foot, KM_LIVE}
#define REPLAY(k, nm, lbl, act, help, foot) {k, nm, lbl, KK_ACTION, NULL, NULL, 0, act, help, foot, KM_REPLAY}

static const struct key_binding KEYS[] = {
    ACTION(' ', "space", "pause", ACT_PAUSE, "pause / resume the engine (at a step boundary) or the replay", 1),
    ACTION('n', "n", "step", ACT_STEP, "run (replay: show) one engine step, then stay paused", 2),
    REPLAY(KEY_LEFT, "Left", "-100 steps", ACT_BACK_STEPS, "seek back 100 steps", 3),
    REPLAY(KEY_RIGHT, "Right", "+100 steps", ACT_FWD_STEPS, "seek forward 100 steps", 4),
    REPLAY(KEY_SLEFT, "S-Left", "-10s", ACT_BACK_TIME, "seek back 10 s of run time", 0),
    REPLAY(KEY_SRIGHT, "S-Right", "+10s", ACT_FWD_TIME, "seek forward 10 s of run time", 0),
    REPLAY(KEY_HOME, "Home", "start", ACT_START, "seek to the start of the recording", 5),
    REPLAY(KEY_END, "End", "end", ACT_END, "seek to the end of the recording (where it stopped, if damaged)", 6),
    REPLAY('+', "+", "faster", ACT_FASTER, "play faster (x2, up to x16)", 7),
    REPLAY('-', "-", "slower", ACT_SLOWER, "play slower (/2, down to x0.25)", 8),
    OPTION('b', "b", "batching", "batching", NULL, 3),
    OPTION('k', "k", "kv", "kv", NULL, 4),
    OPTION('a', "a", "attn", "attn", NULL, 5),
    OPTION('B', "B", "block", "block", NULL, 9),
    OPTION('c', "c", "chunk", "chunked_prefill", "0|64|256", 8),
    OPTION('p', "p", "prefix", "prefix_cache", NULL, 10),
    OPTION('m', "m", "max_batch", "max_batch", "4|8|16|32", 0),
    OPTION('t', "t", "temp", "temperature", "0|0.7|1", 0),
    SCALE('+', "+", "rate x2", "rate_scale", 2.0, 6),
    SCALE('-', "-", "rate /2", "rate_scale", 0.5, 7),
    LIVE_ACTION('r', "r", "reset", ACT_RESET, "restart the scenario from its first request", 0),
    ACTION('\t', "Tab", "focus", ACT_FOCUS, "focus the next panel", 0),
    ACTION('z', "z", "zoom", ACT_ZOOM, "zoom the focused panel to the whole body (again: back)", 11),
    ACTION('v', "v", "view", ACT_VIEW, "cycle views: overview, memory (KV + requests), timing (graphs)", 12),
    ACTION('o', "o", "sort", ACT_SORT, "sort the requests table by the next column (again on the last: reverse)", 0),
    ACTION(KEY_UP, "Up", "up", ACT_UP, "scroll the requests table up", 0),
    ACTION(KEY_DOWN, "Down", "down", ACT_DOWN, "scroll the requests table down", 0),
    ACTION(KEY_PPAGE, "PgUp", "page up", ACT_PGUP, "scroll the requests table a page up", 0),
    ACTION(KEY_NPAGE, "PgDn", "page down", ACT_PGDN, "scroll the requests table a page down", 0),
    ACTION('?', "?", "help", ACT_HELP, "this help (any key closes it)", 98),
    ACTION('q', "q", "quit", ACT_QUIT, "quit (also Ctrl-C)", 99),
};
#define N_KEYS (int)(sizeof KEYS / sizeof KEYS[0])

const struct key_binding *keys_table(int *n)
{
    *n = N_KEYS;
    return KEYS;
}

const struct key_binding *keys_find_in(int key, unsigned mode)
{
    for (int i = 0; i < N_KEYS; i++)
        if (KEYS[i].key == key && (KEYS[i].modes & mode)) return &KEYS[i];
    return NULL;
}

const struct key_binding *keys_find(int key)
{
    return keys_find_in(key, KM_LIVE);
}

/* The values an option key cycles through, "a|b|c". */
static const char *cycle_of(const struct key_binding *k, const struct option_def *def)
{
    if (k->cycle) return k->cycle;
    if (def->type == OT_BOOL) return "on|off";
    return def->choices ? def->choices : "";
}

/* Next entry after `cur` in "a|b|c" (wrapping), or the first. */
static void cycle_next(const char *list, const char *cur, char *out, size_t n)
{
    const char *p = list, *first = list;
    size_t cl = strlen(cur);
    while (*p) {
        const char *e = strchr(p, '|');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == cl && strncmp(p, cur, len) == 0) {
            const char *nx = e ? e + 1 : first;
            const char *ne = strchr(nx, '|');
            snprintf(out, n, "%.*s", (int)(ne ? (size_t)(ne - nx) : strlen(nx)), nx);
            return;
        }
        if (!e) break;
        p = e + 1;
    }
    const char *fe = strchr(first, '|');
    snprintf(out, n, "%.*s", (int)(fe ? (size_t)(fe - first) : strlen(first)), first);
}

int keys_next_value(const struct key_binding *k, const struct options *cur, char *out, size_t n)
{
    int id = k->option ? option_find(k->option) : -1;
    if (id < 0) return -1;
    const struct option_def *def = option_def((enum opt_id)id);
    if (k->kind == KK_SCALE) {
        double v = (def->type == OT_FLOAT ? cur->v[id].f : (double)cur->v[id].i) * k->factor;
        if (v < def->min) v = def->min;
        if (v > def->max) v = def->max;
        snprintf(out, n, "%g", v);
        return 0;
    }
    cycle_next(cycle_of(k, def), cur->v[id].s, out, n);
    return 0;
}

void keys_describe(const struct key_binding *k, char *out, size_t n)
{
    const char *only = k->modes == KM_LIVE ? "live: " : k->modes == KM_REPLAY ? "replay: " : "";
    if (k->kind == KK_ACTION) {
        snprintf(out, n, "%s%s", only, k->help);
        return;
    }
    int id = option_find(k->option);
    const struct option_def *def = id >= 0 ? option_def((enum opt_id)id) : NULL;
    if (!def) { snprintf(out, n, "%s: unknown option", k->option); return; }
    const char *when = def->live ? "live, at the next step" : "restarts the scenario";
    if (k->kind == KK_SCALE)
        snprintf(out, n, "%s%s x%g: %s (%s)", only, k->option, k->factor, def->help, when);
    else
        snprintf(out, n, "%scycle %s %s: %s (%s)", only, k->option, cycle_of(k, def), def->help, when);
}

void keys_print_markdown(FILE *out)
{
    char line[512];
    fprintf(out, "| key | does |\n|---|---|\n");
    for (int i = 0; i < N_KEYS; i++) {
        keys_describe(&KEYS[i], line, sizeof line);
        fprintf(out, "| `%s` | ", KEYS[i].name);
        for (const char *c = line; *c; c++) {   /* a '|' inside a cell ends it in Markdown */
            if (*c == '|') fputc('\\', out);
            fputc(*c, out);
        }
        fprintf(out, " |\n");
    }
}
