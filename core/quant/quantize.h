/* core/quant/quantize.h — the quant pass of the weight transforms
 * (transform.h): option quant=int8|int4|fp8|w4a8|w8a8|w8a8-smooth|fp8a8 turns every
 * layer matrix (wq wk wv wo gate up down; embeddings and the output head
 * stay as loaded) into an own format of kernels/xq_blocks.h:
 *   int8        DT_I8, per output channel (W8A16)
 *   int4        DT_I4S_g (quant_sym=on) / DT_I4A_g (zero point), g = quant_group,
 *               or the largest of 64, 32 that divides a matrix's width;
 *               quant_weighting=act (default): each group's scale minimises
 *               Σ_j E[x_j²]·(w_j − ŵ_j)², E[x_j²] of the matrix's input on the
 *               calibration text (imatrix / AWQ idea: the expected squared
 *               error of the output), =none: Σ (w_j − ŵ_j)²
 *   fp8         DT_E4M3 / DT_E5M2 (fp8_format), per output channel scale
 *   w4a8        DT_Q4_0 rows encoded by int4 g32 symmetric's search (the same
 *               bytes, quant_weighting as int4): the GGUF Q4_0 integer kernels
 *               run it, x quantized to int8 per 32 (W4A8); a width 32 does
 *               not divide stays as loaded
 *   w8a8        DT_W8A8: act_scale=token dynamic, =tensor static from calibration
 *   w8a8-smooth SmoothQuant (smooth.h) folded in first, then W8A8
 *   fp8a8       DT_F8A8: act_scale=tensor static from calibration, =token one
 *               dynamic scale per matmul input (per tensor, at run time) */
#ifndef INFERTOP_QUANT_QUANTIZE_H
#define INFERTOP_QUANT_QUANTIZE_H

#include "core/quant/transform.h"

bool quantize_enabled(const struct options *o);
bool quantize_needs_calib(const struct options *o);
/* The format quant gives a matrix with `cols` inputs; -1 when none fits
 * (the matrix is then kept as loaded). */
int  quantize_target(const struct options *o, int cols);
int  quantize_run(struct model *m, const struct options *o, const struct calib_stats *cs, int n_threads,
                  quant_progress_fn progress, void *user, char *err, size_t errlen);

/* m->wformat from the layer matrices' formats now: the most common, then
 * the matrices that differ ("int4_g64, down int4_g128"). */
void quantize_describe_formats(struct model *m);

/* Encode w's rows into format t (from its loaded format, via f32) and
 * replace it in m. 0; -1 out of memory (w unchanged). */
int  quantize_weight(struct model *m, struct weight *w, enum dtype t, int n_threads);
/* The same with imp[w->cols] (per input channel, >= 0; NULL: unweighted) as
 * the int4 search's importance (xq_encode_row_weighted). */
int  quantize_weight_weighted(struct model *m, struct weight *w, enum dtype t, const float *imp, int n_threads);

#endif
