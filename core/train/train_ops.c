/* core/train/train_ops.c — f32 forward/backward ops for training (see train_ops.h). */
#include "core/train/train_ops.h"
#include "core/train/train_gemm.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

/* ---- SIMD dot / axpy ---------------------------------------------------- */

typedef float v8f __attribute__((vector_size(32)));

static float dot_portable(const float *a, const float *b, int n)
{
    v8f s0 = {0}, s1 = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        v8f a0, b0, a1, b1;
        memcpy(&a0, a + i, 32); memcpy(&b0, b + i, 32);
        memcpy(&a1, a + i + 8, 32); memcpy(&b1, b + i + 8, 32);
        s0 += a0 * b0;
        s1 += a1 * b1;
    }
    s0 += s1;
    float s = 0;
    for (int k = 0; k < 8; k++) s += s0[k];
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

static void axpy_portable(float *y, float a, const float *x, int n)
{
    int i = 0;
    v8f av = {a, a, a, a, a, a, a, a};
    for (; i + 8 <= n; i += 8) {
        v8f xv, yv;
        memcpy(&xv, x + i, 32); memcpy(&yv, y + i, 32);
        yv += av * xv;
        memcpy(y + i, &yv, 32);
    }
    for (; i < n; i++) y[i] += a * x[i];
}

#if defined(__x86_64__)
#include <immintrin.h>

/* dot and axpy at one SIMD width (attention, embedding): W floats per vector
 * V. Tails past the last full vector are scalar; every output's sum order is
 * fixed by the width alone (the AVX-512 path is bit-reproducible on its own,
 * not against AVX2's). The matmuls are core/train/train_gemm.c's tiles. */
#define DEFINE_TRAIN_SIMD(LVL, TGT, V, W, ZERO, LOAD, STORE, SET1, FMA, ADD, HSUM)              \
    TGT static float dot_##LVL(const float *a, const float *b, int n)                          \
    {                                                                                          \
        V s0 = ZERO, s1 = ZERO;                                                                \
        int i = 0;                                                                             \
        for (; i + 2 * W <= n; i += 2 * W) {                                                   \
            s0 = FMA(LOAD(a + i), LOAD(b + i), s0);                                            \
            s1 = FMA(LOAD(a + i + W), LOAD(b + i + W), s1);                                    \
        }                                                                                      \
        float s = HSUM(ADD(s0, s1));                                                           \
        for (; i < n; i++) s += a[i] * b[i];                                                   \
        return s;                                                                              \
    }                                                                                          \
    TGT static void axpy_##LVL(float *y, float a, const float *x, int n)                       \
    {                                                                                          \
        V av = SET1(a);                                                                        \
        int i = 0;                                                                             \
        for (; i + W <= n; i += W) STORE(y + i, FMA(av, LOAD(x + i), LOAD(y + i)));            \
        for (; i < n; i++) y[i] += a * x[i];                                                   \
    }

/* horizontal sums: lanes in ascending order (AVX2), the reduce tree (AVX-512) */
__attribute__((target("avx2,fma"))) static inline float hsum8(__m256 v)
{
    float t[8], r = 0;
    _mm256_storeu_ps(t, v);
    for (int j = 0; j < 8; j++) r += t[j];
    return r;
}
__attribute__((target("avx512f"))) static inline float hsum16(__m512 v) { return _mm512_reduce_add_ps(v); }

DEFINE_TRAIN_SIMD(avx2, __attribute__((target("avx2,fma"))), __m256, 8, _mm256_setzero_ps(), _mm256_loadu_ps,
                  _mm256_storeu_ps, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, hsum8)
DEFINE_TRAIN_SIMD(avx512, __attribute__((target("avx512f,avx2,fma"))), __m512, 16, _mm512_setzero_ps(),
                  _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, hsum16)

