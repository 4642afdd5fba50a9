/* traces/export_nvtxt.c — NVTXT text for NVIDIA's ImportNvtxt (Nsight Systems).
 *
 * Every range of the tree in export.h becomes a RangeStartEnd record with its
 * category id and ARGB color (the same as the live NVTX ranges, traces/nvtx.c);
 * request events and option changes become markers. ProcessId/ThreadId are
 * the recorded process and engine thread, so `ImportNvtxt --cmd merge` puts
 * the engine's ranges on the profiled thread. A tp/pp device group gets the
 * Chrome trace's tracks (export.h), each an OS thread named by NameOsThread
 * when its first range comes: device d > 0's ranges on thread
 * TID_SYNTH + 10 + d, device d's pipeline segments on TID_SYNTH + 40 + d.
 * TID_SYNTH = 2^22 is above Linux's largest pid_max, so no real thread of the
 * merged process has such an id, and below 2^24, the tid field of nsys's
 * GlobalTid (pid << 24 | tid). Timestamps (ns):
 *   NVTXT_MANUAL         since engine start (TimeBase = Manual), for replays
 *   NVTXT_MONOTONIC_RAW  CLOCK_MONOTONIC_RAW (TimeBase = ClockMonotonicRaw), the
 *                        clock nsys records, so a live run lines up with its report */
#include "traces/export.h"

#include "traces/utf8.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TID_SYNTH (1 << 22)
#define TID_DEVICE (TID_SYNTH + 10)   /* + d, d > 0 */
#define TID_PIPE (TID_SYNTH + 40)     /* + d */

struct nw {
    FILE *f;
    int64_t base;
    int pid, tid;
    bool named[TRACE_MAX_DEVICE_TRACKS], pipe_named[TRACE_MAX_DEVICE_TRACKS];
};

/* Text as well-formed UTF-8 (utf8_sanitized) on one line: control
 * characters become spaces and, in quoted messages, a double quote becomes a
 * single quote. */
static void put_text(FILE *f, const char *s, bool quoted)
{
    char *t = utf8_sanitized(s);
    for (const char *p = t ? t : "?"; *p; p++) {
        unsigned char c = (unsigned char)*p;
        fputc(c < 0x20 || c == 0x7f ? ' ' : quoted && c == '"' ? '\'' : c, f);
    }
    free(t);
}

static void put_message(FILE *f, const char *s)
{
    fputc('"', f);
    put_text(f, s, true);
    fputc('"', f);
}

/* A NameOsThread record for thread tid, once (*named). */
static void name_thread(struct nw *w, int tid, const char *name, bool *named)
{
    if (*named) return;
    fprintf(w->f, "NameOsThread, %d, %d, ", w->pid, tid);
    put_message(w->f, name);
    fputc('\n', w->f);
    *named = true;
}

static int put_record(struct nw *w, int tid, int64_t t0, int64_t t1, enum nvtx_category cat, const char *name)
{
    fprintf(w->f, "RangeStartEnd, %" PRId64 ", %" PRId64 ", %d, %d, 0x%08x, ", t0 + w->base, t1 + w->base, tid,
            (int)cat, (unsigned)nvtx_category_color(cat));
    put_message(w->f, name);
    fputc('\n', w->f);
    return ferror(w->f) ? -1 : 0;
}

static int put_range(void *ctx, const struct trace_run *r, const struct trace_step *st, const struct trace_range *rg)
{
    (void)r; (void)st;
    struct nw *w = ctx;
    int tid = w->tid;
    if (rg->device > 0) {
        if (rg->device >= TRACE_MAX_DEVICE_TRACKS) return 0;
        char name[32];
        trace_device_track_name(rg->device, name, sizeof name);
        tid = TID_DEVICE + rg->device;
        name_thread(w, tid, name, &w->named[rg->device]);
    }
    return put_record(w, tid, rg->t0_ns, rg->t1_ns, rg->cat, rg->name);
}

