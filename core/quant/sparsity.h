/* core/quant/sparsity.h — 2:4 structured pruning of a model's linear weights
 * (seed §5.2): in every group of 4 consecutive input weights of a row keep 2,
 * stored compressed (kept values + 2-bit positions, kernels/sparse24.h).
 *
 *   magnitude  keep the two largest |W_ij|;
 *   wanda      keep the two largest |W_ij| · ‖X_j‖₂, ‖X_j‖₂ the norm of input
 *              channel j over a calibration text (Sun et al., "A Simple and
 *              Effective Pruning Approach for LLMs"; no retraining, no update of
 *              the kept weights).
 * Ties go to the lower position, so a pruning is the same on every machine.
 * Pruned: wq wk wv wo w_gate w_up w_down of every layer, and the LM head only
 * when asked (never the embedding rows, never the norms). */
#ifndef INFERTOP_SPARSITY_H
#define INFERTOP_SPARSITY_H

#include "core/model/model.h"
#include "core/options/options.h"   /* enum opt_sparsity: SPARSITY_OFF, _MAGNITUDE, _WANDA */

#include <stdbool.h>
#include <stddef.h>

/* "off", "2:4-magnitude", "2:4-wanda" */
const char *sparsity_mode_name(enum opt_sparsity m);

/* Zero two of every four consecutive w[j] (n % 4 == 0), keeping the two
 * largest |w[j]| · (xnorm ? xnorm[j] : 1); ties keep the lower j. */
void sparsity_prune_row(float *w, const float *xnorm, int n);

/* The 2:4 format that holds the kept values of a weight stored as t:
 * f32 → s24_f32, q8_0 and int8 per channel (quant=int8: its int8 values
 * are kept as they are, scale rounded to f16) → s24_q8, every other → s24_f16. */
enum dtype sparsity_value_type(enum dtype t);

/* ‖X_j‖₂ (j < w->cols) of the input of weight w of layer `layer` (-1: the LM
 * head), or NULL when the calibration has none. */
typedef const float *(*sparsity_norm_fn)(void *user, const struct weight *w, int layer);

struct sparsity_opts {
    enum opt_sparsity mode;
    bool head;                  /* prune the LM head too (a tied head gets its own copy) */
    enum dtype value_type;      /* DT_COUNT: sparsity_value_type of each weight */
    sparsity_norm_fn norm;      /* wanda: the calibration's input-channel norms */
    void *norm_user;
};

/* Weight bytes of a model of shape c whose layer matrices are 2:4 pruned with
 * the values of `values` (f16 → s24_f16: 9 bits per original element), the
 * embedding (and the head, unless `head`) kept in `values`, norms f32. */
double sparsity_model_bytes(const struct model_config *c, enum dtype values, bool head);

/* Replace w by its 2:4 pruning in format `to` (a 2:4 type): rows decoded,
 * pruned (sparsity_prune_row with xnorm), encoded into a malloc'd dense
 * buffer returned in *owned (the caller frees it after the weight's last
 * use); w->data, type, row_stride follow. w must be whole (SHARD_NONE) with
 * data, cols % 16 == 0, and no backend copy. 0 ok; -1 with "weight NAME: ...
 * expected ..." in err. */
int sparsity_prune_weight(struct weight *w, const float *xnorm, enum dtype to, void **owned,
                          char *err, size_t errlen);

/* Prune every linear weight of m as o says (mode off: nothing). The buffers
 * are owned by m from then on (model_free releases them). Call before
 * model_upload. Counts what was pruned in *n_pruned (may be NULL).
 * 0 ok; -1 with the weight and the reason in err (m is then unchanged only
 * up to the failing weight: free it). */
int sparsity_apply(struct model *m, const struct sparsity_opts *o, int *n_pruned, char *err,
                   size_t errlen);

struct calib_stats;             /* core/quant/calib.h */

/* sparsity_apply with the options `sparsity` and `sparsity_head` (values kept
 * in each weight's own precision class, sparsity_value_type); 2:4-wanda takes
 * ‖X_j‖₂ from cs (calibration of the unpruned model; NULL: refused). 0 (also
 * when off); -1 with "sparsity=...: ..." in err. */
int sparsity_apply_options(struct model *m, const struct options *o, const struct calib_stats *cs,
                           int *n_pruned, char *err, size_t errlen);

#endif
