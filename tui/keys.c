/* tui/keys.c — see keys.h. */
#include "tui/keys.h"

#include <curses.h>
#include <stdlib.h>
#include <string.h>

#define OPTION(k, nm, lbl, opt, cyc, foot) {k, nm, lbl, KK_CYCLE, opt, cyc, 0, ACT_NONE, NULL, foot, KM_LIVE}
#define SCALE(k, nm, lbl, opt, f, foot)   {k, nm, lbl, KK_SCALE, opt, NULL, f, ACT_NONE, NULL, foot, KM_LIVE}
#define ACTION(k, nm, lbl, act, help, foot) {k, nm, lbl, KK_ACTION, 0, NULL, 0, act, help, foot, KM_BOTH}
#define LIVE_ACTION(k, nm, lbl, act, help, foot) {k, nm, lbl, KK_ACTION, 0, NULL, 0, act, help, foot, KM_LIVE}
#define REPLAY(k, nm, lbl, act, help, foot) {k, nm, lbl, KK_ACTION, 0, NULL, 0, act, help, foot, KM_REPLAY}
#define CYCLE(...) ((const char *const[]){__VA_ARGS__, NULL})

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
    OPTION('b', "b", "batching", OPT_BATCHING, NULL, 3),
    OPTION('k', "k", "kv", OPT_KV, NULL, 4),
    OPTION('a', "a", "attn", OPT_ATTN, NULL, 5),
    OPTION('B', "B", "block", OPT_BLOCK, NULL, 9),
    OPTION('c', "c", "chunk", OPT_CHUNKED_PREFILL, CYCLE("0", "64", "256"), 8),
    OPTION('A', "A", "admission", OPT_ADMISSION, NULL, 0),
    OPTION('p', "p", "prefix", OPT_PREFIX_CACHE, NULL, 10),
    OPTION('m', "m", "max_batch", OPT_MAX_BATCH, CYCLE("4", "8", "16", "32"), 0),
    OPTION('t', "t", "temp", OPT_TEMPERATURE, CYCLE("0", "0.7", "1"), 0),
    OPTION('s', "s", "spec", OPT_SPEC, CYCLE("off", "ngram", "layerskip", "draft"), 0),
    OPTION('K', "K", "spec_k", OPT_SPEC_K, CYCLE("1", "2", "4", "8"), 0),
    OPTION('T', "T", "tp", OPT_TP, CYCLE("1", "2", "3", "4"), 0),
    OPTION('P', "P", "pp", OPT_PP, CYCLE("1", "2", "4"), 0),
    OPTION('M', "M", "micro_batches", OPT_MICRO_BATCHES, CYCLE("1", "2", "4", "8"), 0),
    SCALE('+', "+", "rate x2", OPT_RATE_SCALE, 2.0, 6),
    SCALE('-', "-", "rate /2", OPT_RATE_SCALE, 0.5, 7),
    LIVE_ACTION('r', "r", "reset", ACT_RESET, "restart the scenario from its first request", 0),
    LIVE_ACTION('x', "x", "measure", ACT_MEASURE, "measure memory traffic of the next 8 steps with the CUPTI range profiler: the traffic panel's measured column beside the modeled bytes (CUDA; elsewhere the reason)", 0),
    ACTION('\t', "Tab", "focus", ACT_FOCUS, "focus the next panel", 0),
    ACTION('z', "z", "zoom", ACT_ZOOM, "zoom the focused panel to the whole body (again: back)", 11),
    ACTION('v', "v", "view", ACT_VIEW, "cycle views: overview, memory (KV + requests), timing (graphs), speculative, parallel (pipeline Gantt, devices)", 12),
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

/* The values an option key cycles through; *n gets the count. */
static const char *const *cycle_of(const struct key_binding *k, int *n)
{
    if (k->cycle) {
        for (*n = 0; k->cycle[*n]; (*n)++) {}
        return k->cycle;
    }
    const char *const *names = option_choices(option_def(k->opt), n);
    return names ? names : (*n = 0, NULL);
}

int keys_next_value(const struct key_binding *k, const struct options *cur, char *out, size_t n)
{
    if (k->kind == KK_ACTION || (unsigned)k->opt >= OPT_COUNT) return -1;
    const struct option_def *def = option_def(k->opt);
    if (k->kind == KK_SCALE) {
        double v = (def->type == OT_FLOAT ? opt_f(cur, k->opt) : (double)opt_i(cur, k->opt)) * k->factor;
        if (v < def->min) v = def->min;
        if (v > def->max) v = def->max;
        snprintf(out, n, "%g", v);
        return 0;
    }
    int count;
    const char *const *names = cycle_of(k, &count);
    if (count == 0) return -1;
    int at = choice_index(names, count, opt_s(cur, k->opt));   /* -1 (not in the cycle): the first */
    snprintf(out, n, "%s", names[(at + 1) % count]);
    return 0;
}

bool keys_bound(enum opt_id id)
{
    for (int i = 0; i < N_KEYS; i++)
        if (KEYS[i].kind != KK_ACTION && KEYS[i].opt == id) return true;
    return false;
}

/* "a|b|c" of a key's cycle. */
static void cycle_text(const struct key_binding *k, char *out, size_t n)
{
    int count;
    const char *const *names = cycle_of(k, &count);
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < count && used < n; i++) {
        int w = snprintf(out + used, n - used, "%s%s", i ? "|" : "", names[i]);
        if (w < 0) break;
        used += (size_t)w;
    }
}

void keys_describe(const struct key_binding *k, char *out, size_t n)
{
    const char *only = k->modes == KM_LIVE ? "live: " : k->modes == KM_REPLAY ? "replay: " : "";
    if (k->kind == KK_ACTION) {
        snprintf(out, n, "%s%s", only, k->help);
        return;
    }
    const struct option_def *def = option_def(k->opt);
    const char *when = opt_class_effect(def->cls);
    char cyc[128];
    if (k->kind == KK_SCALE) {
        snprintf(out, n, "%s%s x%g: %s (%s)", only, def->name, k->factor, def->help, when);
        return;
    }
    cycle_text(k, cyc, sizeof cyc);
    snprintf(out, n, "%scycle %s %s: %s (%s)", only, def->name, cyc, def->help, when);
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