/* The step's pipeline segments, each on its device's pipeline thread. */
static int put_segments(struct nw *w, const struct trace_step *st)
{
    for (int i = 0; st->par && i < st->par->n_segs; i++) {
        const struct tel_segment *g = &st->par->segs[i];
        if (g->device < 0 || g->device >= TRACE_MAX_DEVICE_TRACKS) continue;
        char name[64], label[32];
        trace_pipe_track_name(st, g->device, name, sizeof name);
        name_thread(w, TID_PIPE + g->device, name, &w->pipe_named[g->device]);
        if (put_record(w, TID_PIPE + g->device, llround(g->t0_s * 1e9), llround(g->t1_s * 1e9),
                       trace_segment_category(g), trace_segment_label(g, label, sizeof label)) < 0)
            return -1;
    }
    return 0;
}

static void block(FILE *f, const char *decl, int pid, enum nvtxt_timebase tb)
{
    fprintf(f, "%s\nProcessId = %d\nTimeBase = %s\n", decl, pid, tb == NVTXT_MANUAL ? "Manual" : "ClockMonotonicRaw");
}

static void put_markers(struct nw *w, const struct trace_run *r)
{
    for (int i = 0; i < r->n_ev; i++) {
        const struct trace_event *ev = &r->ev[i];
        char msg[160];
        enum nvtx_category cat = ev->kind == TEV_OPTION ? NC_SCHEDULE : NC_REQUEST;
        if (ev->kind == TEV_OPTION) snprintf(msg, sizeof msg, "set %s=%s", ev->name, ev->value);
        else snprintf(msg, sizeof msg, "request %d %s", ev->req, trace_event_name(ev->kind));
        fprintf(w->f, "Marker, %" PRId64 ", %d, %d, 0x%08x, ", ev->t_ns + w->base, w->tid, (int)cat,
                (unsigned)nvtx_category_color(cat));
        put_message(w->f, msg);
        fputc('\n', w->f);
    }
}

int export_nvtxt(const struct trace_run *r, const char *path, enum nvtxt_timebase tb, char *err, size_t errlen)
{
    return export_nvtxt_src(r, NULL, path, tb, err, errlen);
}

int export_nvtxt_src(const struct trace_run *r, const struct step_source *src, const char *path,
                     enum nvtxt_timebase tb, char *err, size_t errlen)
{
    char load_err[512] = "";
    struct outfile out;
    if (outfile_open(&out, path, err, errlen) < 0) return -1;
    FILE *f = out.f;
    int pid = r->h.pid > 0 ? r->h.pid : 1, tid = r->h.tid > 0 ? r->h.tid : pid;
    struct nw w = {f, tb == NVTXT_MANUAL ? 0 : r->h.t0_raw_ns, pid, tid, {false}, {false}};
    char comment[2600];
    snprintf(comment, sizeof comment, "infertop trace: model %s, device %s%s, scenario %s, %d steps", r->h.model,
             r->h.device, r->h.simulated ? " (SIMULATED)" : "", r->h.scenario[0] ? r->h.scenario : "-", r->n_steps);
    fputs("# ", f);
    put_text(f, comment, false);
    fputs("\n# options: ", f);
    put_text(f, r->h.options, false);
    fputc('\n', f);
    fprintf(f, "SetFileDisplayName, infertop\n");
    block(f, "@RangeStartEnd, Start, End, ThreadId, CategoryId, Color, Message", pid, tb);
    bool ok = true;
    for (int i = 0; i < r->n_steps && ok; i++) {
        struct trace_step full;
        const struct trace_step *st = export_step(r, src, i, &full, load_err, sizeof load_err);
        if (!st) { ok = false; break; }
        ok = put_segments(&w, st) == 0 && trace_step_ranges(r, st, put_range, &w) == 0;
        export_step_done(st, &full);
    }
    block(f, "@Marker, Time, ThreadId, CategoryId, Color, Message", pid, tb);
    put_markers(&w, r);
    int rc = outfile_close(&out, ok, err, errlen);
    if (load_err[0]) snprintf(err, errlen, "%s", load_err);
    return rc;
}
