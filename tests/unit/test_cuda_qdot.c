/* tests/unit/test_cuda_qdot.c — the CUDA block-format matmul's per-block math
 * (kernels/cuda/cuda_qdot.h) and launch geometry (cl_qdot_plan), on the CPU.
 *
 *  - activation blocks are byte-identical to the CPU backend's act_q8 / act_q8k
 *    (same codes, same f16-rounded scales), so the integer sums are the same;
 *  - Σ qd_block_dot over a row equals the CPU backend's scalar dot
 *    (dot_q*_ref) to float rounding, for every format, on random rows;
 *  - the kernel's reduction (lane l sums blocks l, l+32, ..., then the xor
 *    butterfly of warp_sum) stays within float rounding of a double dot of
 *    the DEQUANTIZED weights with the quantized activations, and within the
 *    activation quantization bound of the double dot with the f32 x;
 *  - qd_dp4a, qd_round_half match their definitions;
 *  - cl_qdot_plan covers every (output row, x row) exactly once. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/quant_blocks.h"
#include "kernels/cuda/cuda_launch.h"
#include "kernels/cuda/cuda_qdot.h"
#include "kernels/formats.h"

static const enum dtype ALL[] = {DT_Q8_0, DT_Q4_0, DT_Q4_1, DT_Q4_K, DT_Q6_K};
#define N_ALL 5

static uint64_t rng_state = 0x243f6a8885a308d3ull;
static double rnd_unit(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) * 0x1.0p-53;
}
static float rnd(float lo, float hi) { return lo + (hi - lo) * (float)rnd_unit(); }
static int rnd_int(int lo, int hi) { return lo + (int)(rnd_unit() * (hi - lo + 1)); }

/* x[n] with a few outliers (activations have them; they stress the scales). */
static float *rand_act(int n)
{
    float *x = malloc(sizeof *x * (size_t)n);
    cr_assert(x);
    for (int i = 0; i < n; i++) x[i] = rnd(-1, 1) * (rnd_unit() < 0.02 ? 20.f : 1.f);
    return x;
}

/* One random weight row of K elements quantized to t. */
static uint8_t *rand_wrow(enum dtype t, int K, float **deq)
{
    float *w = malloc(sizeof *w * (size_t)K);
    uint8_t *row = malloc(dtype_row_bytes(t, K));
    cr_assert(w && row);
    float scale = rnd(0.01f, 2.f), off = t == DT_Q4_1 || t == DT_Q4_K ? rnd(-0.5f, 0.5f) : 0.f;
    for (int k = 0; k < K; k++) w[k] = off + scale * rnd(-1, 1);
    dtype_encode_row(t, w, row, K);
    dtype_decode_row(t, row, w, K);          /* the values the row represents */
    *deq = w;
    return row;
}

static int rand_K(enum dtype t)
{
    int be = qd_block_elems(t);
    return be * rnd_int(1, t == DT_Q4_K || t == DT_Q6_K ? 24 : 160);
}

/* The kernel's order: 32 lane partials over strided blocks, xor butterfly. */
static float warp_order_dot(enum dtype t, const uint8_t *row, const void *act, int nb)
{
    float lane[32];
    for (int l = 0; l < 32; l++) {
        lane[l] = 0.f;
        for (int b = l; b < nb; b += 32) lane[l] += qd_block_dot(t, row, act, b);
    }
    for (int o = 16; o > 0; o >>= 1) {
        float next[32];
        for (int l = 0; l < 32; l++) next[l] = lane[l] + lane[l ^ o];
        memcpy(lane, next, sizeof lane);
    }
    return lane[0];
}

static void *quantize_act(enum dtype t, const float *x, int K)
{
    int nb = K / qd_block_elems(t);
    void *act = malloc((size_t)nb * (size_t)qd_act_bytes(t));
    cr_assert(act);
    for (int b = 0; b < nb; b++) qd_act_block(t, x, act, b);
    return act;
}

