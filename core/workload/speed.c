/* core/workload/speed.c — see speed.h. */
#include "core/workload/speed.h"
#include "core/model/forward.h"
#include "core/workload/session.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- statistics ---- */

void speed_result_stats(struct speed_result *r)
{
    double tokens = (double)(r->n_prompt > 0 ? r->n_prompt : r->n_gen) * r->n_seq;
    double sn = 0, st = 0;
    for (int i = 0; i < r->reps; i++) { sn += r->samples_ns[i]; st += tokens * 1e9 / r->samples_ns[i]; }
    r->avg_ns = sn / r->reps;
    r->avg_ts = st / r->reps;
    double vn = 0, vt = 0;
    for (int i = 0; i < r->reps; i++) {
        double ts = tokens * 1e9 / r->samples_ns[i];
        vn += (r->samples_ns[i] - r->avg_ns) * (r->samples_ns[i] - r->avg_ns);
        vt += (ts - r->avg_ts) * (ts - r->avg_ts);
    }
    r->stddev_ns = r->reps > 1 ? sqrt(vn / (r->reps - 1)) : 0;
    r->stddev_ts = r->reps > 1 ? sqrt(vt / (r->reps - 1)) : 0;
}

/* ---- one test on one loaded model ---- */

/* B sequences, each with its own contiguous K/V buffer of ctx tokens. */
struct speed_kv {
    int n_seq, ctx;
    void **k, **v;
    int32_t table[1];
    size_t layer_stride;
    int kv_dim;
    enum dtype kv_type;
};

static void speed_kv_free(struct speed_kv *kv)
{
    for (int s = 0; kv->k && s < kv->n_seq; s++) { free(kv->k[s]); free(kv->v[s]); }
    free(kv->k);
    free(kv->v);
    memset(kv, 0, sizeof *kv);
}

static int speed_kv_init(struct speed_kv *kv, const struct model_config *c, int n_seq, int ctx,
                         enum dtype kv_type)
{
    memset(kv, 0, sizeof *kv);
    kv->n_seq = n_seq;
    kv->ctx = ctx;
    kv->kv_dim = c->n_kv_heads * c->head_dim;
    kv->kv_type = kv_type;
    kv->layer_stride = (size_t)ctx * kv->kv_dim;
    size_t bytes = (size_t)c->n_layers * kv->layer_stride * (kv_type == DT_F16 ? 2 : 4);
    kv->k = calloc((size_t)n_seq, sizeof *kv->k);
    kv->v = calloc((size_t)n_seq, sizeof *kv->v);
    if (!kv->k || !kv->v) { speed_kv_free(kv); return -1; }
    for (int s = 0; s < n_seq; s++) {
        kv->k[s] = calloc(1, bytes);
        kv->v[s] = calloc(1, bytes);
        if (!kv->k[s] || !kv->v[s]) { speed_kv_free(kv); return -1; }
    }
    return 0;
}

static struct kv_view speed_kv_view(struct speed_kv *kv, int s)
{
    return (struct kv_view){kv->k[s], kv->v[s], kv->layer_stride, kv->table, 1, kv->ctx, kv->kv_dim,
                            kv->kv_type};
}

struct speed_ctx {
    struct forward fw;
    struct speed_kv kv;
    float *logits;            /* [n_seq][vocab] */
    int32_t *tokens;          /* [SPEED_UBATCH] random prompt tokens */
    struct fwd_seq *seqs;     /* [n_seq] */
    uint32_t rng;
    int vocab;
};

static int32_t speed_token(struct speed_ctx *c)
{
    c->rng = c->rng * 1664525u + 1013904223u;
    return (int32_t)((c->rng >> 8) % (uint32_t)c->vocab);
}

/* Prefill n tokens per sequence at positions pos0.. for every sequence, in
 * forward calls of at most SPEED_UBATCH tokens (a call packs whole pieces
 * of several sequences when they fit). 0 ok, -1 forward failed. */
