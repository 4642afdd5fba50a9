/* traces/recorder.c — see recorder.h. */
#include "traces/recorder.h"
#include "core/options/kvlist.h"

#include "traces/utf8.h"
#include "traces/export.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ==== writer ============================================================ */

static int write_line(struct recorder *w, cJSON *o)
{
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    int ok = text && fputs(text, w->f) >= 0 && fputc('\n', w->f) != EOF;
    free(text);
    cJSON_Delete(o);
    if (!ok) w->failed = true;
    return ok ? 0 : -1;
}

static int add_option(void *ctx, const char *key, const char *value, char *err, size_t errlen)
{
    (void)err; (void)errlen;
    json_add_text(ctx, key, value);
    return 0;
}

/* "k=v k2=v2" → {"k":"v", ...} (the text comes from options_format: valid) */
static cJSON *options_object(const char *text)
{
    char err[160];
    cJSON *o = cJSON_CreateObject();
    if (o) kvlist_each(text, add_option, o, err, sizeof err);
    return o;
}

/* A finite number (cJSON writes NaN/inf as null, which the reader refuses). */
static double finite_or_0(double v) { return isfinite(v) ? v : 0; }

/* struct tel_quality as the header's "quality" object (v4). */
static cJSON *quality_json(const struct tel_quality *q)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "state", tel_quality_state_name(q->state));
    json_add_text(o, "mode", q->mode);
    cJSON_AddNumberToObject(o, "tokens", q->tokens);
    cJSON_AddNumberToObject(o, "scored", q->scored);
    const double v[6] = {q->kld, q->kld_err, q->same_top, q->same_top_err, q->ppl_ratio, q->seconds};
    static const char *const k[6] = {"kld", "kld_err", "same_top", "same_top_err", "ppl_ratio", "seconds"};
    double f[6];
    for (int i = 0; i < 6; i++) f[i] = finite_or_0(v[i]);
    json_add_numbers(o, k, f, 6);
    json_add_text(o, "error", q->error);
    return o;
}

/* A device group's run info (v5): {tp, pp, micro_batches, sp, devices, shared_cores, comm}. */
static cJSON *par_info_json(const struct tel_parallel *p)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "tp", p->tp);
    cJSON_AddNumberToObject(o, "pp", p->pp);
    cJSON_AddNumberToObject(o, "micro_batches", p->micro_batches);
    cJSON_AddBoolToObject(o, "sp", p->sp);
    cJSON_AddNumberToObject(o, "devices", p->n_devices);
    cJSON_AddBoolToObject(o, "shared_cores", p->shared_cores);
    json_add_text(o, "comm", p->comm_algo);
    return o;
}

static cJSON *header_json(const struct trace_run *r)
{
    const struct trace_header *h = &r->h;
    cJSON *o = cJSON_CreateObject(), *sc = cJSON_CreateObject(), *dev = cJSON_CreateObject(),
          *pol = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "header");
    cJSON_AddStringToObject(o, "format", TRACE_FORMAT_NAME);
    cJSON_AddNumberToObject(o, "version", TRACE_FORMAT_VERSION);
    json_add_text(o, "model", h->model);
    json_add_text(sc, "name", h->scenario);
    json_add_text(sc, "path", h->scenario_path);
    cJSON_AddNumberToObject(sc, "requests", h->n_requests);
    cJSON_AddItemToObject(o, "scenario", sc);
    json_add_text(dev, "backend", h->device);
    json_add_text(dev, "name", h->device_name);
    json_add_text(dev, "reason", h->device_reason);
    cJSON_AddBoolToObject(dev, "simulated", h->simulated);
    cJSON_AddBoolToObject(dev, "async", h->device_async);
    cJSON_AddItemToObject(o, "device", dev);
    cJSON_AddItemToObject(o, "options", options_object(h->options));
    cJSON_AddNumberToObject(o, "layers", h->n_layers);
    if (h->par.n_devices >= 2) cJSON_AddItemToObject(o, "parallel", par_info_json(&h->par));
    cJSON_AddNumberToObject(o, "pid", h->pid);
    cJSON_AddNumberToObject(o, "tid", h->tid);
    cJSON_AddNumberToObject(o, "t0_raw_ns", (double)h->t0_raw_ns);
    cJSON_AddNumberToObject(pol, "keep_all_kernels", TRACE_KEEP_ALL_KERNELS);
    cJSON_AddNumberToObject(pol, "then_interval_ns", (double)TRACE_DETAIL_INTERVAL_NS);
    cJSON_AddItemToObject(o, "kernel_policy", pol);
    cJSON_AddItemToObject(o, "quality", quality_json(&h->quality));
    return o;
}

/* ---- step lines: streamed (traces/jsonw.h), the bulk of a recording ---- */

/* "key":integer for each of n named values */
static void named_ints_write(struct jsonw *j, const char *const *names, const int64_t *v, int n)
{
    for (int i = 0; i < n; i++) {
        jw_key(j, names[i]);
        jw_int(j, v[i]);
    }
}

static void kv_write(struct jsonw *j, const struct kvcache_totals *kv)
{
    static const char *const names[7] = {"pool", "used", "logical", "allocated", "free", "blocks_used", "blocks"};
    int64_t v[7] = {kv->pool_tokens, kv->used_tokens, kv->logical_tokens, kv->allocated_tokens, kv->free_tokens,
                    kv->blocks_used, kv->n_blocks};
    jw_object(j);
    named_ints_write(j, names, v, 7);
    jw_key(j, "utilization");
    jw_num(j, kv->utilization);
    jw_end_object(j);
}

static void nums_write(struct jsonw *j, const double *v, int n)
{
    jw_array(j);
    for (int i = 0; i < n; i++) jw_num(j, v[i]);
    jw_end_array(j);
}

static void ints_write(struct jsonw *j, const int *v, int n)
{
    jw_array(j);
    for (int i = 0; i < n; i++) jw_int(j, v[i]);
    jw_end_array(j);
}

static void ops_write(struct jsonw *j, const struct step_record *sr)
{
    jw_object(j);
    for (int c = 0; c < OPC_COUNT; c++) {
        const struct op_class_sum *s = &sr->ops[c];
        double v[5] = {s->time_s, s->flops, s->dram_bytes, s->chip_bytes, s->count};
        jw_key(j, op_class_name(c));
        nums_write(j, v, 5);
    }
    jw_end_object(j);
}

/* [name, class, layer, t_ns, dur_ns, shape x4, flops, dram, chip, role, device, stage, seq] */
static void kernel_write(struct jsonw *j, const struct trace_kernel *k)
{
    jw_array(j);
    if (utf8_valid(k->name, strlen(k->name))) {   /* the usual case: no copy per kernel */
        jw_str(j, k->name);
    } else {
        char *name = utf8_sanitized(k->name);
        jw_str(j, name ? name : "");
        free(name);
    }
    /* the integer fields as integers: the text jw_num gives them below 2^53 */
    int64_t head[8] = {k->cls, k->layer, k->t_ns, k->dur_ns, k->shape[0], k->shape[1], k->shape[2], k->shape[3]};
    int64_t tags[4] = {k->role, k->device, k->stage, k->seq};
    jw_ints(j, head, 8);
    double model[3] = {k->flops, k->dram_bytes, k->chip_bytes};
    jw_nums(j, model, 3);
    jw_ints(j, tags, 4);
    jw_end_array(j);
}

/* Token commits as [req, n, id_1 .. id_n] per commit (v3). */
static void commits_write(struct jsonw *j, const struct trace_step *st)
{
    jw_array(j);
    for (int i = 0; i < st->n_commits; i++) {
        const struct trace_commit *c = &st->commits[i];
        jw_array(j);
        jw_int(j, c->req);
        jw_int(j, c->n);
        for (int k = 0; k < c->n; k++) jw_int(j, st->commit_tokens[c->off + k]);
        jw_end_array(j);
    }
    jw_end_array(j);
}

