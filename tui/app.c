/* tui/app.c — see app.h. One frame: data_collect → layout (pure) → panels
 * into their windows (wnoutrefresh) → one doupdate; then getch with the
 * time left in the tick (nvtop's timeout()/getch), so keys act at once
 * while the data refreshes at a fixed rate. */
#include "tui/app.h"
#include "tui/live_record.h"
#include "tui/live_traffic.h"
#include "tui/panel.h"
#include "tui/replay_source.h"
#include "tui/term.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const panel_draw_fn DRAW[P_COUNT] = {
    [P_HEADER] = panel_header_draw, [P_KV] = panel_kv_draw, [P_BATCH] = panel_batch_draw,
    [P_PHASE] = panel_phase_draw, [P_TRAFFIC] = panel_traffic_draw, [P_REQS] = panel_reqs_draw,
    [P_LOG] = panel_log_draw, [P_SPEC] = panel_spec_draw, [P_PIPE] = panel_pipe_draw,
    [P_FOOTER] = panel_footer_draw,
};

struct app {
    struct runner *r;
    struct replay *rp;           /* replay source (r is NULL then) */
    struct live_record *rec;
    struct live_traffic *traffic;
    struct tui_data d;
    struct ui_state ui;
    struct layout lay;
    WINDOW *win[P_COUNT];
    WINDOW *help;
    bool quit, resized;
    /* frame cost accounting, reported once a second */
    double acc_frame_s, acc_max_s, window_t0, window_cpu0;
    int acc_frames;
};

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- windows ---- */

static void free_windows(struct app *a)
{
    for (int p = 0; p < P_COUNT; p++) {
        if (a->win[p]) delwin(a->win[p]);
        a->win[p] = NULL;
    }
    if (a->help) delwin(a->help);
    a->help = NULL;
}

/* Recompute the layout; rebuild the windows when a rectangle moved. */
static void update_layout(struct app *a)
{
    int rows, cols;
    getmaxyx(stdscr, rows, cols);
    struct layout nl;
    int zoom = a->ui.zoom ? a->ui.focus : -1;
    layout_compute(rows, cols, panel_header_rows(&a->d, cols, rows), a->ui.view, zoom, &nl);
    if (!a->resized && memcmp(&nl, &a->lay, sizeof nl) == 0) return;
    free_windows(a);
    a->lay = nl;
    a->resized = false;
    clearok(curscr, TRUE);
    werase(stdscr);
    wnoutrefresh(stdscr);
    for (int p = 0; p < P_COUNT && !nl.too_small; p++) {
        struct rect r = nl.r[p];
        if (rect_visible(r)) a->win[p] = newwin(r.h, r.w, r.y, r.x);
    }
}

static void draw_too_small(void)
{
    int rows, cols;
    getmaxyx(stdscr, rows, cols);
    werase(stdscr);
    char msg[96];
    snprintf(msg, sizeof msg, "terminal too small: need %dx%d (have %dx%d)", LAYOUT_MIN_COLS, LAYOUT_MIN_ROWS,
             cols, rows);
    mvwaddnstr(stdscr, rows / 2, 0, msg, cols);
    mvwaddnstr(stdscr, rows / 2 + 1, 0, "q quits", cols);
    wnoutrefresh(stdscr);
}

static void draw_help(struct app *a)
{
    int rows, cols;
    getmaxyx(stdscr, rows, cols);
    int h = panel_help_lines(&a->d, a->ui.key_mode) + 2, w = cols - 4 < 120 ? cols - 4 : 120;
    if (h > rows - 2) h = rows - 2;
    if (!a->help) a->help = newwin(h, w, (rows - h) / 2, (cols - w) / 2);
    if (!a->help) return;
    panel_help_draw(a->help, &a->d, &a->ui);
    wnoutrefresh(a->help);
}

