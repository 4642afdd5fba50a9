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
/* Device sampling (cuda_sample.cu): ids[rows] (host) ← one token per row of
 * logits [rows][vocab] (device memory of `be`), by core/model/sampler.c's rule:
 * temperature <= 0 greedy, else top_k (0 = all), top_p (1 = off) and the
 * row's uniform u[row] in [0, 1) (host, drawn with sampler_uniform). Only the
 * ids cross to the host; synchronizes the stream. */
void cuda_sample_rows(struct backend *be, int32_t *ids, const float *logits, int rows, int vocab,
                      float temperature, int top_k, float top_p, const double *u);

#ifdef __cplusplus
}
#endif

#endif