static int speed_prefill(struct speed_ctx *c, int n_seq, int pos0, int n)
{
    int s = 0, done = 0;             /* next piece: sequence s from pos0 + done */
    while (s < n_seq) {
        int used = 0, k = 0;
        while (s < n_seq && used < SPEED_UBATCH) {
            int take = n - done < SPEED_UBATCH - used ? n - done : SPEED_UBATCH - used;
            for (int i = 0; i < take; i++) c->tokens[used + i] = speed_token(c);
            c->seqs[k] = (struct fwd_seq){c->tokens + used, take, pos0 + done, speed_kv_view(&c->kv, s), false, false};
            k++;
            used += take;
            done += take;
            if (done == n) { s++; done = 0; }
        }
        if (forward_batch(&c->fw, c->seqs, k, c->logits) < 0) return -1;
    }
    return 0;
}

/* n decode steps of one token per sequence from position pos0. */
static int speed_decode(struct speed_ctx *c, int n_seq, int pos0, int n)
{
    for (int i = 0; i < n; i++) {
        for (int s = 0; s < n_seq; s++) {
            c->tokens[s] = speed_token(c);
            c->seqs[s] = (struct fwd_seq){c->tokens + s, 1, pos0 + i, speed_kv_view(&c->kv, s), false, true};
        }
        if (forward_batch(&c->fw, c->seqs, n_seq, c->logits) < 0) return -1;
    }
    return 0;
}

static void speed_ctx_free(struct speed_ctx *c)
{
    forward_free(&c->fw);
    speed_kv_free(&c->kv);
    free(c->logits);
    free(c->tokens);
    free(c->seqs);
}

static int speed_ctx_init(struct speed_ctx *c, struct session *S, const struct options *opt, int n_seq,
                          int ctx, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    const struct model_config *cfg = &S->model.cfg;
    c->vocab = cfg->vocab;
    c->rng = 12345;
    int cap = SPEED_UBATCH > n_seq ? SPEED_UBATCH : n_seq;
    if (forward_init(&c->fw, &S->model, S->be, cap, err, errlen) < 0) return -1;
    c->fw.attn = opt_enum(opt, ATTN);
    c->logits = malloc((size_t)n_seq * cfg->vocab * sizeof *c->logits);
    c->tokens = malloc((size_t)cap * sizeof *c->tokens);
    c->seqs = malloc((size_t)(n_seq > SPEED_UBATCH ? n_seq : SPEED_UBATCH) * sizeof *c->seqs);
    if (!c->logits || !c->tokens || !c->seqs ||
        speed_kv_init(&c->kv, cfg, n_seq, ctx, opt_enum(opt, KV_DTYPE)) < 0) {
        snprintf(err, errlen, "speed: out of memory for %d sequences of %d tokens", n_seq, ctx);
        speed_ctx_free(c);
        return -1;
    }
    return 0;
}

/* The timed body of one repetition: prefill (n_prompt) or decode (n_gen)
 * after the depth already cached. */
static int speed_body(struct speed_ctx *c, const struct speed_result *r)
{
    return r->n_prompt > 0 ? speed_prefill(c, r->n_seq, r->n_depth, r->n_prompt)
                           : speed_decode(c, r->n_seq, r->n_depth, r->n_gen);
}

static int speed_measure(struct session *S, const struct options *opt, struct speed_result *r, FILE *log,
                         char *err, size_t errlen)
{
    struct speed_ctx c;
    int ctx = r->n_depth + (r->n_prompt > 0 ? r->n_prompt : r->n_gen);
    if (ctx > S->model.cfg.max_ctx && S->model.cfg.max_ctx > 0) {
        snprintf(err, errlen, "speed: %s @ d%d needs %d positions, over the model's context %d", r->test,
                 r->n_depth, ctx, S->model.cfg.max_ctx);
        return 2;
    }
    if (speed_ctx_init(&c, S, opt, r->n_seq, ctx, err, errlen) < 0) return 1;
    int rc = 0;
    bool tty = log && isatty(fileno(log));
    if (r->n_depth > 0 && speed_prefill(&c, r->n_seq, 0, r->n_depth) < 0) rc = -1;
    if (rc == 0 && speed_body(&c, r) < 0) rc = -1;        /* warm-up */
    for (int i = 0; rc == 0 && i < r->reps; i++) {
        if (log && tty) fprintf(log, "speed: %s %s, %d threads, %d seq: rep %d/%d\r", r->model_filename,
                                r->test, r->n_threads, r->n_seq, i + 1, r->reps);
        uint64_t t0 = now_ns();
        if (speed_body(&c, r) < 0) rc = -1;
        r->samples_ns[i] = (double)(now_ns() - t0);
        if (r->samples_ns[i] < 1) r->samples_ns[i] = 1;
    }
    if (log) fprintf(log, "speed: %s %s, %d threads, %d seq: %d reps done\n", r->model_filename, r->test,
                     r->n_threads, r->n_seq, r->reps);
    speed_ctx_free(&c);
    if (rc < 0) { snprintf(err, errlen, "speed: %s: the forward pass refused the batch", r->test); return 1; }
    speed_result_stats(r);
    return 0;
}

