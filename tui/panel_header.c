/* tui/panel_header.c — model, device and why, scenario, run state, rates,
 * the TUI's own cost, and the options that matter now: those bound to keys
 * (the toggles) and those not at their defaults (recent changes
 * highlighted), and the quality line of the weights against the reference
 * (core/quant/quality.h) on the last row when the run has one. At 80x24 the
 * header is 3 rows (4 with a measured weight mode); the `?` screen lists
 * every option. */
#include "core/quant/quality.h"
#include "tui/panel.h"

#include <stdio.h>
#include <string.h>

#define CHANGED_HIGHLIGHT_S 4.0
#define TALL_SCREEN 30          /* from this many rows the options may wrap onto a 2nd row */

/* An option the header shows and the keys that change it ("b", "+/-"). */
struct shown_opt { enum opt_id id; char keys[16]; };

static bool differs_from_default(const struct options *o, enum opt_id id)
{
    static struct options def;
    static bool have;
    if (!have) { options_defaults(&def); have = true; }
    switch (option_def(id)->type) {
    case OT_FLOAT: return opt_f(o, id) != opt_f(&def, id);
    case OT_STR: return strcmp(opt_s(o, id), opt_s(&def, id)) != 0;
    default: return opt_i(o, id) != opt_i(&def, id);
    }
}

/* An option with nothing to act on now: spec_k while speculative decoding is
 * off, tp and pp on one device, micro_batches without pipeline stages (the
 * header leaves them out unless off their default); and admission at its
 * default, which shows only in what does not happen (no preemptions): the
 * 80-column row keeps its room for options that were changed. */
static bool idle_option(const struct options *o, enum opt_id id)
{
    bool group = opt_i(o, OPT_TP) > 1 || opt_i(o, OPT_PP) > 1;
    if (id == OPT_TP || id == OPT_PP) return !group;                     /* one device */
    if (id == OPT_MICRO_BATCHES) return opt_i(o, OPT_PP) < 2 && !differs_from_default(o, id);
    if (id == OPT_ADMISSION) return !differs_from_default(o, id);
    return id == OPT_SPEC_K && opt_enum(o, SPEC) == SPEC_OFF && !differs_from_default(o, id);
}

/* The options to show, key-bound first (key table order), then the others
 * that differ from their defaults (options table order). Returns the count. */
static int shown_options(const struct options *o, struct shown_opt out[OPT_COUNT])
{
    int n = 0, nk;
    int at[OPT_COUNT];
    for (int i = 0; i < OPT_COUNT; i++) at[i] = -1;
    const struct key_binding *t = keys_table(&nk);
    for (int k = 0; k < nk; k++) {
        if (t[k].kind == KK_ACTION || !(t[k].modes & KM_LIVE) || idle_option(o, t[k].opt)) continue;
        struct shown_opt *s = at[t[k].opt] >= 0 ? &out[at[t[k].opt]] : NULL;
        if (!s) {
            at[t[k].opt] = n;
            s = &out[n++];
            s->id = t[k].opt;
            s->keys[0] = 0;
        }
        size_t len = strlen(s->keys);
        snprintf(s->keys + len, sizeof s->keys - len, "%s%s", len ? "/" : "", t[k].name);
    }
    for (int i = 0; i < OPT_COUNT; i++)
        if (at[i] < 0 && differs_from_default(o, (enum opt_id)i)) out[n++] = (struct shown_opt){(enum opt_id)i, ""};
    return n;
}

/* Cells of one entry: "name=value", or compact "keys:value" for a bound option. */
static int entry_len(const struct options *o, const struct shown_opt *s, bool compact)
{
    const char *label = compact && s->keys[0] ? s->keys : option_def(s->id)->name;
    return (int)strlen(label) + 1 + (int)strlen(opt_s(o, s->id));
}

/* Rows the entries take wrapped at `cols`, from column 1. */
static int rows_needed(const struct options *o, const struct shown_opt *s, int n, bool compact, int cols)
{
    int rows = 1, x = 1;
    for (int i = 0; i < n; i++) {
        int len = entry_len(o, &s[i], compact);
        if (x > 1 && x + len >= cols) { rows++; x = 1; }
        x += len + 1;
    }
    return rows;
}

static int option_rows_allowed(int screen_rows) { return screen_rows >= TALL_SCREEN ? 2 : 1; }

/* Rows of the quality line in a header of `rows` rows (screen_rows: the
 * screen's, when sizing it; 0 when drawing): a measured (or measuring,
 * failed) mode always has its row; "weights = reference" only from
 * TALL_SCREEN rows, so 80x24 keeps a 3-row header for the reference weights
 * (a short screen's header without it is exactly 3 rows, with it >= 4). */
