/* tests/unit/test_fp16.c — the scalar fp16/bf16 conversions in kernels/formats.c. */
#include "kernels/backend.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static bool half_is_nan(uint16_t h) { return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu); }

/* Every half that is not NaN survives fp16 → fp32 → fp16 unchanged. */
Test(fp16, roundtrip_exhaustive)
{
    int checked = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = fp16_to_fp32((uint16_t)h);
        if (half_is_nan((uint16_t)h)) {
            cr_assert(isnan(f), "h=%04x should decode to NaN", h);
            cr_assert(half_is_nan(fp32_to_fp16(f)), "NaN h=%04x must stay NaN", h);
            continue;
        }
        cr_assert_eq(fp32_to_fp16(f), h, "h=%04x → %g → %04x", h, (double)f, fp32_to_fp16(f));
        checked++;
    }
    cr_assert_eq(checked, 65536 - 2 * 1023);
}

/* Decoded values against their definition: (-1)^s · 2^(e-15) · (1 + m/1024),
 * subnormals 2^-14 · m/1024. */
Test(fp16, decode_matches_definition)
{
    for (uint32_t h = 0; h < 65536; h++) {
        int e = (h >> 10) & 0x1f, m = h & 0x3ff;
        if (e == 31) continue;
        double v = e == 0 ? ldexp(m / 1024.0, -14) : ldexp(1.0 + m / 1024.0, e - 15);
        if (h & 0x8000) v = -v;
        float f = fp16_to_fp32((uint16_t)h);
        cr_assert_eq((double)f, v, "h=%04x: %g != %g", h, (double)f, v);
        cr_assert_eq(signbit(f) != 0, (h & 0x8000) != 0, "sign of h=%04x", h);
    }
}

/* Rounding of values between halves: nearest, ties to even; overflow → inf. */
Test(fp16, rounding)
{
    /* 1 + 2^-11 is halfway between 1 (0x3c00) and 1+2^-10 (0x3c01): even wins */
    cr_assert_eq(fp32_to_fp16(1.0f + 0x1p-11f), 0x3c00);
    cr_assert_eq(fp32_to_fp16(1.0f + 3 * 0x1p-11f), 0x3c02);
    cr_assert_eq(fp32_to_fp16(1.0f + 0x1p-11f + 0x1p-20f), 0x3c01);
    cr_assert_eq(fp32_to_fp16(65504.0f), 0x7bff);
    cr_assert_eq(fp32_to_fp16(65519.0f), 0x7bff);
    cr_assert_eq(fp32_to_fp16(65520.0f), 0x7c00);
    cr_assert_eq(fp32_to_fp16(-INFINITY), 0xfc00);
    cr_assert_eq(fp32_to_fp16(0x1p-25f), 0x0000);            /* half the smallest subnormal: tie → 0 */
    cr_assert_eq(fp32_to_fp16(0x1p-25f * 1.5f), 0x0001);
    cr_assert_eq(fp32_to_fp16(-0x1p-24f * 3), 0x8003);
    cr_assert_eq(fp32_to_fp16(0x1p-14f - 0x1p-26f), 0x0400);  /* rounds up into the normals */
}

/* Every bf16 that is not NaN survives bf16 → fp32 → bf16. */
Test(fp16, bf16_roundtrip_exhaustive)
{
    for (uint32_t h = 0; h < 65536; h++) {
        float f = bf16_to_fp32((uint16_t)h);
        if (isnan(f)) { cr_assert(isnan(bf16_to_fp32(fp32_to_bf16(f)))); continue; }
        cr_assert_eq(fp32_to_bf16(f), h, "bf16 %04x", h);
    }
    cr_assert_eq(fp32_to_bf16(1.0f + 0x1p-8f), 0x3f80);       /* tie → even */
    cr_assert_eq(fp32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);
}