/* ---- output ---- */

static void speed_md_header(FILE *out, const struct speed_args *a, bool batched)
{
    fprintf(out, "| %-30s | %10s | %10s | %-10s | %7s |", "model", "size", "params", "backend", "threads");
    if (batched) fprintf(out, " %5s |", "n_seq");
    for (int i = 0; i < a->n_sets; i++) fprintf(out, " %10s |", option_def(a->sets[i].id)->name);
    fprintf(out, " %15s | %20s |\n", "test", "t/s");
    fprintf(out, "| ------------------------------ | ---------: | ---------: | ---------- | ------: |");
    if (batched) fprintf(out, " ----: |");
    for (int i = 0; i < a->n_sets; i++) fprintf(out, " ---------: |");
    fprintf(out, " --------------: | -------------------: |\n");
}

static void speed_md_row(FILE *out, const struct speed_args *a, bool batched, const struct speed_result *r)
{
    char ts[48];
    snprintf(ts, sizeof ts, "%.2f ± %.2f", r->avg_ts, r->stddev_ts);
    fprintf(out, "| %-30s | %6.2f MiB | %8.2f M | %-10s | %7d |", r->model_type, r->model_size / (1024.0 * 1024.0),
            r->model_n_params / 1e6, r->backend, r->n_threads);
    if (batched) fprintf(out, " %5d |", r->n_seq);
    for (int i = 0; i < a->n_sets; i++) fprintf(out, " %10s |", r->set_values[i]);
    fprintf(out, " %15s | %20s |\n", r->test, ts);
}

static void csv_text(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) { if (*s == '"') fputc('"', out); fputc(*s, out); }
    fputc('"', out);
}

static const char *const CSV_FIELDS =
    "cpu_info,backends,model_filename,model_type,model_size,model_n_params,n_threads,n_seq,n_prompt,n_gen,"
    "n_depth,test,avg_ns,stddev_ns,avg_ts,stddev_ts";

static void speed_csv_header(FILE *out, const struct speed_args *a)
{
    fputs(CSV_FIELDS, out);
    for (int i = 0; i < a->n_sets; i++) fprintf(out, ",%s", option_def(a->sets[i].id)->name);
    fputc('\n', out);
}

static void speed_csv_row(FILE *out, const struct speed_args *a, const struct speed_result *r)
{
    csv_text(out, r->cpu_info); fputc(',', out);
    csv_text(out, r->backend); fputc(',', out);
    csv_text(out, r->model_filename); fputc(',', out);
    csv_text(out, r->model_type);
    fprintf(out, ",%.0f,%.0f,%d,%d,%d,%d,%d,", r->model_size, r->model_n_params, r->n_threads, r->n_seq,
            r->n_prompt, r->n_gen, r->n_depth);
    csv_text(out, r->test);
    fprintf(out, ",%.0f,%.0f,%.6f,%.6f", r->avg_ns, r->stddev_ns, r->avg_ts, r->stddev_ts);
    for (int i = 0; i < a->n_sets; i++) { fputc(',', out); csv_text(out, r->set_values[i]); }
    fputc('\n', out);
}

