/* core/train/student.c — student parameters, training forward and backward. */
#include "core/train/student.h"
#include "core/train/train_ops.h"
#include "core/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- shape -------------------------------------------------------------- */

static void shape_defaults(struct model_config *c, const struct model_config *t, int heads,
                           int kv_heads, int ffn)
{
    bool same = c->dim == t->dim;
    c->n_heads = heads > 0 ? heads : same ? t->n_heads : (c->dim / 64 > 0 ? c->dim / 64 : 1);
    c->n_kv_heads = kv_heads > 0 ? kv_heads : same && c->n_heads == t->n_heads ? t->n_kv_heads
                    : c->n_heads % 3 == 0 ? c->n_heads / 3 : c->n_heads;
    c->ffn_dim = ffn > 0 ? ffn : same ? t->ffn_dim : (8 * c->dim / 3 + 63) / 64 * 64;
}

static int parse_int_key(const char *v, int *out)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (end == v || (*end && *end != ',' && *end != ' ') || x < 1 || x > 65536) return -1;
    *out = (int)x;
    return 0;
}

int student_shape(struct model_config *out, const char *shape, const struct model_config *teacher,
                  char *err, size_t errlen)
{
    struct model_config c = *teacher;
    int layers = 0, dim = 0, heads = 0, kv = 0, ffn = 0;
    char *x;
    if (!shape || !*shape) {
        snprintf(err, errlen, "--student: empty: expected LxD (2x576) or layers=..,dim=..");
        return -1;
    }
    if (!strchr(shape, '=')) {
        char *end;
        long l = strtol(shape, &x, 10);
        long d = (x != shape && *x == 'x') ? strtol(x + 1, &end, 10) : 0;
        if (x == shape || *x != 'x' || d < 1 || *end || l < 1 || l > 4096 || d > 65536) {
            snprintf(err, errlen, "--student %s: expected LAYERSxDIM like 2x576", shape);
            return -1;
        }
        layers = (int)l; dim = (int)d;
    } else {
        const char *p = shape;
        while (*p) {
            static const char *KEYS[] = {"layers", "dim", "heads", "kv_heads", "ffn"};
            int *dst[] = {&layers, &dim, &heads, &kv, &ffn}, k = -1;
            for (int i = 0; i < 5; i++) {
                size_t n = strlen(KEYS[i]);
                if (!strncmp(p, KEYS[i], n) && p[n] == '=') { k = i; p += n + 1; break; }
            }
            if (k < 0 || parse_int_key(p, dst[k]) < 0) {
                snprintf(err, errlen, "--student %s: at '%.24s': expected layers=N, dim=N, heads=N, "
                         "kv_heads=N or ffn=N (N in 1..65536), comma separated", shape, p);
                return -1;
            }
            while (*p && *p != ',' && *p != ' ') p++;
            while (*p == ',' || *p == ' ') p++;
        }
        if (!layers) layers = 2;
        if (!dim) dim = teacher->dim;
    }
    c.n_layers = layers; c.dim = dim;
    shape_defaults(&c, teacher, heads, kv, ffn);
    if (c.dim % c.n_heads || (c.dim / c.n_heads) % 2 || c.n_heads % c.n_kv_heads) {
        snprintf(err, errlen, "--student %s: dim %d, heads %d, kv_heads %d: expected heads to divide "
                 "dim into an even head size and kv_heads to divide heads", shape, c.dim, c.n_heads,
                 c.n_kv_heads);
        return -1;
    }
    c.head_dim = c.dim / c.n_heads;
    c.tied_output = true;
    snprintf(c.arch, sizeof c.arch, "llama");
    snprintf(c.name, sizeof c.name, "draft-%dx%d", c.n_layers, c.dim);
    *out = c;
    return 0;
}

/* ---- parameters --------------------------------------------------------- */

int student_alloc(struct student *s, const struct model_config *cfg)
{
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    size_t D = (size_t)cfg->dim, qd = (size_t)cfg->n_heads * cfg->head_dim,
           kvd = (size_t)cfg->n_kv_heads * cfg->head_dim, F = (size_t)cfg->ffn_dim;
    size_t sizes[ST_PER_LAYER] = {D, qd * D, kvd * D, kvd * D, D * qd, D, F * D, F * D, D * F};
    size_t off = 0;
    for (int i = 0; i < ST_PER_LAYER; i++) { s->layer_off[i] = off; off += sizes[i]; }
    s->layer_size = off;
    s->out_norm_off = off * (size_t)cfg->n_layers;
    s->embd_off = s->out_norm_off + D;
    s->n_params = s->embd_off + (size_t)cfg->vocab * D;
    s->p = calloc(s->n_params, sizeof *s->p);
    return s->p ? 0 : -1;
}