static bool cpu_has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
static bool cpu_has_avx512(void)
{
    __builtin_cpu_init();
    return cpu_has_avx2() && __builtin_cpu_supports("avx512f");
}
#else
static bool cpu_has_avx2(void) { return false; }
static bool cpu_has_avx512(void) { return false; }
#define dot_avx2 dot_portable
#define axpy_avx2 axpy_portable
#define dot_avx512 dot_portable
#define axpy_avx512 axpy_portable
#endif

static enum train_simd g_simd = TRAIN_SIMD_AUTO;
static float (*g_dot)(const float *, const float *, int);
static void (*g_axpy)(float *, float, const float *, int);

enum train_simd train_simd_force(enum train_simd s)
{
    bool auto_ = s == TRAIN_SIMD_AUTO;
    if ((auto_ || s == TRAIN_SIMD_AVX512) && cpu_has_avx512()) {
        g_simd = TRAIN_SIMD_AVX512;
        g_dot = dot_avx512; g_axpy = axpy_avx512;
    } else if ((auto_ || s == TRAIN_SIMD_AVX2 || s == TRAIN_SIMD_AVX512) && cpu_has_avx2()) {
        g_simd = TRAIN_SIMD_AVX2;
        g_dot = dot_avx2; g_axpy = axpy_avx2;
    } else {
        g_simd = TRAIN_SIMD_PORTABLE;
        g_dot = dot_portable; g_axpy = axpy_portable;
    }
    return g_simd;
}

const char *train_simd_name(void)
{
    if (!g_dot) train_simd_force(TRAIN_SIMD_AUTO);
    return g_simd == TRAIN_SIMD_AVX512 ? "avx512" : g_simd == TRAIN_SIMD_AVX2 ? "avx2+fma" : "portable";
}

float train_dot(const float *a, const float *b, int n)
{
    if (!g_dot) train_simd_force(TRAIN_SIMD_AUTO);
    return g_dot(a, b, n);
}

void train_axpy(float *y, float a, const float *x, int n)
{
    if (!g_axpy) train_simd_force(TRAIN_SIMD_AUTO);
    g_axpy(y, a, x, n);
}

/* ---- threads ------------------------------------------------------------ */

static int g_threads = 1;

void train_set_threads(int n) { g_threads = n < 1 ? 1 : n > 64 ? 64 : n; }
int  train_threads(void) { return g_threads; }

struct par_job {
    void (*fn)(void *, int);
    void *arg;
    int n_tasks, stride, first;
};

/* Worker w runs tasks w, w + stride, ...: a static split, so which thread runs
 * a task never changes what it computes. */
static void *par_worker(void *p)
{
    struct par_job *j = p;
    for (int t = j->first; t < j->n_tasks; t += j->stride) j->fn(j->arg, t);
    return NULL;
}

void train_parallel(int n_tasks, void (*fn)(void *arg, int task), void *arg)
{
    int nt = g_threads < n_tasks ? g_threads : n_tasks;
    if (!g_dot) train_simd_force(TRAIN_SIMD_AUTO);
    if (nt <= 1) {
        for (int t = 0; t < n_tasks; t++) fn(arg, t);
        return;
    }
    pthread_t th[64];
    struct par_job jobs[64];
    int started = 0;
    for (int w = 1; w < nt; w++) {
        jobs[w] = (struct par_job){fn, arg, n_tasks, nt, w};
        if (pthread_create(&th[w], NULL, par_worker, &jobs[w]) != 0) break;
        started = w;
    }
    /* threads that failed to start: their tasks run here, same results */
    for (int w = started + 1; w < nt; w++) {
        jobs[w] = (struct par_job){fn, arg, n_tasks, nt, w};
        par_worker(&jobs[w]);
    }
    jobs[0] = (struct par_job){fn, arg, n_tasks, nt, 0};
    par_worker(&jobs[0]);
    for (int w = 1; w <= started; w++) pthread_join(th[w], NULL);
}

/* ---- matmul ------------------------------------------------------------ */

/* The matmuls split output rows over one task per thread (ranges aligned to
 * the tiles' 4 rows): each task streams the other operand once, and an
 * element's bits never depend on the split (train_gemm.h). */
