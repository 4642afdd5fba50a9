/* core/model/model.c — presets, the seed's memory formulas, synthetic weights. */
#include "core/model/model.h"
#include "core/model/tokenizer.h"
#include "kernels/formats.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- presets ---- */

#define ROPE(theta) {theta, 0, 0, 0, 0}
static const struct model_preset PRESETS[] = {
    {"tiny", "4 layers, GQA 4:2 — for fast tests",
     {"tiny", "llama", 64, 4, 4, 2, 16, 176, 512, 512, 1e-5f, ROPE(10000), true}},
    {"tiny-mqa", "tiny with one KV head (MQA)",
     {"tiny-mqa", "llama", 64, 4, 4, 1, 16, 176, 512, 512, 1e-5f, ROPE(10000), false}},
    {"smollm2-135m", "SmolLM2-135M shapes: GQA 9:3, tied head",
     {"smollm2-135m", "llama", 576, 30, 9, 3, 64, 1536, 49152, 8192, 1e-5f, ROPE(100000), true}},
    {"llama2-7b", "Llama 2 7B shapes: MHA 32:32",
     {"llama2-7b", "llama", 4096, 32, 32, 32, 128, 11008, 32000, 4096, 1e-5f, ROPE(10000), false}},
    {"llama3-8b", "Llama 3 8B shapes: GQA 32:8, rope scaling",
     {"llama3-8b", "llama", 4096, 32, 32, 8, 128, 14336, 128256, 8192, 1e-5f,
      {500000, 8, 1, 4, 8192}, false}},
    {"llama2-70b", "Llama 2 70B shapes: GQA 64:8",
     {"llama2-70b", "llama", 8192, 80, 64, 8, 128, 28672, 32000, 4096, 1e-5f, ROPE(10000), false}},
};
#undef ROPE

const struct model_preset *model_presets(int *n)
{
    *n = (int)(sizeof PRESETS / sizeof PRESETS[0]);
    return PRESETS;
}

const struct model_preset *model_preset_find(const char *name)
{
    int n;
    const struct model_preset *p = model_presets(&n);
    for (int i = 0; i < n; i++)
        if (strcmp(p[i].name, name) == 0) return &p[i];
    return NULL;
}

/* ---- formulas ---- */

double model_kv_bytes_per_token(const struct model_config *c, double bytes_per_elem)
{
    return 2.0 * c->n_layers * c->n_kv_heads * c->head_dim * bytes_per_elem;
}

/* Matrix parameters per layer: q, o (dim × H·d), k, v (dim × Hkv·d), three MLP. */
static double layer_matrix_params(const struct model_config *c)
{
    double qd = (double)c->n_heads * c->head_dim, kvd = (double)c->n_kv_heads * c->head_dim;
    return 2.0 * c->dim * qd + 2.0 * c->dim * kvd + 3.0 * c->dim * c->ffn_dim;
}

double model_param_count(const struct model_config *c)
{
    double emb = (double)c->vocab * c->dim;
    return c->n_layers * (layer_matrix_params(c) + 2.0 * c->dim) + emb * (c->tied_output ? 1 : 2) + c->dim;
}

double model_weight_bytes(const struct model_config *c, enum dtype t)
{
    const struct dtype_info *di = dtype_info(t);
    double per = (double)di->block_bytes / di->block_elems;
    double matrices = c->n_layers * layer_matrix_params(c) + (double)c->vocab * c->dim * (c->tied_output ? 1 : 2);
    return matrices * per + 4.0 * (c->n_layers * 2.0 * c->dim + c->dim);
}

