/* kernels/cpu/sparse24_dot.h — row dot kernels for 2:4 sparse weights
 * (s24_f16, s24_f32, s24_q8; layout in kernels/sparse24.h): scalar, AVX2 and
 * AVX-512, with the dot_rows_fn contract of cpu_dot.h, so cpu_matmul threads
 * and tiles them like the dense float kernels. They read only the kept values
 * and their 2-bit positions: half the multiply-adds of the dense row, and
 * 9/16 of an f16 row's bytes. */
#ifndef INFERTOP_SPARSE24_DOT_H
#define INFERTOP_SPARSE24_DOT_H

#include "kernels/cpu/cpu_dot.h"

/* The kernel for 2:4 type t at SIMD level s; NULL when t is not a 2:4 type.
 * K (the row's original length) must be a multiple of S24_BLOCK. */
dot_rows_fn cpu_s24_dot_rows_fn(enum dtype t, enum cpu_simd s);

/* s24_q8 with int8 activations (sparse24_q8.c), what cpu_matmul runs for
 * s24_q8: each x row is quantized once per matmul to s24q8_act_bytes(K)
 * bytes (int8 per 16 elements, scale max|x|/127), then every block is an
 * integer dot of the kept values with the x bytes their indices select.
 * K must be a multiple of S24_BLOCK. */
size_t s24q8_act_bytes(int K);
void s24q8_act_row(const float *x, void *xq, int K);
/* The scalar quantizer; s24q8_act_row writes the same bytes (tests). */
void s24q8_act_row_ref(const float *x, void *xq, int K);
/* out[r] = Σ_b d_w·d_x Σ_k q_k·xq_r[pos_k] for r < nx (<= DOT_MAX_ROWS), w one
 * s24_q8 row, activation rows xq_stride bytes apart (qx.h's act-dot shape).
 * s picks the path: scalar, AVX2 (vpmaddubsw), AVX-512 (VNNI + VBMI where the
 * CPU has both, else the AVX2 path). */
typedef void (*s24q8_act_dot_fn)(const void *w, const void *xq, size_t xq_stride, int nx, int K, float *out);
s24q8_act_dot_fn cpu_s24q8_act_dot_fn(enum cpu_simd s);
/* Decode: out[c] = the act-dot of weight row c (rows w_stride bytes apart,
 * c < 4) with one activation row, each the same bits as the act-dot kernel
 * of the same level gives for that row (AVX-512 shares the x loads). */
typedef void (*s24q8_wrows4_fn)(const void *w, size_t w_stride, const void *xq, int K, float *out);
s24q8_wrows4_fn cpu_s24q8_wrows4_fn(enum cpu_simd s);

#endif
