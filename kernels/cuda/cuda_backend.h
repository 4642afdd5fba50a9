/* kernels/cuda/cuda_backend.h — C interface of the CUDA backend (built when nvcc is found). */
#ifndef INFERTOP_CUDA_BACKEND_H
#define INFERTOP_CUDA_BACKEND_H

#include "kernels/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when a device is usable; reason says which or why not (no driver, no device). */
int cuda_probe(char *reason, size_t n);
struct backend *cuda_backend_create(int device, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
