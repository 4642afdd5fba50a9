/* kernels/cuda/cuda_sample.h — per-row token selection of device sampling
 * (kernels/cuda/cuda_sample.cu), shared with the CPU unit tests
 * (tests/unit/test_cuda_sample.c), which check it against core/model/sampler.c:
 * for the same logits, settings and uniform u, the same token.
 *
 * The CPU sampler's definition, step by step, which the device follows:
 *   greedy (temperature <= 0): the largest logit, ties to the lowest id;
 *   else candidates (p = (logit - max) / temperature, id), ordered by p
 *   descending then id ascending (cs_before); keep the first top_k (0 = all);
 *   weights expf(p), their double sum; top_p < 1 keeps the shortest prefix
 *   whose mass reaches top_p; r = u * sum; the first candidate whose running
 *   weight exceeds r (cs_pick_sorted).
 * The device sorts a row's candidates with a bitonic network (cs_bitonic_*:
 * the row padded to a power of two with -inf, INT32_MAX sentinels that sort
 * last). `static inline HD`, C11 and CUDA C++ alike. */
#ifndef INFERTOP_CUDA_SAMPLE_H
#define INFERTOP_CUDA_SAMPLE_H

#include <math.h>
#include <stdint.h>

#include "kernels/hd.h"

#define CS_FN HD static inline

struct cs_cand { float p; int32_t id; };

/* Whether a comes before b: p descending, then id ascending. */
CS_FN int cs_before(struct cs_cand a, struct cs_cand b)
{
    if (a.p != b.p) return a.p > b.p;
    return a.id < b.id;
}

/* Argmax step: the better of two (value, id) pairs, ties to the lower id. */
CS_FN struct cs_cand cs_max(struct cs_cand a, struct cs_cand b) { return cs_before(a, b) ? a : b; }

/* The temperature-scaled score the CPU sampler sorts by. */
CS_FN float cs_scaled(float logit, float max_logit, float temperature) { return (logit - max_logit) / temperature; }

/* Smallest power of two >= n (n >= 1). */
CS_FN int cs_pow2(int n)
{
    int p = 1;
    while (p < n) p <<= 1;
    return p;
}

/* Bitonic network over n2 = power-of-two elements: stage (k, j) with
 * k = 2, 4, ..., n2 and j = k/2, k/4, ..., 1. Pair t (0 <= t < n2/2) of a stage
 * compares elements *lo < *hi; cs_bitonic_swap says whether to exchange them so
 * that after the last stage the array is in cs_before order. */
CS_FN void cs_bitonic_pair(int t, int j, int *lo, int *hi)
{
    *lo = 2 * j * (t / j) + t % j;
    *hi = *lo + j;
}

CS_FN int cs_bitonic_swap(struct cs_cand a_lo, struct cs_cand a_hi, int lo, int k)
{
    int ascending_block = (lo & k) == 0;   /* this k-block ends in cs_before order */
    return ascending_block ? cs_before(a_hi, a_lo) : cs_before(a_lo, a_hi);
}

/* c[0..n) sorted by cs_before (n = the row's vocabulary, sentinels after it
 * are not read): apply top_k, weights, top_p and the draw u in [0, 1).
 * Overwrites c[i].p with the weights, as the CPU sampler does. Returns the id. */
CS_FN int32_t cs_pick_sorted(struct cs_cand *c, int n, int top_k, float top_p, double u)
{
    if (top_k > 0 && top_k < n) n = top_k;
    double sum = 0;
    for (int i = 0; i < n; i++) sum += (c[i].p = expf(c[i].p));
    if (top_p < 1.0f) {
        double acc = 0;
        for (int i = 0; i < n; i++) {
            acc += c[i].p / sum;
            if (acc >= top_p) {
                n = i + 1;
                sum = 0;
                for (int j = 0; j < n; j++) sum += c[j].p;
                break;
            }
        }
    }
    double r = u * sum, acc = 0;
    for (int i = 0; i < n; i++) {
        acc += c[i].p;
        if (r < acc) return c[i].id;
    }
    return c[n - 1].id;
}

#endif
