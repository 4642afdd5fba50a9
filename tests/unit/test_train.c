/* core/train: every backward op against central finite differences of an
 * independent double-precision forward written here, on random nonzero
 * inputs at odd shapes (GQA and MHA), every SIMD path, threads 1 and 2; the
 * whole student's gradient against finite differences; one AdamW step by
 * hand; distillation of synth:tiny lowering the held-out KL, reproducibly;
 * the written GGUF through the loader; checkpoints corrupt and whole. */
#include "core/model/draft_info.h"
#include "core/model/forward.h"
#include "core/model/gguf.h"
#include "core/train/adamw.h"
#include "core/train/distill.h"
#include "core/train/kl.h"
#include "core/train/student.h"
#include "core/train/train_ops.h"
#include "kernels/cpu/cpu_backend.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t g_rs = 88172645463325252ull;
static double urand(void)   /* in [-1, 1), never exactly 0 */
{
    g_rs ^= g_rs << 13; g_rs ^= g_rs >> 7; g_rs ^= g_rs << 17;
    double u = (double)(g_rs >> 11) / 9007199254740992.0 * 2 - 1;
    return u == 0 ? 0.5 : u;
}

static float *rnd(size_t n, double scale)
{
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = (float)(urand() * scale);
    return p;
}

static double *to_d(const float *x, size_t n)
{
    double *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = x[i];
    return d;
}

/* analytic (float) vs numeric (double FD) gradient: max |a-n| / (max|n| + 1e-6) */
static double rel_err(const float *a, const double *num, size_t n)
{
    double md = 0, mn = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(a[i] - num[i]) > md) md = fabs(a[i] - num[i]);
        if (fabs(num[i]) > mn) mn = fabs(num[i]);
    }
    return md / (mn + 1e-6);
}

/* FD of L(x) = Σ r·f(x) over every element of x (double reference f). */
typedef void (*ref_fn)(double *y, const double *x, void *ctx);
static void fd_grad(double *g, double *x, size_t nx, size_t ny, const double *r, ref_fn f, void *ctx)
{
    double *y = malloc(ny * sizeof *y), h = 1e-5;
    for (size_t i = 0; i < nx; i++) {
        double keep = x[i], lp = 0, lm = 0;
        x[i] = keep + h; f(y, x, ctx);
        for (size_t k = 0; k < ny; k++) lp += r[k] * y[k];
        x[i] = keep - h; f(y, x, ctx);
        for (size_t k = 0; k < ny; k++) lm += r[k] * y[k];
        x[i] = keep;
        g[i] = (lp - lm) / (2 * h);
    }
    free(y);
}

static void each_config(void (*body)(void))
{
    /* every path the CPU has (a missing one falls back to a narrower path,
     * which then simply runs twice) */
    enum train_simd paths[] = {TRAIN_SIMD_PORTABLE, TRAIN_SIMD_AVX2, TRAIN_SIMD_AVX512};
    for (int p = 0; p < 3; p++)
        for (int t = 1; t <= 2; t++) {
            train_simd_force(paths[p]);
            train_set_threads(t);
            body();
        }
    train_simd_force(TRAIN_SIMD_AUTO);
    train_set_threads(1);
}

/* ---- matmul ---- */
struct mm_ctx { int N, I, O; const double *W, *x; int which; };
static void ref_mm(double *y, const double *v, void *p)
{
    struct mm_ctx *c = p;
    const double *x = c->which == 0 ? v : c->x, *W = c->which == 1 ? v : c->W;
    for (int n = 0; n < c->N; n++)
        for (int o = 0; o < c->O; o++) {
            double s = 0;
            for (int i = 0; i < c->I; i++) s += x[n * c->I + i] * W[o * c->I + i];
            y[n * c->O + o] = s;
        }
}

