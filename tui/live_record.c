/* tui/live_record.c — see live_record.h. */
#include "tui/live_record.h"

#include <stdio.h>
#include <string.h>

int live_record_init(struct live_record *lr, const char *path, const char *scenario_name,
                     const char *scenario_path)
{
    lr->noted = false;
    return live_capture_init(&lr->c, path, scenario_name, scenario_path);
}

/* ---- engine thread: the runner's hooks ---- */

static void on_epoch_start(void *ctx, const struct telemetry *t, uint64_t epoch)
{
    live_capture_epoch_start(&((struct live_record *)ctx)->c, t, epoch);
}

static void on_step(void *ctx, const struct telemetry *t)
{
    live_capture_step(&((struct live_record *)ctx)->c, t);
}

static void on_option(void *ctx, const struct telemetry *t, const char *key, const char *value)
{
    live_capture_option(&((struct live_record *)ctx)->c, t, key, value);
}

void live_record_hooks(struct live_record *lr, struct runner_config *cfg)
{
    cfg->hooks = (struct runner_hooks){.ctx = lr, .epoch_start = on_epoch_start, .step = on_step, .option = on_option};
}

/* ---- TUI thread ---- */

void live_record_pump(struct live_record *lr, struct tui_data *d)
{
    live_capture_write(&lr->c);
    char note[512];
    bool failed;
    live_capture_status(&lr->c, note, sizeof note, &failed);
    const char *base = strrchr(lr->c.path, '/');
    base = base ? base + 1 : lr->c.path;
    if (failed) snprintf(d->recording, sizeof d->recording, "REC FAILED %.200s", base);
    else if (note[0]) snprintf(d->recording, sizeof d->recording, "REC stopped %.200s", base);
    else snprintf(d->recording, sizeof d->recording, "REC %.200s", base);
    if (!lr->noted && note[0]) {
        char line[400];
        snprintf(line, sizeof line, "[%7.2fs] %s%.300s", d->st->elapsed_s, failed ? "error: " : "", note);
        data_push_log(d, line);
        lr->noted = true;
    }
}

int live_record_finish(struct live_record *lr, char *err, size_t errlen)
{
    return live_capture_finish(&lr->c, err, errlen);
}

void live_record_free(struct live_record *lr) { live_capture_free(&lr->c); }
