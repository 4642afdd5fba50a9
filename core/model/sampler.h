/* core/model/sampler.h — next-token choice: greedy, temperature, top-k, top-p; seeded.
 *
 * Same seed and logits → same tokens on every machine (integer RNG). The
 * selection itself (candidate order, top-k, top-p, the draw) is
 * kernels/sample_select.h, shared with the backends' sample hooks. */
#ifndef INFERTOP_SAMPLER_H
#define INFERTOP_SAMPLER_H

#include <stdint.h>

struct sampler {
    float temperature;        /* 0 = greedy */
    int top_k;                /* 0 = all */
    float top_p;              /* 1 = off */
    uint64_t state;           /* splitmix64 */
    int vocab;
    struct cs_cand *cand;     /* scratch [vocab] (kernels/sample_select.h) */
};

int  sampler_init(struct sampler *s, int vocab, float temperature, int top_k, float top_p,
                  uint64_t seed);
void sampler_free(struct sampler *s);
/* Choose a token from logits[vocab] (not modified). */
int32_t sampler_sample(struct sampler *s, const float *logits);
/* The distribution sampler_sample draws from, as probabilities p[vocab]
 * (0 outside top-k/top-p; greedy: 1 at the argmax). Draws nothing. */
void sampler_probs(struct sampler *s, const float *logits, float *p);
/* One uniform draw in [0, 1) from the state (advances it). */
double sampler_uniform(struct sampler *s);
/* Draw an index from the unnormalized weights w[0..n) (entries <= 0 never
 * chosen); -1 when every weight is <= 0. */
int32_t sampler_pick(struct sampler *s, const float *w, int n);
/* Index of the largest logit (ties: lowest id). */
int32_t sampler_argmax(const float *logits, int n);
/* The k best ids by logit, descending (ties: lowest id first). */
void sampler_topk_ids(const float *logits, int n, int k, int32_t *out);

#endif
