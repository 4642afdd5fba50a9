/* tui/panel_pipe.c — the parallelism panel: the last step as a Gantt chart,
 * one row per device (stage, rank), time across; each micro-batch's compute
 * is its number in its own colour, idle (the pipeline bubble) a shade glyph
 * ('.' in ASCII), send '>' and recv '<' in the comm colour — so monochrome
 * and ASCII terminals still tell them apart. Beside it the measured bubble
 * against (p−1)/(m+p−1), the comm share of the step, and per device: memory
 * (its stage's layers, weights, KV, activation buffers, residual rows) and the tensor-parallel
 * view, busy vs all-reduce (comm) time. */
#include "tui/panel.h"

#include <stdio.h>
#include <string.h>

#define PIPE_LABEL_W 9      /* "d0 s0 r0 " */
#define PIPE_MAX_W 400

/* Which segments win a shared cell: compute over comm over idle. */
static int seg_rank(int kind)
{
    return kind == SEG_COMPUTE ? 3 : kind == SEG_IDLE ? 1 : 2;
}

static char mb_glyph(int mb)
{
    return mb < 0 ? '?' : mb < 10 ? (char)('0' + mb) : (char)('a' + (mb - 10) % 26);
}

/* Cells of device d's row: kind+1 per cell (0: nothing), mb per cell. */
static void row_cells(const struct runner_state *st, int dev, double t0, double span, int gw, int *kind, int *mb)
{
    for (int x = 0; x < gw; x++) kind[x] = 0, mb[x] = -1;
    for (int i = 0; i < st->n_seg; i++) {
        const struct tel_segment *s = &st->seg[i];
        if (s->device != dev) continue;
        int x0 = (int)((s->t0_s - t0) / span * gw), x1 = (int)((s->t1_s - t0) / span * gw + 0.5);
        if (x1 <= x0) x1 = x0 + 1;
        if (x0 < 0) x0 = 0;
        if (x1 > gw) x1 = gw;
        for (int x = x0; x < x1; x++)
            if (!kind[x] || seg_rank(s->kind) > seg_rank(kind[x] - 1)) {
                kind[x] = s->kind + 1;
                mb[x] = s->mb;
            }
    }
}

static void draw_gantt_row(WINDOW *w, int y, const struct runner_state *st, int dev, int gw)
{
    const struct tel_device *td = &st->par.dev[dev];
    put_fmt(w, y, 1, ROLE_LABEL, "d%d s%d r%d", dev, td->stage, td->rank);
    int kind[PIPE_MAX_W], mb[PIPE_MAX_W];
    double t0 = 1e300;
    for (int i = 0; i < st->n_seg; i++)
        if (st->seg[i].t0_s < t0) t0 = st->seg[i].t0_s;
    double span = st->par.span_s > 0 ? st->par.span_s : 1;
    row_cells(st, dev, t0, span, gw, kind, mb);
    const char *idle = theme_glyphs()->utf8 ? "\u2591" : ".";
    for (int x = 0; x < gw; x++) {
        int cx = 1 + PIPE_LABEL_W + x;
        char g[2] = {0, 0};
        switch (kind[x] - 1) {
        case SEG_COMPUTE: g[0] = mb_glyph(mb[x]); put_glyph(w, y, cx, theme_owner_role(mb[x] < 0 ? 0 : mb[x]), g); break;
        case SEG_SEND: put_glyph(w, y, cx, ROLE_CHIP, ">"); break;
        case SEG_RECV: put_glyph(w, y, cx, ROLE_CHIP, "<"); break;
        case SEG_IDLE: put_glyph(w, y, cx, ROLE_DIM, idle); break;
        default: put_glyph(w, y, cx, ROLE_NORMAL, " "); break;
        }
    }
}

