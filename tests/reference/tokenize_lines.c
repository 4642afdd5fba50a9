/* tests/reference/tokenize_lines.c — driver for compare_random.py: loads a
 * GGUF's tokenizer, reads hex-encoded texts one per line on stdin, prints the
 * ids (add_bos=false, parse_special=true) one line per text. Built by the
 * script against build/libinfertop.a; not part of the program. */
#include "core/model/gguf.h"
#include "core/model/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t from_hex(const char *hex, char *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) return 0;
        out[i] = (char)v;
    }
    return n;
}

int main(int argc, char **argv)
{
    static char line[1 << 17], text[1 << 16];
    static int32_t ids[1 << 16];
    struct gguf_file *f;
    struct tokenizer *t;
    char err[512];
    if (argc != 2) { fprintf(stderr, "usage: %s MODEL.gguf < hex-lines\n", argv[0]); return 2; }
    if (gguf_open(argv[1], &f, err, sizeof err) != 0) { fprintf(stderr, "%s\n", err); return 2; }
    t = tokenizer_from_gguf(f, err, sizeof err);
    gguf_close(f);
    if (!t) { fprintf(stderr, "%s: %s\n", argv[1], err); return 2; }
    while (fgets(line, sizeof line, stdin)) {
        int n = tokenizer_encode(t, text, from_hex(line, text), false, true, ids, 1 << 16);
        for (int i = 0; i < n && i < (1 << 16); i++) printf("%d ", ids[i]);
        printf("\n");
    }
    tokenizer_free(t);
    return 0;
}
