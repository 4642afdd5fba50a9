/* tui/panel_traffic.c — memory traffic per op class over the steps since the
 * last option change (at most TRAFFIC_WINDOW): main-memory (DRAM/HBM) bytes
 * vs on-chip bytes per step, achieved GB/s and arithmetic intensity.
 * Bytes are MODELED on backends without counters, and labelled so. After the
 * measure key (tui/live_traffic.h): a "meas/st" column of the HBM bytes the
 * range profiler measured per step and their error against the modeled
 * bytes of the same steps; where nothing could be measured, the reason.
 * The last row: the backend's step graphs and device sampling counters. */
#include "tui/graph.h"
#include "tui/panel.h"

#include <stdio.h>
#include <string.h>

#define TRAFFIC_WINDOW 64

static const enum op_class ORDER[OPC_COUNT] = {OPC_ATTN, OPC_MATMUL, OPC_NORM, OPC_ELTWISE, OPC_EMBED, OPC_COPY, OPC_COMM};

/* Steps to sum: those at or after the last marker (so a toggle shows at
 * once), at most TRAFFIC_WINDOW; all recent ones when none ran since. */
static int traffic_window(const struct tui_data *d)
{
    uint64_t m;
    bool have = data_last_marker(d, &m);
    int n = 0;
    for (; n < TRAFFIC_WINDOW; n++) {
        const struct step_record *s = data_step_back(d, n);
        if (!s || (have && s->index < m)) break;
    }
    return n > 0 ? n : TRAFFIC_WINDOW;
}

static void sum_ops(const struct tui_data *d, int n, struct op_class_sum out[OPC_COUNT])
{
    for (int c = 0; c < OPC_COUNT; c++) out[c] = (struct op_class_sum){0};
    for (int k = 0; k < n; k++) {
        const struct step_record *s = data_step_back(d, k);
        if (!s) break;
        for (int c = 0; c < OPC_COUNT; c++) {
            out[c].time_s += s->ops[c].time_s;
            out[c].flops += s->ops[c].flops;
            out[c].dram_bytes += s->ops[c].dram_bytes;
            out[c].chip_bytes += s->ops[c].chip_bytes;
            out[c].count += s->ops[c].count;
        }
    }
}

static const char *short_name(enum op_class c)
{
    static const char *const N[OPC_COUNT] = {
        [OPC_MATMUL] = "matmul", [OPC_ATTN] = "attn", [OPC_NORM] = "norm",
        [OPC_ELTWISE] = "eltwise", [OPC_EMBED] = "embed", [OPC_COPY] = "copy", [OPC_COMM] = "comm",
    };
    return c < OPC_COUNT ? N[c] : "?";
}

/* The profiler's row of op class c, or NULL. */
static const struct tm_row *measured_row(const struct tui_measured *m, enum op_class c)
{
    for (int i = 0; m->have && i < m->n_rows; i++)
        if (strcmp(m->rows[i].name, op_class_name(c)) == 0) return &m->rows[i];
    return NULL;
}

/* "meas/st err%": measured HBM bytes per step and their error against the
 * modeled bytes of the measured steps; blanks for a class not measured. */
static int draw_measured(WINDOW *w, int y, int x, const struct tm_row *m, int steps)
{
    if (!m) return put_fmt(w, y, x, ROLE_DIM, "%7s %6s ", "-", "");
    char b[16];
    fmt_bytes(m->dram / (steps > 0 ? steps : 1), b, sizeof b);
    x = put_fmt(w, y, x, ROLE_VALUE, "%7s ", b);
    return put_fmt(w, y, x, ROLE_NORMAL, "%+5.0f%% ", crp_error_pct(m->modeled_dram, m->dram));
}

