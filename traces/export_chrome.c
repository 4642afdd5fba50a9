/* traces/export_chrome.c — Chrome Trace Event Format JSON (Perfetto, chrome://tracing).
 *
 * Layout: process 1 "infertop", thread 1 "engine" holds the step → forward →
 * layer → attention/mlp → op slices ("X" events, µs) (with tp/pp, those of
 * device 0; device d > 0 has its own track "device d", tid 10 + d, so the
 * pipeline's bubbles show as gaps between devices' slices), plus counters ("C": KV
 * cache, batch, tokens/s) at each step's start. A tp/pp run's pipeline
 * segments (trace_step.par) go on one more track per device, "device d
 * pipeline", tid 40 + d: "mb N" compute, "send/recv mb N" (cat comm) and
 * "idle (bubble)" slices, with the measured bubble, the formula and the comm
 * share as counters. Every request is an async
 * track (cat "request", id = request id): "request N" spans arrival → finish,
 * nested phases queued, prefill, decode, preempted, and "recompute+decode"
 * after a re-admission (recompute ends without an event of its own). Option
 * changes are global instant events. Run metadata is in "otherData".
 * Events are streamed one cJSON object at a time. */
#include "traces/export.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PID 1
#define TID 1
#define TID_OPTIONS 2   /* its own track: option changes come in time order there */
#define TID_SPEC 3      /* speculative decoding's draft and verify ranges, on their own track */
#define TID_DEVICE 10   /* + d: the ops of device d > 0 of a tp/pp device group, one track each */
#define TID_PIPE 40     /* + d: device d's pipeline segments (compute per micro-batch, send, recv, idle) */
#define MAX_TRACKS TRACE_MAX_DEVICE_TRACKS   /* TID_DEVICE + MAX_TRACKS <= TID_PIPE */

struct cw { FILE *f; bool first; bool ok; bool named[MAX_TRACKS], pipe_named[MAX_TRACKS]; };

static void put(struct cw *w, cJSON *ev)
{
    char *text = ev ? cJSON_PrintUnformatted(ev) : NULL;
    if (!text) w->ok = false;
    else {
        if (fputs(w->first ? "\n" : ",\n", w->f) < 0 || fputs(text, w->f) < 0) w->ok = false;
        w->first = false;
    }
    free(text);
    cJSON_Delete(ev);
}

static cJSON *event(const char *name, const char *cat, const char *ph, int64_t t_ns)
{
    cJSON *e = cJSON_CreateObject();
    json_add_text(e, "name", name);
    if (cat) cJSON_AddStringToObject(e, "cat", cat);
    cJSON_AddStringToObject(e, "ph", ph);
    cJSON_AddNumberToObject(e, "ts", t_ns / 1e3);
    cJSON_AddNumberToObject(e, "pid", PID);
    cJSON_AddNumberToObject(e, "tid", TID);
    return e;
}

static void metadata(struct cw *w, const char *what, const char *name, int tid)
{
    cJSON *e = cJSON_CreateObject(), *a = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "name", what);
    cJSON_AddStringToObject(e, "ph", "M");
    cJSON_AddNumberToObject(e, "pid", PID);
    cJSON_AddNumberToObject(e, "tid", tid);
    json_add_text(a, "name", name);
    cJSON_AddItemToObject(e, "args", a);
    put(w, e);
}

static cJSON *op_args(const struct trace_run *r, const struct trace_kernel *k)
{
    cJSON *a = cJSON_CreateObject();
    const char *src = r->h.bytes_measured ? "measured" : "modeled";
    char key[48];
    cJSON_AddStringToObject(a, "class", op_class_name(k->cls));
    cJSON_AddNumberToObject(a, "layer", k->layer);
    double shape[4] = {(double)k->shape[0], (double)k->shape[1], (double)k->shape[2], (double)k->shape[3]};
    cJSON_AddItemToObject(a, "shape", cJSON_CreateDoubleArray(shape, 4));
    cJSON_AddNumberToObject(a, "flops (modeled)", k->flops);
    snprintf(key, sizeof key, "DRAM bytes (%s)", src);
    cJSON_AddNumberToObject(a, key, k->dram_bytes);
    snprintf(key, sizeof key, "on-chip bytes (%s)", src);
    cJSON_AddNumberToObject(a, key, k->chip_bytes);
    return a;
}

