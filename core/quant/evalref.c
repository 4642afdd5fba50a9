/* core/quant/evalref.c — see evalref.h. */
#include "core/quant/evalref.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Header offsets. */
enum { OFF_VERSION = 8, OFF_VOCAB = 12, OFF_CTX = 16, OFF_CHUNKS = 20, OFF_SCORED = 24,
       OFF_RESERVED = 28, OFF_HASH = 32, OFF_MODEL = 40, OFF_WEIGHTS = 136, OFF_END = 200 };

int evalref_scored(int ctx)
{
    return ctx - ctx / 2 - 1;
}

uint64_t evalref_token_hash(const int32_t *ids, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t v = (uint32_t)ids[i];
        for (int b = 0; b < 4; b++) {
            h ^= (v >> (8 * b)) & 0xffu;
            h *= 0x100000001b3ull;
        }
    }
    return h;
}

void evalref_model_id(const char *spec, uint64_t seed, char *buf, size_t n)
{
    if (!strncmp(spec, "synth:", 6)) {
        snprintf(buf, n, "%s seed=%" PRIu64, spec, seed);
        return;
    }
    const char *slash = strrchr(spec, '/');
    snprintf(buf, n, "%s", slash ? slash + 1 : spec);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* A NUL-terminated string field of n bytes, copied out; -1 without its NUL. */
static int get_string(const unsigned char *p, size_t n, char *out)
{
    if (!memchr(p, 0, n)) return -1;
    memcpy(out, p, n);
    return 0;
}

int evalref_parse_header(const void *buf, size_t n, struct evalref_header *h, char *err, size_t errlen)
{
    const unsigned char *p = buf;
    memset(h, 0, sizeof *h);
    if (n < EVALREF_HEADER_BYTES) {
        snprintf(err, errlen, "header: %zu bytes; expected %d (an infertop eval --save-ref file)", n,
                 EVALREF_HEADER_BYTES);
        return -1;
    }
    if (memcmp(p, EVALREF_MAGIC, 8)) {
        snprintf(err, errlen, "magic: expected %s (an infertop eval --save-ref file)", EVALREF_MAGIC);
        return -1;
    }
    h->version = get32(p + OFF_VERSION);
    h->vocab = get32(p + OFF_VOCAB);
    h->ctx = get32(p + OFF_CTX);
    h->chunks = get32(p + OFF_CHUNKS);
    h->scored = get32(p + OFF_SCORED);
    h->token_hash = (uint64_t)get32(p + OFF_HASH) | (uint64_t)get32(p + OFF_HASH + 4) << 32;
    if (h->version != EVALREF_VERSION)
        snprintf(err, errlen, "version: %u; expected %d", h->version, EVALREF_VERSION);
    else if (h->vocab < 1 || h->vocab > EVALREF_MAX_VOCAB)
        snprintf(err, errlen, "vocab: %u; expected 1..%u", h->vocab, EVALREF_MAX_VOCAB);
    else if (h->ctx < 2 || h->ctx > EVALREF_MAX_CTX)
        snprintf(err, errlen, "ctx: %u; expected 2..%u", h->ctx, EVALREF_MAX_CTX);
    else if (h->chunks < 1 || h->chunks > EVALREF_MAX_CTX)
        snprintf(err, errlen, "chunks: %u; expected 1..%u", h->chunks, EVALREF_MAX_CTX);
    else if ((int)h->scored != evalref_scored((int)h->ctx))
        snprintf(err, errlen, "scored: %u; expected ctx - ctx/2 - 1 = %d", h->scored, evalref_scored((int)h->ctx));
    else if (get32(p + OFF_RESERVED) != 0)
        snprintf(err, errlen, "reserved: %u; expected 0", get32(p + OFF_RESERVED));
    else if (get_string(p + OFF_MODEL, sizeof h->model, h->model) < 0)
        snprintf(err, errlen, "model: not NUL-terminated within %zu bytes", sizeof h->model);
    else if (get_string(p + OFF_WEIGHTS, sizeof h->weights, h->weights) < 0)
        snprintf(err, errlen, "weights: not NUL-terminated within %zu bytes", sizeof h->weights);
    else return 0;
    return -1;
}

void evalref_encode_header(const struct evalref_header *h, unsigned char *buf)
{
    memset(buf, 0, EVALREF_HEADER_BYTES);
    memcpy(buf, EVALREF_MAGIC, 8);
    put32(buf + OFF_VERSION, EVALREF_VERSION);
    put32(buf + OFF_VOCAB, h->vocab);
    put32(buf + OFF_CTX, h->ctx);
    put32(buf + OFF_CHUNKS, h->chunks);
    put32(buf + OFF_SCORED, h->scored);
    put32(buf + OFF_HASH, (uint32_t)h->token_hash);
    put32(buf + OFF_HASH + 4, (uint32_t)(h->token_hash >> 32));
    snprintf((char *)buf + OFF_MODEL, sizeof h->model, "%s", h->model);
    snprintf((char *)buf + OFF_WEIGHTS, sizeof h->weights, "%s", h->weights);
}

int evalref_check(const struct evalref_header *h, const struct evalref_header *want, uint64_t file_bytes,
                  char *err, size_t errlen)
{
    uint64_t rows = (uint64_t)h->chunks * h->scored, need = EVALREF_HEADER_BYTES + rows * h->vocab * 4;
    if (strcmp(h->model, want->model))
        snprintf(err, errlen, "model: the file is for '%s', this run's is '%s'", h->model, want->model);
    else if (h->vocab != want->vocab)
        snprintf(err, errlen, "vocab: the file has %u, this model %u", h->vocab, want->vocab);
    else if (h->ctx != want->ctx)
        snprintf(err, errlen, "ctx: the file has %u, this run %u (--ctx)", h->ctx, want->ctx);
    else if (h->chunks != want->chunks)
        snprintf(err, errlen, "chunks: the file has %u, this run %u (--chunks, text length)", h->chunks, want->chunks);
    else if (h->token_hash != want->token_hash)
        snprintf(err, errlen, "token_hash: the file was made from another text or tokenizer (%016" PRIx64
                 ", this run %016" PRIx64 ")", h->token_hash, want->token_hash);
    else if (file_bytes != need)
        snprintf(err, errlen, "size: %" PRIu64 " bytes; expected %" PRIu64 " (%u chunks x %u positions x %u "
                 "log-probs)", file_bytes, need, h->chunks, h->scored, h->vocab);
    else return 0;
    return -1;
}

int evalref_open_read(FILE **f, const char *path, const struct evalref_header *want, char *err, size_t errlen)
{
    unsigned char buf[EVALREF_HEADER_BYTES];
    struct evalref_header h;
    struct stat st;
    char why[400];
    *f = fopen(path, "rb");
    if (!*f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    size_t got = fread(buf, 1, sizeof buf, *f);
    if (fstat(fileno(*f), &st) < 0 || !S_ISREG(st.st_mode))
        snprintf(why, sizeof why, "not a regular file");
    else if (evalref_parse_header(buf, got, &h, why, sizeof why) == 0 &&
             evalref_check(&h, want, (uint64_t)st.st_size, why, sizeof why) == 0)
        return 0;
    snprintf(err, errlen, "%s: %s", path, why);
    fclose(*f);
    *f = NULL;
    return -1;
}

int evalref_create(struct evalref_writer *w, const char *path, const struct evalref_header *h,
                   char *err, size_t errlen)
{
    unsigned char buf[EVALREF_HEADER_BYTES];
    memset(w, 0, sizeof *w);
    snprintf(w->path, sizeof w->path, "%s", path);
    snprintf(w->tmp, sizeof w->tmp, "%s.%d.tmp", path, (int)getpid());
    w->f = fopen(w->tmp, "wbx");
    if (!w->f) {
        snprintf(err, errlen, "%s: cannot create %s: %s", path, w->tmp, strerror(errno));
        return -1;
    }
    evalref_encode_header(h, buf);
    if (fwrite(buf, 1, sizeof buf, w->f) != sizeof buf) {
        snprintf(err, errlen, "%s: write failed: %s", path, strerror(errno));
        evalref_abort(w);
        return -1;
    }
    return 0;
}

int evalref_write_rows(struct evalref_writer *w, const float *rows, size_t n_floats)
{
    return fwrite(rows, sizeof *rows, n_floats, w->f) == n_floats ? 0 : -1;
}

int evalref_commit(struct evalref_writer *w, char *err, size_t errlen)
{
    int bad = ferror(w->f) || fflush(w->f) != 0 || fsync(fileno(w->f)) != 0;
    int e = errno;
    if (fclose(w->f) != 0) bad = 1;
    w->f = NULL;
    if (bad || rename(w->tmp, w->path) != 0) {
        if (!bad) e = errno;
        snprintf(err, errlen, "%s: write failed: %s", w->path, strerror(e));
        unlink(w->tmp);
        return -1;
    }
    return 0;
}

void evalref_abort(struct evalref_writer *w)
{
    if (w->f) fclose(w->f);
    w->f = NULL;
    if (w->tmp[0]) unlink(w->tmp);
}
