/* tui/panel_header.c — model, device and why, scenario, run state, rates,
 * the TUI's own cost, and every option's value (recent changes highlighted). */
#include "tui/panel.h"

#include <stdio.h>
#include <string.h>

#define CHANGED_HIGHLIGHT_S 4.0

/* Where option i's "name=value" goes when the options wrap from row 2 at
 * `cols` columns; returns its length. */
static int option_pos(const struct tui_data *d, int cols, int i, int *row, int *col)
{
    int y = 2, x = 1, len = 0;
    for (int k = 0; k <= i; k++) {
        len = (int)strlen(option_def((enum opt_id)k)->name) + 1 + (int)strlen(d->st->opt.v[k].s);
        if (x > 1 && x + len >= cols) { y++; x = 1; }
        if (k < i) x += len + 1;
    }
    *row = y;
    *col = x;
    return len;
}

int panel_header_rows(const struct tui_data *d, int cols)
{
    int y, x;
    option_pos(d, cols, OPT_COUNT - 1, &y, &x);
    return y + 1;
}

static void draw_identity(WINDOW *w, const struct tui_data *d)
{
    const struct tui_info *in = &d->info;
    if (d->replay.on) {          /* a recording names its model and device, not their sizes */
        int x = put_text(w, 0, 0, ROLE_TITLE, "infertop REPLAY ");
        x = put_fmt(w, 0, x, ROLE_VALUE, "%s", d->replay.file);
        x = put_text(w, 0, x, ROLE_DIM, " | model ");
        x = put_fmt(w, 0, x, ROLE_VALUE, "%s", in->model);
        x = put_text(w, 0, x, ROLE_DIM, " | ");
        x = put_fmt(w, 0, x, ROLE_VALUE, "%s", in->device);
        x = put_text(w, 0, x, ROLE_DIM, " | scenario ");
        put_fmt(w, 0, x, ROLE_VALUE, "%s", in->scenario);
        return;
    }
    int x = put_text(w, 0, 0, ROLE_TITLE, "infertop ");
    x = put_fmt(w, 0, x, ROLE_VALUE, "%s", in->model_name);
    x = put_fmt(w, 0, x, ROLE_NORMAL, " %.1fM params %s", in->params / 1e6, in->wformat);
    x = put_text(w, 0, x, ROLE_DIM, " | ");
    x = put_fmt(w, 0, x, ROLE_VALUE, "%s", in->device_reason);
    x = put_text(w, 0, x, ROLE_DIM, " | scenario ");
    put_fmt(w, 0, x, ROLE_VALUE, "%s", in->scenario);
}

/* Replay: position, clock, speed; where a damaged recording stops. */
static int draw_replay_status(WINDOW *w, const struct tui_data *d)
{
    const struct tui_replay_view *v = &d->replay;
    int x = put_text(w, 1, 0, ROLE_MARKER, " REPLAY ");
    x = put_text(w, 1, x + 1, v->at_end ? ROLE_WARN : d->st->paused ? ROLE_PAUSED : ROLE_GOOD,
                 v->at_end ? " END " : d->st->paused ? " PAUSED " : " PLAYING ");
    return put_fmt(w, 1, x, ROLE_NORMAL, " %.2f/%.2fs  step %d/%d  x%g  ", v->t_s, v->end_s, v->pos, v->total,
                   v->speed);
}

static void draw_status(WINDOW *w, const struct tui_data *d, const struct ui_state *ui)
{
    const struct runner_state *st = d->st;
    if (d->replay.on) {
        int x = draw_replay_status(w, d);
        x = put_text(w, 1, x, ROLE_LABEL, "out ");
        x = put_fmt(w, 1, x, ROLE_VALUE, "%.1f", d->out_tok_s_now);
        x = put_fmt(w, 1, x, ROLE_NORMAL, " tok/s  req %d/%d done  ", st->requests_finished, st->requests_total);
        if (d->replay.damage[0]) x = put_fmt(w, 1, x, ROLE_BAD, "stopped at damage: %s  ", d->replay.damage);
        if (ui && ui->status[0] && st->elapsed_s - ui->status_at < 5.0 && ui->status_at <= st->elapsed_s)
            put_text(w, 1, x, ROLE_WARN, ui->status);
        return;
    }
    if (st->probing) {            /* the workload starts when the capacity is known */
        int x = put_text(w, 1, 0, ROLE_WARN, " PROBING ");
        put_fmt(w, 1, x + 1, ROLE_NORMAL, "%s", st->activity);
        return;
    }
    int x = put_text(w, 1, 0, st->paused ? ROLE_PAUSED : ROLE_GOOD, st->paused ? " PAUSED " : " RUNNING ");
    if (d->recording[0]) x = put_fmt(w, 1, x + 1, ROLE_BAD, " %s ", d->recording) + 1;
    x = put_fmt(w, 1, x, ROLE_NORMAL, " %.1fs  step %llu  epoch %llu  ", st->elapsed_s,
                (unsigned long long)st->steps, (unsigned long long)st->epoch);
    x = put_text(w, 1, x, ROLE_LABEL, "out ");
    x = put_fmt(w, 1, x, ROLE_VALUE, "%.1f", d->out_tok_s_now);
    x = put_fmt(w, 1, x, ROLE_NORMAL, " tok/s now, %.1f avg  ", d->out_tok_s_avg);
    x = put_fmt(w, 1, x, ROLE_NORMAL, "req %d/%d done  ", st->requests_finished, st->requests_total);
    x = put_fmt(w, 1, x, ROLE_DIM, "ui %.2f ms/frame %.1f%% cpu  ", d->frame_ms, d->cpu_pct);
    if (ui && ui->status[0] && st->elapsed_s - ui->status_at < 5.0) put_text(w, 1, x, ROLE_WARN, ui->status);
}

static void draw_options(WINDOW *w, const struct tui_data *d, int cols)
{
    for (int i = 0; i < OPT_COUNT; i++) {
        int y, x;
        option_pos(d, cols, i, &y, &x);
        bool recent = d->st->elapsed_s - d->opt_changed_at[i] < CHANGED_HIGHLIGHT_S;
        const char *name = option_def((enum opt_id)i)->name;
        x = put_fmt(w, y, x, recent ? ROLE_CHANGED : ROLE_LABEL, "%s=", name);
        put_text(w, y, x, recent ? ROLE_CHANGED : ROLE_VALUE, d->st->opt.v[i].s);
    }
}

void panel_header_draw(WINDOW *w, const struct tui_data *d, struct ui_state *ui)
{
    int rows, cols;
    getmaxyx(w, rows, cols);
    (void)rows;
    werase(w);
    draw_identity(w, d);
    draw_status(w, d, ui);
    draw_options(w, d, cols);
}
