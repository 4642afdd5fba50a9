/* kernels/cpu/attn_math.h — per-element and per-tile math shared by the CPU
 * kernels and (through HD) the CUDA kernels: dot products, the online-softmax
 * update of flash attention, rope frequencies and the rotation of one pair,
 * SiLU. Every function is a small pure `static inline HD` on scalars. */
#ifndef INFERTOP_ATTN_MATH_H
#define INFERTOP_ATTN_MATH_H

#include "kernels/hd.h"

#include <math.h>

/* sum a[i]*b[i], i < n, four partial sums (ILP without reassociation flags). */
static inline HD float attn_dot(const float *a, const float *b, int n)
{
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

/* y[i] += a * x[i] */
static inline HD void attn_axpy(float *y, float a, const float *x, int n)
{
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

/* Online softmax state of one query row: running max m of the scores seen so
 * far and running sum l of exp(score - m). The output accumulator o[d] holds
 * sum exp(score - m) * v and is divided by l at the end. */
struct online_softmax {
    float m, l;
};

static inline HD void online_softmax_init(struct online_softmax *st)
{
    st->m = -INFINITY;
    st->l = 0.0f;
}

/* Fold a new block whose largest score is `block_max` into the state. Returns
 * the factor exp(m_old - m_new) by which the caller rescales l's partner, the
 * output accumulator (0 when nothing was accumulated yet). After the call
 * st->m is the new max: the block's probabilities are exp(s - st->m) and the
 * caller adds their sum with online_softmax_add. */
static inline HD float online_softmax_rescale(struct online_softmax *st, float block_max)
{
    float m_new = block_max > st->m ? block_max : st->m;
    float corr = st->m == -INFINITY ? 0.0f : expf(st->m - m_new);
    st->m = m_new;
    st->l *= corr;
    return corr;
}

static inline HD void online_softmax_add(struct online_softmax *st, float p_sum)
{
    st->l += p_sum;
}

/* Rope frequency of pair i (dims 2i, 2i+1): theta^(-2i/head_dim), with Llama 3
 * scaling when factor > 0: long wavelengths (> orig_ctx/low_freq_factor) are
 * slowed by `factor`, short ones (< orig_ctx/high_freq_factor) kept, and the
 * band between interpolated smoothly in orig_ctx/wavelen. */
static inline HD float rope_freq(int i, int head_dim, float theta, float factor,
                                 float low_freq_factor, float high_freq_factor, int orig_ctx)
{
    float freq = powf(theta, -2.0f * (float)i / (float)head_dim);
    if (factor <= 0.0f) return freq;
    const float two_pi = 6.283185307179586f;
    float wavelen = two_pi / freq;
    float low_wavelen = (float)orig_ctx / low_freq_factor;    /* longer: scale fully */
    float high_wavelen = (float)orig_ctx / high_freq_factor;  /* shorter: keep */
    if (wavelen < high_wavelen) return freq;
    if (wavelen > low_wavelen) return freq / factor;
    float smooth = ((float)orig_ctx / wavelen - low_freq_factor) /
                   (high_freq_factor - low_freq_factor);
    return (1.0f - smooth) * freq / factor + smooth * freq;
}

/* Rotate (x0, x1) by the angle whose cosine and sine are c and s. */
static inline HD void rope_rotate_pair(float *x0, float *x1, float c, float s)
{
    float a = *x0, b = *x1;
    *x0 = a * c - b * s;
    *x1 = a * s + b * c;
}

static inline HD float silu(float g)
{
    return g / (1.0f + expf(-g));
}

#endif
