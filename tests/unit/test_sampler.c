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