/* A step's speculative decoding (only when it verified drafts): counts,
 * times and per-position arrays [drafted, accepted] x k. */
static void spec_write(struct jsonw *j, const struct step_spec *p)
{
    int v[7] = {p->kind, p->k, p->drafts, p->drafted, p->accepted, p->emitted, p->draft_rounds};
    jw_object(j);
    jw_key(j, "counts"); ints_write(j, v, 7);
    jw_key(j, "draft_ns"); jw_int(j, llround(p->draft_s * 1e9));
    jw_key(j, "verify_ns"); jw_int(j, llround(p->verify_s * 1e9));
    jw_key(j, "at");
    jw_array(j);
    for (int k = 0; k < p->k && k < TEL_SPEC_MAX_K; k++) {
        int pa[2] = {p->drafted_at[k], p->accepted_at[k]};
        ints_write(j, pa, 2);
    }
    jw_end_array(j);
    jw_end_object(j);
}

/* A device group's step (v5): {mb, span_ns, bubble, formula, comm_share,
 * devices: [[device, stage, rank, l0, l1, compute_ns, comm_ns, idle_ns, weight, kv, act, resid] ...],
 * segs: [device, stage, mb, kind, t0_ns, t1_ns] x n, flat}. */
static void par_write(struct jsonw *j, const struct trace_par *p)
{
    const struct tel_parallel *t = &p->tel;
    jw_object(j);
    jw_key(j, "mb"); jw_int(j, t->mb_used);
    jw_key(j, "span_ns"); jw_int(j, llround(t->span_s * 1e9));
    jw_key(j, "bubble"); jw_num(j, t->bubble);
    jw_key(j, "formula"); jw_num(j, t->bubble_formula);
    jw_key(j, "comm_share"); jw_num(j, t->comm_share);
    jw_key(j, "devices");
    jw_array(j);
    for (int d = 0; d < t->n_devices && d < TEL_MAX_DEVICES; d++) {
        const struct tel_device *td = &t->dev[d];
        double v[12] = {td->device, td->stage, td->rank, td->l0, td->l1, (double)llround(td->compute_s * 1e9),
                        (double)llround(td->comm_s * 1e9), (double)llround(td->idle_s * 1e9), td->weight_bytes,
                        td->kv_bytes, td->act_bytes, td->resid_bytes};
        nums_write(j, v, 12);
    }
    jw_end_array(j);
    jw_key(j, "segs");
    jw_array(j);
    for (int i = 0; i < p->n_segs; i++) {
        const struct tel_segment *g = &p->segs[i];
        double v[6] = {g->device, g->stage, g->mb, g->kind, (double)llround(g->t0_s * 1e9),
                       (double)llround(g->t1_s * 1e9)};
        for (int f = 0; f < 6; f++) jw_num(j, v[f]);
    }
    jw_end_array(j);
    jw_end_object(j);
}

static void step_write(struct jsonw *j, const struct trace_step *st, bool bytes_measured)
{
    const struct step_record *sr = &st->rec;
    jw_object(j);
    jw_key(j, "type"); jw_str(j, "step");
    jw_key(j, "index"); jw_int(j, sr->index);
    static const char *const names[12] = {"t_ns", "dur_ns", "plan_ns", "sample_t_ns", "sample_ns", "prefill_tokens",
                                          "decode_tokens", "batch", "running", "waiting", "preempted", "finished"};
    int64_t v[12] = {st->t_ns, st->dur_ns, st->plan_ns, st->sample_t_ns, st->sample_ns, sr->prefill_tokens,
                     sr->decode_tokens, sr->batch_size, sr->running, sr->waiting, sr->preempted, sr->finished};
    named_ints_write(j, names, v, 12);
    jw_key(j, "prefill_s"); jw_num(j, sr->prefill_s);
    jw_key(j, "decode_s"); jw_num(j, sr->decode_s);
    jw_key(j, "kv"); kv_write(j, &sr->kv);
    jw_key(j, "ops"); ops_write(j, sr);
    jw_key(j, "items");
    jw_array(j);
    for (int i = 0; i < st->n_items; i++) {
        const struct trace_item *it = &st->items[i];
        int v[4] = {it->req, it->pos0, it->n_tokens, it->decode};
        ints_write(j, v, 4);
    }
    jw_end_array(j);
    jw_key(j, "commits"); commits_write(j, st);
    if (sr->spec.drafts > 0) {
        jw_key(j, "spec");
        spec_write(j, &sr->spec);
    }
    if (st->par) {
        jw_key(j, "par");
        par_write(j, st->par);
    }
    if (st->detailed) {
        jw_key(j, "kernels");
        jw_array(j);
        for (int i = 0; i < st->n_kernels; i++) kernel_write(j, &st->kernels[i]);
        jw_end_array(j);
        if (bytes_measured) {
            jw_key(j, "bytes_measured");
            jw_bool(j, true);
        }
    }
    jw_end_object(j);
}

static int write_step_line(struct recorder *w, const struct trace_step *st, bool bytes_measured)
{
    jw_reset(&w->line);
    step_write(&w->line, st, bytes_measured);
    const char *text = jw_text(&w->line);
    int ok = text && fwrite(text, 1, w->line.len, w->f) == w->line.len && fputc('\n', w->f) != EOF;
    if (!ok) w->failed = true;
    return ok ? 0 : -1;
}

static cJSON *event_json(const struct trace_event *ev)
{
    cJSON *o = cJSON_CreateObject();
    if (ev->kind == TEV_OPTION) {
        cJSON_AddStringToObject(o, "type", "option");
        cJSON_AddNumberToObject(o, "t_ns", (double)ev->t_ns);
        json_add_text(o, "name", ev->name);
        json_add_text(o, "value", ev->value);
        return o;
    }
    cJSON_AddStringToObject(o, "type", "event");
    cJSON_AddStringToObject(o, "kind", trace_event_name(ev->kind));
    cJSON_AddNumberToObject(o, "t_ns", (double)ev->t_ns);
    cJSON_AddNumberToObject(o, "req", ev->req);
    cJSON_AddNumberToObject(o, "generated", ev->generated);
    if (ev->kind == TEV_ARRIVE) {
        cJSON_AddNumberToObject(o, "prompt", ev->prompt_len);
        cJSON_AddNumberToObject(o, "max_output", ev->max_output);
    }
    if (ev->kind == TEV_ADMIT) cJSON_AddNumberToObject(o, "cached", ev->cached);
    if (ev->kind == TEV_PREEMPT) cJSON_AddNumberToObject(o, "dropped", ev->dropped);
    if (ev->kind == TEV_FINISH) {
        char hash[24];   /* 64 bits do not fit a JSON number exactly: 16 hex digits */
        snprintf(hash, sizeof hash, "%016llx", (unsigned long long)ev->hash);
        cJSON_AddStringToObject(o, "hash", hash);
    }
    return o;
}

static bool same_block(const struct kv_block_info *a, const struct kv_block_info *b)
{
    return a->owner == b->owner && a->fill == b->fill && a->refs == b->refs && a->state == b->state &&
           a->in_prefix_cache == b->in_prefix_cache;
}

/* Runs of equal blocks as [count, state, fill, refs, owner, cached] x n, flat. */
static cJSON *kv_runs_json(const struct trace_kv *k)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < k->n_blocks;) {
        const struct kv_block_info *b = &k->blocks[i];
        int n = 1;
        while (i + n < k->n_blocks && same_block(b, &k->blocks[i + n])) n++;
        int v[6] = {n, b->state, b->fill, b->refs, b->owner, b->in_prefix_cache};
        for (int f = 0; f < 6; f++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[f]));
        i += n;
    }
    return a;
}

