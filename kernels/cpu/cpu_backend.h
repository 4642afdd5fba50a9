/* kernels/cpu/cpu_backend.h — the CPU backend (C11, pthreads, AVX2/AVX-512 with a scalar path). */
#ifndef INFERTOP_CPU_BACKEND_H
#define INFERTOP_CPU_BACKEND_H

#include "kernels/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

enum cpu_simd { CPU_SIMD_SCALAR, CPU_SIMD_AVX2, CPU_SIMD_AVX512 };

/* n_threads <= 0: all online cores. simd: the best the processor has, capped
 * by `max_simd` (tests force the scalar path with CPU_SIMD_SCALAR). */
struct backend *cpu_backend_create(int n_threads, enum cpu_simd max_simd);
/* n_devices CPU virtual devices (a device group for parallelism) sharing
 * n_threads threads (<= 0: all online cores): device k gets
 * n_threads / n_devices threads, the first n_threads % n_devices one more,
 * at least one each. Each has its own thread pool, scratch and allocations;
 * out[k]->device = k. One thread at a time drives each device, so N threads
 * can drive N devices at once. 0 ok; -1 out of memory (none left created). */
int cpu_backend_create_group(int n_devices, int n_threads, enum cpu_simd max_simd, struct backend **out);
/* Bytes currently allocated through this device's backend_alloc. */
size_t cpu_backend_allocated(struct backend *be);
enum cpu_simd cpu_simd_detect(void);
const char *cpu_simd_name(enum cpu_simd s);

#ifdef __cplusplus
}
#endif

#endif
