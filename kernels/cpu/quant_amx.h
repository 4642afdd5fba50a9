/* kernels/cpu/quant_amx.h — private to kernels/cpu: the AMX-INT8 matmul of
 * the act_q8 block formats (Q8_0, Q4_0, Q4_1), quant_amx.c.
 *
 * Why: on 2 cores a decode step at batch ~7 and every prefill are bound by
 * the integer dot products; one TDPBSSD/TDPBSUD does 16×16×64 int8
 * multiply-adds (the AVX-512 VNNI kernels do 64 per vpdpbusd).
 *
 * Shapes: a tile is QUANT_AMX_M x rows × QUANT_AMX_N weight rows. Per
 * 32-element block b the tile unit computes the exact int32 sums
 * isum[i][n] = Σ_k xq[i][k]·q[n][k] (one instruction, K = 32), and the
 * float steps of each output are, whatever the row count:
 *   acc  = fma(dx[i][b]·dw[n][b], (float)isum[i][n], acc)     over b in order
 *   side = fma(mw[n][b], s[i][b], side)                        over b (Q4 only)
 *   out  = acc + side                                          (Q8_0: acc)
 * with mw = m (Q4_1) or -8·d (Q4_0) and s = dx·Σxq (act_q8.s). So a row's
 * result is the same bits in a 1-row decode, a batch or a prefill — but NOT
 * the VNNI kernels' bits (those sum per 4-byte lane): when simd is
 * CPU_SIMD_AMX, cpu_matmul runs every row count of these formats here. */
#ifndef INFERTOP_QUANT_AMX_H
#define INFERTOP_QUANT_AMX_H

#include "kernels/cpu/quant.h"

#include <stdbool.h>
#include <stddef.h>

#define QUANT_AMX_M 16   /* x rows per tile */
#define QUANT_AMX_N 16   /* weight rows per packed group */

/* True when this process may run AMX-INT8: CPUID leaf 7 AMX-TILE and
 * AMX-INT8, the OS enables XTILECFG/XTILEDATA in XCR0, and Linux granted
 * arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) (asked once, for the
 * whole process). When false, *why (if not NULL) says which check failed,
 * e.g. "no amx-int8 in cpuid" or "arch_prctl(ARCH_REQ_XCOMP_PERM): Operation
 * not permitted". Thread-safe; the answer never changes. */
bool   quant_amx_available(const char **why);
/* True when simd is CPU_SIMD_AMX, wt is Q8_0, Q4_0 or Q4_1 and AMX is
 * available: cpu_matmul must then use the functions below for every m. */
bool   quant_amx_usable(enum dtype wt, enum cpu_simd simd);
/* Bytes of one packed group of QUANT_AMX_N weight rows of K elements
 * (a multiple of 64): per block 512 bytes of B tile (8 rows × 16 columns ×
 * 4 bytes), 16 floats dw and, for Q4, 16 floats mw. */
size_t quant_amx_w_bytes(enum dtype wt, int K);
/* nrows <= QUANT_AMX_N weight rows, w_stride bytes apart → their packed
 * group wp (64-byte aligned, quant_amx_w_bytes); the missing rows are zero. */
void   quant_amx_pack_w(enum dtype wt, const void *w, size_t w_stride, int nrows, int K, void *wp);
/* out[i*ldo + n] for i < mrows, n < ncols (both <= 16): the dot of packed
 * weight row n with act_q8 row i of xq (rows xq_stride bytes apart). Reads
 * QUANT_AMX_M rows of xq whatever mrows is: the caller keeps them readable
 * (their results are dropped). The calling thread's tile configuration is
 * loaded on its first call. */
void   quant_amx_tile(enum dtype wt, const void *wp, const void *xq, size_t xq_stride, int mrows,
                      int ncols, int K, float *out, size_t ldo);

/* Decode: out[n] for n < nrows (<= QUANT_AMX_N) = the dot of weight row n
 * (rows w_stride bytes apart, read in place) with one act_q8 row xq, on
 * AVX-512 VNNI with the tile's float steps: each result equals
 * quant_amx_tile's bit for bit (the block sums are exact integers either
 * way), so cpu_matmul may pick either per row count. */
void   quant_amx_rows(enum dtype wt, const void *w, size_t w_stride, int nrows, const void *xq, int K, float *out);

#endif
