/* core/quant/quality.h — the quality line: how far the weights a run uses
 * are from the reference weights, measured when a weight-changing mode is
 * applied (at start, and on a rebuild that changes a weight option).
 *
 * Method: eval's (core/quant/eval.h) on the first QUALITY_TOKENS tokens of
 * the shipped eval text as one chunk — the first half context, the rest
 * scored — with the reference (core/quant/reference.h) loaded on the same
 * backend for the measurement and freed after. When the options leave the
 * weights at the reference's, nothing is run (TQ_REFERENCE). */
#ifndef INFERTOP_QUALITY_H
#define INFERTOP_QUALITY_H

#include "core/model/model.h"
#include "core/options/options.h"
#include "core/telemetry.h"

#define QUALITY_TOKENS 256

/* Measure cur (on be, made from model_spec with opt) against the reference.
 * out->state is TQ_REFERENCE, TQ_MEASURED, or TQ_FAILED with out->error set
 * (a text or model that cannot be loaded, out of memory). Returns 0 unless
 * TQ_FAILED (-1). */
int quality_measure(struct model *cur, struct backend *be, const char *model_spec, const struct options *opt,
                    struct tel_quality *out);

/* "quality (measured, 256 tokens): KLD 0.0123, same top p 97.6%" or
 * "quality: weights = reference (no measurement)", for headers and reports. */
void quality_format(const struct tel_quality *q, char *buf, size_t n);

#endif
