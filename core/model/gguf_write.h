/* core/model/gguf_write.h — writes GGUF v3 files (what core/model/gguf.c and
 * llama.cpp's gguf reader read): metadata keys, then tensor infos, then the
 * tensor data, each tensor aligned to 32 bytes from the data section start.
 *
 * Keys and tensor infos are collected in memory; tensor data is borrowed (the
 * caller keeps it alive until gguf_out_write) or, for f16, converted into a
 * buffer the writer owns. gguf_out_write goes through traces/outfile: a temp
 * file beside the path renamed over it when everything was written, so a
 * failed or interrupted write never leaves a partial file. */
#ifndef INFERTOP_GGUF_WRITE_H
#define INFERTOP_GGUF_WRITE_H

#include "core/model/gguf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gguf_out_tensor {
    char name[64];
    int n_dims;
    uint64_t ne[4];
    int ggml_type;             /* 0 f32, 1 f16 */
    const void *data;
    size_t nbytes;
    void *owned;               /* converted copy, freed by gguf_out_free */
};

struct gguf_out {
    unsigned char *kv;         /* encoded metadata */
    size_t kv_len, kv_cap;
    uint64_t n_kv;
    struct gguf_out_tensor *t;
    int n_t, cap_t;
    bool oom;                  /* an allocation failed: gguf_out_write refuses */
};

void gguf_out_init(struct gguf_out *g);
void gguf_out_free(struct gguf_out *g);

void gguf_out_u32(struct gguf_out *g, const char *key, uint32_t v);
void gguf_out_u64(struct gguf_out *g, const char *key, uint64_t v);
void gguf_out_f32(struct gguf_out *g, const char *key, float v);
void gguf_out_bool(struct gguf_out *g, const char *key, bool v);
void gguf_out_str(struct gguf_out *g, const char *key, const char *s);
/* Copy every key of src whose name starts with prefix ("tokenizer."), with
 * its type and value (arrays of strings and numbers included). Returns the
 * number of keys copied. */
int  gguf_out_copy_keys(struct gguf_out *g, const struct gguf_file *src, const char *prefix);

/* A matrix W[rows][cols] (ne = {cols, rows}) or a vector (rows = 1, n_dims 1)
 * from f32 data, stored as f32 or converted to f16. */
void gguf_out_tensor_f32(struct gguf_out *g, const char *name, const float *data, int rows, int cols,
                         bool as_f16);

/* Write the file. 0 ok; -1 with "PATH: why" in err (nothing left at PATH
 * that was not there before). */
int  gguf_out_write(struct gguf_out *g, const char *path, char *err, size_t errlen);

#endif