static void draw_summary(WINDOW *w, const struct runner_state *st, int wd)
{
    const struct tel_parallel *p = &st->par;
    int x = put_fmt(w, 1, 1, ROLE_LABEL, "tp=%d pp=%d m=%d%s ", p->tp, p->pp, p->micro_batches, p->sp ? " sp" : "");
    x = put_fmt(w, 1, x, ROLE_NORMAL, "(%d used) ", p->mb_used);
    x = put_text(w, 1, x, ROLE_LABEL, "bubble ");
    x = put_fmt(w, 1, x, ROLE_VALUE, "%.1f%%", 100 * p->bubble);
    x = put_text(w, 1, x, ROLE_LABEL, " measured vs (p-1)/(m+p-1) ");
    x = put_fmt(w, 1, x, ROLE_VALUE, "%.1f%%", 100 * p->bubble_formula);
    x = put_text(w, 1, x, ROLE_LABEL, "  comm ");
    x = put_fmt(w, 1, x, ROLE_CHIP, "%.1f%%", 100 * p->comm_share);
    x = put_fmt(w, 1, x, ROLE_LABEL, " of step (%s)", p->comm_algo);
    if (p->shared_cores && x + 30 < wd) put_text(w, 1, x + 1, ROLE_WARN, "devices share cores: contended");
}

static void draw_legend(WINDOW *w, int y)
{
    int x = put_text(w, y, 1, ROLE_LABEL, "0-9 micro-batch compute  ");
    put_glyph(w, y, x, ROLE_DIM, theme_glyphs()->utf8 ? "\u2591" : ".");
    x = put_text(w, y, x + 1, ROLE_LABEL, " idle (bubble)  ");
    x = put_text(w, y, x, ROLE_CHIP, "> <");
    put_text(w, y, x, ROLE_LABEL, " send/recv");
}

/* Per device: memory and busy vs comm (the tensor-parallel view). */
static void draw_device(WINDOW *w, int y, int wd, const struct tel_device *td)
{
    char wb[16], kb[16], ab[16], rb[16];
    fmt_bytes(td->weight_bytes, wb, sizeof wb);
    fmt_bytes(td->kv_bytes, kb, sizeof kb);
    fmt_bytes(td->act_bytes, ab, sizeof ab);
    fmt_bytes(td->resid_bytes, rb, sizeof rb);
    int x = put_fmt(w, y, 1, ROLE_LABEL, "d%-2d", td->device);
    x = put_fmt(w, y, x, ROLE_NORMAL, "L%d-%d ", td->l0, td->l1 - 1);
    x = put_fmt(w, y, x, ROLE_NORMAL, "w %s kv %s act %s resid %s ", wb, kb, ab, rb);
    double tot = td->compute_s + td->comm_s + td->idle_s;
    int bw = wd - 2 - x - 22;
    if (bw < 4 || tot <= 0) return;
    int nb = (int)(bw * td->compute_s / tot + 0.5), nc = (int)(bw * td->comm_s / tot + 0.5);
    for (int i = 0; i < bw; i++)
        put_glyph(w, y, x + i, i < nb ? ROLE_MATMUL : i < nb + nc ? ROLE_CHIP : ROLE_DIM,
                  i < nb ? "#" : i < nb + nc ? "~" : (theme_glyphs()->utf8 ? "\u2591" : "."));
    put_fmt(w, y, x + bw + 1, ROLE_NORMAL, "busy %2.0f%% comm %2.0f%%", 100 * td->compute_s / tot,
            100 * td->comm_s / tot);
}

void panel_pipe_draw(WINDOW *w, const struct tui_data *d, struct ui_state *ui)
{
    int h, wd;
    getmaxyx(w, h, wd);
    werase(w);
    const struct runner_state *st = d->st;
    if (!d->have_state || st->par.n_devices < 2) {
        put_text(w, 1, 1, ROLE_DIM, "one device: set tp or pp (--set tp=N pp=N micro_batches=M) to split the model");
        panel_frame(w, P_PIPE, "parallelism", ui, ui);
        return;
    }
    draw_summary(w, st, wd);
    int n = st->par.n_devices, gw = wd - 2 - PIPE_LABEL_W;
    if (gw > PIPE_MAX_W) gw = PIPE_MAX_W;
    int y = 2;
    for (int dev = 0; dev < n && y < h - 1 && gw > 0; dev++) draw_gantt_row(w, y++, st, dev, gw);
    if (y < h - 1) draw_legend(w, y++);
    for (int dev = 0; dev < n && y < h - 1; dev++) draw_device(w, y++, wd, &st->par.dev[dev]);
    panel_frame(w, P_PIPE, "parallelism: pipeline (last step) and devices", ui, ui);
}
