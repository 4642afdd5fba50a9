/* tests/unit/test_cuda_sample.c — device sampling's per-row selection
 * (kernels/sample_select.h) against the CPU sampler (core/model/sampler.c):
 * the argmax fold, the bitonic network the kernel runs (sorted order equals
 * the CPU's qsort order, ties by id), and the pick: same logits, settings and
 * uniform → the same token, for greedy, temperature, top-k and top-p, on
 * random logits with ties. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/model/sampler.h"
#include "kernels/sample_select.h"

static uint64_t rng_state = 0x6a09e667f3bcc909ull;
static double rnd_unit(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) * 0x1.0p-53;
}
static int rnd_int(int lo, int hi) { return lo + (int)(rnd_unit() * (hi - lo + 1)); }

/* Logits with ties: every third one rounded to a coarse grid. */
static float *rand_logits(int n)
{
    float *l = malloc(sizeof *l * (size_t)n);
    cr_assert(l);
    for (int i = 0; i < n; i++) {
        float v = (float)(rnd_unit() * 16 - 8);
        l[i] = i % 3 == 0 ? roundf(v * 2) / 2 : v;
    }
    return l;
}

/* The kernel's argmax: strided per-thread folds (T threads), then a fold of those. */
static int32_t device_argmax(const float *l, int n, int threads)
{
    struct cs_cand total = {-INFINITY, INT32_MAX};
    for (int t = 0; t < threads; t++) {
        struct cs_cand b = {-INFINITY, INT32_MAX};
        for (int i = t; i < n; i += threads) b = cs_max(b, (struct cs_cand){l[i], i});
        total = cs_max(total, b);
    }
    return total.id;
}

/* The kernel's candidate array: scaled scores padded to pow2, bitonic-sorted. */
static struct cs_cand *device_sorted(const float *l, int n, float temperature, int *n2_out)
{
    int n2 = cs_pow2(n);
    struct cs_cand *c = malloc(sizeof *c * (size_t)n2);
    cr_assert(c);
    float mx = l[device_argmax(l, n, 7)];
    for (int i = 0; i < n2; i++)
        c[i] = i < n ? (struct cs_cand){cs_scaled(l[i], mx, temperature), i} : (struct cs_cand){-INFINITY, INT32_MAX};
    for (int k = 2; k <= n2; k <<= 1)
        for (int j = k >> 1; j > 0; j >>= 1)
            for (int t = 0; t < n2 / 2; t++) {
                int lo, hi;
                cs_bitonic_pair(t, j, &lo, &hi);
                if (cs_bitonic_swap(c[lo], c[hi], lo, k)) {
                    struct cs_cand x = c[lo];
                    c[lo] = c[hi];
                    c[hi] = x;
                }
            }
    *n2_out = n2;
    return c;
}

Test(cuda_sample, argmax_equals_cpu_with_ties)
{
    for (int it = 0; it < 500; it++) {
        int n = rnd_int(1, 5000);
        float *l = rand_logits(n);
        if (it % 5 == 0) {                      /* force a tie at the top */
            int a = rnd_int(0, n - 1), b = rnd_int(0, n - 1);
            l[a] = l[b] = 100.f;
        }
        cr_assert_eq(device_argmax(l, n, rnd_int(1, 1024)), sampler_argmax(l, n), "n=%d", n);
        free(l);
    }
}

Test(cuda_sample, bitonic_network_sorts_like_qsort)
{
    for (int it = 0; it < 200; it++) {
        int n = rnd_int(1, 3000), n2;
        float *l = rand_logits(n);
        struct cs_cand *c = device_sorted(l, n, (float)(0.1 + rnd_unit() * 2), &n2);
        struct cs_cand *ref = malloc(sizeof *ref * (size_t)n);
        cr_assert(ref);
        memcpy(ref, c, sizeof *ref * (size_t)n);   /* the real candidates are a permutation... */
        for (int i = 0; i < n2; i++) cr_assert(i < n ? c[i].id < n : c[i].id == INT32_MAX, "sentinel in place");
        qsort(ref, (size_t)n, sizeof *ref, cs_qsort_cmp);
        for (int i = 0; i < n; i++) cr_assert(ref[i].id == c[i].id && ref[i].p == c[i].p, "n=%d at %d", n, i);
        free(l); free(c); free(ref);
    }
}

Test(cuda_sample, same_uniform_same_token_as_cpu_sampler)
{
    const int top_ks[] = {0, 1, 5, 40, 100000};
    const float top_ps[] = {1.0f, 0.95f, 0.5f, 0.05f};
    int checked = 0, distinct = 0;
    for (int it = 0; it < 400; it++) {
        int n = rnd_int(2, 3000), n2;
        float *l = rand_logits(n);
        float temp = it % 10 == 0 ? 0.f : (float)(0.05 + rnd_unit() * 2);
        int top_k = top_ks[it % 5];
        float top_p = top_ps[(it / 5) % 4];
        struct sampler s;
        cr_assert_eq(sampler_init(&s, n, temp, top_k, top_p, 1000 + (uint64_t)it), 0);
        int32_t first = -1;
        for (int draw = 0; draw < 4; draw++) {
            struct sampler peek = s;             /* the uniform sampler_sample will draw */
            double u = sampler_uniform(&peek);
            int32_t want = sampler_sample(&s, l), got;
            if (temp <= 0) {
                got = device_argmax(l, n, 1024);
            } else {
                struct cs_cand *c = device_sorted(l, n, temp, &n2);
                got = cs_pick_sorted(c, n, top_k, top_p, u);
                free(c);
            }
            cr_assert_eq(got, want, "n=%d temp=%g top_k=%d top_p=%g draw %d", n, temp, top_k, top_p, draw);
            if (draw == 0) first = got;
            else distinct += got != first;
            checked++;
        }
        sampler_free(&s);
        free(l);
    }
    cr_assert(checked == 1600 && distinct > 50, "the draws must vary (%d of %d differ)", distinct, checked);
}

Test(cuda_sample, pow2_and_pairs_cover_each_element_once)
{
    for (int n = 1; n <= 4100; n += 37) cr_assert(cs_pow2(n) >= n && cs_pow2(n) < 2 * n + 1 && (cs_pow2(n) & (cs_pow2(n) - 1)) == 0);
    for (int n2 = 2; n2 <= 1024; n2 <<= 1)
        for (int j = n2 / 2; j > 0; j >>= 1) {
            unsigned char *seen = calloc((size_t)n2, 1);
            for (int t = 0; t < n2 / 2; t++) {
                int lo, hi;
                cs_bitonic_pair(t, j, &lo, &hi);
                cr_assert(lo >= 0 && hi < n2 && (lo ^ j) == hi);
                seen[lo]++;
                seen[hi]++;
            }
            for (int i = 0; i < n2; i++) cr_assert_eq(seen[i], 1);
            free(seen);
        }
}