struct mm_job {
    float *out;
    const float *a, *b;
    int N, I, O, parts;
};

static enum gemm_path gemm_path_now(void)
{
    return g_simd == TRAIN_SIMD_AVX512 ? GEMM_AVX512 : g_simd == TRAIN_SIMD_AVX2 ? GEMM_AVX2 : GEMM_PORTABLE;
}

/* [*r0, *r1): part t of `parts` over R rows, 4-aligned. */
static void part_rows(int R, int parts, int t, int *r0, int *r1)
{
    int per = ((R + parts - 1) / parts + 3) & ~3;
    *r0 = t * per < R ? t * per : R;
    *r1 = *r0 + per < R ? *r0 + per : R;
}

static int mm_parts(int R)
{
    int p = train_threads(), most = (R + 3) / 4;
    return p < most ? p : most > 0 ? most : 1;
}

static void mm_fwd_task(void *p, int t)
{
    const struct mm_job *j = p;
    int o0, o1;
    part_rows(j->O, j->parts, t, &o0, &o1);
    gemm_nt(gemm_path_now(), j->out, j->O, j->a, j->b, j->N, j->I, o0, o1);
}

void mm_forward(float *y, const float *x, const float *W, int N, int I, int O)
{
    struct mm_job j = {y, x, W, N, I, O, mm_parts(O)};
    train_parallel(j.parts, mm_fwd_task, &j);
}

/* dx[n][i] += Σ_o dy[n][o]·W[o][i]: NN with A = dy (row stride O), B = W. */
static void mm_bx_task(void *p, int t)
{
    const struct mm_job *j = p;
    int n0, n1;
    part_rows(j->N, j->parts, t, &n0, &n1);
    gemm_nn(gemm_path_now(), j->out, j->I, j->a, (size_t)j->O, 1, j->b, j->I, n0, n1, j->I, j->O);
}

void mm_backward_x(float *dx, const float *dy, const float *W, int N, int I, int O)
{
    struct mm_job j = {dx, dy, W, N, I, O, mm_parts(N)};
    train_parallel(j.parts, mm_bx_task, &j);
}

/* dW[o][i] += Σ_n dy[n][o]·x[n][i]: NN with A = dyᵀ (A(o, n) = dy[n·O + o]), B = x. */
static void mm_bw_task(void *p, int t)
{
    const struct mm_job *j = p;
    int o0, o1;
    part_rows(j->O, j->parts, t, &o0, &o1);
    gemm_nn(gemm_path_now(), j->out, j->I, j->a, 1, (size_t)j->O, j->b, j->I, o0, o1, j->I, j->N);
}

void mm_backward_w(float *dW, const float *dy, const float *x, int N, int I, int O)
{
    struct mm_job j = {dW, dy, x, N, I, O, mm_parts(O)};
    train_parallel(j.parts, mm_bw_task, &j);
}

/* ---- rmsnorm ------------------------------------------------------------ */

void rmsnorm_forward(float *y, float *rstd, const float *x, const float *w, int N, int D, float eps)
{
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * D;
        float *yr = y + (size_t)n * D;
        float ss = 0;
        for (int i = 0; i < D; i++) ss += xr[i] * xr[i];
        float r = 1.0f / sqrtf(ss / (float)D + eps);
        rstd[n] = r;
        for (int i = 0; i < D; i++) yr[i] = xr[i] * r * w[i];
    }
}

/* y_i = x_i r w_i, r = (Σx²/D + eps)^-½:
 * ∂L/∂x_i = r w_i dy_i − x_i r³/D · Σ_j dy_j w_j x_j;  ∂L/∂w_i = Σ_n dy_i x_i r. */