void student_free(struct student *s)
{
    free(s->p);
    memset(s, 0, sizeof *s);
}

static void fill_normal(float *p, size_t n, struct rng *r, double sd)
{
    for (size_t i = 0; i < n; i++) p[i] = (float)(sd * rng_normal(r));
}

static void fill_ones(float *p, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = 1.0f;
}

void student_init_random(struct student *s, uint64_t seed)
{
    struct rng r;
    rng_init_stream(&r, seed, 0x57d, 0);
    const struct model_config *c = &s->cfg;
    double sd = 0.02, sd_out = 0.02 / sqrt(2.0 * c->n_layers);
    for (int l = 0; l < c->n_layers; l++)
        for (int i = 0; i < ST_PER_LAYER; i++) {
            size_t n = (i + 1 < ST_PER_LAYER ? s->layer_off[i + 1] : s->layer_size) - s->layer_off[i];
            float *p = student_layer(s, l, i);
            if (i == ST_ATTN_NORM || i == ST_FFN_NORM) fill_ones(p, n);
            else fill_normal(p, n, &r, i == ST_WO || i == ST_WDOWN ? sd_out : sd);
        }
    fill_ones(s->p + s->out_norm_off, (size_t)c->dim);
    fill_normal(s->p + s->embd_off, (size_t)c->vocab * c->dim, &r, sd);
}

static void decode_weight(const struct weight *w, float *dst)
{
    size_t stride = w->row_stride ? w->row_stride : dtype_row_bytes(w->type, w->cols);
    for (int r = 0; r < w->rows; r++)
        dtype_decode_row(w->type, (const char *)w->data + (size_t)r * stride, dst + (size_t)r * w->cols,
                         w->cols);
}

int student_init_truncate(struct student *s, const struct model *t, const int *layers,
                          char *err, size_t errlen)
{
    const struct model_config *c = &s->cfg, *tc = &t->cfg;
    if (c->dim != tc->dim || c->n_heads != tc->n_heads || c->n_kv_heads != tc->n_kv_heads ||
        c->ffn_dim != tc->ffn_dim || c->vocab != tc->vocab) {
        snprintf(err, errlen, "--init truncate: student dim %d heads %d kv_heads %d ffn %d: expected "
                 "the teacher's (%d, %d, %d, %d) to copy its layers (or use --init random)", c->dim,
                 c->n_heads, c->n_kv_heads, c->ffn_dim, tc->dim, tc->n_heads, tc->n_kv_heads, tc->ffn_dim);
        return -1;
    }
    for (int l = 0; l < c->n_layers; l++) {
        if (layers[l] < 0 || layers[l] >= tc->n_layers) {
            snprintf(err, errlen, "--copy-layers: layer %d: expected 0..%d", layers[l], tc->n_layers - 1);
            return -1;
        }
        const struct layer_weights *L = &t->layers[layers[l]];
        const struct weight *W[ST_PER_LAYER] = {NULL, &L->wq, &L->wk, &L->wv, &L->wo, NULL,
                                                &L->w_gate, &L->w_up, &L->w_down};
        memcpy(student_layer(s, l, ST_ATTN_NORM), L->attn_norm, (size_t)c->dim * sizeof(float));
        memcpy(student_layer(s, l, ST_FFN_NORM), L->ffn_norm, (size_t)c->dim * sizeof(float));
        for (int i = 0; i < ST_PER_LAYER; i++)
            if (W[i]) decode_weight(W[i], student_layer(s, l, i));
    }
    memcpy(s->p + s->out_norm_off, t->output_norm, (size_t)c->dim * sizeof(float));
    decode_weight(&t->tok_embd, s->p + s->embd_off);
    return 0;
}

/* ---- activations -------------------------------------------------------- */