static cJSON *kvmap_json(const struct trace_kv *k)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "kv");
    cJSON_AddNumberToObject(o, "t_ns", (double)k->t_ns);
    cJSON_AddNumberToObject(o, "after_step", k->after_step);
    cJSON_AddNumberToObject(o, "pool", k->pool);
    cJSON_AddStringToObject(o, "kind", kv_alloc_name(k->kind));
    cJSON_AddNumberToObject(o, "block_size", k->block_size);
    cJSON_AddNumberToObject(o, "blocks", k->n_blocks);
    cJSON_AddItemToObject(o, "runs", kv_runs_json(k));
    return o;
}

int recorder_open(struct recorder *w, const char *path, const struct trace_run *r, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    snprintf(w->path, sizeof w->path, "%s", path);
    if (outfile_open(&w->out, path, err, errlen) < 0) return -1;
    w->f = w->out.f;
    if (write_line(w, header_json(r)) < 0) {
        recorder_error(w, err, errlen);
        recorder_abort(w);
        return -1;
    }
    return 0;
}

void recorder_error(const struct recorder *w, char *err, size_t errlen)
{
    const char *why = outfile_error(&w->out);
    snprintf(err, errlen, "%s: write failed: %s", w->path, why[0] ? why : "could not format a line");
}

int recorder_flush(struct recorder *w, const struct trace_run *r)
{
    for (; !w->failed && w->steps_written < r->n_steps; w->steps_written++)
        write_step_line(w, &r->steps[w->steps_written], r->h.bytes_measured);
    for (; !w->failed && w->kvs_written < r->n_kvs; w->kvs_written++)
        write_line(w, kvmap_json(&r->kvs[w->kvs_written]));
    for (; !w->failed && w->events_written < r->n_ev; w->events_written++)
        write_line(w, event_json(&r->ev[w->events_written]));
    return w->failed ? -1 : 0;
}

int recorder_write_batch(struct recorder *w, const struct trace_run *b)
{
    for (int i = 0; !w->failed && i < b->n_steps; i++, w->steps_written++)
        write_step_line(w, &b->steps[i], b->h.bytes_measured);
    for (int i = 0; !w->failed && i < b->n_kvs; i++, w->kvs_written++) write_line(w, kvmap_json(&b->kvs[i]));
    for (int i = 0; !w->failed && i < b->n_ev; i++, w->events_written++) write_line(w, event_json(&b->ev[i]));
    return w->failed ? -1 : 0;
}

int recorder_close(struct recorder *w, const struct trace_run *r, char *err, size_t errlen)
{
    if (!w->f) return -1;
    recorder_flush(w, r);
    return recorder_finish(w, err, errlen);
}

int recorder_finish(struct recorder *w, char *err, size_t errlen)
{
    if (!w->f) return -1;
    cJSON *end = cJSON_CreateObject();
    cJSON_AddStringToObject(end, "type", "end");
    cJSON_AddNumberToObject(end, "steps", w->steps_written);
    cJSON_AddNumberToObject(end, "events", w->events_written);
    cJSON_AddNumberToObject(end, "kvs", w->kvs_written);
    write_line(w, end);
    w->f = NULL;
    jw_free(&w->line);
    return outfile_close(&w->out, !w->failed, err, errlen);
}

void recorder_abort(struct recorder *w)
{
    jw_free(&w->line);
    outfile_abort(&w->out);
    w->f = NULL;
}

/* ==== reader ============================================================ */

#define MAX_ITEMS 1000000
#define MAX_KERNELS 10000000
#define MAX_TIME_NS 1000000000000000LL   /* ~11.6 days */
#define MAX_COUNT 1000000000LL
#define MAX_KV_BLOCKS (1 << 20)

struct rd {
    const char *name;
    int line;
    char *err;
    size_t errlen;
    const struct trace_header *h;
    bool keep_kernels;         /* false: check kernel records, keep none (recorder_read_compact) */
};

static bool fail(struct rd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(struct rd *c, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "%s:%d: %s", c->name, c->line, msg);
    return false;
}

static bool num_in(struct rd *c, const cJSON *v, const char *what, double min, double max, bool integer,
                   double *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < min || v->valuedouble > max ||
        (integer && v->valuedouble != floor(v->valuedouble)))
        return fail(c, "%s: expected %s in [%.17g, %.17g]", what, integer ? "an integer" : "a number", min, max);
    *out = v->valuedouble;
    return true;
}

static bool get_i64(struct rd *c, const cJSON *o, const char *key, int64_t min, int64_t max, int64_t *out)
{
    double d;
    if (!num_in(c, cJSON_GetObjectItemCaseSensitive(o, key), key, (double)min, (double)max, true, &d)) return false;
    *out = (int64_t)d;
    return true;
}

static bool get_int(struct rd *c, const cJSON *o, const char *key, int64_t min, int64_t max, int *out)
{
    int64_t v;
    if (!get_i64(c, o, key, min, max, &v)) return false;
    *out = (int)v;
    return true;
}

static bool get_dbl(struct rd *c, const cJSON *o, const char *key, double *out)
{
    return num_in(c, cJSON_GetObjectItemCaseSensitive(o, key), key, -1e300, 1e300, false, out);
}

static bool get_str(struct rd *c, const cJSON *o, const char *key, char *buf, size_t n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v) || !v->valuestring) return fail(c, "%s: expected a string", key);
    if (strlen(v->valuestring) >= n) return fail(c, "%s: expected at most %zu characters", key, n - 1);
    if (!utf8_valid(v->valuestring, strlen(v->valuestring))) return fail(c, "%s: expected UTF-8 text", key);
    memcpy(buf, v->valuestring, strlen(v->valuestring) + 1);
    return true;
}

static bool get_bool(struct rd *c, const cJSON *o, const char *key, bool *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsBool(v)) return fail(c, "%s: expected true or false", key);
    *out = cJSON_IsTrue(v);
    return true;
}

static bool get_obj(struct rd *c, const cJSON *o, const char *key, const cJSON **out)
{
    *out = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsObject(*out) ? true : fail(c, "%s: expected an object", key);
}

static bool read_options(struct rd *c, const cJSON *opts, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, opts) {
        if (!cJSON_IsString(v) || !v->string || strchr(v->valuestring, ' ') || strchr(v->string, ' ') ||
            strchr(v->string, '='))
            return fail(c, "options: expected \"name\": \"value\" strings without spaces");
        len = kvlist_append(buf, n, len, v->string, v->valuestring);
        if (len >= n) return fail(c, "options: expected at most %zu characters in all", n - 1);
    }
    return true;
}

/* The header's quality object (v4): every field typed and in range. */
static bool read_quality(struct rd *c, const cJSON *o, struct tel_quality *q)
{
    const cJSON *qo;
    char state[16];
    if (!get_obj(c, o, "quality", &qo) || !get_str(c, qo, "state", state, sizeof state)) return false;
    int s = tel_quality_state_from_name(state);
    if (s < 0) return fail(c, "quality.state: expected none, reference, measuring, measured or failed");
    q->state = (enum tel_quality_state)s;
    double *v[6] = {&q->kld, &q->kld_err, &q->same_top, &q->same_top_err, &q->ppl_ratio, &q->seconds};
    const char *k[6] = {"kld", "kld_err", "same_top", "same_top_err", "ppl_ratio", "seconds"};
    for (int i = 0; i < 6; i++)
        if (!num_in(c, cJSON_GetObjectItemCaseSensitive(qo, k[i]), k[i], 0, 1e300, false, v[i])) return false;
    return get_str(c, qo, "mode", q->mode, sizeof q->mode) && get_int(c, qo, "tokens", 0, MAX_COUNT, &q->tokens) &&
           get_int(c, qo, "scored", 0, MAX_COUNT, &q->scored) && get_str(c, qo, "error", q->error, sizeof q->error);
}

