/* core/runner.c — see runner.h. */
#include "core/runner.h"
#include "core/report.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD_QUEUE 64

struct runner {
    struct runner_config cfg;
    pthread_t thread;
    atomic_bool quit;
    /* commands: mutex-protected queue, drained by the engine at step boundaries */
    pthread_mutex_t cmd_mu;
    struct runner_cmd cmds[CMD_QUEUE];
    int n_cmds;
    /* step ring: slot i holds record seq i when seq[i % N] == i + 1 */
    struct step_record ring[RUNNER_RING];
    _Atomic uint64_t ring_seq[RUNNER_RING];
    _Atomic uint64_t ring_next;
    /* latest state: engine writes `back` then swaps under a trylock */
    pthread_mutex_t state_mu;
    struct runner_state *state;
    struct runner_state *scratch;    /* engine-side staging */
    /* log ring */
    pthread_mutex_t log_mu;
    char log[RUNNER_LOG_LINES][160];
    uint64_t log_next;
    /* engine-thread state */
    struct engine eng;
    struct workload wl;
    bool eng_ok;
    bool paused, step_once;
    uint64_t epoch, steps_total;
    uint64_t t0_ns;
};

static void runner_log(struct runner *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void runner_log(struct runner *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&r->log_mu);
    char *line = r->log[r->log_next % RUNNER_LOG_LINES];
    int n = snprintf(line, 160, "[%7.2fs] ", (now_ns() - r->t0_ns) / 1e9);
    vsnprintf(line + n, (size_t)(160 - n), fmt, ap);
    r->log_next++;
    pthread_mutex_unlock(&r->log_mu);
    va_end(ap);
}

/* ---- engine lifecycle (engine thread) ---- */

static void epoch_stop(struct runner *r)
{
    if (r->eng_ok) engine_free(&r->eng);
    workload_free(&r->wl);
    r->eng_ok = false;
}

static bool epoch_start(struct runner *r)
{
    char err[512];
    struct scenario sc = r->cfg.sc;
    sc.seed += r->epoch;
    if (workload_generate(&sc, r->cfg.model->cfg.vocab, r->cfg.capacity_req_s, &r->wl, err, sizeof err) < 0 ||
        engine_init(&r->eng, &r->cfg.opt, r->cfg.model, r->cfg.be, &r->wl, err, sizeof err) < 0) {
        runner_log(r, "error: %s", err);
        workload_free(&r->wl);
        return false;
    }
    r->eng_ok = true;
    return true;
}

static void epoch_restart(struct runner *r, const char *why)
{
    epoch_stop(r);
    r->epoch++;
    if (epoch_start(r)) runner_log(r, "scenario restarted (%s), epoch %llu", why, (unsigned long long)r->epoch);
}

/* ---- publishing (engine thread) ---- */

static void publish_step(struct runner *r, const struct step_record *sr)
{
    uint64_t i = atomic_load_explicit(&r->ring_next, memory_order_relaxed);
    size_t slot = i % RUNNER_RING;
    atomic_store_explicit(&r->ring_seq[slot], 0, memory_order_release);   /* being written */
    r->ring[slot] = *sr;
    r->ring[slot].index = r->steps_total;
    atomic_store_explicit(&r->ring_seq[slot], i + 1, memory_order_release);
    atomic_store_explicit(&r->ring_next, i + 1, memory_order_release);
}

static void fill_req_rows(const struct engine *e, struct runner_state *st)
{
    const struct scheduler *s = &e->sched;
    double now = engine_now(e);
    st->n_reqs = 0;
    for (int i = 0; i < s->n_reqs && st->n_reqs < RUNNER_MAX_REQS; i++) {
        const struct sched_req *q = &s->reqs[i];
        if (q->state != REQ_RUNNING && q->state != REQ_WAITING) continue;
        struct runner_req_row *row = &st->reqs[st->n_reqs++];
        memset(row, 0, sizeof *row);
        row->id = q->id; row->state = q->state;
        row->prompt_len = q->prompt_len; row->generated = q->n_generated; row->max_output = q->max_output;
        row->cached = q->cached_tokens; row->preempted = q->n_preempted;
        row->ttft_ms = q->n_generated ? (q->t_first - q->arrival_s) * 1e3 : -1;
        row->tok_s = q->n_generated > 1 ? (q->n_generated - 1) / (now - q->t_first + 1e-9) : 0;
    }
    for (int i = 0; i < e->snap.totals.n_requests; i++)
        for (int k = 0; k < st->n_reqs; k++)
            if (st->reqs[k].id == e->snap.reqs[i].req_id) {
                st->reqs[k].blocks = e->snap.reqs[i].blocks;
                st->reqs[k].reserved = e->snap.reqs[i].reserved;
                st->reqs[k].used = e->snap.reqs[i].used;
            }
}