static void draw_frame(struct app *a)
{
    update_layout(a);
    a->ui.n_clicks = 0;
    if (a->lay.too_small) {
        draw_too_small();
        doupdate();
        return;
    }
    for (int p = 0; p < P_COUNT; p++) {
        if (!a->win[p]) continue;
        DRAW[p](a->win[p], &a->d, &a->ui);
        wnoutrefresh(a->win[p]);
    }
    if (a->ui.help) draw_help(a);
    doupdate();
}

/* ---- frame cost ---- */

static void account_frame(struct app *a, double t0)
{
    double now = clock_s(CLOCK_MONOTONIC), dt = now - t0;
    a->acc_frame_s += dt;
    if (dt > a->acc_max_s) a->acc_max_s = dt;
    a->acc_frames++;
    if (now - a->window_t0 < 1.0) return;
    double cpu = clock_s(CLOCK_THREAD_CPUTIME_ID);
    a->d.frame_ms = 1e3 * a->acc_frame_s / a->acc_frames;
    a->d.frame_ms_max = 1e3 * a->acc_max_s;
    a->d.cpu_pct = 100.0 * (cpu - a->window_cpu0) / (now - a->window_t0);
    a->window_t0 = now;
    a->window_cpu0 = cpu;
    a->acc_frame_s = a->acc_max_s = 0;
    a->acc_frames = 0;
}

/* ---- input ---- */

static void set_status(struct app *a, const char *msg)
{
    snprintf(a->ui.status, sizeof a->ui.status, "%.159s", msg);
    a->ui.status_at = a->d.st->elapsed_s;
    char line[200];   /* data_push_log keeps the first 159 characters */
    snprintf(line, sizeof line, "[%7.2fs] tui: %.150s", a->d.st->elapsed_s, msg);
    data_push_log(&a->d, line);
}

/* The measure key: the range profiler over the next steps, or the reason
 * nothing can be measured here, on screen (status line and traffic panel). */
static void measure_traffic(struct app *a)
{
    char why[256];
    if (!a->traffic) { set_status(a, "measure: no live run to profile"); return; }
    if (live_traffic_request(a->traffic, LIVE_TRAFFIC_STEPS, why, sizeof why) == 0) {
        char line[96];
        snprintf(line, sizeof line, "measure: range profiler over the next %d steps", LIVE_TRAFFIC_STEPS);
        set_status(a, line);
        return;
    }
    memset(&a->d.measured, 0, sizeof a->d.measured);
    snprintf(a->d.measured.reason, sizeof a->d.measured.reason, "%s", why);
    set_status(a, why);
}

/* The key's next value the runner would take: values it refuses (a split
 * the model cannot take, e.g. tp=4 on 2 KV heads) are skipped, the first
 * refusal's reason in *why. -1 when none is taken. */
static int next_taken_value(struct app *a, const struct key_binding *k, char *value, size_t n, char *why, size_t whylen)
{
    struct options o = a->d.st->opt;
    char err[256];
    why[0] = 0;
    for (int tries = 0; tries < 16; tries++) {
        if (keys_next_value(k, &o, value, n) < 0) return -1;
        if (runner_check_option(a->r, &o, k->opt, value, err, sizeof err) == 0) return 0;
        if (!why[0]) snprintf(why, whylen, "%s", err);
        if (options_set_id(&o, k->opt, value, err, sizeof err) < 0) return -1;
        if (!strcmp(opt_s(&o, k->opt), opt_s(&a->d.st->opt, k->opt))) return -1;   /* back where it started */
    }
    return -1;
}

static void toggle_option(struct app *a, const struct key_binding *k)
{
    char value[64], msg[160], why[256];
    const struct option_def *def = option_def(k->opt);
    if (next_taken_value(a, k, value, sizeof value, why, sizeof why) < 0) {
        snprintf(msg, sizeof msg, "%s: no other value fits: %.120s", def->name, why);
        set_status(a, msg);
        return;
    }
    bool sent = runner_set_option(a->r, k->opt, value);
    snprintf(msg, sizeof msg, "%s=%.16s %s%s%s%.100s", def->name, value, sent ? "-> " : "not sent: command queue full",
             sent ? opt_class_effect(def->cls) : "", why[0] ? "; skipped " : "", why);
    set_status(a, msg);
}

