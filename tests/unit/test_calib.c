/* Calibration statistics (core/quant/calib.c) against an independent
 * double-precision forward (ref_llama.c) that records every linear input;
 * the forward observer changes nothing it observes. synth:tiny. */
#include "core/quant/calib.h"
#include "kernels/cpu/cpu_backend.h"
#include "tests/unit/ref_llama.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N_TAPS_LAYER 4

/* Reference sums: [n_layers*4 + 1] inputs of up to W channels. */
struct ref_stats {
    int n_layers, W;
    double *absmax, *sumsq;   /* [inputs][W] */
    double *tensor_max;       /* [inputs] */
    long *rows;               /* [inputs] */
};

static int ref_index(const struct ref_stats *r, int layer, enum fwd_tap tap)
{
    return tap == FWD_TAP_HEAD ? r->n_layers * N_TAPS_LAYER : layer * N_TAPS_LAYER + (int)tap;
}

static void ref_tap(void *user, int layer, enum fwd_tap tap, int t, const double *x, int cols)
{
    (void)t;
    struct ref_stats *r = user;
    int k = ref_index(r, layer, tap);
    for (int j = 0; j < cols; j++) {
        double a = fabs(x[j]);
        r->absmax[(size_t)k * r->W + j] = fmax(r->absmax[(size_t)k * r->W + j], a);
        r->tensor_max[k] = fmax(r->tensor_max[k], a);
        r->sumsq[(size_t)k * r->W + j] += x[j] * x[j];
    }
    r->rows[k]++;
}

static void open_tiny(struct model *m, struct backend **be)
{
    char err[256];
    cr_assert_eq(model_synth(m, &model_preset_find("tiny")->cfg, DT_F32, 11, 2, err, sizeof err), 0, "%s", err);
    *be = cpu_backend_create(2, CPU_SIMD_AMX);
    cr_assert_not_null(*be);
    cr_assert_eq(model_upload(m, *be), 0);
}

static void random_tokens(int32_t *t, int n, int vocab)
{
    uint32_t s = 12345;
    for (int i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        t[i] = (int32_t)((s >> 8) % (uint32_t)vocab);
    }
}

static void check_close(double got, double want, double scale, const char *what, int k, int j)
{
    cr_assert(fabs(got - want) <= 1e-4 * scale + 1e-9, "%s input %d channel %d: got %.9g want %.9g", what, k, j,
              got, want);
}

/* 40 tokens in sequences of 16: [0,16), [16,32), [32,40), each from position 0. */
Test(calib, stats_match_double_reference)
{
    struct model m;
    struct backend *be;
    open_tiny(&m, &be);
    const struct model_config *c = &m.cfg;
    enum { N = 40, SEQ = 16 };
    int32_t toks[N];
    random_tokens(toks, N, c->vocab);
    struct calib_stats s;
    char err[256];
    cr_assert_eq(calib_collect(&m, be, toks, N, SEQ, &s, err, sizeof err), 0, "%s", err);
    cr_assert_eq(s.n_tokens, N);

    int inputs = c->n_layers * N_TAPS_LAYER + 1;
    struct ref_stats r = {c->n_layers, c->ffn_dim, calloc((size_t)inputs * c->ffn_dim, 8),
                          calloc((size_t)inputs * c->ffn_dim, 8), calloc(inputs, 8), calloc(inputs, sizeof(long))};
    for (int at = 0; at < N; at += SEQ)
        ref_llama_forward(&m, toks + at, N - at < SEQ ? N - at : SEQ, NULL, ref_tap, &r);

    for (int l = 0; l <= c->n_layers; l++)
        for (int tp = 0; tp < FWD_TAP_COUNT; tp++) {
            if ((l == c->n_layers) != (tp == FWD_TAP_HEAD)) continue;
            const struct calib_input *in = calib_get(&s, l, (enum fwd_tap)tp);
            int k = ref_index(&r, l, (enum fwd_tap)tp);
            cr_assert_not_null(in);
            cr_assert_eq(in->tokens, N, "input %d saw %lld rows", k, (long long)in->tokens);
            cr_assert_eq(r.rows[k], N);
            cr_assert_eq(in->cols, tp == FWD_TAP_DOWN ? c->ffn_dim : tp == FWD_TAP_O ? c->n_heads * c->head_dim : c->dim);
            check_close(in->absmax, r.tensor_max[k], r.tensor_max[k], "tensor max", k, -1);
            cr_assert(r.tensor_max[k] > 0, "input %d is all zero", k);
            for (int j = 0; j < in->cols; j++) {
                check_close(in->ch_absmax[j], r.absmax[(size_t)k * r.W + j], r.tensor_max[k], "max|x|", k, j);
                double want = r.sumsq[(size_t)k * r.W + j];
                check_close(in->ch_sumsq[j], want, want, "sum x^2", k, j);
                check_close(calib_channel_norm(in, j), sqrt(want), sqrt(want), "norm", k, j);
            }
        }
    cr_assert_null(calib_get(&s, c->n_layers, FWD_TAP_QKV));
    cr_assert_null(calib_get(&s, -1, FWD_TAP_O));
    free(r.absmax); free(r.sumsq); free(r.tensor_max); free(r.rows);
    calib_free(&s);
    model_free(&m);
    backend_destroy(be);
}

static void count_tap(void *user, int layer, enum fwd_tap tap, const float *x, int rows, int cols)
{
    (void)layer; (void)tap; (void)x; (void)cols;
    *(long *)user += rows;
}

/* An observer sees the inputs and changes nothing: logits bit for bit equal. */
Test(calib, observer_leaves_logits_unchanged)
{
    struct model m;
    struct backend *be;
    open_tiny(&m, &be);
    const struct model_config *c = &m.cfg;
    enum { N = 12 };
    int32_t toks[N];
    random_tokens(toks, N, c->vocab);
    float *a = malloc((size_t)N * c->vocab * 4), *b = malloc((size_t)N * c->vocab * 4);
    char err[256];
    long seen = 0;
    for (int pass = 0; pass < 2; pass++) {
        struct forward f;
        int kvd = c->n_kv_heads * c->head_dim;
        float *k = calloc((size_t)c->n_layers * N * kvd, 4), *v = calloc((size_t)c->n_layers * N * kvd, 4);
        int32_t table[1] = {0};
        struct kv_view kv = {k, v, (size_t)N * kvd, table, 1, N, kvd, DT_F32};
        cr_assert_eq(forward_init(&f, &m, be, N, err, sizeof err), 0, "%s", err);
        if (pass) { f.observe = count_tap; f.observe_user = &seen; }
        struct fwd_seq s = {toks, N, 0, kv, true, false};
        cr_assert_eq(forward_batch(&f, &s, 1, pass ? b : a), N);
        forward_free(&f);
        free(k); free(v);
    }
    cr_assert_eq(memcmp(a, b, (size_t)N * c->vocab * 4), 0, "an observer changed the logits");
    cr_assert_eq(seen, (long)N * (c->n_layers * 4 + 1), "observer saw %ld rows", seen);
    free(a); free(b);
    model_free(&m);
    backend_destroy(be);
}

Test(calib, no_tokens_is_an_error)
{
    struct model m;
    struct backend *be;
    open_tiny(&m, &be);
    struct calib_stats s;
    char err[256] = "";
    int32_t t = 1;
    cr_assert_eq(calib_collect(&m, be, &t, 0, 16, &s, err, sizeof err), -1);
    cr_assert(strstr(err, "no tokens"), "%s", err);
    model_free(&m);
    backend_destroy(be);
}
