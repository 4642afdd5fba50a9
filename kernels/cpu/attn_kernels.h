/* kernels/cpu/attn_kernels.h — inner loops of CPU attention, one set per SIMD
 * level (scalar, AVX2, AVX-512), chosen at run time like cpu_dot.h's.
 *
 * The unit of work is a "row block": up to ATTN_ROWS query rows that read the
 * same K/V head (the query heads of one GQA group, possibly of several query
 * positions), against a tile of up to ATTN_TILE_KV keys given as row
 * pointers (so paged and contiguous caches look the same). Each K and V row
 * is loaded once per block and used for every row in it.
 *
 * Score tiles are stored key-major, S[t][ATTN_ROWS] (row r of key t at
 * S[t*ATTN_ROWS + r]), so one vector holds several keys of all the block's
 * rows and the reduction of a block's dot products ends in one store. */
#ifndef INFERTOP_ATTN_KERNELS_H
#define INFERTOP_ATTN_KERNELS_H

#include "kernels/cpu/cpu_backend.h"
#include "kernels/tiling.h"   /* ATTN_ROWS, ATTN_TILE_Q, ATTN_TILE_KV */

#include <stddef.h>
#include <stdint.h>


struct attn_kernels {
    /* S[t][r] = scale * q[r]·k[t], t < nk, r < nr (1 <= nr <= ATTN_ROWS);
     * rows r >= nr of S are left unspecified. q[r]: d floats; k[t]: d floats
     * (scores) or d IEEE halves (scores_f16, widened exactly in registers). */
    void (*scores)(const float *const *q, int nr, const void *const *k, int nk, int d,
                   float scale, float *S);
    void (*scores_f16)(const float *const *q, int nr, const void *const *k, int nk, int d,
                       float scale, float *S);
    /* mx[r] = max of S[t][r] over t < lim[r] (-INFINITY when lim[r] = 0), for
     * r < ATTN_ROWS; lim[r] <= nk (the tile's key count). */
    void (*tile_max)(const float *S, const int *lim, float *mx);
    /* In place S[t][r] = t < lim[r] ? exp(S[t][r] - m[r]) : 0 for t < max lim,
     * and sum[r] = sum over t of the new S[t][r]. m[r] is finite where
     * lim[r] > 0. Uses attn_exp's polynomial (error below). */
    void (*tile_exp)(float *S, const int *lim, const float *m, float *sum);
    /* o[r][e] += sum_{t < nk} P[r*p_rs + t*p_ts] * v[t][e], e < d, r < nr;
     * v[t]: d floats (pv) or d halves (pv_f16). */
    void (*pv)(float *const *o, int nr, const float *P, ptrdiff_t p_rs, ptrdiff_t p_ts,
               const void *const *v, int nk, int d);
    void (*pv_f16)(float *const *o, int nr, const float *P, ptrdiff_t p_rs, ptrdiff_t p_ts,
                   const void *const *v, int nk, int d);
    /* One softmax row: p[t] = exp(s[t] - max s) / sum, t < n (-INFINITY
     * entries give 0; at least one entry finite). */
    void (*softmax_row)(float *p, const float *s, int n);
    /* y[i] = attn_exp(x[i]) at this level's precision (tests). */
    void (*exp_array)(float *y, const float *x, int n);
    /* dst[i] = fp32_to_fp16(src[i]), i < n: round to nearest even, the same
     * bits on every level (F16C on the SIMD ones) for all non-NaN inputs; a
     * NaN stays a NaN (payload may differ). The KV store's conversion. */
    void (*to_f16)(uint16_t *dst, const float *src, int n);
};

/* The kernels for SIMD level s (never NULL; scalar when s is unknown or the
 * build has no x86 SIMD). */
const struct attn_kernels *attn_kernels_for(enum cpu_simd s);

/* exp(x) for x <= 88 by range reduction x = n ln2 + r, |r| <= ln2/2, and a
 * degree-7 Taylor polynomial in r (Horner; fused on the SIMD levels). Max
 * relative error vs exp() < 2e-7 for x in [-87.3, 88] (measured 1.0e-7
 * scalar, 7.6e-8 with FMA; tested in
 * tests/unit/test_cpu_kernels.c on a dense grid); 0 for x < -87.3 (true value
 * < 1.2e-38, absolute error below that) and for x = -INFINITY. NaN in, any out. */
float attn_exp(float x);

#endif
