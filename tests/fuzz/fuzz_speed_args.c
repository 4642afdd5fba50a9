/* tests/fuzz/fuzz_speed_args.c — `infertop speed` flags (speed_parse_args):
 * the input is argv, one argument per line (at most 64). Any input must
 * parse or fail with a message, never crash or read past its strings. */
#include "core/workload/speed.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    char *argv[64];
    int argc = 0;
    for (char *p = text; argc < 64;) {
        argv[argc++] = p;
        char *nl = strchr(p, '\n');
        if (!nl) break;
        *nl = 0;
        p = nl + 1;
    }
    struct options base;
    options_defaults(&base);
    static struct speed_args a;
    char err[512];
    err[0] = 0;
    if (speed_parse_args(argc, argv, &base, &a, err, sizeof err) < 0 && !err[0]) abort();   /* a failure says why */
    free(text);
    return 0;
}
