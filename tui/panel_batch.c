/* tui/panel_batch.c — batch occupancy: batch size per step against
 * max_batch, and prefill vs decode tokens per step (stacked), scrolling. */
#include "tui/graph.h"
#include "tui/panel.h"

static double step_batch(const struct step_record *s) { return s->batch_size; }
static double step_prefill_tok(const struct step_record *s) { return s->prefill_tokens; }
static double step_decode_tok(const struct step_record *s) { return s->decode_tokens; }

/* One labelled graph: label on its top row's left, over the oldest columns. */
static void labelled_graph(WINDOW *w, int y, int h, int wd, const struct series *s, double max,
                           enum role ra, enum role rb, const char *label)
{
    graph_columns(w, y, 1, h, wd - 2, s, max, ra, rb);
    put_text(w, y, 1, ROLE_LABEL, label);
}

static void draw_summary(WINDOW *w, const struct tui_data *d)
{
    const struct runner_state *st = d->st;
    const struct step_record *last = data_step_back(d, 0);
    int x = put_text(w, 1, 1, ROLE_LABEL, "batch ");
    x = put_fmt(w, 1, x, ROLE_VALUE, "%d/%lld", last ? last->batch_size : 0,
                (long long)opt_i(&st->opt, OPT_MAX_BATCH));
    x = put_fmt(w, 1, x, ROLE_NORMAL, "  run %d  wait %d  ", st->running, st->waiting);
    x = put_text(w, 1, x, ROLE_LABEL, "preempted ");
    put_fmt(w, 1, x, st->preemptions ? ROLE_BAD : ROLE_VALUE, "%llu", (unsigned long long)st->preemptions);
}

void panel_batch_draw(WINDOW *w, const struct tui_data *d, struct ui_state *ui)
{
    int h, wd;
    getmaxyx(w, h, wd);
    werase(w);
    draw_summary(w, d);
    int gh = h - 3;                   /* rows under the summary line */
    if (gh >= 2) {
        static struct series s;
        int ga = gh / 2, gb = gh - ga;
        double max_batch = (double)opt_i(&d->st->opt, OPT_MAX_BATCH);
        char label[96];
        series_from_steps(d, wd - 2, step_batch, NULL, &s);
        snprintf(label, sizeof label, "size (max %.0f)", max_batch);
        labelled_graph(w, 2, ga, wd, &s, max_batch, ROLE_VALUE, ROLE_VALUE, label);
        series_from_steps(d, wd - 2, step_prefill_tok, step_decode_tok, &s);
        double mx = series_max(&s);
        int x = 1;
        labelled_graph(w, 2 + ga, gb, wd, &s, mx, ROLE_PREFILL, ROLE_DECODE, "");
        x = put_fmt(w, 2 + ga, x, ROLE_LABEL, "tok/step (max %.0f) ", mx);
        x = put_text(w, 2 + ga, x, ROLE_PREFILL, "prefill");
        x = put_text(w, 2 + ga, x, ROLE_LABEL, "+");
        put_text(w, 2 + ga, x, ROLE_DECODE, "decode");
    }
    panel_frame(w, P_BATCH, "batch occupancy", ui, ui);
}
