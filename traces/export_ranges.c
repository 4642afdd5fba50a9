/* traces/export_ranges.c — the range tree both exporters walk (see export.h). */
#include "traces/export.h"

#include "traces/utf8.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_add_text(cJSON *o, const char *key, const char *s)
{
    char *t = utf8_sanitized(s ? s : "");
    cJSON_AddStringToObject(o, key, t ? t : "");
    free(t);
}

void json_add_numbers(cJSON *o, const char *const *keys, const double *v, int n)
{
    for (int i = 0; i < n; i++) cJSON_AddNumberToObject(o, keys[i], v[i]);
}

const struct trace_step *export_step(const struct trace_run *r, const struct step_source *src, int i,
                                     struct trace_step *full, char *err, size_t errlen)
{
    const struct trace_step *st = &r->steps[i];
    if (!src || !st->detailed) return st;
    return src->load(src->ctx, i, full, err, errlen) < 0 ? NULL : full;
}

void export_step_done(const struct trace_step *st, struct trace_step *full)
{
    if (st == full) trace_step_free(full);
}

void trace_device_track_name(int device, char *buf, size_t n)
{
    snprintf(buf, n, "device %d", device);
}

void trace_pipe_track_name(const struct trace_step *st, int device, char *buf, size_t n)
{
    const struct tel_device *td = &st->par->tel.dev[device];
    snprintf(buf, n, "device %d pipeline (stage %d, rank %d)", device, td->stage, td->rank);
}

const char *trace_segment_label(const struct tel_segment *g, char *buf, size_t n)
{
    if (g->kind == SEG_COMPUTE) snprintf(buf, n, "mb %d", g->mb);
    else if (g->kind == SEG_IDLE) snprintf(buf, n, "idle (bubble)");
    else snprintf(buf, n, "%s mb %d", tel_seg_name((enum tel_seg_kind)g->kind), g->mb);
    return buf;
}

enum nvtx_category trace_segment_category(const struct tel_segment *g)
{
    return g->kind == SEG_COMPUTE ? NC_STEP : g->kind == SEG_IDLE ? NC_BUBBLE : NC_COMM;
}

struct walk {
    const struct trace_run *r;
    const struct trace_step *st;
    trace_range_fn fn;
    void *ctx;
    int device;                 /* of the kernels being walked */
};

static int64_t k_end(const struct trace_kernel *k) { return k->t_ns + k->dur_ns; }

static int emit(struct walk *w, const char *name, enum nvtx_category cat, int64_t t0, int64_t t1, int depth,
                const struct trace_kernel *k, int64_t value)
{
    struct trace_range rg = {name, cat, t0, t1 < t0 ? t0 : t1, depth, k, value, w->device};
    return w->fn(w->ctx, w->r, w->st, &rg);
}

static int emit_op(struct walk *w, const struct trace_kernel *k, int depth)
{
    return emit(w, k->name, NC_OP, k->t_ns, k_end(k), depth, k, k->cls);
}

/* Span of kernels [a, b). */
static void span(const struct trace_kernel *ks, int a, int b, int64_t *t0, int64_t *t1)
{
    *t0 = ks[a].t_ns;
    *t1 = k_end(&ks[a]);
    for (int i = a + 1; i < b; i++) {
        if (ks[i].t_ns < *t0) *t0 = ks[i].t_ns;
        if (k_end(&ks[i]) > *t1) *t1 = k_end(&ks[i]);
    }
}

static bool per_seq_op(const struct trace_kernel *k) { return k->cls == OPC_COPY || k->cls == OPC_ATTN; }

/* Attention block [a, b): per-sequence (kv_store, attention) pairs are grouped
 * by the plan items' kind when they match the plan, else listed plainly. */
static int walk_attention(struct walk *w, int a, int b, int depth)
{
    const struct trace_kernel *ks = w->st->kernels;
    int n_seq_ops = 0, first = -1;
    for (int i = a; i < b; i++)
        if (per_seq_op(&ks[i])) { n_seq_ops++; if (first < 0) first = i; }
    bool grouped = w->st->n_items > 0 && n_seq_ops == 2 * w->st->n_items;
    for (int i = first; grouped && i < first + n_seq_ops; i++) grouped = per_seq_op(&ks[i]);
    int rc = 0;
    for (int i = a; i < b && rc == 0; i++) {
        if (!grouped || !per_seq_op(&ks[i])) { rc = emit_op(w, &ks[i], depth); continue; }
        int seq = (i - first) / 2;
        bool dec = w->st->items[seq].decode;
        int last = seq;
        while (last + 1 < w->st->n_items && w->st->items[last + 1].decode == dec) last++;
        int gb = first + 2 * (last + 1);
        int64_t t0, t1;
        span(ks, i, gb, &t0, &t1);
        rc = emit(w, dec ? "decode" : "prefill", dec ? NC_DECODE : NC_PREFILL, t0, t1, depth, NULL, last - seq + 1);
        for (int j = i; j < gb && rc == 0; j++) rc = emit_op(w, &ks[j], depth + 1);
        i = gb - 1;
    }
    return rc;
}

