/* tests/fuzz/fuzz_evalref.c — libFuzzer target for the eval reference file
 * (core/quant/evalref.c, `infertop eval --ref F`).
 *
 *   make fuzz-evalref FUZZ_SECONDS=60
 *
 * Every input is parsed as a header; a rejection must name its field in one
 * line; an accepted header must round-trip through the encoder byte for byte
 * (up to the fields it defines), and be checked against a run shaped like
 * itself with the input's own size (accepted exactly when the size is
 * header + chunks × scored × vocab × 4). Anything else aborts. */
#include "core/quant/evalref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                              \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "fuzz_evalref: check failed: %s (line %d)\n", #cond, __LINE__);      \
            abort();                                                                             \
        }                                                                                        \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct evalref_header h, back;
    char err[512];
    if (evalref_parse_header(data, size, &h, err, sizeof err) < 0) {
        CHECK(err[0] && !strchr(err, '\n') && strchr(err, ':'));
        return 0;
    }
    CHECK(h.ctx >= 2 && h.vocab >= 1 && h.chunks >= 1 && (int)h.scored == evalref_scored((int)h.ctx));
    unsigned char buf[EVALREF_HEADER_BYTES];
    evalref_encode_header(&h, buf);
    CHECK(evalref_parse_header(buf, sizeof buf, &back, err, sizeof err) == 0);
    CHECK(back.token_hash == h.token_hash && !strcmp(back.model, h.model) && !strcmp(back.weights, h.weights));
    uint64_t need = EVALREF_HEADER_BYTES + (uint64_t)h.chunks * h.scored * h.vocab * 4;
    int rc = evalref_check(&h, &h, size, err, sizeof err);
    CHECK((rc == 0) == (size == need));
    struct evalref_header other = h;
    other.ctx = h.ctx + 1;
    CHECK(evalref_check(&h, &other, need, err, sizeof err) < 0 && strstr(err, "ctx"));
    return 0;
}
