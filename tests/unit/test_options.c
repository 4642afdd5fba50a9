/* Options registry: defaults, parsing, errors. */
#include "core/options/options.h"

#include <criterion/criterion.h>
#include <string.h>

Test(options, defaults_are_valid_and_typed)
{
    struct options o;
    options_defaults(&o);
    cr_assert_eq(opt_i(&o, OPT_THREADS), 0);
    cr_assert_str_eq(opt_s(&o, OPT_ATTN), "flash");
    cr_assert_eq(opt_i(&o, OPT_ATTN), 1);           /* index in "naive|flash" */
    cr_assert_float_eq(opt_f(&o, OPT_TOP_P), 0.95, 1e-9);
    for (int i = 0; i < OPT_COUNT; i++) cr_assert(!o.explicit_set[i]);
}

Test(options, set_each_type)
{
    struct options o;
    char err[256];
    options_defaults(&o);
    cr_assert_eq(options_set(&o, "threads", "2", err, sizeof err), 0);
    cr_assert_eq(opt_i(&o, OPT_THREADS), 2);
    cr_assert_eq(options_set(&o, "attn", "naive", err, sizeof err), 0);
    cr_assert_eq(opt_i(&o, OPT_ATTN), 0);
    cr_assert_eq(options_set(&o, "temperature", "0.7", err, sizeof err), 0);
    cr_assert_float_eq(opt_f(&o, OPT_TEMPERATURE), 0.7, 1e-9);
    cr_assert(o.explicit_set[OPT_THREADS]);
}

Test(options, list_forms)
{
    struct options o;
    char err[256];
    options_defaults(&o);
    cr_assert_eq(options_set_list(&o, "threads=1 attn=naive,top_k=5", err, sizeof err), 0, "%s", err);
    cr_assert_eq(opt_i(&o, OPT_THREADS), 1);
    cr_assert_eq(opt_i(&o, OPT_TOP_K), 5);
    char buf[512];
    options_format(&o, buf, sizeof buf, true);
    cr_assert_str_eq(buf, "threads=1 attn=naive top_k=5");
}

Test(options, errors_name_key_and_expectation)
{
    struct options o;
    char err[256];
    options_defaults(&o);
    struct { const char *k, *v, *want; } cases[] = {
        {"nope", "1", "nope: unknown option"},
        {"threads", "x", "threads: expected an integer in [0, 256], got 'x'"},
        {"threads", "257", "threads: expected an integer"},
        {"threads", "2x", "threads: expected an integer"},
        {"attn", "fast", "attn: expected one of naive|flash, got 'fast'"},
        {"top_p", "1.5", "top_p: expected a number in [0, 1]"},
        {"temperature", "nan", "temperature: expected a number"},
        {"max_tokens", "0", "max_tokens: expected an integer in [1,"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = 0;
        cr_assert_eq(options_set(&o, cases[i].k, cases[i].v, err, sizeof err), -1, "%s=%s", cases[i].k, cases[i].v);
        cr_assert(strncmp(err, cases[i].want, strlen(cases[i].want)) == 0, "got '%s', want '%s'", err, cases[i].want);
    }
    /* a failed set leaves the old value */
    cr_assert_eq(opt_i(&o, OPT_THREADS), 0);
    cr_assert_eq(options_set_list(&o, "threads=1 =2", err, sizeof err), -1);
    cr_assert_eq(options_set_list(&o, "attn", err, sizeof err), -1);
    cr_assert(strstr(err, "expected key=value"));
}

Test(options, sizes)
{
    int64_t v;
    cr_assert_eq(parse_size("256M", &v), 0); cr_assert_eq(v, 256ll << 20);
    cr_assert_eq(parse_size("1G", &v), 0);   cr_assert_eq(v, 1ll << 30);
    cr_assert_eq(parse_size("1.5KiB", &v), 0); cr_assert_eq(v, 1536);
    cr_assert_eq(parse_size("4096", &v), 0); cr_assert_eq(v, 4096);
    cr_assert_eq(parse_size("-1M", &v), -1);
    cr_assert_eq(parse_size("12Q", &v), -1);
    cr_assert_eq(parse_size("", &v), -1);
}
