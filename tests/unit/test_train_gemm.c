/* core/train/train_gemm: the register-blocked NT and NN products against a
 * double-precision reference on random nonzero inputs, at shapes with full
 * tiles and every kind of edge (rows, W rows, vector and scalar columns),
 * every SIMD path; and the determinism the training relies on: an element's
 * bits do not depend on the tile or row range it is computed in, nor on the
 * thread count of train_ops' matmuls. */
#include "core/train/train_gemm.h"
#include "core/train/train_ops.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t g_s = 0x9e3779b97f4a7c15ull;
static float *rnd(size_t n)   /* uniform in [-1, 1), never 0 */
{
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) {
        g_s ^= g_s << 13; g_s ^= g_s >> 7; g_s ^= g_s << 17;
        double u = (double)(g_s >> 11) / 9007199254740992.0 * 2 - 1;
        p[i] = (float)(u == 0 ? 0.5 : u);
    }
    return p;
}

/* max |got - ref| / (Σ|terms| + tiny) over the elements: relative to the
 * size of what was summed; a float sum of K products is within
 * (K + 1)·2⁻²⁴·Σ|terms| of the exact one in any order (Higham's γ bound) */
static double bound(int K) { return (K + 17) * 0x1p-24; }
static double worst(const float *got, const double *ref, const double *mag, size_t n)
{
    double w = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(got[i] - ref[i]) / (mag[i] + 1e-30);
        if (e > w) w = e;
    }
    return w;
}

static const enum gemm_path PATHS[] = {GEMM_PORTABLE, GEMM_AVX2, GEMM_AVX512};
static const char *const PNAME[] = {"portable", "avx2", "avx512"};

static bool path_runs(enum gemm_path p)
{
    enum train_simd want = p == GEMM_AVX512 ? TRAIN_SIMD_AVX512 : p == GEMM_AVX2 ? TRAIN_SIMD_AVX2
                           : TRAIN_SIMD_PORTABLE;
    bool ok = train_simd_force(want) == want;
    train_simd_force(TRAIN_SIMD_AUTO);
    return ok;
}

/* shapes: full tiles only, and ragged everywhere (I past 64 with a vector
 * and a scalar tail, N and O not multiples of 4) */
static const int SHAPES[][3] = {{8, 128, 16}, {13, 83, 21}, {5, 7, 3}, {17, 200, 9}};

static void check_nt(enum gemm_path p, int N, int I, int O)
{
    float *x = rnd((size_t)N * I), *W = rnd((size_t)O * I), *y = calloc((size_t)N * O, 4);
    float *y1 = calloc((size_t)N * O, 4);
    double *ref = malloc((size_t)N * O * 8), *mag = malloc((size_t)N * O * 8);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            double s = 0, m = 0;
            for (int i = 0; i < I; i++) {
                s += (double)x[n * I + i] * W[o * I + i];
                m += fabs((double)x[n * I + i] * W[o * I + i]);
            }
            ref[n * O + o] = s; mag[n * O + o] = m;
        }
    gemm_nt(p, y, O, x, W, N, I, 0, O);
    cr_assert_lt(worst(y, ref, mag, (size_t)N * O), bound(I), "gemm_nt %s N=%d I=%d O=%d", PNAME[p], N, I, O);
    /* one W row and one x row at a time: the same bits */
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) gemm_nt(p, y1 + (size_t)n * O, O, x + (size_t)n * I, W, 1, I, o, o + 1);
    cr_assert(!memcmp(y, y1, (size_t)N * O * 4), "gemm_nt %s: tiled and single elements differ", PNAME[p]);
    free(x); free(W); free(y); free(y1); free(ref); free(mag);
}