/* The header's optional "parallel" object (v5): a device group of tp × pp ≥ 2 devices. */
static bool read_par_info(struct rd *c, const cJSON *o, struct trace_header *h)
{
    const cJSON *po = cJSON_GetObjectItemCaseSensitive(o, "parallel");
    if (!po) return true;
    if (h->version < 5) return fail(c, "parallel: needs version 5 or later (header says %d)", h->version);
    struct tel_parallel *p = &h->par;
    if (!cJSON_IsObject(po)) return fail(c, "parallel: expected an object");
    if (!get_int(c, po, "tp", 1, TEL_MAX_DEVICES, &p->tp) || !get_int(c, po, "pp", 1, TEL_MAX_DEVICES, &p->pp) ||
        !get_int(c, po, "micro_batches", 1, 4096, &p->micro_batches) || !get_bool(c, po, "sp", &p->sp) ||
        !get_int(c, po, "devices", 2, TEL_MAX_DEVICES, &p->n_devices) ||
        !get_bool(c, po, "shared_cores", &p->shared_cores) || !get_str(c, po, "comm", p->comm_algo, sizeof p->comm_algo))
        return false;
    if (p->n_devices != p->tp * p->pp)
        return fail(c, "parallel.devices: expected tp × pp = %d, got %d", p->tp * p->pp, p->n_devices);
    return true;
}

static bool read_header(struct rd *c, const cJSON *o, struct trace_header *h)
{
    char fmt[64], type[16];
    const cJSON *sc, *dev, *opts;
    if (!get_str(c, o, "type", type, sizeof type)) return false;
    if (strcmp(type, "header")) return fail(c, "type: expected \"header\" on the first line");
    if (!get_str(c, o, "format", fmt, sizeof fmt)) return false;
    if (strcmp(fmt, TRACE_FORMAT_NAME)) return fail(c, "format: expected \"%s\"", TRACE_FORMAT_NAME);
    if (!get_int(c, o, "version", 1, TRACE_FORMAT_VERSION, &h->version)) return false;
    return get_str(c, o, "model", h->model, sizeof h->model) && get_obj(c, o, "scenario", &sc) &&
           get_str(c, sc, "name", h->scenario, sizeof h->scenario) &&
           get_str(c, sc, "path", h->scenario_path, sizeof h->scenario_path) &&
           get_int(c, sc, "requests", 0, 10000000, &h->n_requests) && get_obj(c, o, "device", &dev) &&
           get_str(c, dev, "backend", h->device, sizeof h->device) &&
           get_str(c, dev, "name", h->device_name, sizeof h->device_name) &&
           get_str(c, dev, "reason", h->device_reason, sizeof h->device_reason) &&
           get_bool(c, dev, "simulated", &h->simulated) && get_bool(c, dev, "async", &h->device_async) &&
           get_obj(c, o, "options", &opts) && read_options(c, opts, h->options, sizeof h->options) &&
           get_int(c, o, "layers", 0, 100000, &h->n_layers) && get_int(c, o, "pid", 0, INT32_MAX, &h->pid) &&
           get_int(c, o, "tid", 0, INT32_MAX, &h->tid) &&
           get_i64(c, o, "t0_raw_ns", 0, (int64_t)1 << 53, &h->t0_raw_ns) &&
           (h->version < 4 || read_quality(c, o, &h->quality)) && read_par_info(c, o, h);
}

static bool read_kv(struct rd *c, const cJSON *kv, struct kvcache_totals *t)
{
    return get_i64(c, kv, "pool", 0, MAX_COUNT * 1000, &t->pool_tokens) &&
           get_i64(c, kv, "used", 0, MAX_COUNT * 1000, &t->used_tokens) &&
           get_i64(c, kv, "logical", 0, MAX_COUNT * 1000, &t->logical_tokens) &&
           get_i64(c, kv, "allocated", 0, MAX_COUNT * 1000, &t->allocated_tokens) &&
           get_i64(c, kv, "free", 0, MAX_COUNT * 1000, &t->free_tokens) &&
           get_int(c, kv, "blocks_used", 0, MAX_COUNT, &t->blocks_used) &&
           get_int(c, kv, "blocks", 0, MAX_COUNT, &t->n_blocks) && get_dbl(c, kv, "utilization", &t->utilization);
}

static bool read_ops(struct rd *c, const cJSON *ops, struct step_record *sr)
{
    for (int k = 0; k < OPC_COUNT; k++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(ops, op_class_name(k));
        if (!a && k == OPC_COMM) {          /* recordings made before comm ops existed */
            sr->ops[k] = (struct op_class_sum){0};
            continue;
        }
        if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 5)
            return fail(c, "ops.%s: expected [time_s, flops, dram_bytes, chip_bytes, count]", op_class_name(k));
        double v[5];
        for (int i = 0; i < 5; i++)
            if (!num_in(c, cJSON_GetArrayItem(a, i), op_class_name(k), 0, i == 4 ? 1e9 : 1e300, i == 4, &v[i]))
                return false;
        sr->ops[k] = (struct op_class_sum){v[0], v[1], v[2], v[3], (int)v[4]};
    }
    return true;
}

static bool read_items(struct rd *c, const cJSON *a, struct trace_step *st, int n_requests)
{
    int n = cJSON_GetArraySize(a);
    if (!cJSON_IsArray(a) || n > MAX_ITEMS) return fail(c, "items: expected an array of at most %d", MAX_ITEMS);
    st->items = calloc((size_t)n + 1, sizeof *st->items);
    if (!st->items) return fail(c, "items: out of memory");
    const cJSON *it;
    int i = 0;
    cJSON_ArrayForEach(it, a) {
        double v[4];
        const double max[4] = {n_requests - 1, 1e9, 1e9, 1};
        if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 4)
            return fail(c, "items[%d]: expected [req, pos0, n_tokens, decode]", i);
        for (int k = 0; k < 4; k++)
            if (!num_in(c, cJSON_GetArrayItem(it, k), "items", 0, max[k], true, &v[k])) return false;
        st->items[i++] = (struct trace_item){(int)v[0], (int)v[1], (int)v[2], v[3] != 0};
    }
    st->n_items = n;
    return true;
}

/* v1/v2: 12 entries; v3 adds the tags role, device, stage, seq (16). */
static bool read_kernel(struct rd *c, const cJSON *a, int i, const struct trace_header *h, struct trace_kernel *k)
{
    bool tags = h->version >= 3;
    int nf = tags ? 15 : 11;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != nf + 1 || !cJSON_IsString(cJSON_GetArrayItem(a, 0)))
        return fail(c, "kernels[%d]: expected [name, class, layer, t_ns, dur_ns, shape x4, flops, dram, chip%s]", i,
                    tags ? ", role, device, stage, seq" : "");
    const char *name = cJSON_GetArrayItem(a, 0)->valuestring;
    if (strlen(name) >= sizeof k->name) return fail(c, "kernels[%d]: name: expected at most 23 characters", i);
    if (!utf8_valid(name, strlen(name))) return fail(c, "kernels[%d]: name: expected UTF-8 text", i);
    snprintf(k->name, sizeof k->name, "%s", name);
    const double lo[15] = {0, -1, 0, 0, -1e18, -1e18, -1e18, -1e18, 0, 0, 0, 0, 0, 0, -1};
    const double hi[15] = {OPC_COUNT - 1, h->n_layers - 1, MAX_TIME_NS, MAX_TIME_NS, 1e18, 1e18, 1e18, 1e18,
                           1e300, 1e300, 1e300, KROLE_COUNT - 1, 127, 32767, h->n_requests - 1};
    double v[15] = {[14] = -1};
    for (int f = 0; f < nf; f++)
        if (!num_in(c, cJSON_GetArrayItem(a, f + 1), "kernels", lo[f], hi[f], f < 8 || f >= 11, &v[f])) return false;
    k->role = (int)v[11];
    k->device = (int)v[12];
    k->stage = (int)v[13];
    k->seq = (int)v[14];
    k->cls = (enum op_class)v[0];
    k->layer = (int)v[1];
    k->t_ns = (int64_t)v[2];
    k->dur_ns = (int64_t)v[3];
    for (int s = 0; s < 4; s++) k->shape[s] = (int64_t)v[4 + s];
    k->flops = v[8]; k->dram_bytes = v[9]; k->chip_bytes = v[10];
    return true;
}

