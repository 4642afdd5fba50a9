/* kernels/registry.h — the one place a backend is chosen. */
#ifndef INFERTOP_REGISTRY_H
#define INFERTOP_REGISTRY_H

#include "kernels/backend.h"
#include "kernels/roofline.h"

/* The most backends one device group may hold. */
#define BACKEND_GROUP_MAX 16

/* device: "auto" (cuda when a device is usable, else cpu), "cpu", "cuda".
 * Returns NULL with a one-line reason in err when the asked device cannot be
 * used; otherwise be->reason says why this backend runs. */
struct backend *backend_create(const char *device, int n_threads, char *err, size_t errlen);

/* The backends of a device group, out[0..n_devices), out[k]->device = k:
 *   "cpu":  n_devices CPU virtual devices splitting n_threads threads
 *           (<= 0: all online cores; see cpu_backend_create_group);
 *   "cuda": CUDA devices 0..n_devices-1, one context and stream each;
 *   "auto": cuda when n_devices CUDA devices are usable, else cpu.
 * 0 ok; -1 with a one-line reason in err (nothing is left created).
 * n_devices == 1 gives what backend_create gives. */
int backend_create_group(const char *device, int n_devices, int n_threads, struct backend **out,
                         char *err, size_t errlen);

/* A group of n devices like be: backend_create_group(be's kind, n,
 * be->n_threads) for a real backend; for a simulated one, n single devices of
 * its xN (sim_backend_create_group). 0; -1 with one line in err. */
int backend_create_group_like(const struct backend *be, int n_devices, struct backend **out, char *err,
                              size_t errlen);

/* The device a simulated backend simulates (NULL for a real backend): its
 * n_devices is the xN the user asked for. */
const struct roof_device *backend_sim_device(const struct backend *be);

/* A simulated backend's re-read footprint after a weight change
 * (sim_backend_set_reuse_bytes); nothing for a real backend. */
void backend_sim_set_reuse_bytes(struct backend *be, double bytes);

/* A simulated device (kernels/sim) with d's numbers; spec is what the user
 * named ("sim:h100x8"). NULL with err when out of memory. */
struct backend *backend_create_sim(const struct roof_device *d, const char *spec, char *err, size_t errlen);

/* Whether a CUDA device is usable; reason filled either way. */
bool backend_cuda_usable(char *reason, size_t n);
/* CUDA devices present (0 when built without CUDA or none is usable). */
int backend_cuda_count(void);

#endif
