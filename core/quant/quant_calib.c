/* core/quant/quant_calib.c — see quant_calib.h: the quant passes' view of
 * core/quant/calib's statistics. */
#include "core/quant/quant_calib.h"
#include "core/quant/calib.h"

#include <stddef.h>

/* quant's input numbering (0 qkv, 1 o, 2 gate_up, 3 down) → the forward's taps. */
static const enum fwd_tap INPUT_TAP[4] = {FWD_TAP_QKV, FWD_TAP_O, FWD_TAP_GATE_UP, FWD_TAP_DOWN};

bool quant_calib_input(const struct calib_stats *cs, int layer, int input, const float **ch, float *tensor_max)
{
    *ch = NULL;
    *tensor_max = 0;
    if (!cs || input < 0 || input >= 4 || layer < 0 || layer >= cs->n_layers) return false;
    const struct calib_input *in = calib_get(cs, layer, INPUT_TAP[input]);
    if (!in || !in->ch_absmax || in->tokens <= 0) return false;
    *ch = in->ch_absmax;
    *tensor_max = in->absmax;
    return true;
}

bool quant_calib_meansq(const struct calib_stats *cs, int layer, int input, float *out, int cols)
{
    if (!cs || input < 0 || input >= 4 || layer < 0 || layer >= cs->n_layers) return false;
    const struct calib_input *in = calib_get(cs, layer, INPUT_TAP[input]);
    if (!in || !in->ch_sumsq || in->tokens <= 0 || in->cols != cols) return false;
    for (int j = 0; j < cols; j++) out[j] = (float)(in->ch_sumsq[j] / (double)in->tokens);
    return true;
}
