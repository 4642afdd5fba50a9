/* traces/export_nvtxt.c — NVTXT text for NVIDIA's ImportNvtxt (Nsight Systems).
 *
 * Every range of the tree in export.h becomes a RangeStartEnd record with its
 * category id and ARGB color (the same as the live NVTX ranges, traces/nvtx.c);
 * request events and option changes become markers. ProcessId/ThreadId are
 * the recorded process and engine thread, so `ImportNvtxt --cmd merge` puts
 * the ranges on the profiled thread. Timestamps (ns):
 *   NVTXT_MANUAL         since engine start (TimeBase = Manual), for replays
 *   NVTXT_MONOTONIC_RAW  CLOCK_MONOTONIC_RAW (TimeBase = ClockMonotonicRaw), the
 *                        clock nsys records, so a live run lines up with its report */
#include "traces/export.h"

#include "traces/utf8.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct nw { FILE *f; int64_t base; int tid; };

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

static int put_range(void *ctx, const struct trace_run *r, const struct trace_step *st, const struct trace_range *rg)
{
    if (rg->device != 0) return 0;   /* one recorded thread: device 0's ranges (live NVTX names every device thread) */
    (void)r; (void)st;
    struct nw *w = ctx;
    fprintf(w->f, "RangeStartEnd, %" PRId64 ", %" PRId64 ", %d, %d, 0x%08x, ", rg->t0_ns + w->base,
            rg->t1_ns + w->base, w->tid, (int)rg->cat, (unsigned)nvtx_category_color(rg->cat));
    put_message(w->f, rg->name);
    fputc('\n', w->f);
    return ferror(w->f) ? -1 : 0;
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
    struct nw w = {f, tb == NVTXT_MANUAL ? 0 : r->h.t0_raw_ns, tid};
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
        ok = trace_step_ranges(r, st, put_range, &w) == 0;
        export_step_done(st, &full);
    }
    block(f, "@Marker, Time, ThreadId, CategoryId, Color, Message", pid, tb);
    put_markers(&w, r);
    int rc = outfile_close(&out, ok, err, errlen);
    if (load_err[0]) snprintf(err, errlen, "%s", load_err);
    return rc;
}