/* C[R][cols] += A(r, k)·B[K][cols], A stored transposed when trans */
static void check_nn(enum gemm_path p, int R, int cols, int K, bool trans)
{
    float *A = rnd((size_t)R * K), *B = rnd((size_t)K * cols), *C0 = rnd((size_t)R * cols);
    float *C = malloc((size_t)R * cols * 4), *C1 = malloc((size_t)R * cols * 4);
    size_t ars = trans ? 1 : (size_t)K, aks = trans ? (size_t)R : 1;
    double *ref = malloc((size_t)R * cols * 8), *mag = malloc((size_t)R * cols * 8);
    for (int r = 0; r < R; r++)
        for (int c = 0; c < cols; c++) {
            double s = C0[r * cols + c], m = fabs(s);
            for (int k = 0; k < K; k++) {
                double t = (double)A[r * ars + k * aks] * B[k * cols + c];
                s += t; m += fabs(t);
            }
            ref[r * cols + c] = s; mag[r * cols + c] = m;
        }
    memcpy(C, C0, (size_t)R * cols * 4);
    memcpy(C1, C0, (size_t)R * cols * 4);
    gemm_nn(p, C, cols, A, ars, aks, B, cols, 0, R, cols, K);
    cr_assert_lt(worst(C, ref, mag, (size_t)R * cols), bound(K), "gemm_nn %s R=%d cols=%d K=%d trans=%d", PNAME[p],
                 R, cols, K, trans);
    for (int r = 0; r < R; r++) gemm_nn(p, C1, cols, A, ars, aks, B, cols, r, r + 1, cols, K);
    cr_assert(!memcmp(C, C1, (size_t)R * cols * 4), "gemm_nn %s: tiled and single rows differ", PNAME[p]);
    free(A); free(B); free(C0); free(C); free(C1); free(ref); free(mag);
}

Test(train_gemm, nt_vs_double_reference_and_tile_invariant)
{
    for (int p = 0; p < 3; p++) {
        if (!path_runs(PATHS[p])) continue;
        for (size_t s = 0; s < sizeof SHAPES / sizeof SHAPES[0]; s++)
            check_nt(PATHS[p], SHAPES[s][0], SHAPES[s][1], SHAPES[s][2]);
    }
}

Test(train_gemm, nn_vs_double_reference_and_tile_invariant)
{
    for (int p = 0; p < 3; p++) {
        if (!path_runs(PATHS[p])) continue;
        for (size_t s = 0; s < sizeof SHAPES / sizeof SHAPES[0]; s++)
            for (int t = 0; t < 2; t++) check_nn(PATHS[p], SHAPES[s][0], SHAPES[s][1], SHAPES[s][2], t);
        /* K past one k block (nn_kblock: 512 KiB of B rows) */
        check_nn(PATHS[p], 6, 1100, 150, false);
    }
}

/* train_ops' matmuls at 1, 2 and 3 threads: bit for bit the same */
Test(train_gemm, matmuls_same_bits_at_any_thread_count)
{
    int N = 37, I = 150, O = 70;
    float *x = rnd((size_t)N * I), *W = rnd((size_t)O * I), *dy = rnd((size_t)N * O);
    float *out[3][3];
    for (int t = 0; t < 3; t++) {
        train_set_threads(t + 1);
        out[t][0] = calloc((size_t)N * O, 4);
        out[t][1] = calloc((size_t)N * I, 4);
        out[t][2] = calloc((size_t)O * I, 4);
        mm_forward(out[t][0], x, W, N, I, O);
        mm_backward_x(out[t][1], dy, W, N, I, O);
        mm_backward_w(out[t][2], dy, x, N, I, O);
    }
    train_set_threads(1);
    size_t n[3] = {(size_t)N * O, (size_t)N * I, (size_t)O * I};
    for (int t = 1; t < 3; t++)
        for (int k = 0; k < 3; k++)
            cr_assert(!memcmp(out[0][k], out[t][k], n[k] * 4), "matmul %d: %d threads differ from 1", k, t + 1);
    for (int t = 0; t < 3; t++) for (int k = 0; k < 3; k++) free(out[t][k]);
    free(x); free(W); free(dy);
}