static void fill_latency(const struct engine *e, struct runner_state *st)
{
    struct report rep;
    report_compute(e, 0, 0, &rep);
    st->ttft_p50_ms = rep.ttft_ms.p50; st->ttft_p99_ms = rep.ttft_ms.p99;
    st->tpot_p50_ms = rep.tpot_ms.p50; st->tpot_p99_ms = rep.tpot_ms.p99;
}

static void publish_state(struct runner *r, bool with_latency)
{
    struct runner_state *st = r->scratch;
    const struct engine *e = &r->eng;
    st->steps = r->steps_total;
    st->epoch = r->epoch;
    st->elapsed_s = (now_ns() - r->t0_ns) / 1e9;
    st->paused = r->paused;
    st->opt = r->cfg.opt;
    if (r->eng_ok) {
        const struct scheduler *s = &e->sched;
        st->requests_total = s->n_reqs;
        st->requests_finished = s->n_finished;
        st->running = s->n_running;
        st->waiting = s->n_waiting - s->wait_head;
        st->preemptions = s->preemptions;
        st->tokens_out = 0;
        for (int i = 0; i < s->n_reqs; i++) st->tokens_out += s->reqs[i].n_generated;
        st->kv_kind = e->snap.kind;
        st->block_size = e->snap.block_size;
        st->kv = e->snap.totals;
        st->n_blocks_total = e->snap.totals.n_blocks;
        st->n_blocks = st->n_blocks_total < RUNNER_MAX_BLOCKS ? st->n_blocks_total : RUNNER_MAX_BLOCKS;
        memcpy(st->blocks, e->snap.blocks, (size_t)st->n_blocks * sizeof *st->blocks);
        fill_req_rows(e, st);
        if (with_latency) fill_latency(e, st);
    }
    if (pthread_mutex_trylock(&r->state_mu) != 0) return;     /* a reader is copying: skip */
    st->version = r->state->version + 1;
    r->scratch = r->state;
    r->state = st;
    /* keep the latency fields in the new scratch so a no-latency publish still shows them */
    r->scratch->ttft_p50_ms = st->ttft_p50_ms; r->scratch->ttft_p99_ms = st->ttft_p99_ms;
    r->scratch->tpot_p50_ms = st->tpot_p50_ms; r->scratch->tpot_p99_ms = st->tpot_p99_ms;
    pthread_mutex_unlock(&r->state_mu);
}

/* ---- commands (engine thread) ---- */

static void apply_set(struct runner *r, const struct runner_cmd *c)
{
    char err[256];
    int id = option_find(c->key);
    double old_scale = opt_f(&r->cfg.opt, OPT_RATE_SCALE);
    if (options_set(&r->cfg.opt, c->key, c->value, err, sizeof err) < 0) {
        runner_log(r, "error: %s", err);
        return;
    }
    if (id == OPT_THREADS || id == OPT_DEVICE || id == OPT_WTYPE || id == OPT_SEED) {
        runner_log(r, "%s=%s takes effect at the next start of infertop", c->key, c->value);
        return;
    }
    if (r->eng_ok) {
        r->eng.opt = r->cfg.opt;
        if (engine_apply_live(&r->eng, (enum opt_id)id, old_scale)) {
            runner_log(r, "%s=%s applied at step %llu", c->key, c->value, (unsigned long long)r->steps_total);
            return;
        }
    }
    char why[128];
    snprintf(why, sizeof why, "%s=%s rebuilds the KV cache", c->key, c->value);
    epoch_restart(r, why);
}

static void drain_commands(struct runner *r)
{
    struct runner_cmd cmds[CMD_QUEUE];
    pthread_mutex_lock(&r->cmd_mu);
    int n = r->n_cmds;
    memcpy(cmds, r->cmds, (size_t)n * sizeof *cmds);
    r->n_cmds = 0;
    pthread_mutex_unlock(&r->cmd_mu);
    for (int i = 0; i < n; i++) {
        switch (cmds[i].kind) {
        case RCMD_SET: apply_set(r, &cmds[i]); break;
        case RCMD_PAUSE: r->paused = true; break;
        case RCMD_RESUME: r->paused = false; break;
        case RCMD_TOGGLE_PAUSE: r->paused = !r->paused; break;
        case RCMD_STEP: r->paused = true; r->step_once = true; break;
        case RCMD_RESET: epoch_restart(r, "reset"); break;
        case RCMD_QUIT: atomic_store(&r->quit, true); break;
        }
    }
}

static void idle_sleep(double s)
{
    struct timespec ts = {0, (long)(s * 1e9)};
    nanosleep(&ts, NULL);
}

