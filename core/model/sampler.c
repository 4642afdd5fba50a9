/* core/model/sampler.c — see sampler.h. */
#include "core/model/sampler.h"
#include "kernels/sample_select.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* uniform in [0, 1) with 53 bits */
static double next_unit(uint64_t *s) { return (double)(next_u64(s) >> 11) * (1.0 / 9007199254740992.0); }

int sampler_init(struct sampler *s, int vocab, float temperature, int top_k, float top_p,
                 uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->vocab = vocab;
    s->temperature = temperature;
    s->top_k = top_k;
    s->top_p = top_p;
    s->state = seed;
    s->cand = malloc((size_t)vocab * sizeof *s->cand);
    return s->cand ? 0 : -1;
}

void sampler_free(struct sampler *s) { free(s->cand); s->cand = NULL; }

int32_t sampler_argmax(const float *logits, int n) { return cs_argmax(logits, n); }

void sampler_topk_ids(const float *logits, int n, int k, int32_t *out)
{
    /* k is small: repeated selection keeps it allocation-free */
    for (int j = 0; j < k; j++) {
        int32_t best = -1;
        for (int i = 0; i < n; i++) {
            bool taken = false;
            for (int t = 0; t < j; t++) taken |= out[t] == i;
            if (!taken && (best < 0 || logits[i] > logits[best])) best = i;
        }
        out[j] = best;
    }
}

/* The candidates sampler_sample draws from: cand[0..n) with unnormalized
 * weights (temperature-scaled softmax numerators, top-k and top-p applied);
 * *sum gets their total. Needs temperature > 0. */
static int build_cands(struct sampler *s, const float *logits, double *sum)
{
    cs_sorted_cands(s->cand, logits, s->vocab, s->temperature);
    return cs_weigh(s->cand, s->vocab, s->top_k, s->top_p, sum);
}

int32_t sampler_sample(struct sampler *s, const float *logits)
{
    if (s->temperature <= 0) return sampler_argmax(logits, s->vocab);
    return cs_select_row(s->cand, logits, s->vocab, s->temperature, s->top_k, s->top_p, next_unit(&s->state));
}

void sampler_probs(struct sampler *s, const float *logits, float *p)
{
    memset(p, 0, (size_t)s->vocab * sizeof *p);
    if (s->temperature <= 0) { p[sampler_argmax(logits, s->vocab)] = 1; return; }
    double sum;
    int n = build_cands(s, logits, &sum);
    for (int i = 0; i < n; i++) p[s->cand[i].id] = (float)(s->cand[i].p / sum);
}

double sampler_uniform(struct sampler *s) { return next_unit(&s->state); }

int32_t sampler_pick(struct sampler *s, const float *w, int n)
{
    double sum = 0;
    int32_t last = -1;
    for (int i = 0; i < n; i++)
        if (w[i] > 0) { sum += w[i]; last = i; }
    if (last < 0) return -1;
    double r = next_unit(&s->state) * sum, acc = 0;
    for (int i = 0; i < n; i++) {
        if (w[i] <= 0) continue;
        acc += w[i];
        if (r < acc) return i;
    }
    return last;
}