static bool read_kernels(struct rd *c, const cJSON *a, struct trace_step *st, const struct trace_header *h)
{
    int n = cJSON_GetArraySize(a);
    if (!cJSON_IsArray(a) || n > MAX_KERNELS) return fail(c, "kernels: expected an array of at most %d", MAX_KERNELS);
    st->kernels = calloc(c->keep_kernels ? (size_t)n + 1 : 1, sizeof *st->kernels);   /* compact: one scratch slot */
    if (!st->kernels) return fail(c, "kernels: out of memory");
    const cJSON *k;
    int i = 0;
    cJSON_ArrayForEach(k, a) {
        if (!read_kernel(c, k, i, h, &st->kernels[c->keep_kernels ? i : 0])) return false;
        i++;
    }
    st->n_kernels = c->keep_kernels ? n : 0;
    if (!c->keep_kernels) { free(st->kernels); st->kernels = NULL; }
    st->detailed = true;
    return true;
}

/* One commit [req, n, id_1 .. id_n] into st (room checked by the caller). */
static bool read_commit(struct rd *c, const cJSON *a, int i, struct trace_step *st, int n_requests)
{
    int n = cJSON_GetArraySize(a);
    double req, cnt;
    if (!cJSON_IsArray(a) || n < 3) return fail(c, "commits[%d]: expected [req, n, id_1 .. id_n]", i);
    if (!num_in(c, a->child, "commits", 0, n_requests - 1, true, &req) ||
        !num_in(c, a->child->next, "commits", 1, TEL_MAX_COMMIT, true, &cnt))
        return false;
    if ((int)cnt != n - 2) return fail(c, "commits[%d]: expected %d token ids after [req, n]", i, (int)cnt);
    st->commits[st->n_commits++] = (struct trace_commit){(int)req, (int)cnt, st->n_commit_tokens};
    for (const cJSON *v = a->child->next->next; v; v = v->next) {
        double id;
        if (!num_in(c, v, "commits", 0, INT32_MAX, true, &id)) return false;
        st->commit_tokens[st->n_commit_tokens++] = (int32_t)id;
    }
    return true;
}

/* Token commits of a step (version >= 3): every request at most once. */
static bool read_commits(struct rd *c, const cJSON *a, struct trace_step *st, int n_requests)
{
    int n = cJSON_GetArraySize(a);
    if (!cJSON_IsArray(a) || n > MAX_ITEMS) return fail(c, "commits: expected an array of at most %d", MAX_ITEMS);
    st->commits = calloc((size_t)n + 1, sizeof *st->commits);
    st->commit_tokens = calloc((size_t)n * TEL_MAX_COMMIT + 1, sizeof *st->commit_tokens);
    if (!st->commits || !st->commit_tokens) return fail(c, "commits: out of memory");
    const cJSON *one;
    int i = 0;
    cJSON_ArrayForEach(one, a) {
        if (!read_commit(c, one, i++, st, n_requests)) return false;
        st->rec.committed += st->commits[st->n_commits - 1].n;
    }
    return true;
}

/* The optional "spec" object of a step (written by spec_json). */
static bool read_spec(struct rd *c, const cJSON *o, struct step_spec *p)
{
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(o, "counts"), *at = cJSON_GetObjectItemCaseSensitive(o, "at");
    if (!cJSON_IsObject(o) || !cJSON_IsArray(counts) || cJSON_GetArraySize(counts) != 7 || !cJSON_IsArray(at))
        return fail(c, "spec: expected {counts: [kind, k, drafts, drafted, accepted, emitted, rounds], draft_ns, "
                       "verify_ns, at: [[drafted, accepted] per position]}");
    int *f[7] = {&p->kind, &p->k, &p->drafts, &p->drafted, &p->accepted, &p->emitted, &p->draft_rounds};
    int i = 0;
    for (const cJSON *v = counts->child; v; v = v->next, i++) {
        double d;
        if (!num_in(c, v, "spec.counts", 0, i == 1 ? TEL_SPEC_MAX_K : MAX_COUNT, true, &d)) return false;
        *f[i] = (int)d;
    }
    int64_t dns, vns;
    if (!get_i64(c, o, "draft_ns", 0, MAX_TIME_NS, &dns) || !get_i64(c, o, "verify_ns", 0, MAX_TIME_NS, &vns)) return false;
    p->draft_s = dns / 1e9;
    p->verify_s = vns / 1e9;
    if (cJSON_GetArraySize(at) > p->k) return fail(c, "spec.at: expected at most k = %d positions", p->k);
    int j = 0;
    for (const cJSON *pos = at->child; pos; pos = pos->next, j++) {
        double dr, ac;
        if (!cJSON_IsArray(pos) || cJSON_GetArraySize(pos) != 2 ||
            !num_in(c, pos->child, "spec.at", 0, 65535, true, &dr) ||
            !num_in(c, pos->child->next, "spec.at", 0, dr, true, &ac))
            return fail(c, "spec.at[%d]: expected [drafted, accepted <= drafted]", j);
        p->drafted_at[j] = (uint16_t)dr;
        p->accepted_at[j] = (uint16_t)ac;
    }
    return true;
}

#define MAX_SEGS (1 << 20)

/* One device row [device, stage, rank, l0, l1, compute_ns, comm_ns, idle_ns, weight, kv, act, resid]. */
static bool read_par_device(struct rd *c, const cJSON *a, int d, const struct tel_parallel *info, int n_layers,
                            struct tel_device *td)
{
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 12)
        return fail(c, "par.devices[%d]: expected [device, stage, rank, l0, l1, compute_ns, comm_ns, idle_ns, "
                       "weight, kv, act, resid]", d);
    const double lo[12] = {d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    const double hi[12] = {d, info->pp - 1, info->tp - 1, n_layers, n_layers, MAX_TIME_NS, MAX_TIME_NS, MAX_TIME_NS,
                           1e18, 1e18, 1e18, 1e18};
    double v[12];
    int f = 0;
    for (const cJSON *x = a->child; x; x = x->next, f++)
        if (!num_in(c, x, "par.devices", lo[f], hi[f], f < 8, &v[f])) return false;
    if (v[4] < v[3]) return fail(c, "par.devices[%d]: expected l0 <= l1", d);
    *td = (struct tel_device){(int)v[0], (int)v[1], (int)v[2], (int)v[3], (int)v[4], v[5] / 1e9, v[6] / 1e9,
                              v[7] / 1e9, v[8], v[9], v[10], v[11]};
    return true;
}