/* ---- synthetic weights ----
 * Each tensor row-chunk draws from its own splitmix64 stream seeded by
 * (model seed, tensor name, chunk), so the result is independent of thread
 * count and identical on every machine (integer RNG, exact float ops). */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t hash_str(uint64_t h, const char *s)
{
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

/* uniform in [-1, 1) with 24 random bits */
static float uniform_pm1(uint64_t *s)
{
    return (float)(int32_t)((splitmix64(s) >> 40) - (1u << 23)) * (1.0f / (1u << 23));
}

#define SYNTH_CHUNK_ROWS 64

struct synth_job {
    struct weight *w;
    float amp;               /* uniform amplitude: std * sqrt(3) */
    uint64_t seed;
    int chunk;
};

static void synth_fill_chunk(const struct synth_job *j)
{
    struct weight *w = j->w;
    int r0 = j->chunk * SYNTH_CHUNK_ROWS, r1 = r0 + SYNTH_CHUNK_ROWS;
    if (r1 > w->rows) r1 = w->rows;
    uint64_t s = j->seed ^ ((uint64_t)j->chunk * 0xd1342543de82ef95ull);
    size_t rb = dtype_row_bytes(w->type, w->cols);
    float *tmp = malloc((size_t)w->cols * sizeof *tmp);
    if (!tmp) abort();     /* one row: a few KiB */
    for (int r = r0; r < r1; r++) {
        for (int c = 0; c < w->cols; c++) tmp[c] = j->amp * uniform_pm1(&s);
        dtype_encode_row(w->type, tmp, (uint8_t *)w->data + (size_t)r * rb, w->cols);
    }
    free(tmp);
}

/* The format a matrix with `cols` inputs gets when `t` was asked for: block
 * formats need cols to be a multiple of their block, and fall back as
 * llama.cpp's quantizer does (K-quants to a 32-block format). */
enum dtype synth_matrix_type(enum dtype t, int cols)
{
    if (cols % dtype_info(t)->block_elems == 0) return t;
    enum dtype fb = t == DT_Q4_K ? DT_Q4_1 : t == DT_Q6_K ? DT_Q8_0 : DT_F32;
    return cols % dtype_info(fb)->block_elems == 0 ? fb : DT_F32;
}

struct synth_queue {
    struct synth_job *jobs;
    int n, next;
    pthread_mutex_t mu;
};

static void *synth_worker(void *arg)
{
    struct synth_queue *q = arg;
    for (;;) {
        pthread_mutex_lock(&q->mu);
        int i = q->next < q->n ? q->next++ : -1;
        pthread_mutex_unlock(&q->mu);
        if (i < 0) return NULL;
        synth_fill_chunk(&q->jobs[i]);
    }
}

/* Shape and format of one matrix; its data too unless the model is shapes only. */
static int synth_weight_init(struct model *m, struct weight *w, const char *name, int rows, int cols,
                             enum dtype t)
{
    memset(w, 0, sizeof *w);
    snprintf(w->name, sizeof w->name, "%s", name);
    w->type = synth_matrix_type(t, cols); w->rows = rows; w->cols = cols;
    if (m->shapes_only) return 0;
    w->data = malloc(weight_bytes(w));
    if (!w->data) return -1;
    m->owned_bytes += weight_bytes(w);
    return 0;
}

/* All matrices of the model, in a fixed order, with their init std. */
struct synth_plan { struct weight *w; float std; };

static int synth_collect(struct model *m, struct synth_plan *plan, enum dtype t)
{
    const struct model_config *c = &m->cfg;
    int n = 0, qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    float in = 1.0f / sqrtf((float)c->dim), resid = 1.0f / sqrtf(2.0f * c->n_layers);
    char name[48];
#define ADD(wp, nm, r, k, sd) do { \
        if (synth_weight_init(m, (wp), (nm), (r), (k), t) < 0) return -1; \
        plan[n].w = (wp); plan[n].std = (sd); n++; } while (0)
    ADD(&m->tok_embd, "token_embd.weight", c->vocab, c->dim, 1.0f);
    if (!c->tied_output) ADD(&m->output, "output.weight", c->vocab, c->dim, 3.0f * in);
    for (int l = 0; l < c->n_layers; l++) {
        struct layer_weights *L = &m->layers[l];
        snprintf(name, sizeof name, "blk.%d.attn_q.weight", l);      ADD(&L->wq, name, qd, c->dim, in);
        snprintf(name, sizeof name, "blk.%d.attn_k.weight", l);      ADD(&L->wk, name, kvd, c->dim, in);
        snprintf(name, sizeof name, "blk.%d.attn_v.weight", l);      ADD(&L->wv, name, kvd, c->dim, in);
        snprintf(name, sizeof name, "blk.%d.attn_output.weight", l);
        ADD(&L->wo, name, c->dim, qd, resid / sqrtf((float)qd));
        snprintf(name, sizeof name, "blk.%d.ffn_gate.weight", l);    ADD(&L->w_gate, name, c->ffn_dim, c->dim, in);
        snprintf(name, sizeof name, "blk.%d.ffn_up.weight", l);      ADD(&L->w_up, name, c->ffn_dim, c->dim, in);
        snprintf(name, sizeof name, "blk.%d.ffn_down.weight", l);
        ADD(&L->w_down, name, c->dim, c->ffn_dim, resid / sqrtf((float)c->ffn_dim));
    }
#undef ADD
    return n;
}