static void draw_row(WINDOW *w, int y, int wd, enum op_class c, const struct op_class_sum *o, int steps,
                     double total_time, const struct tui_measured *m)
{
    char dram[16], chip[16];
    fmt_bytes(o->dram_bytes / steps, dram, sizeof dram);
    fmt_bytes(o->chip_bytes / steps, chip, sizeof chip);
    double gbs = o->time_s > 0 ? o->dram_bytes / o->time_s / 1e9 : 0;
    double ai = o->dram_bytes > 0 ? o->flops / o->dram_bytes : 0;
    enum role r = c == OPC_ATTN ? ROLE_ATTN : c == OPC_MATMUL ? ROLE_MATMUL : ROLE_NORMAL;
    int x = put_fmt(w, y, 1, r, "%-7s", short_name(c));
    x = put_fmt(w, y, x, ROLE_NORMAL, "%3.0f%% %7s %7s %6.1f %6.2f ",
                total_time > 0 ? 100 * o->time_s / total_time : 0, dram, chip, gbs, ai);
    if (m->have) x = draw_measured(w, y, x, measured_row(m, c), m->steps);
    double parts[2] = {o->dram_bytes, o->chip_bytes};
    const enum role roles[2] = {ROLE_DRAM, ROLE_CHIP};
    if (wd - 1 - x >= 6) graph_hbar(w, y, x, wd - 1 - x, parts, roles, 2, o->dram_bytes + o->chip_bytes);
}

/* The bottom row: why nothing was measured, else the hooks' counters. */
static void draw_footer_row(WINDOW *w, int y, const struct tui_data *d)
{
    if (d->measured.reason[0]) {
        put_fmt(w, y, 1, ROLE_WARN, "measured: %s", d->measured.reason);
        return;
    }
    if (d->replay.on) return;            /* recordings do not carry the hooks' counters */
    char line[320];
    tel_hooks_format(&d->st->hooks, d->info.backend, line, sizeof line);
    put_text(w, y, 1, ROLE_DIM, line);
}

/* The title's note on step graphs: " | graphs: n/a (cpu)", " | graphs: off",
 * " | graphs: 40 replays, 1 captures"; "" in a replay (not recorded). */
static void graphs_short(const struct tui_data *d, char *out, size_t n)
{
    const struct tel_backend_hooks *h = &d->st->hooks;
    if (d->replay.on) snprintf(out, n, "%s", "");
    else if (!h->has_graphs) snprintf(out, n, " | graphs: n/a (%s)", d->info.backend);
    else if (h->graphs.off) snprintf(out, n, " | graphs: off");
    else snprintf(out, n, " | graphs: %llu replays, %llu captures", (unsigned long long)h->graphs.replays,
                  (unsigned long long)(h->graphs.captures + h->graphs.recaptures));
}

void panel_traffic_draw(WINDOW *w, const struct tui_data *d, struct ui_state *ui)
{
    int h, wd;
    getmaxyx(w, h, wd);
    werase(w);
    int n = traffic_window(d);
    struct op_class_sum o[OPC_COUNT];
    sum_ops(d, n, o);
    double total_time = 0;
    for (int c = 0; c < OPC_COUNT; c++) total_time += o[c].time_s;
    int x = put_fmt(w, 1, 1, ROLE_LABEL, "%-7s%4s %7s %7s %6s %6s ", "op", "time", "DRAM/st", "chip/st", "GB/s", "F/B");
    if (d->measured.have) x = put_fmt(w, 1, x, ROLE_LABEL, "%7s %6s ", "meas/st", "err");
    if (wd - 1 - x >= 9) {
        x = put_text(w, 1, x, ROLE_DRAM, "DRAM");
        x = put_text(w, 1, x, ROLE_LABEL, ":");
        put_text(w, 1, x, ROLE_CHIP, "chip");
    }
    int rows = h - 3 > OPC_COUNT ? OPC_COUNT : h - 3;
    bool footer = h - 3 > OPC_COUNT || d->measured.reason[0];   /* the reason may take an op row */
    if (footer && rows == h - 3) rows--;
    for (int i = 0; i < rows; i++) draw_row(w, 2 + i, wd, ORDER[i], &o[ORDER[i]], n, total_time, &d->measured);
    if (footer && h >= 4) draw_footer_row(w, 2 + rows, d);
    char title[160], graphs[64];
    graphs_short(d, graphs, sizeof graphs);
    snprintf(title, sizeof title, "traffic, %s bytes%s, last %d steps%s", d->info.modeled_bytes ? "MODELED" : "measured",
             d->measured.have ? " + measured column" : "", n, graphs);
    panel_frame(w, P_TRAFFIC, title, ui, ui);
}
