/* jsonw: the streaming writer of recording step lines. Its text must parse
 * (cJSON, the reader's parser) back to the same values: random doubles of
 * every magnitude read back bit for bit, integers up to 2^53 print as
 * integers, non-finite numbers as null, strings with quotes, backslashes,
 * control bytes and UTF-8 survive, commas land between siblings at every
 * depth, and numbers print as cJSON prints them. */
#include "core/rng.h"
#include "traces/jsonw.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A random finite double: random sign, mantissa and a decimal exponent in [-12, 15]. */
static double random_double(struct rng *r)
{
    double m = rng_uniform(r);
    int e = (int)rng_below(r, 28) - 12;
    return (rng_below(r, 2) ? -1 : 1) * m * pow(10.0, e);
}

Test(jsonw, numbers_read_back_exactly)
{
    struct rng r;
    rng_init(&r, 7);
    struct jsonw w;
    jw_init(&w);
    double v[2000];
    jw_array(&w);
    for (int i = 0; i < 2000; i++) {
        v[i] = i % 3 == 0 ? floor(random_double(&r)) : random_double(&r);
        jw_num(&w, v[i]);
    }
    jw_end_array(&w);
    cJSON *a = cJSON_Parse(jw_text(&w));
    cr_assert_not_null(a, "parse: %.200s", jw_text(&w));
    cr_assert_eq(cJSON_GetArraySize(a), 2000);
    for (int i = 0; i < 2000; i++)
        cr_assert_eq(cJSON_GetArrayItem(a, i)->valuedouble, v[i], "item %d: %.17g", i, v[i]);
    cJSON_Delete(a);
    jw_free(&w);
}

Test(jsonw, numbers_print_as_cjson_prints_them)
{
    /* non-integers take cJSON's steps; integers below 1e15 print the same digits */
    double v[] = {0.1, -2.5, 1.0 / 3.0, 123.25, 1e-300, 6.02214076e23, 42, -7, 1e14, 2147483648.0, 1234567890123.0};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct jsonw w;
        jw_init(&w);
        jw_num(&w, v[i]);
        cJSON *n = cJSON_CreateNumber(v[i]);
        char *ref = cJSON_PrintUnformatted(n);
        cr_assert_str_eq(jw_text(&w), ref, "%.17g", v[i]);
        free(ref);
        cJSON_Delete(n);
        jw_free(&w);
    }
}

Test(jsonw, integers_up_to_2_pow_53_print_as_integers)
{
    struct jsonw w;
    jw_init(&w);
    jw_array(&w);
    jw_num(&w, 9007199254740991.0);
    jw_int(&w, INT64_MIN);
    jw_int(&w, INT64_MAX);
    jw_num(&w, -0.0);
    jw_num(&w, NAN);
    jw_num(&w, -INFINITY);
    jw_end_array(&w);
    cr_assert_str_eq(jw_text(&w), "[9007199254740991,-9223372036854775808,9223372036854775807,0,null,null]");
    jw_free(&w);
}

/* A random int64 of a random decimal width (1..19 digits) and sign. */
static int64_t random_int(struct rng *r)
{
    int64_t v = (int64_t)(rng_next(r) >> 1);
    for (int d = (int)rng_below(r, 19); d > 0; d--) v /= 10;
    return rng_below(r, 2) ? -v : v;
}

/* Integers print as printf's %lld prints them, one by one or n at once
 * (jw_ints: the same text as n jw_int calls), at every width and sign. */
Test(jsonw, integers_print_as_printf_prints_them)
{
    struct rng r;
    rng_init(&r, 11);
    int64_t v[600];
    for (int i = 0; i < 600; i++) v[i] = random_int(&r);
    v[0] = INT64_MIN; v[1] = INT64_MAX; v[2] = 0; v[3] = -1; v[4] = 9; v[5] = 10; v[6] = -99; v[7] = 100;
    struct jsonw one, many;
    jw_init(&one);
    jw_init(&many);
    jw_array(&one);
    jw_array(&many);
    char *ref = malloc(600 * 22 + 3), *p = ref;
    p += sprintf(p, "[");
    for (int i = 0; i < 600; i++) {
        jw_int(&one, v[i]);
        p += sprintf(p, "%s%lld", i ? "," : "", (long long)v[i]);
    }
    sprintf(p, "]");
    jw_ints(&many, v, 7);
    jw_int(&many, v[7]);
    jw_ints(&many, v + 8, 592);
    jw_end_array(&one);
    jw_end_array(&many);
    cr_assert_str_eq(jw_text(&one), ref);
    cr_assert_str_eq(jw_text(&many), ref);
    free(ref);
    jw_free(&one);
    jw_free(&many);
}

Test(jsonw, strings_and_nesting_parse_back)
{
    const char *s = "a \"quoted\" back\\slash\ttab\nnl \x01 caf\xc3\xa9";
    struct jsonw w;
    jw_init(&w);
    jw_object(&w);
    jw_key(&w, "s"); jw_str(&w, s);
    jw_key(&w, "empty"); jw_array(&w); jw_end_array(&w);
    jw_key(&w, "nest");
    jw_array(&w);
    for (int i = 0; i < 3; i++) {
        jw_array(&w);
        jw_int(&w, i);
        jw_object(&w); jw_key(&w, "k"); jw_bool(&w, i == 1); jw_end_object(&w);
        jw_end_array(&w);
    }
    jw_end_array(&w);
    jw_key(&w, "key \"q\""); jw_str(&w, NULL);
    jw_end_object(&w);
    cJSON *o = cJSON_Parse(jw_text(&w));
    cr_assert_not_null(o, "parse: %s", jw_text(&w));
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(o, "s")->valuestring, s);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "empty")), 0);
    const cJSON *nest = cJSON_GetObjectItemCaseSensitive(o, "nest");
    cr_assert_eq(cJSON_GetArraySize(nest), 3);
    for (int i = 0; i < 3; i++) {
        const cJSON *one = cJSON_GetArrayItem(nest, i);
        cr_assert_eq(cJSON_GetArrayItem(one, 0)->valueint, i);
        cr_assert_eq(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(one, 1), "k")), i == 1);
    }
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(o, "key \"q\"")->valuestring, "");
    cJSON_Delete(o);

    jw_reset(&w);   /* reuse: a fresh line, no stray comma */
    jw_array(&w); jw_int(&w, 1); jw_end_array(&w);
    cr_assert_str_eq(jw_text(&w), "[1]");
    jw_free(&w);
}
