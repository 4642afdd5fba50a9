/* kernels/quant_blocks.h — the byte layouts of ggml's block formats (GGUF
 * stores them verbatim, little-endian) and their scalar decoders/encoders.
 *
 * Weight blocks are exactly ggml's (GGUF stores them verbatim, little-endian):
 *   Q8_0  32 elems, 34 B   x = d * qs[i]
 *   Q4_0  32 elems, 18 B   x = d * (nibble - 8); byte i holds elem i (low) and i+16 (high)
 *   Q4_1  32 elems, 20 B   x = d * nibble + m;   same nibble order as Q4_0
 *   Q4_K 256 elems, 144 B  8 sub-blocks of 32 with 6-bit scale sc and min mn:
 *                          x = d*sc*nibble - dmin*mn. qs is 4 chunks of 32 bytes; chunk c
 *                          holds elems 64c..64c+31 (low nibbles, sub-block 2c) and
 *                          64c+32..64c+63 (high nibbles, sub-block 2c+1).
 *   Q6_K 256 elems, 210 B  16 sub-blocks of 16 with int8 scale: x = d*sc[i/16]*(q-32),
 *                          q = 4 bits from ql | 2 bits from qh (see quant_ref.c).
 *
 */
#ifndef INFERTOP_QUANT_BLOCKS_LEAF_H
#define INFERTOP_QUANT_BLOCKS_LEAF_H

#include <stdint.h>

#include "kernels/formats.h"

#define QK32 32
#define QKK 256

struct blk_q8_0 { uint16_t d; int8_t qs[32]; };
struct blk_q4_0 { uint16_t d; uint8_t qs[16]; };
struct blk_q4_1 { uint16_t d, m; uint8_t qs[16]; };
struct blk_q4_k { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; };
struct blk_q6_k { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; };

_Static_assert(sizeof(struct blk_q8_0) == 34, "q8_0 block is 34 bytes");
_Static_assert(sizeof(struct blk_q4_0) == 18, "q4_0 block is 18 bytes");
_Static_assert(sizeof(struct blk_q4_1) == 20, "q4_1 block is 20 bytes");
_Static_assert(sizeof(struct blk_q4_k) == 144, "q4_K block is 144 bytes");
_Static_assert(sizeof(struct blk_q6_k) == 210, "q6_K block is 210 bytes");

/* Q4_K's 12 scale bytes → 8 six-bit scales and 8 six-bit mins. Bytes 0..3 hold
 * sc[0..3] in their low 6 bits, bytes 4..7 mn[0..3]; sub-blocks 4..7 keep their
 * low 4 bits in bytes 8..11 (scale low nibble, min high nibble) and their top 2
 * bits in the spare top bits of bytes 0..3 (scales) and 4..7 (mins). */
void q4k_unpack_scales(const uint8_t s[12], uint8_t sc[8], uint8_t mn[8]);
void q4k_pack_scales(uint8_t s[12], const uint8_t sc[8], const uint8_t mn[8]);

/* q in 0..63 of element e (0..255) of a Q6_K block */
int q6k_get(const struct blk_q6_k *b, int e);

/* quant_decode.c and quant_encode.c */
void dequant_q8_0(const void *w, float *y, int K);
void dequant_q4_0(const void *w, float *y, int K);
void dequant_q4_1(const void *w, float *y, int K);
void dequant_q4_k(const void *w, float *y, int K);
void dequant_q6_k(const void *w, float *y, int K);

/* Weight encoders (quant_encode.c). */
void quantize_q8_0(const float *x, void *w, int K);
void quantize_q4_0(const float *x, void *w, int K);
void quantize_q4_1(const float *x, void *w, int K);
void quantize_q4_k(const float *x, void *w, int K);
void quantize_q6_k(const float *x, void *w, int K);

#endif