static void json_text(FILE *out, const char *key, const char *s)
{
    fprintf(out, "\"%s\": \"", key);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(out, "\\%c", ch);
        else if (ch < 0x20) fprintf(out, "\\u%04x", ch);
        else fputc(ch, out);
    }
    fputc('"', out);
}

/* One object of the JSON array (llama-bench's -o json field names, plus
 * n_seq, test and options). Printed as it completes so a long sweep shows
 * results early; the array closes in speed_run. */
static void speed_json_row(FILE *out, const struct speed_args *a, const struct speed_result *r, bool first)
{
    fprintf(out, "%s  {", first ? "[\n" : ",\n");
    json_text(out, "cpu_info", r->cpu_info); fputs(", ", out);
    json_text(out, "backends", r->backend); fputs(", ", out);
    json_text(out, "model_filename", r->model_filename); fputs(", ", out);
    json_text(out, "model_type", r->model_type);
    fprintf(out, ", \"model_size\": %.0f, \"model_n_params\": %.0f, \"n_threads\": %d, \"n_seq\": %d, "
                 "\"n_prompt\": %d, \"n_gen\": %d, \"n_depth\": %d, ",
            r->model_size, r->model_n_params, r->n_threads, r->n_seq, r->n_prompt, r->n_gen, r->n_depth);
    json_text(out, "test", r->test);
    fputs(", \"options\": {", out);
    for (int i = 0; i < a->n_sets; i++) {
        if (i) fputs(", ", out);
        json_text(out, option_def(a->sets[i].id)->name, r->set_values[i]);
    }
    fprintf(out, "}, \"avg_ns\": %.0f, \"stddev_ns\": %.0f, \"avg_ts\": %.6f, \"stddev_ts\": %.6f, \"samples_ns\": [",
            r->avg_ns, r->stddev_ns, r->avg_ts, r->stddev_ts);
    for (int i = 0; i < r->reps; i++) fprintf(out, "%s%.0f", i ? ", " : "", r->samples_ns[i]);
    fputs("], \"samples_ts\": [", out);
    double tokens = (double)(r->n_prompt > 0 ? r->n_prompt : r->n_gen) * r->n_seq;
    for (int i = 0; i < r->reps; i++) fprintf(out, "%s%.6f", i ? ", " : "", tokens * 1e9 / r->samples_ns[i]);
    fputs("]}", out);
}

/* ---- the sweep ---- */

static double model_bytes(const struct model *m)
{
    double b = (double)weight_bytes(&m->tok_embd);
    if (!m->cfg.tied_output) b += (double)weight_bytes(&m->output);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const struct layer_weights *L = &m->layers[l];
        const struct weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (int i = 0; i < 7; i++) b += (double)weight_bytes(ws[i]);
        b += 2.0 * m->cfg.dim * sizeof(float);
    }
    return b + m->cfg.dim * sizeof(float);
}

static void cpu_model_name(char *out, size_t n)
{
    snprintf(out, n, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0) continue;
        const char *c = strchr(line, ':');
        if (!c) break;
        c++;
        while (*c == ' ' || *c == '\t') c++;
        snprintf(out, n, "%s", c);
        out[strcspn(out, "\n")] = 0;
        break;
    }
    fclose(f);
}

/* The fields of r that come from the session. */
static void speed_result_describe(struct speed_result *r, const struct session *S, const char *spec)
{
    const struct model_config *c = &S->model.cfg;
    const char *base = strrchr(spec, '/');
    snprintf(r->model_filename, sizeof r->model_filename, "%s", base ? base + 1 : spec);
    double params = model_param_count(c);
    snprintf(r->model_type, sizeof r->model_type, "%s %.0f%s %s", c->arch[0] ? c->arch : "llama",
             params >= 1e6 ? params / 1e6 : params / 1e3, params >= 1e6 ? "M" : "K", dtype_info(S->model.wtype)->name);
    snprintf(r->backend, sizeof r->backend, "%s", S->be->ops->name);
    cpu_model_name(r->cpu_info, sizeof r->cpu_info);
    r->model_size = model_bytes(&S->model);
    r->model_n_params = params;
    r->n_threads = S->be->n_threads;
}

