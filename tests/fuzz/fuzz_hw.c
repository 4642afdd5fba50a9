/* tests/fuzz/fuzz_hw.c — libFuzzer target for the hardware table's parsers:
 * the host row's cache file (core/plan/hw_cache.c, read at every start of
 * sim:host and plan --gpu host) and the device spec ("h100x8", hw_parse).
 *
 *   make fuzz-hw FUZZ_SECONDS=60
 *
 * Cache: a rejection is one line naming a line and what it expected; an
 * accepted file holds only finite values in (0, 1e18) (the profile's too)
 * and round-trips through hw_cache_format to the same bits. Spec (the input's first 63
 * bytes as a string): accepted means a known row or the host and a count in
 * 1..16, a rejection is one line saying what was expected. Anything else
 * aborts. */
#include "core/plan/hw.h"
#include "core/plan/hw_cache.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                              \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "fuzz_hw: check failed: %s (line %d)\n", #cond, __LINE__);           \
            abort();                                                                             \
        }                                                                                        \
    } while (0)

#define KEY "cpu=fuzz backend=fuzz"

static bool one_line(const char *err) { return err[0] && !strchr(err, '\n'); }

static bool in_range(double v) { return isfinite(v) && v > 0 && v < 1e18; }

static void check_cache(const uint8_t *data, size_t size)
{
    struct roof_device d, back;
    char err[256], text[HW_CACHE_MAX_BYTES];
    memset(&d, 0, sizeof d);
    if (hw_cache_parse((const char *)data, size, KEY, &d, err, sizeof err) < 0) {
        CHECK(one_line(err) && strstr(err, "expected"));
        CHECK(d.bw == 0 && d.op_overhead_s == 0);           /* untouched on failure */
        return;
    }
    CHECK(in_range(d.bw) && in_range(d.op_overhead_s));
    for (int t = 0; t < DT_COUNT; t++)
        CHECK(hw_cache_measured((enum dtype)t) ? in_range(d.wtype_flops[t]) : d.wtype_flops[t] == 0);
    int n = hw_cache_format(KEY, &d, text, sizeof text);
    CHECK(n > 0);
    memset(&back, 0, sizeof back);
    CHECK(hw_cache_parse(text, (size_t)n, KEY, &back, err, sizeof err) == 0);
    CHECK(back.bw == d.bw && back.op_overhead_s == d.op_overhead_s && back.llc_bytes == d.llc_bytes &&
          back.llc_bw == d.llc_bw && back.near_bytes == d.near_bytes && back.near_bw == d.near_bw);
    CHECK(!memcmp(back.wtype_flops, d.wtype_flops, sizeof d.wtype_flops));
    CHECK(!memcmp(&back.prof, &d.prof, sizeof d.prof));   /* the measured operator profile, to the bit */
    for (int k = 0; k < RSO_COUNT; k++) CHECK(in_range(d.prof.small_s[k][0]));
    for (int k = 0; k < ROOF_ATTN_KINDS; k++) CHECK(in_range(d.prof.attn_fixed_s[k]) && in_range(d.prof.attn_flop_s[k]));
    for (int k = 1; k < ROOF_ATTN_KINDS; k += 2)
        CHECK(in_range(d.prof.attn_wide_fixed_s[k]) && in_range(d.prof.attn_wide_flop_s[k]));
    CHECK(hw_cache_parse(text, (size_t)n, "cpu=other backend=fuzz", &back, err, sizeof err) < 0 && strstr(err, "key"));
}

static void check_spec(const uint8_t *data, size_t size)
{
    char spec[64], err[256];
    size_t n = size < sizeof spec - 1 ? size : sizeof spec - 1;
    memcpy(spec, data, n);
    spec[n] = 0;
    const struct hw_row *row;
    bool host;
    int count;
    if (hw_parse(spec, &row, &host, &count, err, sizeof err) < 0) {
        CHECK(one_line(err) && strstr(err, "expected"));
        return;
    }
    CHECK((row != NULL) != host && count >= 1 && count <= 16);
    if (row) {
        struct roof_device d;
        hw_row_device(row, count, &d);
        CHECK(d.n_devices == count && d.bw > 0 && d.mem_bytes > 0 && d.link_bw > 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_cache(data, size);
    check_spec(data, size);
    return 0;
}
