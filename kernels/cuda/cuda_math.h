/* kernels/cuda/cuda_math.h — per-element and per-tile math shared by the CUDA
 * kernels and the CPU unit tests (tests/unit/test_cuda_math.c).
 *
 * Everything here is a `static inline` function that compiles as plain C11
 * (gcc, the tests) and as __host__ __device__ code under nvcc, so the CPU tests
 * exercise exactly the arithmetic the kernels run. No CUDA headers, no state. */
#ifndef INFERTOP_CUDA_MATH_H
#define INFERTOP_CUDA_MATH_H

#include <math.h>
#include <stdint.h>

#include "kernels/backend.h"
#include "kernels/hd.h"

#define CM_FN HD static inline

/* silu(x) = x * sigmoid(x); for x → -inf the quotient tends to -0, not NaN. */
CM_FN float cm_silu(float x) { return x / (1.0f + expf(-x)); }

/* The table row of `token` in an embedding that holds rows [off, off +
 * n_rows) (a vocab-parallel shard; off 0, n_rows the vocabulary otherwise),
 * -1 when another rank holds it (its output row is then zeros). */
CM_FN int cm_embed_row(int token, int off, int n_rows)
{
    int row = token - off;
    return row >= 0 && row < n_rows ? row : -1;
}

/* rmsnorm: y = x * cm_rms_scale(Σx², n, eps) * w. */
CM_FN float cm_rms_scale(float sumsq, int n, float eps) { return 1.0f / sqrtf(sumsq / (float)n + eps); }

/* Rotation frequency of pair i (elements 2i, 2i+1) of a head:
 * freq_i = theta^(-2i/head_dim), then Llama 3 scaling when rp.factor > 0:
 * wavelengths shorter than orig_ctx/high_freq_factor keep their frequency,
 * longer than orig_ctx/low_freq_factor are divided by `factor`, and the band
 * between is interpolated linearly in orig_ctx/wavelen. */
CM_FN float cm_rope_freq(int i, int head_dim, struct rope_params rp)
{
    float freq = powf(rp.theta, -2.0f * (float)i / (float)head_dim);
    if (rp.factor <= 0.0f) return freq;
    const float two_pi = 6.283185307179586f;
    float wavelen = two_pi / freq;
    float low_wavelen = (float)rp.orig_ctx / rp.low_freq_factor;
    float high_wavelen = (float)rp.orig_ctx / rp.high_freq_factor;
    if (wavelen < high_wavelen) return freq;
    if (wavelen > low_wavelen) return freq / rp.factor;
    float smooth = ((float)rp.orig_ctx / wavelen - rp.low_freq_factor) /
                   (rp.high_freq_factor - rp.low_freq_factor);
    return (1.0f - smooth) * freq / rp.factor + smooth * freq;
}

/* Rotate the pair (x0, x1) by angle = pos * freq, in place. */
CM_FN void cm_rope_rotate(float *x0, float *x1, int pos, float freq)
{
    float a = (float)pos * freq, c = cosf(a), s = sinf(a);
    float v0 = *x0, v1 = *x1;
    *x0 = v0 * c - v1 * s;
    *x1 = v0 * s + v1 * c;
}

/* Pool slot of token t in a paged KV view (kv_row in backend.h, without the
 * base pointer): table[t / block_size] * block_size + t % block_size. */
CM_FN int64_t cm_kv_slot(const int32_t *table, int block_size, int t)
{
    return (int64_t)table[t / block_size] * block_size + t % block_size;
}

/* ---- online softmax (FlashAttention's running max and sum) -------------
 * For scores arriving tile by tile: m = max so far, l = Σ exp(s - m).
 * Per tile: alpha = cm_online_rescale(&st, tile_max) (multiply the running
 * output accumulator by alpha), then for each score p = cm_online_weight(&st, s),
 * st.l += p, acc += p * v. At the end out = acc / st.l.
 * Masked scores are -INFINITY and weigh 0; a state that has seen only masked
 * scores keeps m = -INFINITY, l = 0. */
struct cm_online { float m, l; };

CM_FN struct cm_online cm_online_init(void)
{
    struct cm_online s;
    s.m = -INFINITY;
    s.l = 0.0f;
    return s;
}

CM_FN float cm_online_rescale(struct cm_online *s, float tile_max)
{
    float m_new = fmaxf(s->m, tile_max);
    float alpha = s->m == m_new ? 1.0f : expf(s->m - m_new);
    s->m = m_new;
    s->l *= alpha;
    return alpha;
}

CM_FN float cm_online_weight(const struct cm_online *s, float score)
{
    return score == -INFINITY ? 0.0f : expf(score - s->m);
}

/* Weight of a partial state `part` when merged into a total whose max is m_all
 * (split-KV combine: out = Σ w_s acc_s / Σ w_s l_s). */
CM_FN float cm_online_merge_weight(struct cm_online part, float m_all)
{
    return part.m == -INFINITY ? 0.0f : expf(part.m - m_all);
}

#endif