struct speed_sweep {
    const struct speed_args *a;
    FILE *out, *log;
    bool batched, first;
    int done;
    char *err;
    size_t errlen;
};

static void speed_emit(struct speed_sweep *w, const struct speed_result *r)
{
    const struct speed_args *a = w->a;
    if (a->fmt == SPEED_MD) {
        if (w->first) speed_md_header(w->out, a, w->batched);
        speed_md_row(w->out, a, w->batched, r);
    } else if (a->fmt == SPEED_CSV) {
        if (w->first) speed_csv_header(w->out, a);
        speed_csv_row(w->out, a, r);
    } else {
        speed_json_row(w->out, a, r, w->first);
    }
    fflush(w->out);
    w->first = false;
    w->done++;
}

/* Every test of one session (model × option values × threads). */
static int speed_session_tests(struct speed_sweep *w, struct session *S, const struct options *opt,
                               const char *spec, const int *set_idx)
{
    const struct speed_args *a = w->a;
    static struct speed_result r;
    for (int bi = 0; bi < a->b.n; bi++)
        for (int di = 0; di < a->d.n; di++)
            for (int kind = 0; kind < 2; kind++) {
                const struct speed_list *l = kind ? &a->n : &a->p;
                for (int li = 0; li < l->n; li++) {
                    if (l->v[li] == 0) continue;
                    memset(&r, 0, sizeof r);
                    speed_result_describe(&r, S, spec);
                    for (int s = 0; s < a->n_sets; s++)
                        snprintf(r.set_values[s], SPEED_MAX_VALUE, "%s", a->sets[s].values[set_idx[s]]);
                    r.n_seq = a->b.v[bi];
                    r.n_depth = a->d.v[di];
                    r.n_prompt = kind ? 0 : l->v[li];
                    r.n_gen = kind ? l->v[li] : 0;
                    r.reps = a->reps;
                    int len = snprintf(r.test, sizeof r.test, "%s%d", kind ? "tg" : "pp", l->v[li]);
                    if (r.n_depth > 0) snprintf(r.test + len, sizeof r.test - (size_t)len, " @ d%d", r.n_depth);
                    int rc = speed_measure(S, opt, &r, w->log, w->err, w->errlen);
                    if (rc) return rc;
                    speed_emit(w, &r);
                }
            }
    return 0;
}

/* Next combination of --set value indices (odometer); false after the last. */
static bool speed_next_combo(const struct speed_args *a, int *idx)
{
    for (int s = a->n_sets - 1; s >= 0; s--) {
        if (++idx[s] < a->sets[s].n) return true;
        idx[s] = 0;
    }
    return false;
}

int speed_run(const struct speed_args *a, const struct options *base, FILE *out, FILE *log, char *err,
              size_t errlen)
{
    struct speed_sweep w = {.a = a, .out = out, .log = log, .first = true, .err = err, .errlen = errlen};
    for (int i = 0; i < a->b.n; i++) w.batched |= a->b.v[i] != 1;
    int rc = 0;
    for (int mi = 0; rc == 0 && mi < a->n_models; mi++) {
        int idx[SPEED_MAX_SETS] = {0};
        do {
            struct options opt = *base;
            for (int s = 0; s < a->n_sets; s++)
                if (options_set_id(&opt, a->sets[s].id, a->sets[s].values[idx[s]], err, errlen) < 0) return 2;
            for (int ti = 0; rc == 0 && ti < a->t.n; ti++) {
                char tv[16];
                snprintf(tv, sizeof tv, "%d", a->t.v[ti]);
                if (options_set_id(&opt, OPT_THREADS, tv, err, errlen) < 0) return 2;
                struct session S;
                rc = session_open(&S, a->models[mi], &opt, NULL, err, errlen);
                if (rc) break;
                rc = speed_session_tests(&w, &S, &opt, a->models[mi], idx);
                session_close(&S);
            }
        } while (rc == 0 && speed_next_combo(a, idx));
    }
    if (a->fmt == SPEED_JSON && w.done > 0) fputs("\n]\n", out);
    else if (a->fmt == SPEED_JSON && rc == 0) fputs("[]\n", out);
    return rc;
}
