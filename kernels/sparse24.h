/* kernels/sparse24.h — 2:4 structured-sparse weight rows (dtypes s24_f16,
 * s24_f32, s24_q8): in every group of 4 consecutive input weights of a row,
 * 2 are kept; a row stores only the kept values and a 2-bit position per
 * kept value.
 *
 * Layout: a row of n elements (n a multiple of S24_BLOCK = 16) is n/16 blocks
 * back to back; a block covers 16 original elements = 4 groups = 8 kept values:
 *   s24_f16  [u16 meta][8 × f16]            18 bytes:  9 bits per original element
 *   s24_f32  [u16 meta][8 × f32]            34 bytes: 17 bits per original element
 *   s24_q8   [u16 meta][f16 d][8 × int8]    12 bytes:  6 bits (value = d · q, d per block)
 * Kept value 2g and 2g+1 belong to group g (elements 4g..4g+3 of the block),
 * in increasing position order.
 *
 * Metadata (`meta`, little endian): group g's nibble is bits [4g+3:4g]; its
 * low 2 bits are the position (0..3) of the first kept value, its high 2 bits
 * that of the second, first < second. This is NVIDIA's sparse tensor core
 * convention for 16-bit types (PTX ISA, "Sparse matrix storage" of mma.sp:
 * per group of four, two 2-bit indices, valid nibbles 0x4 0x8 0xC 0x9 0xD 0xE),
 * and one 16-element block is exactly one row of an m16n8k16 mma.sp A tile:
 * its 16 metadata bits are the row's bits of the thread's metadata register
 * (kernels/cuda/cuda_sparse.cu places them with the sparsity selector).
 * A SIMD kernel turns a block's meta into 8 gather indices 4g + nibble bits
 * (sparse24_index) and permutes the 16 x values of the block with them: it
 * reads only the kept values and the indices, never a zero.
 *
 * Helpers are `static inline HD` so CUDA kernels and the CPU tests share them. */
#ifndef INFERTOP_SPARSE24_H
#define INFERTOP_SPARSE24_H

#include "kernels/hd.h"

#include <stdint.h>

#define S24_BLOCK 16          /* original elements per block */
#define S24_KEPT  8           /* kept values per block */

/* Position (0..15 within the block) of kept value k (0..7) of a block whose
 * metadata is meta: group k/2, that group's first (k even) or second index. */
static inline HD int sparse24_index(unsigned meta, int k)
{
    return (k >> 1) * 4 + (int)((meta >> (2 * k)) & 3u);
}

/* The nibble of one group keeping positions i0 < i1 (0..3). */
static inline HD unsigned sparse24_nibble(int i0, int i1)
{
    return (unsigned)i0 | ((unsigned)i1 << 2);
}

/* Positions (a < b) of the two largest scores of one group of 4; ties go to the
 * lower position (deterministic on every machine). */
static inline HD void sparse24_top2(const float s[4], int *a, int *b)
{
    int i0 = 0;
    for (int i = 1; i < 4; i++)
        if (s[i] > s[i0]) i0 = i;
    int i1 = i0 == 0 ? 1 : 0;
    for (int i = 0; i < 4; i++)
        if (i != i0 && s[i] > s[i1]) i1 = i;
    *a = i0 < i1 ? i0 : i1;
    *b = i0 < i1 ? i1 : i0;
}

/* Bytes of one block of s24 type t (dtype_info(t)->block_bytes). */
#define S24_F16_BLOCK_BYTES 18
#define S24_F32_BLOCK_BYTES 34
#define S24_Q8_BLOCK_BYTES  12

#ifndef __CUDACC__
#include "kernels/formats.h"

/* row (n elements of 2:4 type t, n % S24_BLOCK == 0) → y[n], dropped
 * positions 0. */
void sparse24_decode_row(enum dtype t, const void *row, float *y, int n);
/* x[n] → row of 2:4 type t: per group of 4 the two largest |x| (ties: lower
 * position) are kept, in f16 / f32 / int8 with a per-block scale
 * d = max|kept| / 127 (rounded to f16 first, as q8_0). */
void sparse24_encode_row(enum dtype t, const float *x, void *row, int n);
/* The kept-value metadata of block b of a row (tests, kernels). */
unsigned sparse24_block_meta(enum dtype t, const void *row, int b);
#endif

#endif
