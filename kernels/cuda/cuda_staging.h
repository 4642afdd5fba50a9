/* kernels/cuda/cuda_staging.h — pinned host staging for the small
 * host → device copies of a step (block tables, positions, token ids,
 * dequantized embedding rows), in plain C (unit-tested in
 * tests/unit/test_cuda_graph.c with malloc standing in for cudaMallocHost).
 *
 * Why: a copy captured into a CUDA graph reads its source when the graph
 * runs, not when it is captured, and a pageable source cannot be captured at
 * all. So every copy of a step gets its own bytes in pinned memory that stay
 * untouched until the stream has synchronized (staging_reset), when the whole
 * step's copies have been consumed. A step's copies are bump-allocated from
 * chunks; a full chunk adds one twice as large (never moved: captured copies
 * point into it); at reset the chunks are folded into one of the size the
 * last step needed, so a repeating step allocates nothing. */
#ifndef INFERTOP_CUDA_STAGING_H
#define INFERTOP_CUDA_STAGING_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STAGING_MAX_CHUNKS 8
#define STAGING_ALIGN 64
#define STAGING_MIN_CHUNK ((size_t)64 << 10)

struct staging_chunk {
    char *p;
    size_t size, used;
};

struct staging {
    void *(*alloc)(void *user, size_t bytes);   /* pinned host memory; NULL when there is none */
    void  (*release)(void *user, void *p);
    void *user;
    struct staging_chunk chunks[STAGING_MAX_CHUNKS];
    int n;
    size_t step_bytes;        /* bytes put since the last reset */
};

void staging_init(struct staging *st, void *(*alloc)(void *, size_t), void (*release)(void *, void *),
                  void *user);
/* A copy of src[bytes] in pinned memory, valid (and unchanged) until the next
 * staging_reset; NULL when no chunk can hold it (the caller copies from src
 * directly: fine eagerly, a failed capture inside a graph). */
void *staging_put(struct staging *st, const void *src, size_t bytes);
/* Every put so far has been consumed (the stream synchronized): keep one
 * chunk of at least the bytes the last step put (allocated now, outside any
 * capture), free the others, start empty. */
void  staging_reset(struct staging *st);
void  staging_free(struct staging *st);

#ifdef __cplusplus
}
#endif

#endif