static int put_range(void *ctx, const struct trace_run *r, const struct trace_step *st, const struct trace_range *rg)
{
    struct cw *w = ctx;
    cJSON *e = event(rg->name, nvtx_category_name(rg->cat), "X", rg->t0_ns);
    if (rg->device > 0 && rg->device < MAX_TRACKS) {     /* a device of a tp/pp group: its own track */
        if (!w->named[rg->device]) {
            char name[32];
            trace_device_track_name(rg->device, name, sizeof name);
            metadata(w, "thread_name", name, TID_DEVICE + rg->device);
            w->named[rg->device] = true;
        }
        cJSON_ReplaceItemInObject(e, "tid", cJSON_CreateNumber(TID_DEVICE + rg->device));
    }
    cJSON_AddNumberToObject(e, "dur", (rg->t1_ns - rg->t0_ns) / 1e3);
    cJSON *a = NULL;
    if (rg->k) a = op_args(r, rg->k);
    else if (!strcmp(rg->name, "step")) {
        a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "index", (double)st->rec.index);
        cJSON_AddNumberToObject(a, "prefill tokens", st->rec.prefill_tokens);
        cJSON_AddNumberToObject(a, "decode tokens", st->rec.decode_tokens);
        cJSON_AddNumberToObject(a, "batch", st->rec.batch_size);
        cJSON_AddStringToObject(a, "kernels", st->detailed ? "recorded" : "not kept (recording rate limit)");
    } else {
        a = cJSON_CreateObject();
        const char *what = !strcmp(rg->name, "layer") || !strcmp(rg->name, "attention") || !strcmp(rg->name, "mlp")
                               ? "layer"
                           : !strcmp(rg->name, "prefill") || !strcmp(rg->name, "decode") ? "sequences"
                           : !strcmp(rg->name, "schedule") ? "waiting after"
                           : !strcmp(rg->name, "sample") ? "sequences"
                           : rg->cat == NC_DRAFT ? "drafted tokens"
                           : rg->cat == NC_VERIFY ? "accepted tokens" : "tokens";
        cJSON_AddNumberToObject(a, what, (double)rg->value);
    }
    if (rg->cat == NC_DRAFT || rg->cat == NC_VERIFY) cJSON_ReplaceItemInObject(e, "tid", cJSON_CreateNumber(TID_SPEC));
    cJSON_AddItemToObject(e, "args", a);
    put(w, e);
    return w->ok ? 0 : -1;
}

static void counter(struct cw *w, const char *name, int64_t t_ns, const char *key, double v)
{
    cJSON *e = event(name, NULL, "C", t_ns), *a = cJSON_CreateObject();
    cJSON_AddNumberToObject(a, key, v);
    cJSON_AddItemToObject(e, "args", a);
    put(w, e);
}

static void step_counters(struct cw *w, const struct trace_step *st)
{
    const struct step_record *sr = &st->rec;
    double tok = sr->prefill_tokens + sr->decode_tokens;
    counter(w, "KV utilization %", st->t_ns, "used", sr->kv.utilization * 100);
    counter(w, "KV tokens", st->t_ns, "used", (double)sr->kv.used_tokens);
    counter(w, "batch", st->t_ns, "requests", sr->batch_size);
    counter(w, "tokens/s", st->t_ns, "tokens/s", st->dur_ns > 0 ? tok / (st->dur_ns / 1e9) : 0);
}

/* ---- pipeline segments (version >= 4 recordings, live tp/pp runs) ---- */

/* Every segment of the step on its device's pipeline track: the bubbles are
 * the "idle (bubble)" slices, send/recv the comm ranges between stages. */
