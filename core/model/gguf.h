/* core/model/gguf.h — GGUF v2/v3 reader (memory-mapped, every read bounds-checked).
 *
 * Contract: gguf_open validates the whole header — every metadata value,
 * every tensor info, alignment, offsets and sizes — before returning. After a
 * successful open nothing else can fail on a malformed file. On failure it
 * returns -1, frees everything, and writes one line to err:
 *     "<path>: <field>: <what was expected>"
 * Strings are returned NUL-terminated (copied into a pool owned by the file).
 * Accepted: GGUF v2 and v3, little-endian; every ggml tensor type whose block
 * geometry is known (gguf_ggml_type_block), whether or not a backend runs it.
 * Rejected: v1, nested arrays, unknown value/tensor types, empty or NUL-holding
 * names, duplicate keys or tensor names, n_dims outside 1..4, zero dims,
 * overlapping tensor data. Numeric array data and tensor data point into the
 * mapping or buffer (valid until gguf_close); tensor data is aligned to
 * gguf_alignment relative to the start of the file, array data is unaligned. */
#ifndef INFERTOP_GGUF_H
#define INFERTOP_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum gguf_vtype {
    GGUF_U8 = 0, GGUF_I8 = 1, GGUF_U16 = 2, GGUF_I16 = 3, GGUF_U32 = 4, GGUF_I32 = 5,
    GGUF_F32 = 6, GGUF_BOOL = 7, GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_U64 = 10,
    GGUF_I64 = 11, GGUF_F64 = 12, GGUF_VTYPE_COUNT
};

struct gguf_tensor {
    const char *name;
    int n_dims;
    uint64_t ne[4];           /* ne[0] is the contiguous (row) dimension, as in ggml */
    int ggml_type;            /* raw ggml type id */
    uint64_t offset;          /* relative to the data section */
    const void *data;         /* inside the mapping */
    size_t nbytes;
};

struct gguf_file;

int  gguf_open(const char *path, struct gguf_file **out, char *err, size_t errlen);
/* Same, over a caller-owned buffer (tests, fuzzing); `name` is used in errors. */
int  gguf_open_buffer(const void *buf, size_t len, const char *name, struct gguf_file **out,
                      char *err, size_t errlen);
void gguf_close(struct gguf_file *f);

uint32_t gguf_version(const struct gguf_file *f);
size_t   gguf_alignment(const struct gguf_file *f);

/* metadata */
int64_t     gguf_n_kv(const struct gguf_file *f);
int64_t     gguf_find_key(const struct gguf_file *f, const char *key);      /* -1 if absent */
const char *gguf_key(const struct gguf_file *f, int64_t i);
enum gguf_vtype gguf_kv_type(const struct gguf_file *f, int64_t i);
/* Typed getters: false when absent or of an incompatible type. Integer getters
 * accept any integer type whose value fits. */
bool gguf_get_u32(const struct gguf_file *f, const char *key, uint32_t *out);
bool gguf_get_i64(const struct gguf_file *f, const char *key, int64_t *out);
bool gguf_get_f32(const struct gguf_file *f, const char *key, float *out);
bool gguf_get_bool(const struct gguf_file *f, const char *key, bool *out);
bool gguf_get_str(const struct gguf_file *f, const char *key, const char **s, size_t *len);
/* Arrays: element type and count; numeric elements are a packed little-endian
 * array at *data; string elements are read with gguf_get_arr_str. */
bool gguf_get_arr(const struct gguf_file *f, const char *key, enum gguf_vtype *elem,
                  uint64_t *n, const void **data);
bool gguf_get_arr_str(const struct gguf_file *f, const char *key, uint64_t i, const char **s,
                      size_t *len);

/* tensors */
int64_t gguf_n_tensors(const struct gguf_file *f);
const struct gguf_tensor *gguf_tensor(const struct gguf_file *f, int64_t i);
const struct gguf_tensor *gguf_find_tensor(const struct gguf_file *f, const char *name);

/* Added by the loader: layout facts and the ggml type table. */
/* Byte offset of the data section in the file (tensor offsets are relative to it). */
size_t gguf_data_offset(const struct gguf_file *f);
/* ggml type id → "q4_1" etc.; NULL for ids the reader does not know. */
const char *gguf_ggml_type_name(int ggml_type);
/* Elements per block and bytes per block of a known ggml type; false when unknown. */
bool gguf_ggml_type_block(int ggml_type, int *block_elems, int *block_bytes);

#endif
