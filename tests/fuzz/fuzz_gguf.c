/* tests/fuzz/fuzz_gguf.c — libFuzzer target for the GGUF reader.
 *
 * Every input must either open, after which every accessor is walked and
 * every tensor's first and last byte touched (ASan checks they are inside the
 * input), or fail with one line starting "fuzz.gguf: ". Anything else traps.
 * Build and run: make fuzz [FUZZ_SECONDS=60]. */
#include "core/gguf.h"

#include <stdint.h>
#include <string.h>

static volatile unsigned sink;

static void walk_metadata(const struct gguf_file *f)
{
    for (int64_t i = 0; i < gguf_n_kv(f); i++) {
        const char *k = gguf_key(f, i), *s;
        size_t len;
        uint32_t u; int64_t v; float x; bool b;
        enum gguf_vtype et; uint64_t n; const void *d;
        if (!k || gguf_find_key(f, k) != i) __builtin_trap();
        sink += gguf_get_u32(f, k, &u) + gguf_get_i64(f, k, &v) + gguf_get_f32(f, k, &x) +
                gguf_get_bool(f, k, &b);
        if (gguf_get_str(f, k, &s, &len) && s[len] != '\0') __builtin_trap();
        if (!gguf_get_arr(f, k, &et, &n, &d)) continue;
        if (et == GGUF_STRING) {
            for (uint64_t j = 0; j < n; j++)
                if (!gguf_get_arr_str(f, k, j, &s, &len) || s[len] != '\0') __builtin_trap();
        } else if (n > 0) {
            sink += ((const uint8_t *)d)[0];
        }
    }
}

static void walk_tensors(const struct gguf_file *f, const uint8_t *buf, size_t size)
{
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const struct gguf_tensor *t = gguf_tensor(f, i);
        if (gguf_find_tensor(f, t->name) != t) __builtin_trap();
        const uint8_t *p = t->data;
        if (p < buf || t->nbytes > size || p + t->nbytes > buf + size) __builtin_trap();
        if (t->offset % gguf_alignment(f)) __builtin_trap();
        if (t->nbytes) sink += p[0] + p[t->nbytes - 1];
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gguf_file *f = NULL;
    char err[512];
    err[0] = '\0';
    if (gguf_open_buffer(data, size, "fuzz.gguf", &f, err, sizeof err) != 0) {
        if (f || strncmp(err, "fuzz.gguf: ", 11) != 0 || strchr(err, '\n')) __builtin_trap();
        return 0;
    }
    walk_metadata(f);
    walk_tensors(f, data, size);
    gguf_close(f);
    return 0;
}
