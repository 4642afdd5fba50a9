/* tests/unit/test_gguf.c — GGUF reader (core/model/gguf.c) and Llama loader
 * (core/model/model_gguf.c): round trips through the in-memory writer, malformed
 * files of every kind (each must give -1 and one line naming the field), and
 * the real SmolLM2 file when `make model` has fetched it. */
#include "core/model/gguf.h"
#include "core/model/model.h"
#include "tests/unit/gguf_writer.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REAL_MODEL "models/SmolLM2-135M-Instruct.Q4_1.gguf"

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void fill_random(void *p, size_t n)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++) b[i] = (unsigned char)(rng() >> 24);
}

static unsigned char *finish(struct gguf_writer *w, size_t *len)
{
    unsigned char *buf = gw_finish(w, len);
    cr_assert_not_null(buf, "writer ran out of memory");
    gw_free(w);
    return buf;
}

/* The open must fail with one line "<name>: ..." containing every `want`. */
static void expect_fail_buf(const void *buf, size_t len, const char *want1, const char *want2)
{
    struct gguf_file *f = (struct gguf_file *)1;
    char err[512] = "";
    int rc = gguf_open_buffer(buf, len, "t.gguf", &f, err, sizeof err);
    cr_assert_eq(rc, -1, "expected failure (want '%s'), got success", want1);
    cr_assert_null(f);
    cr_assert_eq(strncmp(err, "t.gguf: ", 8), 0, "error does not start with the name: %s", err);
    cr_assert_null(strchr(err, '\n'), "error is not one line: %s", err);
    cr_assert_not_null(strstr(err, want1), "error '%s' lacks '%s'", err, want1);
    if (want2) cr_assert_not_null(strstr(err, want2), "error '%s' lacks '%s'", err, want2);
}

static void expect_fail(struct gguf_writer *w, const char *want1, const char *want2)
{
    size_t len;
    unsigned char *buf = finish(w, &len);
    expect_fail_buf(buf, len, want1, want2);
    free(buf);
}

static struct gguf_file *open_ok(const void *buf, size_t len)
{
    struct gguf_file *f = NULL;
    char err[512] = "";
    cr_assert_eq(gguf_open_buffer(buf, len, "t.gguf", &f, err, sizeof err), 0, "%s", err);
    return f;
}

static void one_f32_tensor(struct gguf_writer *w, const char *name)
{
    float v[4] = {1, 2, 3, 4};
    uint64_t ne[1] = {4};
    gw_tensor(w, name, 1, ne, 0, v, sizeof v);
}

/* ---- metadata round trip ------------------------------------------------ */

static void write_all_value_types(struct gguf_writer *w)
{
    uint8_t u8 = 0xfe; int8_t i8 = -5; uint16_t u16 = 0xbeef; int16_t i16 = -1234;
    uint32_t u32 = 0xdeadbeef; int32_t i32 = -123456; float f32 = 3.25f; uint8_t b = 1;
    uint64_t u64 = 0xfedcba9876543210ull; int64_t i64 = -(1ll << 40); double f64 = -2.5e300;
    gw_kv_scalar(w, "v.u8", GGUF_U8, &u8);
    gw_kv_scalar(w, "v.i8", GGUF_I8, &i8);
    gw_kv_scalar(w, "v.u16", GGUF_U16, &u16);
    gw_kv_scalar(w, "v.i16", GGUF_I16, &i16);
    gw_kv_scalar(w, "v.u32", GGUF_U32, &u32);
    gw_kv_scalar(w, "v.i32", GGUF_I32, &i32);
    gw_kv_scalar(w, "v.f32", GGUF_F32, &f32);
    gw_kv_scalar(w, "v.bool", GGUF_BOOL, &b);
    gw_kv_str(w, "v.str", "héllo wörld");
    gw_kv_str(w, "v.empty", "");
    gw_kv_scalar(w, "v.u64", GGUF_U64, &u64);
    gw_kv_scalar(w, "v.i64", GGUF_I64, &i64);
    gw_kv_scalar(w, "v.f64", GGUF_F64, &f64);
    int32_t ai32[5] = {1, -2, 3, -4, 5};
    double af64[3] = {0.5, -1.5, 1e-300};
    uint8_t abool[4] = {1, 0, 0, 1};
    int16_t ai16[3] = {-7, 8, -9};
    uint64_t au64[2] = {1ull << 63, 7};
    const char *strs[4] = {"alpha", "", "γάμμα", "delta delta"};
    gw_kv_arr(w, "a.i32", GGUF_I32, 5, ai32);
    gw_kv_arr(w, "a.f64", GGUF_F64, 3, af64);
    gw_kv_arr(w, "a.bool", GGUF_BOOL, 4, abool);
    gw_kv_arr(w, "a.i16", GGUF_I16, 3, ai16);
    gw_kv_arr(w, "a.u64", GGUF_U64, 2, au64);
    gw_kv_arr(w, "a.empty", GGUF_U8, 0, NULL);
    gw_kv_arr_str(w, "a.str", 4, strs);
}

