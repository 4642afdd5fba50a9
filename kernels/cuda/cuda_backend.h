/* kernels/cuda/cuda_backend.h — C interface of the CUDA backend (built when nvcc is found). */
#ifndef INFERTOP_CUDA_BACKEND_H
#define INFERTOP_CUDA_BACKEND_H

#include "kernels/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when a device is usable; reason says which or why not (no driver, no device). */
int cuda_probe(char *reason, size_t n);
/* Devices present; 0 when there is no driver or device. */
int cuda_device_count(void);
/* A backend on CUDA device `device` (0-based): its own context binding,
 * stream and cuBLAS handle; every entry point makes `device` current first
 * (cudaSetDevice), so backends on different devices mix on one thread.
 * NULL with a one-line reason in err. */
struct backend *cuda_backend_create(int device, char *err, size_t errlen);

/* fp8a8 matmuls through cuBLASLt's FP8 E4M3 GEMM (kernels/cuda/cuda_fp8lt.cu;
 * the path rules are in cuda_fp8_plan.h). All three take a CUDA backend.
 * cuda_fp8_gemm_status: 1 when the device has it (cc >= 8.9) and it is on,
 * else 0; why gets the one-line reason either way ("fp8a8: cuBLASLt FP8 GEMM
 * not supported on sm_80 (needs sm_89+); using the fp8a8 CUDA kernels");
 * the compute capability goes to *cc_major / *cc_minor (may be NULL).
 * cuda_fp8_gemm_enable: off forces the fp8a8 CUDA kernels for every shape
 * (checks and benchmarks compare the two); on by default; returns the old
 * setting. cuda_fp8_gemm_count: matmuls that ran through it so far. */
int      cuda_fp8_gemm_status(struct backend *be, int *cc_major, int *cc_minor, char *why, size_t n);
bool     cuda_fp8_gemm_enable(struct backend *be, bool on);
uint64_t cuda_fp8_gemm_count(struct backend *be);
#ifdef __cplusplus
}
#endif

#endif
