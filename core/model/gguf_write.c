/* core/model/gguf_write.c — GGUF v3 writer (see gguf_write.h). */
#include "core/model/gguf_write.h"
#include "kernels/formats.h"
#include "traces/outfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { GGUF_OUT_ALIGN = 32 };

void gguf_out_init(struct gguf_out *g) { memset(g, 0, sizeof *g); }

void gguf_out_free(struct gguf_out *g)
{
    for (int i = 0; i < g->n_t; i++) free(g->t[i].owned);
    free(g->t);
    free(g->kv);
    memset(g, 0, sizeof *g);
}

static void put(struct gguf_out *g, const void *p, size_t n)
{
    if (g->oom || n == 0) return;
    if (g->kv_cap - g->kv_len < n) {
        size_t cap = g->kv_cap ? g->kv_cap : 4096;
        while (cap - g->kv_len < n) cap *= 2;
        unsigned char *np = realloc(g->kv, cap);
        if (!np) { g->oom = true; return; }
        g->kv = np; g->kv_cap = cap;
    }
    memcpy(g->kv + g->kv_len, p, n);
    g->kv_len += n;
}

/* Little-endian host (x86-64, arm64): a scalar's bytes are its encoding. */
static void put_u32(struct gguf_out *g, uint32_t v) { put(g, &v, 4); }
static void put_u64(struct gguf_out *g, uint64_t v) { put(g, &v, 8); }
static void put_strn(struct gguf_out *g, const char *s, size_t n) { put_u64(g, n); put(g, s, n); }

static void key(struct gguf_out *g, const char *k, enum gguf_vtype t)
{
    put_strn(g, k, strlen(k));
    put_u32(g, (uint32_t)t);
    g->n_kv++;
}

void gguf_out_u32(struct gguf_out *g, const char *k, uint32_t v) { key(g, k, GGUF_U32); put_u32(g, v); }
void gguf_out_u64(struct gguf_out *g, const char *k, uint64_t v) { key(g, k, GGUF_U64); put_u64(g, v); }
void gguf_out_f32(struct gguf_out *g, const char *k, float v) { key(g, k, GGUF_F32); put(g, &v, 4); }
void gguf_out_bool(struct gguf_out *g, const char *k, bool v)
{
    unsigned char b = v;
    key(g, k, GGUF_BOOL);
    put(g, &b, 1);
}
void gguf_out_str(struct gguf_out *g, const char *k, const char *s)
{
    key(g, k, GGUF_STRING);
    put_strn(g, s, strlen(s));
}

static size_t scalar_bytes(enum gguf_vtype t)
{
    switch (t) {
    case GGUF_U8: case GGUF_I8: case GGUF_BOOL: return 1;
    case GGUF_U16: case GGUF_I16: return 2;
    case GGUF_U32: case GGUF_I32: case GGUF_F32: return 4;
    case GGUF_U64: case GGUF_I64: case GGUF_F64: return 8;
    default: return 0;
    }
}

/* A scalar of src: integers re-encoded at their width (the reader keeps the
 * value, not the bytes), floats as f32 (F64 keys are narrowed). */
static bool copy_scalar(struct gguf_out *g, const struct gguf_file *src, const char *k,
                        enum gguf_vtype t)
{
    int64_t iv; float fv; bool bv; const char *s; size_t n;
    switch (t) {
    case GGUF_STRING:
        if (!gguf_get_str(src, k, &s, &n)) return false;
        key(g, k, t); put_strn(g, s, n); return true;
    case GGUF_BOOL:
        if (!gguf_get_bool(src, k, &bv)) return false;
        gguf_out_bool(g, k, bv); return true;
    case GGUF_F32: case GGUF_F64:
        if (!gguf_get_f32(src, k, &fv)) return false;
        gguf_out_f32(g, k, fv); return true;
    default:
        if (!gguf_get_i64(src, k, &iv)) return false;
        key(g, k, t); put(g, &iv, scalar_bytes(t)); return true;
    }
}

static bool copy_array(struct gguf_out *g, const struct gguf_file *src, const char *k)
{
    enum gguf_vtype et;
    uint64_t n;
    const void *data;
    if (!gguf_get_arr(src, k, &et, &n, &data)) return false;
    key(g, k, GGUF_ARRAY);
    put_u32(g, (uint32_t)et);
    put_u64(g, n);
    if (et != GGUF_STRING) {
        put(g, data, (size_t)n * scalar_bytes(et));
        return true;
    }
    for (uint64_t i = 0; i < n; i++) {
        const char *s;
        size_t len;
        if (!gguf_get_arr_str(src, k, i, &s, &len)) { s = ""; len = 0; }
        put_strn(g, s, len);
    }
    return true;
}

