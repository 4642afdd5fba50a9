/* tui/panel_phase.c — phase timing: prefill vs decode time per step
 * (stacked, scrolling), TTFT/TPOT percentiles, output tok/s, and the
 * per-op time split (attention / matmul / other) over recent steps. */
#include "tui/graph.h"
#include "tui/panel.h"

#define OPS_WINDOW 32   /* steps in the op-time split */

static double step_prefill_ms(const struct step_record *s) { return s->prefill_s * 1e3; }
static double step_decode_ms(const struct step_record *s) { return s->decode_s * 1e3; }

/* Op time over the last OPS_WINDOW steps: attention, matmul, everything else. */
static void op_split(const struct tui_data *d, double out[3])
{
    out[0] = out[1] = out[2] = 0;
    for (int k = 0; k < OPS_WINDOW; k++) {
        const struct step_record *s = data_step_back(d, k);
        if (!s) break;
        for (int c = 0; c < OPC_COUNT; c++) {
            int slot = c == OPC_ATTN ? 0 : c == OPC_MATMUL ? 1 : 2;
            out[slot] += s->ops[c].time_s;
        }
    }
}

static void draw_latency(WINDOW *w, const struct tui_data *d)
{
    const struct runner_state *st = d->st;
    int x = put_text(w, 1, 1, ROLE_LABEL, "TTFT p50/p99 ");
    x = put_fmt(w, 1, x, ROLE_VALUE, "%.0f/%.0f", st->ttft_p50_ms, st->ttft_p99_ms);
    x = put_text(w, 1, x, ROLE_LABEL, " ms  TPOT ");
    x = put_fmt(w, 1, x, ROLE_VALUE, "%.1f/%.1f", st->tpot_p50_ms, st->tpot_p99_ms);
    x = put_text(w, 1, x, ROLE_LABEL, " ms  out ");
    put_fmt(w, 1, x, ROLE_VALUE, "%.1f tok/s", d->out_tok_s_now);
}

static void draw_op_split(WINDOW *w, const struct tui_data *d, int y, int wd)
{
    double t[3];
    op_split(d, t);
    double total = t[0] + t[1] + t[2];
    const enum role roles[3] = {ROLE_ATTN, ROLE_MATMUL, ROLE_OTHER};
    int x = put_text(w, y, 1, ROLE_ATTN, "attn");
    x = put_fmt(w, y, x, ROLE_VALUE, " %2.0f%% ", total > 0 ? 100 * t[0] / total : 0);
    x = put_text(w, y, x, ROLE_MATMUL, "matmul");
    x = put_fmt(w, y, x, ROLE_VALUE, " %2.0f%% ", total > 0 ? 100 * t[1] / total : 0);
    x = put_text(w, y, x, ROLE_OTHER, "other");
    x = put_fmt(w, y, x, ROLE_VALUE, " %2.0f%% ", total > 0 ? 100 * t[2] / total : 0);
    if (wd - 1 - x > 4) graph_hbar(w, y, x, wd - 1 - x, t, roles, 3, total);
}

void panel_phase_draw(WINDOW *w, const struct tui_data *d, struct ui_state *ui)
{
    int h, wd;
    getmaxyx(w, h, wd);
    werase(w);
    draw_latency(w, d);
    if (h - 2 >= 2) draw_op_split(w, d, 2, wd);
    int gh = h - 4;
    if (gh >= 1) {
        static struct series s;
        series_from_steps(d, wd - 2, step_prefill_ms, step_decode_ms, &s);
        double mx = series_max(&s);
        graph_columns(w, 3, 1, gh, wd - 2, &s, mx, ROLE_PREFILL, ROLE_DECODE);
        int x = put_fmt(w, 3, 1, ROLE_LABEL, "ms/step (max %.1f) ", mx);
        x = put_text(w, 3, x, ROLE_PREFILL, "prefill");
        x = put_text(w, 3, x, ROLE_LABEL, "+");
        put_text(w, 3, x, ROLE_DECODE, "decode");
    }
    panel_frame(w, P_PHASE, "phase timing", ui, ui);
}
