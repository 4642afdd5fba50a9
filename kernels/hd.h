/* kernels/hd.h — mark small math helpers so both the C backends and CUDA
 * kernels can use them: under nvcc HD expands to __host__ __device__, in C to
 * nothing. Headers that use it hold only `static inline HD` functions on plain
 * scalars and pointers, no libc beyond <math.h>. */
#ifndef INFERTOP_HD_H
#define INFERTOP_HD_H

#ifdef __CUDACC__
#define HD __host__ __device__
#else
#define HD
#endif

#endif
