/* core/quant/quant_calib.h — what the quant passes read from calibration
 * statistics (core/quant/calib.h): per layer, the per-channel and per-tensor
 * max|x| and the per-channel mean x² of the four linear inputs (0 qkv, 1 o,
 * 2 gate_up, 3 down). */
#ifndef INFERTOP_QUANT_CALIB_VIEW_H
#define INFERTOP_QUANT_CALIB_VIEW_H

#include <stdbool.h>

struct calib_stats;

/* *ch = per-channel max|x| [cols], *tensor_max = max over the tensor; false
 * when cs is NULL or has no such input. */
bool quant_calib_input(const struct calib_stats *cs, int layer, int input, const float **ch, float *tensor_max);

/* out[j] = E[x_j²] = Σ_t x_tj² / tokens of that input, j < cols (the int4
 * search's importance); false when cs is NULL, has no such input or its
 * width is not cols. */
bool quant_calib_meansq(const struct calib_stats *cs, int layer, int input, float *out, int cols);

#endif
