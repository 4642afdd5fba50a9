/* core/quant/transform.h — weight transforms: the seam between loading a
 * model and running it.
 *
 * quant_apply_transforms runs an ordered list of passes over a freshly
 * loaded model, each enabled by its options (technique "quantization" /
 * "sparsity", class rebuild):
 *   1. quant      quant=int8|int4|fp8|w4a8|w8a8|w8a8-smooth|fp8a8 (core/quant/quantize.c);
 *   2. sparsity   (issue 14) appended to the same list.
 * Every pass reads the layer matrices in their loaded format (GGUF blocks are
 * dequantized to f32 first) and replaces them in place, chaining a record
 * into the model's release: model_free restores and frees, latest pass
 * first. Applying to a model twice is refused: reload it
 * (session_reload_weights) instead.
 * A rebuild of the workload with a changed transform option reloads the model
 * and re-transforms it (runner: runner_config.reload). */
#ifndef INFERTOP_QUANT_TRANSFORM_H
#define INFERTOP_QUANT_TRANSFORM_H

#include "core/model/model.h"
#include "core/options/options.h"

#include <stdbool.h>
#include <stddef.h>

struct calib_stats;           /* core/quant/calib.h */

/* One line of progress ("quant: int4_g32, layer 12/30"); may be NULL. */
typedef void (*quant_progress_fn)(void *user, const char *line);

/* Whether any pass the options enable changes the weights. */
bool quant_transforms_enabled(const struct options *o);
/* Whether an enabled pass needs calibration statistics of the untransformed
 * model (w8a8 with act_scale=tensor, w8a8-smooth, ...). */
bool quant_transforms_need_calib(const struct options *o);
/* Whether changing option `id` changes what quant_apply_transforms makes
 * (the runner reloads the weights on such a change). */
bool quant_is_transform_option(enum opt_id id);

/* Run every enabled pass over m's layer matrices (m loaded, not yet
 * uploaded to a device backend). cs: statistics from calib_collect on the
 * same untransformed model, NULL when none were collected (a pass that needs
 * them fails). n_threads: CPU threads for the encoding (<= 0: 2).
 * Sets m->wformat. 0 (nothing enabled: m untouched); -1 with one line naming
 * the option and what was expected in err — m is then unchanged.
 * A shape-only model (MODEL_SHAPES_ONLY) gets the formats alone: each
 * matrix's type becomes what the passes would make (quant's target, then
 * 2:4's), no data, no calibration needed (cs ignored) — for the MODELED
 * bytes and FLOPs of plan and simulated devices. */
int quant_apply_transforms(struct model *m, const struct options *o, const struct calib_stats *cs,
                           int n_threads, quant_progress_fn progress, void *user, char *err,
                           size_t errlen);

/* Put m's layer matrices (and norms) back as loaded, freeing what the quant
 * record made; only when it is the latest record (no later pass chained
 * after it). model_free does this itself. */
void quant_undo_transforms(struct model *m);

/* ---- for the passes (quantize.c, smooth.c, sparsity) ---- */

/* The seven layer matrices of layer L in a fixed order: wq wk wv wo gate up down. */
#define QUANT_LAYER_MATRICES 7
void quant_layer_matrices(struct layer_weights *L, struct weight *out[QUANT_LAYER_MATRICES]);

/* Replace w's bytes with `data` (malloc'd, dense rows of type t), keeping the
 * original in the model's record for model_free; the model owns data. 0; -1
 * out of memory (data freed, w unchanged). */
int quant_replace_weight(struct model *m, struct weight *w, enum dtype t, void *data);
/* A model-owned float buffer [n] (norm gains, SmoothQuant scales); replaces
 * *slot (recorded) when slot != NULL. NULL out of memory. */
float *quant_model_floats(struct model *m, float **slot, size_t n);

/* w's row r decoded to f32 (any format, strided rows). */
void quant_decode_weight_row(const struct weight *w, int r, float *out);

/* Run fn(ctx, i) for i in [0, n) on n_threads pthreads (the transform
 * passes are CPU work before any backend runs). */
void quant_parallel_for(int n, int n_threads, void (*fn)(void *ctx, int i), void *ctx);

#endif
