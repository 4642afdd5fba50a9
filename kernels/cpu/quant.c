/* kernels/cpu/quant.c — the public quant.h API: one table per weight format
 * naming its activation format and dot product per SIMD level. Weight
 * decoding/encoding: kernels/formats.h. */
#include "kernels/cpu/quant_blocks.h"

#include <stdlib.h>

typedef float (*dot_fn)(const void *w, const void *xq, int K);

struct quant_format {
    bool k_act;                            /* activations in act_q8k (256) rather than act_q8 (32) */
    dot_fn dot_scalar, dot_avx2;
};

static const struct quant_format FORMATS[DT_COUNT] = {
    [DT_Q8_0] = {false, dot_q8_0_ref, dot_q8_0_avx2},
    [DT_Q4_0] = {false, dot_q4_0_ref, dot_q4_0_avx2},
    [DT_Q4_1] = {false, dot_q4_1_ref, dot_q4_1_avx2},
    [DT_Q4_K] = {true,  dot_q4_k_ref, dot_q4_k_avx2},
    [DT_Q6_K] = {true,  dot_q6_k_ref, dot_q6_k_avx2},
};

/* Callers only pass quantized formats; anything else is a programming error. */
static const struct quant_format *format_of(enum dtype wt)
{
    if (!dtype_is_quant(wt)) abort();
    return &FORMATS[wt];
}

size_t quant_act_bytes(enum dtype wt, int K)
{
    return format_of(wt)->k_act ? (size_t)(K / QKK) * sizeof(struct act_q8k)
                                : (size_t)(K / QK32) * sizeof(struct act_q8);
}

/* The vector quantizer writes the same bytes as the scalar one, so it is
 * picked by the CPU alone (no simd argument). */
static bool cpu_has_avx2(void)
{
    static _Atomic int cached = -1;     /* every thread computes the same value */
    if (cached < 0) cached = cpu_simd_detect() != CPU_SIMD_SCALAR;
    return cached;
}

void quant_act_row(enum dtype wt, const float *x, void *xq, int K)
{
    if (format_of(wt)->k_act) act_q8k_row(x, xq, K);
    else if (cpu_has_avx2()) act_q8_row_avx2(x, xq, K);
    else act_q8_row(x, xq, K);
}

/* AVX-512 VNNI machines run the VNNI row (the tile's float steps, so ragged
 * edges equal tile and 4-row results bit for bit); other AVX-512 machines the
 * AVX2 kernels (the AVX2 tiles' float steps). */
float quant_dot_row(enum dtype wt, const void *wrow, const void *xq, int K, enum cpu_simd simd)
{
    float r;
    if (simd >= CPU_SIMD_AVX512 && quant_dot_row_vnni512(wt, wrow, xq, K, &r)) return r;
    const struct quant_format *f = format_of(wt);
    return simd == CPU_SIMD_SCALAR ? f->dot_scalar(wrow, xq, K) : f->dot_avx2(wrow, xq, K);
}
