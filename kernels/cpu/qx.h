/* kernels/cpu/qx.h — the CPU kernels of the own quantized formats
 * (kernels/xq_blocks.h): int8 / int4 / fp8 weight-only, W8A8 and FP8 W8A8.
 *
 * int8 and int4 g32 symmetric take 16-bit activation rows and integer dots
 * (qx_a16.c, below). The other weight-only formats (activations stay f32) use the float
 * matmul's loop (cpu_matmul.c): one weight row is dequantized in registers
 * and dotted against up to DOT_MAX_ROWS x rows (prefill); decode (one x row)
 * takes four weight rows per call (qx_wrows4_fn), so each x vector is loaded
 * once for four rows. Both compute a (weight row, x row) pair with the same
 * float steps (qx_wide.h): results do not depend on the row count. Activation-quantized formats quantize every x row once
 * per matmul (qx_act_row) and then take integer (W8A8) or E4M3×E4M3 (FP8A8,
 * f32 accumulation as on Hopper tensor cores) dot products.
 *
 * Paths: scalar always; AVX2+FMA+F16C; at CPU_SIMD_AVX512 the weight-only
 * dots run 16 lanes (qx_avx512.c; one source for both widths: qx_wide.h), the W8A8 dot AVX-512 VNNI (vpdpbusd on
 * 256-bit registers) where the CPU has it, the FP8A8 dot the AVX2 code. */
#ifndef INFERTOP_CPU_QX_H
#define INFERTOP_CPU_QX_H

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/cpu_dot.h"

#include <stddef.h>

/* The dot-rows kernel (cpu_dot.h's contract; w is a row of the format, its
 * per-row scale included) for a weight-only own format; NULL otherwise. */
dot_rows_fn qx_dot_rows_fn(enum dtype t, enum cpu_simd s);

/* Decode: out[c] = dot(weight row c, x) for c < 4, weight rows ws bytes
 * apart; each out[c] equals the dot-rows kernel's result for that row bit
 * for bit on the same SIMD path. */
typedef void (*qx_wrows4_fn)(const void *w, size_t ws, const float *x, int K, float *out);
/* The 4-row decode kernel of a weight-only own format at SIMD level s; NULL
 * for the scalar path and other formats (use qx_dot_rows_fn row by row). */
qx_wrows4_fn qx_wrows4_fn_for(enum dtype t, enum cpu_simd s);

/* Bytes of one quantized activation row for weights of type wt (W8A8:
 * f32 scale + int8[K]; FP8A8: f32 scale + E4M3[K]). */
size_t qx_act_bytes(enum dtype wt, int K);
/* x[K] → one activation row; scale s > 0 fixed (per tensor), s <= 0 from
 * this row's max (per token). */
void qx_act_row(enum dtype wt, const float *x, float s, void *xq, int K);

/* out[r] = dot(weight row w, activation row r) for r < nx (<= DOT_MAX_ROWS),
 * activation rows xq_stride bytes apart, both scales applied. */
typedef void (*qx_act_dot_fn)(const void *w, const void *xq, size_t xq_stride, int nx, int K, float *out);
qx_act_dot_fn qx_act_dot_fn_for(enum dtype wt, enum cpu_simd s);

/* ---- 16-bit activations for int8 and int4 g32 symmetric weights (qx_a16.c) ----
 * W8A16 / W4A16 with integer dot products: each x row is converted once per
 * matmul to int16 with one scale per row, x̂ = rint(x / s), s = max|x| / 32767,
 * so a weight costs a widen and half a multiply-add of int16 pairs
 * (vpdpwssd / vpmaddwd) instead of a convert and an f32 FMA. The activations
 * keep 16 bits (not int8): |x - s·x̂| <= s/2 per element, so the dot's error
 * from the conversion is <= s/2 · Σ|w| (test_xquant a16_error_is_bounded).
 * Every path (scalar, AVX2, AVX-512 VNNI) takes these int16 rows, so the
 * format's arithmetic is the same on each; integer partial sums are exact,
 * and a (weight row, x row) pair takes the same float steps in prefill and
 * decode (results do not depend on the row count).
 *
 * Row layout (qx_a16_bytes): f32 scale, padding to 64 bytes, then
 *   int8:  x̂[K] in order (zero-padded to a multiple of 64 elements);
 *   int4:  per pair of 32-element groups A, B (the last B zero when the group
 *          count is odd) 64 words [A0..15 | B0..15 | A16..31 | B16..31] —
 *          the low nibbles of A's and B's packed bytes, then the high ones —
 *          followed by int32[16] per pair: -8·Σx̂ of A in word 0 and of B in
 *          word 8, the rest 0 (the symmetric zero point, folded into each
 *          group's integer sum). */
bool qx_uses_a16(enum dtype t);
size_t qx_a16_bytes(enum dtype t, int K);
/* x[K] → one 16-bit activation row xa (qx_a16_bytes(t, K) bytes): AVX2
 * where the CPU has it, else the scalar conversion; the same bits. */
void qx_a16_row(enum dtype t, const float *x, void *xa, int K);
void qx_a16_row_ref(enum dtype t, const float *x, void *xa, int K);
bool qx_a16_row_avx2(enum dtype t, const float *x, void *xa, int K);   /* false: x not finite, or no AVX2 */
/* The row's scale s and element k's integer x̂ (tests, references). */
float qx_a16_scale(const void *xa);
int qx_a16_get(enum dtype t, const void *xa, int k);
/* Decode: out[c] = dot(weight row c, activation row xa) for c < 4, weight
 * rows ws bytes apart; each equal bit for bit to the rows kernel's result. */
typedef void (*qx_a16_wrows4_fn)(const void *w, size_t ws, const void *xa, int K, float *out);
/* The rows kernel (1 weight row × nx <= DOT_MAX_ROWS activation rows,
 * qx_act_dot_fn's contract) and the 4-row decode kernel of t at SIMD level
 * s; NULL where t does not use 16-bit activations. */
qx_act_dot_fn qx_a16_dot_fn_for(enum dtype t, enum cpu_simd s);
qx_a16_wrows4_fn qx_a16_wrows4_fn_for(enum dtype t, enum cpu_simd s);
/* The vector kernels (qx_avx2.c: vpmaddwd; qx_avx512.c: AVX-512 VNNI
 * vpdpwssd, used only where the CPU has VNNI), from qx_a16_wide.h. */
qx_act_dot_fn qx_a16_rows_avx2(enum dtype t);
qx_act_dot_fn qx_a16_rows_avx512(enum dtype t);
qx_a16_wrows4_fn qx_a16_wrows4_avx2(enum dtype t);
qx_a16_wrows4_fn qx_a16_wrows4_avx512(enum dtype t);

/* Scalar kernel (qx_ref.c) for any weight-only own format. */
void qx_dot_rows_ref(enum dtype t, const void *w, const float *x, size_t ldx, int nx, int K, float *out);
/* Vector kernels (qx_avx2.c, qx_avx512.c, both from qx_wide.h; NULL / false
 * on non-x86 builds). */
dot_rows_fn qx_dot_rows_avx2(enum dtype t);
dot_rows_fn qx_dot_rows_avx512(enum dtype t);
qx_wrows4_fn qx_wrows4_avx2(enum dtype t);
qx_wrows4_fn qx_wrows4_avx512(enum dtype t);
qx_act_dot_fn qx_act_dot_avx2(enum dtype wt, bool vnni);
bool qx_have_vnni(void);

#endif