void rmsnorm_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
                      const float *rstd, int N, int D)
{
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * D, *g = dy + (size_t)n * D;
        float *dxr = dx + (size_t)n * D, r = rstd[n], dot = 0;
        for (int i = 0; i < D; i++) dot += g[i] * w[i] * xr[i];
        float c = dot * r * r * r / (float)D;
        for (int i = 0; i < D; i++) dxr[i] += r * w[i] * g[i] - xr[i] * c;
        if (dw)
            for (int i = 0; i < D; i++) dw[i] += g[i] * xr[i] * r;
    }
}

/* ---- rope --------------------------------------------------------------- */

float train_rope_freq(int i, int head_dim, const struct rope_params *rp)
{
    float freq = powf(rp->theta, -2.0f * (float)i / (float)head_dim);
    if (rp->factor <= 0.0f) return freq;
    const float two_pi = 6.283185307179586f;
    float wavelen = two_pi / freq;
    float low_wavelen = (float)rp->orig_ctx / rp->low_freq_factor;
    float high_wavelen = (float)rp->orig_ctx / rp->high_freq_factor;
    if (wavelen < high_wavelen) return freq;
    if (wavelen > low_wavelen) return freq / rp->factor;
    float smooth = ((float)rp->orig_ctx / wavelen - rp->low_freq_factor) /
                   (rp->high_freq_factor - rp->low_freq_factor);
    return (1.0f - smooth) * freq / rp->factor + smooth * freq;
}

/* sign +1: the forward rotation; -1: its transpose (the backward). */
static void rope_apply(float *x, const int *pos, int N, int n_heads, int head_dim,
                       const struct rope_params *rp, float sign)
{
    for (int n = 0; n < N; n++)
        for (int i = 0; i < head_dim / 2; i++) {
            float angle = (float)pos[n] * train_rope_freq(i, head_dim, rp);
            float c = cosf(angle), s = sign * sinf(angle);
            for (int h = 0; h < n_heads; h++) {
                float *p = x + (size_t)n * n_heads * head_dim + (size_t)h * head_dim + 2 * i;
                float a = p[0], b = p[1];
                p[0] = a * c - b * s;
                p[1] = a * s + b * c;
            }
        }
}

void rope_forward(float *x, const int *pos, int N, int n_heads, int head_dim,
                  const struct rope_params *rp)
{
    rope_apply(x, pos, N, n_heads, head_dim, rp, 1.0f);
}

void rope_backward(float *dx, const int *pos, int N, int n_heads, int head_dim,
                   const struct rope_params *rp)
{
    rope_apply(dx, pos, N, n_heads, head_dim, rp, -1.0f);
}

/* ---- attention ---------------------------------------------------------- */

struct attn_job {
    float *out, *P, *dq, *dk, *dv;
    const float *q, *k, *v, *dout, *Pc;
    const struct attn_dims *d;
};

/* Task = (sequence b, KV head g): the query heads of g's group, in order. */
static void attn_fwd_task(void *p, int task)
{
    const struct attn_job *j = p;
    const struct attn_dims *d = j->d;
    int b = task / d->n_kv_heads, g = task % d->n_kv_heads, T = d->T, hd = d->head_dim;
    int group = d->n_heads / d->n_kv_heads, qd = d->n_heads * hd, kvd = d->n_kv_heads * hd;
    for (int h = g * group; h < (g + 1) * group; h++)
        for (int t = 0; t < T; t++) {
            const float *qt = j->q + (size_t)(b * T + t) * qd + (size_t)h * hd;
            float *Pt = j->P + (((size_t)b * d->n_heads + h) * T + t) * T;
            float mx = -INFINITY;
            for (int s = 0; s <= t; s++) {
                Pt[s] = d->scale * g_dot(qt, j->k + (size_t)(b * T + s) * kvd + (size_t)g * hd, hd);
                if (Pt[s] > mx) mx = Pt[s];
            }
            float sum = 0;
            for (int s = 0; s <= t; s++) { Pt[s] = expf(Pt[s] - mx); sum += Pt[s]; }
            for (int s = 0; s <= t; s++) Pt[s] /= sum;
            for (int s = t + 1; s < T; s++) Pt[s] = 0;
            float *o = j->out + (size_t)(b * T + t) * qd + (size_t)h * hd;
            memset(o, 0, (size_t)hd * sizeof *o);
            for (int s = 0; s <= t; s++)
                g_axpy(o, Pt[s], j->v + (size_t)(b * T + s) * kvd + (size_t)g * hd, hd);
        }
}

