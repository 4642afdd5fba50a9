/* core/train/train_ops.h — forward and backward of every op the student uses,
 * in f32 on host arrays, for training on the CPU.
 *
 * Training keeps its own float paths here (the backend vtable has forward ops
 * only and no gradient buffers); the conventions are the forward's
 * (core/model/forward.c over kernels/cpu): y = x·Wᵀ with W[out][in], RMSNorm
 * y = x / sqrt(mean(x²) + eps) · w, RoPE on interleaved pairs (2i, 2i+1) with
 * the Llama 3 frequency scaling, causal attention where query head h reads KV
 * head h / (n_heads / n_kv_heads), SwiGLU silu(gate) · up.
 *
 * Every backward ACCUMULATES (+=) into its gradient outputs, so a tensor used
 * twice (a residual, tied embeddings) sums both paths; callers zero them.
 *
 * Determinism: each output element is produced by exactly one task and summed
 * in a fixed order, so results are bit-identical for any thread count.
 * Matmuls split their output rows over one task per thread (train_threads)
 * and run core/train/train_gemm.c's register-blocked tiles; attention and the
 * embedding use SIMD dot and axpy kernels: AVX-512 (16 wide) or AVX2+FMA (8
 * wide) when the CPU has them, the portable path otherwise
 * (train_simd_force picks one for tests). */
#ifndef INFERTOP_TRAIN_OPS_H
#define INFERTOP_TRAIN_OPS_H

#include "kernels/backend.h"

#include <stdbool.h>
#include <stdint.h>

enum train_simd { TRAIN_SIMD_AUTO, TRAIN_SIMD_PORTABLE, TRAIN_SIMD_AVX2, TRAIN_SIMD_AVX512 };
/* Pick the dot/axpy path (AUTO: the best the CPU runs). Returns the path now
 * in use (a path the CPU lacks falls back to the next narrower one: AVX-512 →
 * AVX2 → PORTABLE). */
enum train_simd train_simd_force(enum train_simd s);
const char *train_simd_name(void);

/* Threads the ops below split work over (>= 1; default 1). */
void train_set_threads(int n);
int  train_threads(void);
/* Run fn(arg, t) for t in [0, n_tasks) over train_threads() threads. */
void train_parallel(int n_tasks, void (*fn)(void *arg, int task), void *arg);

float train_dot(const float *a, const float *b, int n);
void  train_axpy(float *y, float a, const float *x, int n);    /* y += a·x */

/* y[N][O] = x[N][I] · W[O][I]ᵀ */
void mm_forward(float *y, const float *x, const float *W, int N, int I, int O);
/* dx[N][I] += dy[N][O] · W[O][I] */
void mm_backward_x(float *dx, const float *dy, const float *W, int N, int I, int O);
/* dW[O][I] += dy[N][O]ᵀ · x[N][I] */
void mm_backward_w(float *dW, const float *dy, const float *x, int N, int I, int O);

/* y[N][D] = rmsnorm(x) · w; rstd[N] = 1/sqrt(mean(x²)+eps) kept for backward. */
void rmsnorm_forward(float *y, float *rstd, const float *x, const float *w, int N, int D, float eps);
/* dx += ∂/∂x, dw += ∂/∂w (dw may be NULL) */
void rmsnorm_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
                      const float *rstd, int N, int D);

/* In place on x[N][n_heads*head_dim], row r at position pos[r]. */
void rope_forward(float *x, const int *pos, int N, int n_heads, int head_dim,
                  const struct rope_params *rp);
/* The rotation's transpose: dx = Rᵀ·dy, in place on dx (which holds dy). */
void rope_backward(float *dx, const int *pos, int N, int n_heads, int head_dim,
                   const struct rope_params *rp);

struct attn_dims { int B, T, n_heads, n_kv_heads, head_dim; float scale; };
/* Causal attention over B sequences of T tokens: q[B*T][H*hd], k,v[B*T][KVH*hd],
 * out[B*T][H*hd]; P[B][H][T][T] receives the softmax probabilities. */
void attn_forward(float *out, float *P, const float *q, const float *k, const float *v,
                  const struct attn_dims *d);
/* dq, dk, dv += gradients given dout and the forward's P. */
void attn_backward(float *dq, float *dk, float *dv, const float *dout, const float *P,
                   const float *q, const float *k, const float *v, const struct attn_dims *d);

/* h[n] = silu(g[n]) · u[n] */
void swiglu_forward(float *h, const float *g, const float *u, int64_t n);
void swiglu_backward(float *dg, float *du, const float *dh, const float *g, const float *u, int64_t n);

/* x[N][D] = E[tok[n]]; backward dE[tok[n]] += dx[n] (rows in order n = 0..N-1). */
void embed_forward(float *x, const float *E, const int32_t *tok, int N, int D);
void embed_backward(float *dE, const float *dx, const int32_t *tok, int N, int D);

/* Rope frequency of pair i (the forward's formula, kernels/cpu/attn_math.h). */
float train_rope_freq(int i, int head_dim, const struct rope_params *rp);

#endif