static int quality_rows(const struct tui_data *d, int rows, int screen_rows)
{
    enum tel_quality_state s = d->st->quality.state;
    if (s == TQ_NONE) return 0;
    if (s != TQ_REFERENCE) return 1;
    return screen_rows ? screen_rows >= TALL_SCREEN : rows >= 4;
}

int panel_header_rows(const struct tui_data *d, int cols, int screen_rows)
{
    struct shown_opt s[OPT_COUNT];
    int n = shown_options(&d->st->opt, s), allowed = option_rows_allowed(screen_rows);
    int need = rows_needed(&d->st->opt, s, n, false, cols);
    return 2 + (need < allowed ? need : allowed) + quality_rows(d, 0, screen_rows);
}

/* "quality (measured, 256 tokens): KLD 0.0412, same top p 90.3%" and the mode. */
static void draw_quality(WINDOW *w, const struct tui_data *d, int y)
{
    const struct tel_quality *q = &d->st->quality;
    char line[256];
    quality_format(q, line, sizeof line);
    enum role r = q->state == TQ_FAILED ? ROLE_BAD : q->state == TQ_MEASURING ? ROLE_WARN
                  : q->state == TQ_MEASURED ? ROLE_VALUE : ROLE_DIM;
    int x = put_text(w, y, 1, r, line);
    if (q->state == TQ_MEASURED || q->state == TQ_MEASURING)
        put_fmt(w, y, x, ROLE_DIM, "  (%s vs reference)", q->mode);
}

/* The option rows: full names when they fit in the rows there are, else the
 * compact form; what still does not fit ends in "+N ?" (the `?` screen has
 * them all). */
static void draw_options(WINDOW *w, const struct tui_data *d, int rows, int cols)
{
    const struct options *o = &d->st->opt;
    struct shown_opt s[OPT_COUNT];
    int n = shown_options(o, s), avail = rows - 2 - quality_rows(d, rows, 0);
    if (avail < 1) return;
    bool compact = rows_needed(o, s, n, false, cols) > avail;
    int y = 2, x = 1;
    for (int i = 0; i < n; i++) {
        int len = entry_len(o, &s[i], compact);
        bool last_row = y == 2 + avail - 1;
        int reserve = last_row && i < n - 1 ? 7 : 0;     /* room for " +NN ?" */
        if (x > 1 && x + len + reserve >= cols) {
            if (last_row) {
                put_fmt(w, y, x, ROLE_DIM, "+%d ?", n - i);
                return;
            }
            y++;
            x = 1;
        }
        bool recent = d->st->elapsed_s - d->opt_changed_at[s[i].id] < CHANGED_HIGHLIGHT_S;
        if (compact && s[i].keys[0]) {
            x = put_text(w, y, x, recent ? ROLE_CHANGED : ROLE_KEY, s[i].keys);
            x = put_text(w, y, x, recent ? ROLE_CHANGED : ROLE_LABEL, ":");
        } else {
            x = put_fmt(w, y, x, recent ? ROLE_CHANGED : ROLE_LABEL, "%s=", option_def(s[i].id)->name);
        }
        x = put_text(w, y, x, recent ? ROLE_CHANGED : ROLE_VALUE, opt_s(o, s[i].id)) + 1;
    }
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
    /* the runner publishes the format the weights have now (a quant=... rebuild changes it) */
    x = put_fmt(w, 0, x, ROLE_NORMAL, " %.1fM params %s", in->params / 1e6,
                d->st->wformat[0] ? d->st->wformat : in->wformat);
    x = put_text(w, 0, x, ROLE_DIM, " | ");
    x = put_fmt(w, 0, x, ROLE_VALUE, "%s", in->device_reason);
    const struct tel_parallel *p = d->have_state ? &d->st->par : NULL;
    if (p && p->n_devices > 1) {     /* the run's device group (core/parallel) */
        x = put_fmt(w, 0, x, ROLE_NORMAL, " on %d %s devices (tp=%d pp=%d)", p->n_devices, p->comm_algo[0] == 'n' ?
                    "cuda" : "cpu virtual", p->tp, p->pp);
        if (p->shared_cores) x = put_text(w, 0, x, ROLE_WARN, " sharing cores: timings contended");
    }
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
    if (st->probing || st->reloading) {   /* the workload starts when capacity / weights are ready */
        int x = put_text(w, 1, 0, ROLE_WARN, st->probing ? " PROBING " : " REBUILDING ");
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

void panel_header_draw(WINDOW *w, const struct tui_data *d, struct ui_state *ui)
{
    int rows, cols;
    getmaxyx(w, rows, cols);
    werase(w);
    draw_identity(w, d);
    draw_status(w, d, ui);
    draw_options(w, d, rows, cols);
    if (quality_rows(d, rows, 0) && rows > 2) draw_quality(w, d, rows - 1);
}