static void check_matmul(void)
{
    int N = 7, I = 37, O = 45;
    float *x = rnd((size_t)N * I, 1), *W = rnd((size_t)O * I, 1), *r = rnd((size_t)N * O, 1);
    float *y = calloc((size_t)N * O, 4), *dx = calloc((size_t)N * I, 4), *dW = calloc((size_t)O * I, 4);
    double *xd = to_d(x, (size_t)N * I), *Wd = to_d(W, (size_t)O * I), *rd = to_d(r, (size_t)N * O);
    double *yd = malloc((size_t)N * O * 8), *gx = malloc((size_t)N * I * 8), *gW = malloc((size_t)O * I * 8);
    struct mm_ctx c = {N, I, O, Wd, xd, 0};
    mm_forward(y, x, W, N, I, O);
    ref_mm(yd, xd, &c);
    cr_assert_lt(rel_err(y, yd, (size_t)N * O), 1e-5, "matmul forward (%s, %d threads)", train_simd_name(), train_threads());
    mm_backward_x(dx, r, W, N, I, O);
    mm_backward_w(dW, r, x, N, I, O);
    fd_grad(gx, xd, (size_t)N * I, (size_t)N * O, rd, ref_mm, &c);
    c.which = 1;
    fd_grad(gW, Wd, (size_t)O * I, (size_t)N * O, rd, ref_mm, &c);
    cr_assert_lt(rel_err(dx, gx, (size_t)N * I), 1e-4, "matmul dx");
    cr_assert_lt(rel_err(dW, gW, (size_t)O * I), 1e-4, "matmul dW");
    free(x); free(W); free(r); free(y); free(dx); free(dW); free(xd); free(Wd); free(rd); free(yd); free(gx); free(gW);
}
Test(train_ops, matmul_backward_vs_finite_differences) { each_config(check_matmul); }

/* ---- rmsnorm ---- */
struct rn_ctx { int N, D; const double *w, *x; int which; double eps; };
static void ref_rms(double *y, const double *v, void *p)
{
    struct rn_ctx *c = p;
    const double *x = c->which == 0 ? v : c->x, *w = c->which == 1 ? v : c->w;
    for (int n = 0; n < c->N; n++) {
        double ss = 0;
        for (int i = 0; i < c->D; i++) ss += x[n * c->D + i] * x[n * c->D + i];
        double rs = 1 / sqrt(ss / c->D + c->eps);
        for (int i = 0; i < c->D; i++) y[n * c->D + i] = x[n * c->D + i] * rs * w[i];
    }
}

Test(train_ops, rmsnorm_backward_vs_finite_differences)
{
    int N = 5, D = 23;
    float *x = rnd((size_t)N * D, 2), *w = rnd(D, 1.5), *r = rnd((size_t)N * D, 1), rstd[5];
    float *y = calloc((size_t)N * D, 4), *dx = calloc((size_t)N * D, 4), *dw = calloc(D, 4);
    double *xd = to_d(x, (size_t)N * D), *wd = to_d(w, D), *rd = to_d(r, (size_t)N * D);
    double *yd = malloc((size_t)N * D * 8), *gx = malloc((size_t)N * D * 8), *gw = malloc(D * 8);
    struct rn_ctx c = {N, D, wd, xd, 0, 1e-5};
    rmsnorm_forward(y, rstd, x, w, N, D, 1e-5f);
    ref_rms(yd, xd, &c);
    cr_assert_lt(rel_err(y, yd, (size_t)N * D), 1e-5);
    rmsnorm_backward(dx, dw, r, x, w, rstd, N, D);
    fd_grad(gx, xd, (size_t)N * D, (size_t)N * D, rd, ref_rms, &c);
    c.which = 1;
    fd_grad(gw, wd, D, (size_t)N * D, rd, ref_rms, &c);
    cr_assert_lt(rel_err(dx, gx, (size_t)N * D), 1e-4, "rmsnorm dx");
    cr_assert_lt(rel_err(dw, gw, D), 1e-4, "rmsnorm dw");
    free(x); free(w); free(r); free(y); free(dx); free(dw); free(xd); free(wd); free(rd); free(yd); free(gx); free(gw);
}

/* ---- rope ---- */
struct rp_ctx { int N, H, hd; const int *pos; struct rope_params rp; };
static void ref_rope(double *y, const double *x, void *p)
{
    struct rp_ctx *c = p;
    for (int n = 0; n < c->N; n++)
        for (int h = 0; h < c->H; h++)
            for (int i = 0; i < c->hd / 2; i++) {
                double f = (double)train_rope_freq(i, c->hd, &c->rp) * c->pos[n];
                const double *a = x + (n * c->H + h) * c->hd + 2 * i;
                double *b = y + (n * c->H + h) * c->hd + 2 * i;
                b[0] = a[0] * cos(f) - a[1] * sin(f);
                b[1] = a[0] * sin(f) + a[1] * cos(f);
            }
}

