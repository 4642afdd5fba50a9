/* tests/fuzz/fuzz_gguf.c — libFuzzer target for the GGUF reader and the
 * Llama loader on top of it.
 *
 * Every input must either open, after which every accessor is walked and
 * every tensor's first and last byte touched (ASan checks they are inside the
 * input), or fail with one line starting "fuzz.gguf: ". Then the same bytes go
 * through model_load_gguf_buffer: a loaded model's every weight must lie
 * inside the input. Anything else traps.
 * Build and run: make fuzz [FUZZ_SECONDS=60]. */
#include "core/model/gguf.h"
#include "core/model/model.h"

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

static void check_error(int rc, const char *err)
{
    if (rc == 0) return;
    if (strncmp(err, "fuzz.gguf: ", 11) != 0 || strchr(err, '\n')) __builtin_trap();
}

/* A weight's bytes must lie inside the input: touch first and last. */
static void touch_weight(const struct weight *w, const uint8_t *buf, size_t size)
{
    const uint8_t *p = w->data;
    size_t n = weight_bytes(w);
    if (!p || n == 0 || p < buf || n > size || p + n > buf + size) __builtin_trap();
    sink += p[0] + p[n - 1];
}

static void touch_norm(const float *x, int dim)
{
    uint32_t a, b;
    memcpy(&a, &x[0], 4);
    memcpy(&b, &x[dim - 1], 4);
    sink += a ^ b;
}

static void walk_model(const uint8_t *data, size_t size)
{
    struct model m;
    char err[512];
    err[0] = '\0';
    int rc = model_load_gguf_buffer(&m, data, size, "fuzz.gguf", err, sizeof err);
    check_error(rc, err);
    if (rc != 0) return;
    const struct model_config *c = &m.cfg;
    touch_weight(&m.tok_embd, data, size);
    touch_weight(&m.output, data, size);
    touch_norm(m.output_norm, c->dim);
    for (int l = 0; l < c->n_layers; l++) {
        const struct layer_weights *lw = &m.layers[l];
        const struct weight *ws[7] = {&lw->wq, &lw->wk, &lw->wv, &lw->wo, &lw->w_gate,
                                      &lw->w_up, &lw->w_down};
        for (int i = 0; i < 7; i++) touch_weight(ws[i], data, size);
        touch_norm(lw->attn_norm, c->dim);
        touch_norm(lw->ffn_norm, c->dim);
    }
    m.release(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gguf_file *f = NULL;
    char err[512];
    err[0] = '\0';
    int rc = gguf_open_buffer(data, size, "fuzz.gguf", &f, err, sizeof err);
    check_error(rc, err);
    if (rc != 0) {
        if (f) __builtin_trap();
        return 0;
    }
    walk_metadata(f);
    walk_tensors(f, data, size);
    gguf_close(f);
    walk_model(data, size);
    return 0;
}
