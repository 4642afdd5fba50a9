/* tests/unit/gguf_writer.h — builds GGUF files in memory, for tests only.
 *
 * The writer keeps three growing byte sections (metadata, tensor infos,
 * tensor data) and counts what was added; gw_finish glues them behind a header.
 * Tests that need a malformed file either override fields before finishing
 * (version, counts) or append raw bytes with the gw_put_* helpers. */
#ifndef INFERTOP_TEST_GGUF_WRITER_H
#define INFERTOP_TEST_GGUF_WRITER_H

#include "core/model/gguf.h"

struct gw_buf {
    unsigned char *p;
    size_t len, cap;
};

struct gguf_writer {
    uint32_t version;          /* default 3 */
    uint32_t alignment;        /* data layout; default 32 (also add general.alignment if != 32) */
    uint64_t n_kv, n_tensors;  /* counted by gw_kv_* and gw_tensor*; may be overridden */
    struct gw_buf kvs, infos, data;
    char magic[4];             /* default "GGUF" */
    bool oom;                  /* an allocation failed: gw_finish returns NULL */
};

void gw_init(struct gguf_writer *w);
void gw_free(struct gguf_writer *w);

/* raw little-endian appends to a section */
void gw_put(struct gguf_writer *w, struct gw_buf *b, const void *p, size_t n);
void gw_put_u32(struct gguf_writer *w, struct gw_buf *b, uint32_t v);
void gw_put_u64(struct gguf_writer *w, struct gw_buf *b, uint64_t v);
void gw_put_str(struct gguf_writer *w, struct gw_buf *b, const char *s);

/* metadata: each adds one key (n_kv++) */
void gw_kv_scalar(struct gguf_writer *w, const char *key, enum gguf_vtype t, const void *v);
void gw_kv_u32(struct gguf_writer *w, const char *key, uint32_t v);
void gw_kv_f32(struct gguf_writer *w, const char *key, float v);
void gw_kv_str(struct gguf_writer *w, const char *key, const char *s);
/* numeric array: n elements of type elem, packed little-endian at data */
void gw_kv_arr(struct gguf_writer *w, const char *key, enum gguf_vtype elem, uint64_t n,
               const void *data);
void gw_kv_arr_str(struct gguf_writer *w, const char *key, uint64_t n, const char *const *s);
/* a key with value type `type` followed by `n` arbitrary value bytes */
void gw_kv_raw(struct gguf_writer *w, const char *key, uint32_t type, const void *bytes, size_t n);

/* tensors: gw_tensor appends the data (aligned) and the info pointing to it;
 * gw_tensor_info writes only an info with a caller-chosen offset. */
void gw_tensor(struct gguf_writer *w, const char *name, int n_dims, const uint64_t *ne,
               uint32_t ggml_type, const void *data, size_t nbytes);
void gw_tensor_info(struct gguf_writer *w, const char *name, int n_dims, const uint64_t *ne,
                    uint32_t ggml_type, uint64_t offset);

/* header + metadata + infos + padding to alignment + data, malloc'd; NULL on OOM. */
unsigned char *gw_finish(struct gguf_writer *w, size_t *len);
/* Byte offset where the data section starts in what gw_finish returns. */
size_t gw_data_offset(const struct gguf_writer *w);

#endif