Test(cuda_qdot, activation_blocks_equal_cpu_backend)
{
    _Static_assert(sizeof(struct qd_act32) == sizeof(struct act_q8), "act32 is act_q8's layout");
    _Static_assert(sizeof(struct qd_act256) == sizeof(struct act_q8k), "act256 is act_q8k's layout");
    for (int it = 0; it < 200; it++) {
        int K = 256 * rnd_int(1, 8);
        float *x = rand_act(K);
        if (it == 0) memset(x, 0, sizeof *x * 32);    /* an all-zero block: d = 0, codes 0 */
        struct act_q8 *a = malloc(sizeof *a * (size_t)(K / 32));
        struct act_q8k *ak = malloc(sizeof *ak * (size_t)(K / 256));
        cr_assert(a && ak);
        act_q8_row(x, a, K);
        act_q8k_row(x, ak, K);
        void *q32 = quantize_act(DT_Q8_0, x, K), *q256 = quantize_act(DT_Q6_K, x, K);
        cr_assert(memcmp(q32, a, sizeof *a * (size_t)(K / 32)) == 0, "act32 differs from act_q8 (K=%d)", K);
        cr_assert(memcmp(q256, ak, sizeof *ak * (size_t)(K / 256)) == 0, "act256 differs from act_q8k (K=%d)", K);
        free(x); free(a); free(ak); free(q32); free(q256);
    }
}

typedef float (*ref_dot_fn)(const void *w, const void *xq, int K);

static ref_dot_fn cpu_ref(enum dtype t)
{
    switch (t) {
    case DT_Q8_0: return dot_q8_0_ref;
    case DT_Q4_0: return dot_q4_0_ref;
    case DT_Q4_1: return dot_q4_1_ref;
    case DT_Q4_K: return dot_q4_k_ref;
    default: return dot_q6_k_ref;
    }
}

Test(cuda_qdot, row_dot_equals_cpu_scalar_dot)
{
    for (int f = 0; f < N_ALL; f++) {
        enum dtype t = ALL[f];
        for (int it = 0; it < 150; it++) {
            int K = rand_K(t), nb = K / qd_block_elems(t);
            float *deq, *x = rand_act(K);
            uint8_t *row = rand_wrow(t, K, &deq);
            void *act = quantize_act(t, x, K);
            float seq = 0.f, mag = 0.f;
            for (int b = 0; b < nb; b++) {
                float v = qd_block_dot(t, row, act, b);
                seq += v;
                mag += fabsf(v);
            }
            float ref = cpu_ref(t)(row, act, K);
            cr_assert(fabsf(seq - ref) <= 1e-6f * mag + 1e-30f, "%s K=%d: %.9g vs cpu %.9g",
                      dtype_info(t)->name, K, seq, ref);
            free(deq); free(x); free(row); free(act);
        }
    }
}

/* Dequantized activation element k of act (format t's activation blocks). */
static double act_value(enum dtype t, const void *act, int k)
{
    if (qd_uses_act256(t)) {
        const struct qd_act256 *a = (const struct qd_act256 *)act + k / 256;
        return (double)a->d * a->qs[k % 256];
    }
    const struct qd_act32 *a = (const struct qd_act32 *)act + k / 32;
    return (double)a->d * a->qs[k % 32];
}

Test(cuda_qdot, warp_order_matches_double_dequantized_dot)
{
    for (int f = 0; f < N_ALL; f++) {
        enum dtype t = ALL[f];
        for (int it = 0; it < 100; it++) {
            int K = rand_K(t), nb = K / qd_block_elems(t);
            float *deq, *x = rand_act(K);
            uint8_t *row = rand_wrow(t, K, &deq);
            void *act = quantize_act(t, x, K);
            double dq = 0, dx = 0, mag = 0, err_bound = 0;
            for (int k = 0; k < K; k++) {
                dq += (double)deq[k] * act_value(t, act, k);
                dx += (double)deq[k] * x[k];
                mag += fabs((double)deq[k] * x[k]);
            }
            /* Q4_0/Q4_1's offset term multiplies the activation block's own
             * f16-rounded s = d·Σq, not Σ of the rounded d·q */
            for (int b = 0; b < nb && (t == DT_Q4_0 || t == DT_Q4_1); b++) {
                const uint8_t *blk = row + (size_t)b * qd_block_bytes(t);
                const struct qd_act32 *a = (const struct qd_act32 *)act + b;
                double off = t == DT_Q4_0 ? -8.0 * fp16_to_fp32((uint16_t)(blk[0] | blk[1] << 8))
                                          : fp16_to_fp32((uint16_t)(blk[2] | blk[3] << 8));
                int sum = 0;
                for (int l = 0; l < 32; l++) sum += a->qs[l];
                dq += off * ((double)a->s - (double)a->d * sum);
            }
            /* activation rounding: at most half a step (amax/127/2) per element, times |w|;
             * the 32-block kinds round d and s through f16 too (2^-11 relative) */
            for (int b = 0; b < K / 32; b++) {
                float amax = 0;
                double sw = 0;
                for (int k = 32 * b; k < 32 * b + 32; k++) { amax = fmaxf(amax, fabsf(x[k])); sw += fabs(deq[k]); }
                if (qd_uses_act256(t)) {
                    int b0 = 256 * (b / 8);
                    for (int k = b0; k < b0 + 256; k++) amax = fmaxf(amax, fabsf(x[k]));
                }
                err_bound += (amax / 127.0 * 0.5 + amax * 0x1p-10) * sw;
            }
            float got = warp_order_dot(t, row, act, nb);
            cr_assert(fabs(got - dq) <= 2e-5 * mag + 1e-6, "%s K=%d: warp-order %.9g vs double %.9g",
                      dtype_info(t)->name, K, got, dq);
            cr_assert(fabs(got - dx) <= err_bound + 2e-5 * mag + 1e-6, "%s K=%d: %.9g vs f32-x double %.9g (bound %.3g)",
                      dtype_info(t)->name, K, got, dx, err_bound);
            free(deq); free(x); free(row); free(act);
        }
    }
}