int student_acts_alloc(struct student_acts *a, const struct model_config *c, int B, int T)
{
    memset(a, 0, sizeof *a);
    size_t L = (size_t)c->n_layers, N = (size_t)B * T, D = (size_t)c->dim,
           qd = (size_t)c->n_heads * c->head_dim, kvd = (size_t)c->n_kv_heads * c->head_dim,
           F = (size_t)c->ffn_dim, V = (size_t)c->vocab;
    a->B = B; a->T = T; a->N = (int)N;
    a->pos = calloc(N, sizeof *a->pos);
    a->tok = calloc(N, sizeof *a->tok);
    float **bufs[] = {&a->x, &a->xmid, &a->n1, &a->n2, &a->r1, &a->r2, &a->q, &a->k, &a->v, &a->att,
                      &a->P, &a->g, &a->u, &a->h, &a->nf, &a->rf, &a->logits, &a->dx, &a->dn,
                      &a->dq, &a->dk, &a->dv, &a->datt, &a->dg, &a->du, &a->dh, &a->dlogits};
    size_t sizes[] = {(L + 1) * N * D, L * N * D, L * N * D, L * N * D, L * N, L * N, L * N * qd,
                      L * N * kvd, L * N * kvd, L * N * qd, L * B * c->n_heads * (size_t)T * T,
                      L * N * F, L * N * F, L * N * F, N * D, N, N * V, N * D, N * D, N * qd,
                      N * kvd, N * kvd, N * qd, N * F, N * F, N * F, N * V};
    bool ok = a->pos && a->tok;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        *bufs[i] = calloc(sizes[i], sizeof(float));
        ok = ok && *bufs[i];
    }
    if (!ok) { student_acts_free(a); return -1; }
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) a->pos[b * T + t] = t;
    return 0;
}

void student_acts_free(struct student_acts *a)
{
    float *bufs[] = {a->x, a->xmid, a->n1, a->n2, a->r1, a->r2, a->q, a->k, a->v, a->att, a->P,
                     a->g, a->u, a->h, a->nf, a->rf, a->logits, a->dx, a->dn, a->dq, a->dk, a->dv,
                     a->datt, a->dg, a->du, a->dh, a->dlogits};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    free(a->pos); free(a->tok);
    memset(a, 0, sizeof *a);
}

/* ---- forward ------------------------------------------------------------ */

struct dims { size_t N, D, qd, kvd, F, V, PT; };

static struct dims dims_of(const struct model_config *c, const struct student_acts *a)
{
    return (struct dims){(size_t)a->N, (size_t)c->dim, (size_t)c->n_heads * c->head_dim,
                         (size_t)c->n_kv_heads * c->head_dim, (size_t)c->ffn_dim, (size_t)c->vocab,
                         (size_t)a->B * c->n_heads * a->T * a->T};
}

static struct attn_dims attn_dims_of(const struct model_config *c, const struct student_acts *a)
{
    return (struct attn_dims){a->B, a->T, c->n_heads, c->n_kv_heads, c->head_dim,
                              1.0f / sqrtf((float)c->head_dim)};
}

static void layer_forward(const struct student *s, struct student_acts *a, int l)
{
    const struct model_config *c = &s->cfg;
    struct dims d = dims_of(c, a);
    int N = a->N;
    float *x = a->x + l * d.N * d.D, *xo = a->x + (l + 1) * d.N * d.D, *xm = a->xmid + l * d.N * d.D;
    float *n1 = a->n1 + l * d.N * d.D, *n2 = a->n2 + l * d.N * d.D;
    float *q = a->q + l * d.N * d.qd, *k = a->k + l * d.N * d.kvd, *v = a->v + l * d.N * d.kvd;
    float *att = a->att + l * d.N * d.qd, *P = a->P + l * d.PT;
    float *g = a->g + l * d.N * d.F, *u = a->u + l * d.N * d.F, *h = a->h + l * d.N * d.F;
    struct attn_dims ad = attn_dims_of(c, a);

    rmsnorm_forward(n1, a->r1 + l * d.N, x, student_layer(s, l, ST_ATTN_NORM), N, c->dim, c->norm_eps);
    mm_forward(q, n1, student_layer(s, l, ST_WQ), N, c->dim, (int)d.qd);
    mm_forward(k, n1, student_layer(s, l, ST_WK), N, c->dim, (int)d.kvd);
    mm_forward(v, n1, student_layer(s, l, ST_WV), N, c->dim, (int)d.kvd);
    rope_forward(q, a->pos, N, c->n_heads, c->head_dim, &c->rope);
    rope_forward(k, a->pos, N, c->n_kv_heads, c->head_dim, &c->rope);
    attn_forward(att, P, q, k, v, &ad);
    mm_forward(xm, att, student_layer(s, l, ST_WO), N, (int)d.qd, c->dim);
    for (size_t i = 0; i < d.N * d.D; i++) xm[i] += x[i];

    rmsnorm_forward(n2, a->r2 + l * d.N, xm, student_layer(s, l, ST_FFN_NORM), N, c->dim, c->norm_eps);
    mm_forward(g, n2, student_layer(s, l, ST_WGATE), N, c->dim, c->ffn_dim);
    mm_forward(u, n2, student_layer(s, l, ST_WUP), N, c->dim, c->ffn_dim);
    swiglu_forward(h, g, u, (int64_t)d.N * c->ffn_dim);
    mm_forward(xo, h, student_layer(s, l, ST_WDOWN), N, c->ffn_dim, c->dim);
    for (size_t i = 0; i < d.N * d.D; i++) xo[i] += xm[i];
}