Test(train_ops, rope_backward_vs_finite_differences)
{
    int N = 5, H = 3, hd = 6, pos[5] = {0, 1, 4, 9, 300};
    size_t n = (size_t)N * H * hd;
    struct rope_params rps[2] = {{10000, 0, 0, 0, 0}, {500000, 8, 1, 4, 64}};   /* plain and Llama 3 scaling */
    for (int k = 0; k < 2; k++) {
        float *x = rnd(n, 1), *r = rnd(n, 1), *dx = malloc(n * 4);
        double *xd = to_d(x, n), *rd = to_d(r, n), *yd = malloc(n * 8), *g = malloc(n * 8);
        struct rp_ctx c = {N, H, hd, pos, rps[k]};
        rope_forward(x, pos, N, H, hd, &rps[k]);
        ref_rope(yd, xd, &c);
        cr_assert_lt(rel_err(x, yd, n), 1e-4, "rope forward");
        memcpy(dx, r, n * 4);
        rope_backward(dx, pos, N, H, hd, &rps[k]);
        fd_grad(g, xd, n, n, rd, ref_rope, &c);
        cr_assert_lt(rel_err(dx, g, n), 1e-4, "rope backward (scaling %d)", k);
        free(x); free(r); free(dx); free(xd); free(rd); free(yd); free(g);
    }
}

/* ---- attention ---- */
struct at_ctx { struct attn_dims d; const double *q, *k, *v; int which; };
static void ref_attn(double *y, const double *in, void *p)
{
    struct at_ctx *c = p;
    const struct attn_dims *d = &c->d;
    const double *q = c->which == 0 ? in : c->q, *k = c->which == 1 ? in : c->k, *v = c->which == 2 ? in : c->v;
    int hd = d->head_dim, qd = d->n_heads * hd, kvd = d->n_kv_heads * hd, grp = d->n_heads / d->n_kv_heads;
    double s[64];
    for (int b = 0; b < d->B; b++)
        for (int h = 0; h < d->n_heads; h++)
            for (int t = 0; t < d->T; t++) {
                int g = h / grp;
                double mx = -1e300, sum = 0;
                for (int j = 0; j <= t; j++) {
                    double a = 0;
                    for (int i = 0; i < hd; i++) a += q[(b * d->T + t) * qd + h * hd + i] * k[(b * d->T + j) * kvd + g * hd + i];
                    s[j] = a * d->scale;
                    if (s[j] > mx) mx = s[j];
                }
                for (int j = 0; j <= t; j++) { s[j] = exp(s[j] - mx); sum += s[j]; }
                for (int i = 0; i < hd; i++) {
                    double o = 0;
                    for (int j = 0; j <= t; j++) o += s[j] / sum * v[(b * d->T + j) * kvd + g * hd + i];
                    y[(b * d->T + t) * qd + h * hd + i] = o;
                }
            }
}

static void check_attention(int H, int KVH)
{
    struct attn_dims d = {2, 7, H, KVH, 6, 1.0f / sqrtf(6.0f)};
    size_t N = (size_t)d.B * d.T, nq = N * H * 6, nk = N * KVH * 6;
    float *q = rnd(nq, 1.5), *k = rnd(nk, 1.5), *v = rnd(nk, 1), *r = rnd(nq, 1);
    float *out = malloc(nq * 4), *P = malloc((size_t)d.B * H * d.T * d.T * 4);
    float *dq = calloc(nq, 4), *dk = calloc(nk, 4), *dv = calloc(nk, 4);
    double *qd = to_d(q, nq), *kd = to_d(k, nk), *vd = to_d(v, nk), *rd = to_d(r, nq), *yd = malloc(nq * 8);
    double *gq = malloc(nq * 8), *gk = malloc(nk * 8), *gv = malloc(nk * 8);
    struct at_ctx c = {d, qd, kd, vd, 0};
    attn_forward(out, P, q, k, v, &d);
    ref_attn(yd, qd, &c);
    cr_assert_lt(rel_err(out, yd, nq), 1e-5, "attention forward H %d KVH %d", H, KVH);
    attn_backward(dq, dk, dv, r, P, q, k, v, &d);
    fd_grad(gq, qd, nq, nq, rd, ref_attn, &c);
    c.which = 1; fd_grad(gk, kd, nk, nq, rd, ref_attn, &c);
    c.which = 2; fd_grad(gv, vd, nk, nq, rd, ref_attn, &c);
    cr_assert_lt(rel_err(dq, gq, nq), 1e-4, "attention dq H %d KVH %d", H, KVH);
    cr_assert_lt(rel_err(dk, gk, nk), 1e-4, "attention dk H %d KVH %d", H, KVH);
    cr_assert_lt(rel_err(dv, gv, nk), 1e-4, "attention dv H %d KVH %d", H, KVH);
    free(q); free(k); free(v); free(r); free(out); free(P); free(dq); free(dk); free(dv);
    free(qd); free(kd); free(vd); free(rd); free(yd); free(gq); free(gk); free(gv);
}
static void check_attention_all(void) { check_attention(6, 2); check_attention(3, 3); check_attention(4, 1); }
Test(train_ops, attention_backward_vs_finite_differences_gqa_mha_mqa) { each_config(check_attention_all); }