/* Segments [device, stage, mb, kind, t0_ns, t1_ns] x n, flat, t0 <= t1. */
static bool read_par_segs(struct rd *c, const cJSON *a, const struct tel_parallel *info, struct trace_par *p)
{
    int n = cJSON_GetArraySize(a);
    if (!cJSON_IsArray(a) || n % 6 != 0 || n / 6 > MAX_SEGS)
        return fail(c, "par.segs: expected a flat array of at most %d [device, stage, mb, kind, t0_ns, t1_ns]", MAX_SEGS);
    p->segs = calloc((size_t)n / 6 + 1, sizeof *p->segs);
    if (!p->segs) return fail(c, "par.segs: out of memory");
    const double lo[6] = {0, 0, -1, 0, 0, 0};
    const double hi[6] = {info->n_devices - 1, info->pp - 1, 32767, SEG_COUNT - 1, MAX_TIME_NS, MAX_TIME_NS};
    const cJSON *x = a->child;
    for (int i = 0; i < n / 6; i++) {
        double v[6];
        for (int f = 0; f < 6; f++, x = x->next)
            if (!num_in(c, x, "par.segs", lo[f], hi[f], true, &v[f])) return false;
        if (v[5] < v[4]) return fail(c, "par.segs[%d]: expected t0_ns <= t1_ns", i);
        p->segs[p->n_segs++] = (struct tel_segment){(int16_t)v[0], (int16_t)v[1], (int16_t)v[2], (uint8_t)v[3],
                                                    v[4] / 1e9, v[5] / 1e9};
    }
    return true;
}

/* A step's optional "par" object (v5, written by par_json); fills the step
 * record's par_* fields as the engine did. */
static bool read_par(struct rd *c, const cJSON *o, const struct trace_header *h, struct trace_step *st)
{
    if (h->par.n_devices < 2) return fail(c, "par: expected a header with a \"parallel\" object (version 5)");
    if (!cJSON_IsObject(o)) return fail(c, "par: expected an object");
    st->par = calloc(1, sizeof *st->par);
    if (!st->par) return fail(c, "par: out of memory");
    struct tel_parallel *t = &st->par->tel;
    *t = h->par;
    int64_t span;
    if (!get_int(c, o, "mb", 0, 4096, &t->mb_used) || !get_i64(c, o, "span_ns", 0, MAX_TIME_NS, &span) ||
        !num_in(c, cJSON_GetObjectItemCaseSensitive(o, "bubble"), "bubble", 0, 1, false, &t->bubble) ||
        !num_in(c, cJSON_GetObjectItemCaseSensitive(o, "formula"), "formula", 0, 1, false, &t->bubble_formula) ||
        !num_in(c, cJSON_GetObjectItemCaseSensitive(o, "comm_share"), "comm_share", 0, 1e3, false, &t->comm_share))
        return false;
    t->span_s = span / 1e9;
    const cJSON *devs = cJSON_GetObjectItemCaseSensitive(o, "devices");
    if (!cJSON_IsArray(devs) || cJSON_GetArraySize(devs) != t->n_devices)
        return fail(c, "par.devices: expected an array of %d device rows", t->n_devices);
    int d = 0;
    for (const cJSON *a = devs->child; a; a = a->next, d++)
        if (!read_par_device(c, a, d, t, h->n_layers, &t->dev[d])) return false;
    if (!read_par_segs(c, cJSON_GetObjectItemCaseSensitive(o, "segs"), t, st->par)) return false;
    struct step_record *sr = &st->rec;
    sr->par_mb = t->mb_used;
    sr->par_bubble = t->bubble;
    sr->par_bubble_formula = t->bubble_formula;
    sr->par_comm_share = t->comm_share;
    for (d = 0; d < t->n_devices; d++)
        if (t->dev[d].resid_bytes > sr->par_resid_bytes) sr->par_resid_bytes = t->dev[d].resid_bytes;
    return true;
}

static bool read_step_fields(struct rd *c, const cJSON *o, struct trace_run *r, struct trace_step *st)
{
    struct step_record *sr = &st->rec;
    const cJSON *kv, *ops;
    int64_t idx;
    bool ok = get_i64(c, o, "index", 0, MAX_COUNT * 1000, &idx) &&
              get_i64(c, o, "t_ns", 0, MAX_TIME_NS, &st->t_ns) && get_i64(c, o, "dur_ns", 0, MAX_TIME_NS, &st->dur_ns) &&
              get_i64(c, o, "plan_ns", 0, MAX_TIME_NS, &st->plan_ns) &&
              get_i64(c, o, "sample_t_ns", 0, MAX_TIME_NS, &st->sample_t_ns) &&
              get_i64(c, o, "sample_ns", 0, MAX_TIME_NS, &st->sample_ns) &&
              get_int(c, o, "prefill_tokens", 0, MAX_COUNT, &sr->prefill_tokens) &&
              get_int(c, o, "decode_tokens", 0, MAX_COUNT, &sr->decode_tokens) &&
              get_int(c, o, "batch", 0, MAX_COUNT, &sr->batch_size) && get_int(c, o, "running", 0, MAX_COUNT, &sr->running) &&
              get_int(c, o, "waiting", 0, MAX_COUNT, &sr->waiting) &&
              get_int(c, o, "preempted", 0, MAX_COUNT, &sr->preempted) &&
              get_int(c, o, "finished", 0, MAX_COUNT, &sr->finished) && get_dbl(c, o, "prefill_s", &sr->prefill_s) &&
              get_dbl(c, o, "decode_s", &sr->decode_s) && get_obj(c, o, "kv", &kv) && read_kv(c, kv, &sr->kv) &&
              get_obj(c, o, "ops", &ops) && read_ops(c, ops, sr) &&
              read_items(c, cJSON_GetObjectItemCaseSensitive(o, "items"), st, r->h.n_requests);
    if (!ok) return false;
    if (r->n_steps > 1 && st->t_ns < r->steps[r->n_steps - 2].t_ns)
        return fail(c, "t_ns: expected steps in time order (>= the previous step's)");
    sr->index = (uint64_t)idx;
    sr->t_start_s = st->t_ns / 1e9;
    sr->dur_s = st->dur_ns / 1e9;
    sr->plan_s = st->plan_ns / 1e9;
    sr->sample_start_s = st->sample_t_ns / 1e9;
    sr->sample_s = st->sample_ns / 1e9;
    const cJSON *ks = cJSON_GetObjectItemCaseSensitive(o, "kernels");
    if (ks && !read_kernels(c, ks, st, &r->h)) return false;
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(o, "spec");
    if (sp && !read_spec(c, sp, &sr->spec)) return false;
    const cJSON *par = cJSON_GetObjectItemCaseSensitive(o, "par");
    if (par && !read_par(c, par, &r->h, st)) return false;
    if (r->h.version >= 3 && !read_commits(c, cJSON_GetObjectItemCaseSensitive(o, "commits"), st, r->h.n_requests))
        return false;
    const cJSON *bm = cJSON_GetObjectItemCaseSensitive(o, "bytes_measured");
    if (bm && cJSON_IsTrue(bm)) r->h.bytes_measured = true;
    return true;
}

/* A damaged step line is dropped whole: the run keeps only complete steps. */
static bool read_step(struct rd *c, const cJSON *o, struct trace_run *r)
{
    struct trace_step *st = trace_run_add_step(r);
    if (!st) return fail(c, "out of memory");
    if (read_step_fields(c, o, r, st)) return true;
    trace_step_free(st);
    r->n_steps--;
    return false;
}

/* A 64-bit hash as 16 hex digits. */
static bool get_hash(struct rd *c, const cJSON *o, const char *key, uint64_t *out)
{
    char buf[24], *end;
    if (!get_str(c, o, key, buf, sizeof buf)) return false;
    if (strlen(buf) != 16 || strspn(buf, "0123456789abcdef") != 16)
        return fail(c, "%s: expected 16 lowercase hex digits", key);
    *out = strtoull(buf, &end, 16);
    return true;
}

