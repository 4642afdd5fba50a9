/* tui/replay_source.c — see replay_source.h. */
#include "tui/replay_source.h"
#include "traces/recorder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct replay_req {
    enum req_state state;
    int64_t t_arrive, t_first, t_finish;
    bool first;
    int prompt_len, max_output;
    int generated, used, preempted;
};

/* ---- open / free ---- */

/* Header options "k=v k2=v2": unknown or invalid ones (another version's
 * options) are skipped, the rest apply over the defaults. */
static int set_known_option(void *ctx, const char *key, const char *value, char *err, size_t errlen)
{
    options_set(ctx, key, value, err, errlen);     /* an error skips this one only */
    return 0;
}

static void parse_options(const char *text, struct options *o)
{
    char err[256];
    options_defaults(o);
    kvlist_each(text, set_known_option, o, err, sizeof err);
}

int replay_check_options(const char *path, const struct trace_run *r, char *err, size_t errlen)
{
    char buf[2048], why[256];
    struct options o;
    options_defaults(&o);
    snprintf(buf, sizeof buf, "%s", r->h.options);
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) continue;
        *eq = 0;
        if (options_set(&o, tok, eq + 1, why, sizeof why) < 0) {
            snprintf(err, errlen, "%s:1: options.%s", path, why);
            return -1;
        }
    }
    for (int i = 0; i < r->n_ev; i++) {
        const struct trace_event *ev = &r->ev[i];
        if (ev->kind != TEV_OPTION || options_set(&o, ev->name, ev->value, why, sizeof why) == 0) continue;
        snprintf(err, errlen, "%s: option change at %.3f s: %s", path, ev->t_ns / 1e9, why);
        return -1;
    }
    return 0;
}

int replay_open(struct replay *p, const char *path, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    char msg[512];
    int rc = recorder_read_compact(path, &p->run, NULL, msg, sizeof msg);   /* the panels use no kernel records */
    if (rc < 0) {
        snprintf(err, errlen, "%s", msg);
        trace_run_free(&p->run);
        return -1;
    }
    if (replay_check_options(path, &p->run, err, errlen) < 0) {
        trace_run_free(&p->run);
        return -1;
    }
    if (rc == 1) snprintf(p->damage, sizeof p->damage, "%s", msg);
    int n = p->run.h.n_requests;
    p->reqs = calloc((size_t)n + 1, sizeof *p->reqs);
    p->owner_blocks = calloc((size_t)n + 1, sizeof *p->owner_blocks);
    if (!p->reqs || !p->owner_blocks) {
        snprintf(err, errlen, "%s: out of memory", path);
        replay_free(p);
        return -1;
    }
    snprintf(p->path, sizeof p->path, "%s", path);
    parse_options(p->run.h.options, &p->opt0);
    p->end_ns = trace_run_end_ns(&p->run);
    p->speed = 1.0;
    p->last_wall_s = -1;
    p->shown_pos = -1;
    return 0;
}

void replay_free(struct replay *p)
{
    trace_run_free(&p->run);
    free(p->reqs);
    free(p->owner_blocks);
    p->reqs = NULL;
    p->owner_blocks = NULL;
}

/* ---- clock ---- */

