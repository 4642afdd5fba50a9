/* tui/panel_spec.c — speculative decoding (core/spec): acceptance per
 * position (bars) and the measured vs predicted speedup over the recent
 * steps, the draft vs verify time split, and two scrolling graphs —
 * acceptance rate and tokens per target step — whose markers show where an
 * option (spec, spec_k, ...) changed. Keys: s cycles spec, K cycles spec_k. */
#include "core/spec/spec.h"
#include "core/spec/spec_report.h"
#include "tui/graph.h"
#include "tui/panel.h"

#include <string.h>

#define SPEC_WINDOW 64   /* steps the summary covers */

/* The recent steps' speculative counts, as core/spec/spec_report.h defines them. */
static void recent_spec(const struct tui_data *d, struct spec_report *r)
{
    static struct step_record recent[SPEC_WINDOW];
    int n = 0;
    for (int k = SPEC_WINDOW - 1; k >= 0; k--) {
        const struct step_record *s = data_step_back(d, k);
        if (s) recent[n++] = *s;
    }
    spec_report_compute(recent, n, r);
}

static double step_accept_pct(const struct step_record *s)
{
    return s->spec.drafted ? 100.0 * s->spec.accepted / s->spec.drafted : 0;
}

/* Tokens each speculating request committed per target step (1 = no gain). */
static double step_tokens_per_verify(const struct step_record *s)
{
    return s->spec.drafts ? (double)s->spec.emitted / s->spec.drafts : 0;
}

static void draw_summary(WINDOW *w, const struct tui_data *d, const struct spec_report *r, int wd)
{
    const struct options *o = &d->st->opt;
    int x = put_text(w, 1, 1, ROLE_LABEL, "spec ");
    x = put_text(w, 1, x, ROLE_VALUE, opt_s(o, OPT_SPEC));
    x = put_fmt(w, 1, x, ROLE_LABEL, " k=%s ", opt_s(o, OPT_SPEC_K));
    if (r->drafts == 0) {
        put_text(w, 1, x, ROLE_DIM, opt_enum(o, SPEC) == SPEC_OFF ? "(off: s cycles the drafter)"
                                                                    : "(no drafts verified yet)");
        return;
    }
    x = put_text(w, 1, x, ROLE_LABEL, "accept ");
    x = put_fmt(w, 1, x, ROLE_VALUE, "%.1f%%", 100 * r->acceptance_rate);
    x = put_text(w, 1, x, ROLE_LABEL, "  mean len ");
    x = put_fmt(w, 1, x, ROLE_VALUE, "%.2f", r->mean_acceptance_length);
    x = put_text(w, 1, x, ROLE_LABEL, "  eff ");
    put_fmt(w, 1, x, ROLE_VALUE, "%.0f%%", 100 * r->draft_efficiency);
    /* measured: tokens per verify over (1 + draft time / verify time), i.e. a verify costing one
       plain step; predicted: Leviathan's formula from the acceptance rate and c */
    double measured = r->verify_s > 0 ? r->tokens_per_verify / (1 + r->draft_s / r->verify_s) : 0;
    x = put_text(w, 2, 1, ROLE_LABEL, "speedup measured ");
    x = put_fmt(w, 2, x, ROLE_VALUE, "%.2fx", measured);
    x = put_text(w, 2, x, ROLE_LABEL, " predicted ");
    x = put_fmt(w, 2, x, ROLE_VALUE, "%.2fx", r->predicted_speedup);
    x = put_fmt(w, 2, x, ROLE_LABEL, " (c %.3f) ", r->c);
    double t[2] = {r->draft_s, r->verify_s};
    const enum role roles[2] = {ROLE_PREFILL, ROLE_DECODE};
    x = put_text(w, 2, x, ROLE_PREFILL, "draft");
    x = put_text(w, 2, x, ROLE_LABEL, "/");
    x = put_text(w, 2, x, ROLE_DECODE, "verify ");
    if (wd - 1 - x > 4) graph_hbar(w, 2, x, wd - 1 - x, t, roles, 2, t[0] + t[1]);
}

/* Acceptance per position 1..k, one bar each, in as many columns as needed
 * to fit `rows` rows. Returns the rows used. */
static int draw_positions(WINDOW *w, const struct spec_report *r, int y, int rows, int wd)
{
    int k = r->k < TEL_SPEC_MAX_K ? r->k : TEL_SPEC_MAX_K;
    if (k <= 0 || rows <= 0) return 0;
    int cols = (k + rows - 1) / rows, per = k < rows ? k : rows;
    int cw = (wd - 2) / cols;
    for (int j = 0; j < k; j++) {
        int cy = y + j % per, cx = 1 + (j / per) * cw;
        int x = put_fmt(w, cy, cx, ROLE_LABEL, "pos %2d ", j + 1);
        x = put_fmt(w, cy, x, ROLE_VALUE, "%3.0f%% ", 100 * r->accept_at[j]);
        int bw = cx + cw - 1 - x;
        if (bw > 2) {
            double parts[2] = {r->accept_at[j], 1 - r->accept_at[j]};
            const enum role roles[2] = {ROLE_GOOD, ROLE_DIM};
            graph_hbar(w, cy, x, bw, parts, roles, 2, 1);
        }
    }
    return per;
}

static void draw_graph(WINDOW *w, const struct tui_data *d, int y, int h, int wd, step_value_fn f,
                       const char *label, enum role role, double floor_max)
{
    if (h < 2) return;
    static struct series s;
    series_from_steps(d, wd - 2, f, NULL, &s);
    double mx = series_max(&s);
    if (mx < floor_max) mx = floor_max;
    graph_columns(w, y, 1, h, wd - 2, &s, mx, role, role);
    put_fmt(w, y, 1, ROLE_LABEL, "%s (max %.1f)", label, mx);
}

void panel_spec_draw(WINDOW *w, const struct tui_data *d, struct ui_state *ui)
{
    int h, wd;
    getmaxyx(w, h, wd);
    werase(w);
    static struct spec_report r;
    recent_spec(d, &r);
    draw_summary(w, d, &r, wd);
    int y = 3, left = h - 1 - y;             /* rows inside the border below the summary */
    int pos_rows = left >= 8 ? (left - 4) / 2 : left >= 4 ? 1 : 0;
    if (pos_rows > TEL_SPEC_MAX_K) pos_rows = TEL_SPEC_MAX_K;
    y += draw_positions(w, &r, y, pos_rows, wd);
    left = h - 1 - y;
    int g1 = left / 2;
    draw_graph(w, d, y, g1, wd, step_accept_pct, "accept %/step", ROLE_GOOD, 100);
    draw_graph(w, d, y + g1, left - g1, wd, step_tokens_per_verify, "tokens/target step", ROLE_DECODE, 1);
    panel_frame(w, P_SPEC, "speculative decoding", ui, ui);
}