/* Version 3 request progress: generated; admit cached, preempt dropped, finish hash. */
static bool read_event_v3(struct rd *c, const cJSON *o, struct trace_event *ev)
{
    if (!get_int(c, o, "generated", 0, MAX_COUNT, &ev->generated)) return false;
    if (ev->kind == TEV_ADMIT) return get_int(c, o, "cached", 0, MAX_COUNT, &ev->cached);
    if (ev->kind == TEV_PREEMPT) return get_int(c, o, "dropped", 0, MAX_COUNT, &ev->dropped);
    if (ev->kind == TEV_FINISH) {
        ev->has_hash = true;
        return get_hash(c, o, "hash", &ev->hash);
    }
    return true;
}

static bool read_event(struct rd *c, const cJSON *o, struct trace_run *r, bool option)
{
    struct trace_event ev = {.req = -1};
    char kind[16];
    if (!get_i64(c, o, "t_ns", 0, MAX_TIME_NS, &ev.t_ns)) return false;
    if (option) {
        ev.kind = TEV_OPTION;
        if (!get_str(c, o, "name", ev.name, sizeof ev.name) || !get_str(c, o, "value", ev.value, sizeof ev.value))
            return false;
    } else {
        if (!get_str(c, o, "kind", kind, sizeof kind)) return false;
        int k = trace_event_kind_from_name(kind);
        if (k < 0 || k == TEV_OPTION)
            return fail(c, "kind: expected arrive, admit, first_token, finish or preempt");
        ev.kind = (enum trace_event_kind)k;
        if (!get_int(c, o, "req", 0, r->h.n_requests - 1, &ev.req)) return false;
        if (ev.kind == TEV_ARRIVE && r->h.version >= 2 &&
            (!get_int(c, o, "prompt", 0, MAX_COUNT, &ev.prompt_len) ||
             !get_int(c, o, "max_output", 0, MAX_COUNT, &ev.max_output)))
            return false;
        if (r->h.version >= 3 && !read_event_v3(c, o, &ev)) return false;
    }
    struct trace_event *slot = trace_run_add_event(r);
    if (!slot) return fail(c, "out of memory");
    *slot = ev;
    return true;
}

/* Runs [count, state, fill, refs, owner, cached] x n covering exactly k->n_blocks blocks. */
static bool read_kv_runs(struct rd *c, const cJSON *a, struct trace_kv *k, int n_requests)
{
    int n = cJSON_GetArraySize(a);
    if (!cJSON_IsArray(a) || n % 6 != 0)
        return fail(c, "runs: expected a flat array of [count, state, fill, refs, owner, cached] runs");
    const double lo[6] = {1, 0, 0, 0, -1, 0}, hi[6] = {k->n_blocks, KVB_SHARED, k->block_size, MAX_COUNT,
                                                      n_requests - 1, 1};
    int at = 0;
    const cJSON *v = a->child;
    for (int r = 0; r < n / 6; r++) {
        double f[6];
        for (int i = 0; i < 6; i++, v = v->next)
            if (!num_in(c, v, "runs", lo[i], hi[i], true, &f[i])) return false;
        if (at + f[0] > k->n_blocks) return fail(c, "runs: expected counts adding up to blocks (%d)", k->n_blocks);
        struct kv_block_info b = {(int32_t)f[4], (int32_t)f[2], (int32_t)f[3], (uint8_t)f[1], f[5] != 0};
        for (int i = 0; i < (int)f[0]; i++) k->blocks[at++] = b;
    }
    if (at != k->n_blocks) return fail(c, "runs: expected counts adding up to blocks (%d), got %d", k->n_blocks, at);
    return true;
}

static bool read_kv_fields(struct rd *c, const cJSON *o, struct trace_run *r, struct trace_kv *k)
{
    char kind[16];
    int n = k->n_blocks;
    if (!get_i64(c, o, "t_ns", 0, MAX_TIME_NS, &k->t_ns) ||
        !get_int(c, o, "after_step", 0, r->n_steps, &k->after_step) ||
        (r->h.version >= 3 && !get_int(c, o, "pool", 0, TEL_MAX_POOLS - 1, &k->pool)) ||
        !get_str(c, o, "kind", kind, sizeof kind) ||
        !get_int(c, o, "block_size", 1, 1 << 20, &k->block_size))
        return false;
    int kd = kv_alloc_from_name(kind);
    if (kd < 0) return fail(c, "kind: expected paged or contiguous");
    k->kind = (enum kv_alloc_kind)kd;
    k->n_blocks = n;
    if (r->n_kvs > 1 && k->t_ns < r->kvs[r->n_kvs - 2].t_ns)
        return fail(c, "t_ns: expected kv snapshots in time order (>= the previous one's)");
    return read_kv_runs(c, cJSON_GetObjectItemCaseSensitive(o, "runs"), k, r->h.n_requests);
}

/* A KV block map snapshot (version >= 2); a damaged one is dropped whole. */
static bool read_kvmap(struct rd *c, const cJSON *o, struct trace_run *r)
{
    int n;
    if (r->h.version < 2) return fail(c, "type: \"kv\" lines need version 2 or later (header says %d)", r->h.version);
    if (!get_int(c, o, "blocks", 1, MAX_KV_BLOCKS, &n)) return false;
    struct trace_kv *k = trace_run_add_kv(r, n);
    if (!k) return fail(c, "kv: out of memory");
    if (read_kv_fields(c, o, r, k)) return true;
    free(k->blocks);
    r->n_kvs--;
    return false;
}

/* One body line. Returns 1 for the end line, 0 for others, -1 on damage. */
static int read_body_line(struct rd *c, const cJSON *o, struct trace_run *r)
{
    char type[16];
    if (!cJSON_IsObject(o)) return fail(c, "expected a JSON object"), -1;
    if (!get_str(c, o, "type", type, sizeof type)) return -1;
    if (!strcmp(type, "step")) return read_step(c, o, r) ? 0 : -1;
    if (!strcmp(type, "event")) return read_event(c, o, r, false) ? 0 : -1;
    if (!strcmp(type, "option")) return read_event(c, o, r, true) ? 0 : -1;
    if (!strcmp(type, "kv")) return read_kvmap(c, o, r) ? 0 : -1;
    if (!strcmp(type, "end")) {
        int steps, events;
        if (!get_int(c, o, "steps", 0, INT32_MAX, &steps) || !get_int(c, o, "events", 0, INT32_MAX, &events))
            return -1;
        if (steps != r->n_steps || events != r->n_ev)
            return fail(c, "end: expected %d steps and %d events, read %d and %d", steps, events, r->n_steps,
                        r->n_ev), -1;
        if (r->h.version >= 2) {
            int kvs;
            if (!get_int(c, o, "kvs", 0, INT32_MAX, &kvs)) return -1;
            if (kvs != r->n_kvs) return fail(c, "end: expected %d kv snapshots, read %d", kvs, r->n_kvs), -1;
        }
        return 1;
    }
    return fail(c, "type: expected step, event, option, kv or end, got \"%s\"", type), -1;
}

/* Where the reader gets its lines: a buffer (fuzzing, tests) or a file read
 * in chunks, never whole. next() gives the next line without its newline;
 * 1 ok, 0 end of input, -1 error (message in err). */
struct line_src {
    const char *name;
    /* buffer mode */
    const char *buf;
    size_t len, pos;
    /* file mode */
    FILE *f;
    char *chunk;
    size_t cap, have, start;
    int64_t consumed;          /* bytes before chunk[start] */
    int64_t offset;            /* byte offset of the line last returned */
};

static int too_long(struct line_src *s, int line, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s:%d: line longer than %zu MiB: expected one JSON object per line (is this a recording?)",
             s->name, line, RECORDING_MAX_LINE >> 20);
    return -1;
}

