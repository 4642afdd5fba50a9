/* tests/unit/gguf_writer.c — in-memory GGUF writer for tests (see the header). */
#include "tests/unit/gguf_writer.h"

#include <stdlib.h>
#include <string.h>

void gw_init(struct gguf_writer *w)
{
    memset(w, 0, sizeof *w);
    w->version = 3;
    w->alignment = 32;
    memcpy(w->magic, "GGUF", 4);
}

void gw_free(struct gguf_writer *w)
{
    free(w->kvs.p);
    free(w->infos.p);
    free(w->data.p);
    memset(w, 0, sizeof *w);
}

void gw_put(struct gguf_writer *w, struct gw_buf *b, const void *p, size_t n)
{
    if (w->oom || n == 0) return;
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n) cap *= 2;
        unsigned char *np = realloc(b->p, cap);
        if (!np) { w->oom = true; return; }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void put_le(struct gguf_writer *w, struct gw_buf *b, uint64_t v, int n)
{
    unsigned char tmp[8];
    for (int i = 0; i < n; i++) tmp[i] = (unsigned char)(v >> (8 * i));
    gw_put(w, b, tmp, (size_t)n);
}

void gw_put_u32(struct gguf_writer *w, struct gw_buf *b, uint32_t v) { put_le(w, b, v, 4); }
void gw_put_u64(struct gguf_writer *w, struct gw_buf *b, uint64_t v) { put_le(w, b, v, 8); }

void gw_put_str(struct gguf_writer *w, struct gw_buf *b, const char *s)
{
    size_t n = strlen(s);
    gw_put_u64(w, b, n);
    gw_put(w, b, s, n);
}

static size_t scalar_size(enum gguf_vtype t)
{
    switch (t) {
    case GGUF_U8: case GGUF_I8: case GGUF_BOOL: return 1;
    case GGUF_U16: case GGUF_I16: return 2;
    case GGUF_U32: case GGUF_I32: case GGUF_F32: return 4;
    case GGUF_U64: case GGUF_I64: case GGUF_F64: return 8;
    default: return 0;
    }
}

void gw_kv_raw(struct gguf_writer *w, const char *key, uint32_t type, const void *bytes, size_t n)
{
    gw_put_str(w, &w->kvs, key);
    gw_put_u32(w, &w->kvs, type);
    gw_put(w, &w->kvs, bytes, n);
    w->n_kv++;
}

/* The host is little-endian (x86/arm64), so a scalar's bytes are its encoding. */
void gw_kv_scalar(struct gguf_writer *w, const char *key, enum gguf_vtype t, const void *v)
{
    gw_kv_raw(w, key, t, v, scalar_size(t));
}

void gw_kv_u32(struct gguf_writer *w, const char *key, uint32_t v) { gw_kv_scalar(w, key, GGUF_U32, &v); }
void gw_kv_f32(struct gguf_writer *w, const char *key, float v) { gw_kv_scalar(w, key, GGUF_F32, &v); }

void gw_kv_str(struct gguf_writer *w, const char *key, const char *s)
{
    gw_put_str(w, &w->kvs, key);
    gw_put_u32(w, &w->kvs, GGUF_STRING);
    gw_put_str(w, &w->kvs, s);
    w->n_kv++;
}

void gw_kv_arr(struct gguf_writer *w, const char *key, enum gguf_vtype elem, uint64_t n,
               const void *data)
{
    gw_put_str(w, &w->kvs, key);
    gw_put_u32(w, &w->kvs, GGUF_ARRAY);
    gw_put_u32(w, &w->kvs, elem);
    gw_put_u64(w, &w->kvs, n);
    gw_put(w, &w->kvs, data, (size_t)n * scalar_size(elem));
    w->n_kv++;
}

void gw_kv_arr_str(struct gguf_writer *w, const char *key, uint64_t n, const char *const *s)
{
    gw_put_str(w, &w->kvs, key);
    gw_put_u32(w, &w->kvs, GGUF_ARRAY);
    gw_put_u32(w, &w->kvs, GGUF_STRING);
    gw_put_u64(w, &w->kvs, n);
    for (uint64_t i = 0; i < n; i++) gw_put_str(w, &w->kvs, s[i]);
    w->n_kv++;
}

void gw_tensor_info(struct gguf_writer *w, const char *name, int n_dims, const uint64_t *ne,
                    uint32_t ggml_type, uint64_t offset)
{
    gw_put_str(w, &w->infos, name);
    gw_put_u32(w, &w->infos, (uint32_t)n_dims);
    for (int i = 0; i < n_dims; i++) gw_put_u64(w, &w->infos, ne[i]);
    gw_put_u32(w, &w->infos, ggml_type);
    gw_put_u64(w, &w->infos, offset);
    w->n_tensors++;
}

void gw_tensor(struct gguf_writer *w, const char *name, int n_dims, const uint64_t *ne,
               uint32_t ggml_type, const void *data, size_t nbytes)
{
    static const unsigned char zeros[256];
    while (w->data.len % w->alignment)
        gw_put(w, &w->data, zeros, w->alignment - w->data.len % w->alignment > 256
                                       ? 256 : w->alignment - w->data.len % w->alignment);
    gw_tensor_info(w, name, n_dims, ne, ggml_type, w->data.len);
    gw_put(w, &w->data, data, nbytes);
}

size_t gw_data_offset(const struct gguf_writer *w)
{
    size_t head = 4 + 4 + 8 + 8 + w->kvs.len + w->infos.len;
    return (head + w->alignment - 1) / w->alignment * w->alignment;
}

unsigned char *gw_finish(struct gguf_writer *w, size_t *len)
{
    struct gw_buf out = {0};
    static const unsigned char zeros[256];
    gw_put(w, &out, w->magic, 4);
    gw_put_u32(w, &out, w->version);
    gw_put_u64(w, &out, w->n_tensors);
    gw_put_u64(w, &out, w->n_kv);
    gw_put(w, &out, w->kvs.p, w->kvs.len);
    gw_put(w, &out, w->infos.p, w->infos.len);
    size_t data_off = gw_data_offset(w);
    while (out.len < data_off && !w->oom)
        gw_put(w, &out, zeros, data_off - out.len > 256 ? 256 : data_off - out.len);
    gw_put(w, &out, w->data.p, w->data.len);
    if (w->oom) { free(out.p); return NULL; }
    *len = out.len;
    return out.p;
}
