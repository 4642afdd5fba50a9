/* kernels/sparse24_tile.h — per-tile math of the CUDA 2:4 kernels
 * (kernels/cuda/cuda_sparse.cu), `static inline HD` so the CPU unit tests run
 * exactly the code the GPU runs (tests/unit/test_sparsity.c).
 *
 * 1. Block dot: one 16-element block of a 2:4 row against x (the sparse
 *    matvec: a warp per output row, lane l takes blocks l, l+32, ...).
 * 2. Sparse tensor core tile, mma.sp.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
 *    (sm_80+). y = x·Wᵀ is computed as Yᵀ[N][m] = W[N][K] · Xᵀ[K][m], so the
 *    sparse operand A is a 16-row × 16-k slice of W — one s24_f16 block from
 *    each of 16 rows — and B is 16 k × 8 tokens of x. Fragments (PTX ISA,
 *    "Matrix fragments for sparse mma.m16n8k16", gid = lane / 4, tig = lane % 4):
 *      A (16 × 8 kept values): a0,a1 = kept values 2·tig, 2·tig+1 of row gid,
 *                              a2,a3 = the same of row gid + 8;
 *      metadata (sparsity selector 0: lane 4·gid supplies the quad's word):
 *                              bits [15:0] row gid's 16-bit block meta, [31:16]
 *                              row gid + 8's — our block meta IS the row's
 *                              metadata, no reordering;
 *      B (16 k × 8 n):         b0,b1 = k 2·tig, 2·tig+1, b2,b3 = k 2·tig+8, +9, n = gid;
 *      C/D (16 × 8):           c0,c1 = row gid, n 2·tig, 2·tig+1; c2,c3 = row gid+8.
 *    sparse24_mma_emulate is the instruction's definition on those fragments,
 *    for the CPU test that the fragment assembly reproduces the dense product.
 * 3. s24_q8 with int8 activations (the CPU's kernels/cpu/sparse24_q8.c; its
 *    scalar path is these functions): the activation row layout, the
 *    quantization of one 16-element x block and a block's integer dot. */
#ifndef INFERTOP_SPARSE24_TILE_H
#define INFERTOP_SPARSE24_TILE_H

