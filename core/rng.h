/* core/rng.h — a small deterministic pseudo-random generator and the
 * distributions the workload generator draws from.
 *
 * Same seed → the same numbers on every IEEE-754 machine: the bits come from
 * xoshiro256** seeded by splitmix64 (integer arithmetic only), and every
 * real-valued transform uses only +, -, *, /, sqrt, floor and ldexp (all exactly
 * rounded) plus this file's own log and exp, so no libm difference between
 * machines or library versions can change a sampled value. rng.c is compiled
 * without floating-point contraction (no FMA fusing) for the same reason.
 *
 * Streams: rng_init(seed) and rng_init_stream(seed, stream, index) give
 * independent generators, so a workload draws arrivals, lengths and tokens from
 * separate streams and changing one distribution leaves the others unchanged. */
#ifndef INFERTOP_RNG_H
#define INFERTOP_RNG_H

#include <stdint.h>

struct rng {
    uint64_t s[4];            /* xoshiro256** state; never all zero */
};

/* splitmix64 step: advances *state and returns the next output. Used to expand
 * seeds; also a fine 64-bit mixer on its own. */
uint64_t rng_splitmix64(uint64_t *state);

/* Seed a generator from one 64-bit value (any value, zero included). */
void rng_init(struct rng *r, uint64_t seed);
/* Seed generator number `index` of stream `stream` under `seed`: distinct
 * (seed, stream, index) triples give statistically independent sequences. */
void rng_init_stream(struct rng *r, uint64_t seed, uint64_t stream, uint64_t index);

/* Next raw 64 bits (xoshiro256**). */
uint64_t rng_next(struct rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double rng_uniform(struct rng *r);
/* Uniform integer in [0, n), unbiased (rejection); n >= 1. */
uint64_t rng_below(struct rng *r, uint64_t n);
/* Standard normal N(0, 1) (Marsaglia's polar method: no trigonometry). */
double rng_normal(struct rng *r);
/* Exponential with mean 1. */
double rng_exponential(struct rng *r);
/* Gamma with the given shape (> 0) and scale 1 (Marsaglia-Tsang; shape < 1
 * through the boost G(a) = G(a+1) · U^(1/a)). Mean = shape, var = shape. */
double rng_gamma(struct rng *r, double shape);
/* Lognormal: exp(mu + sigma · N(0,1)); its median is exp(mu). */
double rng_lognormal(struct rng *r, double mu, double sigma);

/* Machine-independent natural log (x > 0; returns -inf for 0, NaN below) and
 * exp (overflow → +inf, deep underflow → 0). Accurate to a few ulp; exposed so
 * callers that need bit-identical results across machines can use them. */
double rng_log(double x);
double rng_exp(double x);

#endif
