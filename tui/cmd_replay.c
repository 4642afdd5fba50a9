/* tui/cmd_replay.c — `infertop replay F [--export F.json|F.nvtxt]`.
 *
 * On a terminal without --export: the recording plays in the TUI
 * (tui/replay_source.c feeds the same panels as a live run). Otherwise,
 * without --export: one summary line of the recording. With it: the same
 * Chrome trace or NVTXT a live `bench --trace/--nvtxt` writes (NVTXT with
 * TimeBase = Manual: times since the engine started). A damaged recording
 * plays up to the damage: what came before it is summarized/exported, the
 * damage is reported as "F:LINE: what was expected", and the exit code is 2. */
#include "core/quant/quality.h"
#include "tui/app.h"
#include "tui/cli.h"
#include "tui/replay_source.h"
#include "traces/export.h"
#include "traces/recorder.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Kernel records of step i, re-read from the recording at its line's offset. */
struct step_detail {
    FILE *f;
    const char *path;
    const struct trace_run *r;
    const int64_t *offsets;
};

static int load_step_detail(void *ctx, int i, struct trace_step *out, char *err, size_t errlen)
{
    const struct step_detail *d = ctx;
    return recorder_read_step(d->f, d->path, d->offsets[i], d->r, out, err, errlen);
}

/* Read for a summary or an export. A regular file is read compact (no
 * kernel records kept; an export re-reads each step's when it writes it):
 * memory holds the step summaries, not the kernels. Anything else (a pipe)
 * cannot be re-read, so it is read whole. */
static int read_recording(const char *path, bool exporting, struct trace_run *r, int64_t **offsets, FILE **detail,
                          char *err, size_t errlen)
{
    struct stat st;
    *offsets = NULL;
    *detail = NULL;
    if (exporting && (stat(path, &st) < 0 || !S_ISREG(st.st_mode))) return recorder_read(path, r, err, errlen);
    int rc = recorder_read_compact(path, r, exporting ? offsets : NULL, err, errlen);
    if (rc >= 0 && exporting && !(*detail = fopen(path, "rb"))) {
        snprintf(err, errlen, "%s: cannot open again: %s", path, strerror(errno));
        return -1;
    }
    return rc;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void print_summary(const char *path, const struct trace_run *r)
{
    int finished = 0, detailed = 0;
    long tokens = 0;
    for (int i = 0; i < r->n_ev; i++) finished += r->ev[i].kind == TEV_FINISH;
    for (int i = 0; i < r->n_steps; i++) {
        detailed += r->steps[i].detailed;
        tokens += r->steps[i].rec.prefill_tokens + r->steps[i].rec.decode_tokens;
    }
    printf("%s: model %s on %s%s, scenario %s, %d steps over %.3f s, %ld tokens, %d/%d requests finished, "
           "kernel records for %d steps\n", path, r->h.model, r->h.device, r->h.simulated ? " (SIMULATED)" : "",
           r->h.scenario[0] ? r->h.scenario : "-", r->n_steps, trace_run_end_ns(r) / 1e9, tokens, finished,
           r->h.n_requests, detailed);
    /* v4: the weights against the reference, measured before the run (a
     * second line only when there is a measurement to show) */
    if (r->h.quality.state == TQ_MEASURED || r->h.quality.state == TQ_FAILED) {
        char line[320];
        quality_format(&r->h.quality, line, sizeof line);
        if (r->h.quality.state == TQ_MEASURED) printf("%s: %s  (%s vs reference)\n", path, line, r->h.quality.mode);
        else printf("%s: %s\n", path, line);
    }
}

static void replay_info(const struct trace_header *h, struct tui_info *in)
{
    memset(in, 0, sizeof *in);
    snprintf(in->model, sizeof in->model, "%s", h->model);
    snprintf(in->model_name, sizeof in->model_name, "%.63s", h->model);
    snprintf(in->device, sizeof in->device, "%.20s (%.90s)%s", h->device, h->device_name,
             h->simulated ? " SIMULATED" : "");
    snprintf(in->device_reason, sizeof in->device_reason, "%s", h->device_reason);
    snprintf(in->scenario, sizeof in->scenario, "%s", h->scenario[0] ? h->scenario : "-");
    in->modeled_bytes = !h->bytes_measured;
}

/* The recording in the TUI; after it, a damaged file's damage on stderr (exit 2). */
static int replay_tui(const char *path)
{
    static struct replay p;          /* the run's steps are on the heap; the struct is small but keep it off the stack */
    char err[512];
    if (replay_open(&p, path, err, sizeof err) < 0) {
        cli_error("%s", err);
        return EXIT_BAD_INPUT;
    }
    struct tui_info info;
    replay_info(&p.run.h, &info);
    struct app_config cfg = {.info = &info, .fps = 15, .replay = &p};
    int rc = app_run(NULL, &cfg);
    if (rc == 0 && p.damage[0]) {
        cli_error("%s; played the %d steps and %d events before it", p.damage, p.run.n_steps, p.run.n_ev);
        rc = EXIT_BAD_INPUT;
    }
    replay_free(&p);
    return rc;
}

int cmd_replay(struct cli_args *a)
{
    char err[512], xerr[512];
    if (a->n_positional != 1) {
        cli_error("replay: expected one recording file (infertop replay F [--export F.json|F.nvtxt])");
        return EXIT_BAD_INPUT;
    }
    const char *path = a->positional[0], *out = a->export_to;
    if (out && !ends_with(out, ".json") && !ends_with(out, ".nvtxt")) {
        cli_error("--export %s: expected a file name ending in .json (Chrome trace) or .nvtxt (NVTXT)", out);
        return EXIT_BAD_INPUT;
    }
    if (!out && isatty(0) && isatty(1)) return replay_tui(path);
    struct trace_run r;
    int64_t *offsets;
    FILE *detail;
    int rc = read_recording(path, out != NULL, &r, &offsets, &detail, err, sizeof err);
    if (rc < 0 || replay_check_options(path, &r, err, sizeof err) < 0) {
        cli_error("%s", err);
        if (detail) fclose(detail);
        trace_run_free(&r);
        free(offsets);
        return EXIT_BAD_INPUT;
    }
    struct step_detail sd = {detail, path, &r, offsets};
    struct step_source src = {load_step_detail, &sd};
    const struct step_source *from = detail ? &src : NULL;
    int xrc = 0;
    if (!out) print_summary(path, &r);
    else if (ends_with(out, ".json")) xrc = export_chrome_src(&r, from, out, xerr, sizeof xerr);
    else xrc = export_nvtxt_src(&r, from, out, NVTXT_MANUAL, xerr, sizeof xerr);
    if (xrc < 0) cli_error("%s", xerr);
    if (detail) fclose(detail);
    free(offsets);
    if (rc == 1)
        cli_error("%s; %s the %d steps and %d events before it", err, out ? "exported" : "summarized",
                  r.n_steps, r.n_ev);
    trace_run_free(&r);
    return rc == 1 ? EXIT_BAD_INPUT : xrc < 0 ? 1 : 0;
}
