/* tui/app.h — the TUI's main loop: collect from the source (the live runner
 * or a recording's replay), lay out, draw every panel, one doupdate per frame
 * at a fixed tick, keys and mouse in between (the engine runs on the
 * runner's thread at its own pace). */
#ifndef INFERTOP_APP_H
#define INFERTOP_APP_H

#include "tui/data.h"

struct replay;
struct live_record;
struct live_traffic;

struct app_config {
    const struct tui_info *info;
    double fps;               /* redraw tick, default 15 */
    bool mono, ascii;         /* force no colors / ASCII glyphs */
    struct replay *replay;    /* set: play this recording instead of a live runner (r is NULL) */
    struct live_record *rec;  /* set: the live session is being recorded (pumped every frame) */
    struct live_traffic *traffic;   /* live: the measure key's profiler hooks (NULL: none) */
};

/* Runs until q, Ctrl-C, SIGTERM or SIGHUP. The data source is the runner r,
 * or cfg->replay. 0 ok, 1 when the terminal could not be used. */
int app_run(struct runner *r, const struct app_config *cfg);

#endif
