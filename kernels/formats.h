/* kernels/formats.h — weight formats as data, the leaf every layer shares:
 * the dtype list and its block geometry, scalar f16/bf16 conversions, and row
 * decode/encode for every dtype (f32, f16, bf16 and ggml's block formats,
 * kernels/quant_blocks.h). Includes nothing of the engine or of a backend:
 * backends use it for embedding rows and upload conversions, core for
 * synthetic models in quantized formats, cost models for byte counts, tests
 * for references. */
#ifndef INFERTOP_FORMATS_H
#define INFERTOP_FORMATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Values match ggml's type ids where a GGUF file names them (see dtype_from_ggml). */
enum dtype {
    DT_F32, DT_F16, DT_BF16,
    DT_Q8_0, DT_Q4_0, DT_Q4_1, DT_Q4_K, DT_Q6_K,
    DT_S24_F16, DT_S24_F32, DT_S24_Q8,   /* 2:4 sparse rows, kernels/sparse24.h (no ggml id) */
    /* Own formats (kernels/xq_blocks.h), made by core/quant transforms; no GGUF id. */
    DT_I8,                                     /* int8 per output channel, W8A16 */
    DT_I4S_32, DT_I4S_64, DT_I4S_128,          /* int4 group-wise symmetric, group 32/64/128 */
    DT_I4A_32, DT_I4A_64, DT_I4A_128,          /* int4 group-wise with a zero point */
    DT_E4M3, DT_E5M2,                          /* FP8 weight-only, per output channel scale */
    DT_W8A8,                                   /* DT_I8 layout; activations int8 too */
    DT_F8A8,                                   /* DT_E4M3 layout; activations E4M3 too */
    DT_COUNT
};

/* The formats ggml defines (GGUF files hold them): DT_F32 .. DT_Q6_K. */
#define DT_GGML_COUNT (DT_Q6_K + 1)

struct dtype_info {
    const char *name;     /* "f32", "q4_1", ... */
    int block_elems;      /* elements per block (1 for float formats) */
    int block_bytes;      /* bytes per block */
    int ggml_type;        /* GGUF/ggml type id; -1: not a GGUF format (2:4 sparse, own formats) */
    int row_extra;        /* bytes per row before the blocks (a per-row scale: int8, fp8) */
};

const struct dtype_info *dtype_info(enum dtype t);
/* Bytes of one row of n elements (row_extra + blocks); n must be a multiple of block_elems. */
size_t dtype_row_bytes(enum dtype t, int64_t n);
/* -1 when the name or id is not a known format. */
int dtype_from_name(const char *name);
int dtype_from_ggml(int ggml_type);

/* Block-quantized (ggml block formats): true for q8_0, q4_0, q4_1, q4_k, q6_k;
 * false for the float formats f32, f16, bf16 the 2:4 sparse and the own formats. */
static inline bool dtype_is_quant(enum dtype t) { return t >= DT_Q8_0 && t <= DT_Q6_K; }
/* 2:4 structured sparse (kernels/sparse24.h): s24_f16, s24_f32, s24_q8. */
static inline bool dtype_is_sparse24(enum dtype t) { return t >= DT_S24_F16 && t <= DT_S24_Q8; }
/* Multiply-adds per original element: 0.5 for the 2:4 formats, else 1. */
static inline double dtype_mac_fraction(enum dtype t) { return dtype_is_sparse24(t) ? 0.5 : 1.0; }
/* Own quantized formats (kernels/xq_blocks.h): int8, int4, fp8, w8a8, fp8a8. */
static inline bool dtype_is_xq(enum dtype t) { return t >= DT_I8 && t <= DT_F8A8; }
/* Formats whose matmul quantizes the activations too (W8A8, FP8 W8A8). */
static inline bool dtype_quantizes_act(enum dtype t) { return t == DT_W8A8 || t == DT_F8A8; }
/* int4 group size of DT_I4S_* / DT_I4A_* (0 for other formats). */
int dtype_i4_group(enum dtype t);

/* Scalar conversions, round-to-nearest-even: identical on every machine. */
uint16_t fp32_to_fp16(float f);
float    fp16_to_fp32(uint16_t h);
uint16_t fp32_to_bf16(float f);
float    bf16_to_fp32(uint16_t h);

/* row (n elements in format t) → y[n]; n a multiple of the block size */
void dtype_decode_row(enum dtype t, const void *row, float *y, int n);
/* x[n] → row in format t (round to nearest; block scales chosen per block).
 * The 2:4 formats keep the two largest |x| of each group of 4 (ties: lower
 * position), so a row already pruned to 2:4 round-trips exactly. */
void dtype_encode_row(enum dtype t, const float *x, void *row, int n);

#ifdef __cplusplus
}
#endif

#endif
