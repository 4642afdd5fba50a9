/* tui/data.h — the TUI's model: what the panels draw, collected from the
 * runner once per frame (collect → model → draw). Panels read a const
 * struct tui_data and never call the runner, the engine or a backend.
 *
 * It holds the latest runner_state, a ring of the most recent step records
 * (the graphs' history: pausing, resizing or switching views loses nothing),
 * the step indices where options changed (graph markers), the log, and rates
 * derived from successive states. */
#ifndef INFERTOP_TUI_DATA_H
#define INFERTOP_TUI_DATA_H

#include "core/engine/runner.h"
#include "traces/traffic_measure.h"

#define DATA_HIST     1024      /* step records kept (wider than any graph) */
#define DATA_MARKERS  64
#define DATA_LOG      200
#define DATA_RATE     64        /* (time, tokens) samples for tok/s */

/* What does not change while the TUI runs. */
struct tui_info {
    char model[256];             /* model source: "synth:smollm2-135m seed=1" or a path */
    char model_name[64];
    double params;               /* parameter count */
    char wformat[16];            /* weight format: f32, q4_1, ... */
    char device[128];            /* "cpu (AMD EPYC ...)" */
    char backend[16];            /* the backend's name: "cpu", "cuda", "sim" */
    char device_reason[160];     /* why this backend */
    char scenario[64];
    bool modeled_bytes;          /* traffic bytes come from formulas, not counters */
};

/* The last range-profiler measurement (tui/live_traffic.h): per op class the
 * measured bytes of `steps` steps beside their modeled bytes; or why none. */
struct tui_measured {
    bool have;
    int steps, n_rows;
    struct tm_row rows[TM_MAX_ROWS];
    char reason[256];
};

struct rate_sample { double t; long tokens; uint64_t epoch; };

/* What the header shows about a replay (tui/replay_source.c fills it). */
struct tui_replay_view {
    bool on;
    char file[256];
    int pos, total;              /* steps played / in the recording */
    double t_s, end_s, speed;
    bool at_end;
    char damage[256];            /* "F:LINE: what was expected", "" when complete */
};

struct tui_data {
    struct tui_info info;
    struct runner_state *st;     /* latest state (heap: ~1 MB) */
    bool have_state;
    struct step_record *hist;    /* [DATA_HIST] ring; record k (k-th received) at k % DATA_HIST */
    uint64_t hist_n;             /* records received */
    uint64_t step_cursor, steps_lost;
    uint64_t markers[DATA_MARKERS]; /* step index where options/epoch changed; ring */
    int n_markers;               /* total added (ring keeps the last DATA_MARKERS) */
    uint64_t last_config_step, last_epoch;
    char log[DATA_LOG][160];
    uint64_t log_n, log_cursor;
    struct rate_sample rate[DATA_RATE];
    uint64_t rate_n;
    double out_tok_s_now, out_tok_s_avg;
    double opt_changed_at[OPT_COUNT];   /* elapsed_s when each option last changed (highlight) */
    struct options prev_opt;
    struct tui_replay_view replay;
    char recording[300];         /* live: "REC F" while --record writes F; "" otherwise */
    char kv_note[64];            /* shown instead of the block map when set ("block map not recorded") */
    struct tui_measured measured;   /* the measure key's last result (traffic panel) */
    /* the TUI thread's own cost */
    double frame_ms, frame_ms_max, cpu_pct;
};

/* 0, or -1 when out of memory. */
int  data_init(struct tui_data *d);
void data_free(struct tui_data *d);

/* Pull everything new from the runner (state, steps, log). */
void data_collect(struct tui_data *d, struct runner *r);

/* The pieces data_collect uses, for tests that feed canned snapshots. */
void data_push_step(struct tui_data *d, const struct step_record *s);
void data_push_log(struct tui_data *d, const char *line);
void data_set_state(struct tui_data *d, const struct runner_state *st);

/* Forget the step history, markers and rate samples (a replay that seeks
 * rebuilds them); the log stays. */
void data_reset_history(struct tui_data *d);
/* A graph marker at step index `step` (an option change applied there). */
void data_add_marker(struct tui_data *d, uint64_t step);

/* k-th most recent step record (k = 0: newest), NULL when not kept. */
const struct step_record *data_step_back(const struct tui_data *d, int k);
/* Records kept. */
int data_n_steps(const struct tui_data *d);
/* Whether a marker lies in (after_index, at_index]. */
bool data_marker_between(const struct tui_data *d, uint64_t after_index, uint64_t at_index);
/* The newest marker, or false when none. */
bool data_last_marker(const struct tui_data *d, uint64_t *step);
/* k-th most recent log line (k = 0: newest), NULL when none. */
const char *data_log_back(const struct tui_data *d, int k);

#endif