static void step_segments(struct cw *w, const struct trace_step *st)
{
    if (!st->par) return;
    for (int i = 0; i < st->par->n_segs && w->ok; i++) {
        const struct tel_segment *g = &st->par->segs[i];
        if (g->device < 0 || g->device >= MAX_TRACKS) continue;
        if (!w->pipe_named[g->device]) {
            char name[64];
            trace_pipe_track_name(st, g->device, name, sizeof name);
            metadata(w, "thread_name", name, TID_PIPE + g->device);
            w->pipe_named[g->device] = true;
        }
        char label[32];
        int64_t t0 = llround(g->t0_s * 1e9), t1 = llround(g->t1_s * 1e9);
        const char *cat = g->kind == SEG_COMPUTE ? "pipeline" : g->kind == SEG_IDLE ? "bubble" : "comm";
        cJSON *e = event(trace_segment_label(g, label, sizeof label), cat, "X", t0), *a = cJSON_CreateObject();
        cJSON_ReplaceItemInObject(e, "tid", cJSON_CreateNumber(TID_PIPE + g->device));
        cJSON_AddNumberToObject(e, "dur", (t1 - t0) / 1e3);
        cJSON_AddStringToObject(a, "segment", tel_seg_name((enum tel_seg_kind)g->kind));
        cJSON_AddNumberToObject(a, "stage", g->stage);
        cJSON_AddNumberToObject(a, "micro-batch", g->mb);
        cJSON_AddItemToObject(e, "args", a);
        put(w, e);
    }
    const struct tel_parallel *p = &st->par->tel;
    counter(w, "pipeline bubble % (measured)", st->t_ns, "bubble", 100 * p->bubble);
    counter(w, "pipeline bubble % ((p-1)/(m+p-1))", st->t_ns, "formula", 100 * p->bubble_formula);
    counter(w, "comm share %", st->t_ns, "comm", 100 * p->comm_share);
}

/* ---- request async tracks ---- */

static void async_ev(struct cw *w, const char *name, const char *ph, int64_t t, int req)
{
    cJSON *e = event(name, "request", ph, t);
    cJSON_AddNumberToObject(e, "id", req);
    put(w, e);
}

struct req_track { const char *phase; int64_t t; bool open, first, done; };

static void phase_to(struct cw *w, struct req_track *q, const char *next, int64_t t, int req)
{
    if (q->phase) async_ev(w, q->phase, "e", t, req);
    q->phase = next;
    if (next) async_ev(w, next, "b", t, req);
}

static void request_event(struct cw *w, struct req_track *q, const struct trace_event *ev, const char *label)
{
    if (q->done) return;
    if (!q->open) { async_ev(w, label, "b", ev->t_ns, ev->req); q->open = true; }
    switch (ev->kind) {
    case TEV_ARRIVE: if (!q->phase) phase_to(w, q, "queued", ev->t_ns, ev->req); break;
    case TEV_ADMIT: phase_to(w, q, q->first ? "recompute+decode" : "prefill", ev->t_ns, ev->req); break;
    case TEV_FIRST_TOKEN:
        q->first = true;
        if (!q->phase || !strcmp(q->phase, "prefill")) phase_to(w, q, "decode", ev->t_ns, ev->req);
        break;
    case TEV_PREEMPT: phase_to(w, q, "preempted", ev->t_ns, ev->req); break;
    case TEV_FINISH:
        phase_to(w, q, NULL, ev->t_ns, ev->req);
        async_ev(w, label, "e", ev->t_ns, ev->req);
        q->done = true;
        break;
    default: break;
    }
}

/* Events of one request in time order (stable: recording order breaks ties). */
static int cmp_event(const void *a, const void *b)
{
    const struct trace_event *x = *(const struct trace_event *const *)a, *y = *(const struct trace_event *const *)b;
    if (x->req != y->req) return x->req < y->req ? -1 : 1;
    if (x->t_ns != y->t_ns) return x->t_ns < y->t_ns ? -1 : 1;
    return x < y ? -1 : x > y;
}

static int request_tracks(struct cw *w, const struct trace_run *r)
{
    const struct trace_event **sorted = calloc((size_t)r->n_ev + 1, sizeof *sorted);
    struct req_track *tracks = calloc((size_t)r->h.n_requests + 1, sizeof *tracks);
    if (!sorted || !tracks) { free(sorted); free(tracks); return -1; }
    int n = 0;
    for (int i = 0; i < r->n_ev; i++)
        if (r->ev[i].kind != TEV_OPTION && r->ev[i].req >= 0 && r->ev[i].req < r->h.n_requests) sorted[n++] = &r->ev[i];
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_event);
    int64_t end = trace_run_end_ns(r);
    for (int i = 0; i < n; i++) {
        char label[32];
        int req = sorted[i]->req;
        snprintf(label, sizeof label, "request %d", req);
        request_event(w, &tracks[req], sorted[i], label);
        if (i + 1 == n || sorted[i + 1]->req != req) {
            struct req_track *q = &tracks[req];
            if (q->open && !q->done) {   /* the recording ends first: close at its end */
                phase_to(w, q, NULL, end, req);
                async_ev(w, label, "e", end, req);
            }
        }
    }
    free(sorted);
    free(tracks);
    return 0;
}

