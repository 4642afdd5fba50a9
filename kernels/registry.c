/* kernels/registry.c — backend choice; the only file that knows every backend. */
#include "kernels/registry.h"
#include "kernels/cpu/cpu_backend.h"
#ifdef INFERTOP_CUDA
#include "kernels/cuda/cuda_backend.h"
#endif

#include <stdio.h>
#include <string.h>

bool backend_cuda_usable(char *reason, size_t n)
{
#ifdef INFERTOP_CUDA
    return cuda_probe(reason, n) == 1;
#else
    snprintf(reason, n, "built without CUDA (CUDA=0 or nvcc not found)");
    return false;
#endif
}

struct backend *backend_create(const char *device, int n_threads, char *err, size_t errlen)
{
    char why[160];
    bool want_cuda = strcmp(device, "cuda") == 0, any = strcmp(device, "auto") == 0;
    if (!want_cuda && !any && strcmp(device, "cpu") != 0) {
        snprintf(err, errlen, "device: unknown '%s' (expected auto, cpu or cuda)", device);
        return NULL;
    }
    if (want_cuda || any) {
        bool ok = backend_cuda_usable(why, sizeof why);
#ifdef INFERTOP_CUDA
        if (ok) {
            struct backend *be = cuda_backend_create(0, err, errlen);
            if (be || want_cuda) return be;
        }
#else
        (void)ok;
#endif
        if (want_cuda) {
            snprintf(err, errlen, "device=cuda: no usable CUDA device (%s)", why);
            return NULL;
        }
    }
    struct backend *be = cpu_backend_create(n_threads, CPU_SIMD_AVX512);
    if (!be) { snprintf(err, errlen, "cpu backend: out of memory"); return NULL; }
    if (any) snprintf(be->reason, sizeof be->reason, "cpu — %.150s", why);
    else snprintf(be->reason, sizeof be->reason, "cpu — asked for (device=cpu)");
    return be;
}
