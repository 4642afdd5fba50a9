/* tui/panel_traffic.c — memory traffic per op class over the steps since the
 * last option change (at most TRAFFIC_WINDOW): main-memory (DRAM/HBM) bytes
 * vs on-chip bytes per step, achieved GB/s and arithmetic intensity.
 * Bytes are MODELED on backends without counters, and labelled so. */
#include "tui/graph.h"
#include "tui/panel.h"

#include <stdio.h>

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

static void draw_row(WINDOW *w, int y, int wd, enum op_class c, const struct op_class_sum *o, int steps,
                     double total_time)
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
    double parts[2] = {o->dram_bytes, o->chip_bytes};
    const enum role roles[2] = {ROLE_DRAM, ROLE_CHIP};
    if (wd - 1 - x >= 6) graph_hbar(w, y, x, wd - 1 - x, parts, roles, 2, o->dram_bytes + o->chip_bytes);
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
    if (wd - 1 - x >= 9) {
        x = put_text(w, 1, x, ROLE_DRAM, "DRAM");
        x = put_text(w, 1, x, ROLE_LABEL, ":");
        put_text(w, 1, x, ROLE_CHIP, "chip");
    }
    for (int i = 0; i < OPC_COUNT && i < h - 3; i++) draw_row(w, 2 + i, wd, ORDER[i], &o[ORDER[i]], n, total_time);
    char title[96];
    snprintf(title, sizeof title, "traffic, %s bytes, last %d steps", d->info.modeled_bytes ? "MODELED" : "measured", n);
    panel_frame(w, P_TRAFFIC, title, ui, ui);
}