Test(cuda_qdot, dp4a_is_the_signed_byte_dot)
{
    for (int it = 0; it < 20000; it++) {
        int8_t a[4], b[4];
        int want = rnd_int(-100000, 100000), c = want;
        for (int j = 0; j < 4; j++) {
            a[j] = (int8_t)rnd_int(-128, 127);
            b[j] = (int8_t)rnd_int(-128, 127);
            want += a[j] * b[j];
        }
        int pa = qd_pack4(a[0], a[1], a[2], a[3]), pb;
        memcpy(&pb, b, 4);
        cr_assert_eq(qd_dp4a(pa, pb, c), want);
        cr_assert_eq(qd_load4(b), pb);
    }
}

Test(cuda_qdot, round_half_equals_fp16_round_trip)
{
    const float special[] = {0.f, -0.f, 1.f, 65504.f, 65520.f, 1e9f, 6e-8f, 3e-8f, 1e-5f, -2.5e-6f, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        cr_assert(qd_round_half(special[i]) == fp16_to_fp32(fp32_to_fp16(special[i])), "%g", special[i]);
    for (int it = 0; it < 100000; it++) {
        float v = (rnd_unit() < 0.5 ? -1.f : 1.f) * powf(2.f, rnd(-30, 17)) * rnd(1, 2);
        float a = qd_round_half(v), b = fp16_to_fp32(fp32_to_fp16(v));
        cr_assert(a == b, "%.9g: %.9g vs %.9g", v, a, b);
    }
    cr_assert(isnan(qd_round_half(NAN)));
}

Test(cuda_qdot, block_geometry_matches_dtype_info)
{
    for (int f = 0; f < N_ALL; f++) {
        cr_assert_eq(qd_block_elems(ALL[f]), dtype_info(ALL[f])->block_elems);
        cr_assert_eq(qd_block_bytes(ALL[f]), dtype_info(ALL[f])->block_bytes);
    }
    cr_assert_eq(qd_block_elems(DT_F16), 0);
    cr_assert_eq(qd_block_bytes(DT_I8), 0);
}

Test(cuda_launch, qdot_covers_every_output_once)
{
    for (int it = 0; it < 300; it++) {
        int N = rnd_int(1, 700), m = rnd_int(1, 70), nb = rnd_int(1, 200);
        struct cl_qdot g = cl_qdot_plan(N, m, nb);
        cr_assert_eq(g.block, 32u * CL_QDOT_WARPS);
        unsigned char *seen = calloc((size_t)N * m, 1);
        cr_assert(seen);
        for (uint32_t bx = 0; bx < g.grid_x; bx++)
            for (uint32_t by = 0; by < g.grid_y; by++)
                for (int w = 0; w < CL_QDOT_WARPS; w++) {
                    int n = cl_qdot_row((int)bx, w), i0, i1;
                    cl_qdot_xrows((int)by, m, &i0, &i1);
                    cr_assert(i1 - i0 <= CL_QDOT_MROWS && i1 > i0);
                    if (n >= N) continue;
                    for (int i = i0; i < i1; i++) seen[(size_t)i * N + n]++;
                }
        for (size_t k = 0; k < (size_t)N * m; k++) cr_assert_eq(seen[k], 1, "N=%d m=%d", N, m);
        /* the activation launch's grid-stride loop reaches every (row, block) */
        cr_assert((int64_t)g.act.grid * g.act.block >= (int64_t)m * nb || g.act.grid == CL_MAX_GRID);
        free(seen);
    }
}
