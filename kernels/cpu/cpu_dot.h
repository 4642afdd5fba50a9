/* kernels/cpu/cpu_dot.h — the row kernel type of the float-activation
 * formats whose matmul is "one weight row against up to four x rows" (2:4
 * sparse, the own xq formats: the weight row is decoded once for every x
 * row), and the f32 vector helpers of the attention loops, one
 * implementation per SIMD level. f32/f16/bf16 weights: dot_tile.h. */
#ifndef INFERTOP_CPU_DOT_H
#define INFERTOP_CPU_DOT_H

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"

#include <stddef.h>

/* Rows the multi-row kernel handles at once. */
#define DOT_MAX_ROWS 4

/* out[r] = sum_k w[k] * x[r*ldx + k] for r < nx (1 <= nx <= DOT_MAX_ROWS);
 * w is one row of K elements in the kernel's dtype. */
typedef void (*dot_rows_fn)(const void *w, const float *x, size_t ldx, int nx, int K, float *out);

/* The kernel for 2:4 sparse type t (kernels/cpu/sparse24_dot.h) at SIMD
 * level s; NULL for other types. */
dot_rows_fn cpu_dot_rows_fn(enum dtype t, enum cpu_simd s);

/* f32 helpers at a given SIMD level (attention inner loops). */
typedef float (*vec_dot_fn)(const float *a, const float *b, int n);
typedef void  (*vec_axpy_fn)(float *y, float a, const float *x, int n);   /* y += a*x */
vec_dot_fn  cpu_vec_dot_fn(enum cpu_simd s);
vec_axpy_fn cpu_vec_axpy_fn(enum cpu_simd s);

#endif
