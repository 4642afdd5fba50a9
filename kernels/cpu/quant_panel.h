/* kernels/cpu/quant_panel.h — prefill matmul on AVX-512 VNNI from packed
 * operands (quant_panel.c): the weight rows of a tile and the x rows are laid
 * out once per matmul in the registers' own layout, so the tile loop is loads
 * and the integer/float work only.
 *
 * Why: the 4×4 tile of quant_vnni.c spends about as many instructions
 * unpacking nibbles, spreading fp16 scales over the lanes and inserting x
 * block pairs as on the dot products themselves, and it repeats the weight
 * side for every 4 x rows and the x side for every 4 weight rows. Packed, a
 * weight group is unpacked once for all the x rows of a task and an x row
 * once for all the weight rows of the matmul.
 *
 * Exactness: each output element goes through the same float steps as
 * quant_dot_tile and quant_dot_rows4 on AVX-512 VNNI (quant_vnni.c), so a
 * row's result is the same bits whatever the row count (spec_batch_invariance). */
#ifndef INFERTOP_QUANT_PANEL_H
#define INFERTOP_QUANT_PANEL_H

#include "kernels/cpu/quant.h"

#include <stdbool.h>
#include <stddef.h>

/* True when the CPU has AVX-512 VNNI, simd is CPU_SIMD_AVX512 and wt is
 * Q8_0, Q4_0 or Q4_1: the other functions may be called. */
bool   quant_panel_usable(enum dtype wt, enum cpu_simd simd);
/* Bytes of one packed x row of K elements (a multiple of 64). */
size_t quant_panel_x_bytes(int K);
/* Bytes of one packed group of QUANT_TILE_N weight rows (a multiple of 64). */
size_t quant_panel_w_bytes(enum dtype wt, int K);
/* One act_q8 row (quant_act_row's output for wt) → its packed form xp
 * (64-byte aligned, quant_panel_x_bytes(K)). */
void   quant_panel_pack_x(enum dtype wt, const void *xq, int K, void *xp);
/* QUANT_TILE_N weight rows, w_stride bytes apart → their packed form wp
 * (64-byte aligned, quant_panel_w_bytes(wt, K)). */
void   quant_panel_pack_w(enum dtype wt, const void *w, size_t w_stride, int K, void *wp);
/* out[r*ldo + c] = dot(weight row c of wp, x row r) for r < QUANT_TILE_M,
 * c < QUANT_TILE_N; the x rows are packed rows xp_stride bytes apart. Equals
 * quant_dot_tile on CPU_SIMD_AVX512 bit for bit. */
void   quant_panel_tile(enum dtype wt, const void *wp, const void *xp, size_t xp_stride, int K,
                        float *out, size_t ldo);

#endif
