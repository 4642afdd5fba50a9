/* core/model/model_gguf.c — a Llama-architecture GGUF file → struct model.
 *
 * Weights are not copied: each struct weight points into the read-only
 * mapping that gguf_open made, and the model keeps the gguf_file open until
 * m->release. Only norms stored as f16/bf16 are converted into owned f32
 * buffers (GGUF writers normally store norms as f32, which are used in place).
 *
 * GGUF dims are ggml's: ne[0] is the contiguous dimension, so a matrix
 * W[rows][cols] (y = x·Wᵀ) has ne = {cols, rows}: ne[0] = input features.
 *
 * Checked at load, beyond shapes and types: every blk.N tensor must belong to
 * a layer llama.block_count covers (a count smaller than the file's layers
 * would silently run a truncated model), and every norm plus the first row of
 * every matrix must be finite (a NaN/Inf weight file would run and print
 * garbage; one row per matrix keeps the check cheap on a mapped file).
 *
 * Rope scaling: none, or Llama 3 ("llama3") frequency scaling, given either
 * by llama.rope.scaling.{type,factor,low_freq_factor,high_freq_factor,
 * original_context_length} keys or by a rope_freqs.weight tensor (what
 * llama.cpp's converter writes for Llama 3.1+). A rope_freqs tensor must match
 * the Llama 3 formula for the parameters found (defaults: low 1, high 4,
 * original context 8192; factor = the table's largest entry); other scaling
 * types (linear, yarn, longrope) are rejected. */
#include "core/model/gguf.h"
#include "core/model/model.h"
#include "core/model/tokenizer.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What model.owner points to for a GGUF model. */
struct gguf_owner {
    struct gguf_file *file;
    float **owned;             /* converted norms, [n_owned] */
    int n_owned, cap_owned;
};

struct loader {
    struct model *m;
    struct gguf_file *f;
    struct gguf_owner *own;
    const char *path;
    char *err;
    size_t errlen;
    int type_count[DT_COUNT];  /* matrices per dtype, for m->wtype */
};

