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
#ifdef __cplusplus
}
#endif

#endif
