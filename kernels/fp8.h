/* kernels/fp8.h — FP8 scalar conversions (OCP 8-bit floating point spec),
 * shared by the CPU backend, the CUDA kernels (HD) and core/quant.
 *
 *   E4M3: 1 sign, 4 exponent (bias 7), 3 mantissa bits. Max ±448 (S.1111.110);
 *         S.1111.111 is the only NaN; no infinity. Subnormals m·2^-9.
 *   E5M2: 1 sign, 5 exponent (bias 15), 2 mantissa bits: the top byte of an
 *         IEEE half. Max ±57344 (S.11110.11); S.11111.00 = inf, S.11111.xx NaN.
 *         Subnormals m·2^-16.
 * Encoding rounds to nearest, ties to even, keeps −0 and NaN, and SATURATES:
 * a finite value beyond the maximum becomes ±max (E4M3 also maps ±inf to ±448,
 * having no inf; E5M2 keeps ±inf). Some libraries get the maxima wrong (416,
 * 49152): the unit tests pin 448 and 57344. */
#ifndef INFERTOP_FP8_H
#define INFERTOP_FP8_H

#include "kernels/hd.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define FP8_E4M3_MAX 448.0f
#define FP8_E5M2_MAX 57344.0f

static inline HD uint32_t fp8_f32_bits(float f)
{
#ifdef __CUDA_ARCH__
    return __float_as_uint(f);
#else
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
#endif
}

static inline HD float fp8_bits_f32(uint32_t u)
{
#ifdef __CUDA_ARCH__
    return __uint_as_float(u);
#else
    float f;
    memcpy(&f, &u, 4);
    return f;
#endif
}

/* |x| (f32 bits a, finite, not NaN) → the FP8 magnitude bits with `mbits`
 * mantissa bits, exponent bias `bias`, rounding to nearest even; may exceed
 * the format's maximum (the caller saturates). */
static inline HD uint32_t fp8_round_mag(uint32_t a, int mbits, int bias)
{
    int min_exp = 1 - bias;                           /* exponent of the smallest normal */
    float v = fp8_bits_f32(a);
    if ((int)(a >> 23) - 127 < min_exp) {
        /* subnormal range: steps of 2^(min_exp - mbits); the integer is the
         * bit pattern itself (a carry into 1<<mbits is the smallest normal) */
        float q = v * ldexpf(1.0f, mbits - min_exp);
        return (uint32_t)rintf(q);
    }
    int shift = 23 - mbits;
    uint32_t r = a + ((1u << (shift - 1)) - 1u) + ((a >> shift) & 1u);
    return (r - ((uint32_t)(127 - bias) << 23)) >> shift;
}

static inline HD uint8_t fp8_e4m3_from_f32(float x)
{
    uint32_t u = fp8_f32_bits(x), sign = (u >> 24) & 0x80u, a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint8_t)(sign | 0x7fu);          /* NaN */
    if (a >= 0x43e00000u) return (uint8_t)(sign | 0x7eu);         /* >= 448 or inf: saturate */
    uint32_t m = fp8_round_mag(a, 3, 7);
    return (uint8_t)(sign | (m > 0x7eu ? 0x7eu : m));             /* 464..479 round up to 480: saturate */
}

static inline HD float fp8_e4m3_to_f32(uint8_t b)
{
    uint32_t e = (b >> 3) & 0xfu, m = b & 7u;
    float v;
    if ((b & 0x7fu) == 0x7fu) v = NAN;
    else if (e == 0) v = (float)m * 0x1p-9f;
    else v = ldexpf(1.0f + (float)m / 8.0f, (int)e - 7);
    return (b & 0x80u) ? -v : v;
}

static inline HD uint8_t fp8_e5m2_from_f32(float x)
{
    uint32_t u = fp8_f32_bits(x), sign = (u >> 24) & 0x80u, a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint8_t)(sign | 0x7eu);          /* NaN */
    if (a == 0x7f800000u) return (uint8_t)(sign | 0x7cu);         /* inf stays inf */
    if (a >= 0x47600000u) return (uint8_t)(sign | 0x7bu);         /* >= 57344: saturate */
    uint32_t m = fp8_round_mag(a, 2, 15);
    return (uint8_t)(sign | (m > 0x7bu ? 0x7bu : m));
}

static inline HD float fp8_e5m2_to_f32(uint8_t b)
{
    uint32_t e = (b >> 2) & 0x1fu, m = b & 3u;
    float v;
    if (e == 31) v = m ? NAN : INFINITY;
    else if (e == 0) v = (float)m * 0x1p-16f;
    else v = ldexpf(1.0f + (float)m / 4.0f, (int)e - 15);
    return (b & 0x80u) ? -v : v;
}

#endif
