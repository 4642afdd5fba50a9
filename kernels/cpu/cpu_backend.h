/* kernels/cpu/cpu_backend.h — the CPU backend (C11, pthreads, AVX2/AVX-512 with a scalar path). */
#ifndef INFERTOP_CPU_BACKEND_H
#define INFERTOP_CPU_BACKEND_H

#include "kernels/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Ordered levels; each includes the one below. CPU_SIMD_AMX is AVX-512 plus
 * the AMX-INT8 matmul of Q8_0/Q4_0/Q4_1 (quant_amx.h), whose results differ
 * from the VNNI kernels' in the last bits: capping at CPU_SIMD_AVX512 (or
 * device=cpu:avx512) runs those formats on VNNI instead. */
enum cpu_simd { CPU_SIMD_SCALAR, CPU_SIMD_AVX2, CPU_SIMD_AVX512, CPU_SIMD_AMX };

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
/* The best level this process can run (AMX only once Linux granted the tile
 * state, quant_amx.h). */
enum cpu_simd cpu_simd_detect(void);
/* "scalar", "avx2", "avx512", "amx" (the names device=cpu:LEVEL takes). */
const char *cpu_simd_name(enum cpu_simd s);
/* The name → level; false for an unknown name. */
bool cpu_simd_parse(const char *name, enum cpu_simd *out);
/* The level a CPU backend runs. */
enum cpu_simd cpu_backend_simd(const struct backend *be);

#ifdef __cplusplus
}
#endif

#endif
