/* Sampler: greedy, top-k, top-p, determinism, distribution. */
#include "core/model/sampler.h"

#include <criterion/criterion.h>
#include <math.h>

Test(sampler, greedy_picks_argmax)
{
    float l[6] = {0.1f, 2.0f, -1.0f, 3.5f, 3.4f, 0.0f};
    struct sampler s;
    cr_assert_eq(sampler_init(&s, 6, 0, 0, 1, 1), 0);
    cr_assert_eq(sampler_sample(&s, l), 3);
    int32_t top[3];
    sampler_topk_ids(l, 6, 3, top);
    cr_assert_eq(top[0], 3); cr_assert_eq(top[1], 4); cr_assert_eq(top[2], 1);
    sampler_free(&s);
}

Test(sampler, top_k_1_is_greedy_and_top_p_limits_support)
{
    float l[5] = {1.0f, 4.0f, 3.9f, 0.5f, -2.0f};
    struct sampler s;
    sampler_init(&s, 5, 1.0f, 1, 1.0f, 42);
    for (int i = 0; i < 100; i++) cr_assert_eq(sampler_sample(&s, l), 1);
    sampler_free(&s);
    /* p(1) ≈ 0.50, p(2) ≈ 0.45: top_p = 0.9 keeps exactly {1, 2} */
    sampler_init(&s, 5, 1.0f, 0, 0.9f, 42);
    for (int i = 0; i < 500; i++) { int t = sampler_sample(&s, l); cr_assert(t == 1 || t == 2, "got %d", t); }
    sampler_free(&s);
}

Test(sampler, frequencies_follow_softmax_and_seed_repeats)
{
    float l[3] = {0.0f, logf(2.0f), logf(5.0f)};      /* probabilities 1/8, 2/8, 5/8 */
    struct sampler s, t;
    sampler_init(&s, 3, 1.0f, 0, 1.0f, 9);
    sampler_init(&t, 3, 1.0f, 0, 1.0f, 9);
    int count[3] = {0}, N = 40000;
    for (int i = 0; i < N; i++) {
        int a = sampler_sample(&s, l);
        cr_assert_eq(a, sampler_sample(&t, l));
        count[a]++;
    }
    double want[3] = {0.125, 0.25, 0.625};
    for (int i = 0; i < 3; i++)
        cr_assert(fabs(count[i] / (double)N - want[i]) < 0.01, "token %d: %g vs %g", i, count[i] / (double)N, want[i]);
    sampler_free(&s); sampler_free(&t);
}

/* The reference greedy scan: the largest logit, ties to the lowest id, NaN never above anything. */
static int32_t argmax_scan(const float *v, int n)
{
    int32_t best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

/* sampler_argmax (the two-pass lanes of kernels/sample_select.h) against the
 * scan on random rows of every length 1..80 and vocabulary-sized ones, with
 * ties (values from a few levels), -inf, NaN anywhere including v[0], and
 * rows whose maximum sits in the tail past the last full group of lanes. */
Test(sampler, argmax_lanes_match_the_scan)
{
    static float v[49157];
    uint32_t s = 7;
    for (int rep = 0; rep < 3000; rep++) {
        int n = rep < 800 ? 1 + rep % 80 : rep % 2 ? 49152 : 49157 - rep % 13;
        int levels = 1 + rep % 7;
        for (int i = 0; i < n; i++) {
            s = s * 1664525u + 1013904223u;
            v[i] = rep % 3 ? (float)((s >> 8) % (unsigned)levels) - 3.0f : ((s >> 8) / 16777216.0f - 0.5f) * 20;
        }
        s = s * 1664525u + 1013904223u;
        switch (rep % 6) {
        case 1: v[(s >> 8) % (unsigned)n] = NAN; break;
        case 2: v[0] = NAN; break;
        case 3: for (int i = 0; i < n; i++) v[i] = -INFINITY; break;
        case 4: v[n - 1] = 1e30f; break;                                  /* the tail */
        case 5: v[(s >> 8) % (unsigned)n] = -0.0f; if (n > 1) v[n / 2] = 0.0f; break;
        default: break;
        }
        cr_assert_eq(sampler_argmax(v, n), argmax_scan(v, n), "rep %d n %d", rep, n);
    }
}