void attn_forward(float *out, float *P, const float *q, const float *k, const float *v,
                  const struct attn_dims *d)
{
    struct attn_job j = {.out = out, .P = P, .q = q, .k = k, .v = v, .d = d};
    train_parallel(d->B * d->n_kv_heads, attn_fwd_task, &j);
}

/* dP_s = dO·v_s; dv_s += P_s dO; dS_s = P_s (dP_s − Σ P dP); dq += scale Σ dS_s k_s;
 * dk_s += scale dS_s q. Task (b, g) owns dk/dv of KV head g and dq of its group. */
static void attn_bwd_task(void *p, int task)
{
    const struct attn_job *j = p;
    const struct attn_dims *d = j->d;
    int b = task / d->n_kv_heads, g = task % d->n_kv_heads, T = d->T, hd = d->head_dim;
    int group = d->n_heads / d->n_kv_heads, qd = d->n_heads * hd, kvd = d->n_kv_heads * hd;
    float dP[T > 0 ? T : 1];
    for (int h = g * group; h < (g + 1) * group; h++)
        for (int t = 0; t < T; t++) {
            size_t qo = (size_t)(b * T + t) * qd + (size_t)h * hd;
            const float *Pt = j->Pc + (((size_t)b * d->n_heads + h) * T + t) * T;
            const float *dO = j->dout + qo;
            float sum = 0;
            for (int s = 0; s <= t; s++) {
                size_t ko = (size_t)(b * T + s) * kvd + (size_t)g * hd;
                dP[s] = g_dot(dO, j->v + ko, hd);
                sum += Pt[s] * dP[s];
                g_axpy(j->dv + ko, Pt[s], dO, hd);
            }
            for (int s = 0; s <= t; s++) {
                size_t ko = (size_t)(b * T + s) * kvd + (size_t)g * hd;
                float dS = Pt[s] * (dP[s] - sum) * d->scale;
                g_axpy(j->dq + qo, dS, j->k + ko, hd);
                g_axpy(j->dk + ko, dS, j->q + qo, hd);
            }
        }
}

void attn_backward(float *dq, float *dk, float *dv, const float *dout, const float *P,
                   const float *q, const float *k, const float *v, const struct attn_dims *d)
{
    struct attn_job j = {.dq = dq, .dk = dk, .dv = dv, .dout = dout, .Pc = P, .q = q, .k = k,
                         .v = v, .d = d};
    train_parallel(d->B * d->n_kv_heads, attn_bwd_task, &j);
}

/* ---- swiglu, embedding -------------------------------------------------- */

void swiglu_forward(float *h, const float *g, const float *u, int64_t n)
{
    for (int64_t i = 0; i < n; i++) h[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

/* h = g σ(g) u: ∂h/∂g = u σ(g)(1 + g(1 − σ(g))), ∂h/∂u = g σ(g). */
void swiglu_backward(float *dg, float *du, const float *dh, const float *g, const float *u, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        float sg = 1.0f / (1.0f + expf(-g[i]));
        dg[i] += dh[i] * u[i] * sg * (1.0f + g[i] * (1.0f - sg));
        du[i] += dh[i] * g[i] * sg;
    }
}

void embed_forward(float *x, const float *E, const int32_t *tok, int N, int D)
{
    for (int n = 0; n < N; n++) memcpy(x + (size_t)n * D, E + (size_t)tok[n] * D, (size_t)D * sizeof *x);
}

void embed_backward(float *dE, const float *dx, const int32_t *tok, int N, int D)
{
    for (int n = 0; n < N; n++) train_axpy(dE + (size_t)tok[n] * D, 1.0f, dx + (size_t)n * D, D);
}
