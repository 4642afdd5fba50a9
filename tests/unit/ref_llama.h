/* tests/unit/ref_llama.h — an independent double-precision Llama forward for
 * tests (written from the math, no backend): one sequence from position 0,
 * every position's logits, and the input of every linear handed to a tap. */
#ifndef INFERTOP_TEST_REF_LLAMA_H
#define INFERTOP_TEST_REF_LLAMA_H

#include "core/model/forward.h"

/* x [cols] of position t at (layer, tap); layer = n_layers for the head. */
typedef void (*ref_tap_fn)(void *user, int layer, enum fwd_tap tap, int t, const double *x, int cols);

/* Run tokens[0..n) of m (f32 weights); logits (may be NULL) gets [n][vocab]. */
void ref_llama_forward(const struct model *m, const int32_t *tokens, int n, double *logits, ref_tap_fn tap,
                       void *user);

#endif
