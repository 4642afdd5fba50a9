/* tui/live_traffic.c — see live_traffic.h. */
#include "tui/live_traffic.h"

#include <stdio.h>
#include <string.h>

/* ---- engine thread ---- */

/* Hand m's rows (or its reason) to the TUI; a busy lock keeps the older
 * result until the next step publishes again. */
static void publish(struct live_traffic *lt, const struct traffic_measure *m, bool done)
{
    if (pthread_mutex_trylock(&lt->mu) != 0) return;
    struct tui_measured *o = &lt->out;
    memset(o, 0, sizeof *o);
    o->have = done && m->n_rows > 0;
    o->steps = m->steps;
    o->n_rows = m->n_rows;
    memcpy(o->rows, m->rows, sizeof o->rows[0] * (size_t)m->n_rows);
    snprintf(o->reason, sizeof o->reason, "%s", m->reason);
    lt->fresh = true;
    pthread_mutex_unlock(&lt->mu);
}

static void start_measuring(struct live_traffic *lt, int steps)
{
    char err[256];
    if (traffic_measure_open(&lt->tm, crp_cupti_ops(), NULL, lt->backend, 0, steps, err, sizeof err) != 0) {
        snprintf(lt->tm.reason, sizeof lt->tm.reason, "%s", err);
        lt->tm.n_rows = 0;
        publish(lt, &lt->tm, false);
        return;
    }
    lt->measuring = true;
}

static void on_step(void *ctx, const struct telemetry *t)
{
    struct live_traffic *lt = ctx;
    if (lt->inner.step) lt->inner.step(lt->inner.ctx, t);
    int asked = atomic_exchange(&lt->requested, 0);
    if (asked > 0 && !lt->measuring) start_measuring(lt, asked);
    if (!lt->measuring) return;
    int rc = traffic_measure_step(&lt->tm, t);
    if (rc == 0 && !lt->tm.done) return;
    publish(lt, &lt->tm, rc == 0);
    traffic_measure_close(&lt->tm);
    lt->measuring = false;
}

static void on_epoch_start(void *ctx, const struct telemetry *t, uint64_t epoch)
{
    struct live_traffic *lt = ctx;
    if (lt->inner.epoch_start) lt->inner.epoch_start(lt->inner.ctx, t, epoch);
}

static void on_option(void *ctx, const struct telemetry *t, const char *key, const char *value)
{
    struct live_traffic *lt = ctx;
    if (lt->inner.option) lt->inner.option(lt->inner.ctx, t, key, value);
}

/* ---- TUI thread ---- */

void live_traffic_init(struct live_traffic *lt, const char *backend_name)
{
    memset(lt, 0, sizeof *lt);
    snprintf(lt->backend, sizeof lt->backend, "%s", backend_name);
    atomic_init(&lt->requested, 0);
    pthread_mutex_init(&lt->mu, NULL);
}

void live_traffic_hooks(struct live_traffic *lt, struct runner_config *cfg)
{
    lt->inner = cfg->hooks;
    cfg->hooks = (struct runner_hooks){.ctx = lt, .epoch_start = on_epoch_start, .step = on_step, .option = on_option};
}

int live_traffic_request(struct live_traffic *lt, int steps, char *why, size_t n)
{
    if (strcmp(lt->backend, "cuda") != 0) {     /* the reason, without touching CUPTI */
        struct traffic_measure probe;
        return traffic_measure_open(&probe, crp_cupti_ops(), NULL, lt->backend, 0, steps, why, n) ? 2 : 0;
    }
    atomic_store(&lt->requested, steps);
    return 0;
}

bool live_traffic_take(struct live_traffic *lt, struct tui_data *d)
{
    if (pthread_mutex_trylock(&lt->mu) != 0) return false;
    bool got = lt->fresh;
    if (got) d->measured = lt->out;
    lt->fresh = false;
    pthread_mutex_unlock(&lt->mu);
    return got;
}

void live_traffic_free(struct live_traffic *lt)
{
    if (lt->measuring) traffic_measure_close(&lt->tm);   /* stopped mid-window: the engine thread is gone */
    lt->measuring = false;
    pthread_mutex_destroy(&lt->mu);
}
