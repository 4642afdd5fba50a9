/* core/quant/evalref.h — a saved reference for `infertop eval --ref F`: the
 * reference model's log-probabilities at every scored position, so a later
 * run compares against them without running the reference again.
 *
 * File (little-endian, version 1):
 *   header, EVALREF_HEADER_BYTES:
 *     char     magic[8]      "ITEVREF1"
 *     uint32   version       1
 *     uint32   vocab         logits per position
 *     uint32   ctx           tokens per chunk
 *     uint32   chunks
 *     uint32   scored        positions per chunk = ctx - ctx/2 - 1 (llama-perplexity's)
 *     uint32   reserved      0
 *     uint64   token_hash    FNV-1a 64 over the chunks' token ids as run (BOS in place)
 *     char     model[96]     the model's identity, NUL-terminated (evalref_model_id)
 *     char     weights[64]   the reference's weight options, informational ("wtype=f32")
 *     (zero padding to 256 bytes)
 *   then chunks × scored rows of vocab float32 log-probabilities log p_base(i).
 * Stored in full precision (llama-perplexity stores 16-bit), so a model read
 * against its own saved reference gives KLD exactly 0.
 * A file that does not match the run (another model, text, ctx or chunk
 * count, a short or long file) is refused with one line naming the field. */
#ifndef INFERTOP_EVALREF_H
#define INFERTOP_EVALREF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define EVALREF_MAGIC "ITEVREF1"
#define EVALREF_VERSION 1
#define EVALREF_HEADER_BYTES 256
#define EVALREF_MAX_VOCAB (1u << 22)
#define EVALREF_MAX_CTX (1u << 22)

struct evalref_header {
    uint32_t version, vocab, ctx, chunks, scored;
    uint64_t token_hash;
    char model[96];
    char weights[64];
};

/* Positions scored per chunk of ctx tokens: ctx - ctx/2 - 1. */
int evalref_scored(int ctx);

/* FNV-1a 64 of n token ids (as little-endian int32). */
uint64_t evalref_token_hash(const int32_t *ids, size_t n, uint64_t h);
#define EVALREF_HASH_INIT 0xcbf29ce484222325ull

/* The identity a reference is tied to: "synth:NAME seed=S" for a synth: spec,
 * else the file name without its folders. */
void evalref_model_id(const char *spec, uint64_t seed, char *buf, size_t n);

/* Parse the first n bytes of a file as a header: magic, version, sizes in
 * range, scored consistent with ctx, strings terminated. 0; -1 with one line
 * in err ("magic: expected ITEVREF1 ...") — the caller prefixes the path. */
int evalref_parse_header(const void *buf, size_t n, struct evalref_header *h, char *err, size_t errlen);

/* Whether a parsed header fits this run (want: vocab, ctx, chunks, model,
 * token_hash) and the file holds exactly its rows (file_bytes). 0; -1 with
 * "FIELD: the file has X, this run Y (...)" in err. */
int evalref_check(const struct evalref_header *h, const struct evalref_header *want, uint64_t file_bytes,
                  char *err, size_t errlen);

/* Serialize h into buf[EVALREF_HEADER_BYTES]. */
void evalref_encode_header(const struct evalref_header *h, unsigned char *buf);

/* Reader: open, parse, check against want. 0 with *f positioned at the first
 * row; -1 with "PATH: ..." in err (exit 2). */
int evalref_open_read(FILE **f, const char *path, const struct evalref_header *want, char *err, size_t errlen);

/* Writer: a temp file beside path (renamed over it by evalref_commit, removed
 * by evalref_abort), the header written. 0; -1 with "PATH: ..." in err. */
struct evalref_writer {
    FILE *f;
    char path[1024], tmp[1100];
};
int  evalref_create(struct evalref_writer *w, const char *path, const struct evalref_header *h,
                    char *err, size_t errlen);
int  evalref_write_rows(struct evalref_writer *w, const float *rows, size_t n_floats);
int  evalref_commit(struct evalref_writer *w, char *err, size_t errlen);
void evalref_abort(struct evalref_writer *w);

#endif