static void send_cmd(struct app *a, enum runner_cmd_kind kind)
{
    struct runner_cmd c = {.kind = kind};
    runner_send(a->r, &c);
}

/* Replay-only actions: the clock moves now; the next collect redraws. */
static void replay_action(struct app *a, enum ui_action act)
{
    struct replay *p = a->rp;
    char msg[64];
    switch (act) {
    case ACT_PAUSE: replay_toggle_pause(p); set_status(a, p->paused ? "pause" : "play"); return;
    case ACT_STEP: replay_step(p); set_status(a, "single step"); return;
    case ACT_BACK_STEPS: replay_seek_steps(p, -REPLAY_SEEK_STEPS); set_status(a, "seek -100 steps"); return;
    case ACT_FWD_STEPS: replay_seek_steps(p, REPLAY_SEEK_STEPS); set_status(a, "seek +100 steps"); return;
    case ACT_BACK_TIME: replay_seek_time(p, -REPLAY_SEEK_S); set_status(a, "seek -10 s"); return;
    case ACT_FWD_TIME: replay_seek_time(p, REPLAY_SEEK_S); set_status(a, "seek +10 s"); return;
    case ACT_START: replay_seek_start(p); set_status(a, "seek to the start"); return;
    case ACT_END: replay_seek_end(p); set_status(a, "seek to the end"); return;
    case ACT_FASTER: case ACT_SLOWER:
        replay_change_speed(p, act == ACT_FASTER ? 1 : -1);
        snprintf(msg, sizeof msg, "speed x%g", p->speed);
        set_status(a, msg);
        return;
    default: return;
    }
}

/* Body panels shown now, in focus order. */
static void focus_next(struct app *a)
{
    for (int i = 1; i <= P_COUNT; i++) {
        int p = (a->ui.focus + i) % P_COUNT;
        if (p != P_HEADER && p != P_FOOTER && rect_visible(a->lay.r[p])) { a->ui.focus = p; return; }
    }
}

static void scroll_reqs(struct app *a, int delta)
{
    if (a->ui.help) {
        a->ui.help_scroll += delta > 0 ? 1 : -1;
        if (a->ui.help_scroll < 0) a->ui.help_scroll = 0;
        int lines = panel_help_lines(&a->d, a->ui.key_mode);
        if (a->ui.help_scroll > lines) a->ui.help_scroll = lines;
        return;
    }
    a->ui.reqs_scroll += delta;     /* clamped by the panel when drawn */
}

static void run_action(struct app *a, enum ui_action act)
{
    int page = rect_visible(a->lay.r[P_REQS]) ? a->lay.r[P_REQS].h - 3 : 10;
    if (a->rp && (act == ACT_PAUSE || act == ACT_STEP || act >= ACT_BACK_STEPS)) {
        replay_action(a, act);
        return;
    }
    switch (act) {
    case ACT_QUIT: a->quit = true; break;
    case ACT_PAUSE: send_cmd(a, RCMD_TOGGLE_PAUSE); set_status(a, a->d.st->paused ? "resume" : "pause"); break;
    case ACT_STEP: send_cmd(a, RCMD_STEP); set_status(a, "single step"); break;
    case ACT_RESET: send_cmd(a, RCMD_RESET); set_status(a, "reset: scenario restarts"); break;
    case ACT_MEASURE: measure_traffic(a); break;
    case ACT_HELP: a->ui.help = !a->ui.help; a->ui.help_scroll = 0; break;
    case ACT_FOCUS: focus_next(a); break;
    case ACT_ZOOM: a->ui.zoom = !a->ui.zoom; break;
    case ACT_VIEW:
        a->ui.view = (a->ui.view + 1) % VIEW_COUNT;
        a->ui.zoom = false;
        set_status(a, view_name(a->ui.view));
        break;
    case ACT_SORT:
        if (a->ui.sort == SORT_COUNT - 1 && !a->ui.sort_desc) a->ui.sort_desc = true;
        else { a->ui.sort = (a->ui.sort + 1) % SORT_COUNT; a->ui.sort_desc = false; }
        break;
    case ACT_UP: scroll_reqs(a, -1); break;
    case ACT_DOWN: scroll_reqs(a, 1); break;
    case ACT_PGUP: scroll_reqs(a, -page); break;
    case ACT_PGDN: scroll_reqs(a, page); break;
    default: break;
    }
}

