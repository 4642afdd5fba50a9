/* kernels/registry.c — backend choice; the only file that knows every backend. */
#include "kernels/registry.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/sim/sim_backend.h"
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

int backend_cuda_count(void)
{
#ifdef INFERTOP_CUDA
    return cuda_device_count();
#else
    return 0;
#endif
}

struct backend *backend_create_sim(const struct roof_device *d, const char *spec, char *err, size_t errlen)
{
    struct backend *be = sim_backend_create(d, spec);
    if (!be) snprintf(err, errlen, "sim backend: out of memory");
    return be;
}

int backend_create_group_like(const struct backend *be, int n_devices, struct backend **out, char *err,
                              size_t errlen)
{
    if (be->simulated) return sim_backend_create_group(be, n_devices, out, err, errlen);
    char device[32];
    if (strcmp(be->ops->name, "cpu") == 0) snprintf(device, sizeof device, "cpu:%s", cpu_simd_name(cpu_backend_simd(be)));
    else snprintf(device, sizeof device, "%s", be->ops->name);
    return backend_create_group(device, n_devices, be->n_threads, out, err, errlen);
}

const struct roof_device *backend_sim_device(const struct backend *be) { return sim_backend_device(be); }

void backend_sim_set_reuse_bytes(struct backend *be, double bytes) { sim_backend_set_reuse_bytes(be, bytes); }

/* "cpu" (the best SIMD level) or "cpu:LEVEL" (at most LEVEL: scalar, avx2,
 * avx512, amx — how a run picks VNNI over AMX, or a narrower path) → *cap;
 * false for anything else. */
static bool cpu_device(const char *device, enum cpu_simd *cap)
{
    *cap = CPU_SIMD_AMX;
    if (strcmp(device, "cpu") == 0) return true;
    return strncmp(device, "cpu:", 4) == 0 && cpu_simd_parse(device + 4, cap);
}

struct backend *backend_create(const char *device, int n_threads, char *err, size_t errlen)
{
    char why[128];
    enum cpu_simd cap;
    bool want_cuda = strcmp(device, "cuda") == 0, any = strcmp(device, "auto") == 0;
    bool want_cpu = cpu_device(device, &cap);
    if (!want_cuda && !any && !want_cpu) {
        snprintf(err, errlen, "device: unknown '%s' (expected auto, cpu, cpu:scalar|avx2|avx512|amx, cuda or sim:GPU[xN])",
                 device);
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
    struct backend *be = cpu_backend_create(n_threads, cap);
    if (!be) { snprintf(err, errlen, "cpu backend: out of memory"); return NULL; }
    if (any) snprintf(be->reason, sizeof be->reason, "cpu — %.150s", why);
    else snprintf(be->reason, sizeof be->reason, "cpu — asked for (device=%.40s)", device);
    return be;
}

/* CUDA devices 0..n-1 into out; -1 with err (none left open) when one fails. */
static int cuda_group(int n, struct backend **out, char *err, size_t errlen)
{
#ifdef INFERTOP_CUDA
    for (int k = 0; k < n; k++) {
        out[k] = cuda_backend_create(k, err, errlen);
        if (!out[k]) {
            while (k-- > 0) backend_destroy(out[k]);
            return -1;
        }
        out[k]->device = k;
    }
    return 0;
#else
    (void)n; (void)out;
    snprintf(err, errlen, "device=cuda: built without CUDA (CUDA=0 or nvcc not found)");
    return -1;
#endif
}

int backend_create_group(const char *device, int n_devices, int n_threads, struct backend **out,
                         char *err, size_t errlen)
{
    if (n_devices < 1 || n_devices > BACKEND_GROUP_MAX) {
        snprintf(err, errlen, "devices: %d; expected 1..%d", n_devices, BACKEND_GROUP_MAX);
        return -1;
    }
    if (n_devices == 1) {
        out[0] = backend_create(device, n_threads, err, errlen);
        return out[0] ? 0 : -1;
    }
    enum cpu_simd cap;
    bool want_cuda = strcmp(device, "cuda") == 0, any = strcmp(device, "auto") == 0;
    if (!want_cuda && !any && !cpu_device(device, &cap)) {
        snprintf(err, errlen, "device: unknown '%s' (expected auto, cpu, cpu:scalar|avx2|avx512|amx or cuda)", device);
        return -1;
    }
    char why[128];
    int have = backend_cuda_usable(why, sizeof why) ? backend_cuda_count() : 0;
    if (want_cuda && have < n_devices) {
        snprintf(err, errlen, "device=cuda: %d devices asked for, %d usable (%.100s)", n_devices, have, why);
        return -1;
    }
    if (have >= n_devices && cuda_group(n_devices, out, err, errlen) == 0) return 0;
    if (want_cuda) return -1;
    if (cpu_backend_create_group(n_devices, n_threads, cap, out) < 0) {
        snprintf(err, errlen, "cpu backend: out of memory for %d virtual devices", n_devices);
        return -1;
    }
    char asked[64];
    snprintf(asked, sizeof asked, "asked for (device=%.40s)", device);
    for (int k = 0; k < n_devices; k++)
        snprintf(out[k]->reason, sizeof out[k]->reason, "cpu virtual device %d of %d — %.100s", k,
                 n_devices, any ? why : asked);
    return 0;
}
