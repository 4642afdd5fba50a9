/* core/quant/calib.h — calibration statistics: what the inputs of every
 * linear look like on a short text (SmoothQuant's max|X_j|, Wanda's ‖X_j‖₂,
 * static W8A8 activation scales).
 *
 * A forward observer (core/model/forward.h, fwd_observer_fn) sees the input
 * of each linear of each layer — q/k/v share one input, gate/up share one —
 * and of the output head; per input, per input channel j (column of x
 * [rows][cols]), it accumulates
 *   ch_absmax[j] = max over tokens |x_tj|,   ch_sumsq[j] = Σ_t x_tj² (double),
 * plus the per-tensor max |x| and the token count. */
#ifndef INFERTOP_CALIB_H
#define INFERTOP_CALIB_H

#include "core/model/forward.h"

#include <stdint.h>

/* One linear input of one layer. */
struct calib_input {
    int cols;                 /* input channels (the linear's in-features) */
    int64_t tokens;           /* rows seen */
    float absmax;             /* max |x| over the whole tensor */
    float *ch_absmax;         /* [cols] */
    double *ch_sumsq;         /* [cols] */
};

struct calib_stats {
    int n_layers;
    int64_t n_tokens;         /* tokens run through the model */
    struct calib_input *in;   /* [n_layers * 4 + 1]; read with calib_get */
};

/* Empty statistics shaped for the model (every channel 0). 0; -1 out of memory. */
int  calib_init(struct calib_stats *s, const struct model_config *c);
void calib_free(struct calib_stats *s);

/* The input of `tap` at `layer` (FWD_TAP_HEAD: layer is ignored), or NULL
 * when out of range. */
const struct calib_input *calib_get(const struct calib_stats *s, int layer, enum fwd_tap tap);

/* ‖X_j‖₂ = sqrt(ch_sumsq[j]): Wanda's input-channel norm. */
double calib_channel_norm(const struct calib_input *in, int j);

/* The observer (fwd_observer_fn) that accumulates into user = a struct
 * calib_stats; exposed so a caller with its own forward can install it. */
void calib_observe(void *user, int layer, enum fwd_tap tap, const float *x, int rows, int cols);

/* Run tokens[0..n) through m on be (weights uploaded) and fill *out (fresh:
 * calib_init'd here). The text is cut into sequences of at most seq_len
 * tokens (0: 256; capped at the model's context), each from position 0 with
 * the model's BOS first when it adds one (as eval's chunks), every position
 * observed, the head's input included. K/V in f32. 0; -1 with one line in err
 * (then *out is empty). */
int  calib_collect(struct model *m, struct backend *be, const int32_t *tokens, int n, int seq_len,
                   struct calib_stats *out, char *err, size_t errlen);

/* calib_collect over the first max_tokens (0: 512) tokens of the shipped
 * calibration text (EVALTEXT_CALIB). */
int  calib_collect_shipped(struct model *m, struct backend *be, int max_tokens,
                           struct calib_stats *out, char *err, size_t errlen);

#endif
