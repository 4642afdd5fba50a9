/* core/quant/quant_calib.c — see quant_calib.h. Calibration statistics are
 * collected by core/quant/calib (not in this build yet): without them every
 * lookup fails and the passes that need them say so. */
#include "core/quant/quant_calib.h"

#include <stddef.h>

bool quant_calib_input(const struct calib_stats *cs, int layer, int input, const float **ch, float *tensor_max)
{
    (void)cs; (void)layer; (void)input;
    *ch = NULL;
    *tensor_max = 0;
    return false;
}