int gguf_out_copy_keys(struct gguf_out *g, const struct gguf_file *src, const char *prefix)
{
    int copied = 0;
    size_t pl = strlen(prefix);
    for (int64_t i = 0; i < gguf_n_kv(src); i++) {
        const char *k = gguf_key(src, i);
        if (strncmp(k, prefix, pl) != 0) continue;
        enum gguf_vtype t = gguf_kv_type(src, i);
        if (t == GGUF_ARRAY ? copy_array(g, src, k) : copy_scalar(g, src, k, t)) copied++;
    }
    return copied;
}

void gguf_out_tensor_f32(struct gguf_out *g, const char *name, const float *data, int rows, int cols,
                         bool as_f16)
{
    if (g->oom) return;
    if (g->n_t == g->cap_t) {
        int cap = g->cap_t ? 2 * g->cap_t : 32;
        struct gguf_out_tensor *nt = realloc(g->t, (size_t)cap * sizeof *nt);
        if (!nt) { g->oom = true; return; }
        g->t = nt; g->cap_t = cap;
    }
    struct gguf_out_tensor *t = &g->t[g->n_t];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = rows == 1 ? 1 : 2;
    t->ne[0] = (uint64_t)cols; t->ne[1] = (uint64_t)rows; t->ne[2] = t->ne[3] = 1;
    size_t n = (size_t)rows * cols;
    if (as_f16) {
        uint16_t *h = malloc(n * sizeof *h);
        if (!h) { g->oom = true; return; }
        for (size_t i = 0; i < n; i++) h[i] = fp32_to_fp16(data[i]);
        t->owned = h; t->data = h; t->nbytes = n * 2; t->ggml_type = 1;
    } else {
        t->data = data; t->nbytes = n * 4; t->ggml_type = 0;
    }
    g->n_t++;
}

static size_t padded(size_t n) { return (n + GGUF_OUT_ALIGN - 1) / GGUF_OUT_ALIGN * GGUF_OUT_ALIGN; }

static void write_zeros(FILE *f, size_t n)
{
    static const unsigned char z[GGUF_OUT_ALIGN];
    if (n) fwrite(z, 1, n, f);
}

int gguf_out_write(struct gguf_out *g, const char *path, char *err, size_t errlen)
{
    if (g->oom) { snprintf(err, errlen, "%s: out of memory building the file", path); return -1; }
    struct gguf_out info;                 /* tensor infos, encoded with the same helpers */
    gguf_out_init(&info);
    uint64_t off = 0;
    for (int i = 0; i < g->n_t; i++) {
        const struct gguf_out_tensor *t = &g->t[i];
        put_strn(&info, t->name, strlen(t->name));
        put_u32(&info, (uint32_t)t->n_dims);
        for (int d = 0; d < t->n_dims; d++) put_u64(&info, t->ne[d]);
        put_u32(&info, (uint32_t)t->ggml_type);
        put_u64(&info, off);
        off += padded(t->nbytes);
    }
    if (info.oom) { gguf_out_free(&info); snprintf(err, errlen, "%s: out of memory", path); return -1; }
    struct outfile o;
    if (outfile_open(&o, path, err, errlen) < 0) { gguf_out_free(&info); return -1; }
    uint32_t magic_ver[2] = {0x46554747u /* "GGUF" */, 3};
    uint64_t counts[2] = {(uint64_t)g->n_t, g->n_kv};
    fwrite(magic_ver, 4, 2, o.f);
    fwrite(counts, 8, 2, o.f);
    fwrite(g->kv, 1, g->kv_len, o.f);
    fwrite(info.kv, 1, info.kv_len, o.f);
    size_t head = 24 + g->kv_len + info.kv_len;
    write_zeros(o.f, padded(head) - head);
    for (int i = 0; i < g->n_t; i++) {
        fwrite(g->t[i].data, 1, g->t[i].nbytes, o.f);
        write_zeros(o.f, padded(g->t[i].nbytes) - g->t[i].nbytes);
    }
    gguf_out_free(&info);
    return outfile_close(&o, true, err, errlen);
}