/* Steps whose start is at or before t (steps are in time order). */
static int steps_started_by(const struct trace_run *r, int64_t t)
{
    int lo = 0, hi = r->n_steps;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (r->steps[mid].t_ns <= t) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void set_time(struct replay *p, int64_t t)
{
    p->t_ns = t < 0 ? 0 : t > p->end_ns ? p->end_ns : t;
    p->pos = steps_started_by(&p->run, p->t_ns);
}

/* Position `pos` with the clock at the end of its last played step (so that
 * step's own events count), but before the next step starts. */
static void set_pos(struct replay *p, int pos)
{
    p->pos = pos < 0 ? 0 : pos > p->run.n_steps ? p->run.n_steps : pos;
    if (p->pos == 0) { p->t_ns = 0; return; }
    const struct trace_step *s = &p->run.steps[p->pos - 1];
    int64_t t = s->t_ns + s->dur_ns;
    if (p->pos < p->run.n_steps && t >= p->run.steps[p->pos].t_ns) t = p->run.steps[p->pos].t_ns - 1;
    p->t_ns = t < s->t_ns ? s->t_ns : t;
}

void replay_advance(struct replay *p, double wall_s)
{
    if (p->paused || wall_s <= 0) return;
    set_time(p, p->t_ns + (int64_t)(wall_s * p->speed * 1e9));
    if (p->t_ns >= p->end_ns) p->paused = true;     /* the end: stay there, paused */
}

void replay_toggle_pause(struct replay *p)
{
    if (p->paused && p->t_ns >= p->end_ns) set_pos(p, 0);   /* play again from the start */
    p->paused = !p->paused;
}

void replay_step(struct replay *p)
{
    p->paused = true;
    set_pos(p, p->pos + 1);
}

void replay_seek_steps(struct replay *p, int delta) { set_pos(p, p->pos + delta); }
void replay_seek_time(struct replay *p, double delta_s) { set_time(p, p->t_ns + (int64_t)(delta_s * 1e9)); }
void replay_seek_start(struct replay *p) { set_pos(p, 0); }
void replay_seek_end(struct replay *p) { set_time(p, p->end_ns); }

void replay_change_speed(struct replay *p, int dir)
{
    double s = dir > 0 ? p->speed * 2 : p->speed / 2;
    p->speed = s < REPLAY_SPEED_MIN ? REPLAY_SPEED_MIN : s > REPLAY_SPEED_MAX ? REPLAY_SPEED_MAX : s;
}

/* ---- state at the clock ---- */

/* The index of the step an event at t applies to: the first step starting at
 * or after it (the last played one when none). */
static uint64_t step_index_at(const struct trace_run *r, int64_t t)
{
    int k = steps_started_by(r, t - 1);
    if (k < r->n_steps) return r->steps[k].rec.index;
    return r->n_steps ? r->steps[r->n_steps - 1].rec.index : 0;
}

/* counted: the recording carries token commits (version >= 3), so the
 * first-token event does not count a token itself. */
static void apply_event(struct replay_req *q, const struct trace_event *ev, bool counted)
{
    switch (ev->kind) {
    case TEV_ARRIVE:
        q->state = REQ_WAITING;
        q->t_arrive = ev->t_ns;
        q->prompt_len = ev->prompt_len;
        q->max_output = ev->max_output;
        break;
    case TEV_ADMIT: q->state = REQ_RUNNING; break;
    case TEV_PREEMPT: q->state = REQ_WAITING; q->preempted++; break;
    case TEV_FIRST_TOKEN: q->first = true; q->t_first = ev->t_ns; q->generated += !counted; break;
    case TEV_FINISH: q->state = REQ_FINISHED; q->t_finish = ev->t_ns; break;
    default: break;
    }
}

/* Requests at the clock: events up to t; output tokens from the played
 * steps' commits (version >= 3) or, in older recordings, their decode items
 * plus the first token. Returns the last option change's step index in
 * *config_step (0: none). */
static void rebuild_requests(struct replay *p, struct options *opt, uint64_t *config_step)
{
    const struct trace_run *r = &p->run;
    memset(p->reqs, 0, (size_t)r->h.n_requests * sizeof *p->reqs);
    *opt = p->opt0;
    *config_step = 0;
    char err[256];
    bool counted = r->h.version >= 3;
    for (int i = 0; i < r->n_ev; i++) {      /* events are in capture order, not strictly by time */
        const struct trace_event *ev = &r->ev[i];
        if (ev->t_ns > p->t_ns) continue;
        if (ev->kind == TEV_OPTION) {
            options_set(opt, ev->name, ev->value, err, sizeof err);
            *config_step = step_index_at(r, ev->t_ns);
        } else if (ev->req >= 0 && ev->req < r->h.n_requests) {
            apply_event(&p->reqs[ev->req], ev, counted);
        }
    }
    for (int s = 0; s < p->pos; s++) {
        const struct trace_step *st = &r->steps[s];
        for (int k = 0; k < st->n_items; k++) {
            const struct trace_item *it = &st->items[k];
            struct replay_req *q = &p->reqs[it->req];
            if (it->decode && !counted) q->generated += it->n_tokens;
            q->used = it->pos0 + it->n_tokens;
        }
        for (int k = 0; k < st->n_commits; k++) p->reqs[st->commits[k].req].generated += st->commits[k].n;
    }
}

/* The latest KV snapshot at or before the clock, or NULL. */
static const struct trace_kv *snapshot_at(const struct replay *p)
{
    const struct trace_kv *best = NULL;
    for (int i = 0; i < p->run.n_kvs && p->run.kvs[i].t_ns <= p->t_ns; i++) best = &p->run.kvs[i];
    return best;
}

static void fill_kv(struct replay *p, struct runner_state *st)
{
    const struct trace_kv *k = snapshot_at(p);
    memset(p->owner_blocks, 0, (size_t)p->run.h.n_requests * sizeof *p->owner_blocks);
    st->kv_kind = opt_enum(&st->opt, KV);
    st->block_size = opt_enum(&st->opt, BLOCK);
    st->n_blocks = 0;
    st->n_blocks_total = st->kv.n_blocks;
    if (!k) return;
    st->kv_kind = k->kind;
    st->block_size = k->block_size;
    st->n_blocks_total = k->n_blocks;
    st->n_blocks = k->n_blocks < RUNNER_MAX_BLOCKS ? k->n_blocks : RUNNER_MAX_BLOCKS;
    memcpy(st->blocks, k->blocks, (size_t)st->n_blocks * sizeof *st->blocks);
    for (int b = 0; b < k->n_blocks; b++)
        if (k->blocks[b].refs > 0 && k->blocks[b].owner >= 0 && k->blocks[b].owner < p->run.h.n_requests)
            p->owner_blocks[k->blocks[b].owner]++;
}

static void fill_row(const struct replay *p, int id, int64_t t, int block_size, struct runner_req_row *row)
{
    const struct replay_req *q = &p->reqs[id];
    memset(row, 0, sizeof *row);
    row->id = id;
    row->state = q->state;
    row->prompt_len = q->prompt_len;
    row->generated = q->generated;
    row->max_output = q->max_output;
    row->blocks = p->owner_blocks[id];
    row->reserved = row->blocks * block_size;
    row->used = q->used;
    row->preempted = q->preempted;
    row->ttft_ms = q->first ? (q->t_first - q->t_arrive) / 1e6 : -1;
    row->tok_s = q->generated > 1 && t > q->t_first ? (q->generated - 1) / ((t - q->t_first) / 1e9) : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of v[0..n) (sorted here); 0 when empty. */
static double percentile(double *v, int n, double q)
{
    if (n == 0) return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    int k = (int)(q * n + 0.999999) - 1;
    return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

static void fill_requests(struct replay *p, struct runner_state *st)
{
    int n = p->run.h.n_requests, n_ttft = 0, n_tpot = 0;
    double *ttft = calloc((size_t)n + 1, sizeof *ttft), *tpot = calloc((size_t)n + 1, sizeof *tpot);
    st->n_reqs = 0;
    st->requests_total = n;
    st->requests_finished = 0;
    st->preemptions = 0;
    st->tokens_out = 0;
    for (int id = 0; id < n; id++) {
        const struct replay_req *q = &p->reqs[id];
        st->tokens_out += q->generated;
        st->preemptions += (uint64_t)q->preempted;
        if (q->state == REQ_FINISHED) st->requests_finished++;
        if (ttft && q->first) ttft[n_ttft++] = (q->t_first - q->t_arrive) / 1e6;
        if (tpot && q->state == REQ_FINISHED && q->generated > 1)
            tpot[n_tpot++] = (q->t_finish - q->t_first) / 1e6 / (q->generated - 1);
        if ((q->state == REQ_RUNNING || q->state == REQ_WAITING) && st->n_reqs < RUNNER_MAX_REQS)
            fill_row(p, id, p->t_ns, st->block_size, &st->reqs[st->n_reqs++]);
    }
    st->tokens_out_total = st->tokens_out;
    if (ttft) { st->ttft_p50_ms = percentile(ttft, n_ttft, 0.5); st->ttft_p99_ms = percentile(ttft, n_ttft, 0.99); }
    if (tpot) { st->tpot_p50_ms = percentile(tpot, n_tpot, 0.5); st->tpot_p99_ms = percentile(tpot, n_tpot, 0.99); }
    free(ttft);
    free(tpot);
}

/* Parallelism as of the last played step: the header's run info and that
 * step's segments (version >= 4; a single device or an older recording has none). */
static void fill_par(const struct replay *p, struct runner_state *st)
{
    const struct trace_par *tp = p->pos > 0 ? p->run.steps[p->pos - 1].par : NULL;
    st->par = tp ? tp->tel : p->run.h.par;
    st->par.seg = NULL;
    st->n_seg = tp ? (tp->n_segs < RUNNER_MAX_SEGS ? tp->n_segs : RUNNER_MAX_SEGS) : 0;
    if (st->n_seg) memcpy(st->seg, tp->segs, (size_t)st->n_seg * sizeof *st->seg);
    st->par.n_seg = st->n_seg;
}

void replay_state(struct replay *p, struct runner_state *st)
{
    const struct step_record *last = p->pos > 0 ? &p->run.steps[p->pos - 1].rec : NULL;
    st->version++;
    st->steps = (uint64_t)p->pos;
    st->epoch = 0;
    st->elapsed_s = p->t_ns / 1e9;
    st->paused = p->paused;
    rebuild_requests(p, &st->opt, &st->config_step);
    st->running = last ? last->running : 0;
    st->waiting = last ? last->waiting : 0;
    if (last) st->kv = last->kv;
    else memset(&st->kv, 0, sizeof st->kv);
    fill_kv(p, st);
    fill_requests(p, st);
    st->quality = p->run.h.quality;      /* one measurement per recording (v4; none before) */
    fill_par(p, st);
}

/* ---- collect ---- */

static void push_log(struct tui_data *d, double t_s, const char *fmt, const char *a, const char *b)
{
    char line[400];
    int n = snprintf(line, sizeof line, "[%7.2fs] replay: ", t_s);
    snprintf(line + n, sizeof line - (size_t)n, fmt, a, b);
    data_push_log(d, line);
}

static void log_open(struct tui_data *d, const struct replay *p)
{
    char what[160];
    snprintf(what, sizeof what, "%d steps, %d requests, %.2f s", p->run.n_steps, p->run.h.n_requests,
             p->end_ns / 1e9);
    push_log(d, 0, "%.200s: %.160s", p->path, what);
    if (p->damage[0]) push_log(d, 0, "error: damaged recording, plays up to %.300s%s", p->damage, "");
    if (p->run.n_kvs == 0) push_log(d, 0, "%s%s", "block map not recorded (a version 1 recording): KV totals only", "");
}

/* Option changes between the last shown clock and now (forward only). */
static void log_crossed_options(struct tui_data *d, const struct replay *p)
{
    if (p->t_ns <= p->shown_t_ns) return;
    for (int i = 0; i < p->run.n_ev; i++) {
        const struct trace_event *ev = &p->run.ev[i];
        if (ev->kind != TEV_OPTION || ev->t_ns <= p->shown_t_ns || ev->t_ns > p->t_ns) continue;
        char nv[128];
        snprintf(nv, sizeof nv, "%s=%s", ev->name, ev->value);
        char at[48];
        snprintf(at, sizeof at, "%llu (recorded)", (unsigned long long)step_index_at(&p->run, ev->t_ns));
        push_log(d, ev->t_ns / 1e9, "%s applied at step %s", nv, at);
    }
}

static void rebuild_history(struct tui_data *d, const struct replay *p)
{
    data_reset_history(d);
    int from = p->pos > DATA_HIST ? p->pos - DATA_HIST : 0;
    for (int s = from; s < p->pos; s++) data_push_step(d, &p->run.steps[s].rec);
    for (int i = 0; i < p->run.n_ev; i++)
        if (p->run.ev[i].kind == TEV_OPTION && p->run.ev[i].t_ns <= p->t_ns)
            data_add_marker(d, step_index_at(&p->run, p->run.ev[i].t_ns));
}

/* Output tok/s: tokens generated in the last second of recorded time, and
 * the average since the start. */
static void replay_rates(struct tui_data *d, const struct replay *p)
{
    int64_t from = p->t_ns - 1000000000LL;
    double now = 0;
    for (int s = p->pos - 1; s >= 0 && p->run.steps[s].t_ns > from; s--) now += p->run.steps[s].rec.decode_tokens;
    for (int i = 0; i < p->run.n_ev; i++)
        if (p->run.ev[i].kind == TEV_FIRST_TOKEN && p->run.ev[i].t_ns > from && p->run.ev[i].t_ns <= p->t_ns) now += 1;
    double span = p->t_ns < 1000000000LL ? p->t_ns / 1e9 : 1.0;
    d->out_tok_s_now = span > 0 ? now / span : 0;
    d->out_tok_s_avg = p->t_ns > 0 ? d->st->tokens_out_total / (p->t_ns / 1e9) : 0;
}

static void fill_view(struct tui_data *d, const struct replay *p)
{
    struct tui_replay_view *v = &d->replay;
    v->on = true;
    const char *base = strrchr(p->path, '/');
    snprintf(v->file, sizeof v->file, "%.255s", base ? base + 1 : p->path);
    v->pos = p->pos;
    v->total = p->run.n_steps;
    v->t_s = p->t_ns / 1e9;
    v->end_s = p->end_ns / 1e9;
    v->speed = p->speed;
    v->at_end = p->t_ns >= p->end_ns;
    /* the header is narrow: name the file by its base name, like the title */
    size_t plen = strlen(p->path);
    bool prefixed = strncmp(p->damage, p->path, plen) == 0 && p->damage[plen] == ':';
    snprintf(v->damage, sizeof v->damage, "%.120s%.130s", prefixed ? v->file : "", prefixed ? p->damage + plen : p->damage);
    if (p->run.n_kvs == 0) snprintf(d->kv_note, sizeof d->kv_note, "block map not recorded");
    else if (d->st->n_blocks == 0) snprintf(d->kv_note, sizeof d->kv_note, "no block map snapshot yet");
    else d->kv_note[0] = 0;
}

void replay_collect(struct tui_data *d, struct replay *p, double now_s)
{
    if (p->last_wall_s < 0) log_open(d, p);
    else replay_advance(p, now_s - p->last_wall_s);
    p->last_wall_s = now_s;
    bool moved = p->pos != p->shown_pos || p->t_ns != p->shown_t_ns || !d->have_state;
    if (moved || d->st->paused != p->paused) {
        log_crossed_options(d, p);
        rebuild_history(d, p);
        replay_state(p, d->st);
        d->last_config_step = d->st->config_step;   /* markers come from rebuild_history, also when seeking back */
        data_set_state(d, d->st);
        replay_rates(d, p);
        p->shown_pos = p->pos;
        p->shown_t_ns = p->t_ns;
    }
    fill_view(d, p);
}