static float *synth_norm(struct model *m, int n, float base, uint64_t *s)
{
    float *w = malloc((size_t)n * sizeof *w);
    if (!w) return NULL;
    for (int i = 0; i < n; i++) w[i] = base * (1.0f + 0.1f * uniform_pm1(s));
    m->owned_bytes += (size_t)n * sizeof *w;
    return w;
}

static void synth_release(struct model *m)
{
    free(m->tok_embd.data);
    if (!m->cfg.tied_output) free(m->output.data);
    free(m->output_norm);
    for (int l = 0; m->layers && l < m->cfg.n_layers; l++) {
        struct layer_weights *L = &m->layers[l];
        struct weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) free(ws[i]->data);
        free(L->attn_norm);
        free(L->ffn_norm);
    }
    free(m->layers);
}

static int synth_run_jobs(struct synth_plan *plan, int n_plan, uint64_t seed, int n_threads)
{
    int n_jobs = 0;
    for (int i = 0; i < n_plan; i++) n_jobs += (plan[i].w->rows + SYNTH_CHUNK_ROWS - 1) / SYNTH_CHUNK_ROWS;
    struct synth_queue q = {calloc((size_t)n_jobs, sizeof(struct synth_job)), n_jobs, 0,
                            PTHREAD_MUTEX_INITIALIZER};
    if (!q.jobs) return -1;
    for (int i = 0, k = 0; i < n_plan; i++) {
        uint64_t ts = hash_str(seed * 0x9e3779b97f4a7c15ull + 0xcbf29ce484222325ull, plan[i].w->name);
        int chunks = (plan[i].w->rows + SYNTH_CHUNK_ROWS - 1) / SYNTH_CHUNK_ROWS;
        for (int c = 0; c < chunks; c++)
            q.jobs[k++] = (struct synth_job){plan[i].w, plan[i].std * sqrtf(3.0f), ts, c};
    }
    if (n_threads < 1) n_threads = 1;
    if (n_threads > 64) n_threads = 64;
    pthread_t th[64];
    int started = 0;
    for (; started < n_threads - 1; started++)
        if (pthread_create(&th[started], NULL, synth_worker, &q) != 0) break;
    synth_worker(&q);
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    free(q.jobs);
    return 0;
}

int model_synth(struct model *m, const struct model_config *cfg, enum dtype wtype, uint64_t seed,
                int n_threads, char *err, size_t errlen)
{
    return model_synth_flags(m, cfg, wtype, seed, n_threads, 0, err, errlen);
}

/* Shapes only: the matrices have their shapes and formats (synth_collect),
 * the norms stay NULL; nothing else is allocated. */
static int synth_shapes_only(struct model *m, char *err, size_t errlen)
{
    const struct model_config *cfg = &m->cfg;
    struct synth_plan *plan = calloc((size_t)(2 + 7 * cfg->n_layers), sizeof *plan);
    m->layers = calloc((size_t)cfg->n_layers, sizeof *m->layers);
    int n_plan = plan && m->layers ? synth_collect(m, plan, m->wtype) : -1;
    free(plan);
    if (n_plan < 0) {
        model_free(m);
        snprintf(err, errlen, "synth:%s: out of memory for the layer table", cfg->name);
        return -1;
    }
    m->owned_bytes = (size_t)cfg->n_layers * sizeof *m->layers;
    if (cfg->tied_output) m->output = m->tok_embd;
    snprintf(m->output.name, sizeof m->output.name, "output.weight");
    return 0;
}