/* ---- swiglu, embedding ---- */
struct sw_ctx { size_t n; const double *g, *u; int which; };
static void ref_swiglu(double *y, const double *in, void *p)
{
    struct sw_ctx *c = p;
    const double *g = c->which == 0 ? in : c->g, *u = c->which == 1 ? in : c->u;
    for (size_t i = 0; i < c->n; i++) y[i] = g[i] / (1 + exp(-g[i])) * u[i];
}

Test(train_ops, swiglu_and_embedding_backward)
{
    size_t n = 41;
    float *g = rnd(n, 4), *u = rnd(n, 2), *r = rnd(n, 1), *h = malloc(n * 4), *dg = calloc(n, 4), *du = calloc(n, 4);
    double *gd = to_d(g, n), *ud = to_d(u, n), *rd = to_d(r, n), *yd = malloc(n * 8), *ng = malloc(n * 8), *nu = malloc(n * 8);
    struct sw_ctx c = {n, gd, ud, 0};
    swiglu_forward(h, g, u, (int64_t)n);
    ref_swiglu(yd, gd, &c);
    cr_assert_lt(rel_err(h, yd, n), 1e-5);
    swiglu_backward(dg, du, r, g, u, (int64_t)n);
    fd_grad(ng, gd, n, n, rd, ref_swiglu, &c);
    c.which = 1; fd_grad(nu, ud, n, n, rd, ref_swiglu, &c);
    cr_assert_lt(rel_err(dg, ng, n), 1e-4, "swiglu dg");
    cr_assert_lt(rel_err(du, nu, n), 1e-4, "swiglu du");
    /* embedding: dE[t] sums the rows of every position holding t */
    int32_t tok[5] = {3, 1, 3, 0, 3};
    float *E = rnd(4 * 7, 1), *x = malloc(5 * 7 * 4), *dx = rnd(5 * 7, 1), *dE = calloc(4 * 7, 4);
    embed_forward(x, E, tok, 5, 7);
    cr_assert_eq(memcmp(x + 7, E + 7, 7 * 4), 0);
    embed_backward(dE, dx, tok, 5, 7);
    for (int i = 0; i < 7; i++) {
        cr_assert_float_eq(dE[3 * 7 + i], dx[i] + dx[14 + i] + dx[28 + i], 1e-6);
        cr_assert_float_eq(dE[2 * 7 + i], 0.0f, 0);
    }
    free(g); free(u); free(r); free(h); free(dg); free(du); free(gd); free(ud); free(rd); free(yd); free(ng); free(nu);
    free(E); free(x); free(dx); free(dE);
}

/* ---- KL ---- */
Test(train_ops, kl_gradient_full_and_topk_vs_finite_differences)
{
    int V = 29;
    for (int k = 0; k < 2; k++) {
        struct kl_targets t;
        int keep = k ? 5 : V;
        cr_assert_eq(kl_targets_alloc(&t, 1, keep), 0);
        float *zt = rnd(V, 3), *zs = rnd(V, 3), dz[29];
        kl_target_set(&t, 0, zt, V, 1.7f);
        double kl = kl_position(&t, 0, zs, V, 1.7f, dz, 1.0f);
        cr_assert_gt(kl, 0);
        for (int j = 0; j < V; j++) {
            float keepz = zs[j], h = 1e-2f;
            zs[j] = keepz + h; double lp = kl_position(&t, 0, zs, V, 1.7f, NULL, 1);
            zs[j] = keepz - h; double lm = kl_position(&t, 0, zs, V, 1.7f, NULL, 1);
            zs[j] = keepz;
            double num = 1.7 * 1.7 * (lp - lm) / (2 * h);
            cr_assert(fabs(num - dz[j]) < 2e-3 + 2e-2 * fabs(num), "kl grad %d (topk %d): %g vs %g", j, keep, dz[j], num);
        }
        kl_target_set(&t, 0, zs, V, 1.7f);
        cr_assert_lt(kl_position(&t, 0, zs, V, 1.7f, NULL, 1), 1e-6, "KL(p||p) = 0");
        kl_targets_free(&t); free(zt); free(zs);
    }
}