static int next_line(struct line_src *s, int line, const char **p, size_t *n, bool *nl, char *err, size_t errlen)
{
    if (!s->f) {
        if (s->pos >= s->len) return 0;
        const char *e = memchr(s->buf + s->pos, '\n', s->len - s->pos);
        *n = e ? (size_t)(e - (s->buf + s->pos)) : s->len - s->pos;
        if (*n > RECORDING_MAX_LINE) return too_long(s, line, err, errlen);
        *p = s->buf + s->pos;
        *nl = e != NULL;
        s->offset = (int64_t)s->pos;
        s->pos += *n + (e ? 1 : 0);
        return 1;
    }
    for (;;) {
        const char *e = s->have > s->start ? memchr(s->chunk + s->start, '\n', s->have - s->start) : NULL;
        if (e || feof(s->f) || ferror(s->f)) {
            if (!e && s->have == s->start) return ferror(s->f) ? (snprintf(err, errlen, "%s: read error", s->name), -1) : 0;
            *n = e ? (size_t)(e - (s->chunk + s->start)) : s->have - s->start;
            if (*n > RECORDING_MAX_LINE) return too_long(s, line, err, errlen);
            *p = s->chunk + s->start;
            *nl = e != NULL;
            s->offset = s->consumed;
            size_t used = *n + (e ? 1 : 0);
            s->start += used;
            s->consumed += (int64_t)used;
            return 1;
        }
        if (s->have - s->start > RECORDING_MAX_LINE) return too_long(s, line, err, errlen);
        if (s->consumed + (int64_t)(s->have - s->start) > RECORDING_MAX_BYTES) {
            snprintf(err, errlen, "%s:%d: larger than %lld GiB: expected a recording of at most that size", s->name,
                     line, (long long)(RECORDING_MAX_BYTES >> 30));
            return -1;
        }
        if (s->start > 0) {                    /* keep the partial line at the front */
            memmove(s->chunk, s->chunk + s->start, s->have - s->start);
            s->have -= s->start;
            s->start = 0;
        }
        if (s->cap - s->have < 65536) {
            size_t nc = s->cap ? s->cap * 2 : 1 << 20;
            if (nc > RECORDING_MAX_LINE + (1 << 20)) nc = RECORDING_MAX_LINE + (1 << 20);
            char *nb = nc > s->cap ? realloc(s->chunk, nc) : NULL;
            if (!nb) { snprintf(err, errlen, "%s: out of memory", s->name); return -1; }
            s->chunk = nb;
            s->cap = nc;
        }
        s->have += fread(s->chunk + s->have, 1, s->cap - s->have, s->f);
    }
}

/* The reading loop shared by every entry point. Returns recorder_read's
 * codes; *offsets (when asked) covers every step kept, damage or not. */
static int read_lines(struct line_src *src, struct trace_run *r, bool keep_kernels, int64_t **offsets, char *err,
                      size_t errlen)
{
    trace_run_init(r);
    struct rd c = {src->name, 0, err, errlen, &r->h, keep_kernels};
    bool ended = false;
    int64_t *offs = NULL;
    int cap_offs = 0, rc = 0;
    for (;;) {
        const char *p;
        size_t n;
        bool nl;
        int got = next_line(src, c.line + 1, &p, &n, &nl, err, errlen);
        if (got < 0) { rc = c.line == 0 ? -1 : 1; break; }
        if (got == 0) break;
        c.line++;
        if (ended) { fail(&c, "expected nothing after the end line"); rc = 1; break; }
        if (!nl) { fail(&c, "line cut short (no newline): the recording is truncated"); rc = c.line == 1 ? -1 : 1; break; }
        cJSON *o = cJSON_ParseWithLength(p, n);
        if (!o) { fail(&c, "expected one JSON object per line (parse error)"); rc = c.line == 1 ? -1 : 1; break; }
        int before = r->n_steps;
        int lrc = c.line == 1 ? (read_header(&c, o, &r->h) ? 0 : -1) : read_body_line(&c, o, r);
        cJSON_Delete(o);
        if (lrc < 0) { rc = c.line == 1 ? -1 : 1; break; }
        if (offsets && r->n_steps > before) {
            if (r->n_steps > cap_offs) {
                int nc = cap_offs ? cap_offs * 2 : 1024;
                int64_t *no = realloc(offs, (size_t)nc * sizeof *no);
                if (!no) {
                    fail(&c, "out of memory");
                    trace_step_free(&r->steps[before]);
                    r->n_steps = before;
                    rc = 1;
                    break;
                }
                offs = no;
                cap_offs = nc;
            }
            offs[r->n_steps - 1] = src->offset;
        }
        if (lrc == 1) ended = true;
    }
    if (rc == 0 && c.line == 0) { c.line = 1; fail(&c, "expected a header line (the file is empty)"); rc = -1; }
    if (rc == 0 && !ended) {
        c.line++;
        fail(&c, "expected the end line after %d steps: the recording is truncated", r->n_steps);
        rc = 1;
    }
    if (offsets && rc >= 0) *offsets = offs;
    else free(offs);
    return rc;
}

int recorder_read_buffer(const char *name, const char *buf, size_t len, struct trace_run *r, char *err,
                         size_t errlen)
{
    struct line_src src = {.name = name, .buf = buf, .len = len};
    return read_lines(&src, r, true, NULL, err, errlen);
}

static int read_file(const char *path, struct trace_run *r, bool keep_kernels, int64_t **offsets, char *err,
                     size_t errlen)
{
    trace_run_init(r);
    if (offsets) *offsets = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno)); return -1; }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > RECORDING_MAX_BYTES) {
        fclose(f);
        snprintf(err, errlen, "%s: %lld bytes: expected a recording of at most %lld GiB", path, (long long)st.st_size,
                 (long long)(RECORDING_MAX_BYTES >> 30));
        return -1;
    }
    struct line_src src = {.name = path, .f = f};
    int rc = read_lines(&src, r, keep_kernels, offsets, err, errlen);
    free(src.chunk);
    fclose(f);
    return rc;
}

int recorder_read(const char *path, struct trace_run *r, char *err, size_t errlen)
{
    return read_file(path, r, true, NULL, err, errlen);
}

int recorder_read_compact(const char *path, struct trace_run *r, int64_t **offsets, char *err, size_t errlen)
{
    return read_file(path, r, false, offsets, err, errlen);
}

int recorder_read_step(FILE *f, const char *name, int64_t offset, const struct trace_run *r, struct trace_step *st,
                       char *err, size_t errlen)
{
    memset(st, 0, sizeof *st);
    if (fseeko(f, (off_t)offset, SEEK_SET) != 0) {
        snprintf(err, errlen, "%s:@%lld: cannot seek: %s", name, (long long)offset, strerror(errno));
        return -1;
    }
    char where[1100];
    snprintf(where, sizeof where, "%s@%lld", name, (long long)offset);
    struct line_src src = {.name = where, .f = f, .consumed = offset};
    const char *p;
    size_t n;
    bool nl;
    int got = next_line(&src, 1, &p, &n, &nl, err, errlen);
    cJSON *o = got == 1 ? cJSON_ParseWithLength(p, n) : NULL;
    /* a scratch run with r's header: its one step is read as the reader reads any step */
    struct trace_run one;
    trace_run_init(&one);
    one.h = r->h;
    struct rd c = {where, 1, err, errlen, &one.h, true};
    int rc = -1;
    if (got == 1 && !o) fail(&c, "expected one JSON object per line (parse error)");
    else if (got == 0) fail(&c, "expected a step line, got the end of the file");
    if (o) {
        char type[16];
        if (get_str(&c, o, "type", type, sizeof type)) {
            if (strcmp(type, "step")) fail(&c, "type: expected \"step\" at this offset, got \"%s\"", type);
            else if (read_step(&c, o, &one)) { *st = one.steps[0]; one.n_steps = 0; rc = 0; }
        }
        cJSON_Delete(o);
    }
    free(src.chunk);
    trace_run_free(&one);
    return rc;
}