static void option_events(struct cw *w, const struct trace_run *r)
{
    for (int i = 0; i < r->n_ev; i++) {
        if (r->ev[i].kind != TEV_OPTION) continue;
        char name[128];
        snprintf(name, sizeof name, "set %s=%s", r->ev[i].name, r->ev[i].value);
        cJSON *e = event(name, "option", "i", r->ev[i].t_ns);
        cJSON_ReplaceItemInObject(e, "tid", cJSON_CreateNumber(TID_OPTIONS));
        cJSON_AddStringToObject(e, "s", "g");
        put(w, e);
    }
}

static cJSON *other_data(const struct trace_run *r)
{
    const struct trace_header *h = &r->h;
    cJSON *o = cJSON_CreateObject();
    json_add_text(o, "model", h->model);
    json_add_text(o, "scenario", h->scenario);
    json_add_text(o, "device", h->device);
    json_add_text(o, "device_name", h->device_name);
    json_add_text(o, "device_reason", h->device_reason);
    cJSON_AddBoolToObject(o, "simulated", h->simulated);
    cJSON_AddStringToObject(o, "bytes", h->bytes_measured ? "measured" : "modeled");
    json_add_text(o, "options", h->options);
    cJSON_AddNumberToObject(o, "steps", r->n_steps);
    if (h->par.n_devices >= 2) {
        char g[96];
        snprintf(g, sizeof g, "tp=%d pp=%d micro_batches=%d sp=%s, %d devices%s", h->par.tp, h->par.pp,
                 h->par.micro_batches, h->par.sp ? "on" : "off", h->par.n_devices,
                 h->par.shared_cores ? " sharing cores (timings contended)" : "");
        json_add_text(o, "parallel", g);
    }
    return o;
}

int export_chrome(const struct trace_run *r, const char *path, char *err, size_t errlen)
{
    return export_chrome_src(r, NULL, path, err, errlen);
}

int export_chrome_src(const struct trace_run *r, const struct step_source *src, const char *path, char *err,
                      size_t errlen)
{
    char load_err[512] = "";
    char pname[400];
    struct outfile out;
    if (outfile_open(&out, path, err, errlen) < 0) return -1;
    FILE *f = out.f;
    struct cw w = {f, true, true, {false}, {false}};
    fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[", f);
    snprintf(pname, sizeof pname, "infertop: %s on %s%s", r->h.model, r->h.device, r->h.simulated ? " (SIMULATED)" : "");
    metadata(&w, "process_name", pname, 0);
    metadata(&w, "thread_name", "engine", TID);
    metadata(&w, "thread_name", "option changes", TID_OPTIONS);
    metadata(&w, "thread_name", "speculative decoding (draft, verify)", TID_SPEC);
    for (int i = 0; i < r->n_steps && w.ok; i++) {
        struct trace_step full;
        const struct trace_step *st = export_step(r, src, i, &full, load_err, sizeof load_err);
        if (!st) { w.ok = false; break; }
        step_counters(&w, st);
        step_segments(&w, st);
        if (trace_step_ranges(r, st, put_range, &w) != 0) w.ok = false;
        export_step_done(st, &full);
    }
    if (w.ok && request_tracks(&w, r) < 0) w.ok = false;
    option_events(&w, r);
    cJSON *od = other_data(r);
    char *od_text = od ? cJSON_PrintUnformatted(od) : NULL;
    cJSON_Delete(od);
    if (!od_text) w.ok = false;
    else fprintf(f, "\n],\"otherData\":%s}\n", od_text);
    free(od_text);
    int rc = outfile_close(&out, w.ok, err, errlen);
    if (load_err[0]) snprintf(err, errlen, "%s", load_err);
    return rc;
}