/* ---- the whole student ---- */
static struct model_config tiny_cfg(void)
{
    struct model_config c = {.dim = 12, .n_layers = 2, .n_heads = 3, .n_kv_heads = 1, .head_dim = 4,
                             .ffn_dim = 10, .vocab = 19, .max_ctx = 64, .norm_eps = 1e-5f,
                             .rope = {10000, 0, 0, 0, 0}, .tied_output = true};
    snprintf(c.arch, sizeof c.arch, "llama");
    return c;
}

static double student_loss(struct student *s, struct student_acts *a, const int32_t *tok, struct kl_targets *t,
                           bool grad)
{
    student_forward(s, a, tok);
    double sum = 0;
    for (int n = 0; n < a->N; n++)
        sum += kl_position(t, (size_t)n, a->logits + (size_t)n * s->cfg.vocab, s->cfg.vocab, 1.0f,
                           grad ? a->dlogits + (size_t)n * s->cfg.vocab : NULL, 1.0f / a->N);
    return sum / a->N;
}

Test(train_student, whole_model_gradient_vs_finite_differences)
{
    struct model_config c = tiny_cfg();
    struct student s;
    struct student_acts a;
    struct kl_targets t;
    cr_assert_eq(student_alloc(&s, &c), 0);
    student_init_random(&s, 5);
    for (size_t i = 0; i < s.n_params; i++) s.p[i] += (float)(0.2 * urand());   /* off the symmetric init */
    cr_assert_eq(student_acts_alloc(&a, &c, 2, 5), 0);
    int32_t tok[10] = {1, 7, 3, 18, 0, 5, 5, 12, 2, 9};
    cr_assert_eq(kl_targets_alloc(&t, 10, c.vocab), 0);
    for (int n = 0; n < 10; n++) { float *z = rnd(c.vocab, 2); kl_target_set(&t, n, z, c.vocab, 1); free(z); }
    float *grad = calloc(s.n_params, 4);
    student_loss(&s, &a, tok, &t, true);
    student_backward(&s, &a, grad, true);
    double dot = 0, na = 0, nn = 0;
    int checked = 0;
    for (size_t i = 0; i < s.n_params; i += 7) {
        float keep = s.p[i], h = 1e-2f;
        s.p[i] = keep + h; double lp = student_loss(&s, &a, tok, &t, false);
        s.p[i] = keep - h; double lm = student_loss(&s, &a, tok, &t, false);
        s.p[i] = keep;
        double num = (lp - lm) / (2.0 * h);
        dot += num * grad[i]; na += (double)grad[i] * grad[i]; nn += num * num;
        cr_assert(fabs(num - grad[i]) < 5e-4 + 5e-2 * fabs(num), "param %zu: analytic %g, numeric %g", i, grad[i], num);
        checked++;
    }
    cr_assert_gt(dot / sqrt(na * nn), 0.999, "cosine of analytic and numeric gradients over %d params", checked);
    free(grad); kl_targets_free(&t); student_acts_free(&a); student_free(&s);
}

