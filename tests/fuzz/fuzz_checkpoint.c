/* tests/fuzz/fuzz_checkpoint.c — libFuzzer target for the distillation
 * checkpoint reader (core/train/checkpoint.c).
 *
 * Every input must either validate (magic, version, shape ranges, counts
 * against the exact file size, CRC) or fail with one line starting
 * "fuzz.ckpt: " that names a field; anything else (a crash, an ASan report,
 * a message without a newline-free field) traps.
 * Build and run: make fuzz-checkpoint [FUZZ_SECONDS=60]. */
#include "core/train/distill.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512] = "";
    int rc = distill_load_checkpoint_buffer(NULL, data, size, "fuzz.ckpt", false, err, sizeof err);
    if (rc != 0 && rc != -1) __builtin_trap();
    if (rc == -1 && (strncmp(err, "fuzz.ckpt: ", 11) != 0 || strchr(err, '\n'))) __builtin_trap();
    return 0;
}
