/* libFuzzer target: the recording reader (traces/recorder.c) and both
 * exporters on whatever it accepted. Build and run: make fuzz-recording. */
#include "traces/export.h"
#include "traces/recorder.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct trace_run r;
    char err[512];
    int rc = recorder_read_buffer("fuzz", (const char *)data, size, &r, err, sizeof err);
    if (rc >= 0 && r.n_steps > 0) {
        /* exporters must take any run the reader accepts */
        static char path[64];
        if (!path[0]) snprintf(path, sizeof path, "/tmp/fuzz_recording_%d.out", (int)getpid());
        export_chrome(&r, path, err, sizeof err);
        export_nvtxt(&r, path, NVTXT_MANUAL, err, sizeof err);
    }
    trace_run_free(&r);
    return 0;
}
