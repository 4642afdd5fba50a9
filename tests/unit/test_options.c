/* Options registry: defaults, parsing, errors, typed enum values, classes
 * and scopes, and the one k=v list splitter/joiner. */
#include "core/options/options.h"
#include "core/engine/kvcache.h"
#include "kernels/backend.h"

#include <criterion/criterion.h>
#include <string.h>

/* Compile-time: opt_enum gives the consumer's own C type (with -Wextra's
 * -Wenum-conversion and -Werror these lines stop compiling when an option's
 * C type changes); the order of names and constants cannot differ, as both
 * come from one C(value, "name") list in options_table.h. */
static enum attn_impl typed_attn(const struct options *o) { return opt_enum(o, ATTN); }
static enum kv_alloc_kind typed_kv(const struct options *o) { return opt_enum(o, KV); }
static enum dtype typed_kv_dtype(const struct options *o) { return opt_enum(o, KV_DTYPE); }
static enum opt_batching typed_batching(const struct options *o) { return opt_enum(o, BATCHING); }

Test(options, defaults_are_valid_and_typed)
{
    struct options o;
    options_defaults(&o);
    cr_assert_eq(opt_i(&o, OPT_THREADS), 0);
    cr_assert_str_eq(opt_s(&o, OPT_ATTN), "flash");
    cr_assert_eq(typed_attn(&o), ATTN_FLASH);       /* the C constant, not an index */
    cr_assert_eq(typed_kv(&o), KV_PAGED);
    cr_assert_eq(typed_kv_dtype(&o), DT_F16);
    cr_assert_eq(typed_batching(&o), BATCHING_CONTINUOUS);
    cr_assert_eq(opt_i(&o, OPT_BLOCK), 16);
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

/* Every choice of every enum option round-trips: name -> its C value ->
 * the same name, and the owning module names that value the same way. */
Test(options, every_choice_round_trips_to_its_enum_value)
{
    char err[256];
    for (int id = 0; id < OPT_COUNT; id++) {
        const struct option_def *d = option_def((enum opt_id)id);
        if (d->type != OT_ENUM) { cr_assert_eq(d->n_choices, 0, "%s", d->name); continue; }
        cr_assert_gt(d->n_choices, 0, "%s", d->name);
        for (int c = 0; c < d->n_choices; c++) {
            struct options o;
            options_defaults(&o);
            const char *name = d->choice_names[c];
            cr_assert_eq(options_set(&o, d->name, name, err, sizeof err), 0, "%s", err);
            cr_assert_eq(opt_i(&o, (enum opt_id)id), d->choice_values[c], "%s=%s", d->name, name);
            cr_assert_str_eq(opt_s(&o, (enum opt_id)id), name);
            cr_assert_str_eq(option_choice_name(d, d->choice_values[c]), name, "%s: two choices share a value", d->name);
            cr_assert_eq(option_choice_index(d, name), c, "%s: %s listed twice", d->name, name);
            if (id == OPT_KV) cr_assert_str_eq(kv_alloc_name(opt_enum(&o, KV)), name);
            if (id == OPT_WTYPE) cr_assert_str_eq(dtype_info(opt_enum(&o, WTYPE))->name, name);
            if (id == OPT_KV_DTYPE) cr_assert_str_eq(dtype_info(opt_enum(&o, KV_DTYPE))->name, name);
        }
        /* the "a|b|c" text lists the same names in the same order */
        char text[256] = "";
        for (int c = 0; c < d->n_choices; c++) {
            strcat(text, c ? "|" : "");
            strcat(text, d->choice_names[c]);
        }
        cr_assert_str_eq(d->choices, text);
    }
    struct options o;
    options_defaults(&o);
    cr_assert_eq(options_set(&o, "attn", "naive", err, sizeof err), 0);
    cr_assert_eq(opt_enum(&o, ATTN), ATTN_NAIVE);
    cr_assert_eq(options_set(&o, "kv", "contiguous", err, sizeof err), 0);
    cr_assert_eq(opt_enum(&o, KV), KV_CONTIGUOUS);
    cr_assert_eq(options_set(&o, "device", "sim:h100x8", err, sizeof err), 0);
    cr_assert_str_eq(opt_s(&o, OPT_DEVICE), "sim:h100x8");   /* a string: a registry name or sim:GPU[xN] */
    cr_assert_eq(options_set(&o, "wtype", "q4_k", err, sizeof err), 0);
    cr_assert_eq(opt_enum(&o, WTYPE), DT_Q4_K);
}

Test(options, block_gives_its_number)
{
    char err[256];
    const char *names[] = {"8", "16", "32"};
    int want[] = {8, 16, 32};
    for (int i = 0; i < 3; i++) {
        struct options o;
        options_defaults(&o);
        cr_assert_eq(options_set(&o, "block", names[i], err, sizeof err), 0, "%s", err);
        cr_assert_eq(opt_i(&o, OPT_BLOCK), want[i]);
        cr_assert_eq(opt_enum(&o, BLOCK), want[i]);
    }
    struct options o;
    options_defaults(&o);
    cr_assert_eq(options_set(&o, "block", "12", err, sizeof err), -1);
    cr_assert_str_eq(err, "block: expected one of 8|16|32, got '12'");
}

Test(options, class_and_scope_come_from_the_table)
{
    cr_assert_eq(option_def(OPT_ATTN)->cls, OC_LIVE);
    cr_assert_eq(option_def(OPT_KV)->cls, OC_REBUILD);
    cr_assert_eq(option_def(OPT_REQUESTS)->cls, OC_REBUILD);
    cr_assert_eq(option_def(OPT_DEVICE)->cls, OC_PROCESS);
    cr_assert_str_eq(opt_class_name(OC_REBUILD), "rebuild");
    cr_assert_eq(option_def(OPT_MAX_TOKENS)->scope, (unsigned)OS_GEN);
    for (int i = 0; i < OPT_COUNT; i++)
        cr_assert(option_def((enum opt_id)i)->scope != 0, "%s: used by no command", option_def((enum opt_id)i)->name);
    struct options o;
    char err[256];
    options_defaults(&o);
    cr_assert_eq(options_check_scope(&o, OS_RUN, "bench", err, sizeof err), 0, "defaults are never refused");
    cr_assert_eq(options_set_list(&o, "attn=naive max_tokens=8", err, sizeof err), 0);
    cr_assert_eq(options_check_scope(&o, OS_GEN, "generate", err, sizeof err), 0, "%s", err);
    cr_assert_eq(options_check_scope(&o, OS_RUN, "bench", err, sizeof err), -1);
    cr_assert(strncmp(err, "max_tokens: not used by bench (", 31) == 0, "%s", err);
    options_defaults(&o);
    cr_assert_eq(options_set_list(&o, "kv=contiguous block=8", err, sizeof err), 0);
    cr_assert_eq(options_check_scope(&o, OS_GEN, "generate", err, sizeof err), 0, "generate runs through the engine: %s", err);
    cr_assert_eq(options_set_list(&o, "rate_scale=2", err, sizeof err), 0);
    cr_assert_eq(options_check_scope(&o, OS_GEN, "generate", err, sizeof err), -1);
    cr_assert(strncmp(err, "rate_scale: not used by generate (", 34) == 0, "%s", err);
}

struct collected { int n; char kv[8][2][64]; };

static int collect(void *ctx, const char *key, const char *value, char *err, size_t errlen)
{
    struct collected *c = ctx;
    (void)err; (void)errlen;
    snprintf(c->kv[c->n][0], 64, "%s", key);
    snprintf(c->kv[c->n][1], 64, "%s", value);
    c->n++;
    return 0;
}

static int split(const char *text, struct collected *c, char *err)
{
    memset(c, 0, sizeof *c);
    return kvlist_each(text, collect, c, err, 256);
}

Test(kvlist, split_edge_cases)
{
    struct collected c;
    char err[256];
    cr_assert_eq(split("", &c, err), 0);
    cr_assert_eq(split(NULL, &c, err), 0);
    cr_assert_eq(split("  ,, \t\n", &c, err), 0, "separators only: no items");
    cr_assert_eq(split("a=1", &c, err), 1);
    cr_assert_str_eq(c.kv[0][0], "a"); cr_assert_str_eq(c.kv[0][1], "1");
    cr_assert_eq(split(" a=1,b=2  c=3,,\td=", &c, err), 4, "commas, spaces, tabs, empty items");
    cr_assert_str_eq(c.kv[1][0], "b"); cr_assert_str_eq(c.kv[2][1], "3");
    cr_assert_str_eq(c.kv[3][0], "d"); cr_assert_str_eq(c.kv[3][1], "", "an empty value is a value");
    cr_assert_eq(split("x=a=b", &c, err), 1);
    cr_assert_str_eq(c.kv[0][1], "a=b", "the first '=' splits");
    cr_assert_eq(split("name=\"a b, c\" k=v", &c, err), 2, "%s", err);
    cr_assert_str_eq(c.kv[0][1], "a b, c", "quotes keep separators and are dropped");
    cr_assert_str_eq(c.kv[1][0], "k");
    cr_assert_eq(split("section.key=v", &c, err), 1);
    cr_assert_str_eq(c.kv[0][0], "section.key");
    cr_assert_eq(split("a=1 b", &c, err), -1);
    cr_assert_str_eq(err, "b: expected key=value");
    cr_assert_eq(split("=1", &c, err), -1, "an empty key");
    cr_assert_str_eq(err, "=1: expected key=value");
    cr_assert_eq(split("a=\"open", &c, err), -1);
    cr_assert(strstr(err, "expected a closing"), "%s", err);
    char big[400];
    memset(big, 'x', sizeof big - 1);
    big[0] = 'k'; big[1] = '=';
    big[sizeof big - 1] = 0;
    cr_assert_eq(split(big, &c, err), -1);
    cr_assert(strstr(err, "at most 256 characters"), "%s", err);
}

Test(kvlist, join_round_trips_through_split)
{
    char buf[128];
    size_t n = 0;
    n = kvlist_append(buf, sizeof buf, n, "a", "1");
    n = kvlist_append(buf, sizeof buf, n, "name", "two words");
    n = kvlist_append(buf, sizeof buf, n, "e", "");
    cr_assert_str_eq(buf, "a=1 name=\"two words\" e=");
    cr_assert_eq(n, strlen(buf));
    struct collected c;
    char err[256];
    cr_assert_eq(split(buf, &c, err), 3);
    cr_assert_str_eq(c.kv[1][1], "two words");
    char small[8];
    size_t m = kvlist_append(small, sizeof small, 0, "long", "value");
    cr_assert_eq(m, 10, "returns the length it needed");
    cr_assert_str_eq(small, "long=va", "truncated, still terminated");
}

Test(kvlist, expect_error_has_one_shape)
{
    char err[128];
    expect_error(err, sizeof err, "top_k", "x", "an integer in [%d, %d]", 0, 5);
    cr_assert_str_eq(err, "top_k: expected an integer in [0, 5], got 'x'");
    expect_error(err, sizeof err, "name", NULL, "at most %d characters", 63);
    cr_assert_str_eq(err, "name: expected at most 63 characters");
}
