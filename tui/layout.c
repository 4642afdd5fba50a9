/* tui/layout.c — see layout.h. Pure arithmetic on rectangles. */
#include "tui/layout.h"

#include <string.h>

static const char *const PANEL_NAMES[P_COUNT] = {
    "header", "KV cache", "batch", "phase timing", "traffic", "requests", "log", "speculative", "parallelism",
    "footer",
};
static const char *const VIEW_NAMES[VIEW_COUNT] = {"overview", "memory", "timing", "speculative", "parallel"};

const char *panel_name(enum panel_id p) { return p < P_COUNT ? PANEL_NAMES[p] : "?"; }
const char *view_name(enum view_id v) { return v < VIEW_COUNT ? VIEW_NAMES[v] : "?"; }

static struct rect rect_make(int y, int x, int h, int w)
{
    struct rect r = {y, x, h > 0 ? h : 0, w > 0 ? w : 0};
    return r;
}

/* Split r into n stacked parts; the last one takes the remainder. */
static void split_rows(struct rect r, int n, struct rect *out)
{
    int y = r.y;
    for (int i = 0; i < n; i++) {
        int h = i == n - 1 ? r.y + r.h - y : r.h / n;
        out[i] = rect_make(y, r.x, h, r.w);
        y += h;
    }
}

/* Log strip at the bottom of the body when there is room; returns the rest. */
static struct rect take_log(struct rect body, int min_body, struct layout *out)
{
    int log_h = body.h >= min_body + 5 ? (body.h - min_body > 10 ? 8 : 5) : 0;
    if (body.h >= 40) log_h = 10;
    out->r[P_LOG] = rect_make(body.y + body.h - log_h, body.x, log_h, body.w);
    body.h -= log_h;
    return body;
}

static void layout_overview(struct rect body, struct layout *out)
{
    body = take_log(body, 22, out);
    int lw = body.w / 2;
    struct rect left = rect_make(body.y, body.x, body.h, lw);
    struct rect right = rect_make(body.y, body.x + lw, body.h, body.w - lw);
    int kv_h = left.h * 11 / 20;
    out->r[P_KV] = rect_make(left.y, left.x, kv_h, left.w);
    out->r[P_REQS] = rect_make(left.y + kv_h, left.x, left.h - kv_h, left.w);
    struct rect parts[3];
    split_rows(right, 3, parts);
    out->r[P_BATCH] = parts[0];
    out->r[P_PHASE] = parts[1];
    out->r[P_TRAFFIC] = parts[2];
}

static void layout_memory(struct rect body, struct layout *out)
{
    body = take_log(body, 18, out);
    int kv_h = body.h * 3 / 5;
    out->r[P_KV] = rect_make(body.y, body.x, kv_h, body.w);
    out->r[P_REQS] = rect_make(body.y + kv_h, body.x, body.h - kv_h, body.w);
}

static void layout_timing(struct rect body, struct layout *out)
{
    body = take_log(body, 18, out);
    struct rect parts[3];
    split_rows(body, 3, parts);
    out->r[P_BATCH] = parts[0];
    out->r[P_PHASE] = parts[1];
    out->r[P_TRAFFIC] = parts[2];
}

/* Speculative decoding: its panel over the body, the log below when there is room. */
static void layout_spec(struct rect body, struct layout *out)
{
    out->r[P_SPEC] = take_log(body, 14, out);
}

/* The parallelism panel (pipeline Gantt, devices) over the traffic panel. */
static void layout_parallel(struct rect body, struct layout *out)
{
    body = take_log(body, 18, out);
    int pipe_h = body.h * 3 / 5;
    out->r[P_PIPE] = rect_make(body.y, body.x, pipe_h, body.w);
    out->r[P_TRAFFIC] = rect_make(body.y + pipe_h, body.x, body.h - pipe_h, body.w);
}

void layout_compute(int rows, int cols, int header_h, enum view_id view, int zoom, struct layout *out)
{
    memset(out, 0, sizeof *out);
    if (rows < LAYOUT_MIN_ROWS || cols < LAYOUT_MIN_COLS) {
        out->too_small = true;
        return;
    }
    if (header_h < 3) header_h = 3;
    if (header_h > 7) header_h = 7;
    out->r[P_HEADER] = rect_make(0, 0, header_h, cols);
    out->r[P_FOOTER] = rect_make(rows - 1, 0, 1, cols);
    struct rect body = rect_make(header_h, 0, rows - 1 - header_h, cols);
    if (zoom > P_HEADER && zoom < P_FOOTER) {
        out->r[zoom] = body;
        return;
    }
    switch (view) {
    case VIEW_MEMORY: layout_memory(body, out); break;
    case VIEW_TIMING: layout_timing(body, out); break;
    case VIEW_SPEC: layout_spec(body, out); break;
    case VIEW_PARALLEL: layout_parallel(body, out); break;
    default: layout_overview(body, out); break;
    }
}