/* ---- AdamW ---- */
Test(train_adamw, one_step_by_hand_and_schedule)
{
    struct adamw_cfg c = {.lr = 0.01f, .min_lr = 0.001f, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f,
                          .weight_decay = 0.1f, .clip = 1, .warmup = 10, .total_steps = 110};
    float p[2] = {0.5f, -1.0f}, g[2] = {0.1f, -0.2f}, m[2] = {0}, v[2] = {0};
    adamw_update(p, g, m, v, 2, &c, 1, 0.01, 0.1);
    /* m̂ = g, v̂ = g², step = lr·g/|g| = ±0.01; decay lr·wd·p */
    cr_assert_float_eq(p[0], 0.5 - 0.01 * 0.1 * 0.5 - 0.01, 1e-6);
    cr_assert_float_eq(p[1], -1.0 + 0.01 * 0.1 * 1.0 + 0.01, 1e-6);
    cr_assert_float_eq(m[0], 0.01f, 1e-8);
    cr_assert_float_eq(v[1], 0.05f * 0.04f, 1e-9);
    /* step 2 with g' = 0.3: m = .9·.01 + .1·.3 = .039, v = .95·5e-4 + .05·.09 = .004975 */
    float g2[1] = {0.3f}, p2[1] = {p[0]};
    adamw_update(p2, g2, m, v, 1, &c, 2, 0.01, 0.1);
    double mh = 0.039 / (1 - 0.81), vh = 0.004975 / (1 - 0.9025);
    double want = p[0] - 0.01 * 0.1 * p[0] - 0.01 * mh / (sqrt(vh) + 1e-8);
    cr_assert_float_eq(p2[0], want, 1e-6);
    cr_assert_float_eq(adamw_lr(&c, 5), 0.005, 1e-9);
    cr_assert_float_eq(adamw_lr(&c, 10), 0.01, 1e-9);
    cr_assert_float_eq(adamw_lr(&c, 60), 0.001 + 0.009 * 0.5, 1e-7);
    cr_assert_float_eq(adamw_lr(&c, 110), 0.001, 1e-9);
    float gg[2] = {3, 4};
    cr_assert_float_eq(grad_norm(gg, 2), 5.0, 1e-9);
    grad_clip(gg, 2, 5.0, 1.0);
    cr_assert_float_eq(gg[0], 0.6f, 1e-6);
}

/* ---- distillation of synth:tiny ---- */
struct run { struct model teacher; struct backend *be; struct distill d; };

static float g_sample_temp = 1.0f;   /* train_sample_temp of the next run_open */

static void run_open(struct run *r, const char *shape, int threads, int64_t tokens)
{
    char err[512];
    train_set_threads(threads);
    r->be = cpu_backend_create(threads, CPU_SIMD_AVX512);
    cr_assert_eq(model_load(&r->teacher, "synth:tiny", DT_F32, 1, threads, err, sizeof err), 0, "%s", err);
    struct distill_cfg k;
    distill_cfg_defaults(&k);
    k.batch = 2; k.seq_len = 24; k.tokens = tokens; k.data_tokens = 24 * 24; k.topk = 32;
    k.opt.lr = 3e-3f; k.opt.warmup = 10; k.eval_every = 20; k.init = DISTILL_INIT_RANDOM;
    k.train_embd = true;          /* a random student needs its own embedding */
    k.sample_temp = g_sample_temp;
    cr_assert_eq(distill_init(&r->d, &k, &r->teacher, r->be, shape, err, sizeof err), 0, "%s", err);
    static const char *P[] = {"alpha beta", "gamma delta epsilon", "zeta", "eta theta iota", "kappa lambda",
                              "mu nu xi omicron", "pi rho", "sigma tau upsilon", "phi chi", "psi omega"};
    cr_assert_eq(distill_data_prompts(&r->d, P, 10, NULL, err, sizeof err), 0, "%s", err);
}

static void run_close(struct run *r)
{
    distill_free(&r->d);
    model_free(&r->teacher);
    backend_destroy(r->be);
    train_set_threads(1);
}

