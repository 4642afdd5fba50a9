/* kernels/cuda/cuda_staging.c — see cuda_staging.h. */
#include "kernels/cuda/cuda_staging.h"

#include <string.h>

void staging_init(struct staging *st, void *(*alloc)(void *, size_t), void (*release)(void *, void *),
                  void *user)
{
    memset(st, 0, sizeof *st);
    st->alloc = alloc;
    st->release = release;
    st->user = user;
}

static size_t align_up(size_t n) { return (n + STAGING_ALIGN - 1) / STAGING_ALIGN * STAGING_ALIGN; }

/* A new chunk of at least `need` bytes, twice the last one's size. */
static struct staging_chunk *add_chunk(struct staging *st, size_t need)
{
    if (st->n == STAGING_MAX_CHUNKS) return NULL;
    size_t size = st->n ? st->chunks[st->n - 1].size * 2 : STAGING_MIN_CHUNK;
    while (size < need) size *= 2;
    char *p = st->alloc(st->user, size);
    if (!p) return NULL;
    struct staging_chunk *c = &st->chunks[st->n++];
    c->p = p;
    c->size = size;
    c->used = 0;
    return c;
}

void *staging_put(struct staging *st, const void *src, size_t bytes)
{
    size_t need = align_up(bytes ? bytes : 1);
    struct staging_chunk *c = st->n ? &st->chunks[st->n - 1] : NULL;
    if (!c || c->size - c->used < need) c = add_chunk(st, need);
    if (!c) return NULL;
    char *dst = c->p + c->used;
    memcpy(dst, src, bytes);
    c->used += need;
    st->step_bytes += need;
    return dst;
}

static void free_chunks(struct staging *st)
{
    for (int i = 0; i < st->n; i++) st->release(st->user, st->chunks[i].p);
    st->n = 0;
}

void staging_reset(struct staging *st)
{
    size_t want = st->step_bytes;
    st->step_bytes = 0;
    if (st->n == 1 && st->chunks[0].size >= want) {
        st->chunks[0].used = 0;
        return;
    }
    free_chunks(st);
    if (want) add_chunk(st, want);      /* none: the next put tries again */
}

void staging_free(struct staging *st)
{
    free_chunks(st);
    st->step_bytes = 0;
}
