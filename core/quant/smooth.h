/* core/quant/smooth.h — SmoothQuant (Xiao et al.; mit-han-lab/smoothquant):
 * migrate activation outliers into the weights before W8A8.
 *
 * Per input channel j of a linear y = x·Wᵀ:
 *     s_j = max|X_j|^α / max_r |W_rj|^(1−α)
 *     X' = X·diag(s)⁻¹,  W' = W·diag(s)      (so X'·W'ᵀ = X·Wᵀ exactly)
 * Where the 1/s goes, per layer (every fold is exact in real arithmetic):
 *   q, k, v   input attn_norm(x): 1/s into the attn_norm gain; s over the
 *             columns of wq, wk, wv together (one shared input);
 *   gate, up  input ffn_norm(x): into the ffn_norm gain;
 *   o         input = attention output = P·V: into the rows of wv (V's
 *             channels); with GQA the q heads of a group read one V head, so
 *             s is shared across the group (max over its channels);
 *   down      input = silu(gate)·up: into the rows of w_up.
 * Rows scaled by 1/s change nothing for per-output-channel weight
 * quantization (the row's own scale absorbs them). */
#ifndef INFERTOP_QUANT_SMOOTH_H
#define INFERTOP_QUANT_SMOOTH_H

#include "core/quant/transform.h"

/* Per-channel max|x| of one layer's four linear inputs, from calibration:
 * qkv and gate_up [dim], o [n_heads*head_dim], down [ffn_dim]. */
struct smooth_act {
    const float *qkv, *o, *gate_up, *down;
};

/* Fold SmoothQuant with strength alpha into layer l of m: its seven matrices
 * become model-owned f32 (smoothed), its norm gains model-owned copies.
 * tensor_max[4] (may be NULL) gets max_j max|X_j|/s_j per input (qkv, o,
 * gate_up, down): the smoothed tensors' max, for static activation scales.
 * 0; -1 out of memory (with err). */
int smooth_layer(struct model *m, int l, const struct smooth_act *a, float alpha, float tensor_max[4],
                 int n_threads, char *err, size_t errlen);

#endif
