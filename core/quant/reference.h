/* core/quant/reference.h — the reference weights a quality number is measured
 * against: the same model with every weight-transform option at its default.
 *
 * A weight-transform option is any registry row (core/options/options_table.h)
 * whose technique is quantization or sparsity ("quantization", "sparsity",
 * "2:4-sparsity", ...) and whose class is rebuild or process — new weights,
 * not a live kernel choice. Found by the registry, so a new quant/sparsity
 * option needs no change here. For synth: models `wtype` is one (the
 * reference is f32); a GGUF file keeps its own weights (wtype does not apply),
 * so its reference is the file as-is. */
#ifndef INFERTOP_REFERENCE_H
#define INFERTOP_REFERENCE_H

#include "core/options/options.h"

#include <stdbool.h>

/* Whether option `id` changes the weights (see above). */
bool reference_is_weight_option(enum opt_id id);

/* *ref = *cur with every weight-transform option reset to its default (and
 * marked not explicitly set). */
void reference_options(const struct options *cur, struct options *ref);

/* Whether cur's weights differ from the reference's for a model spec
 * ("synth:..." or a file): some weight-transform option is not at its
 * default, wtype counting for synth: models only. */
bool reference_differs(const struct options *cur, const char *model_spec);

/* The weight-transform options not at their defaults, as "wtype=q4_0
 * quant=int8" (their values in cur), or with reference set as the values the
 * reference has instead ("wtype=f32 quant=none"); "" when none. Returns the
 * length it wanted (snprintf-style). */
size_t reference_format(const struct options *cur, const char *model_spec, bool reference, char *buf, size_t n);

#endif
