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

#endif