Test(train_distill, synth_tiny_lowers_heldout_kl_reproducibly, .timeout = 600)
{
    struct run a, b;
    run_open(&a, "2x64", 2, 2 * 24 * 200);
    cr_assert_eq(distill_train(&a.d, NULL, NULL, NULL, NULL), 0);
    cr_assert_eq(a.d.step, 200);
    /* the held-out KL falls: on average (first vs second half of the evaluations) and overall */
    double first = 0, second = 0;
    int nf = 0, ns = 0, evals = 0;
    for (int i = 0; i < a.d.n_curve; i++) if (isfinite(a.d.curve[i].heldout_kl)) evals++;
    for (int i = 0, e = 0; i < a.d.n_curve; i++) {
        if (!isfinite(a.d.curve[i].heldout_kl)) continue;
        if (e++ < evals / 2) { first += a.d.curve[i].heldout_kl; nf++; } else { second += a.d.curve[i].heldout_kl; ns++; }
    }
    cr_assert_lt(second / ns, first / nf, "held-out KL later %g vs earlier %g", second / ns, first / nf);
    cr_assert_lt(a.d.kl_last, 0.8 * a.d.kl_before, "held-out KL %g -> %g", a.d.kl_before, a.d.kl_last);
    cr_assert_gt(a.d.top1_last, a.d.top1_before, "held-out top-1 agreement %g -> %g", a.d.top1_before,
                 a.d.top1_last);
    /* same seed, same threads: the same bits; and with 1 thread too (fixed reduction order) */
    run_open(&b, "2x64", 2, 2 * 24 * 200);
    cr_assert_eq(b.d.data_hash, a.d.data_hash);
    distill_train(&b.d, NULL, NULL, NULL, NULL);
    cr_assert_eq(memcmp(a.d.st.p, b.d.st.p, a.d.st.n_params * 4), 0, "two runs differ");
    run_close(&b);
    run_open(&b, "2x64", 1, 2 * 24 * 200);
    distill_train(&b.d, NULL, NULL, NULL, NULL);
    cr_assert_eq(memcmp(a.d.st.p, b.d.st.p, a.d.st.n_params * 4), 0, "1 thread differs from 2");
    run_close(&b);
    run_close(&a);
}

/* Prompt data: 24 training sequences over the 9 training prompts. Pass 0 is
 * greedy (train_greedy), so it equals an all-greedy run's, and a later pass
 * of the same prompt differs from it (sampled at 1); the held-out split is
 * one greedy continuation per held-out prompt (1, rounded up to the batch of
 * 2: both copies the same). */
Test(train_distill, prompt_data_greedy_first_pass_and_greedy_heldout)
{
    struct run a, g;
    int T = 24, np = 9;
    run_open(&a, "2x64", 1, 2 * 24);
    g_sample_temp = 0;
    run_open(&g, "2x64", 1, 2 * 24);
    g_sample_temp = 1;
    cr_assert_eq(a.d.n_train_seq, 24);
    cr_assert_eq(a.d.n_held_seq, 2);
    cr_assert_eq(memcmp(a.d.held_tok, a.d.held_tok + T, (size_t)T * 4), 0, "greedy held-out copies differ");
    cr_assert_eq(memcmp(a.d.train_tok, g.d.train_tok, (size_t)np * T * 4), 0, "pass 0 is not greedy");
    int differ = 0;
    for (int j = 0; j < np; j++) {
        cr_assert_eq(memcmp(g.d.train_tok + (size_t)j * T, g.d.train_tok + (size_t)(j + np) * T, (size_t)T * 4), 0,
                     "greedy repeats of prompt %d differ", j);
        differ += memcmp(a.d.train_tok + (size_t)j * T, a.d.train_tok + (size_t)(j + np) * T, (size_t)T * 4) != 0;
    }
    cr_assert_gt(differ, 0, "sampled second pass equals the greedy first for every prompt");
    run_close(&g);
    run_close(&a);
}

/* The written GGUF loads with the same weights: identical logits from the
 * engine's forward over the loaded file and over the in-memory student; and
 * the training forward agrees with the engine's (same conventions). */