static void handle_key(struct app *a, int ch);

/* A click acts like its key; a panel title focuses that panel and zooms it (again: unzoom). */
static void handle_mouse(struct app *a)
{
    MEVENT ev;
    if (getmouse(&ev) != OK) return;
    for (int i = 0; i < a->ui.n_clicks; i++) {
        const struct click_region *c = &a->ui.clicks[i];
        if (ev.y != c->y || ev.x < c->x0 || ev.x > c->x1) continue;
        if (c->key) { handle_key(a, c->key); return; }
        if (c->panel >= 0) {
            a->ui.zoom = !(a->ui.zoom && a->ui.focus == c->panel);
            a->ui.focus = c->panel;
        }
        return;
    }
}

static void handle_key(struct app *a, int ch)
{
    if (ch == KEY_RESIZE) { a->resized = true; return; }
    if (ch == KEY_MOUSE) { handle_mouse(a); return; }
    if (a->ui.help && ch != KEY_UP && ch != KEY_DOWN && ch != KEY_PPAGE && ch != KEY_NPAGE) {
        a->ui.help = false;              /* any other key closes help */
        return;
    }
    const struct key_binding *k = keys_find_in(ch, a->ui.key_mode);
    if (!k) return;
    if (k->kind == KK_ACTION) run_action(a, k->action);
    else toggle_option(a, k);
}

/* ---- loop ---- */

int app_run(struct runner *r, const struct app_config *cfg)
{
    struct app a;
    memset(&a, 0, sizeof a);
    a.r = r;
    a.rp = cfg->replay;
    a.rec = cfg->rec;
    a.traffic = cfg->traffic;
    a.ui.focus = P_KV;
    a.ui.key_mode = a.rp ? KM_REPLAY : KM_LIVE;
    if (data_init(&a.d) < 0) { fprintf(stderr, "infertop: tui: out of memory\n"); return 1; }
    a.d.info = *cfg->info;
    if (term_start(cfg->mono, cfg->ascii) < 0) { data_free(&a.d); return 1; }
    double tick = 1.0 / (cfg->fps > 0 ? cfg->fps : 15.0);
    a.window_t0 = clock_s(CLOCK_MONOTONIC);
    a.window_cpu0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    a.resized = true;
    while (!a.quit && !term_quit_requested()) {
        double t0 = clock_s(CLOCK_MONOTONIC);
        if (a.rp) replay_collect(&a.d, a.rp, t0);
        else data_collect(&a.d, r);
        if (a.rec) live_record_pump(a.rec, &a.d);
        if (a.traffic && live_traffic_take(a.traffic, &a.d) && a.d.measured.reason[0])
            set_status(&a, a.d.measured.reason);
        draw_frame(&a);
        account_frame(&a, t0);
        double left = tick - (clock_s(CLOCK_MONOTONIC) - t0);
        timeout(left > 0 ? (int)(left * 1e3) : 0);
        int ch = getch();
        if (ch != ERR) handle_key(&a, ch);
    }
    free_windows(&a);
    int status = term_quit_status();
    term_stop();
    data_free(&a.d);
    return status;
}