void student_forward(const struct student *s, struct student_acts *a, const int32_t *tokens)
{
    const struct model_config *c = &s->cfg;
    struct dims d = dims_of(c, a);
    memcpy(a->tok, tokens, d.N * sizeof *tokens);
    embed_forward(a->x, s->p + s->embd_off, a->tok, a->N, c->dim);
    for (int l = 0; l < c->n_layers; l++) layer_forward(s, a, l);
    rmsnorm_forward(a->nf, a->rf, a->x + (size_t)c->n_layers * d.N * d.D, s->p + s->out_norm_off,
                    a->N, c->dim, c->norm_eps);
    mm_forward(a->logits, a->nf, s->p + s->embd_off, a->N, c->dim, c->vocab);
}

/* ---- backward ----------------------------------------------------------- */

static float *gslot(const struct student *s, float *grad, int l, int which)
{
    return grad + (size_t)l * s->layer_size + s->layer_off[which];
}

/* a->dx holds ∂L/∂x_{l+1} on entry and ∂L/∂x_l on return. */
static void layer_backward(const struct student *s, struct student_acts *a, int l, float *grad)
{
    const struct model_config *c = &s->cfg;
    struct dims d = dims_of(c, a);
    int N = a->N;
    float *x = a->x + l * d.N * d.D, *xm = a->xmid + l * d.N * d.D;
    float *n1 = a->n1 + l * d.N * d.D, *n2 = a->n2 + l * d.N * d.D;
    float *q = a->q + l * d.N * d.qd, *k = a->k + l * d.N * d.kvd, *v = a->v + l * d.N * d.kvd;
    float *att = a->att + l * d.N * d.qd, *P = a->P + l * d.PT;
    float *g = a->g + l * d.N * d.F, *u = a->u + l * d.N * d.F, *h = a->h + l * d.N * d.F;
    struct attn_dims ad = attn_dims_of(c, a);

    /* MLP: xo = xm + Wdown·swiglu(Wg·n2, Wu·n2); dx (= dxo) flows to dxm unchanged */
    memset(a->dh, 0, d.N * d.F * sizeof(float));
    mm_backward_x(a->dh, a->dx, student_layer(s, l, ST_WDOWN), N, c->ffn_dim, c->dim);
    mm_backward_w(gslot(s, grad, l, ST_WDOWN), a->dx, h, N, c->ffn_dim, c->dim);
    memset(a->dg, 0, d.N * d.F * sizeof(float));
    memset(a->du, 0, d.N * d.F * sizeof(float));
    swiglu_backward(a->dg, a->du, a->dh, g, u, (int64_t)d.N * c->ffn_dim);
    memset(a->dn, 0, d.N * d.D * sizeof(float));
    mm_backward_x(a->dn, a->dg, student_layer(s, l, ST_WGATE), N, c->dim, c->ffn_dim);
    mm_backward_x(a->dn, a->du, student_layer(s, l, ST_WUP), N, c->dim, c->ffn_dim);
    mm_backward_w(gslot(s, grad, l, ST_WGATE), a->dg, n2, N, c->dim, c->ffn_dim);
    mm_backward_w(gslot(s, grad, l, ST_WUP), a->du, n2, N, c->dim, c->ffn_dim);
    rmsnorm_backward(a->dx, gslot(s, grad, l, ST_FFN_NORM), a->dn, xm,
                     student_layer(s, l, ST_FFN_NORM), a->r2 + l * d.N, N, c->dim);

    /* attention: xm = x + Wo·attn(rope(Wq·n1), rope(Wk·n1), Wv·n1) */
    memset(a->datt, 0, d.N * d.qd * sizeof(float));
    mm_backward_x(a->datt, a->dx, student_layer(s, l, ST_WO), N, (int)d.qd, c->dim);
    mm_backward_w(gslot(s, grad, l, ST_WO), a->dx, att, N, (int)d.qd, c->dim);
    memset(a->dq, 0, d.N * d.qd * sizeof(float));
    memset(a->dk, 0, d.N * d.kvd * sizeof(float));
    memset(a->dv, 0, d.N * d.kvd * sizeof(float));
    attn_backward(a->dq, a->dk, a->dv, a->datt, P, q, k, v, &ad);
    rope_backward(a->dq, a->pos, N, c->n_heads, c->head_dim, &c->rope);
    rope_backward(a->dk, a->pos, N, c->n_kv_heads, c->head_dim, &c->rope);
    memset(a->dn, 0, d.N * d.D * sizeof(float));
    mm_backward_x(a->dn, a->dq, student_layer(s, l, ST_WQ), N, c->dim, (int)d.qd);
    mm_backward_x(a->dn, a->dk, student_layer(s, l, ST_WK), N, c->dim, (int)d.kvd);
    mm_backward_x(a->dn, a->dv, student_layer(s, l, ST_WV), N, c->dim, (int)d.kvd);
    mm_backward_w(gslot(s, grad, l, ST_WQ), a->dq, n1, N, c->dim, (int)d.qd);
    mm_backward_w(gslot(s, grad, l, ST_WK), a->dk, n1, N, c->dim, (int)d.kvd);
    mm_backward_w(gslot(s, grad, l, ST_WV), a->dv, n1, N, c->dim, (int)d.kvd);
    rmsnorm_backward(a->dx, gslot(s, grad, l, ST_ATTN_NORM), a->dn, x,
                     student_layer(s, l, ST_ATTN_NORM), a->r1 + l * d.N, N, c->dim);
}