static void check_all_value_types(const struct gguf_file *f)
{
    uint32_t u; int64_t i; float x; bool b; const char *s; size_t n;
    cr_assert_eq(gguf_n_kv(f), 20);
    cr_assert_str_eq(gguf_key(f, 0), "v.u8");
    cr_assert_eq(gguf_kv_type(f, 0), GGUF_U8);
    cr_assert_eq(gguf_kv_type(f, gguf_find_key(f, "v.f64")), GGUF_F64);
    cr_assert_eq(gguf_find_key(f, "v.nope"), -1);
    cr_assert(gguf_get_u32(f, "v.u8", &u) && u == 0xfe);
    cr_assert(gguf_get_i64(f, "v.i8", &i) && i == -5);
    cr_assert(!gguf_get_u32(f, "v.i8", &u), "negative value must not read as u32");
    cr_assert(gguf_get_u32(f, "v.u16", &u) && u == 0xbeef);
    cr_assert(gguf_get_i64(f, "v.i16", &i) && i == -1234);
    cr_assert(gguf_get_u32(f, "v.u32", &u) && u == 0xdeadbeef);
    cr_assert(gguf_get_i64(f, "v.i32", &i) && i == -123456);
    cr_assert(gguf_get_f32(f, "v.f32", &x) && x == 3.25f);
    cr_assert(gguf_get_bool(f, "v.bool", &b) && b);
    cr_assert(gguf_get_str(f, "v.str", &s, &n) && n == strlen("héllo wörld"));
    cr_assert_str_eq(s, "héllo wörld");
    cr_assert(gguf_get_str(f, "v.empty", &s, &n) && n == 0 && s[0] == '\0');
    cr_assert(!gguf_get_u32(f, "v.u64", &u), "u64 beyond u32 must not fit");
    cr_assert(!gguf_get_i64(f, "v.u64", &i), "u64 beyond i64 must not fit");
    cr_assert(gguf_get_i64(f, "v.i64", &i) && i == -(1ll << 40));
    cr_assert(gguf_get_f32(f, "v.f64", &x) && isinf(x), "f64 narrows to f32");
    cr_assert(!gguf_get_f32(f, "v.u32", &x) && !gguf_get_str(f, "v.u32", &s, &n));
    cr_assert(!gguf_get_bool(f, "v.u8", &b) && !gguf_get_u32(f, "v.str", &u));

    enum gguf_vtype et; uint64_t cnt; const void *d;
    cr_assert(gguf_get_arr(f, "a.i32", &et, &cnt, &d) && et == GGUF_I32 && cnt == 5);
    int32_t ai32[5];
    memcpy(ai32, d, sizeof ai32);
    cr_assert(ai32[0] == 1 && ai32[1] == -2 && ai32[4] == 5);
    cr_assert(gguf_get_arr(f, "a.f64", &et, &cnt, &d) && et == GGUF_F64 && cnt == 3);
    double af64[3];
    memcpy(af64, d, sizeof af64);
    cr_assert(af64[0] == 0.5 && af64[1] == -1.5 && af64[2] == 1e-300);
    cr_assert(gguf_get_arr(f, "a.bool", &et, &cnt, &d) && et == GGUF_BOOL && cnt == 4);
    cr_assert(memcmp(d, (uint8_t[]){1, 0, 0, 1}, 4) == 0);
    cr_assert(gguf_get_arr(f, "a.i16", &et, &cnt, &d) && et == GGUF_I16 && cnt == 3);
    int16_t ai16[3];
    memcpy(ai16, d, sizeof ai16);
    cr_assert(ai16[0] == -7 && ai16[2] == -9);
    cr_assert(gguf_get_arr(f, "a.u64", &et, &cnt, &d) && cnt == 2);
    uint64_t au64[2];
    memcpy(au64, d, sizeof au64);
    cr_assert(au64[0] == 1ull << 63 && au64[1] == 7);
    cr_assert(gguf_get_arr(f, "a.empty", &et, &cnt, &d) && et == GGUF_U8 && cnt == 0);
    cr_assert(gguf_get_arr(f, "a.str", &et, &cnt, &d) && et == GGUF_STRING && cnt == 4 && !d);
    cr_assert(gguf_get_arr_str(f, "a.str", 2, &s, &n) && n == strlen("γάμμα"));
    cr_assert_str_eq(s, "γάμμα");
    cr_assert(gguf_get_arr_str(f, "a.str", 1, &s, &n) && n == 0);
    cr_assert(!gguf_get_arr_str(f, "a.str", 4, &s, &n), "index past the end");
    cr_assert(!gguf_get_arr_str(f, "a.i32", 0, &s, &n), "not a string array");
    cr_assert(!gguf_get_arr(f, "v.u8", &et, &cnt, &d));
}

Test(gguf, metadata_every_value_type_v2_and_v3)
{
    for (uint32_t ver = 2; ver <= 3; ver++) {
        struct gguf_writer w;
        gw_init(&w);
        w.version = ver;
        write_all_value_types(&w);
        size_t len;
        unsigned char *buf = finish(&w, &len);
        struct gguf_file *f = open_ok(buf, len);
        cr_assert_eq(gguf_version(f), ver);
        cr_assert_eq(gguf_alignment(f), 32);
        cr_assert_eq(gguf_n_tensors(f), 0);
        check_all_value_types(f);
        gguf_close(f);
        free(buf);
    }
}

/* ---- tensors ------------------------------------------------------------ */

Test(gguf, tensors_of_every_supported_type_round_trip)
{
    for (uint32_t align = 32; align <= 256; align *= 8) {
        struct gguf_writer w;
        gw_init(&w);
        w.alignment = align;
        if (align != 32) gw_kv_u32(&w, "general.alignment", align);
        unsigned char *payload[DT_COUNT + 1];
        size_t bytes[DT_COUNT + 1];
        /* every dtype with a GGUF id (2:4 sparse formats have none), then q5_k:
         * a ggml type the reader knows but no backend runs */
        int ids[DT_COUNT + 1], n_ids = 0;
        for (int t = 0; t < DT_COUNT; t++)
            if (dtype_info(t)->ggml_type >= 0) ids[n_ids++] = dtype_info(t)->ggml_type;
        ids[n_ids++] = 13;
        for (int t = 0; t < n_ids; t++) {
            int ggml = ids[t];
            int be = 0, bb = 0;
            cr_assert(gguf_ggml_type_block(ggml, &be, &bb));
            uint64_t ne[3] = {(uint64_t)be * 3, 5, 2};
            bytes[t] = (size_t)3 * (size_t)bb * 10;
            payload[t] = malloc(bytes[t]);
            cr_assert_not_null(payload[t]);
            fill_random(payload[t], bytes[t]);
            char name[32];
            snprintf(name, sizeof name, "t.%d", t);
            gw_tensor(&w, name, t % 2 ? 3 : 2, ne, (uint32_t)ggml, payload[t],
                      t % 2 ? bytes[t] : bytes[t] / 2);
            if (t % 2 == 0) bytes[t] /= 2;
        }
        size_t len;
        unsigned char *buf = finish(&w, &len);
        struct gguf_file *f = open_ok(buf, len);
        cr_assert_eq(gguf_alignment(f), align);
        cr_assert_eq(gguf_data_offset(f) % align, 0);
        cr_assert_eq(gguf_n_tensors(f), n_ids);
        for (int t = 0; t < n_ids; t++) {
            char name[32];
            snprintf(name, sizeof name, "t.%d", t);
            const struct gguf_tensor *g = gguf_find_tensor(f, name);
            cr_assert_not_null(g, "%s", name);
            cr_assert_eq(g, gguf_tensor(f, t));
            cr_assert_str_eq(g->name, name);
            int ggml = ids[t], dt = dtype_from_ggml(ggml);
            cr_assert_eq(g->ggml_type, ggml);
            cr_assert_eq(g->n_dims, t % 2 ? 3 : 2);
            cr_assert_eq(g->ne[1], 5);
            cr_assert_eq(g->ne[2], t % 2 ? 2u : 1u);
            cr_assert_eq(g->ne[3], 1);
            cr_assert_eq(g->offset % align, 0);
            cr_assert_eq(g->nbytes, bytes[t], "%s: %zu vs %zu", name, g->nbytes, bytes[t]);
            if (dt >= 0)
                cr_assert_eq(g->nbytes, dtype_row_bytes(dt, (int64_t)g->ne[0]) * g->ne[1] * g->ne[2]);
            cr_assert_eq((const unsigned char *)g->data,
                         buf + gguf_data_offset(f) + g->offset);
            cr_assert_eq(memcmp(g->data, payload[t], g->nbytes), 0, "%s data differs", name);
            free(payload[t]);
        }
        cr_assert_null(gguf_find_tensor(f, "t.99"));
        gguf_close(f);
        free(buf);
    }
}