static void *runner_main(void *arg)
{
    struct runner *r = arg;
    uint64_t last_latency = 0;
    while (!atomic_load(&r->quit)) {
        drain_commands(r);
        if (!r->eng_ok || (r->paused && !r->step_once)) {
            publish_state(r, false);
            idle_sleep(0.02);
            continue;
        }
        int rc = engine_step(&r->eng, 0.02);
        if (rc == 1) {
            r->step_once = false;
            publish_step(r, &r->eng.rec[r->eng.n_rec - 1]);
            r->steps_total++;
            uint64_t t = now_ns();
            bool lat = t - last_latency > 250000000ull;   /* percentiles at 4 Hz */
            if (lat) last_latency = t;
            publish_state(r, lat);
        } else if (rc < 0) {
            if (r->eng.failed) runner_log(r, "error: %s", r->eng.error);
            epoch_restart(r, r->eng.failed ? "engine error" : "workload finished");
        } else {
            publish_state(r, false);
        }
    }
    return NULL;
}

/* ---- public ---- */

int runner_start(struct runner **out, const struct runner_config *cfg, char *err, size_t errlen)
{
    struct runner *r = calloc(1, sizeof *r);
    struct runner_state *a = r ? calloc(1, sizeof *a) : NULL, *b = a ? calloc(1, sizeof *b) : NULL;
    if (!b) {
        free(a); free(r);
        snprintf(err, errlen, "runner: out of memory");
        return -1;
    }
    r->cfg = *cfg;
    r->state = a;
    r->scratch = b;
    r->t0_ns = now_ns();
    pthread_mutex_init(&r->cmd_mu, NULL);
    pthread_mutex_init(&r->state_mu, NULL);
    pthread_mutex_init(&r->log_mu, NULL);
    if (!epoch_start(r)) {
        snprintf(err, errlen, "%s", r->log[0] + 11);
        runner_stop(r);
        return -1;
    }
    runner_log(r, "started: %s", cfg->sc.name);
    if (pthread_create(&r->thread, NULL, runner_main, r) != 0) {
        snprintf(err, errlen, "runner: could not start the engine thread");
        epoch_stop(r);
        free(r->state); free(r->scratch); free(r);
        return -1;
    }
    *out = r;
    return 0;
}

void runner_stop(struct runner *r)
{
    if (!r) return;
    if (r->thread) {
        atomic_store(&r->quit, true);
        pthread_join(r->thread, NULL);
    }
    epoch_stop(r);
    pthread_mutex_destroy(&r->cmd_mu);
    pthread_mutex_destroy(&r->state_mu);
    pthread_mutex_destroy(&r->log_mu);
    free(r->state);
    free(r->scratch);
    free(r);
}

bool runner_send(struct runner *r, const struct runner_cmd *c)
{
    pthread_mutex_lock(&r->cmd_mu);
    bool ok = r->n_cmds < CMD_QUEUE;
    if (ok) r->cmds[r->n_cmds++] = *c;
    pthread_mutex_unlock(&r->cmd_mu);
    return ok;
}

bool runner_set_option(struct runner *r, const char *key, const char *value)
{
    struct runner_cmd c = {.kind = RCMD_SET};
    snprintf(c.key, sizeof c.key, "%s", key);
    snprintf(c.value, sizeof c.value, "%s", value);
    return runner_send(r, &c);
}

int runner_read_steps(struct runner *r, uint64_t *cursor, struct step_record *out, int max,
                      uint64_t *lost)
{
    uint64_t next = atomic_load_explicit(&r->ring_next, memory_order_acquire);
    *lost = 0;
    if (next > *cursor + RUNNER_RING) {                 /* fell behind: skip to the oldest kept */
        *lost = next - RUNNER_RING - *cursor;
        *cursor = next - RUNNER_RING;
    }
    int n = 0;
    while (*cursor < next && n < max) {
        size_t slot = *cursor % RUNNER_RING;
        out[n] = r->ring[slot];
        if (atomic_load_explicit(&r->ring_seq[slot], memory_order_acquire) != *cursor + 1) {
            (*lost)++;                                   /* overwritten while copying */
        } else {
            n++;
        }
        (*cursor)++;
    }
    return n;
}

void runner_latest(struct runner *r, struct runner_state *out)
{
    pthread_mutex_lock(&r->state_mu);
    memcpy(out, r->state, sizeof *out);
    pthread_mutex_unlock(&r->state_mu);
}

int runner_read_log(struct runner *r, uint64_t *cursor, char lines[][160], int max)
{
    pthread_mutex_lock(&r->log_mu);
    if (r->log_next > *cursor + RUNNER_LOG_LINES) *cursor = r->log_next - RUNNER_LOG_LINES;
    int n = 0;
    while (*cursor < r->log_next && n < max) {
        memcpy(lines[n++], r->log[*cursor % RUNNER_LOG_LINES], 160);
        (*cursor)++;
    }
    pthread_mutex_unlock(&r->log_mu);
    return n;
}