Test(train_distill, gguf_round_trip_identical_logits)
{
    struct run r;
    char err[1400], path[] = "/tmp/infertop_draft_XXXXXX.gguf";
    run_open(&r, "layers=2,dim=64,heads=4,kv_heads=2,ffn=96", 2, 2 * 24 * 5);
    distill_train(&r.d, NULL, NULL, NULL, NULL);
    int fd = mkstemps(path, 5);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(distill_write_gguf(&r.d, path, NULL, false, err, sizeof err), 0, "%s", err);
    struct model loaded, view;
    cr_assert_eq(model_load_gguf(&loaded, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(student_as_model(&r.d.st, &view, err, sizeof err), 0);
    cr_assert_eq(loaded.cfg.n_layers, 2);
    cr_assert_eq(loaded.cfg.n_kv_heads, 2);
    cr_assert(loaded.cfg.tied_output);
    int T = 24, V = loaded.cfg.vocab, kvd = 2 * 16;
    float *la = malloc((size_t)T * V * 4), *lb = malloc((size_t)T * V * 4);
    struct model *ms[2] = {&loaded, &view};
    float *outs[2] = {la, lb};
    for (int k = 0; k < 2; k++) {
        struct forward f;
        cr_assert_eq(forward_init(&f, ms[k], r.be, T, err, sizeof err), 0, "%s", err);
        float *K = calloc((size_t)2 * T * kvd, 4), *Vv = calloc((size_t)2 * T * kvd, 4);
        int32_t table[1] = {0};
        struct fwd_seq sq = {r.d.held_tok, T, 0, {K, Vv, (size_t)T * kvd, table, 1, T, kvd, DT_F32}, true, false};
        cr_assert_eq(forward_batch(&f, &sq, 1, outs[k]), T);
        forward_free(&f); free(K); free(Vv);
    }
    cr_assert_eq(memcmp(la, lb, (size_t)T * V * 4), 0, "loaded GGUF logits differ from the student's");
    /* training forward vs engine forward: B=2 rows, the first sequence */
    student_forward(&r.d.st, &r.d.acts, r.d.held_tok);
    double md = 0, mx = 0;
    for (size_t i = 0; i < (size_t)T * V; i++) {
        if (fabs(r.d.acts.logits[i] - la[i]) > md) md = fabs(r.d.acts.logits[i] - la[i]);
        if (fabs(la[i]) > mx) mx = fabs(la[i]);
    }
    cr_assert_lt(md, 1e-3 * (mx + 1), "training forward vs engine forward: max diff %g (max |logit| %g)", md, mx);
    struct draft_info info;
    cr_assert_eq(draft_info_read(path, &info, err, sizeof err), 0);
    cr_assert(info.distilled);
    cr_assert_eq(info.tokens_seen, r.d.tokens_seen);
    cr_assert_float_eq(info.heldout_kl, (float)r.d.kl_last, 1e-6);
    cr_assert_float_eq(info.heldout_top1, (float)r.d.top1_last, 1e-6);
    cr_assert(info.heldout_top1 >= 0 && info.heldout_top1 <= 1);
    free(la); free(lb);
    model_free(&view); model_free(&loaded);
    unlink(path);
    run_close(&r);
}

Test(train_distill, checkpoint_round_trip_and_corruption)
{
    struct run r, s;
    char err[1400], path[] = "/tmp/infertop_ckpt_XXXXXX";
    run_open(&r, "2x64", 1, 2 * 24 * 12);
    /* 6 steps, checkpoint, 6 more; vs 12 straight from the checkpoint */
    r.d.total_steps = 12;
    for (int i = 0; i < 6; i++) distill_step(&r.d);
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(distill_save_checkpoint(&r.d, path, err, sizeof err), 0, "%s", err);
    for (int i = 0; i < 6; i++) distill_step(&r.d);
    run_open(&s, "2x64", 1, 2 * 24 * 12);
    cr_assert_eq(distill_resume(&s.d, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(s.d.step, 6);
    for (int i = 0; i < 6; i++) distill_step(&s.d);
    cr_assert_eq(memcmp(r.d.st.p, s.d.st.p, r.d.st.n_params * 4), 0, "resumed run differs");
    /* corrupt: a flipped byte, a truncation, a bad version, garbage */
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    size_t len = (size_t)ftell(f);
    rewind(f);
    unsigned char *buf = malloc(len);
    cr_assert_eq(fread(buf, 1, len, f), len);
    fclose(f);
    cr_assert_eq(distill_load_checkpoint_buffer(&s.d, buf, len, "ck", false, err, sizeof err), 0, "%s", err);
    buf[len / 2] ^= 0x40;
    cr_assert_eq(distill_load_checkpoint_buffer(&s.d, buf, len, "ck", false, err, sizeof err), -1);
    cr_assert(strstr(err, "crc"), "%s", err);
    buf[len / 2] ^= 0x40;
    cr_assert_eq(distill_load_checkpoint_buffer(&s.d, buf, len - 100, "ck", false, err, sizeof err), -1);
    cr_assert(strstr(err, "size"), "%s", err);
    buf[8] = 9;
    cr_assert_eq(distill_load_checkpoint_buffer(&s.d, buf, len, "ck", false, err, sizeof err), -1);
    cr_assert(strstr(err, "version"), "%s", err);
    cr_assert_eq(distill_load_checkpoint_buffer(&s.d, "garbage", 7, "ck", false, err, sizeof err), -1);
    cr_assert(strstr(err, "ck: magic"), "%s", err);
    free(buf);
    unlink(path);
    run_close(&s);
    run_close(&r);
}