#include "kernels/hd.h"
#include "kernels/sparse24.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* IEEE half bits → float, exact (subnormals included). */
static inline HD float sparse24_h2f(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, u;
    if (e == 0) {
        float mag = (float)m * 5.9604644775390625e-8f;   /* m · 2^-24 */
        return sign ? -mag : mag;
    }
    u = e == 31 ? (sign | 0x7f800000u | (m << 13)) : (sign | ((e + 112) << 23) | (m << 13));
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Bytes of one block of 2:4 type t (dtype_info's block_bytes, usable on the device). */
static inline HD int sparse24_block_bytes(int t)
{
    return t == DT_S24_F16 ? S24_F16_BLOCK_BYTES : t == DT_S24_F32 ? S24_F32_BLOCK_BYTES : S24_Q8_BLOCK_BYTES;
}

static inline HD unsigned sparse24_meta_at(const unsigned char *blk)
{
    return (unsigned)blk[0] | (unsigned)blk[1] << 8;
}

/* Kept value k of one block of 2:4 type `t` (DT_S24_F16 / _F32 / _Q8) as a
 * float; byte loads, since s24_f32's floats are not 4-byte aligned. */
static inline HD float sparse24_value_at(int t, const unsigned char *blk, int k)
{
    if (t == DT_S24_F16) return sparse24_h2f((uint16_t)(blk[2 + 2 * k] | blk[3 + 2 * k] << 8));
    if (t == DT_S24_F32) {
        uint32_t u = (uint32_t)blk[2 + 4 * k] | (uint32_t)blk[3 + 4 * k] << 8 |
                     (uint32_t)blk[4 + 4 * k] << 16 | (uint32_t)blk[5 + 4 * k] << 24;
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    return sparse24_h2f((uint16_t)(blk[2] | blk[3] << 8)) * (float)(int8_t)blk[4 + k];
}

/* Σ_k kept_k · xb[pos_k] over one block (xb: the block's 16 x values). */
static inline HD float sparse24_block_dot(int t, const unsigned char *blk, const float *xb)
{
    unsigned meta = sparse24_meta_at(blk);
    float s = 0.f;
    for (int k = 0; k < S24_KEPT; k++) s += sparse24_value_at(t, blk, k) * xb[sparse24_index(meta, k)];
    return s;
}

/* ---- m16n8k16 mma.sp fragments (s24_f16 weights) ---- */

/* Lane's A fragment: f16 bits of kept values 2·tig, 2·tig+1 of rows gid
 * (blk_lo) and gid + 8 (blk_hi), packed as the two .f16x2 registers. */
static inline HD void sparse24_mma_a(const unsigned char *blk_lo, const unsigned char *blk_hi, int lane,
                                     uint32_t a[2])
{
    int tig = lane & 3;
    const unsigned char *lo = blk_lo + 2 + 4 * tig, *hi = blk_hi + 2 + 4 * tig;
    a[0] = (uint32_t)lo[0] | (uint32_t)lo[1] << 8 | (uint32_t)lo[2] << 16 | (uint32_t)lo[3] << 24;
    a[1] = (uint32_t)hi[0] | (uint32_t)hi[1] << 8 | (uint32_t)hi[2] << 16 | (uint32_t)hi[3] << 24;
}

/* The quad's metadata word (what lane 4·gid passes with selector 0). */
static inline HD uint32_t sparse24_mma_e(const unsigned char *blk_lo, const unsigned char *blk_hi)
{
    return (uint32_t)sparse24_meta_at(blk_lo) | (uint32_t)sparse24_meta_at(blk_hi) << 16;
}

/* (k, n) of B element i (0..3) of a lane, and (row, n) of D element i. */
static inline HD int sparse24_mma_b_k(int lane, int i) { return 2 * (lane & 3) + (i & 1) + (i >> 1) * 8; }
static inline HD int sparse24_mma_d_row(int lane, int i) { return (lane >> 2) + (i >> 1) * 8; }
static inline HD int sparse24_mma_d_n(int lane, int i) { return 2 * (lane & 3) + (i & 1); }

/* mma.sp m16n8k16 (f16 A and B as floats here, f32 accumulate) on the 32
 * lanes' fragments: d[lane][i] += Σ_k A[row][k] B[k][n], A rebuilt from the
 * kept values and metadata as the instruction reads them. */
static inline HD void sparse24_mma_emulate(const uint32_t a[32][2], const uint32_t e[32], const float b[32][4],
                                           float d[32][4])
{
    float A[16][16], B[16][8];
    for (int r = 0; r < 16; r++) {
        for (int k = 0; k < 16; k++) A[r][k] = 0.f;
        int quad = r & 7, half = r >> 3;
        unsigned meta = (e[4 * quad] >> (16 * half)) & 0xffffu;
        for (int c = 0; c < S24_KEPT; c++) {
            uint32_t reg = a[4 * quad + c / 2][half];
            A[r][sparse24_index(meta, c)] = sparse24_h2f((uint16_t)(reg >> (16 * (c & 1))));
        }
    }
    for (int lane = 0; lane < 32; lane++)
        for (int i = 0; i < 4; i++) B[sparse24_mma_b_k(lane, i)][lane >> 2] = b[lane][i];
    for (int lane = 0; lane < 32; lane++)
        for (int i = 0; i < 4; i++) {
            int r = sparse24_mma_d_row(lane, i), n = sparse24_mma_d_n(lane, i);
            float s = 0.f;
            for (int k = 0; k < 16; k++) s += A[r][k] * B[k][n];
            d[lane][i] += s;
        }
}

/* ---- s24_q8 × int8 activations ----
 * Activation row of K elements (K a multiple of 16), sparse24_act_bytes(K):
 *   u8  xu[K]     q + 128, q = rint(x / d_b) in [-127, 127] (b = k / 16)
 *   f32 dd[K/8]   d_b = max|x| / 127 of block b, twice (dd[2b] = dd[2b+1]: the
 *                 CPU's SIMD lanes load their scale without a permute) */
static inline HD size_t sparse24_act_bytes(int K)
{
    return (size_t)K + (size_t)(K / 8) * sizeof(float);
}

/* x block xb[16] → xu[16] (q + 128); returns d_b. Round to nearest even (rintf
 * on the host in the default mode, and on the device), so the CPU and the GPU
 * write the same bytes; an all-zero block gets d = 0 and q = 0. */
static inline HD float sparse24_act_block(const float *xb, uint8_t *xu)
{
    float amax = 0.f;
    for (int i = 0; i < S24_BLOCK; i++) amax = fmaxf(amax, fabsf(xb[i]));
    float d = amax / 127.f, id = amax > 0.f ? 127.f / amax : 0.f;
    for (int i = 0; i < S24_BLOCK; i++) {
        float q = rintf(xb[i] * id);
        xu[i] = (uint8_t)((int)(q > 127.f ? 127.f : q < -127.f ? -127.f : q) + 128);
    }
    return d;
}

/* Σ_k q_k · (xu[pos_k] − 128) of one s24_q8 block against its block's 16
 * activation bytes: exact (|Σ| <= 8 · 127²). */
static inline HD int sparse24_q8_block_idot(const unsigned char *blk, const uint8_t *xu)
{
    unsigned meta = sparse24_meta_at(blk);
    int s = 0;
    for (int k = 0; k < S24_KEPT; k++) s += (int)(int8_t)blk[4 + k] * ((int)xu[sparse24_index(meta, k)] - 128);
    return s;
}

/* The block's term of the row dot: d_w · d_x · Σ, in that float order. */
static inline HD float sparse24_q8_block_term(const unsigned char *blk, float dx, int isum)
{
    return sparse24_h2f((uint16_t)(blk[2] | blk[3] << 8)) * dx * (float)isum;
}

#endif
