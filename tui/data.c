/* tui/data.c — see data.h. */
#include "tui/data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int data_init(struct tui_data *d)
{
    memset(d, 0, sizeof *d);
    d->st = calloc(1, sizeof *d->st);
    d->hist = calloc(DATA_HIST, sizeof *d->hist);
    if (!d->st || !d->hist) {
        data_free(d);
        return -1;
    }
    for (int i = 0; i < OPT_COUNT; i++) d->opt_changed_at[i] = -1e9;
    return 0;
}

void data_free(struct tui_data *d)
{
    free(d->st);
    free(d->hist);
    d->st = NULL;
    d->hist = NULL;
}

void data_push_step(struct tui_data *d, const struct step_record *s)
{
    d->hist[d->hist_n % DATA_HIST] = *s;
    d->hist_n++;
}

void data_push_log(struct tui_data *d, const char *line)
{
    char *dst = d->log[d->log_n % DATA_LOG];
    size_t n = strnlen(line, sizeof d->log[0] - 1);
    memcpy(dst, line, n);
    dst[n] = 0;
    d->log_n++;
}

void data_reset_history(struct tui_data *d)
{
    d->hist_n = 0;
    d->n_markers = 0;
    d->rate_n = 0;
}

void data_add_marker(struct tui_data *d, uint64_t step)
{
    d->markers[d->n_markers % DATA_MARKERS] = step;
    d->n_markers++;
}

/* Options that differ from the previous state: remember when, for the header. */
static void note_option_changes(struct tui_data *d, const struct runner_state *st)
{
    for (int i = 0; i < OPT_COUNT; i++)
        if (strcmp(d->prev_opt.v[i].s, st->opt.v[i].s) != 0) d->opt_changed_at[i] = st->elapsed_s;
    d->prev_opt = st->opt;
}

/* Output tok/s from successive states' running token count: "now" over the
 * last ~1 s of samples, "avg" since the runner started. While paused the
 * last rate is kept. */
static void update_rates(struct tui_data *d, const struct runner_state *st)
{
    struct rate_sample s = {st->elapsed_s, st->tokens_out_total, st->epoch};
    d->out_tok_s_avg = st->elapsed_s > 0 ? st->tokens_out_total / st->elapsed_s : 0;
    if (d->rate_n > 0) {
        const struct rate_sample *p = &d->rate[(d->rate_n - 1) % DATA_RATE];
        if (st->paused || s.t <= p->t) return;
    }
    d->rate[d->rate_n % DATA_RATE] = s;
    d->rate_n++;
    const struct rate_sample *old = &s;
    for (uint64_t k = d->rate_n - 1; k-- > 0 && d->rate_n - k < DATA_RATE;) {
        old = &d->rate[k % DATA_RATE];
        if (s.t - old->t >= 1.0) break;
    }
    d->out_tok_s_now = s.t > old->t ? (double)(s.tokens - old->tokens) / (s.t - old->t) : 0;
}

void data_set_state(struct tui_data *d, const struct runner_state *st)
{
    if (d->st != st) memcpy(d->st, st, sizeof *st);
    if (!d->have_state) {
        d->prev_opt = st->opt;
        d->last_config_step = st->config_step;
        d->last_epoch = st->epoch;
    }
    if (st->config_step != d->last_config_step) {   /* an option change or reset applied */
        data_add_marker(d, st->config_step);
        d->last_config_step = st->config_step;
    }
    d->last_epoch = st->epoch;
    note_option_changes(d, st);
    update_rates(d, st);
    d->have_state = true;
}

void data_collect(struct tui_data *d, struct runner *r)
{
    struct step_record buf[256];
    uint64_t lost;
    int n;
    while ((n = runner_read_steps(r, &d->step_cursor, buf, 256, &lost)) > 0 || lost > 0) {
        d->steps_lost += lost;
        for (int i = 0; i < n; i++) data_push_step(d, &buf[i]);
        if (n < 256) break;
    }
    char lines[16][160];
    while ((n = runner_read_log(r, &d->log_cursor, lines, 16)) > 0)
        for (int i = 0; i < n; i++) data_push_log(d, lines[i]);
    runner_latest(r, d->st);
    data_set_state(d, d->st);
}

int data_n_steps(const struct tui_data *d)
{
    return d->hist_n < DATA_HIST ? (int)d->hist_n : DATA_HIST;
}

const struct step_record *data_step_back(const struct tui_data *d, int k)
{
    if (k < 0 || k >= data_n_steps(d)) return NULL;
    return &d->hist[(d->hist_n - 1 - (uint64_t)k) % DATA_HIST];
}

bool data_marker_between(const struct tui_data *d, uint64_t after_index, uint64_t at_index)
{
    int kept = d->n_markers < DATA_MARKERS ? d->n_markers : DATA_MARKERS;
    for (int i = 0; i < kept; i++) {
        uint64_t m = d->markers[i];
        if (m > after_index && m <= at_index) return true;
    }
    return false;
}

bool data_last_marker(const struct tui_data *d, uint64_t *step)
{
    if (d->n_markers == 0) return false;
    *step = d->markers[(d->n_markers - 1) % DATA_MARKERS];
    return true;
}

const char *data_log_back(const struct tui_data *d, int k)
{
    if (k < 0 || (uint64_t)k >= d->log_n || k >= DATA_LOG) return NULL;
    return d->log[(d->log_n - 1 - (uint64_t)k) % DATA_LOG];
}
