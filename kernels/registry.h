/* kernels/registry.h — the one place a backend is chosen. */
#ifndef INFERTOP_REGISTRY_H
#define INFERTOP_REGISTRY_H

#include "kernels/backend.h"

/* device: "auto" (cuda when a device is usable, else cpu), "cpu", "cuda".
 * Returns NULL with a one-line reason in err when the asked device cannot be
 * used; otherwise be->reason says why this backend runs. */
struct backend *backend_create(const char *device, int n_threads, char *err, size_t errlen);

/* Whether a CUDA device is usable; reason filled either way. */
bool backend_cuda_usable(char *reason, size_t n);

#endif