Test(gguf, ggml_type_table_matches_backend_dtypes)
{
    for (int t = 0; t < DT_COUNT; t++) {
        int be, bb;
        const struct dtype_info *d = dtype_info(t);
        if (d->ggml_type < 0) continue;   /* engine-only formats (2:4 sparse, core/quant): no GGUF id */
        cr_assert(gguf_ggml_type_block(d->ggml_type, &be, &bb), "%s", d->name);
        cr_assert_eq(be, d->block_elems, "%s", d->name);
        cr_assert_eq(bb, d->block_bytes, "%s", d->name);
        cr_assert_str_eq(gguf_ggml_type_name(d->ggml_type), d->name);
    }
    cr_assert_null(gguf_ggml_type_name(4), "q4_2 was removed from ggml");
    cr_assert_null(gguf_ggml_type_name(-1));
    cr_assert_null(gguf_ggml_type_name(1000));
}

/* ---- gguf_open on real files -------------------------------------------- */

static void write_temp(char *path, size_t cap, const void *buf, size_t len)
{
    snprintf(path, cap, "/tmp/infertop_test_XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, buf, len), (ssize_t)len);
    close(fd);
}

Test(gguf, open_maps_file_and_reports_file_errors)
{
    struct gguf_writer w;
    gw_init(&w);
    gw_kv_str(&w, "general.name", "x");
    one_f32_tensor(&w, "w");
    size_t len;
    unsigned char *buf = finish(&w, &len);
    char path[64], err[512];
    write_temp(path, sizeof path, buf, len);
    struct gguf_file *f = NULL;
    cr_assert_eq(gguf_open(path, &f, err, sizeof err), 0, "%s", err);
    cr_assert_eq(memcmp(gguf_find_tensor(f, "w")->data, (float[]){1, 2, 3, 4}, 16), 0);
    gguf_close(f);
    /* empty file */
    cr_assert_eq(truncate(path, 0), 0);
    cr_assert_eq(gguf_open(path, &f, err, sizeof err), -1);
    cr_assert(strstr(err, path) && strstr(err, "magic"), "%s", err);
    unlink(path);
    cr_assert_eq(gguf_open(path, &f, err, sizeof err), -1);
    cr_assert(strstr(err, path) && strstr(err, "cannot open"), "%s", err);
    cr_assert_eq(gguf_open("/tmp", &f, err, sizeof err), -1);
    cr_assert(strstr(err, "regular"), "%s", err);
    free(buf);
}

/* ---- malformed files ---------------------------------------------------- */

/* A valid file of every section: metadata of several types, three tensors. */
static unsigned char *small_valid_file(size_t *len, size_t *data_off)
{
    struct gguf_writer w;
    gw_init(&w);
    gw_kv_str(&w, "general.architecture", "llama");
    gw_kv_u32(&w, "llama.block_count", 1);
    const char *toks[3] = {"a", "bc", "def"};
    gw_kv_arr_str(&w, "tokenizer.ggml.tokens", 3, toks);
    float sc[3] = {0.1f, 0.2f, 0.3f};
    gw_kv_arr(&w, "tokenizer.ggml.scores", GGUF_F32, 3, sc);
    one_f32_tensor(&w, "a");
    unsigned char q[34 * 2];
    fill_random(q, sizeof q);
    gw_tensor(&w, "b", 2, (uint64_t[]){32, 2}, 8, q, sizeof q);
    one_f32_tensor(&w, "c");
    *data_off = gw_data_offset(&w);
    return finish(&w, len);
}

Test(gguf, every_truncation_fails_with_one_line)
{
    size_t len, data_off;
    unsigned char *full = small_valid_file(&len, &data_off);
    gguf_close(open_ok(full, len));
    for (size_t n = 0; n < len; n++) {
        /* a fresh exact-size copy, so ASan sees any read past the prefix */
        unsigned char *p = malloc(n ? n : 1);
        cr_assert_not_null(p);
        memcpy(p, full, n);
        struct gguf_file *f = (struct gguf_file *)1;
        char err[512] = "";
        int rc = gguf_open_buffer(n ? p : NULL, n, "t.gguf", &f, err, sizeof err);
        cr_assert_eq(rc, -1, "prefix of %zu/%zu bytes opened", n, len);
        cr_assert_null(f);
        cr_assert_eq(strncmp(err, "t.gguf: ", 8), 0, "%s", err);
        cr_assert_null(strchr(err, '\n'));
        if (n >= data_off)
            cr_assert(strstr(err, "past end of file"), "prefix %zu: %s", n, err);
        else
            cr_assert(strstr(err, "truncated") || strstr(err, "past end") ||
                      strstr(err, "cannot fit"), "prefix %zu: %s", n, err);
        free(p);
    }
    free(full);
}

Test(gguf, bad_magic_and_versions)
{
    struct gguf_writer w;
    gw_init(&w);
    memcpy(w.magic, "GGML", 4);
    expect_fail(&w, "magic", "expected \"GGUF\"");
    gw_init(&w);
    w.version = 1;
    expect_fail(&w, "version", "v1");
    gw_init(&w);
    w.version = 4;
    expect_fail(&w, "version", "expected 2 or 3");
    gw_init(&w);
    w.version = 0x03000000;   /* a big-endian v3 file */
    expect_fail(&w, "version", "little-endian");
}

Test(gguf, absurd_counts_fail_before_allocating)
{
    static const uint64_t counts[] = {1ull << 60, UINT64_MAX, 1000};
    for (int i = 0; i < 3; i++) {
        struct gguf_writer w;
        gw_init(&w);
        gw_kv_u32(&w, "k", 1);
        w.n_tensors = counts[i];
        expect_fail(&w, "tensor count", "cannot fit");
        gw_init(&w);
        gw_kv_u32(&w, "k", 1);
        w.n_kv = counts[i];
        expect_fail(&w, "metadata count", "cannot fit");
    }
}

Test(gguf, string_and_array_lengths_past_end)
{
    struct gguf_writer w;
    gw_init(&w);
    unsigned char v[12];
    uint64_t huge = 1ull << 62;
    memcpy(v, &huge, 8);
    memcpy(v + 8, "abcd", 4);
    gw_kv_raw(&w, "general.name", GGUF_STRING, v, sizeof v);
    expect_fail(&w, "key 'general.name'", "past end of file");

    gw_init(&w);
    gw_put_u64(&w, &w.kvs, 1ull << 40);          /* a key whose length is past the end */
    gw_put(&w, &w.kvs, "kkkkkkkkkkkkkkkk", 16);
    w.n_kv = 1;
    expect_fail(&w, "metadata key #0", "past end of file");

    uint64_t lens[] = {1ull << 61, 1000, UINT64_MAX};
    for (int i = 0; i < 3; i++) {
        gw_init(&w);
        unsigned char a[4 + 8 + 4];
        uint32_t et = GGUF_U32;
        memcpy(a, &et, 4);
        memcpy(a + 4, &lens[i], 8);
        memset(a + 12, 7, 4);                    /* only one element present */
        gw_kv_raw(&w, "tokenizer.ggml.token_type", GGUF_ARRAY, a, sizeof a);
        expect_fail(&w, "key 'tokenizer.ggml.token_type'", "past end of file");
    }
    /* string array whose count is plausible but whose last string overruns */
    gw_init(&w);
    unsigned char a[4 + 8 + 8 + 1 + 8 + 1];
    uint32_t et = GGUF_STRING;
    uint64_t n = 2, l1 = 1, l2 = 50;
    memcpy(a, &et, 4);
    memcpy(a + 4, &n, 8);
    memcpy(a + 12, &l1, 8);
    a[20] = 'x';
    memcpy(a + 21, &l2, 8);
    a[29] = 'y';
    gw_kv_raw(&w, "tokenizer.ggml.tokens", GGUF_ARRAY, a, sizeof a);
    expect_fail(&w, "key 'tokenizer.ggml.tokens'", "string element 1");
}

Test(gguf, nested_arrays_and_unknown_value_types)
{
    struct gguf_writer w;
    gw_init(&w);
    unsigned char a[4 + 8 + 4 + 8 + 4];
    uint32_t outer = GGUF_ARRAY, inner = GGUF_U32, x = 5;
    uint64_t one = 1;
    memcpy(a, &outer, 4);
    memcpy(a + 4, &one, 8);
    memcpy(a + 12, &inner, 4);
    memcpy(a + 16, &one, 8);
    memcpy(a + 24, &x, 4);
    gw_kv_raw(&w, "k.nested", GGUF_ARRAY, a, sizeof a);
    expect_fail(&w, "key 'k.nested'", "nested array");

    gw_init(&w);
    gw_kv_raw(&w, "k.weird", 13, "abcdefgh", 8);
    expect_fail(&w, "key 'k.weird'", "unknown value type 13");

    gw_init(&w);
    unsigned char b[12] = {99, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
    gw_kv_raw(&w, "k.arr", GGUF_ARRAY, b, sizeof b);
    expect_fail(&w, "key 'k.arr'", "unknown array element type 99");

    gw_init(&w);
    gw_kv_raw(&w, "k.bool", GGUF_BOOL, "\x02", 1);
    expect_fail(&w, "key 'k.bool'", "expected 0 or 1");
}

Test(gguf, bad_keys_and_duplicates)
{
    struct gguf_writer w;
    gw_init(&w);
    gw_kv_u32(&w, "llama.block_count", 1);
    gw_kv_u32(&w, "general.x", 1);
    gw_kv_u32(&w, "llama.block_count", 2);
    expect_fail(&w, "key 'llama.block_count'", "duplicate key");

    gw_init(&w);
    gw_kv_u32(&w, "", 1);
    expect_fail(&w, "metadata key #0", "empty key");

    gw_init(&w);
    gw_put_u64(&w, &w.kvs, 3);
    gw_put(&w, &w.kvs, "a\0b", 3);
    gw_put_u32(&w, &w.kvs, GGUF_U8);
    gw_put(&w, &w.kvs, "\1", 1);
    w.n_kv = 1;
    expect_fail(&w, "metadata key #0", "NUL");

    gw_init(&w);                                  /* non-printable key stays one line */
    gw_kv_raw(&w, "bad\nkey", 77, "", 0);
    expect_fail(&w, "key 'bad?key'", "unknown value type 77");

    gw_init(&w);
    one_f32_tensor(&w, "blk.0.attn_q.weight");
    one_f32_tensor(&w, "blk.0.attn_k.weight");
    one_f32_tensor(&w, "blk.0.attn_q.weight");
    expect_fail(&w, "tensor 'blk.0.attn_q.weight'", "duplicate tensor name");
}

Test(gguf, bad_tensor_infos)
{
    struct gguf_writer w;
    gw_init(&w);
    gw_tensor_info(&w, "blk.0.ffn_up.weight", 2, (uint64_t[]){32, 4}, 77, 0);
    expect_fail(&w, "tensor 'blk.0.ffn_up.weight'", "type 77: unknown ggml type");

    gw_init(&w);
    gw_tensor_info(&w, "t", 2, (uint64_t[]){32, 4}, 4, 0);   /* removed q4_2 */
    expect_fail(&w, "tensor 't'", "type 4");

    gw_init(&w);
    gw_tensor_info(&w, "big", 4, (uint64_t[]){1ull << 20, 1ull << 20, 1ull << 20, 1ull << 10}, 0, 0);
    expect_fail(&w, "tensor 'big'", "overflow");

    gw_init(&w);
    gw_tensor_info(&w, "big2", 2, (uint64_t[]){UINT64_MAX, 1}, 0, 0);
    expect_fail(&w, "tensor 'big2'", "overflow");

    gw_init(&w);                                  /* elements fit in i64, bytes do not */
    gw_tensor_info(&w, "big3", 2, (uint64_t[]){1ull << 32, 1ull << 30}, 0, 0);
    expect_fail(&w, "tensor 'big3'", "overflow");

    gw_init(&w);
    gw_tensor_info(&w, "z", 2, (uint64_t[]){4, 0}, 0, 0);
    expect_fail(&w, "tensor 'z'", "ne[1] is 0");

    gw_init(&w);
    gw_tensor_info(&w, "d5", 5, (uint64_t[]){1, 1, 1, 1, 1}, 0, 0);
    expect_fail(&w, "tensor 'd5'", "n_dims 5");

    gw_init(&w);
    gw_tensor_info(&w, "d0", 0, NULL, 0, 0);
    expect_fail(&w, "tensor 'd0'", "n_dims 0");

    gw_init(&w);
    gw_tensor_info(&w, "q", 2, (uint64_t[]){33, 2}, 8, 0);
    expect_fail(&w, "tensor 'q'", "multiple of q8_0's block size 32");

    gw_init(&w);
    gw_tensor_info(&w, "", 1, (uint64_t[]){4}, 0, 0);
    expect_fail(&w, "tensor #0", "empty tensor name");
}

Test(gguf, bad_offsets_and_alignment)
{
    struct gguf_writer w;
    gw_init(&w);
    one_f32_tensor(&w, "ok");
    gw_tensor_info(&w, "blk.0.attn_q.weight", 1, (uint64_t[]){4}, 0, 1234560);
    expect_fail(&w, "tensor 'blk.0.attn_q.weight'", "data offset 1234560 + 16 bytes past end");

    gw_init(&w);
    one_f32_tensor(&w, "ok");
    gw_tensor_info(&w, "far", 1, (uint64_t[]){4}, 0, UINT64_MAX - 31);
    expect_fail(&w, "tensor 'far'", "past end of file");

    gw_init(&w);
    one_f32_tensor(&w, "ok");
    gw_tensor_info(&w, "mis", 1, (uint64_t[]){2}, 0, 8);
    expect_fail(&w, "tensor 'mis'", "multiple of the alignment 32");

    gw_init(&w);
    one_f32_tensor(&w, "a");
    one_f32_tensor(&w, "b");
    gw_tensor_info(&w, "c", 1, (uint64_t[]){8}, 0, 0);    /* covers a and half the gap */
    expect_fail(&w, "overlaps", "expected disjoint");

    gw_init(&w);
    gw_kv_u32(&w, "general.alignment", 48);
    expect_fail(&w, "general.alignment", "power of two");

    gw_init(&w);
    gw_kv_u32(&w, "general.alignment", 0);
    expect_fail(&w, "general.alignment", "power of two");

    gw_init(&w);
    gw_kv_str(&w, "general.alignment", "32");
    expect_fail(&w, "general.alignment", "unsigned 32-bit");

    /* alignment 64 declared, data placed at 32-byte steps: second tensor misaligned */
    gw_init(&w);
    gw_kv_u32(&w, "general.alignment", 64);
    one_f32_tensor(&w, "a");
    one_f32_tensor(&w, "b");
    expect_fail(&w, "tensor 'b'", "multiple of the alignment 64");
}

/* ---- the Llama loader --------------------------------------------------- */

struct tiny {
    const char *arch;          /* general.architecture */
    uint32_t mat_ggml;         /* type of the projection matrices */
    uint32_t norm_ggml;        /* 0 f32, 1 f16 */
    bool untied;               /* write output.weight */
    const char *skip_tensor;   /* leave this tensor out */
    const char *skip_key;      /* leave this key out */
    bool q_wrong_shape;        /* blk.1.attn_q.weight transposed */
    bool nan_norm;             /* one NaN in blk.1.ffn_norm.weight */
    bool nan_row;              /* one NaN in row 0 of blk.1.ffn_down.weight */
    bool inf_last_row;         /* +Inf in the LAST row of blk.0.attn_k.weight (not checked) */
};

enum { T_DIM = 64, T_HEADS = 4, T_KV = 2, T_HD = 16, T_FFN = 96, T_LAYERS = 2, T_VOCAB = 50 };

static void tiny_matrix(struct gguf_writer *w, const struct tiny *o, const char *name, int rows,
                        int cols, uint32_t type)
{
    if (o->skip_tensor && strcmp(o->skip_tensor, name) == 0) return;
    int be, bb, dt = dtype_from_ggml((int)type);
    cr_assert(gguf_ggml_type_block((int)type, &be, &bb));
    size_t row_bytes = (size_t)(cols / be) * (size_t)bb, n = (size_t)rows * row_bytes;
    unsigned char *p = malloc(n);
    float *x = malloc((size_t)cols * sizeof *x);
    cr_assert(p && x);
    if (dt < 0) fill_random(p, n);   /* a type the loader rejects: content does not matter */
    for (int r = 0; dt >= 0 && r < rows; r++) {   /* finite weights in [-1, 1), encoded row by row */
        for (int i = 0; i < cols; i++) x[i] = (float)((double)(rng() >> 11) / 9007199254740992.0 * 2 - 1);
        if (o->nan_row && r == 0 && !strcmp(name, "blk.1.ffn_down.weight")) x[3] = NAN;
        if (o->inf_last_row && r == rows - 1 && !strcmp(name, "blk.0.attn_k.weight")) x[0] = INFINITY;
        dtype_encode_row((enum dtype)dt, x, p + (size_t)r * row_bytes, cols);
        /* block formats drop a NaN input into a finite scale: a NaN scale is how one
         * shows there (q8_0/q4_0/q4_1 blocks start with their f16 scale d) */
        if (o->nan_row && r == 0 && !strcmp(name, "blk.1.ffn_down.weight") && dtype_is_quant((enum dtype)dt)) {
            uint16_t h = 0x7e00;
            memcpy(p, &h, 2);
        }
    }
    free(x);
    uint64_t ne[2] = {(uint64_t)cols, (uint64_t)rows};
    gw_tensor(w, name, 2, ne, type, p, n);
    free(p);
}

static void tiny_norm(struct gguf_writer *w, const struct tiny *o, const char *name, float base)
{
    if (o->skip_tensor && strcmp(o->skip_tensor, name) == 0) return;
    float v[T_DIM];
    uint16_t h[T_DIM];
    for (int i = 0; i < T_DIM; i++) { v[i] = base + 0.25f * (float)i; h[i] = fp32_to_fp16(v[i]); }
    if (o->nan_norm && !strcmp(name, "blk.1.ffn_norm.weight")) { v[5] = NAN; h[5] = fp32_to_fp16(NAN); }
    if (o->norm_ggml == 1) gw_tensor(w, name, 1, (uint64_t[]){T_DIM}, 1, h, sizeof h);
    else if (o->norm_ggml == 0) gw_tensor(w, name, 1, (uint64_t[]){T_DIM}, 0, v, sizeof v);
    else tiny_matrix(w, o, name, 1, T_DIM, o->norm_ggml);
}

static void tiny_key_u32(struct gguf_writer *w, const struct tiny *o, const char *k, uint32_t v)
{
    if (!o->skip_key || strcmp(o->skip_key, k) != 0) gw_kv_u32(w, k, v);
}

static void write_tiny_llama(struct gguf_writer *w, const struct tiny *o)
{
    gw_init(w);
    if (!o->skip_key || strcmp(o->skip_key, "general.architecture") != 0)
        gw_kv_str(w, "general.architecture", o->arch ? o->arch : "llama");
    gw_kv_str(w, "general.name", "Tiny Llama");
    tiny_key_u32(w, o, "llama.embedding_length", T_DIM);
    tiny_key_u32(w, o, "llama.block_count", T_LAYERS);
    tiny_key_u32(w, o, "llama.attention.head_count", T_HEADS);
    tiny_key_u32(w, o, "llama.attention.head_count_kv", T_KV);
    tiny_key_u32(w, o, "llama.feed_forward_length", T_FFN);
    tiny_key_u32(w, o, "llama.context_length", 256);
    tiny_key_u32(w, o, "llama.rope.dimension_count", T_HD);
    if (!o->skip_key || strcmp(o->skip_key, "llama.attention.layer_norm_rms_epsilon") != 0)
        gw_kv_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    uint32_t mt = o->mat_ggml;
    tiny_matrix(w, o, "token_embd.weight", T_VOCAB, T_DIM, 8);
    tiny_norm(w, o, "output_norm.weight", 1.0f);
    if (o->untied) tiny_matrix(w, o, "output.weight", T_VOCAB, T_DIM, 1);
    for (int l = 0; l < T_LAYERS; l++) {
        char n[64];
        const int q = T_HEADS * T_HD, kv = T_KV * T_HD;
#define NAME(s) (snprintf(n, sizeof n, "blk.%d." s ".weight", l), n)
        tiny_norm(w, o, NAME("attn_norm"), 0.5f + (float)l);
        if (o->q_wrong_shape && l == 1) tiny_matrix(w, o, NAME("attn_q"), T_DIM, T_DIM + 32, mt);
        else tiny_matrix(w, o, NAME("attn_q"), q, T_DIM, mt);
        tiny_matrix(w, o, NAME("attn_k"), kv, T_DIM, mt);
        tiny_matrix(w, o, NAME("attn_v"), kv, T_DIM, mt);
        tiny_matrix(w, o, NAME("attn_output"), T_DIM, q, mt);
        tiny_norm(w, o, NAME("ffn_norm"), 2.0f + (float)l);
        tiny_matrix(w, o, NAME("ffn_gate"), T_FFN, T_DIM, mt);
        tiny_matrix(w, o, NAME("ffn_up"), T_FFN, T_DIM, mt);
        tiny_matrix(w, o, NAME("ffn_down"), T_DIM, T_FFN, mt);
#undef NAME
    }
}

/* Write the model to a temp file and load it; returns model_load_gguf's rc. */
static int load_tiny(struct gguf_writer *w, struct model *m, char *err, size_t errlen, char *path)
{
    size_t len;
    unsigned char *buf = finish(w, &len);
    write_temp(path, 64, buf, len);
    free(buf);
    int rc = model_load_gguf(m, path, err, errlen);
    unlink(path);   /* the mapping stays valid after unlink */
    return rc;
}

Test(model_gguf, tiny_llama_loads_with_config_and_weights)
{
    static const uint32_t mats[] = {3, 2, 1, 0, 8, 30};
    for (int k = 0; k < 6; k++) {
        struct gguf_writer w;
        struct tiny o = {.mat_ggml = mats[k], .norm_ggml = k % 2, .untied = k == 2};
        write_tiny_llama(&w, &o);
        struct model m;
        char err[512] = "", path[64];
        cr_assert_eq(load_tiny(&w, &m, err, sizeof err, path), 0, "%s", err);
        const struct model_config *c = &m.cfg;
        cr_assert_str_eq(c->name, "Tiny Llama");
        cr_assert_str_eq(c->arch, "llama");
        cr_assert(c->dim == T_DIM && c->n_layers == T_LAYERS && c->n_heads == T_HEADS);
        cr_assert(c->n_kv_heads == T_KV && c->head_dim == T_HD && c->ffn_dim == T_FFN);
        cr_assert(c->vocab == T_VOCAB && c->max_ctx == 256);
        cr_assert_float_eq(c->norm_eps, 1e-5f, 1e-12);
        cr_assert_eq(c->rope.theta, 10000.f, "default rope base");
        cr_assert_eq(c->rope.factor, 0.f, "no rope scaling");
        cr_assert_eq(c->tied_output, k != 2);
        cr_assert_eq((int)m.wtype, dtype_from_ggml((int)mats[k]), "most common matrix type");
        cr_assert_eq(m.tok_embd.type, DT_Q8_0);
        cr_assert(m.tok_embd.rows == T_VOCAB && m.tok_embd.cols == T_DIM);
        if (k == 2) {
            cr_assert_eq(m.output.type, DT_F16);
            cr_assert_neq(m.output.data, m.tok_embd.data);
        } else {
            cr_assert_eq(m.output.data, m.tok_embd.data, "tied output shares token_embd");
        }
        for (int l = 0; l < T_LAYERS; l++) {
            const struct layer_weights *lw = &m.layers[l];
            cr_assert(lw->wq.rows == T_HEADS * T_HD && lw->wq.cols == T_DIM);
            cr_assert(lw->wk.rows == T_KV * T_HD && lw->wv.rows == T_KV * T_HD);
            cr_assert(lw->wo.rows == T_DIM && lw->wo.cols == T_HEADS * T_HD);
            cr_assert(lw->w_gate.rows == T_FFN && lw->w_up.rows == T_FFN);
            cr_assert(lw->w_down.rows == T_DIM && lw->w_down.cols == T_FFN);
            cr_assert_eq((int)lw->w_down.type, dtype_from_ggml((int)mats[k]));
            char nm[48];
            snprintf(nm, sizeof nm, "blk.%d.ffn_down.weight", l);
            cr_assert_str_eq(lw->w_down.name, nm);
            for (int i = 0; i < T_DIM; i++) {
                cr_assert_eq(lw->attn_norm[i], 0.5f + (float)l + 0.25f * (float)i);
                cr_assert_eq(lw->ffn_norm[i], 2.0f + (float)l + 0.25f * (float)i);
            }
        }
        cr_assert_eq(m.output_norm[T_DIM - 1], 1.0f + 0.25f * (T_DIM - 1));
        cr_assert_str_eq(m.source, path);
        cr_assert_null(m.tok);
        cr_assert_not_null(m.release);
        m.release(&m);
        cr_assert_null(m.layers);
    }
}

Test(model_gguf, loads_from_a_buffer_without_copying)
{
    struct gguf_writer w;
    struct tiny o = {.mat_ggml = 2};
    write_tiny_llama(&w, &o);
    size_t len;
    unsigned char *buf = finish(&w, &len);
    struct model m;
    char err[512] = "";
    cr_assert_eq(model_load_gguf_buffer(&m, buf, len, "mem.gguf", err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(m.source, "mem.gguf");
    cr_assert_eq(m.wtype, DT_Q4_0);
    const unsigned char *p = m.layers[1].w_up.data;
    cr_assert(p > buf && p + weight_bytes(&m.layers[1].w_up) <= buf + len, "points into buf");
    cr_assert((const unsigned char *)m.output_norm > buf, "f32 norm used in place");
    model_free(&m);
    buf[0] = 'X';
    cr_assert_eq(model_load_gguf_buffer(&m, buf, len, "mem.gguf", err, sizeof err), -1);
    cr_assert(strstr(err, "mem.gguf: magic"), "%s", err);
    free(buf);
}

/* The load must fail with "<path>: ..." containing `want1` and `want2`. */
static void expect_load_fail(const struct tiny *o, const char *want1, const char *want2)
{
    struct gguf_writer w;
    write_tiny_llama(&w, o);
    struct model m;
    char err[512] = "", path[64];
    cr_assert_eq(load_tiny(&w, &m, err, sizeof err, path), -1, "loaded; wanted '%s'", want1);
    cr_assert_eq(strncmp(err, path, strlen(path)), 0, "%s", err);
    cr_assert_null(strchr(err, '\n'));
    cr_assert(strstr(err, want1), "'%s' lacks '%s'", err, want1);
    if (want2) cr_assert(strstr(err, want2), "'%s' lacks '%s'", err, want2);
    cr_assert_null(m.layers);
    cr_assert_null(m.release);
}

Test(model_gguf, rejects_bad_models)
{
    expect_load_fail(&(struct tiny){.mat_ggml = 3, .arch = "qwen2"}, "general.architecture",
                     "\"qwen2\": expected \"llama\"");
    expect_load_fail(&(struct tiny){.mat_ggml = 3, .skip_key = "general.architecture"},
                     "general.architecture", "missing");
    expect_load_fail(&(struct tiny){.mat_ggml = 3, .skip_key = "llama.block_count"},
                     "llama.block_count", "missing");
    expect_load_fail(&(struct tiny){.mat_ggml = 3, .skip_key = "llama.embedding_length"},
                     "llama.embedding_length", "missing");
    expect_load_fail(&(struct tiny){.mat_ggml = 3,
                                    .skip_key = "llama.attention.layer_norm_rms_epsilon"},
                     "llama.attention.layer_norm_rms_epsilon", "missing");
    expect_load_fail(&(struct tiny){.mat_ggml = 3, .skip_tensor = "blk.1.ffn_up.weight"},
                     "tensor 'blk.1.ffn_up.weight'", "missing");
    expect_load_fail(&(struct tiny){.mat_ggml = 3, .skip_tensor = "token_embd.weight"},
                     "tensor 'token_embd.weight'", "missing");
    expect_load_fail(&(struct tiny){.mat_ggml = 3, .skip_tensor = "output_norm.weight"},
                     "tensor 'output_norm.weight'", "missing");
    expect_load_fail(&(struct tiny){.mat_ggml = 3, .q_wrong_shape = true},
                     "tensor 'blk.1.attn_q.weight'", "expected [64, 64]");
    expect_load_fail(&(struct tiny){.mat_ggml = 6}, "tensor 'blk.0.attn_q.weight'",
                     "type q5_0 (ggml id 6) is unsupported");
    expect_load_fail(&(struct tiny){.mat_ggml = 3, .norm_ggml = 8},
                     "tensor 'output_norm.weight'", "unsupported");
    /* the GGUF layer's own errors come through unchanged */
    struct gguf_writer w;
    gw_init(&w);
    w.version = 1;
    struct model m;
    char err[512], path[64];
    cr_assert_eq(load_tiny(&w, &m, err, sizeof err, path), -1);
    cr_assert(strstr(err, "version") && strstr(err, path), "%s", err);
    cr_assert_eq(model_load_gguf(&m, "/nonexistent/x.gguf", err, sizeof err), -1);
    cr_assert(strstr(err, "/nonexistent/x.gguf: file: cannot open"), "%s", err);
}

/* Metadata the loader used to take: a block count that leaves layers out, an
 * architecture with an embedded NUL, non-finite weights. */
Test(model_gguf, rejects_metadata_that_does_not_match_the_file)
{
    struct gguf_writer w;
    struct model m;
    char err[512], path[64];
    struct tiny o = {.mat_ggml = 3, .skip_key = "llama.block_count"};
    write_tiny_llama(&w, &o);
    gw_kv_u32(&w, "llama.block_count", 1);   /* the file has blk.0 and blk.1 */
    cr_assert_eq(load_tiny(&w, &m, err, sizeof err, path), -1, "1 of 2 layers loaded");
    cr_assert(strstr(err, "llama.block_count: 1: expected the file's layer count, 2 (it has tensor 'blk.1."), "%s", err);

    o.skip_key = "general.architecture";
    write_tiny_llama(&w, &o);
    unsigned char raw[8 + 7];
    uint64_t len = 7;
    memcpy(raw, &len, 8);
    memcpy(raw + 8, "llama\0x", 7);
    gw_kv_raw(&w, "general.architecture", GGUF_STRING, raw, sizeof raw);
    cr_assert_eq(load_tiny(&w, &m, err, sizeof err, path), -1, "\"llama\\0x\" read as llama");
    cr_assert(strstr(err, "general.architecture: \"llama?x\": expected \"llama\""), "%s", err);

    for (int norm = 0; norm < 2; norm++) {   /* f32 in place, f16 converted */
        expect_load_fail(&(struct tiny){.mat_ggml = 1, .norm_ggml = (uint32_t)norm, .nan_norm = true},
                         "tensor 'blk.1.ffn_norm.weight'", "element 5 is nan: expected finite weights");
    }
    static const uint32_t mats[] = {0, 1, 30, 8, 2, 3};   /* f32 f16 bf16 q8_0 q4_0 q4_1 */
    for (int k = 0; k < 6; k++)
        expect_load_fail(&(struct tiny){.mat_ggml = mats[k], .nan_row = true}, "tensor 'blk.1.ffn_down.weight'",
                         "row 0 element");
    /* only row 0 is checked: cheap on a mapped file (an Inf elsewhere loads) */
    o = (struct tiny){.mat_ggml = 0, .inf_last_row = true};
    write_tiny_llama(&w, &o);
    cr_assert_eq(load_tiny(&w, &m, err, sizeof err, path), 0, "%s", err);
    model_free(&m);
}

Test(model_gguf, bad_hyperparameters)
{
    struct gguf_writer w;
    struct model m;
    char err[512], path[64];
    struct tiny o = {.mat_ggml = 3};
    write_tiny_llama(&w, &o);
    gw_kv_u32(&w, "llama.vocab_size", 51);
    cr_assert_eq(load_tiny(&w, &m, err, sizeof err, path), -1);
    cr_assert(strstr(err, "llama.vocab_size: 51: expected 50"), "%s", err);

    o.skip_key = "llama.attention.head_count_kv";   /* default: MHA */
    write_tiny_llama(&w, &o);
    uint32_t arr[2] = {2, 2};
    gw_kv_arr(&w, "llama.attention.head_count_kv", GGUF_U32, 2, arr);
    cr_assert_eq(load_tiny(&w, &m, err, sizeof err, path), -1);
    cr_assert(strstr(err, "head_count_kv: per-layer array"), "%s", err);

    write_tiny_llama(&w, &o);
    gw_kv_u32(&w, "llama.attention.head_count_kv", 3);
    cr_assert_eq(load_tiny(&w, &m, err, sizeof err, path), -1);
    cr_assert(strstr(err, "head_count_kv: 3: expected a divisor"), "%s", err);

    o.skip_key = "llama.rope.dimension_count";
    write_tiny_llama(&w, &o);
    gw_kv_u32(&w, "llama.rope.dimension_count", 8);
    cr_assert_eq(load_tiny(&w, &m, err, sizeof err, path), -1);
    cr_assert(strstr(err, "llama.rope.dimension_count: 8: expected head_dim 16"), "%s", err);

    o.skip_key = "llama.block_count";
    write_tiny_llama(&w, &o);
    gw_kv_str(&w, "llama.block_count", "two");
    cr_assert_eq(load_tiny(&w, &m, err, sizeof err, path), -1);
    cr_assert(strstr(err, "llama.block_count: expected an integer"), "%s", err);

    o.skip_key = "llama.attention.layer_norm_rms_epsilon";
    write_tiny_llama(&w, &o);
    gw_kv_f32(&w, "llama.attention.layer_norm_rms_epsilon", -1.f);
    cr_assert_eq(load_tiny(&w, &m, err, sizeof err, path), -1);
    cr_assert(strstr(err, "layer_norm_rms_epsilon: -1: expected a finite value > 0"), "%s", err);

    o.skip_key = NULL;
    write_tiny_llama(&w, &o);
    gw_kv_str(&w, "llama.rope.scaling.type", "yarn");
    cr_assert_eq(load_tiny(&w, &m, err, sizeof err, path), -1);
    cr_assert(strstr(err, "llama.rope.scaling.type: \"yarn\" is not supported"), "%s", err);
}

Test(model_gguf, gqa_mha_and_llama3_rope_scaling)
{
    struct gguf_writer w;
    struct model m;
    char err[512], path[64];
    /* head_count_kv absent → MHA */
    struct tiny o = {.mat_ggml = 3, .skip_key = "llama.attention.head_count_kv"};
    write_tiny_llama(&w, &o);
    cr_assert_eq(load_tiny(&w, &m, err, sizeof err, path), -1, "k/v shapes are GQA-sized");
    cr_assert(strstr(err, "tensor 'blk.0.attn_k.weight'"), "%s", err);

    /* Llama 3 scaling from keys */
    o.skip_key = NULL;
    write_tiny_llama(&w, &o);
    gw_kv_f32(&w, "llama.rope.freq_base", 500000.f);
    gw_kv_str(&w, "llama.rope.scaling.type", "llama3");
    gw_kv_f32(&w, "llama.rope.scaling.factor", 8.f);
    gw_kv_u32(&w, "llama.rope.scaling.original_context_length", 64);
    cr_assert_eq(load_tiny(&w, &m, err, sizeof err, path), 0, "%s", err);
    cr_assert(m.cfg.rope.theta == 500000.f && m.cfg.rope.factor == 8.f);
    cr_assert(m.cfg.rope.low_freq_factor == 1.f && m.cfg.rope.high_freq_factor == 4.f);
    cr_assert_eq(m.cfg.rope.orig_ctx, 64);
    model_free(&m);

    /* Llama 3 scaling from a rope_freqs tensor made by the Llama 3 formula:
     * theta 500000, factor 8, low 1, high 4, original context 64 */
    float ff[T_HD / 2];
    for (int i = 0; i < T_HD / 2; i++) {
        double wl = 2 * M_PI / pow(500000.0, -2.0 * i / T_HD), lo = 64 / 1.0, hi = 64 / 4.0;
        double s = (64 / wl - 1) / (4 - 1);
        ff[i] = wl < hi ? 1.f : wl > lo ? 8.f : (float)(1 / ((1 - s) / 8 + s));
    }
    cr_assert(ff[0] == 1.f && ff[T_HD / 2 - 1] == 8.f, "the table spans all three regions");
    write_tiny_llama(&w, &o);
    gw_kv_f32(&w, "llama.rope.freq_base", 500000.f);
    gw_kv_u32(&w, "llama.rope.scaling.original_context_length", 64);
    gw_tensor(&w, "rope_freqs.weight", 1, (uint64_t[]){T_HD / 2}, 0, ff, sizeof ff);
    cr_assert_eq(load_tiny(&w, &m, err, sizeof err, path), 0, "%s", err);
    cr_assert(m.cfg.rope.factor == 8.f && m.cfg.rope.orig_ctx == 64);
    model_free(&m);

    /* a table the Llama 3 formula does not produce */
    ff[1] *= 1.5f;
    write_tiny_llama(&w, &o);
    gw_kv_f32(&w, "llama.rope.freq_base", 500000.f);
    gw_kv_u32(&w, "llama.rope.scaling.original_context_length", 64);
    gw_tensor(&w, "rope_freqs.weight", 1, (uint64_t[]){T_HD / 2}, 0, ff, sizeof ff);
    cr_assert_eq(load_tiny(&w, &m, err, sizeof err, path), -1);
    cr_assert(strstr(err, "tensor 'rope_freqs.weight': entry"), "%s", err);
    cr_assert(strstr(err, "expected Llama 3 rope scaling"), "%s", err);
}

/* ---- the real model (after `make model`) -------------------------------- */

Test(model_gguf, real_smollm2_q4_1)
{
    if (access(REAL_MODEL, R_OK) != 0)
        cr_skip_test("%s absent: run `make model` to fetch it", REAL_MODEL);
    struct model m;
    char err[512];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(model_load_gguf(&m, REAL_MODEL, err, sizeof err), 0, "%s", err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const struct model_config *c = &m.cfg;
    cr_assert(c->dim == 576 && c->n_layers == 30 && c->n_heads == 9 && c->n_kv_heads == 3);
    cr_assert(c->head_dim == 64 && c->ffn_dim == 1536 && c->vocab == 49152);
    cr_assert(c->max_ctx == 8192 && c->rope.theta == 100000.f && c->rope.factor == 0.f);
    cr_assert_float_eq(c->norm_eps, 1e-5f, 1e-9);
    cr_assert(c->tied_output);
    cr_assert_eq(m.wtype, DT_Q4_1);
    cr_assert_eq(m.tok_embd.type, DT_Q8_0);
    cr_assert_eq(m.layers[29].w_down.type, DT_Q4_1);
    for (int i = 0; i < c->dim; i++)
        cr_assert(isfinite(m.layers[0].attn_norm[i]) && isfinite(m.output_norm[i]));
    cr_assert_lt((t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6, 1000.0,
                 "loading is a map, not a copy");
    model_free(&m);
}
