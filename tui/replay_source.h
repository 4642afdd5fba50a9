/* tui/replay_source.h — a recording as the TUI's data source: the same
 * runner_state and step_record stream the live runner publishes, rebuilt
 * from a recording (traces/recorder.h) at a replay clock.
 *
 * The clock `t_ns` runs in recorded time (ns since the engine started) at
 * `speed` x wall time while playing. A step is played once the clock reaches
 * its start; `pos` counts the steps played. At the clock the state is:
 *   - steps, KV totals, batch, queues: from the last played step record;
 *   - options: the header's, then every option change recorded up to t;
 *   - the request table: running and waiting requests rebuilt from the
 *     request events (arrive, admit, preempt, first_token, finish) and the
 *     played steps' plan items (tokens generated, KV rows used);
 *   - the block map: the latest "kv" snapshot at or before t (recordings
 *     without snapshots: none, and the map panel says so);
 *   - TTFT/TPOT percentiles: over the requests that reached them by t.
 * A damaged recording plays up to the damage; `damage` says where it stopped.
 * The recording is read compact (recorder_read_compact: step summaries and
 * plan items, no kernel records, which no panel shows and which are the bulk
 * of a recording), so replay memory is a few hundred bytes per step. */
#ifndef INFERTOP_REPLAY_SOURCE_H
#define INFERTOP_REPLAY_SOURCE_H

#include "core/engine/runner.h"
#include "traces/trace_run.h"
#include "tui/data.h"

#define REPLAY_SPEED_MIN 0.25
#define REPLAY_SPEED_MAX 16.0
#define REPLAY_SEEK_STEPS 100
#define REPLAY_SEEK_S 10.0

struct replay_req;   /* per-request scratch, replay_source.c */

struct replay {
    struct trace_run run;
    char path[1024];
    char damage[512];          /* "F:LINE: what was expected"; "" when the file is complete */
    struct options opt0;       /* the header's options */
    int64_t t_ns, end_ns;      /* replay clock; end of the recording */
    int pos;                   /* steps played: run.steps[0 .. pos) */
    bool paused;
    double speed;
    /* collect bookkeeping */
    double last_wall_s;        /* < 0 before the first collect */
    int64_t shown_t_ns;        /* clock at the last collect (option changes crossed since go to the log) */
    int shown_pos;             /* -1: rebuild the view */
    struct replay_req *reqs;   /* [run.h.n_requests] */
    int *owner_blocks;         /* [run.h.n_requests] blocks per owner in the current snapshot */
};

/* The recording's options as the registry takes them (options_set): the
 * header's (error "F:1: options.NAME: expected ...") and every option change
 * ("F: option change at T s: NAME: expected ..."). 0 ok; -1 with err. */
int  replay_check_options(const char *path, const struct trace_run *r, char *err, size_t errlen);

/* Load `path` (its options checked by replay_check_options). 0 ok (a damaged file too: p->damage says where it stops, and
 * it plays up to there); -1 unusable (err says why; nothing to free). */
int  replay_open(struct replay *p, const char *path, char *err, size_t errlen);
void replay_free(struct replay *p);

/* Clock control. Every call leaves 0 <= pos <= n_steps and t within [0, end]. */
void replay_advance(struct replay *p, double wall_s);   /* playing: t += wall_s * speed; stops at the end */
void replay_toggle_pause(struct replay *p);
void replay_step(struct replay *p);                     /* pause, then play exactly one more step */
void replay_seek_steps(struct replay *p, int delta);    /* clock to the start of step pos+delta-1 */
void replay_seek_time(struct replay *p, double delta_s);
void replay_seek_start(struct replay *p);
void replay_seek_end(struct replay *p);
void replay_change_speed(struct replay *p, int dir);    /* x2 (dir > 0) or /2, within [MIN, MAX] */

/* The state at the clock, as the runner would have published it. */
void replay_state(struct replay *p, struct runner_state *st);
/* The TUI's collect step: advance by the wall time since the last call (at
 * wall clock now_s), then rebuild the model (history, markers, state, log,
 * header view) when the position moved. */
void replay_collect(struct tui_data *d, struct replay *p, double now_s);

#endif
