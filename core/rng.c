/* core/rng.c — xoshiro256** + splitmix64 and portable distributions.
 * See rng.h for why log and exp are implemented here rather than taken from libm. */
#include "core/rng.h"

#include <math.h>

/* No fused multiply-add: a*b+c rounded once on one machine and twice on
 * another would make "the same seed" give different numbers. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

/* ln 2 split for Cody-Waite reduction: LN2_HI has trailing zero bits, so
 * k * LN2_HI is exact for |k| < 2^11. */
static const double LN2_HI = 6.93147180369123816490e-01;
static const double LN2_LO = 1.90821492927058770002e-10;
static const double LOG2_E = 1.44269504088896338700e+00;

uint64_t rng_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void rng_init(struct rng *r, uint64_t seed)
{
    uint64_t sm = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = rng_splitmix64(&sm);
    /* splitmix64 is a bijection of its counter, so four consecutive outputs
     * cannot all be zero; the state is therefore valid for xoshiro. */
}

void rng_init_stream(struct rng *r, uint64_t seed, uint64_t stream, uint64_t index)
{
    /* Hash the triple through splitmix64 so that nearby triples land far apart. */
    uint64_t sm = seed;
    uint64_t h = rng_splitmix64(&sm);
    sm = h ^ (stream * 0xd1b54a32d192ed03ull);
    h = rng_splitmix64(&sm);
    sm = h ^ (index * 0xaef17502108ef2d9ull);
    rng_init(r, rng_splitmix64(&sm));
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rng_uniform(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t rng_below(struct rng *r, uint64_t n)
{
    if (n <= 1)
        return 0;
    /* Reject the lowest (2^64 mod n) values so every residue is equally likely. */
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t x = rng_next(r);
        if (x >= threshold)
            return x % n;
    }
}

double rng_log(double x)
{
    if (isnan(x) || x < 0)
        return NAN;
    if (x == 0)
        return -INFINITY;
    if (isinf(x))
        return x;
    /* x = m · 2^e with m in [sqrt(1/2), sqrt(2)); log m = 2·atanh(z), z = (m-1)/(m+1),
     * |z| <= 0.1716, so the odd series below reaches 1e-17 by z^23. */
    int e;
    double m = frexp(x, &e);
    if (m < 0.70710678118654752440) {
        m *= 2.0;
        e -= 1;
    }
    double z = (m - 1.0) / (m + 1.0);
    double z2 = z * z;
    double s = 1.0 / 23.0;
    for (int k = 21; k >= 1; k -= 2)
        s = s * z2 + 1.0 / (double)k;
    double ke = (double)e;
    return (2.0 * z * s + ke * LN2_LO) + ke * LN2_HI;
}

double rng_exp(double x)
{
    if (isnan(x))
        return x;
    if (x > 709.78)
        return INFINITY;
    if (x < -745.2)
        return 0.0;
    /* x = k·ln2 + r with |r| <= ln2/2; exp r by Taylor to r^14/14! (term < 2e-17). */
    double k = floor(x * LOG2_E + 0.5);
    double r = (x - k * LN2_HI) - k * LN2_LO;
    double p = 1.0 / 87178291200.0;               /* 1/14! */
    double fact = 87178291200.0;
    for (int n = 14; n >= 1; n--) {
        fact /= (double)n;                        /* (n-1)! exactly: all fit in 53 bits */
        p = p * r + 1.0 / fact;
    }
    return ldexp(p, (int)k);
}

double rng_normal(struct rng *r)
{
    for (;;) {
        double u = 2.0 * rng_uniform(r) - 1.0;
        double v = 2.0 * rng_uniform(r) - 1.0;
        double s = u * u + v * v;
        if (s > 0.0 && s < 1.0)
            return u * sqrt(-2.0 * rng_log(s) / s);
    }
}

double rng_exponential(struct rng *r)
{
    return -rng_log(1.0 - rng_uniform(r));    /* 1-u in (0, 1]: never log(0) */
}

double rng_gamma(struct rng *r, double shape)
{
    if (!(shape > 0.0))
        return NAN;
    if (shape < 1.0) {
        double g = rng_gamma(r, shape + 1.0);
        double u = 1.0 - rng_uniform(r);      /* (0, 1] */
        return g * rng_exp(rng_log(u) / shape);
    }
    double d = shape - 1.0 / 3.0;
    double c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = rng_normal(r);
        double v = 1.0 + c * x;
        if (v <= 0.0)
            continue;
        v = v * v * v;
        double u = 1.0 - rng_uniform(r);      /* (0, 1] */
        double x2 = x * x;
        if (u < 1.0 - 0.0331 * x2 * x2)
            return d * v;
        if (rng_log(u) < 0.5 * x2 + d * (1.0 - v + rng_log(v)))
            return d * v;
    }
}

double rng_lognormal(struct rng *r, double mu, double sigma)
{
    return rng_exp(mu + sigma * rng_normal(r));
}