int model_synth_flags(struct model *m, const struct model_config *cfg, enum dtype wtype, uint64_t seed,
                      int n_threads, unsigned flags, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->wtype = wtype;
    m->release = synth_release;
    m->shapes_only = (flags & MODEL_SHAPES_ONLY) != 0;
    snprintf(m->source, sizeof m->source, "synth:%s seed=%llu %s%s", cfg->name,
             (unsigned long long)seed, dtype_info(wtype)->name, m->shapes_only ? " shapes-only" : "");
    if (m->shapes_only) return synth_shapes_only(m, err, errlen);
    int n_plan_max = 2 + 7 * cfg->n_layers;
    struct synth_plan *plan = calloc((size_t)n_plan_max, sizeof *plan);
    m->layers = calloc((size_t)cfg->n_layers, sizeof *m->layers);
    if (m->layers) m->owned_bytes = (size_t)cfg->n_layers * sizeof *m->layers;
    int n_plan = plan && m->layers ? synth_collect(m, plan, wtype) : -1;
    if (n_plan < 0 || synth_run_jobs(plan, n_plan, seed, n_threads) < 0) {
        free(plan);
        model_free(m);
        snprintf(err, errlen, "synth:%s: out of memory for %.1f GB of weights", cfg->name,
                 model_weight_bytes(cfg, wtype) / 1e9);
        return -1;
    }
    free(plan);
    if (cfg->tied_output) m->output = m->tok_embd;
    snprintf(m->output.name, sizeof m->output.name, "output.weight");
    uint64_t s = seed ^ 0x6e6f726d73ull;   /* "norms" */
    /* tied head: logits = norm(x)·E with E ~ std 1, so the final norm carries
     * the 3/sqrt(dim) that keeps logits at std ~3. Random signs on it stop a
     * token's own embedding (still large in the residual stream of a random
     * model) from always winning: Σ e_i² w_i then averages out. */
    float out_scale = cfg->tied_output ? 3.0f / sqrtf((float)cfg->dim) : 1.0f;
    m->output_norm = synth_norm(m, cfg->dim, out_scale, &s);
    bool ok = m->output_norm != NULL;
    for (int i = 0; ok && cfg->tied_output && i < cfg->dim; i++)
        if (splitmix64(&s) & 1) m->output_norm[i] = -m->output_norm[i];
    for (int l = 0; l < cfg->n_layers && ok; l++) {
        m->layers[l].attn_norm = synth_norm(m, cfg->dim, 1.0f, &s);
        m->layers[l].ffn_norm = synth_norm(m, cfg->dim, 1.0f, &s);
        ok = m->layers[l].attn_norm && m->layers[l].ffn_norm;
    }
    if (!ok) {
        model_free(m);
        snprintf(err, errlen, "synth:%s: out of memory", cfg->name);
        return -1;
    }
    return 0;
}

int model_load_flags(struct model *m, const char *spec, enum dtype synth_wtype, uint64_t seed,
                     int n_threads, unsigned flags, char *err, size_t errlen)
{
    if (strncmp(spec, "synth:", 6) == 0) {
        const struct model_preset *p = model_preset_find(spec + 6);
        if (!p) {
            snprintf(err, errlen, "%s: unknown synthetic model (see `infertop models`)", spec);
            return -1;
        }
        return model_synth_flags(m, &p->cfg, synth_wtype, seed, n_threads, flags, err, errlen);
    }
    return model_load_gguf(m, spec, err, errlen);
}

int model_load(struct model *m, const char *spec, enum dtype synth_wtype, uint64_t seed,
               int n_threads, char *err, size_t errlen)
{
    return model_load_flags(m, spec, synth_wtype, seed, n_threads, 0, err, errlen);
}

void model_free(struct model *m)
{
    if (m->tok) tokenizer_free(m->tok);
    m->tok = NULL;
    if (m->release) m->release(m);
    memset(m, 0, sizeof *m);
}

int model_upload(struct model *m, struct backend *be)
{
    if (m->shapes_only) return -1;        /* nothing to copy: see forward_init's message */
    if (backend_upload_weight(be, &m->tok_embd) < 0) return -1;
    /* the same tensor: share the backend copy, in its format (a head pruned
     * or transformed on its own has its own bytes: upload it) */
    if (m->cfg.tied_output && m->output.data == m->tok_embd.data) {
        m->output.dev = m->tok_embd.dev;
        m->output.dev_type = m->tok_embd.dev_type;
    } else if (backend_upload_weight(be, &m->output) < 0) {
        return -1;
    }
    for (int l = 0; l < m->cfg.n_layers; l++) {
        struct layer_weights *L = &m->layers[l];
        struct weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++)
            if (backend_upload_weight(be, ws[i]) < 0) return -1;
    }
    return 0;
}