/* Layer kernels [a, b): attention before the second norm, MLP from it. */
static int walk_layer(struct walk *w, int a, int b, int depth)
{
    const struct trace_kernel *ks = w->st->kernels;
    int64_t t0, t1;
    span(ks, a, b, &t0, &t1);
    int rc = emit(w, "layer", NC_LAYER, t0, t1, depth, NULL, ks[a].layer);
    int split = -1, norms = 0;
    for (int i = a; i < b && split < 0; i++)
        if (ks[i].cls == OPC_NORM && ++norms == 2) split = i;
    if (split <= a) {
        for (int i = a; i < b && rc == 0; i++) rc = emit_op(w, &ks[i], depth + 1);
        return rc;
    }
    span(ks, a, split, &t0, &t1);
    if (rc == 0) rc = emit(w, "attention", NC_ATTENTION, t0, t1, depth + 1, NULL, ks[a].layer);
    if (rc == 0) rc = walk_attention(w, a, split, depth + 2);
    span(ks, split, b, &t0, &t1);
    if (rc == 0) rc = emit(w, "mlp", NC_MLP, t0, t1, depth + 1, NULL, ks[a].layer);
    for (int i = split; i < b && rc == 0; i++) rc = emit_op(w, &ks[i], depth + 2);
    return rc;
}

/* The kernels of one device: a device group's records come device after
 * device (core/parallel appends each device's log), each its own track. */
static int walk_device(struct walk *w, int a, int n, int depth);

static int walk_forward(struct walk *w, int depth)
{
    const struct trace_kernel *ks = w->st->kernels;
    int n = w->st->n_kernels, rc = 0;
    for (int i = 0; i < n && rc == 0;) {
        int j = i;
        while (j < n && ks[j].device == ks[i].device) j++;
        w->device = ks[i].device;
        rc = walk_device(w, i, j, depth);
        i = j;
    }
    w->device = 0;
    return rc;
}

static int walk_device(struct walk *w, int a, int n, int depth)
{
    const struct trace_kernel *ks = w->st->kernels;
    int rc = 0;
    for (int i = a; i < n && rc == 0;) {
        if (ks[i].layer < 0) { rc = emit_op(w, &ks[i], depth); i++; continue; }
        int j = i + 1;
        while (j < n && ks[j].layer == ks[i].layer) j++;
        rc = walk_layer(w, i, j, depth);
        i = j;
    }
    return rc;
}

int trace_step_ranges(const struct trace_run *r, const struct trace_step *st, trace_range_fn fn, void *ctx)
{
    struct walk w = {r, st, fn, ctx, 0};
    const struct step_record *sr = &st->rec;
    int tokens = sr->prefill_tokens + sr->decode_tokens;
    enum nvtx_category phase = !sr->decode_tokens ? NC_PREFILL : !sr->prefill_tokens ? NC_DECODE : NC_MIXED;
    int64_t body = st->t_ns + st->plan_ns, end = st->t_ns + st->dur_ns;
    int64_t fwd_end = st->sample_t_ns > body ? st->sample_t_ns : body;
    int rc = emit(&w, "schedule", NC_SCHEDULE, st->t_ns, body, 0, NULL, sr->waiting);
    if (rc == 0) rc = emit(&w, "step", NC_STEP, body, end, 0, NULL, tokens);
    /* speculative decoding: "draft" (the drafters) then "verify" (the target's forward of the
       drafts and the acceptance), which then holds forward and sample */
    int depth = 1;
    int64_t fwd_start = body;
    if (sr->spec.drafts > 0) {
        int64_t draft_end = body + llround(sr->spec.draft_s * 1e9);
        fwd_start = end - llround(sr->spec.verify_s * 1e9);
        if (fwd_start < draft_end) fwd_start = draft_end;
        if (fwd_start > fwd_end) fwd_start = fwd_end;
        if (rc == 0) rc = emit(&w, "draft", NC_DRAFT, body, draft_end, 1, NULL, sr->spec.drafted);
        if (rc == 0) rc = emit(&w, "verify", NC_VERIFY, fwd_start, end, 1, NULL, sr->spec.accepted);
        depth = 2;
    }
    if (rc == 0) rc = emit(&w, "forward", phase, fwd_start, fwd_end, depth, NULL, tokens);
    if (rc == 0 && st->detailed) rc = walk_forward(&w, depth + 1);
    if (rc == 0) rc = emit(&w, "sample", NC_SAMPLE, fwd_end, fwd_end + st->sample_ns, depth, NULL, sr->batch_size);
    return rc;
}
