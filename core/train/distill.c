/* core/train/distill.c — data from the teacher, the training loop, outputs. */
#include "core/train/distill.h"
#include "core/model/tokenizer.h"
#include "core/rng.h"
#include "core/train/train_ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Sequences the teacher continues together: each decode step is one forward
 * of GEN_GROUP rows, so the weights (and the AMX path's packed weight
 * groups) serve 64 tokens per pass. Prompts are prefilled in chunks of at
 * most PREFILL_ROWS rows (or one whole prompt), which bounds the logits
 * buffer: [max(PREFILL_ROWS, T)][vocab]. */
enum { GEN_GROUP = 64, PREFILL_ROWS = 1024 };

void distill_cfg_defaults(struct distill_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->batch = 4; c->seq_len = 64; c->topk = 64; c->tau = 1.0f; c->sample_temp = 1.0f;
    c->greedy_first = true; c->heldout_temp = 0.0f;
    c->opt = (struct adamw_cfg){.lr = 1e-3f, .min_lr = 1e-4f, .beta1 = 0.9f, .beta2 = 0.95f,
                                .eps = 1e-8f, .weight_decay = 0.01f, .clip = 1.0f, .warmup = 20};
    c->seed = 1; c->tokens = 16384; c->heldout_frac = 0.1; c->init = DISTILL_INIT_TRUNCATE;
    for (int i = 0; i < 64; i++) c->copy_layers[i] = -1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Default layer map: first and last teacher layers, the rest evenly between. */
static void default_layers(int *out, int n, int teacher_layers)
{
    for (int l = 0; l < n; l++)
        out[l] = n == 1 ? 0 : (int)((double)l * (teacher_layers - 1) / (n - 1) + 0.5);
}

int distill_init(struct distill *d, const struct distill_cfg *cfg, struct model *t, struct backend *be,
                 const char *shape, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    d->cfg = *cfg; d->teacher = t; d->be = be;
    struct model_config sc;
    if (student_shape(&sc, shape, &t->cfg, err, errlen) < 0) return -1;
    if (sc.n_layers > 64) { snprintf(err, errlen, "--student %s: %d layers: expected at most 64", shape, sc.n_layers); return -1; }
    if (cfg->batch < 1 || cfg->seq_len < 2 || cfg->seq_len > sc.max_ctx) {
        snprintf(err, errlen, "train.seq %d: expected 2..%d (the teacher's context)", cfg->seq_len, sc.max_ctx);
        return -1;
    }
    if (student_alloc(&d->st, &sc) < 0) { snprintf(err, errlen, "student: out of memory"); return -1; }
    if (cfg->init == DISTILL_INIT_RANDOM) {
        student_init_random(&d->st, cfg->seed);
    } else {
        int *L = d->cfg.copy_layers;
        if (L[0] < 0) default_layers(L, sc.n_layers, t->cfg.n_layers);
        if (student_init_truncate(&d->st, t, L, err, errlen) < 0) { distill_free(d); return -1; }
    }
    d->n_train = cfg->train_embd ? d->st.n_params : d->st.embd_off;
    d->grad = calloc(d->n_train, sizeof *d->grad);
    d->m = calloc(d->n_train, sizeof *d->m);
    d->v = calloc(d->n_train, sizeof *d->v);
    if (!d->grad || !d->m || !d->v ||
        student_acts_alloc(&d->acts, &sc, cfg->batch, cfg->seq_len) < 0) {
        distill_free(d);
        snprintf(err, errlen, "student: out of memory for %zu parameters", d->st.n_params);
        return -1;
    }
    int64_t per_step = (int64_t)cfg->batch * cfg->seq_len;
    d->total_steps = (int)((cfg->tokens + per_step - 1) / per_step);
    d->cfg.opt.total_steps = d->total_steps;
    return 0;
}

void distill_free(struct distill *d)
{
    student_free(&d->st);
    student_acts_free(&d->acts);
    free(d->grad); free(d->m); free(d->v);
    free(d->train_tok); free(d->held_tok);
    kl_targets_free(&d->train_t); kl_targets_free(&d->held_t);
    free(d->curve);
    memset(d, 0, sizeof *d);
}

/* ---- data --------------------------------------------------------------- */

struct teacher_run {
    struct forward fw;
    void *kbuf, *vbuf;
    int32_t table[GEN_GROUP];
    struct kv_view kv[GEN_GROUP];
    float *logits;            /* host [rows][vocab] */
    int rows;                 /* max(PREFILL_ROWS, T, GEN_GROUP): rows per forward call */
};

static int teacher_open(struct teacher_run *r, struct distill *d, char *err, size_t errlen)
{
    const struct model_config *c = &d->teacher->cfg;
    int T = d->cfg.seq_len, kvd = c->n_kv_heads * c->head_dim;
    memset(r, 0, sizeof *r);
    r->rows = T > PREFILL_ROWS ? T : PREFILL_ROWS;
    if (r->rows < GEN_GROUP) r->rows = GEN_GROUP;
    if (forward_init(&r->fw, d->teacher, d->be, r->rows, err, errlen) < 0) return -1;
    size_t layer = (size_t)GEN_GROUP * T * kvd, bytes = layer * c->n_layers * sizeof(float);
    r->kbuf = backend_alloc(d->be, bytes);
    r->vbuf = backend_alloc(d->be, bytes);
    r->logits = malloc((size_t)r->rows * c->vocab * sizeof(float));
    if (!r->kbuf || !r->vbuf || !r->logits) {
        snprintf(err, errlen, "teacher: out of memory for %d sequences of %d tokens", GEN_GROUP, T);
        return -1;
    }
    for (int s = 0; s < GEN_GROUP; s++) {
        r->table[s] = s;
        r->kv[s] = (struct kv_view){r->kbuf, r->vbuf, layer, &r->table[s], 1, T, kvd, DT_F32};
    }
    return 0;
}

static void teacher_close(struct teacher_run *r, struct distill *d)
{
    if (r->kbuf) backend_free(d->be, r->kbuf);
    if (r->vbuf) backend_free(d->be, r->vbuf);
    free(r->logits);
    forward_free(&r->fw);
}

static int32_t sample(const float *z, int vocab, float temp, struct rng *r)
{
    int best = 0;
    for (int j = 1; j < vocab; j++) if (z[j] > z[best]) best = j;
    if (!(temp > 0)) return best;
    double s = 0, u;
    for (int j = 0; j < vocab; j++) s += exp((z[j] - z[best]) / temp);
    u = rng_uniform(r) * s;
    for (int j = 0; j < vocab; j++) {
        u -= exp((z[j] - z[best]) / temp);
        if (u <= 0) return j;
    }
    return best;
}

/* kl_target_set for rows[i] ← logits row src[i], over the training threads
 * (one owner per row: the same bits at any thread count). */
struct tgt_job { struct kl_targets *tg; const float *logits; const size_t *dst; const size_t *src; int V; float tau; };

static void tgt_task(void *p, int i)
{
    const struct tgt_job *j = p;
    kl_target_set(j->tg, j->dst[i], j->logits + j->src[i] * (size_t)j->V, j->V, j->tau);
}

static void set_targets(struct distill *d, struct kl_targets *tg, const float *logits, const size_t *dst,
                        const size_t *src, int n)
{
    struct tgt_job j = {tg, logits, dst, src, d->teacher->cfg.vocab, d->cfg.tau};
    train_parallel(n, tgt_task, &j);
}

/* Teacher continuations of n (≤ GEN_GROUP) prompts to T tokens: toks[n][T],
 * targets rows t0 + s·T + i; sequence s samples at temp[s] (0: greedy). */
static int generate_group(struct distill *d, struct teacher_run *r, const int32_t *const *prompt,
                          const int *plen, const float *temp, int n, int32_t *toks, struct kl_targets *tg,
                          size_t t0, int first_index)
{
    int T = d->cfg.seq_len, V = d->teacher->cfg.vocab, len[GEN_GROUP];
    struct rng rg[GEN_GROUP];
    struct fwd_seq sq[GEN_GROUP];
    for (int s = 0; s < n; s++) {
        len[s] = plen[s] < T ? plen[s] : T;
        memcpy(toks + (size_t)s * T, prompt[s], (size_t)len[s] * sizeof *toks);
        rng_init_stream(&rg[s], d->cfg.seed, 0xda7a, (uint64_t)(first_index + s));
        sq[s] = (struct fwd_seq){toks + (size_t)s * T, len[s], 0, r->kv[s], true, false};
    }
    /* prefill in chunks of whole prompts, at most r->rows rows each; keep
     * each prompt's last distribution for its first sample */
    float *first = malloc((size_t)n * V * sizeof *first);
    size_t *dst = malloc((size_t)r->rows * sizeof *dst), *src = malloc((size_t)r->rows * sizeof *src);
    if (!first || !dst || !src) { free(first); free(dst); free(src); return -1; }
    int a = 0;
    while (a < n) {
        int b = a, rows = 0;
        while (b < n && (b == a || rows + len[b] <= r->rows)) rows += len[b++];
        if (forward_batch(&r->fw, sq + a, b - a, r->logits) < 0) break;
        for (int s = a, row = 0; s < b; row += len[s], s++) {
            for (int i = 0; i < len[s]; i++) { dst[row + i] = t0 + (size_t)s * T + i; src[row + i] = (size_t)(row + i); }
            memcpy(first + (size_t)s * V, r->logits + (size_t)(row + len[s] - 1) * V, (size_t)V * sizeof *first);
        }
        set_targets(d, tg, r->logits, dst, src, rows);
        a = b;
    }
    int rc = a < n ? -1 : 0;
    bool prefilled = true;
    int last[GEN_GROUP];
    for (int s = 0; s < n; s++) last[s] = s;
    while (rc == 0) {
        int m = 0, idx[GEN_GROUP];
        for (int s = 0; s < n; s++) {
            if (len[s] >= T) continue;
            int32_t *ts = toks + (size_t)s * T;
            ts[len[s]] = sample((prefilled ? first : r->logits) + (size_t)last[s] * V, V, temp[s], &rg[s]);
            sq[m] = (struct fwd_seq){ts + len[s], 1, len[s], r->kv[s], true, true};
            idx[m++] = s;
            len[s]++;
        }
        prefilled = false;
        if (m == 0) break;
        if (forward_batch(&r->fw, sq, m, r->logits) < 0) { rc = -1; break; }
        for (int j = 0; j < m; j++) {
            int s = idx[j];
            dst[j] = t0 + (size_t)s * T + len[s] - 1; src[j] = (size_t)j;
            last[s] = j;
        }
        set_targets(d, tg, r->logits, dst, src, m);
    }
    free(first); free(dst); free(src);
    return rc;
}

/* Windows of T tokens already known: one prefill each, all logits. */
static int score_group(struct distill *d, struct teacher_run *r, const int32_t *toks, int n,
                       struct kl_targets *tg, size_t t0)
{
    int T = d->cfg.seq_len, per = r->rows / T > 0 ? r->rows / T : 1;
    struct fwd_seq sq[GEN_GROUP];
    size_t *dst = malloc((size_t)per * T * sizeof *dst), *src = malloc((size_t)per * T * sizeof *src);
    int rc = dst && src ? 0 : -1;
    for (int a = 0; rc == 0 && a < n; a += per) {   /* at most r->rows rows per forward */
        int b = a + per < n ? a + per : n;
        for (int s = a; s < b; s++) sq[s - a] = (struct fwd_seq){toks + (size_t)s * T, T, 0, r->kv[s], true, false};
        if (forward_batch(&r->fw, sq, b - a, r->logits) < 0) { rc = -1; break; }
        for (size_t i = 0; i < (size_t)(b - a) * T; i++) { dst[i] = t0 + (size_t)a * T + i; src[i] = i; }
        set_targets(d, tg, r->logits, dst, src, (b - a) * T);
    }
    free(dst); free(src);
    return rc;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static int alloc_split(struct distill *d, int n_train, int n_held, char *err, size_t errlen)
{
    int T = d->cfg.seq_len, k = d->cfg.topk > 0 ? d->cfg.topk : d->teacher->cfg.vocab;
    if (k > d->teacher->cfg.vocab) k = d->teacher->cfg.vocab;
    d->n_train_seq = n_train; d->n_held_seq = n_held;
    d->train_tok = calloc((size_t)n_train * T, sizeof *d->train_tok);
    d->held_tok = calloc((size_t)n_held * T, sizeof *d->held_tok);
    double bytes = ((double)n_train + n_held) * T * k * 8.0;
    if (bytes > 8e9 || !d->train_tok || !d->held_tok ||
        kl_targets_alloc(&d->train_t, (size_t)n_train * T, k) < 0 ||
        kl_targets_alloc(&d->held_t, (size_t)n_held * T, k) < 0) {
        snprintf(err, errlen, "distill: out of memory for %.0f MB of teacher targets (lower train.topk "
                 "or train.data)", bytes / 1e6);
        return -1;
    }
    return 0;
}

static void finish_data(struct distill *d)
{
    size_t T = (size_t)d->cfg.seq_len;
    uint64_t h = 1469598103934665603ull;
    h = fnv(h, d->train_tok, (size_t)d->n_train_seq * T * sizeof(int32_t));
    h = fnv(h, d->held_tok, (size_t)d->n_held_seq * T * sizeof(int32_t));
    h = fnv(h, d->train_t.p, d->train_t.n * (size_t)d->train_t.k * sizeof(float));
    d->data_hash = h;
}

static void split_counts(const struct distill *d, int64_t avail_seqs, int *n_train, int *n_held)
{
    int B = d->cfg.batch, T = d->cfg.seq_len;
    int64_t want = d->cfg.data_tokens > 0 ? d->cfg.data_tokens
                   : (d->cfg.tokens < 32768 ? d->cfg.tokens : 32768);
    int64_t tr = (want + T - 1) / T;
    if (tr < B) tr = B;
    int64_t he = (int64_t)ceil(tr * d->cfg.heldout_frac / B) * B;
    if (he < B) he = B;
    if (avail_seqs > 0 && tr + he > avail_seqs) {
        he = (int64_t)ceil(avail_seqs * d->cfg.heldout_frac / B) * B;
        if (he < B) he = B;
        tr = avail_seqs - he;
    }
    *n_train = (int)tr; *n_held = (int)he;
}

/* Prompt → ids (bytes mod vocab without a tokenizer), at most cap. */
static int encode_prompt(const struct model *m, const char *text, int32_t *out, int cap)
{
    if (!m->tok) {
        int n = 0;
        for (; text[n] && n < cap; n++) out[n] = (int32_t)((unsigned char)text[n] % m->cfg.vocab);
        if (n == 0) { out[0] = 0; n = 1; }
        return n;
    }
    int n = tokenizer_encode(m->tok, text, strlen(text), tokenizer_add_bos(m->tok), false, out, cap);
    if (n <= 0) { out[0] = tokenizer_bos(m->tok) >= 0 ? tokenizer_bos(m->tok) : 0; n = 1; }
    return n < cap ? n : cap;
}

/* n_seq continuations of prompts[p0 .. p0+np), cycling: pass 0 over the
 * prompts at temp0, later passes at temp. */
static int gen_split(struct distill *d, struct teacher_run *r, const char *const *prompts, int p0, int np,
                     int n_seq, float temp0, float temp, int32_t *toks, struct kl_targets *tg, int index0,
                     FILE *progress, const char *what)
{
    int T = d->cfg.seq_len;
    int32_t *pbuf = malloc((size_t)GEN_GROUP * T * sizeof *pbuf);
    if (!pbuf) return -1;
    double t0 = now_s();
    for (int s = 0; s < n_seq; s += GEN_GROUP) {
        int n = n_seq - s < GEN_GROUP ? n_seq - s : GEN_GROUP, plen[GEN_GROUP];
        const int32_t *pp[GEN_GROUP];
        float tj[GEN_GROUP];
        for (int j = 0; j < n; j++) {
            plen[j] = encode_prompt(d->teacher, prompts[p0 + (s + j) % np], pbuf + (size_t)j * T, T);
            pp[j] = pbuf + (size_t)j * T;
            tj[j] = (s + j) < np ? temp0 : temp;
        }
        if (generate_group(d, r, pp, plen, tj, n, toks + (size_t)s * T, tg, (size_t)s * T, index0 + s) < 0) {
            free(pbuf);
            return -1;
        }
        if (progress) {
            double el = now_s() - t0;
            fprintf(progress, "\rdistill: teacher %s data %d/%d sequences (%.0f tok/s)", what, s + n, n_seq,
                    (s + n) * (double)T / (el > 0 ? el : 1e-9));
            fflush(progress);
        }
    }
    if (progress) fputc('\n', progress);
    free(pbuf);
    return 0;
}

int distill_data_prompts(struct distill *d, const char *const *prompts, int n_prompts, FILE *progress,
                         char *err, size_t errlen)
{
    if (n_prompts < 2) { snprintf(err, errlen, "prompts: %d: expected at least 2 (one held out)", n_prompts); return -1; }
    int n_held_p = (int)ceil(n_prompts * d->cfg.heldout_frac);
    if (n_held_p < 1) n_held_p = 1;
    int n_train, n_held, B = d->cfg.batch;
    split_counts(d, 0, &n_train, &n_held);
    /* greedy held-out: a repeat of a prompt is the same sequence, so one per
     * prompt (rounded up to whole batches) */
    if (!(d->cfg.heldout_temp > 0)) n_held = (n_held_p + B - 1) / B * B;
    struct teacher_run r;
    if (alloc_split(d, n_train, n_held, err, errlen) < 0) return -1;
    if (teacher_open(&r, d, err, errlen) < 0) { teacher_close(&r, d); return -1; }
    float t = d->cfg.sample_temp, ht = d->cfg.heldout_temp;
    int rc = gen_split(d, &r, prompts, 0, n_prompts - n_held_p, n_train, d->cfg.greedy_first ? 0.0f : t, t,
                       d->train_tok, &d->train_t, 0, progress, "train");
    if (rc == 0)
        rc = gen_split(d, &r, prompts, n_prompts - n_held_p, n_held_p, n_held, ht, ht, d->held_tok,
                       &d->held_t, n_train, progress, "held-out");
    teacher_close(&r, d);
    if (rc < 0) { snprintf(err, errlen, "teacher: forward failed"); return -1; }
    finish_data(d);
    return 0;
}

int distill_data_tokens(struct distill *d, const int32_t *ids, int64_t n, FILE *progress,
                        char *err, size_t errlen)
{
    int T = d->cfg.seq_len;
    int64_t windows = n / T;
    if (errlen) *err = '\0';
    if (windows < 2) {
        snprintf(err, errlen, "text: %lld tokens: expected at least %d (two windows of train.seq)",
                 (long long)n, 2 * T);
        return -1;
    }
    int n_train, n_held;
    split_counts(d, windows, &n_train, &n_held);
    if (n_train < 1) { snprintf(err, errlen, "text: too short for a train and a held-out split"); return -1; }
    if (alloc_split(d, n_train, n_held, err, errlen) < 0) return -1;
    memcpy(d->train_tok, ids, (size_t)n_train * T * sizeof *ids);
    memcpy(d->held_tok, ids + (windows - n_held) * T, (size_t)n_held * T * sizeof *ids);
    struct teacher_run r;
    int rc = teacher_open(&r, d, err, errlen);
    double t0 = now_s();
    for (int split = 0; split < 2; split++) {
        int total = split ? n_held : n_train;
        int32_t *toks = split ? d->held_tok : d->train_tok;
        struct kl_targets *tg = split ? &d->held_t : &d->train_t;
        for (int s = 0; rc == 0 && s < total; s += GEN_GROUP) {
            int m = total - s < GEN_GROUP ? total - s : GEN_GROUP;
            rc = score_group(d, &r, toks + (size_t)s * T, m, tg, (size_t)s * T);
            if (progress) {
                int done = (split ? n_train : 0) + s + m;
                fprintf(progress, "\rdistill: teacher scored %d/%d windows (%.0f tok/s)", done,
                        n_train + n_held, done * (double)T / (now_s() - t0 + 1e-9));
                fflush(progress);
            }
        }
    }
    if (progress) fputc('\n', progress);
    teacher_close(&r, d);
    if (rc < 0) {
        if (!*err) snprintf(err, errlen, "teacher: forward failed");
        return -1;
    }
    finish_data(d);
    return 0;
}

/* ---- loss and steps ----------------------------------------------------- */

struct kl_job {
    struct distill *d;
    const struct kl_targets *tg;
    const int *seq;           /* [B] sequence index of each batch row */
    double *kl;               /* [N] */
    unsigned char *top1;      /* [N]: student argmax == teacher's most likely token */
    bool grad;
};

static void kl_task(void *p, int n)
{
    struct kl_job *j = p;
    struct distill *d = j->d;
    int T = d->cfg.seq_len, V = d->st.cfg.vocab;
    size_t ti = (size_t)j->seq[n / T] * T + n % T;
    float *dz = j->grad ? d->acts.dlogits + (size_t)n * V : NULL;
    const float *z = d->acts.logits + (size_t)n * V;
    j->kl[n] = kl_position(j->tg, ti, z, V, d->cfg.tau, dz, 1.0f / (float)d->acts.N);
    int best = 0;
    for (int v = 1; v < V; v++) if (z[v] > z[best]) best = v;
    j->top1[n] = best == j->tg->ids[ti * (size_t)j->tg->k];
}

/* Forward of batch `seq` from `toks`; mean KL (not τ²-scaled) over its positions. */
static double batch_kl(struct distill *d, const int32_t *toks, const struct kl_targets *tg, const int *seq,
                       bool grad, int *top1)
{
    int B = d->cfg.batch, T = d->cfg.seq_len, N = d->acts.N;
    int32_t *bt = malloc((size_t)N * sizeof *bt);
    double *kl = malloc((size_t)N * sizeof *kl), sum = 0;
    unsigned char *hit = malloc((size_t)N);
    if (!bt || !kl || !hit) { free(bt); free(kl); free(hit); return NAN; }
    for (int b = 0; b < B; b++) memcpy(bt + (size_t)b * T, toks + (size_t)seq[b] * T, (size_t)T * sizeof *bt);
    student_forward(&d->st, &d->acts, bt);
    struct kl_job j = {d, tg, seq, kl, hit, grad};
    train_parallel(N, kl_task, &j);
    for (int n = 0; n < N; n++) { sum += kl[n]; if (top1) *top1 += hit[n]; }
    free(bt); free(kl); free(hit);
    return sum / N;
}

double distill_heldout_kl(struct distill *d)
{
    int B = d->cfg.batch, seq[64];
    double sum = 0;
    int batches = d->n_held_seq / B, top1 = 0;
    for (int i = 0; i < batches; i++) {
        for (int b = 0; b < B; b++) seq[b] = i * B + b;
        sum += batch_kl(d, d->held_tok, &d->held_t, seq, false, &top1);
    }
    d->top1_last = batches ? (double)top1 / ((double)batches * d->acts.N) : NAN;
    return batches ? sum / batches : NAN;
}

/* Sequence of batch slot i (counting over the whole run): epoch-wise shuffles. */
static int batch_seq(const struct distill *d, int64_t i)
{
    int n = d->n_train_seq;
    int64_t epoch = i / n, at = i % n;
    struct rng r;
    rng_init_stream(&r, d->cfg.seed, 0x5e9, (uint64_t)epoch);
    /* the at-th element of a Fisher–Yates shuffle of 0..n-1 */
    int *perm = malloc((size_t)n * sizeof *perm), v;
    if (!perm) return (int)at;
    for (int k = 0; k < n; k++) perm[k] = k;
    for (int k = n - 1; k > 0; k--) {
        int j = (int)rng_below(&r, (uint64_t)k + 1), t = perm[k];
        perm[k] = perm[j]; perm[j] = t;
    }
    v = perm[at];
    free(perm);
    return v;
}

static void apply_adamw(struct distill *d, int t, double lr)
{
    const struct student *s = &d->st;
    double wd = d->cfg.opt.weight_decay;
    for (int l = 0; l < s->cfg.n_layers; l++)
        for (int i = 0; i < ST_PER_LAYER; i++) {
            size_t off = (size_t)l * s->layer_size + s->layer_off[i];
            size_t n = (i + 1 < ST_PER_LAYER ? s->layer_off[i + 1] : s->layer_size) - s->layer_off[i];
            bool norm = i == ST_ATTN_NORM || i == ST_FFN_NORM;
            adamw_update(s->p + off, d->grad + off, d->m + off, d->v + off, n, &d->cfg.opt, t, lr,
                         norm ? 0 : wd);
        }
    size_t o = s->out_norm_off;
    adamw_update(s->p + o, d->grad + o, d->m + o, d->v + o, (size_t)s->cfg.dim, &d->cfg.opt, t, lr, 0);
    if (d->cfg.train_embd)
        adamw_update(s->p + s->embd_off, d->grad + s->embd_off, d->m + s->embd_off, d->v + s->embd_off,
                     (size_t)s->cfg.vocab * s->cfg.dim, &d->cfg.opt, t, lr, wd);
}

double distill_step(struct distill *d)
{
    int B = d->cfg.batch, seq[64];
    for (int b = 0; b < B; b++) seq[b] = batch_seq(d, (int64_t)d->step * B + b);
    double kl = batch_kl(d, d->train_tok, &d->train_t, seq, true, NULL);
    memset(d->grad, 0, d->n_train * sizeof *d->grad);
    student_backward(&d->st, &d->acts, d->grad, d->cfg.train_embd);
    double norm = grad_norm(d->grad, d->n_train);
    grad_clip(d->grad, d->n_train, norm, d->cfg.opt.clip);
    int t = d->step + 1;
    apply_adamw(d, t, adamw_lr(&d->cfg.opt, t));
    d->step = t;
    d->tokens_seen += (uint64_t)B * d->cfg.seq_len;
    return kl * d->cfg.tau * d->cfg.tau;
}

static void add_point(struct distill *d, const struct distill_point *p)
{
    if (d->n_curve == d->cap_curve) {
        int cap = d->cap_curve ? 2 * d->cap_curve : 64;
        struct distill_point *np = realloc(d->curve, (size_t)cap * sizeof *np);
        if (!np) return;
        d->curve = np; d->cap_curve = cap;
    }
    d->curve[d->n_curve++] = *p;
}

int distill_train(struct distill *d, volatile sig_atomic_t *stop, distill_progress_fn fn,
                  int (*ckpt)(struct distill *d, void *ctx), void *ctx)
{
    int every = d->cfg.eval_every > 0 ? d->cfg.eval_every : (d->total_steps + 9) / 10;
    if (every < 1) every = 1;
    if (d->step == 0) {
        d->kl_before = d->kl_last = distill_heldout_kl(d);
        d->top1_before = d->top1_last;
        struct distill_point p0 = {0, NAN, (float)d->kl_before, 0};
        add_point(d, &p0);
        if (fn) fn(d, &p0, true, ctx);
    }
    while (d->step < d->total_steps) {
        if (stop && *stop) return 1;
        double t0 = now_s();
        double loss = distill_step(d);
        double dt = now_s() - t0;
        d->train_s += dt;
        bool eval = d->step % every == 0 || d->step == d->total_steps;
        if (eval) d->kl_last = distill_heldout_kl(d);
        struct distill_point p = {d->step, (float)loss, eval ? (float)d->kl_last : NAN,
                                  (float)(d->cfg.batch * d->cfg.seq_len / (dt > 0 ? dt : 1e-9))};
        add_point(d, &p);
        if (fn) fn(d, &p, eval, ctx);
        if (ckpt && d->cfg.ckpt_every > 0 && d->step % d->cfg.ckpt_every == 0 && d->step < d->total_steps)
            ckpt(d, ctx);
    }
    return 0;
}