void student_backward(const struct student *s, struct student_acts *a, float *grad, bool train_embd)
{
    const struct model_config *c = &s->cfg;
    struct dims d = dims_of(c, a);
    int N = a->N;
    const float *E = s->p + s->embd_off;
    memset(a->dn, 0, d.N * d.D * sizeof(float));
    mm_backward_x(a->dn, a->dlogits, E, N, c->dim, c->vocab);
    if (train_embd) mm_backward_w(grad + s->embd_off, a->dlogits, a->nf, N, c->dim, c->vocab);
    memset(a->dx, 0, d.N * d.D * sizeof(float));
    rmsnorm_backward(a->dx, grad + s->out_norm_off, a->dn, a->x + (size_t)c->n_layers * d.N * d.D,
                     s->p + s->out_norm_off, a->rf, N, c->dim);
    for (int l = c->n_layers - 1; l >= 0; l--) layer_backward(s, a, l, grad);
    if (train_embd) embed_backward(grad + s->embd_off, a->dx, a->tok, N, c->dim);
}

/* ---- as a model ---------------------------------------------------------- */

static void release_student_view(struct model *m)
{
    free(m->layers);
    m->layers = NULL;
}

static struct weight f32_weight(float *p, int rows, int cols, const char *name)
{
    struct weight w = {.type = DT_F32, .rows = rows, .cols = cols, .data = p};
    snprintf(w.name, sizeof w.name, "%s", name);
    return w;
}

int student_as_model(const struct student *s, struct model *m, char *err, size_t errlen)
{
    const struct model_config *c = &s->cfg;
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    m->wtype = DT_F32;
    m->layers = calloc((size_t)c->n_layers, sizeof *m->layers);
    if (!m->layers) { snprintf(err, errlen, "student: out of memory"); return -1; }
    int qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    for (int l = 0; l < c->n_layers; l++) {
        struct layer_weights *L = &m->layers[l];
        L->attn_norm = student_layer(s, l, ST_ATTN_NORM);
        L->ffn_norm = student_layer(s, l, ST_FFN_NORM);
        L->wq = f32_weight(student_layer(s, l, ST_WQ), qd, c->dim, "attn_q");
        L->wk = f32_weight(student_layer(s, l, ST_WK), kvd, c->dim, "attn_k");
        L->wv = f32_weight(student_layer(s, l, ST_WV), kvd, c->dim, "attn_v");
        L->wo = f32_weight(student_layer(s, l, ST_WO), c->dim, qd, "attn_output");
        L->w_gate = f32_weight(student_layer(s, l, ST_WGATE), c->ffn_dim, c->dim, "ffn_gate");
        L->w_up = f32_weight(student_layer(s, l, ST_WUP), c->ffn_dim, c->dim, "ffn_up");
        L->w_down = f32_weight(student_layer(s, l, ST_WDOWN), c->dim, c->ffn_dim, "ffn_down");
    }
    m->output_norm = s->p + s->out_norm_off;
    m->tok_embd = f32_weight(s->p + s->embd_off, c->vocab, c->dim, "token_embd");
    m->output = m->tok_embd;
    m->cfg.tied_output = true;
    snprintf(m->source, sizeof m->source, "student %s", c->name);
    m->release = release_student_view;
    return 0;
}
