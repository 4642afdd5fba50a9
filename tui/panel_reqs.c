/* tui/panel_reqs.c — the requests table: running and waiting requests,
 * sortable (`o`) and scrollable (Up/Down/PgUp/PgDn). */
#include "tui/panel.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const SORT_NAMES[SORT_COUNT] = {"id", "state", "prompt", "generated", "blocks", "TTFT", "tok/s"};

static const char *state_name(enum req_state s)
{
    switch (s) {
    case REQ_RUNNING: return "run";
    case REQ_WAITING: return "wait";
    case REQ_PENDING: return "pend";
    default: return "done";
    }
}

static double sort_key(const struct runner_req_row *r, enum req_sort k)
{
    switch (k) {
    case SORT_STATE: return r->state;
    case SORT_PROMPT: return r->prompt_len;
    case SORT_GEN: return r->generated;
    case SORT_BLOCKS: return r->blocks;
    case SORT_TTFT: return r->ttft_ms;
    case SORT_TOKS: return r->tok_s;
    default: return r->id;
    }
}

static enum req_sort g_sort;    /* qsort has no context argument */
static bool g_desc;

static int cmp_rows(const void *pa, const void *pb)
{
    const struct runner_req_row *a = pa, *b = pb;
    double ka = sort_key(a, g_sort), kb = sort_key(b, g_sort);
    int c = ka < kb ? -1 : ka > kb ? 1 : (a->id > b->id) - (a->id < b->id);
    return g_desc ? -c : c;
}

const char *reqs_sort_name(enum req_sort s) { return s < SORT_COUNT ? SORT_NAMES[s] : "?"; }

static void draw_row(WINDOW *w, int y, const struct runner_req_row *r)
{
    char ttft[16];
    if (r->ttft_ms >= 0) snprintf(ttft, sizeof ttft, "%.0f", r->ttft_ms);
    else snprintf(ttft, sizeof ttft, "-");
    put_glyph(w, y, 1, theme_owner_role(r->id), theme_glyphs()->kv_full);
    put_fmt(w, y, 2, r->state == REQ_RUNNING ? ROLE_NORMAL : ROLE_DIM, "%5d %-5s %6d %5d/%-5d %6d %7s %7.1f",
            r->id, state_name(r->state), r->prompt_len, r->generated, r->max_output, r->blocks, ttft, r->tok_s);
}

void panel_reqs_draw(WINDOW *w, const struct tui_data *d, struct ui_state *ui)
{
    int h, wd;
    getmaxyx(w, h, wd);
    (void)wd;
    werase(w);
    static struct runner_req_row rows[RUNNER_MAX_REQS];
    int n = d->st->n_reqs;
    for (int i = 0; i < n; i++) rows[i] = d->st->reqs[i];
    g_sort = ui->sort;
    g_desc = ui->sort_desc;
    qsort(rows, (size_t)n, sizeof rows[0], cmp_rows);
    int page = h - 3;
    if (ui->reqs_scroll > n - page) ui->reqs_scroll = n - page;
    if (ui->reqs_scroll < 0) ui->reqs_scroll = 0;
    put_fmt(w, 1, 2, ROLE_LABEL, "%5s %-5s %6s %11s %6s %7s %7s", "id", "state", "prompt", "gen/max", "blocks",
            "TTFTms", "tok/s");
    for (int i = 0; i < page && ui->reqs_scroll + i < n; i++) draw_row(w, 2 + i, &rows[ui->reqs_scroll + i]);
    char title[96];
    snprintf(title, sizeof title, "requests %d (%d-%d), by %s%s", n, n ? ui->reqs_scroll + 1 : 0,
             ui->reqs_scroll + (page < n ? page : n), reqs_sort_name(ui->sort), ui->sort_desc ? " desc" : "");
    panel_frame(w, P_REQS, title, ui, ui);
}