static bool fail(struct loader *L, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(struct loader *L, const char *field, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (L->err && L->errlen) snprintf(L->err, L->errlen, "%s: %s: %s", L->path, field, msg);
    return false;
}

/* ---- hyperparameters ---------------------------------------------------- */

/* An integer key in 1..max. Absent → *out = dflt when dflt > 0, else an error. */
static bool get_count(struct loader *L, const char *key, int dflt, int max, int *out)
{
    int64_t v;
    int64_t i = gguf_find_key(L->f, key);
    if (i < 0) {
        if (dflt > 0) { *out = dflt; return true; }
        return fail(L, key, "missing: expected an integer");
    }
    if (gguf_kv_type(L->f, i) == GGUF_ARRAY)
        return fail(L, key, "per-layer array: expected one integer for all layers");
    if (!gguf_get_i64(L->f, key, &v)) return fail(L, key, "expected an integer");
    if (v < 1 || v > max) return fail(L, key, "%lld: expected 1..%d", (long long)v, max);
    *out = (int)v;
    return true;
}

/* A float key; absent → dflt when has_dflt, else an error. Must be finite and > 0. */
static bool get_positive(struct loader *L, const char *key, bool has_dflt, float dflt, float *out)
{
    if (gguf_find_key(L->f, key) < 0) {
        if (has_dflt) { *out = dflt; return true; }
        return fail(L, key, "missing: expected a float");
    }
    float v;
    if (!gguf_get_f32(L->f, key, &v)) return fail(L, key, "expected a float");
    if (!(v > 0) || !isfinite(v)) return fail(L, key, "%g: expected a finite value > 0", v);
    *out = v;
    return true;
}

static bool check_arch(struct loader *L)
{
    const char *a;
    size_t n;
    if (gguf_find_key(L->f, "general.architecture") < 0)
        return fail(L, "general.architecture", "missing: expected \"llama\"");
    if (!gguf_get_str(L->f, "general.architecture", &a, &n))
        return fail(L, "general.architecture", "not a string: expected \"llama\"");
    /* compare all n bytes: "llama\0x" (an embedded NUL) is not llama */
    if (n != 5 || memcmp(a, "llama", 5) != 0) {
        char shown[40];
        size_t k = 0;
        for (; k < n && k < sizeof shown - 1; k++)
            shown[k] = (a[k] >= 0x20 && a[k] < 0x7f) ? a[k] : '?';
        shown[k] = '\0';
        return fail(L, "general.architecture", "\"%s\": expected \"llama\"", shown);
    }
    snprintf(L->m->cfg.arch, sizeof L->m->cfg.arch, "llama");
    return true;
}

static void set_name(struct loader *L)
{
    const char *s, *base = strrchr(L->path, '/');
    size_t n;
    if (gguf_get_str(L->f, "general.name", &s, &n) && n > 0)
        snprintf(L->m->cfg.name, sizeof L->m->cfg.name, "%s", s);
    else
        snprintf(L->m->cfg.name, sizeof L->m->cfg.name, "%s", base ? base + 1 : L->path);
    for (char *c = L->m->cfg.name; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
}

static bool read_shape(struct loader *L)
{
    struct model_config *c = &L->m->cfg;
    enum { MAXD = 1 << 20 };
    if (!get_count(L, "llama.embedding_length", 0, MAXD, &c->dim) ||
        !get_count(L, "llama.block_count", 0, 4096, &c->n_layers) ||
        !get_count(L, "llama.attention.head_count", 0, 4096, &c->n_heads) ||
        !get_count(L, "llama.attention.head_count_kv", c->n_heads, 4096, &c->n_kv_heads) ||
        !get_count(L, "llama.feed_forward_length", 0, MAXD, &c->ffn_dim) ||
        !get_count(L, "llama.context_length", 0, 1 << 30, &c->max_ctx) ||
        !get_positive(L, "llama.attention.layer_norm_rms_epsilon", false, 0, &c->norm_eps))
        return false;
    if (c->dim % c->n_heads)
        return fail(L, "llama.attention.head_count", "%d: expected a divisor of embedding_length %d",
                    c->n_heads, c->dim);
    c->head_dim = c->dim / c->n_heads;
    if (c->n_heads % c->n_kv_heads)
        return fail(L, "llama.attention.head_count_kv", "%d: expected a divisor of head_count %d",
                    c->n_kv_heads, c->n_heads);
    if (c->head_dim % 2)
        return fail(L, "llama.embedding_length", "head_dim %d: expected an even number",
                    c->head_dim);
    int kl = 0;
    if (!get_count(L, "llama.attention.key_length", c->head_dim, MAXD, &kl)) return false;
    if (kl != c->head_dim)
        return fail(L, "llama.attention.key_length", "%d: expected embedding_length/head_count = %d",
                    kl, c->head_dim);
    int rd = 0;
    if (!get_count(L, "llama.rope.dimension_count", c->head_dim, MAXD, &rd)) return false;
    if (rd != c->head_dim)
        return fail(L, "llama.rope.dimension_count", "%d: expected head_dim %d (partial rotary "
                    "is not supported)", rd, c->head_dim);
    return get_positive(L, "llama.rope.freq_base", true, 10000.f, &c->rope.theta);
}

/* ---- rope scaling ------------------------------------------------------- */

/* Llama 3 per-frequency divisor for pair i of a head of size d. */
static double llama3_freq_factor(const struct rope_params *rp, int i, int d)
{
    const double pi = 3.14159265358979323846;
    double freq = pow(rp->theta, -2.0 * i / d), wavelen = 2 * pi / freq;
    double lo_wl = rp->orig_ctx / rp->low_freq_factor, hi_wl = rp->orig_ctx / rp->high_freq_factor;
    if (wavelen < hi_wl) return 1.0;
    if (wavelen > lo_wl) return rp->factor;
    double smooth = (rp->orig_ctx / wavelen - rp->low_freq_factor) /
                    (rp->high_freq_factor - rp->low_freq_factor);
    return 1.0 / ((1 - smooth) / rp->factor + smooth);
}

static bool read_llama3_params(struct loader *L, bool need_factor)
{
    struct rope_params *rp = &L->m->cfg.rope;
    int orig = 0;
    if (need_factor &&
        !get_positive(L, "llama.rope.scaling.factor", false, 0, &rp->factor))
        return false;
    if (!get_positive(L, "llama.rope.scaling.low_freq_factor", true, 1.f, &rp->low_freq_factor) ||
        !get_positive(L, "llama.rope.scaling.high_freq_factor", true, 4.f, &rp->high_freq_factor) ||
        !get_count(L, "llama.rope.scaling.original_context_length", 8192, 1 << 30, &orig))
        return false;
    rp->orig_ctx = orig;
    if (!(rp->high_freq_factor > rp->low_freq_factor))
        return fail(L, "llama.rope.scaling.high_freq_factor",
                    "%g: expected more than low_freq_factor %g", rp->high_freq_factor,
                    rp->low_freq_factor);
    return true;
}

/* rope_freqs.weight: [head_dim/2] f32 divisors. Fit and verify Llama 3 params. */
static bool read_rope_freqs(struct loader *L, const struct gguf_tensor *t)
{
    struct rope_params *rp = &L->m->cfg.rope;
    int half = L->m->cfg.head_dim / 2;
    if (t->ggml_type != 0 || t->n_dims != 1 || t->ne[0] != (uint64_t)half)
        return fail(L, "tensor 'rope_freqs.weight'", "expected f32 [%d] (head_dim/2)", half);
    float mx = 0;
    for (int i = 0; i < half; i++) {
        float v;
        memcpy(&v, (const char *)t->data + 4 * i, 4);
        if (!(v >= 1.f) || !isfinite(v))
            return fail(L, "tensor 'rope_freqs.weight'", "entry %d is %g: expected >= 1", i, v);
        if (v > mx) mx = v;
    }
    if (mx == 1.f) return true;                    /* all ones: no scaling */
    rp->factor = mx;
    if (!read_llama3_params(L, false)) return false;
    for (int i = 0; i < half; i++) {
        float v;
        memcpy(&v, (const char *)t->data + 4 * i, 4);
        double want = llama3_freq_factor(rp, i, L->m->cfg.head_dim);
        if (fabs(v - want) > 1e-3 * want)
            return fail(L, "tensor 'rope_freqs.weight'", "entry %d is %g, Llama 3 scaling (factor "
                        "%g, low %g, high %g, original context %d) gives %g: expected Llama 3 "
                        "rope scaling", i, v, rp->factor, rp->low_freq_factor,
                        rp->high_freq_factor, rp->orig_ctx, want);
    }
    return true;
}

static bool read_rope_scaling(struct loader *L)
{
    const char *type = NULL;
    if (gguf_find_key(L->f, "llama.rope.scaling.type") >= 0 &&
        !gguf_get_str(L->f, "llama.rope.scaling.type", &type, NULL))
        return fail(L, "llama.rope.scaling.type", "expected a string");
    const struct gguf_tensor *t = gguf_find_tensor(L->f, "rope_freqs.weight");
    if (type && strcmp(type, "none") != 0 && strcmp(type, "llama3") != 0)
        return fail(L, "llama.rope.scaling.type", "\"%.32s\" is not supported: expected \"none\" "
                    "or \"llama3\"", type);
    if (t) return read_rope_freqs(L, t);
    if (type && strcmp(type, "llama3") == 0) return read_llama3_params(L, true);
    return true;
}

/* ---- tensors ------------------------------------------------------------ */

static bool check_dims(struct loader *L, const struct gguf_tensor *t, uint64_t ne0, uint64_t ne1)
{
    char field[80];
    snprintf(field, sizeof field, "tensor '%s'", t->name);
    if (t->ne[0] != ne0 || t->ne[1] != ne1 || t->ne[2] != 1 || t->ne[3] != 1)
        return fail(L, field, "shape [%llu, %llu, %llu, %llu]: expected [%llu, %llu] (ne[0] = "
                    "input dim)", (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
                    (unsigned long long)t->ne[2], (unsigned long long)t->ne[3],
                    (unsigned long long)ne0, (unsigned long long)ne1);
    return true;
}

static const struct gguf_tensor *need_tensor(struct loader *L, const char *name)
{
    const struct gguf_tensor *t = gguf_find_tensor(L->f, name);
    if (!t) {
        char field[80];
        snprintf(field, sizeof field, "tensor '%s'", name);
        fail(L, field, "missing: expected it in a llama model");
    }
    return t;
}

static bool unsupported_type(struct loader *L, const struct gguf_tensor *t, const char *allowed)
{
    char field[80];
    const char *tn = gguf_ggml_type_name(t->ggml_type);
    snprintf(field, sizeof field, "tensor '%s'", t->name);
    return fail(L, field, "type %s (ggml id %d) is unsupported: expected %s", tn ? tn : "?",
                t->ggml_type, allowed);
}

/* Row 0 of w decoded must be finite (one row: cheap, and a wholesale NaN/Inf
 * file or a broken block scale shows there). */
static bool check_first_row(struct loader *L, const struct weight *w)
{
    float *row = malloc((size_t)w->cols * sizeof *row);
    if (!row) return fail(L, w->name, "out of memory for %d floats", w->cols);
    dtype_decode_row(w->type, w->data, row, w->cols);
    int bad = -1;
    for (int i = 0; i < w->cols && bad < 0; i++)
        if (!isfinite(row[i])) bad = i;
    float v = bad >= 0 ? row[bad] : 0;
    free(row);
    if (bad < 0) return true;
    char field[80];
    snprintf(field, sizeof field, "tensor '%s'", w->name);
    return fail(L, field, "row 0 element %d is %g: expected finite weights", bad, v);
}

static bool check_norm_finite(struct loader *L, const char *name, const float *v, int n)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(v[i])) {
            char field[80];
            snprintf(field, sizeof field, "tensor '%s'", name);
            return fail(L, field, "element %d is %g: expected finite weights", i, v[i]);
        }
    return true;
}

/* blk.N.* tensors with N >= llama.block_count: the count does not cover the file. */
static bool check_layer_tensors(struct loader *L)
{
    int n_layers = L->m->cfg.n_layers, top = -1;
    const char *example = NULL;
    for (int64_t i = 0; i < gguf_n_tensors(L->f); i++) {
        const struct gguf_tensor *t = gguf_tensor(L->f, i);
        long l;
        char *end;
        if (strncmp(t->name, "blk.", 4) != 0) continue;
        l = strtol(t->name + 4, &end, 10);
        if (end == t->name + 4 || *end != '.' || l < 0) continue;
        if (l >= n_layers && l > top) { top = (int)l; example = t->name; }
    }
    if (top < 0) return true;
    return fail(L, "llama.block_count", "%d: expected the file's layer count, %d (it has tensor '%.48s')",
                n_layers, top + 1, example);
}

/* A matrix named `name` with `rows` outputs and `cols` inputs: ne = {cols, rows}. */
static bool load_matrix(struct loader *L, const char *name, int rows, int cols, struct weight *w)
{
    const struct gguf_tensor *t = need_tensor(L, name);
    if (!t || !check_dims(L, t, (uint64_t)cols, (uint64_t)rows)) return false;
    int dt = dtype_from_ggml(t->ggml_type);
    if (dt < 0) return unsupported_type(L, t, "f32, f16, bf16, q8_0, q4_0, q4_1, q4_k or q6_k");
    w->type = (enum dtype)dt;
    w->rows = rows;
    w->cols = cols;
    w->data = (void *)t->data;   /* read-only mapping: never written */
    w->dev = NULL;
    snprintf(w->name, sizeof w->name, "%s", name);
    L->type_count[dt]++;
    return check_first_row(L, w);
}

static bool own_buffer(struct loader *L, float *p)
{
    struct gguf_owner *o = L->own;
    if (o->n_owned == o->cap_owned) {
        int cap = o->cap_owned ? o->cap_owned * 2 : 16;
        float **np = realloc(o->owned, (size_t)cap * sizeof *np);
        if (!np) return false;
        o->owned = np;
        o->cap_owned = cap;
    }
    o->owned[o->n_owned++] = p;
    return true;
}

/* A [dim] norm: f32 used in place; f16/bf16 converted into an owned buffer. */
static bool load_norm(struct loader *L, const char *name, float **out)
{
    int dim = L->m->cfg.dim;
    const struct gguf_tensor *t = need_tensor(L, name);
    if (!t || !check_dims(L, t, (uint64_t)dim, 1)) return false;
    if (t->ggml_type == 0 && ((uintptr_t)t->data % sizeof(float)) == 0) {
        *out = (float *)t->data;   /* read-only mapping: never written */
        return check_norm_finite(L, name, *out, dim);
    }
    int dt = dtype_from_ggml(t->ggml_type);
    if (dt != DT_F32 && dt != DT_F16 && dt != DT_BF16)
        return unsupported_type(L, t, "f32, f16 or bf16 for a norm");
    float *buf = malloc((size_t)dim * sizeof *buf);
    if (!buf || !own_buffer(L, buf)) {
        free(buf);
        return fail(L, name, "out of memory for %d floats", dim);
    }
    const unsigned char *src = t->data;
    for (int i = 0; i < dim; i++) {
        uint16_t h;
        if (dt == DT_F32) { memcpy(&buf[i], src + 4 * i, 4); continue; }
        memcpy(&h, src + 2 * i, 2);
        buf[i] = dt == DT_F16 ? fp16_to_fp32(h) : bf16_to_fp32(h);
    }
    *out = buf;
    return check_norm_finite(L, name, buf, dim);
}

static bool load_layer(struct loader *L, int l, struct layer_weights *lw)
{
    const struct model_config *c = &L->m->cfg;
    int q = c->n_heads * c->head_dim, kv = c->n_kv_heads * c->head_dim;
    char n[9][48];
    static const char *SUFFIX[9] = {"attn_norm", "ffn_norm", "attn_q", "attn_k", "attn_v",
                                    "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
    for (int i = 0; i < 9; i++) snprintf(n[i], sizeof n[i], "blk.%d.%s.weight", l, SUFFIX[i]);
    return load_norm(L, n[0], &lw->attn_norm) && load_norm(L, n[1], &lw->ffn_norm) &&
           load_matrix(L, n[2], q, c->dim, &lw->wq) && load_matrix(L, n[3], kv, c->dim, &lw->wk) &&
           load_matrix(L, n[4], kv, c->dim, &lw->wv) && load_matrix(L, n[5], c->dim, q, &lw->wo) &&
           load_matrix(L, n[6], c->ffn_dim, c->dim, &lw->w_gate) &&
           load_matrix(L, n[7], c->ffn_dim, c->dim, &lw->w_up) &&
           load_matrix(L, n[8], c->dim, c->ffn_dim, &lw->w_down);
}

/* Vocabulary size from token_embd ([dim, vocab]); llama.vocab_size and the
 * tokenizer's token list, when present, must agree with it. */
static bool read_vocab(struct loader *L)
{
    struct model_config *c = &L->m->cfg;
    const struct gguf_tensor *t = need_tensor(L, "token_embd.weight");
    if (!t) return false;
    if (t->ne[1] < 1 || t->ne[1] > (1u << 24))
        return fail(L, "tensor 'token_embd.weight'", "vocab %llu: expected 1..%u",
                    (unsigned long long)t->ne[1], 1u << 24);
    c->vocab = (int)t->ne[1];
    int64_t v;
    if (gguf_get_i64(L->f, "llama.vocab_size", &v) && v != c->vocab)
        return fail(L, "llama.vocab_size", "%lld: expected %d (rows of token_embd.weight)",
                    (long long)v, c->vocab);
    enum gguf_vtype et;
    uint64_t n;
    if (gguf_get_arr(L->f, "tokenizer.ggml.tokens", &et, &n, NULL) && n != (uint64_t)c->vocab)
        return fail(L, "tokenizer.ggml.tokens", "%llu tokens: expected %d (rows of "
                    "token_embd.weight)", (unsigned long long)n, c->vocab);
    return true;
}

static bool load_weights(struct loader *L)
{
    struct model *m = L->m;
    struct model_config *c = &m->cfg;
    if (!load_matrix(L, "token_embd.weight", c->vocab, c->dim, &m->tok_embd) ||
        !load_norm(L, "output_norm.weight", &m->output_norm))
        return false;
    c->tied_output = gguf_find_tensor(L->f, "output.weight") == NULL;
    if (c->tied_output) {
        m->output = m->tok_embd;
        snprintf(m->output.name, sizeof m->output.name, "output (tied token_embd)");
    } else if (!load_matrix(L, "output.weight", c->vocab, c->dim, &m->output)) {
        return false;
    }
    m->layers = calloc((size_t)c->n_layers, sizeof *m->layers);
    if (!m->layers) return fail(L, "llama.block_count", "out of memory for %d layers", c->n_layers);
    for (int l = 0; l < c->n_layers; l++)
        if (!load_layer(L, l, &m->layers[l])) return false;
    if (!check_layer_tensors(L)) return false;
    int best = 0;
    for (int t = 1; t < DT_COUNT; t++)
        if (L->type_count[t] > L->type_count[best]) best = t;
    m->wtype = (enum dtype)best;
    return true;
}

/* ---- lifecycle ---------------------------------------------------------- */

/* m->release for GGUF models: frees layers, converted norms and the mapping.
 * model_free() frees m->tok. */
static void release_gguf_model(struct model *m)
{
    struct gguf_owner *o = m->owner;
    free(m->layers);
    if (o) {
        for (int i = 0; i < o->n_owned; i++) free(o->owned[i]);
        free(o->owned);
        gguf_close(o->file);
        free(o);
    }
    m->layers = NULL;
    m->output_norm = NULL;
    memset(&m->tok_embd, 0, sizeof m->tok_embd);
    memset(&m->output, 0, sizeof m->output);
    m->owner = NULL;
    m->release = NULL;
}

/* Shared by both entry points: `open` fills L.own->file. */
static int load_with(struct model *m, const char *path, const void *buf, size_t len, char *err,
                     size_t errlen)
{
    memset(m, 0, sizeof *m);
    struct loader L = {.m = m, .path = path, .err = err, .errlen = errlen};
    L.own = calloc(1, sizeof *L.own);
    if (!L.own) {
        snprintf(err, errlen, "%s: file: out of memory", path);
        return -1;
    }
    m->owner = L.own;
    m->release = release_gguf_model;
    int rc = buf ? gguf_open_buffer(buf, len, path, &L.own->file, err, errlen)
                 : gguf_open(path, &L.own->file, err, errlen);
    if (rc != 0) {
        release_gguf_model(m);
        return -1;
    }
    L.f = L.own->file;
    bool ok = check_arch(&L) && read_shape(&L) && read_rope_scaling(&L) && read_vocab(&L) &&
              load_weights(&L);
    if (!ok) {
        release_gguf_model(m);
        memset(m, 0, sizeof *m);
        return -1;
    }
    set_name(&L);
    snprintf(m->source, sizeof m->source, "%s", path);
    /* the tokenizer is optional (weights-only files); when its metadata is
     * there it must be valid */
    if (gguf_find_key(L.f, "tokenizer.ggml.model") >= 0) {
        char terr[256];
        m->tok = tokenizer_from_gguf(L.f, terr, sizeof terr);
        if (!m->tok) {
            snprintf(err, errlen, "%s: %s", path, terr);
            release_gguf_model(m);
            memset(m, 0, sizeof *m);
            return -1;
        }
    }
    return 0;
}

int model_load_gguf(struct model *m, const char *path, char *err, size_t errlen)
{
    return load_with(m, path, NULL, 0, err, errlen);
}

int model_load_gguf_buffer(struct model *m, const void *buf, size_t len, const char *name,
                           char *err, size_t errlen)
{
    static const unsigned char empty[1];
    return load_with(m, name ? name : "<buffer>", buf ? buf : empty, buf ? len : 0, err, errlen);
}
