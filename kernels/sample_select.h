/* kernels/sample_select.h — the one definition of next-token selection, for
 * every sampler: the host sampler (core/model/sampler.c), the CPU backend's
 * sample hook (kernels/cpu/cpu_sample.c) and device sampling
 * (kernels/cuda/cuda_sample.cu). tests/unit/test_cuda_sample.c checks the
 * device's bitonic order against the host's sort: for the same logits,
 * settings and uniform u, the same token.
 *
 * The definition, step by step:
 *   greedy (temperature <= 0): the largest logit, ties to the lowest id;
 *   else candidates (p = (logit - max) / temperature, id), ordered by p
 *   descending then id ascending (cs_before); keep the first top_k (0 = all);
 *   weights expf(p), their double sum; top_p < 1 keeps the shortest prefix
 *   whose mass reaches top_p; r = u * sum; the first candidate whose running
 *   weight exceeds r (cs_pick_sorted).
 * The device sorts a row's candidates with a bitonic network (cs_bitonic_*:
 * the row padded to a power of two with -inf, INT32_MAX sentinels that sort
 * last). `static inline HD`, C11 and CUDA C++ alike. */
#ifndef INFERTOP_SAMPLE_SELECT_H
#define INFERTOP_SAMPLE_SELECT_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

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

/* c[0..n) sorted by cs_before: keep the first top_k (0 = all), turn scores
 * into weights expf(p) (overwriting c[i].p, as the CPU sampler does), then
 * top_p < 1 keeps the shortest prefix whose mass reaches top_p. Returns the
 * candidates kept; *sum gets their weights' total. */
CS_FN int cs_weigh(struct cs_cand *c, int n, int top_k, float top_p, double *sum)
{
    if (top_k > 0 && top_k < n) n = top_k;
    *sum = 0;
    for (int i = 0; i < n; i++) *sum += (c[i].p = expf(c[i].p));
    if (top_p < 1.0f) {
        double acc = 0;
        for (int i = 0; i < n; i++) {
            acc += c[i].p / *sum;
            if (acc >= top_p) {
                n = i + 1;
                *sum = 0;
                for (int j = 0; j < n; j++) *sum += c[j].p;
                break;
            }
        }
    }
    return n;
}

/* The first of the n weighted candidates whose running weight exceeds u * sum
 * (u in [0, 1)). */
CS_FN int32_t cs_draw(const struct cs_cand *c, int n, double sum, double u)
{
    double r = u * sum, acc = 0;
    for (int i = 0; i < n; i++) {
        acc += c[i].p;
        if (r < acc) return c[i].id;
    }
    return c[n - 1].id;
}

/* c[0..n) sorted by cs_before (n = the row's vocabulary, sentinels after it
 * are not read): cs_weigh, then cs_draw with u. Returns the id. */
CS_FN int32_t cs_pick_sorted(struct cs_cand *c, int n, int top_k, float top_p, double u)
{
    double sum;
    n = cs_weigh(c, n, top_k, top_p, &sum);
    return cs_draw(c, n, sum, u);
}

/* ---- host only: the same selection with the C library's sort ---- */
#ifndef __CUDA_ARCH__
/* qsort comparator of cs_before. */
static inline int cs_qsort_cmp(const void *a, const void *b)
{
    struct cs_cand x = *(const struct cs_cand *)a, y = *(const struct cs_cand *)b;
    return cs_before(x, y) ? -1 : cs_before(y, x) ? 1 : 0;
}

/* Index of the largest of v[0..n) (ties: the lowest; NaN never wins, and a
 * NaN v[0] is returned as nothing compares above it) — the scan
 * `if (v[i] > v[best]) best = i`. Done in two passes the compiler can keep
 * in vector registers: the maximum over CS_LANES independent lanes, then the
 * first index holding it. The one-pass scan made every element wait for a
 * load through the previous element's index: about 200 us for a 49152 row on
 * the AMD EPYC VM (10 cycles an element), now about 17 (tests/unit/test_sampler.c
 * checks it against that scan). */
#define CS_LANES 16
static inline int32_t cs_argmax(const float *v, int n)
{
    if (n <= 0 || v[0] != v[0]) return 0;
    float lane[CS_LANES];
    for (int j = 0; j < CS_LANES; j++) lane[j] = -INFINITY;
    int i = 0;
    for (; i + CS_LANES <= n; i += CS_LANES)
        for (int j = 0; j < CS_LANES; j++) lane[j] = v[i + j] > lane[j] ? v[i + j] : lane[j];
    float m = v[0];
    for (int j = 0; j < CS_LANES; j++) m = lane[j] > m ? lane[j] : m;
    for (; i < n; i++) m = v[i] > m ? v[i] : m;
    for (i = 0; i < n; i++)
        if (v[i] == m) return i;
    return 0;
}

/* cand[0..vocab) = the row's temperature-scaled candidates (temperature > 0)
 * in cs_before order. */
static inline void cs_sorted_cands(struct cs_cand *cand, const float *logits, int vocab, float temperature)
{
    float mx = logits[cs_argmax(logits, vocab)];
    for (int i = 0; i < vocab; i++) {
        cand[i].p = cs_scaled(logits[i], mx, temperature);
        cand[i].id = i;
    }
    qsort(cand, (size_t)vocab, sizeof *cand, cs_qsort_cmp);
}

/* One row's token: greedy when temperature <= 0 (u unused), else the
 * candidates sorted, weighed and drawn with u. cand: scratch [vocab]. */
static inline int32_t cs_select_row(struct cs_cand *cand, const float *logits, int vocab, float temperature,
                                    int top_k, float top_p, double u)
{
    if (temperature <= 0) return cs_argmax(logits, vocab);
    cs_sorted_cands(cand, logits, vocab, temperature);
    return cs_pick_sorted(cand, vocab, top_k, top_p, u);
}
#endif

#endif
